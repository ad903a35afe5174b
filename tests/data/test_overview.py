"""Overview tables: histogram bins cover every user once, curves keep their ends, splits say what they did."""

import numpy as np
from _split_fixtures import write_dataset

from ppr.data.overview import (
    attribute_distributions,
    dataset_overview,
    length_histogram,
    popularity_curve,
    split_overview,
    user_lengths,
)
from ppr.data.splits import SplitSpec
from ppr.data.store import Store
from ppr.data.synth import synth_dataset


def test_histogram_bins_are_log_spaced_and_split_at_the_threshold():
    lengths = np.array([0, 1, 1, 2, 3, 9, 10, 10, 50, 100])
    hist = length_histogram(lengths, split_at=10)
    assert hist["users"].sum() == 9  # users without clicks are left out
    assert (hist["lo"].to_numpy()[1:] == hist["hi"].to_numpy()[:-1]).all()  # contiguous [lo, hi)
    assert 10 in set(hist["lo"]) and hist["lo"].iloc[0] == 1 and hist["hi"].iloc[-1] == 101
    widths = (hist["hi"] - hist["lo"]).to_numpy()
    assert widths[-1] > widths[0]
    at_ten = hist[hist["lo"] == 10].iloc[0]
    assert at_ten["users"] == 2 and at_ten["hi"] > 10
    assert length_histogram(np.zeros(3, dtype=int)).empty


def test_overview_of_a_synthetic_dataset(tmp_path):
    ds = synth_dataset(Store(tmp_path), "s", 300, 400, mean_len=12, seed=3, log=lambda m: None)
    lengths = user_lengths(ds)
    assert lengths.sum() == ds.manifest["counts"]["interactions"]
    curve = popularity_curve(ds, max_points=50)
    counts = np.bincount(ds.interactions()["item"], minlength=ds.n_items + 1)[1:]
    assert curve["rank"].iloc[0] == 1 and curve["clicks"].iloc[0] == counts.max()
    assert curve["rank"].iloc[-1] == ds.n_items and curve["clicks"].iloc[-1] == counts.min()
    assert len(curve) <= 50 and (np.diff(curve["clicks"]) <= 0).all()
    dists = attribute_distributions(ds)
    assert list(dists) == [a["name"] for a in ds.attributes]
    for dist in dists.values():
        assert dist["users"].sum() == ds.n_users and dist["value"].iloc[0] == "missing"
    ov = dataset_overview(ds)
    assert ov["lengths"]["users"].sum() == (lengths > 0).sum()
    assert ov["split"]["roles"]["users"].sum() == ds.n_users - ov["split"]["no_clicks"]


def test_split_overview_says_when_cold_users_are_simulated(tmp_path):
    ds = write_dataset(tmp_path, lengths=[12] * 60, n_items=150)  # every user warm: cold must be simulated
    ov = split_overview(ds, SplitSpec())
    assert ov["cold_natural"] == 0 and ov["cold_simulated"] == 12 and ov["simulate_share"] == 0.2
    roles = dict(zip(ov["roles"]["key"], ov["roles"]["users"], strict=True))
    assert roles["warm"] == 48 and roles["tune"] + roles["val"] + roles["test"] == 12


def test_a_split_that_cannot_be_made_is_reported_not_raised(tmp_path):
    ds = write_dataset(tmp_path, lengths=[12] * 20, n_items=50)  # fewer than 99 never-clicked items
    ov = dataset_overview(ds)
    assert "negative" in ov["split"]["error"] and ov["lengths"]["users"].sum() == 20
