"""Cold-start tuning: CL views, tuning windows, and end-to-end methods on planted data."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from _planted import planted_dataset

from ppr.data.splits import SplitConfig, make_split
from ppr.data.store import Store
from ppr.errors import InputError
from ppr.eval.evaluate import evaluate_group, summarize_scores
from ppr.train.augment import mask_behavior
from ppr.train.cold_data import tuning_windows
from ppr.train.config import TuneConfig, WarmConfig
from ppr.train.tune import build_model, parameter_report, tune
from ppr.train.warm import train_warm

MAX_LEN = 10


def test_mask_behavior_removes_at_least_one_click_and_keeps_order() -> None:
    seq = torch.tensor(
        [[5, 6, 7, 8, 9, 10, 11, 12, 13, 14], [3, 0, 0, 0, 0, 0, 0, 0, 0, 0], [4, 7, 0, 0, 0, 0, 0, 0, 0, 0], [0] * 10]
    )
    out = mask_behavior(seq, 0.2, torch.Generator().manual_seed(0))
    n_before, n_after = (seq != 0).sum(1), (out != 0).sum(1)
    assert n_after.tolist() == [8, 0, 1, 0]  # floor(0.2*10)=2; short rows still lose one click
    assert (n_after < n_before)[:3].all()
    kept = out[0][out[0] != 0].tolist()
    assert kept == sorted(kept) and set(kept) < set(seq[0].tolist())  # order kept, subset of the clicks
    assert (out[0, 8:] == 0).all()  # still right-padded


def test_tuning_windows_crop_k_shot_and_train_the_zero_shot_slot() -> None:
    # user 0 warm (12 clicks), user 1 tune (5 clicks), user 2 test (3 clicks)
    lengths = np.array([12, 5, 3])
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    items = np.arange(1, lengths.sum() + 1, dtype=np.int32)
    split = SimpleNamespace(offsets=offsets, items=items, roles=np.array([0, 1, 3], np.int8))
    win = tuning_windows(split, max_len=4, k_shot=3)
    assert win.users.tolist() == [1]  # only tuning users, test users never train
    assert win.tokens[0, :3].tolist() == [13, 14, 15] and win.tokens[0, 3:].sum() == 0  # first 3 clicks only
    assert win.starts_at_zero.tolist() == [True] and win.zero_shot
    both = tuning_windows(split, max_len=4, k_shot=None, zero_shot=False, with_warm=True)
    warm_tokens = both.tokens[both.users == 0]
    assert set(warm_tokens[warm_tokens > 0].tolist()) == set(range(1, 11))  # warm minus 2 held-out clicks
    assert not both.starts_at_zero[both.users == 0].any()


def test_tune_config_rejects_bad_settings() -> None:
    with pytest.raises(InputError, match="method"):
        TuneConfig(method="magic")
    with pytest.raises(InputError, match="k-shot"):
        TuneConfig(method="finetune", k_shot=0)
    with pytest.raises(InputError, match="prompt_mask"):
        TuneConfig(method="ppr-full", prompt_mask=1.5)
    assert TuneConfig(method="ppr-full", cl=False).label == "ppr-full-nocl"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    store = Store(tmp_path_factory.mktemp("home"))
    ds = planted_dataset(store, n_users=600)
    split = make_split(ds, SplitConfig(val_frac=0.2))  # a larger validation set: steadier early stopping
    warm_users = np.flatnonzero(split.roles == 0)
    cfg = WarmConfig(max_len=MAX_LEN, d=16, n_layers=1, d_ff=32, lr=1e-2, epochs=6, device="cpu")
    warm, _ = train_warm(
        split.offsets, split.items, warm_users, ds.n_items, cfg, lengths=np.diff(split.offsets)[warm_users] - 2
    )
    return ds, split, warm


def _tuned(world, method: str, **kw):
    ds, split, warm = world
    cfg = TuneConfig(method=method, epochs=6, lr=1e-2, batch_size=16, patience=10, **kw)
    model = build_model(cfg, warm, ds.cardinalities)
    result = tune(model, cfg, split, ds.attribute_codes())
    scores = evaluate_group(result.model, split, "test", ds.attribute_codes(), MAX_LEN)
    return cfg, result, summarize_scores(scores)


@pytest.mark.parametrize("method", ["ppr-light", "ppr-full"])
def test_ppr_learns_zero_shot_from_the_profile(world, method: str) -> None:
    ds, _, warm = world
    before = {k: v.clone() for k, v in warm.state_dict().items()}
    cfg, result, summary = _tuned(world, method)
    assert summary["zero"]["n"] >= 20
    assert summary["zero"]["auc"] > 0.65, summary["zero"]  # random scorer: 0.5
    assert summary["few"]["auc"] > 0.65
    assert result.best_epoch >= 1 and result.history[0]["epoch"] == 0
    backbone = result.model.backbone.state_dict()
    unchanged = all(torch.equal(before[k], backbone[k]) for k in before)
    assert unchanged == (method == "ppr-light")  # light freezes the backbone, full tunes it
    assert all(torch.equal(before[k], v) for k, v in warm.state_dict().items())  # the warmed model is copied
    params = parameter_report(result.model, cfg, ds.cardinalities)
    assert (params["share_of_finetune"] < 0.5) == (method == "ppr-light")


def test_warm_only_zero_shot_is_all_ties(world) -> None:
    cfg, result, summary = _tuned(world, "warm-only")
    assert result.epochs_run == 0
    assert summary["zero"]["auc"] == 0.5 and summary["zero"]["hit@50"] == 0.0  # pessimistic ties
    assert parameter_report(result.model, cfg, world[0].cardinalities)["tuned"] == 0
