"""The random numbers a training step draws (dropout masks, the prompt and click masks of PPR's views).

Each number is a hash of the step's key, which draw of the step it belongs to (a counter: the same code draws
in the same order) and its coordinates in the tensor (with fixed strides, not the tensor's sizes). So a cell
computes the same numbers whether it trains alone or stacked with other cells under `torch.func.vmap`
(ppr.train.grouped: batches padded to a common shape, a leading cell axis, a batched key), and the same on
CPU and CUDA. A stream generator (numpy's, torch's) would hand each cell of a group other numbers than it
draws alone. The hash is splitmix64's finaliser, in wrapping int64 arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

_GOLDEN = -7046029254386353131  # 0x9E3779B97F4A7C15 as a signed int64
_M1 = -4658895280553007687  # 0xBF58476D1CE4E5B9
_M2 = -7723592293110705685  # 0x94D049BB133111EB
_STRIDE = 4099  # coordinate stride per dimension: a position's number does not depend on the tensor's size
_MASK64 = (1 << 64) - 1


def _shr(z: torch.Tensor, bits: int) -> torch.Tensor:
    """Logical right shift of int64 values (torch's >> keeps the sign)."""
    return (z >> bits) & ((1 << (64 - bits)) - 1)


def mix(z: torch.Tensor) -> torch.Tensor:
    """splitmix64's finaliser: a bijection of int64 that spreads every input bit over the output."""
    z = (z ^ _shr(z, 30)) * _M1
    z = (z ^ _shr(z, 27)) * _M2
    return z ^ _shr(z, 31)


def _signed(value: int) -> int:
    value &= _MASK64
    return value - (1 << 64) if value >= 1 << 63 else value


def step_key(seed: int, step: int, stream: int = 0) -> torch.Tensor:
    """The key of training step `step` (0-based) of a run seeded `seed`: an int64 scalar tensor. stream: a
    process's own draws under data parallelism (its rank)."""
    key = mix(torch.tensor(_signed(int(seed) * 0x100000001B3 + int(step) * -_GOLDEN), dtype=torch.long))
    return mix(key + _signed(int(stream) * _GOLDEN)) if stream else key


class Draws:
    """One training step's random numbers, handed out in call order (see the module docstring)."""

    def __init__(self, key: torch.Tensor) -> None:
        self.key = key
        self.calls = 0

    @classmethod
    def seeded(cls, seed: int, step: int = 0) -> Draws:
        return cls(step_key(seed, step))

    def _hashes(self, shape: Sequence[int], device: torch.device | str) -> torch.Tensor:
        self.calls += 1
        key = mix(self.key.to(device) + _signed(self.calls * _GOLDEN))
        coords = torch.zeros((), dtype=torch.long, device=device)
        for i, n in enumerate(shape):
            axis = torch.arange(n, device=device).view(*([1] * i), n, *([1] * (len(shape) - i - 1)))
            coords = coords * _STRIDE + axis
        return mix(coords ^ key)

    def bytes(self, shape: Sequence[int], device: torch.device | str) -> torch.Tensor:
        """uint8 values uniform in 0..255; one hash gives the 8 bytes of 8 neighbours along the last axis."""
        *lead, last = shape
        h = self._hashes([*lead, -(-last // 8)], device).contiguous()
        return h.view(torch.uint8)[..., :last]

    def uniform(self, shape: Sequence[int], device: torch.device | str) -> torch.Tensor:
        """float32 values uniform in [0, 1) on a 2^-24 grid."""
        return _shr(self._hashes(shape, device), 40).to(torch.float32) * 2.0**-24

    def generator(self) -> torch.Generator:
        """A torch generator seeded by the next draw, for code that draws row by row (outside a cell group)."""
        self.calls += 1
        return torch.Generator().manual_seed(int(mix(self.key.cpu() + _signed(self.calls * _GOLDEN))) & (_MASK64 >> 1))


class Drawing(nn.Module):
    """A module that draws random numbers in training: `use_draws` hands it the step's Draws."""

    draws: Draws | None = None


def use_draws(model: nn.Module, draws: Draws | None) -> None:
    """Hand one step's draws to every module of `model` that draws (None: they fall back to torch's RNG)."""
    for m in model.modules():
        if isinstance(m, Drawing):
            m.draws = draws
