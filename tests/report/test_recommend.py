"""Recommendations for a brand-new user: the profile read the way the importer encoded it, the planted taste
found from the profile alone (zero-shot) and from the first clicks, clicks never recommended, titles shown,
and clear errors for unknown attributes and items."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from _tuned import group_of

from ppr.data.store import Store
from ppr.errors import InputError
from ppr.report.recommend import from_run, item_ids, profile_query, recommend, user_query
from ppr.runs.folder import RunFolder
from ppr.runs.pipeline import load_model

TASTES = {"a": 1, "b": 2, "c": 3, "d": 4}


def opened(tuned_home, method: str):
    home, runs = tuned_home
    store = Store(home)
    return load_model(store, RunFolder(store.runs_dir / runs[method])), store.open("planted")


def majority(table) -> tuple[int, int]:
    """(group, how many of the list) of the planted group most of a top list comes from."""
    return Counter(map(group_of, table["item_id"])).most_common(1)[0]


@pytest.mark.parametrize("method", ["ppr-light", "pop-profile"])
def test_the_profile_alone_finds_the_planted_taste(tuned_home, method: str) -> None:
    model, ds = opened(tuned_home, method)
    for taste, group in TASTES.items():
        query = profile_query(ds, f"taste={taste}")
        assert not len(query.clicks) and not query.warnings
        top = recommend(model, ds, query, 10)
        assert majority(top) == (group, 10), top


def test_first_clicks_move_the_list_to_their_group_and_are_never_recommended(tuned_home) -> None:
    model, ds = opened(tuned_home, "ppr-light")
    for group in (1, 2, 3, 4):
        clicks = [f"i{group + 4 * j}" for j in range(3)]  # three items of the group
        top = recommend(model, ds, profile_query(ds, "taste=a", clicks), 10)
        assert len(top) == 10 and list(top["rank"]) == list(range(1, 11))
        assert not set(clicks) & set(top["item_id"])
        found, count = majority(top)
        assert found == group and count >= 7, top
        assert list(top["title"]) == [f"item {i[1:]}" for i in top["item_id"]]
        assert np.all(np.diff(top["score"].to_numpy()) <= 1e-6)  # best first


def test_each_click_added_changes_the_list(tuned_home) -> None:
    model, ds = opened(tuned_home, "ppr-light")
    lists = [
        tuple(recommend(model, ds, profile_query(ds, "taste=b", ["i1", "i5"][:n]), 10)["item_id"]) for n in (0, 1, 2)
    ]
    assert len(set(lists)) == 3


def test_a_known_user_brings_stored_profile_and_clicks(tuned_home) -> None:
    model, ds = opened(tuned_home, "ppr-light")
    offsets, items = ds.sequences()
    query = user_query(ds, "u7")
    assert list(query.clicks) == list(items[offsets[7] : offsets[8]])
    assert list(query.codes) == list(ds.attribute_codes()[7])
    clicked = set(ds.items().set_index("item").loc[query.clicks, "item_id"])
    top = recommend(model, ds, query, 50)
    assert not clicked & set(top["item_id"])  # the whole history is excluded, even past the model's window
    replaced = user_query(ds, "u7", "i3")
    assert list(replaced.clicks) == list(item_ids(ds, "i3"))
    with pytest.raises(InputError, match="no user 'nobody'"):
        user_query(ds, "nobody")


def test_profile_values_are_read_as_the_importer_encoded_them(tuned_home) -> None:
    _, ds = opened(tuned_home, "ppr-light")
    query = profile_query(ds, {"taste": "c"})
    assert list(query.codes) == [3, 0]  # noise left out: 'missing'
    unseen = profile_query(ds, "taste=zz, noise=y")
    assert list(unseen.codes) == [0, 2]
    assert len(unseen.warnings) == 1 and "taste='zz'" in unseen.warnings[0] and "missing" in unseen.warnings[0]
    with pytest.raises(InputError, match="no attribute 'age'.*taste, noise"):
        profile_query(ds, "age=25")
    with pytest.raises(InputError, match="not of the form name=value"):
        profile_query(ds, "taste")
    with pytest.raises(InputError, match="no item 'i999'"):
        profile_query(ds, "taste=a", "i1,i999")


def test_from_run_is_the_one_call_for_python_users(tuned_home) -> None:
    home, runs = tuned_home
    result = from_run(Store(home), runs["pop-profile"], profile={"taste": "d"}, top=5)
    assert result.method == "pop-profile" and result.run_id == runs["pop-profile"]
    assert [group_of(i) for i in result.items["item_id"]] == [4] * 5
    assert result.as_dict()["clicks"] == 0 and len(result.as_dict()["items"]) == 5
    with pytest.raises(InputError, match="not both"):
        from_run(Store(home), runs["pop-profile"], user="u1", profile="taste=a")
