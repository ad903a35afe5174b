"""A planted dataset with one PPR(light) run trained long enough to learn the planted taste (zero-shot AUC about
0.8 on 41 test users) and read clicks, and one pop-profile run, built once per test session (about 30 s): the runs
that recommendation and attribution tests query."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from _planted import N_GROUPS, TINY_FLAGS, planted_dataset

from ppr.cli import main
from ppr.data.store import Store

FLAGS = [*TINY_FLAGS, "--d", "32", "--d-ff", "64", "--warm-epochs", "10", "--epochs", "20", "--no-progress", "--json"]


def group_of(item_id: str) -> int:
    """The planted group (1..4) of an original item id 'i<n>'; taste code g favours group g."""
    return (int(item_id[1:]) - 1) % N_GROUPS + 1


@pytest.fixture(scope="session")
def tuned_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """(home, method -> run id) for ppr-light and pop-profile on the planted dataset."""
    home = tmp_path_factory.mktemp("tuned-home")
    planted_dataset(Store(home), n_users=1200)
    runs = {}
    for method in ("ppr-light", "pop-profile"):
        out = io.StringIO()
        with redirect_stdout(out), redirect_stderr(io.StringIO()):
            rc = main(["--home", str(home), "tune", "planted", "--method", method, *FLAGS])
        assert rc == 0, out.getvalue()
        runs[method] = json.loads(out.getvalue())["run_id"]
    return home, runs
