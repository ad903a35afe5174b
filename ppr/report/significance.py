"""Significance of a method's difference to fine-tuning: means over seeds and paired tests.

Input is one long table of per-target scores (ppr.report.results.load_scores): label
(method + toggles), seed, target_id, kind ('few'/'zero') and metric columns. Paired t-test
(scipy.stats.ttest_rel): each method's score on a target is paired with fine-tuning's on the
same target under the same seed; pairs from all seeds are pooled into one test.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

TABLE_METRICS = ("auc", "hit@5", "hit@10", "hit@20", "ndcg@5", "ndcg@10", "ndcg@20")
GROUPS = ("few", "zero", "joint")
BASELINE = "finetune"


def _group_rows(scores: pd.DataFrame, group: str) -> pd.DataFrame:
    return scores if group == "joint" else scores[scores["kind"] == group]


def aggregate(
    scores: pd.DataFrame, metrics: Sequence[str] = TABLE_METRICS, groups: Sequence[str] = GROUPS
) -> pd.DataFrame:
    """Mean and std over seeds of each seed's mean: columns label, group, metric, mean, std, n_seeds."""
    rows = []
    for group in groups:
        part = _group_rows(scores, group)
        per_seed = part.groupby(["label", "seed"])[list(metrics)].mean()
        for label, sub in per_seed.groupby(level="label"):
            for m in metrics:
                vals = sub[m].to_numpy(np.float64)
                std = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
                rows.append(
                    {
                        "label": label,
                        "group": group,
                        "metric": m,
                        "mean": float(vals.mean()),
                        "std": std,
                        "n_seeds": len(vals),
                    }
                )
    return pd.DataFrame(rows, columns=["label", "group", "metric", "mean", "std", "n_seeds"])


def paired_tests(
    scores: pd.DataFrame,
    baseline: str = BASELINE,
    metrics: Sequence[str] = TABLE_METRICS,
    groups: Sequence[str] = GROUPS,
) -> pd.DataFrame:
    """p-values of ttest_rel(method, baseline) on targets paired by (seed, target_id).

    Columns label, group, metric, n_pairs, mean_diff, p_value. Identical scores give
    p = 1 (no evidence of a difference) rather than scipy's NaN.
    """
    from scipy import stats  # here: listing runs or sweeps must not pay scipy's import

    rows = []
    for group in groups:
        part = _group_rows(scores, group)
        keys = ["seed", "target_id"]
        base = part.loc[part["label"] == baseline, keys + list(metrics)]
        for label, sub in part[part["label"] != baseline].groupby("label"):
            joined = sub[keys + list(metrics)].merge(base, on=keys, how="inner", suffixes=("", "__base"))
            for m in metrics:
                a, b = joined[m].to_numpy(np.float64), joined[f"{m}__base"].to_numpy(np.float64)
                diff = a - b
                if len(diff) < 2:
                    p = float("nan")
                elif np.allclose(diff, diff[0]):
                    p = 1.0 if diff[0] == 0 else 0.0
                else:
                    p = float(stats.ttest_rel(a, b).pvalue)
                mean_diff = float(diff.mean()) if len(diff) else float("nan")
                rows.append(
                    {
                        "label": label,
                        "group": group,
                        "metric": m,
                        "n_pairs": len(diff),
                        "mean_diff": mean_diff,
                        "p_value": p,
                    }
                )
    return pd.DataFrame(rows, columns=["label", "group", "metric", "n_pairs", "mean_diff", "p_value"])
