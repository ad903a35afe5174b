"""Personalized prompt generator: user attribute codes -> prompt tokens for SASRec.

Deep mode emits one set of tokens per Transformer layer (deep prefix). With no
attributes at all the generator still works: the prompt is a learned constant
(same tokens for every user), so zero-shot users get a sensible global vector
instead of an error. A cross-domain run adds `extra_dim` inputs (the user's
source-domain vector, ppr.models.source) beside the attribute embeddings.
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
        extra_dim: int = 0,
    ) -> None:
        super().__init__()
        self.d, self.n_tokens, self.deep = d, n_tokens, deep
        self.n_layers = n_layers if deep else 1
        n_out = self.n_layers * n_tokens * d
        self.embed = AttributeEmbedding(cardinalities, emb_dim)
        n_in = self.embed.out_dim + extra_dim
        if n_in:
            self.net = mlp(n_in, max(d, n_in), n_out)
            self.const = None
        else:
            self.net = None
            self.const = nn.Parameter(torch.randn(n_out) * 0.02)

    def forward(self, codes: torch.Tensor, mask_ratio: float = 0.0, extra: torch.Tensor | None = None) -> torch.Tensor:
        """(B, A) codes [+ (B, extra_dim) inputs] -> (B, n_tokens, d), or (n_layers, B, n_tokens, d) when deep.

        mask_ratio zeroes that share of the generator's input (the attribute embeddings and the extra inputs)."""
        b = codes.shape[0]
        if extra is None:
            x = self.embed(codes, mask_ratio)
        else:
            x = torch.cat([self.embed(codes), extra.to(torch.float32)], dim=1)
            if mask_ratio > 0.0:
                x = x * (torch.rand_like(x) >= mask_ratio).to(x.dtype)
        out = self.net(x) if self.net is not None else self.const.expand(b, -1)
        out = out.view(b, self.n_layers, self.n_tokens, self.d)
        return out.permute(1, 0, 2, 3) if self.deep else out[:, 0]
