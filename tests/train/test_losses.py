import math

import pytest
import torch

from ppr.train.losses import bpr_loss, info_nce, nt_xent


def test_bpr_values_and_mask():
    pos = torch.tensor([2.0, 0.0, 5.0])
    neg = torch.tensor([0.0, 0.0, -100.0])
    full = -math.log(1 / (1 + math.exp(-2))) - math.log(0.5) + 0.0
    assert bpr_loss(pos, neg).item() == pytest.approx(full / 3, rel=1e-5)
    mask = torch.tensor([False, True, False])
    assert bpr_loss(pos, neg, mask).item() == pytest.approx(math.log(2), rel=1e-5)
    assert bpr_loss(pos, neg, torch.zeros(3, dtype=torch.bool)).item() == 0.0


def test_info_nce_prefers_aligned_views():
    torch.manual_seed(0)
    a = torch.randn(16, 8)
    aligned = info_nce(a, a * 3.0, temperature=0.1)  # cosine ignores scale
    shuffled = info_nce(a, a[torch.randperm(16)], temperature=0.1)
    assert aligned.item() < 0.1 < shuffled.item()


def test_info_nce_is_one_directional_as_the_paper() -> None:
    """Row i of the anchor against every row of the positive view: cross-entropy of anchor->view only."""
    torch.manual_seed(1)
    a, b = torch.randn(6, 4), torch.randn(6, 4)
    logits = torch.nn.functional.normalize(a, dim=1) @ torch.nn.functional.normalize(b, dim=1).T / 0.2
    expected = torch.nn.functional.cross_entropy(logits, torch.arange(6))
    assert info_nce(a, b, 0.2).item() == pytest.approx(expected.item(), rel=1e-6)
    assert info_nce(a, b).item() != pytest.approx(info_nce(b, a).item(), rel=1e-3)  # not symmetric


def test_nt_xent_rewards_matching_pairs_over_the_other_views() -> None:
    torch.manual_seed(0)
    a = torch.randn(8, 16)
    matched = nt_xent(a, a + 0.01 * torch.randn(8, 16), temperature=0.1)
    shuffled = nt_xent(a, a[torch.randperm(8)], temperature=0.1)
    assert matched < 0.5 < shuffled
    # the floor: each view's pair at similarity 1 against 2B - 2 orthogonal views
    eye = torch.eye(8)
    assert nt_xent(eye[:4], eye[:4], 1.0).item() == pytest.approx(-math.log(math.e / (math.e + 6)), rel=1e-5)
