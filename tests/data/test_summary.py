"""dataset_info: the numbers `data info` and the app show."""

from __future__ import annotations

from pathlib import Path

from ppr.data.importers import import_dataset
from ppr.data.store import Store
from ppr.data.summary import dataset_info


def test_counts_warm_cold_lengths_attributes(home: Path, tmp_path: Path) -> None:
    rows = ["user,item,ts"]
    for user, n in (("a", 1), ("b", 3), ("c", 12)):
        rows += [f"{user},{i},{i}" for i in range(1, n + 1)]
    rows.append("c,1,1")  # duplicate
    (tmp_path / "i.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "u.csv").write_text("user,gender\na,F\nb,\n")
    ds = import_dataset(Store(home), "s", tmp_path / "i.csv", users=tmp_path / "u.csv", log=lambda m: None)
    info = dataset_info(ds, cold_threshold=10)
    assert (info["users"], info["items"], info["interactions"]) == (3, 12, 16)
    assert (info["warm_users"], info["cold_users"]) == (1, 2)
    assert info["duplicates_dropped"] == 1
    assert info["sequence_length"]["min"] == 1 and info["sequence_length"]["max"] == 12
    assert info["sequence_length"]["p50"] == 3
    (gender,) = info["attributes"]
    assert gender["cardinality"] == 2 and abs(gender["missing_share"] - 2 / 3) < 1e-9
    assert info["content_hash"] == ds.content_hash and info["source"]["format"] == "csv"
    assert dataset_info(ds, cold_threshold=2)["warm_users"] == 2
