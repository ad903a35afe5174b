"""Do two checkouts of the workbench compute the same results? Warm-training and every method on ml-100k.

Runs `python -m ppr` of each checkout (this one and --other, e.g. a `git worktree add /tmp/old <commit>`)
on the same data with tiny epochs: a warm run, then warm-only, sasrec, finetune, ppr-light, ppr-full,
ppr-full at k=3 with noise 0.3, and ppr-light without CL. torch's global RNG is seeded at process start,
because before run semantics v3 a tuned model's dropout streams came from torch's per-process random
seed (so an unseeded old checkout differs from itself between invocations). Prints, per run, the largest
per-target difference of AUC/HIT@10/NDCG@10/NDCG@20 (scores.parquet) and the joint NDCG@10 of both, and
writes bench/out/same_results.json.

    git worktree add /tmp/old 5322738 && python bench/same_results.py --other /tmp/old
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SEEDED = "import sys, torch; torch.manual_seed(12345); from ppr.cli import main; sys.exit(main(sys.argv[1:]))"
TUNE = ["--warm-epochs", "3", "--epochs", "2"]
RUNS = {
    "warm": ["warm", "ml", "--epochs", "3"],
    **{m: ["tune", "ml", "--method", m, *TUNE] for m in ("warm-only", "sasrec", "finetune", "ppr-light", "ppr-full")},
    "ppr-full-k3-r0.3": ["tune", "ml", "--method", "ppr-full", "--k-shot", "3", "--noise", "0.3", *TUNE],
    "ppr-light-nocl": ["tune", "ml", "--method", "ppr-light", "--no-cl", *TUNE],
}
METRICS = ["auc", "hit@10", "ndcg@10", "ndcg@20"]


def run_all(checkout: Path, home: Path, data: Path) -> dict[str, pd.DataFrame]:
    """Per-target scores of every run in RUNS, computed by `checkout`'s CLI in a fresh store."""

    def cli(*argv: str) -> str:
        cmd = [sys.executable, "-c", SEEDED, "--home", str(home), *argv]
        return subprocess.run(cmd, cwd=checkout, capture_output=True, text=True, check=True).stdout

    cli("data", "import", "ml", "--interactions", str(data), "--format", "recbole")
    out = {}
    for name, argv in RUNS.items():
        rid = json.loads(cli(*argv, "--json", "--no-progress"))["run_id"]
        df = pd.read_parquet(home / "runs" / rid / "scores.parquet")
        out[name] = df.sort_values("target_id").reset_index(drop=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--other", type=Path, required=True, help="the other checkout (a folder with ppr/)")
    ap.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "data" / "ml-100k")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "same_results.json")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        mine = run_all(REPO, Path(tmp) / "mine", args.data.resolve())
        other = run_all(args.other.resolve(), Path(tmp) / "other", args.data.resolve())
    rows = []
    for name in RUNS:
        a, b = mine[name], other[name]
        same_targets = bool((a["target_id"].to_numpy() == b["target_id"].to_numpy()).all())
        diff = float(np.abs(a[METRICS].to_numpy() - b[METRICS].to_numpy()).max())
        rows.append(
            {
                "run": name,
                "targets": len(a),
                "same_targets": same_targets,
                "max_abs_diff": diff,
                "ndcg@10_this": float(a["ndcg@10"].mean()),
                "ndcg@10_other": float(b["ndcg@10"].mean()),
            }
        )
        print(
            f"{name:<18} {len(a):>5} targets  max |diff| {diff:.2e}  joint NDCG@10 {rows[-1]['ndcg@10_this']:.6f} "
            f"(other {rows[-1]['ndcg@10_other']:.6f})"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2))
    return 0 if all(r["same_targets"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
