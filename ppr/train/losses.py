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


def info_nce(
    anchor: torch.Tensor, positive: torch.Tensor, temperature: float = 0.2, rows: torch.Tensor | None = None
) -> torch.Tensor:
    """InfoNCE over cosine similarity with in-batch negatives, in one direction (as PPR's paper).

    Row i of `anchor` should be closest to row i of `positive` among all rows of `positive`: the
    mean over i of -log softmax_j(cos(anchor_i, positive_j) / temperature)[i]. rows: (B,) bool, the rows that
    take part (padding of a cell's batch in a group is neither anchor nor negative); None: all.
    """
    a = F.normalize(anchor.float(), dim=-1)
    p = F.normalize(positive.float(), dim=-1)
    logits = a @ p.T / temperature
    target = torch.arange(a.shape[0], device=a.device)
    if rows is None:
        return F.cross_entropy(logits, target)
    # a padded column never wins (exp underflows to 0); a padded row sees only itself, so stays finite
    hidden = ~rows.unsqueeze(0) & (target.unsqueeze(0) != target.unsqueeze(1))
    loss = F.cross_entropy(logits.masked_fill(hidden, -1e9), target, reduction="none")
    weight = rows.to(loss.dtype)
    return (loss * weight).sum() / weight.sum().clamp(min=1.0)


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """CL4SRec's NT-Xent: each of the 2B views should be closest to its pair among the other 2B - 1 views."""
    z = F.normalize(torch.cat([a, b]).float(), dim=-1)
    n = a.shape[0]
    logits = (z @ z.T / temperature).fill_diagonal_(float("-inf"))
    pair = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(logits, pair)
