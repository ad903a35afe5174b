"""RunSpec: one experiment cell as plain JSON; it determines the run folder's id.

The id is the one ppr.experiment gives the same settings (readable prefix + hash of
the full experiment spec), so a cell run by a sweep, by `python -m ppr tune` or by
the app lands in the same folder and is never computed twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ppr.data.splits import SplitConfig
from ppr.data.store import Dataset, Store
from ppr.errors import InputError
from ppr.specs import tune_run_id, warm_run_id
from ppr.train.config import TuneConfig, WarmConfig

KINDS = ("warm", "tune")


@dataclass(frozen=True)
class RunSpec:
    """Dataset version + content hash, split, warm-training settings, tuning settings (tune runs), device."""

    kind: str
    dataset: str  # NAME@vN
    dataset_hash: str
    split: dict[str, Any]  # SplitConfig fields
    warm: dict[str, Any]  # WarmConfig fields without device (seed = the tuning seed for tune runs)
    tune: dict[str, Any] | None = None  # TuneConfig fields
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.kind not in KINDS or (self.kind == "tune") != (self.tune is not None):
            raise InputError(f"Run spec kind {self.kind!r} is invalid: expected 'warm', or 'tune' with tuning settings.")

    def split_config(self) -> SplitConfig:
        return SplitConfig(**self.split)

    def warm_config(self) -> WarmConfig:
        return WarmConfig(**self.warm, device=self.device)

    def tune_config(self) -> TuneConfig:
        if self.tune is None:
            raise InputError(f"Run spec for dataset {self.dataset} is a warm run: it has no tuning settings.")
        return TuneConfig(**self.tune)

    def warm_spec(self) -> RunSpec:
        """The warm run this tune run starts from (itself for a warm run)."""
        return dataclasses.replace(self, kind="warm", tune=None)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunSpec:
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d})

    @property
    def hash(self) -> str:
        """Identity of the cell (device excluded: where it runs does not change what it is)."""
        body = {k: v for k, v in self.to_dict().items() if k != "device"}
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:10]

    def run_id(self, ds: Dataset) -> str:
        if self.kind == "warm":
            return warm_run_id(ds, self.split_config(), self.warm_config())
        return tune_run_id(ds, self.tune_config(), self.split_config(), self.warm_config())

    def open_dataset(self, store: Store) -> Dataset:
        """The dataset version this spec names, checked against its content hash."""
        ds = store.open(self.dataset)
        if ds.content_hash != self.dataset_hash:
            raise InputError(
                f"Dataset {self.dataset} has content {ds.content_hash[:12]}, but the run spec was made for "
                f"{self.dataset_hash[:12]}; the version was replaced. Submit the run again."
            )
        return ds


def make_spec(ds: Dataset, split: SplitConfig, warm: WarmConfig, tune: TuneConfig | None, device: str) -> RunSpec:
    """A RunSpec from the library's config objects (warm seed follows the tuning seed)."""
    wd = {k: v for k, v in warm.to_dict().items() if k != "device"}
    if tune is not None:
        wd["seed"] = tune.seed
    td = dataclasses.asdict(tune) if tune is not None else None
    kind = "warm" if tune is None else "tune"
    return RunSpec(kind, ds.ref, ds.content_hash, dataclasses.asdict(split), wd, td, device)
