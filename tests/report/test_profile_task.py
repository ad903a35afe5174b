"""Profile-prediction measures agree with scikit-learn's, and carry intervals over users and a paired test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

from ppr.report.profile_task import MEASURES, profile_table


def _preds(label: str, truth: np.ndarray, pred: np.ndarray, score: np.ndarray, seed: int = 0) -> pd.DataFrame:
    n = len(truth)
    return pd.DataFrame(
        {"label": label, "seed": seed, "fold": 0, "user": np.arange(n), "truth": truth, "pred": pred, "score": score}
    )


def test_measures_match_scikit_learn_and_only_a_binary_attribute_has_an_auc() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(1, 3, 300)
    score = np.clip(0.3 * (truth == 2) + rng.random(300), 0, 1)
    pred = np.where(score > 0.6, 2, 1)
    multi = rng.integers(1, 4, 300)
    table = profile_table(
        pd.concat(
            [
                _preds("finetune", truth, pred, score),
                _preds("guess", truth, np.ones(300, int), np.full(300, 0.5)),
            ]
        )
    ).set_index("label")
    p, r, f, _ = precision_recall_fscore_support(truth, pred, average="macro", zero_division=0)
    row = table.loc["finetune"]
    assert row["accuracy"] == pytest.approx(accuracy_score(truth, pred))
    assert (row["macro_precision"], row["macro_recall"], row["macro_f1"]) == pytest.approx((p, r, f))
    assert row["auc"] == pytest.approx(roc_auc_score(truth == 2, score))
    for m in MEASURES:
        assert row[f"{m}_low"] <= row[m] <= row[f"{m}_high"]
    guess = table.loc["guess"]
    assert guess["macro_precision"] == pytest.approx(
        precision_recall_fscore_support(truth, np.ones(300, int), average="macro", zero_division=0)[0]
    )
    assert guess["auc"] == pytest.approx(0.5) and guess["diff"] < 0 and guess["p_adj"] < 0.05
    three = profile_table(_preds("finetune", multi, multi, np.zeros(300))).iloc[0]
    assert three["accuracy"] == 1.0 and np.isnan(three["auc"])


def test_seeds_are_averaged_per_user_and_every_label_is_compared_with_finetune() -> None:
    truth = np.array([1, 2] * 50)
    right, wrong = truth, 3 - truth
    preds = pd.concat(
        [
            _preds("finetune", truth, right, truth - 1.0, seed=0),
            _preds("finetune", truth, wrong, 2.0 - truth, seed=1),
            _preds("ppr-light", truth, right, truth - 1.0, seed=0),
            _preds("ppr-light", truth, right, truth - 1.0, seed=1),
        ]
    )
    table = profile_table(preds).set_index("label")
    assert table.loc["finetune", "accuracy"] == pytest.approx(0.5) and table.loc["finetune", "n_seeds"] == 2
    assert table.loc["ppr-light", "accuracy"] == 1.0
    assert table.loc["ppr-light", "diff"] == pytest.approx(0.5) and table.loc["ppr-light", "p_adj"] < 0.05
    assert np.isnan(table.loc["finetune", "diff"])


def test_seeds_that_test_different_users_each_count_their_own_users() -> None:
    """A reproduction's seed s also picks split seed s, so each seed tests its own cold users."""
    truth = np.array([1, 2] * 50)
    first = _preds("finetune", truth, truth, truth - 1.0, seed=0)  # users 0..99, all right
    second = _preds("finetune", truth, 3 - truth, 2.0 - truth, seed=1).assign(user=lambda d: d["user"] + 50)
    row = profile_table(pd.concat([first, second])).iloc[0]  # users 50..149, all wrong; 50..99 in both
    assert row["n_users"] == 150 and row["n_seeds"] == 2
    assert row["accuracy"] == pytest.approx(0.5) and row["macro_f1"] == pytest.approx(0.5)
    assert row["auc"] == pytest.approx(0.5)
    assert row["accuracy_low"] <= 0.5 <= row["accuracy_high"]
