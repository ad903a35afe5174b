"""Datasets with two item domains for the cross-domain tests."""

from __future__ import annotations

from pathlib import Path

from _planted import planted_dataset

from ppr.data.domains import declare_domains
from ppr.data.store import Dataset, Store
from ppr.data.synth import synth_dataset


def planted_domains(home: Path, n_users: int = 500) -> Dataset:
    """The planted dataset (items in groups g1..g4 by category), group g1 declared the target domain."""
    store = Store(home)
    planted_dataset(store, n_users=n_users)
    return declare_domains(store, "planted", "category", ["g1"])


def synth_domains(home: Path, n_users: int = 600, n_items: int = 160, name: str = "xd") -> Dataset:
    """`data synth --domains 2`: clusters alternate between domains 'source' and 'target', twins share a taste."""
    return synth_dataset(Store(home), name, n_users, n_items, mean_len=20, seed=0, domains=2, log=lambda _m: None)
