"""GRU4Rec backbone (Hidasi et al., 2016; as RecBole's: embedding dropout, a GRU stack, a dense layer back to
the item-embedding size).

A GRU reads left to right, so PPR's prompt applies as a prefix of pseudo-items: the prompt tokens are the
first inputs of the GRU, before the user's clicks, and the hidden state after them is the zero-shot user
state. A deep prefix (one set of tokens per layer) is a Transformer notion and is refused. Clicks masked in
place (PPR's behaviour view) enter as the zero padding embedding at their position; padding only ever comes
after the real clicks, so it never changes a real output. `d_ff` and `n_heads` do not apply; `n_layers` is the
GRU's depth.
"""

from __future__ import annotations

import torch
from torch import nn

from ppr.errors import InputError
from ppr.models.backbone import Dropout, SequenceBackbone, init_weights
from ppr.spec.run import BackboneSpec


class GRU4Rec(SequenceBackbone):
    """Recurrent sequential recommender; outputs one hidden state per position."""

    def __init__(self, cfg: BackboneSpec, n_items: int) -> None:
        super().__init__(cfg, n_items)
        self.emb_drop = Dropout(cfg.dropout)
        self.gru = nn.GRU(cfg.d, cfg.d, num_layers=cfg.n_layers, batch_first=True)
        self.dense = nn.Linear(cfg.d, cfg.d)
        self.apply(init_weights)
        for name, w in self.gru.named_parameters():
            (nn.init.xavier_uniform_ if "weight" in name else nn.init.zeros_)(w)

    def encode(
        self, seq: torch.Tensor, prefix: torch.Tensor | None, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, P+L, d): the GRU's output after every prompt token and click."""
        self.check_length(seq)
        if prefix is not None and prefix.dim() == 4:
            raise InputError("gru4rec reads the prompt as pseudo-item inputs; a deep prefix needs sasrec or cl4srec.")
        x = self.item_emb(seq)
        if prefix is not None:
            x = torch.cat([prefix.to(x.dtype), x], dim=1)
        out, _ = self.gru(self.emb_drop(x))
        return self.dense(self.adapt(0, out))
