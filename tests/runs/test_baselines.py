"""The popularity baselines through the pipeline: where clicks are pure global popularity, pop is as good as any
method (within the noise of the comparison); they need no warm run and write what every run writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _store_tables import publish_tables

from ppr.data.store import Store
from ppr.report.tables import sweep_table
from ppr.runs.pipeline import compute
from ppr.spec.run import BackboneSpec, RunSpec, SplitSpec, TuneSpec, WarmSpec


def popularity_dataset(store: Store, n_users: int = 400, n_items: int = 300, seed: int = 0):
    """Every click drawn (without repeats) from one Zipf-like popularity; a profile attribute that carries nothing."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_items + 1) ** 1.1
    p /= p.sum()
    lengths = np.where(rng.random(n_users) < 0.35, rng.integers(1, 10, n_users), rng.integers(12, 25, n_users))
    rows = [
        (u, int(i), 1_600_000_000 + t)
        for u in range(n_users)
        for t, i in enumerate(rng.choice(np.arange(1, n_items + 1), lengths[u], replace=False, p=p))
    ]
    inter = pd.DataFrame(rows, columns=["user", "item", "ts"]).astype({"user": "int32", "item": "int32", "ts": "int64"})
    users = pd.DataFrame(
        {
            "user": np.arange(n_users, dtype=np.int32),
            "user_id": [f"u{u}" for u in range(n_users)],
            "colour": rng.integers(1, 4, n_users).astype(np.int16),
        }
    )
    items = pd.DataFrame(
        {
            "item": np.arange(1, n_items + 1, dtype=np.int32),
            "item_id": [f"i{i}" for i in range(1, n_items + 1)],
            "title": None,
            "category": None,
        }
    )
    return publish_tables(store, "popular", inter, users, items, {"colour": ["missing", "r", "g", "b"]})


@pytest.mark.parametrize("seed", [0])
def test_on_pure_popularity_pop_is_within_noise_of_the_best_method(tmp_path, seed) -> None:
    store = Store(tmp_path)
    ds = popularity_dataset(store, seed=seed)
    base = RunSpec(
        ds.ref,
        ds.content_hash,
        SplitSpec(folds=2),
        BackboneSpec(max_len=10, d=16, n_layers=1, d_ff=32),
        WarmSpec(epochs=4, lr=1e-2),
    )
    runs = []
    for method in ("pop", "pop-profile", "finetune", "ppr-light"):
        for fold in (0, 1):
            tune = TuneSpec(method=method, fold=fold, epochs=4, lr=1e-2, batch_size=32)
            run, _ = compute(store, base.tuned(tune), "cpu", lambda _m: None, bar=False)
            runs.append(run)
    pop_run = runs[0]
    assert pop_run.result()["warm_run"] is None and (pop_run.path / "scores.parquet").is_file()
    table = sweep_table(runs, ["ndcg@10"])
    for group in ("zero", "few", "joint"):
        rows = table[table["group"] == group].set_index("label")
        best = rows["mean"].idxmax()
        assert rows.loc["pop", "ci_high"] >= rows.loc[best, "mean"], (group, rows[["mean", "ci_low", "ci_high"]])
        assert rows.loc["pop", "n_users"] == rows.loc["finetune", "n_users"]  # every cold user, both folds
