"""The backbone's shape, apart from the model code so that run specs are built without torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class BackboneConfig:
    n_items: int
    max_len: int = 50
    d: int = 64
    n_layers: int = 2
    n_heads: int = 1
    d_ff: int = 256
    dropout: float = 0.2

    def to_dict(self) -> dict:
        return asdict(self)
