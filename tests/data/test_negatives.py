"""Sampled candidates drawn from one domain's items (the cross-domain split's pool)."""

from __future__ import annotations

import numpy as np
import pytest

from ppr.data.negatives import check_negatives, sample_negatives
from ppr.errors import InputError


def test_negatives_of_a_pool_are_its_unclicked_items_only() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 30, 200)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    items = rng.integers(1, 301, offsets[-1]).astype(np.int32)
    pool = np.zeros(301, dtype=bool)
    pool[1:151] = True
    rows = rng.integers(0, 200, 500)
    neg = sample_negatives(offsets, items, 300, rows, 20, seed=4, pool=pool)
    assert neg.shape == (500, 20) and neg.dtype == np.int32 and pool[neg].all()
    for row, user in enumerate(rows):
        assert len(set(neg[row])) == 20 and not set(neg[row]) & set(items[offsets[user] : offsets[user + 1]])
    assert np.array_equal(neg, sample_negatives(offsets, items, 300, rows, 20, seed=4, pool=pool))
    assert len(np.unique(neg)) > 140  # the whole pool is drawn from


def test_a_small_pool_is_checked_like_a_small_catalogue() -> None:
    offsets, items = np.array([0, 3]), np.array([1, 2, 9], dtype=np.int32)
    pool = np.zeros(11, dtype=bool)
    pool[[1, 2, 3, 4]] = True  # user 0 clicked two of its four items
    check_negatives(offsets, items, 10, np.array([0]), 2, pool=pool)
    with pytest.raises(InputError, match="clicked 2 of the 4 items, leaving only 2"):
        check_negatives(offsets, items, 10, np.array([0]), 3, pool=pool)
    assert set(sample_negatives(offsets, items, 10, np.array([0]), 2, seed=0, pool=pool)[0]) == {3, 4}
