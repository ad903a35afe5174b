"""The one scorer: a model's scores for given candidates, and its top-k over the catalogue.

Warm validation, evaluation, the run's stored recommendations, the Prompt explorer and the
what-if panel all score through these two functions. Rows are scored in batches of
EVAL_BATCH, every candidate of a batch in one tensor op (no per-user loop). Scores are taken
in float32 even under bf16 autocast, so ties (counted against the positive) are not
manufactured by rounding.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from ppr.train.device import autocast
from ppr.train.grouped import Stacked

EVAL_BATCH = 2048
FULL_BUDGET = 2**24  # scores held at once when ranking against the whole catalogue (64 MiB of float32)


@torch.no_grad()
def candidate_scores(
    model: nn.Module, seqs: np.ndarray, codes: np.ndarray | None, candidates: np.ndarray, device: torch.device
) -> np.ndarray:
    """(N, L) right-padded histories + (N, A) codes + (N, C) item ids -> (N, C) float32 scores."""
    out = np.zeros(candidates.shape, np.float32)
    for sl, u in _user_vectors(model, seqs, codes, device):
        cand = torch.as_tensor(candidates[sl], dtype=torch.long, device=device)
        out[sl] = model.score(u, cand).float().cpu().numpy()
    return out


@torch.no_grad()
def stacked_candidate_scores(
    stacked: Stacked,
    seqs: list[np.ndarray],
    codes: list[np.ndarray] | None,
    candidates: list[np.ndarray],
    device: torch.device,
) -> list[np.ndarray]:
    """candidate_scores of several cells' models (ppr.train.grouped.Stacked) in one vmapped call per batch: each
    cell's rows padded to the most any cell has (histories right-padded, which the models read as padding)."""
    n, width = max(len(s) for s in seqs), max(s.shape[1] for s in seqs)
    batch = {
        "seqs": _padded(seqs, (n, width)),
        "candidates": _padded(candidates, (n, candidates[0].shape[1])),
        **({} if codes is None else {"codes": _padded(codes, (n, codes[0].shape[1]))}),
    }
    out = torch.zeros((len(seqs), n, candidates[0].shape[1]))
    rows = max(1, EVAL_BATCH // len(seqs))
    for lo in range(0, n, rows):
        part = {k: v[:, lo : lo + rows].to(device) for k, v in batch.items()}
        with autocast(device):
            out[:, lo : lo + rows] = stacked.apply(_scores, part).float().cpu()
    return [out[i, : len(s)].numpy() for i, s in enumerate(seqs)]


def _scores(model: nn.Module, x: dict[str, torch.Tensor], draws: None) -> torch.Tensor:
    return model.score(model.user_vector(x["seqs"], x.get("codes")), x["candidates"])


def _padded(parts: list[np.ndarray], shape: tuple[int, int]) -> torch.Tensor:
    """(cells, *shape) long tensor of the 2-D `parts`, zero-padded."""
    out = torch.zeros((len(parts), *shape), dtype=torch.long)
    for i, p in enumerate(parts):
        out[i, : p.shape[0], : p.shape[1]] = torch.as_tensor(p, dtype=torch.long)
    return out


@torch.no_grad()
def top_k(
    model: nn.Module,
    seqs: np.ndarray,
    codes: np.ndarray | None,
    k: int,
    device: torch.device,
    seen: np.ndarray | None = None,
    pool: np.ndarray | None = None,
) -> np.ndarray:
    """(N, k) item ids ranked by score over the whole catalogue (or the items of `pool`, a bool mask over item ids:
    a cross-domain run's target domain), never an item of the row's history (or of the row of `seen`, when a
    user's history is longer than what the model reads) nor padding; -1 where the catalogue runs out."""
    n_items = model.n_items
    out = np.zeros((len(seqs), min(k, n_items)), np.int64)
    for sl, u in _user_vectors(model, seqs, codes, device):
        scores = u @ model.item_table().float().T  # column 0 = padding
        for rows in (seqs, seen):
            if rows is not None:
                scores.scatter_(1, torch.as_tensor(rows[sl], dtype=torch.long, device=device), float("-inf"))
        scores[:, 0] = float("-inf")
        if pool is not None:
            scores[:, ~torch.as_tensor(pool, device=device)] = float("-inf")
        best = scores.topk(out.shape[1], dim=1)
        out[sl] = best.indices.masked_fill(best.values == float("-inf"), -1).cpu().numpy()
    return out


@torch.no_grad()
def full_ranks(
    model: nn.Module,
    seqs: np.ndarray,
    codes: np.ndarray | None,
    positives: np.ndarray,
    device: torch.device,
    pool: np.ndarray | None = None,
) -> np.ndarray:
    """(N,) 0-based rank of each row's positive among the whole catalogue (or the items of `pool`, a bool mask over
    item ids), the row's history left out (the positive itself stays in); ties and NaN count against the positive,
    as in ranking metrics."""
    table = model.item_table().float()
    outside = None if pool is None else ~torch.as_tensor(pool, device=device)
    out = np.zeros(len(seqs), np.int64)
    for sl, u in _user_vectors(model, seqs, codes, device, rows=max(1, FULL_BUDGET // table.shape[0])):
        scores = torch.nan_to_num(u @ table.T, nan=float("-inf"))
        pos = torch.as_tensor(positives[sl], dtype=torch.long, device=device)
        target = scores.gather(1, pos[:, None])
        seen = torch.zeros_like(scores, dtype=torch.bool).scatter_(1, torch.as_tensor(seqs[sl], device=device), True)
        seen[:, 0] = True  # padding is no item
        if outside is not None:
            seen |= outside
        seen.scatter_(1, pos[:, None], False)
        out[sl] = ((scores >= target) & ~seen).sum(1).cpu().numpy() - 1  # the positive ties with itself
    return out


@torch.no_grad()
def user_vectors(model: nn.Module, seqs: np.ndarray, codes: np.ndarray | None, device: torch.device) -> np.ndarray:
    """(N, d) float32 user vectors, as the scores above use them."""
    parts = [u.cpu().numpy() for _, u in _user_vectors(model, seqs, codes, device)]
    return np.concatenate(parts) if parts else np.zeros((0, model.item_table().shape[1]), np.float32)


def _user_vectors(
    model: nn.Module, seqs: np.ndarray, codes: np.ndarray | None, device: torch.device, rows: int = EVAL_BATCH
) -> Iterator[tuple[slice, torch.Tensor]]:
    """(slice, (B, d) float32 user vectors) per batch of `rows`, with the model in eval mode (restored after)."""
    was_training = model.training
    model.eval()
    try:
        for lo in range(0, len(seqs), rows):
            sl = slice(lo, lo + rows)
            seq = torch.as_tensor(seqs[sl], dtype=torch.long, device=device)
            cod = None if codes is None else torch.as_tensor(codes[sl], dtype=torch.long, device=device)
            with autocast(device):
                u = model.user_vector(seq, cod)
            yield sl, u.float()
    finally:
        model.train(was_training)
