"""User-profile encoders: attribute codes -> embeddings -> MLP.

`AttributeEmbedding` is shared by the profile encoder (MLP_a, added to the user
vector) and the prompt generator. Code 0 ("missing") is an ordinary learned value:
missingness itself can be informative. With no attributes at all the profile
encoder returns zeros (the model degrades gracefully to the sequence alone) and
has no parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch._C._functorch import is_functorch_wrapped_tensor

from ppr.errors import InputError
from ppr.models.noise import Drawing


class AttributeEmbedding(Drawing):
    """One embedding table per attribute, concatenated to (B, A * emb_dim); its mask (PPR's prompt view) is drawn
    from the training step's draws (ppr.models.noise)."""

    def __init__(self, cardinalities: Sequence[int], emb_dim: int = 16) -> None:
        super().__init__()
        cards = [int(c) for c in cardinalities]
        if any(c < 1 for c in cards):
            raise InputError(f"Attribute cardinalities must be >= 1 (code 0 = missing), got {cards}.")
        self.cardinalities = cards
        self.emb_dim = emb_dim
        self.tables = nn.ModuleList(nn.Embedding(c, emb_dim) for c in cards)
        self.register_buffer("_cards", torch.tensor(cards, dtype=torch.long), persistent=False)
        for t in self.tables:
            nn.init.normal_(t.weight, std=0.02)

    @property
    def out_dim(self) -> int:
        return len(self.tables) * self.emb_dim

    def forward(self, codes: torch.Tensor, mask_ratio: float = 0.0) -> torch.Tensor:
        """codes (B, A) int -> (B, A*emb_dim); mask_ratio zeroes that share of elements (CL view)."""
        self.check(codes)
        if not self.tables:
            return torch.zeros(codes.shape[0], 0, device=codes.device)
        x = torch.cat([t(codes[:, j].long()) for j, t in enumerate(self.tables)], dim=1)
        if mask_ratio > 0.0:
            draw = torch.rand_like(x) if self.draws is None else self.draws.uniform(x.shape, x.device)
            x = x * (draw >= mask_ratio).to(x.dtype)
        return x

    def check(self, codes: torch.Tensor) -> None:
        """InputError unless codes is (B, A) with column j in [0, cardinality_j)."""
        if codes.dim() != 2 or codes.shape[1] != len(self.tables):
            raise InputError(f"Attribute codes must have shape (batch, {len(self.tables)}), got {tuple(codes.shape)}.")
        if is_functorch_wrapped_tensor(codes):  # a cell group under vmap: each cell's codes were checked before
            return
        if codes.numel() and (bool((codes < 0).any()) or bool((codes >= self._cards).any())):
            raise InputError(
                f"Attribute codes out of range: each column j must lie in [0, cardinality_j) with "
                f"cardinalities {self.cardinalities}."
            )


def mlp(d_in: int, d_hidden: int, d_out: int) -> nn.Sequential:
    """Linear-GELU-Linear with N(0, 0.02) weights (same scale as the backbone)."""
    net = nn.Sequential(nn.Linear(d_in, d_hidden), nn.GELU(), nn.Linear(d_hidden, d_out))
    for layer in (net[0], net[2]):
        nn.init.normal_(layer.weight, std=0.02)
        nn.init.zeros_(layer.bias)
    return net


class ProfileEncoder(nn.Module):
    """MLP_a: attribute codes -> (B, d) profile vector added to the user vector."""

    def __init__(self, cardinalities: Sequence[int], d: int, emb_dim: int = 16) -> None:
        super().__init__()
        self.d = d
        self.embed = AttributeEmbedding(cardinalities, emb_dim)
        self.net = mlp(self.embed.out_dim, d, d) if self.embed.out_dim else None

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, A) codes -> (B, d); zeros when the dataset has no attributes."""
        x = self.embed(codes)
        if self.net is None:
            return x.new_zeros(codes.shape[0], self.d, dtype=torch.float32)
        return self.net(x)
