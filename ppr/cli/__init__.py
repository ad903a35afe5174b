"""`python -m ppr`: the headless face of the workbench.

Each command module exposes ``register(subparsers)``; a handler takes ``(args, store)``
and returns an exit code. InputError -> message + exit 2; so is an error of the operating system
(permissions, a full disk, a name too long, ...): one paragraph naming the path and what to do. Only the module of the command
being run is imported: the training modules import torch (seconds), and `data ...` or a
typo should not wait for it. The other commands are listed by name and help line.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from ppr.data.store import Store, os_error_message
from ppr.errors import InputError

# command -> (module ppr.cli.<module> that registers it, help line), in --help order
COMMANDS = {
    "data": ("data", "import, generate, inspect, query and split datasets"),
    "warm": (
        "train",
        "warm-train a backbone (sasrec, cl4srec, gru4rec, bert4rec) on a dataset's warm users (writes a run folder)",
    ),
    "tune": ("train", "tune a warmed model for cold users with one method and score it (writes a run folder)"),
    "sweep": ("jobs", "run a grid of tuning cells (method x k-shot x noise x seed x ablation)"),
    "worker": ("jobs", "(internal) compute a sweep's or a run's queued runs"),
    "runs": ("jobs", "list, show, cancel or resume runs and sweeps"),
    "report": ("jobs", "comparison tables of a sweep (intervals over users, vs finetune, adjusted p)"),
    "recommend": ("recommend", "top items for a known user or a new profile (and first clicks) from a tuning run"),
    "attribution": ("attribution", "which profile attribute matters to a tuning run: leave one out, per test user"),
    "scores": ("scores", "bring in scores another library computed on exported targets, as a method (`scores import`)"),
    "task": (
        "task",
        "other tasks: `task profile` predicts a profile attribute of cold users from their clicks; `task "
        "crossdomain` recommends to users cold in one item domain from their clicks in another",
    ),
}


def help_line(command: str) -> str:
    return COMMANDS[command][1]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The CLI parser: `command`'s module registered in full, every other command as name + help line."""
    parser = argparse.ArgumentParser(
        prog="ppr" if Path(sys.argv[0]).name == "ppr" else "python -m ppr",
        description="PPR Workbench: personalized prompt-tuning for cold-start sequential recommendation.",
    )
    parser.add_argument(
        "--home",
        default=None,
        help="folder holding datasets and runs (default: $PPR_HOME, else ./cache)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    full = COMMANDS[command][0] if command in COMMANDS else None
    for name, (module, text) in COMMANDS.items():
        if module != full:
            sub.add_parser(name, help=text, add_help=False)
        elif name not in sub.choices:
            importlib.import_module(f"ppr.cli.{module}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = build_parser().parse_known_args(argv)[0].command  # top-level --help and usage errors end here
    args = build_parser(command).parse_args(argv)
    args.argv = argv  # what a command that starts itself again (`warm --ddp N`) passes on
    try:
        return int(args.func(args, Store(args.home)) or 0)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `... | head` stopped reading: nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # permissions, a full disk, a name too long...: the store's one-paragraph message
        print(f"error: {os_error_message(exc, f'finish `python -m ppr {command}`')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def run() -> None:
    """The `ppr` console command (pip install -e .)."""
    sys.exit(main())
