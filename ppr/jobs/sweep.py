"""Sweeps as jobs: a SweepSpec's runs queued in the store, a sweep folder that lists them, a detached worker.

`submit` writes every cell's spec.json (queued unless already done) and
<home>/sweeps/<id>/sweep.json listing the runs in execution order: per seed its shared warm
run first, then that seed's cells. The sweep id is the digest of the SweepSpec, so submitting
the same sweep twice finds the same folder and the finished cells are skipped. `launch`
starts a detached worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ppr.data.store import Store, validate_name
from ppr.errors import InputError
from ppr.io import atomic_write_json, read_json
from ppr.runs.folder import RunFolder
from ppr.runs.status import now, pid_alive, read_status, write_status
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
    """Create/refresh the sweep folder and its queued runs; returns sweep.json's content."""
    store.open_exact(sweep.base.dataset, sweep.base.dataset_hash)
    sid = sweep.sweep_id
    order, rows, warm_ids = [], [], []
    for abl, spec in sweep.cells():
        wid = spec.warm_run().run_id
        if wid not in warm_ids:
            warm_ids.append(wid)
            queue_run(store, spec.warm_run(), device, sid)
            order.append(wid)
        state = queue_run(store, spec, device, sid)
        order.append(spec.run_id)
        t = spec.tune
        rows.append(
            {
                "run_id": spec.run_id,
                "warm_run": wid,
                "method": t.method,
                "label": t.label,
                "ablation": abl,
                "k": "all" if t.k_shot is None else str(t.k_shot),
                "noise": t.noise,
                "seed": t.seed,
                "state_at_submit": state,
            }
        )
    folder = sweeps_dir(store) / sid
    old = read_json(folder / "sweep.json") if (folder / "sweep.json").is_file() else {}
    body = {
        "id": sid,
        "dataset": sweep.base.dataset,
        "created": old.get("created", now()),
        "submitted": now(),
        "state": "queued",
        "pid": None,
        "device": device,
        "spec": sweep.to_dict(),
        "runs": order,
        "warm_runs": warm_ids,
        "cells": rows,
    }
    if old.get("state") in ("queued", "running") and pid_alive(old.get("pid")):
        body.update(state=old["state"], pid=old["pid"])  # a worker already has it
    atomic_write_json(folder / "sweep.json", body)
    return body


def read_sweep(store: Store, sid: str) -> dict[str, Any]:
    """sweep.json with the live state: stale when its worker is gone, counts of its runs' states, progress."""
    path = sweeps_dir(store) / validate_name(sid) / "sweep.json"
    if not path.is_file():
        raise InputError(f"Sweep {sid!r} not found (expected {path}); `python -m ppr runs list` shows sweeps.")
    body = read_json(path)
    if body.get("state") in ("queued", "running") and body.get("pid") and not pid_alive(body["pid"]):
        body.update(state="failed", stale=True)
    states = [read_status(store.runs_dir / r)["state"] for r in body["runs"]]
    body["counts"] = {s: states.count(s) for s in ("queued", "running", "done", "failed", "cancelled")}
    body["progress"] = body["counts"]["done"] / max(1, len(states))
    return body


def sweep_runs(store: Store, sid: str) -> list[RunFolder]:
    """The sweep's tuning runs (its cells), in order."""
    return [RunFolder(store.runs_dir / c["run_id"]) for c in read_sweep(store, sid)["cells"]]


def list_sweeps(store: Store) -> list[str]:
    d = sweeps_dir(store)
    return sorted(p.name for p in d.iterdir() if (p / "sweep.json").is_file()) if d.is_dir() else []


def latest_sweeps(store: Store, n: int = 3) -> list[dict[str, Any]]:
    """The n most recently updated sweeps' sweep.json (a stat per sweep, then n small reads: Home stays fast)."""
    folders = [sweeps_dir(store) / sid for sid in list_sweeps(store)]
    folders.sort(key=lambda f: (f / "sweep.json").stat().st_mtime, reverse=True)
    return [read_json(f / "sweep.json") for f in folders[:n]]


def update_sweep(folder: Path, **fields: Any) -> None:
    body = read_json(folder / "sweep.json")
    atomic_write_json(folder / "sweep.json", {**body, **fields, "updated": now()})


def launch(store: Store, target: list[str], log_path: Path, max_workers: int | None = None) -> int:
    """Start a detached worker (new session: its own process group) and return its pid at once.

    A fresh interpreter, never a fork: safe with CUDA and with a parent holding threads.
    """
    argv = [sys.executable, "-m", "ppr", "--home", str(store.home), "worker", *target]
    if max_workers:
        argv += ["--max-workers", str(max_workers)]
    env = dict(os.environ)
    repo = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (repo, env.get("PYTHONPATH")) if p)
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
    return proc.pid
