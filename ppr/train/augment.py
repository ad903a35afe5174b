"""Augmented views for PPR's contrastive loss.

Two views of a user are contrasted with the original (docs/method.md, contrastive learning):
- prompt view: a share of the profile-embedding elements zero-masked. That is the
  `mask_ratio` of PromptGenerator / ProfileEncoder, passed as
  `ColdStartRecommender.user_vector(..., prompt_mask=r)`; nothing to do here.
- behaviour view: a share of the clicks masked, built by `mask_behavior` below.

Masked clicks are *removed* and the remaining clicks shifted left, rather than set
to item 0 in place: the backbone finds a user's last click by counting non-zero ids
in a right-padded row and attends causally with no key-padding mask, so a hole in
the middle would both shift the read-out position and feed the padding embedding as
if it were a click. Removing them keeps every row a valid right-padded sequence.
"""

from __future__ import annotations

import torch


def mask_behavior(seq: torch.Tensor, ratio: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, L) right-padded clicks -> same shape with floor(ratio * n) clicks removed per row.

    At least one click is removed from every row that has one (floor(0.2 * n) is 0
    for the short histories of cold users, which would make the view a copy of the
    original and the contrastive term useless). A row with one click becomes empty:
    its view is the zero-shot (prompt-only) user.
    """
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"behaviour mask ratio must be in [0, 1), got {ratio}")
    real = seq != 0
    n = real.sum(dim=1)
    n_mask = torch.clamp((n.to(torch.float64) * ratio).floor().to(torch.long), min=1)
    n_mask = torch.minimum(n_mask, n)
    # random keys for real clicks, +inf for padding; the n_mask smallest keys are masked
    keys = torch.rand(seq.shape, generator=generator, device="cpu").to(seq.device)
    keys = keys.masked_fill(~real, float("inf"))
    rank = keys.argsort(dim=1).argsort(dim=1)
    drop = real & (rank < n_mask.unsqueeze(1))
    keep = real & ~drop
    # stable sort that moves kept clicks to the front in their original order
    order = (~keep).to(torch.int8).argsort(dim=1, stable=True)
    out = seq.gather(1, order)
    n_keep = keep.sum(dim=1, keepdim=True)
    cols = torch.arange(seq.shape[1], device=seq.device).unsqueeze(0)
    return out.masked_fill(cols >= n_keep, 0)
