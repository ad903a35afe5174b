"""Experiment pipelines: warm-train a backbone, tune it for cold users, score, keep run folders.

The CLI (`python -m ppr warm/tune`), the background worker (ppr.jobs.worker) and
the benches all call these (run specs and ids come from ppr.specs, which a sweep uses to
list and skip its cells up front without importing torch).
`RunHooks` lets a caller watch epochs, save/restore epoch checkpoints and write
extra files into the run folder before it is marked complete; the defaults do nothing.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from ppr.data.splits import ROLE_TUNE, ROLE_WARM, Split, SplitConfig, make_split, noisy_codes
from ppr.data.store import Dataset, Store
from ppr.errors import InputError
from ppr.eval.evaluate import evaluate_group, summarize_scores
from ppr.log import Log, to_stderr
from ppr.models.config import BackboneConfig
from ppr.models.recommender import ColdStartRecommender
from ppr.models.sasrec import SASRec
from ppr.runs import Run, new_run
from ppr.specs import tune_prefix, tune_spec, warm_prefix, warm_spec
from ppr.train.config import TuneConfig, WarmConfig
from ppr.train.device import pick_device
from ppr.train.tune import build_model, parameter_report, tune
from ppr.train.warm import train_warm



class RunHooks:
    """Callbacks around one run's computation; subclass and override what you need."""

    def start(self, run: Run, max_epochs: int) -> None:
        """Computing `run` (not complete) is about to start: its split, model and training follow."""

    def epoch(self, run: Run, info: dict[str, Any]) -> None:
        """After each epoch: info has epoch, max_epochs, loss and validation metrics."""

    def load_state(self, run: Run) -> dict[str, Any] | None:
        """An epoch checkpoint to resume from (None = start from scratch)."""
        return None

    def save_state(self, run: Run, state: dict[str, Any]) -> None:
        """Epoch checkpoint (model, optimizer, epoch, best state, history, rng)."""

    def finish(self, run: Run, done: dict[str, Any]) -> None:
        """Before metrics.json: done has model, split, codes (None for warm), scores, metrics."""


def warm_run(
    store: Store,
    ds: Dataset,
    split_cfg: SplitConfig,
    cfg: WarmConfig,
    log: Log = to_stderr,
    bar: bool = True,
    hooks: RunHooks | None = None,
) -> tuple[Run, bool]:
    """The complete warm run for these settings: (run, reused). Trains it if missing."""
    hooks = hooks or RunHooks()
    device = pick_device(cfg.device)
    spec = warm_spec(ds, split_cfg, cfg, device)
    run = new_run(store.runs_dir, warm_prefix(ds), spec)
    if run.is_complete:
        log(f"reusing complete warm run {run.id} ({run.path})")
        return run, True
    hooks.start(run, cfg.epochs)
    split = make_split(ds, split_cfg, log=log)
    warm_users = np.flatnonzero(split.roles == ROLE_WARM)
    lengths = np.diff(split.offsets)[warm_users] - 2  # warm_val and warm_test clicks held out
    tg = split.targets[split.targets["group"] == "warm_val"]
    val = (
        tg["user"].to_numpy(np.int64),
        tg["pos"].to_numpy(np.int64),
        tg["item"].to_numpy(np.int64),
        split.negatives[tg["target_id"].to_numpy()],
    )
    log(f"warm-training SASRec on {len(warm_users)} warm users of {ds.ref} ({device}) -> {run.path}")
    t0 = time.perf_counter()
    with tqdm(total=cfg.epochs, desc="warm", unit="epoch", file=sys.stderr, disable=not bar) as pbar:

        def progress(epoch: int, loss: float, metrics: dict[str, float]) -> None:
            pbar.update(1)
            val = metrics.get("ndcg@10", float("nan"))
            pbar.set_postfix(loss=f"{loss:.4f}", val_ndcg10=f"{val:.4f}")
            hooks.epoch(run, {"epoch": epoch, "max_epochs": cfg.epochs, "loss": loss, **metrics})
            if not bar and epoch % 10 == 0:
                log(f"warm epoch {epoch}: loss {loss:.4f}, warm_val NDCG@10 {val:.4f} ({time.perf_counter() - t0:.0f}s)")

        model, history = train_warm(
            split.offsets, split.items, warm_users, ds.n_items, cfg, val=val, lengths=lengths, progress=progress,
            resume=hooks.load_state(run), on_epoch=lambda state: hooks.save_state(run, state),
        )  # fmt: skip
    seconds = time.perf_counter() - t0
    wrapped = ColdStartRecommender(model)
    scores = [evaluate_group(wrapped, split, g, None, cfg.max_len, device=device) for g in ("warm_val", "warm_test")]
    best = max(history, key=lambda h: h.get("ndcg@10", -1.0)) if history else {}
    metrics = {
        "run_id": run.id,
        "kind": "warm",
        "warm_val": summarize_scores(scores[0])["joint"],
        "warm_test": summarize_scores(scores[1])["joint"],
        "best_epoch": int(best.get("epoch", 0)),
        "epochs_run": len(history),
        "history": history,
        "params": sum(p.numel() for p in model.parameters()),
        "seconds": {"train": seconds},
    }
    run.save_checkpoint(model.state_dict())
    all_scores = pd.concat(scores, ignore_index=True)
    run.write_scores(all_scores)
    hooks.finish(run, {"model": wrapped, "split": split, "codes": None, "scores": all_scores, "metrics": metrics})
    run.write_metrics(metrics)
    return run, False


def load_backbone(run: Run) -> SASRec:
    spec = run.spec()
    if spec.get("kind") != "warm":
        raise InputError(f"Run {run.id} is a {spec.get('kind')!r} run; --warm needs a warm run (`python -m ppr warm`).")
    model = SASRec(BackboneConfig(**spec["backbone"]))
    model.load_state_dict(run.load_checkpoint())
    return model


def profile_codes(ds: Dataset, split: Split, cfg: TuneConfig) -> np.ndarray:
    """Profile codes as the tuning method sees them (noise on cold users, seeded by the run seed)."""
    codes = ds.attribute_codes()
    if cfg.noise > 0:
        codes = noisy_codes(codes, ds.cardinalities, cfg.noise, cfg.seed, users=split.roles >= ROLE_TUNE)
    return codes


def tune_run(
    store: Store,
    ds: Dataset,
    cfg: TuneConfig,
    warm: Run | None = None,
    split_cfg: SplitConfig | None = None,
    warm_cfg: WarmConfig | None = None,
    log: Log = to_stderr,
    bar: bool = True,
    device: str = "auto",
    hooks: RunHooks | None = None,
) -> tuple[Run, bool]:
    """The complete tuning run: (run, reused). Without `warm`, uses/trains the matching warm run (same hooks)."""
    hooks = hooks or RunHooks()
    dev = pick_device(device)
    if warm is None:
        warm_cfg = dataclasses.replace(warm_cfg or WarmConfig(), seed=cfg.seed, device=device)
        warm, _ = warm_run(store, ds, split_cfg or SplitConfig(), warm_cfg, log, bar, hooks)
    wspec = warm.spec()
    if wspec["dataset"]["content_hash"] != ds.content_hash:
        raise InputError(
            f"Warm run {warm.id} was trained on dataset content {wspec['dataset']['content_hash'][:12]} "
            f"({wspec.get('dataset_ref')}), not on {ds.ref} ({ds.content_hash[:12]}); pick a warm run of this dataset."
        )
    split_cfg = SplitConfig(**wspec["split"]["config"])
    run = new_run(store.runs_dir, tune_prefix(ds, cfg), tune_spec(ds, cfg, wspec, warm.id, dev))
    if run.is_complete:
        log(f"reusing complete run {run.id} ({run.path})")
        return run, True
    hooks.start(run, cfg.max_epochs)
    split = make_split(ds, split_cfg, log=log)
    codes = profile_codes(ds, split, cfg)
    model = build_model(cfg, load_backbone(warm), ds.cardinalities)
    log(f"tuning {cfg.label} on {int((split.roles == ROLE_TUNE).sum())} cold users of {ds.ref} ({dev}) -> {run.path}")
    with tqdm(total=cfg.max_epochs, desc=cfg.label, unit="epoch", file=sys.stderr, disable=not bar) as pbar:

        def progress(h: dict[str, float]) -> None:
            if h["epoch"] > 0:
                pbar.update(1)
                hooks.epoch(run, {**h, "max_epochs": cfg.max_epochs})
            pbar.set_postfix(val_ndcg10=f"{h['val_ndcg@10']:.4f}")

        result = tune(
            model, cfg, split, codes, dev, progress,
            resume=hooks.load_state(run), on_epoch=lambda state: hooks.save_state(run, state),
        )  # fmt: skip
    t0 = time.perf_counter()
    max_len = int(wspec["backbone"]["max_len"])
    scores = [evaluate_group(result.model, split, g, codes, max_len, cfg.k_shot, device=dev) for g in ("test", "val")]
    metrics = {
        "run_id": run.id,
        "kind": "tune",
        "label": cfg.label,
        "method": cfg.method,
        "warm_run": warm.id,
        "test": summarize_scores(scores[0]),
        "val": summarize_scores(scores[1]),
        "params": parameter_report(result.model, cfg, ds.cardinalities),
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "history": result.history,
        "seconds": {"tune": result.seconds, "eval": time.perf_counter() - t0},
    }
    run.save_checkpoint(result.model.state_dict())
    all_scores = pd.concat(scores, ignore_index=True)
    run.write_scores(all_scores)
    hooks.finish(run, {"model": result.model, "split": split, "codes": codes, "scores": all_scores, "metrics": metrics})
    run.write_metrics(metrics)
    return run, False
