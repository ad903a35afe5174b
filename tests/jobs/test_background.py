"""Detached workers (real subprocesses): cancel by SIGTERM, SIGKILL then resume, two sweeps at once.

Every wait is bounded; a failing wait prints the worker log.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from _planted import TINY_FLAGS, planted_dataset

from ppr.cli import main
from ppr.data.store import Store
from ppr.runs.status import pid_alive

REPO = Path(__file__).resolve().parents[2]
TINY = [*TINY_FLAGS]


def ppr(home: Path, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PPR_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "ppr", *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def cli(home: Path, *argv: str) -> tuple[int, str]:
    """Read-side commands in process (fast): (exit code, stdout)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["--home", str(home), *argv])
    return rc, buf.getvalue()


def wait_for(cond: Callable[[], bool], timeout: float, what: str, log: Path | None = None) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.1)
    detail = log.read_text()[-3000:] if log and log.is_file() else ""
    pytest.fail(f"timed out after {timeout}s waiting for {what}\n{detail}")


def status(home: Path, rid: str) -> dict:
    path = home / "runs" / rid / "status.json"
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def submit(home: Path, *argv: str) -> tuple[str, dict]:
    res = ppr(home, "sweep", "planted", *argv, *TINY, "--background")
    assert res.returncode == 0, res.stderr
    sid = res.stdout.strip().splitlines()[-1]
    return sid, json.loads((home / "sweeps" / sid / "sweep.json").read_text())


@pytest.fixture
def planted_home(tmp_path: Path) -> Path:
    planted_dataset(Store(tmp_path), n_users=300)
    return tmp_path


def test_sigterm_cancel_marks_run_and_queued_cells_cancelled(planted_home: Path) -> None:
    home = planted_home
    long = ["--epochs", "100000", "--patience", "100000"]  # no cell ends by itself before the cancel
    sid, sweep = submit(home, "--methods", "ppr-light", "--k-shots", "2,all", *long)
    log = home / "sweeps" / sid / "worker.log"
    first, second = [c["run_id"] for c in sweep["cells"]]
    wait_for(lambda: status(home, first).get("epoch", 0) >= 1, 60, "the first cell's first epoch", log)
    pid = json.loads((home / "sweeps" / sid / "sweep.json").read_text())["pid"]
    rc, out = cli(home, "runs", "cancel", sid)
    assert rc == 0 and "SIGTERM" in out
    wait_for(lambda: status(home, first).get("state") == "cancelled", 30, "cancelled status", log)
    wait_for(lambda: not pid_alive(pid), 30, "the worker to exit", log)
    assert status(home, second)["state"] == "cancelled" and status(home, first)["epoch"] < 100000
    listing = json.loads(cli(home, "runs", "list", "--json")[1])
    assert next(s for s in listing["sweeps"] if s["id"] == sid)["state"] == "cancelled"
    assert "Traceback" not in log.read_text()  # clean exit


def test_sigkill_then_resume_continues_from_the_checkpoint(planted_home: Path) -> None:
    home = planted_home
    sid, sweep = submit(home, "--methods", "ppr-light", "--epochs", "15", "--patience", "15")
    rid = sweep["cells"][0]["run_id"]
    log = home / "sweeps" / sid / "worker.log"
    wait_for(lambda: status(home, rid).get("checkpoint_epoch", 0) >= 3, 60, "epoch-3 checkpoint", log)
    pid = json.loads((home / "sweeps" / sid / "sweep.json").read_text())["pid"]
    os.killpg(pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(pid), 10, "the killed worker to vanish")
    row = next(r for r in json.loads(cli(home, "runs", "list", "--json")[1])["runs"] if r["id"] == rid)
    assert row["state"] == "failed" and row["stale"] and row["epoch"] < 15
    assert "failed (worker gone)" in cli(home, "runs", "list")[1]
    killed_at = status(home, rid)["checkpoint_epoch"]

    assert cli(home, "runs", "resume", rid, "--foreground")[0] == 0
    metrics = json.loads((home / "runs" / rid / "metrics.json").read_text())
    assert metrics["epochs_run"] == 15
    events = [json.loads(x) for x in (home / "runs" / rid / "metrics.jsonl").read_text().splitlines()]
    [resumed] = [i for i, e in enumerate(events) if e.get("event") == "resumed"]
    at = events[resumed]["epoch"]
    assert at >= killed_at >= 3  # continued, not restarted
    assert [e["epoch"] for e in events[resumed + 1 :]] == list(range(at + 1, 16))  # then every epoch up to 15
    assert not (home / "runs" / rid / "resume.pt").exists()
    assert status(home, rid)["state"] == "done"


def test_two_sweeps_submitted_at_once_both_complete(planted_home: Path) -> None:
    home = planted_home
    grid = ["--k-shots", "2", "--seeds", "0", "--epochs", "3"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "ppr", "sweep", "planted", "--methods", m, *grid, *TINY, "--background"],
            cwd=REPO,
            env={**os.environ, "PPR_HOME": str(home)},
            stdout=subprocess.PIPE,
            text=True,
        )
        for m in ("finetune", "ppr-light")
    ]
    sids = [p.communicate(timeout=60)[0].strip().splitlines()[-1] for p in procs]
    assert len(set(sids)) == 2

    def all_done() -> bool:
        listing = json.loads(cli(home, "runs", "list", "--json")[1])
        return {s["id"]: s["state"] for s in listing["sweeps"]} == {sids[0]: "done", sids[1]: "done"}

    wait_for(all_done, 120, "both sweeps", home / "sweeps" / sids[1] / "worker.log")
    sweeps = [json.loads((home / "sweeps" / s / "sweep.json").read_text()) for s in sids]
    assert sweeps[0]["warm_runs"] == sweeps[1]["warm_runs"]  # one shared warm run, computed once
    warm = home / "runs" / sweeps[0]["warm_runs"][0]
    assert [json.loads(x).get("epoch") for x in (warm / "metrics.jsonl").read_text().splitlines()] == [0, 1, 2]
    for sw in sweeps:
        rid = sw["cells"][0]["run_id"]
        assert len(pd.read_parquet(home / "runs" / rid / "scores.parquet")) > 0
        assert json.loads((home / "runs" / rid / "metrics.json").read_text())["epochs_run"] >= 1
    assert not list((home / "runs").rglob(".*.tmp"))
