"""`python -m ppr data export NAME --to recbole|rechorus DIR`: one fold of a cold-start split for other libraries."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ppr.cli.options import add_settings, settings_from
from ppr.data.export import FORMATS, export_split
from ppr.data.splits import make_split
from ppr.data.store import Store
from ppr.errors import InputError
from ppr.spec.run import BackboneSpec, SplitSpec


def register(data_sub: argparse._SubParsersAction) -> None:
    p = data_sub.add_parser(
        "export",
        help="write one fold of a cold-start split as RecBole or ReChorus files (with the fixed negatives)",
        description=(
            "Writes the split's training examples, validation and test targets with the histories our evaluation "
            "reads, and targets.tsv with every target's 99 fixed negatives, so another library's models are "
            "scored on exactly this protocol. The split is made first if it is not stored yet."
        ),
    )
    p.add_argument("name", help="dataset NAME or NAME@vN")
    p.add_argument("--to", required=True, choices=FORMATS, help="the library whose file conventions to write")
    p.add_argument("dir", type=Path, help="a new folder to write into")
    p.add_argument("--fold", type=int, default=0, help="the fold of cold users tested (default 0)")
    p.add_argument("--k-shot", default="all", help="clicks kept per cold user: a number or 'all' (default)")
    p.add_argument("--max-len", type=int, default=BackboneSpec().max_len, help="longest history read")
    add_settings(p, SplitSpec)
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, store: Store) -> int:
    k_shot = None if args.k_shot == "all" else _positive(args.k_shot, "--k-shot")
    _positive(str(args.max_len), "--max-len")
    ds = store.open(args.name)
    split = make_split(ds, settings_from(args, SplitSpec), fold=args.fold)
    report = export_split(ds, split, args.to, args.dir, k_shot, args.max_len)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print("\n".join(f"{k:<18} {v}" for k, v in report.items()))
        print(f"wrote {args.dir}", file=sys.stderr)
    return 0


def _positive(text: str, flag: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(f"{flag} {text!r} is invalid: expected a whole number of at least 1 (or 'all' for --k-shot).")
    return value
