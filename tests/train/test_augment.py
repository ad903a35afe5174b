"""The behaviour view of PPR's contrastive loss: clicks masked in place, positions and lengths kept."""

from __future__ import annotations

import pytest
import torch

from ppr.models.noise import Draws
from ppr.train.augment import augment_sequences, mask_clicks

SEQ = torch.tensor(
    [[5, 6, 7, 8, 9, 10, 11, 12, 13, 14], [3, 0, 0, 0, 0, 0, 0, 0, 0, 0], [4, 7, 0, 0, 0, 0, 0, 0, 0, 0], [0] * 10]
)


def test_mask_clicks_masks_in_place_at_least_one_click_and_keeps_positions() -> None:
    out = mask_clicks(SEQ, 0.2, Draws.seeded(0))
    assert out.shape == SEQ.shape and out.dtype == SEQ.dtype
    masked = (SEQ != 0) & (out == 0)
    assert masked.sum(1).tolist() == [2, 1, 1, 0]  # floor(0.2*10)=2; short rows still lose one click
    kept = out != 0
    assert torch.equal(out[kept], SEQ[kept])  # every other click stays where it was
    assert (out[:, :][SEQ == 0] == 0).all()  # padding stays padding
    # the last real position of each row is where it was: the length is unchanged (a masked last click is a hole)
    assert ((SEQ != 0) | masked).sum(1).tolist() == (SEQ != 0).sum(1).tolist()


def test_mask_clicks_ratio_sets_the_share_masked() -> None:
    seq = torch.arange(1, 41).reshape(2, 20)
    for ratio, n_masked in ((0.0, 1), (0.5, 10), (0.95, 19)):
        out = mask_clicks(seq, ratio, Draws.seeded(1))
        assert (out == 0).sum(1).tolist() == [n_masked, n_masked]
        assert torch.equal(out[out != 0], seq[out != 0])
    with pytest.raises(ValueError, match="ratio"):
        mask_clicks(seq, 1.0, Draws.seeded(0))
    with pytest.raises(ValueError, match="ratio"):
        mask_clicks(seq, -0.1, Draws.seeded(0))


def test_mask_clicks_draws_from_the_step_draws_only_and_padding_changes_nothing() -> None:
    seq = torch.arange(1, 101).reshape(2, 50)
    a = mask_clicks(seq, 0.3, Draws.seeded(5))
    torch.manual_seed(123)  # the global RNG plays no part
    b = mask_clicks(seq, 0.3, Draws.seeded(5))
    c = mask_clicks(seq, 0.3, Draws.seeded(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    padded = torch.cat([torch.cat([seq, torch.zeros(2, 7, dtype=seq.dtype)], 1), torch.zeros(3, 57, dtype=seq.dtype)])
    assert torch.equal(mask_clicks(padded, 0.3, Draws.seeded(5))[:2, :50], a)  # a cell's rows in a padded group batch


def test_cl4srec_views_crop_mask_or_reorder_each_row() -> None:
    """Crop keeps a contiguous run at the front; mask keeps length and positions; reorder permutes a run."""
    seq = torch.tensor([list(range(1, 11))] * 60 + [[0] * 10])
    view, lengths = augment_sequences(seq, torch.Generator().manual_seed(0))
    assert view.shape == seq.shape and lengths[-1] == 0 and (view[-1] == 0).all()
    kinds = set()
    for row, n in zip(view[:-1].tolist(), lengths[:-1].tolist(), strict=True):
        clicks = row[:n]
        assert all(x == 0 for x in row[n:])  # right-padded to the same width
        if n == 6:  # ceil(0.6 * 10): a crop of consecutive clicks
            assert clicks == list(range(clicks[0], clicks[0] + 6))
            kinds.add("crop")
        elif 0 in clicks:  # floor(0.3 * 10) clicks hidden where they stood
            assert n == 10 and clicks.count(0) == 3 and all(c in (0, i + 1) for i, c in enumerate(clicks))
            kinds.add("mask")
        else:
            assert n == 10 and sorted(clicks) == list(range(1, 11)) and clicks != list(range(1, 11))
            moved = [i for i, c in enumerate(clicks) if c != i + 1]
            assert max(moved) - min(moved) < 6  # ceil(0.6 * 10) consecutive positions shuffled
            kinds.add("reorder")
    assert kinds == {"crop", "mask", "reorder"}
    again, _ = augment_sequences(seq, torch.Generator().manual_seed(0))
    assert torch.equal(view, again)  # seeded
