"""Ways one file of a run folder gets damaged (a full disk, a hand edit, a copy cut short), and random junk.

DAMAGES maps a name to (file, how): `damage(run_dir, name)` applies it. Each leaves the run's other
files as they were, so a reader must name that file and carry on with every other run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

BINARY = bytes(range(256)) * 4  # not UTF-8, not JSON, not Parquet


def _cut(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _with(path: Path, **fields: object) -> str:
    return json.dumps({**json.loads(path.read_text()), **fields})


DAMAGES = {
    "empty status.json": ("status.json", lambda p: p.write_bytes(b"")),
    "status.json not JSON": ("status.json", lambda p: p.write_text('{"state": "running", "pid": 12')),
    "status.json a list": ("status.json", lambda p: p.write_text("[1, 2]")),
    "status.json with a text pid": ("status.json", lambda p: p.write_text('{"state": "running", "pid": "12"}')),
    "status.json with an unknown state": ("status.json", lambda p: p.write_text('{"state": "exploded"}')),
    "empty spec.json": ("spec.json", lambda p: p.write_bytes(b"")),
    "binary spec.json": ("spec.json", lambda p: p.write_bytes(BINARY)),
    "spec.json with a list for its spec": ("spec.json", lambda p: p.write_text(_with(p, spec=[1]))),
    "truncated metrics.json": ("metrics.json", _cut),
    "binary metrics.json": ("metrics.json", lambda p: p.write_bytes(BINARY)),
    "truncated scores.parquet": ("scores.parquet", _cut),
}


def damage(run_dir: Path, name: str) -> str:
    """Apply DAMAGES[name] to the run folder; returns the damaged file's name."""
    fname, how = DAMAGES[name]
    path = Path(run_dir) / fname
    if not path.exists():
        path.write_text("{}")  # status.json of a fake run: there must be one to damage
    how(path)
    return fname


def junk(rng: np.random.Generator) -> bytes:
    """Random content for a JSON file: bytes, or JSON of random shapes and values (fields readers use)."""
    kind = rng.integers(4)
    if kind == 0:
        return rng.bytes(int(rng.integers(0, 64)))
    values = [None, True, -1, 0, 7, 2**70, 1.5, float("nan"), float("inf"), "", "x/../y", "running", [], {}, [1]]
    keys = ["state", "pid", "pid_started", "progress", "epoch", "max_epochs", "error", "sweep", "spec", "semantics"]
    keys += ["runs", "cells", "dataset", "tune", "method", "k_shot", "noise", "seed", "summary", "epochs_run"]
    body = {str(rng.choice(keys)): values[int(rng.integers(len(values)))] for _ in range(int(rng.integers(0, 6)))}
    if kind == 1:
        body = [body] if rng.random() < 0.5 else values[int(rng.integers(len(values)))]
    if kind == 2 and "spec" in body:
        body["spec"] = {"tune": {k: values[int(rng.integers(len(values)))] for k in ("method", "k_shot", "noise")}}
    return json.dumps(body).encode()
