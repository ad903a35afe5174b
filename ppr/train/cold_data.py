"""Training batches for cold-start tuning: every click of every tuning user is a target.

A tuning user with clicks s_0..s_{n-1} (after the k-shot crop: the first k clicks)
gives n BPR targets: s_0 predicted from the profile/prompt alone (the zero-shot
slot, which is what teaches the prompt) and s_t predicted from s_0..s_{t-1}.
Windows, negatives and batching are ppr.train.batching's (shared with warm
training); this module picks the users and clicks the protocol allows and attaches
each window's profile codes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ppr.train.batching import Batch, NegativeSampler, Windows, build_windows, iterate_batches

ROLE_WARM, ROLE_TUNE = 0, 1  # ppr.data.splits role codes


@dataclass(frozen=True)
class ColdBatch:
    """`batch.tokens[:, t]` is the target of output t of sequence_outputs(inputs, codes, zero_shot=True)."""

    batch: Batch
    codes: torch.Tensor  # (B, A)


def tuning_windows(
    split: Any, max_len: int, k_shot: int | None, zero_shot: bool = True, with_warm: bool = False
) -> Windows:
    """Windows over the tuning users' first k clicks (k None = all).

    with_warm adds the warm users' clicks minus their two held-out targets
    (warm_val, warm_test), for the `sasrec` baseline trained from scratch; their
    windows never train a zero-shot slot.
    """
    lengths = np.diff(split.offsets)
    tune = np.flatnonzero(split.roles == ROLE_TUNE)
    n = lengths[tune] if k_shot is None else np.minimum(lengths[tune], k_shot)
    win = build_windows(split.offsets, split.items, tune, max_len, n, zero_shot=zero_shot)
    if not with_warm:
        return win
    warm = np.flatnonzero(split.roles == ROLE_WARM)
    w = build_windows(split.offsets, split.items, warm, max_len, np.maximum(lengths[warm] - 2, 0), zero_shot=zero_shot)
    return Windows(
        np.concatenate([w.tokens, win.tokens]),
        np.concatenate([w.users, win.users]),
        np.concatenate([np.zeros(len(w), bool), win.starts_at_zero]),
        zero_shot,
    )


def iterate_cold_batches(
    windows: Windows,
    codes: np.ndarray,
    sampler: NegativeSampler,
    batch_size: int,
    rng: np.random.Generator,
    device: torch.device | str = "cpu",
) -> Iterator[ColdBatch]:
    """One shuffled epoch with fresh negatives; codes (n_users, A) as the method sees them."""
    codes_t = torch.as_tensor(np.ascontiguousarray(codes), dtype=torch.long)
    for b in iterate_batches(windows, batch_size, rng, sampler, device):
        yield ColdBatch(b, codes_t[b.users.cpu()].to(device))
