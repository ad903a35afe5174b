"""Compare methods over seeds: means/stds, paired t-tests against fine-tuning, paper-style tables.

Input is one long table of per-target scores (`collect_scores` builds it from run
folders): label (method + toggles), seed, target_id, kind ('few'/'zero'), metric
columns. Paired t-test (scipy.stats.ttest_rel): each method's score on a target is
paired with fine-tuning's on the same target under the same seed; pairs from all
seeds are pooled into one test.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

TABLE_METRICS = ("auc", "hit@5", "hit@10", "hit@20", "ndcg@5", "ndcg@10", "ndcg@20")
GROUPS = ("few", "zero", "joint")
_HEADERS = {"auc": "AUC", **{f"{m}@{k}": f"{m.upper()}@{k}" for m in ("hit", "ndcg") for k in (5, 10, 20, 50)}}


def collect_scores(runs: Iterable) -> pd.DataFrame:
    """Per-target scores of tuning runs (ppr.runs.Run), tagged with the run's label and seed."""
    parts = []
    for run in runs:
        tune = run.spec()["tune"]
        df = run.scores()
        parts.append(df.assign(label=tune["label"], seed=int(tune["seed"]), run_id=run.id))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


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
                rows.append(dict(label=label, group=group, metric=m, mean=float(vals.mean()), std=std, n_seeds=len(vals)))
    return pd.DataFrame(rows, columns=["label", "group", "metric", "mean", "std", "n_seeds"])


def paired_tests(
    scores: pd.DataFrame,
    baseline: str = "finetune",
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
                rows.append(dict(label=label, group=group, metric=m, n_pairs=len(diff), mean_diff=mean_diff, p_value=p))
    return pd.DataFrame(rows, columns=["label", "group", "metric", "n_pairs", "mean_diff", "p_value"])


def markdown_table(
    agg: pd.DataFrame,
    tests: pd.DataFrame | None,
    group: str,
    labels: Sequence[str] | None = None,
    metrics: Sequence[str] = TABLE_METRICS,
    alpha: float = 0.05,
) -> str:
    """Rows methods, columns metrics, cells 'mean ± std'; '*' marks p < alpha vs fine-tuning."""
    part = agg[agg["group"] == group]
    labels = list(labels) if labels is not None else list(dict.fromkeys(part["label"]))
    pvals = {}
    if tests is not None and len(tests):
        t = tests[tests["group"] == group]
        pvals = {(r.label, r.metric): r.p_value for r in t.itertuples()}
    lines = [
        "| method | " + " | ".join(_HEADERS.get(m, m) for m in metrics) + " |",
        "|---|" + "---:|" * len(metrics),
    ]
    cells = {(r.label, r.metric): r for r in part.itertuples()}
    for label in labels:
        row = []
        for m in metrics:
            r = cells.get((label, m))
            if r is None:
                row.append("-")
                continue
            txt = f"{r.mean:.4f}" + (f" ± {r.std:.4f}" if r.n_seeds > 1 else "")
            p = pvals.get((label, m))
            if p is not None and not np.isnan(p) and p < alpha:
                txt += "*"
            row.append(txt)
        lines.append(f"| {label} | " + " | ".join(row) + " |")
    return "\n".join(lines)
