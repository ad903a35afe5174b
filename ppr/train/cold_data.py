"""Training examples for cold-start tuning: every click of every tuning user is a target.

A tuning user with clicks s_0..s_{n-1} (after the k-shot crop: the first k clicks)
gives n BPR targets: s_0 predicted from the profile/prompt alone (the zero-shot
position, which is what teaches the prompt) and s_t predicted from s_0..s_{t-1}.
Rows are windows of at most max_len clicks; a user longer than that (warm users in
the `sasrec` baseline) gets overlapping windows in which each click is a target once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class ColdWindows:
    """Windows over tuning users' clicks (numpy; moved to torch per batch).

    Laid out for `ColdStartRecommender.sequence_outputs(inputs, codes, zero_shot=True)`,
    whose output t has read inputs[:, :t]:
    inputs (W, L): right-padded clicks;
    targets (W, L+1): the click output t must rank first (0 = no target there);
      targets[:, 0] is the user's first click (zero-shot) in the window that starts the user;
    users (W,): user id of each window (for negatives and profile codes).
    """

    inputs: np.ndarray
    targets: np.ndarray
    users: np.ndarray

    def __len__(self) -> int:
        return len(self.users)


def build_windows(
    offsets: np.ndarray,
    items: np.ndarray,
    users: np.ndarray,
    max_len: int,
    k_shot: int | None = None,
    drop_last: int = 0,
    zero_shot: bool = True,
) -> ColdWindows:
    """Windows for `users` over CSR sequences.

    k_shot keeps each user's first k clicks (the protocol's crop for tuning users);
    drop_last hides each user's last clicks (warm users' held-out targets);
    zero_shot=False skips the first-click target (models with no prompt or profile).
    A user longer than max_len gets windows that advance by max_len - 1 so that every
    later window's first slot has history and each click is a target exactly once.
    """
    inputs, targets, owners = [], [], []
    for u in np.asarray(users):
        seq = items[offsets[u] : offsets[u + 1]]
        if drop_last:
            seq = seq[: max(len(seq) - drop_last, 0)]
        if k_shot is not None:
            seq = seq[:k_shot]
        n = len(seq)
        first_new = 0  # first click not yet used as a target
        while first_new < n:
            if first_new == 0:
                lo, end = 0, min(n, max_len)
            else:
                end = min(n, first_new + max_len - 1)
                lo = end - max_len
            row_in = np.zeros(max_len, np.int64)
            row_in[: end - lo] = seq[lo:end]
            row_tg = np.zeros(max_len + 1, np.int64)
            row_tg[: end - lo] = np.where(np.arange(lo, end) >= first_new, seq[lo:end], 0)
            if not zero_shot and lo == 0:
                row_tg[0] = 0
            inputs.append(row_in)
            targets.append(row_tg)
            owners.append(int(u))
            first_new = end
    if not owners:
        return ColdWindows(
            np.zeros((0, max_len), np.int64), np.zeros((0, max_len + 1), np.int64), np.zeros(0, np.int64)
        )
    return ColdWindows(np.stack(inputs), np.stack(targets), np.asarray(owners, np.int64))


class NegativeSampler:
    """Uniform items a user has not clicked (among the clicks the tuner can see)."""

    def __init__(self, offsets: np.ndarray, items: np.ndarray, n_items: int) -> None:
        self.n_items = int(n_items)
        counts = np.diff(offsets)
        owners = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        self._clicked = np.unique(owners * (self.n_items + 1) + items.astype(np.int64))

    def is_clicked(self, users: np.ndarray, cand: np.ndarray) -> np.ndarray:
        keys = users.astype(np.int64) * (self.n_items + 1) + cand.astype(np.int64)
        pos = np.searchsorted(self._clicked, keys)
        pos = np.minimum(pos, max(len(self._clicked) - 1, 0))
        return self._clicked[pos] == keys if len(self._clicked) else np.zeros(keys.shape, bool)

    def sample(self, users: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One negative per entry of `users` (any shape); a few resampling rounds, then accept."""
        users = np.asarray(users)
        neg = rng.integers(1, self.n_items + 1, size=users.shape)
        for _ in range(20):
            bad = self.is_clicked(users, neg)
            if not bad.any():
                break
            neg[bad] = rng.integers(1, self.n_items + 1, size=int(bad.sum()))
        return neg


@dataclass(frozen=True)
class ColdBatch:
    inputs: torch.Tensor  # (B, L)
    targets: torch.Tensor  # (B, L+1), 0 = no target
    negatives: torch.Tensor  # (B, L+1), 0 where no target
    codes: torch.Tensor  # (B, A)


def iterate_batches(
    windows: ColdWindows,
    codes: np.ndarray,
    sampler: NegativeSampler,
    batch_size: int,
    rng: np.random.Generator,
    device: torch.device | str = "cpu",
) -> Iterator[ColdBatch]:
    """One shuffled epoch; fresh negatives for every target position each epoch."""
    order = rng.permutation(len(windows))
    for lo in range(0, len(order), batch_size):
        idx = order[lo : lo + batch_size]
        users = windows.users[idx]
        tg = windows.targets[idx]
        neg = sampler.sample(np.broadcast_to(users[:, None], tg.shape), rng) * (tg > 0)

        def t(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.long, device=device)

        yield ColdBatch(t(windows.inputs[idx]), t(tg), t(neg), t(codes[users]))
