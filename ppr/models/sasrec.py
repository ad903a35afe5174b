"""SASRec backbone with optional prompt prefix (shallow or deep).

Post-LN Transformer blocks as in RecBole's SASRec (embedding LayerNorm + dropout,
then attention/FFN sub-layers each followed by dropout, residual and LayerNorm),
GELU, weights drawn from N(0, 0.02) with no sqrt(d) scaling (docs/method.md, "Initialisation": the
scaled N(0, 1) start swamps the positional embedding and stalls near half the
achievable NDCG).

Sequences are RIGHT-padded with item 0. Attention is causal over prefix + items,
so a real position only ever sees earlier real positions and the prefix: padding
(which always comes after the real items) can never change a real output, and no
attention row is ever fully masked (position 0 always sees itself), so no NaN.
Clicks masked in place (a 0 inside the first `lengths` positions, PPR's behaviour view)
keep their positions; other positions do not attend to them, and the user state is
read at position lengths - 1.
Prompt tokens get no positional embedding; they are prepended after positions are
added and pass through the embedding LayerNorm with the items, which keeps a
learned prompt on the scale a frozen backbone expects (PPR light).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ppr.errors import InputError
from ppr.models.backbone import Dropout, SequenceBackbone, init_weights, prefix_len
from ppr.spec.run import BackboneSpec


class Block(nn.Module):
    """Post-LN block: x = LN(x + drop(attn(x))); x = LN(x + drop(ffn(x)))."""

    def __init__(self, d: int, n_heads: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        if d % n_heads:
            raise InputError(f"Hidden size d={d} must be divisible by n_heads={n_heads}.")
        self.n_heads = n_heads
        self.dropout = dropout
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.ln1 = nn.LayerNorm(d, eps=1e-12)
        self.ff1 = nn.Linear(d, d_ff)
        self.ff2 = nn.Linear(d_ff, d)
        self.ln2 = nn.LayerNorm(d, eps=1e-12)
        self.drop = Dropout(dropout)
        self.attn_drop = Dropout(dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor | None = None) -> torch.Tensor:
        """allowed: (B, 1, T, T) bool, which keys each position may attend to (None: causal)."""
        b, t, d = x.shape
        h = self.n_heads
        q, k, v = self.qkv(x).view(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        if self.training and self.dropout > 0.0:  # masks from the step's draws (ppr.models.noise)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // h))
            if allowed is None:
                allowed = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
            att = self.attn_drop(att.masked_fill(~allowed, float("-inf")).softmax(-1))
            a = att @ v
        else:
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, is_causal=allowed is None)
        a = a.transpose(1, 2).reshape(b, t, d)
        x = self.ln1(x + self.drop(self.out(a)))
        return self.ln2(x + self.drop(self.ff2(F.gelu(self.ff1(x)))))


class SASRec(SequenceBackbone):
    """Self-attentive sequential recommender; outputs one hidden state per item position."""

    deep_prefix = True

    def __init__(self, cfg: BackboneSpec, n_items: int) -> None:
        super().__init__(cfg, n_items)
        self.pos_emb = nn.Embedding(cfg.max_len, cfg.d)
        self.emb_ln = nn.LayerNorm(cfg.d, eps=1e-12)
        self.emb_drop = Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg.d, cfg.n_heads, cfg.d_ff, cfg.dropout) for _ in range(cfg.n_layers))
        self.apply(init_weights)

    @property
    def adapter_slots(self) -> int:
        return len(self.blocks)

    def encode(
        self, seq: torch.Tensor, prefix: torch.Tensor | None, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, P+L, d) outputs over prefix and items; zeros before `lengths` are masked clicks (see the module)."""
        self.check_length(seq)
        length = seq.shape[1]
        pos = torch.arange(length, device=seq.device)
        x = self.item_emb(seq) + self.pos_emb(pos).unsqueeze(0)
        deep = prefix is not None and prefix.dim() == 4
        if deep and prefix.shape[0] != len(self.blocks):
            raise InputError(f"Deep prefix has {prefix.shape[0]} layers but the backbone has {len(self.blocks)}.")
        p = prefix_len(prefix)
        if prefix is not None:
            first = prefix[0] if deep else prefix
            x = torch.cat([first.to(x.dtype), x], dim=1)
        x = self.emb_drop(self.emb_ln(x))
        allowed = None if lengths is None else _attention_mask(seq, lengths, p)
        for i, block in enumerate(self.blocks):
            if deep and i > 0:
                x = torch.cat([prefix[i].to(x.dtype), x[:, p:]], dim=1)
            x = self.adapt(i, block(x, allowed))
        return x


def _attention_mask(seq: torch.Tensor, lengths: torch.Tensor, p: int) -> torch.Tensor:
    """(B, 1, P+L, P+L): causal, without the keys of masked clicks (zeros before `lengths`), each position
    always seeing itself (so no row is empty)."""
    b, length = seq.shape
    pos = torch.arange(length, device=seq.device)
    holes = (seq == 0) & (pos < lengths.unsqueeze(1))
    holes = torch.cat([holes.new_zeros(b, p), holes], dim=1)
    t = p + length
    causal = torch.ones(t, t, dtype=torch.bool, device=seq.device).tril()
    eye = torch.eye(t, dtype=torch.bool, device=seq.device)
    return ((causal & ~holes[:, None, :]) | eye).unsqueeze(1)
