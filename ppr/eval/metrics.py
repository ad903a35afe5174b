"""Ranking metrics over a fixed candidate list (one positive + C sampled negatives).

Ranks are pessimistic: a negative scoring EQUAL to the positive counts against it,
so a model that scores everything the same gets rank C (worst), not 0. AUC counts
ties as half. Beside the sampled candidates, a target can be ranked against the whole
catalogue (ppr.eval.scoring.full_ranks; metrics prefixed 'full_'): sampled metrics can order
methods differently from full ranking (Krichene and Rendle, KDD 2020). A NaN score is the worst score there is (a NaN positive ranks last; a
NaN negative below everything), so a diverged model can never rank a positive first.
All metrics are returned per target so paired tests are possible.
"""

from __future__ import annotations

import numpy as np

KS = (5, 10, 20, 50)
FULL_KS = (10, 20)  # cut-offs of the full-catalogue ranking (columns prefixed 'full_')


def rank_metrics(pos, neg) -> dict[str, np.ndarray]:
    """pos (N,) and neg (N, C) scores (numpy or torch) -> per-target metric arrays."""
    pos = np.nan_to_num(_to_numpy(pos).astype(np.float64).reshape(-1), nan=-np.inf)
    neg = np.nan_to_num(_to_numpy(neg).astype(np.float64), nan=-np.inf)
    if neg.ndim != 2 or neg.shape[0] != pos.shape[0]:
        raise ValueError(f"neg must be (N, C) with N = len(pos) = {pos.shape[0]}, got {neg.shape}")
    p = pos[:, None]
    greater = (neg > p).sum(axis=1)
    ties = (neg == p).sum(axis=1)
    less = neg.shape[1] - greater - ties
    rank = greater + ties  # 0-based, pessimistic
    return {"auc": (less + 0.5 * ties) / max(neg.shape[1], 1), **ranked(rank, KS)}


def ranked(rank: np.ndarray, ks: tuple[int, ...] = KS, prefix: str = "") -> dict[str, np.ndarray]:
    """Per-target metrics of 0-based ranks of the positive (one relevant item): rank, HIT@k, NDCG@k, MRR."""
    rank = np.asarray(rank, dtype=np.int64)
    gain = 1.0 / np.log2(rank + 2.0)
    out = {f"{prefix}rank": rank}
    for k in ks:
        hit = rank < k
        out[f"{prefix}hit@{k}"] = hit.astype(np.float64)
        out[f"{prefix}ndcg@{k}"] = np.where(hit, gain, 0.0)
    out[f"{prefix}mrr"] = 1.0 / (rank + 1.0)
    return out


def summarize(per_target: dict[str, np.ndarray]) -> dict[str, float]:
    """Means of every per-target metric (the rank columns excluded)."""
    return {k: float(np.mean(v)) if len(v) else float("nan") for k, v in per_target.items() if not k.endswith("rank")}


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().float().cpu().numpy()
    return np.asarray(x)
