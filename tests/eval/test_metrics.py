import math

import numpy as np
import pytest
import torch

from ppr.eval.metrics import rank_metrics, summarize


def test_hand_computed_ranks_with_ties():
    pos = np.array([5.0, 1.0, 2.0, 0.0])
    neg = np.array(
        [
            [1.0, 2.0, 3.0, 4.0],  # rank 0, auc 1
            [1.0, 1.0, 0.0, 3.0],  # 1 greater + 2 ties -> rank 3; auc (1 + 0.5*2)/4 = 0.5
            [2.0, 2.0, 2.0, 2.0],  # all tie -> rank 4 (pessimistic); auc 0.5
            [1.0, 1.0, 1.0, 1.0],  # worst: rank 4, auc 0
        ]
    )
    m = rank_metrics(pos, neg)
    assert m["rank"].tolist() == [0, 3, 4, 4]
    assert np.allclose(m["auc"], [1.0, 0.5, 0.5, 0.0])
    assert m["hit@5"].tolist() == [1, 1, 1, 1]
    assert np.allclose(m["ndcg@5"], [1.0, 1 / math.log2(5), 1 / math.log2(6), 1 / math.log2(6)])
    assert np.allclose(m["ndcg@10"], m["ndcg@5"])


def test_cutoffs_with_many_negatives():
    neg = np.tile(np.arange(100, dtype=float), (1, 1))
    m = rank_metrics(np.array([89.5]), neg)  # 10 negatives above (90..99) -> rank 10
    assert m["rank"][0] == 10
    assert m["hit@5"][0] == 0 and m["hit@10"][0] == 0 and m["hit@20"][0] == 1
    assert m["ndcg@20"][0] == pytest.approx(1 / math.log2(12))
    assert m["auc"][0] == pytest.approx(90 / 100)


def test_torch_input_and_summary_means():
    m = rank_metrics(torch.tensor([3.0, 0.0]), torch.tensor([[1.0, 2.0], [1.0, 2.0]]))
    s = summarize(m)
    assert s["hit@5"] == 1.0 and s["auc"] == 0.5
    assert s["ndcg@5"] == pytest.approx((1 + 1 / math.log2(4)) / 2)
    assert "rank" not in s


def test_a_nan_score_is_the_worst_score() -> None:
    nan = float("nan")
    m = rank_metrics(np.array([nan, 1.0, nan]), np.array([[0.0, -1.0], [nan, nan], [nan, 0.0]]))
    assert m["rank"].tolist() == [2, 0, 2]  # a NaN positive ranks last; NaN negatives rank below a real score
    assert m["hit@5"].tolist() == [1.0, 1.0, 1.0] and m["auc"].tolist() == [0.0, 1.0, 0.25]  # a tie counts half
    assert m["ndcg@10"][0] < m["ndcg@10"][1]
