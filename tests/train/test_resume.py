"""Epoch checkpoints: a run resumed from epoch e's state ends exactly like an uninterrupted one."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from _planted import planted_dataset

from ppr.data.splits import ROLE_WARM, SplitConfig, make_split
from ppr.data.store import Store
from ppr.train.config import TuneConfig, WarmConfig
from ppr.train.tune import build_model, tune
from ppr.train.warm import train_warm

WARM = WarmConfig(max_len=10, d=16, n_layers=1, d_ff=32, epochs=4, patience=10, lr=1e-2, device="cpu")


def _roundtrip(state: dict) -> dict:
    """What a checkpoint file gives back (torch.save + weights_only load)."""
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def _warm_split(tmp_path: Path):
    ds = planted_dataset(Store(tmp_path), n_users=300)
    split = make_split(ds, SplitConfig())
    return ds, split, np.flatnonzero(split.roles == ROLE_WARM)


def test_train_warm_resumes_after_an_epoch_with_identical_history(tmp_path: Path) -> None:
    ds, split, users = _warm_split(tmp_path)
    states: list[dict] = []
    full_model, full = train_warm(
        split.offsets, split.items, users, ds.n_items, WARM, on_epoch=lambda s: states.append(_roundtrip(s))
    )
    assert [s["epoch"] for s in states] == [1, 2, 3, 4]
    model, resumed = train_warm(split.offsets, split.items, users, ds.n_items, WARM, resume=states[1])
    assert [h["epoch"] for h in resumed] == [1, 2, 3, 4]
    np.testing.assert_allclose([h["loss"] for h in resumed], [h["loss"] for h in full], rtol=1e-5)
    for k, v in full_model.state_dict().items():
        torch.testing.assert_close(model.state_dict()[k], v)


def test_tune_resumes_after_an_epoch_with_the_same_epoch_count(tmp_path: Path) -> None:
    ds, split, users = _warm_split(tmp_path)
    warmed, _ = train_warm(split.offsets, split.items, users, ds.n_items, WARM)
    cfg = TuneConfig(method="ppr-light", epochs=4, patience=10, batch_size=32)
    codes = ds.attribute_codes()
    states: list[dict] = []
    full = tune(
        build_model(cfg, warmed, ds.cardinalities), cfg, split, codes, on_epoch=lambda s: states.append(_roundtrip(s))
    )
    resumed = tune(build_model(cfg, warmed, ds.cardinalities), cfg, split, codes, resume=states[1])
    assert full.epochs_run == resumed.epochs_run == 4
    assert [h["epoch"] for h in resumed.history] == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(
        [h["loss"] for h in resumed.history[1:]], [h["loss"] for h in full.history[1:]], rtol=1e-5
    )
    assert resumed.best_epoch == full.best_epoch
    last = tune(build_model(cfg, warmed, ds.cardinalities), cfg, split, codes, resume=states[-1])
    assert last.epochs_run == 4 and len(last.history) == 5  # nothing left to train
