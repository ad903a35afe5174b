"""MeLU's local update: the written-out gradients are autograd's, a user without clicks keeps the global layers,
and first-order meta-gradients reach the global parameters."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from ppr.models import melu
from ppr.models.melu import MeLU
from ppr.spec.run import BackboneSpec

CARDS = [4, 3]


def _model() -> MeLU:
    torch.manual_seed(0)
    m = MeLU(BackboneSpec(d=8, d_ff=12), 20, CARDS)
    with torch.no_grad():
        m.item_emb.weight.normal_(0, 0.5)  # scores far from uniform: gradients that matter
        for p in m.decision.parameters():
            p.normal_(0, 0.3)
    return m


def _by_autograd(m: MeLU, clicks: list[int], codes: torch.Tensor) -> torch.Tensor:
    """The user's vector after LOCAL_STEPS plain SGD steps of a copy of the decision layers on its clicks."""
    decision = copy.deepcopy(m.decision)
    x = m.embed(codes).detach()
    table = m.item_emb.weight.detach()[1:]
    target = torch.tensor(clicks) - 1
    for _ in range(melu.LOCAL_STEPS):
        loss = F.cross_entropy((decision(x) @ table.T).expand(len(target), -1), target)
        grads = torch.autograd.grad(loss, list(decision.parameters()))
        with torch.no_grad():
            for p, g in zip(decision.parameters(), grads, strict=True):
                p -= melu.LOCAL_LR * g
    return decision(x)[0]


def test_the_local_update_is_plain_sgd_on_the_users_clicks() -> None:
    m = _model()
    seq = torch.tensor([[3, 7, 7, 0, 0], [11, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
    codes = torch.tensor([[1, 2], [3, 0], [2, 1]])
    with torch.no_grad():
        u = m.user_vector(seq, codes)
    assert torch.allclose(u[0], _by_autograd(m, [3, 7, 7], codes[:1]), atol=1e-5)
    assert torch.allclose(u[1], _by_autograd(m, [11], codes[1:2]), atol=1e-5)
    assert torch.allclose(u[2], m.decision(m.embed(codes[2:])).detach()[0], atol=1e-6)  # no clicks: global layers
    assert not torch.allclose(u[0], m.decision(m.embed(codes[:1])).detach()[0], atol=1e-3)  # clicks moved it


def test_adapting_to_a_users_clicks_ranks_them_higher() -> None:
    m = _model()
    seq, codes = torch.tensor([[5, 9, 0]]), torch.tensor([[1, 1]])
    with torch.no_grad():
        adapted = m.score(m.user_vector(seq, codes), torch.tensor([[5, 9]]))
        global_ = m.score(m.decision(m.embed(codes)), torch.tensor([[5, 9]]))
    assert (adapted > global_).all()


def test_first_order_meta_gradients_reach_the_global_layers_items_and_profile() -> None:
    m = _model()
    u = m.user_vector(torch.tensor([[1, 2, 0]]), torch.tensor([[1, 2]]))
    m.score(u, torch.tensor([[4, 6]])).sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
