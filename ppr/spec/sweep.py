"""A sweep: a grid of tuning runs (method x k-shot x noise x seed x ablation) over one base run description.

The cells are RunSpecs built from the base by `RunSpec.tuned`, so a cell is exactly the run
`python -m ppr tune` would compute with the same settings, and lands in the same folder.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from typing import Any

from ppr.errors import InputError
from ppr.spec.run import FROZEN_ITEMS, PPR_METHODS, RunSpec, TuneSpec, digest

# Ablations switch parts of PPR off; they apply to the PPR methods only.
ABLATIONS = {
    "none": {},
    "no-cl": {"cl": False},
    "no-prompt-aug": {"prompt_aug": False},
    "no-behavior-aug": {"behavior_aug": False},
}


@dataclass(frozen=True)
class SweepSpec:
    """base.tune holds the settings every cell shares; each cell replaces its method, k-shot, noise and seed."""

    base: RunSpec
    methods: tuple[str, ...]
    k_shots: tuple[int | None, ...]
    noises: tuple[float, ...]
    seeds: tuple[int, ...]
    ablations: tuple[str, ...] = ("none",)
    folds: tuple[int, ...] = (0,)  # the folds of cold users each cell is tested on (all of the split's, pooled)

    def __post_init__(self) -> None:
        axes = {
            "methods": self.methods,
            "k-shots": self.k_shots,
            "noise rates": self.noises,
            "seeds": self.seeds,
            "ablations": self.ablations,
            "folds": self.folds,
        }
        empty = [name for name, values in axes.items() if not values]
        unknown = [a for a in self.ablations if a not in ABLATIONS]
        if empty or unknown or self.base.tune is None:
            raise InputError(
                f"Sweep grid is invalid ({', '.join(empty + unknown) or 'no tuning settings'}): every "
                f"list needs a value, and ablations come from {', '.join(ABLATIONS)}."
            )
        self.cells()  # every cell's TuneSpec checks its values

    def cells(self) -> list[tuple[str, RunSpec]]:
        """(ablation, run spec) per cell, seed-major; ablations apply to PPR methods only (others once)."""
        out, seen = [], set()
        for seed, fold, method, k, noise in itertools.product(
            self.seeds, self.folds, self.methods, self.k_shots, self.noises
        ):
            for abl in self.ablations if method in PPR_METHODS else ("none",):
                changes = {"method": method, "k_shot": k, "noise": noise, "seed": seed, "fold": fold}
                tune = dataclasses.replace(self.base.tune, **changes, **ABLATIONS[abl])
                if tune not in seen:
                    seen.add(tune)
                    out.append((abl, self.base.tuned(tune)))
        return out

    @classmethod
    def grid(
        cls,
        base: RunSpec,
        methods: tuple[str, ...],
        k_shots: tuple[int | None, ...],
        noises: tuple[float, ...],
        seeds: tuple[int, ...],
        ablations: tuple[str, ...] = ("none",),
        tune: TuneSpec | None = None,
        folds: int = 1,
    ) -> SweepSpec:
        """The sweep over `base`'s data, split, backbone and warm settings whose cells share `tune`'s other settings
        (its method, k-shot, noise and seed are each cell's own)."""
        tune = tune or TuneSpec()
        if base.cross_domain and tune.method in FROZEN_ITEMS and methods:  # no cell's method: keep the template valid
            tune = dataclasses.replace(tune, method=methods[0])
        return cls(
            base.tuned(tune),
            tuple(methods),
            tuple(k_shots),
            tuple(noises),
            tuple(seeds),
            tuple(ablations),
            tuple(range(folds)),
        )

    @property
    def sweep_id(self) -> str:
        return f"{self.base.dataset_name}-{digest(self.to_dict())}"

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "base": self.base.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SweepSpec:
        axes = {k: tuple(d[k]) for k in ("methods", "k_shots", "noises", "seeds", "ablations", "folds") if k in d}
        return cls(RunSpec.from_dict(d["base"]), **axes)
