"""Find and open the files of a dataset import as DuckDB views, failing early with plain messages.

Each file becomes one temporary view whose rows come in file order and whose columns
have clean names (RecBole ``name:type`` headers lose the ``:type``; headerless
MovieLens files get their documented names). Text formats are read as VARCHAR so
the importer, not DuckDB's sniffer, decides what an id or a timestamp is.
"""

from __future__ import annotations

import codecs
import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ppr.errors import InputError

FORMATS = ("auto", "csv", "tsv", "parquet", "jsonl", "movielens", "recbole")
ROLES = ("interactions", "users", "items")
_COMPRESSED = (".gz",)
_SNIFF_BYTES = 1 << 16

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


def _reader_sql(source: Source, names: list[str] | None) -> str:
    """The DuckDB table expression for the file's raw rows (before column renaming).

    Text files are read with sniffing off and the column list fixed (from our own
    header parse, or MovieLens' documented layout): a ragged row is then an error
    naming its line, not a silently different table.
    """
    p = _quote(source.path)
    if source.fmt == "parquet":
        return f"read_parquet({p})"
    if source.fmt == "jsonl":
        layout = "auto" if source.path.name.lower().removesuffix(".gz").endswith(".json") else "newline_delimited"
        return f"read_json({p}, format='{layout}')"
    if source.fmt.startswith("movielens"):
        names = _ML_COLUMNS[(source.fmt, source.role)]
    cols = ", ".join(f"{_quote(n)}: 'VARCHAR'" for n in names or [])
    header = str(source.has_header).lower()
    opts = f"delim=E'{_delimiter(source)}', header={header}, auto_detect=false, columns={{{cols}}}"
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


def header_names(source: Source) -> list[str]:
    """Column names from the first line of a csv/tsv/recbole file (our parse, so DuckDB never guesses)."""
    opener = gzip.open if source.path.suffix.lower() == ".gz" else open
    try:
        with opener(source.path, "rb") as fh:
            first = fh.readline(1 << 20)
    except OSError as exc:
        raise InputError(f"Could not read the {source.role} file {source.path}: {exc}.") from None
    try:
        line = first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise InputError(f"The header line of the {source.role} file {source.path} is not UTF-8 text.") from None
    if not line.strip():
        raise InputError(f"The first line of the {source.role} file {source.path} is empty; expected a header row.")
    delim = "," if source.fmt == "csv" else "\t"
    quoting = csv.QUOTE_NONE if source.fmt == "recbole" else csv.QUOTE_MINIMAL
    fields = next(csv.reader([line], delimiter=delim, quoting=quoting))
    names = [n.strip() or f"column{i + 1}" for i, n in enumerate(fields)]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(
            f"The header of the {source.role} file {source.path} repeats column name(s) "
            f"{', '.join(map(repr, repeated))}; "
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


def open_view(con: duckdb.DuckDBPyConnection, source: Source) -> tuple[str, dict[str, str]]:
    """Create a temp view over `source`; returns (view name, {column: duckdb type})."""
    check_file(source)
    names = header_names(source) if source.has_header else None
    view = f"src_{source.role}"
    sql = f"SELECT {_select_list(source, names)} FROM {_reader_sql(source, names)}"
    try:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {sql}")
        types = {row[0]: row[1] for row in con.execute(f"DESCRIBE {view}").fetchall()}
    except duckdb.Error as exc:
        raise reader_error(source, exc) from None
    return view, types


def column_names(types: dict[str, str]) -> str:
    return ", ".join(repr(c) for c in types)
