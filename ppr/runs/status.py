"""status.json and metrics.jsonl of a run folder, and telling a live run from a crashed one.

States: queued, running, done, failed, cancelled. A run whose status says running
but whose worker pid is gone (SIGKILL, reboot) reads as failed with stale=True;
its epoch checkpoint (resume.pt) lets `python -m ppr runs resume` (or the command that
started it, run again) continue it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from ppr.io import atomic_write_json, read_json

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


def raw_status(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / "status.json"
    return read_json(path) if path.is_file() else {}


def read_status(run_dir: Path) -> dict[str, Any]:
    """The run's status as a reader should see it (complete runs are done; dead workers are stale)."""
    run_dir = Path(run_dir)
    st = {"id": run_dir.name, "state": "queued", "progress": 0.0, "epoch": 0, "pid": None, **raw_status(run_dir)}
    if (run_dir / "metrics.json").is_file():
        st.update(state="done", progress=1.0)
    elif st["state"] == "running" and not pid_alive(st.get("pid")):
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
    """Merge `fields` into status.json (atomic replace). One writer per run: the worker holding its lock."""
    st = {**raw_status(run_dir), **fields, "updated": now()}
    atomic_write_json(Path(run_dir) / "status.json", st)
    return st


def append_metrics(run_dir: Path, row: dict[str, Any]) -> None:
    """One JSON line per epoch/evaluation (single write call: readers never see half a line)."""
    line = json.dumps({"time": now(), **row}, default=float) + "\n"
    with open(Path(run_dir) / "metrics.jsonl", "a") as fh:
        fh.write(line)


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line being written right now
    return rows
