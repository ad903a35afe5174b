"""Attribute vocabularies: categorical, quantile bins, top-k + other, missing = code 0."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ppr.data.attributes import code_for, encode_attribute


def test_categorical_sorted_numerically_with_missing() -> None:
    codes, entry = encode_attribute(pd.Series(["10", "2", None, " ", "2", "missing"]), "a", "a")
    assert entry["encoding"] == "categorical"
    assert entry["values"] == ["missing", "2", "10"]
    assert codes.tolist() == [2, 1, 0, 0, 1, 0]
    assert codes.dtype == np.int16
    assert entry["missing_share"] == 0.5


def test_many_numbers_become_quantile_bins() -> None:
    x = pd.Series(np.arange(100).astype(float))
    codes, entry = encode_attribute(x, "age", "age", n_bins=4)
    assert entry["encoding"] == "quantile_bins"
    assert entry["edges"] == [0.0, 25.0, 50.0, 74.0, 99.0]
    assert entry["values"] == ["missing", "[0, 25)", "[25, 50)", "[50, 74)", "[74, 99]"]
    assert codes[[0, 24, 25, 99]].tolist() == [1, 1, 2, 4]
    assert np.bincount(codes)[1:].min() >= 24  # quantiles: bins roughly equal


def test_few_numbers_stay_categorical() -> None:
    _, entry = encode_attribute(pd.Series([1, 18, 25, 35, 1]), "age", "age")
    assert entry["encoding"] == "categorical" and entry["values"] == ["missing", "1", "18", "25", "35"]


def test_many_strings_keep_top_k_plus_other() -> None:
    values = pd.Series(["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d", "e", "f"])
    codes, entry = encode_attribute(values, "city", "city", top_k=2)
    assert entry["encoding"] == "top_k"
    assert entry["values"] == ["missing", "a", "b", "other"]
    assert codes.tolist() == [1] * 5 + [2] * 4 + [3] * 6


def test_real_other_value_absorbs_rare_ones() -> None:
    values = pd.Series(["other"] * 5 + ["a"] * 4 + ["x", "y"])
    codes, entry = encode_attribute(values, "job", "job", top_k=2)
    assert entry["values"] == ["missing", "other", "a"]
    assert codes.tolist()[-2:] == [1, 1]


def test_all_missing() -> None:
    codes, entry = encode_attribute(pd.Series([None, None]), "z", "z")
    assert entry["values"] == ["missing"] and codes.tolist() == [0, 0] and entry["missing_share"] == 1.0


def test_code_for_reads_a_raw_value_as_the_importer_encoded_it() -> None:
    rng = np.random.default_rng(0)
    columns = {
        "quantile_bins": pd.Series(rng.integers(10, 80, 400).astype(str)),
        "top_k": pd.Series(rng.choice([f"city{i}" for i in range(40)], 400)),
        "categorical": pd.Series(rng.choice(["F", "M", ""], 400)),
    }
    for encoding, column in columns.items():
        codes, entry = encode_attribute(column, "a", "a", top_k=10)
        assert entry["encoding"] == encoding
        assert [code_for(entry, v) for v in column] == codes.tolist()
        assert all(code_for(entry, label) == i for i, label in enumerate(entry["values"]))  # labels themselves
    bins = encode_attribute(columns["quantile_bins"], "a", "a")[1]
    assert code_for(bins, "3") == 1 and code_for(bins, "200") == len(bins["values"]) - 1  # beyond the edges
    assert code_for(bins, "old") is None
    assert code_for(encode_attribute(columns["categorical"], "a", "a")[1], "X") is None  # never seen
