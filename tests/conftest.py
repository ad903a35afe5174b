"""Shared test fixtures: a throwaway store home and an in-process CLI runner; the session-scoped tiny sweep and
tuned runs are registered here once, so every test module shares one build of each."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from _sweephome import sweep_home, sweep_template, xd_sweep_home, xd_sweep_template  # noqa: F401
from _tuned import tuned_home  # noqa: F401

from ppr.cli import main


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty store home folder (datasets/ and runs/ are created on first write)."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def run_cli(home: Path, capsys: pytest.CaptureFixture) -> Callable[..., tuple[int, str, str]]:
    """run_cli(*argv) -> (rc, stdout, stderr): `python -m ppr --home <home> *argv`, in process."""

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()  # drop anything printed before this call
        try:
            rc = main(["--home", str(home), *map(str, argv)])
        except SystemExit as exc:  # argparse usage errors
            rc = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return rc, out, err

    return run
