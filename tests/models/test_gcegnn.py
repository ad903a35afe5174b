"""GCE-GNN: the global transition graph counts what it should, a click's state never sees later clicks, and the
model learns a planted next-item rule from scratch (with the profile: the planted taste zero-shot)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from _fit import trainer
from _planted import planted_dataset

from ppr.data.splits import ROLE_TEST, make_split
from ppr.data.store import Store
from ppr.errors import InputError
from ppr.eval.evaluate import evaluate, summarize_scores
from ppr.models import gcegnn
from ppr.models.gcegnn import GCEGNN, transition_graph
from ppr.spec.run import BackboneSpec, RunSpec, SplitSpec, TuneSpec
from ppr.train import methods

SPEC = BackboneSpec(max_len=6, d=8, dropout=0.0)


def test_the_global_graph_keeps_each_items_most_frequent_neighbours_within_two_clicks() -> None:
    offsets, items = np.array([0, 4, 7, 9]), np.array([1, 2, 3, 4, 2, 3, 5, 6, 2])
    neighbours, counts = transition_graph(offsets, items, np.array([4, 3, 0]), 10)  # user 2's clicks unseen
    row = dict(zip(neighbours[2].tolist(), counts[2].tolist(), strict=True))
    assert row.pop(0) == 0 and row == {3: 2, 1: 1, 4: 1, 5: 1}  # 3 twice; 6 only in an unseen history
    assert neighbours[2, 0] == 3  # most frequent first
    assert (neighbours[6] == 0).all() and (neighbours[0] == 0).all()


def test_a_clicks_state_never_depends_on_later_clicks_and_a_prompt_is_refused() -> None:
    torch.manual_seed(0)
    m = GCEGNN(SPEC, 10).eval()
    off, items = np.array([0, 5]), np.array([1, 2, 3, 7, 9])
    m.set_graph(*transition_graph(off, items, np.array([5]), 10))
    a = m(torch.tensor([[1, 2, 3, 0, 0, 0]]))
    b = m(torch.tensor([[1, 2, 3, 7, 9, 0]]))
    assert torch.allclose(a[:, :3], b[:, :3], atol=1e-6) and not torch.allclose(a[:, 2], b[:, 3])
    with pytest.raises(InputError, match="reads no prompt"):
        m.encode(torch.tensor([[1, 2]]), torch.randn(1, 1, 8))


def test_a_state_pools_click_t_and_the_window_of_clicks_before_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The unfolded layout computes, for every t, attention over clicks t - W + 1 .. t keyed by t - j, as a direct
    pair-by-pair computation does (padding clicks never pooled)."""
    monkeypatch.setattr(gcegnn, "POOL_WINDOW", 3)
    torch.manual_seed(0)
    m = GCEGNN(SPEC, 10).eval()
    closed, open_ = torch.randn(2, 6, 8), torch.randn(2, 6, 8)
    real = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    with torch.no_grad():
        got = m._pool(closed, open_, real)
        for b, t in itertools.product(range(2), range(6)):
            js = [j for j in range(max(0, t - 2), t + 1) if real[b, j]]
            x = torch.stack([open_[b, t] if j == t else closed[b, j] for j in js])
            keyed = torch.tanh(m.pool_pos(torch.cat([x, m.pos_emb(torch.tensor([t - j for j in js]))], 1)))
            att = m.pool_out(torch.sigmoid(m.pool_key(keyed) + m.pool_query(open_[b, t]))).squeeze(-1).softmax(0)
            assert torch.allclose(got[b, t], att @ x, atol=1e-6), (b, t)


def test_gce_gnn_learns_the_next_item_rule_and_the_taste_from_scratch(tmp_path) -> None:
    ds = planted_dataset(Store(tmp_path), n_users=600, chain=True)
    split = make_split(ds, SplitSpec(val_frac=0.2, folds=1))
    tune = TuneSpec(method="gce-gnn", epochs=8, lr=1e-2, patience=20)
    spec = RunSpec(ds.ref, ds.content_hash, SplitSpec(val_frac=0.2, folds=1), BackboneSpec(max_len=10, d=32)).tuned(
        tune
    )
    assert not spec.needs_warm
    codes = methods.profile_codes(tune, ds, split)
    model = methods.scratch_model(spec, ds.n_items, ds.cardinalities, split)
    assert (model.backbone.neighbours[1:] > 0).any()
    test_users = np.flatnonzero(split.roles == ROLE_TEST)
    trainer(spec, ds, split, model, codes).fit()
    summary = summarize_scores(evaluate(model, split, "test", codes, 10))
    assert summary["few"]["hit@10"] > 0.5, summary["few"]  # random: 0.1
    assert summary["zero"]["auc"] > 0.65, summary["zero"]  # random: 0.5
    assert len(test_users) >= 20
