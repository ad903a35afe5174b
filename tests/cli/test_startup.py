"""Start-up: commands that train nothing never import torch; the lazily built parser lists every command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ppr.cli import COMMANDS, build_parser


@pytest.mark.parametrize("command", [["data", "list"], ["runs", "list"]])
def test_listing_commands_do_not_import_torch(tmp_path: Path, command: list[str]) -> None:
    script = (
        "import sys\n"
        "from ppr.cli import main\n"
        f"rc = main(['--home', {str(tmp_path)!r}, *{command!r}])\n"
        "heavy = sorted(m for m in ('torch', 'scipy', 'ppr.experiment', 'ppr.jobs.worker') if m in sys.modules)\n"
        "print(rc, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "0 []"


def test_top_level_help_is_the_same_whichever_command_is_built() -> None:
    full = {cmd: build_parser(cmd) for cmd in COMMANDS}
    assert {p.format_help() for p in full.values()} == {build_parser().format_help()}
    args = full["tune"].parse_args(["tune", "planted", "--method", "finetune"])  # the real parser, defaults included
    assert args.func.__name__ == "run_tune" and args.epochs is None and args.warm_epochs > 0
