"""BERT4Rec: bidirectional over what it may read, the user state at a mask after the last click, and the
per-position outputs the tuning methods train on equal to one mask pass per prefix of the clicks."""

from __future__ import annotations

import pytest
import torch

from ppr.errors import InputError
from ppr.models.bert4rec import BERT4Rec
from ppr.models.registry import build_backbone
from ppr.spec.run import BackboneSpec, RunSpec, TuneSpec

SPEC = BackboneSpec(kind="bert4rec", max_len=6, d=16, n_layers=2, n_heads=2, d_ff=32, dropout=0.0)


def _model(seed: int = 0) -> BERT4Rec:
    torch.manual_seed(seed)
    return BERT4Rec(SPEC, 30).eval()


def test_the_registry_builds_it() -> None:
    assert isinstance(build_backbone(SPEC, 30), BERT4Rec)


def test_the_user_state_reads_every_click_and_never_padding() -> None:
    m = _model()
    a = m.user_hidden(torch.tensor([[1, 2, 3, 0, 0, 0]]))
    assert torch.allclose(a, m.user_hidden(torch.tensor([[1, 2, 3]])), atol=1e-6)  # padding is never read
    assert not torch.allclose(a, m.user_hidden(torch.tensor([[9, 2, 3, 0, 0, 0]])))  # the first click is read
    full = torch.tensor([[1, 2, 3, 4, 5, 6]])  # a full window: the mask sits at position max_len
    assert m.user_hidden(full).shape == (1, SPEC.d) and torch.isfinite(m.user_hidden(full)).all()


def test_a_cloze_position_sees_clicks_on_both_sides() -> None:
    m = _model()
    masked = torch.tensor([[False, True, False, False]])
    a = m.cloze_states(torch.tensor([[1, 2, 3, 4]]), masked)[:, 1]
    b = m.cloze_states(torch.tensor([[1, 2, 3, 7]]), masked)[:, 1]
    assert not torch.allclose(a, b)  # a later click changes the masked state: bidirectional
    c = m.cloze_states(torch.tensor([[1, 9, 3, 4]]), masked)[:, 1]
    assert torch.allclose(a, c, atol=1e-6)  # the masked click itself is hidden


def test_per_position_outputs_are_one_mask_pass_per_prefix_of_the_clicks() -> None:
    m = _model()
    seq = torch.tensor([[4, 5, 6, 0], [7, 0, 0, 0]])
    prefix = torch.randn(2, 2, SPEC.d)
    out = m.encode(seq, prefix)
    assert out.shape == (2, 6, SPEC.d)
    for t in range(4):
        upto = seq.clone()
        upto[:, t + 1 :] = 0
        assert torch.allclose(out[:, 2 + t], m.user_hidden(upto, prefix, torch.full((2,), t + 1)), atol=1e-5)
    zero = m.user_hidden(torch.zeros_like(seq), prefix)  # the zero-shot slot: the mask right after the prompt
    assert torch.allclose(out[:, 1], zero, atol=1e-5)
    assert not torch.allclose(m.user_hidden(seq, prefix), m.user_hidden(seq))  # the prompt is read
    assert torch.equal(m.user_hidden(torch.zeros(1, 3, dtype=torch.long))[0], torch.zeros(SPEC.d))  # nothing read


def test_clicks_masked_in_place_are_not_read() -> None:
    m = _model()
    holes = torch.tensor([[4, 0, 6]])
    n = torch.tensor([3])
    assert not torch.allclose(m.user_hidden(holes, None, n), m.user_hidden(holes))  # the mask goes at lengths, not 2
    assert not torch.allclose(m.user_hidden(holes, None, n), m.user_hidden(torch.tensor([[4, 5, 6]]), None, n))


def test_a_deep_prefix_and_overlong_input_are_refused() -> None:
    with pytest.raises(InputError, match="deep prefix"):
        _model().user_hidden(torch.tensor([[1, 2]]), torch.randn(2, 1, 1, SPEC.d))
    with pytest.raises(InputError, match="deep_prefix needs one of sasrec, cl4srec"):
        RunSpec("d@v1", "h", backbone=SPEC, tune=TuneSpec(deep_prefix=True))
    with pytest.raises(InputError, match="max_len"):
        _model().user_hidden(torch.ones(1, 7, dtype=torch.long))
