"""What the Prompt explorer shows of a tuning run: users' vectors and profiles, one user's clicks, the
top-10 of the methods side by side, and a what-if profile edit.

`explorable_runs` lists finished runs with embeddings.parquet; `decode` turns attribute codes into
the manifest's values; `user_detail` gives one user's profile, clicks (titled where items.parquet
has titles) and stored top-10 with held-out clicks marked as hits; `sibling_runs` finds the other
methods' runs of the same cell; `whatif` recomputes the top-10 and vectors for edited attributes
through the one scorer (ppr.eval.scoring).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from ppr.data.store import Dataset, Store
from ppr.errors import InputError
from ppr.eval.scoring import top_k, user_vectors
from ppr.models.recommender import ColdStartRecommender
from ppr.runs.folder import RunFolder, list_runs, spec_summary
from ppr.train.batching import history_matrix

SIDE_BY_SIDE = ("finetune", "ppr-light", "ppr-full")
VECTOR_KINDS = {"prompt": "prompt vectors", "user_vector": "final user vectors"}


def explorable_runs(store: Store) -> list[RunFolder]:
    """Finished runs that wrote embeddings.parquet, sorted by id."""
    return [r for r in list_runs(store.runs_dir) if (r.path / "embeddings.parquet").is_file() and r.is_complete]


def run_label(run: RunFolder) -> str:
    s = spec_summary(run.info())
    return f"{run.id} ({s['label']}, k={s['k']}, noise {s['noise']:g})"


def run_dataset(store: Store, run: RunFolder) -> Dataset | None:
    """The run's dataset version, or None once it was removed from the store."""
    try:
        return store.open(spec_summary(run.info())["dataset"])
    except InputError:
        return None


def decode(emb: pd.DataFrame, ds: Dataset | None) -> pd.DataFrame:
    """Attribute code columns replaced by the manifest's values (codes kept when unknown); vectors dropped."""
    out = emb.drop(columns=[c for c in ("prompt", "user_vector", "top20") if c in emb.columns])
    for attr in ds.attributes if ds is not None else []:
        name, values = attr["name"], list(attr["values"])
        if name in out.columns:
            out[name] = [values[int(c)] if 0 <= int(c) < len(values) else str(c) for c in out[name]]
    return out


def vector_matrix(emb: pd.DataFrame, kind: str) -> np.ndarray | None:
    """(n, d) float32 of 'prompt' or 'user_vector'; None when the column is empty (no prompt, e.g. finetune)."""
    col = emb[kind]
    if col.isna().any():
        return None
    return np.stack([np.asarray(v, dtype=np.float32) for v in col])


def item_titles(ds: Dataset) -> dict[int, str]:
    """item id -> title (or name) where the dataset has one."""
    it = ds.items()
    col = next((c for c in ("title", "name") if c in it.columns), None)
    return dict(zip(it["item"].astype(int), it[col].astype(str), strict=False)) if col else {}


def default_user(table: pd.DataFrame) -> int:
    """The user the explorer opens on: the first test user (only they have stored top-10s), else the first."""
    test = table.loc[table["role"] == "test", "user"]
    return int(test.iloc[0] if len(test) else table["user"].iloc[0])


def user_detail(ds: Dataset | None, emb: pd.DataFrame, user: int, top: int = 10) -> dict[str, Any]:
    """profile (decoded) and its codes, clicks (seen by the tuner / held out) with titles, the held-out items,
    the stored top-`top` with hits marked (None: not a test user of this run)."""
    if not (emb["user"] == user).any():
        return {
            "profile": {},
            "codes": [],
            "clicks": pd.DataFrame(),
            "held": set(),
            "recommendations": None,
            "role": None,
        }
    row = emb[emb["user"] == user].iloc[0]
    profile = decode(emb[emb["user"] == user], ds).iloc[0].to_dict()
    clicks = pd.DataFrame(columns=["position", "item", "seen by the model"])
    titles: dict[int, str] = {}
    held: set[int] = set()
    if ds is not None:
        offsets, items = ds.sequences()
        seq = items[offsets[user] : offsets[user + 1]]
        n_seen = int(row["n_clicks"])
        clicks = pd.DataFrame(
            {
                "position": np.arange(1, len(seq) + 1),
                "item": seq.astype(int),
                "seen by the model": np.arange(len(seq)) < n_seen,
            }
        )
        held = {int(i) for i in seq[n_seen:]}
        titles = item_titles(ds)
        if titles:
            clicks["title"] = clicks["item"].map(titles)
    recs = None
    if isinstance(row.get("top20"), np.ndarray | list):
        recs = ranked(list(row["top20"])[:top], held, titles)
    codes = [int(row[a["name"]]) for a in (ds.attributes if ds is not None else [])]
    return {
        "profile": profile,
        "codes": codes,
        "clicks": clicks,
        "held": held,
        "recommendations": recs,
        "role": row["role"],
    }


def ranked(ids: list[int], held: set[int], titles: dict[int, str]) -> pd.DataFrame:
    """rank, item, hit (a held-out click) and title (where known) of a top list."""
    ids = [int(i) for i in ids]
    recs = pd.DataFrame({"rank": np.arange(1, len(ids) + 1), "item": ids, "hit": [i in held for i in ids]})
    if titles:
        recs["title"] = recs["item"].map(titles)
    return recs


def whatif(
    model: ColdStartRecommender, ds: Dataset, user: int, n_seen: int, codes: list[int], top: int = 10
) -> dict[str, Any]:
    """`user`'s first n_seen clicks under the given attribute codes: top (item ids, seen clicks excluded),
    user_vector (d,) and prompt (flat, None without a prompt), computed as embeddings.parquet's columns are."""
    offsets, items = ds.sequences()
    seqs = history_matrix(offsets, items, np.array([user]), np.array([n_seen]), model.backbone.cfg.max_len)
    cod = np.asarray([codes], dtype=np.int64)
    cpu = torch.device("cpu")
    prompt = model.flat_prompt(torch.as_tensor(cod))
    return {
        "top": [int(i) for i in top_k(model, seqs, cod, top, cpu)[0]],
        "user_vector": user_vectors(model, seqs, cod, cpu)[0],
        "prompt": None if prompt is None else prompt[0].detach().numpy(),
    }


def picked_user(event: Any, selection: str) -> int | None:
    """The user a chart event's point selection `selection` holds (its points carry the field 'user'); None when
    nothing is picked."""
    for point in ((event or {}).get("selection") or {}).get(selection) or []:
        if isinstance(point, dict) and point.get("user") is not None:
            return int(point["user"])
    return None


def run_cell(info: dict[str, Any]) -> tuple[Any, ...] | None:
    """What makes tuning runs comparable user by user: everything but the method and its toggles."""
    spec = info.get("spec")
    if not spec or not spec.get("tune"):
        return None
    tune = spec["tune"]
    rest = {k: v for k, v in spec.items() if k != "tune"}
    return (repr(sorted(rest.items())), tune.get("k_shot"), float(tune.get("noise", 0.0)), tune.get("seed"))


def sibling_runs(
    run: RunFolder, candidates: list[RunFolder], methods: tuple[str, ...] = SIDE_BY_SIDE
) -> dict[str, RunFolder]:
    """method -> run: the run itself and, per other method of `methods`, its run among `candidates` in the
    same cell (run_cell); among several of one method, the one sharing the most tuning settings (so an
    ablation finds its matching ablation), then the newest."""
    infos = {r.id: r.info() for r in candidates}
    mine = infos.get(run.id) or run.info()
    tune = mine["spec"]["tune"]
    out = {tune["method"]: run}
    for method in methods:
        if method in out:
            continue
        same = [
            r
            for r in candidates
            if _tune(infos[r.id]).get("method") == method and run_cell(infos[r.id]) == run_cell(mine)
        ]
        if same:
            out[method] = max(same, key=lambda r: (sum(_tune(infos[r.id]).get(k) == v for k, v in tune.items()), r.id))
    return out


def _tune(info: dict[str, Any]) -> dict[str, Any]:
    return (info.get("spec") or {}).get("tune") or {}


def missing_hint(info: dict[str, Any], missing: list[str]) -> str:
    """How to get the methods this cell lacks: a sweep over the same dataset version and cell."""
    s = spec_summary(info)
    return (
        f"Not in the store for this cell: {', '.join(missing)}. Run them with a sweep on the **Runs** page or "
        f"`python -m ppr sweep {s['dataset']} --methods {','.join(missing)} --k-shots {s['k']} "
        f"--noise {s['noise']:g} --seeds {s['seed']}` with the same backbone settings as this run (its warm "
        "run is then reused)."
    )
