"""`python -m ppr recommend RUN (--user ID | --profile a=v,...) [--clicks ITEM,...]`: top items from a tuning run.

A brand-new user is a profile and, optionally, their first clicks (original item ids, oldest first):
no clicks is a zero-shot recommendation from the profile alone. A known user brings their stored profile
and clicks (--clicks replaces the clicks). Unknown attribute values read as 'missing' with a warning on
stderr; an unknown attribute or item id is an error (exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys

from ppr.cli import help_line
from ppr.data.store import Store


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("recommend", help=help_line("recommend"), description=__doc__.splitlines()[0])
    p.add_argument("run", help="a finished tuning run (id or folder)")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", default=None, help="a known user's original id")
    who.add_argument("--profile", default=None, help="a new user's attributes: name=value,name=value")
    p.add_argument("--clicks", default=None, help="original item ids, oldest first, comma-separated")
    p.add_argument("--top", type=int, default=20, help="how many items (default 20)")
    p.add_argument("--json", action="store_true", help="print the recommendations as JSON")
    p.set_defaults(func=run_recommend)


def run_recommend(args: argparse.Namespace, store: Store) -> int:
    from ppr.report.recommend import from_run  # the model (torch) only here

    result = from_run(store, args.run, user=args.user, profile=args.profile, clicks=args.clicks, top=args.top)
    for warning in result.query.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, default=str))
        return 0
    n = len(result.query.clicks)
    shot = "zero-shot (profile only)" if not n else f"{n} click(s)"
    print(f"{result.method} ({result.run_id}), {shot}:")
    print(result.items.to_string(index=False))
    return 0
