"""How long a warm or tuning run will take: exact work counted, step time measured on a bounded sample.

A run's cost is (training batches per epoch x seconds per batch + one validation pass
+ the epoch checkpoint) x epochs, plus its one-off evaluations.

Counted on the whole split: batches per epoch (ceil(windows / batch size), the windows counted
from every user's click count by ppr.train.methods.n_windows, none built) and the targets each
validation and final evaluation scores.

Measured on a sample: the split restricted to at most SAMPLE_USERS users of each role (warm,
tune, val, test), drawn with a fixed seed; the run's model is built with the whole item catalogue
on the chosen device, a few real steps of its Trainer are timed on the sample's windows (fresh
negatives, after one warm-up step), and one evaluation batch of the sample's validation targets.
Seconds per batch and per target do not depend on how many users there are, so the cost of the
estimate is bounded whatever the dataset's size (the split's layout, numpy over the click counts,
aside). Every method is measured on its own model, so what it trains (frozen backbone or not,
sasrec's extra warm windows, CL's extra forward passes) is in the number, not in a guessed factor.

Epochs are a range: early stopping can end a run after `patience` epochs without a better
validation score, or it runs every epoch. Nothing is written to the store: a split that is
not stored yet is laid out in memory (without its negatives); torch's global random state
is restored afterwards.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import time
from dataclasses import dataclass

import numpy as np
import torch

from ppr.data import splits as sp
from ppr.data.store import Dataset, Store
from ppr.errors import InputError
from ppr.eval.scoring import candidate_scores
from ppr.log import Log, to_stderr
from ppr.models.registry import build_backbone
from ppr.runs.folder import list_runs
from ppr.spec.run import OWN_MODELS, RunSpec, WarmSpec
from ppr.train import methods
from ppr.train.batching import Windows, history_matrix
from ppr.train.device import pick_device
from ppr.train.trainer import Trainer

MIN_STEPS, MAX_STEPS, MIN_TIMED_S = 3, 12, 0.25  # timed steps: at least 3, more while under 0.25 s
EVAL_ROWS = 512  # targets in the timed evaluation batch (cost per target is flat at this size)
SAMPLE_USERS = 2000  # users per role the steps and the evaluation are timed on
SAMPLE_SEED = 0


@dataclass(frozen=True)
class Calibration:
    """Per-epoch and one-off costs of one run shape, measured on `device`."""

    what: str  # "warm" or the tuning label
    device: str
    windows: int  # training windows per epoch
    batch_size: int
    batches: int  # training batches per epoch (what the loop iterates)
    step_s: float  # measured seconds per training batch
    steps_timed: int
    val_targets: int  # targets scored by each validation pass
    val_s: float  # one validation pass
    final_s: float  # evaluation after training (test/val, or warm_val/warm_test)
    checkpoint_s: float  # serialising the epoch checkpoint
    sampled_users: int = 0  # users whose windows and targets were timed (at most SAMPLE_USERS per role)

    @property
    def epoch_s(self) -> float:
        return self.batches * self.step_s + self.val_s + self.checkpoint_s

    def seconds(self, epochs: int) -> float:
        """The run's compute for `epochs` training epochs."""
        if self.batches == 0:  # warm-only: evaluation only
            return self.final_s
        return self.val_s + epochs * self.epoch_s + self.final_s  # validation before the first epoch too


@dataclass(frozen=True)
class RunEstimate:
    """One run's seconds for its epoch range; `typical` uses past runs' stopping epoch when known."""

    calibration: Calibration
    min_epochs: int  # earliest early stop
    max_epochs: int
    past_epochs: float | None = None  # mean epochs run by past runs of the same kind and max epochs

    @property
    def low_s(self) -> float:
        return self.calibration.seconds(self.min_epochs)

    @property
    def high_s(self) -> float:
        return self.calibration.seconds(self.max_epochs)

    @property
    def typical_s(self) -> float:
        """At the past runs' mean stopping epoch, else every epoch (no evidence of an earlier stop)."""
        if self.past_epochs is None:
            return self.high_s
        return self.calibration.seconds(round(min(self.max_epochs, max(self.min_epochs, self.past_epochs))))


@dataclass(frozen=True)
class PastRuns:
    """Finished runs of one kind ("warm" or a tuning label) and max epochs on one dataset."""

    n: int
    mean_epochs: float  # epochs actually run (early stopping)
    mean_seconds: float  # recorded compute (tuning: training + evaluation)


def timing_key(spec: RunSpec) -> RunSpec:
    """The settings a run's cost per epoch depends on (seeds, noise, learning rates, epochs and patience do not)."""
    warm = dataclasses.replace(spec.warm, seed=0, lr=WarmSpec.lr, epochs=1, patience=1)
    tune = spec.tune and dataclasses.replace(
        spec.tune, seed=0, noise=0.0, lr=None, patience=None, epochs=min(spec.tune.resolved("epochs"), 1)
    )
    return dataclasses.replace(spec, warm=warm, tune=tune)


def epoch_range(spec: RunSpec) -> tuple[int, int]:
    """(earliest early stop, every epoch): epoch 0 (the model as it comes) is the first best, so `patience`
    epochs without a better one can end the run."""
    if not methods.trains(spec):
        return 0, 0
    s = methods.schedule(spec)
    return min(s.epochs, s.patience), s.epochs


def run_key(spec: RunSpec) -> tuple[str, int]:
    """What past runs are grouped by: ("warm" or the tuning label, max epochs)."""
    if spec.tune is None:
        return "warm", spec.warm.epochs
    return spec.tune.label, spec.tune.resolved("epochs")


def past_runs(store: Store, ds: Dataset, warn: Log | None = to_stderr) -> dict[tuple[str, int], PastRuns]:
    """This dataset's finished runs by run_key: how many, mean epochs run, mean seconds (a damaged run is
    left out, with a one-line warning to `warn`)."""
    found: dict[tuple[str, int], list[tuple[int, float]]] = {}
    for run in list_runs(store.runs_dir, warn):
        try:
            if not run.is_complete:
                continue
            spec, result = run.spec(), run.result()
            if spec.dataset_hash != ds.content_hash:
                continue
            seconds = sum(float(v) for v in result["seconds"].values())
            found.setdefault(run_key(spec), []).append((int(result["epochs_run"]), seconds))
        except (OSError, ValueError, KeyError, TypeError, InputError):  # half-written, outdated or foreign
            continue
    return {
        k: PastRuns(len(v), float(np.mean([e for e, _ in v])), float(np.mean([s for _, s in v])))
        for k, v in found.items()
    }


def estimate_run(cal: Calibration, spec: RunSpec, past: dict[tuple[str, int], PastRuns]) -> RunEstimate:
    """`spec`'s seconds from the calibration of its timing_key; typical epochs from past runs of its run_key."""
    low, high = epoch_range(spec)
    before = past.get(run_key(spec))
    return RunEstimate(cal, low, high, before.mean_epochs if before else None)


def calibrate(ds: Dataset, spec: RunSpec, device: str = "auto", per_role: int | None = SAMPLE_USERS) -> Calibration:
    """Measure the run `spec` (warm-training when spec.tune is None) on `device`: timed on at most `per_role`
    users of each role (None: every user), counted on the whole split."""
    dev = pick_device(device)
    split = sp.planned_split(ds, spec.split, 0 if spec.tune is None else spec.tune.fold)
    users = sample_users(split, per_role)
    part = sp.restricted(split, users)
    forked = [dev.index or 0] if dev.type == "cuda" else []
    codes = None if spec.tune is None else ds.attribute_codes()[users]  # the sample's profiles
    with torch.random.fork_rng(devices=forked):
        if spec.tune is None:
            model = methods.warm_model(spec, ds.n_items)
        elif spec.tune.method in OWN_MODELS:
            model = methods.scratch_model(spec, ds.n_items, ds.cardinalities, part)
        elif not spec.needs_warm:
            model = methods.count_model(spec.tune, part, codes, ds.n_items, ds.cardinalities)
        else:
            model = methods.tuned_model(spec.tune, build_backbone(spec.backbone, ds.n_items), ds.cardinalities)
        return _calibrate(ds, spec, split, part, model, codes, dev)


def sample_users(split: sp.Split, per_role: int | None, seed: int = SAMPLE_SEED) -> np.ndarray:
    """Sorted ids of at most `per_role` users of each role (warm, tune, val, test), drawn with a fixed seed;
    every user of a smaller role (None: every user with a role)."""
    rng = np.random.default_rng(seed)
    picked = []
    for role in (sp.ROLE_WARM, sp.ROLE_TUNE, sp.ROLE_VAL, sp.ROLE_TEST):
        ids = split.users_in(role)
        picked.append(ids if per_role is None or len(ids) <= per_role else rng.choice(ids, per_role, replace=False))
    return np.sort(np.concatenate(picked))


def _calibrate(
    ds: Dataset,
    spec: RunSpec,
    split: sp.Split,
    part: sp.Split,
    model: torch.nn.Module,
    codes: np.ndarray | None,
    dev: torch.device,
) -> Calibration:
    """Counts from the whole `split`, seconds from `part` (its sample; `codes` are the sample's)."""
    what = "warm" if spec.tune is None else spec.tune.label
    val_group, final_groups = ("warm_val", ["warm_val", "warm_test"]) if spec.tune is None else ("val", ["test", "val"])
    rate = _eval_rate(model.to(dev), part, val_group, spec, codes, dev)
    n_val, n_final = _n_targets(split, [val_group]), _n_targets(split, final_groups)
    schedule = methods.schedule(spec)
    if not methods.trains(spec):
        return Calibration(what, str(dev), 0, schedule.batch_size, 0, 0.0, 0, 0, 0.0, rate * n_final, 0.0, part.n_users)
    rng, seed = methods.random_streams(spec)
    trainer = Trainer(
        model,
        methods.objective(spec),
        methods.windows(spec, part),
        methods.sampler(spec, part, ds.n_items),
        schedule,
        dict,
        rng,
        seed,
        dev,
        codes,
    )
    model.train()
    step_s, timed = _time_steps(trainer)
    n_windows = methods.n_windows(spec, split)
    return Calibration(
        what,
        str(dev),
        n_windows,
        schedule.batch_size,
        _n_batches(n_windows, schedule.batch_size),
        step_s,
        timed,
        n_val,
        rate * n_val,
        rate * n_final,
        _checkpoint_seconds(trainer),
        part.n_users,
    )


def _n_batches(n_windows: int, batch_size: int) -> int:
    return -(-n_windows // batch_size)


def _time_steps(trainer: Trainer) -> tuple[float, int]:
    """Mean seconds per training batch: one warm-up batch, then MIN_STEPS.. MAX_STEPS timed ones.

    Batches hold randomly chosen windows, as a shuffled epoch does; a dataset with fewer
    batches than that is timed on all of them.
    """
    windows, size = trainer.windows, trainer.schedule.batch_size
    trainer.train_epoch(_subset(windows, trainer.rng, size))  # warm-up: allocations, kernel selection
    timed, elapsed = 0, 0.0
    while timed < min(_n_batches(len(windows), size), MAX_STEPS) and (timed < MIN_STEPS or elapsed < MIN_TIMED_S):
        sub = _subset(windows, trainer.rng, size)
        t0 = time.perf_counter()
        trainer.train_epoch(sub)  # one batch; the loss is read (a device sync) after every step
        elapsed += time.perf_counter() - t0
        timed += 1
    return elapsed / max(timed, 1), timed


def _subset(windows: Windows, rng: np.random.Generator, n: int) -> Windows:
    sel = rng.choice(len(windows), size=min(n, len(windows)), replace=False)
    return Windows(windows.tokens[sel], windows.users[sel], windows.starts_at_zero[sel], windows.zero_shot)


def _n_targets(split: sp.Split, groups: list[str]) -> int:
    return int(split.targets["group"].isin(groups).sum())


def _eval_rate(
    model: torch.nn.Module, split: sp.Split, group: str, spec: RunSpec, codes: np.ndarray | None, dev: torch.device
) -> float:
    """Seconds per scored target (1 positive + n_negatives), timed on up to EVAL_ROWS targets of `group`."""
    tg = split.targets[split.targets["group"] == group].iloc[:EVAL_ROWS]
    if not len(tg):
        return 0.0
    k = None if spec.tune is None else spec.tune.k_shot
    hist = spec.backbone.max_len if k is None else min(spec.backbone.max_len, k)
    users = tg["user"].to_numpy(np.int64)
    seqs = history_matrix(split.offsets, split.items, users, tg["pos"].to_numpy(np.int64), hist)
    cand = np.random.default_rng(0).integers(1, model.n_items + 1, size=(len(tg), 1 + spec.split.n_negatives))
    user_codes = None if codes is None else codes[users]
    candidate_scores(model, seqs[:8], None if codes is None else user_codes[:8], cand[:8], dev)  # warm-up
    t0 = time.perf_counter()
    candidate_scores(model, seqs, user_codes, cand, dev)
    return (time.perf_counter() - t0) / len(tg)


def _checkpoint_seconds(trainer: Trainer) -> float:
    """Serialising model, optimizer and best state, as the run does after every epoch."""
    t0 = time.perf_counter()
    state = trainer.model.state_dict()
    torch.save(
        {"model": state, "optimizer": trainer.optimizer.state_dict(), "best_state": copy.deepcopy(state)}, io.BytesIO()
    )
    return time.perf_counter() - t0
