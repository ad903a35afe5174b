"""Computing runs from their description: the files of a run folder, reuse, a tuning run's warm run first,
results independent of the process' random state, outdated runs, and resuming from the epoch checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from _planted import planted_dataset

from ppr.data.splits import make_split
from ppr.data.store import Store
from ppr.errors import InputError
from ppr.eval.evaluate import evaluate
from ppr.jobs.control import run_rows
from ppr.runs import pipeline
from ppr.runs.folder import RunFolder
from ppr.runs.pipeline import compute, load_model
from ppr.runs.status import raw_status, read_metrics
from ppr.runs.tracking import Cancelled
from ppr.spec import run as run_spec
from ppr.spec.run import BackboneSpec, RunSpec, TuneSpec, WarmSpec
from ppr.train import methods

BACKBONE = BackboneSpec(max_len=10, d=16, n_layers=1, d_ff=32)
WARM = WarmSpec(epochs=3, patience=100, batch_size=32, lr=1e-2)
TUNE = TuneSpec(method="ppr-full", epochs=4, patience=100, batch_size=16)


def _home(root: Path) -> tuple[Store, RunSpec]:
    """A store holding the planted dataset, and the tuning run of TUNE on it."""
    store = Store(root)
    ds = planted_dataset(store, n_users=300)
    return store, RunSpec(ds.ref, ds.content_hash, backbone=BACKBONE, warm=WARM).tuned(TUNE)


def _quiet(msg: str) -> None:
    pass


def _files(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir() if p.name not in ("status.json", ".lock")}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, RunSpec]:
    """TUNE computed without interruption (and its warm run)."""
    store, spec = _home(tmp_path_factory.mktemp("reference"))
    torch.manual_seed(1)
    compute(store, spec, "cpu", _quiet, bar=False)
    return store, spec


def test_a_tuning_run_computes_its_warm_run_first_and_writes_its_result_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, spec = _home(tmp_path)
    present_at_result: dict[str, list[str]] = {}
    real_write_result = RunFolder.write_result

    def write_result(self: RunFolder, result: dict) -> None:
        assert not self.is_complete
        present_at_result[self.id] = sorted(p.name for p in self.path.iterdir())
        real_write_result(self, result)

    monkeypatch.setattr(RunFolder, "write_result", write_result)
    log: list[str] = []
    run, reused = compute(store, spec, "cpu", log.append, bar=False)
    assert not reused and run.path == store.runs_dir / spec.run_id and run.is_complete
    warm = RunFolder(store.runs_dir / spec.warm_run().run_id)
    assert warm.is_complete and warm.spec() == spec.warm_run() and run.spec() == spec
    trained = [m for m in log if m.startswith(("warm-training", "tuning"))]
    assert [m.split()[0] for m in trained] == ["warm-training", "tuning"]  # the warm run first
    # metrics.json, the mark of a complete run, comes last; the epoch checkpoint goes after it
    kept = ["checkpoint.pt", "metrics.jsonl", "resume.pt", "scores.parquet", "spec.json", "status.json"]
    assert present_at_result[warm.id] == [".lock", *kept]
    assert present_at_result[run.id] == sorted([".lock", "embeddings.parquet", *kept])

    result, warm_result = run.result(), warm.result()
    assert result["kind"] == "tune" and result["label"] == "ppr-full" and result["warm_run"] == warm.id
    assert warm_result["kind"] == "warm" and warm_result["warm_run"] is None
    assert set(result["summary"]) == {"test", "val"} and set(result["summary"]["test"]) == {"few", "zero", "joint"}
    assert set(warm_result["summary"]) == {"warm_val", "warm_test"}
    test = result["summary"]["test"]
    assert test["joint"]["n"] == test["few"]["n"] + test["zero"]["n"] > 0 and 0 <= test["joint"]["ndcg@10"] <= 1
    assert result["epochs_run"] == 4 and 0 <= result["best_epoch"] <= 4 and warm_result["epochs_run"] == 3
    assert result["params"]["tuned"] > 0 and result["environment"]["device"] == "cpu"
    assert {"torch", "numpy", "pandas", "duckdb", "python"} <= set(result["environment"]["versions"])
    for folder, epochs in ((warm, 3), (run, 4)):
        st = raw_status(folder.path)
        assert (st["state"], st["pid"], st["epoch"], st["epochs_run"]) == ("done", None, epochs, epochs)
        assert [r["epoch"] for r in read_metrics(folder.path)] == list(range(epochs + 1))  # epoch 0: before training
        assert not (folder.path / "resume.pt").exists()
    assert not list(store.runs_dir.rglob(".*.tmp"))

    scores = run.scores()
    assert set(scores["group"]) == {"test", "val"} and len(scores[scores["group"] == "test"]) == test["joint"]["n"]
    emb = run.embeddings()
    assert set(emb["role"]) == {"tune", "val", "test"} and {"taste", "noise"} <= set(emb.columns)

    model = load_model(store, run)  # the kept model scores what the run scored
    ds = store.open(spec.dataset)
    split = make_split(ds, spec.split)
    codes = methods.profile_codes(spec.tune, ds, split)
    again = evaluate(model, split, "test", codes, BACKBONE.max_len, None, "cpu", full=True)
    pd.testing.assert_frame_equal(
        again.reset_index(drop=True), scores[scores["group"] == "test"].reset_index(drop=True)
    )

    before = {f.id: _files(f.path) for f in (warm, run)}
    status_before = raw_status(run.path)
    log.clear()
    again_run, reused = compute(store, spec, "cpu", log.append, bar=False)
    assert reused and again_run.path == run.path
    assert log == [f"reusing complete run {run.id} ({run.path})"]  # nothing trained, the warm run not even opened
    assert {f.id: _files(f.path) for f in (warm, run)} == before and raw_status(run.path) == status_before
    assert compute(store, spec.warm_run(), "cpu", _quiet, bar=False) == (warm, True)


def test_a_tuning_run_gives_the_same_scores_whatever_the_process_did_before(
    tmp_path: Path, reference: tuple[Store, RunSpec]
) -> None:
    ref_store, ref_spec = reference
    store, spec = _home(tmp_path)
    assert spec.run_id == ref_spec.run_id  # the same description in another home
    torch.manual_seed(12345)
    torch.rand(1000)
    run, reused = compute(store, spec, "cpu", _quiet, bar=False)
    ref = RunFolder(ref_store.runs_dir / ref_spec.run_id)
    assert not reused
    pd.testing.assert_frame_equal(run.scores(), ref.scores())
    assert run.result()["summary"] == ref.result()["summary"]
    warm = spec.warm_run().run_id
    pd.testing.assert_frame_equal(
        RunFolder(store.runs_dir / warm).scores(), RunFolder(ref_store.runs_dir / warm).scores()
    )


def test_an_interrupted_run_continues_from_its_epoch_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: tuple[Store, RunSpec]
) -> None:
    ref_store, _ = reference
    store, spec = _home(tmp_path)
    warm, tune = RunFolder(store.runs_dir / spec.warm_run().run_id), RunFolder(store.runs_dir / spec.run_id)
    real_record_epoch = pipeline.record_epoch

    def interrupt(victim: RunFolder, error: BaseException) -> None:
        def record_epoch(run: RunFolder, row: dict, max_epochs: int) -> None:
            if run.id == victim.id and row["epoch"] == 2:  # epoch 2 trained; the last checkpoint is epoch 1's
                raise error
            real_record_epoch(run, row, max_epochs)

        monkeypatch.setattr(pipeline, "record_epoch", record_epoch)

    interrupt(warm, RuntimeError("disk on fire"))
    with pytest.raises(RuntimeError, match="disk on fire"):
        compute(store, spec, "cpu", _quiet, bar=False)
    st = raw_status(warm.path)
    assert st["state"] == "failed" and st["error"] == "RuntimeError: disk on fire" and st["checkpoint_epoch"] == 1
    assert warm.load_state()["epoch"] == 1 and not warm.is_complete and not tune.path.exists()

    interrupt(tune, Cancelled())  # SIGTERM's way out of a run
    with pytest.raises(Cancelled):
        compute(store, spec, "cpu", _quiet, bar=False)
    assert warm.is_complete and raw_status(tune.path)["state"] == "cancelled" and tune.load_state()["epoch"] == 1

    monkeypatch.setattr(pipeline, "record_epoch", real_record_epoch)
    run, reused = compute(store, spec, "cpu", _quiet, bar=False)
    assert not reused and run.path == tune.path and run.result()["epochs_run"] == 4
    for folder, epochs in ((warm, 3), (tune, 4)):
        lines = read_metrics(folder.path)
        assert [(r.get("event"), r["epoch"]) for r in lines] == [
            (None, 0),
            (None, 1),
            ("resumed", 1),
            *((None, e) for e in range(2, epochs + 1)),
        ]
        assert not (folder.path / "resume.pt").exists() and raw_status(folder.path)["state"] == "done"
        same = RunFolder(ref_store.runs_dir / folder.id)  # the uninterrupted run
        pd.testing.assert_frame_equal(folder.scores(), same.scores())
        assert folder.result()["best_epoch"] == same.result()["best_epoch"]
    pd.testing.assert_frame_equal(
        tune.embeddings()[["user", "n_clicks"]],
        RunFolder(ref_store.runs_dir / tune.id).embeddings()[["user", "n_clicks"]],
    )


def test_a_run_of_an_older_version_is_listed_outdated_and_never_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, spec = _home(tmp_path)
    warm = spec.warm_run()
    with monkeypatch.context() as m:
        m.setattr(run_spec, "SEMANTICS", 1)
        old_id = warm.run_id  # where the older code kept this run
    old = RunFolder(store.runs_dir / old_id)
    old.path.mkdir(parents=True)
    (old.path / "spec.json").write_text(json.dumps({"run_id": old_id, "semantics": 1, "spec": warm.to_dict()}))
    (old.path / "metrics.json").write_text(json.dumps({"epochs_run": 3, "seconds": {"train": 1.0}}))
    assert old.is_complete and old.semantics() == 1 and old_id != warm.run_id
    with pytest.raises(InputError, match=f"older version.*v1, now v{warm.semantics}"):
        old.spec()

    [row] = run_rows(store)
    assert row["id"] == old_id and row["outdated"] and row["semantics"] == 1 and row["state"] == "done"
    assert row["shown_state"] == "done · outdated (v1)" and row["kind"] == "warm" and row["dataset"] == spec.dataset

    run, reused = compute(store, warm, "cpu", _quiet, bar=False)
    assert not reused and run.id == warm.run_id and run.semantics() == warm.semantics
    rows = {r["id"]: r for r in run_rows(store)}
    assert rows[old_id]["outdated"] and not rows[run.id]["outdated"] and rows[run.id]["shown_state"] == "done"


@pytest.mark.parametrize("method", ["melu", "gce-gnn", "adapter"])
def test_the_new_baselines_run_end_to_end_and_reload_as_they_scored(tmp_path: Path, method: str) -> None:
    """melu, gce-gnn (no warm run) and adapter (a warm run) compute through the one pipeline; the stored model (with
    gce-gnn's global graph) reloads and scores the test targets exactly as the run did."""
    store, spec = _home(tmp_path)
    spec = spec.tuned(TuneSpec(method=method, epochs=2, patience=100, batch_size=16))
    run, _ = compute(store, spec, "cpu", _quiet, bar=False)
    assert [p.name for p in store.runs_dir.iterdir() if "-warm-" in p.name] == (
        [] if method in ("melu", "gce-gnn") else [spec.warm_run().run_id]
    )
    stored = run.scores()
    test = stored[stored["group"] == "test"].reset_index(drop=True)
    ds = store.open(spec.dataset)
    split = make_split(ds, spec.split)
    again = evaluate(load_model(store, run), split, "test", methods.profile_codes(spec.tune, ds, split), 10)
    assert len(test) and (again["rank"].to_numpy() == test["rank"].to_numpy()).all()
    assert run.result()["params"]["share_of_finetune"] > 0


# ---- cross-domain runs


@pytest.fixture(scope="module")
def cross_domain(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, RunSpec]:
    """The planted dataset with group g1 as the target domain, and a cross-domain run description on it."""
    from _domains import planted_domains

    home = tmp_path_factory.mktemp("cross-domain")
    ds = planted_domains(home, n_users=300)
    split = run_spec.SplitSpec(target_domain="target", folds=1, n_negatives=20)
    return Store(home), RunSpec(ds.ref, ds.content_hash, split, BACKBONE, WARM)


def test_the_warm_run_of_a_cross_domain_run_never_trains_a_target_item(cross_domain) -> None:
    store, base = cross_domain
    run, _ = compute(store, base, "cpu", _quiet, bar=False)
    ds = store.open(base.dataset)
    split = make_split(ds, base.split)
    scores = run.scores()
    assert set(scores["group"]) == {"warm_val", "warm_test"}
    items = split.targets.set_index("target_id").loc[scores["target_id"], "item"].to_numpy()
    assert not split.pool[items].any()  # its targets are source clicks
    trained = load_model(store, run).backbone.item_emb.weight.detach()
    fresh = methods.warm_model(base, ds.n_items).backbone.item_emb.weight.detach()
    assert torch.equal(trained[split.pool], fresh[split.pool])  # target items: new embeddings
    assert not torch.equal(trained[~split.pool], fresh[~split.pool])


@pytest.mark.parametrize("method", ["ppr-full", "finetune", "minet", "sasrec"])
def test_cross_domain_methods_score_target_items_and_reload_as_they_scored(cross_domain, method: str) -> None:
    store, base = cross_domain
    spec = base.tuned(TuneSpec(method=method, epochs=2, patience=100, batch_size=16))
    run, _ = compute(store, spec, "cpu", _quiet, bar=False)
    ds = store.open(spec.dataset)
    split = make_split(ds, spec.split)
    stored = run.scores()
    assert set(stored["group"]) == {"test", "val"}
    test = stored[stored["group"] == "test"].reset_index(drop=True)
    model = load_model(store, run)
    again = evaluate(model, split, "test", methods.model_codes(spec, ds, split), 10, full=True)
    assert len(test) and (again["rank"].to_numpy() == test["rank"].to_numpy()).all()
    assert (again["full_rank"].to_numpy() == test["full_rank"].to_numpy()).all()
    assert (test["full_rank"] < split.pool.sum()).all()  # ranked among the target domain's 50 items
    if method in ("ppr-full", "finetune"):
        assert (model.source.vectors[0] == 0).all() and model.source.vectors.abs().sum() > 0
        assert len(run.embeddings()) and run.result()["params"]["source"] > 0
