"""`python -m ppr report SWEEP --by history|attribute|NAME [--baseline] [--metric]`: who gains, as markdown,
CSV or JSON; unknown breakdowns, baselines and metrics exit 2 naming what is expected."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from ppr.cli import main


def report(sweep_home, capsys, *argv: str) -> tuple[int, str, str]:
    home, sid = sweep_home
    capsys.readouterr()
    rc = main(["--home", str(home), "report", sid, *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_markdown_by_history_and_by_every_attribute(sweep_home, capsys) -> None:
    rc, out, err = report(sweep_home, capsys, "--by", "history")
    assert rc == 0, err
    assert "## k=2, noise 0: by history" in out and "## k=all, noise 0: by history" in out
    assert "| cohort | users | finetune | Δ ppr-light |" in out
    assert "0 clicks" in out and "1 click" in out
    rc, out, err = report(sweep_home, capsys, "--by", "attribute", "--metric", "auc")
    assert rc == 0, err
    assert "by taste" in out and "by noise" in out and "AUC of finetune" in out


def test_csv_and_json_hold_every_metric(sweep_home, capsys) -> None:
    rc, out, _ = report(sweep_home, capsys, "--by", "taste", "--format", "csv")
    assert rc == 0
    table = pd.read_csv(io.StringIO(out))
    assert {"auc", "ndcg@10", "full_ndcg@10"} <= set(table["metric"]) and set(table["by"]) == {"taste"}
    assert {"diff", "diff_low", "diff_high", "p_adj", "small", "n_users"} <= set(table.columns)
    rc, out, _ = report(sweep_home, capsys, "--by", "taste", "--format", "json")
    rows = json.loads(out)["rows"]
    assert len(rows) == len(table)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--by", "age"], "an attribute of planted@v1 (taste, noise)"),
        (["--by", "history", "--baseline", "pop"], "--baseline 'pop' has no finished run"),
        (["--by", "history", "--metric", "ndcg@7"], "--metric 'ndcg@7' is not one of"),
    ],
)
def test_bad_breakdowns_exit_2(sweep_home, capsys, argv, message) -> None:
    rc, out, err = report(sweep_home, capsys, *argv)
    assert rc == 2 and message in err and not out


def test_report_profile_predicts_an_attribute_from_the_sweeps_runs(sweep_home, capsys) -> None:
    rc, out, err = report(sweep_home, capsys, "--profile", "taste", "--format", "json")
    assert rc == 0, err
    rows = {r["label"]: r for r in json.loads(out)["rows"]}
    assert {"finetune", "ppr-light", "majority", "logreg-profile"} <= set(rows)
    assert rows["ppr-light"]["n_seeds"] == 2 and rows["ppr-light"]["accuracy"] > rows["majority"]["accuracy"]
    rc, out, err = report(sweep_home, capsys, "--profile", "taste")
    assert rc == 0 and "| majority |" in out and "Benjamini-Hochberg" in out
    rc, _, err = report(sweep_home, capsys, "--profile", "height")
    assert rc == 2 and "no attribute 'height'" in err and "taste, noise" in err
