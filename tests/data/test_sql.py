"""Read-only SQL over a dataset: views work, anything that writes or reaches other files is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

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
