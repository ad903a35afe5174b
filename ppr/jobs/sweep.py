"""Sweeps as jobs: a SweepSpec's runs queued in the store, a sweep folder that lists them, a detached worker.

`submit` writes every cell's spec.json (queued unless already done) and
<home>/sweeps/<id>/sweep.json listing the runs in execution order: per seed its shared warm
run first, then that seed's cells. The sweep id is the digest of the SweepSpec, so submitting
the same sweep twice finds the same folder and the finished cells are skipped. `launch`
starts a detached worker.

Every worker (detached or in the foreground) registers itself under <home>/workers/ with its pid,
its start time and the runs it will compute, so a reader can tell a queued run that a live worker
will take from one stranded by a killed worker (`live_workers`). A damaged sweep.json is left out
of `list_sweeps` with a one-line warning, and `read_sweep` of it says what is wrong.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ppr.data.store import Store, validate_name
from ppr.errors import InputError
from ppr.io import atomic_write_json
from ppr.log import Log, to_stderr
from ppr.runs.folder import Damaged, RunFolder, is_run_id, read_object
from ppr.runs.status import STATES, now, process_started, read_status, same_process, write_status
from ppr.runs.tracking import flock
from ppr.spec.run import RunSpec
from ppr.spec.sweep import SweepSpec


def sweeps_dir(store: Store) -> Path:
    return store.home / "sweeps"


def queue_run(store: Store, spec: RunSpec, device: str, sweep: str | None = None) -> str:
    """Write the run's spec.json and mark it queued (unless done or computing); returns its state."""
    run = RunFolder(store.runs_dir / spec.run_id)
    if not (run.path / "spec.json").is_file():
        run.write_spec(spec)
    state = read_status(run.path)["state"]
    if state in ("failed", "cancelled") or not (run.path / "status.json").is_file() and state != "done":
        write_status(
            run.path, state="queued", sweep=sweep, device=device, error=None, traceback=None, stale=None, queued=now()
        )
        return "queued"
    return state


def submit(store: Store, sweep: SweepSpec, device: str = "auto") -> dict[str, Any]:
    """Create/refresh the sweep folder and its queued runs; returns sweep.json's content. Runs added to the sweep
    from outside its grid (imported scores, `add_run`) stay listed."""
    store.open_exact(sweep.base.dataset, sweep.base.dataset_hash)
    sid = sweep.sweep_id
    order, rows, warm_ids, seed_start = [], [], [], {}
    for abl, spec in sweep.cells():
        seed_start.setdefault(spec.tune.seed, len(order))
        wid = spec.warm_run().run_id if spec.needs_warm else None
        if wid is not None and wid not in warm_ids:  # before the seed's first cell (a counted baseline may lead)
            warm_ids.append(wid)
            queue_run(store, spec.warm_run(), device, sid)
            order.insert(seed_start[spec.tune.seed], wid)
        state = queue_run(store, spec, device, sid)
        order.append(spec.run_id)
        rows.append(cell_row(spec, abl, wid, state))
    folder = sweeps_dir(store) / sid
    with flock(folder / ".lock"):
        try:
            old = read_object(folder / "sweep.json")
        except (FileNotFoundError, Damaged):  # a new sweep, or a damaged file this submission replaces
            old = {}
        added = [
            c
            for c in old.get("cells") or []
            if isinstance(c, dict) and c.get("added") and is_run_id(c.get("run_id")) and c["run_id"] not in order
        ]
        body = {
            "id": sid,
            "dataset": sweep.base.dataset,
            "created": old.get("created", now()),
            "submitted": now(),
            "state": "queued",
            "pid": None,
            "device": device,
            "spec": sweep.to_dict(),
            "runs": order + [c["run_id"] for c in added],
            "warm_runs": warm_ids,
            "cells": rows + added,
        }
        if old.get("state") in ("queued", "running") and _worker_alive(old):
            body.update(state=old["state"], pid=old["pid"], pid_started=old.get("pid_started"))  # a worker has it
        atomic_write_json(folder / "sweep.json", body)
    return body


def cell_row(spec: RunSpec, ablation: str, warm_run: str | None, state: str) -> dict[str, Any]:
    """A tuning run as sweep.json lists it among its cells."""
    t = spec.tune
    return {
        "run_id": spec.run_id,
        "warm_run": warm_run,
        "method": t.method,
        "label": t.label,
        "ablation": ablation,
        "k": "all" if t.k_shot is None else str(t.k_shot),
        "noise": t.noise,
        "seed": t.seed,
        "state_at_submit": state,
    }


def add_run(store: Store, sid: str, run: RunFolder) -> bool:
    """List a finished tuning run from outside the sweep's grid (imported scores) among its runs and cells, so
    its report and the Compare page show it; False when the sweep lists it already. Submitting the sweep again
    keeps it."""
    _sweep_file(store, sid)  # exists and reads: a clear error before taking the lock
    folder = sweeps_dir(store) / sid
    with flock(folder / ".lock"):
        body = _checked(folder / "sweep.json")
        if run.id in body["runs"]:
            return False
        row = {**cell_row(run.spec(), "none", None, "done"), "added": now()}
        body = {**body, "runs": [*body["runs"], run.id], "cells": [*body["cells"], row], "updated": now()}
        atomic_write_json(folder / "sweep.json", body)
    return True


def read_sweep(store: Store, sid: str) -> dict[str, Any]:
    """sweep.json with the live state: stale when its worker is gone, counts of its runs' states, progress,
    and `stranded`: how many of its queued runs no live worker will take (`next` says what starts one)."""
    body = _sweep_file(store, sid)
    if body["state"] in ("queued", "running") and body.get("pid") and not _worker_alive(body):
        body.update(state="failed", stale=True)
    states = {r: read_status(store.runs_dir / r)["state"] for r in body["runs"]}
    body["counts"] = {s: list(states.values()).count(s) for s in ("queued", "running", "done", "failed", "cancelled")}
    body["progress"] = body["counts"]["done"] / max(1, len(states))
    queued = {r for r, s in states.items() if s == "queued"}
    body["stranded"] = len(queued - covered_runs(store)) if queued else 0
    body["next"] = resume_command(store, sid) if body["stranded"] or body.get("stale") else None
    return body


def _sweep_file(store: Store, sid: str) -> dict[str, Any]:
    """sweep.json as stored (checked), without the live state read_sweep adds from every run's status."""
    path = sweeps_dir(store) / validate_name(sid) / "sweep.json"
    if not path.is_file():
        raise InputError(f"Sweep {sid!r} not found (expected {path}); `python -m ppr runs list` shows sweeps.")
    return _checked(path)


def _checked(path: Path) -> dict[str, Any]:
    """sweep.json, checked to hold what readers rely on (Damaged otherwise)."""
    fix = "; submit the same sweep again (`python -m ppr sweep` with its settings) to write it anew"
    body = read_object(path, fix)
    runs, cells, pid = body.get("runs"), body.get("cells"), body.get("pid")
    where = f"sweep.json of {path.parent.name}"
    if not isinstance(runs, list) or not all(is_run_id(r) for r in runs):
        raise Damaged(f"{where} has no list of run ids under 'runs'{fix}")
    if not isinstance(cells, list) or not all(isinstance(c, dict) and is_run_id(c.get("run_id")) for c in cells):
        raise Damaged(f"{where} has no list of cells with run ids under 'cells'{fix}")
    if body.get("state") not in STATES or pid is not None and (type(pid) is not int or pid <= 0):
        raise Damaged(f"{where} has an invalid state or pid ({body.get('state')!r}, {pid!r}){fix}")
    if not isinstance(body.get("dataset"), str):
        body["dataset"] = "?"
    return body


def _worker_alive(body: dict[str, Any]) -> bool:
    started = body.get("pid_started")
    return same_process(body.get("pid"), started if isinstance(started, int | float) else None)


def resume_command(store: Store, ident: str) -> str:
    """The command that (re)starts a worker for a run or sweep, as a user would type it here."""
    home = "" if store.home == Store().home else f" --home {store.home}"
    return f"python -m ppr{home} runs resume {ident}"


def sweep_runs(store: Store, sid: str) -> list[RunFolder]:
    """The sweep's tuning runs (its cells), in order."""
    return [RunFolder(store.runs_dir / c["run_id"]) for c in _sweep_file(store, sid)["cells"]]


def sweep_stamp(store: Store, sid: str) -> float:
    """The latest change to the sweep's file or to a result of its runs (a run finishing, an import joining):
    what a cached reading of the sweep's results is keyed by."""
    paths = [sweeps_dir(store) / sid / "sweep.json", *(r.path / "metrics.json" for r in sweep_runs(store, sid))]
    return max(p.stat().st_mtime for p in paths if p.exists())


def list_sweeps(store: Store, warn: Log | None = to_stderr) -> list[str]:
    """Ids of the sweeps whose sweep.json reads; a damaged one is left out with a one-line warning."""
    return list(_readable(store, warn))


def sweep_backbones(store: Store, warn: Log | None = to_stderr) -> dict[str, str]:
    """Sweep id -> the backbone its runs warm-train (sasrec, cl4srec, gru4rec, bert4rec), for every readable sweep."""
    return {
        sid: body.get("spec", {}).get("base", {}).get("backbone", {}).get("kind", "sasrec")
        for sid, body in _readable(store, warn).items()
    }


def _readable(store: Store, warn: Log | None) -> dict[str, dict[str, Any]]:
    """Sweep id -> its checked sweep.json, in id order; damaged ones left out with a warning."""
    d = sweeps_dir(store)
    if not d.is_dir():
        return {}
    found = {}
    for p in sorted(d.iterdir()):
        if not (p / "sweep.json").is_file():
            continue
        try:
            found[p.name] = _checked(p / "sweep.json")
        except FileNotFoundError:
            continue
        except Damaged as exc:
            if warn is not None:
                warn(f"warning: skipping damaged sweep {p.name}: {exc}")
    return found


def latest_sweeps(store: Store, n: int = 3) -> list[dict[str, Any]]:
    """The n most recently updated readable sweeps' sweep.json."""
    folders = [sweeps_dir(store) / sid for sid in list_sweeps(store)]
    folders.sort(key=lambda f: (f / "sweep.json").stat().st_mtime, reverse=True)
    return [read_object(f / "sweep.json") for f in folders[:n]]


def update_sweep(folder: Path, **fields: Any) -> None:
    """Merge `fields` into sweep.json (under the sweep's lock: an `add_run` meanwhile is not lost)."""
    with flock(folder / ".lock"):
        body = read_object(folder / "sweep.json")
        atomic_write_json(folder / "sweep.json", {**body, **fields, "updated": now()})


def workers_dir(store: Store) -> Path:
    return store.home / "workers"


def register_worker(store: Store, pid: int, run_ids: list[str], sweep: str | None = None) -> None:
    """Record that process `pid` (a worker) will compute `run_ids`; entries of dead workers are pruned."""
    started = process_started(pid)
    if started is None:
        return  # already gone
    folder = workers_dir(store)
    for entry in _worker_entries(store):
        if entry["pid"] != pid and not same_process(entry["pid"], entry["started"]):
            (folder / f"worker-{entry['pid']}.json").unlink(missing_ok=True)
    body = {"pid": pid, "started": started, "sweep": sweep, "runs": list(run_ids), "registered": now()}
    atomic_write_json(folder / f"worker-{pid}.json", body)


def unregister_worker(store: Store, pid: int) -> None:
    (workers_dir(store) / f"worker-{pid}.json").unlink(missing_ok=True)


def live_workers(store: Store) -> list[dict[str, Any]]:
    """The registered workers still running (pid alive with its recorded start time)."""
    return [e for e in _worker_entries(store) if same_process(e["pid"], e["started"])]


def covered_runs(store: Store) -> set[str]:
    """Ids of the runs some live worker will compute (or is computing)."""
    return {r for w in live_workers(store) for r in w["runs"]}


def _worker_entries(store: Store) -> list[dict[str, Any]]:
    entries = []
    for path in sorted(workers_dir(store).glob("worker-*.json")):
        try:
            body = read_object(path)
        except (FileNotFoundError, Damaged):
            continue
        pid, started, runs = body.get("pid"), body.get("started"), body.get("runs")
        if type(pid) is int and pid > 0 and isinstance(started, int | float) and isinstance(runs, list):
            entries.append({**body, "runs": [r for r in runs if isinstance(r, str)]})
    return entries


def package_root() -> Path:
    """The folder holding this ppr package: first on the import path of a worker started elsewhere, so it runs this
    code (not another checkout or install)."""
    return Path(__file__).resolve().parents[2]


def launch(
    store: Store,
    target: list[str],
    log_path: Path,
    max_workers: int | None = None,
    run_ids: list[str] | None = None,
) -> int:
    """Start a detached worker (new session: its own process group) and return its pid at once.

    A fresh interpreter, never a fork: safe with CUDA and with a parent holding threads. The worker is
    registered at once for `run_ids` (it registers itself too, once started), so its runs never read as
    stranded meanwhile.
    """
    argv = [sys.executable, "-m", "ppr", "--home", str(store.home), "worker", *target]
    if max_workers:
        argv += ["--max-workers", str(max_workers)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(package_root()), env.get("PYTHONPATH")) if p)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as logf:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            close_fds=True,
        )
    if run_ids:
        register_worker(store, proc.pid, run_ids, target[1] if target[0] == "--sweep" else None)
    return proc.pid
