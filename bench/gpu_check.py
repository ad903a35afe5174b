"""The CUDA path, checked: warm-train and tune ml-100k briefly on the CPU and on the GPU, compare the metrics,
print the throughput of both side by side.

On CUDA the library trains under bf16 autocast (scores are taken in float32); its random draws (dropout, the
views' masks) are the same hashes on both devices, but bf16 rounding makes CPU and GPU runs differ: they must
agree within --tolerance
(absolute, on warm_test and joint test NDCG@10 and AUC). Both runs use the library's one pipeline
(`ppr.runs.pipeline.compute`) on the same dataset version, split and settings. Meant to finish in under
3 minutes on a CUDA machine; without CUDA it says so and exits with code 3.

    python bench/gpu_check.py [--data ../shared/data/ml-100k] [--warm-epochs 8] [--tune-epochs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch

from ppr.data.importers import import_dataset
from ppr.data.store import Store
from ppr.io import atomic_write_json
from ppr.runs.pipeline import compute
from ppr.spec.run import RunSpec, SplitSpec, TuneSpec, WarmSpec


def run_on(device: str, store: Store, spec: RunSpec) -> dict:
    """Warm run then tuning run of `spec` on `device`: metrics, seconds and training windows per second."""
    t0 = time.perf_counter()
    warm, _ = compute(store, spec.warm_run(), device, lambda _m: None, bar=False)
    warm_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    tune, _ = compute(store, spec, device, lambda _m: None, bar=False)
    tune_s = time.perf_counter() - t0
    w, t = warm.result(), tune.result()
    return {
        "device": w["environment"]["device"],
        "warm_seconds": warm_s,
        "warm_train_seconds_per_epoch": w["seconds"]["train"] / max(1, w["epochs_run"]),
        "tune_seconds": tune_s,
        "warm_test_ndcg@10": w["summary"]["warm_test"]["joint"]["ndcg@10"],
        "warm_test_auc": w["summary"]["warm_test"]["joint"]["auc"],
        "test_ndcg@10": t["summary"]["test"]["joint"]["ndcg@10"],
        "test_auc": t["summary"]["test"]["joint"]["auc"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "data" / "ml-100k")
    ap.add_argument("--warm-epochs", type=int, default=8)
    ap.add_argument("--tune-epochs", type=int, default=3)
    ap.add_argument("--tolerance", type=float, default=0.03)
    ap.add_argument("--devices", default="cpu,cuda", help="the two devices compared (cpu,cpu checks this script)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "gpu_check.json")
    args = ap.parse_args(argv)
    first, second = args.devices.split(",")
    if "cuda" in (first, second) and not torch.cuda.is_available():
        print("no CUDA device here: nothing to check (run this on a machine with a GPU)", file=sys.stderr)
        return 3
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, device in enumerate((first, second)):  # separate stores: the same run ids, computed on each device
            store = Store(Path(tmp) / str(i))
            folder = args.data.resolve()
            ds = import_dataset(
                store,
                "ml",
                folder / "ml-100k.inter",
                folder / "ml-100k.user",
                folder / "ml-100k.item",
                log=lambda _m: None,
            )
            spec = RunSpec(
                ds.ref,
                ds.content_hash,
                SplitSpec(folds=1),
                warm=WarmSpec(epochs=args.warm_epochs, patience=args.warm_epochs),
            ).tuned(TuneSpec(method="ppr-full", epochs=args.tune_epochs))
            results.append(run_on(device, store, spec))
    a, b = results
    keys = ("warm_test_ndcg@10", "warm_test_auc", "test_ndcg@10", "test_auc")
    gaps = {k: abs(a[k] - b[k]) for k in keys}
    ok = all(g <= args.tolerance for g in gaps.values())
    summary = {
        "devices": [first, second],
        "results": results,
        "gaps": gaps,
        "tolerance": args.tolerance,
        "agree": ok,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "speedup_per_warm_epoch": a["warm_train_seconds_per_epoch"] / b["warm_train_seconds_per_epoch"],
    }
    atomic_write_json(args.out, summary)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{'':<34}{first:>12}{second:>12}")
        for k in ("warm_train_seconds_per_epoch", "warm_seconds", "tune_seconds", *keys):
            print(f"{k:<34}{a[k]:>12.4f}{b[k]:>12.4f}")
        print(
            f"{second} ({summary['gpu'] or 'no GPU'}): warm-training {summary['speedup_per_warm_epoch']:.1f}x the "
            f"speed of {first} per epoch; metrics {'agree' if ok else 'DISAGREE'} within {args.tolerance} (largest "
            f"gap {max(gaps.values()):.4f})"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
