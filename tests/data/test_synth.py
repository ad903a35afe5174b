"""The synthetic generator: deterministic, chunk-invariant, and its planted structure is really there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from ppr.data.synth import generate
from ppr.errors import InputError

ATTRS = ["age_group", "gender", "occupation", "region"]


def _read(paths: dict[str, Path]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return tuple(pd.read_parquet(paths[r]) for r in ("interactions", "users", "items"))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """4000 users, 1000 items (25 clusters), mean 15 clicks; clicks carry their cluster."""
    paths = generate(tmp_path_factory.mktemp("synth"), 4000, 1000, mean_len=15, seed=3)
    inter, users, items = _read(paths)
    inter["cluster"] = inter["item_id"].map(dict(zip(items["item_id"], items["category"], strict=True)))
    return inter, users, items


def test_same_seed_gives_byte_identical_files_and_another_seed_differs(tmp_path: Path) -> None:
    for fmt in ("csv", "parquet"):
        a = generate(tmp_path / f"a-{fmt}", 300, 200, mean_len=12, seed=5, fmt=fmt)
        b = generate(tmp_path / f"b-{fmt}", 300, 200, mean_len=12, seed=5, fmt=fmt)
        c = generate(tmp_path / f"c-{fmt}", 300, 200, mean_len=12, seed=6, fmt=fmt)
        for role in a:
            assert a[role].read_bytes() == b[role].read_bytes(), (fmt, role)
        assert a["interactions"].read_bytes() != c["interactions"].read_bytes()
        assert a["users"].read_bytes() != c["users"].read_bytes()


def test_chunk_size_never_changes_the_data(tmp_path: Path) -> None:
    progress: list[tuple[int, int]] = []
    small = generate(
        tmp_path / "small", 1500, 300, seed=1, fmt="csv", chunk_users=256, progress=lambda d, t: progress.append((d, t))
    )
    whole = generate(tmp_path / "whole", 1500, 300, seed=1, fmt="csv", chunk_users=100_000)
    for role in small:
        assert small[role].read_bytes() == whole[role].read_bytes(), role
    assert len(progress) == 6 and progress[-1] == (1500, 1500)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)


def test_files_are_well_formed(world: tuple[pd.DataFrame, ...]) -> None:
    inter, users, items = world
    assert list(inter.columns[:3]) == ["user_id", "item_id", "timestamp"]
    assert list(users.columns) == ["user_id", *ATTRS]
    assert list(items.columns) == ["item_id", "title", "category"]
    assert users["user_id"].tolist() == list(range(1, 4001))
    assert items["item_id"].tolist() == list(range(1, 1001))
    assert set(inter["user_id"]) == set(range(1, 4001))  # everyone clicked at least once
    assert inter["item_id"].between(1, 1000).all()
    assert not inter.duplicated(["user_id", "item_id"]).any()  # no repeat clicks
    assert (inter["user_id"].diff().fillna(0) >= 0).all()  # grouped by user, in order
    same_user = inter["user_id"].diff() == 0
    gaps = inter["timestamp"].diff()[same_user]
    assert (gaps >= 0).all()
    assert 0 < (gaps == 0).mean() < 0.03  # a few ties, not many
    assert items["title"].str.fullmatch(r"Item \d+ \(cluster \d+\)").all()
    assert items["category"].nunique() == 25
    missing = users[ATTRS].isna().mean()
    assert missing["gender"] == 0 and 0.06 < missing["occupation"] < 0.14 and 0.02 < missing["age_group"] < 0.08
    assert users["age_group"].nunique() == 7 and users["occupation"].nunique() == 21
    assert users["region"].nunique() == 10 and users["gender"].nunique() == 2


def test_lengths_are_heavy_tailed_with_a_cold_share(world: tuple[pd.DataFrame, ...]) -> None:
    lengths = world[0].groupby("user_id").size()
    assert 13 <= lengths.mean() <= 17
    assert 0.15 <= (lengths < 10).mean() <= 0.25
    assert lengths.max() > 6 * lengths.mean()  # a long tail of heavy users
    assert lengths.min() >= 1


@pytest.mark.parametrize("mean_len", [3, 8, 40])
def test_mean_length_follows_the_request(tmp_path: Path, mean_len: float) -> None:
    paths = generate(tmp_path, 2000, 4000, mean_len=mean_len, seed=2)
    lengths = pd.read_parquet(paths["interactions"]).groupby("user_id").size()
    assert abs(lengths.mean() - max(mean_len, 5)) < 0.1 * max(mean_len, 5)  # 5 is the documented floor
    assert (lengths < 10).mean() >= 0.15


def test_popularity_has_a_long_tail(world: tuple[pd.DataFrame, ...]) -> None:
    counts = world[0]["item_id"].value_counts().to_numpy()
    assert counts[:100].sum() / counts.sum() > 0.4  # top 10% of items


def test_next_click_tends_to_stay_in_the_cluster(world: tuple[pd.DataFrame, ...]) -> None:
    inter = world[0]
    pair = inter["user_id"].to_numpy()[1:] == inter["user_id"].to_numpy()[:-1]
    cl = inter["cluster"].to_numpy()
    same = (cl[1:] == cl[:-1])[pair].mean()
    chance = (inter["cluster"].value_counts(normalize=True) ** 2).sum()
    assert same > 0.35 and same > 5 * chance


def _profile_posterior(train: pd.DataFrame, test: pd.DataFrame) -> tuple[pd.Index, np.ndarray]:
    """Naive Bayes P(first-click cluster | profile), add-one smoothed: (clusters, (n_test, C))."""
    prior = train["cluster"].value_counts()
    score = np.tile(np.log(prior.to_numpy() / prior.sum()), (len(test), 1))
    for attr in ATTRS:
        tab = pd.crosstab(train[attr].fillna("?"), train["cluster"]).reindex(columns=prior.index) + 1
        loglik = np.log(tab / tab.sum(axis=0))
        score += loglik.reindex(test[attr].fillna("?")).fillna(0).to_numpy()
    post = np.exp(score - score.max(axis=1, keepdims=True))
    return prior.index, post / post.sum(axis=1, keepdims=True)


def _first_clicks(world: tuple[pd.DataFrame, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    inter, users, _ = world
    first = inter.groupby("user_id").head(1).merge(users, on="user_id")
    return first.iloc[:3000], first.iloc[3000:]


def test_profile_predicts_the_first_click_cluster(world: tuple[pd.DataFrame, ...]) -> None:
    train, test = _first_clicks(world)
    for attr in ATTRS:  # every attribute shifts taste
        table = pd.crosstab(train[attr], train["cluster"])
        assert chi2_contingency(table).pvalue < 1e-6, attr
    clusters, post = _profile_posterior(train, test)
    majority_acc = (test["cluster"] == clusters[0]).mean()
    profile_acc = (clusters.to_numpy()[post.argmax(axis=1)] == test["cluster"].to_numpy()).mean()
    assert profile_acc > 2 * majority_acc and profile_acc - majority_acc > 0.15


def test_profile_beats_popularity_on_the_first_item(world: tuple[pd.DataFrame, ...]) -> None:
    """Zero-shot in miniature: rank all items for a user with no clicks, HIT@10."""
    inter, _, items = world
    train, test = _first_clicks(world)
    clusters, post = _profile_posterior(train, test)
    seen = inter[inter["user_id"].isin(train["user_id"])]
    pop = seen["item_id"].value_counts().reindex(items["item_id"], fill_value=0).to_numpy() + 0.5
    cluster_of = pd.Index(clusters).get_indexer(items["category"])
    assert (cluster_of >= 0).all()
    within = pop / np.bincount(cluster_of, weights=pop)[cluster_of]
    target = test["item_id"].to_numpy() - 1

    def hit10(scores: np.ndarray) -> float:
        above = (scores > scores[np.arange(len(scores)), target][:, None]).sum(axis=1)
        return float((above < 10).mean())

    popularity = hit10(np.tile(pop, (len(test), 1)))
    profile = hit10(post[:, cluster_of] * within)
    assert profile > 1.4 * popularity and profile - popularity > 0.08


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_users": 0},
        {"n_items": -1},
        {"n_users": 2.5},
        {"mean_len": 0.5},
        {"seed": -1},
        {"fmt": "xlsx"},
        {"chunk_users": 0},
        {"mean_len": float("nan")},
        {"domains": 3},
        {"domains": 2, "n_items": 79},
    ],
)
def test_bad_arguments_are_input_errors(tmp_path: Path, kwargs: dict) -> None:
    args = {"n_users": 10, "n_items": 10, **kwargs}
    with pytest.raises(InputError):
        generate(tmp_path / "out", **args)
    assert not (tmp_path / "out").exists()


def test_cli_synth_end_to_end(run_cli, home: Path) -> None:
    from ppr.data.store import Store

    rc, out, err = run_cli("data", "synth", "tiny", "--users", "120", "--items", "60", "--mean-len", "8")
    assert rc == 0, err
    assert out.startswith("tiny@v1: 120 users")
    assert "generated 120/120 users" in err
    ds = Store(home).open("tiny")
    assert ds.n_users == 120 and [a["name"] for a in ds.attributes] == ATTRS
    assert ds.manifest["counts"]["interactions"] == len(ds.interactions())
    raw = pd.read_parquet(generate(home.parent / "raw", 120, 60, mean_len=8, seed=0)["interactions"])
    offsets, items = ds.sequences()  # the store keeps every user's clicks in generated order, ties too
    item_id = pd.Series(ds.items()["item_id"].astype(int).to_numpy(), index=ds.items()["item"])
    user_id = pd.Series(ds.users()["user_id"].astype(int).to_numpy(), index=ds.users()["user"])
    stored = user_id[np.repeat(np.arange(ds.n_users), np.diff(offsets))].to_numpy(), item_id[items].to_numpy()
    by_user = raw.sort_values("user_id", kind="stable")
    assert np.array_equal(stored[0], by_user["user_id"]) and np.array_equal(stored[1], by_user["item_id"])
    rc, _, err = run_cli("data", "synth", "tiny", "--users", "120", "--items", "60", "--if-exists", "refuse")
    assert rc == 2 and "tiny" in err
    rc, _, err = run_cli("data", "synth", "other", "--users", "0", "--items", "60")
    assert rc == 2 and "--users" in err
    assert Store(home).names() == ["tiny"] and Store(home).versions("tiny") == [1]


# ---- two domains (cross-domain recommendation)


@pytest.fixture(scope="module")
def two_domains(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """3000 users, 800 items (20 clusters: 10 per domain), clicks with their cluster and domain."""
    paths = generate(tmp_path_factory.mktemp("xd"), 3000, 800, mean_len=20, seed=1, domains=2)
    inter, users, items = _read(paths)
    for col in ("category", "domain"):
        inter[col] = inter["item_id"].map(dict(zip(items["item_id"], items[col], strict=True)))
    return inter, users, items


def test_two_domains_alternate_by_cluster_and_one_domain_is_unchanged(tmp_path: Path, two_domains) -> None:
    _, _, items = two_domains
    cluster = items["category"].str.removeprefix("cluster ").astype(int)
    assert (items["domain"] == np.where(cluster % 2, "target", "source")).all()
    one = generate(tmp_path / "one", 300, 200, mean_len=12, seed=5)
    default = generate(tmp_path / "default", 300, 200, mean_len=12, seed=5, domains=1)
    assert all(one[r].read_bytes() == default[r].read_bytes() for r in one)
    assert "domain" not in pd.read_parquet(one["items"]).columns


def test_a_users_taste_carries_over_to_the_twin_cluster_of_the_other_domain(two_domains) -> None:
    """The share of a user's source clicks in cluster 2j predicts the share of their target clicks in its twin
    2j+1, far better than in another target cluster: the planted transferable signal."""
    inter, _, _ = two_domains
    inter = inter.assign(cluster=inter["category"].str.removeprefix("cluster ").astype(int))
    share = inter.groupby(["domain", "user_id"])["cluster"].value_counts(normalize=True).unstack(fill_value=0.0)
    users = share.loc["source"].index.intersection(share.loc["target"].index)
    source, target = share.loc["source"].loc[users], share.loc["target"].loc[users]

    def corr(shift: int) -> float:
        a = np.concatenate([source[2 * j] for j in range(10)])
        b = np.concatenate([target[2 * ((j + shift) % 10) + 1] for j in range(10)])
        return float(np.corrcoef(a, b)[0, 1])

    twin, other = corr(0), corr(1)
    assert twin > 0.3 and twin > other + 0.3, (twin, other)  # measured 0.38 and -0.04
