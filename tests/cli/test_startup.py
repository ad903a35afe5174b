"""Start-up: commands that train nothing never import torch; the lazily built parser lists every command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ppr.cli import COMMANDS, build_parser
from ppr.cli.options import settings_from
from ppr.spec.run import TuneSpec, WarmSpec

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "scipy", "ppr.runs.pipeline", "ppr.jobs.worker", "ppr.train.trainer")


@pytest.mark.parametrize(
    "command",
    [
        ["data", "list"],
        ["runs", "list"],
        ["runs", "list", "--json"],
        ["--help"],
        ["tune", "--help"],
        ["sweep", "--help"],
    ],
)
def test_listing_commands_do_not_import_torch(tmp_path: Path, command: list[str]) -> None:
    script = (
        "import sys\n"
        f"HEAVY = {HEAVY!r}\n"
        "from ppr.cli import main\n"
        "try:\n"
        f"    rc = main(['--home', {str(tmp_path)!r}, *{command!r}])\n"
        "except SystemExit as exc:  # --help\n"
        "    rc = exc.code\n"
        "heavy = sorted(m for m in HEAVY if m in sys.modules)\n"
        "print(rc, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True).stdout
    assert out.strip().splitlines()[-1] == "0 []"


def test_top_level_help_is_the_same_whichever_command_is_built() -> None:
    full = {cmd: build_parser(cmd) for cmd in COMMANDS}
    assert {p.format_help() for p in full.values()} == {build_parser().format_help()}
    args = full["tune"].parse_args(["tune", "planted", "--method", "finetune"])  # the real parser, defaults included
    assert args.func.__name__ == "run_tune"
    assert settings_from(args, TuneSpec) == TuneSpec(method="finetune") and settings_from(args, TuneSpec).epochs is None
    assert settings_from(args, WarmSpec) == WarmSpec() and WarmSpec().epochs > 0
