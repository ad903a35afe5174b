"""The ml-100k sweep of issue 4: methods x k-shots x noise x seeds through the jobs machinery.

Runs `ppr.jobs` exactly as `python -m ppr sweep` does (run folders, status files,
shared warm run per seed, skip finished cells), times it, prints the report and
writes bench/out/sweep.md and sweep.json. Default grid: finetune, ppr-light,
ppr-full x k 1,3,5,all x noise 0,0.3,0.6 x seeds 0,1,2 (108 cells + 3 warm runs).
The local worker trains each method's cells as one group (ppr.runs.group); afterwards the first seed's
cells are computed again one by one in a scratch home holding the same dataset and warm runs, and the
per-cell cost of both ways is printed side by side (--no-side-by-side skips it).
--estimate runs only the first seed's warm run and one cell per method, then
extrapolates the full grid's time from those measurements.

    python bench/sweep.py --estimate
    python bench/sweep.py --seeds 0 --k-shots 1,all --warm-epochs 30 --tune-epochs 10
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pandas as pd

from ppr.data.store import Dataset, Store
from ppr.errors import InputError
from ppr.jobs.sweep import submit, sweep_runs, sweeps_dir
from ppr.jobs.worker import main_log, work
from ppr.report import tables
from ppr.runs.folder import RunFolder
from ppr.runs.status import read_status
from ppr.spec.run import RunSpec, TuneSpec, WarmSpec
from ppr.spec.settings import parse_list
from ppr.spec.sweep import SweepSpec

FULL = {"methods": 3, "k_shots": 4, "noises": 3, "seeds": 3}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", default="finetune,ppr-light,ppr-full")
    p.add_argument("--k-shots", default="1,3,5,all")
    p.add_argument("--noise", default="0,0.3,0.6")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--warm-epochs", type=int, default=None, help="default: warm-training's own (WarmSpec)")
    p.add_argument("--warm-patience", type=int, default=None)
    p.add_argument("--tune-epochs", type=int, default=None, help="cap per cell (default: each method's)")
    p.add_argument("--tune-patience", type=int, default=None)
    p.add_argument("--estimate", action="store_true", help="one warm run + one cell per method, then extrapolate")
    p.add_argument("--no-side-by-side", action="store_true", help="skip timing the first seed's cells one by one")
    p.add_argument("--home", default=str(REPO / "cache" / "bench-sweep"))
    p.add_argument("--ml100k", default=str(REPO / ".." / "shared" / "data" / "ml-100k"))
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default=str(REPO / "bench" / "out"))
    return p.parse_args(argv)


def ml100k(store: Store, folder: Path) -> Dataset:
    if store.versions("ml-100k"):
        return store.open("ml-100k")
    from ppr.data.importers import import_dataset

    if not (folder / "ml-100k.inter").is_file():
        raise InputError(f"ml-100k not found at {folder} (expected RecBole ml-100k.inter/.user/.item); pass --ml100k.")
    return import_dataset(store, "ml-100k", folder / "ml-100k.inter", folder / "ml-100k.user", folder / "ml-100k.item")


def _warm(a: argparse.Namespace) -> WarmSpec:
    """The default recipe unless a flag changes it: the grid is timed with default training settings."""
    given = {"epochs": a.warm_epochs, "patience": a.warm_patience}
    return WarmSpec(**{k: v for k, v in given.items() if v is not None})


def _seconds(store: Store, rid: str) -> float:
    st = read_status(store.runs_dir / rid)
    if not st.get("started") or not st.get("finished"):
        return float("nan")
    return (pd.Timestamp(st["finished"]) - pd.Timestamp(st["started"])).total_seconds()


def _span(store: Store, run_ids) -> float:
    """Seconds from the first of the runs' starts to the last of their finishes."""
    st = [read_status(store.runs_dir / r) for r in run_ids]
    start = min(pd.Timestamp(s["started"]) for s in st if s.get("started"))
    end = max(pd.Timestamp(s["finished"]) for s in st if s.get("finished"))
    return (end - start).total_seconds()


def _group_cost(store: Store, cells: pd.DataFrame) -> dict[str, float]:
    """Per method: seconds per cell when its cells train as groups (the groups' spans / cells)."""
    return {method: _span(store, part["run_id"]) / len(part) for method, part in cells.groupby("label")}


def _one_by_one(store: Store, cells: pd.DataFrame, body: dict, device: str) -> dict[str, float]:
    """Per method: seconds per cell for the first seed's cells computed alone, in a scratch home that holds the
    dataset and the warm runs already (so only the cells are timed)."""
    from ppr.runs.pipeline import compute

    scratch = Store(Path(tempfile.mkdtemp(prefix="sweep-one-by-one-")))
    shutil.copytree(store.home / "datasets", scratch.home / "datasets")
    for w in body["warm_runs"]:
        shutil.copytree(store.runs_dir / w, scratch.runs_dir / w)
    first = cells[cells["seed"] == cells["seed"].min()]
    out = {}
    for method, part in first.groupby("label"):
        t0 = time.perf_counter()
        for rid in part["run_id"]:
            compute(scratch, RunFolder(store.runs_dir / rid).spec(), device, lambda m: None, bar=False)
        out[method] = (time.perf_counter() - t0) / len(part)
    shutil.rmtree(scratch.home, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    store = Store(a.home)
    ds = ml100k(store, Path(a.ml100k))
    methods = parse_list(TuneSpec, "method", a.methods)
    tune = TuneSpec(method=methods[0], epochs=a.tune_epochs, patience=a.tune_patience)
    base = RunSpec(ds.ref, ds.content_hash, warm=_warm(a), tune=tune)
    spec = SweepSpec(
        base,
        methods,
        parse_list(TuneSpec, "k_shot", a.k_shots),
        parse_list(TuneSpec, "noise", a.noise),
        parse_list(TuneSpec, "seed", a.seeds),
    )
    body = submit(store, spec, a.device)
    runs = body["runs"]
    if a.estimate:  # first warm run + the first cell of each method
        firsts = {c["method"]: c["run_id"] for c in reversed(body["cells"])}
        runs = [body["warm_runs"][0], *firsts.values()]
    t0 = time.perf_counter()
    final = work(store, runs, main_log, None if a.estimate else sweeps_dir(store) / body["id"])
    wall = time.perf_counter() - t0
    cells = pd.DataFrame(body["cells"])
    cells["seconds"] = [_seconds(store, r) for r in cells["run_id"]]
    cells["state"] = [read_status(store.runs_dir / r)["state"] for r in cells["run_id"]]
    warm_s = [_seconds(store, w) for w in body["warm_runs"]]
    per_method = cells.dropna(subset=["seconds"]).groupby("method")["seconds"].mean()
    n_full = FULL["k_shots"] * FULL["noises"] * FULL["seeds"]
    est_full = float(pd.Series(warm_s).dropna().mean()) * FULL["seeds"] + float(per_method.sum()) * n_full
    compute = float(pd.Series(warm_s).sum() + cells["seconds"].sum())  # every run's own time, reused ones included
    side = None
    if not a.estimate and not a.no_side_by_side and final == "done":
        side = {
            "grouped_s_per_cell": _group_cost(store, cells),
            "one_by_one_s_per_cell": _one_by_one(store, cells, body, a.device),
        }
    table = tables.sweep_table(sweep_runs(store, body["id"]))
    md = tables.render(table, "md", f"Sweep {body['id']} ({ds.ref})")
    out = {
        "sweep": body["id"],
        "state": final,
        "wall_s": wall,
        "compute_s_all_runs": compute,
        "cells": len(body["cells"]),
        "ran": runs,
        "spec": body["spec"],
        "warm_seconds": warm_s,
        "mean_cell_seconds": per_method.round(1).to_dict(),
        "estimated_full_grid_s": est_full,
        "side_by_side": side,
        "report": table.to_dict("records"),
        "cell_table": cells.to_dict("records"),
    }
    dest = Path(a.out)
    dest.mkdir(parents=True, exist_ok=True)
    name = "sweep-estimate" if a.estimate else "sweep"
    (dest / f"{name}.md").write_text(md)
    (dest / f"{name}.json").write_text(json.dumps(out, indent=2, default=str))
    print(md)
    print(
        f"sweep {body['id']}: {final}; {len(runs)} runs in {wall:.0f}s wall, the {len(body['cells'])} cells' span "
        f"{_span(store, cells['run_id']):.0f}s after the warm runs ({warm_s} s; runs done earlier are reused)"
    )
    if a.estimate:  # each cell ran alone here, so this extrapolates one-by-one training: an upper bound
        print(
            f"one cell per method alone: {per_method.round(1).to_dict()} s; the full 108-cell grid trained one by one "
            f"would take ~{est_full / 60:.0f} min (grouped training, the sweep's default, takes far less)"
        )
    if side:
        print("seconds per cell (first seed's cells one by one; every cell's group span / its cells):")
        for m in side["one_by_one_s_per_cell"]:
            print(
                f"  {m}: one by one {side['one_by_one_s_per_cell'][m]:.2f} s, grouped {side['grouped_s_per_cell'][m]:.2f} s"
            )
    print(f"wrote {dest / (name + '.md')} and {dest / (name + '.json')}", file=sys.stderr)
    return 0 if final == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
