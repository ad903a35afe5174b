"""`python -m ppr data import|list|info|sql|rm|split` end to end, in process."""

from __future__ import annotations

import errno
import json
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from _planted import planted_dataset

from ppr.data.splits import list_splits, load_split
from ppr.data.store import Store


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rows = ["user,item,ts"] + [f"u{u},i{(u * 7 + k) % 9},{k}" for u in range(4) for k in range(3 + 4 * u)]
    rows.append("u0,i0,0")  # duplicate of the first row
    (tmp_path / "i.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "u.csv").write_text("user,gender,age\nu0,F,20\nu1,M,30\nu2,,40\nu9,F,50\n")
    return {"interactions": tmp_path / "i.csv", "users": tmp_path / "u.csv"}


def test_import_prints_ref_and_counts(run_cli, files) -> None:
    rc, out, err = run_cli("data", "import", "demo", "--interactions", files["interactions"], "--users", files["users"])
    assert rc == 0, err
    assert "demo@v1: 4 users, 9 items, 36 interactions" in out
    assert "dropped 1 duplicate" in out and "dropped 1 users-file rows" in out
    assert "gender (3)" in out


def test_import_json_then_list_info_sql_rm(run_cli, files, home: Path) -> None:
    rc, out, _ = run_cli(
        "data",
        "import",
        "demo",
        "--interactions",
        files["interactions"],
        "--users",
        files["users"],
        "--attrs",
        "gender",
        "--json",
    )
    assert rc == 0
    manifest = json.loads(out)
    assert manifest["counts"]["interactions"] == 36 and [a["name"] for a in manifest["attributes"]] == ["gender"]

    rc, out, _ = run_cli("data", "list", "--json")
    (row,) = json.loads(out)
    assert (row["name"], row["version"], row["users"], row["interactions"]) == ("demo", 1, 4, 36)

    rc, out, _ = run_cli("data", "info", "demo", "--json", "--cold-threshold", "8")
    info = json.loads(out)
    assert (info["warm_users"], info["cold_users"]) == (2, 2)  # lengths 3, 7, 11, 15
    assert info["sequence_length"]["min"] == 3 and info["sequence_length"]["max"] == 15
    assert info["attributes"][0]["name"] == "gender" and info["attributes"][0]["cardinality"] == 3

    rc, out, _ = run_cli("data", "info", "demo@v1")
    assert rc == 0 and "warm users" in out and "gender" in out and "content hash" in out

    rc, out, _ = run_cli(
        "data", "sql", "demo", 'SELECT "user", count(*) AS n FROM interactions GROUP BY 1 ORDER BY 1', "--json"
    )
    assert [r["n"] for r in json.loads(out)] == [3, 7, 11, 15]
    rc, out, _ = run_cli("data", "sql", "demo", "SELECT user_id FROM users WHERE user_id = ?", "--param", "u2", "--csv")
    assert out.splitlines() == ["user_id", "u2"]
    rc, out, _ = run_cli("data", "sql", "demo", "SELECT * FROM interactions", "--limit", "2", "--json")
    assert len(json.loads(out)) == 2
    rc, out, _ = run_cli("data", "sql", "demo", "SELECT * FROM interactions")
    assert rc == 0 and "more rows" not in out and len(out.splitlines()) == 37

    rc, out, _ = run_cli("data", "rm", "demo")
    assert rc == 0 and "removed demo (v1)" in out
    rc, out, _ = run_cli("data", "list", "--json")
    assert json.loads(out) == []


def test_reimport_new_version_or_refuse(run_cli, files) -> None:
    args = ("data", "import", "demo", "--interactions", files["interactions"])
    assert run_cli(*args)[0] == 0
    rc, out, _ = run_cli(*args)
    assert rc == 0 and "demo@v2" in out and "made a new version v2" in out
    rc, out, err = run_cli(*args, "--if-exists", "refuse")
    assert rc == 2 and "already exists" in err and out == ""
    rc, out, _ = run_cli("data", "list")
    assert "v2 (2)" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--user-col", "nope"], ["'nope'", "i.csv", "'user', 'item', 'ts'"]),
        (["--time-col", "user"], ["unparseable timestamp", "'u0'"]),
        (["--users", "MISSING"], ["does not exist"]),
    ],
)
def test_bad_import_exits_2_with_message(run_cli, files, home: Path, argv, expected) -> None:
    argv = [str(files["interactions"].parent / "missing_users.csv") if a == "MISSING" else a for a in argv]
    rc, out, err = run_cli("data", "import", "demo", "--interactions", files["interactions"], *argv)
    assert rc == 2
    assert err.splitlines()[-1].startswith("error: ") and "Traceback" not in err
    for word in expected:
        assert word in err
    assert not (home / "datasets" / "demo").exists()


def test_bad_name_and_bad_sql_exit_2(run_cli, files) -> None:
    rc, _, err = run_cli("data", "import", "../evil", "--interactions", files["interactions"])
    assert rc == 2 and "not allowed" in err
    assert run_cli("data", "import", "demo", "--interactions", files["interactions"])[0] == 0
    rc, _, err = run_cli("data", "sql", "demo", "COPY interactions TO '/tmp/x.csv'")
    assert rc == 2 and "Only SELECT" in err
    rc, _, err = run_cli("data", "info", "nothere")
    assert rc == 2 and "No dataset named 'nothere'" in err


def test_split_takes_its_seed_as_split_seed(run_cli, home: Path) -> None:
    ds = planted_dataset(Store(home), n_users=200)
    rc, out, err = run_cli("data", "split", "planted", "--split-seed", "4", "--negatives", "20", "--json")
    assert rc == 0, err
    report = json.loads(out)
    assert report["split_id"] == "s4-t10-cauto-fauto-test0.2-val0.1-neg20" and report["dataset"] == "planted@v1"
    split = load_split(ds, report["split_id"])
    assert Path(report["path"]) == split.path and report["users"] == split.counts()["users"]
    assert sum(report["targets"].values()) == report["n_targets"] == len(split.targets)
    rc, out, _ = run_cli("data", "split", "planted", "--split-seed", "4", "--negatives", "20")  # the stored one
    assert rc == 0 and "s4-t10-cauto-fauto-test0.2-val0.1-neg20" in out and "targets total" in out
    assert list_splits(ds) == [report["split_id"]]

    rc, _, err = run_cli("data", "split", "planted", "--seed", "4")  # --seed is the training seed's flag
    assert rc == 2 and "unrecognized arguments: --seed" in err
    for bad, needle in [
        (["--split-seed", "-1"], "Split setting seed=-1"),
        (["--split-seed", "1.5"], "Split setting seed='1.5'"),
        (["--negatives", "0"], "n_negatives=0"),
        (["--cold-threshold", "1"], "cold_threshold=1"),
        (["--test-frac", "0.7", "--val-frac", "0.3"], "test_frac + val_frac below 1"),
    ]:
        rc, _, err = run_cli("data", "split", "planted", *bad)
        assert rc == 2 and needle in err and "Traceback" not in err, (bad, err)
    assert list_splits(ds) == [report["split_id"]]


# ----------------------------------------------------------------------------- hostile input (issue 12)


def _clean_error(rc: int, err: str) -> str:
    """The one-paragraph error of an exit-2 run (notes may come before it); no traceback."""
    assert rc == 2, err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("error: "), err
    return err.strip().splitlines()[-1]


def test_a_300_character_name_is_refused_before_the_disk_is_touched(run_cli, files, home: Path) -> None:
    err = _clean_error(*run_cli("data", "import", "x" * 300, "--interactions", files["interactions"])[::2])
    assert "not allowed" in err and "(300 characters)" in err
    assert "not allowed" in _clean_error(
        *run_cli("data", "import", "nl\n", "--interactions", files["interactions"])[::2]
    )
    assert not (home / "datasets").exists()


def test_an_unwritable_home_is_one_paragraph(run_cli, files, tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    rc, _, err = run_cli(
        "--home", str(blocker / "home"), "data", "import", "d", "--interactions", files["interactions"]
    )
    assert "is a file, not a folder" in _clean_error(rc, err) or "Not a directory" in err

    real_mkdtemp = tempfile.mkdtemp

    def read_only(*args, dir=None, **kwargs):
        if dir is not None and "datasets" in str(dir):
            raise OSError(errno.EROFS, "Read-only file system", str(dir))
        return real_mkdtemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    err = _clean_error(*run_cli("data", "import", "d", "--interactions", files["interactions"])[::2])
    assert "Read-only file system" in err and "read-only" in err and "--home" in err


def test_a_full_disk_is_one_paragraph_and_leaves_the_store_as_it_was(run_cli, files, home: Path, monkeypatch) -> None:
    assert run_cli("data", "import", "d", "--interactions", files["interactions"])[0] == 0
    before = sorted(p.relative_to(home) for p in home.rglob("*") if ".locks" not in p.parts)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq, "write_table", full)
    err = _clean_error(*run_cli("data", "import", "d", "--interactions", files["interactions"])[::2])
    assert "No space left on device" in err and "disk is full" in err
    assert sorted(p.relative_to(home) for p in home.rglob("*") if ".locks" not in p.parts) == before


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["data", "sql", "demo", "SELECT 1", "--limit", "99999999999999999999"], "row limit"),
        (["data", "sql", "demo", "SELECT 1", "--timeout", "inf"], "timeout"),
        (["data", "synth", "big", "--users", "99999999999999999999", "--items", "10"], "n_users"),
        (["data", "synth", "big", "--users", "10", "--items", "10", "--seed", "99999999999999999999"], "seed"),
        (["data", "info", "demo", "--cold-threshold", "-99999999999999999999"], "--cold-threshold"),
        (
            ["data", "import", "x", "--interactions", "MISSING", "--max-columns", "99999999999999999999"],
            "--max-columns",
        ),
        (["data", "import", "x", "--interactions", "MISSING", "--max-ratio", "nan"], "--max-ratio"),
    ],
)
def test_absurd_numbers_are_clear_errors(run_cli, files, argv: list[str], needle: str) -> None:
    assert run_cli("data", "import", "demo", "--interactions", files["interactions"])[0] == 0
    argv = [str(files["interactions"]) if a == "MISSING" else a for a in argv]
    assert needle in _clean_error(*run_cli(*argv)[::2])


def test_sql_rows_and_time_are_capped_in_the_cli(run_cli, files) -> None:
    assert run_cli("data", "import", "demo", "--interactions", files["interactions"])[0] == 0
    rc, out, err = run_cli("data", "sql", "demo", "SELECT * FROM range(50)", "--json", "--max-rows", "10")
    assert "more than 10 rows (the row cap, --max-rows)" in _clean_error(rc, err) and out == ""
    rc, out, _ = run_cli("data", "sql", "demo", "SELECT * FROM range(50)", "--json", "--max-rows", "10", "--limit", "5")
    assert rc == 0 and len(json.loads(out)) == 5
    cross = "SELECT count(*) FROM interactions, range(100000), range(100000), range(100000)"
    rc, _, err = run_cli("data", "sql", "demo", cross, "--timeout", "0.5")
    assert "time limit of 0.5 s" in _clean_error(rc, err)


def test_skip_bad_rows_in_the_cli(run_cli, tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("user,item,ts\n1,2,3\n1,3\n2,2,5\n")
    rc, _, err = run_cli("data", "import", "b", "--interactions", tmp_path / "bad.csv")
    assert "1 row(s)" in _clean_error(rc, err) and "line 3" in err and "--skip-bad-rows" in err
    rc, out, err = run_cli("data", "import", "b", "--interactions", tmp_path / "bad.csv", "--skip-bad-rows")
    assert rc == 0, err
    assert "b@v1: 2 users, 1 items, 2 interactions" in out and "skipped 1 unreadable rows" in out
    rc, _, err = run_cli("data", "import", "l", "--interactions", tmp_path / "bad.csv", "--max-line-bytes", "3")
    assert "longer than 3 bytes" in _clean_error(rc, err)


def test_rm_clears_what_a_killed_writer_left(run_cli, home: Path) -> None:
    (home / "datasets" / "r0" / "v1" / "splits").mkdir(parents=True)
    rc, out, _ = run_cli("data", "rm", "r0")
    assert rc == 0 and "what an interrupted import or rm had left" in out
    assert "No dataset named 'r0'" in _clean_error(*run_cli("data", "rm", "r0")[::2])
