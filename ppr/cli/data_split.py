"""`python -m ppr data split NAME`: make (or load) the stored cold-start split of a dataset."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ppr.cli.options import add_settings, settings_from
from ppr.data.splits import make_split
from ppr.data.store import Store
from ppr.spec.run import SplitSpec


def register(data_sub: argparse._SubParsersAction) -> None:
    p = data_sub.add_parser(
        "split",
        help="make the seeded cold-start split (roles, targets, 99 negatives) of a dataset",
        description=(
            "Warm users have >= THRESHOLD clicks; cold users fewer. When few users are naturally cold "
            "(MovieLens), a share of warm users is simulated cold by keeping only their first c clicks. "
            "Cold users are split by user into tuning, validation and test. Stored under the dataset "
            "version; running it again with the same settings loads the stored split."
        ),
    )
    p.add_argument("name", help="dataset NAME or NAME@vN")
    add_settings(p, SplitSpec)
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, store: Store) -> int:
    ds = store.open(args.name)
    cfg = settings_from(args, SplitSpec)
    log = None if args.json else (lambda msg: print(msg, file=sys.stderr))
    store.sweep_stale()
    with ds.locked(log=log):  # an rm of the dataset waits for the split, and the other way round
        ds.check_present()
        split = make_split(ds, cfg, log=log)
    report = {
        "dataset": ds.ref,
        "split_id": split.id,
        "path": str(split.path),
        "simulate_cold_resolved": split.info.get("simulate_cold_resolved"),
        **split.counts(),
    }
    print(json.dumps(report, indent=2) if args.json else _table(report))
    return 0


def _table(r: dict[str, Any]) -> str:
    rows = [("dataset", r["dataset"]), ("split id", r["split_id"]), ("path", r["path"])]
    rows.append(("simulated cold share", f"{r['simulate_cold_resolved']:g} of warm users"))
    rows += [(f"users {role}", f"{n:,}") for role, n in r["users"].items() if role != "none" or n]
    rows += [("cold natural", f"{r['cold_natural']:,}"), ("cold simulated", f"{r['cold_simulated']:,}")]
    rows += [(f"targets {key}", f"{n:,}") for key, n in r["targets"].items()]
    rows.append(("targets total", f"{r['n_targets']:,}"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
