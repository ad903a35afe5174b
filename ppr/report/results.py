"""Results of finished runs as tables: per-target scores and per-run summaries, tagged with their settings.

Every comparison (report, Compare page, benches) starts from `load_scores`: the per-target
scores each run kept (scores.parquet), one row per target, with the run's method, label,
ablation, k-shot, noise and seed from its spec. Summaries come from the run's metrics.json.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ppr.log import Log, to_stderr
from ppr.runs.folder import RunFolder, readable, spec_summary
from ppr.spec.run import ABLATION_TAGS

SETTING_COLUMNS = ["run_id", "method", "label", "ablation", "k", "noise", "seed"]


def split_label(label: str) -> tuple[str, str]:
    """'ppr-light-nocl' -> ('ppr-light', 'nocl'); 'finetune' -> ('finetune', 'none')."""
    parts = str(label).split("-")
    tags = [p for p in parts if p in ABLATION_TAGS]
    return "-".join(p for p in parts if p not in ABLATION_TAGS), "-".join(tags) or "none"


def settings_row(run: RunFolder) -> dict[str, object]:
    """The run's identifying settings as table columns (k as text: 'all' or the number)."""
    s = spec_summary(run.info())
    return {
        "run_id": run.id,
        "method": s["method"],
        "label": s["label"],
        "ablation": split_label(s["label"])[1],
        "k": s["k"],
        "noise": s["noise"],
        "seed": s["seed"],
    }


def load_scores(runs: Iterable[RunFolder], eval_set: str = "test", warn: Log | None = to_stderr) -> pd.DataFrame:
    """Per-target scores of the complete tuning runs among `runs` for one evaluated set, with SETTING_COLUMNS.

    A damaged run (ppr.runs.folder.readable) is left out with a one-line warning to `warn`.
    """
    parts = []
    for run in readable(runs, warn):
        if not run.is_complete or spec_summary(run.info())["kind"] != "tune":
            continue
        df = run.scores()
        parts.append(df[df["group"] == eval_set].assign(**settings_row(run)))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=SETTING_COLUMNS)


def param_shares(runs: Iterable[RunFolder]) -> pd.DataFrame:
    """Per label: trained parameters and their share of fine-tuning's (first complete run of each label)."""
    rows, seen = [], set()
    for run in runs:
        if not run.is_complete:
            continue
        label, params = settings_row(run)["label"], run.result().get("params") or {}
        if label in seen or "tuned" not in params:
            continue
        seen.add(label)
        rows.append(
            {
                "method": label,
                "tuned parameters": int(params["tuned"]),
                "fine-tuning parameters": int(params.get("finetune") or 0),
                "share of fine-tuning": float(params.get("share_of_finetune") or 0.0),
            }
        )
    return pd.DataFrame(rows, columns=["method", "tuned parameters", "fine-tuning parameters", "share of fine-tuning"])


def summary_rows(runs: Iterable[RunFolder]) -> pd.DataFrame:
    """One row per (run, evaluated set, target group, metric) of the complete runs, from metrics.json."""
    rows = []
    for run in runs:
        if not run.is_complete:
            continue
        meta = settings_row(run)
        for eval_set, groups in run.result().get("summary", {}).items():
            for group, summary in groups.items():
                rows += [
                    {**meta, "eval_set": eval_set, "group": group, "metric": m, "value": v, "n": summary["n"]}
                    for m, v in summary.items()
                    if m != "n" and summary["n"]
                ]
    return pd.DataFrame(rows, columns=[*SETTING_COLUMNS, "eval_set", "group", "metric", "value", "n"])


def result_table(run: RunFolder) -> pd.DataFrame:
    """A finished run's summary: one row per evaluated set and target group (AUC, HIT@10, NDCG@10, targets)."""
    rows = [
        {
            "evaluated": eval_set,
            "targets": group,
            "n": m["n"],
            "AUC": m["auc"],
            "HIT@10": m["hit@10"],
            "NDCG@10": m["ndcg@10"],
        }
        for eval_set, groups in run.result()["summary"].items()
        for group, m in groups.items()
        if m["n"]
    ]
    return pd.DataFrame(rows)
