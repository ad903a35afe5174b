"""ppr.cli's top level: commands that train nothing never import torch; the lazily built parser lists every
command; an error of the operating system is one paragraph with exit code 2."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _planted import planted_dataset

from ppr.cli import COMMANDS, build_parser
from ppr.cli.options import settings_from
from ppr.data.store import Store
from ppr.runs.folder import RunFolder
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


@pytest.mark.parametrize(
    ("code", "needle"),
    [
        (errno.ENOSPC, "disk is full"),
        (errno.EACCES, "permissions"),
        (errno.EROFS, "read-only"),
        (errno.ENAMETOOLONG, "too long"),
    ],
)
def test_an_os_error_is_one_paragraph_naming_the_path_with_exit_2(
    home: Path, run_cli, monkeypatch: pytest.MonkeyPatch, code: int, needle: str
) -> None:
    def refuse(self: RunFolder, spec: object) -> None:
        raise OSError(code, os.strerror(code), str(self.path / "spec.json"))

    monkeypatch.setattr(RunFolder, "write_spec", refuse)  # the first write of a run
    planted_dataset(Store(home), n_users=200)
    rc, out, err = run_cli("warm", "planted", "--no-progress")
    [line] = err.strip().splitlines()[-1:]
    assert rc == 2 and "Traceback" not in err and line.startswith("error: ") and needle in line
    assert os.strerror(code) in line and str(home / "runs") in line


def test_a_name_too_long_for_the_file_system_is_exit_2(run_cli) -> None:
    rc, out, err = run_cli("runs", "show", "x" * 300 + "/run")  # no mock: the OS refuses the path
    assert rc == 2 and "Traceback" not in err and "too long" in err and "x" * 300 in err
