"""Where the paper's claims hold: verdicts from a comparison table, with their evidence."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ppr.report.claims import claims
from ppr.report.tables import COLUMNS


def _row(
    label: str,
    group: str,
    k: str = "all",
    noise: float = 0.0,
    mean: float = 0.5,
    diff: float = np.nan,
    half: float = 0.02,
    p: float = np.nan,
) -> dict:
    method, nocl, _ = label.partition("-nocl")
    return {
        "k": k,
        "noise": noise,
        "label": label,
        "method": method,
        "ablation": "nocl" if nocl else "none",
        "group": group,
        "metric": "ndcg@10",
        "mean": mean,
        "ci_low": mean - half,
        "ci_high": mean + half,
        "n_users": 100,
        "n_seeds": 3,
        "diff": diff,
        "diff_low": diff - half,
        "diff_high": diff + half,
        "rel_vs_finetune": np.nan,
        "p_wilcoxon": p,
        "p_t": p,
        "p_adj": p,
        "significant": p < 0.05,
        "seeds_agree": "3/3",
    }


def test_beats_fine_tuning_holds_fails_or_cannot_tell_per_group() -> None:
    rows = [_row("finetune", g) for g in ("few", "zero", "joint")]
    rows += [
        _row("ppr-full", "few", diff=0.05, p=0.001),
        _row("ppr-full", "zero", diff=-0.05, p=0.001),
        _row("ppr-full", "joint", diff=0.01, p=0.3),
    ]
    found = {c.claim: c for c in claims(pd.DataFrame(rows, columns=COLUMNS))}
    assert found["PPR beats fine-tuning (few-shot, NDCG@10)"].verdict == "holds"
    assert found["PPR beats fine-tuning (zero-shot, NDCG@10)"].verdict == "does not hold"
    assert found["PPR beats fine-tuning (joint, NDCG@10)"].verdict == "inconclusive"
    assert "+0.0500" in found["PPR beats fine-tuning (few-shot, NDCG@10)"].evidence
    not_tested = [c.claim for c in claims(pd.DataFrame(rows, columns=COLUMNS)) if c.verdict == "not tested"]
    assert any("scarcer" in c for c in not_tested) and any("noisy" in c for c in not_tested)


def test_popularity_and_scarcity_and_noise_claims() -> None:
    rows = [
        _row("finetune", "zero"),
        _row("pop", "zero", mean=0.70),
        _row("ppr-light", "zero", mean=0.60, diff=0.1, p=0.001),
    ]
    for k, gain in (("1", 0.10), ("all", 0.01)):
        rows += [_row("finetune", "joint", k=k), _row("ppr-full", "joint", k=k, diff=gain, p=0.01)]
    for noise, (with_cl, without) in ((0.0, (0.02, 0.02)), (0.6, (0.05, -0.05))):
        rows += [
            _row("finetune", "joint", noise=noise),
            _row("ppr-full", "joint", noise=noise, diff=with_cl, p=0.01),
            _row("ppr-full-nocl", "joint", noise=noise, diff=without, p=0.01),
        ]
    found = {c.claim.split(" (")[0]: c for c in claims(pd.DataFrame(rows, columns=COLUMNS))}
    assert found["PPR beats popularity for users without clicks"].verdict == "does not hold"  # 0.60 ± 0.02 vs 0.70
    assert found["PPR's gain over fine-tuning grows as clicks get scarcer"].verdict == "holds"
    robust = found["The contrastive loss keeps PPR robust to noisy profiles"]
    assert robust.verdict == "holds"
    # the verdict compares intervals of the differences, so the evidence shows them
    assert "with CL +0.0500 [+0.0300, +0.0700]" in robust.evidence
    assert "without -0.0500 [-0.0700, -0.0300]" in robust.evidence


def test_a_significant_rank_test_whose_mean_interval_straddles_zero_is_inconclusive() -> None:
    rows = [_row("finetune", g) for g in ("few", "zero", "joint")]
    rows += [
        _row("ppr-full", "few", diff=0.01, half=0.02, p=0.001),  # interval [-0.01, +0.03]
        _row("ppr-full", "zero", diff=-0.01, half=0.02, p=0.001),
        _row("ppr-full", "joint", diff=0.03, half=0.02, p=0.001),  # [+0.01, +0.05]
    ]
    found = {c.claim: c.verdict for c in claims(pd.DataFrame(rows, columns=COLUMNS))}
    assert found["PPR beats fine-tuning (few-shot, NDCG@10)"] == "inconclusive"
    assert found["PPR beats fine-tuning (zero-shot, NDCG@10)"] == "inconclusive"
    assert found["PPR beats fine-tuning (joint, NDCG@10)"] == "holds"
