"""A run's life in its folder, the same whoever computes it (the CLI in a shell or a background worker).

`tracked` holds the run's lock while it computes (two processes never write one folder), marks it
running with this pid and device, and ends it as done, failed (with the error and traceback) or
cancelled (SIGTERM or Ctrl-C), so the app's Runs page and `runs list` show it as it is. A run whose
process died reads as failed/stale (ppr.runs.status) and continues from its epoch checkpoint when
computed again.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import importlib.metadata
import math
import os
import platform
import signal
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ppr.errors import InputError
from ppr.runs.folder import RunFolder
from ppr.runs.status import append_metrics, now, process_started, raw_status, write_status


class Cancelled(BaseException):
    """Raised by SIGTERM inside `sigterm_cancels` (BaseException: no `except Exception` swallows it)."""


def _on_sigterm(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one cancellation is enough; let the cleanup finish
    raise Cancelled()


@contextlib.contextmanager
def sigterm_cancels() -> Iterator[None]:
    """Within the block SIGTERM raises Cancelled (main thread only; elsewhere a no-op)."""
    try:
        old = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


@contextlib.contextmanager
def flock(path: Path, blocking: bool = True) -> Iterator[bool]:
    """An exclusive lock on `path` for the block; yields False at once when not blocking and it is taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing drops the lock


@contextlib.contextmanager
def tracked(run: RunFolder, device: str, wait: bool) -> Iterator[bool]:
    """Compute `run` in the block under its lock; yields False when another process completed it meanwhile.

    wait=False: a run being computed elsewhere is an InputError instead of a wait. A complete run whose
    result files are damaged (RunFolder.result_problem) is computed again.
    """
    with flock(run.path / ".lock", blocking=wait) as got:
        if not got:
            pid = raw_status(run.path).get("pid")
            raise InputError(
                f"Run {run.id} is being computed by another process (pid {pid}); wait for it, "
                f"or stop it with `python -m ppr runs cancel {run.id}`."
            )
        if run.is_complete:
            if run.result_problem() is None:
                yield False
                return
            (run.path / "metrics.json").unlink()  # damaged: no longer counts as complete; computed again below
        started = raw_status(run.path).get("started")
        write_status(
            run.path,
            state="running",
            pid=os.getpid(),
            pid_started=process_started(os.getpid()),
            device=device,
            started=started or now(),
            error=None,
            traceback=None,
            stale=None,
            damaged=None,
            finished=None,
        )
        try:
            yield True
        except Exception as exc:
            mark_failed(run.path, exc)
            raise
        except BaseException:
            mark_cancelled(run.path)
            raise
        mark_done(run)


def record_epoch(run: RunFolder, row: dict[str, Any], max_epochs: int) -> None:
    """One line of metrics.jsonl; the status gets the progress and the latest loss and validation metrics."""
    row = {k: (float(v) if math.isfinite(v) else None) if isinstance(v, float) else v for k, v in row.items()}
    append_metrics(run.path, row)
    latest = {k: v for k, v in row.items() if k not in ("epoch", "seconds", "train_seconds")}
    write_status(
        run.path,
        state="running",
        epoch=int(row["epoch"]),
        max_epochs=max_epochs,
        progress=min(1.0, row["epoch"] / max(1, max_epochs)),
        latest=latest,
    )


def record_checkpoint(run: RunFolder, state: dict[str, Any]) -> None:
    run.save_state(state)
    write_status(run.path, checkpoint_epoch=int(state["epoch"]))


def mark_done(run: RunFolder) -> None:
    """A complete run's final status; its epoch checkpoint is no longer needed."""
    write_status(
        run.path,
        state="done",
        progress=1.0,
        finished=now(),
        pid=None,
        pid_started=None,
        epochs_run=run.result().get("epochs_run"),
    )
    run.drop_state()


def mark_failed(run_dir: Path, exc: BaseException) -> None:
    write_status(
        run_dir,
        state="failed",
        finished=now(),
        pid=None,
        pid_started=None,
        error=f"{type(exc).__name__}: {exc}",
        traceback="".join(traceback.format_exception(exc)),
    )


def mark_cancelled(run_dir: Path) -> None:
    write_status(run_dir, state="cancelled", finished=now(), pid=None, pid_started=None)


@functools.cache
def library_versions() -> dict[str, str]:
    """The library versions a run's result records (read from the installed packages, torch not imported)."""
    names = ("torch", "numpy", "pandas", "duckdb")
    return {"python": platform.python_version(), **{n: importlib.metadata.version(n) for n in names}}
