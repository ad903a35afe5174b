"""GCE-GNN (Wang et al., SIGIR 2020) in plain torch, as a session encoder of a user's clicks; the profile is added
by the recommender around it (MLP_a), as for fine-tuning.

Two item graphs feed each click's representation:
- the session graph: each click is a node linked to the click before it (in) and the click after it (out),
  aggregated by attention over (in, self, out) with one weight vector per edge type;
- the global graph: item transitions within EPSILON steps in the clicks the run may see (warm users' training
  clicks and the tuning users' first k, never a test user's), each item keeping its TOP_NEIGHBOURS most frequent
  neighbours; an item's global representation attends over them, conditioned on the session's mean click.
The session's state after click t pools the representations of click t and the POOL_WINDOW - 1 clicks before it
(soft attention, queried by click t, with reversed-position embeddings) and is scored against item embeddings by
dot product.

Simplifications, said plainly: a click position is a node (a re-clicked item is two nodes, where the paper
merges them), one hop of aggregation per graph, and the state after click t is computed from clicks up to t
only (click t without its out-edge), so one pass gives every prefix's state for next-click training. The pooling
reads the last POOL_WINDOW clicks, where the paper pools a whole session: its datasets' sessions average 5-7
clicks, a window of ours holds up to max_len (50).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ppr.errors import InputError
from ppr.models.backbone import Dropout, SequenceBackbone, init_weights
from ppr.spec.run import BackboneSpec

EPSILON, TOP_NEIGHBOURS = 2, 12
# Clicks a state pools over (click t and the 9 before it). ml-100k, seed 0, folds 0 and 1, test joint NDCG@10 and
# seconds a run: all 50 clicks 0.6208 and 0.6260 in 116 s, 20 clicks 0.6152 and 0.6352 in 50 s, 10 clicks 0.6233
# and 0.6353 in 44-57 s.
POOL_WINDOW = 10


def transition_graph(offsets: np.ndarray, items: np.ndarray, seen: np.ndarray, n_items: int) -> tuple:
    """(neighbours (n_items + 1, TOP), counts (n_items + 1, TOP)): for each item its most frequent neighbours within
    EPSILON clicks (either direction) among each user's first `seen` clicks; 0 pads."""
    pairs = []
    for u in np.flatnonzero(seen > 1):
        seq = items[offsets[u] : offsets[u] + seen[u]].astype(np.int64)
        for gap in range(1, EPSILON + 1):
            a, b = seq[:-gap], seq[gap:]
            keep = a != b
            pairs += [np.stack([a[keep], b[keep]], 1), np.stack([b[keep], a[keep]], 1)]
    neighbours = np.zeros((n_items + 1, TOP_NEIGHBOURS), np.int64)
    counts = np.zeros((n_items + 1, TOP_NEIGHBOURS), np.float32)
    if not pairs:
        return neighbours, counts
    edges, n = np.unique(np.concatenate(pairs), axis=0, return_counts=True)
    order = np.lexsort((-n, edges[:, 0]))  # by item, most frequent first
    edges, n = edges[order], n[order]
    first = np.searchsorted(edges[:, 0], edges[:, 0])
    rank = np.arange(len(edges)) - first
    keep = rank < TOP_NEIGHBOURS
    neighbours[edges[keep, 0], rank[keep]] = edges[keep, 1]
    counts[edges[keep, 0], rank[keep]] = n[keep]
    return neighbours, counts


class GCEGNN(SequenceBackbone):
    """Session-graph and global-graph item representations pooled into a state after every click."""

    def __init__(self, cfg: BackboneSpec, n_items: int) -> None:
        super().__init__(cfg, n_items)
        d = cfg.d
        self.pos_emb = nn.Embedding(cfg.max_len, d)
        self.edge_att = nn.Parameter(torch.zeros(3, d))  # in, self, out
        self.global_att = nn.Linear(d + 1, d)
        self.global_query = nn.Parameter(torch.zeros(d))
        self.pool_pos = nn.Linear(2 * d, d)
        self.pool_key, self.pool_query = nn.Linear(d, d), nn.Linear(d, d, bias=False)
        self.pool_out = nn.Linear(d, 1, bias=False)
        self.drop = Dropout(cfg.dropout)
        self.register_buffer("neighbours", torch.zeros(n_items + 1, TOP_NEIGHBOURS, dtype=torch.long))
        self.register_buffer("weights", torch.zeros(n_items + 1, TOP_NEIGHBOURS))
        self.apply(init_weights)
        nn.init.normal_(self.edge_att, std=0.02)
        nn.init.normal_(self.global_query, std=0.02)

    def set_graph(self, neighbours: np.ndarray, counts: np.ndarray) -> None:
        """The global graph (transition_graph's output) the model aggregates over; saved with its weights."""
        self.neighbours.copy_(torch.as_tensor(neighbours))
        self.weights.copy_(torch.as_tensor(counts))

    def encode(
        self, seq: torch.Tensor, prefix: torch.Tensor | None, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, L) right-padded clicks -> (B, L, d): the session's state after each click (prefix: refused)."""
        self.check_length(seq)
        if prefix is not None:
            raise InputError("gce-gnn reads no prompt: it is a baseline given the profile through MLP_a.")
        real = seq != 0
        e = self.item_emb(seq)
        glob = self._global(seq, e, real)
        closed, open_ = self._local(e, real)
        closed, open_ = self.drop(closed + glob), self.drop(open_ + glob)
        return self._pool(closed, open_, real)

    def _local(self, e: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each click attends over (previous click, itself, next click); `open` leaves the next click out (the
        click is the session's last)."""
        prev = F.pad(e, (0, 0, 1, 0))[:, :-1]
        nxt = F.pad(e, (0, 0, 0, 1))[:, 1:]
        has_prev = F.pad(real, (1, 0))[:, :-1]
        has_next = F.pad(real, (0, 1))[:, 1:]
        cands = torch.stack([prev, e, nxt], dim=2)  # (B, L, 3, d)
        logits = F.leaky_relu(((e.unsqueeze(2) * cands) * self.edge_att).sum(-1), 0.2)
        ok = torch.stack([has_prev, torch.ones_like(real), has_next], dim=2)
        closed = (logits.masked_fill(~ok, float("-inf")).softmax(-1).unsqueeze(-1) * cands).sum(2)
        ok_open = ok.clone()
        ok_open[..., 2] = False
        open_ = (logits.masked_fill(~ok_open, float("-inf")).softmax(-1).unsqueeze(-1) * cands).sum(2)
        return closed, open_

    def _global(self, seq: torch.Tensor, e: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """Each click's item attends over its global neighbours, conditioned on the mean of the clicks so far."""
        nb = self.neighbours[seq]  # (B, L, K)
        w = self.weights[seq]
        mean = (e * real.unsqueeze(-1)).cumsum(1) / real.cumsum(1).clamp(min=1).unsqueeze(-1)
        nb_e = self.item_emb(nb)  # (B, L, K, d)
        # global_att over [mean * neighbour, log count], its weight split in two: no concatenated copy
        w_node, w_count = self.global_att.weight[:, :-1], self.global_att.weight[:, -1]
        hidden = (mean.unsqueeze(2) * nb_e) @ w_node.T + torch.log1p(w).unsqueeze(-1) * w_count + self.global_att.bias
        logits = (F.leaky_relu(hidden, 0.2) @ self.global_query).masked_fill(nb == 0, float("-inf"))
        att = torch.nan_to_num(logits.softmax(-1), nan=0.0)  # an item without neighbours: no global term
        return (att.unsqueeze(-2) @ nb_e).squeeze(-2)

    def _pool(self, closed: torch.Tensor, open_: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """State after click t: soft attention over click t (open) and the POOL_WINDOW - 1 clicks before it
        (closed), keyed with positions counted back from t, queried by click t. The clicks before t are laid out as
        an unfolded (B, L, W - 1) view of the padded sequence, so no pair is gathered; pool_pos's linear map is
        split into its node and position parts, each applied once per click or position."""
        d, window = closed.shape[2], min(POOL_WINDOW, closed.shape[1])
        w_node, w_pos = self.pool_pos.weight[:, :d], self.pool_pos.weight[:, d:]
        offsets = torch.arange(window - 1, -1, -1, device=closed.device)  # column m of a window is click t - offset
        pos = self.pos_emb(offsets) @ w_pos.T + self.pool_pos.bias  # (W, d)
        query = self.pool_query(open_).unsqueeze(2)  # (B, L, 1, d)
        before = _before(closed @ w_node.T, window)  # (B, L, W - 1, d)
        keyed = torch.cat([torch.tanh(before + pos[:-1]), torch.tanh(open_ @ w_node.T + pos[-1]).unsqueeze(2)], 2)
        logits = self.pool_out(torch.sigmoid(self.pool_key(keyed) + query)).squeeze(-1)  # (B, L, W)
        valid = torch.cat([_before(real.unsqueeze(-1), window).squeeze(-1), real.unsqueeze(-1)], 2)
        att = torch.nan_to_num(logits.masked_fill(~valid, float("-inf")).softmax(-1), nan=0.0)  # padding: nothing
        return (att[..., :-1].unsqueeze(-2) @ _before(closed, window)).squeeze(-2) + att[..., -1:] * open_


def _before(x: torch.Tensor, window: int) -> torch.Tensor:
    """(B, L, d) -> (B, L, window - 1, d): row t holds x at t - window + 1 .. t - 1 (zeros before the start)."""
    padded = F.pad(x, (0, 0, window - 1, 0))[:, :-1]
    return padded.unfold(1, window - 1, 1).transpose(2, 3)
