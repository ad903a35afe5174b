"""The source-domain side of a cross-domain run: a frozen vector per user, read through the codes' last column by
PPR's prompt generator and added to fine-tuning's user vector."""

from __future__ import annotations

import numpy as np
import torch

from ppr.models.profile import ProfileEncoder
from ppr.models.prompt import PromptGenerator
from ppr.models.recommender import ColdStartRecommender
from ppr.models.sasrec import SASRec
from ppr.models.source import SourceEncoder, source_rows
from ppr.spec.run import BackboneSpec

CARDS = [3, 4]
VECTORS = np.concatenate([np.zeros((1, 8)), np.random.default_rng(0).normal(size=(3, 8))]).astype(np.float32)
SEQ = torch.tensor([[1, 2, 0], [0, 0, 0]])


def _rec(prompt: bool) -> ColdStartRecommender:
    torch.manual_seed(0)
    bb = SASRec(BackboneSpec(max_len=3, d=8, n_layers=1, d_ff=16, dropout=0.0), 20)
    gen = PromptGenerator(CARDS, 8, extra_dim=8) if prompt else None
    source = SourceEncoder(VECTORS, None if prompt else 8)
    return ColdStartRecommender(bb, gen, ProfileEncoder(CARDS, 8), source).eval()


def test_source_rows_point_users_with_source_clicks_at_their_row() -> None:
    assert source_rows(4, np.array([True, False, True, True])).tolist() == [1, 0, 3, 4]


def test_the_source_vector_is_layer_normalised_and_mapped_only_when_asked() -> None:
    plain, mapped = SourceEncoder(VECTORS), SourceEncoder(VECTORS, 4)
    rows = torch.tensor([1, 2])
    x = plain(rows)
    assert plain.d_out == 8 and mapped.d_out == 4 and mapped(rows).shape == (2, 4)
    assert torch.allclose(x.mean(-1), torch.zeros(2), atol=1e-5) and torch.allclose(
        x.std(-1, unbiased=False), torch.ones(2), atol=1e-3
    )


def test_ppr_reads_the_source_vector_in_its_prompt_and_finetune_adds_it() -> None:
    ppr, finetune = _rec(prompt=True), _rec(prompt=False)
    a, b = torch.tensor([[1, 2, 1], [1, 2, 1]]), torch.tensor([[1, 2, 2], [1, 2, 2]])  # same profile, other row
    for model in (ppr, finetune):
        assert not torch.allclose(model.user_vector(SEQ, a), model.user_vector(SEQ, b))
    expected = ppr.profile(a[:, :2]) + ppr.backbone.user_hidden(SEQ, ppr.prompt(a[:, :2], extra=ppr.source(a[:, 2])))
    assert torch.allclose(ppr.user_vector(SEQ, a), expected, atol=1e-6)
    expected = finetune.profile(a[:, :2]) + finetune.source(a[:, 2]) + finetune.backbone.user_hidden(SEQ)
    assert torch.allclose(finetune.user_vector(SEQ, a), expected, atol=1e-6)
    assert ppr.flat_prompt(a).shape == (2, 8) and set(ppr.parameter_counts()) == {
        "backbone",
        "prompt",
        "profile",
        "source",
    }
    assert "source.vectors" in ppr.state_dict() and not ppr.source.vectors.requires_grad  # frozen, saved with the model


def test_the_prompt_view_masks_the_source_input_too() -> None:
    gen = PromptGenerator(CARDS, 8, extra_dim=8)
    codes, extra = torch.tensor([[1, 2]]), torch.ones(1, 8)
    torch.manual_seed(0)
    masked = [gen(codes, 0.5, extra=extra) for _ in range(8)]
    assert not all(torch.allclose(masked[0], m) for m in masked[1:])
    assert torch.allclose(gen(codes, 0.0, extra=extra), gen(codes, extra=extra))
