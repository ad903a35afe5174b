"""Cold-start tuning methods compared in the paper (Tables III-V).

    warm-only  the warmed SASRec as is: no profile, no tuning (evaluation only).
               Zero-shot users have no clicks and no prompt, so their user vector is
               zero, every candidate ties and the pessimistic rank is the worst: the
               honest "no information" baseline (no popularity fallback is smuggled in).
    sasrec     SASRec trained from scratch on warm users (minus their two held-out
               clicks) plus the cold tuning users; no profile (zero-shot: ties, as above).
    finetune   warmed backbone + MLP_a(profile); every parameter tuned; no prompt.
               Zero-shot user vector = MLP_a(profile) alone.
    ppr-light  prompt generator + MLP_a tuned; Transformer and item embeddings frozen.
    ppr-full   prompt generator, MLP_a and every warmed parameter tuned.

Loss for the tuned methods: BPR with one sampled unclicked negative at every click
of a tuning user, the first click included (predicted from the prompt/profile alone:
this is what teaches the prompt), plus for PPR cl_weight * InfoNCE between the user
vector and a prompt-masked and a behaviour-masked view. Early stopping on the
validation users' joint NDCG@10 (never on test); the best state is restored.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ppr.data.splits import ROLE_TUNE, crop_k_shot
from ppr.errors import InputError
from ppr.eval.evaluate import evaluate_group
from ppr.models.profile import ProfileEncoder
from ppr.models.prompt import PromptGenerator
from ppr.models.recommender import ColdStartRecommender
from ppr.models.sasrec import SASRec
from ppr.train.augment import mask_behavior
from ppr.train.batching import NegativeSampler
from ppr.train.checkpoint import rng_state, set_rng_state
from ppr.train.cold_data import ColdBatch, iterate_cold_batches, tuning_windows
from ppr.train.config import PPR_METHODS, TuneConfig
from ppr.train.losses import bpr_loss, info_nce

@dataclass
class TuneResult:
    model: ColdStartRecommender
    best_epoch: int
    epochs_run: int
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def build_model(
    cfg: TuneConfig, warmed: SASRec, cardinalities: list[int]
) -> ColdStartRecommender:
    """The method's model: a copy of the warmed backbone (fresh for sasrec) + prompt/profile parts."""
    torch.manual_seed(cfg.seed)
    if cfg.method == "sasrec":
        return ColdStartRecommender(SASRec(warmed.cfg))
    backbone = copy.deepcopy(warmed)
    d, layers = warmed.cfg.d, warmed.cfg.n_layers
    profile = ProfileEncoder(cardinalities, d) if cfg.method != "warm-only" else None
    prompt = None
    if cfg.method in PPR_METHODS:
        prompt = PromptGenerator(cardinalities, d, cfg.prompt_tokens, cfg.deep_prefix, layers)
    model = ColdStartRecommender(backbone, prompt, profile)
    model.set_trainable(backbone=cfg.method in ("finetune", "ppr-full"))
    return model


def parameter_report(model: ColdStartRecommender, cfg: TuneConfig, cardinalities: list[int]) -> dict[str, Any]:
    """Tuned parameters and their share of fine-tuning's (backbone + MLP_a), paper Table I."""
    counts = model.parameter_counts()
    finetune = counts["backbone"] + sum(p.numel() for p in ProfileEncoder(cardinalities, model.backbone.cfg.d).parameters())
    tuned = 0 if cfg.method == "warm-only" else model.count_trainable()
    return {**counts, "tuned": tuned, "finetune": finetune, "share_of_finetune": tuned / finetune}


def tune(
    model: ColdStartRecommender,
    cfg: TuneConfig,
    split: Any,
    codes: np.ndarray,
    device: torch.device | str = "cpu",
    progress: Callable[[dict[str, float]], None] | None = None,
    resume: dict[str, Any] | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> TuneResult:
    """Train `model` per `cfg` on the split's tuning users; early-stop on validation joint NDCG@10.

    codes: (n_users, A) profile codes as the method sees them (noise already applied).
    on_epoch(state) gets an epoch checkpoint after every epoch (model, optimizer, best
    state, history, early-stopping and rng state); passing it back as `resume` continues
    after that epoch, so an interrupted run ends with the same number of epochs.
    """
    t0 = time.perf_counter()
    model.to(device)
    if cfg.method == "warm-only" or cfg.max_epochs == 0:
        return TuneResult(model, 0, 0, seconds=time.perf_counter() - t0)
    has_zero_shot = model.prompt is not None or model.profile is not None
    windows = tuning_windows(
        split, model.backbone.cfg.max_len, cfg.k_shot, zero_shot=has_zero_shot, with_warm=cfg.method == "sasrec"
    )
    if len(windows) == 0:
        raise InputError("The split has no tuning users with clicks: nothing to tune on (check the split's counts).")
    # negatives avoid the clicks the tuner may see: with k-shot, only the first k of a cold user
    seen = crop_k_shot(split.offsets, split.items, split.roles >= ROLE_TUNE, cfg.k_shot)
    sampler = NegativeSampler(*seen, model.backbone.cfg.n_items)
    rng = np.random.default_rng([cfg.seed, 7])
    gen = torch.Generator().manual_seed(cfg.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.learning_rate)
    max_len = model.backbone.cfg.max_len

    def validate() -> float:
        scores = evaluate_group(model, split, "val", codes, max_len, cfg.k_shot, device=device)
        return float(scores["ndcg@10"].mean()) if len(scores) else 0.0

    if resume is not None:
        model.load_state_dict(resume["model"])
        opt.load_state_dict(resume["optimizer"])
        best, best_epoch, best_state = float(resume["best"]), int(resume["best_epoch"]), resume["best_state"]
        history, epoch = list(resume["history"]), int(resume["epoch"])
        rng.bit_generator.state = resume["rng"]
        gen.set_state(resume["gen"])
        set_rng_state(model, resume["model_rng"])
        start = cfg.max_epochs + 1 if resume["stopped"] else epoch + 1
    else:
        best, best_epoch = validate(), 0
        best_state = copy.deepcopy(model.state_dict())
        history = [{"epoch": 0, "loss": float("nan"), "val_ndcg@10": best}]
        if progress:
            progress(history[-1])
        epoch, start = 0, 1
    for epoch in range(start, cfg.max_epochs + 1):
        model.train()
        losses = [
            _step(model, batch, cfg, opt, gen)
            for batch in iterate_cold_batches(windows, codes, sampler, cfg.batch, rng, device)
        ]
        val = validate()
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), "val_ndcg@10": val})
        if progress:
            progress(history[-1])
        if val > best:
            best, best_epoch, best_state = val, epoch, copy.deepcopy(model.state_dict())
        stopped = epoch - best_epoch >= cfg.stop_patience
        if on_epoch:
            on_epoch(dict(epoch=epoch, model=model.state_dict(), optimizer=opt.state_dict(), best=best,
                          best_epoch=best_epoch, best_state=best_state, history=history, stopped=stopped,
                          rng=rng.bit_generator.state, gen=gen.get_state(), model_rng=rng_state(model)))  # fmt: skip
        if stopped:
            break
    if resume is not None and start > cfg.max_epochs:
        epoch = int(resume["epoch"])
    model.load_state_dict(best_state)
    return TuneResult(model, best_epoch, epoch, history, time.perf_counter() - t0)


def _step(
    model: ColdStartRecommender, cb: ColdBatch, cfg: TuneConfig, opt: torch.optim.Optimizer, gen: torch.Generator
) -> float:
    b, codes = cb.batch, cb.codes
    inputs = b.inputs
    out = model.sequence_outputs(inputs, codes, zero_shot=True)  # (B, m+1, d); out[:, t] read inputs[:, :t]
    emb = model.backbone.item_emb
    pos = (out * emb(b.tokens)).sum(-1)
    neg = (out * emb(b.negatives)).sum(-1)
    loss = bpr_loss(pos, neg, b.target_mask)
    if cfg.uses_cl:
        n = (inputs != 0).sum(dim=1)
        u = out[torch.arange(len(n), device=n.device), n]  # user vector after all clicks read
        views = []
        if cfg.prompt_aug:
            views.append(model.user_vector(inputs, codes, prompt_mask=cfg.prompt_mask, profile_mask=cfg.prompt_mask))
        if cfg.behavior_aug:
            views.append(model.user_vector(mask_behavior(inputs, cfg.behavior_mask, gen), codes))
        loss = loss + cfg.cl_weight * sum(info_nce(u, v, cfg.temperature) for v in views)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss.detach())
