"""Seed aggregation, paired t-tests against fine-tuning and the paper-style table."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ppr.eval.compare import aggregate, markdown_table, paired_tests


def _scores(label: str, seed: int, auc: np.ndarray) -> pd.DataFrame:
    n = len(auc)
    return pd.DataFrame(
        {
            "target_id": np.arange(n),
            "kind": np.where(np.arange(n) % 4 == 0, "zero", "few"),
            "auc": auc,
            "ndcg@10": auc / 2,
            "label": label,
            "seed": seed,
        }
    )


def _table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    parts = []
    for seed in (0, 1):
        base = rng.random(200)
        parts.append(_scores("finetune", seed, base))
        parts.append(_scores("ppr-full", seed, np.clip(base + 0.1 + rng.normal(0, 0.05, 200), 0, 1.5)))
        parts.append(_scores("ppr-light", seed, base + rng.normal(0, 0.05, 200)))
    return pd.concat(parts, ignore_index=True)


def test_paired_test_matches_scipy_on_pooled_pairs_and_flags_only_real_gains() -> None:
    scores = _table()
    tests = paired_tests(scores, metrics=("auc",), groups=("joint", "zero"))
    full = tests[(tests.label == "ppr-full") & (tests.group == "joint")].iloc[0]
    a = scores[scores.label == "ppr-full"].sort_values(["seed", "target_id"])["auc"].to_numpy()
    b = scores[scores.label == "finetune"].sort_values(["seed", "target_id"])["auc"].to_numpy()
    assert full.n_pairs == 400
    assert np.isclose(full.p_value, stats.ttest_rel(a, b).pvalue)
    assert full.p_value < 1e-6 and full.mean_diff > 0.05
    light = tests[(tests.label == "ppr-light") & (tests.group == "joint")].iloc[0]
    assert light.p_value > 0.01  # pure noise around fine-tuning
    assert tests[(tests.group == "zero")].n_pairs.tolist() == [100, 100]


def test_aggregate_is_mean_and_std_over_seed_means() -> None:
    scores = _table()
    agg = aggregate(scores, metrics=("auc",), groups=("few",))
    row = agg[agg.label == "finetune"].iloc[0]
    per_seed = scores[(scores.label == "finetune") & (scores.kind == "few")].groupby("seed")["auc"].mean()
    assert row.n_seeds == 2
    assert np.isclose(row["mean"], per_seed.mean()) and np.isclose(row["std"], per_seed.std(ddof=1))


def test_markdown_table_marks_significant_rows() -> None:
    scores = _table()
    metrics = ("auc", "ndcg@10")
    md = markdown_table(
        aggregate(scores, metrics),
        paired_tests(scores, metrics=metrics),
        "joint",
        ["finetune", "ppr-light", "ppr-full"],
        metrics,
    )
    lines = md.splitlines()
    assert lines[0] == "| method | AUC | NDCG@10 |"
    assert len(lines) == 5
    assert "*" in lines[4] and "*" not in lines[2] and "*" not in lines[3]
    assert "±" in lines[2]
