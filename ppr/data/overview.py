"""Chart-ready tables describing one dataset version (the app's Data page draws them).

Plain DataFrames, so the numbers can be checked without a browser and drawn with any
plotting library: sequence lengths on log-spaced bins, the item popularity curve
(rank vs clicks, for a log-log plot), each attribute's value shares, and how the
cold-start split divides users.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ppr.data.splits import ROLE_NAMES, ROLE_TEST, ROLE_TUNE, ROLE_VAL, ROLE_WARM, SplitSpec, planned_split
from ppr.data.store import Dataset

MAX_CURVE_POINTS = 400  # popularity curves of big catalogues are thinned to log-spaced ranks
ROLE_LABELS = {
    ROLE_WARM: "warm (trains the backbone)",
    ROLE_TUNE: "cold: tuning",
    ROLE_VAL: "cold: validation",
    ROLE_TEST: "cold: test",
}


def user_lengths(ds: Dataset) -> np.ndarray:
    """Clicks per user, indexed by user id."""
    users = ds.interactions(columns=["user"])["user"].to_numpy()
    return np.bincount(users, minlength=ds.n_users)


def length_histogram(lengths: np.ndarray, split_at: int | None = None, bins_per_decade: int = 8) -> pd.DataFrame:
    """Users per log-spaced bin of sequence length: columns lo (inclusive), hi (exclusive), users.

    `split_at` (the cold threshold) is made a bin edge, so no bin mixes cold and warm users.
    """
    lengths = lengths[lengths > 0]
    if not len(lengths):
        return pd.DataFrame(
            {"lo": pd.Series(dtype="int64"), "hi": pd.Series(dtype="int64"), "users": pd.Series(dtype="int64")}
        )
    top = int(lengths.max()) + 1
    n_bins = max(1, int(np.ceil(np.log10(top) * bins_per_decade)))
    edges = np.round(np.logspace(0, np.log10(top), n_bins + 1)).astype(np.int64)
    if split_at is not None and 1 < split_at < top:
        edges = np.append(edges, split_at)
    edges = np.unique(edges)
    edges[-1] = max(edges[-1], top)
    counts, _ = np.histogram(lengths, bins=edges)
    # np.histogram's last bin is closed; edges[-1] = max + 1 keeps every bin [lo, hi)
    return pd.DataFrame({"lo": edges[:-1], "hi": edges[1:], "users": counts.astype(np.int64)})


def popularity_curve(ds: Dataset, max_points: int = MAX_CURVE_POINTS) -> pd.DataFrame:
    """Clicks per item against its popularity rank (1 = most clicked): columns rank, clicks."""
    items = ds.interactions(columns=["item"])["item"].to_numpy()
    counts = np.sort(np.bincount(items, minlength=ds.n_items + 1)[1:])[::-1]
    ranks = np.arange(1, len(counts) + 1)
    if len(counts) > max_points:  # keep the shape: log-spaced ranks, always the first and last
        keep = np.unique(np.round(np.logspace(0, np.log10(len(counts)), max_points)).astype(np.int64)) - 1
        ranks, counts = ranks[keep], counts[keep]
    return pd.DataFrame({"rank": ranks.astype(np.int64), "clicks": counts.astype(np.int64)})


def attribute_distributions(ds: Dataset) -> dict[str, pd.DataFrame]:
    """Per attribute: value, users, share (every value including 'missing', in the manifest's order)."""
    codes = ds.attribute_codes()
    out = {}
    for j, attr in enumerate(ds.attributes):
        used = np.bincount(codes[:, j], minlength=len(attr["values"]))
        out[attr["name"]] = pd.DataFrame(
            {
                "value": [str(v) for v in attr["values"]],
                "users": used.astype(np.int64),
                "share": used / max(ds.n_users, 1),
            }
        )
    return out


def split_overview(ds: Dataset, cfg: SplitSpec = SplitSpec()) -> dict[str, Any]:
    """How the cold-start split divides users (its first fold), and whether cold users are simulated. Laid out in
    memory when it is not stored yet (negatives are not needed to show it, nor written by looking)."""
    split = planned_split(ds, cfg)
    roles = pd.DataFrame(
        {
            "role": [ROLE_LABELS[r] for r in ROLE_LABELS],
            "key": [ROLE_NAMES[r] for r in ROLE_LABELS],
            "users": [int((split.roles == r).sum()) for r in ROLE_LABELS],
        }
    )
    counts = split.counts()
    return {
        "split_id": split.id,
        "roles": roles,
        "cold_threshold": cfg.cold_threshold,
        "cold_natural": counts["cold_natural"],
        "cold_simulated": counts["cold_simulated"],
        "simulate_share": float(split.info.get("simulate_cold_resolved", 0.0)),
        "folds": split.folds,
        "targets": counts["targets"],
        "no_clicks": counts["users"]["none"],
    }


def dataset_overview(ds: Dataset, cfg: SplitSpec = SplitSpec()) -> dict[str, Any]:
    """Everything the Data page's overview draws; a split that cannot be made is reported, not raised."""
    from ppr.data.summary import dataset_info
    from ppr.errors import InputError

    lengths = user_lengths(ds)
    try:
        split: dict[str, Any] = split_overview(ds, cfg)
    except InputError as exc:
        split = {"error": str(exc)}
    return {
        "info": dataset_info(ds, cfg.cold_threshold),
        "lengths": length_histogram(lengths, split_at=cfg.cold_threshold),
        "popularity": popularity_curve(ds),
        "attributes": attribute_distributions(ds),
        "split": split,
    }
