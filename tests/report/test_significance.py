"""Seed aggregation and paired t-tests against fine-tuning, on per-target score tables with a planted gain."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ppr.report.significance import BASELINE, aggregate, paired_tests


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
    """ppr-full = fine-tuning + 0.1 (a real gain), ppr-light = fine-tuning + noise (none), two seeds of 200 targets."""
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
    assert BASELINE == "finetune"
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
    assert BASELINE not in set(tests["label"])


def test_pairs_are_matched_by_seed_and_target_not_by_row_order() -> None:
    scores = _table()
    shuffled = scores.sample(frac=1.0, random_state=3)
    a = paired_tests(scores, metrics=("auc",), groups=("joint",))
    b = paired_tests(shuffled, metrics=("auc",), groups=("joint",))
    pd.testing.assert_frame_equal(
        a.sort_values("label").reset_index(drop=True), b.sort_values("label").reset_index(drop=True)
    )
    one_seed = scores[~((scores.label == "ppr-full") & (scores.seed == 1))]  # ppr-full ran seed 0 only
    tests = paired_tests(one_seed, metrics=("auc",), groups=("joint",)).set_index("label")
    assert tests.loc["ppr-full", "n_pairs"] == 200 and tests.loc["ppr-light", "n_pairs"] == 400


def test_identical_scores_give_p_one_and_a_constant_shift_p_zero() -> None:
    scores = _table()
    same = scores[scores.label == "finetune"].assign(label="copy")
    shifted = scores[scores.label == "finetune"].assign(label="shifted", auc=lambda d: d["auc"] + 0.01)
    tests = paired_tests(pd.concat([scores, same, shifted]), metrics=("auc",), groups=("joint",)).set_index("label")
    assert tests.loc["copy", "p_value"] == 1.0 and tests.loc["copy", "mean_diff"] == 0.0
    assert tests.loc["shifted", "p_value"] == 0.0 and np.isclose(tests.loc["shifted", "mean_diff"], 0.01)
    lone = scores[(scores.label == "finetune") & (scores.target_id == 0) & (scores.seed == 0)]
    one = paired_tests(pd.concat([lone, lone.assign(label="x")]), metrics=("auc",), groups=("joint",))
    assert one.n_pairs.tolist() == [1] and np.isnan(one.p_value.iloc[0])  # one pair: no test


def test_aggregate_is_mean_and_std_over_seed_means() -> None:
    scores = _table()
    agg = aggregate(scores, metrics=("auc",), groups=("few",))
    row = agg[agg.label == "finetune"].iloc[0]
    per_seed = scores[(scores.label == "finetune") & (scores.kind == "few")].groupby("seed")["auc"].mean()
    assert row.n_seeds == 2
    assert np.isclose(row["mean"], per_seed.mean()) and np.isclose(row["std"], per_seed.std(ddof=1))
    single = aggregate(scores[scores.seed == 0], metrics=("auc", "ndcg@10"), groups=("joint",))
    assert set(single["n_seeds"]) == {1} and set(single["std"]) == {0.0}
    assert len(single) == 3 * 2  # labels x metrics
