"""Runs started by `python -m ppr warm/tune` keep status.json like a worker's: done, failed, cancelled, stale."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from _planted import TINY_FLAGS, planted_dataset

from ppr.data.store import Store
from ppr.jobs import control
from ppr.runs.status import raw_status, read_metrics, read_status
from ppr.runs.tracking import flock
from ppr.train import methods

REPO = Path(__file__).resolve().parents[2]
TINY = [*TINY_FLAGS, "--no-progress"]
TUNE = ["tune", "planted", "--method", "ppr-light", *TINY]


def _runs(home: Path, kind: str) -> list[Path]:
    return sorted(p for p in (home / "runs").glob(f"planted-{kind}-*") if p.is_dir())


def test_cli_tune_leaves_done_runs_with_epochs_and_metric_lines(home: Path, run_cli) -> None:
    planted_dataset(Store(home), n_users=300)
    rc, out, err = run_cli(*TUNE, "--epochs", "3", "--json")
    assert rc == 0, err
    m = json.loads(out)
    [warm], [tune] = _runs(home, "warm"), _runs(home, "ppr-light")
    for path, epochs in ((warm, 2), (tune, m["epochs_run"])):
        st = raw_status(path)
        assert st["state"] == "done" and st["progress"] == 1.0 and st["pid"] is None and st["finished"]
        assert st["epochs_run"] == epochs and st["epoch"] == epochs and st["max_epochs"] >= epochs
        lines = read_metrics(path)
        assert [r["epoch"] for r in lines] == list(range(epochs + 1))  # epoch 0: validation before training
        assert not (path / "resume.pt").exists()
    rows = control.run_rows(Store(home))
    assert {r["id"]: (r["state"], r["progress"]) for r in rows} == {warm.name: ("done", 1.0), tune.name: ("done", 1.0)}
    assert {r["dataset"] for r in rows} == {"planted@v1"} and {r["kind"] for r in rows} == {"warm", "tune"}
    assert not any(r["outdated"] or r["stale"] for r in rows)
    assert (tune / "scores.parquet").is_file() and (tune / "embeddings.parquet").is_file()

    before = raw_status(tune)
    rc, out, err = run_cli(*TUNE, "--epochs", "3", "--json")
    assert rc == 0 and json.loads(out)["reused"], err
    assert raw_status(tune) == before and read_status(tune)["state"] == "done"  # a reused run is left alone


def test_failed_or_interrupted_training_is_recorded(home: Path, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    planted_dataset(Store(home), n_users=300)

    def boom(*args, **kwargs):
        raise RuntimeError("loss went to NaN")

    monkeypatch.setattr(methods, "tuned_model", boom)
    with pytest.raises(RuntimeError, match="NaN"):
        run_cli(*TUNE, "--epochs", "2")
    [warm], [tune] = _runs(home, "warm"), _runs(home, "ppr-light")
    st = read_status(tune)
    assert st["state"] == "failed" and not st.get("stale") and st["error"] == "RuntimeError: loss went to NaN"
    assert "boom" in st["traceback"] and read_status(warm)["state"] == "done"  # the warm run it trained is fine

    with flock(tune / ".lock"):  # as a worker computing this run holds it
        rc, _, err = run_cli(*TUNE, "--epochs", "2")
    assert rc == 2 and "being computed by another process" in err
    assert read_status(tune)["error"] == "RuntimeError: loss went to NaN"  # the other process's status is kept

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(methods, "tuned_model", interrupt)
    rc, _, err = run_cli(*TUNE, "--epochs", "2")
    st = raw_status(tune)
    assert rc == 130 and "interrupted" in err
    assert st["state"] == "cancelled" and st["pid"] is None and st["traceback"] is None


def _wait(what: str, pred: Callable[[], bool], proc: subprocess.Popen, timeout: float = 180) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if proc.poll() is not None or time.monotonic() > end:
            proc.kill()
            pytest.fail(f"waiting for {what}: rc {proc.returncode}\n{proc.communicate()[1][-3000:]}")
        time.sleep(0.1)


def _tune_process(home: Path) -> subprocess.Popen:
    argv = [sys.executable, "-m", "ppr", "--home", str(home), *TUNE, "--epochs", "500", "--patience", "500"]
    return subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _epoch(home: Path) -> int:
    runs = _runs(home, "ppr-light")
    return int(raw_status(runs[0]).get("checkpoint_epoch", 0)) if runs else 0


def test_shell_run_cancelled_by_sigterm_then_killed_reads_stale(home: Path) -> None:
    store = Store(home)
    planted_dataset(store, n_users=300)
    proc = _tune_process(home)
    _wait("a few tuning epochs", lambda: _epoch(home) >= 2, proc)
    [tune] = _runs(home, "ppr-light")
    assert read_status(tune)["state"] == "running" and raw_status(tune)["pid"] == proc.pid
    assert "SIGTERM" in control.cancel(store, tune.name)  # what the Runs page's Cancel does
    assert proc.wait(timeout=60) == 130
    assert read_status(tune)["state"] == "cancelled"

    proc = _tune_process(home)  # the same command again continues from the epoch checkpoint
    reached = _epoch(home)
    _wait("a resumed epoch", lambda: _epoch(home) > reached, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    st = read_status(tune)
    assert st["state"] == "failed" and st["stale"] and "(or the command that started it)" in st["error"]
    assert f"runs resume {tune.name}" in st["error"]
    assert any(r.get("event") == "resumed" for r in read_metrics(tune))
