"""Scores files as another library would write them for `python -m ppr scores import`, from a targets.tsv frame."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ppr.data.store import Store
from ppr.jobs.sweep import sweep_runs
from ppr.runs.folder import RunFolder


def finetune_cell(store: Store, sid: str) -> RunFolder:
    """The sweep's finetune run at k=all, seed 0."""
    return next(
        r
        for r in sweep_runs(store, sid)
        if r.spec().tune.label == "finetune" and r.spec().tune.k_shot is None and r.spec().tune.seed == 0
    )


def perfect(target: int, j: int) -> float:
    """The positive (j = 0) highest, then the negatives in their order."""
    return 1.0 if j == 0 else 0.5 - j / 1000


def few_shot(t: pd.Series) -> bool:
    return t["kind"] == "few"


def write_scores(
    path: Path,
    targets: pd.DataFrame,
    score: Callable[[int, int], float] = perfect,
    keep: Callable[[pd.Series], bool] = few_shot,
) -> pd.DataFrame:
    """user,target,candidate,score for every candidate of the targets kept (targets.tsv's columns); score(target_id,
    j): j = 0 the positive, 1.. its negatives. Returns the rows written."""
    rows = [
        (t["user_id"], t["target_id"], item, score(int(t["target_id"]), j))
        for _, t in targets.iterrows()
        if keep(t)
        for j, item in enumerate([t["item_id"], *t["negatives"].split()])
    ]
    df = pd.DataFrame(rows, columns=["user", "target", "candidate", "score"])
    df.to_csv(path, index=False)
    return df
