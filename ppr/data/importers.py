"""Import interaction logs (plus optional user profiles and item metadata) as a dataset version.

The heavy part (10M+ interactions) stays inside DuckDB: parse, validate, remap ids
and sort, then COPY straight to Parquet. Duplicates are found on the sorted rows
(numpy, one pass: a duplicate sits in a run of equal user and time), never by
grouping every event. Only the small tables (users, items, vocabularies) pass
through pandas. Everything is read and checked before the store is touched, so bad
input leaves the store as it was.

Nothing is lost without a word: every text file is first scanned by `scan_file`
(line and size limits, its record count); rows DuckDB cannot parse are counted, and
any such row, or any record DuckDB did not return at all, fails the import unless
`skip_bad_rows` (then they are reported and counted in the manifest).

Time units (`_time_sql`): a numeric time column is unix time in one unit for the whole
column, chosen by the median of its absolute values: below 1e11 seconds, below 1e14
milliseconds, below 1e17 microseconds, else nanoseconds. Strings that are not numbers
must be ISO date-times. Every time, once in seconds, must fall within the years 1 to
9999 (UTC); the first one outside is an error naming its row.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ppr.data.attributes import encode_attribute
from ppr.data.readers import (
    DEFAULT_LIMITS,
    Limits,
    Source,
    bad_rows,
    column_names,
    ident,
    open_view,
    reader_error,
    resolve_sources,
    scan_file,
)
from ppr.data.store import Dataset, Store, os_error_message, owner_tag, sweep_temp
from ppr.errors import InputError
from ppr.io import sha256_file
from ppr.log import Log, to_stderr
from ppr.spec.run import DOMAIN_NAME_RULE, domain_name_ok

DUCKDB_MEMORY_LIMIT = "3GB"
DUCKDB_THREADS = 2

# Column-name guesses, in order of preference; compared without case and punctuation.
USER_COLUMNS = (
    "user_id",
    "userid",
    "user",
    "uid",
    "user_idx",
    "users",
    "customer_id",
    "customer",
    "visitor_id",
    "member_id",
    "account_id",
    "reviewer_id",
    "session_id",
)
ITEM_COLUMNS = (
    "item_id",
    "itemid",
    "item",
    "iid",
    "movie_id",
    "movieid",
    "movie",
    "product_id",
    "product",
    "asin",
    "track_id",
    "song_id",
    "book_id",
    "isbn",
    "article_id",
    "business_id",
    "poi_id",
    "video_id",
    "news_id",
    "item_idx",
    "items",
)
TIME_COLUMNS = (
    "timestamp",
    "time",
    "ts",
    "datetime",
    "date",
    "time_stamp",
    "unix_timestamp",
    "unixtime",
    "event_time",
    "created_at",
    "unix_review_time",
    "click_time",
    "rating_time",
)
TITLE_COLUMNS = ("title", "name", "movie_title", "item_name", "product_name", "movie_name", "track_name", "book_title")
CATEGORY_COLUMNS = ("category", "categories", "genre", "genres", "class", "tags", "category_name")
DOMAIN_COLUMNS = ("domain", "item_domain")  # an item's domain, for cross-domain runs (ppr.data.domains)

_NUMERIC_TYPES = re.compile(r"^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|FLOAT|DOUBLE|REAL|DECIMAL.*)$")
_TIME_TYPES = re.compile(r"^(TIMESTAMP.*|DATE)$")
# A column whose median magnitude reaches these is in ns / us / ms (1e11 s is the year 5138); see the module doc.
_UNIT_SCALES = ((1e17, 1e9, "ns"), (1e14, 1e6, "us"), (1e11, 1e3, "ms"))
MIN_SECONDS, MAX_SECONDS = -62_135_596_800, 253_402_300_799  # 0001-01-01T00:00:00 .. 9999-12-31T23:59:59 UTC
_BATCH_ROWS = 1 << 20  # sorted events read at a time when looking for repeats
_SPACE = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)"  # what trimming an id removes


def import_dataset(
    store: Store,
    name: str,
    interactions: Path,
    users: Path | None = None,
    items: Path | None = None,
    user_col: str | None = None,
    item_col: str | None = None,
    time_col: str | None = None,
    attrs: list[str] | None = None,
    fmt: str = "auto",
    if_exists: str = "new",
    log: Log = to_stderr,
    limits: Limits = DEFAULT_LIMITS,
    skip_bad_rows: bool = False,
) -> Dataset:
    """Read, validate and publish a new dataset version; raises InputError (store untouched) on bad input.

    `limits` bound what is read (line length, columns, unpacked size); rows that cannot be
    read fail the import unless `skip_bad_rows`, which leaves them out and counts them.
    """
    store.check_writable(name, if_exists)
    kind, sources = resolve_sources(
        Path(interactions), Path(users) if users else None, Path(items) if items else None, fmt
    )
    if attrs and "users" not in sources:
        raise InputError(f"--attrs {','.join(attrs)} needs a users file (--users) to take the attributes from.")
    read = _Reader(limits, skip_bad_rows, log)
    with _connect() as con:
        columns, counts, time_unit = _load_interactions(
            con, sources["interactions"], user_col, item_col, time_col, log, read
        )
        users_table, attributes, user_counts = _load_users(con, sources.get("users"), user_col, attrs, log, read)
        items_table, item_flags = _load_items(con, sources.get("items"), item_col, log, read)
        if read.skipped:
            user_counts["bad_rows_skipped"] = dict(read.skipped)
        manifest = {
            "format_version": 1,
            "source": {
                "format": kind,
                "files": {
                    role: {"path": str(s.path.resolve()), "sha256": sha256_file(s.path)} for role, s in sources.items()
                },
                "columns": columns,
                "time_unit": time_unit,
            },
            "counts": {**counts, **user_counts},
            "attributes": attributes,
            "items": item_flags,
        }

        def writer(stage: Path) -> dict[str, Any]:
            _copy_interactions(con, stage / "interactions.parquet")
            pq.write_table(users_table, stage / "users.parquet")
            pq.write_table(items_table, stage / "items.parquet")
            return manifest

        return store.write_version(name, writer, if_exists=if_exists, log=log)


class _Reader:
    """How the files of one import are read: its limits, whether bad rows are skipped, what was skipped."""

    def __init__(self, limits: Limits, skip_bad_rows: bool, log: Log) -> None:
        self.limits, self.skip_bad_rows, self.log = limits, skip_bad_rows, log
        self.records: dict[str, int | None] = {}
        self.skipped: dict[str, int] = {}

    def open(self, con: duckdb.DuckDBPyConnection, src: Source) -> tuple[str, dict[str, str]]:
        """Scan the file (limits, record count), then open it as a view that sets bad rows aside."""
        self.records[src.role] = scan_file(src, self.limits)
        return open_view(con, src, self.limits, rejects=True)

    def account(self, con: duckdb.DuckDBPyConnection, src: Source, n_read: int) -> None:
        """Every record of the file was read, or was rejected and may be skipped: else InputError."""
        bad = bad_rows(con, src)
        expected = self.records.get(src.role)
        lost = 0 if expected is None else max(expected - n_read - bad.count, 0)  # more than counted: none lost
        if bad.count and not self.skip_bad_rows:
            raise InputError(
                f"{bad.count:,} row(s) of the {src.role} file {src.path} could not be read; the first is at "
                f"{bad.describe()}. Fix them, or import without them (--skip-bad-rows; in the app, "
                "'Skip unreadable rows'); nothing was imported."
            )
        if lost and not self.skip_bad_rows:
            raise InputError(
                f"The {src.role} file {src.path} holds {expected:,} data rows, but DuckDB returned {n_read:,} and "
                f"rejected {bad.count:,}: {lost:,} row(s) went missing, which points at unbalanced double quotes "
                "or an unreadable last line. Fix the file, or import what can be read with --skip-bad-rows; "
                "nothing was imported."
            )
        skipped = bad.count + lost
        if skipped:
            self.skipped[src.role] = skipped
            first = f" (first: {bad.describe()})" if bad.count else ""
            self.log(f"warning: skipped {skipped:,} unreadable row(s) of {src.path}{first}.")


@contextlib.contextmanager
def _connect() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB with bounded memory, spilling to a private temp folder (tagged with our pid, so a
    later import can sweep it if this process is killed)."""
    sweep_temp()
    try:
        spill = tempfile.mkdtemp(prefix="ppr-import-" + owner_tag())
    except OSError as exc:
        raise InputError(os_error_message(exc, f"create a scratch folder in {tempfile.gettempdir()}")) from None
    con = duckdb.connect(
        ":memory:",
        config={
            "threads": DUCKDB_THREADS,
            "memory_limit": DUCKDB_MEMORY_LIMIT,
            "temp_directory": spill,
            "preserve_insertion_order": True,
        },
    )
    try:
        con.execute("SET TimeZone = 'UTC'")
        yield con
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def pick_column(
    types: dict[str, str], given: str | None, candidates: tuple[str, ...], source: Source, flag: str
) -> str | None:
    """The column named by `given` (exact, else case-insensitive), else the first guess that exists."""
    if given:
        if given in types:
            return given
        folded = [c for c in types if c.lower() == given.lower()]
        if len(folded) == 1:
            return folded[0]
        raise InputError(
            f"Column {given!r} ({flag}) does not exist in the {source.role} file {source.path}; "
            f"its columns are: {column_names(types)}."
        )
    by_norm = {}
    for col in types:
        by_norm.setdefault(_norm(col), col)
    for cand in candidates:
        if _norm(cand) in by_norm:
            return by_norm[_norm(cand)]
    return None


def _require(col: str | None, source: Source, what: str, flag: str, types: dict[str, str]) -> str:
    if col is None:
        raise InputError(
            f"Cannot tell which column of the {source.role} file {source.path} holds the {what} ids; "
            f"its columns are: {column_names(types)}. Name it with {flag}."
        )
    return col


_INT_TYPES = re.compile(r"^(TINY|SMALL|BIG)?INT(EGER)?$|^U(TINY|SMALL)?INT(EGER)?$")


def _id_expr(col: str, dtype: str) -> str:
    """Ids as they are when integers (fast joins), else as strings trimmed of blanks (spaces, tabs, line ends);
    whole floats print as integers; NaN and infinities are no id (NULL)."""
    c = ident(col)
    if _INT_TYPES.match(dtype):
        return f"CAST({c} AS BIGINT)"
    if dtype in ("FLOAT", "DOUBLE", "REAL"):
        return (
            f"CASE WHEN NOT isfinite({c}) THEN NULL WHEN {c} = floor({c}) AND abs({c}) < 9e18 "
            f"THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) ELSE CAST({c} AS VARCHAR) END"
        )
    return f"trim(CAST({c} AS VARCHAR), {_SPACE})"


def _load_interactions(
    con: duckdb.DuckDBPyConnection,
    src: Source,
    user_col: str | None,
    item_col: str | None,
    time_col: str | None,
    log: Log,
    read: _Reader,
) -> tuple[dict[str, str | None], dict[str, int], str]:
    """Build temp tables umap, imap (id -> index) and ev (deduplicated events, sorted); returns (columns, counts,
    time unit)."""
    view, types = read.open(con, src)
    ucol = _require(pick_column(types, user_col, USER_COLUMNS, src, "--user-col"), src, "user", "--user-col", types)
    icol = _require(pick_column(types, item_col, ITEM_COLUMNS, src, "--item-col"), src, "item", "--item-col", types)
    tcol = pick_column(types, time_col, TIME_COLUMNS, src, "--time-col")
    if ucol == icol:
        raise InputError(
            f"The user and item columns of {src.path} are both {ucol!r}; name them with --user-col and --item-col."
        )
    guessed = [
        f"{role}={col!r}"
        for role, col, given in (("user", ucol, user_col), ("item", icol, item_col), ("time", tcol, time_col))
        if col and not given
    ]
    if guessed:
        log(f"note: guessed columns of {src.path.name}: {', '.join(guessed)}")
    select = [f"{_id_expr(ucol, types[ucol])} AS uid", f"{_id_expr(icol, types[icol])} AS iid"]
    if tcol:
        select.append(f"{ident(tcol)} AS t_raw")
    _run(con, src, f"CREATE TEMP TABLE raw AS SELECT {', '.join(select)} FROM {view}")
    n_rows = con.execute("SELECT count(*) FROM raw").fetchone()[0]
    read.account(con, src, n_rows)
    if n_rows == 0:
        where = "has a header but no data rows" if src.has_header else "has no data rows"
        raise InputError(f"The {src.role} file {src.path} {where}; expected at least one interaction.")
    keys = _id_keys(con, src, ucol, icol)
    ts_sql, time_unit = _time_sql(con, src, tcol, log) if tcol else ("rowid", "row_order")
    if not tcol:
        log(
            f"note: no time column found in {src.path} (columns: {column_names(types)}); "
            "using file order as time. Name one with --time-col."
        )
    for table, key, alias, first in (("umap", keys[0], "user", 0), ("imap", keys[1], "item", 1)):
        con.execute(
            f"CREATE TEMP TABLE {table} AS SELECT k AS key, "
            f'CAST(row_number() OVER (ORDER BY k) - {1 - first} AS INTEGER) AS "{alias}" '
            f"FROM (SELECT DISTINCT {key} AS k FROM raw)"
        )
    n_events = n_rows - _sort_events(con, src, keys, ts_sql)
    if n_rows > n_events:
        log(f"note: dropped {n_rows - n_events} duplicate (user, item, time) rows of {n_rows} in {src.path}.")
    n_users = con.execute("SELECT count(*) FROM umap").fetchone()[0]
    n_items = con.execute("SELECT count(*) FROM imap").fetchone()[0]
    columns = {"user": ucol, "item": icol, "time": tcol}
    counts = {"users": n_users, "items": n_items, "interactions": n_events, "duplicates_dropped": n_rows - n_events}
    return columns, counts, time_unit


def _sort_events(con: duckdb.DuckDBPyConnection, src: Source, keys: tuple[str, str], ts_sql: str) -> int:
    """Build temp table ev: the interactions as (user, item, ts) in the order they are stored (user, time, file
    order), each repeat of a (user, item, time) after its first left out; returns how many repeats went.

    DuckDB remaps the ids and sorts; a repeat shares its user and time with its first, so it sits in a run of
    equal (user, ts) of the sorted rows, where `first_of_repeats` finds it in one pass. No hash table over every
    event: grouping 100M rows costs more than sorting them."""
    _run(
        con,
        src,
        'CREATE TEMP TABLE ev AS SELECT m."user", i."item", r.ts FROM '
        f"(SELECT rowid AS rn, {keys[0]} AS uk, {keys[1]} AS ik, {ts_sql} AS ts FROM raw) r "
        'JOIN umap m ON r.uk = m.key JOIN imap i ON r.ik = i.key ORDER BY m."user", r.ts, r.rn',
    )
    con.execute("DROP TABLE raw")
    # insertion order: the n-th row read is row n; read in batches, so memory stays one batch whatever the size
    repeats = repeat_rows(con.sql('SELECT "user", "item", ts FROM ev').to_arrow_reader(_BATCH_ROWS))
    if not len(repeats):
        return 0
    keep = np.ones(con.execute("SELECT count(*) FROM ev").fetchall()[0][0], dtype=bool)
    keep[repeats] = False
    con.register("firsts", pa.table({"keep": keep}))
    try:  # a new table, not a DELETE: its row groups come out full, as they would without repeats
        con.execute('CREATE TEMP TABLE kept AS SELECT "user", "item", ts FROM ev POSITIONAL JOIN firsts WHERE keep')
    finally:
        con.unregister("firsts")
    con.execute("DROP TABLE ev")
    con.execute("ALTER TABLE kept RENAME TO ev")
    return len(repeats)


def repeat_rows(batches: Iterable[pa.RecordBatch]) -> np.ndarray:
    """Positions of the repeats among events (user, item, ts) sorted by user, time and file order: every row of
    a (user, item, ts) after its first. Read a batch at a time; a run of equal (user, ts) that reaches the end
    of a batch is held back until the next one shows where it ends."""
    found, done = [], 0
    held = {"user": np.zeros(0, np.int32), "item": np.zeros(0, np.int32), "ts": np.zeros(0, np.int64)}
    for batch in [*batches, None]:
        cols = held if batch is None else {c: np.concatenate([v, batch.column(c).to_numpy()]) for c, v in held.items()}
        user, ts = cols["user"], cols["ts"]
        starts = np.flatnonzero((user[1:] != user[:-1]) | (ts[1:] != ts[:-1])) + 1  # rows that begin a run
        cut = len(user) if batch is None else int(starts[-1]) if len(starts) else 0
        keep = first_of_repeats(user[:cut], cols["item"][:cut], ts[:cut])
        if keep is not None:
            found.append(done + np.flatnonzero(~keep))
        done += cut
        held = {c: v[cut:] for c, v in cols.items()}
    return np.concatenate(found) if found else np.zeros(0, np.int64)


def first_of_repeats(user: np.ndarray, item: np.ndarray, ts: np.ndarray) -> np.ndarray | None:
    """Which rows to keep of events sorted by (user, ts, file order): the first of every (user, item, ts),
    None when there is no repeat. Only rows in runs of equal (user, ts) are compared, so the cost is a pass
    over the rows plus a sort of the tied ones."""
    tied = (user[1:] == user[:-1]) & (ts[1:] == ts[:-1])  # row i+1 has row i's user and time
    if not tied.any():
        return None
    after = np.concatenate(([False], tied))  # tied to the row before
    rows = np.flatnonzero(after | np.concatenate((tied, [False])))
    run = np.cumsum(~after[rows])  # one id per run of equal (user, ts)
    order = np.lexsort((item[rows], run))  # stable: file order within each (run, item)
    run, items = run[order], item[rows][order]
    again = np.zeros(len(rows), dtype=bool)
    again[1:] = (run[1:] == run[:-1]) & (items[1:] == items[:-1])
    if not again.any():
        return None
    keep = np.ones(len(user), dtype=bool)
    keep[rows[order[again]]] = False
    return keep


def _id_keys(con: duckdb.DuckDBPyConnection, src: Source, ucol: str, icol: str) -> tuple[str, str]:
    """Reject missing ids (naming the first bad row); return the key SQL of uid and iid in table raw.

    String ids that are all plain integers (no sign, no leading zero: the string comes
    back unchanged) become BIGINT keys, because joining and grouping integers is
    several times faster than strings.
    """
    types = _types(con, "raw")
    checks = []
    for col in ("uid", "iid"):
        empty = f" OR {col} = ''" if types[col] == "VARCHAR" else ""  # a number is never blank: no cast
        checks.append(f"min(rowid) FILTER (WHERE {col} IS NULL{empty})")
        exact = f"coalesce(CAST(TRY_CAST({col} AS BIGINT) AS VARCHAR) = {col}, false)"
        checks.append(f"coalesce(bool_and({exact}), false)" if types[col] == "VARCHAR" else "false")
    bad_user, int_user, bad_item, int_item = _run(con, src, f"SELECT {', '.join(checks)} FROM raw").fetchone()
    for row, col, what, flag in ((bad_user, ucol, "user", "--user-col"), (bad_item, icol, "item", "--item-col")):
        if row is not None:
            raise InputError(
                f"The {src.role} file {src.path} has no {what} id in column {col!r} at {src.where(row + 1)}; "
                f"every interaction needs {_a(what)} {what} id. Remove or fix that row "
                f"(or name another column with {flag})."
            )
    return ("CAST(uid AS BIGINT)" if int_user else "uid", "CAST(iid AS BIGINT)" if int_item else "iid")


def _time_sql(con: duckdb.DuckDBPyConnection, src: Source, tcol: str, log: Log) -> tuple[str, str]:
    """Validate column t_raw of table raw as time; returns (SQL for int64 unix seconds, unit).

    Numbers are unix time in one unit for the whole column, chosen by the median of their
    absolute values (see the module doc); other strings must be ISO date-times. The costly
    ISO parse runs only where a value is not a number. Any time outside the years 1..9999
    is an error naming its row.
    """
    dtype = _types(con, "raw")["t_raw"]
    if _NUMERIC_TYPES.match(dtype):
        num, iso = "CAST(t_raw AS DOUBLE)", None
    elif _TIME_TYPES.match(dtype):
        num, iso = None, "epoch(CAST(t_raw AS TIMESTAMPTZ))"
    elif dtype == "VARCHAR":
        num, iso = "TRY_CAST(t_raw AS DOUBLE)", "epoch(TRY_CAST(t_raw AS TIMESTAMPTZ))"
    else:
        raise InputError(
            f"Time column {tcol!r} of the {src.role} file {src.path} has type {dtype}; expected integer or "
            "float unix times, or ISO date-time strings such as 2024-01-31T12:00:00."
        )
    is_num = f"coalesce(isfinite({num}), false)" if num else "false"
    first_null, n_other, low, high = _run(
        con,
        src,
        f"SELECT min(rowid) FILTER (WHERE t_raw IS NULL), count(*) FILTER (WHERE NOT {is_num}), "
        f"min(abs({num or 'NULL'})) FILTER (WHERE {is_num}), max(abs({num or 'NULL'})) FILTER (WHERE {is_num}) "
        "FROM raw",
    ).fetchone()
    bad = first_null
    if bad is None and n_other:
        not_time = f"CASE WHEN {is_num} THEN false ELSE {iso} IS NULL END" if iso else f"NOT {is_num}"
        bad = _run(con, src, f"SELECT min(rowid) FILTER (WHERE {not_time}) FROM raw").fetchone()[0]
    if bad is not None:
        value = con.execute("SELECT CAST(t_raw AS VARCHAR) FROM raw WHERE rowid = ?", [bad]).fetchone()[0]
        raise InputError(
            f"The {src.role} file {src.path} has an unparseable timestamp in column {tcol!r} at "
            f"{src.where(bad + 1)}: {'an empty value' if value is None else repr(value)}. "
            "Expected unix seconds or milliseconds (integer or float) or an "
            "ISO date-time such as 2024-01-31T12:00:00 (name another column with --time-col)."
        )
    numeric = low is not None
    # Every value below the smallest limit is seconds whatever the median: the exact median (a sort of every
    # time) is only worked out where it decides the unit, or for a message.
    median = _median(con, src, num, is_num) if numeric and high >= _UNIT_SCALES[-1][0] else None
    scale, unit = 1.0, "s" if numeric else "iso"
    for limit, factor, name in _UNIT_SCALES:
        if median is not None and median >= limit:
            scale, unit = factor, name
            log(f"note: time column {tcol!r} holds unix {name} (median {median:.0f}); converted to seconds.")
            break
    if not n_other:
        seconds = f"({num} / {scale!r})"
    elif not num:
        seconds = iso
    else:
        seconds = f"(CASE WHEN {is_num} THEN {num} / {scale!r} ELSE {iso} END)"
    outside = f"NOT coalesce({seconds} BETWEEN {MIN_SECONDS} AND {MAX_SECONDS}, false)"
    row = _run(con, src, f"SELECT min(rowid) FILTER (WHERE {outside}) FROM raw").fetchone()[0]
    if row is not None:
        value = con.execute("SELECT CAST(t_raw AS VARCHAR) FROM raw WHERE rowid = ?", [row]).fetchone()[0]
        median = _median(con, src, num, is_num) if numeric and median is None else median
        how = f"as unix {unit} (the unit the column's median {median:.6g} implies)" if numeric else ""
        raise InputError(
            f"The {src.role} file {src.path} has an implausible timestamp in column {tcol!r} at "
            f"{src.where(row + 1)}: {value!r} read {how or 'as a date-time'} lies outside the years 1 to 9999. "
            "Fix that row, or name another column with --time-col."
        )
    return f"CAST(floor({seconds}) AS BIGINT)", unit


def _median(con: duckdb.DuckDBPyConnection, src: Source, num: str | None, is_num: str) -> float:
    """The median absolute value of the numeric times in table raw, which picks their unit."""
    return _run(con, src, f"SELECT quantile_disc(abs({num}), 0.5) FILTER (WHERE {is_num}) FROM raw").fetchone()[0]


def _a(word: str) -> str:
    return "an" if word[0] in "aeio" else "a"  # a user, an item


def _types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    return {row[0]: row[1] for row in con.execute(f"DESCRIBE {table}").fetchall()}


def _run(con: duckdb.DuckDBPyConnection, src: Source, sql: str) -> duckdb.DuckDBPyConnection:
    """Execute SQL that reads `src`; reader failures become InputError naming the file."""
    try:
        return con.execute(sql)
    except duckdb.Error as exc:
        raise reader_error(src, exc) from None


def _read_small(
    con: duckdb.DuckDBPyConnection, src: Source, view: str, id_sql: str, cols: list[str], read: _Reader
) -> pd.DataFrame:
    """A users/items file as pandas, in file order: key (the id as a string), then `cols`."""
    extra = "".join(f", {ident(c)}" for c in cols)
    df = _run(con, src, f"SELECT CAST({id_sql} AS VARCHAR) AS key{extra} FROM {view}").df()
    read.account(con, src, len(df))
    if df.empty:
        where = "has a header but no data rows" if src.has_header else "has no data rows"
        raise InputError(f"The {src.role} file {src.path} {where}; leave it out or give it rows.")
    return df


def _match(df: pd.DataFrame, ids: pd.DataFrame, src: Source, id_col: str, what: str) -> tuple[pd.DataFrame, int, int]:
    """Keep the first row of every id that occurs in the interactions; returns (rows, unmatched, duplicates)."""
    known = pd.Index(ids["key"]).get_indexer(df["key"]) >= 0  # ids' keys are distinct; a missing id matches none
    if not known.any():
        sample_file = ", ".join(repr(v) for v in df["key"].dropna().head(3))
        sample_inter = ", ".join(repr(v) for v in ids["key"].head(3))
        raise InputError(
            f"None of the {len(df)} ids in column {id_col!r} of the {src.role} file {src.path} matches "
            f"{_a(what)} {what} id "
            f"of the interactions (file has {sample_file or 'no ids'}; interactions have {sample_inter}). "
            f"Check that it is the right file and that the id column is right."
        )
    kept = df[known]
    dup = kept["key"].duplicated(keep="first")
    return kept[~dup].merge(ids, on="key", how="left"), int((~known).sum()), int(dup.sum())


def _load_users(
    con: duckdb.DuckDBPyConnection,
    src: Source | None,
    user_col: str | None,
    attrs: list[str] | None,
    log: Log,
    read: _Reader,
) -> tuple[pa.Table, list[dict[str, Any]], dict[str, Any]]:
    """users.parquet as an Arrow table (one row per user), the attribute manifest entries and drop counts."""
    ids = con.execute('SELECT CAST(key AS VARCHAR) AS key, "user" FROM umap ORDER BY "user"').df()
    n_users = len(ids)
    columns: dict[str, Any] = {
        "user": pa.array(np.arange(n_users, dtype=np.int32)),
        "user_id": pa.array(ids["key"].astype(str).tolist(), pa.string()),
    }
    counts = {"users_file_rows_dropped": 0}
    if src is None:
        return pa.table(columns), [], counts
    view, types = read.open(con, src)
    id_col = pick_column(types, user_col if user_col in types else None, USER_COLUMNS, src, "--user-col")
    id_col = _require(id_col, src, "user", "--user-col", types)
    wanted = [pick_column(types, a, (), src, "--attrs") for a in attrs] if attrs else None
    attr_cols = wanted or [c for c in types if c != id_col]
    df = _read_small(con, src, view, _id_expr(id_col, types[id_col]), attr_cols, read)
    rows, unmatched, dups = _match(df, ids, src, id_col, "user")
    if unmatched:
        log(f"note: dropped {unmatched} of {len(df)} rows of {src.path} whose user id has no interaction.")
    if dups:
        log(f"note: {dups} user ids repeat in {src.path}; kept the first row of each.")
    counts = {"users_file_rows_dropped": unmatched + dups, "users_file_duplicate_ids": dups}
    user_idx = rows["user"].to_numpy(dtype=np.int64)
    attributes = []
    for col in attr_cols:
        full = pd.Series([None] * n_users, dtype="object")
        full.iloc[user_idx] = rows[col].astype("object").to_numpy()
        name = col if col not in ("user", "user_id") else f"attr_{col}"
        codes, entry = encode_attribute(full, name, col)
        columns[name] = pa.array(codes, pa.int16())
        attributes.append(entry)
    return pa.table(columns), attributes, counts


def _load_items(
    con: duckdb.DuckDBPyConnection, src: Source | None, item_col: str | None, log: Log, read: _Reader
) -> tuple[pa.Table, dict[str, bool]]:
    """items.parquet as an Arrow table (one row per item 1..I) and the has_title/has_category flags (and has_domain
    when the file names each item's domain: a `domain` column, kept for cross-domain runs)."""
    ids = con.execute('SELECT CAST(key AS VARCHAR) AS key, "item" FROM imap ORDER BY "item"').df()
    title = pd.Series([None] * len(ids), dtype="object")
    category = pd.Series([None] * len(ids), dtype="object")
    flags = {"has_title": False, "has_category": False}
    domain = None
    if src is not None:
        view, types = read.open(con, src)
        id_col = pick_column(types, item_col if item_col in types else None, ITEM_COLUMNS, src, "--item-col")
        id_col = _require(id_col, src, "item", "--item-col", types)
        title_col = pick_column({c: t for c, t in types.items() if c != id_col}, None, TITLE_COLUMNS, src, "")
        cat_col = pick_column({c: t for c, t in types.items() if c != id_col}, None, CATEGORY_COLUMNS, src, "")
        domain_col = pick_column({c: t for c, t in types.items() if c != id_col}, None, DOMAIN_COLUMNS, src, "")
        extra = [c for c in (title_col, cat_col, domain_col) if c]
        df = _read_small(con, src, view, _id_expr(id_col, types[id_col]), extra, read)
        rows, unmatched, dups = _match(df, ids, src, id_col, "item")
        if unmatched:
            log(f"note: {unmatched} of {len(df)} rows of {src.path} describe items with no interaction; not kept.")
        pos = rows["item"].to_numpy(dtype=np.int64) - 1
        for col, target, flag in ((title_col, title, "has_title"), (cat_col, category, "has_category")):
            if col:
                target.iloc[pos] = rows[col].astype("string").astype("object").where(rows[col].notna(), None).to_numpy()
                flags[flag] = True
        if domain_col:
            domain = _domains(rows, domain_col, src, len(ids), pos)
    columns = {
        "item": pa.array(ids["item"].to_numpy(dtype=np.int32)),
        "item_id": pa.array(ids["key"].astype(str).tolist(), pa.string()),
        "title": pa.array(title.tolist(), pa.string()),
        "category": pa.array(category.tolist(), pa.string()),
    }
    if domain is not None:
        columns["domain"] = pa.array(domain.tolist(), pa.string())
        flags["has_domain"] = True
    return pa.table(columns), flags


def _domains(rows: pd.DataFrame, col: str, src: Source, n_items: int, pos: np.ndarray) -> pd.Series:
    """Each item's domain name from `col` (None where the file gives none); InputError naming the first row whose
    value cannot name a domain."""
    values = rows[col].astype("string")
    bad = values.notna() & ~values.fillna("").map(domain_name_ok).astype(bool)
    if bad.any():
        first = rows.index[np.argmax(bad.to_numpy())]
        raise InputError(
            f"The {src.role} file {src.path} has an item domain {values[first]!r} in column {col!r} (item "
            f"{rows.loc[first, 'key']!r}); expected {DOMAIN_NAME_RULE}."
        )
    out = pd.Series([None] * n_items, dtype="object")
    out.iloc[pos] = values.astype("object").where(values.notna(), None).to_numpy()
    return out


def _copy_interactions(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """The interactions straight from DuckDB to Parquet, in table ev's order (user, ts, file order)."""
    target = "'" + str(path).replace("'", "''") + "'"
    try:
        con.execute(
            f'COPY (SELECT "user", "item", ts FROM ev) TO {target} '
            "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)"
        )
    except duckdb.Error as exc:
        reason = " ".join(str(exc).split())
        hint = (
            " The disk is full: free some space, or point --home / $PPR_HOME at a disk with room."
            if "no space left" in reason.lower()
            else ""
        )
        raise InputError(f"Could not write {path}: {reason}.{hint} Nothing was imported.") from None
