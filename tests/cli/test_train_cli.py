"""`python -m ppr warm` / `tune`: run folders, reuse, --json, bad settings -> exit 2, a diverged or orphaned run
fails with a clear reason, and a tune killed at any point runs again."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from _planted import TINY_FLAGS, planted_dataset

from ppr.data.store import Store
from ppr.runs import pipeline
from ppr.runs.folder import list_runs
from ppr.runs.status import raw_status, read_metrics, read_status
from ppr.spec.run import RunSpec, WarmSpec
from ppr.train import methods

REPO = Path(__file__).resolve().parents[2]

TINY = ["--max-len", "10", "--d", "16", "--layers", "1", "--d-ff", "32", "--no-progress"]
WARM = ["--warm-epochs", "3", "--warm-lr", "1e-2"]


def test_warm_then_tune_write_complete_reusable_runs(home: Path, run_cli) -> None:
    ds = planted_dataset(Store(home), n_users=400)
    rc, out, err = run_cli("warm", "planted", *TINY, "--epochs", "3", "--lr", "1e-2", "--json")
    assert rc == 0, err
    warm = json.loads(out)
    warm_test = warm["summary"]["warm_test"]["joint"]
    assert warm["kind"] == "warm" and 0 <= warm_test["ndcg@10"] <= 1 and warm_test["n"] > 100 and not warm["reused"]
    assert 0 <= warm["summary"]["warm_val"]["joint"]["auc"] <= 1 and warm["epochs_run"] == 3
    warm_spec = RunSpec.from_dict(json.loads((Path(warm["run_dir"]) / "spec.json").read_text())["spec"])
    assert warm_spec.warm == WarmSpec(epochs=3, lr=1e-2) and warm_spec.backbone.d == 16 and warm_spec.tune is None
    assert raw_status(Path(warm["run_dir"]))["state"] == "done"  # status.json, as a worker's run has

    tune = ["tune", "planted", "--method", "ppr-light", *TINY, *WARM, "--epochs", "2", "--batch-size", "32", "--json"]
    rc, out, err = run_cli(*tune)
    assert rc == 0, err
    assert f"reusing complete run {warm['run_id']}" in err  # same dataset, split, backbone, seed
    m = json.loads(out)
    test = m["summary"]["test"]
    assert set(test) == {"few", "zero", "joint"} and not m["reused"] and m["kind"] == "tune"
    assert test["joint"]["n"] == test["few"]["n"] + test["zero"]["n"]
    assert 0 < m["params"]["share_of_finetune"] < 1 and m["warm_run"] == warm["run_id"]

    run_dir = Path(m["run_dir"])
    assert run_dir.parent == home / "runs"
    info = json.loads((run_dir / "spec.json").read_text())
    assert (
        info["run_id"] == run_dir.name == m["run_id"] and info["semantics"] == RunSpec.from_dict(info["spec"]).semantics
    )
    spec = info["spec"]
    assert spec["dataset"] == ds.ref and spec["dataset_hash"] == ds.content_hash and spec["split"]["seed"] == 0
    assert {"torch", "numpy", "pandas", "duckdb", "python"} <= set(m["environment"]["versions"])
    assert spec["tune"]["method"] == "ppr-light" and spec["tune"]["k_shot"] is None
    assert (spec["tune"]["epochs"], spec["tune"]["batch_size"], spec["tune"]["lr"]) == (2, 32, None)
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert any(k.startswith("prompt.") for k in state)
    scores = pd.read_parquet(run_dir / "scores.parquet")
    assert {"target_id", "user", "kind", "auc", "hit@10", "ndcg@10"} <= set(scores.columns)
    assert len(scores[scores["group"] == "test"]) == test["joint"]["n"]

    rc, out, err = run_cli(*tune)
    assert rc == 0 and json.loads(out)["reused"] and json.loads(out)["run_dir"] == str(run_dir)
    assert "reusing complete run" in err

    rc, out, err = run_cli(
        "tune",
        "planted",
        "--method",
        "warm-only",
        "--warm",
        warm["run_id"],
        "--k-shot",
        "2",
        "--noise",
        "0.5",
        "--no-progress",
    )
    assert rc == 0, err
    assert "test      zero" in out and "tuned parameters 0" in out

    rc, out, err = run_cli("tune", "planted", "--method", "finetune", "--warm", m["run_id"], "--no-progress")
    assert rc == 2 and "is a tuning run" in err


def test_bad_settings_exit_2_and_leave_no_run(home: Path, run_cli) -> None:
    planted_dataset(Store(home), n_users=400)
    for argv, needle in [
        (["--method", "magic"], "method='magic'"),
        (["--method", "finetune", "--k-shot", "zero"], "k_shot='zero'"),
        (["--method", "finetune", "--k-shot", "0"], "k_shot=0"),
        (["--method", "ppr-full", "--temperature", "0"], "temperature=0.0"),
        (["--method", "finetune", "--warm", "no-such-run"], "no-such-run"),
        (["--method", "finetune", "--simulate-cold", "lots"], "simulate_cold='lots'"),
        (["--method", "finetune", "--heads", "3"], "n_heads=3"),
        (["--method", "finetune", "--warm-lr", "-1"], "Warm-training setting lr=-1.0"),
        (["--method", "finetune", "--test-frac", "0.95"], "test_frac"),
    ]:
        rc, out, err = run_cli("tune", "planted", *argv, *TINY)
        assert rc == 2, (argv, err)
        assert needle in err
    assert not (home / "runs").exists() or not any((home / "runs").iterdir())


def _nan_when_tuning(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tuning objectives that yield NaN (as a diverging model does); warm-training stays as it is."""
    real = methods.objective

    def objective(spec: RunSpec):
        loss = real(spec)
        return loss if spec.tune is None else lambda model, batch, gen: loss(model, batch, gen) * float("nan")

    monkeypatch.setattr(methods, "objective", objective)


def test_a_diverged_tune_fails_with_its_epoch_and_loss_and_never_shows_as_a_result(
    home: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted_dataset(Store(home), n_users=300)
    _nan_when_tuning(monkeypatch)
    rc, out, err = run_cli("tune", "planted", "--method", "finetune", *TINY_FLAGS, "--epochs", "3", "--no-progress")
    assert rc == 2 and "Traceback" not in err and "diverged" in err and "epoch 1" in err and "nan" in err
    [tune] = (home / "runs").glob("planted-finetune-*")
    st = read_status(tune)
    assert st["state"] == "failed" and "epoch 1" in st["error"] and "nan" in st["error"] and st["pid"] is None
    assert not (tune / "metrics.json").exists() and not (tune / "scores.parquet").exists()
    rc, out, _ = run_cli("runs", "list", "--json")
    assert {r["id"]: r["state"] for r in json.loads(out)["runs"]}[tune.name] == "failed"

    rc, out, err = run_cli("sweep", "planted", "--methods", "finetune", *TINY_FLAGS, "--epochs", "2", "--folds", "1")
    sid = out.strip().splitlines()[-1]
    assert rc == 1 and "diverged" in err
    rc, out, err = run_cli("report", sid, "--format", "csv")
    assert rc == 0 and "finetune" not in out.split("\n", 1)[1]  # no row of a diverged run in the table
    assert json.loads(run_cli("runs", "show", sid, "--json")[1])["counts"]["done"] == 1  # only its warm run


def test_a_dataset_removed_while_a_tune_computes_fails_it_with_a_clear_error(
    home: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(home)
    planted_dataset(store, n_users=300)
    real = methods.profile_codes

    def removed_meanwhile(tune, ds, split):
        shutil.rmtree(store.datasets_dir / "planted")  # as `data rm planted` in another shell
        return real(tune, ds, split)

    monkeypatch.setattr(methods, "profile_codes", removed_meanwhile)
    rc, _, err = run_cli("tune", "planted", "--method", "finetune", *TINY_FLAGS, "--no-progress")
    assert rc == 2 and "Traceback" not in err and "Dataset planted@v1 was removed" in err
    [tune] = (home / "runs").glob("planted-finetune-*")
    assert read_status(tune)["state"] == "failed" and "was removed" in read_status(tune)["error"]


@pytest.mark.parametrize("seed", [2, 0, 4])
def test_a_tune_killed_at_a_random_point_leaves_nothing_stuck_and_runs_again(home: Path, run_cli, seed: int) -> None:
    """kill -9 of `python -m ppr tune` at a random moment (start-up, split, warm-training, tuning, writing)."""
    planted_dataset(Store(home), n_users=300)
    argv = ["tune", "planted", "--method", "ppr-light", *TINY_FLAGS, "--epochs", "3", "--no-progress", "--json"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ppr", "--home", str(home), *argv],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(float(np.random.default_rng(seed).uniform(0.5, 5.0)))
    proc.kill()
    proc.wait(timeout=30)

    rc, out, err = run_cli("runs", "list", "--json")
    assert rc == 0 and "warning" not in err, err  # every listing reads; nothing damaged
    for row in json.loads(out)["runs"]:
        assert row["state"] in ("done", "failed") and (row["state"] == "done" or row["stale"]), row  # none stuck
        rc, _, err = run_cli("runs", "show", row["id"])
        assert rc == 0, err
    assert list_runs(home / "runs", warn=None) == list_runs(home / "runs")

    rc, out, err = run_cli(*argv)  # the same command: it resumes or recomputes
    assert rc == 0, err
    result = json.loads(out)
    assert 0 <= result["summary"]["test"]["joint"]["auc"] <= 1
    rc, out, _ = run_cli("runs", "list", "--json")
    assert {r["state"] for r in json.loads(out)["runs"]} == {"done"}


DDP = [*TINY, "--epochs", "4", "--lr", "1e-2", "--batch-size", "64", "--device", "cpu", "--json"]


def _launched(launcher: list[str], home: Path, *argv: str) -> dict:
    """`launcher --home HOME argv` run as a user would, in processes of its own; the result it prints."""
    command = [*launcher, "--home", str(home), *argv]
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_warm_ddp_2_learns_as_well_as_one_process_and_is_the_same_run(home: Path, run_cli) -> None:
    """Two gloo processes, each half of every batch of 64: quality within seed noise of one process (planted next-
    item rule; on three seeds the two differ by under 0.01 HIT@10), the same run id, and its process count kept."""
    planted_dataset(Store(home), n_users=400, chain=True)
    shared = _launched([sys.executable, "-m", "ppr"], home, "warm", "planted", *DDP, "--ddp", "2")
    assert shared["environment"]["processes"] == 2 and shared["epochs_run"] == 4 and not shared["reused"]
    rc, out, err = run_cli("warm", "planted", *DDP)  # the process count is not part of the run: reused
    assert rc == 0 and json.loads(out)["reused"] and json.loads(out)["run_id"] == shared["run_id"], err

    shutil.rmtree(shared["run_dir"])
    rc, out, err = run_cli("warm", "planted", *DDP)
    alone = json.loads(out)
    assert rc == 0 and alone["run_id"] == shared["run_id"] and alone["environment"]["processes"] == 1, err
    hits = [r["summary"]["warm_test"]["joint"]["hit@10"] for r in (alone, shared)]
    assert min(hits) > 0.6 and abs(hits[0] - hits[1]) < 0.05, hits  # random: 0.1 (10 of 100 candidates)


def test_a_warm_run_interrupted_alone_resumes_under_torchrun(home: Path, run_cli, monkeypatch) -> None:
    """The plain `torchrun ... -m ppr warm` line: its processes find their ranks in the environment and continue
    the run from its epoch checkpoint. (No --d: torchrun's own parser takes it for one of its flags.)"""
    planted_dataset(Store(home), n_users=300, chain=True)
    flags = [f for f in DDP if f not in ("--d", "16")]
    real = pipeline.record_epoch

    def record_epoch(run, row: dict, max_epochs: int) -> None:
        if row["epoch"] == 2:  # epoch 2 trained; the last checkpoint is epoch 1's
            raise RuntimeError("power cut")
        real(run, row, max_epochs)

    monkeypatch.setattr(pipeline, "record_epoch", record_epoch)
    with pytest.raises(RuntimeError, match="power cut"):
        run_cli("warm", "planted", *flags)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "ppr"]
    result = _launched(torchrun, home, "warm", "planted", *flags)
    assert result["environment"]["processes"] == 2 and result["epochs_run"] == 4
    assert result["summary"]["warm_test"]["joint"]["hit@10"] > 0.6
    lines = read_metrics(Path(result["run_dir"]))
    assert [(r.get("event"), r["epoch"]) for r in lines] == [
        (None, 0),
        (None, 1),
        ("resumed", 1),
        *((None, e) for e in (2, 3, 4)),
    ]
    assert raw_status(Path(result["run_dir"]))["state"] == "done"
