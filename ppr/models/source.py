"""The source-domain side of a cross-domain run: each user's vector from the domain they are warm in.

In a cross-domain run the warm model has read the source domain only. For each user it gives one vector: its
state after the user's source-domain clicks (the frozen warm backbone, computed once before tuning). A model that
reads it (fine-tuning with the source vector as side information, and cross-domain PPR, whose prompt generator
takes it beside the profile) passes it through a small MLP of its own. The vectors ride with the model as a
buffer, indexed by the last column of the codes the model is given (user id + 1; 0: no source clicks), so the
one scorer and the one training loop carry them like profile codes.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ppr.models.profile import mlp


class SourceEncoder(nn.Module):
    """(B,) source rows -> (B, d_out): MLP of the user's frozen source-domain vector."""

    def __init__(self, vectors: np.ndarray, d_out: int) -> None:
        super().__init__()
        self.register_buffer("vectors", torch.as_tensor(np.asarray(vectors, dtype=np.float32)))
        d = self.vectors.shape[1]
        self.norm = nn.LayerNorm(d)
        self.net = mlp(d, max(d, d_out), d_out)

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return self.net(self.norm(self.vectors[rows.long()]))


def source_rows(n_users: int, has_source: np.ndarray) -> np.ndarray:
    """(n_users,) int64: the code column that points each user at their source row (user + 1; 0 without clicks)."""
    return np.where(has_source, np.arange(1, n_users + 1), 0).astype(np.int64)
