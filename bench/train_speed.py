"""Warm-training speed and quality of a backbone (--backbone sasrec|cl4srec|gru4rec|bert4rec) on ml-100k, leave-one-out.

Protocol (the RecBole comparison): every user's last click is the test target, the
second-to-last the validation target; each target is ranked against --negatives
items the user never clicked (seeded). Training uses windows covering every other
click. Training is the library's warm-training (its Trainer, loss and schedule, with the
warm-training defaults of ppr/spec/run.py unless a flag overrides one). Prints seconds per
epoch, windows ("sequences") per second, wall time to the best validation epoch, test
HIT@10/NDCG@10 at that epoch, RecBole's figures for the same protocol beside ours, and the
seconds for one epoch over a synthetic 100k-user dataset. --json prints one JSON line at the
end; results always go to bench/out/train_speed.json (or --out).

RecBole's figure is known for SASRec only (measured for the project); for the other backbones none is shown.

    python bench/train_speed.py [--backbone gru4rec] [--data DIR] [--synth-users 100000] [--loss bpr ...] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ppr.data.splits import ROLE_WARM, Split
from ppr.eval.evaluate import evaluate, summarize_scores
from ppr.io import atomic_write_json
from ppr.spec.run import BackboneSpec, RunSpec, WarmSpec
from ppr.train import methods
from ppr.train.device import pick_device, set_cpu_threads
from ppr.train.trainer import Trainer

# RecBole 1.2.1 on this protocol and this kind of machine (2 cores), as measured for the project (SASRec only)
RECBOLE = {"sasrec": {"test_ndcg@10": 0.3812, "wall_to_best_s": 2770}}


def load_ml100k(folder: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """RecBole .inter -> CSR (offsets, items 1..I) in stable time order (ties keep file order)."""
    df = pd.read_csv(folder / "ml-100k.inter", sep="\t")
    df.columns = [c.split(":")[0] for c in df.columns]
    df["row"] = np.arange(len(df))
    df = df.sort_values(["user_id", "timestamp", "row"], kind="stable")
    users = pd.factorize(df["user_id"], sort=True)[0]
    items = pd.factorize(df["item_id"], sort=True)[0] + 1
    offsets = np.zeros(users.max() + 2, dtype=np.int64)
    np.add.at(offsets, users + 1, 1)
    return np.cumsum(offsets), items.astype(np.int64), int(items.max())


def sample_negatives(offsets, items, users, n_items, k, rng) -> np.ndarray:
    """k distinct items per user that the user never clicked."""
    out = np.empty((len(users), k), dtype=np.int64)
    for r, u in enumerate(users):
        clicked = np.zeros(n_items + 1, dtype=bool)
        clicked[items[offsets[u] : offsets[u + 1]]] = True
        clicked[0] = True
        out[r] = rng.choice(np.flatnonzero(~clicked), size=k, replace=False)
    return out


def synth_csr(n_users: int, n_items: int, mean_len: int, rng) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.maximum(2, rng.geometric(1.0 / mean_len, size=n_users))
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return offsets, rng.integers(1, n_items + 1, size=int(offsets[-1]))


def leave_one_out(offsets: np.ndarray, items: np.ndarray, n_items: int, k: int, seed: int) -> Split:
    """Every user warm; last click = warm_test, second-to-last = warm_val, each with k seeded negatives."""
    users = np.arange(len(offsets) - 1)
    n = np.diff(offsets)
    rng = np.random.default_rng(seed)
    pos = np.concatenate([n - 2, n - 1])
    targets = pd.DataFrame(
        {
            "target_id": np.arange(2 * len(users)),
            "user": np.tile(users, 2),
            "group": ["warm_val"] * len(users) + ["warm_test"] * len(users),
            "kind": "few",
            "pos": pos,
            "item": items[np.tile(offsets[:-1], 2) + pos],
        }
    )
    negatives = np.concatenate([sample_negatives(offsets, items, users, n_items, k, rng) for _ in range(2)])
    roles = np.full(len(users), ROLE_WARM, np.int8)
    return Split(
        None, "leave-one-out", Path("."), roles, np.zeros(len(users), bool), offsets, items, targets, negatives
    )


def trainer_for(spec: RunSpec, split: Split, n_items: int, validate: Callable, device: torch.device) -> Trainer:
    """The library's warm-training Trainer for `spec` on `split` (what `python -m ppr warm` builds)."""
    model = methods.warm_model(spec, n_items)
    rng, seed = methods.random_streams(spec)
    return Trainer(
        model,
        methods.objective(spec),
        methods.windows(spec, split),
        methods.sampler(spec, split, n_items),
        methods.schedule(spec),
        validate,
        rng,
        seed,
        device,
        None,
    )


def synth_epoch_seconds(n_users: int, spec: RunSpec, seed: int, device: torch.device) -> tuple[float, int, float]:
    """Seconds of one warm-training epoch over a synthetic dataset of n_users (100k items, mean 100 clicks)."""
    rng = np.random.default_rng(seed)
    n_items = 100_000
    offsets, items = synth_csr(n_users, n_items, 100, rng)
    t0 = time.perf_counter()
    split = Split(
        None,
        "synth",
        Path("."),
        np.full(n_users, ROLE_WARM, np.int8),
        np.zeros(n_users, bool),
        offsets,
        items,
        pd.DataFrame(),
        np.zeros((0, 0), np.int32),
    )
    trainer = trainer_for(spec, split, n_items, dict, device)
    prep = time.perf_counter() - t0
    t0 = time.perf_counter()
    trainer.train_epoch()
    return time.perf_counter() - t0, len(trainer.windows), prep


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "data" / "ml-100k")
    ap.add_argument("--backbone", default="sasrec", help="sasrec | cl4srec | gru4rec | bert4rec")
    ap.add_argument("--negatives", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=None, help="default: WarmSpec's")
    ap.add_argument("--patience", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--loss", default=None, help="softmax | bpr")
    ap.add_argument("--train-negatives", type=int, default=None, help="sampled negatives per training position")
    ap.add_argument("--warmup", type=float, default=None)
    ap.add_argument("--decay", default=None, help="cosine | none")
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--synth-users", type=int, default=100_000, help="0 skips the synthetic epoch")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "train_speed.json")
    args = ap.parse_args(argv)
    threads = set_cpu_threads(args.threads)
    chosen = {
        "epochs": args.epochs,
        "patience": args.patience,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "loss": args.loss,
        "negatives": args.train_negatives,
        "warmup": args.warmup,
        "decay": args.decay,
    }
    warm = WarmSpec(seed=args.seed, **{k: v for k, v in chosen.items() if v is not None})
    spec = RunSpec("bench@v1", "-", backbone=BackboneSpec(kind=args.backbone, dropout=args.dropout), warm=warm)
    offsets, items, n_items = load_ml100k(args.data)
    split = leave_one_out(offsets, items, n_items, args.negatives, args.seed)
    device = pick_device(args.device)
    trainer = trainer_for(spec, split, n_items, lambda: summary("warm_val"), device)

    def summary(group: str) -> dict[str, float]:
        scores = evaluate(trainer.model, split, group, None, spec.backbone.max_len, device=device)
        return summarize_scores(scores)["joint"]

    marks: dict[int, float] = {}
    t_start = time.perf_counter()

    def progress(row: dict) -> None:
        marks[row["epoch"]] = time.perf_counter() - t_start
        if not args.json:
            print(
                f"epoch {row['epoch']:3d} loss {row['loss']:.4f} val ndcg@10 {row['val_ndcg@10']:.4f} "
                f"hit@10 {row['val_hit@10']:.4f}"
            )

    fit = trainer.fit(on_epoch=progress)
    wall_total = time.perf_counter() - t_start
    history = fit.history[1:]
    test = summary("warm_test")
    n = np.diff(offsets)
    sec_per_epoch = float(np.mean([h["train_seconds"] for h in history]))
    result = {
        "backbone": args.backbone,
        "device": str(device),
        "threads": threads,
        "users": len(n),
        "items": n_items,
        "train_windows": len(trainer.windows),
        "epochs_run": fit.epochs_run,
        "best_epoch": fit.best_epoch,
        "sec_per_epoch": sec_per_epoch,
        "seq_per_sec": len(trainer.windows) / sec_per_epoch,
        "clicks_per_sec": int((n - 3).sum()) / sec_per_epoch,
        "eval_sec": float(np.mean([h["seconds"] - h["train_seconds"] for h in history])),
        "wall_to_best_s": marks[fit.best_epoch],
        "wall_total_s": wall_total,
        "val_ndcg@10": fit.history[fit.best_epoch]["val_ndcg@10"],
        "test_hit@10": test["hit@10"],
        "test_ndcg@10": test["ndcg@10"],
        "test_auc": test["auc"],
        "negatives": args.negatives,
        "warm_spec": dataclasses.asdict(warm),
        "recbole": RECBOLE.get(args.backbone),
    }
    if args.synth_users:
        sec, w, prep = synth_epoch_seconds(args.synth_users, spec, args.seed, device)
        result.update(
            {"synth_users": args.synth_users, "synth_windows": w, "synth_sec_per_epoch": sec, "synth_prep_s": prep}
        )
    for k, v in result.items():
        if not args.json:
            print(f"{k:>20}: {v:.4f}" if isinstance(v, float) else f"{k:>20}: {v}")
    if not args.json:
        theirs = RECBOLE.get(args.backbone)
        print(
            f"{args.backbone}: test NDCG@10 {result['test_ndcg@10']:.4f} after {result['wall_to_best_s']:.0f} s to the "
            "best epoch; "
            + (
                f"RecBole 1.2.1, same model, protocol and kind of machine: {theirs['test_ndcg@10']} after about "
                f"{theirs['wall_to_best_s']:,} s"
                if theirs
                else "no RecBole figure measured for this backbone"
            )
        )
    atomic_write_json(args.out, result)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
