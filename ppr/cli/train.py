"""`python -m ppr warm NAME` and `python -m ppr tune NAME --method M`: train, tune, evaluate, keep runs.

`warm` trains the backbone on the split's warm users (their last two clicks held out:
warm_val for early stopping, warm_test reported) and writes a run folder. `tune` starts
from a warm run (--warm RUN, else the matching one: same dataset, split, backbone and
warm-training settings, seed; trained first if missing), tunes with the chosen method on
the cold tuning users, early-stops on the validation users and scores the test users
(few-shot, zero-shot, joint). The flags are the run description's settings (ppr.spec); the
same settings map to the same run folder, so a complete run is reused, not trained again.
While it computes, the folder keeps status.json and metrics.jsonl (the app's Runs page shows
it); the same command run again after a crash continues from the last epoch checkpoint.

`warm --ddp N` trains data-parallel in N processes: the command starts itself again under torchrun's
launcher, and each process (like those of `torchrun --nproc-per-node N -m ppr warm ...`) finds its rank in
the environment (ppr.train.distributed). Rank 0 writes the run folder and prints the result.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os

from ppr.cli import help_line
from ppr.cli.options import add_settings, settings_from
from ppr.data.store import Store
from ppr.errors import InputError
from ppr.runs.folder import RunFolder, complete_run
from ppr.spec.run import METHODS, BackboneSpec, RunSpec, SplitSpec, TuneSpec, WarmSpec


def register(sub: argparse._SubParsersAction) -> None:
    w = sub.add_parser("warm", help=help_line("warm"))
    w.add_argument("name", help="dataset NAME or NAME@vN")
    add_run_settings(w, warm_prefix="")
    _common_args(w)
    w.add_argument(
        "--ddp",
        type=int,
        default=1,
        metavar="N",
        help="train in N processes (DistributedDataParallel: gloo on cpu, nccl on cuda, one GPU each); "
        "--batch-size stays the batch of all of them together",
    )
    w.set_defaults(func=run_warm)

    t = sub.add_parser(
        "tune",
        help=help_line("tune"),
        description="Methods: " + ", ".join(METHODS) + ". Without --warm the matching warm run is reused or trained.",
    )
    t.add_argument("name", help="dataset NAME or NAME@vN")
    t.add_argument("--warm", default=None, help="warm run id or folder (default: the matching one)")
    add_settings(t, TuneSpec, required=("method",))
    add_run_settings(t, warm_prefix="warm-")
    _common_args(t)
    t.set_defaults(func=run_tune)


def add_run_settings(p: argparse.ArgumentParser, warm_prefix: str) -> None:
    """Flags of the split, backbone and warm-training settings (the warm ones prefixed, e.g. --warm-lr)."""
    add_settings(p, SplitSpec)
    add_settings(p, BackboneSpec)
    add_settings(p, WarmSpec, prefix=warm_prefix)


def base_spec(args: argparse.Namespace, store: Store, seed: int) -> RunSpec:
    """The warm run the flags describe, on the named dataset version."""
    ds = store.open(args.name)
    return RunSpec(
        ds.ref,
        ds.content_hash,
        settings_from(args, SplitSpec),
        settings_from(args, BackboneSpec),
        settings_from(args, WarmSpec, seed=seed),
    )


def _common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="seed of model init, batches, negatives and noise")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--json", action="store_true", help="print the run's result as JSON on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")


def run_warm(args: argparse.Namespace, store: Store) -> int:
    from ppr.train.distributed import launched

    spec = base_spec(args, store, args.seed)
    if args.ddp < 1:
        raise InputError(f"--ddp takes a number of processes, 1 or more; got {args.ddp}.")
    if args.ddp > 1 and launched() == 1 and not RunFolder(store.runs_dir / spec.run_id).is_complete:
        return _launch(args.ddp, args.argv)
    if args.ddp > 1 and launched() not in (1, args.ddp):
        raise InputError(f"--ddp {args.ddp} asks for {args.ddp} processes, but torchrun started {launched()}.")
    return _compute(store, spec, args)


def run_tune(args: argparse.Namespace, store: Store) -> int:
    tune = settings_from(args, TuneSpec, seed=args.seed)
    if args.warm is None:
        return _compute(store, base_spec(args, store, args.seed).tuned(tune), args)
    warm = complete_run(store.runs_dir, args.warm).spec()
    if warm.tune is not None:
        raise InputError(f"Run {args.warm} is a tuning run; --warm needs a warm run (`python -m ppr warm`).")
    ds = store.open(args.name)
    if warm.dataset_hash != ds.content_hash:
        raise InputError(
            f"Warm run {args.warm} was trained on {warm.dataset} (content {warm.dataset_hash[:12]}), "
            f"not on {ds.ref} ({ds.content_hash[:12]}); pick a warm run of this dataset."
        )
    return _compute(store, dataclasses.replace(warm, tune=tune), args)


def _compute(store: Store, spec: RunSpec, args: argparse.Namespace) -> int:
    from ppr.runs.pipeline import compute, compute_shared  # the training code (torch) only for the commands that train
    from ppr.runs.tracking import Cancelled, sigterm_cancels
    from ppr.train.distributed import joined

    try:
        with sigterm_cancels(), joined(args.device) as world:
            if world.size == 1:
                run, reused = compute(store, spec, args.device, bar=not args.no_progress)
            else:
                shared = compute_shared(store, spec, args.device, world, bar=not args.no_progress)
                if shared is None:  # not rank 0: it prints nothing
                    return 0
                run, reused = shared
    except Cancelled:
        raise KeyboardInterrupt("terminated") from None
    _report(run, reused, args.json)
    return 0


def _launch(n: int, argv: list[str]) -> int:
    """This same command in n processes under torchrun's launcher (standalone, this machine); rank 0 prints the
    result. The exit code is the failed process's (2: an InputError), rank 0's first."""
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // n)))  # torchrun's default is 1
    launch = torchrun.parse_args(["--standalone", f"--nproc-per-node={n}", "-m", "ppr"])
    launch.training_script_args = argv  # as given: torchrun's parser would take --d for one of its own flags
    try:
        torchrun.run(launch)
    except ChildFailedError as exc:
        failures = dict(sorted(exc.failures.items()))
        return next((f.exitcode for f in failures.values() if f.exitcode > 0), 1)
    except SignalException:  # Ctrl-C or SIGTERM: the launcher has stopped the processes (rank 0 marks the run)
        raise KeyboardInterrupt("terminated") from None
    return 0


def _report(run: RunFolder, reused: bool, as_json: bool) -> None:
    result = run.result()
    if as_json:
        print(json.dumps({**result, "run_dir": str(run.path), "reused": reused}, indent=2, default=str))
        return
    print(f"run {run.id}{' (reused)' if reused else ''}: {run.path}")
    for eval_set in ("test", "warm_val", "warm_test"):
        groups = result["summary"].get(eval_set, {})
        for kind in ("few", "zero", "joint") if eval_set == "test" else ("joint",):
            m = groups.get(kind)
            if m and m["n"]:
                print(
                    f"  {eval_set:<9} {kind:<5} n={m['n']:<6} AUC {m['auc']:.4f}  HIT@10 {m['hit@10']:.4f}  "
                    f"NDCG@10 {m['ndcg@10']:.4f}"
                )
    p = result["params"]
    if result["kind"] == "tune" and p.get("finetune"):
        print(
            f"  tuned parameters {p['tuned']:,} ({100 * p['share_of_finetune']:.1f}% of fine-tuning's "
            f"{p['finetune']:,})"
        )
