"""What a dataset version holds, as one plain dict: shown by `data info` and by the app."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ppr.data.store import Dataset, Store

LENGTH_QUANTILES = (("min", 0.0), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p90", 0.9), ("max", 1.0))


def dataset_info(ds: Dataset, cold_threshold: int = 10) -> dict[str, Any]:
    """Counts, warm/cold users at `cold_threshold` clicks, sequence-length quantiles, attributes, provenance."""
    inter = ds.interactions(columns=["user", "ts"])
    lengths = np.bincount(inter["user"].to_numpy(), minlength=ds.n_users)
    m = ds.manifest
    codes = ds.attribute_codes()
    attributes = []
    for j, attr in enumerate(ds.attributes):
        used = np.bincount(codes[:, j], minlength=len(attr["values"]))
        top = np.argsort(-used[1:], kind="stable")[:5] + 1
        attributes.append(
            {
                "name": attr["name"],
                "source_column": attr.get("source_column", attr["name"]),
                "encoding": attr.get("encoding", "categorical"),
                "cardinality": len(attr["values"]),
                "missing_share": float(used[0] / max(ds.n_users, 1)),
                "top_values": [{"value": attr["values"][c], "share": float(used[c] / max(ds.n_users, 1))} for c in top],
            }
        )
    ts = inter["ts"].to_numpy()
    counts = m.get("counts", {})
    return {
        "ref": ds.ref,
        "name": ds.name,
        "version": ds.version,
        "created_at": m.get("created_at"),
        "content_hash": m.get("content_hash"),
        "users": ds.n_users,
        "items": ds.n_items,
        "interactions": int(len(inter)),
        "duplicates_dropped": int(counts.get("duplicates_dropped", 0)),
        "users_file_rows_dropped": int(counts.get("users_file_rows_dropped", 0)),
        "cold_threshold": int(cold_threshold),
        "warm_users": int((lengths >= cold_threshold).sum()),
        "cold_users": int((lengths < cold_threshold).sum()),
        "sequence_length": {k: float(np.quantile(lengths, q)) if len(lengths) else 0.0 for k, q in LENGTH_QUANTILES}
        | {"mean": float(lengths.mean()) if len(lengths) else 0.0},
        "time_range": _time_range(ts),
        "density": float(len(inter) / max(ds.n_users * ds.n_items, 1)),
        "attributes": attributes,
        "items_metadata": m.get("items", {}),
        "source": m.get("source", {}),
    }


def _time_range(ts: np.ndarray) -> dict[str, Any]:
    if not len(ts):
        return {"min": None, "max": None, "min_iso": None, "max_iso": None}
    lo, hi = int(ts.min()), int(ts.max())
    return {"min": lo, "max": hi, "min_iso": _iso(lo), "max_iso": _iso(hi)}


def _iso(seconds: int) -> str:
    return pd.Timestamp(seconds, unit="s", tz="UTC").isoformat()


def store_rows(store: Store) -> list[dict[str, Any]]:
    """One row per dataset (its latest version): what `data list` and the Home page show."""
    rows = []
    for ds in store.list():
        c = ds.manifest.get("counts", {})
        rows.append(
            {
                "name": ds.name,
                "version": ds.version,
                "ref": ds.ref,
                "versions": store.versions(ds.name),
                "users": c.get("users"),
                "items": c.get("items"),
                "interactions": c.get("interactions"),
                "attributes": [a["name"] for a in ds.attributes],
                "source": ds.manifest.get("source", {}).get("format"),
                "created_at": ds.manifest.get("created_at"),
            }
        )
    return rows
