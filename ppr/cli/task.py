"""`python -m ppr task profile|crossdomain NAME ...`: tasks beside next-click recommendation of cold users.

`task profile --attribute A` predicts a profile attribute of cold users from their clicks (the paper's Table VIII).
For every method (default finetune, adapter, ppr-light, ppr-full), seed and fold of cold users, the tuning run the
flags describe is computed (or reused: the same settings name the same run), attribute A is set to 'missing'
for every user, and a logistic-regression classifier on the run's user vectors learns A from the fold's
tuning and validation users and predicts it for its test users. A majority-class and a logistic regression on
the other attributes sit beside them. Accuracy, macro precision/recall/F1 and AUC (binary attributes) with
95% intervals over users; accuracy against fine-tuning with Benjamini-Hochberg adjusted Wilcoxon p-values.

`task crossdomain --target-domain D` recommends to users cold in item domain D from what they did in the other
domain (the paper's Table VII): every method's run on the cross-domain split, then HIT@10, NDCG@10 and AUC on the
target domain's cold test users with 95% intervals over users and adjusted p-values against fine-tuning
(ppr.report.crossdomain).
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
from ppr.runs.folder import RunFolder
from ppr.spec.run import SplitSpec, TuneSpec
from ppr.spec.settings import parse_list

TASKS = ("profile", "crossdomain")
CROSSDOMAIN_METHODS = "pop,sasrec,minet,finetune,ppr-full"


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
    _task_args(t, skip=("method", "noise", "fold"))
    t.set_defaults(func=run_profile)

    c = tasks.add_parser(
        "crossdomain",
        help="recommend to users cold in a target item domain from their source-domain clicks (Table VII)",
        description=(
            "Needs a dataset whose items have domains (`data domains`, `data synth --domains 2`, or an items file "
            "with a 'domain' column) and --target-domain D. The warm run reads the other domains' clicks; the "
            "methods are tuned and tested on D's cold users."
        ),
    )
    c.add_argument("name", help="dataset NAME or NAME@vN")
    c.add_argument(
        "--methods",
        default=CROSSDOMAIN_METHODS,
        help=f"comma list of methods (default {CROSSDOMAIN_METHODS}: sasrec is trained on the target domain only)",
    )
    c.add_argument("--ranking", choices=("sampled", "full", "both"), default="both")
    _task_args(c, skip=("method", "fold"))
    c.set_defaults(func=run_crossdomain)


def _task_args(p: argparse.ArgumentParser, skip: tuple[str, ...]) -> None:
    p.add_argument("--seeds", default="0", help="comma list of tuning seeds (each warm-trains its backbone)")
    add_settings(p, TuneSpec, skip=skip)
    add_run_settings(p, warm_prefix="warm-")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--format", choices=("md", "csv", "json"), default="md")
    p.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")


def _runs(args: argparse.Namespace, store: Store, methods: list[str]) -> list[RunFolder]:
    """The finished tuning run of every method, seed and fold the flags describe (computed, or reused)."""
    from ppr.data.splits import fold_count
    from ppr.runs.pipeline import compute

    runs = []
    for seed in parse_list(TuneSpec, "seed", args.seeds):
        base = base_spec(args, store, seed)
        folds = fold_count(store.open_exact(base.dataset, base.dataset_hash), base.split)
        for method in methods:
            tune = settings_from(args, TuneSpec, method=method, seed=seed)
            for fold in range(folds):
                spec = base.tuned(dataclasses.replace(tune, fold=fold))
                runs.append(compute(store, spec, args.device, bar=not args.no_progress)[0])
    return runs


def _methods(text: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    methods = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in methods if allowed is not None and m not in allowed]
    if bad or not methods:
        raise InputError(f"--methods takes {', '.join(allowed or ())}; got {text!r}.")
    return list(parse_list(TuneSpec, "method", ",".join(methods)))


def run_profile(args: argparse.Namespace, store: Store) -> int:
    from ppr.report.profile_task import TASK_METHODS, of_runs, render

    methods = _methods(args.methods, TASK_METHODS)
    names = [a["name"] for a in store.open(args.name).attributes]
    if args.attribute not in names:
        raise InputError(
            f"Dataset {args.name} has no attribute {args.attribute!r}; its attributes: {', '.join(names) or 'none'}."
        )
    table = of_runs(store, _runs(args, store, methods), args.attribute)
    sys.stdout.write(render(table, args.format, f"Predicting {args.attribute!r} of cold users from their clicks"))
    return 0


def run_crossdomain(args: argparse.Namespace, store: Store) -> int:
    from ppr.data.domains import domain_counts
    from ppr.report.crossdomain import crossdomain_table, derived_note, render

    methods = _methods(args.methods)
    ds = store.open(args.name)
    if settings_from(args, SplitSpec).target_domain is None:
        known = ", ".join(domain_counts(ds)) or "none (declare them with `python -m ppr data domains`)"
        raise InputError(f"task crossdomain needs --target-domain D; the domains of {ds.ref}: {known}.")
    table, domain = crossdomain_table(_runs(args, store, methods), args.ranking)
    notes = [n for n in (derived_note(store, ds.ref),) if n]
    title = f"Cross-domain recommendation on {ds.ref}: users cold in domain {domain!r} (Table VII)"
    sys.stdout.write(render(table, args.format, title, domain, notes))
    return 0
