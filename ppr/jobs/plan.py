"""A sweep's plan before launch: its cells and warm runs, which are done already, and the time the rest take.

The Runs form shows it in two steps: the grid (sweep_grid: run folders looked up, nothing measured) at
once, then its estimate (make_plan), each remaining run's from ppr.jobs.estimate with a calibration per
timing-relevant setting (`calibrate` is passed in, so the app can cache it).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass

from ppr.data.store import Dataset, Store
from ppr.jobs import estimate
from ppr.runs.folder import RunFolder
from ppr.spec.run import RunSpec
from ppr.spec.sweep import SweepSpec
from ppr.train.device import pick_device

Calibrate = Callable[[RunSpec], estimate.Calibration]


@dataclass(frozen=True)
class Grid:
    """A sweep's runs: how many cells and warm runs, and the ones still to compute (warm runs first)."""

    cells: int
    warm: int
    todo: list[RunSpec]
    todo_warm: int

    @property
    def todo_tune(self) -> int:
        return len(self.todo) - self.todo_warm

    def counts_text(self) -> str:
        """The runs in one phrase (markdown)."""
        return (
            f"**{plural(self.cells, 'tuning run')}** ({self.cells - self.todo_tune} already done) and "
            f"**{plural(self.warm, 'warm run')}** ({self.warm - self.todo_warm} already done)"
        )


@dataclass(frozen=True)
class Plan:
    grid: Grid
    runs: list[estimate.RunEstimate]
    device: str
    past: dict[tuple[str, int], estimate.PastRuns]

    @property
    def low_s(self) -> float:
        return sum(r.low_s for r in self.runs)

    @property
    def high_s(self) -> float:
        return sum(r.high_s for r in self.runs)

    @property
    def typical_s(self) -> float:
        return sum(r.typical_s for r in self.runs)

    def time_text(self) -> str:
        """The estimate in one phrase (markdown)."""
        if not self.runs:
            return "nothing left to compute"
        if self.high_s - self.low_s < 1:  # no run can stop early
            return f"about **{duration(self.high_s)}**"
        if self.typical_s < self.high_s:
            return f"about **{duration(self.typical_s)}** (up to {duration(self.high_s)} if no run stops early)"
        return (
            f"up to **{duration(self.high_s)}** if no run stops early (early stopping can cut it to "
            f"{duration(self.low_s)})"
        )

    def basis(self) -> str:
        """Which numbers the estimate rests on: one phrase per method and batch count (k-shots differ)."""
        seen: dict[tuple[str, int], estimate.RunEstimate] = {}
        for r in self.runs:
            seen.setdefault((r.calibration.what, r.calibration.batches), r)
        return "; ".join(
            f"{w}: {r.calibration.batches} batches × {r.calibration.step_s * 1000:.0f} ms + validation "
            f"{r.calibration.val_s:.1f} s per epoch, {r.min_epochs}–{r.max_epochs} epochs"
            + (f" (past runs stopped after {r.past_epochs:.0f})" if r.past_epochs is not None else "")
            for (w, _), r in seen.items()
        )

    def caption(self, busy: int) -> str:
        """What the estimate is based on, past runs as a cross-check, and how the worker spends the time."""
        text = (
            f"Time measured on {self.device}: a few real training steps and an evaluation batch of each run's "
            f"model on at most {estimate.SAMPLE_USERS:,} users of each role, times the exact number of batches "
            f"and targets. {self.basis()}. "
        )
        if any(r.past_epochs is not None for r in self.runs):
            text += "'About' assumes runs stop where this dataset's past runs with the same epochs setting stopped. "
        tuned = [v for (kind, _), v in self.past.items() if kind != "warm"]
        if tuned:
            n = sum(v.n for v in tuned)
            mean = sum(v.mean_seconds * v.n for v in tuned) / n
            text += f"For comparison: this dataset's {plural(n, 'finished tuning run')} took {duration(mean)} each. "
        text += "One worker computes the sweep's runs one after another, so the wall time is the sum"
        if busy:
            return text + f"; {plural(busy, 'other run')} computing now share the machine and may hold the worker slot."
        return text + "."


def sweep_grid(store: Store, sweep: SweepSpec) -> Grid:
    """Cells, warm runs, and the ones not done yet (warm runs first): cheap, nothing is measured."""
    cells = sweep.cells()
    warm_ids: set[str] = set()
    todo: list[RunSpec] = []
    todo_warm = 0
    for _, spec in cells:
        warm = spec.warm_run()
        if spec.needs_warm and warm.run_id not in warm_ids:
            warm_ids.add(warm.run_id)
            if not _done(store, warm):
                todo.insert(todo_warm, warm)
                todo_warm += 1
        if not _done(store, spec):
            todo.append(spec)
    return Grid(len(cells), len(warm_ids), todo, todo_warm)


def make_plan(store: Store, ds: Dataset, grid: Grid, device: str, calibrate: Calibrate) -> Plan:
    """The measured time range of the grid's remaining runs, with this dataset's past runs."""
    past = estimate.past_runs(store, ds)
    runs = [estimate.estimate_run(calibrate(estimate.timing_key(s)), s, past) for s in grid.todo]
    return Plan(grid, runs, device, past)


def _done(store: Store, spec: RunSpec) -> bool:
    return RunFolder(store.runs_dir / spec.run_id).is_complete


def device_name(device: str) -> str:
    """'auto' resolved to the device runs would use here ('cuda' or 'cpu')."""
    return str(pick_device(device))


def duration(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.1f} h"


def plural(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def spec_json(spec: RunSpec) -> str:
    """A canonical text of a spec (a cache key that survives a rerun of the page)."""
    return json.dumps(dataclasses.asdict(spec), sort_keys=True)
