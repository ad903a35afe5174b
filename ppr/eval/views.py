"""Table shaping for the Compare and Prompt explorer pages (no Streamlit here).

Compare: `sweep_long` is ppr.jobs.report.sweep_table over every table metric, with the
method and ablation split out of the label; `paper_table` pivots one (k, noise) cell to
methods x metrics with '*' where p < alpha vs fine-tuning; `param_shares` reads each
method's tuned-parameter share from the runs' metrics.json.

Prompt explorer: `tuned_runs` lists finished runs with embeddings.parquet, `decode`
turns attribute codes into the manifest's values, `user_detail` gives one user's
profile, clicks (titled where items.parquet has a title) and the run's top-10 with
held-out clicks marked as hits, `sibling_runs` finds the other methods' runs of the same
cell (side-by-side top-10), `whatif` recomputes top-10 and vectors for edited attributes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ppr.data.store import Dataset, Store
from ppr.eval.compare import TABLE_METRICS
from ppr.io import read_json
from ppr.jobs.report import BASELINE, sweep_table
from ppr.jobs.status import read_status
from ppr.jobs.sweep import read_sweep

METRIC_LABELS = {"auc": "AUC", **{f"{m}@{k}": f"{m.upper()}@{k}" for m in ("hit", "ndcg") for k in (5, 10, 20, 50)}}
GROUP_LABELS = {"few": "few-shot", "zero": "zero-shot", "joint": "joint"}
ABLATION_TAGS = {"nocl": "without CL", "nopaug": "without prompt augmentation", "nobaug": "without behaviour augmentation"}


def k_order(k: Any) -> float:
    """Sort key for k-shot values: numbers ascending, 'all' last."""
    try:
        return float(k)
    except (TypeError, ValueError):
        return float("inf")


def split_label(label: str) -> tuple[str, str]:
    """'ppr-light-nocl' -> ('ppr-light', 'nocl'); 'finetune' -> ('finetune', 'none')."""
    parts = str(label).split("-")
    tags = [p for p in parts if p in ABLATION_TAGS]
    method = "-".join(p for p in parts if p not in ABLATION_TAGS)
    return method, "-".join(tags) or "none"


def sweep_long(store: Store, sid: str, metrics: tuple[str, ...] = TABLE_METRICS) -> tuple[dict[str, Any], pd.DataFrame]:
    """(sweep summary, report.sweep_table rows + method, ablation columns), k ordered numerically."""
    sweep, table = sweep_table(store, sid, metrics)
    table = table.copy()
    table["method"] = [split_label(x)[0] for x in table["label"]]
    table["ablation"] = [split_label(x)[1] for x in table["label"]]
    if len(table):
        table["k"] = table["k"].astype(str)
        table = table.sort_values(["k", "noise"], key=lambda s: s.map(k_order) if s.name == "k" else s, kind="stable")
    return sweep, table.reset_index(drop=True)


def cell_text(mean: float, std: float, n_seeds: int, p: float | None, alpha: float) -> str:
    txt = f"{mean:.4f}" + (f" ± {std:.4f}" if n_seeds > 1 else "")
    if p is not None and not pd.isna(p) and p < alpha:
        txt += "*"
    return txt


def paper_table(table: pd.DataFrame, k: str, noise: float, group: str, alpha: float = 0.05) -> pd.DataFrame:
    """Methods x metrics for one (k, noise, group); cells 'mean ± std', '*' = p < alpha vs fine-tuning."""
    part = table[(table["k"] == str(k)) & (table["noise"] == noise) & (table["group"] == group)]
    metrics = list(dict.fromkeys(part["metric"]))
    rows = []
    for label, sub in part.groupby("label", sort=False):
        by = sub.set_index("metric")
        row = {"method": label}
        for m in metrics:
            r = by.loc[m]
            row[METRIC_LABELS.get(m, m)] = cell_text(r["mean"], r["std"], int(r["n_seeds"]), r["p_value"], alpha)
        rows.append(row)
    out = pd.DataFrame(rows, columns=["method", *[METRIC_LABELS.get(m, m) for m in metrics]])
    order = {BASELINE: 0}
    return out.sort_values("method", key=lambda s: s.map(lambda x: order.get(x, 1)), kind="stable").reset_index(drop=True)


def param_shares(store: Store, sid: str) -> pd.DataFrame:
    """Per label: tuned parameters and their share of fine-tuning's (first finished run of each label)."""
    sweep = read_sweep(store, sid)
    rows, seen = [], set()
    for cell in sweep["cells"]:
        path = store.runs_dir / cell["run_id"]
        if read_status(path)["state"] != "done" or not (path / "metrics.json").is_file():
            continue
        label = read_json(path / "spec.json").get("tune", {}).get("label", cell.get("method"))
        if label in seen:
            continue
        params = read_json(path / "metrics.json").get("params") or {}
        if "tuned" in params:
            seen.add(label)
            rows.append({"method": label, "tuned parameters": int(params["tuned"]),
                         "fine-tuning parameters": int(params.get("finetune", 0)),
                         "share of fine-tuning": float(params.get("share_of_finetune", np.nan))})  # fmt: skip
    return pd.DataFrame(rows, columns=["method", "tuned parameters", "fine-tuning parameters", "share of fine-tuning"])


# ---- Prompt explorer ----


def tuned_runs(store: Store) -> list[str]:
    """Ids of finished runs that wrote embeddings.parquet, newest folder name last."""
    d = store.runs_dir
    if not d.is_dir():
        return []
    return [p.name for p in sorted(d.iterdir()) if (p / "embeddings.parquet").is_file() and (p / "spec.json").is_file()]


def run_dataset(store: Store, run_path: Path) -> Dataset | None:
    ref = read_json(run_path / "spec.json").get("dataset_ref")
    try:
        return store.open(ref) if ref else None
    except Exception:  # noqa: BLE001 (dataset removed since the run)
        return None


def decode(emb: pd.DataFrame, ds: Dataset | None) -> pd.DataFrame:
    """Attribute code columns replaced by the manifest's values (codes kept when unknown)."""
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


def user_detail(ds: Dataset | None, emb: pd.DataFrame, user: int, top: int = 10) -> dict[str, Any]:
    """profile (decoded), clicks (seen by the tuner / held out) with titles, top-`top` with hits marked."""
    row = emb[emb["user"] == user].iloc[0]
    profile = decode(emb[emb["user"] == user], ds).iloc[0].to_dict()
    clicks = pd.DataFrame(columns=["position", "item", "seen by the model"])
    titles: dict[int, str] = {}
    held: set[int] = set()
    if ds is not None:
        offsets, items = ds.sequences()
        seq = items[offsets[user] : offsets[user + 1]]
        n_seen = int(row["n_clicks"])
        clicks = pd.DataFrame({"position": np.arange(1, len(seq) + 1), "item": seq.astype(int),
                               "seen by the model": np.arange(len(seq)) < n_seen})  # fmt: skip
        held = set(int(i) for i in seq[n_seen:])
        it = ds.items()
        title_col = next((c for c in ("title", "name") if c in it.columns), None)
        if title_col:
            titles = dict(zip(it["item"].astype(int), it[title_col].astype(str), strict=False))
            clicks["title"] = clicks["item"].map(titles)
    recs = None
    if row.get("top20") is not None and not (isinstance(row["top20"], float) and pd.isna(row["top20"])):
        ids = [int(i) for i in list(row["top20"])[:top]]
        recs = pd.DataFrame({"rank": np.arange(1, len(ids) + 1), "item": ids, "hit": [i in held for i in ids]})
        if titles:
            recs["title"] = recs["item"].map(titles)
    return {"profile": profile, "clicks": clicks, "recommendations": recs, "role": row["role"]}


def load_tuned_model(store: Store, run_path: Path, ds: Dataset):  # noqa: ANN201 (a ColdStartRecommender)
    """The run's tuned model on CPU: its warm backbone rebuilt per the spec, the tuned checkpoint loaded."""
    import dataclasses

    from ppr.experiment import load_backbone
    from ppr.runs import Run
    from ppr.train.config import TuneConfig
    from ppr.train.tune import build_model

    spec = read_json(run_path / "spec.json")
    fields = {f.name for f in dataclasses.fields(TuneConfig)}
    cfg = TuneConfig(**{k: v for k, v in spec["tune"].items() if k in fields})
    model = build_model(cfg, load_backbone(Run(store.runs_dir / spec["warm_run"])), ds.cardinalities)
    model.load_state_dict(Run(run_path).load_checkpoint())
    return model.eval()


def whatif(model: Any, ds: Dataset, user: int, n_seen: int, codes: list[int], top: int = 10) -> dict[str, Any]:
    """`user`'s first n_seen clicks under the given attribute codes: top (item ids, seen clicks excluded),
    user_vector (d,) and prompt (flat, None without a prompt), computed as embeddings.parquet's columns are."""
    import torch

    from ppr.jobs.outputs import prompt_vectors
    from ppr.train.batching import history_matrix

    offsets, items = ds.sequences()
    max_len = model.backbone.cfg.max_len
    seq = torch.as_tensor(history_matrix(offsets, items, np.array([user]), np.array([n_seen]), max_len))
    cod = torch.as_tensor(np.asarray([codes], dtype=np.int64))
    with torch.no_grad():
        vec = model.user_vector(seq, cod).float()
        prompt = prompt_vectors(model, cod)
        scores = vec @ model.backbone.item_emb.weight.float().T
        scores.scatter_(1, seq, float("-inf"))
        scores[:, 0] = float("-inf")
        return {"top": [int(i) for i in scores.topk(top, dim=1).indices[0]], "user_vector": vec[0].numpy(),
                "prompt": None if prompt is None else prompt[0].numpy()}  # fmt: skip


def picked_user(event: Any) -> int | None:
    """The user of the first clicked point of a scatter whose customdata starts with the user id (None: no user point)."""
    selection = (event or {}).get("selection") or {}
    for point in selection.get("points") or []:
        data = point.get("customdata")
        if isinstance(data, (list, tuple)):
            data = data[0] if data else None
        if data is not None:
            return int(data)
    return None


SIDE_BY_SIDE = ("finetune", "ppr-light", "ppr-full")


def run_cell(spec: dict[str, Any]) -> tuple[Any, ...]:
    """What makes tuning runs comparable user by user: dataset version, split, warm run (its seed), k-shot, noise, seed."""
    tune = spec.get("tune") or {}
    split = spec.get("split") or {}
    return (spec.get("dataset_ref"), split.get("id"), spec.get("warm_run"), tune.get("k_shot"),
            float(tune.get("noise", 0.0)), tune.get("seed"))  # fmt: skip


def sibling_runs(store: Store, rid: str, runs: list[str] | None = None) -> dict[str, str]:
    """method -> run id for the run itself and, per other method of SIDE_BY_SIDE, the run with embeddings in
    the same cell (run_cell); among several of one method, the one sharing the most tuning settings (so an
    ablation finds its matching ablation), then the newest."""
    specs = {r: read_json(store.runs_dir / r / "spec.json") for r in (tuned_runs(store) if runs is None else runs)}
    mine = specs.get(rid) or read_json(store.runs_dir / rid / "spec.json")
    tune = mine.get("tune") or {}
    out = {tune.get("method", "?"): rid}
    for method in SIDE_BY_SIDE:
        if method in out:
            continue
        same = [r for r, s in specs.items() if (s.get("tune") or {}).get("method") == method and run_cell(s) == run_cell(mine)]
        if same:
            out[method] = max(same, key=lambda r: (sum(specs[r]["tune"].get(k) == v for k, v in tune.items()), r))
    return out


def missing_hint(spec: dict[str, Any], missing: list[str]) -> str:
    """How to get the methods this cell lacks: a sweep over the same dataset version and cell."""
    tune = spec.get("tune") or {}
    k = tune.get("k_shot")
    return (f"Not in the store for this cell: {', '.join(missing)}. Run them with a sweep on the **Runs** page or "
            f"`python -m ppr sweep {spec.get('dataset_ref', 'NAME')} --methods {','.join(missing)} "
            f"--k-shots {'all' if k is None else k} --noise {float(tune.get('noise', 0.0)):g} --seeds {tune.get('seed', 0)}` "
            "with the same backbone settings as this run (its warm run is then reused).")  # fmt: skip
