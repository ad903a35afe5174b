"""A tiny finished sweep (planted data, 1-layer model, 2 epochs) built once per test session."""

from __future__ import annotations

import io
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from _planted import TINY_FLAGS, planted_dataset

from ppr.cli import main
from ppr.data.store import Store

TINY = [*TINY_FLAGS, "--epochs", "2"]
GRID = [
    "--methods",
    "finetune,ppr-light",
    "--k-shots",
    "2,all",
    "--noise",
    "0",
    "--seeds",
    "0,1",
    "--ablations",
    "none,no-cl",
]


@pytest.fixture(scope="session")
def sweep_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    home = tmp_path_factory.mktemp("sweep-home")
    planted_dataset(Store(home), n_users=300)
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        rc = main(["--home", str(home), "sweep", "planted", *GRID, *TINY])
    assert rc == 0, out.getvalue()
    return home, out.getvalue().strip().splitlines()[-1]


@pytest.fixture
def sweep_home(tmp_path: Path, sweep_template: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """$PPR_HOME holding the planted dataset and one finished sweep: (home, sweep id)."""
    home = tmp_path / "home"
    shutil.copytree(sweep_template[0], home)
    monkeypatch.setenv("PPR_HOME", str(home))
    return home, sweep_template[1]
