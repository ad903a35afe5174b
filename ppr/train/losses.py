"""Training losses: BPR for next-click ranking, InfoNCE for the contrastive views."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bpr_loss(pos_scores: torch.Tensor, neg_scores: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean of -log sigmoid(pos - neg) over the positions where mask is true (all if None)."""
    loss = -F.logsigmoid(pos_scores.float() - neg_scores.float())
    if mask is None:
        return loss.mean()
    m = mask.to(loss.dtype)
    return (loss * m).sum() / m.sum().clamp(min=1.0)


def info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """Symmetric InfoNCE over cosine similarity with in-batch negatives.

    Row i of `a` and row i of `b` are the positive pair; the other B-1 rows of the
    other view are negatives. Returns the mean of the a->b and b->a cross-entropies
    (symmetric, so neither view is privileged).
    """
    a = F.normalize(a.float(), dim=-1)
    b = F.normalize(b.float(), dim=-1)
    logits = a @ b.T / temperature
    labels = torch.arange(a.shape[0], device=a.device)
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))
