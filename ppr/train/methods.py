"""What warm-training and each cold-start method build, train and optimise (paper Tables III-V).

    pop        item popularity among the clicks the run may see (warm users' training clicks and the
               tuning users' first k); nothing trained, no warm run.
    pop-profile  naive Bayes over every profile attribute at once, counted on the same clicks
               (ppr.models.popularity).
    gce-gnn    GCE-GNN (ppr.models.gcegnn): session graph + global transition graph, from scratch with warm-
               training's recipe on the same clicks as sasrec, the profile added through MLP_a; no warm run.
    melu       MeLU (ppr.models.melu): decision layers over the profile meta-learned over users as tasks
               (first-order MAML) on the warm users' clicks and the tuning users' first k; no warm run.
    warm       the backbone (sasrec, cl4srec, gru4rec, bert4rec: ppr.models.registry) from scratch on the warm
               users' clicks minus their two held-out ones; cl4srec adds CL4SRec's contrastive loss; bert4rec
               learns BERT4Rec's cloze task instead of the next click.
    warm-only  the warmed backbone as is: no profile, no tuning (evaluation only). Zero-shot
               users have no clicks and no prompt, so every candidate ties.
    sasrec     the backbone from scratch (warm-training's recipe) on the warm users' clicks (minus their
               held-out two) plus the tuning users'; no profile (zero-shot: ties, as above).
    finetune   warmed backbone + MLP_a(profile); every parameter tuned; no prompt. Zero-shot
               user vector = MLP_a(profile) alone.
    adapter    PeterRec's idea, given the profile: a residual bottleneck adapter (d/4 wide, starting as the
               identity) after each Transformer block (after the GRU stack) + MLP_a tuned, the rest frozen.
    ppr-light  prompt generator + MLP_a tuned; the backbone (item embeddings too) frozen.
    ppr-full   prompt generator, MLP_a and every warmed parameter tuned.
    minet      MiNet (ppr.models.minet), cross-domain only: interests from the source and target domains mixed by
               attention, item embeddings from the warm run, everything tuned.

Cross-domain runs (the split's target_domain set): the warm run reads the source domain only, so the target
domain's items are new to it. Every tuned method trains on the warm users' target clicks (minus their held-out
two) and the tuning users' first k, negatives drawn from the target domain's items; finetune and ppr-full read
each user's source-domain vector (the frozen warm backbone's state after their source clicks; ppr.models.source):
finetune adds its MLP to the user vector, ppr-full's prompt generator reads it beside the profile. sasrec is then
the backbone trained from scratch on the target domain alone.

Every method optimises BPR with one sampled unclicked negative at each click of a training
window; the tuned methods with a profile also learn each tuning user's first click from the
profile/prompt alone (the zero-shot slot: this is what teaches the prompt). PPR adds
cl_weight x InfoNCE between a user's sequence state f_seq(prompt ++ clicks) and its prompt-
and behaviour-masked views (docs/method.md). The loop itself is ppr.train.trainer's, the same
for all.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ppr.data.splits import ROLE_TUNE, ROLE_WARM, Split, crop_k_shot, noisy_codes, source_view
from ppr.data.store import Dataset
from ppr.models.backbone import SequenceBackbone
from ppr.models.gcegnn import GCEGNN, transition_graph
from ppr.models.melu import MeLU
from ppr.models.minet import MiNet
from ppr.models.noise import Draws
from ppr.models.popularity import CountModel, popularity, profile_popularity
from ppr.models.profile import ProfileEncoder
from ppr.models.prompt import PromptGenerator
from ppr.models.recommender import ColdStartRecommender
from ppr.models.registry import build_backbone
from ppr.models.source import SourceEncoder, source_rows
from ppr.spec.run import COUNTED, OWN_MODELS, PPR_METHODS, RunSpec, TuneSpec
from ppr.train.augment import augment_sequences, mask_clicks
from ppr.train.batching import (
    Batch,
    NegativeSampler,
    Windows,
    build_windows,
    concat_windows,
    history_matrix,
    window_counts,
)
from ppr.train.losses import bpr_loss, info_nce, nt_xent
from ppr.train.trainer import Objective, Schedule

TUNES_BACKBONE = ("sasrec", "finetune", "ppr-full")
FROM_SCRATCH = ("sasrec", *OWN_MODELS)  # learn every warm user too, with warm-training's recipe
ADAPTER_SHRINK = 4  # the adapter baseline's bottleneck: d / 4 wide
CL4SREC_WEIGHT, CL4SREC_TEMPERATURE = 0.1, 1.0  # CL4SRec's lambda and tau
CLOZE_SHARE, LAST_ONLY_SHARE = 0.2, 0.5  # BERT4Rec's mask proportion; windows masking only their last click


def warm_model(spec: RunSpec, n_items: int) -> ColdStartRecommender:
    """A fresh backbone, its initial weights drawn from the warm seed."""
    torch.manual_seed(spec.warm.seed)
    return ColdStartRecommender(build_backbone(spec.backbone, n_items))


def tuned_model(
    tune: TuneSpec, warmed: SequenceBackbone, cardinalities: list[int], side: np.ndarray | None = None
) -> ColdStartRecommender | MiNet:
    """The method's model: a copy of the warmed backbone (fresh for sasrec) + its prompt/profile parts.

    Everything random in it (new parts' weights, the backbone's dropout streams) is drawn from the
    tuning seed, so a run computes the same whatever the process did before. side (cross-domain runs, row u + 1
    for user u, row 0 for none): each user's source-domain vector (finetune, ppr-full) or last source clicks
    (minet); see source_histories.
    """
    torch.manual_seed(tune.seed)
    if tune.method == "minet":
        model = MiNet(warmed.cfg, warmed.n_items, side)
        model.item_emb.load_state_dict(warmed.item_emb.state_dict())
        return model
    backbone = build_backbone(warmed.cfg, warmed.n_items)  # its dropout streams drawn from the tuning seed
    if tune.method == "sasrec":
        return ColdStartRecommender(backbone)
    backbone.load_state_dict(warmed.state_dict())
    d, layers = warmed.cfg.d, warmed.cfg.n_layers
    profile = ProfileEncoder(cardinalities, d) if tune.method != "warm-only" else None
    prompt = source = None
    if side is not None:  # PPR's prompt generator maps the source vector itself; fine-tuning adds an MLP of it
        source = SourceEncoder(side, None if tune.method in PPR_METHODS else d)
    if tune.method in PPR_METHODS:
        extra = 0 if source is None else source.d_out
        prompt = PromptGenerator(cardinalities, d, tune.prompt_tokens, tune.deep_prefix, layers, extra_dim=extra)
    adapters = backbone.add_adapters(max(1, d // ADAPTER_SHRINK)) if tune.method == "adapter" else None
    model = ColdStartRecommender(backbone, prompt, profile, source)
    model.set_trainable(backbone=tune.method in TUNES_BACKBONE)
    if adapters is not None:
        adapters.requires_grad_(True)
    return model


def scratch_model(
    spec: RunSpec, n_items: int, cardinalities: list[int], split: Split | None = None
) -> MeLU | ColdStartRecommender:
    """melu or gce-gnn from scratch (no warm run), weights drawn from the tuning seed; gce-gnn's global graph
    counted on the clicks the run may see in `split` (None: an empty graph, filled by loading a checkpoint)."""
    torch.manual_seed(spec.tune.seed)
    if spec.tune.method == "melu":
        return MeLU(spec.backbone, n_items, cardinalities)
    session = GCEGNN(spec.backbone, n_items)
    if split is not None:
        session.set_graph(*transition_graph(split.offsets, split.items, visible_clicks(spec.tune, split), n_items))
    return ColdStartRecommender(session, None, ProfileEncoder(cardinalities, spec.backbone.d))


def visible_clicks(tune: TuneSpec, split: Split) -> np.ndarray:
    """Per user, how many of their first clicks the run may see: warm users all but the two held out, tuning
    users their first k, validation and test users none."""
    lengths = np.diff(split.offsets)
    seen = np.where(split.roles == ROLE_WARM, np.maximum(lengths - 2, 0), 0)
    tune_users = split.roles == ROLE_TUNE
    seen[tune_users] = lengths[tune_users] if tune.k_shot is None else np.minimum(lengths[tune_users], tune.k_shot)
    return seen


def trains(spec: RunSpec) -> bool:
    """warm-only, the counted baselines (and a tuning run of zero epochs) evaluate the model as it comes."""
    if spec.tune is None:
        return True
    return spec.tune.method not in ("warm-only", *COUNTED) and spec.tune.resolved("epochs") > 0


def count_model(
    tune: TuneSpec, split: Split, codes: np.ndarray, n_items: int, cardinalities: list[int], smoothing: float = 1.0
) -> CountModel:
    """pop or pop-profile, counted on the clicks the run may see: warm users' training clicks (all but the two
    held out) and the tuning users' first k; never a validation or test user's."""
    lengths = np.diff(split.offsets)
    seen = visible_clicks(tune, split)
    owner = np.repeat(np.arange(len(seen)), lengths)
    visible = np.arange(len(split.items)) - np.repeat(split.offsets[:-1], lengths) < seen[owner]
    clicks = split.items[visible].astype(np.int64)
    if tune.method == "pop":
        return popularity(clicks, n_items)
    return profile_popularity(clicks, codes[owner[visible]], n_items, cardinalities, smoothing)


def training_clicks(spec: RunSpec, split: Split) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    """Which clicks make the run's training windows: (users, how many of their first clicks, whether the windows
    train the zero-shot slot) per part. Warm users minus their two held-out clicks for warm-training, tuning
    users' first k for tuning; sasrec and the baselines with a network of their own add the warm users' clicks
    minus their held-out two first, which never train a zero-shot slot. Cross-domain, every tuned method adds the
    warm users' target clicks (the warm model never saw the target domain); theirs train the zero-shot slot too."""
    lengths = np.diff(split.offsets)
    warm = np.flatnonzero(split.roles == ROLE_WARM)
    warm_part = (warm, np.maximum(lengths[warm] - 2, 0), False)
    if spec.tune is None:
        return [warm_part]
    k = spec.tune.k_shot
    tune = np.flatnonzero(split.roles == ROLE_TUNE)
    n = lengths[tune] if k is None else np.minimum(lengths[tune], k)
    zero_shot = spec.tune.method not in ("sasrec", "warm-only")
    tune_part = (tune, n, zero_shot)
    if spec.tune.method in FROM_SCRATCH:
        return [warm_part, tune_part]
    return [(warm, warm_part[1], zero_shot), tune_part] if spec.cross_domain else [tune_part]


def windows(spec: RunSpec, split: Split) -> Windows:
    """The training windows of the run (training_clicks' parts, in order)."""
    parts = [
        build_windows(split.offsets, split.items, users, spec.backbone.max_len, n, zero_shot=zero_shot)
        for users, n, zero_shot in training_clicks(spec, split)
    ]
    return parts[0] if len(parts) == 1 else concat_windows(parts)


def n_windows(spec: RunSpec, split: Split) -> int:
    """len(windows(spec, split)), counted from the click counts alone (no window is built)."""
    return sum(
        int(window_counts(n, spec.backbone.max_len, zero_shot).sum())
        for _, n, zero_shot in training_clicks(spec, split)
    )


def sampler(spec: RunSpec, split: Split, n_items: int) -> NegativeSampler:
    """Negatives avoid the clicks the run may see: with k-shot, only the first k of a cold user; a cross-domain
    split draws them from its domain's items (split.pool)."""
    pool = None if split.pool is None else np.flatnonzero(split.pool)
    if spec.tune is None:
        return NegativeSampler(split.offsets, split.items, n_items, pool=pool)
    seen = crop_k_shot(split.offsets, split.items, split.roles >= ROLE_TUNE, spec.tune.k_shot)
    return NegativeSampler(*seen, n_items, pool=pool)


def schedule(spec: RunSpec) -> Schedule:
    """Warm-training's recipe (warm-up, decay, negatives per position) for the warm run and for sasrec, which
    trains a backbone from scratch, and for every method of a cross-domain run, which learns the target domain's
    new items; the tuning methods otherwise train at a constant rate with one negative."""
    w = spec.warm
    recipe = {"warmup": w.warmup, "decay": w.decay, "negatives": w.negatives}
    if spec.tune is None:
        return Schedule(w.lr, w.epochs, w.patience, w.batch_size, w.weight_decay, **recipe)
    t = spec.tune
    settings = tuple(spec.resolved(name) for name in ("lr", "epochs", "patience", "batch_size"))
    return Schedule(*settings, **recipe) if t.method in FROM_SCRATCH or spec.cross_domain else Schedule(*settings)


def random_streams(spec: RunSpec) -> tuple[np.random.Generator, int]:
    """(window order and negatives, the seed of each step's draws: dropout and the objective's random views),
    from the run's seed."""
    seed = spec.warm.seed if spec.tune is None else spec.tune.seed
    return np.random.default_rng(seed if spec.tune is None else [seed, 7]), seed


def objective(spec: RunSpec) -> Objective:
    """Warm-training's loss for the warm run and sasrec; BPR on every target slot for tuning (warm-training's loss
    in a cross-domain run, as its schedule); PPR adds its contrastive loss."""
    if spec.tune is not None and spec.tune.method == "melu":
        return melu_loss
    softmax = spec.warm.loss == "softmax"
    if spec.tune is None or spec.tune.method in FROM_SCRATCH:
        base = sampled_softmax if softmax else next_item_bpr
        backbone_itself = spec.tune is None or spec.tune.method == "sasrec"  # not melu's or gce-gnn's network
        if backbone_itself and spec.backbone.kind == "bert4rec":
            return cloze(spec.warm.loss)
        return with_sequence_cl(base) if spec.backbone.kind == "cl4srec" and backbone_itself else base
    softmax &= spec.cross_domain
    if not spec.tune.uses_cl:
        return sampled_softmax if softmax else next_item_bpr
    tune = spec.tune
    next_item = _softmax if softmax else _bpr

    def bpr_and_cl(model: nn.Module, batch: Batch, draws: Draws) -> torch.Tensor:
        """BPR on the user vectors; InfoNCE from the sequence state f_seq (no MLP_a term) to each view's.

        The views read a window's clicks up to max_len (a full window's last click is only ever a target), so a
        row's views do not depend on the batch's other rows or its padding.
        """
        read = batch.tokens[:, : min(batch.tokens.shape[1], model.cfg.max_len)]
        n = (read != 0).sum(dim=1)
        states = model.sequence_outputs(read, batch.codes, zero_shot=True, with_profile=False)  # (B, width + 1, d)
        out = states[:, : batch.tokens.shape[1]]  # out[:, t] has read tokens[:, :t]: what predicts tokens[:, t]
        out = out + model.profile_term(batch.codes, states[:, 0]).unsqueeze(1)
        z = states[torch.arange(len(n), device=n.device), n]  # f_seq after the clicks read
        views = []
        if tune.prompt_aug:
            views.append(model.sequence_state(read, batch.codes, prompt_mask=tune.prompt_mask))
        if tune.behavior_aug:
            masked = mask_clicks(read, tune.behavior_mask, draws)
            views.append(model.sequence_state(masked, batch.codes, lengths=n))
        cl = sum(info_nce(z, v, tune.temperature, batch.rows) for v in views)
        return next_item(model, batch, out) + tune.cl_weight * cl

    return bpr_and_cl


def with_sequence_cl(base: Objective) -> Objective:
    """CL4SRec's pre-training: the next-item loss plus CL4SREC_WEIGHT x NT-Xent between two augmented views
    (crop, mask or reorder; ppr.train.augment) of every training window."""

    def loss(model: nn.Module, batch: Batch, draws: Draws) -> torch.Tensor:
        views = [augment_sequences(batch.inputs, draws.generator()) for _ in range(2)]
        a, b = (model.sequence_state(seq, batch.codes, lengths=n) for seq, n in views)
        return base(model, batch, draws) + CL4SREC_WEIGHT * nt_xent(a, b, CL4SREC_TEMPERATURE)

    return loss


def cloze(loss: str) -> Objective:
    """BERT4Rec's pre-training: CLOZE_SHARE of a window's clicks (at least one) replaced by the mask and each
    predicted from both sides; as its paper adds samples that mask only the last click (the task it is used for),
    LAST_ONLY_SHARE of the windows do that instead. Each masked click is scored against its slot's sampled
    negatives (`loss`: softmax or bpr)."""

    def cloze_loss(model: nn.Module, batch: Batch, draws: Draws) -> torch.Tensor:
        tokens = batch.tokens
        real = tokens != 0
        draw = draws.uniform(tokens.shape, tokens.device)
        last_only = draws.uniform(tokens.shape[:1], tokens.device) < LAST_ONLY_SHARE
        masked = (draw < CLOZE_SHARE) & real & ~last_only.unsqueeze(1)
        last = (real.sum(dim=1) - 1).clamp(min=0)
        rows = torch.arange(len(tokens), device=tokens.device)
        masked[rows, last] |= ~masked.any(dim=1) & real.any(dim=1)
        pos, neg = _scores(model, batch, model.backbone.cloze_states(tokens, masked))
        if loss == "bpr":
            return _bpr_of(pos, neg, masked, batch.per_window)
        return _softmax_of(pos, neg, masked, batch.per_window)

    return cloze_loss


def melu_loss(model: nn.Module, batch: Batch, draws: Draws) -> torch.Tensor:
    """First-order MAML over users: each window's first half of clicks is the support set the decision layers
    adapt to, its second half the query set scored at the adapted layers (sampled softmax against the window's
    negatives). A window of one click has no support: it trains the zero-shot user."""
    clicks = batch.tokens
    n = (clicks != 0).sum(dim=1, keepdim=True)
    pos = torch.arange(clicks.shape[1], device=clicks.device).unsqueeze(0)
    support = clicks.masked_fill(pos >= n // 2, 0)
    query = (pos >= n // 2) & (clicks != 0)
    u = model.user_vector(support, batch.codes)
    emb = model.item_emb
    positive = torch.einsum("bd,bmd->bm", u, emb(clicks))
    if batch.per_window:  # the window's K negatives, shared by its slots
        negative = torch.einsum("bd,bkd->bk", u, emb(batch.negatives)).unsqueeze(1).expand(-1, clicks.shape[1], -1)
    else:  # one negative per slot
        negative = (u.unsqueeze(1) * emb(batch.negatives)).sum(-1)
    return _softmax_of(positive, negative, query, batch.per_window)


def next_item_bpr(model: nn.Module, batch: Batch, draws: Draws) -> torch.Tensor:
    """BPR of each target slot: output t (having read inputs[:, :t]) scores tokens[:, t] above its negative."""
    return _bpr(model, batch, model.sequence_outputs(batch.inputs, batch.codes, zero_shot=True))


def sampled_softmax(model: nn.Module, batch: Batch, draws: Draws) -> torch.Tensor:
    """Cross-entropy of each target slot's positive against the window's sampled negatives."""
    return _softmax(model, batch, model.sequence_outputs(batch.inputs, batch.codes, zero_shot=True))


def _softmax(model: nn.Module, batch: Batch, out: torch.Tensor) -> torch.Tensor:
    pos, neg = _scores(model, batch, out)
    return _softmax_of(pos, neg, batch.target_mask, batch.per_window)


def _softmax_of(pos: torch.Tensor, neg: torch.Tensor, slots: torch.Tensor, per_window: bool) -> torch.Tensor:
    """Mean cross-entropy of the positive against its negatives over the `slots` (bool) that are targets."""
    logits = torch.cat([pos.unsqueeze(-1), neg if per_window else neg.unsqueeze(-1)], dim=-1).float()
    loss = -torch.log_softmax(logits, dim=-1)[..., 0]
    mask = slots.to(loss.dtype)
    return (loss * mask).sum() / mask.sum().clamp(min=1.0)


def _scores(model: nn.Module, batch: Batch, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, m+1) positive and (B, m+1) or, with per-window negatives, (B, m+1, K) negative scores of each slot."""
    table = model.item_table()

    def emb(ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, table, padding_idx=0)  # as the item embedding's own forward

    pos = (out * emb(batch.tokens)).sum(-1)
    if batch.per_window:
        return pos, torch.einsum("bmd,bkd->bmk", out, emb(batch.negatives))
    return pos, (out * emb(batch.negatives)).sum(-1)


def _bpr(model: nn.Module, batch: Batch, out: torch.Tensor) -> torch.Tensor:
    """BPR of each target slot, averaged over its negatives."""
    pos, neg = _scores(model, batch, out)
    return _bpr_of(pos, neg, batch.target_mask, batch.per_window)


def _bpr_of(pos: torch.Tensor, neg: torch.Tensor, slots: torch.Tensor, per_window: bool) -> torch.Tensor:
    if per_window:
        return bpr_loss(pos.unsqueeze(-1).expand_as(neg), neg, slots.unsqueeze(-1).expand_as(neg))
    return bpr_loss(pos, neg, slots)


def model_codes(spec: RunSpec, ds: Dataset, split: Split) -> np.ndarray:
    """The codes a tuning run's model is given: profile_codes, plus, for a model that reads the source domain
    (RunSpec.reads_source), a last column pointing each user at their source row (ppr.models.source)."""
    codes = profile_codes(spec.tune, ds, split)
    if not spec.reads_source:
        return codes
    rows = source_rows(split.n_users, np.diff(split.source[0]) > 0)
    return np.concatenate([codes, rows[:, None]], axis=1)


def source_histories(spec: RunSpec, split: Split) -> np.ndarray:
    """(n_users + 1, max_len) every user's last max_len source-domain clicks, right-padded (row u + 1: user u;
    row 0: none): what minet reads, and what the warm backbone turns into the source vectors of finetune and
    ppr-full."""
    offsets, items = split.source
    lengths = np.diff(offsets)
    padded = np.append(items, 0)  # a user without source clicks after the last click's owner reads padding
    rows = history_matrix(offsets, padded, np.arange(len(lengths)), lengths, spec.backbone.max_len)
    return np.concatenate([np.zeros((1, rows.shape[1]), rows.dtype), rows])


def empty_side(spec: RunSpec, n_users: int) -> np.ndarray | None:
    """A side input of the right shape for loading a finished run's model (its checkpoint fills it in); None for a
    model that reads no source domain."""
    if not spec.reads_source:
        return None
    if spec.tune.method == "minet":
        return np.zeros((n_users + 1, spec.backbone.max_len), np.int64)
    return np.zeros((n_users + 1, spec.backbone.d), np.float32)


def run_split(spec: RunSpec, split: Split) -> Split:
    """The split a run trains and is scored on: the source domain's view of a cross-domain split for its warm run
    (ppr.data.splits.source_view), the split itself otherwise."""
    return source_view(split) if spec.tune is None else split


def profile_codes(tune: TuneSpec, ds: Dataset, split: Split) -> np.ndarray:
    """Profile codes as the method sees them: noise on cold users, seeded by the tuning seed."""
    codes = ds.attribute_codes()
    if tune.noise > 0:
        codes = noisy_codes(codes, ds.cardinalities, tune.noise, tune.seed, users=split.roles >= ROLE_TUNE)
    return codes


def parameter_report(model: nn.Module, cardinalities: list[int]) -> dict[str, Any]:
    """Trained parameters and their share of fine-tuning's (backbone + MLP_a), paper Table I (counted
    baselines train none)."""
    if not isinstance(model, (MeLU, MiNet, ColdStartRecommender)):
        return {
            "tuned": 0,
            "counted": int(model.item_table().numel()),
            "smoothing": model.smoothing,
            "finetune": None,
            "share_of_finetune": 0.0,
        }
    with torch.random.fork_rng():  # fine-tuning's model, built to be counted
        finetune = sum(p.numel() for p in build_backbone(model.cfg, model.n_items).parameters()) + sum(
            p.numel() for p in ProfileEncoder(cardinalities, model.cfg.d).parameters()
        )
    counts = model.parameter_counts() if isinstance(model, ColdStartRecommender) else {}
    tuned = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {**counts, "tuned": tuned, "finetune": finetune, "share_of_finetune": tuned / finetune}
