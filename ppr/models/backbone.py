"""What every sequence backbone shares: item embeddings, the user state after the last click, dot-product scores.

A backbone maps right-padded clicks (item 0 = padding), optionally after a prompt prefix, to one
hidden state per position (`encode`); the cold-start methods only use that and `item_emb`, so a new
backbone is a subclass with an `encode` and an entry in ppr.models.registry.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ppr.errors import InputError
from ppr.models.noise import Drawing
from ppr.spec.run import BackboneSpec


class Dropout(Drawing):
    """Dropout whose training masks come from the step's draws (ppr.models.noise): the same masks whether a cell
    trains alone or in a group, on CPU or CUDA. Keep probability is quantised to 1/256. A training forward
    outside a trainer's step (no draws handed) uses torch's own dropout."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p
        self.cut = round(p * 256)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p <= 0.0:
            return x
        if self.draws is None:
            return F.dropout(x, self.p, True)
        keep = self.draws.bytes(x.shape, x.device) >= self.cut
        return x * keep.to(x.dtype) * (256.0 / (256 - self.cut))


class Adapter(nn.Module):
    """Residual bottleneck x + up(gelu(down(x))) (PeterRec's model patch); `up` starts at zero, so a backbone
    with fresh adapters computes exactly what it computed before."""

    def __init__(self, d: int, width: int) -> None:
        super().__init__()
        self.down, self.up = nn.Linear(d, width), nn.Linear(width, d)
        init_weights(self.down)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.up(F.gelu(self.down(x)))


class SequenceBackbone(nn.Module):
    """Base of the backbones: subclasses set up their layers after this and implement `encode`, passing the
    output of each of their `adapter_slots` stages through `adapt` (a no-op until `add_adapters`)."""

    #: whether a prompt may hold one set of tokens per layer (a Transformer's deep prefix)
    deep_prefix: bool = False

    def __init__(self, cfg: BackboneSpec, n_items: int) -> None:
        super().__init__()
        if n_items < 1:
            raise InputError(f"The backbone needs a catalogue of at least one item, got n_items={n_items}.")
        self.cfg, self.n_items = cfg, n_items
        self.adapters: nn.ModuleList | None = None
        self.item_emb = nn.Embedding(n_items + 1, cfg.d, padding_idx=0)

    def encode(
        self, seq: torch.Tensor, prefix: torch.Tensor | None, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, L) right-padded clicks [+ prefix (B, P, d)] -> (B, P+L, d); output t has read prefix and seq[:, :t+1].

        Zeros before `lengths` are clicks masked in place (PPR's behaviour view): they keep their positions.
        """
        raise NotImplementedError

    def forward(self, seq: torch.Tensor, prefix: torch.Tensor | None = None) -> torch.Tensor:
        """(B, L) right-padded item ids [+ prefix] -> (B, L, d)."""
        return self.encode(seq, prefix)[:, prefix_len(prefix) :]

    def user_hidden(
        self, seq: torch.Tensor, prefix: torch.Tensor | None = None, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, d): output at the last click (position lengths - 1; default: the non-zero count); no clicks -> last
        prompt token; neither -> zeros."""
        out = self.encode(seq, prefix, lengths)
        p = prefix_len(prefix)
        n = (seq != 0).sum(dim=1) if lengths is None else lengths
        idx = (p + n - 1).clamp(min=0)
        h = out[torch.arange(seq.shape[0], device=seq.device), idx]
        if p == 0:
            h = h * (n > 0).unsqueeze(1).to(h.dtype)
        return h

    def score(self, u: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
        """(B, d) user vectors x (B, C) candidate ids -> (B, C) dot products."""
        return torch.einsum("bd,bcd->bc", u, self.item_emb(cand))

    @property
    def adapter_slots(self) -> int:
        return 1

    def add_adapters(self, width: int) -> nn.ModuleList:
        """Insert a fresh Adapter after each stage (each Transformer block; the GRU stack): the adapter baseline."""
        self.adapters = nn.ModuleList(Adapter(self.cfg.d, width) for _ in range(self.adapter_slots))
        return self.adapters

    def adapt(self, stage: int, x: torch.Tensor) -> torch.Tensor:
        return x if self.adapters is None else self.adapters[stage](x)

    def check_length(self, seq: torch.Tensor) -> None:
        if seq.shape[1] > self.cfg.max_len:
            raise InputError(f"Sequence length {seq.shape[1]} exceeds the backbone's max_len {self.cfg.max_len}.")


def prefix_len(prefix: torch.Tensor | None) -> int:
    """Prompt tokens in a prefix of shape (B, P, d) or, deep, (layers, B, P, d)."""
    return 0 if prefix is None else prefix.shape[-2]


def init_weights(module: nn.Module) -> None:
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
