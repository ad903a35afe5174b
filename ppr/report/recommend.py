"""Recommendations for any user, known or brand-new, from a finished tuning run.

A brand-new user is a profile (attribute=value pairs, read the way the importer encoded the
dataset's attributes) and optionally the first clicks (original item ids, oldest first): with no
clicks the run recommends zero-shot, from the profile alone; each click added moves it to 1-shot,
then k-shot. A known user (`user_id`) brings their stored profile and clicks. Recommendations
never repeat a click and come from the run's model through the one scorer (ppr.eval.scoring).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from ppr.data.attributes import code_for
from ppr.data.store import Dataset, Store
from ppr.errors import InputError
from ppr.eval.scoring import candidate_scores, top_k
from ppr.runs.folder import RunFolder, complete_run, list_runs, spec_summary
from ppr.runs.pipeline import load_model
from ppr.spec.run import PROFILE_METHODS
from ppr.train.batching import history_matrix

CPU = torch.device("cpu")
TRIED = PROFILE_METHODS  # side by side, the profile baseline first


def recommending_runs(store: Store) -> list[RunFolder]:
    """Finished tuning runs of the methods that read a profile (TRIED), sorted by id."""
    return [r for r in list_runs(store.runs_dir) if r.is_complete and spec_summary(r.info())["method"] in TRIED]


@dataclass(frozen=True)
class Query:
    """A user as the model reads them: attribute codes (one per attribute) and clicks (internal item ids)."""

    codes: np.ndarray
    clicks: np.ndarray
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Recommendation:
    """A run's top items for one query, with what produced them."""

    run_id: str
    method: str
    query: Query
    items: pd.DataFrame

    def as_dict(self) -> dict:
        return {
            "run": self.run_id,
            "method": self.method,
            "clicks": len(self.query.clicks),
            "warnings": self.query.warnings,
            "items": self.items.to_dict("records"),
        }


def from_run(
    store: Store,
    run: str,
    *,
    user: str | None = None,
    profile: str | dict[str, str] | None = None,
    clicks: str | list[str] | None = None,
    top: int = 20,
) -> Recommendation:
    """The top `top` items of a finished tuning run for a known `user` (original id) or a new `profile`
    ('age=25,gender=F' or a dict), with optional first `clicks` (original item ids, oldest first).

    >>> from_run(Store(), "ml-100k-ppr-full-...", profile="age=25,gender=F", clicks="50,181").items
    """
    if (user is None) == (profile is None):
        raise InputError("Give either a known user's id or a new user's profile (not both).")
    if not 1 <= top <= 10_000:
        raise InputError(f"--top {top} is invalid: expected a number of items from 1 to 10,000.")
    folder = complete_run(store.runs_dir, run)
    spec = folder.spec()
    if spec.tune is None:
        raise InputError(f"Run {folder.id} is a warm run; recommend from a tuning run (`python -m ppr runs list`).")
    if spec.reads_source:
        raise InputError(
            f"Run {folder.id} is cross-domain: its model reads each user's source-domain clicks, which a new "
            "profile lacks; recommending from it is not supported yet (use a run without --target-domain)."
        )
    ds = store.open_exact(spec.dataset, spec.dataset_hash)
    query = user_query(ds, user, clicks) if user is not None else profile_query(ds, profile, clicks or "")
    table = recommend(load_model(store, folder), ds, query, top)
    return Recommendation(folder.id, spec_summary(folder.info())["label"], query, table)


def profile_query(ds: Dataset, profile: str | dict[str, str], clicks: str | list[str] = "") -> Query:
    """A brand-new user from 'age=25,gender=F' (or a dict) and 'ITEM,ITEM' original item ids.

    An attribute left out is 'missing'; a value the dataset never had is 'missing' with a warning; an
    unknown attribute name or item id is an InputError naming it.
    """
    pairs = _pairs(profile) if isinstance(profile, str) else dict(profile)
    known = {a["name"]: a for a in ds.attributes}
    unknown = sorted(set(pairs) - set(known))
    if unknown:
        raise InputError(
            f"Dataset {ds.ref} has no attribute {', '.join(map(repr, unknown))}; its attributes are "
            f"{', '.join(known) or 'none'} (give them as name=value, comma-separated)."
        )
    codes, warnings = np.zeros(len(known), np.int64), []
    for j, (name, entry) in enumerate(known.items()):
        if name not in pairs:
            continue
        code = code_for(entry, pairs[name])
        if code is None:
            warnings.append(
                f"{name}={pairs[name]!r} is not a value of {ds.ref} (known: "
                f"{', '.join(map(str, entry['values'][1:8]))}{', ...' if len(entry['values']) > 8 else ''});"
                " read as 'missing'"
            )
            code = 0
        codes[j] = code
    return Query(codes, item_ids(ds, clicks), warnings)


def user_query(ds: Dataset, user_id: str, clicks: str | list[str] | None = None) -> Query:
    """A known user (original id): their stored profile and clicks, or `clicks` instead of the stored ones."""
    users = ds.users()
    match = users.index[users["user_id"].astype(str) == str(user_id)]
    if not len(match):
        raise InputError(f"Dataset {ds.ref} has no user {user_id!r} (user ids are the original ones of the import).")
    user = int(users.loc[match[0], "user"])
    if clicks is not None:
        return Query(ds.attribute_codes()[user], item_ids(ds, clicks))
    offsets, items = ds.sequences()
    return Query(ds.attribute_codes()[user], items[offsets[user] : offsets[user + 1]].astype(np.int64))


def item_ids(ds: Dataset, clicks: str | list[str]) -> np.ndarray:
    """Internal ids of original item ids, in the order given; an unknown one is an InputError."""
    wanted = [c.strip() for c in (clicks.split(",") if isinstance(clicks, str) else clicks) if str(c).strip()]
    lookup = dict(zip(ds.items()["item_id"].astype(str), ds.items()["item"].astype(np.int64), strict=False))
    unknown = [c for c in wanted if str(c) not in lookup]
    if unknown:
        raise InputError(
            f"Dataset {ds.ref} has no item {', '.join(map(repr, unknown[:5]))}"
            f"{' (and more)' if len(unknown) > 5 else ''}; clicks are original item ids, comma-separated."
        )
    return np.asarray([lookup[str(c)] for c in wanted], dtype=np.int64)


def recommend(model: nn.Module, ds: Dataset, query: Query, top: int = 10) -> pd.DataFrame:
    """rank, item_id, title (where the dataset has titles) and score of the top `top` items, clicks excluded."""
    max_len = model.backbone.cfg.max_len if hasattr(model, "backbone") else max(1, len(query.clicks))
    n = len(query.clicks)
    if n:
        seq = history_matrix(np.array([0, n]), query.clicks, np.array([0]), np.array([n]), max_len)
    else:
        seq = np.zeros((1, max_len), np.int64)  # zero-shot: the profile alone
    codes = query.codes[None, :]
    ids = top_k(model, seq, codes, top, CPU, seen=query.clicks[None, :] if n > max_len else None)[0]
    ids = ids[ids > 0]
    scores = candidate_scores(model, seq, codes, ids[None, :], CPU)[0]
    items = ds.items().set_index("item")
    out = pd.DataFrame(
        {
            "rank": np.arange(1, len(ids) + 1),
            "item_id": items.loc[ids, "item_id"].astype(str).to_numpy(),
            "score": scores,
        }
    )
    if "title" in items.columns and items["title"].notna().any():
        out.insert(2, "title", items.loc[ids, "title"].to_numpy())
    return out


def _pairs(text: str) -> dict[str, str]:
    out = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, eq, value = part.partition("=")
        if not eq or not name.strip():
            raise InputError(f"Profile part {part!r} is not of the form name=value (e.g. age=25,gender=F).")
        out[name.strip()] = value.strip()
    return out
