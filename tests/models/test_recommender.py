import torch

from ppr.models.profile import ProfileEncoder
from ppr.models.prompt import PromptGenerator
from ppr.models.recommender import ColdStartRecommender
from ppr.models.sasrec import SASRec
from ppr.spec.run import BackboneSpec
from ppr.train.losses import bpr_loss

CARDS = [3, 4]


def _rec(prompt=True, profile=True, deep=False) -> ColdStartRecommender:
    torch.manual_seed(0)
    bb = SASRec(BackboneSpec(max_len=6, d=8, n_layers=2, d_ff=16, dropout=0.0), 20)
    return ColdStartRecommender(
        bb,
        PromptGenerator(CARDS, 8, deep=deep, n_layers=2) if prompt else None,
        ProfileEncoder(CARDS, 8) if profile else None,
    ).eval()


SEQ = torch.tensor([[1, 2, 3, 0], [4, 0, 0, 0], [0, 0, 0, 0]])
CODES = torch.tensor([[1, 2], [0, 3], [2, 1]])


def test_user_vector_is_profile_plus_prompted_hidden():
    r = _rec()
    u = r.user_vector(SEQ, CODES)
    expect = r.profile(CODES) + r.backbone.user_hidden(SEQ, r.prompt(CODES))
    assert torch.allclose(u, expect, atol=1e-6)
    assert torch.isfinite(u).all() and u[2].abs().sum() > 0


def test_sequence_outputs_align_with_user_vector():
    for deep in (False, True):
        r = _rec(deep=deep)
        out = r.sequence_outputs(SEQ, CODES, zero_shot=True)
        assert out.shape == (3, 5, 8)
        # out[:, t] has seen seq[:t]: compare with user_vector on the cropped history
        for t in range(4):
            hist = SEQ.clone()
            hist[:, t:] = 0
            u = r.user_vector(hist, CODES)
            rows = [i for i in range(3) if t <= int((SEQ[i] != 0).sum())]
            assert torch.allclose(out[rows, t], u[rows], atol=1e-5)
        plain = r.sequence_outputs(SEQ, CODES)
        assert torch.allclose(plain, out[:, 1:], atol=1e-6)


def test_without_prompt_zero_shot_falls_back_to_profile():
    r = _rec(prompt=False)
    u = r.user_vector(SEQ, CODES)
    assert torch.allclose(u[2], r.profile(CODES)[2], atol=1e-6)
    out = r.sequence_outputs(SEQ, CODES, zero_shot=True)
    assert torch.allclose(out[:, 0], r.profile(CODES), atol=1e-6)


def test_score_is_dot_product_with_item_embeddings():
    r = _rec()
    u = r.user_vector(SEQ, CODES)
    cand = torch.tensor([[1, 5, 7]] * 3)
    expect = (u.unsqueeze(1) * r.backbone.item_emb(cand)).sum(-1)
    assert torch.allclose(r.score(u, cand), expect, atol=1e-6)


def test_light_mode_trains_prompt_and_profile_only():
    r = _rec()
    r.set_trainable(backbone=False, prompt=True, profile=True)
    counts = r.parameter_counts()
    assert r.count_trainable() == counts["prompt"] + counts["profile"] < sum(counts.values())
    before_bb = {k: v.clone() for k, v in r.backbone.state_dict().items()}
    before_pr = [p.clone() for p in r.prompt.parameters()]
    opt = torch.optim.Adam([p for p in r.parameters() if p.requires_grad], lr=0.1)
    r.train()
    u = r.user_vector(SEQ, CODES)
    loss = bpr_loss(r.score(u, torch.tensor([[5]] * 3))[:, 0], r.score(u, torch.tensor([[6]] * 3))[:, 0])
    loss.backward()
    opt.step()
    for k, v in r.backbone.state_dict().items():
        assert torch.equal(v, before_bb[k]), k
    assert any(not torch.equal(a, b) for a, b in zip(before_pr, r.prompt.parameters(), strict=True))
    r.set_trainable(True, True, True)
    assert r.count_trainable() == sum(counts.values())


def test_flat_prompt_concatenates_every_token_and_layer() -> None:
    r = _rec()
    assert torch.allclose(r.flat_prompt(CODES), r.prompt(CODES).reshape(3, -1))
    deep = _rec(deep=True)
    flat = deep.flat_prompt(CODES)
    assert flat.shape == (3, 2 * 8)
    layers = deep.prompt(CODES)  # (layers, B, P, d)
    assert torch.allclose(flat[1], torch.cat([layers[0, 1, 0], layers[1, 1, 0]]))  # row 1's own tokens
    assert _rec(prompt=False).flat_prompt(CODES) is None


def test_backbone_alone_is_plain_sasrec() -> None:
    r = _rec(prompt=False, profile=False)
    assert r.parameter_counts()["prompt"] == r.parameter_counts()["profile"] == 0
    assert r.count_trainable() == r.parameter_counts()["backbone"]
    u = r.user_vector(SEQ, None)
    assert torch.allclose(u, r.backbone.user_hidden(SEQ), atol=1e-6) and torch.all(u[2] == 0)
    out = r.sequence_outputs(SEQ, None, zero_shot=True)
    assert torch.all(out[:, 0] == 0) and torch.allclose(out[:, 1:], r.backbone(SEQ), atol=1e-6)
