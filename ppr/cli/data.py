"""`python -m ppr data ...`: get datasets in, look at them, split them."""

from __future__ import annotations

import argparse
import importlib

# One module per command family; each exposes register(subparsers).
_COMMAND_MODULES = (
    "ppr.cli.data_store",  # import, list, info, sql, rm
    "ppr.cli.data_synth",  # synth
    "ppr.cli.data_split",  # split
    "ppr.cli.data_fetch",  # fetch
)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("data", help="import, generate, inspect, query and split datasets")
    data_sub = parser.add_subparsers(dest="data_command", metavar="DATA_COMMAND", required=True)
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # command not built yet
        module.register(data_sub)
