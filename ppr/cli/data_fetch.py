"""`data fetch ml-100k`: the only command that may use the network."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ppr.data.fetch import fetch_and_import
from ppr.data.store import Store

DATASETS = ("ml-100k",)


def register(data_sub: argparse._SubParsersAction) -> None:
    p = data_sub.add_parser("fetch", help="download a public dataset (ml-100k) and import it")
    p.add_argument("dataset", choices=DATASETS)
    p.add_argument(
        "--from", dest="source", type=Path, default=None, help="a local ml-100k zip or folder instead of downloading"
    )
    p.add_argument("--name", default=None, help="store it under this name (default: the dataset's)")
    p.set_defaults(func=_fetch)


def _fetch(args: argparse.Namespace, store: Store) -> int:
    store.sweep_stale()
    ds = fetch_and_import(store, args.name or args.dataset, source=args.source)
    print(
        f"{ds.ref}: {ds.n_users} users, {ds.n_items} items, {ds.manifest['counts']['interactions']} interactions",
        file=sys.stdout,
    )
    return 0
