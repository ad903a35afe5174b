"""`python -m ppr warm NAME` and `python -m ppr tune NAME --method M`: train, tune, evaluate, keep runs.

`warm` trains SASRec on the split's warm users (their last two clicks held out:
warm_val for early stopping, warm_test reported) and writes a run folder. `tune`
starts from a warm run (--warm RUN, else the matching one: same dataset content,
split, backbone and warm-training settings, seed; trained first if missing), tunes
with the chosen method on the cold tuning users, early-stops on the validation users
and scores the test users (few-shot, zero-shot, joint). Identical settings map to
the same run folder: a complete one is reused, not trained again. While computing, a run
folder keeps status.json and metrics.jsonl as a worker's run does (ppr.cli.tracking), so the
app's Runs page shows it; running the same command again after a crash continues from its
last epoch checkpoint.
"""

from __future__ import annotations

import argparse
import json

from ppr.cli import help_line
from ppr.data.splits import SplitConfig
from ppr.data.store import Store
from ppr.errors import InputError
from ppr.jobs.spec import make_spec
from ppr.jobs.sweep import k_shot
from ppr.runs import Run, open_run
from ppr.train.config import DEFAULT_LR, METHODS, TuneConfig, WarmConfig


# ----------------------------------------------------------------------------- argparse


def register(sub: argparse._SubParsersAction) -> None:
    w = sub.add_parser("warm", help=help_line("warm"))
    w.add_argument("name", help="dataset NAME or NAME@vN")
    _split_args(w)
    _warm_args(w, prefix="")
    _common_args(w)
    w.set_defaults(func=run_warm)

    t = sub.add_parser(
        "tune",
        help=help_line("tune"),
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
    try:
        return k_shot(value)
    except ValueError:
        raise InputError(f"--k-shot {value!r} is invalid: expected an integer >= 1 or 'all'.") from None


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
    from ppr.cli.tracking import ShellHooks, tracked  # training code (torch) only for the commands that train
    from ppr.experiment import warm_run

    ds = store.open(args.name)
    split_cfg, cfg = _split_cfg(args), _warm_cfg(args)
    hooks = ShellHooks("warm", make_spec(ds, split_cfg, cfg, None, args.device), ds)
    with tracked(hooks):
        run, reused = warm_run(store, ds, split_cfg, cfg, bar=not args.no_progress, hooks=hooks)
    _report(run, reused, args)
    return 0


def run_tune(args: argparse.Namespace, store: Store) -> int:
    from ppr.cli.tracking import ShellHooks, tracked
    from ppr.experiment import tune_run

    cfg = TuneConfig(
        method=args.method, k_shot=_k_shot(args.k_shot), noise=args.noise, seed=args.seed, lr=args.lr,
        epochs=args.epochs, patience=args.patience, batch_size=args.batch_size, cl=not args.no_cl,
        prompt_aug=not args.no_prompt_aug, behavior_aug=not args.no_behavior_aug,
        prompt_tokens=args.prompt_tokens, deep_prefix=args.deep_prefix, prompt_mask=args.prompt_mask,
        behavior_mask=args.behavior_mask, temperature=args.temperature, cl_weight=args.cl_weight,
    )  # fmt: skip
    ds = store.open(args.name)
    warm = open_run(store.runs_dir, args.warm) if args.warm else None
    split_cfg, warm_cfg = _split_cfg(args), _warm_cfg(args)
    hooks = ShellHooks("tune", make_spec(ds, split_cfg, warm_cfg, cfg, args.device), ds)
    with tracked(hooks):
        run, reused = tune_run(
            store, ds, cfg, warm, split_cfg, warm_cfg, bar=not args.no_progress, device=args.device, hooks=hooks
        )
    _report(run, reused, args)
    return 0
