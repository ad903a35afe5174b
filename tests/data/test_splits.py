"""The cold-start split: no leaks, sound negatives, seeded, stored, and the helpers around it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _split_fixtures import write_dataset

from ppr.data.negatives import sample_negatives
from ppr.data.splits import (
    ROLE_NONE,
    ROLE_TEST,
    ROLE_TUNE,
    ROLE_VAL,
    ROLE_WARM,
    SplitSpec,
    crop_k_shot,
    history_window,
    list_splits,
    load_split,
    make_split,
    noisy_codes,
    restricted,
)
from ppr.errors import InputError


def _lengths(n_warm: int, n_cold: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.integers(10, 40, n_warm), rng.integers(1, 10, n_cold)])


@pytest.fixture
def mixed(home: Path):
    """Naturally cold users plus two users without clicks; auto mode simulates nobody here."""
    return write_dataset(home, np.concatenate([_lengths(300, 700), [0, 0]]), n_items=400, repeat_share=0.1)


@pytest.fixture
def all_warm(home: Path):
    """Every user warm (like MovieLens): auto mode must simulate cold users."""
    return write_dataset(home, _lengths(1000, 0), n_items=400, name="warm", repeat_share=0.1)


def _full(ds) -> tuple[np.ndarray, np.ndarray]:
    return ds.sequences()


def test_roles_are_disjoint_and_test_users_never_train(mixed) -> None:
    split = make_split(mixed, SplitSpec(seed=0))
    roles = split.roles
    lengths = np.diff(_full(mixed)[0])
    assert set(np.unique(roles)) == {ROLE_NONE, ROLE_WARM, ROLE_TUNE, ROLE_VAL, ROLE_TEST}
    assert (roles[lengths == 0] == ROLE_NONE).all()
    assert (roles[lengths >= 10] == ROLE_WARM).all()  # no simulation here
    assert (roles[(lengths > 0) & (lengths < 10)] >= ROLE_TUNE).all()
    t = split.targets
    # Every target belongs to a user of its own group: test targets only come from test users,
    # who are neither warm (backbone training) nor tuning users.
    expected = {"warm_val": ROLE_WARM, "warm_test": ROLE_WARM, "val": ROLE_VAL, "test": ROLE_TEST}
    for group, role in expected.items():
        users = t.loc[t["group"] == group, "user"].to_numpy()
        assert len(users) > 0 and (roles[users] == role).all(), group
    test_users = set(split.users_in(ROLE_TEST))
    training = set(split.users_in(ROLE_WARM)) | set(split.users_in(ROLE_TUNE))
    assert test_users and not (test_users & training)
    assert not (set(split.users_in(ROLE_VAL)) & (test_users | training))


def test_targets_follow_the_protocol(mixed) -> None:
    split = make_split(mixed, SplitSpec(seed=0))
    t = split.targets
    ids = t["target_id"].to_numpy()
    assert (np.diff(ids) > 0).all() and ids.max() < len(split.negatives)  # a fold's view of the stored targets
    assert (t["item"].to_numpy() == split.items[split.offsets[t["user"]] + t["pos"]]).all()
    lengths = split.lengths()
    for role, group in ((ROLE_VAL, "val"), (ROLE_TEST, "test")):
        rows = t[t["group"] == group]
        users = split.users_in(role)
        assert len(rows) == lengths[users].sum()  # every click of every cold eval user
        assert set(rows.loc[rows["kind"] == "zero", "user"]) == set(users)
        assert (rows.loc[rows["kind"] == "zero", "pos"] == 0).all()
        assert (rows.loc[rows["kind"] == "few", "pos"] >= 1).all()
    warm = split.users_in(ROLE_WARM)
    wt = t[t["group"] == "warm_test"].set_index("user")["pos"]
    assert (wt.loc[warm].to_numpy() == lengths[warm] - 1).all()
    wv = t[t["group"] == "warm_val"].set_index("user")["pos"]
    assert (wv.loc[warm].to_numpy() == lengths[warm] - 2).all()
    assert set(t.loc[t["group"].str.startswith("warm"), "kind"]) == {"few"}
    assert not (t["user"].isin(split.users_in(ROLE_TUNE))).any()


def test_warm_val_needs_three_clicks(home: Path) -> None:
    ds = write_dataset(home, [2, 2, 3, 5, 1], n_items=300)
    split = make_split(ds, SplitSpec(cold_threshold=2, simulate_cold=0, test_frac=0.0, val_frac=0.0))
    t = split.targets
    assert sorted(t.loc[t["group"] == "warm_val", "user"]) == [2, 3]
    assert sorted(t.loc[t["group"] == "warm_test", "user"]) == [0, 1, 2, 3]


def test_negatives_are_unclicked_in_full_history_and_distinct(all_warm) -> None:
    split = make_split(all_warm, SplitSpec(seed=2))
    assert split.simulated.sum() > 0  # cropped users: clicks after the crop must still be excluded
    offsets, items = _full(all_warm)
    neg = split.negatives[split.targets["target_id"].to_numpy()]
    assert neg.dtype == np.int32 and neg.shape == (len(split.targets), 99)
    assert neg.min() >= 1 and neg.max() <= all_warm.n_items
    srt = np.sort(neg, axis=1)
    assert (srt[:, 1:] != srt[:, :-1]).all()
    users = split.targets["user"].to_numpy()
    clicked = np.zeros((all_warm.n_users, all_warm.n_items + 1), dtype=bool)
    clicked[np.repeat(np.arange(all_warm.n_users), np.diff(offsets)), items] = True
    assert not clicked[users[:, None], neg].any()
    # positives are clicked, so they can never be among their own negatives
    assert not (neg == split.targets["item"].to_numpy()[:, None]).any()


def test_sampler_handles_crowded_users_and_is_uniform() -> None:
    # user 0 clicked 95 of 100 items: only 5 remain (exact path); user 1 clicked 60 (bulk rounds)
    rng = np.random.default_rng(0)
    u0 = rng.permutation(np.arange(1, 101))[:95]
    u1 = rng.permutation(np.arange(1, 101))[:60]
    items = np.concatenate([u0, u1]).astype(np.int32)
    offsets = np.array([0, 95, 155], dtype=np.int64)
    rows = np.array([0] * 3 + [1] * 4000)
    neg = sample_negatives(offsets, items, 100, rows, 5, seed=1)
    free0 = sorted(set(range(1, 101)) - set(u0))
    assert all(sorted(r) == free0 for r in neg[:3])
    free1 = np.array(sorted(set(range(1, 101)) - set(u1)))
    assert np.isin(neg[3:], free1).all()
    counts = np.bincount(neg[3:].ravel(), minlength=101)[free1]
    expected = 4000 * 5 / len(free1)  # 500 per free item
    assert np.abs(counts - expected).max() < 0.2 * expected
    with pytest.raises(InputError, match="user 0"):
        sample_negatives(offsets, items, 100, rows, 6, seed=1)


def test_too_few_unclicked_items_names_the_user(home: Path) -> None:
    ds = write_dataset(home, [30] * 20 + [180], n_items=200, seed=4)
    with pytest.raises(InputError, match=r"user 20 \(original id 'u20'\).*never-clicked"):
        make_split(ds, SplitSpec(simulate_cold=0))
    assert list_splits(ds) == []  # nothing half-written


def test_same_seed_same_bytes_other_seed_other_split(tmp_path: Path) -> None:
    lengths = _lengths(200, 200)
    a = make_split(write_dataset(tmp_path / "a", lengths, 300), SplitSpec(seed=5))
    b = make_split(write_dataset(tmp_path / "b", lengths, 300), SplitSpec(seed=5))
    assert a.id == b.id
    for name in ("negatives.npy", "offsets.npy", "items.npy", "users.parquet"):
        assert (a.path / name).read_bytes() == (b.path / name).read_bytes(), name
    pd.testing.assert_frame_equal(a.targets, b.targets)
    c = make_split(write_dataset(tmp_path / "c", lengths, 300), SplitSpec(seed=6))
    assert c.id != a.id
    assert not np.array_equal(c.roles, a.roles)
    assert not np.array_equal(c.negatives[:10], a.negatives[:10])


def test_stored_split_is_loaded_not_recomputed(mixed) -> None:
    first = make_split(mixed, SplitSpec(seed=0))
    stamp = (first.path / "split.json").read_text()
    again = make_split(mixed, SplitSpec(seed=0), log=lambda m: None)
    assert (again.path / "split.json").read_text() == stamp
    loaded = load_split(mixed, first.id)
    assert np.array_equal(loaded.negatives, first.negatives)
    assert loaded.config == SplitSpec(seed=0)
    info = json.loads(stamp)
    assert info["dataset_content_hash"] == mixed.content_hash and info["counts"] == first.counts()
    assert list_splits(mixed) == [first.id]
    with pytest.raises(InputError, match="no split"):
        load_split(mixed, "nope")
    near = SplitSpec(seed=0, test_frac=0.2000001)  # same readable id, other settings
    assert near.split_id == first.id
    with pytest.raises(InputError, match="holds settings"):
        make_split(mixed, near)


def test_sequences_keep_store_time_order(mixed) -> None:
    split = make_split(mixed, SplitSpec(seed=0))
    inter = mixed.interactions()
    for u in [*split.users_in(ROLE_WARM)[:5], *split.users_in(ROLE_TEST)[:5]]:
        file_order = inter.loc[inter["user"] == u, "item"].to_numpy()  # ties included, file order
        assert np.array_equal(split.seq(u), file_order)


def test_simulated_cold_users_keep_a_short_prefix(all_warm) -> None:
    split = make_split(all_warm, SplitSpec(seed=0))  # auto: no natural cold -> simulate 0.2
    assert split.info["simulate_cold_resolved"] == 0.2
    sim = np.flatnonzero(split.simulated)
    assert len(sim) == 200 and (split.roles[sim] >= ROLE_TUNE).all()
    offsets, items = _full(all_warm)
    kept = split.lengths()[sim]
    assert kept.min() >= 1 and kept.max() <= 9 and len(np.unique(kept)) > 5
    for u in sim:
        full = items[offsets[u] : offsets[u + 1]]
        assert np.array_equal(split.seq(u), full[: len(split.seq(u))])
    assert split.counts()["cold_simulated"] == 200 and split.counts()["cold_natural"] == 0
    none = make_split(all_warm, SplitSpec(seed=0, simulate_cold=0))
    assert none.simulated.sum() == 0 and (none.roles == ROLE_WARM).all()


def test_auto_mode_does_not_simulate_when_enough_users_are_cold(mixed) -> None:
    split = make_split(mixed, SplitSpec())
    assert split.info["simulate_cold_resolved"] == 0.0 and split.simulated.sum() == 0


def test_role_shares(home: Path) -> None:
    ds = write_dataset(home, _lengths(100, 2000), n_items=300)
    counts = make_split(ds, SplitSpec(seed=3, simulate_cold=0)).counts()["users"]
    assert (counts["test"], counts["val"], counts["tune"]) == (400, 200, 1400)
    counts = make_split(ds, SplitSpec(seed=3, simulate_cold=0, test_frac=0.3, val_frac=0.05)).counts()["users"]
    assert (counts["test"], counts["val"], counts["tune"]) == (600, 100, 1300)


def test_a_split_restricted_to_some_users_keeps_their_roles_clicks_and_targets(mixed) -> None:
    split = make_split(mixed, SplitSpec())
    users = np.sort(np.random.default_rng(0).choice(split.n_users, 150, replace=False))
    part = restricted(split, users)
    assert part.n_users == 150 and np.array_equal(part.roles, split.roles[users])
    assert all(np.array_equal(part.seq(i), split.seq(u)) for i, u in enumerate(users))
    kept = split.targets[split.targets["user"].isin(users)].reset_index(drop=True)
    assert np.array_equal(users[part.targets["user"]], kept["user"])  # renumbered in the order of `users`
    assert part.targets.drop(columns="user").equals(kept.drop(columns="user"))  # target ids (negatives' rows) kept
    assert np.array_equal(part.items[part.offsets[part.targets["user"]] + part.targets["pos"]], part.targets["item"])


def test_crop_k_shot() -> None:
    offsets = np.array([0, 5, 7, 7, 12], dtype=np.int64)
    items = np.arange(1, 13, dtype=np.int32)
    new_off, new_items = crop_k_shot(offsets, items, np.array([0, 2, 3]), 3)
    lengths = np.diff(new_off)
    assert lengths.tolist() == [3, 2, 0, 3]
    assert new_items.tolist() == [1, 2, 3, 6, 7, 8, 9, 10]  # user 1 untouched, others keep a prefix
    mask = np.array([False, True, False, False])
    assert np.diff(crop_k_shot(offsets, items, mask, 1)[0]).tolist() == [5, 1, 0, 5]
    same_off, same_items = crop_k_shot(offsets, items, np.array([0]), None)
    assert np.array_equal(same_off, offsets) and np.array_equal(same_items, items)
    assert np.diff(crop_k_shot(offsets, items, np.array([0, 3]), 0)[0]).tolist() == [0, 2, 0, 0]


def test_history_window() -> None:
    pos = np.array([0, 1, 3, 10])
    assert history_window(pos, 3).tolist() == [0, 0, 0, 7]
    assert history_window(pos, None).tolist() == [0, 0, 0, 0]
    assert history_window(pos, 0).tolist() == [0, 1, 3, 10]  # zero-shot: empty history


def test_noisy_codes_rate_and_values() -> None:
    cards = [2, 7, 1, 21]
    rng = np.random.default_rng(0)
    codes = rng.integers(0, cards, size=(20_000, 4))
    noisy = noisy_codes(codes, cards, 0.3, seed=9)
    changed = noisy != codes
    assert changed[:, 2].sum() == 0  # one-valued attribute cannot change
    for j in (0, 1, 3):
        assert abs(changed[:, j].mean() - 0.3) < 0.02
    assert (noisy >= 0).all() and (noisy < np.array(cards)).all()
    # replacements are uniform over the other values: code 0 of the 7-valued attribute goes to 1..6 evenly
    moved = noisy[changed[:, 1] & (codes[:, 1] == 0), 1]
    share = np.bincount(moved, minlength=7)[1:] / len(moved)
    assert np.abs(share - 1 / 6).max() < 0.06
    assert np.array_equal(noisy, noisy_codes(codes, cards, 0.3, seed=9))
    users = np.arange(0, 20_000, 2)
    part = noisy_codes(codes, cards, 0.3, seed=9, users=users)
    assert np.array_equal(part[1::2], codes[1::2]) and np.array_equal(part[users], noisy[users])
    assert np.array_equal(noisy_codes(codes, cards, 0.0, seed=9), codes)
    with pytest.raises(InputError):
        noisy_codes(codes, cards, 1.5, seed=9)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cold_threshold": 1},
        {"test_frac": 1.0},
        {"val_frac": -0.1},
        {"simulate_cold": 1.0},
        {"test_frac": 0.6, "val_frac": 0.4},
        {"n_negatives": 0},
        {"seed": -1},
    ],
)
def test_invalid_settings(kwargs: dict) -> None:
    with pytest.raises(InputError):
        SplitSpec(**kwargs)


def test_cli_json_and_errors(run_cli, mixed) -> None:
    rc, out, _ = run_cli("data", "split", "toy", "--split-seed", "4", "--json")
    assert rc == 0
    report = json.loads(out)
    split = load_split(mixed, report["split_id"])
    assert report["split_id"] == "s4-t10-cauto-fauto-test0.2-val0.1-neg99"
    assert Path(report["path"]) == split.path
    assert report["users"] == split.counts()["users"] and report["users"]["test"] == 140
    assert sum(report["targets"].values()) == report["n_targets"] == len(split.targets)
    assert report["cold_natural"] == 700 and report["cold_simulated"] == 0
    rc, out, _ = run_cli("data", "split", "toy", "--split-seed", "4")
    assert rc == 0 and "targets test/zero" in out and "140" in out
    for bad in (["--cold-threshold", "1"], ["--simulate-cold", "lots"], ["--test-frac", "1.2"]):
        rc, _, err = run_cli("data", "split", "toy", *bad)
        assert rc == 2 and "error:" in err, bad
    assert list_splits(mixed) == [report["split_id"]]
    rc, _, err = run_cli("data", "split", "missing")
    assert rc == 2 and "No dataset" in err


def test_every_cold_user_is_tested_in_exactly_one_fold(mixed) -> None:
    cfg = SplitSpec(seed=1)
    first = make_split(mixed, cfg)
    assert first.folds == 5  # 700 cold users: auto gives 5 folds
    tested: list[int] = []
    for fold in range(first.folds):
        split = load_split(mixed, first.id, fold)
        test, val = set(split.users_in(ROLE_TEST)), set(split.users_in(ROLE_VAL))
        assert len(test) == 140 and len(val) == 70 and not (test & val)  # one fold; val_frac of all cold users
        assert set(split.targets.loc[split.targets["group"] == "test", "user"]) == test
        assert set(split.targets.loc[split.targets["group"] == "val", "user"]) == val
        assert np.array_equal(split.users_in(ROLE_WARM), first.users_in(ROLE_WARM))  # warm-training: one for all
        warm = split.targets[split.targets["group"].str.startswith("warm")]
        assert warm.equals(first.targets[first.targets["group"].str.startswith("warm")])
        assert split.negatives is not None and split.negatives.shape == first.negatives.shape
        tested += sorted(test)
    cold = np.flatnonzero(first.roles > ROLE_WARM)
    assert sorted(tested) == sorted(cold.tolist())  # each cold user tested once over the folds


def test_one_fold_uses_test_frac_and_folds_are_checked(home: Path) -> None:
    ds = write_dataset(home, _lengths(100, 300), n_items=300)
    split = make_split(ds, SplitSpec(seed=3, simulate_cold=0, folds=1, test_frac=0.3))
    assert split.folds == 1 and split.counts()["users"]["test"] == 90
    with pytest.raises(InputError, match="Fold 1 does not exist"):
        load_split(ds, split.id, 1)
    with pytest.raises(InputError, match="folds"):
        SplitSpec(folds=2, val_frac=0.5)
    assert make_split(ds, SplitSpec(seed=3, simulate_cold=0, folds=3)).folds == 3


SHARED_ML100K = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "ml-100k"


@pytest.mark.skipif(not SHARED_ML100K.is_dir(), reason="shared ml-100k copy not present")
def test_ml100k_defaults_test_every_cold_user(home: Path) -> None:
    """The default split of ml-100k (every user has 20+ ratings: 20% simulated cold) has five folds that together
    give a zero-shot test target for each of its cold users (at least 180)."""
    from ppr.data.importers import import_dataset
    from ppr.data.store import Store

    ds = import_dataset(
        Store(home),
        "ml",
        SHARED_ML100K / "ml-100k.inter",
        SHARED_ML100K / "ml-100k.user",
        SHARED_ML100K / "ml-100k.item",
    )
    first = make_split(ds, SplitSpec())
    zero = sum(
        int(((s.targets["group"] == "test") & (s.targets["kind"] == "zero")).sum())
        for s in (load_split(ds, first.id, f) for f in range(first.folds))
    )
    assert first.folds == 5 and zero == int((first.roles > ROLE_WARM).sum()) >= 180


# ---- cross-domain splits (SplitSpec.target_domain)


def test_a_cross_domain_split_tests_users_cold_in_the_target_domain(home: Path) -> None:
    from _domains import planted_domains

    from ppr.data.domains import split_by_domain

    ds = planted_domains(home)
    cfg = SplitSpec(target_domain="target", folds=1, n_negatives=20)  # the target domain has 50 items
    split = make_split(ds, cfg)
    assert (
        split.id == f"{SplitSpec(folds=1, n_negatives=20).split_id}-dtarget"
        and split.info["config"]["target_domain"] == "target"
    )
    offsets, items = ds.sequences()
    (t_off, t_items), (s_off, s_items) = split_by_domain(offsets, items, split.pool)
    both = (np.diff(t_off) > 0) & (np.diff(s_off) > 0)
    assert (split.roles[~both] == ROLE_NONE).all() and (split.roles[both] != ROLE_NONE).all()
    assert split.pool[split.items].all() and not split.pool[split.source[1]].any()  # clicks parted by domain
    assert np.array_equal(split.source[0], s_off) and np.array_equal(split.source[1], s_items)
    lengths = np.diff(t_off)
    assert (split.roles[both & (lengths >= 10)] == ROLE_WARM).all()  # warm = warm in the target domain
    groups = split.targets.groupby("group")
    target = split.targets[split.targets["group"].isin(["test", "val", "warm_val", "warm_test"])]
    negatives = split.negatives[target["target_id"].to_numpy()]
    assert split.pool[target["item"]].all() and split.pool[negatives].all()
    source = split.targets[split.targets["group"].isin(["source_val", "source_test"])]
    assert not split.pool[source["item"]].any() and not split.pool[split.negatives[source["target_id"]]].any()
    assert set(groups.groups) == {"warm_val", "warm_test", "val", "test", "source_val", "source_test"}
    for row, user in zip(split.negatives[split.targets["target_id"]], split.targets["user"], strict=True):
        assert not set(row) & set(items[offsets[user] : offsets[user + 1]])  # never clicked, in any domain


def test_the_source_view_is_what_warm_training_reads(home: Path) -> None:
    from _domains import planted_domains

    from ppr.data.splits import SOURCE_WARM, source_view

    split = make_split(planted_domains(home), SplitSpec(target_domain="target", folds=1, n_negatives=20))
    view = source_view(split)
    lengths = np.diff(split.source[0])
    assert np.array_equal(view.roles == ROLE_WARM, lengths >= SOURCE_WARM) and set(np.unique(view.roles)) <= {-1, 0}
    assert (
        view.offsets is split.source[0] and view.source is None and view.pool[1:].tolist() == (~split.pool[1:]).tolist()
    )
    assert not view.pool[0] and set(view.targets["group"]) == {"warm_val", "warm_test"}
    test = view.targets[view.targets["group"] == "warm_test"]
    assert (test["pos"].to_numpy() == lengths[test["user"]] - 1).all()
    assert (view.items[view.offsets[test["user"]] + test["pos"]] == test["item"]).all()
    one = make_split(planted_domains(home / "b"), SplitSpec(n_negatives=20))
    assert source_view(one) is one


def test_a_cross_domain_split_is_stored_planned_and_counted_alike(home: Path) -> None:
    from _domains import planted_domains

    from ppr.data.splits import fold_count, planned_split

    ds = planted_domains(home)
    cfg = SplitSpec(target_domain="target", n_negatives=20)
    planned = planned_split(ds, cfg, fold=2)
    split = make_split(ds, cfg, fold=2)
    again = load_split(ds, cfg.split_id, fold=2)
    assert fold_count(ds, cfg) == split.folds == planned.folds == 5
    for other in (planned, again):
        assert np.array_equal(other.roles, split.roles) and np.array_equal(other.pool, split.pool)
        assert all(np.array_equal(a, b) for a, b in zip(other.source, split.source, strict=True))
        assert other.targets[["user", "group", "pos", "item"]].equals(split.targets[["user", "group", "pos", "item"]])
    assert np.array_equal(again.negatives, split.negatives)
    assert split.counts()["targets"]["source_test/few"] == int((np.diff(split.source[0]) >= 3).sum())


def test_a_target_domain_the_dataset_lacks_is_an_input_error(home: Path, mixed) -> None:
    with pytest.raises(InputError, match="declares no item domains"):
        make_split(mixed, SplitSpec(target_domain="target"))
    assert list_splits(mixed) == []
