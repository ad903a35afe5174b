"""Many tuning cells trained at once: one model with a leading cell axis.

Cells of one method and one set of training settings (a sweep's k-shots x noise rates x seeds x folds) train
together in one process. The parameters they train are stacked along a cell axis, and one
`torch.func.vmap`-ed gradient per step covers every cell's batch, padded to a common shape. Each cell keeps
its own windows, batch order, negatives, Adam state, validation and early stopping. Parameters no cell
trains and every cell holds alike (PPR-light's frozen backbone of one warm run) are not copied.

A cell computes what `ppr.train.trainer.Trainer` computes for it alone:
- the same batches, drawn from its own generator;
- the same random draws, keyed by its seed and step (ppr.models.noise), so padding changes nothing;
- Adam's update with the same formulas.
tests/train/test_grouped.py checks equality up to float tolerance. A group keeps no epoch checkpoint: an
interrupted group is computed again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad_and_value, vmap
from torch.nn.attention import SDPBackend, sdpa_kernel

from ppr.models.noise import Draws, step_key, use_draws
from ppr.models.profile import AttributeEmbedding
from ppr.train.batching import Batch, NegativeSampler, Windows, iterate_batches
from ppr.train.device import autocast
from ppr.train.trainer import (
    Diverged,
    Fit,
    Objective,
    ObjectiveModule,
    Schedule,
    Validate,
    diverged,
    epoch_row,
    monitored,
    val_row,
)

BETAS, EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults, which Trainer uses


@dataclass
class Cell:
    """One run of the group: its model (trainable parts set as Trainer would train them) and its own data."""

    model: nn.Module
    windows: Windows
    sampler: NegativeSampler
    validate: Validate
    rng: np.random.Generator
    seed: int
    codes: np.ndarray | None = None


@dataclass(frozen=True)
class Stacked:
    """Some cells' models as one: `apply(fn, inputs)` is fn(model, one cell's inputs, None) for each cell, in one
    vmap over the cells' parameters (an objective's signature, so ObjectiveModule carries it)."""

    template: nn.Module
    tensors: dict[str, torch.Tensor]
    dims: dict[str, int | None]

    def apply(self, fn: Callable[[nn.Module, dict[str, torch.Tensor], None], torch.Tensor], inputs: dict) -> Any:
        def one(tensors: dict[str, torch.Tensor], x: dict[str, torch.Tensor]) -> torch.Tensor:
            return _call(self.template, tensors, fn, x, None)

        # CPU's fused attention has no vmap rule (torch falls back to a loop over the cells); the math one has
        with sdpa_kernel([SDPBackend.MATH]):
            return vmap(one, in_dims=(self.dims, 0), randomness="error")(self.tensors, inputs)


# scores the cells `idx` of a Stacked in one go: per cell, its validation metrics or the error that stopped it
ValidateCells = Callable[[Stacked, list[int]], list[dict[str, float] | Exception]]


@dataclass
class _State:
    """A cell's place in the loop (Trainer.fit's state, per cell)."""

    history: list[dict[str, float]]
    best: float
    best_flat: torch.Tensor  # the cell's trained numbers at its best epoch (a row of GroupTrainer.flat)
    epoch: int = 0
    best_epoch: int = 0
    steps: int = 0
    stopped: bool = False
    error: Exception | None = None
    batches: Iterator[Batch] | None = None
    loss_sum: float = 0.0
    count: int = 0
    t0: float = 0.0


@dataclass
class GroupTrainer:
    """Trains `cells` together with one objective and schedule; see the module docstring."""

    cells: list[Cell]
    objective: Objective
    schedule: Schedule
    device: torch.device
    on_epoch: Callable[[int, dict[str, float]], None] | None = None
    validate_cells: ValidateCells | None = None  # the cells' validation in one vmap; None: each cell's validate()
    _states: list[_State] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        for cell in self.cells:
            cell.model.to(self.device)
            _check_codes(cell)
        self.template = self.cells[0].model
        names = [n for n, p in self.template.named_parameters() if p.requires_grad]
        for cell in self.cells[1:]:
            if [n for n, p in cell.model.named_parameters() if p.requires_grad] != names:
                raise ValueError("The cells of a group must train the same parameters (one method, one model shape).")
        # every cell's trained parameters in one (cells, numbers) buffer: Adam is a few ops on it, and each
        # parameter is a (cells, *shape) view of it
        self.flat = torch.cat(
            [torch.stack([c.model.get_parameter(n).detach().reshape(-1) for c in self.cells]) for n in names], 1
        )
        self.shapes = {n: self.template.get_parameter(n).shape for n in names}
        self.trained = _views(self.flat, self.shapes)
        self.moments = (torch.zeros_like(self.flat), torch.zeros_like(self.flat))
        self.fixed, self.fixed_dims = _fixed_tensors(self.cells, set(names))
        self.loss = vmap(grad_and_value(self._cell_loss), in_dims=(0, self.fixed_dims, 0, 0), randomness="error")

    def fit(self) -> list[Fit | Exception]:
        """Train every cell to its own early stop; each cell's model ends in its best state (eval mode)."""
        t0 = time.perf_counter()
        if self.schedule.epochs == 0:
            return [Fit(0, 0) for _ in self.cells]
        self._start()
        while any(not s.stopped for s in self._states):
            self._epoch()
        fits: list[Fit | Exception] = []
        for i, (cell, state) in enumerate(zip(self.cells, self._states, strict=True)):
            self._load(i, state.best_flat)
            cell.model.eval()
            fits.append(state.error or Fit(state.best_epoch, state.epoch, state.history, time.perf_counter() - t0))
        return fits

    # ---- the loop

    def _start(self) -> None:
        self._states = [_State([], float("-inf"), self.flat[i].clone()) for i in range(len(self.cells))]
        for i, val in self._validate(list(range(len(self.cells)))).items():
            s = self._states[i]
            if isinstance(val, Exception):  # the cell fails, the others go on
                s.error, s.stopped = val, True
                continue
            row = {"epoch": 0, "loss": float("nan"), **val}
            s.history.append(row)
            s.best = monitored(row)
            self._emit(i, row)

    def _epoch(self) -> None:
        """One epoch of every cell still training: rounds of one batch per cell until each has run out, then
        every cell's validation at once."""
        live = [i for i, s in enumerate(self._states) if not s.stopped]
        for i in live:
            s = self._states[i]
            s.epoch, s.loss_sum, s.count, s.t0 = s.epoch + 1, 0.0, 0, time.perf_counter()
            s.batches = self._batches(i)
        running = list(live)
        while running:
            batches = {i: next(self._states[i].batches, None) for i in running}
            running = [i for i in running if batches[i] is not None]
            if running:
                self._step(running, [batches[i] for i in running])
        ended = [i for i in live if self._states[i].error is None]
        train_s = {i: time.perf_counter() - self._states[i].t0 for i in ended}
        for i, val in self._validate(ended).items():
            self._end_epoch(i, val, train_s[i])

    def _batches(self, i: int) -> Iterator[Batch]:
        c = self.cells[i]
        s = self.schedule
        return iterate_batches(c.windows, s.batch_size, c.rng, c.sampler, self.device, c.codes, s.negatives)

    def _selected(self, idx: list[int]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """The trained and fixed tensors of the cells `idx` (cell axis first where the cells differ)."""
        if len(idx) == len(self.cells):
            return self.trained, self.fixed
        rows = torch.tensor(idx, device=self.device)
        trained = _views(self.flat.index_select(0, rows), self.shapes)
        return trained, {n: (t.index_select(0, rows) if d == 0 else t) for n, (t, d) in self._fixed_items()}

    def _step(self, idx: list[int], batches: list[Batch]) -> None:
        """One optimiser step of the cells `idx`, each on its batch."""
        trained, fixed = self._selected(idx)
        keys = torch.stack([step_key(self.cells[i].seed, self._states[i].steps) for i in idx]).to(self.device)
        self.template.train()
        with autocast(self.device):
            grads, losses = self.loss(trained, fixed, keys, _stacked(batches))
        values = losses.detach().float().cpu().tolist()
        ok = []
        for j, (i, value, batch) in enumerate(zip(idx, values, batches, strict=True)):
            s = self._states[i]
            if not math.isfinite(value):
                s.error, s.stopped = diverged(value, s.epoch), True
                continue
            s.loss_sum += value * len(batch.users)
            s.count += len(batch.users)
            ok.append(j)
        flat = torch.cat([grads[n].reshape(len(idx), -1) for n in self.shapes], 1)
        self._adam([idx[j] for j in ok], flat if len(ok) == len(idx) else flat[ok])

    def _adam(self, idx: list[int], grad: torch.Tensor) -> None:
        """torch.optim.Adam's update (L2 weight decay, bias correction) of the cells `idx` (rows of the flat
        gradient `grad`), each at its own step and learning rate."""
        if not idx:
            return
        b1, b2 = BETAS
        steps = []
        for i in idx:
            s = self._states[i]
            per_epoch = -(-len(self.cells[i].windows) // self.schedule.batch_size)
            steps.append((self.schedule.lr * self.schedule.factor(s.steps, per_epoch), s.steps + 1))
            s.steps += 1
        lr = torch.tensor([a for a, _ in steps], dtype=torch.float64)
        t = torch.tensor([b for _, b in steps], dtype=torch.float64)
        size = (lr / (1 - b1**t)).float().to(self.device).unsqueeze(1)
        root = (1 - b2**t).sqrt().float().to(self.device).unsqueeze(1)
        every = len(idx) == len(self.cells)
        rows = torch.tensor(idx, device=self.device)
        p = self.flat if every else self.flat.index_select(0, rows)
        m, v = self.moments if every else (x.index_select(0, rows) for x in self.moments)
        g = grad.to(p.dtype)
        if self.schedule.weight_decay:
            g = g + self.schedule.weight_decay * p
        m.lerp_(g, 1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        p.sub_(size * m / (v.sqrt() / root + EPS))
        if not every:
            for full, part in zip((self.flat, *self.moments), (p, m, v), strict=True):
                full.index_copy_(0, rows, part)

    def _end_epoch(self, i: int, val: dict[str, float] | Exception, train_s: float) -> None:
        s = self._states[i]
        if isinstance(val, Exception):
            s.error, s.stopped = val, True
            return
        row = epoch_row(s.epoch, s.loss_sum / max(s.count, 1), s.t0, train_s, val)
        s.history.append(row)
        self._emit(i, row)
        score = monitored(row)
        if score > s.best:
            s.best, s.best_epoch, s.best_flat = score, s.epoch, self.flat[i].clone()
        s.stopped = s.epoch - s.best_epoch >= self.schedule.patience or s.epoch >= self.schedule.epochs

    def _validate(self, idx: list[int]) -> dict[int, dict[str, float] | Exception]:
        """The validation metrics (val_ prefixed) of the cells `idx`, or the Diverged error that stops one."""
        if not idx:
            return {}
        if self.validate_cells is None:
            return {i: self._validated_alone(i) for i in idx}
        trained, fixed = self._selected(idx)
        dims = {**self.fixed_dims, **dict.fromkeys(trained, 0)}
        self.template.eval()
        try:
            with torch.no_grad():
                got = self.validate_cells(Stacked(self.template, {**fixed, **trained}, dims), idx)
        finally:
            self.template.train()
        return {i: v if isinstance(v, Exception) else val_row(v) for i, v in zip(idx, got, strict=True)}

    def _validated_alone(self, i: int) -> dict[str, float] | Exception:
        """The cell's validation on its own model, holding its slice of the stacked parameters."""
        self._load(i, self.flat[i])
        model = self.cells[i].model
        model.eval()
        try:
            return val_row(self.cells[i].validate())
        except Diverged as exc:
            return exc
        finally:
            model.train()

    def _load(self, i: int, row: torch.Tensor) -> None:
        """Cell i's model takes the trained numbers of `row` (a row of the flat buffer)."""
        with torch.no_grad():
            for n, p in _views(row[None], self.shapes).items():
                self.cells[i].model.get_parameter(n).copy_(p[0])

    def _emit(self, i: int, row: dict[str, float]) -> None:
        if self.on_epoch:
            self.on_epoch(i, row)

    # ---- one cell's loss, vmapped over the cells

    def _fixed_items(self) -> Iterator[tuple[str, tuple[torch.Tensor, int | None]]]:
        for n, t in self.fixed.items():
            yield n, (t, self.fixed_dims[n])

    def _cell_loss(
        self, trained: dict[str, torch.Tensor], fixed: dict[str, torch.Tensor], key: torch.Tensor, batch: dict
    ) -> torch.Tensor:
        use_draws(self.template, draws := Draws(key))
        try:
            step = Batch(**batch, per_window=self.schedule.negatives > 1)
            return _call(self.template, {**fixed, **trained}, self.objective, step, draws)
        finally:
            use_draws(self.template, None)


def _call(
    model: nn.Module, tensors: dict[str, torch.Tensor], objective: Objective, batch: Any, draws: Draws | None
) -> Any:
    """objective(model, batch, draws) with `tensors` standing in for the model's parameters and buffers."""
    wrapped = ObjectiveModule(model)
    return functional_call(wrapped, {f"model.{n}": t for n, t in tensors.items()}, (objective, batch, draws))


def _views(flat: torch.Tensor, shapes: dict[str, torch.Size]) -> dict[str, torch.Tensor]:
    """Each parameter as a (cells, *shape) view of the (cells, numbers) buffer, in order."""
    out, at = {}, 0
    for name, shape in shapes.items():
        n = shape.numel()
        out[name] = flat[:, at : at + n].view(len(flat), *shape)
        at += n
    return out


def _fixed_tensors(cells: list[Cell], trained: set[str]) -> tuple[dict[str, torch.Tensor], dict[str, int | None]]:
    """Parameters nobody trains and buffers: one tensor when every cell holds the same, else stacked."""
    tensors: dict[str, torch.Tensor] = {}
    dims: dict[str, int | None] = {}
    held = [dict(c.model.named_parameters()) | dict(c.model.named_buffers()) for c in cells]
    for name, t in held[0].items():
        if name in trained:
            continue
        others = [h[name] for h in held[1:]]
        if all(torch.equal(t, o) for o in others):
            tensors[name], dims[name] = t.detach(), None
        else:
            tensors[name], dims[name] = torch.stack([t.detach(), *(o.detach() for o in others)]), 0
    return tensors, dims


def _stacked(batches: list[Batch]) -> dict[str, Any]:
    """The cells' batches padded to one shape (padding: item 0, no target slot, code 0) and stacked."""
    b = max(len(x.users) for x in batches)
    m = max(x.tokens.shape[1] for x in batches)

    def pad(t: torch.Tensor, width: int | None) -> torch.Tensor:
        """Rows padded to b; with a width, columns padded to it too."""
        if width is None:
            out = t.new_zeros((b, *t.shape[1:]))
            out[: len(t)] = t
        else:
            out = t.new_zeros((b, width))
            out[: len(t), : t.shape[1]] = t
        return out

    per_window = batches[0].per_window
    return {
        "tokens": torch.stack([pad(x.tokens, m) for x in batches]),
        "negatives": torch.stack([pad(x.negatives, None if per_window else m) for x in batches]),
        "target_mask": torch.stack([pad(x.target_mask, m) for x in batches]),
        "users": torch.stack([pad(x.users, None) for x in batches]),
        "codes": None if batches[0].codes is None else torch.stack([pad(x.codes, None) for x in batches]),
        "rows": torch.stack([pad(torch.ones_like(x.users, dtype=torch.bool), None) for x in batches]),
    }


def _check_codes(cell: Cell) -> None:
    """The profile-code check a model does on each call, done once per cell (it cannot run under vmap)."""
    if cell.codes is None:
        return
    codes = torch.as_tensor(np.ascontiguousarray(cell.codes), dtype=torch.long)
    for m in cell.model.modules():
        if isinstance(m, AttributeEmbedding):
            m.check(codes)
