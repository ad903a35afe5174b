"""The dataset store: immutable, versioned folders of Parquet plus a manifest.

Layout under the home folder (``--home``, ``$PPR_HOME`` or ``./cache``)::

    datasets/<name>/v<N>/manifest.json
    datasets/<name>/v<N>/interactions.parquet   user:int32 item:int32 ts:int64, sorted by user, ts, file order
    datasets/<name>/v<N>/users.parquet          user:int32 user_id:str <attr>:int16 (code 0 = "missing")
    datasets/<name>/v<N>/items.parquet          item:int32 item_id:str title:str? category:str?
    datasets/<name>/v<N>/splits/<split_id>/     derived cold-start splits (see splits.py)

Users are 0..U-1, items 1..I (0 is the padding id). A version is written to a
staging folder and renamed into place, so a failed import leaves the store as it was
and readers never see half a dataset. No DuckDB database file is kept: DuckDB
queries the Parquet directly, so any number of processes can read at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ppr.errors import InputError
from ppr.io import atomic_write_json, read_json

DATA_FILES = ("interactions.parquet", "users.parquet", "items.parquet")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_REF_RE = re.compile(r"^(?P<name>[^@]+)(?:@v?(?P<version>\d+))?$")


def resolve_home(home: str | os.PathLike | None = None) -> Path:
    """--home beats $PPR_HOME beats ./cache."""
    return Path(home or os.environ.get("PPR_HOME") or "cache").resolve()


def validate_name(name: str) -> str:
    if not name or not _NAME_RE.match(name) or ".." in name:
        raise InputError(
            f"Dataset name {name!r} is not allowed: use 1-64 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit, with no path characters ('/', '..')."
        )
    return name


@dataclass(frozen=True)
class Dataset:
    """One immutable dataset version, read lazily from its folder."""

    path: Path

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return read_json(self.path / "manifest.json")

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
        return pd.read_parquet(self.path / "interactions.parquet", columns=columns)

    def users(self) -> pd.DataFrame:
        return pd.read_parquet(self.path / "users.parquet")

    def items(self) -> pd.DataFrame:
        return pd.read_parquet(self.path / "items.parquet")

    def attribute_codes(self) -> np.ndarray:
        """(n_users, n_attributes) int64 codes indexed by user id."""
        names = [a["name"] for a in self.attributes]
        users = pd.read_parquet(self.path / "users.parquet", columns=["user", *names])
        codes = np.zeros((self.n_users, len(names)), dtype=np.int64)
        if names:
            codes[users["user"].to_numpy()] = users[names].to_numpy(dtype=np.int64)
        return codes

    def sequences(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR view of every user's time-ordered clicks: (offsets[U+1], items[n])."""
        inter = pd.read_parquet(self.path / "interactions.parquet", columns=["user", "item"])
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
        if not self.datasets_dir.is_dir():
            return []
        return sorted(p.name for p in self.datasets_dir.iterdir() if p.is_dir() and self.versions(p.name))

    def versions(self, name: str) -> list[int]:
        folder = self.datasets_dir / name
        if not folder.is_dir():
            return []
        found = []
        for p in folder.iterdir():
            if p.name.startswith("v") and p.name[1:].isdigit() and (p / "manifest.json").is_file():
                found.append(int(p.name[1:]))
        return sorted(found)

    def list(self) -> list[Dataset]:
        """The latest version of every dataset."""
        return [self.open(n) for n in self.names()]

    def open(self, ref: str) -> Dataset:
        """`name` (latest version) or `name@vN`."""
        m = _REF_RE.match(ref or "")
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
    ) -> Dataset:
        """Build a new version of `name` with `writer(stage_dir) -> manifest` and publish it atomically.

        `writer` writes the three DATA_FILES into the staging folder and returns the
        manifest body; the store adds name, version, created_at and content_hash.
        if_exists: "new" makes version N+1, "refuse" raises if the name exists.
        """
        self.check_writable(name, if_exists)
        stage_root = self.datasets_dir / name
        stage_root.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(dir=stage_root, prefix=".staging-"))
        try:
            body = writer(stage)
            while True:  # another process may publish the same version number first
                version = (self.versions(name) or [0])[-1] + 1
                manifest = {
                    "name": name,
                    "version": version,
                    "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    **body,
                    "content_hash": content_hash(stage),
                }
                atomic_write_json(stage / "manifest.json", manifest)
                final = stage_root / f"v{version}"
                try:
                    os.rename(stage, final)  # never overwrites a non-empty folder
                    break
                except OSError:
                    if not final.exists():
                        raise
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            with contextlib.suppress(OSError):
                stage_root.rmdir()  # only if empty: leave other imports' staging alone
            raise
        return Dataset(final)

    def remove(self, name: str) -> list[int]:
        """Delete every version of `name`; returns the versions removed."""
        versions = self.versions(validate_name(name))
        if not versions:
            raise InputError(f"No dataset named {name!r} in {self.datasets_dir}; nothing removed.")
        folder = self.datasets_dir / name
        trash = folder.with_name(f".{name}.removing")
        os.rename(folder, trash)  # atomic: readers see it all or none of it
        shutil.rmtree(trash)
        return versions
