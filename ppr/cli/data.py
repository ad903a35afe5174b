"""`python -m ppr data ...`: get datasets in, look at them, split them."""

from __future__ import annotations

import argparse

from ppr.cli import data_domains, data_export, data_fetch, data_split, data_store, data_synth, help_line


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("data", help=help_line("data"))
    data_sub = parser.add_subparsers(dest="data_command", metavar="DATA_COMMAND", required=True)
    for module in (
        data_store,
        data_synth,
        data_domains,
        data_split,
        data_fetch,
        data_export,
    ):  # each exposes register(subparsers)
        module.register(data_sub)
