"""Status files: stale detection, merge-writes, metrics lines; RunSpec round trip and identity."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _planted import planted_dataset

from ppr.data.splits import SplitConfig
from ppr.data.store import Store
from ppr.errors import InputError
from ppr.jobs.spec import RunSpec, make_spec
from ppr.jobs.status import append_metrics, pid_alive, read_metrics, read_status, write_status
from ppr.train.config import TuneConfig, WarmConfig


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_running_with_a_dead_pid_reads_as_failed_stale(tmp_path: Path) -> None:
    assert pid_alive(os.getpid()) and not pid_alive(_dead_pid()) and not pid_alive(None)
    run = tmp_path / "r1"
    run.mkdir()
    assert read_status(run)["state"] == "queued"
    write_status(run, state="running", pid=os.getpid(), epoch=3, checkpoint_epoch=3)
    st = write_status(run, progress=0.5)  # merges, keeps earlier fields
    assert st["epoch"] == 3 and read_status(run)["state"] == "running"
    write_status(run, pid=_dead_pid())
    st = read_status(run)
    assert st["state"] == "failed" and st["stale"] and "runs resume r1" in st["error"] and "epoch 3" in st["error"]
    (run / "metrics.json").write_text("{}")
    assert read_status(run)["state"] == "done"


def test_metrics_lines_append_and_skip_a_torn_line(tmp_path: Path) -> None:
    append_metrics(tmp_path, {"epoch": 1, "loss": 0.5})
    append_metrics(tmp_path, {"epoch": 2, "loss": 0.4})
    with open(tmp_path / "metrics.jsonl", "a") as fh:
        fh.write('{"epoch": 3, "lo')
    assert [r["epoch"] for r in read_metrics(tmp_path)] == [1, 2]


def test_run_spec_round_trips_and_names_the_run(tmp_path: Path) -> None:
    ds = planted_dataset(Store(tmp_path), n_users=200)
    warm = WarmConfig(d=16, epochs=2)
    spec = make_spec(ds, SplitConfig(), warm, TuneConfig(method="ppr-full", k_shot=3, noise=0.3, seed=2), "cpu")
    again = RunSpec.from_dict(spec.to_dict())
    assert again == spec and again.tune_config().k_shot == 3 and again.warm_config().seed == 2
    assert spec.hash == RunSpec.from_dict({**spec.to_dict(), "device": "cuda"}).hash  # device is not identity
    rid = spec.run_id(ds)
    assert rid.startswith("planted-ppr-full-k3-r0.3-s2-") and rid != make_spec(
        ds, SplitConfig(), warm, TuneConfig(method="ppr-full", k_shot=3, noise=0.3, seed=1), "cpu"
    ).run_id(ds)
    assert spec.warm_spec().run_id(ds).startswith("planted-warm-")
    assert spec.open_dataset(Store(tmp_path)).ref == ds.ref
    with pytest.raises(InputError, match="replaced"):
        RunSpec.from_dict({**spec.to_dict(), "dataset_hash": "0" * 64}).open_dataset(Store(tmp_path))
