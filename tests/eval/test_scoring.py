"""The one scorer: candidate scores, top-k over the catalogue and user vectors agree with the model itself."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ppr.eval.scoring
from ppr.eval.scoring import candidate_scores, top_k, user_vectors
from ppr.models.profile import ProfileEncoder
from ppr.models.prompt import PromptGenerator
from ppr.models.recommender import ColdStartRecommender
from ppr.models.sasrec import SASRec
from ppr.spec.run import BackboneSpec

CPU = torch.device("cpu")
N_ITEMS, CARDS = 40, [3, 4]
SEQS = np.array(
    [
        [1, 2, 3, 4, 5, 0],
        [7, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0],  # zero-shot
        [40, 39, 12, 11, 10, 9],
        [6, 6, 8, 0, 0, 0],  # a repeated click
    ]
)
CODES = np.array([[1, 2], [0, 3], [2, 1], [1, 1], [0, 0]])


@pytest.fixture
def model() -> ColdStartRecommender:
    torch.manual_seed(0)
    spec = BackboneSpec(max_len=6, d=8, n_layers=2, n_heads=2, d_ff=16, dropout=0.3)
    return ColdStartRecommender(SASRec(spec, N_ITEMS), PromptGenerator(CARDS, 8), ProfileEncoder(CARDS, 8)).train()


def _direct_user_vectors(model: ColdStartRecommender) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        u = model.user_vector(torch.as_tensor(SEQS), torch.as_tensor(CODES))
    model.train()
    return u


def test_candidate_scores_are_dot_products_with_the_item_embeddings(model) -> None:
    cand = np.random.default_rng(0).integers(1, N_ITEMS + 1, size=(len(SEQS), 7))
    scores = candidate_scores(model, SEQS, CODES, cand, CPU)
    assert scores.shape == cand.shape and scores.dtype == np.float32
    assert model.training  # scored in eval mode (no dropout), the mode restored after
    u = _direct_user_vectors(model)
    with torch.no_grad():
        direct = (u[:, None, :] * model.backbone.item_emb.weight[torch.as_tensor(cand)]).sum(-1)
    np.testing.assert_allclose(scores, direct.numpy(), rtol=1e-5, atol=1e-6)
    assert np.array_equal(candidate_scores(model, SEQS, CODES, cand, CPU), scores)  # no dropout: deterministic


def test_user_vectors_match_the_model(model) -> None:
    vectors = user_vectors(model, SEQS, CODES, CPU)
    assert vectors.shape == (len(SEQS), 8) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, _direct_user_vectors(model).numpy(), rtol=1e-5, atol=1e-6)
    assert np.abs(vectors[2]).sum() > 0  # a zero-shot user gets its vector from the prompt and profile
    assert user_vectors(model, SEQS[:0], CODES[:0], CPU).shape == (0, 8)
    plain = ColdStartRecommender(model.backbone)
    assert np.all(user_vectors(plain, SEQS, None, CPU)[2] == 0)  # no prompt, no profile, no clicks


def test_batches_give_the_same_scores(model, monkeypatch: pytest.MonkeyPatch) -> None:
    cand = np.tile(np.arange(1, 11), (len(SEQS), 1))
    whole = candidate_scores(model, SEQS, CODES, cand, CPU)
    top, vectors = top_k(model, SEQS, CODES, 5, CPU), user_vectors(model, SEQS, CODES, CPU)
    monkeypatch.setattr(ppr.eval.scoring, "EVAL_BATCH", 2)
    np.testing.assert_allclose(candidate_scores(model, SEQS, CODES, cand, CPU), whole, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(user_vectors(model, SEQS, CODES, CPU), vectors, rtol=1e-6, atol=1e-7)
    assert np.array_equal(top_k(model, SEQS, CODES, 5, CPU), top)


@pytest.mark.parametrize("k", [1, 10, N_ITEMS - SEQS.shape[1]])
def test_top_k_ranks_the_catalogue_without_the_history(model, k: int) -> None:
    top = top_k(model, SEQS, CODES, k, CPU)
    assert top.shape == (len(SEQS), k) and top.dtype == np.int64
    assert model.training
    u = _direct_user_vectors(model)
    with torch.no_grad():
        full = (u @ model.backbone.item_emb.weight.T).numpy()  # column 0 = padding
    for row, seq, scores in zip(top, SEQS, full, strict=True):
        assert 0 not in row and not set(row) & set(seq.tolist())  # never padding, never an item of the history
        assert len(set(row)) == k and row.min() >= 1 and row.max() <= N_ITEMS
        ranked = scores[row]
        assert np.all(np.diff(ranked) <= 0)  # best first
        masked = scores.copy()
        masked[0] = -np.inf
        masked[seq] = -np.inf
        assert row.tolist() == np.argsort(-masked, kind="stable")[:k].tolist()


def test_top_k_of_the_whole_catalogue_is_capped(model) -> None:
    top = top_k(model, SEQS[2:3], CODES[2:3], N_ITEMS + 10, CPU)  # zero-shot: no history to exclude
    assert top.shape == (1, N_ITEMS) and sorted(top[0].tolist()) == list(range(1, N_ITEMS + 1))


def test_top_k_marks_the_slots_a_long_history_leaves_empty(model) -> None:
    top = top_k(model, SEQS, CODES, N_ITEMS, CPU)
    assert top.shape == (len(SEQS), N_ITEMS)
    for row, seq in zip(top, SEQS, strict=True):
        n_left = N_ITEMS - len(set(seq.tolist()) - {0})
        assert sorted(row[:n_left].tolist()) == sorted(set(range(1, N_ITEMS + 1)) - set(seq.tolist()))
        assert np.all(row[n_left:] == -1)  # no item left: never a clicked item or padding


def test_a_pool_limits_the_catalogue_of_top_k_and_full_ranks(model) -> None:
    from ppr.eval.scoring import full_ranks

    pool = np.zeros(N_ITEMS + 1, dtype=bool)
    pool[20:] = True  # a cross-domain run's target domain
    top = top_k(model, SEQS, CODES, 30, CPU, pool=pool)
    assert ((top >= 20) | (top == -1)).all() and (top[:, :15] >= 20).all()
    assert (top[3, -6:] == -1).all()  # 21 pool items, 2 of them in row 3's history: 19 left
    u = _direct_user_vectors(model).detach()
    positives = np.array([20, 25, 30, 35, 40])
    ranks = full_ranks(model, SEQS, CODES, positives, CPU, pool=pool)
    scores = (u @ model.backbone.item_emb.weight.T).detach().numpy()
    for row, pos in enumerate(positives):
        others = [i for i in range(20, N_ITEMS + 1) if i != pos and i not in SEQS[row]]
        assert ranks[row] == (scores[row, others] >= scores[row, pos]).sum()
    assert (full_ranks(model, SEQS, CODES, positives, CPU) >= ranks).all()
