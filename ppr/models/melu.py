"""MeLU (Lee et al., KDD 2019) given the same profiles: a user is a task, and the model meta-learns decision
layers that adapt to a user from a few of their clicks.

The user's profile embedding passes through the decision layers (an MLP) to a user vector u; an item scores
u . e_item, so MeLU is scored by the same scorer as every other method (ppr.eval.scoring). Personalisation
is MeLU's local update: for each user, LOCAL_STEPS gradient steps of the decision layers (learning rate
LOCAL_LR) on the user's visible clicks (the support set; loss: softmax over the whole catalogue, item
embeddings held fixed), computed for all users of a batch at once. A user without clicks keeps
the global decision layers: zero-shot is the profile alone. Meta-training is first-order MAML: the query
loss is taken at the adapted layers, and its gradient reaches the global layers as if the local steps were
constants (ppr.train.methods splits each training window into support and query clicks). MeLU reads no
click order and trains from scratch: it has no warm run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ppr.models.backbone import init_weights
from ppr.models.items import ItemTable
from ppr.models.profile import AttributeEmbedding, mlp
from ppr.spec.run import BackboneSpec

LOCAL_STEPS, LOCAL_LR = 3, 0.5


class MeLU(ItemTable):
    def __init__(self, cfg: BackboneSpec, n_items: int, cardinalities: Sequence[int]) -> None:
        super().__init__(n_items, cfg.d)
        self.cfg = cfg
        self.embed = AttributeEmbedding(cardinalities)
        self.decision = mlp(max(1, self.embed.out_dim), cfg.d_ff, cfg.d)
        init_weights(self.item_emb)

    def user_vector(
        self, seq: torch.Tensor, codes: torch.Tensor | None, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, L) visible clicks (the support set; order does not matter) + (B, A) codes -> (B, d) adapted u."""
        x = self._profile(codes, len(seq), seq.device)
        steps = self.local_steps(x, seq)
        first, last = self.decision[0], self.decision[2]
        return _decide(x, first.weight - steps[0], first.bias - steps[1], last.weight - steps[2], last.bias - steps[3])

    def local_steps(self, x: torch.Tensor, support: torch.Tensor) -> list[torch.Tensor]:
        """Per user, how far LOCAL_STEPS local steps move each decision parameter (w1, b1, w2, b2), as constants
        (first-order). The gradients are written out (a two-layer MLP) so all users step in a few batched ops."""
        table = self.item_emb.weight.detach().float()[1:]
        real = (support > 0).float()
        n = real.sum(1, keepdim=True)
        target = torch.zeros(len(x), len(table), device=x.device).scatter_add_(1, (support - 1).clamp(min=0), real)
        target = target / n.clamp(min=1.0)
        has = (n > 0).float()  # a user without clicks keeps the global layers
        start = [
            p.detach().float()
            for p in (self.decision[0].weight, self.decision[0].bias, self.decision[2].weight, self.decision[2].bias)
        ]
        w1, b1, w2, b2 = (p.expand(len(x), *p.shape) for p in start)
        x = x.detach().float()
        for _ in range(LOCAL_STEPS):
            h = torch.einsum("bhi,bi->bh", w1, x) + b1
            a = F.gelu(h)
            u = torch.einsum("bdh,bh->bd", w2, a) + b2
            g_u = ((torch.softmax(u @ table.T, dim=-1) - target) @ table) * has
            g_h = torch.einsum("bdh,bd->bh", w2, g_u) * _gelu_grad(h)
            w1 = w1 - LOCAL_LR * g_h.unsqueeze(2) * x.unsqueeze(1)
            b1 = b1 - LOCAL_LR * g_h
            w2 = w2 - LOCAL_LR * g_u.unsqueeze(2) * a.unsqueeze(1)
            b2 = b2 - LOCAL_LR * g_u
        return [(s - p).to(self.decision[0].weight.dtype) for s, p in zip(start, (w1, b1, w2, b2), strict=True)]

    def _profile(self, codes: torch.Tensor | None, n: int, device: torch.device) -> torch.Tensor:
        if codes is None or not self.embed.out_dim:
            return torch.ones(n, 1, device=device)
        return self.embed(codes)


def _decide(x: torch.Tensor, w1: torch.Tensor, b1: torch.Tensor, w2: torch.Tensor, b2: torch.Tensor) -> torch.Tensor:
    """The decision layers with per-user parameters (B, ...): (B, in) -> (B, d)."""
    a = F.gelu(torch.einsum("bhi,bi->bh", w1, x) + b1)
    return torch.einsum("bdh,bh->bd", w2, a) + b2


def _gelu_grad(h: torch.Tensor) -> torch.Tensor:
    """d/dh of the exact GELU h * Phi(h): Phi(h) + h * phi(h)."""
    return 0.5 * (1.0 + torch.erf(h / math.sqrt(2.0))) + h * torch.exp(-0.5 * h * h) / math.sqrt(2.0 * math.pi)
