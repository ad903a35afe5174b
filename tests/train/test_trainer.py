"""The one training loop: learning, early stopping, the best state, seeding and exact resumption."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _fit import CPU, roundtrip, same_weights, trainer
from _planted import planted_dataset

from ppr.data.splits import make_split
from ppr.data.store import Store
from ppr.errors import InputError
from ppr.eval.metrics import rank_metrics, summarize
from ppr.eval.scoring import candidate_scores
from ppr.models.recommender import ColdStartRecommender
from ppr.models.sasrec import SASRec
from ppr.spec.run import BackboneSpec, RunSpec, SplitSpec, TuneSpec, WarmSpec
from ppr.train import methods
from ppr.train.batching import NegativeSampler, build_windows, history_matrix
from ppr.train.distributed import ALONE, World
from ppr.train.trainer import Diverged, Schedule, Trainer

N_ITEMS, N_USERS, LEN, MAX_LEN = 100, 120, 12, 8


def _walks(seed: int = 0):
    """Each user walks i -> i+1 (mod catalogue) from a random start: perfectly sequential."""
    rng = np.random.default_rng(seed)
    start = rng.integers(0, N_ITEMS, size=N_USERS)
    items = ((start[:, None] + np.arange(LEN)[None, :]) % N_ITEMS + 1).reshape(-1)
    offsets = np.arange(0, N_USERS * LEN + 1, LEN, dtype=np.int64)
    unclicked = [np.setdiff1d(np.arange(1, N_ITEMS + 1), items[u * LEN : (u + 1) * LEN]) for u in range(N_USERS)]
    negs = np.stack([rng.choice(pool, 40, replace=False) for pool in unclicked])
    return offsets, items, negs


def _metrics(model, offsets, items, pos, negs) -> dict[str, float]:
    """Metrics of each user's click at `pos` against the user's negatives, from the clicks before it."""
    users = np.arange(N_USERS)
    seqs = history_matrix(offsets, items, users, pos, MAX_LEN)
    cand = np.concatenate([items[offsets[:-1] + pos][:, None], negs], 1)
    scores = candidate_scores(model, seqs, None, cand, CPU)
    return summarize(rank_metrics(scores[:, 0], scores[:, 1:]))


def _walk_trainer(schedule: Schedule, validate=None, dropout: float = 0.0, seed: int = 0, world: World = ALONE):
    offsets, items, negs = _walks()
    n = np.diff(offsets)
    torch.manual_seed(seed)
    spec = BackboneSpec(max_len=MAX_LEN, d=16, n_layers=1, d_ff=32, dropout=dropout)
    model = ColdStartRecommender(SASRec(spec, N_ITEMS))
    if validate is None:

        def validate() -> dict[str, float]:
            return _metrics(model, offsets, items, n - 2, negs)  # the second-to-last click of each user

    windows = build_windows(offsets, items, np.arange(N_USERS), MAX_LEN, n - 2)  # the last two clicks held out
    sampler = NegativeSampler(offsets, items, N_ITEMS)
    rng = np.random.default_rng(seed)
    t = Trainer(model, methods.next_item_bpr, windows, sampler, schedule, validate, rng, seed, CPU, world=world)
    return t, model, (offsets, items, negs)


def test_learns_a_planted_pattern_stops_on_a_plateau_and_restores_the_best_state() -> None:
    t, model, (offsets, items, negs) = _walk_trainer(Schedule(lr=1e-2, epochs=40, patience=5, batch_size=64))
    rows: list[dict] = []
    fit = t.fit(on_epoch=rows.append)
    assert rows == fit.history
    assert fit.history[0]["epoch"] == 0 and math.isnan(fit.history[0]["loss"])  # validated before training
    assert [h["epoch"] for h in fit.history] == list(range(fit.epochs_run + 1))
    assert fit.epochs_run < 40 and fit.epochs_run - fit.best_epoch == 5  # stopped after 5 epochs without a gain
    assert fit.history[-1]["loss"] < fit.history[1]["loss"]
    best = max(h["val_ndcg@10"] for h in fit.history)
    assert fit.history[fit.best_epoch]["val_ndcg@10"] == best
    assert not model.training
    n = np.diff(offsets)
    # best weights restored: the reported best validation score is reproducible
    assert _metrics(model, offsets, items, n - 2, negs)["ndcg@10"] == pytest.approx(best, abs=1e-6)
    test = _metrics(model, offsets, items, n - 1, negs)
    assert test["hit@10"] > 0.8  # random would be about 10/41 = 0.24


def test_best_epoch_by_validation_and_its_weights_restored() -> None:
    scripted = iter([0.1, 0.3, 0.2, 0.3, 0.25, 0.9])  # epochs 0..5: epoch 3 only ties epoch 1
    t, model, _ = _walk_trainer(Schedule(1e-2, 10, 3, 64), lambda: {"ndcg@10": next(scripted)})
    ckpts: list[dict] = []
    fit = t.fit(on_checkpoint=lambda c: ckpts.append(roundtrip(c)))
    assert (fit.best_epoch, fit.epochs_run) == (1, 4)
    assert [c["epoch"] for c in ckpts] == [1, 2, 3, 4] and ckpts[-1]["stopped"]
    assert [h["val_ndcg@10"] for h in fit.history] == [0.1, 0.3, 0.2, 0.3, 0.25]
    assert same_weights(model, ckpts[0]["model"]) and same_weights(ckpts[-1]["best_state"], ckpts[0]["model"])
    assert not same_weights(model, ckpts[-1]["model"])


def test_untrained_model_is_kept_when_no_epoch_beats_it() -> None:
    t, model, _ = _walk_trainer(Schedule(1e-2, 10, 2, 64), lambda: {"ndcg@10": 0.5})
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fit = t.fit()
    assert (fit.best_epoch, fit.epochs_run, len(fit.history)) == (0, 2, 3)
    assert same_weights(model, before)


def test_without_validation_targets_the_training_loss_decides() -> None:
    t, _, _ = _walk_trainer(Schedule(1e-3, 4, 10, 64), lambda: {})
    fit = t.fit()
    losses = [h["loss"] for h in fit.history[1:]]
    assert fit.epochs_run == 4 and fit.best_epoch == 1 + int(np.argmin(losses))
    assert all(set(h) >= {"epoch", "loss"} and not any(k.startswith("val_") for k in h) for h in fit.history)


def test_zero_epochs_trains_and_validates_nothing() -> None:
    called: list[int] = []
    t, model, _ = _walk_trainer(Schedule(1e-2, 0, 5, 64), lambda: called.append(1) or {})
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fit = t.fit()
    assert (fit.best_epoch, fit.epochs_run, fit.history) == (0, 0, []) and not called
    assert same_weights(model, before)


def test_train_epoch_and_step_train_only_what_requires_grad() -> None:
    t, model, _ = _walk_trainer(Schedule(1e-2, 1, 1, 64), dropout=0.2)
    model.backbone.item_emb.weight.requires_grad_(False)
    t = Trainer(model, t.objective, t.windows, t.sampler, t.schedule, t.validate, t.rng, t.seed, CPU)
    frozen = model.backbone.item_emb.weight.clone()
    pos = model.backbone.pos_emb.weight.clone()
    batch = next(iter(t.batches()))
    assert t.step(batch) > 0 and not torch.equal(pos, model.backbone.pos_emb.weight)
    first = t.train_epoch()
    assert math.isfinite(first) and t.train_epoch() < first
    assert torch.equal(frozen, model.backbone.item_emb.weight)


# ---- warm-training and tuning runs through methods (the pipeline's wiring) on a planted split


WARM = RunSpec(
    "planted@v1",
    "test",
    SplitSpec(),
    BackboneSpec(max_len=10, d=16, n_layers=1, d_ff=32),
    WarmSpec(epochs=4, patience=10, lr=1e-2),
)
TUNE = TuneSpec(method="ppr-full", epochs=4, patience=10, batch_size=32, lr=1e-3)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    ds = planted_dataset(Store(tmp_path_factory.mktemp("home")), n_users=300)
    return ds, make_split(ds, WARM.split)


@pytest.fixture(scope="module")
def warm_run(world):
    """The uninterrupted warm run and its epoch checkpoints as read back from files."""
    ds, split = world
    model = methods.warm_model(WARM, ds.n_items)
    states: list[dict] = []
    fit = trainer(WARM, ds, split, model).fit(on_checkpoint=lambda s: states.append(roundtrip(s)))
    return model, fit, states


def test_same_seed_same_model(world, warm_run) -> None:
    ds, split = world
    model, fit, _ = warm_run
    spec = WARM.tuned(TuneSpec()).warm_run()  # equal settings built anew
    again = methods.warm_model(spec, ds.n_items)
    torch.manual_seed(99)  # the process's random state plays no part
    refit = trainer(spec, ds, split, again).fit()
    assert same_weights(model, again)
    assert [_untimed(h) for h in refit.history] == [_untimed(h) for h in fit.history]
    other = WARM.tuned(TuneSpec(seed=1)).warm_run()
    changed = methods.warm_model(other, ds.n_items)
    trainer(other, ds, split, changed).fit()
    assert not same_weights(model, changed)


def _untimed(row: dict) -> dict:
    """A history row without its wall times (NaN loss of epoch 0 as None, so rows compare equal)."""
    return {k: (None if v != v else v) for k, v in row.items() if k not in ("seconds", "train_seconds")}


def _resumed_equals_full(full_model, full, model, resumed) -> None:
    assert resumed.epochs_run == full.epochs_run == 4 and resumed.best_epoch == full.best_epoch
    assert [h["epoch"] for h in resumed.history] == [0, 1, 2, 3, 4]
    np.testing.assert_allclose([h["loss"] for h in resumed.history[1:]], [h["loss"] for h in full.history[1:]])
    for h, r in zip(full.history, resumed.history, strict=True):
        assert r["val_ndcg@10"] == pytest.approx(h["val_ndcg@10"], abs=1e-9)
    for k, v in full_model.state_dict().items():
        torch.testing.assert_close(model.state_dict()[k], v)


def test_warm_training_resumes_after_an_epoch_as_if_uninterrupted(world, warm_run) -> None:
    ds, split = world
    full_model, full, states = warm_run
    assert [s["epoch"] for s in states] == [1, 2, 3, 4]
    model = methods.warm_model(WARM, ds.n_items)
    torch.manual_seed(1234)  # a new process: other random state, restored from the checkpoint
    rows: list[dict] = []
    resumed = trainer(WARM, ds, split, model).fit(resume=states[1], on_epoch=rows.append)
    assert [r["epoch"] for r in rows] == [3, 4]
    _resumed_equals_full(full_model, full, model, resumed)


def test_tuning_resumes_after_an_epoch_as_if_uninterrupted(world, warm_run) -> None:
    ds, split = world
    warmed = warm_run[0].backbone
    spec = WARM.tuned(TUNE)
    assert spec.tune.uses_cl  # the contrastive views draw random masks too
    codes = methods.profile_codes(spec.tune, ds, split)
    states: list[dict] = []
    full_model = methods.tuned_model(spec.tune, warmed, ds.cardinalities)
    full = trainer(spec, ds, split, full_model, codes).fit(on_checkpoint=lambda s: states.append(roundtrip(s)))
    model = methods.tuned_model(spec.tune, warmed, ds.cardinalities)
    torch.manual_seed(1234)
    resumed = trainer(spec, ds, split, model, codes).fit(resume=states[1])
    _resumed_equals_full(full_model, full, model, resumed)

    # resuming the last checkpoint: nothing left to train, the best state comes back
    last_model = methods.tuned_model(spec.tune, warmed, ds.cardinalities)
    calls: list[object] = []
    last = trainer(spec, ds, split, last_model, codes).fit(states[-1], calls.append, calls.append)
    assert last.epochs_run == 4 and len(last.history) == 5 and last.best_epoch == full.best_epoch and not calls
    assert same_weights(last_model, full_model)


def test_a_non_finite_loss_stops_the_run_with_the_epoch() -> None:
    t, _, _ = _walk_trainer(Schedule(1e-2, 4, 10, 64), lambda: {"ndcg@10": 0.5})
    t.objective = lambda model, batch, generator: next(model.parameters()).sum() * float("nan")
    with pytest.raises(Diverged, match=r"loss is nan \(in epoch 1\)"):
        t.fit()


def test_data_parallel_training_refuses_a_batch_or_data_a_process_would_get_no_window_of() -> None:
    with pytest.raises(InputError, match="a batch of 2 windows cannot be shared by 3 training processes"):
        _walk_trainer(Schedule(1e-2, 1, 1, 2), world=World(0, 3))
    with pytest.raises(InputError, match=r"\d+ training windows cannot be shared by 1000 training processes"):
        _walk_trainer(Schedule(1e-2, 1, 1, 4000), world=World(1, 1000))
