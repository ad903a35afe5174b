"""Train a run spec's model the way the pipeline does, from public pieces (for the trainer and method tests)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import torch

from ppr.data.splits import Split
from ppr.data.store import Dataset
from ppr.eval.evaluate import evaluate, summarize_scores
from ppr.models.recommender import ColdStartRecommender
from ppr.spec.run import RunSpec
from ppr.train import methods
from ppr.train.trainer import Trainer

CPU = torch.device("cpu")


def validation(spec: RunSpec, model: ColdStartRecommender, split: Split, codes: np.ndarray | None):
    """The validation the run watches: joint metrics of warm_val (warm run) or val (tuning run)."""
    group = "warm_val" if spec.tune is None else "val"
    k = None if spec.tune is None else spec.tune.k_shot

    def validate() -> dict[str, float]:
        scores = evaluate(model, split, group, codes, spec.backbone.max_len, k)
        return {name: v for name, v in summarize_scores(scores)["joint"].items() if name != "n"}

    return validate


def trainer(
    spec: RunSpec, ds: Dataset, split: Split, model: ColdStartRecommender, codes: np.ndarray | None = None
) -> Trainer:
    rng, seed = methods.random_streams(spec)
    return Trainer(
        model,
        methods.objective(spec),
        methods.windows(spec, split),
        methods.sampler(spec, split, ds.n_items),
        methods.schedule(spec),
        validation(spec, model, split, codes),
        rng,
        seed,
        CPU,
        codes,
    )


def roundtrip(state: dict[str, Any]) -> dict[str, Any]:
    """What a checkpoint file gives back (torch.save + weights_only load)."""
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def same_weights(a: torch.nn.Module | dict, b: torch.nn.Module | dict) -> bool:
    sa = a if isinstance(a, dict) else a.state_dict()
    sb = b if isinstance(b, dict) else b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
