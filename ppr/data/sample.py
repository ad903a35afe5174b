"""The bundled sample dataset: small synthetic CSVs shipped in sample_data/, imported on first start.

The shipped files are exactly what `write_sample_files` produces (a test checks it), so
they can be regenerated with: python -m ppr.data.sample sample_data
"""

from __future__ import annotations

import sys
from pathlib import Path

from ppr.data.store import Dataset, Store
from ppr.data.synth import generate
from ppr.errors import InputError
from ppr.log import Log

SAMPLE_NAME = "sample"
SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"
SAMPLE_PARAMS = {"n_users": 3000, "n_items": 1000, "mean_len": 15, "seed": 0, "fmt": "csv"}


def write_sample_files(out_dir: Path) -> dict[str, Path]:
    """(Re)generate the sample CSVs: interactions.csv, users.csv, items.csv."""
    return generate(Path(out_dir), **SAMPLE_PARAMS)


def ensure_sample(store: Store, sample_dir: Path = SAMPLE_DIR, log: Log | None = None) -> Dataset:
    """The "sample" dataset, imported from sample_dir the first time only (quietly unless `log`)."""
    if SAMPLE_NAME in store.names():
        return store.open(SAMPLE_NAME)
    from ppr.data.importers import import_dataset

    try:
        return import_dataset(
            store,
            SAMPLE_NAME,
            interactions=sample_dir / "interactions.csv",
            users=sample_dir / "users.csv",
            items=sample_dir / "items.csv",
            user_col="user_id",
            item_col="item_id",
            time_col="timestamp",
            fmt="csv",
            if_exists="refuse",
            log=log or (lambda _msg: None),
        )
    except InputError:
        if SAMPLE_NAME in store.names():  # another process imported it meanwhile
            return store.open(SAMPLE_NAME)
        raise


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE_DIR
    for role, path in write_sample_files(out).items():
        print(f"{role}: {path}")
