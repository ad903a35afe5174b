"""Results of finished runs as tables: per-target scores tagged with each run's settings, parameter shares,
summary rows and one run's result table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _fakeruns import scores_frame, tuning_run, warm_run

from ppr.report.results import SETTING_COLUMNS, load_scores, param_shares, result_table, split_label, summary_rows
from ppr.runs.folder import list_runs


def quality(n: int = 40, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(n)


@pytest.mark.parametrize(
    ("label", "parts"),
    [
        ("finetune", ("finetune", "none")),
        ("ppr-light-nocl", ("ppr-light", "nocl")),
        ("ppr-full-nopaug-nobaug", ("ppr-full", "nopaug-nobaug")),
        ("ppr-full-nobaug-p2", ("ppr-full-p2", "nobaug")),
    ],
)
def test_split_label_separates_method_and_ablation(label: str, parts: tuple[str, str]) -> None:
    assert split_label(label) == parts


def test_load_scores_tags_each_target_with_its_run_settings_and_skips_warm_and_unfinished_runs(tmp_path: Path) -> None:
    fine = tuning_run(tmp_path, quality(seed=1), "finetune", k_shot=2, seed=0)
    nocl = tuning_run(tmp_path, quality(seed=2), "ppr-light", k_shot=None, noise=0.3, seed=1, cl=False)
    warm_run(tmp_path, quality(seed=3))
    running = tuning_run(tmp_path, quality(seed=4), "ppr-full", complete=False)
    runs = list_runs(tmp_path / "runs")
    assert len(runs) == 4 and not running.is_complete

    scores = load_scores(runs)
    assert set(SETTING_COLUMNS) <= set(scores.columns)
    assert set(scores["run_id"]) == {fine.id, nocl.id}  # no warm run, no unfinished run
    assert set(scores["group"]) == {"test"} and len(scores) == 2 * 40
    tags = scores.drop_duplicates("run_id").set_index("run_id")[SETTING_COLUMNS[1:]]
    assert tags.loc[fine.id].to_dict() == {
        "method": "finetune",
        "label": "finetune",
        "ablation": "none",
        "k": "2",
        "noise": 0.0,
        "seed": 0,
    }
    assert tags.loc[nocl.id].to_dict() == {
        "method": "ppr-light",
        "label": "ppr-light-nocl",
        "ablation": "nocl",
        "k": "all",
        "noise": 0.3,
        "seed": 1,
    }
    # the rows are the run's own per-target scores, unchanged
    mine = scores[scores["run_id"] == nocl.id].reset_index(drop=True)
    expected = scores_frame(quality(seed=2), "test")
    pd.testing.assert_frame_equal(mine[expected.columns], expected, check_dtype=False)

    val = load_scores(runs, "val")
    assert set(val["group"]) == {"val"} and len(val) == 2 * 20
    empty = load_scores([r for r in runs if r.id not in (fine.id, nocl.id)])
    assert empty.empty and list(empty.columns) == SETTING_COLUMNS


def test_param_shares_one_row_per_label_from_its_first_finished_run(tmp_path: Path) -> None:
    full = {"tuned": 10, "finetune": 100, "share_of_finetune": 0.1}
    tuning_run(tmp_path, quality(), "finetune", params={"tuned": 100, "finetune": 100, "share_of_finetune": 1.0})
    first = tuning_run(tmp_path, quality(), "ppr-light", seed=0, params=full)
    tuning_run(tmp_path, quality(), "ppr-light", seed=1, params={**full, "tuned": 11})  # same label: ignored
    tuning_run(tmp_path, quality(), "ppr-full", params={"tuned": 90, "finetune": 100}, complete=False)
    warm_run(tmp_path, quality())  # no "tuned" count
    runs = list_runs(tmp_path / "runs")
    assert min(r.id for r in runs if "ppr-light" in r.id) == first.id

    shares = param_shares(runs).set_index("method")
    assert list(shares.columns) == ["tuned parameters", "fine-tuning parameters", "share of fine-tuning"]
    assert sorted(shares.index) == ["finetune", "ppr-light"]
    assert shares.loc["ppr-light"].tolist() == [10, 100, 0.1]
    assert shares.loc["finetune", "share of fine-tuning"] == 1.0
    assert param_shares([]).empty


def test_summary_rows_follow_metrics_json(tmp_path: Path) -> None:
    q = quality()
    run = tuning_run(tmp_path, q, "ppr-full", k_shot=5, seed=2)
    tuning_run(tmp_path, q, "finetune", complete=False)
    rows = summary_rows(list_runs(tmp_path / "runs"))
    assert set(rows["run_id"]) == {run.id}
    assert set(rows["eval_set"]) == {"test", "val"} and set(rows["group"]) == {"few", "zero", "joint"}
    assert "n" not in set(rows["metric"]) and len(rows) == 2 * 3 * 7
    zero = rows[(rows["eval_set"] == "test") & (rows["group"] == "zero") & (rows["metric"] == "auc")].iloc[0]
    assert zero["n"] == 10 and zero["value"] == pytest.approx(q[::4].mean())
    assert (zero["method"], zero["k"], zero["seed"]) == ("ppr-full", "5", 2)


def test_result_table_lists_each_evaluated_set_and_group_with_targets(tmp_path: Path) -> None:
    q = quality()
    table = result_table(tuning_run(tmp_path, q))
    assert list(table.columns) == ["evaluated", "targets", "n", "AUC", "HIT@10", "NDCG@10"]
    assert list(zip(table["evaluated"], table["targets"], table["n"], strict=True)) == [
        ("test", "few", 30),
        ("test", "zero", 10),
        ("test", "joint", 40),
        ("val", "few", 15),
        ("val", "zero", 5),
        ("val", "joint", 20),
    ]
    joint = table.iloc[2]
    assert joint["AUC"] == pytest.approx(q.mean()) and joint["HIT@10"] == pytest.approx(q.mean() / 3)

    warm = result_table(warm_run(tmp_path, q))  # a warm run: its warm_val and warm_test sets
    assert set(warm["evaluated"]) == {"warm_val", "warm_test"}
