"""Run folders: ids from the run description, completeness, checkpoints loadable without pickle, listings."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
import torch
from _planted import planted_dataset

from ppr.data.store import Store
from ppr.errors import InputError
from ppr.runs.folder import RunFolder, complete_run, list_runs, run_folder, spec_summary
from ppr.runs.pipeline import library_versions
from ppr.spec import run as run_spec
from ppr.spec.run import SEMANTICS, BackboneSpec, RunSpec, TuneSpec, WarmSpec


def _spec(dataset: str = "planted@v1", seed: int = 0, **tune) -> RunSpec:
    base = RunSpec(dataset, "abc", backbone=BackboneSpec(d=16), warm=WarmSpec(epochs=2))
    return base.tuned(TuneSpec(method=tune.pop("method", "ppr-light"), seed=seed, **tune))


def test_run_id_depends_on_identity_not_on_where_or_when(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _spec("ml 100k/x@v1")
    assert spec.run_id == RunSpec.from_dict(spec.to_dict()).run_id  # the same description, the same folder
    assert spec.run_id != _spec("ml 100k/x@v1", seed=1).run_id
    assert spec.run_id.startswith("ml-100k-x-ppr-light-kall-r0-s0-") and "/" not in spec.run_id
    assert spec.warm_run().run_id.startswith("ml-100k-x-warm-")
    before = spec.run_id
    monkeypatch.setattr(run_spec, "SEMANTICS", SEMANTICS + 1)  # other code, other runs: never reused
    assert spec.run_id != before


def test_run_spec_round_trips_and_names_the_run(tmp_path: Path) -> None:
    ds = planted_dataset(Store(tmp_path), n_users=200)
    base = RunSpec(ds.ref, ds.content_hash, backbone=BackboneSpec(d=16), warm=WarmSpec(epochs=2))
    spec = base.tuned(TuneSpec(method="ppr-full", k_shot=3, noise=0.3, seed=2))
    again = RunSpec.from_dict(spec.to_dict())
    assert again == spec and again.tune.k_shot == 3 and again.warm.seed == 2  # the warm seed follows the tuning seed
    rid = spec.run_id
    assert rid.startswith("planted-ppr-full-k3-r0.3-s2-")
    assert rid != base.tuned(TuneSpec(method="ppr-full", k_shot=3, noise=0.3, seed=1)).run_id
    assert spec.warm_run().run_id.startswith("planted-warm-") and spec.warm_run().tune is None
    assert Store(tmp_path).open_exact(spec.dataset, spec.dataset_hash).ref == ds.ref
    with pytest.raises(InputError, match="replaced"):
        Store(tmp_path).open_exact(spec.dataset, "0" * 64)


def test_library_versions_name_the_stack() -> None:
    assert {"python", "torch", "numpy", "pandas", "duckdb"} <= set(library_versions())


def test_a_run_is_incomplete_until_its_result_is_written(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    spec = _spec()
    run = RunFolder(runs / spec.run_id)
    run.write_spec(spec)
    assert not run.is_complete and run.spec() == spec and run.semantics() == SEMANTICS
    assert run.info() == {"run_id": run.id, "semantics": SEMANTICS, "spec": spec.to_dict()}
    run.save_model({"w": torch.arange(3.0, requires_grad=True)})
    run.write_scores(pd.DataFrame({"target_id": [0, 1], "auc": [0.5, 1.0]}))
    run.save_state({"epoch": 2, "model": {"w": torch.ones(2)}})
    assert run.load_state()["epoch"] == 2
    assert [r.id for r in list_runs(runs)] == [run.id]  # listed (with its state) before it is complete
    with pytest.raises(InputError, match="not complete"):
        complete_run(runs, run.id)

    run.write_result({"ok": True})
    assert run.is_complete and complete_run(runs, run.id).result() == {"ok": True}
    state = torch.load(run.path / "checkpoint.pt", weights_only=True)  # tensors only, no pickled objects
    assert torch.equal(state["w"], torch.arange(3.0)) and torch.equal(run.load_model()["w"], torch.arange(3.0))
    assert run.scores()["auc"].tolist() == [0.5, 1.0]
    assert run_folder(runs, str(run.path)).id == run.id and run_folder(runs, run.id).path == run.path
    run.drop_state()
    assert run.load_state() is None and not (run.path / "resume.pt").exists()
    run.drop_state()  # nothing to drop: fine
    assert not list(runs.rglob(".*.tmp"))  # atomic writes leave no temp files


def test_missing_runs_are_input_errors(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    assert list_runs(runs) == []
    with pytest.raises(InputError, match="not found"):
        run_folder(runs, "no-such-run")
    with pytest.raises(InputError, match="not found"):
        complete_run(runs, str(tmp_path / "elsewhere"))
    (runs / "half").mkdir(parents=True)  # a folder without spec.json is not a run
    assert list_runs(runs) == []


def test_spec_summary_reads_current_and_old_layouts() -> None:
    spec = _spec(k_shot=3, noise=0.5, seed=4, cl=False)
    s = spec_summary({"run_id": "x", "semantics": SEMANTICS, "spec": spec.to_dict()})
    assert s == {
        "kind": "tune",
        "method": "ppr-light",
        "label": "ppr-light-nocl",
        "dataset": "planted@v1",
        "k": "3",
        "noise": 0.5,
        "seed": 4,
        "semantics": SEMANTICS,
    }
    warm = spec_summary({"semantics": SEMANTICS, "spec": dataclasses.replace(spec, tune=None).to_dict()})
    assert (warm["kind"], warm["method"], warm["k"], warm["seed"]) == ("warm", "warm", "all", 4)
    old = spec_summary(
        {"kind": "tune", "dataset_ref": "ml@v2", "tune": {"method": "ppr-full", "k_shot": None, "magic": 1}}
    )
    assert (old["kind"], old["label"], old["dataset"], old["k"], old["semantics"]) == (
        "tune",
        "ppr-full",
        "ml@v2",
        "all",
        1,
    )
