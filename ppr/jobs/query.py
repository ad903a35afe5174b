"""Results across runs as one DuckDB query over every run's results.parquet (the app's data source)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from ppr.data.store import resolve_home
from ppr.jobs.outputs import RESULT_COLUMNS


def query_results(home: str | Path | None = None, where: str | None = None, columns: str = "*") -> pd.DataFrame:
    """Rows of <home>/runs/*/results.parquet (one per run, eval set, target group, metric).

    where: an SQL condition on RESULT_COLUMNS, e.g. "eval_set = 'test' AND metric = 'ndcg@10'".
    No finished runs yet -> an empty frame with the result columns.
    """
    runs = resolve_home(home) / "runs"
    if not any(runs.glob("*/results.parquet")):
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in RESULT_COLUMNS.items()})
    glob = str(runs / "*" / "results.parquet").replace("'", "''")
    sql = f"SELECT {columns} FROM read_parquet('{glob}', union_by_name = true)"
    if where:
        sql += f" WHERE {where}"
    with duckdb.connect() as con:
        order = ' ORDER BY run_id, eval_set, "group", metric' if columns == "*" else ""
        return con.execute(sql + order).df()
