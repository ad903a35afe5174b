"""evaluate: histories, k-shot crop, candidates, per-kind summaries (with a transparent stub model)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch

from ppr.eval.evaluate import evaluate, summarize_scores


class SumModel(torch.nn.Module):
    """User vector = (sum of history item ids, number of clicks); score = -|sum - item|.

    The positive scores best exactly when the history sums to the target id, so the
    test can tell whether the evaluator built the right (cropped) history.
    """

    def __init__(self) -> None:
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))
        self.seen: list[torch.Tensor] = []

    def user_vector(self, seq: torch.Tensor, codes) -> torch.Tensor:
        self.seen.append(seq.clone())
        return torch.stack([seq.sum(1).float(), (seq != 0).sum(1).float()], 1)

    def score(self, u: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
        return -(u[:, :1] - cand.float()).abs()


def _split() -> SimpleNamespace:
    # user 0 (test): clicks 2, 3, 5, 10 -> zero-shot target 2, few-shot 3 (hist 2), 5 (2+3), 10 (2+3+5)
    # user 1 (val): clicks 7, 7+... ; user 2 (test) one click 40 -> only a zero-shot target
    items = np.array([2, 3, 5, 10, 7, 50, 40], np.int32)
    offsets = np.array([0, 4, 6, 7])
    targets = pd.DataFrame(
        {
            "target_id": np.arange(7),
            "user": np.array([0, 0, 0, 0, 1, 1, 2], np.int32),
            "group": ["test"] * 4 + ["val"] * 2 + ["test"],
            "kind": ["zero", "few", "few", "few", "zero", "few", "zero"],
            "pos": np.array([0, 1, 2, 3, 0, 1, 0], np.int32),
            "item": np.array([2, 3, 5, 10, 7, 50, 40], np.int32),
        }
    )
    negatives = np.tile(np.arange(100, 199, dtype=np.int32), (7, 1))
    return SimpleNamespace(offsets=offsets, items=items, targets=targets, negatives=negatives)


def test_scores_every_target_of_the_group_in_one_batch_with_right_histories() -> None:
    model = SumModel()
    scores = evaluate(model, _split(), "test", None, max_len=50)
    assert scores["target_id"].tolist() == [0, 1, 2, 3, 6]
    assert len(model.seen) == 1 and model.seen[0].shape == (5, 50)  # batched, no per-user loop
    assert model.seen[0][3, :3].tolist() == [2, 3, 5] and model.seen[0][3, 3:].sum() == 0
    # few-shot: history sums equal the target only for targets 2 (hist [2,3] -> 5) and 3 (-> 10)
    assert scores.set_index("target_id").loc[[2, 3], "hit@5"].tolist() == [1.0, 1.0]
    assert scores.set_index("target_id").loc[1, "rank"] == 0  # hist [2] scores 3 at distance 1, negatives far
    summary = summarize_scores(scores)
    assert summary["zero"]["n"] == 2 and summary["few"]["n"] == 3 and summary["joint"]["n"] == 5
    assert np.isclose(summary["joint"]["auc"], scores["auc"].mean())


def test_k_shot_keeps_the_last_k_clicks_before_each_target() -> None:
    model = SumModel()
    evaluate(model, _split(), "test", None, max_len=50, k_shot=2)
    seqs = model.seen[0]
    assert seqs.shape[1] == 2
    assert seqs[3].tolist() == [3, 5]  # target at pos 3: last two clicks before it
    assert seqs[0].tolist() == [0, 0]  # zero-shot: empty history


def test_zero_vector_user_ties_everything_and_ranks_last() -> None:
    class Zero(SumModel):
        def user_vector(self, seq, codes):
            return torch.zeros(seq.shape[0], 2)

        def score(self, u, cand):
            return torch.zeros(cand.shape)

    scores = evaluate(Zero(), _split(), "val", None, max_len=5)
    assert (scores["auc"] == 0.5).all() and (scores["hit@50"] == 0).all()


def test_columns_codes_per_target_and_an_empty_group() -> None:
    class CodesModel(SumModel):
        def user_vector(self, seq, codes):
            self.seen.append(codes.clone())
            assert not self.training  # scored in eval mode
            return super().user_vector(seq, codes)

    model = CodesModel().train()
    codes = np.array([[1, 0], [2, 1], [3, 2]])
    scores = evaluate(model, _split(), "val", codes, max_len=5)
    assert model.training  # the caller's mode comes back
    assert model.seen[0].tolist() == [[2, 1], [2, 1]]  # user 1's codes for each of its targets
    assert list(scores.columns[:4]) == ["target_id", "user", "group", "kind"]
    assert {"rank", "auc", "hit@10", "ndcg@10", "hit@50", "ndcg@50"} <= set(scores.columns)
    assert scores["group"].tolist() == ["val", "val"] and scores["kind"].tolist() == ["zero", "few"]
    empty = evaluate(SumModel(), _split(), "warm_val", None, max_len=5)
    assert len(empty) == 0 and "auc" in empty.columns
    summary = summarize_scores(empty)
    assert summary["joint"]["n"] == 0 and np.isnan(summary["joint"]["auc"])
    few_only = summarize_scores(scores[scores["kind"] == "few"])
    assert few_only["zero"]["n"] == 0 and few_only["few"]["n"] == 1
