"""Training windows and negatives from CSR click sequences, vectorised with numpy.

Windows (docs/method.md, "Long histories"): cutting each history to its last `max_len` clicks throws
away most of a long-history dataset, so a user of n clicks becomes several windows
of up to max_len+1 tokens whose target ranges do not overlap and together cover
every click. Windows are aligned to the END of the history, so the most recent
clicks get full-length context and only the oldest window is short.

A window holds tokens t_0..t_m (right-padded with 0); the model reads t_0..t_{m-1}
and output j scores target t_{j+1}. In zero-shot mode (models with a prompt) the
window that starts at the user's first click also trains t_0 from the prompt alone
(`target_mask[:, 0]`), and one-click users get a window too.

Which users and clicks make the windows is the method's choice (ppr.train.methods): warm users
minus their two held-out clicks for warm-training, the tuning users' first k clicks for tuning.

Negatives: one uniform item per target slot, drawn afresh per batch, rejecting
every item the user clicked anywhere in the CSR (resampled up to 20 times; a user
who clicked nearly the whole catalogue may keep a clicked negative).

Data-parallel training (ppr.train.distributed): every process draws the same shuffled order from the
run's seed, cuts it into the same global batches of batch_size windows and takes its own contiguous part
of each (`epoch_batches`), so the processes take equal numbers of steps and together train every window
once an epoch.

A cross-domain run draws negatives from one domain's items only (`pool`), so the other domain's
embeddings are never trained as negatives.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Windows:
    tokens: np.ndarray  # (W, max_len + 1) int64, right-padded with 0
    users: np.ndarray  # (W,) int64
    starts_at_zero: np.ndarray  # (W,) bool: window begins at the user's first click
    zero_shot: bool

    def __len__(self) -> int:
        return len(self.users)


@dataclass(frozen=True)
class Batch:
    tokens: torch.Tensor  # (B, m+1) long; inputs are tokens[:, :-1]
    negatives: torch.Tensor  # (B, m+1) long, one per target slot; or (B, K) shared by a window's slots
    target_mask: torch.Tensor  # (B, m+1) bool; column 0 only in zero-shot mode
    users: torch.Tensor  # (B,) long
    codes: torch.Tensor | None  # (B, A) profile codes of the users, None for a model without a profile
    per_window: bool = False  # negatives are (B, K): K items each window's user never clicked, for all its slots
    rows: torch.Tensor | None = None  # (B,) bool, which rows are windows (a cell's batch padded in a group); None: all

    @property
    def inputs(self) -> torch.Tensor:
        return self.tokens[:, :-1]


def build_windows(
    offsets: np.ndarray,
    items: np.ndarray,
    users: np.ndarray,
    max_len: int,
    lengths: np.ndarray | None = None,
    zero_shot: bool = False,
) -> Windows:
    """Windows covering clicks seq[:lengths[i]] of each user (default: the whole sequence)."""
    users = np.asarray(users, dtype=np.int64)
    starts = offsets[users].astype(np.int64)
    n = (offsets[users + 1] - starts) if lengths is None else np.asarray(lengths, dtype=np.int64)
    n = np.minimum(n, offsets[users + 1] - starts)
    k = window_counts(n, max_len, zero_shot)
    w_user = np.repeat(np.arange(len(users)), k)
    j = np.arange(len(w_user)) - np.repeat(np.cumsum(k) - k, k)  # 0 = the latest window
    last = n[w_user] - 1 - j * max_len  # last target position in the window
    first = np.maximum(1, last - max_len + 1)
    lo, hi = first - 1, last + 1  # token slice [lo, hi)
    idx = lo[:, None] + np.arange(max_len + 1)[None, :]
    valid = idx < hi[:, None]
    flat = starts[w_user][:, None] + np.minimum(idx, (hi - 1)[:, None])
    tokens = np.where(valid, items[flat], 0).astype(np.int64)
    return Windows(tokens, users[w_user], lo == 0, zero_shot)


def window_counts(n: np.ndarray, max_len: int, zero_shot: bool = False) -> np.ndarray:
    """Windows per user that build_windows makes from n[i] clicks, without making them (cheap exact counts):
    one per max_len targets (clicks 2..n), and in zero-shot mode at least one for a user with a click."""
    n = np.asarray(n, dtype=np.int64)
    k = np.where(n >= 2, (n - 2) // max_len + 1, 0)
    return np.where(n >= 1, np.maximum(k, 1), 0) if zero_shot else k


def history_matrix(
    offsets: np.ndarray, items: np.ndarray, users: np.ndarray, pos: np.ndarray, max_len: int
) -> np.ndarray:
    """(N, max_len) right-padded histories seq[max(0, pos-max_len):pos] for evaluation."""
    users = np.asarray(users, dtype=np.int64)
    pos = np.asarray(pos, dtype=np.int64)
    lo = np.maximum(0, pos - max_len)
    idx = lo[:, None] + np.arange(max_len)[None, :]
    valid = idx < pos[:, None]
    flat = offsets[users].astype(np.int64)[:, None] + np.minimum(idx, np.maximum(pos - 1, 0)[:, None])
    return np.where(valid, items[flat], 0).astype(np.int64)


class NegativeSampler:
    """Uniform items in 1..n_items (or among the ids of `pool`), rejecting items the user clicked (sorted-key
    lookup)."""

    def __init__(
        self, offsets: np.ndarray, items: np.ndarray, n_items: int, max_tries: int = 20, pool: np.ndarray | None = None
    ) -> None:
        self.n_items = n_items
        self.max_tries = max_tries
        self.pool = None if pool is None else np.asarray(pool, dtype=np.int64)  # sorted item ids
        owner = np.repeat(np.arange(len(offsets) - 1, dtype=np.int64), np.diff(offsets))
        self.keys = np.unique(owner * (n_items + 1) + items[: len(owner)].astype(np.int64))

    def sample(self, users: np.ndarray, width: int, rng: np.random.Generator) -> np.ndarray:
        users = np.asarray(users, dtype=np.int64)[:, None]
        neg = self._draw(rng, (len(users), width))
        bad = self._clicked(users, neg)
        for _ in range(self.max_tries):
            if not bad.any():
                break
            neg[bad] = self._draw(rng, int(bad.sum()))
            bad = self._clicked(users, neg) & bad
        return neg

    def _draw(self, rng: np.random.Generator, size: int | tuple[int, int]) -> np.ndarray:
        if self.pool is None:
            return rng.integers(1, self.n_items + 1, size=size)
        return self.pool[rng.integers(0, len(self.pool), size=size)]

    def _clicked(self, users: np.ndarray, neg: np.ndarray) -> np.ndarray:
        if not len(self.keys):
            return np.zeros(neg.shape, dtype=bool)
        key = users * (self.n_items + 1) + neg
        at = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        return self.keys[at] == key


def step_bounds(n: int, batch_size: int, world: int = 1) -> list[int]:
    """Where each global batch of an epoch of n windows starts, and n: batches of batch_size, the last one
    smaller; under data parallelism a last batch too small to give each of the `world` processes a window joins
    the one before it."""
    bounds = list(range(0, n, batch_size))
    if world > 1 and len(bounds) > 1 and n - bounds[-1] < world:
        bounds.pop()
    return [*bounds, n]


def epoch_batches(order: np.ndarray, batch_size: int, rank: int = 0, world: int = 1) -> list[np.ndarray]:
    """Process `rank`'s windows at each step of an epoch in `order`: part `rank` of `world` near-equal
    contiguous parts of each global batch (alone: the batches themselves)."""
    bounds = step_bounds(len(order), batch_size, world)
    return [np.array_split(order[a:b], world)[rank] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def iterate_batches(
    windows: Windows,
    batch_size: int,
    rng: np.random.Generator,
    sampler: NegativeSampler,
    device: torch.device | str = "cpu",
    codes: np.ndarray | None = None,
    negatives: int = 1,
    rank: int = 0,
    world: int = 1,
) -> Iterator[Batch]:
    """One shuffled epoch with fresh negatives, each batch trimmed to its longest window (less padding work).

    codes: (n_users, A) profile codes as the method sees them, attached per window user (None: no profile).
    negatives: 1 = one per target slot; K > 1 = K per window, shared by its slots (Batch.per_window): scoring
    them is one (B, m, d) x (B, K, d) product instead of a gather of (B, m, K, d) embeddings.
    rank, world: this process's share of each global batch of batch_size (epoch_batches). Its negatives come
    from a stream of its own, seeded from `rng` and the rank, so `rng` draws the same on every process.
    """
    codes_t = None if codes is None else torch.as_tensor(np.ascontiguousarray(codes), dtype=torch.long)
    parts = epoch_batches(rng.permutation(len(windows)), batch_size, rank, world)
    if world > 1:
        rng = np.random.default_rng([int(rng.integers(2**63)), rank])
    for sel in parts:
        tok = windows.tokens[sel]
        m = max(int((tok != 0).sum(axis=1).max()), 2)
        tok = tok[:, :m]
        mask = tok != 0
        mask[:, 0] = windows.starts_at_zero[sel] if windows.zero_shot else False
        neg = sampler.sample(windows.users[sel], m if negatives == 1 else negatives, rng)
        yield Batch(
            tokens=torch.from_numpy(tok).to(device, non_blocking=True),
            negatives=torch.from_numpy(neg).to(device, non_blocking=True),
            target_mask=torch.from_numpy(mask).to(device, non_blocking=True),
            users=torch.from_numpy(windows.users[sel]).to(device, non_blocking=True),
            codes=None if codes_t is None else codes_t[torch.from_numpy(windows.users[sel])].to(device),
            per_window=negatives > 1,
        )
