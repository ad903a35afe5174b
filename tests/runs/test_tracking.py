"""A run's life in its folder: running (pid, device), then done, failed (with traceback) or cancelled; one
process at a time holds a run (its lock), SIGTERM cancels."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ppr.errors import InputError
from ppr.runs.folder import RunFolder
from ppr.runs.status import raw_status, read_metrics, read_status
from ppr.runs.tracking import Cancelled, flock, record_checkpoint, record_epoch, sigterm_cancels, tracked

REPO = Path(__file__).resolve().parents[2]
HOLDER = """
import os, sys, time
from pathlib import Path
from ppr.runs.status import write_status
from ppr.runs.tracking import flock
run = Path(sys.argv[1])
with flock(run / ".lock"):
    write_status(run, state="running", pid=os.getpid())
    print("locked", flush=True)
    if sys.argv[2] == "complete":
        time.sleep(0.5)
        (run / "metrics.json").write_text('{"epochs_run": 1}')
    else:
        sys.stdin.readline()
"""


@pytest.fixture
def run(tmp_path: Path) -> RunFolder:
    folder = RunFolder(tmp_path / "runs" / "r1")
    folder.path.mkdir(parents=True)
    (folder.path / "spec.json").write_text("{}")
    return folder


def test_tracked_marks_running_then_done(run: RunFolder) -> None:
    with tracked(run, "cpu", wait=False) as fresh:
        assert fresh
        st = raw_status(run.path)
        assert (st["state"], st["pid"], st["device"]) == ("running", os.getpid(), "cpu") and st["started"]
        assert read_status(run.path)["state"] == "running"  # its pid is alive: not stale
        record_epoch(run, {"epoch": 0, "loss": math.nan, "val_ndcg@10": 0.1}, max_epochs=4)
        record_epoch(run, {"epoch": 1, "loss": 0.5, "seconds": 0.1, "val_ndcg@10": 0.2}, max_epochs=4)
        record_checkpoint(run, {"epoch": 1, "model": {"w": torch.ones(1)}})
        st = raw_status(run.path)
        assert (st["epoch"], st["max_epochs"], st["progress"], st["checkpoint_epoch"]) == (1, 4, 0.25, 1)
        assert st["latest"] == {"loss": 0.5, "val_ndcg@10": 0.2}
        assert (run.path / "resume.pt").is_file()
        run.write_result({"epochs_run": 1})
    st = raw_status(run.path)
    assert (st["state"], st["pid"], st["progress"], st["epochs_run"]) == ("done", None, 1.0, 1) and st["finished"]
    assert not (run.path / "resume.pt").exists()  # a done run needs no epoch checkpoint
    lines = read_metrics(run.path)
    assert [r["epoch"] for r in lines] == [0, 1] and lines[0]["loss"] is None  # NaN stored as null

    with tracked(run, "cuda", wait=False) as fresh:  # complete already: nothing to compute, status untouched
        assert not fresh
    assert raw_status(run.path) == st


def test_an_exception_marks_the_run_failed_with_its_traceback(run: RunFolder) -> None:
    def boom() -> None:
        raise RuntimeError("loss went to NaN")

    with pytest.raises(RuntimeError, match="NaN"), tracked(run, "cpu", wait=False):
        boom()
    st = read_status(run.path)
    assert st["state"] == "failed" and not st.get("stale") and st["pid"] is None and st["finished"]
    assert st["error"] == "RuntimeError: loss went to NaN"
    assert "Traceback" in st["traceback"] and "in boom" in st["traceback"]

    with tracked(run, "cpu", wait=False):  # computed again: running, the old error cleared
        st = raw_status(run.path)
        assert st["state"] == "running" and st["error"] is None and st["traceback"] is None
        run.write_result({"epochs_run": 0})
    assert raw_status(run.path)["state"] == "done"


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, Cancelled])
def test_an_interrupt_marks_the_run_cancelled(run: RunFolder, interrupt: type[BaseException]) -> None:
    with pytest.raises(interrupt), tracked(run, "cpu", wait=False):
        raise interrupt()
    st = raw_status(run.path)
    assert (st["state"], st["pid"], st["traceback"]) == ("cancelled", None, None) and st["finished"]


def test_sigterm_inside_the_block_cancels_the_run(run: RunFolder) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Cancelled), sigterm_cancels(), tracked(run, "cpu", wait=False):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises at once
        pytest.fail("SIGTERM did not cancel")
    assert raw_status(run.path)["state"] == "cancelled"
    assert signal.getsignal(signal.SIGTERM) == before  # the old handler is back


def _holder(run: RunFolder, mode: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(run.path), mode],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_run_held_by_another_process_is_an_input_error(run: RunFolder) -> None:
    proc = _holder(run, "hold")
    try:
        busy = f"being computed by another process \\(pid {proc.pid}\\)"
        with pytest.raises(InputError, match=busy), tracked(run, "cpu", wait=False):
            pytest.fail("computed a run another process holds")
        assert raw_status(run.path)["pid"] == proc.pid  # the other process's status is left alone
        with flock(run.path / ".lock", blocking=False) as got:
            assert not got
    finally:
        proc.communicate("\n", timeout=30)
    with flock(run.path / ".lock", blocking=False) as got:
        assert got  # released with its process


def test_waiting_for_another_process_that_completes_the_run(run: RunFolder) -> None:
    proc = _holder(run, "complete")
    try:
        with tracked(run, "cpu", wait=True) as fresh:  # blocks until the other process lets go
            assert not fresh
    finally:
        proc.wait(timeout=30)
    assert run.is_complete and raw_status(run.path)["pid"] == proc.pid  # not marked by the waiter
