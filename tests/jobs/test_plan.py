"""Sweep plans: cells, warm runs, what is already done, and the time range of the rest (with a fake calibration,
so the numbers are exact)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from _planted import planted_dataset

from ppr.data.store import Dataset, Store
from ppr.jobs import estimate
from ppr.jobs.plan import device_name, duration, make_plan, plural, spec_json, sweep_grid
from ppr.runs.folder import RunFolder
from ppr.spec.run import RunSpec, TuneSpec, WarmSpec
from ppr.spec.sweep import SweepSpec

WARM = WarmSpec(epochs=6, patience=2)  # 2..6 epochs
TUNE = TuneSpec(epochs=4, patience=1)  # 1..4 epochs


class FakeCalibrate:
    """10 s per epoch for warm-training and full-data cells, 3 s with a k-shot; validation etc. free."""

    def __init__(self) -> None:
        self.seen: list[RunSpec] = []

    def __call__(self, spec: RunSpec) -> estimate.Calibration:
        self.seen.append(spec)
        what = "warm" if spec.tune is None else spec.tune.label
        batches = 10 if spec.tune is None or spec.tune.k_shot is None else 3
        return estimate.Calibration(what, "cpu", batches * 32, 32, batches, 1.0, 3, 5, 0.0, 0.0, 0.0)


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Store, Dataset, SweepSpec]:
    store = Store(tmp_path / "home")
    ds = planted_dataset(store, n_users=100)
    base = RunSpec(ds.ref, ds.content_hash, warm=WARM).tuned(TUNE)
    sweep = SweepSpec(base, ("finetune", "ppr-light"), (2, None), (0.0,), (0, 1), ("none", "no-cl"))
    return store, ds, sweep


def _finish(store: Store, spec: RunSpec, epochs_run: int, seconds: float) -> None:
    run = RunFolder(store.runs_dir / spec.run_id)
    run.write_spec(spec)
    run.write_result({"epochs_run": epochs_run, "seconds": {"train": seconds, "eval": 0.0}})


def test_a_plan_of_an_empty_store_counts_every_run(planted) -> None:
    store, ds, sweep = planted
    calibrate = FakeCalibrate()
    plan = make_plan(store, ds, sweep_grid(store, sweep), "cpu", calibrate)
    # per seed: finetune at 2 k-shots, ppr-light at 2 k-shots x 2 ablations
    assert (plan.grid.cells, plan.grid.warm, plan.grid.todo_warm, plan.grid.todo_tune) == (
        12,
        2,
        2,
        12,
    ) and plan.device == "cpu"
    assert [r.calibration.what for r in plan.runs[:2]] == ["warm", "warm"]  # warm runs come first
    assert {r.calibration.what for r in plan.runs[2:]} == {"finetune", "ppr-light", "ppr-light-nocl"}
    assert len(calibrate.seen) == len(plan.runs) == 14
    assert all(estimate.timing_key(s) == s for s in calibrate.seen)  # measured on the timing key
    assert [(r.min_epochs, r.max_epochs) for r in plan.runs[:3]] == [(2, 6), (2, 6), (1, 4)]
    assert plan.past == {} and all(r.past_epochs is None for r in plan.runs)

    # warm 2 x 10 x (2..6); cells 6 per seed at full data (10 s/epoch) or k=2 (3 s/epoch), 1..4 epochs
    assert plan.low_s == pytest.approx(2 * 20 + 2 * (3 * 10 + 3 * 3))
    assert plan.high_s == pytest.approx(2 * 60 + 2 * (3 * 40 + 3 * 12))
    assert plan.typical_s == plan.high_s
    assert plan.time_text() == "up to **7 min** if no run stops early (early stopping can cut it to 118 s)"
    basis = plan.basis()
    assert basis.startswith("warm: 10 batches × 1000 ms + validation 0.0 s per epoch, 2–6 epochs; ")
    assert len(basis.split("; ")) == 7  # one phrase per method and batch count
    caption = plan.caption(busy=0)
    assert caption.startswith("Time measured on cpu: ") and caption.endswith("the wall time is the sum.")
    assert "For comparison" not in caption and "past runs" not in caption
    assert plan.caption(busy=2).endswith("2 other runs computing now share the machine and may hold the worker slot.")


def test_done_runs_are_left_out_and_past_runs_set_the_typical_time(planted) -> None:
    store, ds, sweep = planted
    cells = [spec for _, spec in sweep.cells()]
    seed0 = [s for s in cells if s.tune.seed == 0]
    _finish(store, seed0[0].warm_run(), 6, 30.0)
    _finish(store, seed0[0], 2, 4.0)  # finetune, k 2
    _finish(store, seed0[1], 2, 8.0)  # finetune, all
    calibrate = FakeCalibrate()
    plan = make_plan(store, ds, sweep_grid(store, sweep), "cpu", calibrate)
    assert (plan.grid.cells, plan.grid.warm, plan.grid.todo_warm, plan.grid.todo_tune) == (12, 2, 1, 10) and len(
        plan.runs
    ) == 11
    assert [s.tune is None for s in calibrate.seen] == [True] + [False] * 10  # seed 1's warm run, then cells
    assert set(plan.past) == {("warm", 6), ("finetune", 4)}
    assert plan.past[("finetune", 4)] == estimate.PastRuns(2, 2.0, 6.0)
    finetune = [r for r in plan.runs if r.calibration.what == "finetune"]
    assert len(finetune) == 2 and all(r.past_epochs == 2 for r in finetune)
    assert plan.runs[0].past_epochs == 6 and plan.runs[0].typical_s == plan.runs[0].high_s
    assert plan.typical_s == pytest.approx(plan.high_s - 10 * 2 - 3 * 2)  # two finetune cells stop after 2 epochs
    assert plan.time_text().startswith("about **") and "(up to " in plan.time_text()
    caption = plan.caption(busy=1)
    assert "For comparison: this dataset's 2 finished tuning runs took 6 s each." in caption
    assert "'About' assumes runs stop where this dataset's past runs" in caption
    assert caption.endswith("1 other run computing now share the machine and may hold the worker slot.")
    assert "(past runs stopped after 2)" in plan.basis()

    for spec in cells:
        _finish(store, spec.warm_run(), 6, 30.0)
        _finish(store, spec, 4, 10.0)
    plan = make_plan(store, ds, sweep_grid(store, sweep), "cpu", FakeCalibrate())
    assert (plan.grid.todo_warm, plan.grid.todo_tune, plan.runs) == (0, 0, [])
    assert plan.time_text() == "nothing left to compute" and plan.low_s == plan.high_s == 0


def test_time_text_without_early_stopping_and_the_helpers(planted) -> None:
    store, ds, sweep = planted
    fixed = dataclasses.replace(sweep, base=dataclasses.replace(sweep.base, warm=WarmSpec(epochs=3, patience=3)))
    fixed = dataclasses.replace(fixed, base=fixed.base.tuned(TuneSpec(epochs=2, patience=2)), seeds=(0,))
    plan = make_plan(store, ds, sweep_grid(store, fixed), "cpu", FakeCalibrate())
    assert plan.low_s == plan.high_s == pytest.approx(30 + 3 * 20 + 3 * 6)
    assert plan.time_text() == "about **108 s**"
    assert [duration(s) for s in (59, 600, 9000)] == ["59 s", "10 min", "2.5 h"]
    assert (plural(1, "run"), plural(3, "run")) == ("1 run", "3 runs")
    assert device_name("cpu") == "cpu"
    assert spec_json(sweep.base) == spec_json(RunSpec.from_dict(sweep.base.to_dict()))
    assert spec_json(sweep.base) != spec_json(sweep.base.warm_run())
