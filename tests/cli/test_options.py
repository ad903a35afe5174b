"""CLI flags derived from the run description: one flag per declared setting, values judged by the spec's checks
(a bad value exits 2 naming the setting), and the `ppr` console command."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from _planted import planted_dataset

from ppr.cli import build_parser
from ppr.cli.jobs import sweep_spec
from ppr.cli.options import settings_from
from ppr.data.store import Store
from ppr.spec.run import BackboneSpec, SplitSpec, TuneSpec, WarmSpec
from ppr.spec.settings import declaration, value_types

REPO = Path(__file__).resolve().parents[2]
SPLIT_FLAGS = [
    "--split-seed",
    "--cold-threshold",
    "--simulate-cold",
    "--folds",
    "--test-frac",
    "--val-frac",
    "--negatives",
    "--target-domain",
]
BACKBONE_FLAGS = ["--backbone", "--max-len", "--d", "--layers", "--heads", "--d-ff", "--dropout"]
WARM_FLAGS = ["epochs", "patience", "batch-size", "lr", "weight-decay", "loss", "train-negatives", "warmup", "decay"]
TUNE_FLAGS = [
    "--method",
    "--k-shot",
    "--fold",
    "--noise",
    "--lr",
    "--epochs",
    "--patience",
    "--batch-size",
    "--cl",
    "--no-cl",
    "--prompt-aug",
    "--no-prompt-aug",
    "--behavior-aug",
    "--no-behavior-aug",
    "--prompt-tokens",
    "--deep-prefix",
    "--no-deep-prefix",
    "--prompt-mask",
    "--behavior-mask",
    "--temperature",
    "--cl-weight",
]
# command -> (spec class, flag prefix, settings the command sets itself) for every spec node it takes
COMMAND_SETTINGS = {
    ("warm",): [(SplitSpec, "", ()), (BackboneSpec, "", ()), (WarmSpec, "", ())],
    ("tune",): [(SplitSpec, "", ()), (BackboneSpec, "", ()), (WarmSpec, "warm-", ()), (TuneSpec, "", ())],
    ("sweep",): [
        (SplitSpec, "", ()),
        (BackboneSpec, "", ()),
        (WarmSpec, "warm-", ()),
        (TuneSpec, "", ("method", "k_shot", "noise", "fold")),  # grid axes (lists); every fold of the split
    ],
    ("data", "split"): [(SplitSpec, "", ())],
}


def _help(run_cli, *command: str) -> str:
    rc, out, err = run_cli(*command, "--help")
    assert rc == 0, err
    return out


def _flags(cls: type, prefix: str, skip: tuple[str, ...]) -> list[str]:
    """The flags a spec class' declarations call for (bool settings: --x and --no-x)."""
    out = []
    for f in dataclasses.fields(cls):
        d = declaration(f)
        if d.cli and f.name not in skip:
            stem = prefix + (d.flag or f.name.replace("_", "-"))
            out += [f"--{stem}", f"--no-{stem}"] if value_types(cls)[f.name] is bool else [f"--{stem}"]
    return out


def test_the_declared_flags_are_the_documented_ones() -> None:
    assert _flags(SplitSpec, "", ()) == SPLIT_FLAGS
    assert _flags(BackboneSpec, "", ()) == BACKBONE_FLAGS
    assert _flags(WarmSpec, "", ()) == [f"--{f}" for f in WARM_FLAGS]  # the seed is the command's --seed
    assert _flags(WarmSpec, "warm-", ()) == [f"--warm-{f}" for f in WARM_FLAGS]
    assert _flags(TuneSpec, "", ()) == TUNE_FLAGS


@pytest.mark.parametrize("command", list(COMMAND_SETTINGS))
def test_every_cli_setting_of_each_spec_has_a_flag_with_its_help(run_cli, command: tuple[str, ...]) -> None:
    text = _help(run_cli, *command)
    words = " ".join(text.split())  # help lines are wrapped
    for cls, prefix, skip in COMMAND_SETTINGS[command]:
        for flag in _flags(cls, prefix, skip):
            assert f" {flag} " in f" {words} ".replace(",", " ").replace("[", " "), (command, flag)
        for f in dataclasses.fields(cls):
            d = declaration(f)
            if d.cli and f.name not in skip:
                assert " ".join(d.help.split())[:40] in words, (command, f.name)
    assert "--warm-seed" not in text and "--tune-seed" not in text
    if command != ("data", "split"):  # one seed (a sweep: a list) for the warm and tuning runs
        assert (" --seeds " if command == ("sweep",) else " --seed ") in f" {words} " and "--device" in text


def test_flags_fill_their_spec_nodes_and_the_rest_keeps_its_defaults() -> None:
    parser = build_parser("tune")
    args = parser.parse_args(["tune", "planted", "--method", "ppr-full"])
    assert settings_from(args, SplitSpec) == SplitSpec() and settings_from(args, BackboneSpec) == BackboneSpec()
    assert settings_from(args, WarmSpec) == WarmSpec() and settings_from(args, TuneSpec) == TuneSpec(method="ppr-full")
    argv = ["tune", "planted", "--method", "ppr-full", "--k-shot", "all", "--no-cl", "--deep-prefix", "--epochs", "3"]
    argv += ["--warm-epochs", "7", "--warm-lr", "0.01", "--split-seed", "5", "--negatives", "20", "--heads", "2"]
    args = parser.parse_args(argv)
    tune = settings_from(args, TuneSpec, seed=4)
    assert tune == TuneSpec(method="ppr-full", k_shot=None, cl=False, deep_prefix=True, epochs=3, seed=4)
    assert settings_from(args, WarmSpec) == WarmSpec(epochs=7, lr=0.01)
    assert settings_from(args, SplitSpec) == SplitSpec(seed=5, n_negatives=20)
    assert settings_from(args, BackboneSpec) == BackboneSpec(n_heads=2)
    args = parser.parse_args(["tune", "planted", "--method", "ppr-light", "--k-shot", "3", "--cl", "--lr", "default"])
    assert settings_from(args, TuneSpec) == TuneSpec(method="ppr-light", k_shot=3, cl=True, lr=None)

    args = build_parser("warm").parse_args(
        ["warm", "planted", "--epochs", "7", "--lr", "1e-2", "--simulate-cold", "0.3"]
    )
    assert settings_from(args, WarmSpec) == WarmSpec(epochs=7, lr=0.01)
    assert settings_from(args, SplitSpec) == SplitSpec(simulate_cold=0.3)
    args = build_parser("warm").parse_args(["warm", "planted", "--simulate-cold", "auto"])
    assert settings_from(args, SplitSpec).simulate_cold is None


def test_sweep_flags_make_the_grid_and_the_shared_settings(home: Path) -> None:
    store = Store(home)
    planted_dataset(store, n_users=100)
    argv = ["sweep", "planted", "--methods", "finetune,ppr-light", "--k-shots", "1,all", "--noise", "0,0.5"]
    argv += ["--seeds", "0,3", "--ablations", "none,no-cl", "--epochs", "3", "--warm-epochs", "4", "--d", "32"]
    spec = sweep_spec(build_parser("sweep").parse_args([*argv, "--folds", "1"]), store)
    assert (spec.methods, spec.k_shots, spec.noises, spec.seeds) == (
        ("finetune", "ppr-light"),
        (1, None),
        (0, 0.5),
        (0, 3),
    )
    assert spec.ablations == ("none", "no-cl") and spec.base.tune.epochs == 3 and spec.base.warm.epochs == 4
    assert spec.base.backbone.d == 32 and spec.base.dataset == "planted@v1"
    # per seed: finetune 2 k x 2 noise, ppr-light 2 k x 2 noise x 2 ablations
    assert len(spec.cells()) == 2 * (4 + 8)
    assert {s.warm.seed for _, s in spec.cells()} == {0, 3}  # each cell's warm run follows its seed
    every_fold = sweep_spec(build_parser("sweep").parse_args(argv), store)  # auto: 5 folds of ~35 cold users
    assert every_fold.folds == (0, 1, 2, 3, 4) and len(every_fold.cells()) == 5 * len(spec.cells())
    assert {s.tune.fold for _, s in every_fold.cells()} == set(range(5))


@pytest.mark.parametrize(
    ("argv", "setting"),
    [
        (["--lr", "inf"], "Tuning setting lr=inf"),
        (["--lr", "nan"], "Tuning setting lr=nan"),
        (["--k-shot", "0"], "Tuning setting k_shot=0"),
        (["--k-shot", "99999999999999999999"], "Tuning setting k_shot=99999999999999999999"),
        (["--k-shot", "2.5"], "Tuning setting k_shot='2.5'"),
        (["--temperature", "inf"], "Tuning setting temperature=inf"),
        (["--noise", "2"], "Tuning setting noise=2.0"),
        (["--cl-weight", "-1"], "Tuning setting cl_weight=-1.0"),
        (["--warm-lr", "inf"], "Warm-training setting lr=inf"),
        (["--warm-epochs", "0"], "Warm-training setting epochs=0"),
        (["--dropout", "1"], "Backbone setting dropout=1.0"),
        (["--negatives", "many"], "Split setting n_negatives='many'"),
    ],
)
def test_a_bad_value_exits_2_naming_the_setting(run_cli, home: Path, argv: list[str], setting: str) -> None:
    planted_dataset(Store(home), n_users=100)
    rc, out, err = run_cli("tune", "planted", "--method", "ppr-full", *argv, "--no-progress")
    assert rc == 2 and out == ""
    assert err.startswith("error: ") and setting in err and "is invalid: expected" in err and "Traceback" not in err
    assert not (home / "runs").exists()  # nothing computed


def test_ppr_console_command_shows_its_own_name() -> None:
    script = "import sys; sys.argv = ['ppr', '--help']; from ppr.cli import run; run()"
    res = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("usage: ppr [-h] [--home HOME] COMMAND")
    for command in ("data", "warm", "tune", "sweep", "runs", "report"):
        assert f"    {command} " in res.stdout
    res = subprocess.run([sys.executable, "-m", "ppr", "--help"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.startswith("usage: python -m ppr ")
    script = "import sys; sys.argv = ['ppr', 'nope']; from ppr.cli import run; run()"
    res = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "usage: ppr " in res.stderr and "invalid choice: 'nope'" in res.stderr
