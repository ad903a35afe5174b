"""Runs computed as one group end as each ends computed alone: same folders, results, statuses."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from _planted import planted_dataset

from ppr.data.store import Store
from ppr.runs.folder import RunFolder
from ppr.runs.group import compute_group, group_key, groupable, groups
from ppr.runs.pipeline import compute
from ppr.runs.status import read_metrics, read_status
from ppr.spec.run import BackboneSpec, RunSpec, SplitSpec, TuneSpec, WarmSpec

BACKBONE = BackboneSpec(max_len=4, d=16, n_layers=1, d_ff=32)
WARM = WarmSpec(epochs=2, patience=100, batch_size=32, lr=1e-2)
CELLS = [{"k_shot": 1}, {"k_shot": 3, "noise": 0.3}, {"k_shot": None, "seed": 1}]


def _specs(root: Path, method: str = "ppr-full") -> tuple[Store, list[RunSpec]]:
    store = Store(root)
    ds = planted_dataset(store, n_users=300)
    base = RunSpec(ds.ref, ds.content_hash, SplitSpec(folds=2), backbone=BACKBONE, warm=WARM)
    tunes = [TuneSpec(method=method, epochs=3, patience=100, batch_size=16, **c) for c in CELLS]
    return store, [base.tuned(t) for t in tunes]


def _quiet(msg: str) -> None:
    pass


def _result(store: Store, spec: RunSpec) -> dict:
    return json.loads((store.runs_dir / spec.run_id / "metrics.json").read_text())


def test_a_group_writes_the_runs_each_computes_alone(tmp_path: Path) -> None:
    alone, specs = _specs(tmp_path / "alone")
    for spec in specs:
        compute(alone, spec, "cpu", _quiet, bar=False)
    together, same = _specs(tmp_path / "together")
    assert [s.run_id for s in same] == [s.run_id for s in specs]
    assert len(groups(same)) == 1 and all(groupable(s) for s in same)
    compute_group(together, same, "cpu", _quiet)
    for spec in specs:
        a, b = _result(alone, spec), _result(together, spec)
        assert read_status(together.runs_dir / spec.run_id)["state"] == "done"
        assert b["environment"]["group"] == 3 and a["environment"]["group"] == 1
        assert (a["best_epoch"], a["epochs_run"]) == (b["best_epoch"], b["epochs_run"])
        for group, kinds in a["summary"].items():
            for kind, metrics in kinds.items():
                for name, value in metrics.items():
                    if value == value:
                        assert b["summary"][group][kind][name] == pytest.approx(value, rel=1e-4, abs=1e-5)
        epochs = [r["epoch"] for r in read_metrics(together.runs_dir / spec.run_id) if "epoch" in r]
        assert epochs == list(range(a["epochs_run"] + 1))  # each run's own epoch rows, from epoch 0
    compute_group(together, same, "cpu", _quiet)  # complete runs are reused, not trained again
    assert all(RunFolder(together.runs_dir / s.run_id).is_complete for s in same)


def test_what_may_train_together() -> None:
    base = RunSpec("planted@v1", "test", backbone=BACKBONE, warm=WARM)
    a = base.tuned(TuneSpec(method="ppr-light", k_shot=1, seed=0))
    b = base.tuned(TuneSpec(method="ppr-light", k_shot=5, noise=0.3, seed=2, fold=1))
    c = base.tuned(TuneSpec(method="ppr-full", k_shot=1))
    d = base.tuned(TuneSpec(method="ppr-light", k_shot=1, lr=1e-2))
    assert group_key(a) == group_key(b) and group_key(a) != group_key(c) and group_key(a) != group_key(d)
    assert [len(g) for g in groups([a, c, b, d])] == [2, 1, 1]
    assert not groupable(base.tuned(TuneSpec(method="pop")))
    assert not groupable(dataclasses.replace(a, backbone=dataclasses.replace(BACKBONE, kind="gru4rec")))
