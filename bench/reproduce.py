"""Reproduce the paper's comparison (Tables I, III-VI, VIII; k-shot and noise studies) on our data.

For each dataset (ml-100k from ../shared/data, and the planted synthetic data) and each seed:
warm-train SASRec, then run every method and baseline on every fold of cold users (each cold
user tested once) and score few-shot, zero-shot and joint test targets; sweep k-shot (1, 3, 5, 7,
all) and profile noise (0 .. 0.9) for finetune, ppr-light, ppr-full and ppr-full without CL, with
the popularity baselines beside them. Seed s also picks split seed s, so the spread over seeds
covers the choice of cold users too. Tables show means with 95% intervals over users, differences
to fine-tuning and Benjamini-Hochberg adjusted p-values (docs/protocol.md), and a verdict per claim
of the paper. Runs are ordinary run folders under --home, computed by the library's one pipeline,
so an interrupted reproduction resumes where it stopped and the sweeps' k=all/r=0 points reuse the
main table's runs.

    python bench/reproduce.py                        # everything (slow on CPU: see --quick)
    python bench/reproduce.py --quick                # 1 seed, short training, small synthetic set
    python bench/reproduce.py --datasets ml-100k --seeds 0,1 --no-sweeps
    python bench/reproduce.py --tables all           # + Table VI (PPR vs fine-tuning on cl4srec, gru4rec and
                                                     # bert4rec), VII (cross-domain), VIII (profile prediction)

Table VII (cross-domain) runs on two-domain versions of the datasets: ml-100k's items cut by genre
(--xd-target, default Drama, is the target domain: one catalogue cut in two, a demo rather than two
services) and the synthetic data generated with two domains (`data synth --domains 2`, a planted taste
that transfers).

Writes bench/out/reproduce.md (tables laid out like the paper's) and reproduce.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pandas as pd

from ppr.data.splits import fold_count
from ppr.data.store import Dataset, Store
from ppr.errors import InputError
from ppr.report.claims import claims
from ppr.report.profile_task import cells as profile_cells
from ppr.report.results import param_shares
from ppr.report.tables import GROUP_LABELS, METRIC_LABELS, NOTES, cell_text, markdown, paper_table, sweep_table
from ppr.runs.folder import RunFolder
from ppr.runs.group import compute_group, groups
from ppr.runs.pipeline import compute
from ppr.spec.run import RunSpec, SplitSpec, TuneSpec, WarmSpec

BASELINES = [("pop", {}), ("pop-profile", {})]
MAIN = [
    *BASELINES,
    ("warm-only", {}),
    ("sasrec", {}),
    ("melu", {}),
    ("gce-gnn", {}),
    ("finetune", {}),
    ("adapter", {}),
    ("ppr-light", {}),
    ("ppr-full", {}),
    ("ppr-full", {"cl": False}),
]
SWEEP = [*BASELINES, ("finetune", {}), ("ppr-light", {}), ("ppr-full", {}), ("ppr-full", {"cl": False})]
BACKBONE_STUDY = [*BASELINES, ("finetune", {}), ("ppr-light", {}), ("ppr-full", {})]  # Table VI, per --backbones
# Table VI's backbones: cl4srec is the paper's; on each, fine-tuning with the profile MLP is also the paper's Table III
# row for that model ("given the same user profiles")
OTHER_BACKBONES = ("cl4srec", "gru4rec", "bert4rec")
CROSS_DOMAIN = [*BASELINES, ("sasrec", {}), ("minet", {}), ("finetune", {}), ("ppr-full", {})]  # Table VII
TABLES = ("main", "k_shot", "noise", "backbone", "profile", "crossdomain")
K_SHOTS: list[int | None] = [1, 3, 5, 7, None]
NOISES = [0.0, 0.1, 0.3, 0.5, 0.7, 0.9]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default="ml-100k,synth", help="comma list of ml-100k, synth")
    p.add_argument("--seeds", default=None, help="comma list (default 0,1,2; --quick: 0)")
    p.add_argument("--quick", action="store_true", help="short training, 1 seed, small synthetic set, short sweeps")
    p.add_argument("--no-sweeps", action="store_true", help="main tables only (the same as --tables main)")
    p.add_argument(
        "--skip-methods",
        default="",
        help="comma list of methods to leave out of every table (e.g. gce-gnn, slow on CPU at max_len 50)",
    )
    p.add_argument(
        "--tables",
        default="main,k_shot,noise",
        help="comma list of " + ", ".join(TABLES) + " or 'all': main = Tables I and III, k_shot and noise = the "
        "sparsity and noise studies, backbone = Table VI (PPR vs fine-tuning on --backbones), profile = Table VIII "
        "(profile prediction from the main table's runs), crossdomain = Table VII (users cold in a target domain)",
    )
    p.add_argument("--xd-target", default="Drama", help="ml-100k genres that form Table VII's target domain")
    p.add_argument(
        "--backbones",
        default=",".join(OTHER_BACKBONES),
        help="comma list of the backbones Table VI runs PPR and fine-tuning on (default: all but sasrec)",
    )
    p.add_argument("--sweep-seeds", default=None, help="seeds that also run the sweeps (default: all --seeds)")
    p.add_argument("--home", default=str(REPO / "cache" / "bench-reproduce"), help="store + runs folder")
    p.add_argument("--ml100k", default=str(REPO / ".." / "shared" / "data" / "ml-100k"), help="RecBole ml-100k folder")
    p.add_argument("--synth-users", type=int, default=None, help="default 20000 (--quick: 2000)")
    p.add_argument("--synth-items", type=int, default=None, help="default 5000 (--quick: 1000)")
    p.add_argument("--warm-epochs", type=int, default=None, help="default warm-training's own, 40 (--quick: 20)")
    p.add_argument("--tune-epochs", type=int, default=None, help="default per method (--quick: 10)")
    p.add_argument(
        "--sasrec-epochs",
        type=int,
        default=None,
        help="cap on the sasrec baseline's epochs (default: the method's, 40)",
    )
    p.add_argument("--folds", type=int, default=None, help="folds of cold users (default: the split's auto rule)")
    p.add_argument(
        "--only-folds",
        default=None,
        help="comma list: compute these folds only, a cost probe (the tables then cover their users alone)",
    )
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default=str(REPO / "bench" / "out"), help="folder for reproduce.md / .json")
    a = p.parse_args(argv)
    q = a.quick
    a.seed_list = [int(s) for s in (a.seeds or ("0" if q else "0,1,2")).split(",")]
    a.sweep_seed_list = [int(s) for s in a.sweep_seeds.split(",")] if a.sweep_seeds else a.seed_list
    a.dataset_list = [d.strip() for d in a.datasets.split(",") if d.strip()]
    a.table_list = list(TABLES) if a.tables == "all" else [t.strip() for t in a.tables.split(",") if t.strip()]
    if a.no_sweeps:
        a.table_list = [t for t in a.table_list if t not in ("k_shot", "noise")]
    a.skipped = {m.strip() for m in a.skip_methods.split(",") if m.strip()}
    a.backbone_list = [b.strip() for b in a.backbones.split(",") if b.strip()]
    if not a.backbone_list or set(a.backbone_list) - set(OTHER_BACKBONES):
        p.error(f"--backbones takes a comma list of {', '.join(OTHER_BACKBONES)}; got {a.backbones!r}")
    a.fold_list = None if a.only_folds is None else [int(f) for f in a.only_folds.split(",")]
    unknown = set(a.table_list) - set(TABLES)
    if unknown or "main" not in a.table_list:
        p.error(f"--tables takes main (always) and any of {', '.join(TABLES[1:])}, or 'all'; got {a.tables!r}")
    a.synth_users = a.synth_users or (2000 if q else 20000)
    a.synth_items = a.synth_items or (1000 if q else 5000)
    a.warm_epochs = a.warm_epochs or (20 if q else WarmSpec().epochs)
    a.tune_epochs = a.tune_epochs or (10 if q else None)
    a.k_shots = [1, None] if q else K_SHOTS
    a.noises = [0.0, 0.5] if q else NOISES
    return a


def get_dataset(store: Store, name: str, a: argparse.Namespace) -> Dataset:
    """The dataset, imported/generated on first use; the synthetic set is stored as synth-<users>-<items>."""
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


def crossdomain_dataset(store: Store, name: str, a: argparse.Namespace) -> Dataset:
    """The two-domain version of a dataset for Table VII: ml-100k cut by genre (--xd-target is the target domain),
    or the synthetic data generated with two domains."""
    if name == "synth":
        store_name = f"synth-xd-{a.synth_users}-{a.synth_items}"
        if not store.versions(store_name):
            from ppr.data.synth import synth_dataset

            synth_dataset(store, store_name, a.synth_users, a.synth_items, mean_len=20, seed=0, log=log, domains=2)
        return store.open(store_name)
    store_name = f"{name}-xd-{a.xd_target.replace(',', '+').replace(' ', '')}"
    if not store.versions(store_name):
        from ppr.data.domains import declare_domains

        declare_domains(store, get_dataset(store, name, a).ref, "category", a.xd_target.split(","), into=store_name)
    return store.open(store_name)


def crossdomain_runs(store: Store, a: argparse.Namespace, name: str, seed: int) -> list[RunFolder]:
    """Every Table VII method on every fold of the two-domain dataset's cross-domain split (target domain 'target')."""
    ds = crossdomain_dataset(store, name, a)
    warm = WarmSpec(seed=seed, epochs=a.warm_epochs, patience=5 if a.quick else 20)
    base = RunSpec(ds.ref, ds.content_hash, SplitSpec(seed=seed, folds=a.folds, target_domain="target"), warm=warm)
    runs = []
    for (method, extra), fold in itertools.product(
        [c for c in CROSS_DOMAIN if c[0] not in a.skipped], fold_range(a, fold_count(ds, base.split))
    ):
        run, reused = compute(
            store, base.tuned(tune_spec(a, method, extra, None, 0.0, seed, fold)), a.device, log, bar=False
        )
        s = run.result()["summary"]["test"]
        log(f"[{name} s{seed} crossdomain fold {fold}] {method:<10} few NDCG@10 {s['few']['ndcg@10']:.4f}")
        runs.append(run)
    return runs


def cells(a: argparse.Namespace, seed: int) -> list[tuple[str, int | None, float, list, str]]:
    """(study, k_shot, noise, methods, backbone): the main table first, then the sweeps (their k=all, r=0 cells
    reuse it), then PPR against fine-tuning on each of --backbones."""
    out = [("main", None, 0.0, MAIN, "sasrec")]
    if seed in a.sweep_seed_list:
        if "k_shot" in a.table_list:
            out += [("k_shot", k, 0.0, SWEEP, "sasrec") for k in a.k_shots]
        if "noise" in a.table_list:
            out += [("noise", None, r, SWEEP, "sasrec") for r in a.noises]
    if "backbone" in a.table_list:
        out += [(f"backbone {kind}", None, 0.0, BACKBONE_STUDY, kind) for kind in a.backbone_list]
    return out


def fold_range(a: argparse.Namespace, folds: int) -> list[int]:
    """The folds to compute: all, or those of --only-folds that the split has."""
    return list(range(folds)) if a.fold_list is None else [f for f in a.fold_list if 0 <= f < folds]


def tune_spec(
    a: argparse.Namespace, method: str, extra: dict, k: int | None, r: float, seed: int, fold: int
) -> TuneSpec:
    epochs = a.sasrec_epochs if method == "sasrec" and a.sasrec_epochs else a.tune_epochs
    patience = 3 if a.quick and a.tune_epochs else None
    return TuneSpec(method=method, k_shot=k, noise=r, seed=seed, fold=fold, epochs=epochs, patience=patience, **extra)


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    store = Store(a.home)
    t_all = time.perf_counter()
    studies: dict[tuple[str, str], list[RunFolder]] = {}
    warm_rows: list[dict[str, Any]] = []
    planned: list[tuple[str, str, RunSpec]] = []  # (dataset, study, run) in table order
    for name in a.dataset_list:
        ds = get_dataset(store, name, a)
        for seed in a.seed_list:
            warm = WarmSpec(seed=seed, epochs=a.warm_epochs, patience=5 if a.quick else WarmSpec().patience)
            sasrec = RunSpec(ds.ref, ds.content_hash, SplitSpec(seed=seed, folds=a.folds), warm=warm)
            folds = fold_count(ds, sasrec.split)
            for study, k, r, methods, kind in cells(a, seed):
                base = dataclasses.replace(sasrec, backbone=dataclasses.replace(sasrec.backbone, kind=kind))
                t0 = time.perf_counter()
                run, reused = compute(store, base, a.device, log, bar=False)
                if kind not in {w["backbone"] for w in warm_rows if w["dataset"] == name and w["seed"] == seed}:
                    warm_rows.append(warm_row(name, seed, kind, run, reused, time.perf_counter() - t0))
                kept = [(m, extra) for m, extra in methods if m not in a.skipped]
                for (method, extra), fold in itertools.product(kept, fold_range(a, folds)):
                    planned.append((name, study, base.tuned(tune_spec(a, method, extra, k, r, seed, fold))))
            if "crossdomain" in a.table_list:
                studies.setdefault((name, "crossdomain"), []).extend(crossdomain_runs(store, a, name, seed))
    compute_all(store, [spec for _, _, spec in planned], a.device)
    for name, study, spec in planned:
        run = RunFolder(store.runs_dir / spec.run_id)
        studies.setdefault((name, study), []).append(run)
        s = run.result()["summary"]["test"]
        t = spec.tune
        log(
            f"[{name} s{t.seed} {study} k={t.k_shot or 'all'} r={t.noise:g} fold {t.fold}] {t.label:<14} zero AUC "
            f"{s['zero']['auc']:.4f} NDCG@10 joint {s['joint']['ndcg@10']:.4f}"
        )
    profiles = profile_tables(store, a, studies) if "profile" in a.table_list else {}
    report = build_report(a, studies, warm_rows, profiles, time.perf_counter() - t_all, store)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "reproduce.md").write_text(report["markdown"])
    (out / "reproduce.json").write_text(
        json.dumps({k: v for k, v in report.items() if k != "markdown"}, indent=2, default=str)
    )
    print(report["markdown"])
    log(f"wrote {out / 'reproduce.md'} and {out / 'reproduce.json'}")
    return 0


def compute_all(store: Store, specs: list[RunSpec], device: str) -> None:
    """Every run of `specs` (a run listed twice is computed once): those that may train together as groups
    (ppr.runs.group), the others one by one; complete runs are reused."""
    unique = list({s.run_id: s for s in specs}.values())
    n_items = {(s.dataset, s.dataset_hash): store.open_exact(s.dataset, s.dataset_hash).n_items for s in unique}
    for members in groups(unique, n_items):
        t0 = time.perf_counter()
        if len(members) > 1:
            compute_group(store, members, device, log)
        else:
            compute(store, members[0], device, lambda _m: None, bar=False)
        label = members[0].tune.label
        log(f"{label}: {len(members)} run(s) computed or reused in {time.perf_counter() - t0:.0f}s")


def profile_tables(store: Store, a: argparse.Namespace, studies: dict) -> dict[tuple[str, str], pd.DataFrame]:
    """(dataset, attribute) -> Table VIII: each attribute predicted from the main table's runs, pooled over folds,
    seeds averaged per user (ppr.report.profile_task)."""
    from ppr.report.profile_task import of_runs

    out = {}
    for (name, study), runs in studies.items():
        if study == "main":
            for attr in [x["name"] for x in get_dataset(store, name, a).attributes]:
                out[(name, attr)] = of_runs(store, runs, attr)
                log(f"[{name}] profile prediction of {attr}: {len(out[(name, attr)])} rows")
    return out


def warm_row(name: str, seed: int, kind: str, run: RunFolder, reused: bool, seconds: float) -> dict[str, Any]:
    result = run.result()
    test = result["summary"]["warm_test"]["joint"]
    log(
        f"[{name} s{seed}] warm {kind} {run.id}: warm_test NDCG@10 {test['ndcg@10']:.4f} "
        f"({'reused' if reused else f'{seconds:.0f}s'})"
    )
    return {
        "dataset": name,
        "backbone": kind,
        "seed": seed,
        "run_id": run.id,
        "epochs": result["epochs_run"],
        "train_seconds": result["seconds"]["train"],
        "warm_test_hit@10": test["hit@10"],
        "warm_test_ndcg@10": test["ndcg@10"],
    }


SAMPLED = ("auc", "hit@10", "ndcg@10", "hit@20", "ndcg@20", "mrr")
FULL = ("full_hit@10", "full_ndcg@10", "full_hit@20", "full_ndcg@20", "full_mrr")


def build_report(
    a: argparse.Namespace, studies: dict, warm_rows: list, profiles: dict, seconds: float, store: Store
) -> dict[str, Any]:
    md = [
        "# PPR reproduction",
        "",
        f"Datasets {', '.join(a.dataset_list)}; seeds {a.seed_list} (seed s also picks split seed s and warm-model "
        f"seed s); sweeps over seeds {[] if a.no_sweeps else a.sweep_seed_list}; "
        f"{'QUICK mode (short training) ' if a.quick else ''}warm epochs <= {a.warm_epochs}, tuning epochs <= "
        f"{a.tune_epochs or 'method default'}, sasrec epochs <= {a.sasrec_epochs or 'method default'}"
        + (f"; synthetic: {a.synth_users} users, {a.synth_items} items" if "synth" in a.dataset_list else "")
        + (f"; ONLY folds {a.fold_list} (a cost probe: their cold users alone)" if a.fold_list is not None else "")
        + ". Every cold user is tested once over the folds; a user counts once (their targets' mean, averaged over "
        "seeds). Cells: mean [95% bootstrap interval over users]; * = Benjamini-Hochberg adjusted p < 0.05 "
        "(Wilcoxon signed-rank over users against finetune, adjusted across every comparison of the table's study). "
        f"Wall time of this invocation {seconds / 60:.1f} min (reused runs cost ~0).",
        "",
        "## Warmed backbones (warm users' leave-one-out test)",
        "",
    ]
    warm = pd.DataFrame(warm_rows)
    if len(warm):
        agg = warm.groupby(["dataset", "backbone"])[
            ["warm_test_hit@10", "warm_test_ndcg@10", "epochs", "train_seconds"]
        ].mean()
        md.append(markdown(agg.round(4).reset_index()))
    out: dict[str, Any] = {"settings": vars(a), "warm": warm_rows}
    for (name, study), runs in studies.items():
        table = sweep_table(runs)
        out[f"{name}/{study}"] = table.to_dict("records")
        if study == "crossdomain":
            md += crossdomain_lines(store, name, table, runs)
            continue
        if study == "main" or study.startswith("backbone"):
            if study != "main":
                kind = study.split()[1]
                md += [
                    "",
                    f"## {name}: PPR vs fine-tuning on the {kind} backbone (Table VI; its finetune row is the paper's "
                    f"Table III row for {kind}, given the profiles)",
                ]
            for group, title in GROUP_LABELS.items():
                for ranking, metrics in (("sampled", SAMPLED), ("full catalogue", FULL)):
                    md += [
                        "",
                        f"## {name}: {title} test targets, {ranking} ranking",
                        "",
                        markdown(paper_table(table, "all", 0.0, group, metrics=metrics)),
                    ]
            if study == "main":
                md += ["", f"## {name}: tuned parameters (Table I)", "", markdown(param_shares(runs))]
        else:
            md += ["", f"## {name}: {study.replace('_', '-')} sweep", ""]
            md += sweep_lines(table, "k" if study == "k_shot" else "noise")
        md += ["", f"### {name}, {study}: the paper's claims", ""]
        for metric in ("ndcg@10", "full_ndcg@10"):
            found = pd.DataFrame([vars(c) for c in claims(table, metric)])
            md.append(markdown(found[found["verdict"] != "not tested"]))
            md.append("")
    for (name, attr), table in profiles.items():
        out[f"{name}/profile/{attr}"] = table.to_dict("records")
        md += ["", f"## {name}: predicting {attr!r} from clicks (Table VIII)", "", markdown(profile_cells(table))]
    md += ["", *[f"- {n}" for n in NOTES]]
    out["markdown"] = "\n".join(md) + "\n"
    return out


def crossdomain_lines(store: Store, name: str, table: pd.DataFrame, runs: list[RunFolder]) -> list[str]:
    """Table VII of one dataset: per target group, each method on the target domain's cold users (sampled and
    whole-catalogue ranking), what it reads, PPR's verdicts against fine-tuning and minet, and the note on domains
    cut from one catalogue."""
    from ppr.report.crossdomain import NOTES as XD_NOTES
    from ppr.report.crossdomain import derived_note, ppr_verdicts, table_vii

    lines = []
    for group, title in GROUP_LABELS.items():
        for ranking in ("sampled", "full"):
            lines += ["", f"## {name}: cross-domain, {title} test targets, {ranking} ranking (Table VII)", ""]
            lines.append(markdown(table_vii(table, group, ranking)))
            verdicts = ppr_verdicts(table, group, ranking)
            if len(verdicts):
                lines += ["", f"Does PPR beat its rivals ({title}, {ranking})?", "", markdown(verdicts)]
    notes = [*XD_NOTES, derived_note(store, runs[0].spec().dataset) or ""]
    return [*lines, "", *[f"- {n}" for n in notes if n]]


def sweep_lines(table: pd.DataFrame, axis: str) -> list[str]:
    """One markdown table per target group and metric: methods x settings of the swept axis, mean [interval]."""
    lines = []
    for group in ("zero", "few", "joint"):
        for metric in ("ndcg@10", "full_ndcg@10"):
            sub = table[(table["group"] == group) & (table["metric"] == metric)]
            if len(sub):
                cells = sub.assign(text=[cell_text(r) for _, r in sub.iterrows()])
                wide = cells.pivot_table(index="label", columns=axis, values="text", aggfunc="first", sort=False)
                lines += ["", f"{GROUP_LABELS[group]} {METRIC_LABELS[metric]}:", "", markdown(wide.reset_index())]
    return lines


if __name__ == "__main__":
    sys.exit(main())
