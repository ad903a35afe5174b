"""Personalized prompt generator: user attribute codes -> prompt tokens for SASRec.

Deep mode emits one set of tokens per Transformer layer (deep prefix). With no
attributes at all the generator still works: the prompt is a learned constant
(same tokens for every user), so zero-shot users get a sensible global vector
instead of an error.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ppr.models.profile import AttributeEmbedding, mlp


class PromptGenerator(nn.Module):
    """Concatenated attribute embeddings -> MLP -> n_tokens prompt tokens of size d."""

    def __init__(
        self,
        cardinalities: Sequence[int],
        d: int,
        n_tokens: int = 1,
        deep: bool = False,
        n_layers: int = 2,
        emb_dim: int = 16,
    ) -> None:
        super().__init__()
        self.d, self.n_tokens, self.deep = d, n_tokens, deep
        self.n_layers = n_layers if deep else 1
        n_out = self.n_layers * n_tokens * d
        self.embed = AttributeEmbedding(cardinalities, emb_dim)
        if self.embed.out_dim:
            self.net = mlp(self.embed.out_dim, max(d, self.embed.out_dim), n_out)
            self.const = None
        else:
            self.net = None
            self.const = nn.Parameter(torch.randn(n_out) * 0.02)

    def forward(self, codes: torch.Tensor, mask_ratio: float = 0.0) -> torch.Tensor:
        """(B, A) codes -> (B, n_tokens, d), or (n_layers, B, n_tokens, d) when deep."""
        b = codes.shape[0]
        x = self.embed(codes, mask_ratio)
        out = self.net(x) if self.net is not None else self.const.expand(b, -1)
        out = out.view(b, self.n_layers, self.n_tokens, self.d)
        return out.permute(1, 0, 2, 3) if self.deep else out[:, 0]
