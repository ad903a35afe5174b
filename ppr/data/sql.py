"""Read-only SQL over one dataset version, safe to expose to users (CLI `data sql`, the app's console).

Each call opens a fresh in-memory DuckDB, defines views over the version's Parquet
files, then locks it down: only those three files are reachable, external access is
off and the configuration is locked, so a query cannot read other files, write, attach
databases or undo the settings. On top, only a single SELECT-type statement is run.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ppr.data.store import Dataset
from ppr.errors import InputError

TABLES = ("interactions", "users", "items")
SQL_MEMORY_LIMIT = "1GB"
SQL_THREADS = 2


def run_readonly_sql(
    dataset: Dataset, query: str, params: list | None = None, limit: int | None = None
) -> pd.DataFrame:
    """Run one SELECT over views `interactions`, `users`, `items`; values bind to `?` placeholders."""
    statement = _single_select(query)
    con = _locked_connection(dataset)
    try:
        rel = con.sql(statement, params=params or None)
        if rel is None:
            raise InputError("The SQL statement returned no rows or columns; expected a SELECT.")
        if limit is not None:
            rel = rel.limit(int(limit))
        return rel.df()
    except duckdb.Error as exc:
        raise InputError(f"SQL failed on {dataset.ref}: {' '.join(str(exc).split())}") from None
    finally:
        con.close()


def _single_select(query: str) -> str:
    """The query's one statement, if it is a SELECT (WITH, FROM-first, VALUES, DESCRIBE are SELECTs too)."""
    if not query or not query.strip():
        raise InputError("The SQL query is empty; expected one SELECT statement.")
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise InputError(f"The SQL query does not parse: {' '.join(str(exc).split())}") from None
    if len(statements) != 1:
        raise InputError(f"Expected exactly one SQL statement, got {len(statements)}; run them one at a time.")
    (stmt,) = statements
    if stmt.type != duckdb.StatementType.SELECT:
        kind = stmt.type.name
        raise InputError(
            f"Only SELECT queries are allowed here (read-only access); this statement is {kind}. "
            "Writing, COPY, ATTACH, SET and PRAGMA are refused."
        )
    return stmt.query.strip().rstrip(";")


def _locked_connection(dataset: Dataset) -> duckdb.DuckDBPyConnection:
    files = {t: (dataset.path / f"{t}.parquet").resolve() for t in TABLES}
    con = duckdb.connect(":memory:", config={"threads": SQL_THREADS, "memory_limit": SQL_MEMORY_LIMIT})
    try:
        for table, path in files.items():
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet({_literal(path)})")
        allowed = ", ".join(_literal(p) for p in files.values())
        con.execute(f"SET allowed_paths = [{allowed}]")  # views need their files once access is off
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def _literal(path: object) -> str:
    return "'" + str(path).replace("'", "''") + "'"
