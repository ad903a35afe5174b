"""Publish hand-made tables as a dataset version, skipping the importer (for fixtures)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ppr.data.store import Dataset, Store


def publish_tables(
    store: Store, name: str, inter: pd.DataFrame, users: pd.DataFrame, items: pd.DataFrame, values: dict[str, list[str]]
) -> Dataset:
    """`values` maps each categorical attribute column of `users` to its vocabulary (values[0] = 'missing')."""

    def writer(stage: Path) -> dict:
        inter.to_parquet(stage / "interactions.parquet", index=False)
        users.to_parquet(stage / "users.parquet", index=False)
        items.to_parquet(stage / "items.parquet", index=False)
        return {
            "format_version": 1,
            "source": {"format": "test", "files": {}, "columns": {"user": "user", "item": "item", "time": "ts"}},
            "counts": {
                "users": len(users),
                "items": len(items),
                "interactions": len(inter),
                "duplicates_dropped": 0,
                "users_file_rows_dropped": 0,
            },
            "attributes": [
                {"name": col, "source_column": col, "encoding": "categorical", "values": vocab, "missing_share": 0.0}
                for col, vocab in values.items()
            ],
            "items": {
                "has_title": bool(items["title"].notna().any()),
                "has_category": bool(items["category"].notna().any()),
            },
        }

    return store.write_version(name, writer)
