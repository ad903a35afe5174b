"""Reproduce the paper's comparison (Tables I, III-V; k-shot and noise studies) on our data.

For each dataset (ml-100k from ../shared/data, and the planted synthetic data) and
each seed: warm-train SASRec, then tune every method and score few-shot, zero-shot
and joint test targets; sweep k-shot (1, 3, 5, 7, all) and profile noise (0 .. 0.9)
for finetune, ppr-light, ppr-full and ppr-full without CL. Seed s also picks split
seed s, so the spread over seeds covers the choice of cold users too. Runs are
ordinary run folders under --home, so an interrupted reproduction resumes where it
stopped and the sweeps' k=all/r=0 points reuse the main table's runs.

    python bench/reproduce.py                        # everything (slow on CPU: see --quick)
    python bench/reproduce.py --quick                # 1 seed, short training, small synthetic set
    python bench/reproduce.py --datasets ml-100k --seeds 0,1 --no-sweeps

Writes bench/out/reproduce.md (tables laid out like the paper's) and reproduce.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pandas as pd

from ppr.data.splits import SplitConfig
from ppr.data.store import Dataset, Store
from ppr.errors import InputError
from ppr.eval.compare import aggregate, collect_scores, markdown_table, paired_tests
from ppr.experiment import tune_run, warm_run
from ppr.runs import Run
from ppr.train.config import TuneConfig, WarmConfig

MAIN = [
    ("warm-only", {}),
    ("sasrec", {}),
    ("finetune", {}),
    ("ppr-light", {}),
    ("ppr-full", {}),
    ("ppr-full", {"cl": False}),
]
SWEEP = [("finetune", {}), ("ppr-light", {}), ("ppr-full", {}), ("ppr-full", {"cl": False})]
K_SHOTS: list[int | None] = [1, 3, 5, 7, None]
NOISES = [0.0, 0.1, 0.3, 0.5, 0.7, 0.9]
GROUP_TITLES = {"few": "few-shot", "zero": "zero-shot", "joint": "joint"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default="ml-100k,synth", help="comma list of ml-100k, synth")
    p.add_argument("--seeds", default=None, help="comma list (default 0,1,2; --quick: 0)")
    p.add_argument("--quick", action="store_true", help="short training, 1 seed, small synthetic set, short sweeps")
    p.add_argument("--no-sweeps", action="store_true", help="main tables only")
    p.add_argument(
        "--vary",
        choices=("all", "tune"),
        default="all",
        help="all: seed s re-draws split and warm model too; tune: split and warm model of the first seed",
    )
    p.add_argument("--sweep-seeds", default=None, help="seeds that also run the sweeps (default: all --seeds)")
    p.add_argument("--home", default=str(REPO / "cache" / "bench-reproduce"), help="store + runs folder")
    p.add_argument("--ml100k", default=str(REPO / ".." / "shared" / "data" / "ml-100k"), help="RecBole ml-100k folder")
    p.add_argument("--synth-users", type=int, default=None, help="default 20000 (--quick: 2000)")
    p.add_argument("--synth-items", type=int, default=None, help="default 5000 (--quick: 1000)")
    p.add_argument("--warm-epochs", type=int, default=None, help="default 200 (--quick: 20)")
    p.add_argument("--tune-epochs", type=int, default=None, help="default per method (--quick: 10)")
    p.add_argument("--sasrec-epochs", type=int, default=None, help="cap on the sasrec baseline's epochs (default 200)")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default=str(REPO / "bench" / "out"), help="folder for reproduce.md / .json")
    a = p.parse_args(argv)
    q = a.quick
    a.seed_list = [int(s) for s in (a.seeds or ("0" if q else "0,1,2")).split(",")]
    a.sweep_seed_list = [int(s) for s in a.sweep_seeds.split(",")] if a.sweep_seeds else a.seed_list
    a.dataset_list = [d.strip() for d in a.datasets.split(",") if d.strip()]
    a.synth_users = a.synth_users or (2000 if q else 20000)
    a.synth_items = a.synth_items or (1000 if q else 5000)
    a.warm_epochs = a.warm_epochs or (20 if q else 200)
    a.tune_epochs = a.tune_epochs or (10 if q else None)
    a.k_shots = [1, None] if q else K_SHOTS
    a.noises = [0.0, 0.5] if q else NOISES
    return a


def get_dataset(store: Store, name: str, a: argparse.Namespace) -> Dataset:
    """The dataset, imported/generated on first use (later runs find it in the store).

    The synthetic set is stored as synth-<users>-<items> so quick and full sizes never mix.
    """
    store_name = f"synth-{a.synth_users}-{a.synth_items}" if name == "synth" else name
    if store.versions(store_name):
        return store.open(store_name)
    if name == "ml-100k":
        from ppr.data.importers import import_dataset

        folder = Path(a.ml100k)
        if not (folder / "ml-100k.inter").is_file():
            raise InputError(f"ml-100k not found at {folder} (expected ml-100k.inter/.user/.item); pass --ml100k.")
        return import_dataset(
            store, name, folder / "ml-100k.inter", folder / "ml-100k.user", folder / "ml-100k.item", log=log
        )
    if name == "synth":
        from ppr.data.synth import synth_dataset

        return synth_dataset(store, store_name, a.synth_users, a.synth_items, mean_len=20, seed=0, log=log)
    raise InputError(f"Unknown dataset {name!r}: expected ml-100k or synth.")


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    store = Store(a.home)
    t_all = time.perf_counter()
    records: list[dict[str, Any]] = []
    warm_rows: list[dict[str, Any]] = []
    for name in a.dataset_list:
        ds = get_dataset(store, name, a)
        for seed in a.seed_list:
            base = seed if a.vary == "all" else a.seed_list[0]
            split_cfg = SplitConfig(seed=base)
            wcfg = WarmConfig(seed=base, epochs=a.warm_epochs, patience=5 if a.quick else 20, device=a.device)
            t0 = time.perf_counter()
            warm, reused = warm_run(store, ds, split_cfg, wcfg, log, bar=False)
            m = warm.metrics()
            warm_rows.append(
                dict(
                    dataset=name,
                    seed=seed,
                    run_id=warm.id,
                    reused=reused,
                    seconds=time.perf_counter() - t0,
                    train_seconds=m["seconds"]["train"],
                    epochs=m["epochs_run"],
                    **{f"warm_test_{k}": m["warm_test"][k] for k in ("hit@10", "ndcg@10")},
                )
            )
            log(
                f"[{name} s{seed}] warm {warm.id}: warm_test NDCG@10 {m['warm_test']['ndcg@10']:.4f} "
                f"({_took(reused, warm_rows[-1]['seconds'])})"
            )
            for k, r, study in _cells(a, seed):
                methods = MAIN if study == "main" else SWEEP
                for method, extra in methods:
                    cfg = TuneConfig(method=method, k_shot=k, noise=r, seed=seed, epochs=a.tune_epochs, **extra)
                    if a.quick and a.tune_epochs:
                        cfg = dataclasses.replace(cfg, patience=3)
                    if method == "sasrec" and a.sasrec_epochs:
                        cfg = dataclasses.replace(cfg, epochs=a.sasrec_epochs)
                    t0 = time.perf_counter()
                    run, reused = tune_run(store, ds, cfg, warm, log=lambda _m: None, bar=False, device=a.device)
                    took = run.metrics()["seconds"]
                    rec = {
                        "dataset": name,
                        "study": study,
                        "seed": seed,
                        "label": cfg.label,
                        "k": k or "all",
                        "r": r,
                        "run_id": run.id,
                        "reused": reused,
                        "seconds": time.perf_counter() - t0,
                        "run_seconds": took["tune"] + took["eval"],
                    }
                    records.append(rec)
                    mm = run.metrics()["test"]
                    log(
                        f"[{name} s{seed} {study} k={rec['k']} r={r:g}] {cfg.label:<14} zero AUC {mm['zero']['auc']:.4f} "
                        f"NDCG@10 joint {mm['joint']['ndcg@10']:.4f} ({_took(reused, rec['seconds'])})"
                    )
    report = build_report(store, a, records, warm_rows, time.perf_counter() - t_all)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "reproduce.md").write_text(report["markdown"])
    (out / "reproduce.json").write_text(
        json.dumps({k: v for k, v in report.items() if k != "markdown"}, indent=2, default=str)
    )
    print(report["markdown"])
    log(f"wrote {out / 'reproduce.md'} and {out / 'reproduce.json'}")
    return 0


def _took(reused: bool, seconds: float) -> str:
    return "reused" if reused else f"{seconds:.0f}s"


def _cells(a: argparse.Namespace, seed: int) -> list[tuple[int | None, float, str]]:
    """(k_shot, noise, study): the main table first, then sweeps (their k=all, r=0 cells reuse main runs)."""
    cells = [(None, 0.0, "main")]
    if not a.no_sweeps and seed in a.sweep_seed_list:
        cells += [(k, 0.0, "k_shot") for k in a.k_shots]
        cells += [(None, r, "noise") for r in a.noises]
    return cells


def _runs(store: Store, recs: list[dict[str, Any]]) -> list[Run]:
    return [Run(store.runs_dir / r["run_id"]) for r in recs]


def _test_scores(store: Store, recs: list[dict[str, Any]]) -> pd.DataFrame:
    scores = collect_scores(_runs(store, recs))
    return scores[scores["group"] == "test"]


def build_report(store: Store, a: argparse.Namespace, records: list, warm_rows: list, seconds: float) -> dict[str, Any]:
    if a.vary == "all":
        seeds_note = "seed s also picks split seed s and warm-model seed s"
    else:
        seeds_note = f"tuning seeds only: one split and one warm model, seed {a.seed_list[0]}"
    md = [
        "# PPR reproduction",
        "",
        f"Datasets {', '.join(a.dataset_list)}; seeds {a.seed_list} ({seeds_note}); "
        f"sweeps over seeds {[] if a.no_sweeps else a.sweep_seed_list}; "
        f"{'QUICK mode (short training) ' if a.quick else ''}warm epochs <= {a.warm_epochs}, "
        f"tuning epochs <= {a.tune_epochs or 'method default'}, sasrec epochs <= {a.sasrec_epochs or 200}"
        + (f"; synthetic: {a.synth_users} users, {a.synth_items} items" if "synth" in a.dataset_list else "")
        + ". Cells: mean ± std over seeds of the per-seed means over test targets; * = paired t-test against "
        f"finetune (targets paired within a seed, pooled over seeds) p < 0.05, better or worse. "
        f"Wall time of this invocation {seconds / 60:.1f} min (reused runs cost ~0).",
        "",
        "## Warmed SASRec (warm users' leave-one-out test)",
        "",
    ]
    warm = pd.DataFrame(warm_rows)
    if len(warm):
        g = warm.groupby("dataset")[["warm_test_hit@10", "warm_test_ndcg@10", "train_seconds", "epochs"]].agg(
            ["mean", "std"]
        )
        md += ["| dataset | HIT@10 | NDCG@10 | epochs | train s |", "|---|---:|---:|---:|---:|"]
        for ds_name, row in g.iterrows():
            md.append(
                f"| {ds_name} | {_ms(row, 'warm_test_hit@10')} | {_ms(row, 'warm_test_ndcg@10')} | "
                f"{row[('epochs', 'mean')]:.0f} | {row[('train_seconds', 'mean')]:.0f} |"
            )
    out: dict[str, Any] = {
        "settings": vars(a),
        "warm": warm_rows,
        "runs": records,
        "main": {},
        "k_shot": {},
        "noise": {},
    }
    recs = pd.DataFrame(records)
    labels = list(dict.fromkeys(TuneConfig(method=m, **e).label for m, e in MAIN))
    for ds_name in a.dataset_list:
        if not len(recs):
            break
        main = recs[(recs.dataset == ds_name) & (recs.study == "main")].to_dict("records")
        scores = _test_scores(store, main)
        agg, tests = aggregate(scores), paired_tests(scores)
        out["main"][ds_name] = {"aggregate": agg.to_dict("records"), "tests": tests.to_dict("records")}
        for group, title in GROUP_TITLES.items():
            md += ["", f"## {ds_name}: {title} test targets", "", markdown_table(agg, tests, group, labels)]
        md += [
            "",
            f"## {ds_name}: tuned parameters (Table I)",
            "",
            "| method | tuned | share of fine-tuning |",
            "|---|---:|---:|",
        ]
        seen = set()
        for rec in main:
            if rec["label"] in seen:
                continue
            seen.add(rec["label"])
            p = Run(store.runs_dir / rec["run_id"]).metrics()["params"]
            md.append(f"| {rec['label']} | {p['tuned']:,} | {100 * p['share_of_finetune']:.1f}% |")
        for study, col in (("k_shot", "k"), ("noise", "r")):
            part = recs[(recs.dataset == ds_name) & (recs.study == study)]
            if not len(part):
                continue
            table = _sweep(store, part, col)
            out[study][ds_name] = table.to_dict("records")
            md += ["", f"## {ds_name}: {study.replace('_', '-')} sweep (test, mean over seeds)", ""]
            md += _sweep_markdown(table, col)
    times = (
        recs.groupby(["dataset", "label"])["run_seconds"].mean().round(1).reset_index().to_dict("records")
        if len(recs)
        else []
    )
    out["mean_seconds_per_run"] = times
    md += ["", "## Mean seconds per tuning run (tuning + evaluation, as recorded when each run was trained)", ""]
    md += [f"- {t['dataset']} {t['label']}: {t['run_seconds']}" for t in times]
    out["markdown"] = "\n".join(md) + "\n"
    return out


def _ms(row: pd.Series, col: str) -> str:
    std = row[(col, "std")]
    return f"{row[(col, 'mean')]:.4f}" + ("" if pd.isna(std) else f" ± {std:.4f}")


def _sweep(store: Store, part: pd.DataFrame, col: str) -> pd.DataFrame:
    """Per (label, setting, group): mean over seeds of AUC and NDCG@10."""
    rows = []
    for (label, value), sub in part.groupby(["label", col], sort=False):
        scores = _test_scores(store, sub.to_dict("records"))
        agg = aggregate(scores, metrics=("auc", "ndcg@10"))
        for r in agg.itertuples():
            rows.append(
                {"label": label, col: value, "group": r.group, "metric": r.metric, "mean": r.mean, "std": r.std}
            )
    return pd.DataFrame(rows)


def _sweep_markdown(table: pd.DataFrame, col: str) -> list[str]:
    lines = []
    values = list(dict.fromkeys(table[col]))
    for group in ("zero", "few", "joint"):
        for metric in ("ndcg@10", "auc"):
            sub = table[(table.group == group) & (table.metric == metric)]
            if not len(sub):
                continue
            lines += [
                "",
                f"{GROUP_TITLES[group]} {metric.upper()}:",
                "",
                "| method | " + " | ".join(f"{col}={v}" for v in values) + " |",
                "|---|" + "---:|" * len(values),
            ]
            for label, s in sub.groupby("label", sort=False):
                cells = dict(zip(s[col], s["mean"], strict=False))
                lines.append(
                    f"| {label} | " + " | ".join(f"{cells[v]:.4f}" if v in cells else "-" for v in values) + " |"
                )
    return lines


if __name__ == "__main__":
    sys.exit(main())
