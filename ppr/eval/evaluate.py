"""Score a model on a split's target group: one positive + the split's stored negatives each.

The history of a target at position p is the last min(max_len, k) clicks before it,
seq[max(0, p - h):p] (the k-shot crop for val/test users), gathered with numpy indexing.
Per-target scores are kept (scores.parquet) so intervals and paired tests are one query away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from ppr.data.splits import Split
from ppr.eval.metrics import FULL_KS, rank_metrics, ranked, summarize
from ppr.eval.scoring import candidate_scores, full_ranks, stacked_candidate_scores
from ppr.train.batching import history_matrix
from ppr.train.grouped import Stacked, ValidateCells
from ppr.train.trainer import Diverged

KINDS = {"few": "few", "zero": "zero", "joint": None}


@dataclass(frozen=True)
class Probe:
    """A target group as the scorer reads it: histories, codes and candidates, built once (validation scores the
    same targets every epoch)."""

    group: str
    targets: pd.DataFrame  # rows of split.targets
    seqs: np.ndarray  # (T, h) right-padded histories
    codes: np.ndarray | None  # (T, A)
    candidates: np.ndarray  # (T, 1 + C): the positive, then the sampled negatives


def probe(split: Split, group: str, codes: np.ndarray | None, max_len: int, k_shot: int | None = None) -> Probe:
    """The targets of `group` with the last min(max_len, k_shot) clicks before each."""
    tg = split.targets[split.targets["group"] == group]
    users = tg["user"].to_numpy(np.int64)
    hist_len = max_len if k_shot is None else min(max_len, int(k_shot))
    seqs = history_matrix(split.offsets, split.items, users, tg["pos"].to_numpy(np.int64), hist_len)
    return Probe(group, tg, seqs, None if codes is None else codes[users], candidates(split, tg))


def evaluate(
    model: nn.Module,
    split: Split,
    group: str,
    codes: np.ndarray | None,
    max_len: int,
    k_shot: int | None = None,
    device: torch.device | str = "cpu",
    full: bool = False,
) -> pd.DataFrame:
    """Per-target scores for `group` ('val', 'test', 'warm_val', 'warm_test').

    codes: (n_users, A) profile codes as the model should see them (noisy if the run adds
    profile noise), or None for a model without a profile.
    Returns target_id, user, group, kind, rank, auc, hit@N, ndcg@N, mrr; full=True adds the same
    ranked against the whole catalogue minus the visible history (full_rank, full_hit@k, ...); the catalogue of a
    cross-domain split is its domain's items (split.pool).
    """
    p = probe(split, group, codes, max_len, k_shot)
    device = torch.device(device)
    scores = _finite(candidate_scores(model, p.seqs, p.codes, p.candidates, device), group)
    df = target_frame(p.targets)
    per = rank_metrics(scores[:, 0], scores[:, 1:])
    if full:
        ranks = full_ranks(model, p.seqs, p.codes, p.candidates[:, 0], device, split.pool)
        per |= ranked(ranks, FULL_KS, "full_")
    for k, v in per.items():
        df[k] = v
    return df


def validation(model: nn.Module, p: Probe, device: torch.device) -> dict[str, float]:
    """Mean metrics over every target of the probe (what training watches); {} without targets."""
    return _joint(candidate_scores(model, p.seqs, p.codes, p.candidates, device), p.group)


def validate_stacked(probes: list[Probe], device: torch.device) -> ValidateCells:
    """`validation` of a group's cells (probes[i]: cell i's) with every cell scored in one vmapped call."""

    def run(stacked: Stacked, idx: list[int]) -> list[dict[str, float] | Exception]:
        chosen = [probes[i] for i in idx]
        if not any(len(p.seqs) for p in chosen):
            return [{} for _ in chosen]
        codes = None if chosen[0].codes is None else [p.codes for p in chosen]
        scores = stacked_candidate_scores(
            stacked, [p.seqs for p in chosen], codes, [p.candidates for p in chosen], device
        )
        out: list[dict[str, float] | Exception] = []
        for p, s in zip(chosen, scores, strict=True):
            try:
                out.append(_joint(s, p.group))
            except Diverged as exc:
                out.append(exc)
        return out

    return run


def _joint(scores: np.ndarray, group: str) -> dict[str, float]:
    if not len(scores):
        return {}
    scores = _finite(scores, group)
    return summarize(rank_metrics(scores[:, 0], scores[:, 1:]))


def _finite(scores: np.ndarray, group: str) -> np.ndarray:
    if not np.isfinite(scores).all():
        raise Diverged(
            f"The model scores {int((~np.isfinite(scores)).sum())} candidates of the {group} targets as "
            "NaN or infinite: it diverged, so it gives no result. Lower the learning rate."
        )
    return scores


def candidates(split: Split, tg: pd.DataFrame) -> np.ndarray:
    """(T, 1 + C) item ids: each target's positive, then its fixed sampled negatives (rows of split.targets)."""
    return np.concatenate([tg["item"].to_numpy(np.int64)[:, None], split.negatives[tg["target_id"].to_numpy()]], 1)


def target_frame(tg: pd.DataFrame) -> pd.DataFrame:
    """The key columns of a per-target scores frame (target_id, user, group, kind) for rows of split.targets."""
    return pd.DataFrame(
        {
            "target_id": tg["target_id"].to_numpy(np.int64),
            "user": tg["user"].to_numpy(np.int32),
            "group": np.asarray(tg["group"], dtype=object),
            "kind": np.asarray(tg["kind"], dtype=object),
        }
    )


def metric_column(name: str) -> bool:
    """Is this column of a per-target frame a metric (not an id, a group or a rank)?"""
    return name.removeprefix("full_") in ("auc", "mrr") or name.removeprefix("full_").startswith(("hit@", "ndcg@"))


def summarize_scores(scores: pd.DataFrame) -> dict[str, dict[str, float]]:
    """{'few': {...}, 'zero': {...}, 'joint': {...}}: metric means and target count 'n' per kind."""
    metric_cols = [c for c in scores.columns if metric_column(c)]
    out: dict[str, dict[str, float]] = {}
    for name, kind in KINDS.items():
        part = scores if kind is None else scores[scores["kind"] == kind]
        summary = {c: float(part[c].mean()) if len(part) else float("nan") for c in metric_cols}
        summary["n"] = int(len(part))
        out[name] = summary
    return out
