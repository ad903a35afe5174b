"""Run folders: one folder per run under <home>/runs/<run_id>/, named by its RunSpec.

    spec.json          {"run_id", "semantics", "spec"}: the run description, written once
    status.json        state (queued/running/done/failed/cancelled), pid, device, progress (ppr.runs.status)
    metrics.jsonl      one line per epoch (loss and validation metrics) while it trains
    resume.pt          the trainer's epoch checkpoint (gone once the run is done)
    checkpoint.pt      the final model's state_dict (torch.load(..., weights_only=True))
    scores.parquet     per-target scores: target_id, user, group, kind, rank, auc, hit@N, ndcg@N
    embeddings.parquet per cold user: profile codes, prompt and user vectors, test users' top-20
    metrics.json       the run's result (summary metrics, parameters, epochs, seconds, environment);
                       written LAST, so its presence marks a complete run

Every file is written atomically (temp file + rename): readers never see half of one.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ppr.errors import InputError
from ppr.io import atomic_write_bytes, atomic_write_json, atomic_write_parquet, read_json
from ppr.spec.run import SEMANTICS, RunSpec, TuneSpec

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class RunFolder:
    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def is_complete(self) -> bool:
        return (self.path / "metrics.json").is_file() and (self.path / "spec.json").is_file()

    def info(self) -> dict[str, Any]:
        """spec.json as stored (also for runs of older versions, whose spec no longer parses)."""
        return read_json(self.path / "spec.json")

    def semantics(self) -> int:
        """The run-semantics version the run was computed under (1: before versions were recorded)."""
        return int(self.info().get("semantics", 1))

    def spec(self) -> RunSpec:
        info = self.info()
        if int(info.get("semantics", 1)) != SEMANTICS:
            raise InputError(
                f"Run {self.id} was made by an older version of the workbench (run semantics "
                f"v{info.get('semantics', 1)}, now v{SEMANTICS}): its results may differ from what this "
                "version computes, so it is not reused. Run the same settings again to get a current run."
            )
        return RunSpec.from_dict(info["spec"])

    def write_spec(self, spec: RunSpec) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.path / "spec.json", {"run_id": self.id, "semantics": SEMANTICS, "spec": spec.to_dict()})

    def result(self) -> dict[str, Any]:
        return read_json(self.path / "metrics.json")

    def write_result(self, result: dict[str, Any]) -> None:
        """Last write of a run: after it the run counts as complete."""
        atomic_write_json(self.path / "metrics.json", result)

    def scores(self) -> pd.DataFrame:
        return pd.read_parquet(self.path / "scores.parquet")

    def write_scores(self, scores: pd.DataFrame) -> None:
        atomic_write_parquet(self.path / "scores.parquet", scores)

    def embeddings(self) -> pd.DataFrame:
        return pd.read_parquet(self.path / "embeddings.parquet")

    def write_embeddings(self, emb: pd.DataFrame) -> None:
        atomic_write_parquet(self.path / "embeddings.parquet", emb)

    def save_model(self, state_dict: dict[str, Any]) -> None:
        _save(self.path / "checkpoint.pt", {k: v.detach().cpu() for k, v in state_dict.items()})

    def load_model(self) -> dict[str, Any]:
        return _load(self.path / "checkpoint.pt")

    def save_state(self, state: dict[str, Any]) -> None:
        """The trainer's epoch checkpoint (resume.pt)."""
        _save(self.path / "resume.pt", state)

    def load_state(self) -> dict[str, Any] | None:
        path = self.path / "resume.pt"
        return _load(path) if path.is_file() else None

    def drop_state(self) -> None:
        (self.path / "resume.pt").unlink(missing_ok=True)


def _save(path: Path, obj: Any) -> None:
    import torch  # here: listing runs must not pay torch's import

    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def _load(path: Path) -> Any:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def run_folder(runs_dir: Path, ref: str | Path) -> RunFolder:
    """A run by id (under runs_dir) or by folder path; it must have a spec.json."""
    text = str(ref)
    path = Path(text) if ("/" in text or not _ID_RE.match(text)) else Path(runs_dir) / text
    if not (path / "spec.json").is_file():
        raise InputError(f"Run {text!r} not found (expected {path}/spec.json); `python -m ppr runs list` shows runs.")
    return RunFolder(path)


def complete_run(runs_dir: Path, ref: str | Path) -> RunFolder:
    """A finished run by id or folder path."""
    run = run_folder(runs_dir, ref)
    if not run.is_complete:
        raise InputError(
            f"Run {run.id} is not complete yet (no metrics.json); `python -m ppr runs show {run.id}` tells its state."
        )
    return run


def list_runs(runs_dir: Path) -> list[RunFolder]:
    """Every run folder with a spec.json, sorted by id."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    return [RunFolder(p) for p in sorted(runs_dir.iterdir()) if (p / "spec.json").is_file()]


def spec_summary(info: dict[str, Any]) -> dict[str, Any]:
    """What a listing shows of a spec.json (current or older layout): kind, method, label, dataset, k, noise, seed."""
    spec = info.get("spec") or info  # v1 kept the settings at the top level
    tune = spec.get("tune") or {}
    dataset = spec.get("dataset_ref") or spec.get("dataset")
    return {
        "kind": "warm" if not tune else "tune",
        "method": tune.get("method", "warm"),
        "label": tune.get("label") or _label(tune),
        "dataset": dataset if isinstance(dataset, str) else "?",
        "k": "all" if tune.get("k_shot") is None else str(tune["k_shot"]),
        "noise": float(tune.get("noise", 0)),
        "seed": tune.get("seed", (spec.get("warm") or {}).get("seed")),
        "semantics": int(info.get("semantics", 1)),
    }


def _label(tune: dict[str, Any]) -> str:
    try:
        return TuneSpec(**tune).label if tune else "warm"
    except (InputError, TypeError):
        return str(tune.get("method", "?"))
