"""Significance that holds: users as the unit, bootstrap intervals, Wilcoxon by user, BH across cells, seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ppr.report.significance import adjust, bootstrap_interval, compare, seeds_agreeing, user_means, wilcoxon_p


def _scores(
    rng: np.random.Generator,
    labels: dict[str, float],
    n_users: int = 60,
    seeds: int = 3,
    per_user: int = 5,
    seed_noise: float = 0.3,
) -> pd.DataFrame:
    """Per-target scores: a user effect, a shift per label, a (label, seed, user) effect shared by the user's
    targets under that seed, and target noise. Labels with the same shift are identical up to seed."""
    rows = []
    user_effect = rng.normal(0.0, 1.0, n_users)
    for label, shift in labels.items():
        for seed in range(seeds):
            shared = rng.normal(0.0, seed_noise, n_users)
            for u in range(n_users):
                vals = user_effect[u] + shift + shared[u] + rng.normal(0.0, 0.3, per_user)
                rows += [
                    {
                        "label": label,
                        "method": label,
                        "seed": seed,
                        "user": u,
                        "target_id": u * per_user + t,
                        "kind": "zero" if t == 0 else "few",
                        "ndcg@10": v,
                    }
                    for t, v in enumerate(vals)
                ]
    return pd.DataFrame(rows)


def test_a_user_counts_once_whatever_their_targets_and_seeds() -> None:
    df = pd.DataFrame(
        {
            "label": "a",
            "seed": [0, 0, 0, 1, 1, 1],
            "user": [1, 1, 2, 1, 1, 2],
            "kind": "few",
            "ndcg@10": [0.0, 1.0, 0.4, 1.0, 1.0, 0.2],
        }
    )
    means = user_means(df, "joint", ["ndcg@10"]).loc["a"]
    assert means["ndcg@10"].to_dict() == pytest.approx({1: (0.5 + 1.0) / 2, 2: (0.4 + 0.2) / 2})


def test_bootstrap_interval_covers_the_mean_narrows_with_users_and_is_seeded() -> None:
    rng = np.random.default_rng(0)
    small, large = rng.normal(0.5, 0.2, (30, 1)), rng.normal(0.5, 0.2, (3000, 1))
    lo, hi = bootstrap_interval(small, np.random.default_rng(1))
    assert lo[0] < small.mean() < hi[0]
    lo2, hi2 = bootstrap_interval(large, np.random.default_rng(1))
    assert hi2[0] - lo2[0] < (hi[0] - lo[0]) / 5
    again = bootstrap_interval(small, np.random.default_rng(1))
    assert np.array_equal(again[0], lo) and np.array_equal(again[1], hi)
    se = small.std(ddof=1) / np.sqrt(len(small))
    assert hi[0] - lo[0] == pytest.approx(2 * 1.96 * se, rel=0.2)  # the normal interval, near enough


def test_wilcoxon_by_user_finds_a_shift_and_not_a_null() -> None:
    rng = np.random.default_rng(2)
    assert wilcoxon_p(rng.normal(0.1, 0.2, 200)) < 1e-4
    assert wilcoxon_p(rng.normal(0.0, 0.2, 200)) > 0.01
    assert wilcoxon_p(np.zeros(50)) == 1.0 and np.isnan(wilcoxon_p(np.array([])))


def test_benjamini_hochberg_matches_scipy_and_keeps_nan() -> None:
    p = pd.Series([0.01, 0.04, np.nan, 0.03, 0.5])
    adj = adjust(p)
    assert np.isnan(adj[2])
    assert adj.dropna().to_numpy() == pytest.approx(stats.false_discovery_control([0.01, 0.04, 0.03, 0.5]))


def test_compare_rows_intervals_difference_and_seeds() -> None:
    df = _scores(np.random.default_rng(3), {"finetune": 0.0, "better": 0.5})
    rows = compare(df, ["ndcg@10"]).set_index(["label", "group"])
    better = rows.loc[("better", "joint")]
    assert better["n_users"] == 60 and better["n_seeds"] == 3
    assert better["diff_low"] < better["diff"] < better["diff_high"]
    assert better["diff"] == pytest.approx(0.5, abs=0.15)
    assert better["p_wilcoxon"] < 1e-6 and better["seeds_agree"] == "3/3"
    assert np.isnan(rows.loc[("finetune", "joint"), "diff"])  # the baseline is not compared with itself
    assert seeds_agreeing(df, "better", "zero", ["ndcg@10"]) == ["3/3"]


def test_methods_that_read_clicks_only_have_no_zero_shot_or_joint_rows() -> None:
    df = _scores(np.random.default_rng(4), {"finetune": 0.0, "sasrec": 0.0})
    df.loc[df["label"] == "sasrec", "method"] = "sasrec"
    groups = set(compare(df, ["ndcg@10"]).query("label == 'sasrec'")["group"])
    assert groups == {"few"}


def test_a_method_without_zero_shot_or_full_catalogue_scores_has_no_such_rows_not_nan() -> None:
    """Imported scores: zero-shot targets left out (so joint is n/a too), full-catalogue metrics absent."""
    df = _scores(np.random.default_rng(5), {"finetune": 0.0, "bert4rec": 0.5})
    df["full_ndcg@10"] = df["ndcg@10"].where(df["label"] == "finetune")
    df = df[(df["label"] == "finetune") | (df["kind"] == "few")]
    rows = compare(df, ["ndcg@10", "full_ndcg@10"])
    mine = rows[rows["label"] == "bert4rec"]
    assert set(zip(mine["group"], mine["metric"], strict=True)) == {("few", "ndcg@10")}
    assert mine.iloc[0]["diff"] == pytest.approx(0.5, abs=0.15) and mine.iloc[0]["p_wilcoxon"] < 1e-6
    assert len(rows[rows["label"] == "finetune"]) == 6 and not rows["mean"].isna().any()


def test_the_corrected_by_user_test_keeps_false_positives_near_five_percent() -> None:
    """Two methods identical up to seed (same shift; their seeds draw independent effects), 20 cells, repeated:
    after BH across the cells, at most about 5% of cells come out significant. Pooling targets over seeds with
    a t-test (what the Compare page did before) finds many more."""
    significant, pooled, cells = 0, 0, 0
    for rep in range(12):
        rng = np.random.default_rng(100 + rep)
        p_user, p_pooled = [], []
        for _ in range(20):
            df = _scores(rng, {"finetune": 0.0, "finetune-seed2": 0.0}, n_users=40, seeds=3, per_user=6)
            row = compare(df, ["ndcg@10"]).query("label == 'finetune-seed2' and group == 'joint'").iloc[0]
            p_user.append(row["p_wilcoxon"])
            a = df[df["label"] == "finetune"].sort_values(["seed", "target_id"])["ndcg@10"].to_numpy()
            b = df[df["label"] == "finetune-seed2"].sort_values(["seed", "target_id"])["ndcg@10"].to_numpy()
            p_pooled.append(stats.ttest_rel(a, b).pvalue)
        significant += int((adjust(pd.Series(p_user)) < 0.05).sum())
        pooled += int((np.asarray(p_pooled) < 0.05).sum())
        cells += 20
    assert significant / cells <= 0.05
    assert pooled / cells > 0.2  # the old test: targets of one user and seed treated as independent evidence
