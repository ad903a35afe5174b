"""status.json and metrics.jsonl of a run folder, and telling a live run from a crashed one.

States: queued, running, done, failed, cancelled. A running run records the pid of the process
computing it and that process's start time (`pid_started`): a run whose process is gone (SIGKILL,
reboot), or whose pid now belongs to another process, reads as failed with stale=True; its epoch
checkpoint (resume.pt) lets `python -m ppr runs resume` (or the command that started it, run again)
continue it. A damaged status.json, metrics.json or scores.parquet reads as failed with `damaged`
saying what is wrong (the next writer replaces the status; resuming computes the run again).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from pathlib import Path
from typing import Any

import psutil

from ppr.io import atomic_write_json
from ppr.runs.folder import Damaged, RunFolder, read_object

STATES = ("queued", "running", "done", "failed", "cancelled")
FINAL = ("done", "failed", "cancelled")


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def pid_alive(pid: int | None) -> bool:
    """True if `pid` is a live (non-zombie) process on this machine."""
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        fields = Path(f"/proc/{int(pid)}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0] != "Z"
    except (OSError, IndexError):
        return True


# the recorded start of a process and what psutil reads now may differ by the wall clock's adjustments
_START_TOLERANCE = 1.0


def process_started(pid: int | None) -> float | None:
    """When process `pid` started (psutil's create time, seconds since the epoch); None if there is none."""
    if not pid:
        return None
    try:
        return float(psutil.Process(int(pid)).create_time())
    except (psutil.Error, ValueError, OverflowError):
        return None


def same_process(pid: int | None, started: float | None) -> bool:
    """True if `pid` is alive and is the process that started at `started` (a pid handed on since is not).

    Without a recorded start (a status written by an older version) the live pid alone decides.
    """
    if not pid_alive(pid):
        return False
    if started is None:
        return True
    now_started = process_started(pid)
    return now_started is not None and abs(now_started - float(started)) <= _START_TOLERANCE


def is_ppr_process(pid: int | None, started: float | None) -> bool:
    """True only for a process verifiably ours: `pid` alive with the recorded start time, or, with none
    recorded, running this package (`python -m ppr ...` or the `ppr` command). What `runs cancel` signals."""
    if not pid_alive(pid):
        return False
    if started is not None:
        return same_process(pid, started)
    try:
        argv = psutil.Process(int(pid)).cmdline()
    except (psutil.Error, ValueError, OverflowError):
        return False
    if argv and Path(argv[0]).name == "ppr":
        return True
    return any(a == "-m" and b == "ppr" for a, b in zip(argv[1:], argv[2:], strict=False))


# status.json fields a reader relies on, and what each must hold when present
_FIELDS: dict[str, tuple[type, ...]] = {
    "state": (str,),
    "pid": (int,),
    "pid_started": (int, float),
    "progress": (int, float),
    "epoch": (int,),
    "max_epochs": (int,),
    "checkpoint_epoch": (int,),
    "error": (str,),
    "sweep": (str,),
    "device": (str,),
}


def _load(run_dir: Path) -> tuple[dict[str, Any], str | None]:
    """status.json as written and what is wrong with it: ({}, None) when there is none, ({}, problem) if damaged."""
    path = Path(run_dir) / "status.json"
    fix = f"; `python -m ppr runs resume {Path(run_dir).name}` writes a new one"
    try:
        raw = read_object(path, fix)
    except FileNotFoundError:
        return {}, None
    except Damaged as exc:
        return {}, str(exc)
    for key, types in _FIELDS.items():
        value = raw.get(key)
        if value is None:
            continue
        bad = not isinstance(value, types) or isinstance(value, bool)
        if not bad and key == "state":
            bad = value not in STATES
        elif not bad and isinstance(value, int | float) and key != "pid_started":
            bad = not math.isfinite(value) or value < 0 or (key == "progress" and value > 1)
        if bad:
            return {}, f"status.json of {Path(run_dir).name} has an invalid {key}: {json.dumps(value)[:60]}{fix}"
    return raw, None


def raw_status(run_dir: Path) -> dict[str, Any]:
    """status.json as written ({} if there is none or it is damaged: its next write replaces it)."""
    return _load(run_dir)[0]


def status_problem(run_dir: Path) -> str | None:
    """What is wrong with the run's status.json, in one line; None if it reads (or there is none)."""
    return _load(run_dir)[1]


def read_status(run_dir: Path) -> dict[str, Any]:
    """The run's status as a reader should see it (complete runs are done; dead workers are stale; damaged
    files read as failed, with `damaged` and `error` saying what is wrong and what to do)."""
    run_dir = Path(run_dir)
    raw, problem = _load(run_dir)
    st = {"id": run_dir.name, "state": "queued", "progress": 0.0, "epoch": 0, "pid": None, **raw}
    complete = (run_dir / "metrics.json").is_file()
    problem = problem or (RunFolder(run_dir).result_problem() if complete else None)
    if problem:
        st.update(state="failed", damaged=problem, error=problem, pid=None, stale=None)
    elif complete:
        st.update(state="done", progress=1.0)
    elif st["state"] == "running" and not same_process(st.get("pid"), st.get("pid_started")):
        how = f"`python -m ppr runs resume {run_dir.name}` (or the command that started it)"
        st.update(
            state="failed",
            stale=True,
            error=st.get("error")
            or f"worker process {st.get('pid')} is gone (killed or machine restarted); "
            f"{how} continues from epoch {st.get('checkpoint_epoch', 0)}",
        )
    return st


def write_status(run_dir: Path, **fields: Any) -> dict[str, Any]:
    """Merge `fields` into status.json (atomic replace; a damaged one is replaced). One writer per run: the
    worker holding its lock."""
    st = {**raw_status(run_dir), **fields, "updated": now()}
    atomic_write_json(Path(run_dir) / "status.json", st)
    return st


def append_metrics(run_dir: Path, row: dict[str, Any]) -> None:
    """One JSON line per epoch/evaluation (single write call: readers never see half a line)."""
    line = json.dumps({"time": now(), **row}, default=float) + "\n"
    with open(Path(run_dir) / "metrics.jsonl", "a") as fh:
        fh.write(line)


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """The JSON object lines of metrics.jsonl; a line that does not parse (one being written right now,
    or damaged bytes) is skipped (`unreadable_metric_lines` counts them)."""
    return _metric_lines(run_dir)[0]


def unreadable_metric_lines(run_dir: Path) -> int:
    return _metric_lines(run_dir)[1]


def _metric_lines(run_dir: Path) -> tuple[list[dict[str, Any]], int]:
    try:
        data = (Path(run_dir) / "metrics.jsonl").read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return [], 0
    rows, bad = [], 0
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError
            row = None
        if isinstance(row, dict):
            rows.append(row)
        else:
            bad += 1
    return rows, bad
