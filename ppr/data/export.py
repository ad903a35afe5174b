"""A cold-start split written for other libraries, so their models are scored on exactly our protocol.

One fold of a stored split, at one k-shot, becomes:
- `recbole/`: RecBole atomic benchmark files. `NAME.train.inter`, `NAME.valid.inter` and `NAME.test.inter`
  hold one row per example (`user_id:token`, `item_id_list:token_seq`, `item_id:token`): warm users'
  clicks before their two held-out ones and tuning users' first k clicks as training examples, and the
  validation and test users' few-shot targets with the history our evaluation reads (the last
  min(k, max_len) clicks). `NAME.user` holds the profile attributes; `NAME.yaml` the config that loads
  them (`benchmark_filename`).
- `rechorus/`: ReChorus files (`train.csv`, `dev.csv`, `test.csv`, tab-separated `user_id item_id time`,
  dev and test with `neg_items`): ReChorus builds a row's history from the user's earlier rows, so with
  `--history_max min(k, max_len)` it reads the same histories.
- `targets.tsv` (both formats): every validation and test target, zero-shot ones too, with its history
  and its 99 fixed negatives (original ids): the candidates our metrics rank. Scores of them made elsewhere
  come back as a method with `python -m ppr scores import` (ppr.runs.imported).
Zero-shot targets (no click before them) are in targets.tsv only: sequential models of those libraries
cannot score a user without clicks. Ids are the original ones, except ReChorus's integer ids (ids.tsv maps
them back).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ppr.data.splits import ROLE_TUNE, ROLE_WARM, Split, crop_k_shot, history_window
from ppr.data.store import Dataset
from ppr.errors import InputError
from ppr.io import staged_dir

FORMATS = ("recbole", "rechorus")
WARM_HELD_OUT = 2  # a warm user's last two clicks are warm-training's validation and test targets


def export_split(ds: Dataset, split: Split, fmt: str, out: Path, k_shot: int | None, max_len: int) -> dict[str, Any]:
    """Write `split` (one fold) as `fmt` into the new folder `out` (staged, renamed into place); returns counts."""
    if fmt not in FORMATS:
        raise InputError(f"Unknown export format {fmt!r}: expected one of {', '.join(FORMATS)}.")
    out = Path(out)
    if out.exists():
        raise InputError(f"{out} exists already; export into a new folder (nothing was written).")
    users, items = original_ids(ds)
    targets = targets_frame(split, users, items, k_shot, max_len)
    with staged_dir(out) as stage:
        targets.to_csv(stage / "targets.tsv", sep="\t", index=False)
        job = _Job(ds, split, stage, users, items, targets, k_shot, max_len)
        counts = (_recbole if fmt == "recbole" else _rechorus)(job)
    return {"format": fmt, "folder": str(out), "fold": split.fold, "k_shot": k_shot or "all", **counts}


def window(k_shot: int | None, max_len: int) -> int:
    """How many clicks before a target the evaluation reads."""
    return max_len if k_shot is None else min(max_len, int(k_shot))


def targets_frame(split: Split, users: np.ndarray, items: np.ndarray, k_shot: int | None, max_len: int) -> pd.DataFrame:
    """target_id, group, kind, user_id, item_id, history and negatives (space-separated original ids) of the
    fold's validation and test targets."""
    tg = split.targets[split.targets["group"].isin(["val", "test"])]
    h = window(k_shot, max_len)
    pos = tg["pos"].to_numpy(np.int64)
    start = history_window(pos, h)
    base = split.offsets[tg["user"].to_numpy(np.int64)]
    history = [" ".join(items[split.items[b + s : b + p]]) for b, s, p in zip(base, start, pos, strict=True)]
    negatives = [" ".join(items[row]) for row in split.negatives[tg["target_id"].to_numpy()]]
    return pd.DataFrame(
        {
            "target_id": tg["target_id"].to_numpy(),
            "group": tg["group"].to_numpy(),
            "kind": tg["kind"].to_numpy(),
            "user_id": users[tg["user"].to_numpy()],
            "item_id": items[tg["item"].to_numpy()],
            "history": history,
            "negatives": negatives,
        }
    )


@dataclass(frozen=True)
class _Job:
    """What a format writer needs: the split, the original ids, the targets and where to write."""

    ds: Dataset
    split: Split
    stage: Path
    users: np.ndarray
    items: np.ndarray
    targets: pd.DataFrame
    k_shot: int | None
    max_len: int


def _recbole(job: _Job) -> dict[str, int]:
    name, stage, targets, max_len = job.ds.name, job.stage, job.targets, job.max_len
    train = _training_examples(job.split, job.users, job.items, job.k_shot, max_len)
    few = targets[targets["kind"] == "few"]
    files = {"train": train, "valid": few[few["group"] == "val"], "test": few[few["group"] == "test"]}
    header = "user_id:token\titem_id_list:token_seq\titem_id:token\n"
    for part, rows in files.items():
        body = "".join(
            f"{u}\t{h}\t{i}\n" for u, h, i in zip(rows["user_id"], rows["history"], rows["item_id"], strict=True)
        )
        (stage / f"{name}.{part}.inter").write_text(header + body, encoding="utf-8")
    _recbole_users(job.ds, stage / f"{name}.user", job.users)
    (stage / f"{name}.yaml").write_text(_recbole_config(max_len), encoding="utf-8")
    return {f"{part}_rows": len(rows) for part, rows in files.items()} | {
        "zero_shot_targets": int((targets["kind"] == "zero").sum())
    }


def _training_examples(
    split: Split, users: np.ndarray, items: np.ndarray, k_shot: int | None, max_len: int
) -> pd.DataFrame:
    """Every (history, next click) a method may train on: warm users' clicks before their held-out two, and
    tuning users' first k clicks (histories of at most max_len clicks)."""
    offsets, seq, kept = training_clicks(split, k_shot)
    rows = []
    for u in np.flatnonzero(kept > 1):
        clicks = items[seq[offsets[u] : offsets[u] + kept[u]]]
        for p in range(1, kept[u]):
            rows.append((users[u], " ".join(clicks[max(0, p - max_len) : p]), clicks[p]))
    return pd.DataFrame(rows, columns=["user_id", "history", "item_id"])


def training_clicks(split: Split, k_shot: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offsets, items, n): each user's first n[u] clicks are what methods may train on (warm users: all but
    their held-out two; tuning users: their first k; everyone else: none)."""
    tune = np.flatnonzero(split.roles == ROLE_TUNE)
    offsets, seq = crop_k_shot(split.offsets, split.items, tune, k_shot)
    lengths = np.diff(offsets)
    n = np.where(split.roles == ROLE_WARM, np.maximum(lengths - WARM_HELD_OUT, 0), 0)
    n[tune] = lengths[tune]
    return offsets, seq, n


def _recbole_users(ds: Dataset, path: Path, users: np.ndarray) -> None:
    attrs = ds.attributes
    codes = ds.attribute_codes()
    cols = {"user_id:token": users}
    for j, a in enumerate(attrs):
        values = np.asarray([str(v).replace("\t", " ") for v in a["values"]], dtype=object)
        cols[f"{a['name']}:token"] = values[codes[:, j]]
    pd.DataFrame(cols).to_csv(path, sep="\t", index=False)


def _recbole_config(max_len: int) -> str:
    return (
        "# RecBole: put this folder under data_path/ and run a sequential model with this file as config\n"
        "benchmark_filename: [train, valid, test]\n"
        "load_col:\n  inter: [user_id, item_id_list, item_id]\n"
        f"MAX_ITEM_LIST_LENGTH: {max_len}\n"
        "eval_args:\n  order: TO\n  mode: full\n"
        "# full ranking matches our full-catalogue metrics on the same targets; the sampled metrics use the\n"
        "# 99 fixed negatives of targets.tsv (RecBole samples its own: score targets.tsv yourself to match).\n"
    )


def _rechorus(job: _Job) -> dict[str, int]:
    split, stage, users, items = job.split, job.stage, job.users, job.items
    train = _rechorus_rows(*training_clicks(split, job.k_shot))
    train.to_csv(stage / "train.csv", sep="\t", index=False)
    counts = {"train_rows": len(train)}
    for group, fname in (("val", "dev"), ("test", "test")):
        tg = split.targets[split.targets["group"] == group].sort_values(["user", "pos"])
        rows = pd.DataFrame(
            {
                "user_id": tg["user"].to_numpy() + 1,
                "item_id": tg["item"].to_numpy(),
                "time": split.offsets[tg["user"].to_numpy()] + tg["pos"].to_numpy(),
                "neg_items": [str(row.tolist()) for row in split.negatives[tg["target_id"].to_numpy()]],
            }
        )
        rows.to_csv(stage / f"{fname}.csv", sep="\t", index=False)
        counts[f"{fname}_rows"] = len(rows)
    ids = pd.concat(
        [
            pd.DataFrame({"kind": "user", "rechorus_id": np.arange(len(users)) + 1, "original_id": users}),
            pd.DataFrame({"kind": "item", "rechorus_id": np.arange(1, len(items)), "original_id": items[1:]}),
        ]
    )
    ids.to_csv(stage / "ids.tsv", sep="\t", index=False)
    (stage / "README.txt").write_text(
        f"ReChorus: run a sequential model with --history_max {window(job.k_shot, job.max_len)} on this folder.\n"
        "Rows at a user's first click (position 0) are zero-shot targets: ReChorus's sequential models skip them.\n",
        encoding="utf-8",
    )
    return counts


def _rechorus_rows(offsets: np.ndarray, seq: np.ndarray, n: np.ndarray) -> pd.DataFrame:
    """user_id, item_id, time of each user's first n[u] clicks (integer ids; time orders a user's clicks)."""
    users = np.repeat(np.arange(len(n)), n)
    pos = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    return pd.DataFrame({"user_id": users + 1, "item_id": seq[offsets[users] + pos], "time": offsets[users] + pos})


def original_ids(ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Original user ids by user and item ids by item (index 0: padding), refusing ids a token_seq cannot hold."""
    u, it = ds.users(), ds.items()
    users = np.empty(ds.n_users, dtype=object)
    users[u["user"].to_numpy()] = u["user_id"].astype(str).to_numpy()
    items = np.empty(ds.n_items + 1, dtype=object)
    items[0] = ""
    items[it["item"].to_numpy()] = it["item_id"].astype(str).to_numpy()
    bad = [x for x in items[1:] if any(c.isspace() for c in x) or not x]
    if bad:
        raise InputError(
            f"Item id {bad[0]!r} of {ds.ref} is empty or holds white space: RecBole's item lists and targets.tsv "
            "separate ids by spaces. Re-import with ids without spaces."
        )
    return users, items
