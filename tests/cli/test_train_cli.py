"""`python -m ppr warm` / `tune`: run folders, reuse, --json, bad settings -> exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import torch
from _planted import planted_dataset

from ppr.data.store import Store
from ppr.jobs.status import raw_status

TINY = ["--max-len", "10", "--d", "16", "--layers", "1", "--d-ff", "32", "--no-progress"]
WARM = ["--warm-epochs", "3", "--warm-lr", "1e-2"]


def test_warm_then_tune_write_complete_reusable_runs(home: Path, run_cli) -> None:
    ds = planted_dataset(Store(home), n_users=400)
    rc, out, err = run_cli("warm", "planted", *TINY, "--epochs", "3", "--lr", "1e-2", "--json")
    assert rc == 0, err
    warm = json.loads(out)
    assert warm["kind"] == "warm" and 0 <= warm["warm_test"]["ndcg@10"] <= 1 and warm["warm_test"]["n"] > 100
    assert raw_status(Path(warm["run_dir"]))["state"] == "done"  # status.json, as a worker's run has

    tune = ["tune", "planted", "--method", "ppr-light", *TINY, *WARM, "--epochs", "2", "--batch-size", "32", "--json"]
    rc, out, err = run_cli(*tune)
    assert rc == 0, err
    assert f"reusing complete warm run {warm['run_id']}" in err  # same dataset, split, backbone, seed
    m = json.loads(out)
    assert set(m["test"]) == {"few", "zero", "joint"} and not m["reused"]
    assert m["test"]["joint"]["n"] == m["test"]["few"]["n"] + m["test"]["zero"]["n"]
    assert 0 < m["params"]["share_of_finetune"] < 1 and m["warm_run"] == warm["run_id"]

    run_dir = Path(m["run_dir"])
    assert run_dir.parent == home / "runs"
    spec = json.loads((run_dir / "spec.json").read_text())
    assert spec["dataset"]["content_hash"] == ds.content_hash and spec["split"]["id"]
    assert {"torch", "numpy", "pandas", "duckdb", "python"} <= set(spec["versions"])
    assert spec["tune"]["method"] == "ppr-light" and spec["tune"]["k_shot"] is None
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert any(k.startswith("prompt.") for k in state)
    scores = pd.read_parquet(run_dir / "scores.parquet")
    assert {"target_id", "user", "kind", "auc", "hit@10", "ndcg@10"} <= set(scores.columns)
    assert len(scores[scores["group"] == "test"]) == m["test"]["joint"]["n"]

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


def test_bad_settings_exit_2_and_leave_no_run(home: Path, run_cli) -> None:
    planted_dataset(Store(home), n_users=400)
    for argv, needle in [
        (["--method", "magic"], "method"),
        (["--method", "finetune", "--k-shot", "zero"], "--k-shot"),
        (["--method", "finetune", "--k-shot", "0"], "--k-shot"),
        (["--method", "ppr-full", "--temperature", "0"], "temperature"),
        (["--method", "finetune", "--warm", "no-such-run"], "no-such-run"),
        (["--method", "finetune", "--simulate-cold", "lots"], "--simulate-cold"),
    ]:
        rc, out, err = run_cli("tune", "planted", *argv, *TINY)
        assert rc == 2, (argv, err)
        assert needle in err
    assert not (home / "runs").exists() or not any((home / "runs").iterdir())
