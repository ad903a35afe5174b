"""Augmented views of click sequences for contrastive losses.

PPR's behaviour view (docs/method.md, contrastive learning): clicks masked in place.

A share of a user's clicks is set to item 0 where they stand; the other clicks keep their
positions, and the model is told the original length so that it skips the masked clicks as
attention keys and reads the user's state at the last position (ppr.models.sasrec). The prompt
view needs no helper: it is `ColdStartRecommender.sequence_state(..., prompt_mask=r)`, which masks
the prompt generator's input only.
"""

from __future__ import annotations

import math

import torch

from ppr.models.noise import Draws


def mask_clicks(seq: torch.Tensor, ratio: float, draws: Draws) -> torch.Tensor:
    """(B, L) right-padded clicks -> same shape with floor(ratio * n) clicks of each row set to 0 in place.

    At least one click is masked in every row that has one (floor(0.2 * n) is 0 for the short
    histories of cold users, which would make the view a copy of the original). Positions and the
    row's length are kept: a row's clicks after a masked one stay where they were.
    """
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"behaviour mask ratio must be in [0, 1), got {ratio}")
    real = seq != 0
    n = real.sum(dim=1)
    n_mask = torch.minimum(torch.clamp((n.to(torch.float64) * ratio).floor().to(torch.long), min=1), n)
    # random keys for real clicks, +inf for padding; the n_mask smallest keys are masked
    keys = draws.uniform(seq.shape, seq.device).masked_fill(~real, float("inf"))
    rank = keys.argsort(dim=1, stable=True).argsort(dim=1, stable=True)
    return seq.masked_fill(real & (rank < n_mask.unsqueeze(1)), 0)


# CL4SRec's three sequence augmentations (Xie et al., 2022), our settings: the share of a sequence a crop keeps,
# the share of clicks a mask hides, the share of a sequence a reorder shuffles.
CROP_KEEP, MASK_SHARE, REORDER_SHARE = 0.6, 0.3, 0.6


def augment_sequences(seq: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, L) right-padded clicks -> (a view, its lengths): each row cropped, masked or reordered (one at random).

    Crop keeps a random contiguous run of ceil(CROP_KEEP * n) clicks, moved to the front; mask sets
    floor(MASK_SHARE * n) clicks to 0 in place (positions and length kept); reorder shuffles a random
    contiguous run of ceil(REORDER_SHARE * n) clicks. Rows without clicks stay empty.
    """
    rows, lengths = [], []
    choice = torch.randint(0, 3, (seq.shape[0],), generator=generator)
    for row, pick in zip(seq.cpu(), choice.tolist(), strict=True):
        n = int((row != 0).sum())
        clicks = row[:n].clone()
        if n > 1 and pick == 0:
            keep = max(1, math.ceil(CROP_KEEP * n))
            start = int(torch.randint(0, n - keep + 1, (), generator=generator))
            clicks = clicks[start : start + keep]
        elif n > 1 and pick == 1:
            hide = torch.randperm(n, generator=generator)[: int(MASK_SHARE * n)]
            clicks[hide] = 0
        elif n > 1:
            span = max(2, math.ceil(REORDER_SHARE * n))
            start = int(torch.randint(0, n - span + 1, (), generator=generator))
            clicks[start : start + span] = clicks[start : start + span][torch.randperm(span, generator=generator)]
        rows.append(torch.cat([clicks, row.new_zeros(seq.shape[1] - len(clicks))]))
        lengths.append(len(clicks))
    return torch.stack(rows).to(seq.device), torch.tensor(lengths, device=seq.device)
