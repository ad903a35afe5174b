"""Start, cancel and resume, and what lists of runs show: cancel signals only a process verifiably ours, a queued
run with no live worker says so (with the command that starts one), resuming any run of a sweep takes the sweep's
stranded cells along, and one damaged run folder or sweep.json never blinds a listing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from _damage import DAMAGES, damage
from _fakeruns import tuning_run, warm_run
from _planted import TINY_FLAGS, planted_dataset

from ppr.cli import build_parser, main
from ppr.cli.jobs import sweep_spec
from ppr.data.store import Store
from ppr.io import atomic_write_json
from ppr.jobs import control, estimate
from ppr.jobs import sweep as sweeps
from ppr.runs.status import process_started, raw_status, read_status, write_status


def _sleeper() -> subprocess.Popen:
    """An unrelated process leading its own process group, as a detached worker would."""
    return subprocess.Popen(["sleep", "30"], start_new_session=True)


def _alive_after_a_moment(proc: subprocess.Popen) -> bool:
    time.sleep(0.3)
    return proc.poll() is None


def _cli(home: Path, *argv: str, capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(["--home", str(home), *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _queued_sweep(home: Path, *grid: str) -> tuple[Store, dict]:
    """A sweep submitted on planted data (its runs queued) with no worker started: sweep.json's body."""
    store = Store(home)
    planted_dataset(store, n_users=300)
    argv = ["sweep", "planted", *grid, *TINY_FLAGS, "--epochs", "2", "--folds", "1"]
    args = build_parser("sweep").parse_args(argv)
    return store, sweeps.submit(store, sweep_spec(args, store))


def _dead_pid() -> tuple[int, float]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.2)"])
    started = process_started(proc.pid)
    proc.wait()
    return proc.pid, started


def test_cancel_never_signals_a_process_that_now_holds_a_runs_pid(tmp_path: Path) -> None:
    store = Store(tmp_path)
    run = tuning_run(tmp_path, np.linspace(0.1, 0.9, 8), complete=False)
    me = os.getpid()
    write_status(run.path, state="running", pid=me, pid_started=process_started(me))  # as tracked() records it
    sleeper = _sleeper()
    try:
        write_status(run.path, pid=sleeper.pid)  # the run's process died and its pid went to an unrelated one
        assert read_status(run.path)["stale"]  # another process's start time: the run's worker is gone
        msg = control.cancel(store, run.id)
        assert _alive_after_a_moment(sleeper) and "nothing to cancel" in msg

        write_status(run.path, pid_started=None)  # a status without a start time (an older version wrote it)
        assert read_status(run.path)["state"] == "running"
        msg = control.cancel(store, run.id)
        assert _alive_after_a_moment(sleeper) and "not signalled" in msg  # `sleep` is no ppr process

        folder = sweeps.sweeps_dir(store) / "s1"  # the same for a sweep whose worker pid was handed on
        body = {"id": "s1", "dataset": "planted@v1", "state": "running", "runs": [run.id], "cells": []}
        for started in (process_started(sleeper.pid) - 60, None):
            atomic_write_json(folder / "sweep.json", {**body, "pid": sleeper.pid, "pid_started": started})
            control.cancel(store, "s1")
            assert _alive_after_a_moment(sleeper)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_queued_run_without_a_live_worker_says_so_and_how_to_start_one(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    store, body = _queued_sweep(tmp_path, "--methods", "finetune", "--k-shots", "2,all")
    sid, ids = body["id"], body["runs"]
    command = f"python -m ppr --home {tmp_path} runs resume {sid}"
    rows = control.run_rows(store)
    assert {r["id"] for r in rows} == set(ids)
    assert all(r["shown_state"] == "queued, no worker" and not r["worker"] and r["next"] == command for r in rows)
    assert sweeps.read_sweep(store, sid)["stranded"] == len(ids) and sweeps.read_sweep(store, sid)["next"] == command
    rc, out, _ = _cli(tmp_path, "runs", "list", capsys=capsys)
    assert rc == 0 and out.count("queued, no worker") == len(ids) and command in out
    rc, out, _ = _cli(tmp_path, "runs", "show", ids[-1], capsys=capsys)
    assert rc == 0 and "queued, no worker" in out and f"next      {command}" in out

    sweeps.register_worker(store, os.getpid(), ids, sid)  # a live worker will take them: plain queued
    try:
        rows = control.run_rows(store)
        assert all(r["shown_state"] == "queued" and r["worker"] and r["next"] is None for r in rows)
        assert sweeps.read_sweep(store, sid)["stranded"] == 0
    finally:
        sweeps.unregister_worker(store, os.getpid())
    dead, started = _dead_pid()  # a registered worker that was killed covers nothing
    atomic_write_json(sweeps.workers_dir(store) / f"worker-{dead}.json", {"pid": dead, "started": started, "runs": ids})
    assert all(r["shown_state"] == "queued, no worker" for r in control.run_rows(store))


def test_resuming_one_run_of_a_sweep_computes_the_cells_its_killed_worker_stranded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    store, body = _queued_sweep(tmp_path, "--methods", "finetune", "--k-shots", "2,all")
    sid, ids = body["id"], body["runs"]
    first = body["cells"][0]["run_id"]
    assert len(body["cells"]) >= 2
    dead, started = _dead_pid()  # what a SIGKILLed worker leaves: its run running, the rest queued
    write_status(store.runs_dir / first, state="running", pid=dead, pid_started=started, epoch=1)
    sweeps.update_sweep(sweeps.sweeps_dir(store) / sid, state="running", pid=dead, pid_started=started)
    assert read_status(store.runs_dir / first)["stale"] and sweeps.read_sweep(store, sid)["stale"]

    launched = []
    monkeypatch.setattr(
        sweeps,
        "launch",
        lambda store, target, log, max_workers=None, run_ids=None: launched.append((target, run_ids)) or os.getpid(),
    )
    control.resume(store, first)  # detached: a worker for the sweep, not for the one run
    assert launched == [(["--sweep", sid], ids)]

    rc, out, err = _cli(tmp_path, "runs", "resume", first, "--foreground", capsys=capsys)
    assert rc == 0, err
    assert {rid: read_status(store.runs_dir / rid)["state"] for rid in ids} == dict.fromkeys(ids, "done")
    assert sweeps.read_sweep(store, sid)["state"] == "done" and not list(sweeps.workers_dir(store).glob("*.json"))


def test_one_damaged_run_or_sweep_is_left_out_of_every_listing_with_a_warning(tmp_path: Path) -> None:
    quality = np.linspace(0.1, 0.9, 16)
    warm = warm_run(tmp_path, quality)
    good = tuning_run(tmp_path, quality, "finetune")
    store = Store(tmp_path)
    for how in DAMAGES:
        bad = tuning_run(tmp_path, quality, "ppr-light", seed=list(DAMAGES).index(how) + 1)
        write_status(bad.path, state="done")
        fname = damage(bad.path, how)
        for run in (good, warm):
            write_status(run.path, state="done", progress=1.0)
        warnings: list[str] = []
        rows = control.run_rows(store, warn=warnings.append)
        assert [r["id"] for r in rows] == sorted([good.id, warm.id]) and all(r["state"] == "done" for r in rows), how
        [line] = warnings
        assert bad.id in line and fname in line
        warnings.clear()
        rows = control.run_rows(store, [bad.id, good.id, "gone-run"], warn=warnings.append)
        assert [r["id"] for r in rows] == [good.id] and len(warnings) == 2  # named: the damaged and the missing
        past = estimate.past_runs(store, SimpleNamespace(content_hash="hash0"), warn=warnings.append)
        assert isinstance(past, dict) and len(warnings) == 3 and bad.id in warnings[-1]
        if fname == "status.json":  # the next writer of a damaged status replaces it
            assert raw_status(bad.path) == {} and write_status(bad.path, state="failed")["state"] == "failed"
            assert bad.problem() is None and read_status(bad.path)["state"] == "done"
        shutil.rmtree(bad.path)

    folder = sweeps.sweeps_dir(store)
    atomic_write_json(folder / "ok" / "sweep.json", {"id": "ok", "state": "done", "runs": [good.id], "cells": []})
    (folder / "cut").mkdir()
    (folder / "cut" / "sweep.json").write_text('{"id": "cut", "runs": [')
    atomic_write_json(folder / "evil" / "sweep.json", {"id": "evil", "state": "done", "runs": ["../../x"], "cells": []})
    warnings = []
    assert sweeps.list_sweeps(store, warnings.append) == ["ok"] and len(warnings) == 2
    assert "cut" in warnings[0] and "evil" in warnings[1]
    assert [b["id"] for b in sweeps.latest_sweeps(store)] == ["ok"]
    assert json.loads(json.dumps(sweeps.read_sweep(store, "ok")))["counts"]["done"] == 1
