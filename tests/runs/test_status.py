"""status.json and metrics.jsonl: stale detection (a dead pid, or one handed to another process), merge-writes,
metric lines that survive a torn write or binary bytes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ppr.runs.status import (
    append_metrics,
    is_ppr_process,
    pid_alive,
    process_started,
    raw_status,
    read_metrics,
    read_status,
    same_process,
    unreadable_metric_lines,
    write_status,
)


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


def test_binary_bytes_in_metrics_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    append_metrics(tmp_path, {"epoch": 1, "loss": 0.5})
    with open(tmp_path / "metrics.jsonl", "ab") as fh:
        fh.write(bytes(range(256)) + b"\n[1, 2]\n")
    append_metrics(tmp_path, {"epoch": 2, "loss": 0.4})
    assert [r["epoch"] for r in read_metrics(tmp_path)] == [1, 2] and unreadable_metric_lines(tmp_path) == 3


def test_a_pid_now_held_by_another_process_reads_as_stale(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        started = process_started(sleeper.pid)
        assert started is not None and same_process(sleeper.pid, started)
        write_status(tmp_path, state="running", pid=sleeper.pid, pid_started=started)
        assert read_status(tmp_path)["state"] == "running"
        write_status(tmp_path, pid_started=started - 60)  # the run's process started a minute before this one
        st = read_status(tmp_path)
        assert st["state"] == "failed" and st["stale"] and not same_process(sleeper.pid, started - 60)
        assert not is_ppr_process(sleeper.pid, started - 60) and not is_ppr_process(sleeper.pid, None)  # not ours
        assert is_ppr_process(sleeper.pid, started)
    finally:
        sleeper.kill()
        sleeper.wait()
