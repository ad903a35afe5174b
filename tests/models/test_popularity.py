"""The popularity baselines as dot-product models: counted tables, one-hot profiles, the one scorer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ppr.eval.scoring import candidate_scores, top_k
from ppr.models.popularity import popularity, profile_popularity

CPU = torch.device("cpu")


def test_pop_ranks_by_clicks_and_ignores_the_user() -> None:
    model = popularity(np.array([3, 3, 3, 1, 2, 2]), n_items=4)
    seqs = np.array([[1, 0], [0, 0]])
    assert top_k(model, seqs, None, 3, CPU)[1].tolist() == [3, 2, 1]
    assert top_k(model, seqs, None, 3, CPU)[0].tolist() == [3, 2, 4]  # a clicked item is never recommended
    scores = candidate_scores(model, seqs, None, np.array([[3, 4], [2, 1]]), CPU)
    assert scores[0, 0] == pytest.approx(np.log(4)) and scores[0, 1] == pytest.approx(np.log(1))


def test_pop_profile_is_naive_bayes_with_prior_shaped_smoothing() -> None:
    items = np.array([1, 1, 2, 3, 3, 3])
    codes = np.array([[1, 0], [1, 0], [1, 1], [2, 1], [2, 1], [2, 0]])  # two attributes of 3 and 2 values
    s = 2.0
    model = profile_popularity(items, codes, n_items=3, cardinalities=[3, 2], smoothing=s)
    prior = np.log(np.bincount(items, minlength=4) + 1.0) - np.log(len(items) + 3)

    def conditional(a: int, v: int) -> np.ndarray:
        c = np.bincount(items[codes[:, a] == v], minlength=4).astype(float)
        return np.log(c + s * 3 * np.exp(prior)) - np.log(c.sum() + s * 3)

    user = np.array([[2, 1]])
    expected = prior + (conditional(0, 2) - prior) + (conditional(1, 1) - prior)
    got = candidate_scores(model, np.zeros((1, 1), np.int64), user, np.array([[1, 2, 3]]), CPU)[0]
    assert got == pytest.approx(expected[1:], rel=1e-5)
    assert top_k(model, np.zeros((1, 1), np.int64), user, 1, CPU)[0, 0] == 3  # the user's segment clicks item 3
    rare = profile_popularity(items, codes, 3, [3, 2], smoothing=1e6)  # huge smoothing: the prior alone
    flat = candidate_scores(rare, np.zeros((1, 1), np.int64), user, np.array([[1, 2, 3]]), CPU)[0]
    assert np.argsort(flat).tolist() == np.argsort(prior[1:]).tolist()
