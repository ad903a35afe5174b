"""Find and open the files of a dataset import as DuckDB views, failing early with plain messages.

Each file becomes one temporary view whose rows come in file order and whose columns
have clean names (RecBole ``name:type`` headers lose the ``:type``; headerless
MovieLens files get their documented names). Text formats are read as VARCHAR so
the importer, not DuckDB's sniffer, decides what an id or a timestamp is.

Before DuckDB reads a text file for an import, `scan_file` reads it once itself (a .gz
is unpacked as a stream, never to disk): every line must fit `Limits.max_line_bytes`,
a .gz must stay within `max_unpacked_bytes` and `max_ratio`, and it counts the data
records the file holds (quote-aware), so that a row DuckDB silently skips is noticed.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from ppr.errors import InputError

FORMATS = ("auto", "csv", "tsv", "parquet", "jsonl", "movielens", "recbole")
ROLES = ("interactions", "users", "items")
_COMPRESSED = (".gz",)
_SNIFF_BYTES = 1 << 16
_SCAN_BLOCK = 4 << 20
RATIO_FLOOR = 16 << 20  # the compression ratio is checked once this many bytes are unpacked


@dataclass(frozen=True)
class Limits:
    """What one import may read; going past one is an InputError naming the file and the limit's flag."""

    max_columns: int = 10_000  # columns of one file (--max-columns)
    max_line_bytes: int = 2 << 20  # bytes of one line, the header included (--max-line-bytes)
    max_unpacked_bytes: int = 16 << 30  # a .gz file once unpacked (--max-unpacked-bytes)
    max_ratio: float = 100.0  # unpacked / packed bytes of a .gz, past RATIO_FLOOR (--max-ratio)

    def __post_init__(self) -> None:
        for name in ("max_columns", "max_line_bytes", "max_unpacked_bytes", "max_ratio"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value < 2**62:
                flag = "--" + name.replace("_", "-")
                raise InputError(f"Import limit {flag} {value!r} is invalid: expected a number from 1 to 2**62.")


DEFAULT_LIMITS = Limits()

ML100K_GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
ML1M_AGES = {"1": "Under 18", "18": "18-24", "25": "25-34", "35": "35-44", "45": "45-49", "50": "50-55", "56": "56+"}
ML1M_OCCUPATIONS = (
    "other",
    "academic/educator",
    "artist",
    "clerical/admin",
    "college/grad student",
    "customer service",
    "doctor/health care",
    "executive/managerial",
    "farmer",
    "homemaker",
    "K-12 student",
    "lawyer",
    "programmer",
    "retired",
    "sales/marketing",
    "scientist",
    "self-employed",
    "technician/engineer",
    "tradesman/craftsman",
    "unemployed",
    "writer",
)

# MovieLens file names per role, and the column names of their headerless layouts.
_ML_FILES = {
    "movielens-100k": {"interactions": "u.data", "users": "u.user", "items": "u.item"},
    "movielens-1m": {"interactions": "ratings.dat", "users": "users.dat", "items": "movies.dat"},
}
_ML_COLUMNS = {
    ("movielens-100k", "interactions"): ["user_id", "item_id", "rating", "timestamp"],
    ("movielens-100k", "users"): ["user_id", "age", "gender", "occupation", "zip_code"],
    ("movielens-100k", "items"): ["item_id", "title", "release_date", "video_release_date", "imdb_url"]
    + [f"g{i}" for i in range(len(ML100K_GENRES))],
    ("movielens-1m", "interactions"): ["user_id", "item_id", "rating", "timestamp"],
    ("movielens-1m", "users"): ["user_id", "gender", "age", "occupation", "zip_code"],
    ("movielens-1m", "items"): ["item_id", "title", "genres"],
}


@dataclass(frozen=True)
class Source:
    """One input file: its role, path, resolved format, and whether row 1 is a header."""

    role: str
    path: Path
    fmt: str  # csv | tsv | parquet | jsonl | movielens-100k | movielens-1m | recbole

    @property
    def has_header(self) -> bool:
        return self.fmt in ("csv", "tsv", "recbole")

    def where(self, row: int) -> str:
        """Human location of 1-based data row `row` in this file."""
        if self.fmt == "parquet":
            return f"row {row}"
        line = row + 1 if self.has_header else row
        return f"row {row} (line {line} of the file)"


def resolve_sources(
    interactions: Path, users: Path | None, items: Path | None, fmt: str = "auto"
) -> tuple[str, dict[str, Source]]:
    """Work out the format and the file of every role; returns (format, {role: Source}).

    A directory (or a MovieLens/RecBole interactions file) brings its sibling users
    and items files along unless they were given explicitly.
    """
    if fmt not in FORMATS:
        raise InputError(f"Format {fmt!r} is not known; use one of: {', '.join(FORMATS)}.")
    given = {"interactions": _existing(interactions, "interactions"), "users": users, "items": items}
    for role in ("users", "items"):
        if given[role] is not None:
            given[role] = _existing(given[role], role)
    inter = given["interactions"]
    kind = _detect_family(inter) if fmt in ("auto", "movielens") else fmt
    if fmt == "movielens" and kind not in _ML_FILES:
        raise InputError(
            f"{inter} does not look like MovieLens: expected u.data (100K) or ratings.dat (1M), "
            "or a folder holding one of them."
        )
    found: dict[str, Path] = {}
    if kind in _ML_FILES or kind == "recbole":
        found = _family_files(inter, kind)
        paths = {role: given[role] or found.get(role) for role in ROLES}
        paths["interactions"] = found["interactions"]
    elif inter.is_dir():
        raise InputError(
            f"{inter} is a folder; a folder is only understood for MovieLens (u.data or ratings.dat inside) "
            "or RecBole (*.inter inside). Pass the interactions file itself."
        )
    else:
        paths = given
    sources = {}
    for role, path in paths.items():
        if path is None:
            continue
        path = Path(path)
        if path == found.get(role) or (kind in _ML_FILES and path.name == _ML_FILES[kind][role]):
            role_fmt = kind
        else:
            role_fmt = _format_from_name(path, fmt if role == "interactions" else "auto")
        sources[role] = Source(role, path, role_fmt)
    return kind, sources


def _existing(path: Path | str, role: str) -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        raise InputError(f"The {role} file {path} does not exist.")
    return path


def _detect_family(path: Path) -> str:
    """MovieLens/RecBole by file or folder contents, else the plain format from the file name."""
    if path.is_dir():
        for kind, files in _ML_FILES.items():
            if (path / files["interactions"]).is_file():
                return kind
        if sorted(path.glob("*.inter")):
            return "recbole"
        names = ", ".join(sorted(p.name for p in path.iterdir())[:10]) or "nothing"
        raise InputError(
            f"Folder {path} holds no MovieLens (u.data, ratings.dat) or RecBole (*.inter) interactions file; "
            f"it holds: {names}."
        )
    for kind, files in _ML_FILES.items():
        if path.name == files["interactions"]:
            return kind
    if path.suffix == ".inter":
        return "recbole"
    return _format_from_name(path, "auto")


def _format_from_name(path: Path, fmt: str) -> str:
    if fmt not in ("auto", "movielens"):
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED:
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    by_ext = {
        ".csv": "csv",
        ".tsv": "tsv",
        ".tab": "tsv",
        ".parquet": "parquet",
        ".pq": "parquet",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".json": "jsonl",
        ".inter": "recbole",
        ".user": "recbole",
        ".item": "recbole",
    }
    if ext in by_ext:
        return by_ext[ext]
    raise InputError(
        f"Cannot tell the format of {path} from its name; expected .csv, .tsv, .parquet, .jsonl "
        "(or MovieLens/RecBole files). Pass --format."
    )


def _family_files(path: Path, kind: str) -> dict[str, Path]:
    """The interactions/users/items files of a MovieLens or RecBole folder (or of a file's folder)."""
    folder = path if path.is_dir() else path.parent
    if kind == "recbole":
        inter = path if path.is_file() else sorted(folder.glob("*.inter"))[0]
        stem = inter.name[: -len(".inter")] if inter.name.endswith(".inter") else inter.stem
        names = {"interactions": inter.name, "users": f"{stem}.user", "items": f"{stem}.item"}
    else:
        names = dict(_ML_FILES[kind])
        if path.is_file():
            names["interactions"] = path.name
    found = {role: folder / fname for role, fname in names.items() if (folder / fname).is_file()}
    if "interactions" not in found:
        raise InputError(f"No {kind} interactions file ({names['interactions']}) in {folder}.")
    return found


def check_file(source: Source) -> None:
    """Cheap checks before DuckDB sees the file: exists, not empty, right kind of bytes."""
    path = source.path
    if not path.is_file():
        raise InputError(f"The {source.role} file {path} does not exist or is not a regular file.")
    if path.stat().st_size == 0:
        raise InputError(f"The {source.role} file {path} is empty (0 bytes); expected {_expected(source)}.")
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if path.suffix.lower() in _COMPRESSED:
        return
    if source.fmt == "parquet":
        if not head.startswith(b"PAR1"):
            raise InputError(f"The {source.role} file {path} is not a Parquet file (it does not start with 'PAR1').")
        return
    if b"\x00" in head:
        raise InputError(
            f"The {source.role} file {path} looks binary (it contains NUL bytes); expected {_expected(source)}."
        )
    if not source.fmt.startswith("movielens"):  # MovieLens is latin-1; everything else must be UTF-8
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"The {source.role} file {path} is not UTF-8 text (byte 0x{head[exc.start]:02x} at offset "
                f"{exc.start}); expected {_expected(source)}. Re-save it as UTF-8."
            ) from None


def _expected(source: Source) -> str:
    return {
        "csv": "comma-separated text with a header row",
        "tsv": "tab-separated text with a header row",
        "jsonl": "JSON lines (one JSON object per line)",
        "parquet": "a Parquet file",
        "recbole": "a RecBole atomic file (tab-separated, 'name:type' header)",
        "movielens-100k": "MovieLens 100K text (u.data tab-separated, u.user/u.item '|'-separated)",
        "movielens-1m": "MovieLens 1M text ('::'-separated)",
    }[source.fmt]


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def ident(name: str) -> str:
    """A DuckDB identifier for any column name."""
    return '"' + name.replace('"', '""') + '"'


def _reader_sql(source: Source, names: list[str] | None, limits: Limits, rejects: str | None) -> str:
    """The DuckDB table expression for the file's raw rows (before column renaming).

    Text files are read with sniffing off and the column list fixed (from our own
    header parse, or MovieLens' documented layout): a ragged row is then an error
    naming its line, not a silently different table. With `rejects` (a table name),
    rows DuckDB cannot parse are kept out and listed in that table instead (see
    `bad_rows`), so the importer can count them all and name the first.
    """
    p = _quote(source.path)
    if source.fmt == "parquet":
        return f"read_parquet({p})"
    if source.fmt == "jsonl":
        layout = "auto" if source.path.name.lower().removesuffix(".gz").endswith(".json") else "newline_delimited"
        size = max(limits.max_line_bytes + 1024, 16 << 20)
        return f"read_json({p}, format='{layout}', maximum_object_size={size})"
    if source.fmt.startswith("movielens"):
        names = _ML_COLUMNS[(source.fmt, source.role)]
    cols = ", ".join(f"{_quote(n)}: 'VARCHAR'" for n in names or [])
    header = str(source.has_header).lower()
    opts = (
        f"delim=E'{_delimiter(source)}', header={header}, auto_detect=false, columns={{{cols}}}, "
        f"max_line_size={limits.max_line_bytes + 2}"
    )
    if rejects:
        opts += f", store_rejects=true, rejects_table='{rejects}', rejects_scan='{rejects}_scans'"
    if source.fmt in ("csv", "tsv"):
        return f"read_csv({p}, {opts}, quote='\"', escape='\"')"
    if source.fmt == "recbole":
        return f"read_csv({p}, {opts}, quote='', escape='')"
    return f"read_csv({p}, {opts}, quote='', escape='', encoding='latin-1')"


def _delimiter(source: Source) -> str:
    """The delimiter as a DuckDB E'' string body."""
    if source.fmt == "csv":
        return ","
    if source.fmt == "movielens-1m":
        return "::"
    if source.fmt == "movielens-100k" and source.role != "interactions":
        return "|"
    return "\\t"


def header_names(source: Source, limits: Limits = DEFAULT_LIMITS) -> list[str]:
    """Column names from the first line of a csv/tsv/recbole file (our parse, so DuckDB never guesses)."""
    opener = gzip.open if source.path.suffix.lower() == ".gz" else open
    try:
        with opener(source.path, "rb") as fh:
            first = fh.readline(limits.max_line_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"Could not read the {source.role} file {source.path}: {exc}.") from None
    if len(first) > limits.max_line_bytes:
        raise InputError(
            f"The header line of the {source.role} file {source.path} is longer than {limits.max_line_bytes:,} "
            "bytes (the line limit, --max-line-bytes); expected a header row of column names. "
            "Check the delimiter and the line endings, or raise the limit."
        )
    try:
        line = first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise InputError(f"The header line of the {source.role} file {source.path} is not UTF-8 text.") from None
    if not line.strip():
        raise InputError(f"The first line of the {source.role} file {source.path} is empty; expected a header row.")
    delim = "," if source.fmt == "csv" else "\t"
    quoting = csv.QUOTE_NONE if source.fmt == "recbole" else csv.QUOTE_MINIMAL
    try:
        fields = next(csv.reader([line], delimiter=delim, quoting=quoting))
    except csv.Error as exc:
        raise InputError(
            f"The header line of the {source.role} file {source.path} cannot be parsed ({exc}); "
            "expected a header row of column names."
        ) from None
    check_width(source, len(fields), limits)
    names = [n.strip() or f"column{i + 1}" for i, n in enumerate(fields)]
    repeated = sorted(n for n, k in Counter(names).items() if k > 1)
    if repeated:
        shown = ", ".join(map(repr, repeated[:10])) + (f" and {len(repeated) - 10} more" if len(repeated) > 10 else "")
        raise InputError(
            f"The header of the {source.role} file {source.path} repeats column name(s) {shown}; "
            "every column needs its own name."
        )
    if len(names) == 1:
        used = "," if source.fmt == "csv" else "tab"
        others = [label for d, label in ((";", "';'"), ("\t", "tab"), ("|", "'|'"), (",", "','")) if d in line]
        if others:
            raise InputError(
                f"The {source.role} file {source.path} reads as a single column named {names[0]!r}: the delimiter "
                f"seems wrong. It was split on {used} ({source.fmt}) but its header contains {others[0]}. "
                "Convert it to comma- or tab-separated text, or pass the matching --format."
            )
    return names


def check_width(source: Source, n_columns: int, limits: Limits) -> None:
    if n_columns > limits.max_columns:
        raise InputError(
            f"The {source.role} file {source.path} has {n_columns:,} columns, more than the limit of "
            f"{limits.max_columns:,} (--max-columns); expected a few id, time and attribute columns. "
            "Check the delimiter, or raise the limit."
        )


def scan_file(source: Source, limits: Limits = DEFAULT_LIMITS) -> int | None:
    """Read a text file once before DuckDB does; returns the number of data records it holds.

    Checks while streaming, so nothing is held in memory or written to disk: every line
    within `limits.max_line_bytes`; a .gz within `max_unpacked_bytes` and `max_ratio`.
    Records are counted as DuckDB reads them: a line end inside double quotes (CSV/TSV)
    does not end one, empty lines are skipped, the header is not a record. None for
    Parquet and JSON (not counted).
    """
    if source.fmt == "parquet":
        return None
    counter = _RecordCounter(source, limits.max_line_bytes, quotes=source.fmt in ("csv", "tsv"))
    packed = source.path.suffix.lower() in _COMPRESSED
    try:
        with open(source.path, "rb") as raw:
            stream = gzip.GzipFile(fileobj=raw, mode="rb") if packed else raw
            unpacked = 0
            while block := stream.read(_SCAN_BLOCK):
                unpacked += len(block)
                if packed:
                    _check_unpacked(source, unpacked, raw.tell(), limits)
                counter.feed(block)
    except (OSError, EOFError, zlib.error) as exc:
        what = "unpack" if packed else "read"
        raise InputError(f"Could not {what} the {source.role} file {source.path}: {exc}.") from None
    records = counter.finish()
    if source.fmt == "jsonl":
        return None
    return max(records - 1, 0) if source.has_header else records


def _check_unpacked(source: Source, unpacked: int, packed: int, limits: Limits) -> None:
    if unpacked > limits.max_unpacked_bytes:
        raise InputError(
            f"The {source.role} file {source.path} unpacks to more than {limits.max_unpacked_bytes:,} bytes "
            "(the limit, --max-unpacked-bytes); nothing was imported. Raise the limit if the file is genuine."
        )
    if unpacked > RATIO_FLOOR and unpacked > limits.max_ratio * max(packed, 1):
        raise InputError(
            f"The {source.role} file {source.path} unpacks more than {limits.max_ratio:g} times its packed size "
            f"({packed:,} bytes gave over {unpacked:,}; the limit is --max-ratio), as a decompression bomb does; "
            "nothing was imported. Raise the limit if the file is genuine."
        )


class _RecordCounter:
    """Streams blocks of a text file: checks line lengths and counts records (see scan_file).

    A record ends at LF, or at a CR not followed by LF (DuckDB reads a bare CR as a line
    end too), unless inside double quotes; a record with nothing but a CR is empty.
    """

    def __init__(self, source: Source, max_line: int, quotes: bool) -> None:
        self.source, self.max_line, self.quotes = source, max_line, quotes
        self.lf = 0  # LF bytes seen so far (lines are numbered by LF)
        self.line_len = 0  # bytes of the unfinished line
        self.in_quote = 0  # 1 inside a double-quoted field
        self.records = 0  # non-empty records ended so far
        self.rec_len = 0  # bytes of the unfinished record
        self.last = -1  # the last byte counted
        self.hold = np.zeros(0, dtype=np.uint8)  # the last byte read: a CR's meaning depends on the next one

    def feed(self, block: bytes) -> None:
        arr = np.frombuffer(block, dtype=np.uint8)
        is_lf = arr == 10
        self._check_lines(is_lf, arr == 13)
        self.lf += int(is_lf.sum())
        buf = np.concatenate([self.hold, arr]) if len(self.hold) else arr
        self._count(buf[:-1], buf[1:])
        self.hold = buf[-1:].copy()

    def _count(self, part: np.ndarray, following: np.ndarray) -> None:
        if not len(part):
            return
        ends = np.flatnonzero((part == 10) | ((part == 13) & (following != 10)))
        if self.quotes:
            q = np.flatnonzero(part == 34)
            ends = ends[(self.in_quote + np.searchsorted(q, ends)) % 2 == 0]
            self.in_quote = (self.in_quote + len(q)) % 2
        if len(ends):
            lengths = np.diff(ends, prepend=-1)  # each record's bytes with its line end
            lengths[0] += self.rec_len  # the first record began in an earlier block
            before = np.where(ends > 0, part[np.maximum(ends - 1, 0)], self.last)
            empty = (lengths == 1) | ((lengths == 2) & (before == 13))
            self.records += int((~empty).sum())
            self.rec_len = len(part) - 1 - int(ends[-1])
        else:
            self.rec_len += len(part)
        self.last = int(part[-1])

    def _check_lines(self, is_lf: np.ndarray, is_cr: np.ndarray) -> None:
        """Line lengths (a line ends at LF or CR); the error names the line by its LF count."""
        breaks = np.flatnonzero(is_lf | is_cr)
        if not len(breaks):
            self.line_len += len(is_lf)
            if self.line_len > self.max_line:
                self._too_long(self.lf + 1)
            return
        lengths = np.diff(breaks, prepend=-1) - 1
        lengths[0] += self.line_len
        at = int(np.argmax(lengths))
        if lengths[at] > self.max_line:
            start = int(breaks[at - 1]) + 1 if at else 0
            self._too_long(self.lf + int(is_lf[:start].sum()) + 1)
        self.line_len = len(is_lf) - 1 - int(breaks[-1])
        if self.line_len > self.max_line:
            self._too_long(self.lf + int(is_lf.sum()) + 1)

    def _too_long(self, line: int) -> None:
        raise InputError(
            f"Line {line:,} of the {self.source.role} file {self.source.path} is longer than {self.max_line:,} "
            "bytes (the line limit, --max-line-bytes); nothing was imported. Check the delimiter and the line "
            "endings, or raise the limit."
        )

    def finish(self) -> int:
        self._count(self.hold, np.zeros(1, dtype=np.uint8))  # the last byte: a CR there ends a record
        return self.records + (1 if self.rec_len > 0 else 0)


def _select_list(source: Source, names: list[str] | None) -> str:
    """Column renames and derived columns on top of the raw reader."""
    if source.fmt == "recbole":
        return ", ".join(f"{ident(c)} AS {ident(c.split(':', 1)[0])}" for c in names or [])
    if (source.fmt, source.role) == ("movielens-100k", "items"):
        flags = ", ".join(
            f"CASE WHEN g{i} = '1' THEN '{g.replace(chr(39), chr(39) * 2)}' END" for i, g in enumerate(ML100K_GENRES)
        )
        return f"item_id, title, release_date, imdb_url, NULLIF(concat_ws('|', {flags}), '') AS genres"
    if (source.fmt, source.role) == ("movielens-1m", "users"):
        ages = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in ML1M_AGES.items())
        jobs = " ".join(f"WHEN '{i}' THEN '{v}'" for i, v in enumerate(ML1M_OCCUPATIONS))
        return (
            f"user_id, gender, CASE age {ages} ELSE age END AS age, "
            f"CASE occupation {jobs} ELSE occupation END AS occupation, zip_code"
        )
    return "*"


def reader_error(source: Source, exc: Exception) -> InputError:
    """Turn a DuckDB reader failure into one paragraph naming the file."""
    text = " ".join(str(exc).split())
    for cut in ("Possible Solution", "Possible fixes", "LINE 1:", " file = "):
        text = text.split(cut)[0]
    reason = text.strip().rstrip(".")
    if len(reason) > 400:
        reason = reason[:400] + "..."
    hint = ""
    if "unicode" in reason.lower() or "utf-8" in reason.lower():
        hint = " The file is not valid UTF-8 text; re-save it as UTF-8."
    return InputError(f"Could not read the {source.role} file {source.path} as {_expected(source)}: {reason}.{hint}")


def open_view(
    con: duckdb.DuckDBPyConnection, source: Source, limits: Limits = DEFAULT_LIMITS, rejects: bool = False
) -> tuple[str, dict[str, str]]:
    """Create a temp view over `source`; returns (view name, {column: duckdb type}).

    With `rejects`, rows of a text file that DuckDB cannot parse are left out of the view
    and listed for `bad_rows` (read the view once, then ask); without, the first one fails.
    """
    check_file(source)
    names = header_names(source, limits) if source.has_header else None
    view = f"src_{source.role}"
    table = _rejects_table(source) if rejects and source.fmt not in ("parquet", "jsonl") else None
    sql = f"SELECT {_select_list(source, names)} FROM {_reader_sql(source, names, limits, table)}"
    try:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {sql}")
        types = {row[0]: row[1] for row in con.execute(f"DESCRIBE {view}").fetchall()}
    except duckdb.Error as exc:
        raise reader_error(source, exc) from None
    check_width(source, len(types), limits)
    return view, types


def _rejects_table(source: Source) -> str:
    return f"rejects_{source.role}"


@dataclass(frozen=True)
class BadRows:
    """Rows of a file that DuckDB could not parse: how many, and the first one."""

    count: int
    line: int | None = None  # 1-based line of the file
    reason: str = ""
    text: str = ""

    def describe(self) -> str:
        if not self.count:
            return "none"
        text = self.text if len(self.text) <= 80 else self.text[:80] + "..."
        return f"line {self.line}: {self.reason.rstrip('.')} ({text!r})"


def bad_rows(con: duckdb.DuckDBPyConnection, source: Source) -> BadRows:
    """The rows DuckDB kept out of a view opened with `rejects` (after the view was read)."""
    table = _rejects_table(source)
    try:
        count, line = con.execute(f"SELECT count(DISTINCT line), min(line) FROM {table}").fetchone()
    except duckdb.Error:
        return BadRows(0)  # no table: DuckDB rejected nothing (or the format keeps no list)
    if not count:
        return BadRows(0)
    reason, text = con.execute(
        f"SELECT error_message, csv_line FROM {table} WHERE line = ? ORDER BY "
        "CASE WHEN error_type = 'TOO MANY COLUMNS' THEN -CAST(column_idx AS BIGINT) ELSE column_idx END LIMIT 1",
        [line],
    ).fetchone()
    reason = " ".join(str(reason or "").split())
    if "unicode" in reason.lower() or "utf-8" in reason.lower():
        reason += " The file is not valid UTF-8 text; re-save it as UTF-8"
    return BadRows(int(count), int(line), reason, str(text or ""))


def column_names(types: dict[str, str]) -> str:
    return ", ".join(repr(c) for c in types)
