"""Training draws: a hash of (key, draw, coordinates), so padding, grouping under vmap and the device change nothing."""

from __future__ import annotations

import torch
from torch.func import vmap

from ppr.models.noise import Draws, step_key


def test_draws_are_fixed_by_key_and_call_and_look_uniform() -> None:
    a, b, c = Draws.seeded(1), Draws.seeded(1), Draws.seeded(2)
    first = a.uniform([200, 50], "cpu")
    assert torch.equal(first, b.uniform([200, 50], "cpu"))
    assert not torch.equal(first, c.uniform([200, 50], "cpu"))
    assert not torch.equal(first, a.uniform([200, 50], "cpu"))  # the next draw of the step differs
    assert float(first.min()) >= 0.0 and float(first.max()) < 1.0
    assert abs(float(first.mean()) - 0.5) < 0.01 and abs(float(first.std()) - 12**-0.5) < 0.01
    bytes_ = Draws.seeded(5).bytes([64, 30, 64], "cpu").float()
    assert bytes_.dtype == torch.float32 and abs(float(bytes_.mean()) - 127.5) < 1.0
    pairs = torch.stack([bytes_[..., :-1].flatten(), bytes_[..., 1:].flatten()])
    assert abs(float(torch.corrcoef(pairs)[0, 1])) < 0.02  # neighbours that share a hash are independent
    assert not torch.equal(step_key(0, 1), step_key(1, 0))


def test_a_coordinate_draws_the_same_in_a_padded_tensor() -> None:
    small = Draws.seeded(7).bytes([3, 5, 10], "cpu")
    padded = Draws.seeded(7).bytes([4, 7, 17], "cpu")
    assert torch.equal(padded[:3, :5, :10], small)
    assert torch.equal(Draws.seeded(7).uniform([6, 9], "cpu")[:2, :4], Draws.seeded(7).uniform([2, 4], "cpu"))


def test_cells_under_vmap_draw_what_each_draws_alone() -> None:
    keys = torch.stack([step_key(s, 3) for s in (0, 1, 2)])

    def draw(key: torch.Tensor) -> torch.Tensor:
        d = Draws(key)
        d.uniform([4, 6], "cpu")  # a first draw, then the one compared
        return d.bytes([4, 6, 9], "cpu")

    together = vmap(draw)(keys)
    for i, key in enumerate(keys):
        assert torch.equal(together[i], draw(key))
