"""Tiny finished sweeps (planted data, 1-layer model, 2 epochs) built once per test session: one of one domain, and
a cross-domain one (Table VII)."""

from __future__ import annotations

import io
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from _domains import planted_domains
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
XD_GRID = [
    "--target-domain",
    "target",
    "--methods",
    "pop,pop-profile,sasrec,minet,finetune,ppr-full",
    "--negatives",
    "20",
]


def computed_sweep(home: Path, grid: list[str]) -> str:
    """`python -m ppr sweep planted GRID` (tiny settings) computed in this process; the sweep id."""
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        rc = main(["--home", str(home), "sweep", "planted", *grid, *TINY])
    assert rc == 0, out.getvalue()
    return out.getvalue().strip().splitlines()[-1]


def copied_home(tmp_path: Path, template: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A copy of a template home as $PPR_HOME: (home, sweep id)."""
    home = tmp_path / "home"
    shutil.copytree(template[0], home)
    monkeypatch.setenv("PPR_HOME", str(home))
    return home, template[1]


@pytest.fixture(scope="session")
def sweep_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    home = tmp_path_factory.mktemp("sweep-home")
    planted_dataset(Store(home), n_users=300)
    return home, computed_sweep(home, GRID)


@pytest.fixture
def sweep_home(tmp_path: Path, sweep_template: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """$PPR_HOME holding the planted dataset and one finished sweep: (home, sweep id)."""
    return copied_home(tmp_path, sweep_template, monkeypatch)


@pytest.fixture(scope="session")
def xd_sweep_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    home = tmp_path_factory.mktemp("xd-sweep-home")
    planted_domains(home, n_users=300)
    return home, computed_sweep(home, XD_GRID)


@pytest.fixture
def xd_sweep_home(
    tmp_path: Path, xd_sweep_template: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str]:
    """$PPR_HOME holding planted@v2 (items in a source and a target domain) and a finished cross-domain sweep of
    pop, pop-profile, sasrec, minet, finetune and ppr-full on target 'target': (home, sweep id)."""
    return copied_home(tmp_path, xd_sweep_template, monkeypatch)
