"""Score a model on a split's target group: one positive + the 99 stored negatives each.

History of a target at position p: the last min(max_len, k) clicks before it,
seq[max(0, p - h):p] (the k-shot crop for val/test users). All candidates of a
batch are scored in one tensor op; histories are gathered with numpy indexing
(ppr.train.batching.history_matrix), no per-user Python loop. Per-target scores are kept for paired tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from ppr.eval.metrics import rank_metrics
from ppr.train.batching import history_matrix

KINDS = {"few": "few", "zero": "zero", "joint": None}


@torch.no_grad()
def score_targets(
    model: torch.nn.Module,
    seqs: np.ndarray,
    codes: np.ndarray | None,
    candidates: np.ndarray,
    batch_size: int = 2048,
    device: torch.device | str = "cpu",
) -> np.ndarray:
    """(N, L) histories + (N, A) codes + (N, C) candidates -> (N, C) scores (model in eval mode)."""
    was_training = model.training
    model.eval()
    out = np.zeros(candidates.shape, np.float32)
    try:
        for lo in range(0, len(seqs), batch_size):
            sl = slice(lo, lo + batch_size)
            seq = torch.as_tensor(seqs[sl], dtype=torch.long, device=device)
            cod = None if codes is None else torch.as_tensor(codes[sl], dtype=torch.long, device=device)
            cand = torch.as_tensor(candidates[sl], dtype=torch.long, device=device)
            u = model.user_vector(seq, cod)
            out[sl] = model.score(u, cand).float().cpu().numpy()
    finally:
        model.train(was_training)
    return out


def evaluate_group(
    model: torch.nn.Module,
    split: Any,
    group: str,
    codes: np.ndarray | None,
    max_len: int,
    k_shot: int | None = None,
    batch_size: int = 2048,
    device: torch.device | str = "cpu",
) -> pd.DataFrame:
    """Per-target scores for `group` ('val', 'test', 'warm_val', 'warm_test').

    codes: (n_users, A) profile codes as the model should see them (noisy if the
    experiment adds profile noise), or None for models without a profile.
    Returns target_id, user, group, kind, rank, auc, hit@N, ndcg@N.
    """
    tg = split.targets
    tg = tg[tg["group"] == group]
    users = tg["user"].to_numpy(np.int64)
    pos = tg["pos"].to_numpy(np.int64)
    hist_len = max_len if k_shot is None else min(max_len, int(k_shot))
    seqs = history_matrix(split.offsets, split.items, users, pos, hist_len)
    cand = np.concatenate(
        [tg["item"].to_numpy(np.int64)[:, None], split.negatives[tg["target_id"].to_numpy()]], axis=1
    )
    scores = score_targets(model, seqs, None if codes is None else codes[users], cand, batch_size, device)
    per = rank_metrics(scores[:, 0], scores[:, 1:])
    df = pd.DataFrame(
        {
            "target_id": tg["target_id"].to_numpy(np.int64),
            "user": users.astype(np.int32),
            "group": np.asarray(tg["group"], dtype=object),
            "kind": np.asarray(tg["kind"], dtype=object),
        }
    )
    for k, v in per.items():
        df[k] = v
    return df


def summarize_scores(scores: pd.DataFrame) -> dict[str, dict[str, float]]:
    """{'few': {...}, 'zero': {...}, 'joint': {...}}: metric means and target count 'n' per kind."""
    metric_cols = [c for c in scores.columns if c == "auc" or c.startswith(("hit@", "ndcg@"))]
    out: dict[str, dict[str, float]] = {}
    for name, kind in KINDS.items():
        part = scores if kind is None else scores[scores["kind"] == kind]
        summary = {c: float(part[c].mean()) if len(part) else float("nan") for c in metric_cols}
        summary["n"] = int(len(part))
        out[name] = summary
    return out
