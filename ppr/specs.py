"""Run specs and ids: everything that identifies a warm or tuning run, computed without torch.

A run folder is named by its spec's hash (ppr.runs.make_run_id), so a sweep can list its
cells' folders, and skip finished ones, before any training code is imported.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from ppr.data.splits import SplitConfig
from ppr.data.store import Dataset
from ppr.runs import library_versions, make_run_id
from ppr.train.config import TuneConfig, WarmConfig


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def base_spec(kind: str, ds: Dataset, split_cfg: SplitConfig, device: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "dataset": {"name": ds.name, "content_hash": ds.content_hash},
        "dataset_ref": ds.ref,
        "split": {"id": split_cfg.split_id, "config": dataclasses.asdict(split_cfg)},
        "versions": library_versions(),
        "device": str(device),
        "created_at": now(),
    }


def warm_spec(ds: Dataset, split_cfg: SplitConfig, cfg: WarmConfig, device: str) -> dict[str, Any]:
    warm = {k: v for k, v in cfg.to_dict().items() if k != "device"}
    return {**base_spec("warm", ds, split_cfg, device), "backbone": cfg.backbone(ds.n_items).to_dict(), "warm": warm}


def warm_prefix(ds: Dataset) -> str:
    return f"{ds.name}-warm"


def warm_run_id(ds: Dataset, split_cfg: SplitConfig, cfg: WarmConfig) -> str:
    return make_run_id(warm_prefix(ds), warm_spec(ds, split_cfg, cfg, "cpu"))


def tune_spec(ds: Dataset, cfg: TuneConfig, wspec: dict[str, Any], warm_id: str, device: str) -> dict[str, Any]:
    split_cfg = SplitConfig(**wspec["split"]["config"])
    return {
        **base_spec("tune", ds, split_cfg, device),
        "backbone": wspec["backbone"],
        "warm_run": warm_id,
        "tune": cfg.to_dict(),
        "eval": {"group": "test", "selection": "val joint ndcg@10"},
    }


def tune_prefix(ds: Dataset, cfg: TuneConfig) -> str:
    return f"{ds.name}-{cfg.label}-k{cfg.k_shot or 'all'}-r{cfg.noise:g}-s{cfg.seed}"


def tune_run_id(ds: Dataset, cfg: TuneConfig, split_cfg: SplitConfig, warm_cfg: WarmConfig) -> str:
    """The id tune_run gives this cell when its warm run is the matching one (warm seed = tuning seed)."""
    wcfg = dataclasses.replace(warm_cfg, seed=cfg.seed)
    wspec = warm_spec(ds, split_cfg, wcfg, "cpu")
    return make_run_id(tune_prefix(ds, cfg), tune_spec(ds, cfg, wspec, warm_run_id(ds, split_cfg, wcfg), "cpu"))
