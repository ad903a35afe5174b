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

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ppr.errors import InputError
from ppr.spec.run import BackboneSpec


class _Dropout(nn.Module):
    """Dropout whose CPU masks come from numpy (uint8, PCG64): torch's CPU RNG made
    dropout about half of a training forward pass (profiled on ml-100k). Keep
    probability is quantised to 1/256. CUDA and eval use torch's own dropout.
    Seeded from torch's RNG at construction, so torch.manual_seed still fixes it."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p
        self.cut = round(p * 256)
        self.rng = np.random.default_rng(int(torch.randint(0, 2**62, ())))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p <= 0.0:
            return x
        if x.device.type != "cpu":
            return F.dropout(x, self.p, True)
        keep = torch.from_numpy(self.rng.integers(0, 256, size=tuple(x.shape), dtype=np.uint8) >= self.cut)
        return x * keep.to(x.dtype).mul_(256.0 / (256 - self.cut))


class _Block(nn.Module):
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
        self.drop = _Dropout(dropout)
        self.attn_drop = _Dropout(dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor | None = None) -> torch.Tensor:
        """allowed: (B, 1, T, T) bool, which keys each position may attend to (None: causal)."""
        b, t, d = x.shape
        h = self.n_heads
        q, k, v = self.qkv(x).view(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        if self.training and self.dropout > 0.0 and x.device.type == "cpu":
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // h))
            if allowed is None:
                allowed = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
            att = self.attn_drop(att.masked_fill(~allowed, float("-inf")).softmax(-1))
            a = att @ v
        else:
            drop = self.dropout if self.training else 0.0
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, is_causal=allowed is None, dropout_p=drop)
        a = a.transpose(1, 2).reshape(b, t, d)
        x = self.ln1(x + self.drop(self.out(a)))
        return self.ln2(x + self.drop(self.ff2(F.gelu(self.ff1(x)))))


class SASRec(nn.Module):
    """Self-attentive sequential recommender; outputs one hidden state per item position."""

    def __init__(self, cfg: BackboneSpec, n_items: int) -> None:
        super().__init__()
        if n_items < 1:
            raise InputError(f"The backbone needs a catalogue of at least one item, got n_items={n_items}.")
        self.cfg, self.n_items = cfg, n_items
        self.item_emb = nn.Embedding(n_items + 1, cfg.d, padding_idx=0)
        self.pos_emb = nn.Embedding(cfg.max_len, cfg.d)
        self.emb_ln = nn.LayerNorm(cfg.d, eps=1e-12)
        self.emb_drop = _Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(_Block(cfg.d, cfg.n_heads, cfg.d_ff, cfg.dropout) for _ in range(cfg.n_layers))
        self.apply(_init_weights)

    def forward(self, seq: torch.Tensor, prefix: torch.Tensor | None = None) -> torch.Tensor:
        """(B, L) right-padded item ids [+ prefix (B,P,d) or (n_layers,B,P,d)] -> (B, L, d)."""
        return self.encode(seq, prefix)[:, self._prefix_len(prefix) :]

    def user_hidden(
        self, seq: torch.Tensor, prefix: torch.Tensor | None = None, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, d): output at the last click (position lengths - 1; default: the non-zero count); no clicks -> last
        prompt token; neither -> zeros."""
        out = self.encode(seq, prefix, lengths)
        p = self._prefix_len(prefix)
        n = (seq != 0).sum(dim=1) if lengths is None else lengths
        idx = (p + n - 1).clamp(min=0)
        h = out[torch.arange(seq.shape[0], device=seq.device), idx]
        if p == 0:
            h = h * (n > 0).unsqueeze(1).to(h.dtype)
        return h

    def score(self, u: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
        """(B, d) user vectors x (B, C) candidate ids -> (B, C) dot products."""
        return torch.einsum("bd,bcd->bc", u, self.item_emb(cand))

    def _prefix_len(self, prefix: torch.Tensor | None) -> int:
        return 0 if prefix is None else prefix.shape[-2]

    def encode(
        self, seq: torch.Tensor, prefix: torch.Tensor | None, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, P+L, d) outputs over prefix and items; zeros before `lengths` are masked clicks (see the module)."""
        b, length = seq.shape
        if length > self.cfg.max_len:
            raise InputError(f"Sequence length {length} exceeds the backbone's max_len {self.cfg.max_len}.")
        pos = torch.arange(length, device=seq.device)
        x = self.item_emb(seq) + self.pos_emb(pos).unsqueeze(0)
        deep = prefix is not None and prefix.dim() == 4
        if deep and prefix.shape[0] != len(self.blocks):
            raise InputError(f"Deep prefix has {prefix.shape[0]} layers but the backbone has {len(self.blocks)}.")
        p = self._prefix_len(prefix)
        if prefix is not None:
            first = prefix[0] if deep else prefix
            x = torch.cat([first.to(x.dtype), x], dim=1)
        x = self.emb_drop(self.emb_ln(x))
        allowed = None if lengths is None else _attention_mask(seq, lengths, p)
        for i, block in enumerate(self.blocks):
            if deep and i > 0:
                x = torch.cat([prefix[i].to(x.dtype), x[:, p:]], dim=1)
            x = block(x, allowed)
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


def _init_weights(module: nn.Module) -> None:
    """RecBole's init: N(0, 0.02) for linear/embedding weights, zero biases, unit LayerNorm."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
