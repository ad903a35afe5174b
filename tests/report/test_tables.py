"""Comparison tables of tuning runs: the long sweep table (means over seeds, change vs fine-tuning, paired
p-values per k-shot and noise cell), the paper-style methods x metrics table, and the rendered report."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _fakeruns import tuning_run, warm_run

from ppr.report.results import load_scores
from ppr.report.tables import COLUMNS, cell_text, k_order, markdown, paper_table, render, sweep_table
from ppr.runs.folder import list_runs

N = 200
METRICS = ("auc", "ndcg@10")


@pytest.fixture
def runs(tmp_path: Path) -> list:
    """Per seed and k in (2, all): finetune, ppr-full (+0.1 on every target: a real gain), ppr-light without CL
    (finetune + noise: none); k=10 has ppr-full alone; plus a warm run and an unfinished run (both left out)."""
    rng = np.random.default_rng(0)
    for seed in (0, 1):
        for k in (2, None):
            base = rng.random(N)
            tuning_run(tmp_path, base, "finetune", k_shot=k, seed=seed)
            tuning_run(tmp_path, base + 0.1 + rng.normal(0, 0.05, N), "ppr-full", k_shot=k, seed=seed)
            tuning_run(tmp_path, base + rng.normal(0, 0.05, N), "ppr-light", k_shot=k, seed=seed, cl=False)
        tuning_run(tmp_path, rng.random(N), "ppr-full", k_shot=10, seed=seed)
        warm_run(tmp_path, rng.random(N), seed=seed)
    tuning_run(tmp_path, rng.random(N), "finetune", k_shot=2, seed=2, complete=False)
    return list_runs(tmp_path / "runs")


def _row(table: pd.DataFrame, k: str, label: str, metric: str = "auc", group: str = "joint") -> pd.Series:
    sel = table[(table.k == k) & (table.label == label) & (table.metric == metric) & (table.group == group)]
    assert len(sel) == 1, sel
    return sel.iloc[0]


def test_k_order_puts_numbers_first_and_all_last() -> None:
    assert sorted(["all", "10", "2", 5], key=k_order) == ["2", 5, "10", "all"]


def test_sweep_table_means_changes_and_p_values_per_cell(runs) -> None:
    table = sweep_table(runs, METRICS)
    assert list(table.columns) == COLUMNS
    assert list(dict.fromkeys(table["k"])) == ["2", "10", "all"]  # numeric order, not text order
    assert set(table["noise"]) == {0.0} and set(table["n_seeds"]) == {2}
    assert set(table["label"]) == {"finetune", "ppr-full", "ppr-light-nocl"}

    scores = load_scores(runs)
    for k in ("2", "all"):
        base, full, light = (_row(table, k, x) for x in ("finetune", "ppr-full", "ppr-light-nocl"))
        per_seed = scores[(scores.k == k) & (scores.label == "finetune")].groupby("seed")["auc"].mean()
        assert base["mean"] == pytest.approx(per_seed.mean()) and base["std"] == pytest.approx(per_seed.std(ddof=1))
        assert np.isnan(base["p_value"]) and base["rel_vs_finetune"] == pytest.approx(0.0)
        assert (
            full["rel_vs_finetune"] == pytest.approx(full["mean"] / base["mean"] - 1) and full["rel_vs_finetune"] > 0.1
        )
        assert full["p_value"] < 1e-6 and light["p_value"] > 0.01
        assert (full["method"], full["ablation"]) == ("ppr-full", "none")
        assert (light["method"], light["ablation"]) == ("ppr-light", "nocl")
    alone = _row(table, "10", "ppr-full")  # no fine-tuning in this cell: nothing to compare with
    assert np.isnan(alone["p_value"]) and np.isnan(alone["rel_vs_finetune"])
    assert set(table[table.k == "10"]["label"]) == {"ppr-full"}


def test_sweep_table_of_no_finished_runs_is_empty_with_its_columns(tmp_path: Path) -> None:
    warm_run(tmp_path, np.ones(8))
    empty = sweep_table(list_runs(tmp_path / "runs"))
    assert empty.empty and list(empty.columns) == COLUMNS
    assert "No finished tuning runs yet." in render(empty)


def test_paper_table_marks_significant_gains_and_renders_as_markdown(runs) -> None:
    table = sweep_table(runs, METRICS)
    paper = paper_table(table, "2", 0.0, "joint")
    assert list(paper.columns) == ["method", "AUC", "NDCG@10"]
    assert list(paper["method"]) == ["finetune", "ppr-full", "ppr-light-nocl"]  # fine-tuning first
    starred = paper.set_index("method").apply(lambda col: col.str.endswith("*"))
    assert starred.loc["ppr-full"].all() and not starred.loc[["finetune", "ppr-light-nocl"]].any().any()
    assert all("±" in c for c in paper["AUC"])  # two seeds: a spread
    assert not paper_table(table, "2", 0.0, "joint", alpha=0.0)["AUC"].str.contains(r"\*").any()

    lines = markdown(paper).splitlines()
    assert lines[0] == "| method | AUC | NDCG@10 |" and lines[1] == "|---|---|---|"
    assert len(lines) == 5 and lines[3].startswith("| ppr-full | ") and "*" in lines[3]
    assert markdown(pd.DataFrame({"a": ["x"], "n": [3]})).splitlines()[1] == "|---|---:|"  # numbers right


def test_paper_table_from_a_hand_made_table() -> None:
    t = pd.DataFrame(
        {
            "k": ["2"] * 2,
            "noise": [0.0] * 2,
            "label": ["ppr", "finetune"],
            "group": ["joint"] * 2,
            "metric": ["auc"] * 2,
            "mean": [0.6, 0.5],
            "std": [0.02, 0.01],
            "n_seeds": [2, 2],
            "p_value": [0.01, np.nan],
        }
    )
    out = paper_table(t, "2", 0.0, "joint")
    assert list(out["method"]) == ["finetune", "ppr"]
    assert list(out["AUC"]) == ["0.5000 ± 0.0100", "0.6000 ± 0.0200*"]
    assert cell_text(0.5, 0.1, 1, 0.001, 0.05) == "0.5000*"  # one seed: no spread
    assert cell_text(0.5, 0.1, 3, None, 0.05) == "0.5000 ± 0.1000"


def test_render_as_markdown_csv_and_json(runs) -> None:
    table = sweep_table(runs)
    md = render(table, "md", "Sweep x")
    assert md.startswith("# Sweep x\n")
    assert [line for line in md.splitlines() if line.startswith("## ")] == [
        "## joint test targets",
        "## few-shot test targets",
        "## zero-shot test targets",
    ]
    full = _row(table, "2", "ppr-full", "ndcg@10")
    line = next(x for x in md.splitlines() if x.startswith("| 2 | 0 | ppr-full |"))
    assert f"{full['mean']:.4f} ± {full['std']:.4f}" in line and f"{100 * full['rel_vs_finetune']:+.1f}%" in line
    assert next(x for x in md.splitlines() if x.startswith("| 2 | 0 | finetune |")).count("%") == 0

    back = pd.read_csv(io.StringIO(render(table, "csv")), dtype={"k": str})
    assert list(back.columns) == COLUMNS and len(back) == len(table)
    out = json.loads(render(table, "json", summary={"id": "x"}))
    assert out["summary"] == {"id": "x"} and len(out["rows"]) == len(table)
