"""GRU4Rec: left to right, the prompt as pseudo-item inputs, the backbone interface PPR relies on."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from ppr.errors import InputError
from ppr.models.gru4rec import GRU4Rec
from ppr.models.registry import BACKBONE_CLASSES, build_backbone
from ppr.spec.run import BACKBONES, BackboneSpec, RunSpec, TuneSpec

SPEC = BackboneSpec(kind="gru4rec", max_len=8, d=16, n_layers=2, dropout=0.0)


def _model(seed: int = 0) -> GRU4Rec:
    torch.manual_seed(seed)
    return GRU4Rec(SPEC, 30).eval()


def test_every_backbone_kind_is_registered() -> None:
    assert set(BACKBONE_CLASSES) == set(BACKBONES)
    assert isinstance(build_backbone(SPEC, 30), GRU4Rec)
    assert type(build_backbone(dataclasses.replace(SPEC, kind="cl4srec"), 30)).__name__ == "SASRec"


def test_padding_and_later_clicks_never_change_earlier_positions() -> None:
    m = _model()
    a = m(torch.tensor([[1, 2, 3, 0, 0]]))
    b = m(torch.tensor([[1, 2, 3, 7, 9]]))
    assert torch.allclose(a[:, :3], b[:, :3], atol=1e-6)
    assert not torch.allclose(a[:, 3], b[:, 3])


def test_the_prompt_is_read_first_and_is_the_zero_shot_state() -> None:
    m = _model()
    seq = torch.tensor([[4, 5, 0], [0, 0, 0]])
    prefix = torch.randn(2, 2, SPEC.d)
    out = m.encode(seq, prefix)
    assert out.shape == (2, 5, SPEC.d)
    assert not torch.allclose(m(seq, prefix)[0], m(seq)[0])  # every click's state depends on the prompt
    hidden = m.user_hidden(seq, prefix)
    assert torch.allclose(hidden[0], out[0, 3]) and torch.allclose(hidden[1], out[1, 1])  # last click; last token
    assert torch.equal(m.user_hidden(seq)[1], torch.zeros(SPEC.d))  # neither clicks nor prompt: zeros


def test_a_deep_prefix_is_refused_with_a_reason() -> None:
    with pytest.raises(InputError, match="deep prefix"):
        _model().encode(torch.tensor([[1, 2]]), torch.randn(2, 1, 1, SPEC.d))
    with pytest.raises(InputError, match="deep_prefix needs one of sasrec, cl4srec"):
        RunSpec("d@v1", "h", backbone=SPEC, tune=TuneSpec(deep_prefix=True))
    with pytest.raises(InputError, match="max_len"):
        _model()(torch.ones(1, 9, dtype=torch.long))


def test_gradients_reach_embeddings_and_the_gru() -> None:
    m = _model().train()
    m(torch.tensor([[1, 2, 3]])).sum().backward()
    assert m.item_emb.weight.grad[1:4].abs().sum() > 0 and m.gru.weight_ih_l0.grad.abs().sum() > 0


def test_an_adapter_after_the_gru_starts_as_the_identity_and_then_changes_the_output() -> None:
    m = _model()
    seq = torch.tensor([[1, 2, 3]])
    before = m(seq)
    adapters = m.add_adapters(4)
    assert len(adapters) == 1 and torch.allclose(m(seq), before)
    with torch.no_grad():
        adapters[0].up.weight.fill_(0.1)
    assert not torch.allclose(m(seq), before)
