"""A tiny dataset with planted structure for the tuning/eval/CLI tests.

Items are dealt into 4 groups; a user's attribute `taste` (codes 1..4) names the
group 90% of their clicks come from, so the profile alone predicts the first click
(zero-shot) well above chance. A second attribute `noise` carries nothing. About a
third of the users are naturally cold (1..9 clicks), so no cold users are simulated.
Written straight through Store.write_version, independent of the importers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _store_tables import publish_tables

from ppr.data.store import Dataset, Store

N_GROUPS = 4
# CLI flags of a tiny backbone trained briefly: tests that go through the CLI stay fast
TINY_FLAGS = "--max-len 10 --d 16 --layers 1 --d-ff 32 --warm-epochs 2 --warm-lr 1e-2 --batch-size 32 --folds 1".split()


def planted_dataset(
    store: Store, name: str = "planted", n_users: int = 500, n_items: int = 200, seed: int = 0, chain: bool = False
) -> Dataset:
    """chain=True plants a next-item rule too: 90% of the clicks after the first are the previous item + 4 (the
    next item of the same group), so a sequence model can tell the next click from the last one."""
    rng = np.random.default_rng(seed)
    taste = rng.integers(1, N_GROUPS + 1, size=n_users)
    other = rng.integers(1, 3, size=n_users)
    group_of = (np.arange(1, n_items + 1) - 1) % N_GROUPS + 1  # item -> group 1..4
    cold = rng.random(n_users) < 0.35
    lengths = np.where(cold, rng.integers(1, 10, size=n_users), rng.integers(12, 25, size=n_users))
    rows = []
    for u in range(n_users):
        own = np.flatnonzero(group_of == taste[u]) + 1
        pool = list(range(1, n_items + 1))
        clicks: list[int] = []
        while len(clicks) < lengths[u]:
            if chain and clicks and rng.random() < 0.9:
                item = (clicks[-1] + N_GROUPS - 1) % n_items + 1
            else:
                item = int(rng.choice(own)) if rng.random() < 0.9 else int(rng.choice(pool))
            if item not in clicks:
                clicks.append(item)
            if len(clicks) >= n_items:
                break
        rows += [(u, item, 1_600_000_000 + 60 * t) for t, item in enumerate(clicks)]
    inter = pd.DataFrame(rows, columns=["user", "item", "ts"]).astype({"user": "int32", "item": "int32", "ts": "int64"})

    users = pd.DataFrame(
        {
            "user": np.arange(n_users, dtype=np.int32),
            "user_id": [f"u{u}" for u in range(n_users)],
            "taste": taste.astype(np.int16),
            "noise": other.astype(np.int16),
        }
    )
    items = pd.DataFrame(
        {
            "item": np.arange(1, n_items + 1, dtype=np.int32),
            "item_id": [f"i{i}" for i in range(1, n_items + 1)],
            "title": [f"item {i}" for i in range(1, n_items + 1)],
            "category": [f"g{g}" for g in group_of],
        }
    )
    values = {"taste": ["missing", "a", "b", "c", "d"], "noise": ["missing", "x", "y"]}
    return publish_tables(store, name, inter, users, items, values)
