"""`report SWEEP`: per (k-shot, noise) cell, mean and spread over seeds, change vs fine-tuning, paired p.

Builds on ppr.eval.compare: `aggregate` (mean/std over seeds of each seed's mean)
and `paired_tests` (targets paired by seed and target id against finetune), run
separately for every (k, noise) setting of the sweep's test targets.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from ppr.data.store import Store
from ppr.eval.compare import aggregate, collect_scores, paired_tests
from ppr.jobs.status import read_status
from ppr.jobs.sweep import read_sweep
from ppr.runs import Run

METRICS = ("ndcg@10", "hit@10", "auc")
BASELINE = "finetune"
COLUMNS = ["k", "noise", "label", "group", "metric", "mean", "std", "n_seeds", "rel_vs_finetune", "p_value"]


def sweep_table(store: Store, sid: str, metrics: tuple[str, ...] = METRICS) -> tuple[dict[str, Any], pd.DataFrame]:
    """(sweep summary, long table with COLUMNS) over the sweep's finished tuning runs."""
    sweep = read_sweep(store, sid)
    cells = pd.DataFrame(sweep["cells"])
    done = [r for r in cells["run_id"] if read_status(store.runs_dir / r)["state"] == "done"]
    if not done:
        return sweep, pd.DataFrame(columns=COLUMNS)
    scores = collect_scores([Run(store.runs_dir / r) for r in done])
    scores = scores[scores["group"] == "test"].merge(cells[["run_id", "k"]].astype({"k": str}), on="run_id")
    scores = scores.merge(cells[["run_id", "noise"]], on="run_id")
    parts = []
    for (k, noise), sub in scores.groupby(["k", "noise"], sort=False):
        agg = aggregate(sub, metrics)
        tests = paired_tests(sub, BASELINE, metrics) if (sub["label"] == BASELINE).any() else None
        if tests is not None and len(tests):
            agg = agg.merge(tests[["label", "group", "metric", "p_value"]], on=["label", "group", "metric"], how="left")
        else:
            agg["p_value"] = np.nan
        base = agg[agg["label"] == BASELINE].set_index(["group", "metric"])["mean"]
        keys = list(zip(agg["group"], agg["metric"]))
        agg["rel_vs_finetune"] = [m / base[key] - 1 if key in base.index and base[key] else np.nan
                                  for m, key in zip(agg["mean"], keys)]  # fmt: skip
        parts.append(agg.assign(k=k, noise=noise))
    return sweep, pd.concat(parts, ignore_index=True)[COLUMNS]


def render(store: Store, sid: str, fmt: str = "md") -> str:
    sweep, table = sweep_table(store, sid)
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        summary = {k: sweep[k] for k in ("id", "dataset", "state", "counts", "progress", "grid")}
        return json.dumps({"sweep": summary, "rows": table.to_dict("records")}, indent=2, default=str)
    return _markdown(sweep, table)


def _fmt(mean: float, std: float, n: int) -> str:
    return f"{mean:.4f}" + (f" ± {std:.4f}" if n > 1 else "")


def _markdown(sweep: dict[str, Any], table: pd.DataFrame) -> str:
    c = sweep["counts"]
    lines = [
        f"# Sweep {sweep['id']} ({sweep['dataset']})",
        "",
        f"State {sweep['state']}: {c['done']} of {len(sweep['runs'])} runs done, {c['failed']} failed, "
        f"{c['cancelled']} cancelled, {c['queued'] + c['running']} to go. Test targets; mean ± std over seeds; "
        f"Δ = relative change vs {BASELINE}; p = paired t-test vs {BASELINE} (targets pooled over seeds).",
    ]
    if table.empty:
        return "\n".join(lines + ["", "No finished tuning runs yet."]) + "\n"
    for group in ("joint", "few", "zero"):
        part = table[table["group"] == group]
        if part.empty:
            continue
        head = " | ".join(f"{m.upper()} | Δ | p" for m in METRICS)
        lines += ["", f"## {group} test targets", "", f"| k | noise | method | {head} |",
                  "|---|---:|---|" + "---:|---:|---:|" * len(METRICS)]  # fmt: skip
        for (k, noise, label), sub in part.groupby(["k", "noise", "label"], sort=False):
            by = sub.set_index("metric")
            cells = []
            for m in METRICS:
                if m not in by.index:
                    cells += ["-", "-", "-"]
                    continue
                r = by.loc[m]
                rel = "" if label == BASELINE or pd.isna(r["rel_vs_finetune"]) else f"{100 * r['rel_vs_finetune']:+.1f}%"
                p = "" if pd.isna(r["p_value"]) else f"{r['p_value']:.3g}"
                cells += [_fmt(r["mean"], r["std"], int(r["n_seeds"])), rel, p]
            lines.append(f"| {k} | {noise:g} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
