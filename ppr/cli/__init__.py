"""`python -m ppr`: the headless face of the workbench.

Each command lives in its own module exposing ``register(subparsers)``; a handler
takes ``(args, store)`` and returns an exit code. InputError -> message + exit 2.
"""

from __future__ import annotations

import argparse
import sys

from ppr.data.store import Store
from ppr.errors import InputError


def build_parser() -> argparse.ArgumentParser:
    from ppr.cli import data, jobs, train

    parser = argparse.ArgumentParser(
        prog="python -m ppr",
        description="PPR Workbench: personalized prompt-tuning for cold-start sequential recommendation.",
    )
    parser.add_argument(
        "--home",
        default=None,
        help="folder holding datasets and runs (default: $PPR_HOME, else ./cache)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (data, train, jobs):
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args, Store(args.home)) or 0)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
