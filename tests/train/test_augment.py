"""The behaviour view of PPR's contrastive loss: clicks removed, the rest kept in order and right-padded."""

from __future__ import annotations

import pytest
import torch

from ppr.train.augment import mask_behavior

SEQ = torch.tensor(
    [[5, 6, 7, 8, 9, 10, 11, 12, 13, 14], [3, 0, 0, 0, 0, 0, 0, 0, 0, 0], [4, 7, 0, 0, 0, 0, 0, 0, 0, 0], [0] * 10]
)


def test_mask_behavior_removes_at_least_one_click_and_keeps_order() -> None:
    out = mask_behavior(SEQ, 0.2, torch.Generator().manual_seed(0))
    assert out.shape == SEQ.shape and out.dtype == SEQ.dtype
    n_before, n_after = (SEQ != 0).sum(1), (out != 0).sum(1)
    assert n_after.tolist() == [8, 0, 1, 0]  # floor(0.2*10)=2; short rows still lose one click
    assert (n_after < n_before)[:3].all()
    kept = out[0][out[0] != 0].tolist()
    assert kept == sorted(kept) and set(kept) < set(SEQ[0].tolist())  # order kept, subset of the clicks
    assert (out[0, 8:] == 0).all()  # still right-padded
    assert out[2, 0].item() in (4, 7) and (out[2, 1:] == 0).all()


def test_mask_behavior_ratio_sets_the_share_removed() -> None:
    seq = torch.arange(1, 41).reshape(2, 20)
    for ratio, kept in ((0.0, 19), (0.5, 10), (0.95, 1)):
        out = mask_behavior(seq, ratio, torch.Generator().manual_seed(1))
        assert (out != 0).sum(1).tolist() == [kept, kept]
        for row, src in zip(out, seq, strict=True):
            real = row[row != 0]
            assert set(real.tolist()) <= set(src.tolist()) and torch.all(real[1:] > real[:-1])
    with pytest.raises(ValueError, match="ratio"):
        mask_behavior(seq, 1.0)
    with pytest.raises(ValueError, match="ratio"):
        mask_behavior(seq, -0.1)


def test_mask_behavior_draws_from_the_generator_only() -> None:
    seq = torch.arange(1, 101).reshape(2, 50)
    a = mask_behavior(seq, 0.3, torch.Generator().manual_seed(5))
    torch.manual_seed(123)  # the global RNG plays no part
    b = mask_behavior(seq, 0.3, torch.Generator().manual_seed(5))
    c = mask_behavior(seq, 0.3, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
