"""Who gains: a gain planted in one cohort is found there and not in the others, small cohorts are flagged,
history cohorts count exactly the clicks the model read, and bad breakdowns are clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ppr.data.splits import make_split
from ppr.data.store import Store
from ppr.errors import InputError
from ppr.jobs.sweep import sweep_runs
from ppr.report.cohorts import (
    HISTORY,
    MIN_USERS,
    clicks_seen,
    cohort_table,
    cohorts_of_runs,
    history_cohort,
    render_cohorts,
)
from ppr.report.results import load_scores
from ppr.train.batching import history_matrix


def planted_scores(rng: np.random.Generator, n_users: int = 120, gain: float = 0.3) -> tuple[pd.DataFrame, np.ndarray]:
    """finetune and 'better' per target; 'better' gains `gain` only for users of cohort 'x' (the first half);
    the last 10 users form a cohort 'z' with the same gain, too few to say much."""
    cohort = np.where(np.arange(n_users) < n_users // 2, "x", "y")
    cohort[-10:] = "z"
    rows = []
    for label in ("finetune", "better"):
        for seed in (0, 1):
            for u in range(n_users):
                shift = gain if label == "better" and cohort[u] in ("x", "z") else 0.0
                for t in range(4):
                    rows.append(
                        {
                            "label": label,
                            "method": label,
                            "seed": seed,
                            "user": u,
                            "target_id": u * 4 + t,
                            "kind": "zero" if t == 0 else "few",
                            "k": "all",
                            "noise": 0.0,
                            "ndcg@10": 0.4 + shift + rng.normal(0, 0.2) + 0.1 * np.sin(u),
                        }
                    )
    scores = pd.DataFrame(rows)
    return scores, cohort[scores["user"].to_numpy()]


def test_a_gain_planted_in_one_cohort_is_found_there_only() -> None:
    scores, cohorts = planted_scores(np.random.default_rng(0))
    table = cohort_table(scores, cohorts, "group", ["ndcg@10"]).set_index(["cohort", "label"])
    x, y, z = (table.loc[(c, "better")] for c in ("x", "y", "z"))
    assert x["diff"] == pytest.approx(0.3, abs=0.05) and x["diff_low"] > 0 and x["significant"]
    assert y["diff_low"] < 0 < y["diff_high"] and not y["significant"]
    assert (x["n_users"], y["n_users"], z["n_users"]) == (60, 50, 10)
    assert z["small"] and not x["small"] and not y["small"]
    assert z["diff_high"] - z["diff_low"] > x["diff_high"] - x["diff_low"]  # few users: a wider interval
    assert table["p_adj"].dropna().ge(table["p_wilcoxon"].dropna()).all()  # adjusted across the cohorts


def test_history_bins() -> None:
    seen = np.array([0, 1, 2, 4, 5, 9, 10, 50])
    assert list(history_cohort(seen)) == [
        "0 clicks",
        "1 click",
        "2-4 clicks",
        "2-4 clicks",
        "5-9 clicks",
        "5-9 clicks",
        "10+ clicks",
        "10+ clicks",
    ]


def test_clicks_seen_is_what_the_model_read(sweep_home) -> None:
    home, sid = sweep_home
    store = Store(home)
    scores = load_scores(sweep_runs(store, sid), warn=None)
    seen = clicks_seen(store, scores)
    run = next(r for r in sweep_runs(store, sid) if r.id == scores["run_id"].iloc[0])
    spec = run.spec()
    split = make_split(store.open(spec.dataset), spec.split, fold=spec.tune.fold)
    for k in ("2", "all"):
        rows = (scores["k"] == k).to_numpy()
        part = scores[rows]
        pos = split.targets.set_index("target_id").loc[part["target_id"], "pos"].to_numpy()
        window = spec.backbone.max_len if k == "all" else 2
        hist = history_matrix(split.offsets, split.items, part["user"].to_numpy(), pos, window)
        assert np.array_equal(seen[rows], (hist > 0).sum(axis=1))
        assert np.array_equal(seen[rows] == 0, (part["kind"] == "zero").to_numpy())
    assert seen[(scores["k"] == "2").to_numpy()].max() == 2


def test_sweep_breakdowns_and_errors(sweep_home) -> None:
    home, sid = sweep_home
    store = Store(home)
    runs = sweep_runs(store, sid)
    by_taste = cohorts_of_runs(store, runs, "taste", ["ndcg@10"], warn=None)
    assert set(by_taste["cohort"]) <= {"a", "b", "c", "d"} and set(by_taste["by"]) == {"taste"}
    both = cohorts_of_runs(store, runs, "attribute", ["ndcg@10"], warn=None)
    assert set(both["by"]) == {"taste", "noise"}
    history = cohorts_of_runs(store, runs, HISTORY, ["ndcg@10"], warn=None)
    assert set(history[history["k"] == "2"]["cohort"]) <= {"0 clicks", "1 click", "2-4 clicks"}
    assert (history["small"] == (history["n_users"] < MIN_USERS)).all()
    text = render_cohorts(history, "md", "T", "ndcg@10")
    assert "## k=2, noise 0: by history" in text and "Δ ppr-light" in text and "(few users)" in text
    with pytest.raises(InputError, match="attribute of planted@v1 \\(taste, noise\\)"):
        cohorts_of_runs(store, runs, "age", ["ndcg@10"], warn=None)
