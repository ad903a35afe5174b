"""Read-only SQL over a dataset: views work, anything that writes or reaches other files is refused."""

from __future__ import annotations

import contextlib
import resource
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from ppr.data.importers import import_dataset
from ppr.data.sql import run_readonly_sql
from ppr.data.store import Dataset, Store
from ppr.errors import InputError


@pytest.fixture
def ds(home: Path, tmp_path: Path) -> Dataset:
    (tmp_path / "i.csv").write_text("user,item,ts\na,x,3\na,y,1\nb,x,2\n")
    (tmp_path / "u.csv").write_text("user,gender\na,F\nb,M\n")
    (tmp_path / "it.csv").write_text("item,title\nx,Ex\ny,Why\n")
    return import_dataset(
        Store(home), "q", tmp_path / "i.csv", users=tmp_path / "u.csv", items=tmp_path / "it.csv", log=lambda m: None
    )


def test_views_over_all_three_tables(ds: Dataset) -> None:
    df = run_readonly_sql(
        ds,
        'SELECT u.user_id, it.title, i.ts FROM interactions i JOIN users u USING ("user") '
        'JOIN items it USING ("item") ORDER BY u.user_id, i.ts',
    )
    assert df.values.tolist() == [["a", "Why", 1], ["a", "Ex", 3], ["b", "Ex", 2]]


def test_with_params_and_limit(ds: Dataset) -> None:
    q = 'WITH c AS (SELECT "user", count(*) n FROM interactions GROUP BY 1) SELECT * FROM c WHERE n >= ? ORDER BY 1;'
    assert run_readonly_sql(ds, q, params=[2])["n"].tolist() == [2]
    assert len(run_readonly_sql(ds, "SELECT * FROM interactions", limit=2)) == 2


@pytest.mark.parametrize(
    "query",
    [
        "COPY interactions TO '/tmp/ppr_sql_test_out.csv'",
        "ATTACH '/tmp/ppr_sql_test.db' AS x",
        "INSERT INTO users VALUES (9, 'z', 1)",
        "PRAGMA version",
        "SET enable_external_access = true",
        "DROP VIEW users",
        "CREATE TABLE t AS SELECT 1",
        "SELECT 1; SELECT 2",
        "INSTALL httpfs",
    ],
)
def test_non_select_refused(ds: Dataset, query: str) -> None:
    with pytest.raises(InputError, match="SELECT|one SQL statement"):
        run_readonly_sql(ds, query)
    assert not Path("/tmp/ppr_sql_test_out.csv").exists()


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM read_parquet('{manifest}')",
        "SELECT * FROM glob('/etc/*')",
    ],
)
def test_other_files_unreachable(ds: Dataset, query: str) -> None:
    with pytest.raises(InputError, match="SQL failed") as info:
        run_readonly_sql(ds, query.format(manifest=ds.path / "manifest.json"))
    assert "root:" not in str(info.value)


def test_bad_sql_is_input_error(ds: Dataset) -> None:
    with pytest.raises(InputError, match="does not parse"):
        run_readonly_sql(ds, "SELEC 1")
    with pytest.raises(InputError, match="no_such_table"):
        run_readonly_sql(ds, "SELECT * FROM no_such_table")
    with pytest.raises(InputError, match="empty"):
        run_readonly_sql(ds, "  ")


# ----------------------------------------------------------------------------- runaway queries (issue 12, item 5)

CROSS = "SELECT count(*) FROM interactions a, range(100000) b, range(100000) c, range(100000) d"


@pytest.mark.parametrize("isolate", [True, False])
def test_a_runaway_query_stops_at_its_time_limit(ds: Dataset, isolate: bool) -> None:
    with pytest.raises(InputError, match=r"time limit of 0.5 s \(--timeout\)"):
        run_readonly_sql(ds, CROSS, timeout_s=0.5, isolate=isolate)
    assert run_readonly_sql(ds, "SELECT count(*) AS n FROM interactions", timeout_s=0.5)["n"].tolist() == [3]


def test_a_huge_value_fails_in_the_child_not_in_the_caller(ds: Dataset) -> None:
    """Scalar functions allocate outside DuckDB's memory_limit; the forked child's address-space cap stops them."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for query in ("SELECT length(repeat('x', 3000000000)) AS n", "SELECT len(range(600000000)) AS n"):
        with pytest.raises(InputError, match="memory"):
            run_readonly_sql(ds, query, memory_limit=256 << 20)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 256, f"the caller grew by {grown_mib:.0f} MiB"


def test_results_are_capped_in_rows_and_bytes(ds: Dataset) -> None:
    with pytest.raises(InputError, match=r"more than 1,000 rows \(the row cap, --max-rows\)"):
        run_readonly_sql(ds, "SELECT * FROM range(5000)", max_rows=1000)
    assert len(run_readonly_sql(ds, "SELECT * FROM range(5000)", max_rows=1000, limit=10)) == 10  # --limit cuts
    assert len(run_readonly_sql(ds, "SELECT * FROM range(1000)", max_rows=1000)) == 1000
    with pytest.raises(InputError, match="larger than 1 MiB"):
        run_readonly_sql(ds, "SELECT repeat('x', 100000) AS s FROM range(50)", max_result_bytes=1 << 20)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"timeout_s": float("inf")}, "timeout"),
        ({"timeout_s": float("nan")}, "timeout"),
        ({"timeout_s": 0}, "timeout"),
        ({"max_rows": 0}, "row cap"),
        ({"limit": 10**20}, "row limit"),
        ({"limit": -1}, "row limit"),
        ({"memory_limit": 2**70}, "memory limit"),
    ],
)
def test_absurd_bounds_are_input_errors(ds: Dataset, kwargs: dict, needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        run_readonly_sql(ds, "SELECT 1", **kwargs)


def test_results_keep_duckdb_types(ds: Dataset) -> None:
    df = run_readonly_sql(
        ds, "SELECT sum(ts) AS s, avg(ts) AS a, 1.5::DECIMAL(4, 2) AS d, 'x' AS t, 2 AS i FROM interactions"
    )
    assert df.iloc[0].tolist() == [6.0, 2.0, 1.5, "x", 2]
    assert str(df["s"].dtype) == "float64" and str(df["d"].dtype) == "float64"


def test_a_removed_dataset_is_reported_as_removed(ds: Dataset, home: Path) -> None:
    Store(home).remove("q")
    with pytest.raises(InputError, match="q@v1 was removed"):
        run_readonly_sql(ds, "SELECT 1")


WRITERS = [
    "COPY interactions TO 'out.csv'",
    "ATTACH 'x.db' AS x",
    "INSERT INTO users VALUES (1)",
    "PRAGMA version",
    "SET threads = 1",
    "DROP VIEW users",
    "CREATE TABLE t AS SELECT 1",
    "INSTALL httpfs",
    "LOAD httpfs",
    "CALL pragma_version()",
    "EXPORT DATABASE 'x'",
    "DETACH x",
    "UPDATE users SET user = 1",
]
READERS = [
    "read_csv('/etc/passwd')",
    "read_text('/etc/hostname')",
    "glob('/etc/*')",
    "read_blob('/etc/hostname')",
    "read_parquet('/etc/passwd')",
    "read_json('/etc/passwd')",
]


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    writer=st.sampled_from(WRITERS),
    reader=st.sampled_from(READERS),
    pad=st.sampled_from(["", " ", "\n", "/* c */ ", "-- c\n", "\t"]),
    case=st.booleans(),
    junk=st.text(max_size=40),
)
def test_the_guard_refuses_writes_and_foreign_files_whatever_the_spelling(
    ds: Dataset, writer: str, reader: str, pad: str, case: bool, junk: str
) -> None:
    """Property: a write, or a read of another file, never runs; any text at all is rows or an InputError."""
    spell = str.lower if case else str.upper
    for query in (pad + spell(writer) + pad, f"{pad}SELECT * FROM {reader}{pad}", f"SELECT 1; {writer}"):
        with pytest.raises(InputError):
            run_readonly_sql(ds, query, isolate=False)
    with contextlib.suppress(InputError):  # anything else (a crash, a traceback) fails the property
        run_readonly_sql(ds, junk, isolate=False, timeout_s=5)
