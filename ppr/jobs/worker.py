"""The worker: computes queued runs one after another, durably, and stops cleanly on SIGTERM.

Started detached (`python -m ppr worker --sweep ID`, its own session, so `runs cancel` can
signal its whole process group), or in the foreground by `sweep` without --background. At
most `max_workers` workers compute at a time on one machine (a lock per slot under
<home>/workers; the rest wait in line). Each run is computed by ppr.runs.pipeline under its
own lock, so two sweeps sharing a warm run never write one folder at once. The runs may be computed
elsewhere instead (an Executor: ppr.jobs.ray_executor's Ray tasks); the worker then only keeps the sweep's state.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ppr.data.store import Store
from ppr.jobs.sweep import register_worker, unregister_worker, update_sweep
from ppr.log import Log
from ppr.runs import group, pipeline
from ppr.runs.folder import RunFolder
from ppr.runs.status import now, process_started, raw_status, read_status
from ppr.runs.tracking import Cancelled, flock, mark_cancelled, mark_failed, sigterm_cancels
from ppr.spec.run import RunSpec


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


def execute(store: Store, run_id: str, log: Log) -> str:
    """Compute one queued run (its warm run first) unless it is done; returns its final state.

    A failure is recorded in the run's status (traceback included) and the sweep goes on;
    Cancelled propagates.
    """
    run = RunFolder(store.runs_dir / run_id)
    if read_status(run.path)["state"] == "done":
        return "done"
    try:
        device = raw_status(run.path).get("device") or "auto"
        pipeline.compute(store, run.spec(), device, log, bar=False, wait=True)
    except Cancelled:
        log(f"cancelled {run_id}")
        raise
    except Exception as exc:
        if read_status(run.path)["state"] != "failed":  # failed before its computation started
            mark_failed(run.path, exc)
        log(f"failed {run_id}: {type(exc).__name__}: {exc}")
        return "failed"
    log(f"done {run_id}")
    return "done"


# runs computed by something else than this process (ppr.jobs.ray_executor): (store, run ids, log, started) ->
# the final state of each run, in order; `started` is called once computing begins; Cancelled propagates
Executor = Callable[[Store, list[str], Log, Callable[[], None]], list[str]]


def take(store: Store, run_id: str, log: Log) -> str:
    """A run's turn: computed if queued (or running in another process, which this one then waits for); done,
    failed and cancelled runs are left as they are (`control.requeue` queues them again). Returns its state."""
    state = read_status(store.runs_dir / run_id)["state"]
    return execute(store, run_id, log) if state in ("queued", "running") else state


def in_order(
    store: Store, run_ids: list[str], log: Log, started: Callable[[], None], max_workers: int | None
) -> list[str]:
    """The local executor: the runs in order in this process, once a worker slot is free; queued tuning runs
    that can train together (ppr.runs.group) do, at the place of the first of them."""
    with worker_slot(store.home, max_workers, log):
        started()
        states: dict[str, str] = {}
        for ids in _turns(store, run_ids):
            ends = execute_group(store, ids, log) if len(ids) > 1 else [take(store, ids[0], log)]
            states |= dict(zip(ids, ends, strict=True))
        return [states[rid] for rid in run_ids]


def _turns(store: Store, run_ids: list[str]) -> list[list[str]]:
    """run_ids in order, the queued runs that may train together gathered at the first one's place."""
    queued = [r for r in run_ids if read_status(store.runs_dir / r)["state"] == "queued"]
    specs = {r: RunFolder(store.runs_dir / r).spec() for r in queued}
    together = {g[0].run_id: [s.run_id for s in g] for g in group.groups(specs.values(), _n_items(store, specs))}
    member = {rid for ids in together.values() for rid in ids}
    return [together.get(r, [r]) for r in run_ids if r in together or r not in member]


def _n_items(store: Store, specs: dict[str, RunSpec]) -> dict[str, int]:
    """Catalogue size per dataset version of the specs (what a cell's stacked item table costs)."""
    refs = {(s.dataset, s.dataset_hash) for s in specs.values()}
    return {ref: store.open_exact(*ref).n_items for ref in refs}


def execute_group(store: Store, run_ids: list[str], log: Log) -> list[str]:
    """Compute queued runs of one group together (ppr.runs.group); their final states. A failure of the group
    fails each run it left unfinished; a run left out (computed elsewhere meanwhile) takes its turn alone."""
    first = store.runs_dir / run_ids[0]
    try:
        device = raw_status(first).get("device") or "auto"
        group.compute_group(store, [RunFolder(store.runs_dir / r).spec() for r in run_ids], device, log)
    except Cancelled:
        log(f"cancelled the group of {len(run_ids)} runs from {run_ids[0]}")
        raise
    except Exception as exc:
        for rid in run_ids:
            st = raw_status(store.runs_dir / rid)
            if st.get("state") == "queued" or (st.get("state") == "running" and st.get("pid") == os.getpid()):
                mark_failed(store.runs_dir / rid, exc)
        log(f"failed the group of {len(run_ids)} runs from {run_ids[0]}: {type(exc).__name__}: {exc}")
    return [take(store, rid, log) for rid in run_ids]


def work(
    store: Store,
    run_ids: list[str],
    log: Log,
    sweep_dir: Path | None = None,
    max_workers: int | None = None,
    executor: Executor | None = None,
) -> str:
    """Compute the queued runs among `run_ids` (`take`); returns the overall state (done/failed/cancelled).

    In this process in order (`in_order`) unless an `executor` computes them elsewhere; either way this process
    keeps the sweep's state and is registered (ppr.jobs.sweep.register_worker) as the worker while it lives,
    and SIGTERM cancels: the runs still queued become cancelled.
    """
    me = os.getpid()
    compute = executor or functools.partial(in_order, max_workers=max_workers)

    def mark(**fields: Any) -> None:
        if sweep_dir is not None:
            update_sweep(sweep_dir, **fields)

    register_worker(store, me, run_ids, None if sweep_dir is None else sweep_dir.name)
    try:
        with sigterm_cancels():
            try:
                mark(state="queued", pid=me, pid_started=process_started(me))
                states = compute(store, run_ids, log, lambda: mark(state="running", started=now()))
                final = "failed" if "failed" in states else "done"
            except Cancelled:
                for rid in run_ids:
                    st = read_status(store.runs_dir / rid)
                    if st["state"] == "queued" or st.get("stale"):
                        mark_cancelled(store.runs_dir / rid)
                final = "cancelled"
            mark(state=final, finished=now(), pid=None, pid_started=None)
    finally:
        unregister_worker(store, me)
    log(f"worker {me} finished: {final}")
    return final


def main_log(msg: str) -> None:
    print(f"[{now()}] {msg}", file=sys.stderr, flush=True)
