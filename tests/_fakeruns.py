"""Run folders written by hand (spec.json, scores.parquet, metrics.json) for the report tests: no training.

`tuning_run` writes a tuning run of the given settings whose per-target test and validation scores
are `quality` (one value per target) plus fixed offsets per metric; `warm_run` a complete warm run.
The files have the layout ppr.runs.pipeline writes; the spec is a real RunSpec, so run ids and labels
are the ones a computed run would get.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ppr.eval.evaluate import summarize_scores
from ppr.runs.folder import RunFolder
from ppr.spec.run import RunSpec, TuneSpec, WarmSpec

DATASET = "planted@v1"
METRICS = ("auc", "hit@5", "hit@10", "hit@20", "ndcg@5", "ndcg@10", "ndcg@20")


def base_spec(**warm: object) -> RunSpec:
    return RunSpec(DATASET, "hash0", warm=WarmSpec(epochs=2, **warm))


def scores_frame(quality: np.ndarray, group: str) -> pd.DataFrame:
    """Per-target rows as evaluate() returns them; every fourth target is zero-shot."""
    n = len(quality)
    df = pd.DataFrame(
        {
            "target_id": np.arange(n, dtype=np.int64),
            "user": (np.arange(n) // 4).astype(np.int32),
            "group": group,
            "kind": np.where(np.arange(n) % 4 == 0, "zero", "few"),
            "rank": np.zeros(n, dtype=np.int64),
        }
    )
    for j, m in enumerate(METRICS):
        df[m] = quality / (1 + j)  # distinct but ordered alike: a gain in one is a gain in all
    return df


def write_run(
    home: Path,
    spec: RunSpec,
    scores: pd.DataFrame,
    params: dict | None = None,
    complete: bool = True,
    embeddings: bool = False,
) -> RunFolder:
    run = RunFolder(Path(home) / "runs" / spec.run_id)
    run.write_spec(spec)
    run.write_scores(scores)
    if embeddings:
        (run.path / "embeddings.parquet").write_bytes(b"")
    if complete:
        run.write_result(
            {
                "run_id": run.id,
                "kind": spec.kind,
                "label": "warm" if spec.tune is None else spec.tune.label,
                "summary": {g: summarize_scores(part) for g, part in scores.groupby("group", sort=False)},
                "params": params or {},
                "best_epoch": 1,
                "epochs_run": 2,
            }
        )
    return run


def tuning_run(
    home: Path,
    quality: np.ndarray,
    method: str = "finetune",
    k_shot: int | None = None,
    noise: float = 0.0,
    seed: int = 0,
    params: dict | None = None,
    complete: bool = True,
    embeddings: bool = False,
    base: RunSpec | None = None,
    **tune: object,
) -> RunFolder:
    spec = (base or base_spec()).tuned(TuneSpec(method=method, k_shot=k_shot, noise=noise, seed=seed, **tune))
    scores = pd.concat([scores_frame(quality, "test"), scores_frame(quality[: len(quality) // 2], "val")])
    return write_run(home, spec, scores.reset_index(drop=True), params, complete, embeddings)


def warm_run(home: Path, quality: np.ndarray, seed: int = 0) -> RunFolder:
    spec = base_spec(seed=seed)
    scores = pd.concat([scores_frame(quality, "warm_val"), scores_frame(quality, "warm_test")])
    return write_run(home, spec, scores.reset_index(drop=True), {"backbone": 1000})
