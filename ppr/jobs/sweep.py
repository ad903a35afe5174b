"""Sweeps: a grid of tuning cells (method x k-shot x noise x seed x ablation) over one dataset.

`submit` expands the grid, writes every cell's job.json (queued unless already done)
and <home>/sweeps/<id>/sweep.json listing the runs in execution order: per seed its
shared warm run first, then that seed's cells. The sweep id is a hash of the grid
and settings, so submitting the same sweep twice finds the same folder and the
finished cells are skipped. `launch` starts a detached worker for it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ppr.data.splits import SplitConfig
from ppr.data.store import Dataset, Store, validate_name
from ppr.errors import InputError
from ppr.io import atomic_write_json, read_json
from ppr.jobs.spec import RunSpec, make_spec
from ppr.jobs.status import now, pid_alive, read_status, write_status
from ppr.train.config import METHODS, PPR_METHODS, TuneConfig, WarmConfig

ABLATIONS = {
    "none": {},
    "no-cl": {"cl": False},
    "no-prompt-aug": {"prompt_aug": False},
    "no-behavior-aug": {"behavior_aug": False},
}


def k_shot(value: str) -> int | None:
    """One k-shot setting as typed: 'all' is None (every click), else an integer >= 1 (ValueError otherwise)."""
    if value.strip().lower() == "all":
        return None
    k = int(value)
    if k < 1:
        raise ValueError(value)
    return k


def grid_list(text: str, cast: Any, what: str) -> list:
    """A comma-separated grid axis as typed in the CLI or the Runs form; `what` names it in the error."""
    try:
        return [cast(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"{what} {text!r} is invalid: expected a comma-separated list.") from None


@dataclass(frozen=True)
class SweepSpec:
    dataset: str  # NAME or NAME@vN
    methods: list[str]
    k_shots: list[int | None]
    noises: list[float]
    seeds: list[int]
    ablations: list[str] = field(default_factory=lambda: ["none"])
    split: SplitConfig = SplitConfig()
    warm: WarmConfig = WarmConfig()
    tune: dict[str, Any] = field(default_factory=dict)  # TuneConfig overrides for every cell (epochs, lr, ...)
    device: str = "auto"

    def __post_init__(self) -> None:
        bad = [m for m in self.methods if m not in METHODS] + [a for a in self.ablations if a not in ABLATIONS]
        if bad or not (self.methods and self.k_shots and self.noises and self.seeds and self.ablations):
            raise InputError(
                f"Sweep grid is invalid ({', '.join(map(str, bad)) or 'an empty list'}): methods must come from "
                f"{', '.join(METHODS)}, ablations from {', '.join(ABLATIONS)}, and no list may be empty."
            )


def cells(sweep: SweepSpec) -> list[tuple[str, TuneConfig]]:
    """(ablation, config) per cell, seed-major; ablations apply to PPR methods only (others once)."""
    out, seen = [], set()
    for seed in sweep.seeds:
        for method in sweep.methods:
            for k in sweep.k_shots:
                for noise in sweep.noises:
                    for abl in sweep.ablations if method in PPR_METHODS else ["none"]:
                        cfg = TuneConfig(method=method, k_shot=k, noise=noise, seed=seed, **{**sweep.tune, **ABLATIONS[abl]})
                        if cfg not in seen:
                            seen.add(cfg)
                            out.append((abl, cfg))
    return out


def sweep_id(ds: Dataset, sweep: SweepSpec) -> str:
    body = {**dataclasses.asdict(sweep), "dataset": ds.ref, "content_hash": ds.content_hash}
    body["warm"].pop("device", None)
    body.pop("device")
    return f"{ds.name}-{hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:10]}"


def sweeps_dir(store: Store) -> Path:
    return store.home / "sweeps"


def _queue_run(store: Store, run_id: str, spec: RunSpec, sid: str) -> str:
    """Write job.json; (re)queue unless done or being computed. Returns the run's state."""
    run_dir = store.runs_dir / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    if not (run_dir / "job.json").is_file():
        atomic_write_json(run_dir / "job.json", spec.to_dict())
    st = read_status(run_dir)
    if st["state"] in ("failed", "cancelled") or not (run_dir / "status.json").is_file() and st["state"] != "done":
        write_status(run_dir, state="queued", sweep=sid, error=None, traceback=None, stale=None, queued=now())
        return "queued"
    return st["state"]


def submit(store: Store, sweep: SweepSpec) -> dict[str, Any]:
    """Create/refresh the sweep folder and its queued runs; returns sweep.json's content."""
    ds = store.open(sweep.dataset)
    sid = sweep_id(ds, sweep)
    order, rows, warm_ids = [], [], []
    for abl, cfg in cells(sweep):
        spec = make_spec(ds, sweep.split, sweep.warm, cfg, sweep.device)
        wid = spec.warm_spec().run_id(ds)
        if wid not in warm_ids:
            warm_ids.append(wid)
            _queue_run(store, wid, spec.warm_spec(), sid)
            order.append(wid)
        rid = spec.run_id(ds)
        state = _queue_run(store, rid, spec, sid)
        order.append(rid)
        rows.append({"run_id": rid, "warm_run": wid, "method": cfg.method, "label": cfg.label, "ablation": abl,
                     "k": "all" if cfg.k_shot is None else cfg.k_shot, "noise": cfg.noise, "seed": cfg.seed,
                     "state_at_submit": state})  # fmt: skip
    folder = sweeps_dir(store) / sid
    old = read_json(folder / "sweep.json") if (folder / "sweep.json").is_file() else {}
    body = {
        "id": sid, "dataset": ds.ref, "content_hash": ds.content_hash, "created": old.get("created", now()),
        "submitted": now(), "state": "queued", "pid": None,
        "grid": {"methods": sweep.methods, "k_shots": ["all" if k is None else k for k in sweep.k_shots],
                 "noises": sweep.noises, "seeds": sweep.seeds, "ablations": sweep.ablations},
        "settings": {"split": dataclasses.asdict(sweep.split), "warm": sweep.warm.to_dict(), "tune": sweep.tune,
                     "device": sweep.device},
        "runs": order, "warm_runs": warm_ids, "cells": rows,
    }  # fmt: skip
    if old.get("state") in ("queued", "running") and pid_alive(old.get("pid")):
        body.update(state=old["state"], pid=old["pid"])  # a worker already has it
    atomic_write_json(folder / "sweep.json", body)
    return body


def read_sweep(store: Store, sid: str) -> dict[str, Any]:
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


def list_sweeps(store: Store) -> list[str]:
    d = sweeps_dir(store)
    return sorted(p.name for p in d.iterdir() if (p / "sweep.json").is_file()) if d.is_dir() else []


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
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                start_new_session=True, env=env, close_fds=True)  # fmt: skip
    return proc.pid
