"""Sweeps in the foreground: grid expansion, report over all cells, no recomputation, failures recorded."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _fakeruns import scores_frame, write_run
from _planted import TINY_FLAGS, planted_dataset

from ppr.data.store import Store
from ppr.jobs import sweep as sweeps
from ppr.report.results import summary_rows
from ppr.runs.folder import list_runs
from ppr.spec.run import IMPORTED, RunSpec, TuneSpec, WarmSpec
from ppr.spec.sweep import SweepSpec
from ppr.train import methods

TINY = [*TINY_FLAGS, "--epochs", "2"]
GRID = ["--methods", "finetune,ppr-light", "--k-shots", "2,all", "--noise", "0", "--seeds", "0,1"]


def _files(home: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in (home / "runs").rglob("*") if p.is_file() and p.name != "status.json"}


def test_sweep_runs_every_cell_reports_them_and_never_recomputes(home: Path, run_cli) -> None:
    planted_dataset(Store(home), n_users=300)
    rc, out, err = run_cli("sweep", "planted", *GRID, *TINY)
    assert rc == 0, err
    sid = out.strip().splitlines()[-1]
    assert "8 cells (0 already done), 2 warm runs, 10 runs in all" in out
    sweep = json.loads((home / "sweeps" / sid / "sweep.json").read_text())
    assert sweep["state"] == "done" and len(sweep["runs"]) == 10 and sweep["pid"] is None
    assert sweep["runs"][0] == sweep["warm_runs"][0] and sweep["runs"][5] == sweep["warm_runs"][1]  # per seed
    assert sweeps.list_sweeps(Store(home)) == [sid] and [b["id"] for b in sweeps.latest_sweeps(Store(home))] == [sid]

    rc, out, _ = run_cli("runs", "list", "--json")
    listing = json.loads(out)
    runs = listing["runs"]
    assert len(runs) == 10 and {r["state"] for r in runs} == {"done"} and all(r["progress"] == 1.0 for r in runs)
    keys = ("id", "dataset", "state", "progress", "counts", "pid")
    assert [{k: b[k] for k in keys} for b in listing["sweeps"]] == [
        {"id": sid, "dataset": "planted@v1", "state": "done", "progress": 1.0, "counts": _counts(done=10), "pid": None}
    ]
    tuned = home / "runs" / next(c["run_id"] for c in sweep["cells"] if c["method"] == "ppr-light")
    assert {
        "spec.json",
        "status.json",
        "metrics.jsonl",
        "scores.parquet",
        "checkpoint.pt",
        "embeddings.parquet",
        "metrics.json",
    } <= {p.name for p in tuned.iterdir()}
    assert not (tuned / "resume.pt").exists()
    lines = [json.loads(x) for x in (tuned / "metrics.jsonl").read_text().splitlines()]
    assert [x.get("epoch") for x in lines] == [0, 1, 2] and 0 <= lines[-1]["val_ndcg@10"] <= 1
    emb = pd.read_parquet(tuned / "embeddings.parquet")
    assert set(emb["role"]) == {"tune", "val", "test"} and {"taste", "noise"} <= set(emb.columns)
    test_rows = emb[emb["role"] == "test"]
    assert all(len(t) == 20 and len(set(t)) == 20 and min(t) >= 1 for t in test_rows["top20"])
    assert emb[emb["role"] != "test"]["top20"].isna().all() and len(emb["prompt"].iloc[0]) == 16

    rc, out, _ = run_cli("report", sid, "--format", "json")
    report = json.loads(out)
    assert report["summary"]["id"] == sid and report["summary"]["counts"]["done"] == 10
    rows = pd.DataFrame(report["rows"])
    joint = rows[(rows["group"] == "joint") & (rows["metric"] == "ndcg@10")]
    assert len(joint) == 4 and set(joint["n_seeds"]) == {2}  # (k 2, all) x (finetune, ppr-light), both seeds
    assert joint.loc[joint["label"] == "finetune", "rel_vs_finetune"].abs().max() == 0
    light = joint[joint["label"] == "ppr-light"]
    assert light["p_adj"].between(0, 1).all() and (light["p_adj"] >= light["p_wilcoxon"]).all()
    assert (joint["ci_low"] <= joint["mean"]).all() and (joint["mean"] <= joint["ci_high"]).all()
    rc, md, _ = run_cli("report", sid)
    assert (
        md.count("| ppr-light |") == 6 and "## k=all, noise 0: joint test targets" in md and "10 of 10 runs done" in md
    )
    rc, csv, _ = run_cli("report", sid, "--format", "csv")
    assert csv.splitlines()[0].startswith("k,noise,label,method,ablation,group,metric,mean,ci_low,ci_high")

    results = summary_rows(list_runs(home / "runs"))
    test = results[(results["eval_set"] == "test") & (results["group"] == "joint") & (results["metric"] == "ndcg@10")]
    assert len(test) == 8 and set(test["method"]) == {"finetune", "ppr-light"} and set(test["k"]) == {"2", "all"}
    assert set(results.loc[results["method"] == "warm", "eval_set"]) == {"warm_val", "warm_test"}

    before = _files(home)
    rc, out, err = run_cli("sweep", "planted", *GRID, *TINY)
    assert rc == 0 and "8 cells (8 already done)" in out and "tuning" not in err and "warm-training" not in err
    assert out.strip().splitlines()[-1] == sid  # the same sweep, found again
    assert _files(home) == before  # nothing rewritten, nothing trained


def _counts(**given: int) -> dict[str, int]:
    return {s: given.get(s, 0) for s in ("queued", "running", "done", "failed", "cancelled")}


def test_summary_rows_without_runs_is_an_empty_typed_frame() -> None:
    df = summary_rows([])
    assert df.empty and {"run_id", "method", "k", "noise", "seed", "eval_set", "group", "metric", "value"} <= set(
        df.columns
    )


def test_a_run_that_raises_is_failed_with_its_traceback(home: Path, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    planted_dataset(Store(home), n_users=300)

    def boom(*args, **kwargs):
        raise RuntimeError("boom in tuning")

    monkeypatch.setattr(methods, "tuned_model", boom)
    rc, out, err = run_cli("sweep", "planted", "--methods", "finetune", "--seeds", "0", *TINY)
    assert rc == 1 and "failed" in err
    sid = out.strip().splitlines()[-1]
    rc, out, _ = run_cli("runs", "show", sid, "--json")
    sweep = json.loads(out)
    assert sweep["state"] == "failed" and sweep["counts"] == _counts(done=1, failed=1)  # the warm run is fine
    assert [r["state"] for r in sweep["run_states"]] == ["done", "failed"]
    cell = sweep["cells"][0]["run_id"]
    rc, out, _ = run_cli("runs", "show", cell, "--json")
    st = json.loads(out)
    assert (
        st["state"] == "failed"
        and "boom in tuning" in st["error"]
        and st["spec"]["spec"]["tune"]["method"] == "finetune"
    )
    assert "Traceback" in st["traceback"] and "RuntimeError: boom in tuning" in st["traceback"]
    rc, out, _ = run_cli("runs", "show", cell)
    assert rc == 0 and "RuntimeError: boom in tuning" in out and "Traceback" in out
    rc, out, _ = run_cli("runs", "list")
    assert f"{cell}" in out and "failed" in out
    rc, out, _ = run_cli("report", sid)
    assert rc == 0 and "1 failed" in out and "No finished tuning runs yet." in out


def test_an_added_run_stays_listed_when_the_sweep_is_submitted_again_or_updated(home: Path) -> None:
    """add_run lists a finished run from outside the grid (imported scores); submit and update_sweep keep it."""
    store = Store(home)
    ds = planted_dataset(store, n_users=300)
    base = RunSpec(ds.ref, ds.content_hash, warm=WarmSpec(epochs=1))
    sweep = SweepSpec.grid(base, ("pop",), (None,), (0.0,), (0,))
    body = sweeps.submit(store, sweep)
    imported = TuneSpec(method=IMPORTED, imported="bert4rec", scores_sha256="0" * 64)
    run = write_run(home, base.tuned(imported), scores_frame(np.linspace(0, 1, 8), "test"))
    assert sweeps.add_run(store, body["id"], run) and not sweeps.add_run(store, body["id"], run)
    listed = sweeps.read_sweep(store, body["id"])
    assert listed["runs"][-1] == run.id and listed["counts"]["done"] == 1
    cell = listed["cells"][-1]
    assert (cell["run_id"], cell["method"], cell["label"], cell["k"], cell["state_at_submit"]) == (
        run.id,
        IMPORTED,
        "bert4rec",
        "all",
        "done",
    )
    sweeps.update_sweep(sweeps.sweeps_dir(store) / body["id"], state="done")
    again = sweeps.submit(store, sweep)
    assert again["runs"] == [*body["runs"], run.id] and [c["run_id"] for c in again["cells"]][-1] == run.id
    assert [r.id for r in sweeps.sweep_runs(store, body["id"])][-1] == run.id


def test_the_stamp_moves_when_a_run_of_the_sweep_finishes(sweep_home) -> None:
    """Compare's cached reading is keyed by it: a cell finishing must show without the sweep file changing."""
    home, sid = sweep_home
    store = Store(home)
    before = sweeps.sweep_stamp(store, sid)
    metrics = sweeps.sweep_runs(store, sid)[0].path / "metrics.json"
    os.utime(metrics, (before + 5, before + 5))
    assert sweeps.sweep_stamp(store, sid) == before + 5
