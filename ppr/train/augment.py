"""The behaviour view of PPR's contrastive loss (docs/method.md, contrastive learning): clicks masked in place.

A share of a user's clicks is set to item 0 where they stand; the other clicks keep their
positions, and the model is told the original length so that it skips the masked clicks as
attention keys and reads the user's state at the last position (ppr.models.sasrec). The prompt
view needs no helper: it is `ColdStartRecommender.sequence_state(..., prompt_mask=r)`, which masks
the prompt generator's input only.
"""

from __future__ import annotations

import torch


def mask_clicks(seq: torch.Tensor, ratio: float, generator: torch.Generator | None = None) -> torch.Tensor:
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
    keys = torch.rand(seq.shape, generator=generator, device="cpu").to(seq.device).masked_fill(~real, float("inf"))
    rank = keys.argsort(dim=1).argsort(dim=1)
    return seq.masked_fill(real & (rank < n_mask.unsqueeze(1)), 0)
