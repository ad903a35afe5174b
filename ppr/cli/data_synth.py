"""`python -m ppr data synth NAME`: generate a synthetic dataset with planted structure and import it."""

from __future__ import annotations

import argparse
import json
import sys
import time

from ppr.data.store import Store
from ppr.data.synth import synth_dataset
from ppr.errors import InputError


def register(data_sub: argparse._SubParsersAction) -> None:
    p = data_sub.add_parser(
        "synth",
        help="generate a synthetic dataset (profiles that shift tastes, item clusters, sequences)",
        description=(
            "Users with four profile attributes whose values shift their taste over item clusters, "
            "Zipf popularity inside clusters, short-range sequential dependence and about 20%% "
            "naturally cold users (see ppr/data/synth.py). Same seed, same data."
        ),
    )
    p.add_argument("name", help="name of the new dataset")
    p.add_argument("--users", type=int, required=True, help="number of users")
    p.add_argument("--items", type=int, required=True, help="number of items")
    p.add_argument("--mean-len", type=float, default=20.0, help="mean clicks per user (default 20)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--domains",
        type=int,
        choices=(1, 2),
        default=1,
        help="2: items in a 'source' and a 'target' domain with a user taste that carries over, for cross-domain "
        "runs (--target-domain target); default 1",
    )
    p.add_argument(
        "--if-exists",
        choices=("new", "refuse"),
        default="new",
        help="'new' adds a version if NAME exists (default), 'refuse' fails",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    for flag, value in (("--users", args.users), ("--items", args.items)):
        if value < 1:
            raise InputError(f"{flag} {value} is invalid: expected a positive whole number.")
    if not 1 <= args.mean_len <= 10_000:
        raise InputError(f"--mean-len {args.mean_len:g} is invalid: expected a number from 1 to 10000.")
    if args.seed < 0:
        raise InputError(f"--seed {args.seed} is invalid: expected a whole number >= 0.")


def run(args: argparse.Namespace, store: Store) -> int:
    _check(args)
    store.sweep_stale()
    t0 = time.perf_counter()

    def progress(done: int, total: int) -> None:
        print(f"generated {done:,}/{total:,} users ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)

    ds = synth_dataset(
        store,
        args.name,
        args.users,
        args.items,
        args.mean_len,
        args.seed,
        args.if_exists,
        progress=progress,
        log=lambda msg: print(msg, file=sys.stderr),
        domains=args.domains,
    )
    counts = ds.manifest["counts"]
    if args.json:
        print(json.dumps({"dataset": ds.ref, "path": str(ds.path), **counts}, indent=2))
    else:
        print(f"{ds.ref}: {ds.n_users:,} users, {ds.n_items:,} items, {counts['interactions']:,} interactions")
    return 0
