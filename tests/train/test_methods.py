"""What each cold-start method builds, trains and optimises, end to end on planted data."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from _fit import same_weights, trainer
from _planted import planted_dataset

from ppr.data.splits import ROLE_TUNE, ROLE_WARM, make_split
from ppr.data.store import Store
from ppr.eval.evaluate import evaluate, summarize_scores
from ppr.models.noise import Draws, use_draws
from ppr.spec.run import BackboneSpec, RunSpec, SplitSpec, TuneSpec, WarmSpec
from ppr.train import methods
from ppr.train.trainer import Fit, Schedule

MAX_LEN = 10
WARM = RunSpec(
    "planted@v1",
    "test",
    SplitSpec(val_frac=0.2),  # a larger validation set: steadier early stopping
    BackboneSpec(max_len=MAX_LEN, d=16, n_layers=1, d_ff=32),
    WarmSpec(epochs=6, lr=1e-2),
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    ds = planted_dataset(Store(tmp_path_factory.mktemp("home")), n_users=600)
    split = make_split(ds, WARM.split)
    model = methods.warm_model(WARM, ds.n_items)
    trainer(WARM, ds, split, model).fit()
    return ds, split, model.backbone


def _tune(method: str, **kw) -> TuneSpec:
    return TuneSpec(**{"method": method, "epochs": 6, "lr": 1e-2, "batch_size": 16, "patience": 10, **kw})


def _tuned(world, tune: TuneSpec):
    """(model, fit, test summary) of a tuning run."""
    ds, split, warmed = world
    spec = WARM.tuned(tune)
    codes = methods.profile_codes(tune, ds, split)
    model = methods.tuned_model(tune, warmed, ds.cardinalities)
    fit = trainer(spec, ds, split, model, codes).fit() if methods.trains(spec) else Fit(0, 0)
    return model, fit, summarize_scores(evaluate(model, split, "test", codes, MAX_LEN, tune.k_shot))


@pytest.mark.parametrize("method", ["ppr-light", "ppr-full"])
def test_ppr_learns_zero_shot_from_the_profile(world, method: str) -> None:
    ds, _, warmed = world
    before = {k: v.clone() for k, v in warmed.state_dict().items()}
    model, fit, summary = _tuned(world, _tune(method))
    other = _tuned(world, _tune(method, seed=1))[2]  # two seeds: ~40 zero-shot targets each, one seed is noisy
    assert summary["zero"]["n"] >= 20
    zero = (summary["zero"]["auc"] + other["zero"]["auc"]) / 2
    assert zero > 0.65, (summary["zero"], other["zero"])  # random scorer: 0.5
    assert (summary["few"]["auc"] + other["few"]["auc"]) / 2 > 0.65
    assert fit.best_epoch >= 1 and fit.history[0]["epoch"] == 0
    unchanged = same_weights(before, model.backbone)
    assert unchanged == (method == "ppr-light")  # light freezes the backbone, full tunes it
    assert same_weights(before, warmed)  # the warmed model is copied, never modified
    params = methods.parameter_report(model, ds.cardinalities)
    assert (params["share_of_finetune"] < 0.5) == (method == "ppr-light")


def test_warm_only_zero_shot_is_all_ties(world) -> None:
    ds = world[0]
    tune = _tune("warm-only")
    assert not methods.trains(WARM.tuned(tune))
    model, _, summary = _tuned(world, tune)
    assert model.prompt is None and model.profile is None and model.count_trainable() == 0
    assert summary["zero"]["n"] >= 20
    assert summary["zero"]["auc"] == 0.5 and summary["zero"]["hit@50"] == 0.0  # pessimistic ties
    assert summary["few"]["auc"] > 0.6  # the warmed backbone itself ranks the few-shot targets
    assert methods.parameter_report(model, ds.cardinalities)["tuned"] == 0


def test_parameter_shares_follow_what_each_method_tunes(world) -> None:
    ds, _, warmed = world
    finetune = methods.tuned_model(TuneSpec(method="finetune"), warmed, ds.cardinalities).parameter_counts()
    shares = {}
    for method in ("warm-only", "sasrec", "finetune", "adapter", "ppr-light", "ppr-full"):
        model = methods.tuned_model(TuneSpec(method=method), warmed, ds.cardinalities)
        report = methods.parameter_report(model, ds.cardinalities)
        counts = model.parameter_counts()
        assert {k: report[k] for k in counts} == counts
        assert report["finetune"] == finetune["backbone"] + finetune["profile"]  # the same base for every method
        assert report["tuned"] == model.count_trainable()
        assert report["share_of_finetune"] == report["tuned"] / report["finetune"]
        shares[method] = report["share_of_finetune"]
        if method == "ppr-light":
            assert report["tuned"] == counts["prompt"] + counts["profile"]
        elif method == "adapter":
            assert report["tuned"] == sum(p.numel() for p in model.backbone.adapters.parameters()) + counts["profile"]
        elif method != "warm-only":
            assert report["tuned"] == sum(counts.values())
    assert shares["warm-only"] == 0.0 and shares["finetune"] == 1.0
    assert (
        0 < shares["adapter"] < 0.5
        and 0 < shares["ppr-light"] < 0.5 < shares["sasrec"] < shares["finetune"] < shares["ppr-full"]
    )


def test_tuned_model_copies_the_warmed_backbone_and_only_freezes_for_light(world) -> None:
    ds, _, warmed = world
    for method in ("warm-only", "finetune", "ppr-light", "ppr-full"):
        model = methods.tuned_model(
            TuneSpec(method=method, prompt_tokens=2, deep_prefix=True), warmed, ds.cardinalities
        )
        assert same_weights(model.backbone, warmed) and model.backbone is not warmed
        assert (model.prompt is not None) == (method in ("ppr-light", "ppr-full"))
        assert (model.profile is not None) == (method != "warm-only")
        trains_backbone = all(p.requires_grad for p in model.backbone.parameters())
        assert trains_backbone == (method in ("finetune", "ppr-full"))
        if model.prompt is not None:
            assert model.prompt.n_tokens == 2 and model.prompt.deep and model.prompt.n_layers == 1
    fresh = methods.tuned_model(TuneSpec(method="sasrec"), warmed, ds.cardinalities)
    assert fresh.prompt is None and fresh.profile is None and not same_weights(fresh.backbone, warmed)
    assert fresh.backbone.cfg == warmed.cfg and fresh.backbone.n_items == warmed.n_items


def test_tuned_model_draws_from_the_tuning_seed(world) -> None:
    """Built twice after different torch seeds: identical models and identical training results."""
    ds, split, warmed = world
    tune = _tune("ppr-full", epochs=2)
    spec = WARM.tuned(tune)
    codes = methods.profile_codes(tune, ds, split)
    runs = []
    for process_seed in (1, 2):
        torch.manual_seed(process_seed)
        torch.rand(process_seed)  # whatever the process drew before
        model = methods.tuned_model(tune, warmed, ds.cardinalities)
        built = {k: v.clone() for k, v in model.state_dict().items()}
        fit = trainer(spec, ds, split, model, codes).fit()
        runs.append((built, model, fit))
    (built_a, model_a, fit_a), (built_b, model_b, fit_b) = runs
    assert same_weights(built_a, built_b)
    assert same_weights(model_a, model_b)
    assert [h["loss"] for h in fit_a.history[1:]] == [h["loss"] for h in fit_b.history[1:]]
    assert [h["val_ndcg@10"] for h in fit_a.history] == [h["val_ndcg@10"] for h in fit_b.history]
    other = methods.tuned_model(dataclasses.replace(tune, seed=1), warmed, ds.cardinalities).state_dict()
    new_parts = [k for k in built_a if not k.startswith("backbone.")]
    assert new_parts and all(not torch.equal(other[k], built_a[k]) for k in new_parts if built_a[k].dim() == 2)


# ---- the run's data: windows, negatives, codes, schedule and streams


def _toy_split() -> SimpleNamespace:
    # user 0 warm (12 clicks), user 1 tune (5 clicks), user 2 test (3 clicks)
    lengths = np.array([12, 5, 3])
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    items = np.arange(1, lengths.sum() + 1, dtype=np.int32)
    roles = np.array([ROLE_WARM, ROLE_TUNE, 3], np.int8)
    return SimpleNamespace(offsets=offsets, items=items, roles=roles, pool=None, source=None)


def _toy_spec(tune: TuneSpec | None) -> RunSpec:
    return RunSpec("toy@v1", "test", backbone=BackboneSpec(max_len=4, d=8), tune=tune)


def test_tuning_windows_crop_k_shot_and_train_the_zero_shot_slot() -> None:
    split = _toy_split()
    for method in ("finetune", "ppr-light", "ppr-full"):
        win = methods.windows(_toy_spec(TuneSpec(method=method, k_shot=3)), split)
        assert win.users.tolist() == [1]  # only tuning users, test users never train
        assert win.tokens[0, :3].tolist() == [13, 14, 15] and win.tokens[0, 3:].sum() == 0  # first 3 clicks only
        assert win.starts_at_zero.tolist() == [True] and win.zero_shot
    full = methods.windows(_toy_spec(TuneSpec(k_shot=None)), split)
    assert sorted(full.tokens[full.tokens > 0].tolist()) == [13, 14, 15, 16, 17]
    one = methods.windows(_toy_spec(TuneSpec(k_shot=1)), split)
    assert one.tokens[0].tolist() == [13, 0, 0, 0, 0] and one.zero_shot  # one click: the zero-shot slot alone


def test_sasrec_adds_the_warm_windows_minus_two_held_out_clicks() -> None:
    split = _toy_split()
    both = methods.windows(_toy_spec(TuneSpec(method="sasrec", k_shot=None)), split)
    warm_tokens = both.tokens[both.users == 0]
    assert set(warm_tokens[warm_tokens > 0].tolist()) == set(range(1, 11))  # warm minus 2 held-out clicks
    assert not both.starts_at_zero[both.users == 0].any() and not both.zero_shot
    assert set(both.users.tolist()) == {0, 1}
    tune_tokens = both.tokens[both.users == 1]
    assert set(tune_tokens[tune_tokens > 0].tolist()) == set(range(13, 18))
    warm = methods.windows(_toy_spec(None), split)
    assert set(warm.users.tolist()) == {0} and not warm.zero_shot
    assert set(warm.tokens[warm.tokens > 0].tolist()) == set(range(1, 11))  # warm-training holds out two too


@pytest.mark.parametrize("max_len", [1, 3, 10])
def test_counted_windows_are_the_windows_the_run_trains_on(max_len: int) -> None:
    rng = np.random.default_rng(max_len)
    lengths = rng.integers(0, 30, size=300)
    roles = rng.choice(np.array([-1, ROLE_WARM, ROLE_TUNE, 2, 3], np.int8), size=300)
    lengths[roles == ROLE_WARM] += 10  # warm users have at least the cold threshold
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    split = SimpleNamespace(offsets=offsets, items=np.arange(1, offsets[-1] + 1, dtype=np.int32), roles=roles)
    backbone = BackboneSpec(max_len=max_len, d=8)
    tunes = [TuneSpec(method=m, k_shot=k) for m in ("finetune", "ppr-full", "sasrec", "melu") for k in (None, 1, 2, 5)]
    for spec in [
        RunSpec("toy@v1", "test", backbone=backbone),
        *(RunSpec("toy@v1", "test", backbone=backbone, tune=t) for t in tunes),
    ]:
        assert methods.n_windows(spec, split) == len(methods.windows(spec, split)) > 0, spec.tune


def test_negatives_avoid_only_the_clicks_the_run_may_see() -> None:
    split = _toy_split()
    rng = np.random.default_rng(0)
    n_items = 20
    users = np.array([1] * 2000)
    k_shot = methods.sampler(_toy_spec(TuneSpec(k_shot=2)), split, n_items).sample(users, 1, rng)
    assert not np.isin(k_shot, [13, 14]).any() and np.isin(k_shot, [15, 16, 17]).any()
    every = methods.sampler(_toy_spec(None), split, n_items).sample(users, 1, rng)
    assert not np.isin(every, range(13, 18)).any()


def test_profile_codes_add_noise_to_cold_users_only(world) -> None:
    ds, split, _ = world
    clean = ds.attribute_codes()
    assert np.array_equal(methods.profile_codes(TuneSpec(), ds, split), clean)
    noisy = methods.profile_codes(TuneSpec(noise=0.5), ds, split)
    cold = split.roles >= ROLE_TUNE
    assert np.array_equal(noisy[~cold], clean[~cold])
    assert 0.3 < (noisy[cold] != clean[cold]).mean() < 0.7
    assert np.array_equal(noisy, methods.profile_codes(TuneSpec(noise=0.5), ds, split))
    assert not np.array_equal(noisy, methods.profile_codes(TuneSpec(noise=0.5, seed=1), ds, split))


def test_schedule_streams_objective_and_what_trains() -> None:
    warm = _toy_spec(None)
    recipe = {"warmup": 1.0, "decay": "cosine", "negatives": 256}  # warm-training's, for sasrec too
    assert methods.schedule(warm) == Schedule(3e-3, 40, 10, 256, 0.0, **recipe)
    assert methods.schedule(_toy_spec(TuneSpec(method="sasrec"))) == Schedule(3e-3, 40, 10, 256, **recipe)
    assert methods.schedule(_toy_spec(TuneSpec(method="ppr-full", lr=0.5))) == Schedule(0.5, 50, 5, 32)
    assert methods.trains(warm) and methods.trains(_toy_spec(TuneSpec()))
    assert not methods.trains(_toy_spec(TuneSpec(method="warm-only")))
    assert not methods.trains(_toy_spec(TuneSpec(epochs=0)))
    assert methods.objective(warm) is methods.sampled_softmax
    assert methods.objective(_toy_spec(TuneSpec(method="sasrec"))) is methods.sampled_softmax
    assert methods.objective(_toy_spec(TuneSpec(method="finetune"))) is methods.next_item_bpr
    assert methods.objective(_toy_spec(TuneSpec(cl=False))) is methods.next_item_bpr
    assert methods.objective(_toy_spec(TuneSpec())) is not methods.next_item_bpr
    draws = []
    for spec in (warm, warm, _toy_spec(TuneSpec()), _toy_spec(TuneSpec(seed=1))):
        rng, seed = methods.random_streams(spec)
        draws.append((rng.integers(0, 2**31, 4).tolist(), Draws.seeded(seed).uniform([4], "cpu").tolist()))
    assert draws[0] == draws[1] and len({str(d) for d in draws}) == 3


def test_warm_model_is_seeded_by_the_warm_seed() -> None:
    spec = _toy_spec(None)
    a, b = methods.warm_model(spec, 30), methods.warm_model(spec, 30)
    assert same_weights(a, b) and a.prompt is None and a.profile is None
    c = methods.warm_model(dataclasses.replace(spec, warm=WarmSpec(seed=1)), 30)
    assert not same_weights(a, c)


def test_objectives_are_finite_and_reach_every_trained_part(world) -> None:
    ds, split, warmed = world
    for tune in (_tune("finetune"), _tune("ppr-full"), _tune("ppr-light", prompt_aug=False)):
        spec = WARM.tuned(tune)
        model = methods.tuned_model(tune, warmed, ds.cardinalities)
        t = trainer(spec, ds, split, model, methods.profile_codes(tune, ds, split))
        batch = next(iter(t.batches()))
        assert batch.codes is not None and batch.target_mask[:, 0].any()  # the zero-shot slot trains
        model.train()
        loss = methods.objective(spec)(model, batch, Draws.seeded(t.seed))
        loss.backward()
        assert torch.isfinite(loss)
        for name, p in model.named_parameters():
            assert (p.grad is not None) == p.requires_grad, (tune.method, name)


# ---- PPR's contrastive loss as the paper's; the counted popularity baselines


def _cl_part(spec: RunSpec, model, batch, seed: int = 0) -> float:
    """The contrastive term of PPR's objective alone: the objective minus plain BPR on the same batch."""
    model.eval()  # no dropout: the two passes see the same model
    use_draws(model, draws := Draws.seeded(seed))  # the prompt view's mask
    with torch.no_grad():
        total = methods.objective(spec)(model, batch, draws)
        return float(total - methods.next_item_bpr(model, batch, Draws.seeded(0)))


def test_the_contrastive_views_leave_out_the_profile_term(world) -> None:
    """Both views come from f_seq(prompt ++ clicks): changing MLP_a(profile) changes BPR, not the CL term.
    (Contrasting u = MLP_a(profile) + f_seq, as before, made part of every positive match trivial.)"""
    ds, split, warmed = world
    tune = _tune("ppr-full", cl_weight=1.0)
    spec = WARM.tuned(tune)
    model = methods.tuned_model(tune, warmed, ds.cardinalities)
    batch = next(iter(trainer(spec, ds, split, model, methods.profile_codes(tune, ds, split)).batches()))
    before = _cl_part(spec, model, batch)
    bpr_before = float(methods.next_item_bpr(model, batch, Draws.seeded(0)).detach())
    with torch.no_grad():
        model.profile.net[2].bias.add_(5.0)  # a large shift of MLP_a(profile) for every user
    assert _cl_part(spec, model, batch) == pytest.approx(before, abs=1e-4)
    assert float(methods.next_item_bpr(model, batch, Draws.seeded(0)).detach()) != pytest.approx(bpr_before, abs=1e-3)


def test_the_prompt_view_masks_only_what_the_prompt_generator_reads(world) -> None:
    ds, split, warmed = world
    model = methods.tuned_model(_tune("ppr-light"), warmed, ds.cardinalities).eval()
    seq = torch.tensor([[3, 5, 7, 0], [2, 0, 0, 0]])
    codes = torch.as_tensor(ds.attribute_codes()[:2])
    torch.manual_seed(0)
    masked = model.sequence_state(seq, codes, prompt_mask=0.5)
    assert not torch.allclose(masked, model.sequence_state(seq, codes))  # the prompt changed
    with torch.no_grad():  # the profile term is not part of a view: MLP_a is never asked
        model.profile = None
        torch.manual_seed(0)
        assert torch.allclose(model.sequence_state(seq, codes, prompt_mask=0.5), masked)


def _visible_clicks(split, k: int | None) -> np.ndarray:
    """Item ids of the clicks a run may see: warm users' training clicks and tuning users' first k."""
    out = []
    for u in range(split.n_users):
        seq = split.seq(u)
        if split.roles[u] == ROLE_WARM:
            out += list(seq[: max(len(seq) - 2, 0)])
        elif split.roles[u] == ROLE_TUNE:
            out += list(seq if k is None else seq[:k])
    return np.asarray(out)


@pytest.mark.parametrize("k", [None, 2])
def test_pop_counts_only_the_clicks_the_run_may_see(world, k) -> None:
    ds, split, _ = world
    tune = TuneSpec(method="pop", k_shot=k)
    model = methods.count_model(tune, split, methods.profile_codes(tune, ds, split), ds.n_items, ds.cardinalities)
    counts = np.bincount(_visible_clicks(split, k), minlength=ds.n_items + 1)
    assert np.allclose(model.item_table()[1:, 0].numpy(), np.log(counts[1:] + 1.0), atol=1e-5)
    assert not methods.trains(WARM.tuned(tune)) and not WARM.tuned(tune).needs_warm


def test_pop_profile_reads_the_profile_where_pop_cannot(world) -> None:
    """On planted data (the `taste` attribute names the group 90% of a user's clicks come from), the profile-
    conditioned popularity ranks a user's first click far better than global popularity."""
    ds, split, _ = world
    zero = {}
    for method in ("pop", "pop-profile"):
        tune = TuneSpec(method=method)
        codes = methods.profile_codes(tune, ds, split)
        model = methods.count_model(tune, split, codes, ds.n_items, ds.cardinalities, smoothing=1.0)
        zero[method] = summarize_scores(evaluate(model, split, "test", codes, MAX_LEN))["zero"]
    assert zero["pop"]["auc"] < 0.65 < 0.8 < zero["pop-profile"]["auc"]
    assert zero["pop-profile"]["ndcg@10"] > zero["pop"]["ndcg@10"] + 0.1


def test_cl4srec_warm_training_adds_its_contrastive_loss(world) -> None:
    """The cl4srec backbone is SASRec warm-trained with NT-Xent between two augmented views of each window:
    the objective is the plain loss plus a positive term that reaches the backbone."""
    ds, split, _ = world
    spec = dataclasses.replace(WARM, backbone=dataclasses.replace(WARM.backbone, kind="cl4srec"))
    model = methods.warm_model(spec, ds.n_items).eval()
    t = trainer(spec, ds, split, model)
    batch = next(iter(t.batches()))
    with torch.no_grad():
        plain = methods.sampled_softmax(model, batch, Draws.seeded(0))
        total = methods.objective(spec)(model, batch, Draws.seeded(0))
    assert methods.objective(WARM) is methods.sampled_softmax
    assert float(total - plain) > 0.1 * 0.5  # 0.1 x NT-Xent, which is above log(2) for untrained views
    assert methods.objective(spec.tuned(_tune("sasrec"))) is not methods.sampled_softmax  # from scratch, as warm
    assert methods.objective(spec.tuned(_tune("finetune"))) is methods.next_item_bpr  # tuning is unchanged


def test_the_adapter_baseline_starts_as_the_warmed_model_and_tunes_only_its_adapters(world) -> None:
    """PeterRec's idea given the profile: identity-initialised adapters after each block + MLP_a, the rest frozen;
    tuning moves the adapters, leaves every warmed weight as it was, and learns zero-shot from the profile."""
    ds, split, warmed = world
    model, fit, summary = _tuned(world, _tune("adapter", epochs=0))
    seq = torch.tensor([[3, 4, 5, 0, 0, 0, 0, 0, 0, 0]])
    with torch.no_grad():
        assert torch.allclose(model.backbone.eval()(seq), warmed.eval()(seq), atol=1e-6)  # fresh adapters: identity
    before = {k: v.clone() for k, v in warmed.state_dict().items()}
    model, fit, summary = _tuned(world, _tune("adapter"))
    adapters = model.backbone.adapters
    assert len(adapters) == warmed.cfg.n_layers and adapters[0].down.out_features == warmed.cfg.d // 4
    assert any(p.abs().sum() > 0 for p in adapters[0].up.parameters())  # tuned away from the identity
    kept = {k: v for k, v in model.backbone.state_dict().items() if not k.startswith("adapters.")}
    assert same_weights(before, kept)
    assert summary["zero"]["auc"] > 0.65, summary["zero"]  # random: 0.5


def test_melu_meta_learns_to_adapt_to_a_users_clicks(world) -> None:
    """With every cold user's profile replaced by noise, MeLU's zero-shot is no better than chance, and its local
    update on a user's first clicks (few-shot) lifts it far above: it adapts. It needs no warm run."""
    ds, split, _ = world
    tune = _tune("melu", epochs=4, noise=1.0)
    spec = WARM.tuned(tune)
    assert not spec.needs_warm and methods.trains(spec) and methods.objective(spec) is methods.melu_loss
    codes = methods.profile_codes(tune, ds, split)
    model = methods.scratch_model(spec, ds.n_items, ds.cardinalities)
    trainer(spec, ds, split, model, codes).fit()
    summary = summarize_scores(evaluate(model, split, "test", codes, MAX_LEN))
    assert summary["zero"]["auc"] < 0.6 and summary["few"]["auc"] > 0.7, summary
    params = methods.parameter_report(model, ds.cardinalities)
    assert params["tuned"] == sum(p.numel() for p in model.parameters()) and params["share_of_finetune"] > 0


def test_bert4rec_warm_trains_on_the_cloze_task(world) -> None:
    """The warm objective of bert4rec hides clicks behind the mask vector (which only the cloze task trains); which
    clicks it hides is drawn from the step's draws."""
    ds, split, _ = world
    spec = dataclasses.replace(WARM, backbone=dataclasses.replace(WARM.backbone, kind="bert4rec"))
    model = methods.warm_model(spec, ds.n_items)
    t = trainer(spec, ds, split, model)
    batch = next(iter(t.batches()))
    loss = methods.objective(spec)(model.train(), batch, Draws.seeded(0))
    loss.backward()
    assert torch.isfinite(loss) and model.backbone.mask_emb.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        a = methods.objective(spec)(model, batch, Draws.seeded(1))
        b = methods.objective(spec)(model, batch, Draws.seeded(1))
        c = methods.objective(spec)(model, batch, Draws.seeded(2))
    assert a == b and a != c  # which clicks are hidden comes from the step's draws


# ---- cross-domain runs


def _cross_spec(tune: TuneSpec | None) -> RunSpec:
    return RunSpec("toy@v1", "test", SplitSpec(target_domain="target"), BackboneSpec(max_len=4, d=8), tune=tune)


def test_cross_domain_tuning_learns_from_the_warm_users_target_clicks_too() -> None:
    split = _toy_split()
    for method in ("finetune", "ppr-full", "minet"):
        win = methods.windows(_cross_spec(TuneSpec(method=method, k_shot=3)), split)
        warm = win.tokens[win.users == 0]
        assert set(warm[warm > 0].tolist()) == set(range(1, 11)) and win.zero_shot  # minus the held-out two
        assert win.starts_at_zero[win.users == 0].sum() == 1 and win.starts_at_zero[win.users == 1].all()
        assert set(win.users.tolist()) == {0, 1}
    sasrec = methods.windows(_cross_spec(TuneSpec(method="sasrec")), split)
    assert np.array_equal(sasrec.tokens, methods.windows(_toy_spec(TuneSpec(method="sasrec")), split).tokens)
    assert not sasrec.zero_shot
    assert methods.windows(_toy_spec(TuneSpec(method="finetune")), split).users.tolist() == [1]  # one domain: as before


def test_cross_domain_runs_train_with_warm_trainings_recipe_and_negatives_of_their_domain() -> None:
    tune = TuneSpec(method="ppr-full")
    cross, plain = methods.schedule(_cross_spec(tune)), methods.schedule(_toy_spec(tune))
    assert (cross.lr, cross.negatives, cross.decay, cross.warmup) == (1e-3, 256, "cosine", 1.0)
    assert (plain.lr, plain.negatives, plain.decay) == (1e-4, 1, "none")
    assert methods.objective(_cross_spec(TuneSpec(method="finetune"))) is methods.sampled_softmax
    assert methods.objective(_toy_spec(TuneSpec(method="finetune"))) is methods.next_item_bpr
    split = _toy_split()
    split.pool = np.zeros(21, dtype=bool)
    split.pool[15:] = True
    neg = methods.sampler(_cross_spec(tune), split, 20).sample(np.array([1] * 30), 8, np.random.default_rng(0))
    assert (neg >= 15).all() and not np.isin(neg, [15, 16, 17]).any()  # the pool minus user 1's own clicks
