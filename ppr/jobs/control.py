"""Start, cancel and resume sweeps and runs: the calls the CLI and the app share.

Identifiers are run ids (folders under <home>/runs) or sweep ids (under <home>/sweeps).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from ppr.data.store import Store
from ppr.errors import InputError
from ppr.jobs import sweep as sweeps
from ppr.runs.folder import list_runs, run_folder, spec_summary
from ppr.runs.status import now, pid_alive, read_status, write_status
from ppr.spec.run import SEMANTICS
from ppr.spec.sweep import SweepSpec


def run_dir(store: Store, rid: str) -> Path:
    if "/" in rid:
        raise InputError(f"Run {rid!r} is not a run id; `python -m ppr runs list` shows run ids.")
    return run_folder(store.runs_dir, rid).path


def is_sweep(store: Store, ident: str) -> bool:
    return "/" not in ident and (sweeps.sweeps_dir(store) / ident / "sweep.json").is_file()


def start(
    store: Store, spec: SweepSpec, device: str = "auto", max_workers: int | None = None
) -> tuple[str, int | None]:
    """Submit `spec` and hand it to a detached worker unless one has it: (sweep id, worker pid)."""
    body = sweeps.submit(store, spec, device)
    sid = body["id"]
    if body["state"] in ("queued", "running") and pid_alive(body.get("pid")):
        return sid, body["pid"]
    folder = sweeps.sweeps_dir(store) / sid
    pid = sweeps.launch(store, ["--sweep", sid], folder / "worker.log", max_workers)
    sweeps.update_sweep(folder, pid=pid)
    return sid, pid


def _signal(pid: int) -> None:
    """SIGTERM the worker's process group when it leads one (a detached worker), else just the process."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGTERM)
        else:
            os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def cancel(store: Store, ident: str) -> str:
    """SIGTERM the live worker of a run/sweep (it marks its runs cancelled), else cancel what is queued."""
    if is_sweep(store, ident):
        body = sweeps.read_sweep(store, ident)
        pid, ids = body.get("pid"), body["runs"]
    else:
        pid, ids = read_status(run_dir(store, ident)).get("pid"), [ident]
    if pid and pid_alive(pid):
        _signal(int(pid))
        return f"sent SIGTERM to worker {pid}; it marks its runs cancelled and exits"
    n = 0
    for rid in ids:
        if read_status(store.runs_dir / rid)["state"] == "queued":
            write_status(store.runs_dir / rid, state="cancelled", finished=now())
            n += 1
    if is_sweep(store, ident):
        sweeps.update_sweep(sweeps.sweeps_dir(store) / ident, state="cancelled", pid=None)
    return f"no live worker; {n} queued runs marked cancelled"


def requeue(store: Store, ident: str) -> tuple[list[str], Path | None]:
    """Failed (stale included) and cancelled runs of a run/sweep back to queued: (run ids, sweep folder)."""
    sweep = is_sweep(store, ident)
    ids = sweeps.read_sweep(store, ident)["runs"] if sweep else [run_dir(store, ident).name]
    for rid in ids:
        if read_status(store.runs_dir / rid)["state"] in ("failed", "cancelled"):
            write_status(store.runs_dir / rid, state="queued", error=None, traceback=None, stale=None, pid=None)
    return ids, (sweeps.sweeps_dir(store) / ident if sweep else None)


def resume(store: Store, ident: str) -> int:
    """Requeue and start a detached worker; runs continue from their epoch checkpoints. Returns its pid."""
    _, folder = requeue(store, ident)
    target = ["--sweep", ident] if folder else ["--run", ident]
    pid = sweeps.launch(store, target, (folder or store.runs_dir / ident) / "worker.log")
    if folder:
        sweeps.update_sweep(folder, pid=pid, state="queued")
    return pid


def shown_state(status: dict, info: dict) -> str:
    """A run's state as lists show it: 'failed (worker gone)' for a stale run, '· outdated' for an older version."""
    shown = "failed (worker gone)" if status.get("stale") else status["state"]
    semantics = spec_summary(info)["semantics"]
    return shown + (f" · outdated (v{semantics})" if semantics != SEMANTICS else "")


def run_rows(store: Store, run_ids: list[str] | None = None) -> list[dict]:
    """One summary row per run folder (all of them, or `run_ids` in that order): what lists of runs show.

    A run of an older run-semantics version is flagged `outdated`: its results are never reused.
    """
    runs = list_runs(store.runs_dir) if run_ids is None else [run_folder(store.runs_dir, r) for r in run_ids]
    rows = []
    for run in runs:
        info = run.info()
        st, s = read_status(run.path), spec_summary(info)
        rows.append(
            {
                "id": run.id,
                "state": st["state"],
                "shown_state": shown_state(st, info),
                "stale": bool(st.get("stale")),
                "outdated": s["semantics"] != SEMANTICS,
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
