import dataclasses

import pytest
import torch

from ppr.errors import InputError
from ppr.models.noise import Draws, use_draws
from ppr.models.sasrec import SASRec
from ppr.spec.run import BackboneSpec

SPEC = BackboneSpec(max_len=8, d=16, n_layers=2, n_heads=2, d_ff=32, dropout=0.1)


def _model(seed: int = 0, **kw) -> SASRec:
    torch.manual_seed(seed)
    return SASRec(dataclasses.replace(SPEC, **kw), 30).eval()


def test_init_is_small_normal_without_sqrt_d_scaling():
    m = _model()
    w = m.item_emb.weight[1:]
    assert abs(w.std().item() - 0.02) < 0.005
    assert torch.all(m.item_emb.weight[0] == 0)


def test_padding_never_changes_real_positions():
    m = _model()
    seq = torch.tensor([[3, 5, 7, 0, 0, 0]])
    longer = torch.tensor([[3, 5, 7, 0, 0, 0, 0, 0]])
    prefix = torch.randn(1, 2, 16)
    for p in (None, prefix):
        a, b = m(seq, p), m(longer, p)
        assert torch.allclose(a[:, :3], b[:, :3], atol=1e-6)
        assert torch.allclose(m.user_hidden(seq, p), m.user_hidden(longer, p), atol=1e-6)


def test_future_click_never_changes_earlier_positions():
    m = _model()
    a = m(torch.tensor([[3, 5, 7, 9]]))
    b = m(torch.tensor([[3, 5, 7, 11]]))
    assert torch.allclose(a[:, :3], b[:, :3], atol=1e-6)
    assert not torch.allclose(a[:, 3], b[:, 3])


def test_prompt_changes_every_position():
    m = _model()
    seq = torch.tensor([[3, 5, 7]])
    a = m(seq, torch.randn(1, 1, 16))
    b = m(seq, torch.randn(1, 1, 16))
    assert (a - b).abs().sum(-1).min() > 1e-4


def test_user_hidden_picks_last_real_item_and_handles_empty_rows():
    m = _model()
    seq = torch.tensor([[3, 5, 7, 0], [0, 0, 0, 0]])
    h = m.user_hidden(seq)
    assert torch.allclose(h[0], m(seq)[0, 2], atol=1e-6)
    assert torch.all(h[1] == 0)
    prefix = torch.randn(2, 2, 16)
    hp = m.user_hidden(seq, prefix)
    assert torch.isfinite(hp).all()
    assert torch.allclose(hp[1], m.encode(seq, prefix)[1, 1], atol=1e-6)
    assert hp[1].abs().sum() > 0


def test_deep_prefix_shapes_and_every_layer_matters():
    m = _model()
    seq = torch.tensor([[3, 5, 7, 0]])
    deep = torch.randn(2, 1, 1, 16)
    out = m(seq, deep)
    assert out.shape == (1, 4, 16)
    changed = deep.clone()
    changed[1] += 1.0  # only the second layer's token differs
    assert not torch.allclose(out, m(seq, changed))
    assert torch.isfinite(m.user_hidden(torch.zeros(1, 4, dtype=torch.long), deep)).all()


def test_gradients_flow_with_dropout_in_training():
    m = _model()
    m.train()
    out = m(torch.tensor([[1, 2, 3, 0]]), torch.randn(1, 1, 16, requires_grad=True))
    out.sum().backward()
    assert m.pos_emb.weight.grad is not None


def test_shape_follows_the_spec_and_the_catalogue() -> None:
    m = _model()
    assert m.item_emb.weight.shape == (31, 16) and m.pos_emb.weight.shape == (8, 16) and len(m.blocks) == 2
    assert m.cfg == SPEC and m.n_items == 30
    assert m(torch.tensor([[1, 2, 30, 0]])).shape == (1, 4, 16)


def test_bad_shapes_are_input_errors() -> None:
    with pytest.raises(InputError, match="n_items=0"):
        SASRec(SPEC, 0)
    with pytest.raises(InputError, match="max_len 8"):
        _model()(torch.ones(1, 9, dtype=torch.long))
    with pytest.raises(InputError, match="3 layers"):
        _model()(torch.tensor([[1, 2]]), torch.randn(3, 1, 1, 16))


def test_same_seed_same_weights_and_dropout_from_the_step_draws() -> None:
    a, b, c = _model(seed=1).train(), _model(seed=1).train(), _model(seed=2).train()
    seq = torch.tensor([[1, 2, 3, 4, 5, 0]])
    for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y)
    use_draws(a, Draws.seeded(3))
    use_draws(b, Draws.seeded(3))
    assert torch.equal(a(seq), b(seq))  # dropout masks come from the step's draws
    use_draws(b, Draws.seeded(4))
    assert not torch.equal(a(seq), b(seq))
    assert not torch.equal(a.item_emb.weight, c.item_emb.weight)
    assert not torch.equal(a(seq), a.eval()(seq))  # dropout is active in training


@pytest.mark.parametrize("training", [False, True])
def test_clicks_masked_in_place_are_skipped_and_positions_kept(training: bool) -> None:
    """A masked click (0 before `lengths`) is no attention key: what it holds cannot reach other positions, and the
    user state is read at the original last position, whose position embedding is unchanged."""
    model = _model(dropout=0.0)
    model.train(training)
    seq = torch.tensor([[3, 0, 5, 6, 0, 0, 0, 0], [0, 4, 0, 0, 0, 0, 0, 0]])
    lengths = torch.tensor([4, 2])
    prefix = torch.randn(2, 1, SPEC.d)
    out = model.encode(seq, prefix, lengths)
    with torch.no_grad():
        model.item_emb.weight[0] = 3.0  # if a hole were a key, this would reach every later position
    out_moved = model.encode(seq, prefix, lengths)
    real = torch.zeros(2, 9, dtype=torch.bool)  # the prompt token and the clicks that are not holes
    real[0, [0, 1, 3, 4]] = True
    real[1, [0, 2]] = True
    assert torch.allclose(out[real], out_moved[real], atol=1e-5)
    hidden = model.user_hidden(seq, prefix, lengths)
    assert torch.allclose(hidden[0], out_moved[0, 1 + 3], atol=1e-5) and torch.allclose(hidden[1], out_moved[1, 2])
    assert torch.isfinite(model.encode(torch.zeros(1, 3, dtype=torch.long), None, torch.tensor([3]))).all()
