"""How long a warm or tuning run will take: exact work counted, step time measured.

A run's cost is (training batches per epoch x seconds per batch + one validation pass
+ the worker's epoch checkpoint) x epochs, plus its one-off evaluations. Batches are
counted from the very windows the training loops iterate (ppr.train.batching /
cold_data on the run's split), and seconds per batch are measured by building the
run's model on the chosen device and timing a few real training steps (the loops'
own step functions, on real windows with fresh negatives, after one warm-up step)
and one evaluation batch. Every method is measured on its own model, so what it
trains (frozen backbone or not, sasrec's extra warm windows, CL's extra forward
passes) is in the number, not in a guessed factor.

Epochs are a range: early stopping can end a run after `patience` epochs without a
better validation score, or it runs every epoch. Nothing is written to the store:
a split that is not stored yet is laid out in memory (without its negatives); torch's
global random state is restored afterwards.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from ppr.data import splits as sp
from ppr.data.store import Dataset, Store
from ppr.eval.evaluate import score_targets
from ppr.io import read_json
from ppr.models.recommender import ColdStartRecommender
from ppr.models.sasrec import SASRec
from ppr.train.batching import NegativeSampler, Windows, build_windows, history_matrix
from ppr.train.cold_data import iterate_cold_batches, tuning_windows
from ppr.train.config import TuneConfig, WarmConfig
from ppr.train.device import pick_device
from ppr.train.tune import _step, build_model
from ppr.train.warm import _train_epoch

MIN_STEPS, MAX_STEPS, MIN_TIMED_S = 3, 12, 0.25  # timed steps: at least 3, more while under 0.25 s
EVAL_ROWS = 512  # targets in the timed evaluation batch (cost per target is flat at this size)


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
    checkpoint_s: float  # serialising the worker's epoch checkpoint
    initial_val: bool  # tuning validates once before the first epoch

    @property
    def epoch_s(self) -> float:
        return self.batches * self.step_s + self.val_s + self.checkpoint_s

    def seconds(self, epochs: int) -> float:
        """The run's compute for `epochs` training epochs."""
        if self.batches == 0:  # warm-only: evaluation only
            return self.final_s
        return self.initial_val * self.val_s + epochs * self.epoch_s + self.final_s


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


def timing_key(cfg: WarmConfig | TuneConfig) -> WarmConfig | TuneConfig:
    """The settings a run's cost per epoch depends on (seed, noise, lr, epochs and patience do not)."""
    if isinstance(cfg, WarmConfig):
        return dataclasses.replace(cfg, seed=0, lr=WarmConfig.lr, epochs=1, patience=1, device="auto")
    return dataclasses.replace(cfg, seed=0, noise=0.0, lr=None, epochs=None, patience=None)


def epoch_range(cfg: WarmConfig | TuneConfig) -> tuple[int, int]:
    """(earliest early stop, every epoch) as the training loops count them."""
    if isinstance(cfg, WarmConfig):  # the first epoch always improves; stops after `patience` stale ones
        return min(cfg.epochs, cfg.patience + 1), cfg.epochs
    if cfg.method == "warm-only":
        return 0, 0
    return min(cfg.max_epochs, cfg.stop_patience), cfg.max_epochs  # epoch 0 (untrained) is the first best


def run_key(cfg: WarmConfig | TuneConfig) -> tuple[str, int]:
    """What past runs are grouped by: ("warm" or the tuning label, max epochs)."""
    return ("warm", cfg.epochs) if isinstance(cfg, WarmConfig) else (cfg.label, cfg.max_epochs)


def past_runs(store: Store, ds: Dataset) -> dict[tuple[str, int], PastRuns]:
    """This dataset's finished runs by run_key: how many, mean epochs run, mean seconds."""
    found: dict[tuple[str, int], list[tuple[int, float]]] = {}
    for path in store.runs_dir.glob("*/metrics.json") if store.runs_dir.is_dir() else []:
        try:
            m, spec = read_json(path), read_json(path.parent / "spec.json")
            if spec["dataset"]["content_hash"] != ds.content_hash:
                continue
            warm = m["kind"] == "warm"
            key = ("warm", int(spec["warm"]["epochs"])) if warm else (m["label"], int(spec["tune"]["max_epochs"]))
            found.setdefault(key, []).append((int(m["epochs_run"]), sum(float(v) for v in m["seconds"].values())))
        except (OSError, ValueError, KeyError, TypeError):  # a half-written or foreign run folder
            continue
    return {k: PastRuns(len(v), float(np.mean([e for e, _ in v])), float(np.mean([s for _, s in v])))
            for k, v in found.items()}  # fmt: skip


def estimate_run(cal: Calibration, cfg: WarmConfig | TuneConfig, past: dict[tuple[str, int], PastRuns]) -> RunEstimate:
    """`cfg`'s seconds from the calibration of its timing_key; typical epochs from past runs of its run_key."""
    low, high = epoch_range(cfg)
    before = past.get(run_key(cfg))
    return RunEstimate(cal, low, high, before.mean_epochs if before else None)


@dataclass(frozen=True, eq=False)
class _Layout:
    """What the loops read of a split: roles, cropped CSR clicks and targets (no negatives needed)."""

    roles: np.ndarray
    offsets: np.ndarray
    items: np.ndarray
    targets: pd.DataFrame
    n_negatives: int


def split_layout(ds: Dataset, cfg: sp.SplitConfig) -> _Layout:
    """The stored split, else the same roles/crop/targets computed in memory (nothing is written)."""
    if (sp.splits_dir(ds) / cfg.split_id / "split.json").is_file():
        s = sp.load_split(ds, cfg.split_id)
        return _Layout(s.roles, s.offsets, s.items, s.targets, cfg.n_negatives)
    lay = sp.layout(*ds.sequences(), cfg)
    return _Layout(lay["roles"], lay["offsets"], lay["items"], lay["targets"], cfg.n_negatives)


def calibrate(
    ds: Dataset, split: sp.SplitConfig, warm: WarmConfig, cfg: TuneConfig | None, device: str = "auto"
) -> Calibration:
    """Measure the warm run (cfg None) or the tuning run `cfg` of these settings on `device`."""
    dev = pick_device(device)
    layout = split_layout(ds, split)
    forked = [dev.index or 0] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=forked):
        if cfg is None:
            return _calibrate_warm(ds, layout, warm, dev)
        return _calibrate_tune(ds, layout, warm, cfg, dev)


def _calibrate_warm(ds: Dataset, layout: _Layout, cfg: WarmConfig, dev: torch.device) -> Calibration:
    torch.manual_seed(cfg.seed)
    model = SASRec(cfg.backbone(ds.n_items)).to(dev)
    users = np.flatnonzero(layout.roles == sp.ROLE_WARM)
    windows = build_windows(layout.offsets, layout.items, users, cfg.max_len, np.diff(layout.offsets)[users] - 2)
    sampler = NegativeSampler(layout.offsets, layout.items, ds.n_items)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
    rng = np.random.default_rng(cfg.seed)

    def run_steps(sub: Windows) -> None:
        _train_epoch(model, opt, sub, sampler, cfg.batch_size, rng, dev)

    step_s, timed = _time_steps(windows, cfg.batch_size, rng, run_steps)
    rate = _eval_rate(ColdStartRecommender(model), layout, "warm_val", cfg.max_len, None, None, dev)
    n_val = _n_targets(layout, ["warm_val"])
    return Calibration("warm", str(dev), len(windows), cfg.batch_size, _n_batches(len(windows), cfg.batch_size),
                       step_s, timed, n_val, rate * n_val, rate * _n_targets(layout, ["warm_val", "warm_test"]),
                       _checkpoint_seconds(model, opt), initial_val=False)  # fmt: skip


def _calibrate_tune(ds: Dataset, layout: _Layout, warm: WarmConfig, cfg: TuneConfig, dev: torch.device) -> Calibration:
    warmed = SASRec(warm.backbone(ds.n_items))
    model = build_model(cfg, warmed, ds.cardinalities).to(dev)
    codes = ds.attribute_codes()
    max_len, n_val, n_final = warm.max_len, _n_targets(layout, ["val"]), _n_targets(layout, ["test", "val"])
    if cfg.method == "warm-only" or cfg.max_epochs == 0:
        final = _eval_rate(model, layout, "val", max_len, cfg.k_shot, codes, dev) * n_final
        return Calibration(cfg.label, str(dev), 0, cfg.batch, 0, 0.0, 0, 0, 0.0, final, 0.0, initial_val=False)
    zero_shot = model.prompt is not None or model.profile is not None
    windows = tuning_windows(layout, max_len, cfg.k_shot, zero_shot=zero_shot, with_warm=cfg.method == "sasrec")
    seen = sp.crop_k_shot(layout.offsets, layout.items, layout.roles >= sp.ROLE_TUNE, cfg.k_shot)
    sampler = NegativeSampler(*seen, model.backbone.cfg.n_items)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=cfg.learning_rate)
    rng, gen = np.random.default_rng([cfg.seed, 7]), torch.Generator().manual_seed(cfg.seed)
    model.train()

    def run_steps(sub: Windows) -> None:
        for batch in iterate_cold_batches(sub, codes, sampler, cfg.batch, rng, dev):
            _step(model, batch, cfg, opt, gen)

    step_s, timed = _time_steps(windows, cfg.batch, rng, run_steps)
    rate = _eval_rate(model, layout, "val", max_len, cfg.k_shot, codes, dev)
    return Calibration(cfg.label, str(dev), len(windows), cfg.batch, _n_batches(len(windows), cfg.batch), step_s,
                       timed, n_val, rate * n_val, rate * n_final, _checkpoint_seconds(model, opt),
                       initial_val=True)  # fmt: skip


def _n_batches(n_windows: int, batch_size: int) -> int:
    return -(-n_windows // batch_size)


def _time_steps(windows: Windows, batch_size: int, rng: np.random.Generator, run_steps: Any) -> tuple[float, int]:
    """Mean seconds per training batch: one warm-up batch, then MIN_STEPS.. MAX_STEPS timed ones.

    Batches hold randomly chosen windows, as a shuffled epoch does; a dataset with fewer
    batches than that is timed on all of them.
    """
    n_batches = _n_batches(len(windows), batch_size)
    run_steps(_subset(windows, rng, batch_size))  # warm-up: allocations, kernel selection
    timed, elapsed = 0, 0.0
    while timed < min(n_batches, MAX_STEPS) and (timed < MIN_STEPS or elapsed < MIN_TIMED_S):
        sub = _subset(windows, rng, batch_size)
        t0 = time.perf_counter()
        run_steps(sub)  # the loops read the loss (a device sync) after every step
        elapsed += time.perf_counter() - t0
        timed += 1
    return elapsed / max(timed, 1), timed


def _subset(windows: Windows, rng: np.random.Generator, n: int) -> Windows:
    sel = rng.choice(len(windows), size=min(n, len(windows)), replace=False)
    return Windows(windows.tokens[sel], windows.users[sel], windows.starts_at_zero[sel], windows.zero_shot)


def _n_targets(layout: _Layout, groups: list[str]) -> int:
    return int(layout.targets["group"].isin(groups).sum())


def _eval_rate(
    model: torch.nn.Module, layout: _Layout, group: str, max_len: int, k_shot: int | None,
    codes: np.ndarray | None, dev: torch.device,
) -> float:  # fmt: skip
    """Seconds per scored target (1 positive + n_negatives), timed on up to EVAL_ROWS targets of `group`."""
    tg = layout.targets[layout.targets["group"] == group].iloc[:EVAL_ROWS]
    if not len(tg):
        return 0.0
    users, pos = tg["user"].to_numpy(np.int64), tg["pos"].to_numpy(np.int64)
    seqs = history_matrix(layout.offsets, layout.items, users, pos, max_len if k_shot is None else min(max_len, k_shot))
    cand = np.random.default_rng(0).integers(1, model.backbone.cfg.n_items + 1, size=(len(tg), 1 + layout.n_negatives))
    user_codes = None if codes is None else codes[users]
    score_targets(model, seqs[:8], None if codes is None else user_codes[:8], cand[:8], device=dev)  # warm-up
    t0 = time.perf_counter()
    score_targets(model, seqs, user_codes, cand, device=dev)
    return (time.perf_counter() - t0) / len(tg)


def _checkpoint_seconds(model: torch.nn.Module, opt: torch.optim.Optimizer) -> float:
    """Serialising model, optimizer and best state, as the worker does after every epoch."""
    t0 = time.perf_counter()
    state = model.state_dict()
    torch.save({"model": state, "optimizer": opt.state_dict(), "best_state": copy.deepcopy(state)}, io.BytesIO())
    return time.perf_counter() - t0
