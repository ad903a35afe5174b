"""`python -m ppr data domains NAME --by category --target VALUES`: declare two item domains on a dataset."""

from __future__ import annotations

import argparse
import json
import sys

from ppr.data.domains import TEXT_COLUMNS, declare_domains, domain_counts
from ppr.data.store import Store


def register(data_sub: argparse._SubParsersAction) -> None:
    p = data_sub.add_parser(
        "domains",
        help="split a dataset's items into a target and a source domain (a new version) for cross-domain runs",
        description=(
            "Items whose --by column matches one of the --target values (the whole value or one of its parts "
            "between spaces, '|', ',' or ';', without case) form the target domain, every other item the source "
            "domain; the dataset gets a new version with a 'domain' column on its items. Then run with "
            "--target-domain TARGET (e.g. `python -m ppr task crossdomain NAME --target-domain target`). On "
            "ml-100k, `--by category --target Drama` cuts one catalogue by genre: a demo of the mechanics, not two "
            "real domains."
        ),
    )
    p.add_argument("name", help="dataset NAME or NAME@vN (the new version is NAME's next, or --as's)")
    p.add_argument("--as", dest="into", default=None, help="write the new version under this dataset name instead")
    p.add_argument("--by", required=True, choices=TEXT_COLUMNS, help="the item column to match")
    p.add_argument("--target", required=True, help="comma list of values that put an item in the target domain")
    p.add_argument("--target-name", default="target", help="name of the matched items' domain (default target)")
    p.add_argument("--source-name", default="source", help="name of the other items' domain (default source)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, store: Store) -> int:
    store.sweep_stale()
    log = None if args.json else (lambda msg: print(msg, file=sys.stderr))
    ds = declare_domains(store, args.name, args.by, args.target.split(","), args.target_name, args.source_name, log=log)
    counts = domain_counts(ds)
    if args.json:
        print(json.dumps({"dataset": ds.ref, "path": str(ds.path), "domains": counts}, indent=2))
    else:
        print(f"{ds.ref}: " + ", ".join(f"{n} items in domain {d!r}" for d, n in counts.items()))
    return 0
