"""The store's invariants under concurrency and crashes: one lock per name, a version number that cannot loop,
an rm that finishes what a crashed one started, a clear error for readers of a removed version, and a sweep of
what killed writers leave behind (issue 12, items 2 and 8)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ppr.data.importers import import_dataset
from ppr.data.store import STAGING_PREFIX, Store, owner_tag, sweep_temp, validate_name
from ppr.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
CSV = "user,item,ts\n" + "".join(f"u{u},i{(u * 7 + k) % 13},{1_600_000_000 + k}\n" for u in range(40) for k in range(6))


def quiet(msg: str) -> None:
    pass


@pytest.fixture
def clicks(tmp_path: Path) -> Path:
    path = tmp_path / "clicks.csv"
    path.write_text(CSV)
    return path


def ppr(home: Path, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ppr", "--home", str(home), *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def dead_pid() -> int:
    """The pid of a process that has exited."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_names_are_matched_whole() -> None:
    for bad in ["nl\n", "x" * 65, "a/b", "", ".hidden", "a..b", "x" * 300]:
        with pytest.raises(InputError, match="not allowed"):
            validate_name(bad)
    assert validate_name("ok-1.v_2") == "ok-1.v_2"


def test_concurrent_refusing_writers_give_exactly_one_version(home: Path) -> None:
    """Four writers that each passed the early existence check: the lock makes the check and the rename one step."""
    store = Store(home)
    results: list[str] = []
    start = threading.Barrier(4)

    def slow_writer(stage: Path) -> dict:
        time.sleep(0.2)  # all four are writing at once
        for name in ("interactions", "users", "items"):
            (stage / f"{name}.parquet").write_bytes(b"x")
        return {"counts": {}}

    def write() -> None:
        start.wait()
        try:
            store.write_version("once", slow_writer, if_exists="refuse")
            results.append("ok")
        except InputError as exc:
            results.append(str(exc))

    threads = [threading.Thread(target=write) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1, results
    assert all("already exists" in r for r in results if r != "ok")
    assert store.versions("once") == [1]
    assert not [p for p in (home / "datasets" / "once").iterdir() if p.name.startswith(".")]


def test_four_concurrent_cli_imports_with_refuse_give_one_success(home: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.csv"  # large enough that the four imports overlap
    big.write_text("user,item,ts\n" + "".join(f"{k % 5000},{k % 777},{k}\n" for k in range(100_000)))
    argv = [sys.executable, "-m", "ppr", "--home", str(home), "data", "import", "r0", "--interactions", str(big)]
    procs = [
        subprocess.Popen([*argv, "--if-exists", "refuse"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    outcomes = [(p.wait(timeout=60), p.stderr.read().decode()) for p in procs]
    assert sorted(rc for rc, _ in outcomes) == [0, 2, 2, 2], outcomes
    assert all("already exists" in err and "Traceback" not in err for rc, err in outcomes if rc)
    assert Store(home).versions("r0") == [1]


def test_an_incomplete_version_folder_never_makes_an_import_loop(home: Path, clicks: Path) -> None:
    """What a split racing an rm left: datasets/r0/v1/splits/ with no manifest. The next version number skips it."""
    (home / "datasets" / "r0" / "v1" / "splits" / "s0").mkdir(parents=True)
    proc = ppr(home, "data", "import", "r0", "--interactions", str(clicks), timeout=60)  # looped forever before
    assert proc.returncode == 0, proc.stderr
    assert "r0@v2" in proc.stdout
    store = Store(home)
    assert store.names() == ["r0"] and store.versions("r0") == [2]
    assert ppr(home, "data", "rm", "r0").returncode == 0
    assert not (home / "datasets" / "r0").exists() and store.names() == []


def test_rm_removes_a_name_that_holds_only_leftovers(home: Path) -> None:
    (home / "datasets" / "r0" / "v1" / "splits").mkdir(parents=True)
    store = Store(home)
    assert store.names() == []
    assert store.remove("r0") == []  # answered "no such dataset" before, and the name stayed stuck
    assert not (home / "datasets" / "r0").exists()
    with pytest.raises(InputError, match="No dataset named 'r0'"):
        store.remove("r0")


def test_rm_finishes_what_a_crashed_rm_started(home: Path, clicks: Path) -> None:
    store = Store(home)
    import_dataset(store, "r0", clicks, log=quiet)
    trash = home / "datasets" / ".r0.removing"
    os.rename(home / "datasets" / "r0", trash)  # an rm killed between its rename and its delete
    assert store.names() == []  # the half-removed folder is never listed
    import_dataset(store, "r0", clicks, log=quiet)  # the name is free again
    assert store.remove("r0") == [1]  # "directory not empty" before
    assert not trash.exists() and store.names() == []

    import_dataset(store, "r0", clicks, log=quiet)
    os.rename(home / "datasets" / "r0", trash)
    assert store.remove("r0") == []  # only the interrupted rm's folder was left: finished
    assert not trash.exists()


def test_a_reader_of_a_removed_version_is_told_so(home: Path, clicks: Path) -> None:
    store = Store(home)
    ds = import_dataset(store, "r0", clicks, log=quiet)
    store.remove("r0")
    for read in (ds.sequences, ds.users, ds.items, ds.attribute_codes, ds.interactions):
        with pytest.raises(InputError, match=r"r0@v1 was removed"):
            read()


def test_rm_waits_for_the_lock_a_split_holds(home: Path, clicks: Path) -> None:
    store = Store(home)
    ds = import_dataset(store, "r0", clicks, log=quiet)
    removed: list[list[int]] = []
    with ds.locked():
        rm = threading.Thread(target=lambda: removed.append(Store(home).remove("r0")))
        rm.start()
        rm.join(0.5)
        assert rm.is_alive() and store.versions("r0") == [1]  # waiting, nothing removed yet
        ds.check_present()
    rm.join(10)
    assert removed == [[1]]
    with pytest.raises(InputError, match="was removed"):
        ds.check_present()


def test_a_lock_held_elsewhere_can_time_out_as_busy(home: Path) -> None:
    store = Store(home)
    failures: list[str] = []

    def try_lock() -> None:
        try:
            with Store(home).locked("r0", timeout=0.1):
                failures.append("acquired")
        except InputError as exc:
            failures.append(str(exc))

    with store.locked("r0"), store.locked("r0"):  # re-entrant in one thread
        t = threading.Thread(target=try_lock)
        t.start()
        t.join()
    assert len(failures) == 1 and "'r0' is busy" in failures[0]
    try_lock()
    assert failures[-1] == "acquired"


def test_sweep_removes_only_what_dead_or_old_writers_left(home: Path, clicks: Path, tmp_path: Path) -> None:
    store = Store(home)
    import_dataset(store, "r0", clicks, log=quiet)
    gone, host = dead_pid(), owner_tag().split("-")[1]
    root = home / "datasets" / "r0"
    dead_stage = root / f"{STAGING_PREFIX}{gone}-{host}-abc"
    live_stage = root / f"{STAGING_PREFIX}{owner_tag()}def"  # ours: this process is alive
    trash = home / "datasets" / ".r1.removing"
    old_split_tmp = root / "v1" / "splits" / ".s0.x1.tmp"
    new_split_tmp = root / "v1" / "splits" / ".s1.x2.tmp"
    dead_synth = home / f".synth-{gone}-{host}-xyz"
    for path in (dead_stage, live_stage, trash / "v1", old_split_tmp, new_split_tmp, dead_synth):
        path.mkdir(parents=True)
    two_days_ago = time.time() - 2 * 86_400
    os.utime(old_split_tmp, (two_days_ago, two_days_ago))

    temp = tmp_path / "tmp"
    temp.mkdir()
    dead_import = temp / f"ppr-import-{gone}-{host}-a"
    live_upload = temp / f"ppr-upload-{owner_tag()}b"
    old_untagged = temp / "ppr-upload-c"
    new_untagged = temp / "ppr-fetch-d"
    other = temp / "someone-else"
    for path in (dead_import, live_upload, old_untagged, new_untagged, other):
        path.mkdir()
    os.utime(old_untagged, (two_days_ago, two_days_ago))

    removed = set(store.sweep_stale(temp=False)) | set(sweep_temp(temp_dir=temp))
    assert removed == {dead_stage, trash, old_split_tmp, dead_synth, dead_import, old_untagged}
    for kept in (live_stage, new_split_tmp, live_upload, new_untagged, other):
        assert kept.exists(), kept
    assert store.names() == ["r0"] and store.versions("r0") == [1]


def test_sweep_leaves_a_name_whose_lock_is_held(home: Path, clicks: Path) -> None:
    store = Store(home)
    import_dataset(store, "r0", clicks, log=quiet)
    dead_stage = home / "datasets" / "r0" / f"{STAGING_PREFIX}{dead_pid()}-{owner_tag().split('-')[1]}-abc"
    dead_stage.mkdir()
    seen: list[list[Path]] = []
    with store.locked("r0"):
        t = threading.Thread(target=lambda: seen.append(Store(home).sweep_stale(temp=False)))
        t.start()
        t.join()
    assert seen == [[]] and dead_stage.exists()  # a writer may be at work: not touched
    assert store.sweep_stale(temp=False) == [dead_stage]


@pytest.mark.parametrize("delay", [0.05, 0.6])
def test_split_and_rm_of_one_dataset_leave_no_stuck_name(home: Path, clicks: Path, delay: float) -> None:
    """The issue's reproduction: `data split r0 & sleep 0.05; data rm r0`, then the name must import again."""
    import_dataset(Store(home), "r0", clicks, log=quiet)
    base = [sys.executable, "-m", "ppr", "--home", str(home), "data"]
    split = subprocess.Popen([*base, "split", "r0", "--negatives", "5"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    rm = subprocess.run([*base, "rm", "r0"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    split_err = split.communicate(timeout=60)[1]
    assert rm.returncode == 0, rm.stderr
    assert split.returncode == 0 or "was removed" in split_err or "No dataset named" in split_err, split_err
    assert not (home / "datasets" / "r0").exists()  # no split folder re-created under a removed version
    proc = ppr(home, "data", "import", "r0", "--interactions", str(clicks), timeout=60)
    assert proc.returncode == 0 and "r0@v1" in proc.stdout, proc.stderr
