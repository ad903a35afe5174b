"""`data fetch ml-100k`: the only command that may use the network."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from ppr.data.fetch import fetch_ml100k
from ppr.data.store import Store
from ppr.errors import InputError

DATASETS = ("ml-100k",)


def register(data_sub: argparse._SubParsersAction) -> None:
    p = data_sub.add_parser("fetch", help="download a public dataset (ml-100k) and import it")
    p.add_argument("dataset", choices=DATASETS)
    p.add_argument("--from", dest="source", type=Path, default=None,
                   help="a local ml-100k zip or folder instead of downloading")
    p.add_argument("--name", default=None, help="store it under this name (default: the dataset's)")
    p.set_defaults(func=_fetch)


def _fetch(args: argparse.Namespace, store: Store) -> int:
    from ppr.data.importers import import_dataset

    name = args.name or args.dataset
    with tempfile.TemporaryDirectory(prefix="ppr-fetch-") as tmp:
        folder = fetch_ml100k(Path(tmp), source=args.source)
        fmt = "recbole" if (folder / "ml-100k.inter").is_file() else "movielens"
        if fmt == "recbole":
            files = dict(interactions=folder / "ml-100k.inter", users=folder / "ml-100k.user",
                         items=folder / "ml-100k.item")
        else:
            files = dict(interactions=folder / "u.data", users=folder / "u.user", items=folder / "u.item")
        missing = [str(p) for p in files.values() if not p.is_file()]
        if missing:
            raise InputError(f"Fetched ml-100k is incomplete: missing {', '.join(missing)}.")
        ds = import_dataset(store, name, fmt=fmt, **files)
    print(f"{ds.ref}: {ds.n_users} users, {ds.n_items} items, "
          f"{ds.manifest['counts']['interactions']} interactions", file=sys.stdout)
    return 0
