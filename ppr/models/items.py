"""Models whose items are the rows of their own embedding table, scored by dot product with a user vector."""

from __future__ import annotations

import torch
from torch import nn


class ItemTable(nn.Module):
    """What the scorer (ppr.eval.scoring) reads of a baseline with an item table of its own (MeLU, MiNet)."""

    def __init__(self, n_items: int, d: int) -> None:
        super().__init__()
        self._n_items = n_items
        self.item_emb = nn.Embedding(n_items + 1, d, padding_idx=0)  # initialised by the subclass, as it needs

    @property
    def n_items(self) -> int:
        return self._n_items

    def item_table(self) -> torch.Tensor:
        return self.item_emb.weight

    def score(self, u: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
        """(B, d) x (B, C) candidate ids -> (B, C) dot products."""
        return torch.einsum("bd,bcd->bc", u, self.item_emb(cand))
