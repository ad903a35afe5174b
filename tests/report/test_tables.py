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
from ppr.report.significance import user_means
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


def test_sweep_table_means_intervals_differences_and_adjusted_p_per_cell(runs) -> None:
    table = sweep_table(runs, METRICS)
    assert list(table.columns) == COLUMNS
    assert list(dict.fromkeys(table["k"])) == ["2", "10", "all"]  # numeric order, not text order
    assert set(table["noise"]) == {0.0} and set(table["n_seeds"]) == {2} and set(table["n_users"]) == {N // 4}
    assert set(table["label"]) == {"finetune", "ppr-full", "ppr-light-nocl"}

    scores = load_scores(runs)
    for k in ("2", "all"):
        base, full, light = (_row(table, k, x) for x in ("finetune", "ppr-full", "ppr-light-nocl"))
        mine = user_means(scores[scores.k == k], "joint", ["auc"]).loc["finetune", "auc"]
        assert base["mean"] == pytest.approx(mine.mean()) and base["ci_low"] < base["mean"] < base["ci_high"]
        assert np.isnan(base["p_adj"]) and base["rel_vs_finetune"] == pytest.approx(0.0)
        assert full["rel_vs_finetune"] == pytest.approx(full["mean"] / base["mean"] - 1)
        assert full["diff"] == pytest.approx(full["mean"] - base["mean"]) and full["diff_low"] > 0
        assert full["p_adj"] < 1e-6 and full["significant"] and full["seeds_agree"] == "2/2"
        assert light["p_adj"] > 0.01 and not light["significant"]
        assert (full["method"], full["ablation"]) == ("ppr-full", "none")
        assert (light["method"], light["ablation"]) == ("ppr-light", "nocl")
    # BH across the whole table: each adjusted p is at least its raw p
    has_p = table["p_wilcoxon"].notna()
    assert (table.loc[has_p, "p_adj"] >= table.loc[has_p, "p_wilcoxon"] - 1e-12).all()
    alone = _row(table, "10", "ppr-full")  # no fine-tuning in this cell: nothing to compare with
    assert np.isnan(alone["p_adj"]) and np.isnan(alone["rel_vs_finetune"]) and np.isnan(alone["diff"])
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
    assert all(c.count("[") == 1 for c in paper["AUC"])  # an interval in every cell
    assert not paper_table(table, "2", 0.0, "joint", alpha=0.0)["AUC"].str.contains(r"\*").any()

    lines = markdown(paper).splitlines()
    assert lines[0] == "| method | AUC | NDCG@10 |" and lines[1] == "|---|---|---|"
    assert len(lines) == 5 and lines[3].startswith("| ppr-full | ") and "*" in lines[3]
    assert markdown(pd.DataFrame({"a": ["x"], "n": [3]})).splitlines()[1] == "|---|---:|"  # numbers right


def test_paper_table_shows_n_a_where_a_method_cannot_score_the_group() -> None:
    row = {"k": "all", "noise": 0.0, "metric": "auc", "ci_low": 0.4, "ci_high": 0.6, "p_adj": np.nan}
    t = pd.DataFrame(
        [
            {**row, "label": "finetune", "group": "zero", "mean": 0.5},
            {**row, "label": "sasrec", "group": "few", "mean": 0.55},
            {**row, "label": "pop", "group": "zero", "mean": 0.52, "p_adj": 0.01},
        ]
    )
    out = paper_table(t, "all", 0.0, "zero").set_index("method")["AUC"]
    assert list(out.index) == ["finetune", "pop", "sasrec"]  # fine-tuning, then the popularity baselines
    assert out["sasrec"] == "n/a" and out["pop"] == "0.5200 [0.4000, 0.6000]*"
    assert cell_text(None) == "n/a"


def test_render_as_markdown_csv_and_json(runs) -> None:
    table = sweep_table(runs)
    md = render(table, "md", "Sweep x")
    assert md.startswith("# Sweep x\n") and "Benjamini-Hochberg" in md
    heads = [line for line in md.splitlines() if line.startswith("## ")]
    assert heads[:3] == [
        "## k=2, noise 0: joint test targets",
        "## k=2, noise 0: few-shot test targets",
        "## k=2, noise 0: zero-shot test targets",
    ]
    full = _row(table, "2", "ppr-full", "ndcg@10")
    line = next(x for x in md.splitlines() if x.startswith("| ppr-full |"))
    assert f"{full['mean']:.4f} [{full['ci_low']:.4f}, {full['ci_high']:.4f}]*" in line
    assert f"{full['diff']:+.4f} [" in line and "seeds 2/2" in line
    assert "MRR (full)" not in render(table, "md", ranking="sampled")

    back = pd.read_csv(io.StringIO(render(table, "csv")), dtype={"k": str})
    assert list(back.columns) == COLUMNS and len(back) == len(table)
    out = json.loads(render(table, "json", summary={"id": "x"}))
    assert out["summary"] == {"id": "x"} and len(out["rows"]) == len(table)
