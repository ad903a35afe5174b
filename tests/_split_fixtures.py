"""Tiny dataset versions written straight through Store.write_version (no importer needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from _store_tables import publish_tables

from ppr.data.store import Dataset, Store


def write_dataset(
    home: Path,
    lengths: np.ndarray | list[int],
    n_items: int,
    seed: int = 0,
    name: str = "toy",
    cardinalities: tuple[int, ...] = (3, 4),
    repeat_share: float = 0.0,
) -> Dataset:
    """A dataset whose user u has lengths[u] clicks on random items, with equal timestamps
    in places (ties must keep file order) and `repeat_share` of clicks re-clicking an item."""
    rng = np.random.default_rng(seed)
    lengths = np.asarray(lengths, dtype=np.int64)
    n_users = len(lengths)
    user = np.repeat(np.arange(n_users, dtype=np.int32), lengths)
    item = rng.integers(1, n_items + 1, size=len(user)).astype(np.int32)
    if repeat_share and len(item) > 1:
        again = np.flatnonzero(rng.random(len(item)) < repeat_share)
        again = again[(again > 0) & (user[np.maximum(again - 1, 0)] == user[again])]
        item[again] = item[again - 1]
    starts = np.repeat(np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    ts = (1_000_000 + (np.arange(len(user)) - starts) // 2).astype(np.int64)  # pairs of ties

    users = pd.DataFrame({"user": np.arange(n_users, dtype=np.int32), "user_id": [f"u{i}" for i in range(n_users)]})
    for j, card in enumerate(cardinalities):
        users[f"a{j}"] = rng.integers(0, card, size=n_users).astype(np.int16)
    items = pd.DataFrame(
        {
            "item": np.arange(1, n_items + 1, dtype=np.int32),
            "item_id": [f"i{i}" for i in range(1, n_items + 1)],
            "title": pd.Series([None] * n_items, dtype="str"),
            "category": pd.Series([None] * n_items, dtype="str"),
        }
    )
    values = {f"a{j}": ["missing", *[f"v{v}" for v in range(1, card)]] for j, card in enumerate(cardinalities)}
    inter = pd.DataFrame({"user": user, "item": item, "ts": ts})
    return publish_tables(Store(home), name, inter, users, items, values)
