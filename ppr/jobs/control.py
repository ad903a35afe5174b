"""Start, cancel and resume sweeps and runs: the calls the CLI and the app share.

Identifiers are run ids (folders under <home>/runs) or sweep ids (under <home>/sweeps).
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from ppr.data.store import Store
from ppr.errors import InputError
from ppr.jobs import sweep as sweeps
from ppr.log import Log, to_stderr
from ppr.runs.folder import RunFolder, is_run_id, list_runs, readable, run_folder, spec_summary
from ppr.runs.status import is_ppr_process, now, process_started, read_status, same_process, write_status
from ppr.spec.sweep import SweepSpec


def run_dir(store: Store, rid: str) -> Path:
    if "/" in rid:
        raise InputError(f"Run {rid!r} is not a run id; `python -m ppr runs list` shows run ids.")
    return run_folder(store.runs_dir, rid).path


def is_sweep(store: Store, ident: str) -> bool:
    return is_run_id(ident) and (sweeps.sweeps_dir(store) / ident / "sweep.json").is_file()


def start(
    store: Store, spec: SweepSpec, device: str = "auto", max_workers: int | None = None
) -> tuple[str, int | None]:
    """Submit `spec` and hand it to a detached worker unless one has it: (sweep id, worker pid)."""
    body = sweeps.submit(store, spec, device)
    sid = body["id"]
    if (
        body["state"] in ("queued", "running")
        and body.get("pid")
        and same_process(body["pid"], body.get("pid_started"))
    ):
        return sid, body["pid"]
    folder = sweeps.sweeps_dir(store) / sid
    pid = sweeps.launch(store, ["--sweep", sid], folder / "worker.log", max_workers, body["runs"])
    sweeps.update_sweep(folder, pid=pid, pid_started=process_started(pid))
    return sid, pid


def _signal(pid: int) -> None:
    """SIGTERM the worker itself, never its process group: a worker computes its runs in-process, and a Ray
    driver's group holds its local Ray instance, which must stay up while the driver cancels its tasks (signalled
    too, it died first now and then, and the tasks ran on with their runs left 'running')."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)


def cancel(store: Store, ident: str) -> str:
    """SIGTERM the live worker of a running run or sweep (it marks its runs cancelled), else cancel what is queued.

    Only a process verifiably ours is signalled: the pid recorded when the run or sweep started, alive with
    the start time recorded with it (ppr.runs.status.is_ppr_process); a pid since handed to another process
    is left alone.
    """
    sweep = is_sweep(store, ident)
    if sweep:
        body = sweeps.read_sweep(store, ident)
        pid, started, ids = body.get("pid"), body.get("pid_started"), body["runs"]
        running = body["state"] in ("queued", "running") and not body.get("stale")
    else:
        st = read_status(run_dir(store, ident))
        pid, started, ids = st.get("pid"), st.get("pid_started"), [ident]
        running = st["state"] == "running"  # a run whose process is gone reads failed (stale)
    note = ""
    if running and pid:
        if is_ppr_process(pid, started):
            _signal(int(pid))
            return f"sent SIGTERM to worker {pid}; it marks its runs cancelled and exits"
        note = f"process {pid} is not the worker that took {ident} (that one is gone): not signalled; "
    n = 0
    for rid in ids:
        if read_status(store.runs_dir / rid)["state"] == "queued":
            write_status(store.runs_dir / rid, state="cancelled", finished=now())
            n += 1
    if sweep:
        sweeps.update_sweep(sweeps.sweeps_dir(store) / ident, state="cancelled", pid=None, pid_started=None)
    elif not n and not note:
        return f"run {ident} is {read_status(run_dir(store, ident))['state']}: nothing to cancel"
    return f"{note}no live worker; {n} queued runs marked cancelled"


def sweep_of(store: Store, rid: str) -> str | None:
    """The sweep a run was queued by (its status names it), if that sweep still lists it."""
    sid = read_status(store.runs_dir / rid).get("sweep")
    if not isinstance(sid, str) or not is_sweep(store, sid):
        return None
    try:
        return sid if rid in sweeps.read_sweep(store, sid)["runs"] else None
    except InputError:  # a damaged sweep.json: resume the run alone
        return None


def requeue(store: Store, ident: str) -> tuple[list[str], Path | None]:
    """Failed (stale and damaged included) and cancelled runs of a run/sweep back to queued: (run ids a worker
    should take, sweep folder). A run of a sweep brings its sweep along: the ids are the sweep's, so the cells
    still queued (stranded by a killed worker) are computed too."""
    sid = ident if is_sweep(store, ident) else sweep_of(store, run_dir(store, ident).name)
    again = sweeps.read_sweep(store, ident)["runs"] if sid == ident else [ident]
    for rid in again:
        st = read_status(store.runs_dir / rid)
        if st["state"] in ("failed", "cancelled"):
            if st.get("damaged") and RunFolder(store.runs_dir / rid).result_problem():
                (store.runs_dir / rid / "metrics.json").unlink(missing_ok=True)  # a damaged result: computed again
            write_status(
                store.runs_dir / rid, state="queued", error=None, traceback=None, stale=None, damaged=None, pid=None
            )
    if sid is None:
        return again, None
    return sweeps.read_sweep(store, sid)["runs"], sweeps.sweeps_dir(store) / sid


def resume(store: Store, ident: str) -> int:
    """Requeue and start a detached worker; runs continue from their epoch checkpoints. Returns its pid.

    Resuming a run of a sweep starts a worker for the sweep: the run and the sweep's cells still queued.
    """
    ids, folder = requeue(store, ident)
    target = ["--sweep", folder.name] if folder else ["--run", ident]
    pid = sweeps.launch(store, target, (folder or store.runs_dir / ident) / "worker.log", run_ids=ids)
    if folder:
        sweeps.update_sweep(folder, pid=pid, pid_started=process_started(pid), state="queued")
    return pid


def shown_state(status: dict, info: dict, worker: bool = True) -> str:
    """A run's state as lists show it: 'failed (worker gone)' for a stale run, 'failed (damaged)' for one whose
    files are damaged, 'queued, no worker' for a queued run no live worker will take, '· outdated' for an older
    version."""
    shown = status["state"]
    if status.get("stale"):
        shown = "failed (worker gone)"
    elif status.get("damaged"):
        shown = "failed (damaged)"
    elif shown == "queued" and not worker:
        shown = "queued, no worker"
    s = spec_summary(info)
    return shown + (f" · outdated (v{s['semantics']})" if s["outdated"] else "")


def next_step(store: Store, status: dict, worker: bool = True) -> str | None:
    """The command that gets a stranded, stale or damaged run going again; None when nothing is needed.

    A queued run of a sweep is resumed with its sweep (a stat, not a read: lists call this per row)."""
    stranded = status["state"] == "queued" and not worker
    if not (stranded or status.get("stale") or status.get("damaged")):
        return None
    sid = status.get("sweep")
    if stranded and isinstance(sid, str) and is_sweep(store, sid):
        return sweeps.resume_command(store, sid)
    return sweeps.resume_command(store, status["id"])


def has_worker(store: Store, rid: str) -> bool:
    """True if a live worker will take (or is computing) run `rid`."""
    return rid in sweeps.covered_runs(store)


def run_rows(store: Store, run_ids: list[str] | None = None, warn: Log | None = to_stderr) -> list[dict]:
    """One summary row per run folder (all of them, or `run_ids` in that order): what lists of runs show.

    A run of an older run-semantics version is flagged `outdated`: its results are never reused. A run whose
    files are damaged is left out with a one-line warning (`warn`); so is a listed id with no run folder.
    A queued run that no live worker will take has worker=False, and `next` is the command that starts one.
    """
    if run_ids is None:
        runs = list_runs(store.runs_dir, warn)
    else:
        found = []
        for rid in run_ids:
            try:
                found.append(run_folder(store.runs_dir, rid))
            except InputError as exc:
                if warn is not None:
                    warn(f"warning: skipping run {rid}: {exc}")
        runs = readable(found, warn)
    covered = sweeps.covered_runs(store)
    rows = []
    for run in runs:
        info = run.info()
        st, s = read_status(run.path), spec_summary(info)
        worker = st["state"] != "queued" or run.id in covered
        rows.append(
            {
                "id": run.id,
                "state": st["state"],
                "shown_state": shown_state(st, info, worker),
                "stale": bool(st.get("stale")),
                "worker": worker,
                "next": next_step(store, st, worker),
                "outdated": s["outdated"],
                "semantics": s["semantics"],
                "progress": float(st.get("progress") or 0),
                "epoch": st.get("epoch", 0),
                "max_epochs": st.get("max_epochs"),
                "kind": s["kind"],
                "method": s["method"],
                "label": s["label"],
                "dataset": s["dataset"],
                "sweep": st.get("sweep"),
                "pid": st.get("pid"),
                "updated": st.get("updated"),
                "error": st.get("error"),
            }
        )
    return rows
