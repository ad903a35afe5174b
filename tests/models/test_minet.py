"""MiNet: one vector per user from three interests, every prefix in one pass, the source clicks picked by the
codes' last column, and a zero-shot user scored from the source domain alone."""

from __future__ import annotations

import numpy as np
import torch

from ppr.models.minet import MiNet
from ppr.spec.run import BackboneSpec

SPEC = BackboneSpec(max_len=5, d=8, d_ff=16, dropout=0.0)
SOURCE = np.array([[0, 0, 0, 0, 0], [11, 12, 13, 0, 0], [14, 0, 0, 0, 0]])  # row 0: none; users 0 and 1


def _model() -> MiNet:
    torch.manual_seed(0)
    return MiNet(SPEC, 20, SOURCE).eval()


SEQ = torch.tensor([[1, 2, 3, 0, 0], [4, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
CODES = torch.tensor([[2, 1], [0, 2], [1, 0]])  # the last column: the user's source row


def test_every_prefix_in_one_pass_matches_the_user_vector_of_that_prefix() -> None:
    m = _model()
    out = m.sequence_outputs(SEQ, CODES, zero_shot=True)
    assert out.shape == (3, 6, 8) and torch.allclose(m.sequence_outputs(SEQ, CODES), out[:, 1:])
    for t in range(4):
        hist = SEQ.clone()
        hist[:, t:] = 0
        rows = [i for i in range(3) if t <= int((SEQ[i] != 0).sum())]
        assert torch.allclose(out[rows, t], m.user_vector(hist, CODES)[rows], atol=1e-5)
    longer = SEQ.clone()
    longer[0, 3] = 9  # a later click never changes an earlier state
    assert torch.allclose(m.sequence_outputs(longer, CODES)[0, :3], out[0, 1:4], atol=1e-6)


def test_the_source_clicks_are_those_of_the_codes_row() -> None:
    m = _model()
    zero = torch.zeros(2, 5, dtype=torch.long)
    u = m.user_vector(zero, torch.tensor([[0, 1], [0, 2]]))
    assert not torch.allclose(u[0], u[1])  # zero-shot users told apart by their source clicks alone
    same = m.user_vector(zero, torch.tensor([[5, 1], [3, 1]]))
    assert torch.allclose(same[0], same[1])  # the profile columns are not read
    scores = m.score(u, torch.tensor([[1, 2, 3], [1, 2, 3]]))
    assert scores.shape == (2, 3) and torch.allclose(scores[0], m.item_emb(torch.tensor([1, 2, 3])) @ u[0])
    blind = MiNet(SPEC, 20).eval()  # no source clicks held: every user reads row 0
    assert torch.isfinite(blind.user_vector(SEQ, CODES)).all()
