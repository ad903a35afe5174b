"""Obtain MovieLens-100K for a user without ever shipping it (its licence forbids redistribution).

Sources, tried in order and each explained as it is tried:
1. the GroupLens zip, where the internet is reachable;
2. the RecBole atomic-file copy inside the `recbole==1.2.1` wheel from PyPI
   (`pip download --no-deps`; only the data files are extracted, recbole is not installed);
and a local path (zip or folder) when the user gives one with ``--from``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from ppr.data.store import owner_tag
from ppr.errors import InputError
from ppr.log import Log, to_stderr

if TYPE_CHECKING:
    from ppr.data.store import Dataset, Store

GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
RECBOLE_WHEEL = "recbole==1.2.1"
_WHEEL_PREFIX = "recbole/dataset_example/ml-100k/"
_RECBOLE_FILES = ("ml-100k.inter", "ml-100k.user", "ml-100k.item")
_GROUPLENS_FILES = ("u.data", "u.user", "u.item")


def fetch_ml100k(dest: Path, source: Path | None = None, log: Log = to_stderr, timeout: float = 20.0) -> Path:
    """Put ml-100k raw files into `dest` and return the folder to import (MovieLens or RecBole layout)."""
    dest = Path(dest)
    if source is not None:
        log(f"Using the local copy at {source}.")
        return _from_local(Path(source), dest)
    reasons = []
    for label, step in (
        (f"GroupLens zip ({GROUPLENS_URL})", lambda: _from_grouplens(dest, timeout)),
        (f"the {RECBOLE_WHEEL} wheel from PyPI (pip download --no-deps)", lambda: _from_recbole_wheel(dest)),
    ):
        log(f"Trying {label} ...")
        try:
            folder = step()
        except (OSError, subprocess.SubprocessError, zipfile.BadZipFile, InputError) as exc:
            log(f"  failed: {exc}")
            reasons.append(f"{label}: {exc}")
            continue
        log(f"  ok: files in {folder}")
        return folder
    raise InputError(
        "Could not fetch ml-100k. Tried " + "; ".join(reasons) + ". Download ml-100k.zip from GroupLens "
        "on a machine with internet access and pass it with `--from PATH` (the zip, its extracted folder, "
        "or a folder with RecBole's ml-100k.inter/.user/.item files)."
    )


def fetch_and_import(store: Store, name: str = "ml-100k", source: Path | None = None, log: Log = to_stderr) -> Dataset:
    """Fetch ml-100k (or take it from `source`) into a temp folder and import it as `name` (CLI and app)."""
    from ppr.data.importers import import_dataset

    with tempfile.TemporaryDirectory(prefix="ppr-fetch-" + owner_tag()) as tmp:
        folder = fetch_ml100k(Path(tmp), source=source, log=log)
        fmt = "recbole" if (folder / "ml-100k.inter").is_file() else "movielens"
        names = _RECBOLE_FILES if fmt == "recbole" else _GROUPLENS_FILES
        files = dict(zip(("interactions", "users", "items"), (folder / n for n in names), strict=True))
        missing = [str(p) for p in files.values() if not p.is_file()]
        if missing:
            raise InputError(f"Fetched ml-100k is incomplete: missing {', '.join(missing)}.")
        return import_dataset(store, name, fmt=fmt, log=log, **files)


def _from_grouplens(dest: Path, timeout: float) -> Path:
    with tempfile.TemporaryDirectory(prefix="ppr-fetch-" + owner_tag()) as tmp:
        zpath = Path(tmp) / "ml-100k.zip"
        with urllib.request.urlopen(GROUPLENS_URL, timeout=timeout) as resp, open(zpath, "wb") as fh:
            shutil.copyfileobj(resp, fh)
        return _from_local(zpath, dest)


def _from_recbole_wheel(dest: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix="ppr-fetch-" + owner_tag()) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, RECBOLE_WHEEL]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise OSError(f"pip download exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
        wheels = list(Path(tmp).glob("recbole-*.whl"))
        if not wheels:
            raise OSError("pip download finished but left no recbole wheel")
        return _extract(wheels[0], dest, {_WHEEL_PREFIX + f: f for f in _RECBOLE_FILES})


def _from_local(source: Path, dest: Path) -> Path:
    if not source.exists():
        raise InputError(f"--from {source}: no such file or folder.")
    if source.is_dir():
        for names in (_RECBOLE_FILES, _GROUPLENS_FILES):
            for folder in (source, source / "ml-100k"):
                if all((folder / n).is_file() for n in names):
                    return folder
        raise InputError(
            f"--from {source}: expected a folder with {', '.join(_GROUPLENS_FILES)} (GroupLens) "
            f"or {', '.join(_RECBOLE_FILES)} (RecBole); found neither."
        )
    if not zipfile.is_zipfile(source):
        raise InputError(f"--from {source}: not a zip file or a folder.")
    with zipfile.ZipFile(source) as zf:
        names = zf.namelist()
    for wanted in (_GROUPLENS_FILES, _RECBOLE_FILES):
        members = {n: Path(n).name for n in names if Path(n).name in wanted}
        if len(set(members.values())) == len(wanted):
            return _extract(source, dest, members)
    raise InputError(
        f"--from {source}: the zip holds neither GroupLens' u.data/u.user/u.item nor RecBole's ml-100k files."
    )


def _extract(zpath: Path, dest: Path, members: dict[str, str]) -> Path:
    """Copy only the named data members out of a zip (no other file of the archive is written)."""
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zpath) as zf:
        for member, name in members.items():
            with zf.open(member) as src, open(dest / name, "wb") as out:
                shutil.copyfileobj(src, out)
    return dest
