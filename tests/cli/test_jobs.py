"""`python -m ppr runs list | show` and `report` over a store holding one damaged run: the others are listed and
reported, the damaged one is named in a one-line warning, `runs show` of it says what is wrong, and `runs resume`
computes it again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _damage import BINARY, damage
from _fakeruns import tuning_run
from _planted import planted_dataset

from ppr.data.store import Store
from ppr.io import atomic_write_json
from ppr.runs.folder import RunFolder
from ppr.runs.status import append_metrics, read_status, write_status


def _sweep(home: Path, runs: list) -> str:
    """A finished sweep listing `runs` (written as submit() does, without a worker)."""
    cells = [{"run_id": r.id, "label": r.info()["spec"]["tune"]["method"]} for r in runs]
    body = {"id": "s1", "dataset": "planted@v1", "state": "done", "pid": None, "runs": [r.id for r in runs]}
    atomic_write_json(home / "sweeps" / "s1" / "sweep.json", {**body, "cells": cells, "warm_runs": []})
    return "s1"


# one of each file (every kind of damage is checked on each listing in tests/runs and tests/jobs)
SOME = ["empty status.json", "status.json with a text pid", "binary spec.json", "spec.json with a list for its spec"]
SOME += ["truncated metrics.json", "truncated scores.parquet"]


@pytest.mark.parametrize("how", SOME)
def test_one_damaged_run_is_named_and_skipped_by_lists_and_reports(home: Path, run_cli, how: str) -> None:
    rng = np.random.default_rng(0)
    good = [tuning_run(home, rng.random(24), m, seed=s) for m in ("finetune", "ppr-light") for s in (0, 1)]
    bad = tuning_run(home, rng.random(24), "ppr-full")
    for run in [*good, bad]:
        write_status(run.path, state="done", progress=1.0)
    sid = _sweep(home, [*good, bad])
    fname = damage(bad.path, how)

    rc, out, err = run_cli("runs", "list")
    assert rc == 0 and all(r.id in out for r in good) and bad.id not in out and "Traceback" not in err
    [line] = [x for x in err.splitlines() if x]
    assert line.startswith("warning:") and bad.id in line and fname in line
    rc, out, err = run_cli("runs", "list", "--json")
    listing = json.loads(out)
    assert rc == 0 and sorted(r["id"] for r in listing["runs"]) == sorted(r.id for r in good)
    assert listing["sweeps"][0]["id"] == sid  # the sweep is listed, its damaged run counted failed
    assert listing["sweeps"][0]["counts"]["done"] == 4 + (fname == "spec.json")

    rc, out, err = run_cli("runs", "show", bad.id)
    assert rc == 0 and "Traceback" not in err
    assert "damaged" in out and fname in out and ("runs resume" in out or "delete its folder" in out)
    rc, out, _ = run_cli("runs", "show", bad.id, "--json")
    assert rc == 0 and fname in json.loads(out)["damaged"]
    rc, out, err = run_cli("runs", "show", sid)
    assert rc == 0 and bad.id in err

    rc, out, err = run_cli("report", sid, "--format", "json")
    assert rc == 0 and "Traceback" not in err and bad.id in err
    assert "ppr-full" not in json.dumps(json.loads(out).get("table", json.loads(out)))  # the damaged run left out
    assert "finetune" in out and "ppr-light" in out


def test_binary_bytes_in_metrics_lines_never_break_runs_show(home: Path, run_cli) -> None:
    run = tuning_run(home, np.linspace(0, 1, 8), complete=False)
    write_status(run.path, state="running", pid=None)
    append_metrics(run.path, {"epoch": 1, "loss": 0.5})
    with open(run.path / "metrics.jsonl", "ab") as fh:
        fh.write(BINARY + b"\n")
    append_metrics(run.path, {"epoch": 2, "loss": 0.25})
    rc, out, err = run_cli("runs", "show", run.id)
    assert rc == 0 and "unreadable lines of metrics.jsonl skipped" in out, err
    rc, out, _ = run_cli("runs", "show", run.id, "--json")
    assert [m["epoch"] for m in json.loads(out)["metrics"]] == [1, 2]
    rc, out, _ = run_cli("runs", "list")
    assert rc == 0 and run.id in out


@pytest.mark.parametrize("fname", ["scores.parquet", "metrics.json", "status.json"])
def test_resume_computes_a_run_with_a_damaged_file_again(home: Path, run_cli, fname: str) -> None:
    planted_dataset(Store(home), n_users=300)
    tiny = ["--max-len", "10", "--d", "16", "--layers", "1", "--d-ff", "32", "--epochs", "2", "--lr", "1e-2"]
    rc, out, err = run_cli("warm", "planted", *tiny, "--no-progress", "--json")
    assert rc == 0, err
    run = RunFolder(Path(json.loads(out)["run_dir"]))
    data = (run.path / fname).read_bytes()
    (run.path / fname).write_bytes(data[: len(data) // 2])
    assert fname in run.problem() and run.id not in run_cli("runs", "list")[1]

    rc, out, err = run_cli("runs", "resume", run.id, "--foreground")
    assert rc == 0, err
    assert run.problem() is None and read_status(run.path)["state"] == "done" and len(run.scores()) > 0
    assert run.id in run_cli("runs", "list")[1]
