"""The one training loop: warm-training and every tuning method run through `Trainer.fit`.

What differs between methods is the objective (a loss of model and batch) and which
parameters train (those with requires_grad); the windows, negatives and profile codes
come in as data. The loop validates before the first epoch and after each one, keeps the
best state by the monitored validation metric, stops after `patience` epochs without a
better one, and restores the best state at the end. An epoch checkpoint (weights,
optimizer, best state, history, the step count that keys the draws and the batch order's random state) is handed to
`on_checkpoint` after each epoch; passing it back as `resume` continues exactly where the
run stopped, so a resumed run ends as the uninterrupted one would.

The same loop trains data-parallel (`world`, ppr.train.distributed): each process steps on its part of
every global batch, DistributedDataParallel averages the gradients, and rank 0 alone validates, keeps the
best state and hands out checkpoints; its decision to stop reaches every process, so all stop together.
Each process draws its own negatives from the shared stream and its rank, and its dropout and views keyed by
its rank (ppr.models.noise), so a resume with as many processes draws them again.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ppr.errors import InputError
from ppr.models.noise import Draws, step_key, use_draws
from ppr.train.batching import Batch, NegativeSampler, Windows, iterate_batches, step_bounds
from ppr.train.device import autocast
from ppr.train.distributed import ALONE, World

Objective = Callable[[nn.Module, Batch, Draws], torch.Tensor]
Validate = Callable[[], dict[str, float]]
MONITOR = "ndcg@10"  # validation metric that picks the best epoch (higher is better)


class Diverged(InputError):
    """Training produced a non-finite loss: the run fails with the epoch and the value (exit code 2 in the CLI)."""


@dataclass(frozen=True)
class Schedule:
    """The optimisation settings a run's spec resolves to."""

    lr: float
    epochs: int
    patience: int
    batch_size: int
    weight_decay: float = 0.0
    warmup: float = 0.0  # epochs of linear warm-up from 0 to lr
    decay: str = "none"  # "cosine": from lr after the warm-up to 0 at the last epoch
    negatives: int = 1  # sampled negatives per target slot

    def factor(self, step: int, steps_per_epoch: int) -> float:
        """The learning rate's multiplier at optimiser step `step` (0-based)."""
        warm = self.warmup * steps_per_epoch
        if step < warm:
            return (step + 1) / warm
        if self.decay == "none":
            return 1.0
        done = (step - warm) / max(1.0, self.epochs * steps_per_epoch - warm)
        return 0.5 * (1.0 + math.cos(math.pi * min(done, 1.0)))


@dataclass
class Fit:
    """What a fit did: the best epoch (0 = the model as it came in), epochs trained, per-epoch rows."""

    best_epoch: int
    epochs_run: int
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Trainer:
    """Trains the parameters of `model` that require grad on `windows` with `objective`.

    rng draws the window order and negatives; step i's draws (dropout, the objective's random views:
    ppr.models.noise) are keyed by (seed, i, rank). validate() scores the validation users and returns summary
    metrics (rank 0 only, under DDP).
    """

    model: nn.Module
    objective: Objective
    windows: Windows
    sampler: NegativeSampler
    schedule: Schedule
    validate: Validate
    rng: np.random.Generator
    seed: int
    device: torch.device
    codes: np.ndarray | None = None
    world: World = ALONE

    def __post_init__(self) -> None:
        self._epoch_no = 1
        self.steps = 0
        self.model.to(self.device)
        self._check_shares()
        self._loss = self.world.wrap(ObjectiveModule(self.model))  # DDP: gradients averaged in backward
        params = [p for p in self.model.parameters() if p.requires_grad]
        # fused Adam: one kernel per tensor; about 5x faster steps on CPU with a large item table
        self.optimizer = torch.optim.Adam(
            params, lr=self.schedule.lr, weight_decay=self.schedule.weight_decay, fused=True
        )
        per_epoch = len(step_bounds(len(self.windows), self.schedule.batch_size, self.world.size)) - 1
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: self.schedule.factor(step, per_epoch)
        )

    def batches(self, windows: Windows | None = None) -> Any:
        """One shuffled epoch of batches over `windows` (default: all of the run's)."""
        return iterate_batches(
            windows if windows is not None else self.windows,
            self.schedule.batch_size,
            self.rng,
            self.sampler,
            self.device,
            self.codes,
            self.schedule.negatives,
            self.world.rank,
            self.world.size,
        )

    def step(self, batch: Batch) -> float:
        """One optimiser step; returns the batch loss. A non-finite loss stops training (Diverged)."""
        use_draws(self.model, draws := Draws(step_key(self.seed, self.steps, self.world.rank)))
        try:
            with autocast(self.device):
                loss = self._loss(self.objective, batch, draws)
        finally:
            use_draws(self.model, None)
        value = self.world.mean(loss.detach())  # every process sees a divergence at once
        if not math.isfinite(value):
            raise diverged(value, self._epoch_no)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        self.steps += 1
        return value

    def train_epoch(self, windows: Windows | None = None) -> float:
        """Mean loss per window over one epoch."""
        self.model.train()
        total, count = 0.0, 0
        for batch in self.batches(windows):
            total += self.step(batch) * len(batch.users)
            count += len(batch.users)
        return total / max(count, 1)

    def fit(
        self,
        resume: dict[str, Any] | None = None,
        on_epoch: Callable[[dict[str, float]], None] | None = None,
        on_checkpoint: Callable[[dict[str, Any]], None] | None = None,
    ) -> Fit:
        """Train up to schedule.epochs; on_epoch gets each history row (epoch 0 = before training)."""
        t0 = time.perf_counter()
        if self.schedule.epochs == 0:
            return Fit(0, 0)
        if resume is not None:
            state = self._restore(resume)
        else:
            row = {"epoch": 0, "loss": float("nan"), **self._validated()}
            state = {
                "epoch": 0,
                "best": monitored(row),
                "best_epoch": 0,
                "stopped": False,
                "best_state": copy.deepcopy(self.model.state_dict()),
                "history": [row],
            }
            if on_epoch:
                on_epoch(row)
        while not state["stopped"] and state["epoch"] < self.schedule.epochs:
            state = self._epoch(state, on_epoch)
            if on_checkpoint:
                on_checkpoint(self._checkpoint(state))
        self.model.load_state_dict(state["best_state"])
        self.model.eval()
        return Fit(state["best_epoch"], state["epoch"], state["history"], time.perf_counter() - t0)

    def _epoch(self, state: dict[str, Any], on_epoch: Callable[[dict[str, float]], None] | None) -> dict[str, Any]:
        epoch = self._epoch_no = state["epoch"] + 1
        t0 = time.perf_counter()
        loss = self.train_epoch()
        t1 = time.perf_counter()
        val = self._validated()
        row = epoch_row(epoch, loss, t0, t1 - t0, val)
        state = {**state, "epoch": epoch, "history": [*state["history"], row]}
        if on_epoch:
            on_epoch(row)
        if monitored(row) > state["best"]:
            state.update(best=monitored(row), best_epoch=epoch, best_state=copy.deepcopy(self.model.state_dict()))
        state["stopped"] = self.world.from_main(epoch - state["best_epoch"] >= self.schedule.patience)
        return state

    def _validated(self) -> dict[str, float]:
        if not self.world.is_main:
            return {}
        was_training = self.model.training
        self.model.eval()
        try:
            return val_row(self.validate())
        finally:
            self.model.train(was_training)

    def _check_shares(self) -> None:
        """Under DDP, every process needs a window of every global batch."""
        n, size, batch = len(self.windows), self.world.size, self.schedule.batch_size
        if size > 1 and min(n, batch) < size:
            what = f"{n} training windows" if n < size else f"a batch of {batch} windows"
            raise InputError(
                f"{what} cannot be shared by {size} training processes (each needs a window of every batch); "
                f"use fewer processes (at most {min(n, batch)}) or a larger --batch-size."
            )

    def _checkpoint(self, state: dict[str, Any]) -> dict[str, Any]:
        """Everything `resume` needs: loop state, weights, optimizer, the batch order's random state, the step count."""
        return {
            **state,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": self.rng.bit_generator.state,
            "steps": self.steps,
        }

    def _restore(self, ckpt: dict[str, Any]) -> dict[str, Any]:
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        self.rng.bit_generator.state = ckpt["rng"]
        self.steps = int(ckpt["steps"])
        return {
            "epoch": int(ckpt["epoch"]),
            "best": float(ckpt["best"]),
            "best_epoch": int(ckpt["best_epoch"]),
            "stopped": bool(ckpt["stopped"]),
            "best_state": ckpt["best_state"],
            "history": list(ckpt["history"]),
        }


class ObjectiveModule(nn.Module):
    """objective(model, batch, draws) as a module's forward: what DistributedDataParallel wraps (it averages the
    gradients in backward only of what went through its forward) and what functional_call swaps a cell's tensors
    into (ppr.train.grouped)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, objective: Objective, batch: Batch, draws: Draws) -> torch.Tensor:
        return objective(self.model, batch, draws)


def val_row(metrics: dict[str, float]) -> dict[str, float]:
    """Validation metrics as an epoch row names them."""
    return {f"val_{k}": float(v) for k, v in metrics.items()}


def monitored(row: dict[str, float]) -> float:
    """The monitored validation metric; without validation targets, the negated training loss."""
    value = row.get(f"val_{MONITOR}", -row["loss"])
    return value if value == value else float("-inf")  # NaN (epoch 0 has no loss) never wins


def epoch_row(epoch: int, loss: float, t0: float, train_seconds: float, val: dict[str, float]) -> dict[str, float]:
    """An epoch's history row: mean loss, seconds since `t0` (training + validation), training seconds, metrics."""
    return {"epoch": epoch, "loss": loss, "seconds": time.perf_counter() - t0, "train_seconds": train_seconds, **val}


def diverged(value: float, epoch: int) -> Diverged:
    return Diverged(
        f"Training diverged: a batch loss is {value} (in epoch {epoch}); the run stops and gives no result. "
        "Lower the learning rate, or check the data."
    )
