"""Comparison tables of a set of tuning runs: per (k-shot, noise) cell, each method's mean with its 95%
interval over users, the difference to fine-tuning with its interval, Wilcoxon and t-test p-values,
Benjamini-Hochberg adjusted across the whole table, and how many seeds agree.

`sweep_table` is the long table every view starts from (`python -m ppr report`, the Compare page,
bench/reproduce.py); `paper_table` pivots one cell of it; `render` prints it. Folds pool: each
cold user is tested in one fold, so a cell's users are all the cold users.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ppr.log import Log, to_stderr
from ppr.report.results import load_scores, split_label
from ppr.report.significance import ALPHA, BASELINE, FULL_METRICS, TABLE_METRICS, adjust, compare
from ppr.report.significance import COLUMNS as COMPARED
from ppr.runs.folder import RunFolder
from ppr.spec.run import COUNTED, NO_ZERO_SHOT

RANKINGS = {"sampled": TABLE_METRICS, "full": FULL_METRICS, "both": TABLE_METRICS + FULL_METRICS}
REPORT_METRICS = {"sampled": ("ndcg@10", "hit@10", "auc"), "full": ("full_ndcg@10", "full_hit@10", "full_mrr")}
# the significance columns, keyed by the cell and the method's ablation, with the table-wide adjustment
COLUMNS = ["k", "noise", "label", "method", "ablation", *COMPARED[1:], "rel_vs_finetune", "p_adj", "significant"]
METRIC_LABELS = {"auc": "AUC", "mrr": "MRR", "full_mrr": "MRR (full)"} | {
    f"{p}{m}@{k}": f"{m.upper()}@{k}" + (" (full)" if p else "")
    for p in ("", "full_")
    for m in ("hit", "ndcg")
    for k in (5, 10, 20, 50)
}
GROUP_LABELS = {"few": "few-shot", "zero": "zero-shot", "joint": "joint"}
GROUPS_SHOWN = ("joint", "few", "zero")
NOTES = (
    f"{', '.join(NO_ZERO_SHOT)} read clicks only: a user without clicks gets no score from them, so their zero-shot "
    "and joint cells are n/a.",
    "A method whose scores were imported without zero-shot ones (`python -m ppr scores import`) is n/a there and in "
    "joint too; imported scores rank the sampled candidates only, so their full-catalogue cells are n/a.",
    f"{', '.join(COUNTED)}: popularity among the clicks a method may see (warm users' training clicks and the "
    "tuning users'); pop-profile conditions it on every profile attribute (naive Bayes).",
)


def k_order(k: Any) -> float:
    """Sort key for k-shot values: numbers ascending, 'all' last."""
    try:
        return float(k)
    except (TypeError, ValueError):
        return float("inf")


def sweep_table(
    runs: Iterable[RunFolder], metrics: Sequence[str] = RANKINGS["both"], warn: Log | None = to_stderr
) -> pd.DataFrame:
    """COLUMNS over the complete tuning runs' test targets, one block per (k, noise), k ordered numerically;
    p_adj is Benjamini-Hochberg over every row of the table that has a p-value. Damaged runs: left out, `warn`ed."""
    scores = load_scores(runs, warn=warn)
    parts = []
    for (k, noise), sub in scores.groupby(["k", "noise"], sort=False):
        part = compare(sub, metrics)
        base = part[part["label"] == BASELINE].set_index(["group", "metric"])["mean"]
        keys = list(zip(part["group"], part["metric"], strict=True))
        part["rel_vs_finetune"] = [
            m / base[key] - 1 if key in base.index and base[key] else np.nan
            for m, key in zip(part["mean"], keys, strict=True)
        ]
        parts.append(part.assign(k=str(k), noise=float(noise)))
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    table = pd.concat(parts, ignore_index=True)
    table["method"] = [split_label(x)[0] for x in table["label"]]
    table["ablation"] = [split_label(x)[1] for x in table["label"]]
    table["p_adj"] = adjust(table["p_wilcoxon"])
    table["significant"] = table["p_adj"] < ALPHA
    table = table.sort_values(["k", "noise"], key=lambda s: s.map(k_order) if s.name == "k" else s, kind="stable")
    return table[COLUMNS].reset_index(drop=True)


def cell_text(row: pd.Series | None, alpha: float = ALPHA) -> str:
    """'mean [low, high]' (95% interval over users), '*' when the BH-adjusted p vs fine-tuning is below alpha."""
    if row is None:
        return "n/a"
    txt = f"{row['mean']:.4f} [{row['ci_low']:.4f}, {row['ci_high']:.4f}]"
    return txt + ("*" if pd.notna(row["p_adj"]) and row["p_adj"] < alpha else "")


def setting_rows(table: pd.DataFrame, k: str | int | None, noise: float) -> pd.DataFrame:
    """The rows of a long table (sweep_table's columns k and noise) at one k-shot (its text, as the table keeps it)
    and noise rate."""
    return table[(table["k"] == str(k)) & (table["noise"] == noise)]


def paper_table(
    table: pd.DataFrame, k: str, noise: float, group: str, alpha: float = ALPHA, metrics: Sequence[str] | None = None
) -> pd.DataFrame:
    """Methods x metrics for one (k, noise, group): fine-tuning first, popularity next; n/a where a method
    cannot score the group; '*' = BH-adjusted p < alpha vs fine-tuning."""
    cell = setting_rows(table, k, noise)
    metrics = list(metrics or dict.fromkeys(cell["metric"]))
    part = cell[cell["group"] == group].set_index(["label", "metric"])
    labels = sorted(dict.fromkeys(cell["label"]), key=lambda x: (x != BASELINE, x not in COUNTED))
    rows = [
        {
            "method": label,
            **{
                METRIC_LABELS.get(m, m): cell_text(part.loc[(label, m)] if (label, m) in part.index else None, alpha)
                for m in metrics
            },
        }
        for label in labels
    ]
    return pd.DataFrame(rows, columns=["method", *[METRIC_LABELS.get(m, m) for m in metrics]])


def markdown(df: pd.DataFrame) -> str:
    """A DataFrame as a GitHub markdown table (text left, numbers right)."""
    right = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    lines = [
        "| " + " | ".join(map(str, df.columns)) + " |",
        "|" + "|".join("---:" if r else "---" for r in right) + "|",
    ]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def render(
    table: pd.DataFrame,
    fmt: str = "md",
    title: str = "Report",
    summary: dict[str, Any] | None = None,
    ranking: str = "both",
) -> str:
    """The report as markdown (one table per cell and target group), CSV or JSON (`summary` rides along)."""
    table = table[table["metric"].isin(RANKINGS[ranking])]
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        return json.dumps({"summary": summary or {}, "rows": table.to_dict("records")}, indent=2, default=str)
    lines = [f"# {title}", "", explanation(table)]
    if table.empty:
        return "\n".join([*lines, "", "No finished tuning runs yet."]) + "\n"
    shown = [m for r in ("sampled", "full") if ranking in (r, "both") for m in REPORT_METRICS[r]]
    for (k, noise), cell in table.groupby(["k", "noise"], sort=False):
        for group in GROUPS_SHOWN:
            lines += ["", f"## k={k}, noise {noise:g}: {GROUP_LABELS[group]} test targets", ""]
            lines.append(markdown(comparison_rows(cell, group, shown)))
    lines += ["", *[f"- {n}" for n in NOTES]]
    return "\n".join(lines) + "\n"


def explanation(table: pd.DataFrame) -> str:
    """What every number of the report is, in one paragraph."""
    users = int(table["n_users"].max()) if len(table) else 0
    seeds = int(table["n_seeds"].max()) if len(table) else 0
    return (
        f"Test targets of up to {users} cold users, {seeds} seed(s). Each user counts once: the mean of their "
        f"targets, averaged over seeds. Cells: mean [95% bootstrap interval over users]; Δ: mean per-user "
        f"difference to {BASELINE} [interval]; p: Wilcoxon signed-rank over users, Benjamini-Hochberg adjusted "
        f"across all {int(table['p_adj'].notna().sum())} comparisons of this report; * = adjusted p < {ALPHA}; "
        "seeds: how many seeds give a difference of the same sign."
    )


def comparison_rows(cell: pd.DataFrame, group: str, metrics: Sequence[str]) -> pd.DataFrame:
    """One row per method of a cell: per metric its mean [interval], and vs fine-tuning Δ [interval], p, seeds."""
    part = cell[cell["group"] == group].set_index(["label", "metric"])
    labels = sorted(dict.fromkeys(cell["label"]), key=lambda x: (x != BASELINE, x not in COUNTED))
    rows = []
    for label in labels:
        row = {"method": label}
        for m in metrics:
            r = part.loc[(label, m)] if (label, m) in part.index else None
            name = METRIC_LABELS.get(m, m)
            row[name] = cell_text(r)
            row[f"Δ {name}"] = "" if r is None or label == BASELINE else _delta(r)
        rows.append(row)
    return pd.DataFrame(rows)


def _delta(r: pd.Series) -> str:
    if pd.isna(r["diff"]):
        return ""
    return (
        f"{r['diff']:+.4f} [{r['diff_low']:+.4f}, {r['diff_high']:+.4f}] p={r['p_adj']:.2g}"
        f"{'*' if r['significant'] else ''} seeds {r['seeds_agree']}"
    )
