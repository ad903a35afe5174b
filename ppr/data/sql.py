"""Read-only SQL over one dataset version, safe to expose to users (CLI `data sql`, the app's console).

Each call opens a fresh in-memory DuckDB, defines views over the version's Parquet
files, then locks it down: only those three files are reachable, external access is
off and the configuration is locked, so a query cannot read other files, write, attach
databases or undo the settings. On top, only a single SELECT-type statement is run.

Runaway queries are bounded, each bound a clear InputError and a keyword (CLI flag):
- time: `timeout_s` (--timeout); a watchdog thread interrupts the query (`con.interrupt()`).
- rows: `max_rows` (--max-rows); a result with more rows is refused, not cut (`limit` cuts).
- memory: DuckDB's `memory_limit` bounds what DuckDB tracks (joins, sorts, aggregates), but
  scalar functions such as ``repeat('x', 1500000000)`` or ``range(300000000)`` allocate
  outside it. So the query runs in a forked child process whose address space is capped
  at its size at fork + `memory_limit` + SQL_HEADROOM (where fork is available): a query
  that needs more fails there, never in the caller. The result travels back as Arrow IPC,
  itself capped at `max_result_bytes`.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import struct
import threading
import time

import duckdb
import pandas as pd
import pyarrow as pa

from ppr.data.store import Dataset
from ppr.errors import InputError

TABLES = ("interactions", "users", "items")
SQL_MEMORY_LIMIT = 1 << 30  # bytes DuckDB may track (buffer manager)
SQL_HEADROOM = 1 << 30  # address space beyond it for threads, allocator arenas and the result
SQL_THREADS = 2
SQL_TIMEOUT_S = 60.0
SQL_MAX_ROWS = 1_000_000
SQL_MAX_RESULT_BYTES = 256 << 20
_GRACE_S = 5.0  # after the timeout, how long the child gets to report the interrupt before it is killed
_TOO_BIG = object()  # what _read_all returns for a report past its size cap


def run_readonly_sql(
    dataset: Dataset,
    query: str,
    params: list | None = None,
    limit: int | None = None,
    *,
    timeout_s: float = SQL_TIMEOUT_S,
    max_rows: int = SQL_MAX_ROWS,
    memory_limit: int = SQL_MEMORY_LIMIT,
    max_result_bytes: int = SQL_MAX_RESULT_BYTES,
    isolate: bool = True,
) -> pd.DataFrame:
    """Run one SELECT over views `interactions`, `users`, `items`; values bind to `?` placeholders.

    `limit` keeps the first rows only; more than `max_rows` rows (after `limit`), a run
    past `timeout_s` seconds, or a need for more memory than `memory_limit` is an
    InputError. `isolate` runs the query in a forked child under an address-space cap
    (see the module doc); without it (or without fork) only DuckDB's own limit holds.
    """
    statement = _single_select(query)
    limit = _bound("row limit (--limit)", limit, 0) if limit is not None else None
    max_rows = _bound("row cap (--max-rows)", max_rows, 1)
    memory_limit = _bound("memory limit", memory_limit, 16 << 20)
    max_result_bytes = _bound("result size cap", max_result_bytes, 1)
    if not isinstance(timeout_s, int | float) or not 0 < timeout_s <= 86_400:
        raise InputError(f"SQL timeout (--timeout) {timeout_s!r} is invalid: expected seconds in (0, 86400].")
    dataset.check_present()
    job = _Job(dataset, statement, list(params or []), limit, max_rows, memory_limit, max_result_bytes, timeout_s)
    table = _in_child(job) if isolate and hasattr(os, "fork") else job.run()
    columns = [c.cast(pa.float64()) if pa.types.is_decimal(c.type) else c for c in table.columns]
    return pa.Table.from_arrays(columns, names=table.column_names).to_pandas()  # decimals as floats, like DuckDB


def _bound(what: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value < 2**62:
        raise InputError(f"SQL {what} {value!r} is invalid: expected a whole number from {low} to 2**62.")
    return value


class _Job:
    """One query with its bounds; `run` gives an Arrow table or raises InputError."""

    def __init__(
        self,
        dataset: Dataset,
        statement: str,
        params: list,
        limit: int | None,
        max_rows: int,
        memory_limit: int,
        max_result_bytes: int,
        timeout_s: float,
    ) -> None:
        self.dataset, self.statement, self.params, self.limit = dataset, statement, params, limit
        self.max_rows, self.memory_limit, self.max_result_bytes = max_rows, memory_limit, max_result_bytes
        self.timeout_s = timeout_s

    def run(self) -> pa.Table:
        con = _locked_connection(self.dataset, self.memory_limit)
        done = threading.Event()
        fired = threading.Event()

        def watchdog() -> None:  # interrupt until the query gives up (one interrupt can land between steps)
            if done.wait(self.timeout_s):
                return
            fired.set()
            while not done.is_set():
                con.interrupt()
                done.wait(0.05)

        guard = threading.Thread(target=watchdog, name="sql-timeout", daemon=True)
        guard.start()
        try:
            return self._fetch(con)
        except duckdb.Error as exc:
            if fired.is_set() or isinstance(exc, duckdb.InterruptException):
                raise self.timed_out() from None
            if isinstance(exc, duckdb.OutOfMemoryException):
                raise self.out_of_memory() from None
            raise InputError(f"SQL failed on {self.dataset.ref}: {' '.join(str(exc).split())}") from None
        except MemoryError:
            raise self.out_of_memory() from None
        finally:
            done.set()
            guard.join()
            con.close()

    def _fetch(self, con: duckdb.DuckDBPyConnection) -> pa.Table:
        rel = con.sql(self.statement, params=self.params or None)
        if rel is None:
            raise InputError("The SQL statement returned no rows or columns; expected a SELECT.")
        cap = self.max_rows + 1 if self.limit is None else min(self.limit, self.max_rows + 1)
        reader = rel.limit(cap).to_arrow_reader(10_000)
        batches, rows, size = [], 0, 0
        for batch in reader:
            rows += batch.num_rows
            size += batch.nbytes
            if rows > self.max_rows:
                raise InputError(
                    f"The SQL result on {self.dataset.ref} has more than {self.max_rows:,} rows (the row cap, "
                    "--max-rows); add a LIMIT or aggregate, or raise the cap."
                )
            if size > self.max_result_bytes:
                raise InputError(
                    f"The SQL result on {self.dataset.ref} is larger than {_size(self.max_result_bytes)}; "
                    "select fewer or shorter columns, add a LIMIT or aggregate."
                )
            batches.append(batch)
        return pa.Table.from_batches(batches, schema=reader.schema)

    def timed_out(self) -> InputError:
        return InputError(
            f"The SQL query on {self.dataset.ref} ran past its time limit of {self.timeout_s:g} s (--timeout) "
            "and was stopped; narrow it (WHERE, LIMIT, no cross joins) or raise the limit."
        )

    def out_of_memory(self) -> InputError:
        return InputError(
            f"The SQL query on {self.dataset.ref} needs more memory than its limit of "
            f"{_size(self.memory_limit)} and was stopped; aggregate, add a LIMIT, or build "
            "smaller values (huge repeat(), range() or string results)."
        )


def _in_child(job: _Job) -> pa.Table:
    """job.run() in a forked child under an address-space cap; the Arrow result or the error comes back."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        code = 0
        try:
            _cap_memory(job.memory_limit + SQL_HEADROOM)
            try:
                payload = b"T" + _ipc(job.run())
            except InputError as exc:
                payload = b"E" + str(exc).encode()
            except MemoryError:
                payload = b"E" + str(job.out_of_memory()).encode()
            with os.fdopen(write_end, "wb") as out:
                out.write(struct.pack("<Q", len(payload)) + payload)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        data = _read_all(read_end, time.monotonic() + job.timeout_s + _GRACE_S, job.max_result_bytes + (64 << 20))
    finally:
        os.close(read_end)
        if data is None or data is _TOO_BIG:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        status = os.waitpid(pid, 0)[1]
    if data is None:
        raise job.timed_out()
    if data is _TOO_BIG or len(data) < 9 or struct.unpack("<Q", data[:8])[0] != len(data) - 8:
        if data is _TOO_BIG:
            how = "its result was too large"
        elif os.WIFSIGNALED(status):
            how = f"signal {os.WTERMSIG(status)}"
        else:
            how = f"exit status {os.waitstatus_to_exitcode(status)}"
        raise InputError(
            f"The SQL query on {job.dataset.ref} stopped without a result ({how}), most likely for want of "
            f"memory under its limit of {_size(job.memory_limit + SQL_HEADROOM)}; aggregate, add "
            "a LIMIT, or build smaller values."
        )
    kind, body = data[8:9], data[9:]
    if kind == b"E":
        raise InputError(body.decode(errors="replace"))
    with pa.ipc.open_stream(body) as reader:
        return reader.read_all()


def _size(n: int) -> str:
    return f"{n >> 20:,} MiB" if n >= 1 << 20 and not n % (1 << 20) else f"{n:,} bytes"


def _cap_memory(extra: int) -> None:
    """Cap this (child) process's address space at its current size + `extra` (Linux; elsewhere no cap)."""
    import resource

    try:
        with open("/proc/self/statm") as fh:
            size = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return
    cap = size + extra
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _read_all(fd: int, deadline: float, max_bytes: int) -> bytes | object | None:
    """Everything the child writes until it closes the pipe; None at the deadline, _TOO_BIG past max_bytes."""
    chunks, size = [], 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            return _TOO_BIG
        chunks.append(chunk)


def _single_select(query: str) -> str:
    """The query's one statement, if it is a SELECT (WITH, FROM-first, VALUES, DESCRIBE are SELECTs too)."""
    if not isinstance(query, str) or not query.strip():
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


def _locked_connection(dataset: Dataset, memory_limit: int) -> duckdb.DuckDBPyConnection:
    files = {t: (dataset.path / f"{t}.parquet").resolve() for t in TABLES}
    config = {"threads": SQL_THREADS, "memory_limit": f"{memory_limit}B", "temp_directory": ""}
    con = duckdb.connect(":memory:", config=config)
    try:
        for table, path in files.items():
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet({_literal(path)})")
        allowed = ", ".join(_literal(p) for p in files.values())
        con.execute(f"SET allowed_paths = [{allowed}]")  # views need their files once access is off
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except duckdb.IOException:
        con.close()
        dataset.check_present()
        raise
    except BaseException:
        con.close()
        raise
    return con


def _literal(path: object) -> str:
    return "'" + str(path).replace("'", "''") + "'"
