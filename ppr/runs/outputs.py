"""embeddings.parquet: what the Prompt explorer projects and lists for a finished tuning run.

Per cold user: the attribute codes the model saw, the prompt vector(s) and the final user
vector from their first k clicks (what the tuner may see) and, for test users, the top-20
items (history excluded) from ppr.eval.scoring, the scorer every consumer shares.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ppr.data.splits import ROLE_NAMES, ROLE_TEST, ROLE_TUNE, Split, crop_k_shot
from ppr.eval.scoring import top_k, user_vectors
from ppr.models.recommender import ColdStartRecommender
from ppr.train.batching import history_matrix

TOP_N = 20


def k_shot_histories(
    split: Split, users: np.ndarray, k_shot: int | None, max_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """(len(users), max_len) histories of the users' first k clicks (what a tuner may see) and their lengths."""
    offsets, items = crop_k_shot(split.offsets, split.items, users, k_shot)
    n_clicks = np.diff(offsets)[users]
    return history_matrix(offsets, items, users, n_clicks, max_len), n_clicks


@torch.no_grad()
def embeddings_frame(
    model: ColdStartRecommender,
    split: Split,
    codes: np.ndarray,
    k_shot: int | None,
    attributes: list[str],
    device: torch.device,
) -> pd.DataFrame:
    """user, role, n_clicks, one column per attribute (codes), prompt, user_vector, top20 (test users only)."""
    users = np.flatnonzero(split.roles >= ROLE_TUNE)
    seqs, n_clicks = k_shot_histories(split, users, k_shot, model.backbone.cfg.max_len)
    user_codes = codes[users]
    is_test = split.roles[users] == ROLE_TEST
    top = np.full((len(users), min(TOP_N, model.backbone.n_items)), -1, np.int64)
    top[is_test] = top_k(model, seqs[is_test], user_codes[is_test], TOP_N, device, pool=split.pool)
    prompts = model.flat_prompt(torch.as_tensor(user_codes, dtype=torch.long, device=device))
    df = pd.DataFrame(
        {
            "user": users.astype(np.int32),
            "role": [ROLE_NAMES[int(r)] for r in split.roles[users]],
            "n_clicks": n_clicks.astype(np.int32),
        }
    )
    for j, name in enumerate(attributes):
        df[name] = user_codes[:, j].astype(np.int16)
    df["prompt"] = pd.Series(
        list(prompts.float().cpu().numpy()) if prompts is not None else [None] * len(users), dtype=object
    )
    df["user_vector"] = pd.Series(list(user_vectors(model, seqs, user_codes, device)), dtype=object)
    df["top20"] = pd.Series(
        [t.astype(np.int32) if ok else None for t, ok in zip(top, is_test, strict=True)], dtype=object
    )
    return df
