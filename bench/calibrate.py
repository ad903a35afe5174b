"""Run-time estimate benchmark: what the Runs form's calibration costs, and how close the sampled one comes.

For the warm run and each method of the form's defaults (pop, pop-profile, finetune, ppr-light,
ppr-full; --methods), ppr.jobs.estimate.calibrate is timed with its user sample (at most --per-role
users of each role) and, with --full, on every user (the estimate's cost before it was sampled; the
batch counts are the same exact ones either way). Each is repeated --repeat times in this process; the
table shows the median wall time of a calibration and the median estimate (seconds per epoch and for the
run's every epoch), and with --full how far the sampled estimate is from the full one. Step times are
measured, so on a busy machine they scatter: take --repeat 3 or more before comparing.

The dataset: NAME in --home (default $PPR_HOME, else ./cache); NAME "sample" in a home without it
imports the bundled sample. Results go to bench/out/calibrate.json (or --out).

    python bench/calibrate.py --home /tmp/big bench --full             # the store bench/ingest.py --keep left
    python bench/calibrate.py --home /tmp/ml ml-100k --per-role 200 --full --repeat 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ppr.data.sample import SAMPLE_NAME, ensure_sample
from ppr.data.store import Store
from ppr.io import atomic_write_json
from ppr.jobs import estimate
from ppr.spec.run import RunSpec, TuneSpec
from ppr.train.device import pick_device

FORM_METHODS = "pop,pop-profile,finetune,ppr-light,ppr-full"


def time_calibration(ds: Any, spec: RunSpec, device: str, per_role: int | None, repeat: int) -> dict[str, Any]:
    """Median wall time and estimate over `repeat` calibrations of `spec` (of its timing key, as the form does)."""
    walls, cals = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        cals.append(estimate.calibrate(ds, estimate.timing_key(spec), device, per_role))
        walls.append(time.perf_counter() - t0)
    _, epochs = estimate.epoch_range(spec)
    cal = cals[0]
    return {
        "wall_s": statistics.median(walls),
        "walls_s": [round(w, 3) for w in walls],
        "sampled_users": cal.sampled_users,
        "batches": cal.batches,
        "windows": cal.windows,
        "val_targets": cal.val_targets,
        "step_s": statistics.median(c.step_s for c in cals),
        "epoch_s": statistics.median(c.epoch_s for c in cals),
        "run_s": statistics.median(c.seconds(epochs) for c in cals),
        "epochs": epochs,
    }


def _row(name: str, mode: str, r: dict[str, Any], versus: dict[str, Any] | None) -> str:
    off = ""
    if versus is not None and versus["run_s"] > 0:
        off = f"{(r['run_s'] / versus['run_s'] - 1) * 100:+6.0f}%"
    return (
        f"{name:<12} {mode:<8} {r['wall_s']:8.2f} {r['sampled_users']:>8,} {r['batches']:>8,} "
        f"{r['step_s'] * 1000:8.1f} {r['epoch_s']:8.1f} {r['run_s']:9.0f} {off:>8}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dataset", help="NAME or NAME@vN in the home")
    p.add_argument("--home", type=Path, default=Path(os.environ.get("PPR_HOME", REPO / "cache")))
    p.add_argument("--methods", default=FORM_METHODS, help="comma list of methods besides the warm run")
    p.add_argument("--per-role", type=int, default=estimate.SAMPLE_USERS, help="users per role timed on")
    p.add_argument("--full", action="store_true", help="also calibrate on every user, and compare")
    p.add_argument("--repeat", type=int, default=1, help="calibrations per setting (medians are shown)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "calibrate.json")
    args = p.parse_args(argv)

    store = Store(args.home)
    if args.dataset == SAMPLE_NAME:
        ensure_sample(store)
    ds = store.open(args.dataset)
    base = RunSpec(ds.ref, ds.content_hash)
    specs = {"warm": base} | {m: base.tuned(TuneSpec(method=m)) for m in args.methods.split(",")}
    modes = {"sampled": args.per_role} | ({"full": None} if args.full else {})
    counts = ds.manifest["counts"]
    print(
        f"{ds.ref}: {counts.get('users', '?'):,} users, {counts.get('interactions', '?'):,} interactions; "
        f"device {pick_device(args.device)}; at most {args.per_role:,} users per role; {args.repeat} repeat(s)"
    )
    print(
        f"{'run':<12} {'mode':<8} {'wall s':>8} {'users':>8} {'batches':>8} {'step ms':>8} {'epoch s':>8} "
        f"{'run s':>9} {'vs full':>8}"
    )
    results: dict[str, dict[str, Any]] = {}
    for name, spec in specs.items():
        results[name] = {mode: time_calibration(ds, spec, args.device, n, args.repeat) for mode, n in modes.items()}
        for mode, r in results[name].items():
            print(_row(name, mode, r, results[name].get("full") if mode != "full" else None), flush=True)
    totals = {mode: sum(r[mode]["wall_s"] for r in results.values()) for mode in modes}
    print("calibration wall time, every run above: " + ", ".join(f"{m} {s:.1f} s" for m, s in totals.items()))
    report = {
        "dataset": ds.ref,
        "counts": counts,
        "device": str(pick_device(args.device)),
        "per_role": args.per_role,
        "repeat": args.repeat,
        "total_wall_s": totals,
        "runs": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
