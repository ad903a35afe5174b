"""Files handed over in a browser: stage them on disk, preview them, guess columns, import.

The app gets bytes and a file name; the importer wants paths. `stage_upload` writes the
bytes under a private folder (a zip is extracted there, refusing any member that would
land outside it, whose name is too long or too deep, or that unpacks past the size or
ratio limits: checked while streaming, before the disk fills), `preview_upload` reads
the first rows through the importer's own readers and guesses the columns the same way
the importer does, and `import_upload` runs the importer, first deriving a users file
when the attributes are columns of the interactions file itself. Everything raises
InputError with a message fit for a user, OS errors (disk full, permissions) included.
"""

from __future__ import annotations

import re
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import duckdb
import pandas as pd

from ppr.data.importers import ITEM_COLUMNS, TIME_COLUMNS, USER_COLUMNS, import_dataset, pick_column
from ppr.data.readers import DEFAULT_LIMITS, RATIO_FLOOR, bad_rows, ident, open_view, reader_error, resolve_sources
from ppr.data.store import Dataset, Store, os_error_message
from ppr.errors import InputError
from ppr.log import Log

UPLOAD_TYPES = ("csv", "tsv", "tab", "parquet", "pq", "jsonl", "ndjson", "json", "zip", "inter", "gz")
MAX_UNZIPPED_BYTES = 4 << 30  # a zip that inflates beyond this is refused (zip bombs)
MAX_ZIP_RATIO = DEFAULT_LIMITS.max_ratio  # nor one that inflates more than this many times its packed size
MAX_ZIP_MEMBERS = 10_000
MAX_MEMBER_NAME = 1024  # characters of a zip member's path
MAX_MEMBER_DEPTH = 32  # folders in a zip member's path
MAX_NAME_PART = 200  # bytes of one file or folder name inside it (file systems allow 255)
PREVIEW_ROWS = 20
GUESS_ROWS = 2_000  # rows looked at to guess which interaction columns are per-user attributes
_PLAIN_EXT = (".csv", ".tsv", ".tab", ".parquet", ".pq", ".jsonl", ".ndjson", ".json")
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_filename(name: str) -> str:
    """The base name of an uploaded file with anything but letters, digits, '_', '-', '.' replaced."""
    base = PurePosixPath(str(name).replace("\\", "/")).name
    cleaned = _SAFE.sub("_", base).lstrip(".")
    return cleaned or "upload"


def dataset_name_for(filename: str) -> str:
    """A valid dataset name suggested by a file name: 'My ratings.csv' -> 'My_ratings'."""
    stem = safe_filename(filename)
    for ext in (".gz", ".zip", *_PLAIN_EXT, ".inter"):
        stem = stem.removesuffix(ext)
    stem = stem.strip("._-")[:64]
    return stem if stem and stem[0].isalnum() else f"upload{('_' + stem) if stem else ''}"[:64]


def stage_upload(filename: str, data: bytes, folder: Path) -> Path:
    """Write an uploaded file into `folder`; a zip is extracted and the data file or folder inside returned."""
    folder = Path(folder)
    path = folder / safe_filename(filename)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise InputError(os_error_message(exc, f"keep the uploaded file {filename!r} on disk")) from None
    if path.suffix.lower() != ".zip":
        return path
    if not zipfile.is_zipfile(path):
        raise InputError(f"The uploaded file {filename!r} ends in .zip but is not a zip archive.")
    out = folder / (path.stem + "_unzipped")
    extract_zip(path, out)
    return find_data(out, filename)


def extract_zip(zpath: Path, dest: Path, max_bytes: int = MAX_UNZIPPED_BYTES, max_ratio: float = MAX_ZIP_RATIO) -> Path:
    """Extract regular files only; a member with an absolute path, '..' or a link is refused, not skipped.

    Sizes are checked as the bytes stream out, whatever the archive claims: past `max_bytes`
    in all, or past `max_ratio` times the packed bytes read so far (beyond RATIO_FLOOR),
    extraction stops with an InputError, so a zip bomb never fills the disk.
    """
    dest = Path(dest)
    try:
        dest.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(zpath) as zf:
            members = zf.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise InputError(
                    f"The zip {zpath.name} holds {len(members)} entries; at most {MAX_ZIP_MEMBERS} are read."
                )
            _extract_members(zf, members, zpath, dest.resolve(), max_bytes, max_ratio)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, zlib.error) as exc:
        raise InputError(f"The zip {zpath.name} cannot be unpacked: {exc}; nothing was imported.") from None
    except OSError as exc:
        raise InputError(os_error_message(exc, f"unpack the zip {zpath.name}")) from None
    return dest


def _extract_members(
    zf: zipfile.ZipFile, members: list[zipfile.ZipInfo], zpath: Path, root: Path, max_bytes: int, max_ratio: float
) -> None:
    targets = [(info, _member_target(info, root, zpath)) for info in members if not info.is_dir()]
    targets = [(info, target) for info, target in targets if target is not None]
    declared = sum(info.file_size for info, _ in targets)
    packed_all = sum(info.compress_size for info, _ in targets)
    _check_unzipped(zpath, declared, packed_all, max_bytes, max_ratio)  # what the archive admits to, up front
    written, packed = 0, 0
    for info, target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        packed += info.compress_size  # zipfile reads at most this much for the member
        with zf.open(info) as src, open(target, "wb") as out:
            while block := src.read(1 << 20):
                written += len(block)
                _check_unzipped(zpath, written, packed, max_bytes, max_ratio)
                out.write(block)


def _check_unzipped(zpath: Path, unpacked: int, packed: int, max_bytes: int, max_ratio: float) -> None:
    if unpacked > max_bytes:
        raise InputError(
            f"The zip {zpath.name} unpacks to more than {max_bytes / 2**30:.0f} GiB; "
            "import its files from disk with `python -m ppr data import` instead."
        )
    if unpacked > RATIO_FLOOR and unpacked > max_ratio * max(packed, 1):
        raise InputError(
            f"The zip {zpath.name} unpacks to more than {max_ratio:g} times its packed size "
            f"({packed:,} bytes to over {unpacked:,}), as a zip bomb does; nothing was imported."
        )


def _member_target(info: zipfile.ZipInfo, root: Path, zpath: Path) -> Path | None:
    """Where a zip member may be written, or None for macOS metadata; InputError if it would escape."""
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if parts and parts[0] == "__MACOSX" or PurePosixPath(name).name.startswith("._"):
        return None
    mode = info.external_attr >> 16
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts or stat.S_ISLNK(mode):
        raise InputError(
            f"The zip {zpath.name} holds {_shown(info.filename)}, which points outside the archive's folder "
            "(absolute path, '..' or a link); nothing was imported."
        )
    longest = max((len(part.encode("utf-8", "surrogateescape")) for part in parts), default=0)
    if len(name) > MAX_MEMBER_NAME or len(parts) > MAX_MEMBER_DEPTH or longest > MAX_NAME_PART:
        raise InputError(
            f"The zip {zpath.name} holds {_shown(info.filename)}, a name too long or too deep to unpack "
            f"({len(name)} characters, {len(parts)} levels, a part of {longest} bytes; at most {MAX_MEMBER_NAME}, "
            f"{MAX_MEMBER_DEPTH} and {MAX_NAME_PART}); nothing was imported."
        )
    target = (root / name).resolve()
    if not target.is_relative_to(root):
        raise InputError(f"The zip {zpath.name} holds {_shown(info.filename)}, which points outside its folder.")
    return target


def _shown(name: str) -> str:
    return repr(name) if len(name) <= 100 else repr(name[:80] + "...")


def find_data(root: Path, filename: str = "") -> Path:
    """The MovieLens/RecBole folder inside an extracted zip, else its only plain data file."""
    folders = [root, *sorted(p for p in root.rglob("*") if p.is_dir())]
    for folder in folders:
        if any((folder / n).is_file() for n in ("u.data", "ratings.dat")) or any(folder.glob("*.inter")):
            return folder
    files = [p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in _PLAIN_EXT]
    if len(files) == 1:
        return files[0]
    held = ", ".join(sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())[:10]) or "nothing"
    raise InputError(
        f"The zip {filename or root.name} holds no MovieLens (u.data, ratings.dat) or RecBole (*.inter) files "
        f"and not exactly one .csv/.tsv/.parquet/.jsonl file; it holds: {held}."
    )


@dataclass
class UploadPreview:
    """First rows of each file and the importer's column guesses, for the column pickers."""

    kind: str
    files: dict[str, Path]
    rows: dict[str, pd.DataFrame]
    columns: dict[str, list[str]]
    guess: dict[str, str | None]
    attribute_source: str  # "users" (a users file) or "interactions" (per-user columns of the log)
    attribute_choices: list[str] = field(default_factory=list)
    attribute_guess: list[str] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)  # role -> first unreadable row seen, described


def preview_upload(
    interactions: Path, users: Path | None = None, items: Path | None = None, n_rows: int = PREVIEW_ROWS
) -> UploadPreview:
    """Read the head of every file with the importer's readers; InputError if a file cannot be read.

    Rows that cannot be read are left out of the preview and the first one is described in
    `unreadable`, so the import can be asked to skip them.
    """
    kind, sources = resolve_sources(Path(interactions), users and Path(users), items and Path(items))
    rows, columns, unreadable = {}, {}, {}
    con = duckdb.connect(":memory:", config={"threads": 1})
    try:
        head = {}
        for role, src in sources.items():
            view, types = open_view(con, src, rejects=True)
            columns[role] = list(types)
            limit = max(n_rows, GUESS_ROWS) if role == "interactions" else n_rows
            try:
                head[role] = con.execute(f"SELECT * FROM {view} LIMIT {int(limit)}").df()
            except duckdb.Error as exc:
                raise reader_error(src, exc) from None
            rows[role] = head[role].head(n_rows)
            if (bad := bad_rows(con, src)).count:
                unreadable[role] = bad.describe()
    finally:
        con.close()
    inter = sources["interactions"]
    types = dict.fromkeys(columns["interactions"], "")
    guess = {
        "user": pick_column(types, None, USER_COLUMNS, inter, ""),
        "item": pick_column(types, None, ITEM_COLUMNS, inter, ""),
        "time": pick_column(types, None, TIME_COLUMNS, inter, ""),
    }
    preview = UploadPreview(kind, {r: s.path for r, s in sources.items()}, rows, columns, guess, "interactions")
    preview.unreadable = unreadable
    if "users" in sources:
        user_types = dict.fromkeys(columns["users"], "")
        uid = pick_column(user_types, None, USER_COLUMNS, sources["users"], "")
        preview.attribute_source = "users"
        preview.attribute_choices = [c for c in columns["users"] if c != uid]
        preview.attribute_guess = list(preview.attribute_choices)
    else:
        used = {c for c in guess.values() if c}
        preview.attribute_choices = [c for c in columns["interactions"] if c not in used]
        preview.attribute_guess = per_user_columns(head["interactions"], guess["user"], preview.attribute_choices)
    return preview


def per_user_columns(df: pd.DataFrame, user_col: str | None, candidates: list[str]) -> list[str]:
    """Columns that never change within a user in `df` (so they describe users, not clicks)."""
    if not user_col or user_col not in df or df[user_col].duplicated().sum() == 0:
        return []
    grouped = df.groupby(user_col, sort=False)
    return [c for c in candidates if c in df and bool((grouped[c].nunique(dropna=False) <= 1).all())]


def import_upload(
    store: Store,
    name: str,
    preview: UploadPreview,
    user_col: str,
    item_col: str,
    time_col: str | None,
    attributes: list[str],
    work_dir: Path,
    log: Log = lambda _msg: None,
    skip_bad_rows: bool = False,
) -> Dataset:
    """Import the previewed files with the chosen columns; InputError (store untouched) on bad input.

    `skip_bad_rows` leaves out rows that cannot be read (counted and reported) instead of failing.
    """
    store.check_writable(name, "new")
    files = dict(preview.files)
    attrs = list(attributes) or None
    if preview.attribute_source == "interactions":
        if attributes:
            files["users"] = users_from_interactions(files["interactions"], user_col, attributes, Path(work_dir))
            log(f"note: took attributes {', '.join(attributes)} from the first row of each user.")
        else:
            files.pop("users", None)
    elif not attributes:
        files.pop("users", None)  # no attribute wanted: the users file has nothing else to give
    return import_dataset(
        store,
        name,
        interactions=files["interactions"],
        users=files.get("users"),
        items=files.get("items"),
        user_col=user_col,
        item_col=item_col,
        time_col=time_col,
        attrs=attrs,
        log=log,
        skip_bad_rows=skip_bad_rows,
    )


def users_from_interactions(path: Path, user_col: str, attributes: list[str], work_dir: Path) -> Path:
    """A users Parquet file (user column + attributes, first value per user in file order) from a log.

    Rows that cannot be read are left out here; the import of the log itself counts them and
    fails unless told to skip them.
    """
    _, sources = resolve_sources(Path(path), None, None)
    src = sources["interactions"]
    out = Path(work_dir) / "users_from_interactions.parquet"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(os_error_message(exc, f"create the scratch folder {out.parent}")) from None
    con = duckdb.connect(":memory:", config={"threads": 2, "preserve_insertion_order": True})
    try:
        view, types = open_view(con, src, rejects=True)
        missing = [c for c in [user_col, *attributes] if c not in types]
        if missing:
            raise InputError(
                f"Column(s) {', '.join(map(repr, missing))} do not exist in {src.path}; "
                f"its columns are: {', '.join(map(repr, types))}."
            )
        firsts = ", ".join(f"arg_min({ident(c)}, rn) AS {ident(c)}" for c in attributes)
        u = ident(user_col)
        target = "'" + str(out).replace("'", "''") + "'"
        con.execute(
            f"COPY (SELECT {u}, {firsts} FROM (SELECT *, row_number() OVER () AS rn FROM {view}) "
            f"WHERE {u} IS NOT NULL GROUP BY {u} ORDER BY min(rn)) TO {target} (FORMAT parquet)"
        )
    except duckdb.Error as exc:
        if isinstance(exc, duckdb.IOException) and str(out) in str(exc):
            raise InputError(f"Could not write {out}: {' '.join(str(exc).split())}") from None
        raise reader_error(src, exc) from None
    finally:
        con.close()
    return out


def remove_staged(folder: Path) -> None:
    """Delete a staging folder made for one upload (quietly: it is only a cache)."""
    shutil.rmtree(folder, ignore_errors=True)
