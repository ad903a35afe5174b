"""Warm-training speed and quality of our SASRec on ml-100k, leave-one-out.

Protocol (the RecBole comparison): every user's last click is the test target, the
second-to-last the validation target; each target is ranked against --negatives
items the user never clicked (seeded). Training uses windows covering every other
click. Prints seconds per epoch, windows ("sequences") per second, wall time to the
best validation epoch, test HIT@10/NDCG@10 at that epoch, and the seconds for one
epoch over a synthetic 100k-user dataset. --json prints one JSON line at the end;
results always go to bench/out/train_speed.json (or --out).

    python bench/train_speed.py [--data DIR] [--synth-users 100000] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ppr.eval.metrics import summarize
from ppr.io import atomic_write_json
from ppr.models.sasrec import SASRec
from ppr.train.batching import NegativeSampler, build_windows
from ppr.train.config import WarmConfig
from ppr.train.device import pick_device, set_cpu_threads
from ppr.train.warm import _train_epoch, evaluate_next_item, train_warm


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


def synth_epoch_seconds(n_users: int, cfg: WarmConfig, seed: int) -> tuple[float, int]:
    rng = np.random.default_rng(seed)
    n_items = 100_000
    offsets, items = synth_csr(n_users, n_items, 100, rng)
    device = pick_device(cfg.device)
    torch.manual_seed(seed)
    model = SASRec(cfg.backbone(n_items)).to(device)
    t0 = time.perf_counter()
    windows = build_windows(offsets, items, np.arange(n_users), cfg.max_len)
    sampler = NegativeSampler(offsets, items, n_items)
    prep = time.perf_counter() - t0
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=True)
    t0 = time.perf_counter()
    _train_epoch(model, opt, windows, sampler, cfg.batch_size, rng, device)
    return time.perf_counter() - t0, len(windows), prep


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "data" / "ml-100k")
    ap.add_argument("--negatives", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--patience", type=int, default=20)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--synth-users", type=int, default=100_000, help="0 skips the synthetic epoch")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "train_speed.json")
    args = ap.parse_args(argv)
    threads = set_cpu_threads(args.threads)
    cfg = WarmConfig(
        batch_size=args.batch_size,
        lr=args.lr,
        dropout=args.dropout,
        epochs=args.epochs,
        patience=args.patience,
        seed=args.seed,
        device=args.device,
    )

    offsets, items, n_items = load_ml100k(args.data)
    n_users = len(offsets) - 1
    users = np.arange(n_users)
    n = np.diff(offsets)
    rng = np.random.default_rng(args.seed)
    val_neg = sample_negatives(offsets, items, users, n_items, args.negatives, rng)
    test_neg = sample_negatives(offsets, items, users, n_items, args.negatives, rng)
    val = (users, n - 2, items[offsets[:-1] + n - 2], val_neg)
    n_windows = len(build_windows(offsets, items, users, cfg.max_len, n - 2))

    marks: list[tuple[int, float, float]] = []
    t_start = time.perf_counter()

    def progress(epoch: int, loss: float, m: dict) -> None:
        marks.append((epoch, time.perf_counter() - t_start, m["ndcg@10"]))
        if not args.json:
            print(f"epoch {epoch:3d} loss {loss:.4f} val ndcg@10 {m['ndcg@10']:.4f} hit@10 {m['hit@10']:.4f}")

    model, history = train_warm(offsets, items, users, n_items, cfg, val=val, lengths=n - 2, progress=progress)
    wall_total = time.perf_counter() - t_start
    best = max(history, key=lambda h: h["ndcg@10"])
    wall_to_best = next(t for e, t, _ in marks if e == best["epoch"])
    test = summarize(
        evaluate_next_item(model, offsets, items, users, n - 1, items[offsets[:-1] + n - 1], test_neg, cfg.max_len)
    )
    sec_per_epoch = float(np.mean([h["train_seconds"] for h in history]))
    eval_sec = float(np.mean([h["seconds"] - h["train_seconds"] for h in history]))
    result = {
        "device": str(pick_device(args.device)),
        "threads": threads,
        "users": n_users,
        "items": n_items,
        "train_windows": n_windows,
        "epochs_run": len(history),
        "best_epoch": best["epoch"],
        "sec_per_epoch": sec_per_epoch,
        "seq_per_sec": n_windows / sec_per_epoch,
        "clicks_per_sec": int((n - 3).sum()) / sec_per_epoch,
        "eval_sec": eval_sec,
        "wall_to_best_s": wall_to_best,
        "wall_total_s": wall_total,
        "val_ndcg@10": best["ndcg@10"],
        "test_hit@10": test["hit@10"],
        "test_ndcg@10": test["ndcg@10"],
        "test_auc": test["auc"],
        "negatives": args.negatives,
    }
    if args.synth_users:
        sec, w, prep = synth_epoch_seconds(args.synth_users, cfg, args.seed)
        result.update(
            {"synth_users": args.synth_users, "synth_windows": w, "synth_sec_per_epoch": sec, "synth_prep_s": prep}
        )
    for k, v in result.items():
        if not args.json:
            print(f"{k:>20}: {v:.4f}" if isinstance(v, float) else f"{k:>20}: {v}")
    atomic_write_json(args.out, result)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
