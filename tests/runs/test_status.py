"""status.json and metrics.jsonl: stale detection, merge-writes, metric lines that survive a torn write."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ppr.runs.status import append_metrics, pid_alive, raw_status, read_metrics, read_status, write_status


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_running_with_a_dead_pid_reads_as_failed_stale(tmp_path: Path) -> None:
    assert pid_alive(os.getpid()) and not pid_alive(_dead_pid()) and not pid_alive(None)
    run = tmp_path / "r1"
    run.mkdir()
    assert read_status(run)["state"] == "queued" and raw_status(run) == {}
    write_status(run, state="running", pid=os.getpid(), epoch=3, checkpoint_epoch=3)
    st = write_status(run, progress=0.5)  # merges, keeps earlier fields
    assert st["epoch"] == 3 and st["progress"] == 0.5 and read_status(run)["state"] == "running"
    write_status(run, pid=_dead_pid())
    st = read_status(run)
    assert st["state"] == "failed" and st["stale"] and "runs resume r1" in st["error"] and "epoch 3" in st["error"]
    assert raw_status(run)["state"] == "running"  # the reader's view; the file is left as the worker wrote it
    (run / "metrics.json").write_text("{}")
    st = read_status(run)
    assert st["state"] == "done" and st["progress"] == 1.0  # a complete run is done whatever its status says


def test_a_zombie_is_not_alive() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped: a zombie
        assert not pid_alive(proc.pid)
    finally:
        proc.wait()


def test_metrics_lines_append_and_skip_a_torn_line(tmp_path: Path) -> None:
    assert read_metrics(tmp_path) == []
    append_metrics(tmp_path, {"epoch": 1, "loss": 0.5})
    append_metrics(tmp_path, {"epoch": 2, "loss": 0.4})
    with open(tmp_path / "metrics.jsonl", "a") as fh:
        fh.write('{"epoch": 3, "lo')
    rows = read_metrics(tmp_path)
    assert [r["epoch"] for r in rows] == [1, 2] and all("time" in r for r in rows)
