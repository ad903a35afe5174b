"""Run-time estimates: exact batch counts against the real loops, per-method calibration, epoch
arithmetic, past runs, no side effects; and one tiny tune run against its estimate."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from _planted import planted_dataset

from ppr import experiment
from ppr.data.splits import SplitConfig, make_split
from ppr.data.store import Dataset, Store
from ppr.train import estimate
from ppr.train import tune as tune_mod
from ppr.train import warm as warm_mod
from ppr.train.config import TuneConfig, WarmConfig

WARM = WarmConfig(max_len=10, d=16, n_layers=1, d_ff=32, epochs=2, batch_size=32, lr=1e-2, device="cpu")
SPLIT = SplitConfig()


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, Dataset]:
    """A planted store (split not stored yet: the estimate must lay it out itself)."""
    store = Store(tmp_path_factory.mktemp("estimate-home"))
    return store, planted_dataset(store, n_users=300)


def _files(home: Path) -> list[str]:
    return sorted(str(p.relative_to(home)) for p in home.rglob("*"))


def test_calibration_writes_nothing_and_keeps_torch_random_state(planted) -> None:
    store, ds = planted
    before = _files(store.home)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    estimate.calibrate(ds, SPLIT, WARM, TuneConfig(method="ppr-full", epochs=3), "cpu")
    assert torch.equal(torch.rand(3), expected)
    assert _files(store.home) == before  # no split, no run folder


def test_in_memory_layout_equals_the_stored_split(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    ds = planted_dataset(store, n_users=200)
    layout = estimate.split_layout(ds, SPLIT)
    split = make_split(ds, SPLIT)
    assert np.array_equal(layout.roles, split.roles) and np.array_equal(layout.offsets, split.offsets)
    assert np.array_equal(layout.items, split.items)
    assert layout.targets[["user", "group", "pos"]].equals(split.targets[["user", "group", "pos"]])


def _count_calls(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[int]:
    calls: list[int] = []
    real = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


@pytest.mark.parametrize("method", ["finetune", "ppr-full", "sasrec"])
@pytest.mark.parametrize("k_shot", [None, 2])
def test_tuning_batches_per_epoch_are_what_tune_iterates(planted, monkeypatch, method, k_shot) -> None:
    store, ds = planted
    cfg = TuneConfig(method=method, k_shot=k_shot, epochs=1, batch_size=16)
    cal = estimate.calibrate(ds, SPLIT, WARM, cfg, "cpu")
    split = make_split(ds, SPLIT)
    model = tune_mod.build_model(cfg, warm_mod.SASRec(WARM.backbone(ds.n_items)), ds.cardinalities)
    steps = _count_calls(monkeypatch, tune_mod, "_step")
    tune_mod.tune(model, cfg, split, ds.attribute_codes(), "cpu")
    assert cal.batches == len(steps) > 0
    assert cal.val_targets == int((split.targets["group"] == "val").sum())
    assert cal.what == cfg.label and 1 <= cal.steps_timed <= estimate.MAX_STEPS and cal.step_s > 0


def test_warm_batches_per_epoch_are_what_train_warm_iterates(planted, monkeypatch) -> None:
    store, ds = planted
    cfg = dataclasses.replace(WARM, epochs=1)
    cal = estimate.calibrate(ds, SPLIT, cfg, None, "cpu")
    split = make_split(ds, SPLIT)
    users = np.flatnonzero(split.roles == 0)
    batches = _count_calls(monkeypatch, warm_mod, "bpr_loss")  # one loss per training batch
    warm_mod.train_warm(split.offsets, split.items, users, ds.n_items, cfg, lengths=np.diff(split.offsets)[users] - 2)
    assert cal.batches == len(batches) > 0 and cal.windows > cal.batches
    assert cal.val_targets == int((split.targets["group"] == "warm_val").sum())


def test_each_method_is_measured_on_its_own_model(planted) -> None:
    _, ds = planted
    cals = {
        m: estimate.calibrate(ds, SPLIT, WARM, TuneConfig(method=m), "cpu")
        for m in ("finetune", "ppr-light", "ppr-full", "sasrec", "warm-only")
    }
    assert cals["finetune"].batches == cals["ppr-full"].batches  # same windows ...
    assert all(c.step_s > 0 and c.steps_timed >= 1 for m, c in cals.items() if m != "warm-only")  # ... own timing
    assert cals["sasrec"].windows > cals["finetune"].windows  # sasrec also trains on the warm users
    only = cals["warm-only"]
    assert only.batches == 0 and only.final_s > 0 and only.seconds(50) == only.final_s  # evaluation only


def test_seconds_grow_linearly_with_epochs_and_the_range_follows_early_stopping(planted) -> None:
    _, ds = planted
    cfg = TuneConfig(method="ppr-full", epochs=40, patience=5)
    cal = estimate.calibrate(ds, SPLIT, WARM, estimate.timing_key(cfg), "cpu")
    assert cal.seconds(20) - cal.seconds(10) == pytest.approx(10 * cal.epoch_s)
    assert cal.seconds(0) == pytest.approx(cal.val_s + cal.final_s)  # initial validation + final evaluation
    run = estimate.estimate_run(cal, cfg, {})
    assert (run.min_epochs, run.max_epochs) == (5, 40) and run.typical_s == run.high_s > run.low_s
    assert estimate.epoch_range(WarmConfig(epochs=200, patience=20)) == (21, 200)
    assert estimate.epoch_range(TuneConfig(method="warm-only")) == (0, 0)


def test_timing_key_drops_what_does_not_change_the_step_cost() -> None:
    a = TuneConfig(method="ppr-full", seed=3, noise=0.3, lr=1e-2, epochs=7, patience=2)
    assert estimate.timing_key(a) == estimate.timing_key(TuneConfig(method="ppr-full"))
    assert estimate.timing_key(a) != estimate.timing_key(TuneConfig(method="ppr-full", cl=False))
    assert estimate.timing_key(TuneConfig(method="finetune", k_shot=2)) != estimate.timing_key(
        TuneConfig(method="finetune")
    )
    assert estimate.timing_key(dataclasses.replace(WARM, seed=4, epochs=9)) == estimate.timing_key(WARM)
    assert estimate.timing_key(dataclasses.replace(WARM, d=32)) != estimate.timing_key(WARM)


def test_a_tiny_tune_run_takes_about_its_estimate_and_becomes_a_past_run(tmp_path: Path) -> None:
    """Generous bounds (0.2x-5x): a loaded 2-core machine slows runs and calibration unevenly."""
    store = Store(tmp_path / "home")
    ds = planted_dataset(store, n_users=300)
    cfg = TuneConfig(method="ppr-full", epochs=4, patience=100, batch_size=16)
    warm_run, _ = experiment.warm_run(store, ds, SPLIT, WARM, log=lambda m: None, bar=False)
    cal = estimate.calibrate(ds, SPLIT, WARM, cfg, "cpu")
    run, _ = experiment.tune_run(store, ds, cfg, warm_run, log=lambda m: None, bar=False, device="cpu")
    m = run.metrics()
    actual = sum(m["seconds"].values())
    assert m["epochs_run"] == 4
    assert 0.2 * actual <= cal.seconds(4) <= 5 * actual, (cal, m["seconds"])

    past = estimate.past_runs(store, ds)
    assert past[(cfg.label, 4)].n == 1 and past[(cfg.label, 4)].mean_epochs == 4
    assert past[("warm", WARM.epochs)].mean_epochs == WARM.epochs
    typical = estimate.estimate_run(cal, dataclasses.replace(cfg, patience=2), past)
    assert typical.past_epochs == 4 and typical.typical_s == pytest.approx(cal.seconds(4))
