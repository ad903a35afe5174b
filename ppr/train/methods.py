"""What warm-training and each cold-start method build, train and optimise (paper Tables III-V).

    warm       SASRec from scratch on the warm users' clicks minus their two held-out ones.
    warm-only  the warmed SASRec as is: no profile, no tuning (evaluation only). Zero-shot
               users have no clicks and no prompt, so every candidate ties.
    sasrec     SASRec from scratch on the warm users' clicks (minus their held-out two) plus
               the tuning users'; no profile (zero-shot: ties, as above).
    finetune   warmed backbone + MLP_a(profile); every parameter tuned; no prompt. Zero-shot
               user vector = MLP_a(profile) alone.
    ppr-light  prompt generator + MLP_a tuned; Transformer and item embeddings frozen.
    ppr-full   prompt generator, MLP_a and every warmed parameter tuned.

Every method optimises BPR with one sampled unclicked negative at each click of a training
window; the tuned methods with a profile also learn each tuning user's first click from the
profile/prompt alone (the zero-shot slot: this is what teaches the prompt). PPR adds
cl_weight x InfoNCE between the user vector and its augmented views (docs/method.md). The
loop itself is ppr.train.trainer's, the same for all.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ppr.data.splits import ROLE_TUNE, ROLE_WARM, Split, crop_k_shot, noisy_codes
from ppr.data.store import Dataset
from ppr.models.profile import ProfileEncoder
from ppr.models.prompt import PromptGenerator
from ppr.models.recommender import ColdStartRecommender
from ppr.models.sasrec import SASRec
from ppr.spec.run import PPR_METHODS, RunSpec, TuneSpec
from ppr.train.augment import mask_behavior
from ppr.train.batching import Batch, NegativeSampler, Windows, build_windows
from ppr.train.losses import bpr_loss, info_nce
from ppr.train.trainer import Objective, Schedule

TUNES_BACKBONE = ("sasrec", "finetune", "ppr-full")


def warm_model(spec: RunSpec, n_items: int) -> ColdStartRecommender:
    """A fresh backbone, its initial weights drawn from the warm seed."""
    torch.manual_seed(spec.warm.seed)
    return ColdStartRecommender(SASRec(spec.backbone, n_items))


def tuned_model(tune: TuneSpec, warmed: SASRec, cardinalities: list[int]) -> ColdStartRecommender:
    """The method's model: a copy of the warmed backbone (fresh for sasrec) + its prompt/profile parts.

    Everything random in it (new parts' weights, the backbone's dropout streams) is drawn from the
    tuning seed, so a run computes the same whatever the process did before.
    """
    torch.manual_seed(tune.seed)
    backbone = SASRec(warmed.cfg, warmed.n_items)  # its dropout streams drawn from the tuning seed
    if tune.method == "sasrec":
        return ColdStartRecommender(backbone)
    backbone.load_state_dict(warmed.state_dict())
    d, layers = warmed.cfg.d, warmed.cfg.n_layers
    profile = ProfileEncoder(cardinalities, d) if tune.method != "warm-only" else None
    prompt = None
    if tune.method in PPR_METHODS:
        prompt = PromptGenerator(cardinalities, d, tune.prompt_tokens, tune.deep_prefix, layers)
    model = ColdStartRecommender(backbone, prompt, profile)
    model.set_trainable(backbone=tune.method in TUNES_BACKBONE)
    return model


def trains(spec: RunSpec) -> bool:
    """warm-only (and a tuning run of zero epochs) evaluates the model as it comes."""
    return spec.tune is None or (spec.tune.method != "warm-only" and spec.tune.resolved("epochs") > 0)


def windows(spec: RunSpec, split: Split) -> Windows:
    """The training windows of the run: warm users for warm-training, tuning users' first k clicks for tuning.

    sasrec adds the warm users' clicks minus their two held-out targets; their windows never
    train a zero-shot slot.
    """
    lengths = np.diff(split.offsets)
    warm = np.flatnonzero(split.roles == ROLE_WARM)
    max_len = spec.backbone.max_len
    if spec.tune is None:
        return build_windows(split.offsets, split.items, warm, max_len, lengths[warm] - 2)
    k = spec.tune.k_shot
    tune = np.flatnonzero(split.roles == ROLE_TUNE)
    n = lengths[tune] if k is None else np.minimum(lengths[tune], k)
    zero_shot = spec.tune.method not in ("sasrec", "warm-only")
    win = build_windows(split.offsets, split.items, tune, max_len, n, zero_shot=zero_shot)
    if spec.tune.method != "sasrec":
        return win
    w = build_windows(split.offsets, split.items, warm, max_len, np.maximum(lengths[warm] - 2, 0))
    return Windows(
        np.concatenate([w.tokens, win.tokens]),
        np.concatenate([w.users, win.users]),
        np.concatenate([np.zeros(len(w), bool), win.starts_at_zero]),
        zero_shot,
    )


def sampler(spec: RunSpec, split: Split, n_items: int) -> NegativeSampler:
    """Negatives avoid the clicks the run may see: with k-shot, only the first k of a cold user."""
    if spec.tune is None:
        return NegativeSampler(split.offsets, split.items, n_items)
    seen = crop_k_shot(split.offsets, split.items, split.roles >= ROLE_TUNE, spec.tune.k_shot)
    return NegativeSampler(*seen, n_items)


def schedule(spec: RunSpec) -> Schedule:
    if spec.tune is None:
        w = spec.warm
        return Schedule(w.lr, w.epochs, w.patience, w.batch_size, w.weight_decay)
    t = spec.tune
    return Schedule(t.resolved("lr"), t.resolved("epochs"), t.resolved("patience"), t.resolved("batch_size"))


def random_streams(spec: RunSpec) -> tuple[np.random.Generator, torch.Generator]:
    """(window order and negatives, the objective's random views), seeded by the run's seed."""
    if spec.tune is None:
        return np.random.default_rng(spec.warm.seed), torch.Generator().manual_seed(spec.warm.seed)
    return np.random.default_rng([spec.tune.seed, 7]), torch.Generator().manual_seed(spec.tune.seed)


def objective(spec: RunSpec) -> Objective:
    """BPR on every target slot; PPR adds its contrastive loss."""
    if spec.tune is None or not spec.tune.uses_cl:
        return next_item_bpr
    tune = spec.tune

    def bpr_and_cl(model: nn.Module, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        out = model.sequence_outputs(batch.inputs, batch.codes, zero_shot=True)
        n = (batch.inputs != 0).sum(dim=1)
        u = out[torch.arange(len(n), device=n.device), n]  # user vector after all clicks read
        views = []
        if tune.prompt_aug:
            views.append(
                model.user_vector(
                    batch.inputs, batch.codes, prompt_mask=tune.prompt_mask, profile_mask=tune.prompt_mask
                )
            )
        if tune.behavior_aug:
            views.append(model.user_vector(mask_behavior(batch.inputs, tune.behavior_mask, generator), batch.codes))
        cl = sum(info_nce(u, v, tune.temperature) for v in views)
        return _bpr(model, batch, out) + tune.cl_weight * cl

    return bpr_and_cl


def next_item_bpr(model: nn.Module, batch: Batch, generator: torch.Generator) -> torch.Tensor:
    """BPR of each target slot: output t (having read inputs[:, :t]) scores tokens[:, t] above its negative."""
    return _bpr(model, batch, model.sequence_outputs(batch.inputs, batch.codes, zero_shot=True))


def _bpr(model: nn.Module, batch: Batch, out: torch.Tensor) -> torch.Tensor:
    emb = model.backbone.item_emb
    pos = (out * emb(batch.tokens)).sum(-1)
    neg = (out * emb(batch.negatives)).sum(-1)
    return bpr_loss(pos, neg, batch.target_mask)


def profile_codes(tune: TuneSpec, ds: Dataset, split: Split) -> np.ndarray:
    """Profile codes as the method sees them: noise on cold users, seeded by the tuning seed."""
    codes = ds.attribute_codes()
    if tune.noise > 0:
        codes = noisy_codes(codes, ds.cardinalities, tune.noise, tune.seed, users=split.roles >= ROLE_TUNE)
    return codes


def parameter_report(model: ColdStartRecommender, cardinalities: list[int]) -> dict[str, Any]:
    """Trained parameters and their share of fine-tuning's (backbone + MLP_a), paper Table I."""
    counts = model.parameter_counts()
    profile = ProfileEncoder(cardinalities, model.backbone.cfg.d)
    finetune = counts["backbone"] + sum(p.numel() for p in profile.parameters())
    tuned = model.count_trainable()
    return {**counts, "tuned": tuned, "finetune": finetune, "share_of_finetune": tuned / finetune}
