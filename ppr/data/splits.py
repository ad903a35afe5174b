"""The cold-start split (docs/protocol.md), computed once, seeded and stored.

Warm users (>= cold_threshold clicks) train the backbone; cold users (fewer clicks,
natural or simulated by cropping warm users to their first c clicks) are dealt by user
into F folds. Fold f of a split is one view of it: fold f's users are the test users, a
seeded validation share of the others decides early stopping, the rest tune; over the F
folds every cold user is tested exactly once (F = 1: one test part of test_frac). Targets
and their 99 never-clicked negatives are sampled once for every fold and stored, so every
method and fold is scored on identical candidates; the warm users, and so warm-training,
are the same in every fold.

Stored under ``<dataset version>/splits/<split_id>/``, written to a staging folder
and renamed into place (readers never see half a split)::

    split.json        config, id, resolved folds and simulate share, counts, dataset hash, created_at
    users.parquet     user, base (none/warm/cold), fold (-1: never tested), val_order, n_clicks, n_kept, simulated
    offsets.npy       int64 (U+1)  CSR of every user's clicks after the cold crop
    items.npy         int32
    targets.parquet   target_id, user, group (warm_val, warm_test, cold), kind, pos, item
    negatives.npy     int32 (n_targets, n_negatives)

Cross-domain (SplitSpec.target_domain = D, items with domains: ppr.data.domains): the roles, folds, crop and
targets above are those of the target domain, over the users who clicked in both D and the other (source) items;
every click and candidate of a target is an item of D. The source domain's clicks of every user are kept
beside them, with a leave-two-out of users with at least three (groups source_val, source_test, candidates from
the source items): `source_view` is the split warm-training reads. Three more files hold them:

    pool.npy          bool (I+1): the target domain's items
    source_offsets.npy, source_items.npy   CSR of every user's source-domain clicks

Arrays are plain .npy read with allow_pickle=False: no pickle anywhere.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ppr.data.domains import check_shared, shared_users, split_by_domain, target_pool
from ppr.data.negatives import check_negatives, sample_negatives
from ppr.data.store import Dataset
from ppr.errors import InputError
from ppr.io import atomic_write_json, read_json, staged_dir
from ppr.log import Log
from ppr.spec.run import SplitSpec

ROLE_NONE, ROLE_WARM, ROLE_TUNE, ROLE_VAL, ROLE_TEST = -1, 0, 1, 2, 3
ROLE_NAMES = {ROLE_NONE: "none", ROLE_WARM: "warm", ROLE_TUNE: "tune", ROLE_VAL: "val", ROLE_TEST: "test"}
GROUPS = ("warm_val", "warm_test", "val", "test")
SOURCE_GROUPS = ("source_val", "source_test")  # cross-domain: the source domain's leave-two-out (warm-training's)
SOURCE_WARM = 3  # source clicks a user needs to warm-train in a cross-domain split (two are held out)
KINDS = ("zero", "few")
AUTO_COLD_SHARE = 0.05  # below this share of naturally cold users, auto mode simulates
AUTO_SIMULATE = 0.2  # ... this share of warm users as cold
AUTO_FOLDS, AUTO_FOLDS_BELOW = 5, 2000  # auto folds: 5 when fewer cold users than this (every one tested), else 1
_FORMAT_VERSION = 2
_DOMAIN_ARRAYS = ("pool", "source_offsets", "source_items")  # stored by a cross-domain split only
_BASE_NONE, _BASE_WARM, _BASE_COLD = -1, 0, 1


@dataclass(frozen=True, eq=False)
class Split:
    """A loaded split; arrays are indexed by user id (0..U-1) or target_id."""

    config: SplitSpec
    id: str
    path: Path
    roles: np.ndarray  # int8 per user, in this fold
    simulated: np.ndarray  # bool per user: cropped to simulate a cold user
    offsets: np.ndarray  # int64 (U+1), after the cold crop
    items: np.ndarray  # int32
    targets: pd.DataFrame
    negatives: np.ndarray  # int32 (n_targets, n_negatives)
    info: dict[str, Any] = field(default_factory=dict)  # split.json
    fold: int = 0
    folds: int = 1
    pool: np.ndarray | None = (
        None  # bool (I+1): the items that may be candidates (cross-domain: the target's); None: all
    )
    source: tuple[np.ndarray, np.ndarray] | None = None  # cross-domain: (offsets, items) of every user's source clicks

    @property
    def n_users(self) -> int:
        return len(self.roles)

    def users_in(self, role: int) -> np.ndarray:
        """Sorted user ids with this role."""
        return np.flatnonzero(self.roles == role)

    def seq(self, user: int) -> np.ndarray:
        """The user's clicks in time order (after the cold crop)."""
        return self.items[self.offsets[user] : self.offsets[user + 1]]

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def counts(self) -> dict[str, Any]:
        return _counts(self.roles, self.simulated, self.targets)


def make_split(ds: Dataset, cfg: SplitSpec = SplitSpec(), log: Log | None = None, fold: int = 0) -> Split:
    """Fold `fold` of the split of `ds` for `cfg`, computed and stored first if it is not stored yet."""
    log = log or (lambda msg: None)
    final = splits_dir(ds) / cfg.split_id
    if (final / "split.json").is_file():
        log(f"split {cfg.split_id} already stored; loading fold {fold}")
        return _load_matching(ds, cfg, fold)
    log(f"reading sequences of {ds.ref}")
    offsets, items = ds.sequences()
    pool = domain_pool(ds, cfg, offsets, items)
    arrays = _compute(offsets, items, ds.n_items, cfg, log, _user_describer(ds), pool)  # outside the lock: no wait
    with ds.locked(log=log):  # import, split and rm of one name take turns
        ds.check_present()  # removed meanwhile: say so, re-create nothing under it
        if not (final / "split.json").is_file():  # an identical split may have won meanwhile
            with staged_dir(final) as stage:
                _write(stage, ds, cfg, arrays)
            log(f"stored split at {final}")
    return _load_matching(ds, cfg, fold)


def planned_split(ds: Dataset, cfg: SplitSpec, fold: int = 0) -> Split:
    """The stored split's fold, else the same roles, crop and targets computed in memory without negatives
    (nothing is written; cheap: run-time estimates and sweep plans use it). InputError when the split cannot be
    made (too few items for its negatives)."""
    if (splits_dir(ds) / cfg.split_id / "split.json").is_file():
        return load_split(ds, cfg.split_id, fold)
    offsets, items = ds.sequences()
    pool = domain_pool(ds, cfg, offsets, items)
    lay = layout(offsets, items, cfg, pool)
    for users, where in _negative_rows(lay["targets"], pool):
        check_negatives(offsets, items, ds.n_items, users, cfg.n_negatives, pool=where)
    negatives = np.zeros((len(lay["targets"]), 0), np.int32)
    info = {"folds": lay["folds"], "simulate_cold_resolved": lay["share"]}
    return _fold_view(cfg, splits_dir(ds) / cfg.split_id, lay, negatives, info, fold)


def domain_pool(ds: Dataset, cfg: SplitSpec, offsets: np.ndarray, items: np.ndarray) -> np.ndarray | None:
    """The target domain's items of a cross-domain split (checked to leave enough users who clicked in both
    domains); None for a split of one domain."""
    if cfg.target_domain is None:
        return None
    pool = target_pool(ds, cfg.target_domain)
    check_shared(ds, pool, cfg.target_domain, shared_users(offsets, items, pool))
    return pool


def source_view(split: Split) -> Split:
    """What warm-training reads of a cross-domain split: every user's source-domain clicks, users with at least
    SOURCE_WARM of them warm, their last two held out (as groups warm_val and warm_test), candidates among the
    source items. A split of one domain is its own view."""
    if split.source is None:
        return split
    offsets, items = split.source
    roles = np.where(np.diff(offsets) >= SOURCE_WARM, ROLE_WARM, ROLE_NONE).astype(np.int8)
    tg = split.targets[split.targets["group"].isin(SOURCE_GROUPS)].copy()
    tg["group"] = tg["group"].map(dict(zip(SOURCE_GROUPS, ("warm_val", "warm_test"), strict=True)))
    pool = ~split.pool
    pool[0] = False
    return dataclasses.replace(
        split,
        roles=roles,
        simulated=np.zeros(len(roles), dtype=bool),
        offsets=offsets,
        items=items,
        targets=tg.reset_index(drop=True),
        pool=pool,
        source=None,
    )


def _load_matching(ds: Dataset, cfg: SplitSpec, fold: int) -> Split:
    split = load_split(ds, cfg.split_id, fold)
    if split.config != cfg:  # ids round fractions to 6 digits: never hand back other settings
        raise InputError(
            f"Split folder {split.path} holds settings {split.config}, not the requested {cfg}; "
            "use fractions with at most 6 significant digits."
        )
    return split


def splits_dir(ds: Dataset) -> Path:
    return ds.path / "splits"


def list_splits(ds: Dataset) -> list[str]:
    folder = splits_dir(ds)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / "split.json").is_file())


def load_split(ds: Dataset, split_id: str, fold: int = 0) -> Split:
    """Fold `fold` of a stored split."""
    folder = splits_dir(ds) / split_id
    if "/" in split_id or split_id.startswith(".") or not (folder / "split.json").is_file():
        known = ", ".join(list_splits(ds)) or "none yet"
        raise InputError(
            f"Dataset {ds.ref} has no split {split_id!r} under {splits_dir(ds)} (known: {known}). "
            "Make one with `python -m ppr data split NAME`."
        )
    try:
        return _read_split(ds, folder, fold)
    except OSError:
        ds.check_present()  # a removed version reads as removed, not as a missing file
        raise


def _read_split(ds: Dataset, folder: Path, fold: int) -> Split:
    info = read_json(folder / "split.json")
    if info.get("format_version") != _FORMAT_VERSION:
        raise InputError(
            f"Split {folder} was stored by an older version of the workbench (format "
            f"{info.get('format_version')}); remove it (or the dataset's splits folder) to recompute it."
        )
    users = pd.read_parquet(folder / "users.parquet")
    targets = pd.read_parquet(folder / "targets.parquet")
    for col in ("group", "kind"):
        targets[col] = targets[col].astype(str)
    lay = {
        "base": users["base"].to_numpy(np.int8),
        "fold_of": users["fold"].to_numpy(np.int16),
        "val_order": users["val_order"].to_numpy(np.int64),
        "simulated": users["simulated"].to_numpy(bool),
        "offsets": np.load(folder / "offsets.npy", allow_pickle=False),
        "items": np.load(folder / "items.npy", allow_pickle=False),
        "targets": targets,
        "n_val": int(info["n_val"]),
        "folds": int(info["folds"]),
    }
    cfg = SplitSpec(**info["config"])
    if cfg.target_domain is not None:
        lay |= {name: np.load(folder / f"{name}.npy", allow_pickle=False) for name in _DOMAIN_ARRAYS}
    negatives = np.load(folder / "negatives.npy", allow_pickle=False)
    return _fold_view(cfg, folder, lay, negatives, info, fold)


def _fold_view(
    cfg: SplitSpec, path: Path, lay: dict[str, Any], negatives: np.ndarray, info: dict[str, Any], fold: int
) -> Split:
    """The Split as fold `fold` sees it: roles, and the warm targets plus its test and validation users' ones."""
    folds = int(lay["folds"])
    if not 0 <= fold < folds:
        raise InputError(
            f"Fold {fold} does not exist: split {cfg.split_id} has {folds} fold(s), numbered 0 to {folds - 1}."
        )
    roles = fold_roles(lay["base"], lay["fold_of"], lay["val_order"], lay["n_val"], fold)
    tg = lay["targets"]
    cold = (tg["group"] == "cold").to_numpy()
    role = roles[tg["user"].to_numpy()]
    keep = ~cold | (role == ROLE_TEST) | (role == ROLE_VAL)
    tg = tg[keep].copy()
    tg.loc[cold[keep], "group"] = np.where(role[keep][cold[keep]] == ROLE_TEST, "test", "val")
    return Split(
        cfg,
        cfg.split_id,
        path,
        roles,
        lay["simulated"],
        lay["offsets"],
        lay["items"],
        tg.reset_index(drop=True),
        negatives,
        info,
        fold,
        folds,
        lay.get("pool"),
        None if "source_offsets" not in lay else (lay["source_offsets"], lay["source_items"]),
    )


def fold_roles(base: np.ndarray, fold_of: np.ndarray, val_order: np.ndarray, n_val: int, fold: int) -> np.ndarray:
    """Roles in fold `fold`: its users test; the n_val first other cold users in val_order validate; the rest tune."""
    roles = np.where(base == _BASE_WARM, ROLE_WARM, ROLE_NONE).astype(np.int8)
    cold = base == _BASE_COLD
    roles[cold] = ROLE_TUNE
    roles[cold & (fold_of == fold)] = ROLE_TEST
    others = np.flatnonzero(cold & (fold_of != fold))
    roles[others[np.argsort(val_order[others], kind="stable")[:n_val]]] = ROLE_VAL
    return roles


# ----------------------------------------------------------------------------- computing


def _compute(
    offsets: np.ndarray,
    items: np.ndarray,
    n_items: int,
    cfg: SplitSpec,
    log: Log,
    describe_user: Callable[[int], str],
    pool: np.ndarray | None = None,
) -> dict[str, Any]:
    lay = layout(offsets, items, cfg, pool)
    base, simulated, targets = lay["base"], lay["simulated"], lay["targets"]
    domain = "" if pool is None else f" of the target domain {cfg.target_domain!r}"
    log(
        f"{int((base == _BASE_WARM).sum())} warm users, {int((base == _BASE_COLD).sum())} cold users{domain} "
        f"({int(simulated.sum())} simulated) in {lay['folds']} fold(s); sampling {cfg.n_negatives} negatives for "
        f"{len(targets)} targets"
    )
    negatives = np.zeros((len(targets), cfg.n_negatives), dtype=np.int32)
    for purpose, (rows, where) in zip((3, 5), _negative_rows(targets, pool), strict=False):
        negatives[rows.index.to_numpy()] = sample_negatives(
            offsets, items, n_items, rows.to_numpy(), cfg.n_negatives, _seed(cfg, purpose), describe_user, where
        )
    return {**lay, "negatives": negatives}


def _negative_rows(targets: pd.DataFrame, pool: np.ndarray | None) -> list[tuple[pd.Series, np.ndarray | None]]:
    """(the users of a share of the target rows, the items their negatives come from): every row from every item,
    or, cross-domain, the target domain's rows from its items and the source rows from the other items."""
    if pool is None:
        return [(targets["user"], None)]
    source = targets["group"].isin(SOURCE_GROUPS).to_numpy()
    others = ~pool
    others[0] = False
    return [(targets["user"][~source], pool), (targets["user"][source], others)]


def layout(offsets: np.ndarray, items: np.ndarray, cfg: SplitSpec, pool: np.ndarray | None = None) -> dict[str, Any]:
    """Users' base roles and folds, cropped sequences and targets of a split, without negatives (cheap).

    pool (cross-domain): the target domain's items; the layout is that of the target domain's clicks of the users
    who clicked in both domains, with every user's source clicks and the source leave-two-out targets beside it.
    """
    if pool is None:
        return _layout(offsets, items, cfg)
    target, (s_off, s_items) = split_by_domain(offsets, items, pool)
    both = (np.diff(target[0]) > 0) & (np.diff(s_off) > 0)
    lay = _layout(*_crop(*target, np.where(both, np.diff(target[0]), 0)), cfg)
    first = len(lay["targets"])
    targets = pd.concat([lay["targets"], _source_targets(s_off, s_items, first)], ignore_index=True)
    return lay | {"targets": targets, "pool": pool, "source_offsets": s_off, "source_items": s_items}


def _source_targets(offsets: np.ndarray, items: np.ndarray, first_id: int) -> pd.DataFrame:
    """Leave-two-out of the users with at least SOURCE_WARM source clicks: second-to-last source_val, last
    source_test; target ids from `first_id`."""
    users = np.flatnonzero(np.diff(offsets) >= SOURCE_WARM)
    ends = offsets[users + 1]
    user = np.concatenate([users, users]).astype(np.int32)
    at = np.concatenate([ends - 2, ends - 1])
    group = np.repeat(np.asarray(SOURCE_GROUPS), len(users))
    return pd.DataFrame(
        {
            "target_id": first_id + np.arange(len(user), dtype=np.int64),
            "user": user,
            "group": group,
            "kind": "few",
            "pos": (at - offsets[user]).astype(np.int32),
            "item": items[at].astype(np.int32),
        }
    )


def _layout(offsets: np.ndarray, items: np.ndarray, cfg: SplitSpec) -> dict[str, Any]:
    lengths = np.diff(offsets)
    share = _resolve_simulate(lengths, cfg)
    kept, simulated = _simulate_cold(lengths, cfg, share)
    base = np.full(len(lengths), _BASE_NONE, dtype=np.int8)  # users with no clicks take no part
    warm = (lengths >= cfg.cold_threshold) & ~simulated
    base[warm] = _BASE_WARM
    base[(lengths > 0) & ~warm] = _BASE_COLD
    folds = resolved_folds(int((base == _BASE_COLD).sum()), cfg)
    fold_of, val_order, n_val = _deal_folds(base, folds, cfg)
    new_offsets, new_items = _crop(offsets, items, kept)
    scored = np.zeros(len(base), dtype=bool)  # cold users that are tested or validate in some fold
    for f in range(folds):
        scored |= fold_roles(base, fold_of, val_order, n_val, f) >= ROLE_VAL
    targets = _targets(new_offsets, new_items, base, scored)
    return {
        "share": share,
        "lengths": lengths,
        "kept": kept,
        "simulated": simulated,
        "base": base,
        "fold_of": fold_of,
        "val_order": val_order,
        "n_val": n_val,
        "folds": folds,
        "offsets": new_offsets,
        "items": new_items,
        "targets": targets,
    }


def fold_count(ds: Dataset, cfg: SplitSpec) -> int:
    """How many folds the split of `ds` for `cfg` has (stored, else worked out from the click counts alone)."""
    info = splits_dir(ds) / cfg.split_id / "split.json"
    if info.is_file():
        return int(read_json(info)["folds"])
    if cfg.folds is not None:
        return cfg.folds
    if cfg.target_domain is not None:
        offsets, items = ds.sequences()
        return int(layout(offsets, items, cfg, domain_pool(ds, cfg, offsets, items))["folds"])
    lengths = np.diff(ds.sequences()[0])
    _, simulated = _simulate_cold(lengths, cfg, _resolve_simulate(lengths, cfg))
    cold = (lengths > 0) & ~((lengths >= cfg.cold_threshold) & ~simulated)
    return resolved_folds(int(cold.sum()), cfg)


def resolved_folds(n_cold: int, cfg: SplitSpec) -> int:
    """cfg.folds, or auto: AUTO_FOLDS when there are fewer than AUTO_FOLDS_BELOW cold users, else 1."""
    if cfg.folds is not None:
        return cfg.folds
    return AUTO_FOLDS if n_cold < AUTO_FOLDS_BELOW else 1


def _deal_folds(base: np.ndarray, folds: int, cfg: SplitSpec) -> tuple[np.ndarray, np.ndarray, int]:
    """(fold per user, -1 = never tested; validation order per cold user; validation users per fold).

    F > 1: the cold users, shuffled, are cut into F equal folds. F = 1: a test_frac share is fold 0.
    """
    cold = np.flatnonzero(base == _BASE_COLD)
    n = len(cold)
    fold_of = np.full(len(base), -1, dtype=np.int16)
    perm = np.random.default_rng(_seed(cfg, 2)).permutation(cold)
    if folds > 1:
        fold_of[perm] = np.arange(n) * folds // max(n, 1)
    else:
        fold_of[perm[: int(round(cfg.test_frac * n))]] = 0
    val_order = np.full(len(base), -1, dtype=np.int64)
    val_order[np.random.default_rng(_seed(cfg, 4)).permutation(cold)] = np.arange(n)
    return fold_of, val_order, int(round(cfg.val_frac * n))


def _seed(cfg: SplitSpec, purpose: int) -> list[int]:
    """Independent streams per purpose, so changing one step never shifts another."""
    return [cfg.seed, purpose]


def _resolve_simulate(lengths: np.ndarray, cfg: SplitSpec) -> float:
    if cfg.simulate_cold is not None:
        return float(cfg.simulate_cold)
    active = lengths > 0
    natural = (active & (lengths < cfg.cold_threshold)).sum()
    return AUTO_SIMULATE if natural < AUTO_COLD_SHARE * max(int(active.sum()), 1) else 0.0


def _simulate_cold(lengths: np.ndarray, cfg: SplitSpec, share: float) -> tuple[np.ndarray, np.ndarray]:
    """(clicks kept per user, simulated mask): a seeded share of warm users keep their first c clicks."""
    rng = np.random.default_rng(_seed(cfg, 1))
    warm = np.flatnonzero(lengths >= cfg.cold_threshold)
    chosen = np.sort(rng.choice(warm, size=int(round(share * len(warm))), replace=False))
    kept = lengths.copy()
    kept[chosen] = rng.integers(1, cfg.cold_threshold, size=len(chosen))  # c in [1, threshold-1]
    simulated = np.zeros(len(lengths), dtype=bool)
    simulated[chosen] = True
    return kept, simulated


def _crop(offsets: np.ndarray, items: np.ndarray, kept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR of each user's first kept[u] clicks (the arrays themselves when every click is kept)."""
    if np.array_equal(kept, np.diff(offsets)):
        return offsets, items
    return _gather(offsets[:-1], kept, items)


def _gather(starts: np.ndarray, counts: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR of items[starts[i] : starts[i] + counts[i]] for each i."""
    new_offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=new_offsets[1:])
    src = np.repeat(starts - new_offsets[:-1], counts) + np.arange(new_offsets[-1], dtype=np.int64)
    return new_offsets, items[src]


def restricted(split: Split, users: np.ndarray) -> Split:
    """`split` over `users` alone (sorted ids; renumbered 0.. in that order): their roles, clicks and targets
    (target ids kept, so negatives rows still match). A bounded share of a big split to measure on."""
    users = np.asarray(users, dtype=np.int64)
    offsets, items = _gather(split.offsets[users], np.diff(split.offsets)[users], split.items)
    renumber = np.full(split.n_users, -1, dtype=np.int64)
    renumber[users] = np.arange(len(users))
    new_user = renumber[split.targets["user"].to_numpy()]
    keep = new_user >= 0
    targets = split.targets[keep].assign(user=new_user[keep].astype(np.int32)).reset_index(drop=True)
    source = (
        None
        if split.source is None
        else _gather(split.source[0][users], np.diff(split.source[0])[users], split.source[1])
    )
    return dataclasses.replace(
        split,
        roles=split.roles[users],
        simulated=split.simulated[users],
        offsets=offsets,
        items=items,
        targets=targets,
        source=source,
    )


def crop_k_shot(
    offsets: np.ndarray, items: np.ndarray, users: np.ndarray, k: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Keep only the first k clicks of `users` (ids or a bool mask); others unchanged. k None = all."""
    if k is None:
        return offsets, items
    if k < 0:
        raise InputError(f"k-shot setting k={k} is invalid: expected a number of clicks >= 0.")
    lengths = np.diff(offsets)
    kept = lengths.copy()
    kept[users] = np.minimum(lengths[users], k)
    return _crop(offsets, items, kept)


def history_window(pos: np.ndarray, k: int | None) -> np.ndarray:
    """Start of the k-shot history of a target at `pos`: history = seq[start:pos], at most k clicks."""
    pos = np.asarray(pos)
    if k is None:
        return np.zeros_like(pos)
    return np.maximum(pos - k, 0)


def noisy_codes(
    codes: np.ndarray,
    cardinalities: list[int],
    rate: float,
    seed: int,
    users: np.ndarray | None = None,
) -> np.ndarray:
    """Profile noise: each code of `users` (ids or bool mask; None = all) is replaced with
    probability `rate` by a uniformly chosen DIFFERENT code of the same attribute.

    Code 0 ("missing") counts as a value; attributes with one value cannot change.
    Draws cover every user whatever `users` is, so a user's noise does not depend on
    which other users are noised.
    """
    codes = np.asarray(codes)
    cards = np.asarray(cardinalities, dtype=np.int64)
    if codes.ndim != 2 or codes.shape[1] != len(cards):
        raise InputError(
            f"Profile codes of shape {codes.shape} do not match {len(cards)} attribute cardinalities; "
            "expected a (users, attributes) array."
        )
    if not 0 <= rate <= 1:
        raise InputError(f"Profile noise rate {rate!r} is invalid: expected a share in [0, 1].")
    if codes.size and (codes.min() < 0 or (codes >= cards).any()):
        raise InputError("Profile codes fall outside 0..cardinality-1 of their attribute; expected store codes.")
    rng = np.random.default_rng(seed)
    flip = rng.random(codes.shape) < rate
    shift = 1 + np.floor(rng.random(codes.shape) * np.maximum(cards - 1, 1)).astype(np.int64)
    flip &= cards > 1
    if users is not None:
        chosen = np.zeros(len(codes), dtype=bool)
        chosen[users] = True
        flip &= chosen[:, None]
    out = codes.copy()
    out[flip] = ((codes + shift) % cards)[flip]
    return out


def _targets(offsets: np.ndarray, items: np.ndarray, base: np.ndarray, scored: np.ndarray) -> pd.DataFrame:
    """Warm leave-one-out (last = warm_test, second-to-last = warm_val) and every click of a `scored` cold user
    (group 'cold'; each fold calls them test or val); a cold user's first click is a zero-shot target."""
    lengths = np.diff(offsets)
    names = ("warm_val", "warm_test", "cold")
    warm = np.flatnonzero(base == _BASE_WARM)
    has_val = warm[lengths[warm] >= 3]
    cold = np.flatnonzero(scored)
    n = lengths[cold]
    starts = np.cumsum(n, dtype=np.int64) - n
    parts = [
        (has_val, lengths[has_val] - 2, 0),
        (warm, lengths[warm] - 1, 1),
        (np.repeat(cold, n), np.arange(n.sum(), dtype=np.int64) - np.repeat(starts, n), 2),
    ]
    user = np.concatenate([p[0] for p in parts]).astype(np.int32)
    pos = np.concatenate([p[1] for p in parts]).astype(np.int32)
    group = np.concatenate([np.full(len(p[0]), p[2], dtype=np.int8) for p in parts])
    order = np.lexsort((pos, user, group))
    user, pos, group = user[order], pos[order], group[order]
    kind = np.where((group == 2) & (pos == 0), 0, 1)
    return pd.DataFrame(
        {
            "target_id": np.arange(len(user), dtype=np.int64),
            "user": user,
            "group": np.asarray(names)[group],
            "kind": np.asarray(KINDS)[kind],
            "pos": pos,
            "item": items[offsets[user] + pos].astype(np.int32),
        }
    )


def _user_describer(ds: Dataset) -> Callable[[int], str]:
    def describe(user: int) -> str:
        users = pd.read_parquet(ds.path / "users.parquet", columns=["user", "user_id"])
        match = users.loc[users["user"] == user, "user_id"]
        original = f" (original id {match.iloc[0]!r})" if len(match) else ""
        return f"user {user}{original} of {ds.ref}"

    return describe


# ----------------------------------------------------------------------------- storing


def _write(stage: Path, ds: Dataset, cfg: SplitSpec, a: dict[str, Any]) -> None:
    n_users = len(a["base"])
    pd.DataFrame(
        {
            "user": np.arange(n_users, dtype=np.int32),
            "base": a["base"],
            "fold": a["fold_of"],
            "val_order": a["val_order"],
            "n_clicks": a["lengths"].astype(np.int32),
            "n_kept": a["kept"].astype(np.int32),
            "simulated": a["simulated"],
        }
    ).to_parquet(stage / "users.parquet", index=False)
    np.save(stage / "offsets.npy", a["offsets"])
    np.save(stage / "items.npy", a["items"].astype(np.int32))
    np.save(stage / "negatives.npy", a["negatives"])
    for name in _DOMAIN_ARRAYS if cfg.target_domain is not None else ():
        np.save(stage / f"{name}.npy", a[name])
    a["targets"].to_parquet(stage / "targets.parquet", index=False)
    atomic_write_json(
        stage / "split.json",
        {
            "format_version": _FORMAT_VERSION,
            "id": cfg.split_id,
            "dataset": ds.ref,
            "dataset_content_hash": ds.content_hash,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "config": cfg.to_dict(),
            "simulate_cold_resolved": a["share"],
            "folds": a["folds"],
            "n_val": a["n_val"],
            "counts": _fold_view(cfg, stage, a, a["negatives"], {}, 0).counts(),
        },
    )


def _counts(roles: np.ndarray, simulated: np.ndarray, targets: pd.DataFrame) -> dict[str, Any]:
    cold = roles > ROLE_WARM
    users = {ROLE_NAMES[r]: int((roles == r).sum()) for r in (ROLE_WARM, ROLE_TUNE, ROLE_VAL, ROLE_TEST)}
    users["none"] = int((roles == ROLE_NONE).sum())
    by = targets.groupby(["group", "kind"], observed=True).size()
    per_group = {
        f"{g}/{k}": int(by.get((g, k), 0)) for g in (*GROUPS, *SOURCE_GROUPS) for k in KINDS if (g, k) in by.index
    }
    return {
        "users": users,
        "cold_natural": int((cold & ~simulated).sum()),
        "cold_simulated": int((cold & simulated).sum()),
        "targets": per_group,
        "n_targets": int(len(targets)),
    }
