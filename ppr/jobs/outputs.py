"""Files a finished run adds for querying and exploring: results.parquet and embeddings.parquet.

results.parquet: one row per (evaluated set, target group, metric) with the run's
method, k-shot, noise and seed as columns, so one DuckDB query over every run's file
compares anything with anything. embeddings.parquet: per cold user the prompt
vector(s), the final user vector, the attribute codes the model saw and, for test
users, the top-20 items (the Prompt explorer projects these).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from ppr.data.splits import ROLE_NAMES, ROLE_TEST, ROLE_TUNE, crop_k_shot
from ppr.eval.evaluate import summarize_scores
from ppr.train.batching import history_matrix

RESULT_COLUMNS = {
    "run_id": "string", "kind": "string", "dataset": "string", "method": "string", "label": "string",
    "k_shot": "Int64", "k": "string", "noise": "float64", "seed": "Int64", "eval_set": "string",
    "group": "string", "metric": "string", "value": "float64", "n": "Int64",
}  # fmt: skip
TOP_N = 20


def results_frame(run_id: str, spec: dict[str, Any], scores: pd.DataFrame) -> pd.DataFrame:
    """Long table: eval_set (test/val/warm_*) x group (few/zero/joint) x metric -> value."""
    tune = spec.get("tune") or {}
    k = tune.get("k_shot")
    meta = {
        "run_id": run_id, "kind": spec["kind"], "dataset": spec.get("dataset_ref", ""),
        "method": tune.get("method", "warm"), "label": tune.get("label", "warm"), "k_shot": k,
        "k": "all" if k is None else str(k), "noise": float(tune.get("noise", 0.0)),
        "seed": int(tune.get("seed", spec.get("warm", {}).get("seed", 0))),
    }  # fmt: skip
    rows = []
    for eval_set, part in scores.groupby("group", sort=False):
        for group, summary in summarize_scores(part).items():
            if summary["n"] == 0 or (eval_set.startswith("warm") and group != "joint"):
                continue
            rows += [
                {**meta, "eval_set": eval_set, "group": group, "metric": m, "value": v, "n": summary["n"]}
                for m, v in summary.items() if m != "n"
            ]  # fmt: skip
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS)).astype(RESULT_COLUMNS)


@torch.no_grad()
def embeddings_frame(model: Any, split: Any, codes: np.ndarray, k_shot: int | None, attributes: list[str]) -> pd.DataFrame:
    """Per cold user: vectors from their first k clicks (what the tuner may see), codes, test users' top-20."""
    users = np.flatnonzero(split.roles >= ROLE_TUNE)
    offsets, items = crop_k_shot(split.offsets, split.items, users, k_shot)
    n_clicks = np.diff(offsets)[users]
    max_len = model.backbone.cfg.max_len
    device = next(model.parameters()).device
    model.eval()
    out: dict[str, list] = {"prompt": [], "user_vector": [], "top20": []}
    for lo in range(0, len(users), 1024):
        sl = slice(lo, lo + 1024)
        u_ids = users[sl]
        seq = torch.as_tensor(history_matrix(offsets, items, u_ids, n_clicks[sl], max_len), device=device)
        cod = torch.as_tensor(codes[u_ids], dtype=torch.long, device=device)
        vec = model.user_vector(seq, cod).float()
        out["user_vector"] += list(vec.cpu().numpy())
        p = prompt_vectors(model, cod)
        out["prompt"] += list(p.cpu().numpy()) if p is not None else [None] * len(u_ids)
        scores = vec @ model.backbone.item_emb.weight.float().T  # column 0 = padding
        scores.scatter_(1, seq, float("-inf"))  # never recommend a seen click (padding lands in column 0)
        scores[:, 0] = float("-inf")
        top = scores.topk(min(TOP_N, scores.shape[1] - 1), dim=1).indices.cpu().numpy().astype(np.int32)
        is_test = split.roles[u_ids] == ROLE_TEST
        out["top20"] += [t if ok else None for t, ok in zip(top, is_test)]
    df = pd.DataFrame({"user": users.astype(np.int32), "role": [ROLE_NAMES[int(r)] for r in split.roles[users]],
                       "n_clicks": n_clicks.astype(np.int32)})  # fmt: skip
    for j, name in enumerate(attributes):
        df[name] = codes[users, j].astype(np.int16)
    for col, values in out.items():
        df[col] = pd.Series(values, dtype=object)
    return df


def prompt_vectors(model: Any, codes: torch.Tensor) -> torch.Tensor | None:
    """(B, A) codes -> (B, flat) prompt generator output, every token (and layer) concatenated; None without a prompt."""
    if model.prompt is None:
        return None
    p = model.prompt(codes).float()
    p = p if p.dim() == 3 else p.permute(1, 0, 2, 3)  # deep prefix: (layers, B, P, d) -> (B, layers, P, d)
    return p.reshape(len(codes), -1)
