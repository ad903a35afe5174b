"""Popularity baselines as dot-product models, so the one scorer (ppr.eval.scoring) serves them too.

    pop          score(i) = log(c(i) + alpha): item clicks among the clicks the run may see.
    pop-profile  naive Bayes over every attribute at once:
                 score(i) = log P(i) + sum over attributes a of [log P(i | a = the user's value) - log P(i)].
                 P(i) has additive smoothing 1; P(i | a = v) adds smoothing * n_items pseudo-clicks spread
                 like P(i), so a rare value (a zip code of two users) leaves the prior nearly as it is
                 instead of pulling every item towards uniform. Summing every attribute's evidence
                 counts it several times over (naive Bayes), so the run picks the smoothing from
                 SMOOTHING on its validation users, as the trained methods early-stop on them.

Written as u . e_i: the user vector is [1, one-hot of each attribute's value] and the item table
holds [log P(i), then per attribute and value log P(i | a = v) - log P(i)]. Neither reads the
clicks before a target, so they score a zero-shot user like any other. (Intersecting all
attributes into segments and backing off is much weaker: the segments are too sparse.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

SMOOTHING = (1.0, 10.0, 100.0, 1000.0)  # pseudo-clicks per item of a value's conditional, tried on validation


class CountModel(nn.Module):
    """A fixed item table and one-hot profile features; nothing in it is trained."""

    def __init__(self, table: np.ndarray, cardinalities: Sequence[int], smoothing: float | None = None) -> None:
        super().__init__()
        self.smoothing = smoothing
        self.register_buffer("table", torch.as_tensor(table, dtype=torch.float32))
        self.cardinalities = [int(c) for c in cardinalities]
        offsets = np.concatenate([[1], 1 + np.cumsum(self.cardinalities)[:-1]]).astype(np.int64)
        self.register_buffer("offsets", torch.as_tensor(offsets[: len(self.cardinalities)]))

    @property
    def n_items(self) -> int:
        return self.table.shape[0] - 1

    def item_table(self) -> torch.Tensor:
        return self.table

    def user_vector(
        self, seq: torch.Tensor, codes: torch.Tensor | None, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, F) = [1, one-hot of each attribute value] (only the first column when the table has no profile part)."""
        u = torch.zeros(seq.shape[0], self.table.shape[1], device=self.table.device)
        u[:, 0] = 1.0
        if self.table.shape[1] > 1 and codes is not None and codes.shape[1]:
            u.scatter_(1, codes.long() + self.offsets, 1.0)
        return u

    def score(self, u: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bf,bcf->bc", u, self.table[cand])


def popularity(item_clicks: np.ndarray, n_items: int) -> CountModel:
    """pop: log(c(i) + alpha) over the items 1..n_items (row 0 is padding, never scored)."""
    counts = np.bincount(item_clicks, minlength=n_items + 1)[: n_items + 1].astype(np.float64)
    table = np.log(counts + 1.0)[:, None]
    table[0] = 0.0
    return CountModel(table, [])


def profile_popularity(
    item_clicks: np.ndarray, click_codes: np.ndarray, n_items: int, cardinalities: Sequence[int], smoothing: float
) -> CountModel:
    """pop-profile from the clicks the run may see: item ids and the (n_clicks, A) codes of each click's user."""
    n = n_items + 1
    prior = np.log(np.bincount(item_clicks, minlength=n)[:n] + 1.0) - np.log(len(item_clicks) + n_items)
    parts = [prior[:, None]]
    for a, card in enumerate(cardinalities):
        joint = np.bincount(click_codes[:, a] * n + item_clicks, minlength=card * n)[: card * n].reshape(card, n)
        per_value = joint.sum(axis=1, keepdims=True)
        pseudo = smoothing * n_items
        conditional = np.log(joint + pseudo * np.exp(prior)[None, :]) - np.log(per_value + pseudo)
        parts.append((conditional - prior[None, :]).T)
    table = np.concatenate(parts, axis=1)
    table[0] = 0.0
    return CountModel(table, cardinalities, smoothing)
