"""Ingest benchmark: generate -> import -> split -> warm data at scale, each step timed with its own peak RSS.

Each step runs in a fresh `spawn` process and reports its own ru_maxrss (RUSAGE_SELF,
which covers DuckDB's threads), so one step's memory never hides inside another's.
Seconds are the step's work inside that process, its module imports included;
process start-up and hand-back are reported separately as start_s.

The warm step is warm-training's data path without a model: load the stored split, build the
default warm run's windows and negative sampler, and draw the first WARM_BATCHES batches of an
epoch (tokens, negatives, masks). Its split_rss_mb is the resident memory once the split is
loaded, so peak_rss_mb - split_rss_mb is what the windows and batches add.

    python bench/ingest.py                      # 100k users, 100k items, 100 clicks each: 10M interactions
    python bench/ingest.py --users 1000000 --items 1000000      # 100M interactions (issue 11's acceptance)
    python bench/ingest.py --users 20000 --items 20000 --interactions 1000000 --out /tmp/i.json
    python bench/ingest.py --home DIR --keep    # keep the store; then e.g. --home DIR --steps warm
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATASET = "bench"
MEAN_LEN = 100  # clicks per user unless --interactions or --mean-len say otherwise
WARM_BATCHES = 10
# (up to this many interactions, import and split seconds, peak RSS MB of every step): 10M as before, and
# issue 11's acceptance at 100M (1M users and items): import and split under 2 minutes each, under 8 GB.
TARGETS = ((10_500_000, {"import": 60.0, "split": 60.0}, 4096), (2**63, {"import": 120.0, "split": 120.0}, 8192))


def _generate(home: Path, a: dict[str, Any]) -> dict[str, Any]:
    from ppr.data.synth import generate

    paths = generate(home / "raw", a["users"], a["items"], a["mean_len"], a["seed"], "parquet")
    import pyarrow.parquet as pq

    rows = pq.ParquetFile(paths["interactions"]).metadata.num_rows
    size = sum(p.stat().st_size for p in paths.values())
    return {"interactions": rows, "files_mb": round(size / 2**20, 1)}


def _import(home: Path, a: dict[str, Any]) -> dict[str, Any]:
    from ppr.data.importers import import_dataset
    from ppr.data.store import Store

    raw = home / "raw"
    ds = import_dataset(
        Store(home),
        DATASET,
        interactions=raw / "interactions.parquet",
        users=raw / "users.parquet",
        items=raw / "items.parquet",
        user_col="user_id",
        item_col="item_id",
        time_col="timestamp",
        fmt="parquet",
        log=lambda _m: None,
    )
    return {"dataset": ds.ref, **ds.manifest["counts"]}


def _split(home: Path, a: dict[str, Any]) -> dict[str, Any]:
    from ppr.data.splits import SplitSpec, make_split
    from ppr.data.store import Store

    split = make_split(Store(home).open(DATASET), SplitSpec(seed=a["seed"]), log=lambda _m: None)
    counts = split.counts()
    return {"split_id": split.id, "n_targets": counts["n_targets"], "users": counts["users"]}


def _warm(home: Path, a: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    from ppr.data.splits import SplitSpec, make_split
    from ppr.data.store import Store
    from ppr.spec.run import RunSpec
    from ppr.train import methods
    from ppr.train.batching import iterate_batches

    t0 = time.perf_counter()
    ds = Store(home).open(DATASET)
    split = make_split(ds, SplitSpec(seed=a["seed"]))  # stored by the split step: loaded
    split_rss = _rss_mb()
    t1 = time.perf_counter()
    spec = RunSpec(ds.ref, ds.content_hash)
    windows, sampler = methods.windows(spec, split), methods.sampler(spec, split, ds.n_items)
    t2 = time.perf_counter()
    rng, _ = methods.random_streams(spec)
    schedule = methods.schedule(spec)
    batches = iterate_batches(windows, schedule.batch_size, rng, sampler, negatives=schedule.negatives)
    drawn = [next(batches) for _ in range(min(WARM_BATCHES, -(-len(windows) // schedule.batch_size)))]
    t3 = time.perf_counter()
    return {
        "windows": len(windows),
        "batches_drawn": len(drawn),
        "batch_tokens": [list(b.tokens.shape) for b in drawn[:1]],
        "tokens_sum": int(sum(int(b.tokens.sum()) for b in drawn)),  # same data: same sum before and after
        "negatives_sum": int(sum(int(b.negatives.sum()) for b in drawn)),
        "warm_clicks": int(np.diff(split.offsets)[split.users_in(0)].sum()),
        "load_split_s": round(t1 - t0, 2),
        "windows_s": round(t2 - t1, 2),
        "batches_s": round(t3 - t2, 2),
        "split_rss_mb": round(split_rss),
    }


def _rss_mb() -> float:
    """Resident memory now (Linux), in MB."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) / 1024 for line in fh if line.startswith("VmRSS"))


STEPS = {"generate": _generate, "import": _import, "split": _split, "warm": _warm}


def _child(step: str, home: str, a: dict[str, Any], conn: Any) -> None:
    """Runs in a spawned process: one step, then its own time and peak memory."""
    try:
        baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t0 = time.perf_counter()
        info = STEPS[step](Path(home), a)
        seconds = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        conn.send(
            {
                "ok": True,
                "seconds": round(seconds, 2),
                "peak_rss_mb": round(peak_mb),
                "baseline_rss_mb": round(baseline_mb),
                **info,
            }
        )
    except BaseException as exc:  # report, don't hang the parent
        conn.send({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
    finally:
        conn.close()


def run_step(step: str, home: Path, a: dict[str, Any]) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    t0 = time.perf_counter()
    proc = ctx.Process(target=_child, args=(step, str(home), a, send))
    proc.start()
    send.close()
    result = recv.recv() if recv.poll(timeout=3600) else {"ok": False, "error": "no result within an hour"}
    proc.join()
    result["start_s"] = round(time.perf_counter() - t0 - result.get("seconds", 0), 2)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=100_000)
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--interactions", type=int, default=None, help=f"target count (default: users x {MEAN_LEN})")
    p.add_argument("--mean-len", type=float, default=None, help="clicks per user (overrides --interactions)")
    p.add_argument("--steps", default=",".join(STEPS), help="comma-separated steps to run, in order")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--home", type=Path, default=None, help="store home (default: a temp folder)")
    p.add_argument("--keep", action="store_true", help="keep the home folder afterwards")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out" / "ingest.json")
    args = p.parse_args(argv)
    mean_len = args.mean_len or (args.interactions / args.users if args.interactions else MEAN_LEN)
    steps = args.steps.split(",")
    if not set(steps) <= set(STEPS):
        p.error(f"--steps: choose from {', '.join(STEPS)}")
    _, targets, rss_target = next(t for t in TARGETS if t[0] >= args.users * mean_len)
    a = {"users": args.users, "items": args.items, "mean_len": mean_len, "seed": args.seed}
    home = args.home or Path(tempfile.mkdtemp(prefix="ppr-bench-ingest-"))
    home.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"params": a, "home": str(home), "machine": _machine(), "steps": {}}
    try:
        for step in steps:
            r = run_step(step, home, a)
            report["steps"][step] = r
            if not r["ok"]:
                print(f"{step:<9} FAILED: {r['error']}")
                break
            target = targets.get(step)
            flag = "" if target is None or r["seconds"] < target else f"  (over the {target:.0f} s target)"
            flag += "" if r["peak_rss_mb"] < rss_target else f"  (over the {rss_target} MB RSS target)"
            if step == "warm":
                flag += (
                    f"  ({r['windows']:,} windows; split loaded {r['load_split_s']} s at {r['split_rss_mb']:,} MB, "
                    f"windows {r['windows_s']} s, {r['batches_drawn']} batches {r['batches_s']} s)"
                )
            print(f"{step:<9} {r['seconds']:7.1f} s   peak RSS {r['peak_rss_mb']:6,} MB{flag}", flush=True)
    finally:
        if not args.keep and args.home is None:
            shutil.rmtree(home, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0 if all(r["ok"] for r in report["steps"].values()) else 1


def _machine() -> dict[str, Any]:
    import os

    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}


if __name__ == "__main__":
    sys.exit(main())
