"""Run folders: one folder per experiment under <home>/runs/<run_id>/.

    spec.json        every setting, library versions, dataset ref + content hash, split id
    checkpoint.pt    model state_dict (torch.load(..., weights_only=True) loads it)
    scores.parquet   per-target scores: target_id, user, kind, auc, hit@N, ndcg@N
    metrics.json     summary; written LAST, so its presence marks a complete run

run_id = readable prefix + short hash of the spec's identity (the spec without
library versions, device and timestamps): the same experiment maps to the same
folder, so a finished run is found and reused instead of being trained again.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import io
import json
import platform
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ppr.errors import InputError
from ppr.io import atomic_write_bytes, atomic_write_json, atomic_write_parquet, read_json

# Spec keys that describe where/when a run happened, not what it is.
NON_IDENTITY_KEYS = ("versions", "device", "created_at")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def library_versions() -> dict[str, str]:
    """Installed versions, read from package metadata (a sweep plan must not import torch for this)."""
    return dict(_versions())


@functools.cache
def _versions() -> tuple[tuple[str, str], ...]:
    """Read once per process: a metadata lookup costs ~1 ms per package, and every run id of a plan builds a spec."""
    names = ("torch", "numpy", "pandas", "duckdb")
    return (("python", platform.python_version()), *((n, importlib.metadata.version(n)) for n in names))


def spec_hash(spec: dict[str, Any]) -> str:
    identity = {k: v for k, v in spec.items() if k not in NON_IDENTITY_KEYS}
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:10]


def make_run_id(prefix: str, spec: dict[str, Any]) -> str:
    """Readable prefix (e.g. 'ml-100k-ppr-light') + '-' + 10 hex digits of the spec identity."""
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "-", prefix).strip("-.") or "run"
    return f"{clean[:80]}-{spec_hash(spec)}"


@dataclass(frozen=True)
class Run:
    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def is_complete(self) -> bool:
        return (self.path / "metrics.json").is_file() and (self.path / "spec.json").is_file()

    def spec(self) -> dict[str, Any]:
        return read_json(self.path / "spec.json")

    def metrics(self) -> dict[str, Any]:
        return read_json(self.path / "metrics.json")

    def scores(self) -> pd.DataFrame:
        return pd.read_parquet(self.path / "scores.parquet")

    def write_spec(self, spec: dict[str, Any]) -> None:
        atomic_write_json(self.path / "spec.json", spec)

    def write_scores(self, scores: pd.DataFrame) -> None:
        atomic_write_parquet(self.path / "scores.parquet", scores)

    def save_checkpoint(self, state_dict: dict[str, Any]) -> None:
        import torch

        buf = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, buf)
        atomic_write_bytes(self.path / "checkpoint.pt", buf.getvalue())

    def load_checkpoint(self) -> dict[str, Any]:
        import torch

        return torch.load(self.path / "checkpoint.pt", map_location="cpu", weights_only=True)

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        """Last write of a run: after it the run counts as complete."""
        atomic_write_json(self.path / "metrics.json", metrics)


def new_run(runs_dir: Path, prefix: str, spec: dict[str, Any]) -> Run:
    """The run folder for `spec` (created, spec.json written unless the run is complete)."""
    run = Run(Path(runs_dir) / make_run_id(prefix, spec))
    if not run.is_complete:
        run.path.mkdir(parents=True, exist_ok=True)
        run.write_spec(spec)
    return run


def open_run(runs_dir: Path, ref: str | Path) -> Run:
    """A run by id (under runs_dir) or by folder path; must be complete."""
    ref_str = str(ref)
    path = Path(ref_str) if ("/" in ref_str or not _ID_RE.match(ref_str)) else Path(runs_dir) / ref_str
    run = Run(path)
    if not run.is_complete:
        raise InputError(
            f"Run {ref_str!r} not found or not complete (expected {path}/spec.json and metrics.json). "
            f"List finished runs under {runs_dir}."
        )
    return run


def list_runs(runs_dir: Path) -> list[Run]:
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    return [Run(p) for p in sorted(runs_dir.iterdir()) if p.is_dir() and Run(p).is_complete]
