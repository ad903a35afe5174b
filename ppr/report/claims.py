"""Does each of the paper's claims hold on these runs? A verdict per claim, with the evidence beside it.

Verdicts read the comparison table (ppr.report.tables.sweep_table) for one metric:
- "holds": the difference is in the claimed direction, significant (BH-adjusted p < 0.05) and its 95%
  interval clear of zero (the rank test and the bootstrap of the mean must agree), or for comparisons
  without a paired test, the 95% intervals do not overlap;
- "does not hold": the same in the other direction;
- "inconclusive": neither: the data cannot tell;
- "not tested": the runs lack what the claim needs (no PPR runs, one k-shot, no ablation, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ppr.report.significance import ALPHA, BASELINE
from ppr.report.tables import GROUP_LABELS, METRIC_LABELS, k_order, setting_rows
from ppr.spec.run import PPR_METHODS

VERDICTS = ("holds", "does not hold", "inconclusive", "not tested")


@dataclass(frozen=True)
class Claim:
    claim: str
    verdict: str
    evidence: str


def claims(table: pd.DataFrame, metric: str = "ndcg@10") -> list[Claim]:
    """The paper's claims that these runs can speak to, for `metric`."""
    rows = table[(table["metric"] == metric) & (table["ablation"] == "none")]
    name = METRIC_LABELS.get(metric, metric)
    out = [_beats_finetune(rows, group, name) for group in ("few", "zero", "joint")]
    out.append(_beats_popularity(rows, name))
    out.append(_gain_grows(rows, name))
    out.append(_cl_robust(table[table["metric"] == metric], name))
    return out


def _main_cell(rows: pd.DataFrame) -> pd.DataFrame:
    """The cell with every click and the least noise (the paper's main table)."""
    if rows.empty:
        return rows
    k = max(rows["k"], key=k_order)
    return setting_rows(rows, k, rows.loc[rows["k"] == k, "noise"].min())


def paired_verdict(r: pd.Series) -> str:
    """Whether a table row beats fine-tuning: its difference's sign when the adjusted p is below ALPHA and the
    difference's interval leaves out zero. A Wilcoxon test can call a difference whose mean's interval straddles
    zero significant (it ranks, the interval bootstraps the mean); a verdict needs both."""
    if pd.isna(r["p_adj"]) or r["p_adj"] >= ALPHA:
        return "inconclusive"
    if r["diff_low"] > 0:
        return "holds"
    return "does not hold" if r["diff_high"] < 0 else "inconclusive"


def interval_verdict(a: pd.Series, b: pd.Series, of: str = "ci") -> str:
    """Whether row `a` beats row `b` without a paired test between them: their 95% intervals do not overlap.
    of="ci": the intervals of the means; of="diff": of the differences to fine-tuning."""
    low, high = ("ci_low", "ci_high") if of == "ci" else ("diff_low", "diff_high")
    if a[low] > b[high]:
        return "holds"
    return "does not hold" if a[high] < b[low] else "inconclusive"


def _beats_finetune(rows: pd.DataFrame, group: str, name: str) -> Claim:
    claim = f"PPR beats fine-tuning ({GROUP_LABELS[group]}, {name})"
    cell = _main_cell(rows)
    ppr = cell[(cell["group"] == group) & cell["method"].isin(PPR_METHODS) & cell["diff"].notna()]
    if ppr.empty:
        return Claim(claim, "not tested", f"needs {BASELINE} and a PPR method in the same cell")
    verdicts = [paired_verdict(r) for _, r in ppr.iterrows()]
    evidence = "; ".join(f"{r['label']} {_diff_interval(r)}, adjusted p {r['p_adj']:.2g}" for _, r in ppr.iterrows())
    return Claim(claim, _combined(verdicts), f"k={ppr['k'].iloc[0]}, noise {ppr['noise'].iloc[0]:g}: {evidence}")


def _beats_popularity(rows: pd.DataFrame, name: str) -> Claim:
    claim = f"PPR beats popularity for users without clicks (zero-shot, {name})"
    cell = _main_cell(rows)
    zero = cell[cell["group"] == "zero"]
    ppr, pop = zero[zero["method"].isin(PPR_METHODS)], zero[zero["method"].isin(("pop", "pop-profile"))]
    if ppr.empty or pop.empty:
        return Claim(claim, "not tested", "needs a PPR method and pop or pop-profile in the same cell")
    best = pop.loc[pop["mean"].idxmax()]
    verdicts = [interval_verdict(r, best) for _, r in ppr.iterrows()]
    evidence = "; ".join(
        f"{r['label']} {r['mean']:.4f} [{r['ci_low']:.4f}, {r['ci_high']:.4f}]" for _, r in ppr.iterrows()
    )
    return Claim(
        claim,
        _combined(verdicts),
        f"{evidence} vs {best['label']} {best['mean']:.4f} "
        f"[{best['ci_low']:.4f}, {best['ci_high']:.4f}] (95% intervals; overlap = inconclusive)",
    )


def _gain_grows(rows: pd.DataFrame, name: str) -> Claim:
    claim = f"PPR's gain over fine-tuning grows as clicks get scarcer (joint, {name})"
    part = rows[(rows["group"] == "joint") & rows["method"].isin(PPR_METHODS) & rows["diff"].notna()]
    part = part[part["noise"] == part["noise"].min()] if len(part) else part
    ks = sorted(set(part["k"]), key=k_order)
    if len(ks) < 2:
        return Claim(claim, "not tested", "needs at least two k-shot settings with PPR and fine-tuning")
    verdicts, evidence = [], []
    for label, sub in part.groupby("label"):
        few, many = sub[sub["k"] == ks[0]].iloc[0], sub[sub["k"] == ks[-1]].iloc[0]
        verdicts.append(interval_verdict(few, many, of="diff"))
        evidence.append(f"{label}: k={ks[0]} {_diff_interval(few)} vs k={ks[-1]} {_diff_interval(many)}")
    return Claim(
        claim, _combined(verdicts), "; ".join(evidence) + " (intervals of the difference; overlap = inconclusive)"
    )


def _cl_robust(rows: pd.DataFrame, name: str) -> Claim:
    claim = f"The contrastive loss keeps PPR robust to noisy profiles (joint, {name})"
    part = rows[(rows["group"] == "joint") & rows["method"].isin(PPR_METHODS) & rows["diff"].notna()]
    if part.empty or part["noise"].nunique() < 2 or not (part["ablation"] == "nocl").any():
        return Claim(claim, "not tested", "needs PPR with and without CL (ablation no-cl) at two or more noise rates")
    noisy = part[part["noise"] == part["noise"].max()]
    verdicts, evidence = [], []
    for method, sub in noisy.groupby("method"):
        with_cl, without = sub[sub["ablation"] == "none"], sub[sub["ablation"] == "nocl"]
        if with_cl.empty or without.empty:
            continue
        a, b = with_cl.iloc[0], without.iloc[0]
        verdicts.append(interval_verdict(a, b, of="diff"))
        evidence.append(
            f"{method} at noise {a['noise']:g}, difference to fine-tuning: with CL {_diff_interval(a)}, "
            f"without {_diff_interval(b)} (intervals of the difference; overlap = inconclusive)"
        )
    if not verdicts:
        return Claim(claim, "not tested", "needs the same PPR method with and without CL at the highest noise")
    return Claim(claim, _combined(verdicts), "; ".join(evidence))


def _diff_interval(r: pd.Series) -> str:
    return f"{r['diff']:+.4f} [{r['diff_low']:+.4f}, {r['diff_high']:+.4f}]"


def _combined(verdicts: list[str]) -> str:
    """One verdict over PPR variants: holds if any holds and none contradicts; does not hold if all that decide say so."""
    decided = [v for v in verdicts if v != "inconclusive"]
    if not decided:
        return "inconclusive"
    if all(v == "holds" for v in decided):
        return "holds"
    if all(v == "does not hold" for v in decided):
        return "does not hold"
    return "inconclusive"
