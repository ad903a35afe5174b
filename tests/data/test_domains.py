"""Item domains: declaring them on a dataset, reading them back, and parting clicks by domain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _domains import planted_domains
from _planted import planted_dataset

from ppr.data.domains import (
    MIN_SHARED_USERS,
    declare_domains,
    domain_counts,
    item_domains,
    matching,
    shared_users,
    split_by_domain,
    target_pool,
)
from ppr.data.store import Store
from ppr.errors import InputError


def test_declaring_domains_writes_a_new_version_with_only_the_items_changed(home: Path) -> None:
    ds = planted_domains(home)
    before = Store(home).open("planted@v1")
    assert ds.ref == "planted@v2" and domain_counts(ds) == {"source": 150, "target": 50}
    for name in ("interactions.parquet", "users.parquet"):
        assert (ds.path / name).read_bytes() == (before.path / name).read_bytes()
    items = ds.items()
    assert (items["domain"] == np.where(items["category"] == "g1", "target", "source")).all()
    assert ds.manifest["domains"] == {
        "from": "planted@v1",
        "by": "category",
        "values": ["g1"],
        "items": {"target": 50, "source": 150},
    }
    assert ds.attributes == before.attributes and item_domains(before) is None and domain_counts(before) == {}
    pool = target_pool(ds, "target")
    assert not pool[0] and pool.sum() == 50 and (pool[1:] == (items["category"] == "g1").to_numpy()).all()


def test_a_version_can_be_written_under_another_name(home: Path) -> None:
    store = Store(home)
    planted_dataset(store)
    out = declare_domains(store, "planted", "category", ["g1", "g2"], "b", "a", into="planted-xd")
    assert out.ref == "planted-xd@v1" and domain_counts(out) == {"a": 100, "b": 100}
    assert store.versions("planted") == [1]


def test_a_value_matches_the_whole_text_or_one_of_its_parts_without_case() -> None:
    texts = pd.Series(["Comedy Drama", "Melodrama", "drama|Romance", None, "Sci-Fi", "Drama,War"])
    assert matching(texts, ["Drama"]).tolist() == [True, False, True, False, False, True]
    assert matching(texts, ["sci-fi", "war"]).tolist() == [False, False, False, False, True, True]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"column": "category", "values": ["g9"]}, r"No item of planted@v1 has a category matching 'g9'.*'g1'"),
        ({"column": "category", "values": ["g1", "g2", "g3", "g4"]}, "Every item of planted@v1"),
        ({"column": "genre", "values": ["g1"]}, "can be split by category, title, item_id; 'genre' is not"),
        ({"column": "category", "values": [" "]}, "at least one value"),
        ({"column": "category", "values": ["g1"], "target": "a b"}, "Domain name 'a b' is invalid"),
        ({"column": "category", "values": ["g1"], "target": "x", "source": "x"}, "different names"),
    ],
)
def test_bad_declarations_say_what_is_wrong_and_write_nothing(home: Path, kwargs: dict, message: str) -> None:
    store = Store(home)
    planted_dataset(store)
    with pytest.raises(InputError, match=message):
        declare_domains(store, "planted", **kwargs)
    assert store.versions("planted") == [1]


def test_too_few_users_with_clicks_in_both_domains_is_refused(home: Path) -> None:
    store = Store(home)
    planted_dataset(store, n_users=MIN_SHARED_USERS - 5)
    with pytest.raises(InputError, match=rf"users with clicks in both.*need at least {MIN_SHARED_USERS}"):
        declare_domains(store, "planted", "category", ["g1"])
    assert store.versions("planted") == [1]


def test_a_target_domain_must_exist(home: Path) -> None:
    ds = planted_domains(home)
    with pytest.raises(InputError, match=r"no item domain 'books'; its domains: source \(150 items\), target"):
        target_pool(ds, "books")
    with pytest.raises(InputError, match="declares no item domains.*data domains"):
        target_pool(Store(home).open("planted@v1"), "target")


def test_clicks_part_by_domain_in_time_order() -> None:
    offsets = np.array([0, 4, 4, 6])
    items = np.array([1, 5, 2, 6, 5, 3], dtype=np.int32)
    pool = np.zeros(7, dtype=bool)
    pool[[5, 6]] = True
    (t_off, t_items), (s_off, s_items) = split_by_domain(offsets, items, pool)
    assert t_off.tolist() == [0, 2, 2, 3] and t_items.tolist() == [5, 6, 5]
    assert s_off.tolist() == [0, 2, 2, 3] and s_items.tolist() == [1, 2, 3]
    assert shared_users(offsets, items, pool).tolist() == [True, False, True]


def test_an_items_file_with_a_domain_column_is_imported_with_it(run_cli, tmp_path: Path, home: Path) -> None:
    inter = tmp_path / "inter.csv"
    inter.write_text(
        "user_id,item_id,timestamp\n" + "".join(f"u{u},i{i},{10 * i}\n" for u in range(3) for i in range(4))
    )
    items = tmp_path / "items.csv"
    items.write_text("item_id,title,domain\ni0,A,books\ni1,B,books\ni2,C,films\ni3,D,\n")
    rc, _, err = run_cli("data", "import", "shop", "--interactions", inter, "--items", items)
    assert rc == 0, err
    ds = Store(home).open("shop")
    assert domain_counts(ds) == {"books": 2, "films": 1} and ds.manifest["items"]["has_domain"]
    bad = tmp_path / "bad.csv"
    bad.write_text("item_id,domain\ni0,books\ni1,old books\n")
    rc, _, err = run_cli("data", "import", "shop2", "--interactions", inter, "--items", bad)
    assert rc == 2 and "item domain 'old books' in column 'domain' (item 'i1')" in err
