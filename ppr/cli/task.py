"""`python -m ppr task profile NAME --attribute A`: user-profile prediction (the paper's Table VIII).

For every method (default finetune, adapter, ppr-light, ppr-full), seed and fold of cold users, the tuning run the
flags describe is computed (or reused: the same settings name the same run), attribute A is set to 'missing'
for every user, and a logistic-regression classifier on the run's user vectors learns A from the fold's
tuning and validation users and predicts it for its test users. A majority-class and a logistic regression on
the other attributes sit beside them. Accuracy, macro precision/recall/F1 and AUC (binary attributes) with
95% intervals over users; accuracy against fine-tuning with Benjamini-Hochberg adjusted Wilcoxon p-values.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from ppr.cli import help_line
from ppr.cli.options import add_settings, settings_from
from ppr.cli.train import add_run_settings, base_spec
from ppr.data.store import Store
from ppr.errors import InputError
from ppr.spec.run import TuneSpec
from ppr.spec.settings import parse_list

TASKS = ("profile",)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("task", help=help_line("task"), description=__doc__.splitlines()[0])
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
    t = tasks.add_parser("profile", help="predict a profile attribute of cold users from their clicks")
    t.add_argument("name", help="dataset NAME or NAME@vN")
    t.add_argument("--attribute", required=True, help="the attribute to predict (the others build the prompts)")
    t.add_argument(
        "--methods",
        default="finetune,adapter,ppr-light,ppr-full",
        help="comma list of finetune, adapter, ppr-light, ppr-full",
    )
    t.add_argument("--seeds", default="0", help="comma list of tuning seeds (each warm-trains its backbone)")
    add_settings(t, TuneSpec, skip=("method", "noise", "fold"))
    add_run_settings(t, warm_prefix="warm-")
    t.add_argument("--device", default="auto", help="auto | cpu | cuda")
    t.add_argument("--format", choices=("md", "csv", "json"), default="md")
    t.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    t.set_defaults(func=run_profile)


def run_profile(args: argparse.Namespace, store: Store) -> int:
    from ppr.data.splits import fold_count
    from ppr.report.profile_task import TASK_METHODS, of_runs, render
    from ppr.runs.pipeline import compute

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in TASK_METHODS]
    if bad or not methods:
        raise InputError(f"--methods takes {', '.join(TASK_METHODS)}; got {args.methods!r}.")
    names = [a["name"] for a in store.open(args.name).attributes]
    if args.attribute not in names:
        raise InputError(
            f"Dataset {args.name} has no attribute {args.attribute!r}; its attributes: {', '.join(names) or 'none'}."
        )
    runs = []
    for seed in parse_list(TuneSpec, "seed", args.seeds):
        base = base_spec(args, store, seed)
        folds = fold_count(store.open_exact(base.dataset, base.dataset_hash), base.split)
        for method in methods:
            tune = settings_from(args, TuneSpec, method=method, seed=seed)
            for fold in range(folds):
                spec = base.tuned(dataclasses.replace(tune, fold=fold))
                runs.append(compute(store, spec, args.device, bar=not args.no_progress)[0])
    table = of_runs(store, runs, args.attribute)
    sys.stdout.write(render(table, args.format, f"Predicting {args.attribute!r} of cold users from their clicks"))
    return 0
