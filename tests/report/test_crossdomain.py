"""Table VII on planted data: the source domain helps users cold in the target domain, where sasrec-target (their
target clicks only) cannot score them at all; and the table names and reads its methods as it should."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ppr.data.splits import ROLE_TEST
from ppr.data.store import Store
from ppr.data.synth import synth_dataset
from ppr.errors import InputError
from ppr.eval.evaluate import evaluate, summarize_scores
from ppr.report.crossdomain import block, crossdomain_table, ppr_verdicts, render, table_vii, target_domain
from ppr.report.tables import COLUMNS
from ppr.runs.pipeline import compute, evaluated
from ppr.spec.run import BackboneSpec, RunSpec, SplitSpec, TuneSpec, WarmSpec

BACKBONE = BackboneSpec(max_len=20, d=32, n_layers=1, d_ff=64)
WARM = WarmSpec(epochs=8, batch_size=64, lr=1e-2)


def _quiet(msg: str) -> None:
    pass


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, dict]:
    """`data synth --domains 2` with 5 source and 5 target clusters (twins share a user's taste), and the
    cross-domain runs of pop, sasrec (the target domain only; two epochs: it cannot score a zero-shot user however
    long it trains) and ppr-full (without its contrastive loss: a third of the time, and not what is tested)."""
    store = Store(tmp_path_factory.mktemp("xd"))
    ds = synth_dataset(store, "xd", 800, 400, mean_len=20, seed=0, domains=2, log=_quiet)
    base = RunSpec(ds.ref, ds.content_hash, SplitSpec(target_domain="target", folds=1, n_negatives=50), BACKBONE, WARM)
    tunes = {
        "pop": TuneSpec(method="pop"),
        "sasrec": TuneSpec(method="sasrec", epochs=2),
        "ppr-full": TuneSpec(method="ppr-full", cl=False, epochs=12, patience=100),
    }
    return store, {m: compute(store, base.tuned(t), "cpu", _quiet, False)[0] for m, t in tunes.items()}


def test_the_source_embedding_helps_users_cold_in_the_target_domain(planted) -> None:
    store, runs = planted
    table, domain = crossdomain_table(runs.values(), "sampled", warn=None)
    rows = table.set_index(["label", "group", "metric"])
    assert domain == "target" and ("sasrec", "zero", "auc") not in rows.index  # sasrec-target: no score, n/a
    zero = rows.loc[("ppr-full-nocl", "zero", "auc")]
    assert zero["mean"] > 0.65 and zero["ci_low"] > 0.55, zero  # from the source vector and profile alone
    assert zero["mean"] > rows.loc[("pop", "zero", "auc"), "mean"] + 0.02
    sasrec_zero = runs["sasrec"].scores().query("group == 'test' and kind == 'zero'")["auc"]
    assert (sasrec_zero == 0.5).all()  # every candidate ties: chance
    # the same model, each test user given another test user's source vector: the right one is worth more
    ev = evaluated(store, runs["ppr-full"])
    test = np.flatnonzero(ev.split.roles == ROLE_TEST)
    shuffled = ev.codes.copy()
    shuffled[test, -1] = np.random.default_rng(0).permutation(shuffled[test, -1])
    own, other = (
        summarize_scores(evaluate(ev.model, ev.split, "test", codes, BACKBONE.max_len))["zero"]
        for codes in (ev.codes, shuffled)
    )
    print(table[table["metric"].isin(["auc", "ndcg@10"])][["label", "group", "metric", "mean", "ci_low", "ci_high"]])
    print("own source", own["auc"], own["ndcg@10"], "another user's", other["auc"], other["ndcg@10"])
    assert own["auc"] > other["auc"] + 0.05 and own["ndcg@10"] > other["ndcg@10"] + 0.05


def test_table_vii_names_what_each_method_reads_and_renders_every_format(planted) -> None:
    _, runs = planted
    table, domain = crossdomain_table(runs.values(), "both", warn=None)
    zero = table_vii(table, "zero")
    assert list(zero.columns) == ["method", "reads", "HIT@10", "NDCG@10", "AUC"]
    row = zero.set_index("method").loc["sasrec-target"]
    assert row["reads"].startswith("target clicks only") and (row[["HIT@10", "NDCG@10", "AUC"]] == "n/a").all()
    assert zero.set_index("method").loc["ppr-full-nocl", "AUC"].count("[") == 1  # mean [95% interval]
    assert list(table_vii(table, "few", "full").columns)[2:] == ["HIT@10 (full)", "NDCG@10 (full)", "MRR (full)"]
    md = render(table, "md", "Table", domain, ["a note of ours"])
    assert md.count("## Table VII") == 6 and "- a note of ours" in md and "Target domain 'target'" in md
    assert pd.read_csv(__import__("io").StringIO(render(table, "csv", "T", domain))).shape[0] == len(table)
    assert '"target_domain": "target"' in render(table, "json", "T", domain)


def test_runs_of_two_target_domains_are_not_mixed() -> None:
    from types import SimpleNamespace

    def run(domain: str | None):
        spec = SimpleNamespace(split=SimpleNamespace(target_domain=domain), tune=object())
        return SimpleNamespace(is_complete=True, spec=lambda: spec)

    assert target_domain([run(None)]) is None and target_domain([run("a"), run("a")]) == "a"
    with pytest.raises(InputError, match=r"different target domains \(None, a\)"):
        target_domain([run("a"), run(None)])


def _row(label: str, metric: str, mean: float, diff: float = np.nan, p: float = np.nan, half: float = 0.02) -> dict:
    """One row of a sweep table (k all, noise 0, zero-shot) with a 95% interval of +-half around mean and diff."""
    return {
        **dict.fromkeys(COLUMNS),
        **{"k": "all", "noise": 0.0, "label": label, "method": label, "ablation": "none", "group": "zero"},
        **{"metric": metric, "mean": mean, "ci_low": mean - half, "ci_high": mean + half},
        **{"diff": diff, "diff_low": diff - half, "diff_high": diff + half, "p_adj": p},
    }


def test_ppr_verdicts_say_where_ppr_does_not_beat_fine_tuning_or_minet() -> None:
    rows = [
        _row("finetune", "auc", 0.70),
        _row("finetune", "ndcg@10", 0.30),
        _row("minet", "auc", 0.80),
        _row("minet", "ndcg@10", 0.33),
        _row("sasrec", "hit@10", 0.40),
        _row("ppr-full", "auc", 0.75, diff=0.05, p=0.001),  # beats fine-tuning; minet's interval is above it
        _row("ppr-full", "ndcg@10", 0.31, diff=0.01, p=0.4),  # cannot tell either
        _row("ppr-full", "ndcg@10", 0.31, p=0.4) | {"k": "5"},  # another block
    ]
    table = pd.DataFrame(rows, columns=COLUMNS)
    found = ppr_verdicts(table, "zero").set_index("claim")
    assert found["verdict"].to_dict() == {
        "ppr-full beats finetune (AUC)": "holds",
        "ppr-full beats minet (AUC)": "does not hold",
        "ppr-full beats finetune (NDCG@10)": "inconclusive",
        "ppr-full beats minet (NDCG@10)": "inconclusive",
    }
    assert "adjusted p 0.001" in found.loc["ppr-full beats finetune (AUC)", "evidence"]
    assert "0.7500 [0.7300, 0.7700] vs 0.8000 [0.7800, 0.8200]" in found.loc["ppr-full beats minet (AUC)", "evidence"]
    shown = block(table, "zero")
    assert set(shown["label"]) == {"finetune", "minet", "sasrec-target", "ppr-full"} and len(shown) == 7
    assert set(shown["metric"]) == {"AUC", "NDCG@10", "HIT@10"}
    assert ppr_verdicts(table[table["label"] != "ppr-full"], "zero").empty  # no PPR run: nothing to say
