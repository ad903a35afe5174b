"""The source-domain side of a cross-domain run: each user's vector from the domain they are warm in.

In a cross-domain run the warm model has read the source domain only. For each user it gives one vector: its
state after the user's source-domain clicks (the frozen warm backbone, computed once before tuning). A model that
reads it layer-normalises it: cross-domain PPR's prompt generator takes it so, beside the profile (its own MLP
maps both into prompt tokens), and fine-tuning adds a small MLP of it to the user vector (its last layer drawn
at N(0, 0.02), so tuning starts from the warmed model). The vectors ride with the model as a buffer, indexed by
the last column of the codes the model is given (user id + 1; 0: no source clicks), so the one scorer and the
one training loop carry them like profile codes.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ppr.models.profile import mlp


class SourceEncoder(nn.Module):
    """(B,) source rows -> (B, d): the user's frozen source-domain vector, layer-normalised, then through an MLP
    to d_out (None: no MLP, for a prompt generator that maps it itself)."""

    def __init__(self, vectors: np.ndarray, d_out: int | None = None) -> None:
        super().__init__()
        self.register_buffer("vectors", torch.as_tensor(np.asarray(vectors, dtype=np.float32)))
        d = self.vectors.shape[1]
        self.norm = nn.LayerNorm(d)
        self.net = None if d_out is None else mlp(d, max(d, d_out), d_out)

    @property
    def d_out(self) -> int:
        return self.vectors.shape[1] if self.net is None else self.net[-1].out_features

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.vectors[rows.long()])
        return x if self.net is None else self.net(x)


def source_rows(n_users: int, has_source: np.ndarray) -> np.ndarray:
    """(n_users,) int64: the code column that points each user at their source row (user + 1; 0 without clicks)."""
    return np.where(has_source, np.arange(1, n_users + 1), 0).astype(np.int64)
