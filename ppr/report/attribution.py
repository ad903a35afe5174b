"""Which attribute matters: leave one attribute out of a tuned run's profiles and watch its test users.

For each attribute, every test user's value is set to 'missing' (code 0, what a user who did not
say gets) and the run's model scores the same test targets again (ppr.eval.evaluate, the one
scorer). Per user and attribute:
- `rank_change`: mean over the user's test targets of (rank without - rank with), among the sampled
  candidates; positive = the attribute pulled the user's real next clicks up;
- `ndcg_change`: the same for NDCG@10 (with - without);
- `top10_overlap`: the share of the user's top-10 (from their first k clicks, over the catalogue)
  that stays when the attribute is left out; 1 = the attribute changes nothing the user sees.
The summary ranks attributes by mean rank change with 95% bootstrap intervals over users. A user who
already lacks the attribute is unchanged by leaving it out, and counts as such.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ppr.data.splits import ROLE_TEST
from ppr.eval.evaluate import evaluate
from ppr.eval.scoring import top_k
from ppr.report.significance import bootstrap_interval
from ppr.runs.outputs import k_shot_histories
from ppr.runs.pipeline import Evaluated

CPU = torch.device("cpu")
EXPLANATION = (
    "Each attribute in turn is set to 'missing' for every test user and the run scores the same test targets "
    "again. rank_change: how many places the user's real next clicks drop without it (mean over their targets; "
    "positive = the attribute helped); ndcg_change: NDCG@10 with minus without; top10_overlap: the share of the "
    "user's top-10 that stays without it (1 = it changes nothing they see). Means over test users with 95% "
    "bootstrap intervals; most helpful first. share_missing: test users who lack the attribute anyway."
)
TOP = 10
PER_USER = ["user", "attribute", "rank_change", "ndcg_change", "top10_overlap"]
SUMMARY = [
    "attribute",
    "rank_change",
    "rank_low",
    "rank_high",
    "ndcg_change",
    "ndcg_low",
    "ndcg_high",
    "top10_overlap",
    "overlap_low",
    "overlap_high",
    "n_users",
    "share_missing",
]


def per_user(run: Evaluated, device: torch.device = CPU) -> pd.DataFrame:
    """PER_USER for every test user of the run and every attribute of its dataset."""
    spec, split, model = run.spec, run.split, run.model
    max_len, k = spec.backbone.max_len, spec.tune.k_shot
    base = evaluate(model, split, "test", run.codes, max_len, k, device)
    users = np.flatnonzero(split.roles == ROLE_TEST)
    seqs, _ = k_shot_histories(split, users, k, max_len)
    top = top_k(model, seqs, run.codes[users], TOP, device)
    parts = []
    for j, attr in enumerate(run.dataset.attributes):
        without = run.codes.copy()
        without[:, j] = 0
        left = evaluate(model, split, "test", without, max_len, k, device)
        targets = pd.DataFrame(
            {
                "user": base["user"],
                "rank_change": left["rank"].to_numpy() - base["rank"].to_numpy(),
                "ndcg_change": base["ndcg@10"].to_numpy() - left["ndcg@10"].to_numpy(),
            }
        )
        users_part = targets.groupby("user").mean().reindex(users)
        other = top_k(model, seqs, without[users], TOP, device)
        overlap = [len(set(a[a > 0]) & set(b[b > 0])) / max(1, (a > 0).sum()) for a, b in zip(top, other, strict=True)]
        parts.append(users_part.assign(attribute=attr["name"], top10_overlap=overlap).reset_index())
    return pd.concat(parts, ignore_index=True)[PER_USER] if parts else pd.DataFrame(columns=PER_USER)


def summary(rows: pd.DataFrame, codes: np.ndarray | None = None, names: list[str] | None = None) -> pd.DataFrame:
    """SUMMARY per attribute, most helpful first (mean rank change, then NDCG@10 change); `codes` and `names`
    (the run's profile codes and attribute names) add the share of test users who lack the attribute."""
    measures = {"rank_change": "rank", "ndcg_change": "ndcg", "top10_overlap": "overlap"}
    out = []
    for name, part in rows.groupby("attribute", sort=False):
        x = part[list(measures)].dropna().to_numpy(np.float64)
        lo, hi = bootstrap_interval(x, np.random.default_rng(0))
        row = {"attribute": name, "n_users": len(x), "share_missing": np.nan}
        for j, (col, short) in enumerate(measures.items()):
            row |= {col: float(x[:, j].mean()) if len(x) else np.nan, f"{short}_low": lo[j], f"{short}_high": hi[j]}
        if codes is not None and names:
            row["share_missing"] = float((codes[part["user"].to_numpy(np.int64), names.index(name)] == 0).mean())
        out.append(row)
    table = pd.DataFrame(out, columns=SUMMARY)
    return table.sort_values(["rank_change", "ndcg_change"], ascending=False, kind="stable").reset_index(drop=True)
