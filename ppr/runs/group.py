"""Compute tuning runs of one method and settings together (ppr.train.grouped), each ending as `compute` ends it.

A sweep's cells that differ only in k-shot, noise, seed and fold share a method, a model shape and a
schedule: `group_key` names what they share, `groupable` says which methods can (those tuned from a warmed
SASRec-shaped backbone). Each run keeps its own folder, lock, status, epoch rows and result files; a run
computed or being computed elsewhere is left out; a run that fails (a diverged cell) fails alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable

import torch

from ppr.data.store import Store
from ppr.errors import InputError
from ppr.eval.evaluate import validate_stacked
from ppr.log import Log, to_stderr
from ppr.runs import pipeline
from ppr.runs.folder import RunFolder
from ppr.runs.tracking import record_epoch, tracked
from ppr.spec.run import RunSpec
from ppr.train import methods
from ppr.train.device import pick_device
from ppr.train.grouped import Cell, GroupTrainer

GROUPED_METHODS = ("finetune", "adapter", "ppr-light", "ppr-full")  # tuned from a warm backbone
GROUPED_BACKBONES = ("sasrec", "cl4srec")  # SASRec's layers, which vmap over cells
# a group's stacked trained parameters (x4 with gradients and Adam's moments: about 1.6 GB of float32 at most)
MAX_GROUP_FLOATS = 100_000_000


def groupable(spec: RunSpec) -> bool:
    return (
        spec.tune is not None
        and spec.tune.method in GROUPED_METHODS
        and spec.backbone.kind in GROUPED_BACKBONES
        and not spec.cross_domain  # its source encoder and domain-pooled negatives are not tested under vmap
        and methods.trains(spec)
    )


def group_key(spec: RunSpec) -> RunSpec:
    """What the runs of a group share: the spec without its k-shot, noise, seeds and fold."""
    tune = dataclasses.replace(spec.tune, k_shot=None, noise=0.0, seed=0, fold=0)
    return dataclasses.replace(spec, warm=dataclasses.replace(spec.warm, seed=0), tune=tune)


def groups(specs: Iterable[RunSpec], n_items: dict[tuple[str, str], int] | None = None) -> list[list[RunSpec]]:
    """The specs that can train together, in order of first appearance, every other spec alone; a group is cut
    so that its stacked parameters stay under MAX_GROUP_FLOATS (n_items: catalogue size per (dataset, hash);
    unknown: no cut)."""
    out: dict[object, list[RunSpec]] = {}
    for spec in specs:
        out.setdefault(group_key(spec) if groupable(spec) else spec.run_id, []).append(spec)
    cut = []
    for specs_ in out.values():
        items = (n_items or {}).get((specs_[0].dataset, specs_[0].dataset_hash), 0)
        size = max(1, MAX_GROUP_FLOATS // max(1, _trained_floats(specs_[0], items)))
        cut += [specs_[i : i + size] for i in range(0, len(specs_), size)]
    return cut


def _trained_floats(spec: RunSpec, n_items: int) -> int:
    """About how many numbers a cell trains (its item table dominates when it tunes the backbone)."""
    b = spec.backbone
    blocks = b.n_layers * (4 * b.d * b.d + 2 * b.d * b.d_ff)
    return (
        (n_items + 1) * b.d + blocks if spec.tune is not None and spec.tune.method in methods.TUNES_BACKBONE else blocks
    )


def compute_group(store: Store, specs: list[RunSpec], device: str = "auto", log: Log = to_stderr) -> None:
    """Compute the runs of `specs` (one group_key) that are not complete; their warm runs first."""
    if len({group_key(s) for s in specs}) != 1 or not all(groupable(s) for s in specs):
        raise ValueError("compute_group takes groupable runs of one group_key.")
    warm = {s.run_id: pipeline.compute(store, s.warm_run(), device, log, bar=False, wait=True)[0] for s in specs}
    dev = pick_device(device)
    held = [h for spec in specs if (h := _Held.take(store, spec, str(dev))) is not None]
    try:
        jobs = []
        for h in held:
            ds = store.open_exact(h.spec.dataset, h.spec.dataset_hash)
            jobs.append((pipeline.prepare(ds, h.spec, h.run, warm[h.spec.run_id], dev, log), h))
        if jobs:
            _train_and_finish(jobs, dev, log)
    except BaseException as exc:  # cancelled, or the group failed: every run still held is told
        for h in held:
            h.close(exc)
        raise


class _Held:
    """A run's lock and running status (ppr.runs.tracking.tracked), released when the run ends."""

    def __init__(self, spec: RunSpec, run: RunFolder, context: contextlib.AbstractContextManager) -> None:
        self.spec, self.run, self.context, self.open = spec, run, context, True

    @classmethod
    def take(cls, store: Store, spec: RunSpec, device: str) -> _Held | None:
        """None when the run is complete or another process computes it."""
        run = RunFolder(store.runs_dir / spec.run_id)
        if run.is_complete and run.result_problem() is None:
            return None
        pipeline.describe(run, spec)
        context = tracked(run, device, wait=False)
        try:
            fresh = context.__enter__()
        except InputError:  # being computed by another process
            return None
        if not fresh:
            context.__exit__(None, None, None)
            return None
        return cls(spec, run, context)

    def close(self, exc: BaseException | None = None) -> None:
        """Done (no exc), failed (an Exception) or cancelled (e.g. Cancelled), as `tracked` records them."""
        if self.open:
            self.open = False
            self.context.__exit__(*((type(exc), exc, exc.__traceback__) if exc else (None, None, None)))


def _train_and_finish(jobs: list[tuple[pipeline.Prepared, _Held]], dev: torch.device, log: Log) -> None:
    first = jobs[0][0].spec
    schedule = methods.schedule(first)

    def on_epoch(i: int, row: dict[str, float]) -> None:
        record_epoch(jobs[i][1].run, row, schedule.epochs)

    log(f"training {len(jobs)} {first.tune.label} runs as one group ({dev})")
    cells = [_cell(job) for job, _ in jobs]
    validate = validate_stacked([job.probe for job, _ in jobs], dev)
    fits = GroupTrainer(cells, methods.objective(first), schedule, dev, on_epoch, validate).fit()
    for (job, held), fit in zip(jobs, fits, strict=True):
        try:
            if isinstance(fit, Exception):
                raise fit
            with pipeline.dataset_kept(job.dataset):
                pipeline.finish(job, fit, group=len(jobs))
        except Exception as exc:  # this run fails alone
            log(f"failed {job.run.id}: {type(exc).__name__}: {exc}")
            held.close(exc)
            continue
        held.close()


def _cell(job: pipeline.Prepared) -> Cell:
    spec, split = job.spec, job.split
    rng, seed = methods.random_streams(spec)
    windows = methods.windows(spec, split)
    sampler = methods.sampler(spec, split, job.dataset.n_items)
    return Cell(job.model, windows, sampler, job.validate, rng, seed, job.codes)
