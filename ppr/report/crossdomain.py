"""Cross-domain recommendation (the paper's Table VII): users cold in a target domain, recommended from what they
did in the source domain.

A cross-domain run's split names a target domain (SplitSpec.target_domain): its test users clicked in the source
domain and are cold in the target one, and every candidate is a target item. The comparison is the one every
report makes (ppr.report.tables.sweep_table: per-user means with 95% bootstrap intervals over users, the
difference to fine-tuning with its Wilcoxon p, Benjamini-Hochberg adjusted across the table), laid out as Table
VII: per target group, each method's HIT@10, NDCG@10 and AUC on the target domain's cold test users, with what
the method reads and the popularity baselines beside it; `ppr_verdicts` says per metric whether PPR beats fine-tuning
and minet there. `sasrec` of a cross-domain run is trained on the target domain alone, so it is shown as
sasrec-target.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from ppr.data.store import Store
from ppr.errors import InputError
from ppr.log import Log, to_stderr
from ppr.report.claims import interval_verdict, paired_verdict
from ppr.report.results import split_label
from ppr.report.significance import ALPHA, BASELINE
from ppr.report.tables import (
    GROUP_LABELS,
    METRIC_LABELS,
    RANKINGS,
    markdown,
    paper_table,
    setting_rows,
    sweep_table,
)
from ppr.runs.folder import RunFolder, readable
from ppr.spec.run import PPR_METHODS

TABLE_METRICS = {"sampled": ("hit@10", "ndcg@10", "auc"), "full": ("full_hit@10", "full_ndcg@10", "full_mrr")}
NAMES = {"sasrec": "sasrec-target"}  # how Table VII names a method of a cross-domain run
RIVALS = (BASELINE, "minet")  # what PPR has to beat in Table VII: fine-tuning, and the cross-domain baseline
READS = {
    "pop": "target clicks' popularity",
    "pop-profile": "target clicks' popularity by profile",
    "sasrec": "target clicks only (trained from scratch on the target domain)",
    "melu": "profile, target clicks",
    "gce-gnn": "profile, target clicks",
    "minet": "source and target clicks (interest attention)",
    "finetune": "profile + source vector as side information, target clicks",
    "ppr-full": "prompt from profile + source vector, target clicks",
}
NOTES = (
    "Test users clicked in the source domain and are cold in the target domain; every candidate is a target item "
    "(the split's sampled negatives, and the whole target catalogue for the full-catalogue figures).",
    "The warm run read the source domain only, so the target items are new to it; every tuned method trains on the "
    "target clicks of the warm users and the tuning users' first k.",
    "source vector: the warm backbone's state after the user's source-domain clicks (frozen); sasrec-target cannot "
    "score a user without target clicks, so its zero-shot and joint cells are n/a.",
)
DERIVED = (
    "The domains of {ref} were declared by splitting its items by {by} ({values} -> target): one catalogue cut in "
    "two, not two services. It shows how the methods use a source domain, not how well they transfer between real "
    "domains."
)


def target_domain(runs: Iterable[RunFolder]) -> str | None:
    """The target domain the tuning runs among `runs` share (None when none is cross-domain); InputError when
    they mix domains or mix cross-domain runs with one-domain ones."""
    domains = {r.spec().split.target_domain for r in runs if r.is_complete and r.spec().tune is not None}
    if len(domains) > 1:
        shown = ", ".join(sorted(str(d) for d in domains))
        raise InputError(f"These runs test different target domains ({shown}); report one domain at a time.")
    return next(iter(domains), None)


def crossdomain_table(
    runs: Iterable[RunFolder], ranking: str = "both", warn: Log | None = to_stderr
) -> tuple[pd.DataFrame, str]:
    """(sweep_table of the complete cross-domain tuning runs among `runs`, their target domain)."""
    runs = list(readable(runs, warn))
    domain = target_domain(runs)
    if domain is None:
        raise InputError("No finished cross-domain run (a split with --target-domain) to make Table VII from.")
    return sweep_table(runs, RANKINGS[ranking], warn), domain


def table_vii(
    table: pd.DataFrame, group: str, ranking: str = "sampled", k: str = "all", noise: float = 0.0
) -> pd.DataFrame:
    """One target group of Table VII: method, what it reads, mean [95% interval] per metric ('*': BH-adjusted
    p < ALPHA against fine-tuning)."""
    out = paper_table(table, k, noise, group, metrics=TABLE_METRICS[ranking])
    methods = [split_label(label)[0] for label in out["method"]]
    out.insert(1, "reads", [READS.get(m, "") for m in methods])
    out["method"] = [NAMES.get(label, label) for label in out["method"]]
    return out


def block(
    table: pd.DataFrame, group: str, ranking: str = "sampled", k: str = "all", noise: float = 0.0
) -> pd.DataFrame:
    """The long rows of one Table VII block (its metrics only, named as METRIC_LABELS does), methods under their
    Table VII names: what a chart of the block draws."""
    cell = setting_rows(table, k, noise)
    rows = cell[(cell["group"] == group) & cell["metric"].isin(TABLE_METRICS[ranking])]
    return rows.assign(
        label=[NAMES.get(x, x) for x in rows["label"]], metric=[METRIC_LABELS.get(m, m) for m in rows["metric"]]
    )


def ppr_verdicts(
    table: pd.DataFrame, group: str, ranking: str = "sampled", k: str = "all", noise: float = 0.0
) -> pd.DataFrame:
    """Claim, verdict, evidence: does each PPR method of a Table VII block beat each of RIVALS the sweep ran, per
    metric? The verdicts of ppr.report.claims: against fine-tuning its paired test (BH-adjusted p < ALPHA);
    against minet, which has no paired test here, 95% intervals apart."""
    rows = block(table, group, ranking, k, noise)
    rivals = rows[rows["label"].isin(RIVALS)].set_index(["label", "metric"])
    out = []
    for _, r in rows[rows["method"].isin(PPR_METHODS)].iterrows():
        for rival in RIVALS:
            if (rival, r["metric"]) not in rivals.index:
                continue
            if rival == BASELINE:
                verdict = paired_verdict(r)
                evidence = (
                    f"difference {r['diff']:+.4f} [{r['diff_low']:+.4f}, {r['diff_high']:+.4f}], "
                    f"adjusted p {r['p_adj']:.2g}"
                )
            else:
                other = rivals.loc[(rival, r["metric"])]
                verdict = interval_verdict(r, other)
                evidence = (
                    f"{r['mean']:.4f} [{r['ci_low']:.4f}, {r['ci_high']:.4f}] vs {other['mean']:.4f} "
                    f"[{other['ci_low']:.4f}, {other['ci_high']:.4f}] (95% intervals; overlap = inconclusive)"
                )
            out.append(
                {"claim": f"{r['label']} beats {rival} ({r['metric']})", "verdict": verdict, "evidence": evidence}
            )
    return pd.DataFrame(out, columns=["claim", "verdict", "evidence"])


def blocks(table: pd.DataFrame) -> list[tuple[str, float, str, str]]:
    """(k, noise, group, ranking) of every Table VII block the table holds, in order."""
    settings = table[["k", "noise"]].drop_duplicates().itertuples(index=False)
    rankings = [r for r in TABLE_METRICS if table["metric"].isin(TABLE_METRICS[r]).any()]
    return [(str(k), float(noise), g, r) for k, noise in settings for g in ("zero", "few", "joint") for r in rankings]


def derived_note(store: Store, dataset: str) -> str | None:
    """DERIVED for a dataset whose domains `python -m ppr data domains` cut from one catalogue, else None."""
    try:
        declared = store.open(dataset).manifest.get("domains") or {}
    except InputError:  # the dataset is gone: the runs still report
        return None
    if "by" not in declared:
        return None
    values = ", ".join(declared.get("values", []))
    return DERIVED.format(ref=dataset, by=declared["by"], values=values)


def render(
    table: pd.DataFrame,
    fmt: str,
    title: str,
    domain: str,
    notes: Sequence[str] = (),
    summary: dict[str, Any] | None = None,
) -> str:
    """Table VII as markdown (one block per k, noise, target group and ranking), or the long table as CSV/JSON."""
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        body = {"title": title, "target_domain": domain, "summary": summary or {}, "rows": table.to_dict("records")}
        return json.dumps(body, indent=2, default=str) + "\n"
    lines = [f"# {title}", "", explanation(table, domain)]
    if table.empty:
        return "\n".join([*lines, "", "No finished cross-domain tuning runs yet."]) + "\n"
    for k, noise, group, ranking in blocks(table):
        which = "sampled candidates" if ranking == "sampled" else "whole target catalogue"
        lines += ["", f"## Table VII, k={k}, noise {noise:g}: {GROUP_LABELS[group]} test targets, {which}", ""]
        lines.append(markdown(table_vii(table, group, ranking, k, noise)))
    lines += ["", *[f"- {n}" for n in (*NOTES, *notes)]]
    return "\n".join(lines) + "\n"


def explanation(table: pd.DataFrame, domain: str) -> str:
    """How to read Table VII of `table`: who is tested, the intervals, what '*' means."""
    users = int(table["n_users"].max()) if len(table) else 0
    seeds = int(table["n_seeds"].max()) if len(table) else 0
    shown = ", ".join(METRIC_LABELS[m] for m in TABLE_METRICS["sampled"])
    return (
        f"Target domain {domain!r}: test targets of up to {users} users cold in it, {seeds} seed(s). {shown}: "
        f"mean [95% bootstrap interval over users] (a user counts once: their targets' mean, averaged over seeds); "
        f"* = Benjamini-Hochberg adjusted Wilcoxon p < {ALPHA} against {BASELINE} (with the source vector), "
        f"adjusted across all {int(table['p_adj'].notna().sum())} comparisons."
    )
