"""MiNet (Ouyang et al., CIKM 2020), the cross-domain baseline, in plain torch: a user's interests mixed from both
domains by item-level and interest-level attention.

Three interests make the user vector, as in the paper:
- long-term (user level): what the user is like across domains, here an MLP of the mean of their source-domain
  clicks (the paper learns a user-id embedding; a user cold in the target domain is known by their source clicks);
- short-term in the source domain: item-level attention over the user's source clicks, mapped into the target
  item space by a transfer matrix (the paper's M);
- short-term in the target domain: item-level attention over the target clicks read so far.
Interest-level attention weighs the three (the target one is absent for a zero-shot user) and an MLP mixes the
weighted interests into the user vector (plus their weighted sum, so pooled item embeddings score candidates from
the first step), scored by dot product with the item embeddings. The new layers keep torch's default
initialisation: a stack of layers drawn at N(0, 0.02) without normalisation starts with a vanishing signal.

Departures, said plainly: the paper queries both attentions with the candidate item (a CTR model scoring one
candidate at a time); here they are queried by the user's long-term interest and, for the target clicks, by the
last click read and how far back each click lies, so one vector per user serves every candidate through the one
scorer (ppr.eval.scoring) and one pass trains every prefix of a window. The item embeddings start from the warm
run's (trained on the source domain), as the other tuned methods' do; everything is then trained on the target
domain's clicks.

The source clicks ride with the model as a buffer of each user's last max_len source clicks, row u + 1 for user
u (row 0: none), picked by the last column of the codes, as ppr.models.source does for the source vectors.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ppr.models.backbone import Dropout
from ppr.models.items import ItemTable
from ppr.spec.run import BackboneSpec


class MiNet(ItemTable):
    def __init__(self, cfg: BackboneSpec, n_items: int, source_clicks: np.ndarray | None = None) -> None:
        super().__init__(n_items, cfg.d)
        self.cfg = cfg
        d = cfg.d
        rows = np.zeros((1, cfg.max_len), np.int64) if source_clicks is None else np.asarray(source_clicks, np.int64)
        self.register_buffer("source_clicks", torch.as_tensor(rows))
        self.transfer = nn.Linear(d, d, bias=False)  # source item space -> target item space
        self.long_term = _mlp(d, d, d)
        self.source_key, self.source_query = nn.Linear(d, d), nn.Linear(d, d, bias=False)
        self.source_out = nn.Linear(d, 1, bias=False)
        self.target_key, self.target_query = nn.Linear(d, d), nn.Linear(d, d, bias=False)
        self.target_out = nn.Linear(d, 1, bias=False)
        self.last_click = nn.Linear(d, d, bias=False)
        self.recency = nn.Embedding(cfg.max_len, 1)
        nn.init.zeros_(self.recency.weight)
        self.norm = nn.LayerNorm(d)  # interests on one scale: new target items start with tiny embeddings
        self.interest = _mlp(2 * d, d, 1)
        self.mix = _mlp(3 * d, cfg.d_ff, d)
        self.drop = Dropout(cfg.dropout)

    def user_vector(
        self, seq: torch.Tensor, codes: torch.Tensor | None, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, L) right-padded target clicks + codes (last column: source row) -> (B, d) after the last click."""
        out = self.sequence_outputs(seq, codes, zero_shot=True)
        n = (seq != 0).sum(dim=1)
        return out[torch.arange(len(seq), device=seq.device), n]

    def sequence_outputs(
        self, seq: torch.Tensor, codes: torch.Tensor | None, zero_shot: bool = False, with_profile: bool = True
    ) -> torch.Tensor:
        """(B, L+1, d) with zero_shot (out[:, t] has read seq[:, :t]; out[:, 0] no click), else (B, L, d) after each
        click. MiNet reads no profile (with_profile is accepted for the tuning objectives' sake)."""
        rows = self._rows(codes, len(seq), seq.device)
        long_term, source = self._source(self.source_clicks[rows])
        target = self._target(seq, long_term)  # (B, L, d): after click t
        b, length, d = target.shape
        slots = torch.cat([target.new_zeros(b, 1, d), target], dim=1)  # slot 0: no target click read
        interests = self.norm(
            torch.stack(
                [
                    long_term.unsqueeze(1).expand(-1, length + 1, -1),
                    source.unsqueeze(1).expand(-1, length + 1, -1),
                    slots,
                ],
                dim=2,
            )
        )  # (B, L+1, 3, d)
        user = interests[:, :, :1].expand_as(interests)  # the long-term interest beside each
        logits = self.interest(torch.cat([interests, user], -1)).squeeze(-1)
        absent = torch.zeros_like(logits, dtype=torch.bool)
        absent[:, 0, 2] = True
        weighted = logits.masked_fill(absent, float("-inf")).softmax(-1).unsqueeze(-1) * interests
        out = weighted.sum(2) + self.mix(weighted.flatten(2))
        return out if zero_shot else out[:, 1:]

    def _rows(self, codes: torch.Tensor | None, n: int, device: torch.device) -> torch.Tensor:
        """Each user's row of the source buffer (row 0 when the model holds no source clicks)."""
        if codes is None or not codes.shape[1] or len(self.source_clicks) == 1:
            return torch.zeros(n, dtype=torch.long, device=device)
        return codes[:, -1].long()

    def _source(self, clicks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(long-term interest, source short-term interest), each (B, d), from (B, Ls) source clicks."""
        real = clicks != 0
        e = self.drop(self.item_emb(clicks))
        mean = (e * real.unsqueeze(-1)).sum(1) / real.sum(1, keepdim=True).clamp(min=1)
        long_term = self.long_term(mean)
        moved = self.transfer(e)
        logits = self.source_out(torch.tanh(self.source_key(moved) + self.source_query(long_term).unsqueeze(1)))
        att = torch.nan_to_num(logits.squeeze(-1).masked_fill(~real, float("-inf")).softmax(-1), nan=0.0)
        return long_term, (att.unsqueeze(-1) * moved).sum(1)

    def _target(self, seq: torch.Tensor, long_term: torch.Tensor) -> torch.Tensor:
        """(B, L, d): attention over target clicks 1..t for every t, queried by the long-term interest, the last
        click read and how far back each click lies."""
        real = seq != 0
        e = self.drop(self.item_emb(seq))
        base = self.target_out(torch.tanh(self.target_key(e) + self.target_query(long_term).unsqueeze(1))).squeeze(-1)
        last = torch.einsum("btd,bjd->btj", self.last_click(e), e) / math.sqrt(e.shape[-1])
        t = torch.arange(seq.shape[1], device=seq.device)
        back = (t.unsqueeze(1) - t.unsqueeze(0)).clamp(min=0, max=self.cfg.max_len - 1)
        logits = base.unsqueeze(1) + last + self.recency(back).squeeze(-1)
        allowed = (t.unsqueeze(0) <= t.unsqueeze(1)).unsqueeze(0) & real.unsqueeze(1)
        att = torch.nan_to_num(logits.masked_fill(~allowed, float("-inf")).softmax(-1), nan=0.0)
        return att @ e


def _mlp(d_in: int, d_hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, d_hidden), nn.GELU(), nn.Linear(d_hidden, d_out))
