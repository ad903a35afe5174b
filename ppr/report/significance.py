"""How sure a difference is: means with bootstrap intervals over users, paired tests by user, and the
false discovery rate controlled across every cell a report shows.

The unit of evidence is a user, not a target: a user's targets are not independent, and the same
target scored under another seed is not new evidence. So each method's per-target scores become one
number per user (the mean of the user's targets in the group, then the mean over seeds), and a method
is compared with the baseline on the users both scored:
- mean and 95% bootstrap interval over users (percentile, BOOTSTRAP resamples, seeded);
- the mean difference to the baseline, its bootstrap interval, and the Wilcoxon signed-rank test of
  the per-user differences (the paired t-test beside it);
- how many seeds agree with the sign of the difference;
- Benjamini-Hochberg adjusted p-values across all rows of a table (`adjust`), so a grid of a hundred
  cells does not show "significant" cells by chance alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ppr.spec.run import NO_ZERO_SHOT

TABLE_METRICS = ("auc", "hit@5", "hit@10", "hit@20", "ndcg@5", "ndcg@10", "ndcg@20", "mrr")
FULL_METRICS = ("full_hit@10", "full_hit@20", "full_ndcg@10", "full_ndcg@20", "full_mrr")
GROUPS = ("few", "zero", "joint")
BASELINE = "finetune"
BOOTSTRAP = 2000
CHUNK = 50  # resamples drawn and counted at once
ALPHA = 0.05
COLUMNS = [
    "label",
    "group",
    "metric",
    "mean",
    "ci_low",
    "ci_high",
    "n_users",
    "n_seeds",
    "diff",
    "diff_low",
    "diff_high",
    "p_wilcoxon",
    "p_t",
    "seeds_agree",
]


def user_means(scores: pd.DataFrame, group: str, metrics: Sequence[str]) -> pd.DataFrame:
    """(label, user) -> each metric: the mean of a user's targets of the group, per seed, then over seeds."""
    part = scores if group == "joint" else scores[scores["kind"] == group]
    per_seed = part.groupby(["label", "seed", "user"])[list(metrics)].mean()
    return per_seed.groupby(level=["label", "user"]).mean()


def compare(scores: pd.DataFrame, metrics: Sequence[str], baseline: str = BASELINE, seed: int = 0) -> pd.DataFrame:
    """COLUMNS per (label, group, metric) of per-target scores (columns label, method, seed, user, kind, metrics).

    Methods that read clicks only (warm-only, sasrec) have no zero-shot or joint rows: n/a; so has a method that
    scored no zero-shot target at all (scores imported from a library that cannot). A metric a method has no
    values of (full-catalogue ranks of imported scores) has no row: n/a, not NaN.
    """
    metrics = [m for m in metrics if m in scores.columns]
    blind = set(scores.loc[scores["method"].isin(NO_ZERO_SHOT), "label"])
    zero_scored = set(scores.loc[scores["kind"] == "zero", "label"])
    if zero_scored:
        blind |= set(scores["label"]) - zero_scored
    rows = []
    for g, group in enumerate(GROUPS):
        means = user_means(scores, group, metrics)
        seeds = scores.groupby("label")["seed"].nunique()
        base = means.loc[baseline] if baseline in means.index.get_level_values("label") else None
        for label in means.index.get_level_values("label").unique():
            if group != "few" and label in blind:
                continue
            rng = np.random.default_rng([seed, g, len(rows)])
            rows += _rows(label, group, means.loc[label], base, baseline, metrics, int(seeds[label]), rng, scores)
    return pd.DataFrame(rows, columns=COLUMNS)


def _rows(
    label: str,
    group: str,
    mine: pd.DataFrame,
    base: pd.DataFrame | None,
    baseline: str,
    metrics: list[str],
    n_seeds: int,
    rng: np.random.Generator,
    scores: pd.DataFrame,
) -> list[dict]:
    """One row per metric for one method and group (the metrics it has values of)."""
    metrics = [m for m in metrics if mine[m].notna().any()]
    if not metrics:
        return []
    lo, hi = bootstrap_interval(mine[metrics].to_numpy(np.float64), rng)
    out = [
        {
            "label": label,
            "group": group,
            "metric": m,
            "mean": float(mine[m].mean()),
            "ci_low": lo[j],
            "ci_high": hi[j],
            "n_users": len(mine),
            "n_seeds": n_seeds,
        }
        for j, m in enumerate(metrics)
    ]
    if base is None or label == baseline:
        return out
    users = mine.index.intersection(base.index)
    diff = mine.loc[users, metrics].to_numpy(np.float64) - base.loc[users, metrics].to_numpy(np.float64)
    dlo, dhi = bootstrap_interval(diff, rng)
    agree = seeds_agreeing(scores, label, group, metrics, baseline)
    for j, row in enumerate(out):
        d = diff[:, j]
        row |= {
            "diff": float(d.mean()) if len(d) else np.nan,
            "diff_low": dlo[j],
            "diff_high": dhi[j],
            "p_wilcoxon": wilcoxon_p(d),
            "p_t": t_p(d),
            "seeds_agree": agree[j],
        }
    return out


def bootstrap_interval(x: np.ndarray, rng: np.random.Generator, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of the column means of `x` (users x metrics) over BOOTSTRAP resamples of its rows."""
    n = len(x)
    if n == 0:
        return np.full(x.shape[1], np.nan), np.full(x.shape[1], np.nan)
    x32, means = x.astype(np.float32), np.empty((BOOTSTRAP, x.shape[1]))
    for start in range(0, BOOTSTRAP, CHUNK):  # a chunk's counts stay in cache: 4x faster than all at once at 35k users
        size = min(CHUNK, BOOTSTRAP - start)
        idx = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
        counts = np.bincount(idx.ravel(), minlength=size * n).reshape(size, n)
        # float32: counts are exact integers; the rounding (~1e-6 of a mean) is far below the resampling spread
        means[start : start + size] = counts.astype(np.float32) @ x32 / n
    tail = (1 - level) / 2
    return np.quantile(means, tail, axis=0), np.quantile(means, 1 - tail, axis=0)


def wilcoxon_p(diff: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p of per-user differences (1 when every difference is zero)."""
    from scipy import stats  # here: listing runs or sweeps must not pay scipy's import

    if len(diff) < 2 or not np.any(diff):
        return 1.0 if len(diff) else np.nan
    nonzero = np.abs(diff[diff != 0])
    # exact below 50 users without ties, else the normal approximation with tie correction (as R's wilcox.test):
    # scipy's default answers tied small samples by a permutation test, ~0.3 s per comparison
    exact = len(nonzero) <= 50 and len(np.unique(nonzero)) == len(nonzero)
    return float(stats.wilcoxon(diff, zero_method="wilcox", method="exact" if exact else "approx").pvalue)


def t_p(diff: np.ndarray) -> float:
    """Two-sided paired t-test p of per-user differences (1 when they are all equal to zero)."""
    from scipy import stats

    if len(diff) < 2 or not np.any(diff):
        return 1.0 if len(diff) else np.nan
    if np.allclose(diff, diff[0]):
        return 0.0
    return float(stats.ttest_1samp(diff, 0.0).pvalue)


def seeds_agreeing(
    scores: pd.DataFrame, label: str, group: str, metrics: list[str], baseline: str = BASELINE
) -> list[str]:
    """Per metric, 'a/b': of b seeds, a give a per-user mean difference to `baseline` of the overall sign."""
    part = scores if group == "joint" else scores[scores["kind"] == group]
    per = part.groupby(["label", "seed", "user"])[metrics].mean()
    if baseline not in per.index.get_level_values("label"):
        return ["" for _ in metrics]
    mine, base = per.loc[label], per.loc[baseline]
    users = mine.index.intersection(base.index)
    diff = (mine.loc[users] - base.loc[users]).groupby(level="seed").mean()
    overall = np.sign(diff.mean())
    return [f"{int((np.sign(diff[m]) == overall[m]).sum())}/{len(diff)}" for m in metrics]


def adjust(p: pd.Series) -> pd.Series:
    """Benjamini-Hochberg adjusted p-values across the rows of `p` (NaN stays NaN)."""
    from scipy import stats

    out = pd.Series(np.nan, index=p.index)
    ok = p.notna()
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok].to_numpy(np.float64), method="bh")
    return out
