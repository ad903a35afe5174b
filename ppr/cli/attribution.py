"""`python -m ppr attribution RUN [--per-user] [--format md|csv|json]`: which profile attribute a tuning run leans on.

Each attribute in turn is set to 'missing' for every test user and the run scores the same test targets
again: the mean change of the real next click's rank (positive = the attribute helped), of NDCG@10, and
the share of the top-10 that stays, with 95% bootstrap intervals over users, most helpful first.
"""

from __future__ import annotations

import argparse
import json
import sys

from ppr.cli import help_line
from ppr.data.store import Store
from ppr.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("attribution", help=help_line("attribution"), description=__doc__.splitlines()[0])
    p.add_argument("run", help="a finished tuning run with a profile (id or folder)")
    p.add_argument("--per-user", action="store_true", help="one row per test user and attribute instead")
    p.add_argument("--format", choices=("md", "csv", "json"), default="md")
    p.set_defaults(func=run_attribution)


def run_attribution(args: argparse.Namespace, store: Store) -> int:
    from ppr.report import attribution  # the model (torch) only here
    from ppr.report.tables import markdown
    from ppr.runs.folder import complete_run
    from ppr.runs.pipeline import evaluated

    run = complete_run(store.runs_dir, args.run)
    ev = evaluated(store, run)
    if not ev.dataset.attributes or not ev.spec.tune.reads_profile:
        raise InputError(f"Run {run.id} ({ev.spec.tune.label}) reads no profile attributes: nothing to attribute.")
    rows = attribution.per_user(ev)
    names = [a["name"] for a in ev.dataset.attributes]
    table = rows if args.per_user else attribution.summary(rows, ev.codes, names)
    if args.format == "csv":
        sys.stdout.write(table.to_csv(index=False))
    elif args.format == "json":
        print(json.dumps({"run": run.id, "rows": table.to_dict("records")}, indent=2, default=str))
    else:
        print(f"# Attribution of {run.id} ({ev.spec.tune.label}), {len(rows['user'].unique())} test users\n")
        print(attribution.EXPLANATION + "\n")
        print(markdown(table.round(4)))
    return 0
