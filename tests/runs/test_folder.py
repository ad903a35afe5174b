"""Run folders: ids from the run description, completeness, checkpoints loadable without pickle, listings that
survive a damaged file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from _damage import DAMAGES, damage, junk
from _fakeruns import tuning_run
from _planted import planted_dataset

from ppr.data.store import Store
from ppr.errors import InputError
from ppr.runs.folder import Damaged, RunFolder, complete_run, list_runs, readable, run_folder, spec_summary
from ppr.runs.status import STATES, read_status, write_status
from ppr.runs.tracking import library_versions
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
    assert not run.is_complete and run.spec() == spec and run.semantics() == spec.semantics
    assert run.info() == {"run_id": run.id, "semantics": spec.semantics, "spec": spec.to_dict()}
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
    s = spec_summary({"run_id": "x", "semantics": spec.semantics, "spec": spec.to_dict()})
    assert s == {
        "kind": "tune",
        "method": "ppr-light",
        "label": "ppr-light-nocl",
        "dataset": "planted@v1",
        "k": "3",
        "noise": 0.5,
        "seed": 4,
        "semantics": spec.semantics,
        "outdated": False,
    }
    warm = spec_summary({"semantics": spec.semantics, "spec": dataclasses.replace(spec, tune=None).to_dict()})
    assert (warm["kind"], warm["method"], warm["k"], warm["seed"]) == ("warm", "warm", "all", 4)
    old = spec_summary(
        {"kind": "tune", "dataset_ref": "ml@v2", "tune": {"method": "ppr-full", "k_shot": None, "magic": 1}}
    )
    assert (old["kind"], old["label"], old["dataset"], old["k"], old["semantics"], old["outdated"]) == (
        "tune",
        "ppr-full",
        "ml@v2",
        "all",
        1,
        True,
    )
    bert = dataclasses.replace(spec, backbone=dataclasses.replace(spec.backbone, kind="bert4rec"))
    gce = dataclasses.replace(spec, tune=dataclasses.replace(spec.tune, method="gce-gnn", cl=True))
    assert spec_summary({"semantics": 7, "spec": spec.to_dict()})["outdated"] is False  # sasrec: v7
    assert spec_summary({"semantics": 7, "spec": bert.to_dict()})["outdated"] is True  # bert4rec: v8
    assert spec_summary({"semantics": 7, "spec": gce.to_dict()})["outdated"] is True  # gce-gnn: v9
    assert spec_summary({"semantics": 9, "spec": gce.to_dict()})["outdated"] is False


def _two_runs(home: Path) -> tuple[RunFolder, RunFolder]:
    quality = np.linspace(0.1, 0.9, 16)
    good, bad = tuning_run(home, quality, "finetune"), tuning_run(home, quality, "ppr-light")
    for run in (good, bad):
        write_status(run.path, state="done", progress=1.0)
    return good, bad


@pytest.mark.parametrize("how", list(DAMAGES))
def test_one_damaged_file_leaves_its_run_out_of_listings_with_a_one_line_warning(tmp_path: Path, how: str) -> None:
    good, bad = _two_runs(tmp_path)
    fname = damage(bad.path, how)
    problem = bad.problem()
    assert problem is not None and fname in problem and bad.id in problem and "\n" not in problem
    assert ("runs resume" in problem) != (fname == "spec.json")  # what to do: resume, or drop a lost description
    assert good.problem() is None

    warnings: list[str] = []
    assert [r.id for r in list_runs(tmp_path / "runs", warnings.append)] == [good.id]
    [line] = warnings
    assert bad.id in line and fname in line and "\n" not in line
    assert [r.id for r in readable([bad, good], warn=None)] == [good.id]

    st = read_status(bad.path)  # never raises; a damaged status or result reads as failed, saying why
    if fname in ("status.json", "metrics.json", "scores.parquet"):
        assert st["state"] == "failed" and fname in st["damaged"] and st["error"] == st["damaged"]
    reader = {"spec.json": bad.spec, "metrics.json": bad.result, "scores.parquet": bad.scores}.get(fname)
    if reader is not None:
        with pytest.raises(Damaged, match=fname):  # an InputError: the CLI says it in one paragraph
            reader()


def test_no_junk_in_a_run_file_makes_a_reader_raise(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    good, bad = _two_runs(tmp_path)
    for _ in range(300):
        fname = str(rng.choice(["status.json", "spec.json", "metrics.json"]))
        (bad.path / fname).write_bytes(junk(rng))
        problem, st = bad.problem(), read_status(bad.path)
        ids = [r.id for r in list_runs(tmp_path / "runs", warn=None)]
        assert st["state"] in STATES and isinstance(st["progress"], int | float)
        assert ids == ([good.id] if problem else [bad.id, good.id]) or ids == sorted([good.id, bad.id])
        if problem is None:  # what a listing shows of it reads
            spec_summary(bad.info())
        for name in ("status.json", "spec.json", "metrics.json"):  # back to health for the next round
            (bad.path / name).write_bytes((good.path / name).read_bytes())
        assert bad.problem() is None
