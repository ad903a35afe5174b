"""`python -m ppr warm NAME` and `python -m ppr tune NAME --method M`: train, tune, evaluate, keep runs.

`warm` trains SASRec on the split's warm users (their last two clicks held out:
warm_val for early stopping, warm_test reported) and writes a run folder. `tune`
starts from a warm run (--warm RUN, else the matching one: same dataset content,
split, backbone and warm-training settings, seed; trained first if missing), tunes
with the chosen method on the cold tuning users, early-stops on the validation users
and scores the test users (few-shot, zero-shot, joint). Identical settings map to
the same run folder: a complete one is reused, not trained again.

`warm_run` and `tune_run` are the headless entry points (bench/reproduce.py uses them).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from ppr.data.splits import ROLE_TUNE, ROLE_WARM, SplitConfig, make_split, noisy_codes
from ppr.data.store import Dataset, Store
from ppr.errors import InputError
from ppr.eval.evaluate import evaluate_group, summarize_scores
from ppr.models.recommender import ColdStartRecommender
from ppr.models.sasrec import BackboneConfig, SASRec
from ppr.runs import Run, library_versions, new_run, open_run
from ppr.train.device import pick_device
from ppr.train.tune import DEFAULT_LR, METHODS, TuneConfig, build_model, parameter_report, tune
from ppr.train.warm import WarmConfig, train_warm

Log = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _base_spec(kind: str, ds: Dataset, split_cfg: SplitConfig, device: torch.device) -> dict[str, Any]:
    return {
        "kind": kind,
        "dataset": {"name": ds.name, "content_hash": ds.content_hash},
        "dataset_ref": ds.ref,
        "split": {"id": split_cfg.split_id, "config": dataclasses.asdict(split_cfg)},
        "versions": library_versions(),
        "device": str(device),
        "created_at": _now(),
    }


def warm_spec(ds: Dataset, split_cfg: SplitConfig, cfg: WarmConfig, device: torch.device) -> dict[str, Any]:
    warm = {k: v for k, v in cfg.to_dict().items() if k != "device"}
    return {**_base_spec("warm", ds, split_cfg, device), "backbone": cfg.backbone(ds.n_items).to_dict(), "warm": warm}


def warm_run(
    store: Store, ds: Dataset, split_cfg: SplitConfig, cfg: WarmConfig, log: Log = _stderr, bar: bool = True
) -> tuple[Run, bool]:
    """The complete warm run for these settings: (run, reused). Trains it if missing."""
    device = pick_device(cfg.device)
    spec = warm_spec(ds, split_cfg, cfg, device)
    run = new_run(store.runs_dir, f"{ds.name}-warm", spec)
    if run.is_complete:
        log(f"reusing complete warm run {run.id} ({run.path})")
        return run, True
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
            if not bar and epoch % 10 == 0:
                log(f"warm epoch {epoch}: loss {loss:.4f}, warm_val NDCG@10 {val:.4f} ({time.perf_counter() - t0:.0f}s)")

        model, history = train_warm(
            split.offsets, split.items, warm_users, ds.n_items, cfg, val=val, lengths=lengths, progress=progress
        )
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
    run.write_scores(pd.concat(scores, ignore_index=True))
    run.write_metrics(metrics)
    return run, False


def load_backbone(run: Run) -> SASRec:
    spec = run.spec()
    if spec.get("kind") != "warm":
        raise InputError(f"Run {run.id} is a {spec.get('kind')!r} run; --warm needs a warm run (`python -m ppr warm`).")
    model = SASRec(BackboneConfig(**spec["backbone"]))
    model.load_state_dict(run.load_checkpoint())
    return model


def tune_run(
    store: Store,
    ds: Dataset,
    cfg: TuneConfig,
    warm: Run | None = None,
    split_cfg: SplitConfig | None = None,
    warm_cfg: WarmConfig | None = None,
    log: Log = _stderr,
    bar: bool = True,
    device: str = "auto",
) -> tuple[Run, bool]:
    """The complete tuning run: (run, reused). Without `warm`, uses/trains the matching warm run."""
    dev = pick_device(device)
    if warm is None:
        warm_cfg = dataclasses.replace(warm_cfg or WarmConfig(), seed=cfg.seed, device=device)
        warm, _ = warm_run(store, ds, split_cfg or SplitConfig(), warm_cfg, log, bar)
    wspec = warm.spec()
    if wspec["dataset"]["content_hash"] != ds.content_hash:
        raise InputError(
            f"Warm run {warm.id} was trained on dataset content {wspec['dataset']['content_hash'][:12]} "
            f"({wspec.get('dataset_ref')}), not on {ds.ref} ({ds.content_hash[:12]}); pick a warm run of this dataset."
        )
    split_cfg = SplitConfig(**wspec["split"]["config"])
    spec = {
        **_base_spec("tune", ds, split_cfg, dev),
        "backbone": wspec["backbone"],
        "warm_run": warm.id,
        "tune": cfg.to_dict(),
        "eval": {"group": "test", "selection": "val joint ndcg@10"},
    }
    run = new_run(store.runs_dir, f"{ds.name}-{cfg.label}-k{cfg.k_shot or 'all'}-r{cfg.noise:g}-s{cfg.seed}", spec)
    if run.is_complete:
        log(f"reusing complete run {run.id} ({run.path})")
        return run, True
    split = make_split(ds, split_cfg, log=log)
    codes = ds.attribute_codes()
    if cfg.noise > 0:
        codes = noisy_codes(codes, ds.cardinalities, cfg.noise, cfg.seed, users=split.roles >= ROLE_TUNE)
    model = build_model(cfg, load_backbone(warm), ds.cardinalities)
    log(f"tuning {cfg.label} on {int((split.roles == ROLE_TUNE).sum())} cold users of {ds.ref} ({dev}) -> {run.path}")
    with tqdm(total=cfg.max_epochs, desc=cfg.label, unit="epoch", file=sys.stderr, disable=not bar) as pbar:

        def progress(h: dict[str, float]) -> None:
            if h["epoch"] > 0:
                pbar.update(1)
            pbar.set_postfix(val_ndcg10=f"{h['val_ndcg@10']:.4f}")

        result = tune(model, cfg, split, codes, dev, progress)
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
    run.write_scores(pd.concat(scores, ignore_index=True))
    run.write_metrics(metrics)
    return run, False


# ----------------------------------------------------------------------------- argparse


def register(sub: argparse._SubParsersAction) -> None:
    w = sub.add_parser("warm", help="warm-train SASRec on a dataset's warm users (writes a run folder)")
    w.add_argument("name", help="dataset NAME or NAME@vN")
    _split_args(w)
    _warm_args(w, prefix="")
    _common_args(w)
    w.set_defaults(func=run_warm)

    t = sub.add_parser(
        "tune",
        help="tune a warmed model for cold users with one method and score it (writes a run folder)",
        description="Methods: " + ", ".join(METHODS) + ". Without --warm the matching warm run is reused or trained.",
    )
    t.add_argument("name", help="dataset NAME or NAME@vN")
    t.add_argument("--method", required=True, help="one of: " + ", ".join(METHODS))
    t.add_argument("--warm", default=None, help="warm run id or folder (default: the matching one)")
    t.add_argument("--k-shot", default="all", help="clicks kept per cold user: an integer >= 1 or 'all'")
    t.add_argument("--noise", type=float, default=0.0, help="profile noise rate on cold users (0..1)")
    d = TuneConfig(method="ppr-light")
    t.add_argument("--lr", type=float, default=None, help=f"tuning learning rate (default per method: {DEFAULT_LR})")
    t.add_argument("--epochs", type=int, default=None, help="max tuning epochs (default 50; sasrec 200)")
    t.add_argument("--patience", type=int, default=None, help="epochs without better val NDCG@10 (default 5; sasrec 20)")
    t.add_argument("--batch-size", type=int, default=None, help="tuning batch (default 32; sasrec 256)")
    t.add_argument("--no-cl", action="store_true", help="PPR without the contrastive loss")
    t.add_argument("--no-prompt-aug", action="store_true", help="drop the prompt-masked CL view")
    t.add_argument("--no-behavior-aug", action="store_true", help="drop the behaviour-masked CL view")
    t.add_argument("--prompt-tokens", type=int, default=d.prompt_tokens)
    t.add_argument("--deep-prefix", action="store_true", help="one set of prompt tokens per Transformer layer")
    t.add_argument("--prompt-mask", type=float, default=d.prompt_mask, help="profile-embedding mask ratio (CL view)")
    t.add_argument("--behavior-mask", type=float, default=d.behavior_mask, help="click mask ratio (CL view)")
    t.add_argument("--temperature", type=float, default=d.temperature, help="InfoNCE temperature")
    t.add_argument("--cl-weight", type=float, default=d.cl_weight, help="lambda of the contrastive loss")
    _split_args(t)
    _warm_args(t, prefix="warm-")
    _common_args(t)
    t.set_defaults(func=run_tune)


def _split_args(p: argparse.ArgumentParser) -> None:
    d = SplitConfig()
    p.add_argument("--split-seed", type=int, default=d.seed)
    p.add_argument("--cold-threshold", type=int, default=d.cold_threshold, help="min clicks of a warm user")
    p.add_argument("--simulate-cold", default="auto", help="share of warm users made cold: 'auto' or 0..1")


def _warm_args(p: argparse.ArgumentParser, prefix: str) -> None:
    d = WarmConfig()
    p.add_argument("--max-len", type=int, default=d.max_len)
    p.add_argument("--d", type=int, default=d.d, help="hidden size")
    p.add_argument("--layers", type=int, default=d.n_layers)
    p.add_argument("--heads", type=int, default=d.n_heads)
    p.add_argument("--d-ff", type=int, default=d.d_ff)
    p.add_argument("--dropout", type=float, default=d.dropout)
    p.add_argument(f"--{prefix}lr", dest="warm_lr", type=float, default=d.lr, help="warm-training learning rate")
    p.add_argument(f"--{prefix}epochs", dest="warm_epochs", type=int, default=d.epochs)
    p.add_argument(f"--{prefix}patience", dest="warm_patience", type=int, default=d.patience)
    p.add_argument(f"--{prefix}batch-size", dest="warm_batch_size", type=int, default=d.batch_size)


def _common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="seed of model init, batches, negatives, noise")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--json", action="store_true", help="print the run's metrics as JSON on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")


def _split_cfg(args: argparse.Namespace) -> SplitConfig:
    sim = args.simulate_cold.strip().lower()
    try:
        simulate = None if sim == "auto" else float(sim)
    except ValueError:
        raise InputError(f"--simulate-cold {args.simulate_cold!r} is invalid: expected 'auto' or a fraction in [0, 1).") from None
    return SplitConfig(seed=args.split_seed, cold_threshold=args.cold_threshold, simulate_cold=simulate)


def _warm_cfg(args: argparse.Namespace) -> WarmConfig:
    checks = {
        "--max-len": args.max_len >= 1, "--d": args.d >= 1, "--layers": args.layers >= 1, "--heads": args.heads >= 1,
        "--d-ff": args.d_ff >= 1, "--dropout": 0 <= args.dropout < 1, "warm lr": args.warm_lr > 0,
        "warm epochs": args.warm_epochs >= 1, "warm patience": args.warm_patience >= 1,
        "warm batch size": args.warm_batch_size >= 1, "--seed": args.seed >= 0,
    }  # fmt: skip
    bad = [k for k, ok in checks.items() if not ok]
    if bad:
        raise InputError(f"Training settings {', '.join(bad)} are out of range: sizes, epochs and rates must be positive.")
    return WarmConfig(
        max_len=args.max_len, d=args.d, n_layers=args.layers, n_heads=args.heads, d_ff=args.d_ff,
        dropout=args.dropout, batch_size=args.warm_batch_size, lr=args.warm_lr, epochs=args.warm_epochs,
        patience=args.warm_patience, seed=args.seed, device=args.device,
    )  # fmt: skip


def _k_shot(value: str) -> int | None:
    if value.strip().lower() == "all":
        return None
    try:
        k = int(value)
    except ValueError:
        k = 0
    if k < 1:
        raise InputError(f"--k-shot {value!r} is invalid: expected an integer >= 1 or 'all'.")
    return k


def _report(run: Run, reused: bool, args: argparse.Namespace) -> None:
    metrics = run.metrics()
    if args.json:
        print(json.dumps({**metrics, "run_dir": str(run.path), "reused": reused}, indent=2, default=str))
        return
    print(f"run {run.id}{' (reused)' if reused else ''}: {run.path}")
    groups = [g for g in ("warm_val", "warm_test") if g in metrics] or ["test"]
    for g in groups:
        block = metrics[g]
        rows = block.items() if g == "test" else [("joint", block)]
        for kind, m in rows:
            print(f"  {g:<9} {kind:<5} n={m['n']:<6} AUC {m['auc']:.4f}  HIT@10 {m['hit@10']:.4f}  NDCG@10 {m['ndcg@10']:.4f}")
    if "params" in metrics and isinstance(metrics["params"], dict):
        p = metrics["params"]
        print(f"  tuned parameters {p['tuned']:,} ({100 * p['share_of_finetune']:.1f}% of fine-tuning's {p['finetune']:,})")


def run_warm(args: argparse.Namespace, store: Store) -> int:
    ds = store.open(args.name)
    run, reused = warm_run(store, ds, _split_cfg(args), _warm_cfg(args), bar=not args.no_progress)
    _report(run, reused, args)
    return 0


def run_tune(args: argparse.Namespace, store: Store) -> int:
    cfg = TuneConfig(
        method=args.method, k_shot=_k_shot(args.k_shot), noise=args.noise, seed=args.seed, lr=args.lr,
        epochs=args.epochs, patience=args.patience, batch_size=args.batch_size, cl=not args.no_cl,
        prompt_aug=not args.no_prompt_aug, behavior_aug=not args.no_behavior_aug,
        prompt_tokens=args.prompt_tokens, deep_prefix=args.deep_prefix, prompt_mask=args.prompt_mask,
        behavior_mask=args.behavior_mask, temperature=args.temperature, cl_weight=args.cl_weight,
    )  # fmt: skip
    ds = store.open(args.name)
    warm = open_run(store.runs_dir, args.warm) if args.warm else None
    run, reused = tune_run(
        store, ds, cfg, warm, _split_cfg(args), _warm_cfg(args), bar=not args.no_progress, device=args.device
    )
    _report(run, reused, args)
    return 0
