"""Train a run spec's model the way the pipeline does, from public pieces (for the trainer and method tests)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import torch

from ppr.data.splits import Split
from ppr.data.store import Dataset
from ppr.eval.evaluate import Probe, probe
from ppr.eval.evaluate import validation as scored
from ppr.models.recommender import ColdStartRecommender
from ppr.runs.pipeline import build_trainer
from ppr.spec.run import RunSpec
from ppr.train.trainer import Trainer

CPU = torch.device("cpu")


def validation_probe(spec: RunSpec, split: Split, codes: np.ndarray | None) -> Probe:
    """The targets the run watches: warm_val (warm run) or val (tuning run)."""
    group = "warm_val" if spec.tune is None else "val"
    return probe(split, group, codes, spec.backbone.max_len, None if spec.tune is None else spec.tune.k_shot)


def validation(spec: RunSpec, model: ColdStartRecommender, split: Split, codes: np.ndarray | None):
    """The validation the run watches: joint metrics of its validation probe."""
    checked = validation_probe(spec, split, codes)
    return lambda: scored(model, checked, CPU)


def trainer(
    spec: RunSpec, ds: Dataset, split: Split, model: ColdStartRecommender, codes: np.ndarray | None = None
) -> Trainer:
    return build_trainer(spec, model, split, codes, ds.n_items, CPU, validation(spec, model, split, codes))


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
