"""The cold-start split (docs/protocol.md), computed once, seeded and stored.

Warm users (>= cold_threshold clicks) train the backbone; cold users (fewer clicks,
natural or simulated by cropping warm users to their first c clicks) are split by
user into tuning, validation and test. Targets and their 99 never-clicked negatives
are sampled once and stored, so every method is scored on identical candidates.

Stored under ``<dataset version>/splits/<split_id>/``, written to a staging folder
and renamed into place (readers never see half a split)::

    split.json        config, id, resolved simulate share, counts, dataset hash, created_at
    users.parquet     user, role, n_clicks (full), n_kept (after crop), simulated
    offsets.npy       int64 (U+1)  CSR of every user's clicks after the cold crop
    items.npy         int32
    targets.parquet   target_id, user, group, kind, pos, item
    negatives.npy     int32 (n_targets, n_negatives)

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

from ppr.data.negatives import sample_negatives
from ppr.data.store import Dataset
from ppr.errors import InputError
from ppr.io import atomic_write_json, read_json, staged_dir
from ppr.log import Log
from ppr.spec.run import SplitSpec

ROLE_NONE, ROLE_WARM, ROLE_TUNE, ROLE_VAL, ROLE_TEST = -1, 0, 1, 2, 3
ROLE_NAMES = {ROLE_NONE: "none", ROLE_WARM: "warm", ROLE_TUNE: "tune", ROLE_VAL: "val", ROLE_TEST: "test"}
GROUPS = ("warm_val", "warm_test", "val", "test")
KINDS = ("zero", "few")
AUTO_COLD_SHARE = 0.05  # below this share of naturally cold users, auto mode simulates
AUTO_SIMULATE = 0.2  # ... this share of warm users as cold
_FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class Split:
    """A loaded split; arrays are indexed by user id (0..U-1) or target_id."""

    config: SplitSpec
    id: str
    path: Path
    roles: np.ndarray  # int8 per user
    simulated: np.ndarray  # bool per user: cropped to simulate a cold user
    offsets: np.ndarray  # int64 (U+1), after the cold crop
    items: np.ndarray  # int32
    targets: pd.DataFrame
    negatives: np.ndarray  # int32 (n_targets, n_negatives)
    info: dict[str, Any] = field(default_factory=dict)  # split.json

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


def make_split(ds: Dataset, cfg: SplitSpec = SplitSpec(), log: Log | None = None) -> Split:
    """Compute and store the split of `ds` for `cfg`, or load it if it is already stored."""
    log = log or (lambda msg: None)
    final = splits_dir(ds) / cfg.split_id
    if (final / "split.json").is_file():
        log(f"split {cfg.split_id} already stored; loading it")
        return _load_matching(ds, cfg)
    log(f"reading sequences of {ds.ref}")
    offsets, items = ds.sequences()
    arrays = _compute(offsets, items, ds.n_items, cfg, log, _user_describer(ds))
    try:
        with staged_dir(final) as stage:
            _write(stage, ds, cfg, arrays)
    except OSError:
        if not (final / "split.json").is_file():  # lost a race to an identical split: fine
            raise
    log(f"stored split at {final}")
    return _load_matching(ds, cfg)


def planned_split(ds: Dataset, cfg: SplitSpec) -> Split:
    """The stored split, else its roles, crop and targets computed in memory without negatives (nothing is
    written; cheap: the run-time estimator uses it)."""
    if (splits_dir(ds) / cfg.split_id / "split.json").is_file():
        return load_split(ds, cfg.split_id)
    lay = layout(*ds.sequences(), cfg)
    return Split(
        cfg,
        cfg.split_id,
        splits_dir(ds) / cfg.split_id,
        lay["roles"],
        lay["simulated"],
        lay["offsets"],
        lay["items"],
        lay["targets"],
        np.zeros((len(lay["targets"]), 0), np.int32),
    )


def _load_matching(ds: Dataset, cfg: SplitSpec) -> Split:
    split = load_split(ds, cfg.split_id)
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


def load_split(ds: Dataset, split_id: str) -> Split:
    folder = splits_dir(ds) / split_id
    if "/" in split_id or split_id.startswith(".") or not (folder / "split.json").is_file():
        known = ", ".join(list_splits(ds)) or "none yet"
        raise InputError(
            f"Dataset {ds.ref} has no split {split_id!r} under {splits_dir(ds)} (known: {known}). "
            "Make one with `python -m ppr data split NAME`."
        )
    info = read_json(folder / "split.json")
    users = pd.read_parquet(folder / "users.parquet")
    targets = pd.read_parquet(folder / "targets.parquet")
    for col in ("group", "kind"):
        targets[col] = targets[col].astype(str)
    return Split(
        config=SplitSpec(**info["config"]),
        id=split_id,
        path=folder,
        roles=users["role"].to_numpy(np.int8),
        simulated=users["simulated"].to_numpy(bool),
        offsets=np.load(folder / "offsets.npy", allow_pickle=False),
        items=np.load(folder / "items.npy", allow_pickle=False),
        targets=targets,
        negatives=np.load(folder / "negatives.npy", allow_pickle=False),
        info=info,
    )


# ----------------------------------------------------------------------------- computing


def _compute(
    offsets: np.ndarray,
    items: np.ndarray,
    n_items: int,
    cfg: SplitSpec,
    log: Log,
    describe_user: Callable[[int], str],
) -> dict[str, Any]:
    lay = layout(offsets, items, cfg)
    roles, simulated, targets = lay["roles"], lay["simulated"], lay["targets"]
    log(
        f"{int((roles == ROLE_WARM).sum())} warm users, {int((roles > ROLE_WARM).sum())} cold users "
        f"({int(simulated.sum())} simulated); sampling {cfg.n_negatives} negatives for {len(targets)} targets"
    )
    negatives = sample_negatives(
        offsets, items, n_items, targets["user"].to_numpy(), cfg.n_negatives, _seed(cfg, 3), describe_user
    )
    return {**lay, "negatives": negatives}


def layout(offsets: np.ndarray, items: np.ndarray, cfg: SplitSpec) -> dict[str, Any]:
    """Roles, cropped sequences and targets of a split, without negatives (cheap: the run-time estimator uses it)."""
    lengths = np.diff(offsets)
    share = _resolve_simulate(lengths, cfg)
    kept, simulated = _simulate_cold(lengths, cfg, share)
    roles = _assign_roles(lengths, simulated, cfg)
    new_offsets, new_items = _crop(offsets, items, kept)
    targets = _targets(new_offsets, new_items, roles)
    return {
        "share": share,
        "lengths": lengths,
        "kept": kept,
        "simulated": simulated,
        "roles": roles,
        "offsets": new_offsets,
        "items": new_items,
        "targets": targets,
    }


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


def _assign_roles(lengths: np.ndarray, simulated: np.ndarray, cfg: SplitSpec) -> np.ndarray:
    """Warm stays warm; cold users (>= 1 click) are shuffled into test, val and tune by user."""
    roles = np.full(len(lengths), ROLE_NONE, dtype=np.int8)  # users with no clicks take no part
    warm = (lengths >= cfg.cold_threshold) & ~simulated
    roles[warm] = ROLE_WARM
    cold = np.flatnonzero((lengths > 0) & ~warm)
    perm = np.random.default_rng(_seed(cfg, 2)).permutation(cold)
    n_test = int(round(cfg.test_frac * len(cold)))
    n_val = int(round(cfg.val_frac * len(cold)))
    roles[perm[:n_test]] = ROLE_TEST
    roles[perm[n_test : n_test + n_val]] = ROLE_VAL
    roles[perm[n_test + n_val :]] = ROLE_TUNE
    return roles


def _crop(offsets: np.ndarray, items: np.ndarray, kept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR of each user's first kept[u] clicks."""
    new_offsets = np.zeros(len(kept) + 1, dtype=np.int64)
    np.cumsum(kept, out=new_offsets[1:])
    src = np.repeat(offsets[:-1] - new_offsets[:-1], kept) + np.arange(new_offsets[-1], dtype=np.int64)
    return new_offsets, items[src]


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


def _targets(offsets: np.ndarray, items: np.ndarray, roles: np.ndarray) -> pd.DataFrame:
    """Warm leave-one-out (last = warm_test, second-to-last = warm_val) and every cold val/test click."""
    lengths = np.diff(offsets)
    parts = []
    warm = np.flatnonzero(roles == ROLE_WARM)
    has_val = warm[lengths[warm] >= 3]
    parts.append((has_val, lengths[has_val] - 2, GROUPS.index("warm_val")))
    parts.append((warm, lengths[warm] - 1, GROUPS.index("warm_test")))
    for role, group in ((ROLE_VAL, "val"), (ROLE_TEST, "test")):
        users = np.flatnonzero(roles == role)
        n = lengths[users]
        starts = np.cumsum(n, dtype=np.int64) - n
        pos = np.arange(n.sum(), dtype=np.int64) - np.repeat(starts, n)
        parts.append((np.repeat(users, n), pos, GROUPS.index(group)))
    user = np.concatenate([p[0] for p in parts]).astype(np.int32)
    pos = np.concatenate([p[1] for p in parts]).astype(np.int32)
    group = np.concatenate([np.full(len(p[0]), p[2], dtype=np.int8) for p in parts])
    order = np.lexsort((pos, user, group))
    user, pos, group = user[order], pos[order], group[order]
    is_cold = group >= GROUPS.index("val")
    kind = np.where(is_cold & (pos == 0), 0, 1)
    return pd.DataFrame(
        {
            "target_id": np.arange(len(user), dtype=np.int64),
            "user": user,
            "group": np.asarray(GROUPS)[group],
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
    n_users = len(a["roles"])
    pd.DataFrame(
        {
            "user": np.arange(n_users, dtype=np.int32),
            "role": a["roles"],
            "n_clicks": a["lengths"].astype(np.int32),
            "n_kept": a["kept"].astype(np.int32),
            "simulated": a["simulated"],
        }
    ).to_parquet(stage / "users.parquet", index=False)
    np.save(stage / "offsets.npy", a["offsets"])
    np.save(stage / "items.npy", a["items"].astype(np.int32))
    np.save(stage / "negatives.npy", a["negatives"])
    a["targets"].to_parquet(stage / "targets.parquet", index=False)
    atomic_write_json(
        stage / "split.json",
        {
            "format_version": _FORMAT_VERSION,
            "id": cfg.split_id,
            "dataset": ds.ref,
            "dataset_content_hash": ds.content_hash,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "config": dataclasses.asdict(cfg),
            "simulate_cold_resolved": a["share"],
            "counts": _counts(a["roles"], a["simulated"], a["targets"]),
        },
    )


def _counts(roles: np.ndarray, simulated: np.ndarray, targets: pd.DataFrame) -> dict[str, Any]:
    cold = roles > ROLE_WARM
    users = {ROLE_NAMES[r]: int((roles == r).sum()) for r in (ROLE_WARM, ROLE_TUNE, ROLE_VAL, ROLE_TEST)}
    users["none"] = int((roles == ROLE_NONE).sum())
    by = targets.groupby(["group", "kind"], observed=True).size()
    per_group = {f"{g}/{k}": int(by.get((g, k), 0)) for g in GROUPS for k in KINDS if (g, k) in by.index}
    return {
        "users": users,
        "cold_natural": int((cold & ~simulated).sum()),
        "cold_simulated": int((cold & simulated).sum()),
        "targets": per_group,
        "n_targets": int(len(targets)),
    }
