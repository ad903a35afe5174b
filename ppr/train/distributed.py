"""Data-parallel training across processes (torchrun, DistributedDataParallel): who this process is, and the few
collectives the one training loop needs.

A process started by torchrun (or `python -m ppr warm ... --ddp N`, which starts torchrun) finds WORLD_SIZE,
RANK and LOCAL_RANK in its environment; `joined` makes the process group (gloo on CPU, nccl on CUDA, one GPU per
local rank) and hands back the `World` the trainer shares batches with. Outside torchrun the world is this
process alone and nothing here talks to anyone.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ppr.errors import InputError
from ppr.train.device import pick_device, set_cpu_threads


@dataclass(frozen=True)
class World:
    """This process's rank among `size` training processes (size 1: training alone)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0 validates, decides when to stop and writes the run folder."""
        return self.rank == 0

    def place(self, device: torch.device) -> torch.device:
        """The device of this process: on CUDA, one GPU per local rank."""
        return torch.device("cuda", self.local_rank) if device.type == "cuda" and self.size > 1 else device

    def wrap(self, module: nn.Module) -> nn.Module:
        """`module` whose gradients are averaged over the processes in backward (as is, alone). Every trained
        parameter must take part in each step's loss (true of every warm objective): no search for unused ones."""
        if self.size == 1:
            return module
        return DistributedDataParallel(module)

    def from_main(self, value: bool) -> bool:
        """Rank 0's `value` on every process (a decision only rank 0 can make, e.g. to stop)."""
        if self.size == 1:
            return value
        flag = torch.tensor([int(value)], device=self._device())
        dist.broadcast(flag, src=0)
        return bool(flag.item())

    def mean(self, value: torch.Tensor) -> float:
        """The mean of a scalar over the processes."""
        if self.size == 1:
            return float(value)
        total = value.detach().float().reshape(1).to(self._device())
        dist.all_reduce(total)
        return float(total) / self.size

    def _device(self) -> torch.device:
        return torch.device("cuda", self.local_rank) if dist.get_backend() == "nccl" else torch.device("cpu")


ALONE = World()


def launched() -> int:
    """How many processes torchrun started this one among (1: not started by torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


@contextlib.contextmanager
def joined(device: str) -> Iterator[World]:
    """The process group of a torchrun start for the block (gloo on CPU, nccl on CUDA); alone, ALONE."""
    size = launched()
    if size == 1:
        yield ALONE
        return
    world = World(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0")))
    dev = pick_device(device)
    if dev.type == "cuda":
        if torch.cuda.device_count() < int(os.environ.get("LOCAL_WORLD_SIZE", size)):
            raise InputError(
                f"{os.environ.get('LOCAL_WORLD_SIZE', size)} training processes on this machine need one GPU each; "
                f"it has {torch.cuda.device_count()}. Start fewer processes, or use --device cpu."
            )
        torch.cuda.set_device(world.local_rank)
    else:  # the cores shared out, unless PPR_THREADS says otherwise
        local = int(os.environ.get("LOCAL_WORLD_SIZE", size))
        set_cpu_threads(int(os.environ.get("PPR_THREADS", "0")) or max(1, (os.cpu_count() or 1) // local))
    dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    try:
        yield world
    finally:
        dist.destroy_process_group()
