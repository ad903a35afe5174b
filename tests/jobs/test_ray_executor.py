"""Sweeps on Ray (`--executor ray`): the same run folders, results and sweep state as the local worker, a warm run
trained once, cancellation from `runs cancel` and Ctrl-C, and a clear error when ray is not installed."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import ray
from _planted import TINY_FLAGS, planted_dataset

from ppr.cli import main
from ppr.data.store import Store
from ppr.jobs import sweep as sweeps
from ppr.runs.folder import RunFolder
from ppr.runs.status import pid_alive, read_metrics, read_status

REPO = Path(__file__).resolve().parents[2]
TINY = [*TINY_FLAGS, "--epochs", "2"]
GRID = ["--methods", "finetune,ppr-light", "--k-shots", "all", "--noise", "0", "--seeds", "0"]  # 2 cells, 1 warm run


def cli(home: Path, *argv: str) -> tuple[int, str]:
    """`python -m ppr --home HOME *argv` in this process: (exit code, stdout)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        rc = main(["--home", str(home), *argv])
    return rc, out.getvalue()


def test_a_ray_sweep_makes_the_local_workers_runs_results_and_state(tmp_path: Path) -> None:
    local, remote = tmp_path / "local", tmp_path / "ray"
    for home in (local, remote):
        planted_dataset(Store(home), n_users=300)
    rc, out = cli(local, "sweep", "planted", *GRID, *TINY)
    assert rc == 0, out
    rc, ray_out = cli(remote, "sweep", "planted", *GRID, *TINY, "--executor", "ray", "--max-workers", "2")
    assert rc == 0, ray_out
    assert not ray.is_initialized()  # the local Ray instance it started is shut down
    sid = out.strip().splitlines()[-1]
    assert ray_out.strip().splitlines()[-1] == sid and f"sweep {sid}: done" in ray_out

    ids = sorted(p.name for p in (local / "runs").iterdir())
    assert sorted(p.name for p in (remote / "runs").iterdir()) == ids and len(ids) == 3
    for rid in ids:
        a, b = RunFolder(local / "runs" / rid), RunFolder(remote / "runs" / rid)
        assert b.result()["summary"] == a.result()["summary"]
        pd.testing.assert_frame_equal(b.scores(), a.scores())
        st = read_status(b.path)
        assert st["state"] == "done" and st["pid"] is None and st["sweep"] == sid
    [warm] = sweeps.read_sweep(Store(remote), sid)["warm_runs"]
    assert [row.get("epoch") for row in read_metrics(remote / "runs" / warm)] == [
        0,
        1,
        2,
    ]  # trained once for both cells

    keys = ("state", "pid", "runs", "warm_runs", "cells", "counts", "progress", "stranded", "next")
    bodies = [sweeps.read_sweep(Store(home), sid) for home in (local, remote)]
    assert [{k: b[k] for k in keys} for b in bodies][0] == {k: bodies[1][k] for k in keys}
    assert bodies[1]["state"] == "done" and bodies[1]["started"] <= bodies[1]["finished"]
    assert cli(remote, "report", sid, "--format", "json") == cli(local, "report", sid, "--format", "json")


def test_without_ray_the_cli_names_the_requirements_file_and_queues_nothing(
    home: Path, run_cli: Callable[..., tuple[int, str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    planted_dataset(Store(home), n_users=100)
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    rc, _, err = run_cli("sweep", "planted", *GRID, *TINY, "--executor", "ray")
    assert rc == 2 and "needs Ray" in err and "`pip install -r requirements-ray.txt`" in err
    assert not (home / "sweeps").exists() and not (home / "runs").exists()
    rc, _, err = run_cli("sweep", "planted", *GRID, *TINY, "--executor", "ray", "--background")
    assert rc == 2 and "--executor ray runs in the foreground" in err
    rc, _, err = run_cli("sweep", "planted", *GRID, *TINY, "--ray-address", "auto")
    assert rc == 2 and "--ray-address needs --executor ray" in err


def test_the_library_and_the_cli_import_without_ray() -> None:
    code = "import sys; import ppr.cli.jobs, ppr.jobs.ray_executor; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr[-2000:]


def _wait_for(cond: Callable[[], bool], timeout: float, what: str, log: Path) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what}\n{log.read_text()[-3000:]}")


@pytest.mark.parametrize("how", ["runs cancel", "ctrl-c"])
def test_cancelling_the_driver_cancels_its_ray_tasks_and_queued_runs(tmp_path: Path, how: str) -> None:
    home = tmp_path / "home"
    planted_dataset(Store(home), n_users=300)
    # cells that cannot end by themselves before the cancel: tiny data runs thousands of epochs a minute
    long = ["--methods", "finetune,ppr-light", "--k-shots", "2,all", "--epochs", "100000", "--patience", "100000"]
    argv = [sys.executable, "-m", "ppr", "--home", str(home), "sweep", "planted", *long, *TINY_FLAGS]
    log = tmp_path / "driver.log"
    with open(log, "w") as fh:  # its own process group, as a shell runs it
        driver = subprocess.Popen(
            [*argv, "--executor", "ray", "--max-workers", "2"], cwd=REPO, stdout=fh, stderr=fh, start_new_session=True
        )
    try:
        _wait_for(lambda: bool(sweeps.list_sweeps(Store(home), None)), 120, "the sweep", log)
        [sid] = sweeps.list_sweeps(Store(home), None)
        cells = [c["run_id"] for c in sweeps.read_sweep(Store(home), sid)["cells"]]

        def computing() -> list[dict]:
            states = map(read_status, (home / "runs" / c for c in cells))
            return [st for st in states if st["state"] == "running" and st.get("epoch", 0) >= 1]

        _wait_for(lambda: len(computing()) == 2, 120, "two cells computing at once", log)
        task_pids = {st["pid"] for st in computing()}
        assert os.getpid() not in task_pids and driver.pid not in task_pids  # computed in Ray's workers
        if how == "runs cancel":
            assert "sent SIGTERM" in cli(home, "runs", "cancel", sid)[1]
        else:
            os.kill(driver.pid, signal.SIGINT)
        assert driver.wait(timeout=120) == 1
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    body = sweeps.read_sweep(Store(home), sid)
    assert body["state"] == "cancelled" and body["pid"] is None
    assert body["counts"] == {"queued": 0, "running": 0, "done": 1, "failed": 0, "cancelled": 4}  # the warm run done
    assert all(read_status(home / "runs" / c)["epoch"] < 100000 for c in cells)
    _wait_for(lambda: not any(map(pid_alive, task_pids)), 30, "Ray's workers to exit", log)
    assert "Traceback" not in log.read_text()
