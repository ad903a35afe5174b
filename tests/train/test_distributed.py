"""Who a training process is: alone unless torchrun says otherwise, and what alone means for the collectives.
(Training in 2 gloo processes, as a user starts it: tests/cli/test_train_cli.py.)"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ppr.train.distributed import ALONE, World, joined, launched


def test_alone_unless_torchrun_set_the_world(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert launched() == 1
    with joined("cpu") as world:
        assert world == ALONE and world.is_main
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert launched() == 4


def test_alone_every_collective_is_the_process_own_value() -> None:
    module = nn.Linear(2, 1)
    assert ALONE.wrap(module) is module
    assert ALONE.from_main(True) and not ALONE.from_main(False)
    assert ALONE.mean(torch.tensor(2.5)) == 2.5
    assert ALONE.place(torch.device("cpu")) == torch.device("cpu")


def test_one_gpu_per_local_rank() -> None:
    world = World(rank=5, size=8, local_rank=1)
    assert not world.is_main
    assert world.place(torch.device("cuda")) == torch.device("cuda", 1)
    assert world.place(torch.device("cpu")) == torch.device("cpu")
