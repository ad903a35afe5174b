"""Random-number state a training run carries besides its weights, for exact epoch resume.

Some modules keep their own numpy Generator (SASRec's CPU dropout); torch's global
RNG drives the rest. Saving both with the epoch checkpoint makes a resumed run
draw exactly what the uninterrupted run would have drawn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def rng_state(model: torch.nn.Module) -> dict[str, Any]:
    """torch's CPU RNG state + the state of every module-held numpy Generator (in module order)."""
    gens = [m.rng.bit_generator.state for m in model.modules() if isinstance(getattr(m, "rng", None), np.random.Generator)]
    return {"torch": torch.get_rng_state(), "modules": gens}


def set_rng_state(model: torch.nn.Module, state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    mods = [m for m in model.modules() if isinstance(getattr(m, "rng", None), np.random.Generator)]
    for m, s in zip(mods, state["modules"], strict=True):
        m.rng.bit_generator.state = s
