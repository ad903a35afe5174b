import torch

from ppr.models.config import BackboneConfig
from ppr.models.sasrec import SASRec


def _model(**kw) -> SASRec:
    torch.manual_seed(0)
    cfg = BackboneConfig(n_items=30, max_len=8, d=16, n_layers=2, n_heads=2, d_ff=32, dropout=0.1, **kw)
    return SASRec(cfg).eval()


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
