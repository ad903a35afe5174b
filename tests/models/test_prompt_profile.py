import pytest
import torch

from ppr.errors import InputError
from ppr.models.profile import ProfileEncoder
from ppr.models.prompt import PromptGenerator

CARDS = [3, 5]


def test_prompt_shapes_shallow_and_deep():
    codes = torch.tensor([[0, 1], [2, 4]])
    assert PromptGenerator(CARDS, 8, n_tokens=2)(codes).shape == (2, 2, 8)
    assert PromptGenerator(CARDS, 8, n_tokens=3, deep=True, n_layers=2)(codes).shape == (2, 2, 3, 8)


def test_prompt_depends_on_codes_and_missing_is_a_value():
    torch.manual_seed(0)
    g = PromptGenerator(CARDS, 8)
    out = g(torch.tensor([[0, 0], [1, 0], [0, 3]]))
    assert not torch.allclose(out[0], out[1]) and not torch.allclose(out[0], out[2])


def test_mask_ratio_zeroes_embedding_elements():
    torch.manual_seed(0)
    g = PromptGenerator(CARDS, 8)
    codes = torch.tensor([[1, 2]] * 4)
    assert torch.allclose(g(codes)[0], g(codes)[1])
    masked = g.embed(codes, mask_ratio=0.5)
    share = (masked == 0).float().mean().item()
    assert 0.3 < share < 0.7
    assert torch.all(g.embed(codes, mask_ratio=1.0) == 0)


def test_zero_attributes_give_constant_prompt_and_zero_profile():
    codes = torch.zeros(3, 0, dtype=torch.long)
    g = PromptGenerator([], 8, n_tokens=2)
    out = g(codes)
    assert out.shape == (3, 2, 8) and torch.allclose(out[0], out[2])
    assert out.requires_grad
    prof = ProfileEncoder([], 8)(codes)
    assert prof.shape == (3, 8) and torch.all(prof == 0)


def test_profile_shape_and_out_of_range_codes_raise():
    enc = ProfileEncoder(CARDS, 8)
    assert enc(torch.tensor([[2, 4]])).shape == (1, 8)
    with pytest.raises(InputError):
        enc(torch.tensor([[3, 0]]))
    with pytest.raises(InputError):
        enc(torch.tensor([[1]]))
