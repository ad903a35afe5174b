"""Who gains: each method's difference to a baseline, broken down by cohort of test users.

A cohort is a value of a profile attribute (the user's stored value, before any profile noise a
run adds) or the number of clicks the model read before a target (0 = zero-shot, 1, 2-4, 5-9,
10+). For a user attribute a user is in one cohort; for history a user's targets spread over
several cohorts, and each cohort's figures use that user's targets in it. Within a cohort the
figures are those of the whole table (significance.compare on the joint targets): per-user means,
95% bootstrap intervals over users, Wilcoxon by user; p-values are adjusted (Benjamini-Hochberg)
across every row a table shows. A cohort of fewer than MIN_USERS users is flagged `small`: its
interval is wide and its test weak, so it says little either way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from ppr.data.splits import planned_split
from ppr.data.store import Store
from ppr.errors import InputError
from ppr.log import Log, to_stderr
from ppr.report.results import load_scores
from ppr.report.significance import ALPHA, BASELINE, adjust, compare
from ppr.report.tables import METRIC_LABELS, k_order, markdown
from ppr.runs.folder import RunFolder

HISTORY, ATTRIBUTE = "history", "attribute"
HISTORY_BINS = ((0, 0, "0 clicks"), (1, 1, "1 click"), (2, 4, "2-4 clicks"), (5, 9, "5-9 clicks"))
HISTORY_REST = "10+ clicks"
MIN_USERS = 20
COLUMNS = [
    "by",
    "cohort",
    "k",
    "noise",
    "label",
    "metric",
    "mean",
    "ci_low",
    "ci_high",
    "n_users",
    "diff",
    "diff_low",
    "diff_high",
    "p_wilcoxon",
    "p_adj",
    "significant",
    "seeds_agree",
    "n_seeds",
    "small",
]


def history_cohort(seen: np.ndarray) -> np.ndarray:
    """The HISTORY_BINS label of each number of clicks read before a target."""
    out = np.full(len(seen), HISTORY_REST, dtype=object)
    for lo, hi, label in reversed(HISTORY_BINS):
        out[(seen >= lo) & (seen <= hi)] = label
    return out


def clicks_seen(store: Store, scores: pd.DataFrame) -> np.ndarray:
    """How many clicks the model read before each target of `scores` (per run: min(position, k, max_len))."""
    seen = np.zeros(len(scores), np.int64)
    positions: dict[tuple, pd.Series] = {}
    for run_id, rows in scores.groupby("run_id", sort=False).indices.items():
        spec = RunFolder(store.runs_dir / str(run_id)).spec()
        key = (spec.dataset, spec.dataset_hash, spec.split, spec.tune.fold)
        if key not in positions:
            split = planned_split(store.open_exact(spec.dataset, spec.dataset_hash), spec.split, spec.tune.fold)
            positions[key] = split.targets.set_index("target_id")["pos"]
        pos = positions[key].loc[scores["target_id"].to_numpy()[rows]].to_numpy(np.int64)
        window = spec.backbone.max_len if spec.tune.k_shot is None else min(spec.backbone.max_len, spec.tune.k_shot)
        seen[rows] = np.minimum(pos, window)
    return seen


def cohort_of(store: Store, scores: pd.DataFrame, by: str, attributes: list[dict], codes: np.ndarray) -> np.ndarray:
    """Each target's cohort: its history bin (by='history') or its user's value of attribute `by`."""
    if by == HISTORY:
        return history_cohort(clicks_seen(store, scores))
    names = [a["name"] for a in attributes]
    j = names.index(by)
    values = np.asarray(attributes[j]["values"], dtype=object)
    return values[codes[scores["user"].to_numpy(np.int64), j]]


def cohorts_of_runs(
    store: Store,
    runs: Iterable[RunFolder],
    by: str,
    metrics: Sequence[str],
    baseline: str = BASELINE,
    warn: Log | None = to_stderr,
) -> pd.DataFrame:
    """COLUMNS of the complete tuning runs among `runs` by `by`: 'history', an attribute's name, or 'attribute'
    (every attribute, one after the other; p-values adjusted across them all)."""
    scores = load_scores(runs, warn=warn)
    if scores.empty:
        return pd.DataFrame(columns=COLUMNS)
    first = RunFolder(store.runs_dir / str(scores["run_id"].iloc[0])).spec()
    ds = store.open_exact(first.dataset, first.dataset_hash)
    names = [a["name"] for a in ds.attributes]
    wanted = names if by == ATTRIBUTE else [by]
    unknown = [b for b in wanted if b != HISTORY and b not in names]
    if unknown or not wanted:
        raise InputError(
            f"Cannot break results down by {by!r}: expected {HISTORY!r}, {ATTRIBUTE!r} (every attribute) or an "
            f"attribute of {ds.ref} ({', '.join(names) or 'it has none'})."
        )
    codes = ds.attribute_codes() if by != HISTORY else None
    parts = [
        cohort_table(scores, cohort_of(store, scores, b, ds.attributes, codes), b, metrics, baseline) for b in wanted
    ]
    table = pd.concat(parts, ignore_index=True)
    table["p_adj"] = adjust(table["p_wilcoxon"])
    table["significant"] = table["p_adj"] < ALPHA
    return table


def cohort_table(
    scores: pd.DataFrame, cohorts: np.ndarray, by: str, metrics: Sequence[str], baseline: str = BASELINE
) -> pd.DataFrame:
    """COLUMNS per (k, noise, cohort, method, metric) vs `baseline`: on the joint targets of a user cohort; a
    history cohort holds zero-shot targets (0 clicks) or few-shot ones, so methods that read clicks only show
    in the few-shot ones."""
    parts = []
    scores = scores.assign(cohort=cohorts)
    for (k, noise, cohort), sub in scores.groupby(["k", "noise", "cohort"], sort=False):
        group = "joint" if by != HISTORY else "zero" if cohort == HISTORY_BINS[0][2] else "few"
        part = compare(sub, metrics, baseline)
        part = part[part["group"] == group]
        parts.append(part.assign(by=by, cohort=cohort, k=str(k), noise=float(noise)))
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    table = pd.concat(parts, ignore_index=True)
    table["p_adj"] = adjust(table["p_wilcoxon"])
    table["significant"] = table["p_adj"] < ALPHA
    table["small"] = table["n_users"] < MIN_USERS
    order = {label: i for i, (_, _, label) in enumerate(HISTORY_BINS)} | {HISTORY_REST: len(HISTORY_BINS)}
    table["_order"] = [order.get(c, 0) for c in table["cohort"]]
    table = table.sort_values(["k", "noise", "_order", "cohort"], key=_k_first, kind="stable")
    return table[COLUMNS].reset_index(drop=True)


def _k_first(col: pd.Series) -> pd.Series:
    return col.map(k_order) if col.name == "k" else col


def render_cohorts(table: pd.DataFrame, fmt: str, title: str, metric: str, baseline: str = BASELINE) -> str:
    """The cohort view as markdown (one table per cell and breakdown: a row per cohort, a column per method),
    CSV or JSON (every metric)."""
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        return json.dumps({"rows": table.to_dict("records")}, indent=2, default=str)
    name = METRIC_LABELS.get(metric, metric)
    lines = [
        f"# {title}",
        "",
        f"Who gains: per cohort, {name} of {baseline} [95% interval over users] and each method's mean per-user "
        f"difference to it [interval], p: Wilcoxon by user, Benjamini-Hochberg adjusted across the "
        f"{int(table['p_adj'].notna().sum())} comparisons of this view; * = adjusted p < {ALPHA}. Cohorts of fewer "
        f"than {MIN_USERS} users are marked (few users): they say little either way.",
    ]
    if table.empty:
        return "\n".join([*lines, "", "No finished tuning runs yet."]) + "\n"
    shown = table[table["metric"] == metric]
    for (k, noise, by), cell in shown.groupby(["k", "noise", "by"], sort=False):
        lines += ["", f"## k={k}, noise {noise:g}: by {by}", "", markdown(_cohort_rows(cell, baseline))]
    return "\n".join(lines) + "\n"


def _cohort_rows(cell: pd.DataFrame, baseline: str) -> pd.DataFrame:
    rows = []
    for cohort, part in cell.groupby("cohort", sort=False):
        by_label = part.set_index("label")
        n = int(part["n_users"].max())
        row = {"cohort": f"{cohort} (few users)" if n < MIN_USERS else str(cohort), "users": n}
        if baseline in by_label.index:
            b = by_label.loc[baseline]
            row[baseline] = f"{b['mean']:.4f} [{b['ci_low']:.4f}, {b['ci_high']:.4f}]"
        for label, r in by_label.drop(index=baseline, errors="ignore").iterrows():
            row[f"Δ {label}"] = (
                ""
                if pd.isna(r["diff"])
                else f"{r['diff']:+.4f} [{r['diff_low']:+.4f}, {r['diff_high']:+.4f}] p={r['p_adj']:.2g}"
                + ("*" if r["significant"] else "")
            )
        rows.append(row)
    return pd.DataFrame(rows).fillna("n/a")
