"""Comparison tables of a set of tuning runs: per (k-shot, noise) cell, mean and spread over seeds,
relative change vs fine-tuning and the paired p-value; the paper-style methods x metrics table.

`sweep_table` is the long table every view starts from (`python -m ppr report`, the Compare
page, bench/reproduce.py); `paper_table` pivots one cell of it; `render` prints it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ppr.report.results import load_scores, split_label
from ppr.report.significance import BASELINE, TABLE_METRICS, aggregate, paired_tests
from ppr.runs.folder import RunFolder

REPORT_METRICS = ("ndcg@10", "hit@10", "auc")
COLUMNS = [
    "k",
    "noise",
    "label",
    "method",
    "ablation",
    "group",
    "metric",
    "mean",
    "std",
    "n_seeds",
    "rel_vs_finetune",
    "p_value",
]
METRIC_LABELS = {"auc": "AUC", **{f"{m}@{k}": f"{m.upper()}@{k}" for m in ("hit", "ndcg") for k in (5, 10, 20, 50)}}
GROUP_LABELS = {"few": "few-shot", "zero": "zero-shot", "joint": "joint"}


def k_order(k: Any) -> float:
    """Sort key for k-shot values: numbers ascending, 'all' last."""
    try:
        return float(k)
    except (TypeError, ValueError):
        return float("inf")


def sweep_table(runs: Iterable[RunFolder], metrics: Sequence[str] = TABLE_METRICS) -> pd.DataFrame:
    """COLUMNS over the complete tuning runs' test targets, one block per (k, noise), k ordered numerically."""
    scores = load_scores(runs)
    parts = []
    for (k, noise), sub in scores.groupby(["k", "noise"], sort=False):
        agg = aggregate(sub, metrics)
        has_base = (sub["label"] == BASELINE).any()
        tests = paired_tests(sub, BASELINE, metrics) if has_base else pd.DataFrame()
        if len(tests):
            agg = agg.merge(tests[["label", "group", "metric", "p_value"]], on=["label", "group", "metric"], how="left")
        else:
            agg["p_value"] = np.nan
        base = agg[agg["label"] == BASELINE].set_index(["group", "metric"])["mean"]
        keys = list(zip(agg["group"], agg["metric"], strict=True))
        agg["rel_vs_finetune"] = [
            m / base[key] - 1 if key in base.index and base[key] else np.nan
            for m, key in zip(agg["mean"], keys, strict=True)
        ]
        parts.append(agg.assign(k=str(k), noise=float(noise)))
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    table = pd.concat(parts, ignore_index=True)
    table["method"] = [split_label(x)[0] for x in table["label"]]
    table["ablation"] = [split_label(x)[1] for x in table["label"]]
    table = table.sort_values(["k", "noise"], key=lambda s: s.map(k_order) if s.name == "k" else s, kind="stable")
    return table[COLUMNS].reset_index(drop=True)


def cell_text(mean: float, std: float, n_seeds: int, p: float | None, alpha: float) -> str:
    """'mean ± std' (std over seeds when there are several), '*' when p < alpha."""
    txt = f"{mean:.4f}" + (f" ± {std:.4f}" if n_seeds > 1 else "")
    if p is not None and not pd.isna(p) and p < alpha:
        txt += "*"
    return txt


def paper_table(table: pd.DataFrame, k: str, noise: float, group: str, alpha: float = 0.05) -> pd.DataFrame:
    """Methods x metrics for one (k, noise, group); fine-tuning first; '*' = p < alpha vs fine-tuning."""
    part = table[(table["k"] == str(k)) & (table["noise"] == noise) & (table["group"] == group)]
    metrics = list(dict.fromkeys(part["metric"]))
    rows = []
    for label, sub in part.groupby("label", sort=False):
        by = sub.set_index("metric")
        row = {"method": label}
        for m in metrics:
            r = by.loc[m]
            row[METRIC_LABELS.get(m, m)] = cell_text(r["mean"], r["std"], int(r["n_seeds"]), r["p_value"], alpha)
        rows.append(row)
    out = pd.DataFrame(rows, columns=["method", *[METRIC_LABELS.get(m, m) for m in metrics]])
    first = out["method"].map(lambda x: 0 if x == BASELINE else 1)
    return out.iloc[np.argsort(first.to_numpy(), kind="stable")].reset_index(drop=True)


def markdown(df: pd.DataFrame) -> str:
    """A DataFrame as a GitHub markdown table (text left, numbers right)."""
    right = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    lines = [
        "| " + " | ".join(map(str, df.columns)) + " |",
        "|" + "|".join("---:" if r else "---" for r in right) + "|",
    ]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def render(table: pd.DataFrame, fmt: str = "md", title: str = "Report", summary: dict[str, Any] | None = None) -> str:
    """The report as markdown (one table per target group), CSV or JSON (`summary` rides along in JSON)."""
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        return json.dumps({"summary": summary or {}, "rows": table.to_dict("records")}, indent=2, default=str)
    lines = [
        f"# {title}",
        "",
        f"Test targets; mean ± std over seeds; Δ = relative change vs {BASELINE}; "
        f"p = paired t-test vs {BASELINE} (targets pooled over seeds).",
    ]
    if table.empty:
        return "\n".join([*lines, "", "No finished tuning runs yet."]) + "\n"
    for group in ("joint", "few", "zero"):
        part = table[(table["group"] == group) & table["metric"].isin(REPORT_METRICS)]
        if part.empty:
            continue
        head = " | ".join(f"{METRIC_LABELS[m]} | Δ | p" for m in REPORT_METRICS)
        lines += [
            "",
            f"## {GROUP_LABELS[group]} test targets",
            "",
            f"| k | noise | method | {head} |",
            "|---|---:|---|" + "---:|---:|---:|" * len(REPORT_METRICS),
        ]
        for (k, noise, label), sub in part.groupby(["k", "noise", "label"], sort=False):
            lines.append(f"| {k} | {noise:g} | {label} | " + " | ".join(_report_cells(sub, label)) + " |")
    return "\n".join(lines) + "\n"


def _report_cells(sub: pd.DataFrame, label: str) -> list[str]:
    by = sub.set_index("metric")
    cells = []
    for m in REPORT_METRICS:
        if m not in by.index:
            cells += ["-", "-", "-"]
            continue
        r = by.loc[m]
        rel = "" if label == BASELINE or pd.isna(r["rel_vs_finetune"]) else f"{100 * r['rel_vs_finetune']:+.1f}%"
        p = "" if pd.isna(r["p_value"]) else f"{r['p_value']:.3g}"
        cells += [cell_text(r["mean"], r["std"], int(r["n_seeds"]), None, 0.0), rel, p]
    return cells
