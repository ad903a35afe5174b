"""Run-time estimates: batch counts equal to what the real training loop iterates, per-method calibration,
timing on a bounded user sample while counting on the whole split, epoch arithmetic, past runs, and no side
effects (no files, torch's random state kept)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from _planted import planted_dataset

from ppr.data.splits import ROLE_TEST, ROLE_TUNE, ROLE_VAL, ROLE_WARM, make_split, planned_split
from ppr.data.store import Dataset, Store
from ppr.jobs import estimate
from ppr.runs.folder import RunFolder
from ppr.runs.pipeline import compute
from ppr.spec.run import BackboneSpec, RunSpec, SplitSpec, TuneSpec, WarmSpec
from ppr.train import methods
from ppr.train.trainer import Trainer

BACKBONE = BackboneSpec(max_len=10, d=16, n_layers=1, d_ff=32)
WARM = WarmSpec(epochs=2, patience=100, batch_size=32, lr=1e-2)


def _quiet(msg: str) -> None:
    pass


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, Dataset, RunSpec]:
    """A planted store (split not stored yet: the estimate must lay it out itself) and its warm run spec."""
    store = Store(tmp_path_factory.mktemp("estimate-home"))
    ds = planted_dataset(store, n_users=300)
    return store, ds, RunSpec(ds.ref, ds.content_hash, backbone=BACKBONE, warm=WARM)


def _files(home: Path) -> list[str]:
    return sorted(str(p.relative_to(home)) for p in home.rglob("*"))


def _count_steps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every Trainer.step (one per training batch) from now on."""
    calls: list[int] = []
    real = Trainer.step

    def step(self: Trainer, batch) -> float:
        calls.append(len(batch.users))
        return real(self, batch)

    monkeypatch.setattr(Trainer, "step", step)
    return calls


def test_calibration_writes_nothing_and_keeps_torch_random_state(planted) -> None:
    store, ds, base = planted
    before = _files(store.home)
    for spec in (base, base.tuned(TuneSpec(method="ppr-full", epochs=3))):
        torch.manual_seed(5)
        expected = torch.rand(3)
        torch.manual_seed(5)
        estimate.calibrate(ds, spec, "cpu")
        assert torch.equal(torch.rand(3), expected)
    assert _files(store.home) == before  # no split, no run folder


def test_the_split_laid_out_in_memory_equals_the_stored_one(tmp_path: Path) -> None:
    ds = planted_dataset(Store(tmp_path / "home"), n_users=200)
    layout = planned_split(ds, SplitSpec())
    split = make_split(ds, SplitSpec())
    assert np.array_equal(layout.roles, split.roles) and np.array_equal(layout.offsets, split.offsets)
    assert np.array_equal(layout.items, split.items)
    assert layout.targets[["user", "group", "pos"]].equals(split.targets[["user", "group", "pos"]])


def test_warm_batches_per_epoch_are_what_the_trainer_iterates(planted, monkeypatch: pytest.MonkeyPatch) -> None:
    store, ds, base = planted
    spec = dataclasses.replace(base, warm=dataclasses.replace(WARM, epochs=1, seed=3))
    cal = estimate.calibrate(ds, spec, "cpu")
    steps = _count_steps(monkeypatch)
    compute(store, spec, "cpu", _quiet, bar=False)
    split = make_split(ds, spec.split)
    assert cal.batches == len(steps) > 0 and cal.windows == sum(steps) > cal.batches
    assert cal.what == "warm" and cal.batch_size == WARM.batch_size and cal.device == "cpu"
    assert cal.val_targets == int((split.targets["group"] == "warm_val").sum())
    assert 1 <= cal.steps_timed <= estimate.MAX_STEPS


@pytest.mark.parametrize("method", ["finetune", "ppr-full", "sasrec"])
@pytest.mark.parametrize("k_shot", [None, 2])
def test_tuning_batches_per_epoch_are_what_the_trainer_iterates(
    planted, monkeypatch: pytest.MonkeyPatch, method: str, k_shot: int | None
) -> None:
    store, ds, base = planted
    spec = base.tuned(TuneSpec(method=method, k_shot=k_shot, epochs=1, batch_size=16))
    cal = estimate.calibrate(ds, spec, "cpu")
    compute(store, spec.warm_run(), "cpu", _quiet, bar=False)  # its warm run's batches are not counted
    steps = _count_steps(monkeypatch)
    compute(store, spec, "cpu", _quiet, bar=False)
    split = make_split(ds, spec.split)
    assert cal.batches == len(steps) > 0 and cal.windows == sum(steps) and cal.batch_size == 16
    assert cal.val_targets == int((split.targets["group"] == "val").sum())
    assert cal.what == spec.tune.label and 1 <= cal.steps_timed <= estimate.MAX_STEPS and cal.step_s > 0


def test_each_method_is_measured_on_its_own_model(planted) -> None:
    _, ds, base = planted
    cals = {
        m: estimate.calibrate(ds, base.tuned(TuneSpec(method=m)), "cpu")
        for m in ("finetune", "ppr-light", "ppr-full", "sasrec", "warm-only")
    }
    assert cals["finetune"].batches == cals["ppr-full"].batches  # the same windows ...
    assert all(c.step_s > 0 and c.steps_timed >= 1 for m, c in cals.items() if m != "warm-only")  # ... own steps
    assert cals["sasrec"].windows > cals["finetune"].windows  # sasrec also trains on the warm users
    assert cals["sasrec"].batch_size == 256 and cals["finetune"].batch_size == 32  # each method's default
    only = cals["warm-only"]
    assert only.batches == 0 and only.steps_timed == 0 and only.final_s > 0  # evaluation only
    assert only.seconds(50) == only.final_s


def test_the_sample_is_bounded_per_role_seeded_and_sorted(planted) -> None:
    _, ds, base = planted
    split = planned_split(ds, base.split)
    picked = estimate.sample_users(split, 25)
    assert np.array_equal(picked, estimate.sample_users(split, 25)) and np.all(np.diff(picked) > 0)
    for role in (ROLE_WARM, ROLE_TUNE, ROLE_VAL, ROLE_TEST):
        assert (split.roles[picked] == role).sum() == min(25, (split.roles == role).sum())
    every = estimate.sample_users(split, None)
    assert np.array_equal(every, np.flatnonzero(split.roles >= ROLE_WARM))
    assert np.array_equal(estimate.sample_users(split, 10_000), every)


@pytest.mark.parametrize(
    ("tune", "max_len"),
    [(None, 10), (None, 3), (TuneSpec(method="ppr-full", k_shot=2), 10), (TuneSpec(method="sasrec", k_shot=3), 4)],
)
def test_a_sampled_calibration_times_sampled_users_and_counts_the_whole_split(
    planted, monkeypatch: pytest.MonkeyPatch, tune: TuneSpec | None, max_len: int
) -> None:
    _, ds, base = planted
    spec = dataclasses.replace(base, backbone=dataclasses.replace(BACKBONE, max_len=max_len))
    spec = spec if tune is None else spec.tuned(tune)
    seen: list[int] = []  # users of the split the training windows, negatives and timed histories come from
    for name in ("windows", "sampler"):
        real = getattr(methods, name)
        monkeypatch.setattr(
            methods, name, lambda s, split, *a, real=real: seen.append(split.n_users) or real(s, split, *a)
        )
    histories = estimate.history_matrix
    monkeypatch.setattr(estimate, "history_matrix", lambda off, *a: seen.append(len(off) - 1) or histories(off, *a))
    cal = estimate.calibrate(ds, spec, "cpu", per_role=20)
    split = planned_split(ds, spec.split)
    per_role = [min(20, int((split.roles == r).sum())) for r in (ROLE_WARM, ROLE_TUNE, ROLE_VAL, ROLE_TEST)]
    assert cal.sampled_users == sum(per_role) < split.n_users and set(seen) == {cal.sampled_users} and len(seen) == 3
    monkeypatch.undo()
    windows = len(methods.windows(spec, split))  # the whole split's
    assert cal.windows == windows and cal.batches == -(-windows // methods.schedule(spec).batch_size)
    group = "warm_val" if tune is None else "val"
    assert cal.val_targets == int((split.targets["group"] == group).sum())


def _calibration(batches: int = 10) -> estimate.Calibration:
    return estimate.Calibration("ppr-full", "cpu", 160, 16, batches, 0.01, 5, 40, 0.5, 2.0, 0.1)


def test_seconds_grow_linearly_with_epochs_and_the_range_follows_early_stopping() -> None:
    cal = _calibration()
    assert cal.epoch_s == pytest.approx(10 * 0.01 + 0.5 + 0.1)
    assert cal.seconds(20) - cal.seconds(10) == pytest.approx(10 * cal.epoch_s)
    assert cal.seconds(0) == pytest.approx(cal.val_s + cal.final_s)  # validation before epoch 1 + final evaluation
    spec = RunSpec("x@v1", "h").tuned(TuneSpec(method="ppr-full", epochs=40, patience=5))
    run = estimate.estimate_run(cal, spec, {})
    assert (run.min_epochs, run.max_epochs) == (5, 40) and run.past_epochs is None
    assert run.typical_s == run.high_s == pytest.approx(cal.seconds(40)) and run.low_s == pytest.approx(cal.seconds(5))
    assert estimate.epoch_range(RunSpec("x@v1", "h", warm=WarmSpec(epochs=200, patience=20))) == (20, 200)
    assert estimate.epoch_range(RunSpec("x@v1", "h", warm=WarmSpec(epochs=3, patience=20))) == (3, 3)
    assert estimate.epoch_range(spec.tuned(TuneSpec(method="warm-only"))) == (0, 0)
    assert estimate.epoch_range(spec.tuned(TuneSpec(method="finetune", epochs=0))) == (0, 0)
    assert estimate.epoch_range(spec.tuned(TuneSpec(method="sasrec"))) == (10, 40)  # the method's defaults
    past = {("ppr-full", 40): estimate.PastRuns(3, 12.4, 9.0)}
    assert estimate.estimate_run(cal, spec, past).typical_s == pytest.approx(cal.seconds(12))
    past = {("ppr-full", 40): estimate.PastRuns(3, 1.0, 9.0)}  # clipped to the range
    assert estimate.estimate_run(cal, spec, past).typical_s == pytest.approx(cal.seconds(5))


def test_timing_key_drops_what_does_not_change_the_step_cost() -> None:
    base = RunSpec("x@v1", "h", backbone=BACKBONE, warm=WARM)
    key = estimate.timing_key
    a = base.tuned(TuneSpec(method="ppr-full", seed=3, noise=0.3, lr=1e-2, epochs=7, patience=2))
    assert key(a) == key(base.tuned(TuneSpec(method="ppr-full")))
    assert key(a) != key(base.tuned(TuneSpec(method="ppr-full", cl=False)))
    assert key(base.tuned(TuneSpec(method="finetune", k_shot=2))) != key(base.tuned(TuneSpec(method="finetune")))
    assert key(base.tuned(TuneSpec(method="finetune", epochs=0))) != key(base.tuned(TuneSpec(method="finetune")))
    assert key(dataclasses.replace(base, warm=dataclasses.replace(WARM, seed=4, epochs=9, lr=0.1))) == key(base)
    assert key(dataclasses.replace(base, backbone=dataclasses.replace(BACKBONE, d=32))) != key(base)
    assert key(dataclasses.replace(base, warm=dataclasses.replace(WARM, batch_size=64))) != key(base)


def test_past_runs_group_finished_runs_by_kind_and_max_epochs(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    ds = planted_dataset(store, n_users=300)
    base = RunSpec(ds.ref, ds.content_hash, backbone=BACKBONE, warm=WARM)
    tune = TuneSpec(method="ppr-full", epochs=4, patience=100, batch_size=16)
    run, _ = compute(store, base.tuned(tune), "cpu", _quiet, bar=False)
    compute(store, base.tuned(dataclasses.replace(tune, noise=0.5)), "cpu", _quiet, bar=False)  # same warm run
    assert run.result()["epochs_run"] == 4

    other = RunFolder(store.runs_dir / "other-dataset")  # another dataset's run: not this dataset's past
    other.write_spec(dataclasses.replace(base, dataset_hash="0" * 64))
    other.write_result({"epochs_run": 1, "seconds": {"train": 1.0}})
    old = RunFolder(store.runs_dir / "old-version")  # an outdated run: its spec no longer reads
    old.path.mkdir()
    (old.path / "spec.json").write_text(json.dumps({"run_id": old.id, "semantics": 1, "spec": base.to_dict()}))
    (old.path / "metrics.json").write_text(json.dumps({"epochs_run": 1, "seconds": {"train": 1.0}}))
    RunFolder(store.runs_dir / "unfinished").write_spec(base.tuned(dataclasses.replace(tune, seed=5)))

    past = estimate.past_runs(store, ds)
    assert set(past) == {("ppr-full", 4), ("warm", WARM.epochs)}
    assert past[("ppr-full", 4)].n == 2 and past[("ppr-full", 4)].mean_epochs == 4
    assert past[("warm", WARM.epochs)].n == 1 and past[("warm", WARM.epochs)].mean_epochs == WARM.epochs
    seconds = [sum(RunFolder(store.runs_dir / r).result()["seconds"].values()) for r in _tune_ids(store)]
    assert past[("ppr-full", 4)].mean_seconds == pytest.approx(np.mean(seconds))

    cal = _calibration()
    typical = estimate.estimate_run(cal, base.tuned(dataclasses.replace(tune, patience=2)), past)
    assert typical.past_epochs == 4 and typical.typical_s == pytest.approx(cal.seconds(4))
    longer = estimate.estimate_run(cal, base.tuned(dataclasses.replace(tune, epochs=8)), past)
    assert longer.past_epochs is None  # runs of other max epochs say nothing about this one


def _tune_ids(store: Store) -> list[str]:
    return [p.name for p in store.runs_dir.iterdir() if p.name.startswith("planted-ppr-full")]
