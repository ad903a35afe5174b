"""The dataset store: immutable, versioned folders of Parquet plus a manifest.

Layout under the home folder (``--home``, ``$PPR_HOME`` or ``./cache``)::

    datasets/<name>/v<N>/manifest.json
    datasets/<name>/v<N>/interactions.parquet   user:int32 item:int32 ts:int64, sorted by user, ts, file order
    datasets/<name>/v<N>/users.parquet          user:int32 user_id:str <attr>:int16 (code 0 = "missing")
    datasets/<name>/v<N>/items.parquet          item:int32 item_id:str title:str? category:str? domain:str?
    datasets/<name>/v<N>/splits/<split_id>/     derived cold-start splits (see splits.py)

Users are 0..U-1, items 1..I (0 is the padding id). A version is written to a
staging folder and renamed into place, so a failed import leaves the store as it was
and readers never see half a dataset. No DuckDB database file is kept: DuckDB
queries the Parquet directly, so any number of processes can read at once.

Writers of one dataset name (import, split, rm) take turns through one lock per name,
``datasets/.locks/<name>.lock`` (the `filelock` library; the OS drops it when its
process dies). Folders a writer leaves when it is killed carry its pid and host in
their names (``.staging-<pid>-<host>-*`` and the like); `sweep_stale` removes those
whose process is gone, or that are older than any run could take (STALE_AFTER_S).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from filelock import FileLock, Timeout

from ppr.errors import InputError
from ppr.io import atomic_write_json, read_json

DATA_FILES = ("interactions.parquet", "users.parquet", "items.parquet")
LOCKS_DIR = ".locks"  # under datasets/: one lock file per dataset name
STAGING_PREFIX = ".staging-"  # a version being written, inside datasets/<name>/
SYNTH_PREFIX = ".synth-"  # generated files on their way into an import, inside the home folder
STALE_AFTER_S = 24 * 3600  # a leftover folder older than this is stale even if its owner looks alive
TEMP_PREFIXES = ("ppr-import-", "ppr-upload-", "ppr-fetch-")  # our folders in the system temp dir
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # always fullmatch: '$' would accept "nl\n"
_REF_RE = re.compile(r"(?P<name>[^@]+)(?:@v?(?P<version>\d+))?")
_VERSION_RE = re.compile(r"v(\d{1,9})")


def resolve_home(home: str | os.PathLike | None = None) -> Path:
    """--home beats $PPR_HOME beats ./cache."""
    return Path(home or os.environ.get("PPR_HOME") or "cache").resolve()


def validate_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or ".." in name:
        text = str(name)
        shown = repr(name) if len(text) <= 80 else f"{text[:60]!r}... ({len(text)} characters)"
        raise InputError(
            f"Dataset name {shown} is not allowed: use 1-64 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit, with no path characters ('/', '..')."
        )
    return name


def os_error_message(exc: OSError, doing: str) -> str:
    """One paragraph for an OS error met while `doing` something: what failed, why, and what to do about it."""
    reason = exc.strerror or " ".join(str(exc).split()) or type(exc).__name__
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    hints = {
        errno.ENOSPC: "The disk is full: free some space, or point --home / $PPR_HOME at a disk with room.",
        errno.EDQUOT: "The disk quota is used up: free some space, or point --home / $PPR_HOME elsewhere.",
        errno.EACCES: "The folder is not writable by you: fix its permissions, or choose another --home.",
        errno.EPERM: "The folder is not writable by you: fix its permissions, or choose another --home.",
        errno.EROFS: "The file system is read-only: choose another --home (or $PPR_HOME) on a writable disk.",
        errno.ENAMETOOLONG: "A file name or path is too long for this file system: use shorter names.",
        errno.ENOTDIR: "A part of the path is a file, not a folder: check --home / $PPR_HOME and the paths given.",
        errno.EMFILE: "Too many files are open: close other programs or raise the limit (ulimit -n).",
    }
    hint = hints.get(exc.errno or 0, "Check the path, its permissions and the free disk space.")
    return f"Could not {doing}: {reason}{where}. {hint}"


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.]", "", socket.gethostname())[:40] or "host"


def owner_tag() -> str:
    """'<pid>-<host>-': put in a scratch folder's name so a sweep can tell when its process is gone."""
    return f"{os.getpid()}-{_host()}-"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, someone else's
        return True
    return True


def is_stale(path: Path, prefix: str, max_age: float = STALE_AFTER_S) -> bool:
    """Whether a scratch folder `prefix<pid>-<host>-...` was left behind: its process on this host is gone,
    or it is older than `max_age` seconds (the rule for folders without an owner tag, too)."""
    try:
        age = time.time() - path.lstat().st_mtime
    except OSError:
        return False
    if age > max_age:
        return True
    m = re.match(re.escape(prefix) + r"(\d+)-([A-Za-z0-9.]+)-", path.name)
    return bool(m) and m[2] == _host() and not _pid_alive(int(m[1]))


def _remove_tree(path: Path) -> bool:
    """rmtree that never raises; True if the path is gone afterwards."""
    shutil.rmtree(path, ignore_errors=True)
    return not path.exists()


def sweep_temp(max_age: float = STALE_AFTER_S, temp_dir: Path | None = None) -> list[Path]:
    """Remove our stale scratch folders (TEMP_PREFIXES, owned by this user) from the system temp dir."""
    root = Path(temp_dir or tempfile.gettempdir())
    removed = []
    try:
        entries = [p for p in root.iterdir() if p.name.startswith(TEMP_PREFIXES)]
    except OSError:
        return []
    for path in entries:
        prefix = next(p for p in TEMP_PREFIXES if path.name.startswith(p))
        try:
            owner = path.lstat().st_uid
            mine = (
                owner == (os.getuid() if hasattr(os, "getuid") else owner) and path.is_dir() and not path.is_symlink()
            )
        except OSError:
            continue
        if mine and is_stale(path, prefix, max_age) and _remove_tree(path):
            removed.append(path)
    return removed


def _lock_path(datasets_dir: Path, name: str) -> Path:
    return datasets_dir / LOCKS_DIR / f"{validate_name(name)}.lock"


@contextlib.contextmanager
def _hold(path: Path, name: str, timeout: float | None, log: Callable[[str], None] | None) -> Iterator[None]:
    """Hold the lock file `path` (re-entrant in one thread; other threads and processes wait)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(path, is_singleton=True)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if timeout == 0:
                raise
            if log:
                log(f"note: waiting for another import, split or rm of {name!r} to finish ...")
            lock.acquire(timeout=-1 if timeout is None else timeout)
    except Timeout:
        raise InputError(
            f"Dataset {name!r} is busy: another import, split or rm of it is running (it holds {path}). "
            "Try again when it has finished."
        ) from None
    except OSError as exc:
        raise InputError(os_error_message(exc, f"lock dataset {name!r} for writing")) from None
    try:
        yield
    finally:
        lock.release()


@dataclass(frozen=True)
class Dataset:
    """One immutable dataset version, read lazily from its folder."""

    path: Path

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return self._read(read_json, self.path / "manifest.json")

    def _read(self, reader: Callable[..., Any], path: Path, **kwargs: Any) -> Any:
        """reader(path) with a removed version reported as such (InputError), not as a missing file."""
        try:
            return reader(path, **kwargs)
        except OSError:
            self.check_present()
            raise

    def check_present(self) -> None:
        """InputError if this version was removed (`data rm`) since it was opened."""
        if not (self.path / "manifest.json").is_file():
            raise InputError(
                f"Dataset {self.path.parent.name}@{self.path.name} was removed (its folder {self.path} is gone), "
                "probably by `python -m ppr data rm` while this was reading it. Import it again and rerun."
            )

    @contextlib.contextmanager
    def locked(self, timeout: float | None = None, log: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold this dataset name's lock (the one `Store.locked` takes); for writing under the version's folder."""
        name = self.path.parent.name
        with _hold(_lock_path(self.path.parent.parent, name), name, timeout, log):
            yield

    @property
    def name(self) -> str:
        return self.manifest["name"]

    @property
    def version(self) -> int:
        return int(self.manifest["version"])

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"

    @property
    def n_users(self) -> int:
        return int(self.manifest["counts"]["users"])

    @property
    def n_items(self) -> int:
        return int(self.manifest["counts"]["items"])

    @property
    def content_hash(self) -> str:
        return self.manifest["content_hash"]

    @property
    def attributes(self) -> list[dict[str, Any]]:
        """[{name, encoding, values: [...]}]; code i of column `name` means values[i], values[0] == 'missing'."""
        return list(self.manifest.get("attributes", []))

    @property
    def cardinalities(self) -> list[int]:
        return [len(a["values"]) for a in self.attributes]

    def interactions(self, columns: list[str] | None = None) -> pd.DataFrame:
        return self._read(pd.read_parquet, self.path / "interactions.parquet", columns=columns)

    def users(self) -> pd.DataFrame:
        return self._read(pd.read_parquet, self.path / "users.parquet")

    def items(self) -> pd.DataFrame:
        return self._read(pd.read_parquet, self.path / "items.parquet")

    def attribute_codes(self) -> np.ndarray:
        """(n_users, n_attributes) int64 codes indexed by user id."""
        names = [a["name"] for a in self.attributes]
        users = self._read(pd.read_parquet, self.path / "users.parquet", columns=["user", *names])
        codes = np.zeros((self.n_users, len(names)), dtype=np.int64)
        if names:
            codes[users["user"].to_numpy()] = users[names].to_numpy(dtype=np.int64)
        return codes

    def sequences(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR view of every user's time-ordered clicks: (offsets[U+1], items[n])."""
        inter = self._read(pd.read_parquet, self.path / "interactions.parquet", columns=["user", "item"])
        counts = np.bincount(inter["user"].to_numpy(), minlength=self.n_users)
        offsets = np.zeros(self.n_users + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return offsets, inter["item"].to_numpy(dtype=np.int32)


def content_hash(folder: Path) -> str:
    """sha256 over the data files, in a fixed order: same data, same hash."""
    h = hashlib.sha256()
    for fname in DATA_FILES:
        h.update(fname.encode())
        with open(folder / fname, "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
    return h.hexdigest()


class Store:
    """Datasets under ``<home>/datasets``; runs live beside them under ``<home>/runs``."""

    def __init__(self, home: str | os.PathLike | None = None) -> None:
        self.home = resolve_home(home)
        self.datasets_dir = self.home / "datasets"
        self.runs_dir = self.home / "runs"

    def names(self) -> list[str]:
        """Names with at least one complete version (hidden and odd entries are skipped)."""
        try:
            entries = list(self.datasets_dir.iterdir())
        except OSError:
            return []
        return sorted(
            p.name for p in entries if _NAME_RE.fullmatch(p.name) and ".." not in p.name and self.versions(p.name)
        )

    def versions(self, name: str) -> list[int]:
        """Complete versions of `name` (a folder vN with its manifest), oldest first."""
        return sorted(n for n, complete in self._version_folders(name).items() if complete)

    def _version_folders(self, name: str) -> dict[int, bool]:
        """{N: has a manifest} for every vN entry under the name's folder, complete or not."""
        folder = self.datasets_dir / validate_name(name)
        try:
            entries = list(folder.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            return {}
        except OSError as exc:
            raise InputError(os_error_message(exc, f"list the versions of dataset {name!r}")) from None
        return {int(m[1]): (p / "manifest.json").is_file() for p in entries if (m := _VERSION_RE.fullmatch(p.name))}

    def list(self) -> list[Dataset]:
        """The latest version of every dataset."""
        return [self.open(n) for n in self.names()]

    def open(self, ref: str) -> Dataset:
        """`name` (latest version) or `name@vN`."""
        m = _REF_RE.fullmatch(ref or "")
        if not m:
            raise InputError(f"Dataset reference {ref!r} is not of the form NAME or NAME@vN.")
        name = validate_name(m["name"])
        versions = self.versions(name)
        if not versions:
            known = ", ".join(self.names()) or "none yet"
            raise InputError(
                f"No dataset named {name!r} in {self.datasets_dir} (known: {known}). "
                "Import one with `python -m ppr data import` or `data synth`."
            )
        version = int(m["version"]) if m["version"] else versions[-1]
        if version not in versions:
            raise InputError(f"Dataset {name!r} has no version {version} (versions: {versions}).")
        return Dataset(self.datasets_dir / name / f"v{version}")

    def open_exact(self, ref: str, content_hash: str) -> Dataset:
        """`name@vN`, checked to hold exactly the content a run or sweep was described for."""
        ds = self.open(ref)
        if ds.content_hash != content_hash:
            raise InputError(
                f"Dataset {ref} has content {ds.content_hash[:12]}, but the run was described for "
                f"{content_hash[:12]}; the version was replaced. Describe the run again."
            )
        return ds

    @contextlib.contextmanager
    def locked(
        self, name: str, timeout: float | None = None, log: Callable[[str], None] | None = None
    ) -> Iterator[None]:
        """Hold the lock of dataset `name`: import, split and rm of one name take turns, across processes.

        Re-entrant within a thread. `timeout` None waits as long as it takes (a killed holder's lock is
        released by the OS); on timeout an InputError says the name is busy. `log` hears about a wait.
        """
        with _hold(_lock_path(self.datasets_dir, name), name, timeout, log):
            yield

    def check_writable(self, name: str, if_exists: str) -> None:
        """Refuse a bad name or an existing one under if_exists='refuse', before any work is done."""
        validate_name(name)
        if if_exists not in ("new", "refuse"):
            raise InputError(f"--if-exists must be 'new' or 'refuse', not {if_exists!r}.")
        if if_exists == "refuse" and self.versions(name):
            raise InputError(
                f"Dataset {name!r} already exists (versions {self.versions(name)}); nothing was changed. "
                "Import under another name, or use --if-exists new to make a new version."
            )

    def write_version(
        self,
        name: str,
        writer: Callable[[Path], dict[str, Any]],
        if_exists: str = "new",
        log: Callable[[str], None] | None = None,
    ) -> Dataset:
        """Build a new version of `name` with `writer(stage_dir) -> manifest` and publish it atomically.

        `writer` writes the three DATA_FILES into the staging folder and returns the
        manifest body; the store adds name, version, created_at and content_hash.
        if_exists: "new" makes version N+1, "refuse" raises if the name exists. The whole
        write happens under the name's lock, so the existence check, the version number and
        the rename cannot race another import, a split or an rm of the same name.
        """
        self.check_writable(name, if_exists)
        with self.locked(name, log=log):
            self.check_writable(name, if_exists)  # again: another import may have published meanwhile
            self._sweep_name(name, STALE_AFTER_S)
            root = self.datasets_dir / name
            try:
                root.mkdir(parents=True, exist_ok=True)
                stage = Path(tempfile.mkdtemp(dir=root, prefix=STAGING_PREFIX + owner_tag()))
            except OSError as exc:
                raise InputError(os_error_message(exc, f"create dataset {name!r} under {self.datasets_dir}")) from None
            try:
                body = writer(stage)
                # every vN entry counts, complete or not, so the number is always free: no retry loop
                version = max(self._version_folders(name), default=0) + 1
                manifest = {
                    "name": name,
                    "version": version,
                    "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    **body,
                    "content_hash": content_hash(stage),
                }
                atomic_write_json(stage / "manifest.json", manifest)
                final = root / f"v{version}"
                os.rename(stage, final)  # never overwrites a non-empty folder
            except BaseException as exc:
                shutil.rmtree(stage, ignore_errors=True)
                with contextlib.suppress(OSError):
                    root.rmdir()  # only if empty
                if isinstance(exc, OSError):
                    raise InputError(os_error_message(exc, f"write dataset {name!r} under {root}")) from None
                raise
        return Dataset(final)

    def remove(self, name: str, log: Callable[[str], None] | None = None) -> list[int]:
        """Delete every version of `name`; returns the versions removed.

        Finishes what an interrupted rm left (its renamed folder) and removes a name folder
        that holds no complete version (leftovers of killed writers); InputError if there is
        nothing at all under that name.
        """
        validate_name(name)
        with self.locked(name, log=log):
            versions = self.versions(name)
            folder = self.datasets_dir / name
            trash = self._trash(name)
            if not folder.exists() and not trash.exists():
                raise InputError(f"No dataset named {name!r} in {self.datasets_dir}; nothing removed.")
            try:
                if trash.exists():
                    shutil.rmtree(trash)  # an earlier rm was interrupted: finish it first
                if folder.exists():
                    os.rename(folder, trash)  # atomic: readers see it all or none of it
                    shutil.rmtree(trash)
            except OSError as exc:
                raise InputError(os_error_message(exc, f"remove dataset {name!r}")) from None
        return versions

    def _trash(self, name: str) -> Path:
        return self.datasets_dir / f".{name}.removing"

    def sweep_stale(self, max_age: float = STALE_AFTER_S, temp: bool = True) -> list[Path]:
        """Remove what killed writers left behind; returns the paths removed. Never raises.

        In the store: the folder of an interrupted rm, staging folders of dead imports and
        split staging folders older than `max_age`, each only while its name's lock is free,
        and generated files of dead `data synth` runs; with `temp`, our stale folders in the
        system temp dir (`sweep_temp`).
        """
        removed: list[Path] = []
        try:
            entries = list(self.datasets_dir.iterdir()) if self.datasets_dir.is_dir() else []
        except OSError:
            entries = []
        names = {p.name for p in entries if p.is_dir() and _NAME_RE.fullmatch(p.name) and ".." not in p.name}
        names |= {
            m[1]
            for p in entries
            if (m := re.fullmatch(r"\.(.+)\.removing", p.name)) and _NAME_RE.fullmatch(m[1]) and ".." not in m[1]
        }
        for name in sorted(names):
            try:
                with self.locked(name, timeout=0):
                    removed += self._sweep_name(name, max_age)
            except (InputError, OSError):
                continue  # busy (a writer is at work) or not writable: leave it
        with contextlib.suppress(OSError):
            for path in self.home.iterdir():
                if path.name.startswith(SYNTH_PREFIX) and is_stale(path, SYNTH_PREFIX, max_age) and _remove_tree(path):
                    removed.append(path)
        if temp:
            removed += sweep_temp(max_age)
        return removed

    def _sweep_name(self, name: str, max_age: float) -> list[Path]:
        """Leftovers of one name, removed under its lock (held by the caller)."""
        removed = []
        trash = self._trash(name)
        if trash.exists() and _remove_tree(trash):
            removed.append(trash)
        root = self.datasets_dir / name
        try:
            entries = list(root.iterdir())
        except OSError:
            return removed
        for path in entries:
            if path.name.startswith(STAGING_PREFIX) and is_stale(path, STAGING_PREFIX, max_age):
                if _remove_tree(path):
                    removed.append(path)
            elif _VERSION_RE.fullmatch(path.name) and (path / "splits").is_dir():
                with contextlib.suppress(OSError):
                    stale = [
                        tmp
                        for tmp in (path / "splits").iterdir()
                        if tmp.name.startswith(".") and tmp.name.endswith(".tmp") and is_stale(tmp, ".", max_age)
                    ]
                    removed += [tmp for tmp in stale if _remove_tree(tmp)]
        with contextlib.suppress(OSError):
            root.rmdir()  # a name folder left empty
        return removed
