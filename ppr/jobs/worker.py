"""The worker: computes queued runs one after another, durably, and stops cleanly on SIGTERM.

Started detached (`python -m ppr worker --sweep ID`, its own session, so `runs cancel`
can signal its whole process group), or in the foreground by `sweep` without
--background. At most `max_workers` workers compute at a time on one machine (flock
on <home>/workers/slot-N.lock; the rest wait in line), and each run is computed under
its own flock, so two sweeps sharing a warm run never write the same folder at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import signal
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from ppr import experiment
from ppr.data.store import Store
from ppr.errors import InputError
from ppr.io import atomic_write_bytes, atomic_write_parquet, read_json
from ppr.jobs.outputs import embeddings_frame, results_frame
from ppr.jobs.spec import RunSpec
from ppr.jobs.status import append_metrics, now, read_status, write_status
from ppr.log import Log
from ppr.runs import Run

RESUME_FILE = "resume.pt"


class Cancelled(BaseException):
    """Raised in the worker by SIGTERM (BaseException: no `except Exception` swallows it)."""


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
def worker_slot(home: Path, max_workers: int | None = None, log: Log | None = None) -> Iterator[int]:
    """Wait for one of `max_workers` slots (default $PPR_MAX_WORKERS or 1): a machine-wide queue."""
    n = max(1, int(max_workers or os.environ.get("PPR_MAX_WORKERS", 1)))
    waited = False
    while True:
        for i in range(n):
            with flock(Path(home) / "workers" / f"slot-{i}.lock", blocking=False) as got:
                if got:
                    yield i
                    return
        if log and not waited:
            log(f"waiting for a free worker slot ({n} in use)")
            waited = True
        time.sleep(0.2)


class JobHooks(experiment.RunHooks):
    """Status, metrics.jsonl, epoch checkpoints and the query files of a run computed by a worker."""

    def __init__(self, spec: RunSpec, attributes: list[str]) -> None:
        self.spec, self.attributes = spec, attributes

    def start(self, run: Run, max_epochs: int) -> None:
        st = read_status(run.path)
        write_status(run.path, state="running", pid=os.getpid(), max_epochs=max_epochs,
                     started=st.get("started") or now(), error=None, stale=None)  # fmt: skip

    def epoch(self, run: Run, info: dict[str, Any]) -> None:
        row = {k: float(v) if isinstance(v, float) else v for k, v in info.items()}
        append_metrics(run.path, row)
        losses = {k: v for k, v in row.items() if k not in ("epoch", "max_epochs", "seconds", "train_seconds")}
        write_status(run.path, state="running", epoch=int(info["epoch"]),
                     progress=min(1.0, info["epoch"] / max(1, info["max_epochs"])), losses=losses)  # fmt: skip

    def load_state(self, run: Run) -> dict[str, Any] | None:
        path = run.path / RESUME_FILE
        if not path.is_file():
            return None
        state = torch.load(path, map_location="cpu", weights_only=True)
        append_metrics(run.path, {"event": "resumed", "epoch": int(state["epoch"])})
        return state

    def save_state(self, run: Run, state: dict[str, Any]) -> None:
        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write_bytes(run.path / RESUME_FILE, buf.getvalue())
        write_status(run.path, checkpoint_epoch=int(state["epoch"]))

    def finish(self, run: Run, done: dict[str, Any]) -> None:
        m = done["metrics"]
        joint = {g: m[g].get("joint", m[g]) for g in ("test", "val", "warm_val", "warm_test") if g in m}
        append_metrics(run.path, {"event": "eval", **{f"{g}_{k}": v for g, s in joint.items() for k, v in s.items()
                                                       if k in ("auc", "hit@10", "ndcg@10", "n")}})  # fmt: skip
        spec = run.spec()
        atomic_write_parquet(run.path / "results.parquet", results_frame(run.id, spec, done["scores"]))
        if done["codes"] is not None and done["model"].profile is not None:
            k = self.spec.tune_config().k_shot
            emb = embeddings_frame(done["model"], done["split"], done["codes"], k, self.attributes)
            atomic_write_parquet(run.path / "embeddings.parquet", emb)


def mark_done(run_dir: Path) -> None:
    """A complete run's final status; its epoch checkpoint is no longer needed."""
    write_status(run_dir, state="done", progress=1.0, finished=now(), pid=None,
                 epochs_run=Run(run_dir).metrics().get("epochs_run"))  # fmt: skip
    with contextlib.suppress(FileNotFoundError):
        (run_dir / RESUME_FILE).unlink()


def mark_failed(run_dir: Path, exc: BaseException) -> None:
    write_status(run_dir, state="failed", finished=now(), error=f"{type(exc).__name__}: {exc}",
                 traceback="".join(traceback.format_exception(exc)))  # fmt: skip


def mark_cancelled(run_dir: Path) -> None:
    write_status(run_dir, state="cancelled", finished=now(), pid=None)


def execute(store: Store, run_id: str, log: Log) -> str:
    """Compute one run (its warm run first) unless it is done; returns its final state.

    Exceptions become state 'failed' with the traceback; Cancelled marks it cancelled and propagates.
    """
    run_dir = store.runs_dir / run_id
    with flock(run_dir / ".lock"):
        if read_status(run_dir)["state"] == "done":
            return "done"
        try:
            if not (run_dir / "job.json").is_file():
                raise InputError(f"Run {run_id} has no job.json (made by `python -m ppr warm/tune`, not by a sweep); "
                                 "run that command again to finish it.")  # fmt: skip
            spec = RunSpec.from_dict(read_json(run_dir / "job.json"))
            warm = None
            if spec.kind == "tune":
                ds = spec.open_dataset(store)
                warm_id = spec.warm_spec().run_id(ds)
                if execute(store, warm_id, log) != "done":
                    raise RuntimeError(f"warm run {warm_id} did not finish: {read_status(store.runs_dir / warm_id).get('error')}")
                warm = Run(store.runs_dir / warm_id)
            write_status(run_dir, state="running", pid=os.getpid(), started=now(), error=None, stale=None)
            ds = spec.open_dataset(store)
            hooks = JobHooks(spec, [a["name"] for a in ds.attributes])
            if spec.kind == "warm":
                run, _ = experiment.warm_run(store, ds, spec.split_config(), spec.warm_config(), log, False, hooks)
            else:
                run, _ = experiment.tune_run(store, ds, spec.tune_config(), warm, log=log, bar=False,
                                             device=spec.device, hooks=hooks)  # fmt: skip
            if run.path != run_dir:
                raise RuntimeError(f"run spec of {run_id} computed run {run.id}: the library's run ids changed")
        except Cancelled:
            mark_cancelled(run_dir)
            log(f"cancelled {run_id}")
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of one run is recorded, the sweep goes on
            mark_failed(run_dir, exc)
            log(f"failed {run_id}: {type(exc).__name__}: {exc}")
            return "failed"
        mark_done(run_dir)
        log(f"done {run_id}")
        return "done"


def work(store: Store, run_ids: list[str], log: Log, sweep_dir: Path | None = None,
         max_workers: int | None = None) -> str:  # fmt: skip
    """Compute `run_ids` in order in this process; returns the overall state (done/failed/cancelled)."""
    from ppr.jobs.sweep import update_sweep

    def mark(**fields: Any) -> None:
        if sweep_dir is not None:
            update_sweep(sweep_dir, **fields)

    with sigterm_cancels():
        try:
            mark(state="queued", pid=os.getpid())
            with worker_slot(store.home, max_workers, log):
                mark(state="running", started=now())
                states = []
                for rid in run_ids:
                    if read_status(store.runs_dir / rid)["state"] == "cancelled":
                        states.append("cancelled")
                        continue
                    states.append(execute(store, rid, log))
            final = "failed" if "failed" in states else "done"
        except Cancelled:
            for rid in run_ids:
                st = read_status(store.runs_dir / rid)
                if st["state"] in ("queued", "running") or st.get("stale"):
                    mark_cancelled(store.runs_dir / rid)
            final = "cancelled"
        mark(state=final, finished=now(), pid=None)
    log(f"worker {os.getpid()} finished: {final}")
    return final


def main_log(msg: str) -> None:
    print(f"[{now()}] {msg}", file=sys.stderr, flush=True)
