"""Imported scores: ranked by the one scorer on the like run's own targets, written as a finished run, refused
with the file, row and target named when they do not fit, and never a second copy of the same import."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from _scores import finetune_cell, write_scores

from ppr.data.export import original_ids, targets_frame
from ppr.data.store import Store
from ppr.errors import InputError
from ppr.eval.scoring import candidate_scores
from ppr.report.results import settings_row
from ppr.runs import pipeline
from ppr.runs.folder import RunFolder, spec_summary
from ppr.runs.imported import import_scores
from ppr.runs.status import read_status
from ppr.spec.run import IMPORTED
from ppr.train.batching import history_matrix

SAMPLED = ["rank", "auc", "hit@5", "hit@10", "hit@20", "hit@50", "ndcg@5", "ndcg@10", "ndcg@20", "ndcg@50", "mrr"]


@pytest.fixture
def like(sweep_home: tuple[Path, str]) -> tuple[Store, RunFolder]:
    """The store of the tiny sweep and its finetune run at k=all, seed 0."""
    home, sid = sweep_home
    return Store(home), finetune_cell(Store(home), sid)


def targets(store: Store, run: RunFolder) -> pd.DataFrame:
    """targets.tsv as `data export` writes it for the run's fold and k-shot."""
    ev = pipeline.evaluated(store, run)
    return targets_frame(ev.split, *original_ids(ev.dataset), ev.spec.tune.k_shot, ev.spec.backbone.max_len)


def csv(path: Path, tg: pd.DataFrame, score: Callable[[int, int], float], keep: Callable[[pd.Series], bool]) -> Path:
    write_scores(path, tg, score, keep)
    return path


def every(t: pd.Series) -> bool:
    return True


def few(t: pd.Series) -> bool:
    return t["kind"] == "few"


def falling(target: int, j: int) -> float:
    return -float(j)


def test_a_perfect_ranking_is_rank_0_and_auc_1_and_zero_shot_left_out_reads_na(like, tmp_path: Path) -> None:
    store, run = like
    tg = targets(store, run)
    path = csv(tmp_path / "perfect.csv", tg, lambda t, j: 1.0 if j == 0 else -j / 100, few)
    done = import_scores(store, path, run, "bert4rec")
    scores = done.run.scores()
    assert len(scores) == int((tg["kind"] == "few").sum()) and set(scores["kind"]) == {"few"}
    assert (scores["rank"] == 0).all() and (scores["auc"] == 1).all() and (scores["mrr"] == 1).all()
    assert (scores["hit@5"] == 1).all() and not any(c.startswith("full_") for c in scores.columns)
    summary = done.run.result()["summary"]["test"]
    assert summary["few"]["ndcg@10"] == 1.0 and summary["zero"]["n"] == 0 and summary["joint"]["n"] == 0
    n_test = tg[tg["group"] == "test"]
    assert done.counts["test"] == {
        "few": {"scored": int((n_test["kind"] == "few").sum()), "targets": int((n_test["kind"] == "few").sum())},
        "zero": {"scored": 0, "targets": int((n_test["kind"] == "zero").sum())},
    }


def test_constant_scores_rank_the_positive_last_and_auc_one_half(like, tmp_path: Path) -> None:
    store, run = like
    done = import_scores(store, csv(tmp_path / "flat.csv", targets(store, run), lambda t, j: 0.25, every), run, "flat")
    scores = done.run.scores()
    n_neg = run.spec().split.n_negatives
    assert (scores["rank"] == n_neg).all() and (scores["auc"] == 0.5).all() and (scores["hit@50"] == 0).all()
    assert set(scores["kind"]) == {"few", "zero"} and set(scores["group"]) == {"test", "val"}
    assert done.run.result()["summary"]["test"]["joint"]["n"] == len(scores[scores["group"] == "test"])


def test_the_like_runs_own_scores_reproduce_its_sampled_metrics_exactly(like, tmp_path: Path) -> None:
    store, run = like
    ev = pipeline.evaluated(store, run)
    split, k, max_len = ev.split, ev.spec.tune.k_shot, ev.spec.backbone.max_len
    own: dict[int, np.ndarray] = {}
    for group in ("test", "val"):  # the candidates' scores as evaluate() computed them for the run
        tg = split.targets[split.targets["group"] == group]
        users = tg["user"].to_numpy(np.int64)
        seqs = history_matrix(
            split.offsets, split.items, users, tg["pos"].to_numpy(np.int64), min(k or max_len, max_len)
        )
        cand = np.concatenate([tg["item"].to_numpy(np.int64)[:, None], split.negatives[tg["target_id"].to_numpy()]], 1)
        scores = candidate_scores(ev.model, seqs, ev.codes[users], cand, torch.device("cpu")).astype(np.float64)
        own |= dict(zip(tg["target_id"].to_numpy().tolist(), scores, strict=True))
    path = csv(tmp_path / "own.csv", targets(store, run), lambda t, j: float(own[t][j]), every)
    done = import_scores(store, path, run, "own")
    mine, theirs = done.run.scores(), run.scores()
    assert len(mine) == len(theirs)
    a, b = (df.set_index("target_id").sort_index()[["user", "group", "kind", *SAMPLED]] for df in (mine, theirs))
    pd.testing.assert_frame_equal(a, b)
    for group, kinds in done.run.result()["summary"].items():
        for kind, figures in kinds.items():
            assert figures == pytest.approx({m: run.result()["summary"][group][kind][m] for m in figures})


def test_an_import_is_a_finished_tuning_run_named_by_its_label_file_and_like_run(like, tmp_path: Path) -> None:
    store, run = like
    tg = targets(store, run)
    path = csv(tmp_path / "a.csv", tg, falling, few)
    done = import_scores(store, path, run, "bert4rec")
    spec, t = done.run.spec(), run.spec().tune
    assert spec.tune.method == IMPORTED and spec.tune.label == "bert4rec" and not spec.needs_warm
    assert (spec.tune.k_shot, spec.tune.fold, spec.tune.noise, spec.tune.seed) == (t.k_shot, t.fold, t.noise, t.seed)
    assert (spec.dataset, spec.dataset_hash, spec.split) == (
        run.spec().dataset,
        run.spec().dataset_hash,
        run.spec().split,
    )
    assert done.run.id.startswith("planted-bert4rec-kall-r0-s0-f0-") and not done.reused
    assert read_status(done.run.path)["state"] == "done" and done.run.problem() is None
    assert spec_summary(done.run.info())["label"] == "bert4rec"
    assert settings_row(done.run) | {"run_id": ""} == {
        "run_id": "",
        "method": IMPORTED,
        "label": "bert4rec",
        "ablation": "none",
        "k": "all",
        "noise": 0.0,
        "seed": 0,
    }
    result = done.run.result()
    assert result["imported"]["like"] == run.id and len(result["imported"]["sha256"]) == 64
    assert {"torch", "numpy"} <= set(result["environment"]["versions"])

    again = import_scores(store, path, run, "bert4rec")  # the same file, the same name: the same run
    assert again.run.id == done.run.id and again.reused and again.counts == done.counts
    other = csv(tmp_path / "b.csv", tg, lambda t, j: -2.0 * j, few)  # another file: another run
    assert import_scores(store, other, run, "bert4rec").run.id != done.run.id
    assert import_scores(store, path, run, "bert4rec-v2").run.id != done.run.id


def test_an_imported_run_has_no_model_to_compute_or_load(like, tmp_path: Path) -> None:
    store, run = like
    path = csv(tmp_path / "a.csv", targets(store, run), falling, few)
    done = import_scores(store, path, run, "bert4rec")
    (done.run.path / "metrics.json").unlink()
    with pytest.raises(InputError, match="holds scores imported from another library"):
        pipeline.compute(store, done.run.spec())
    with pytest.raises(InputError, match="no model"):
        pipeline.load_model(store, done.run)


def _refused(store: Store, run: RunFolder, path: Path, message: str) -> None:
    before = sorted(p.name for p in store.runs_dir.iterdir())
    with pytest.raises(InputError, match=message) as exc:
        import_scores(store, path, run, "bad")
    assert str(path) in str(exc.value)
    assert sorted(p.name for p in store.runs_dir.iterdir()) == before


def test_coverage_every_few_shot_test_target_and_all_or_none_of_the_rest(like, tmp_path: Path) -> None:
    store, run = like
    tg = targets(store, run)
    first_few_test = tg[(tg["group"] == "test") & (tg["kind"] == "few")]["target_id"].iat[0]
    path = csv(tmp_path / "a.csv", tg, falling, lambda t: t["target_id"] != first_few_test)
    _refused(store, run, path, rf"1 of the \d+ few-shot test targets have no scores .*e\.g\. target {first_few_test} ")
    first_zero_val = tg[(tg["group"] == "val") & (tg["kind"] == "zero")]["target_id"].iat[0]
    path = csv(tmp_path / "b.csv", tg, falling, lambda t: t["target_id"] != first_zero_val)
    _refused(store, run, path, r"1 of the \d+ zero-shot val targets have no scores \(score all of them or none\)")
    only_test = csv(tmp_path / "c.csv", tg, falling, lambda t: t["group"] != "val")
    done = import_scores(store, only_test, run, "test-only")
    assert set(done.run.scores()["group"]) == {"test"} and "val" not in done.run.result()["summary"]
    assert done.counts["val"]["few"]["scored"] == 0


def test_the_file_must_be_a_scores_csv(like, tmp_path: Path) -> None:
    store, run = like
    (tmp_path / "empty.csv").write_text("")
    _refused(store, run, tmp_path / "empty.csv", "is empty")
    (tmp_path / "header.csv").write_text("user,target,candidate,score\n")
    _refused(store, run, tmp_path / "header.csv", "has a header but no rows")
    (tmp_path / "tabs.csv").write_text("user\ttarget\tcandidate\tscore\nu1\t1\ti1\t0.5\n")
    _refused(store, run, tmp_path / "tabs.csv", "lacks the column")
