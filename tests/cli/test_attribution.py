"""`python -m ppr attribution RUN`: the attributes ranked, most helpful first (markdown, CSV, JSON, per user);
a warm run is an error with exit code 2."""

from __future__ import annotations

import io
import json

import pandas as pd

from ppr.cli import main


def attribution(tuned_home, capsys, *argv: str) -> tuple[int, str, str]:
    home, runs = tuned_home
    capsys.readouterr()
    rc = main(["--home", str(home), "attribution", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_markdown_ranks_the_planted_attribute_first(tuned_home, capsys) -> None:
    _, runs = tuned_home
    rc, out, err = attribution(tuned_home, capsys, runs["ppr-light"])
    assert rc == 0, err
    rows = [line for line in out.splitlines() if line.startswith("| ") and "attribute" not in line]
    assert [r.split("|")[1].strip() for r in rows] == ["taste", "noise"]
    assert "Each attribute in turn is set to 'missing'" in out


def test_csv_per_user_and_json(tuned_home, capsys) -> None:
    _, runs = tuned_home
    rc, out, _ = attribution(tuned_home, capsys, runs["pop-profile"], "--per-user", "--format", "csv")
    assert rc == 0
    rows = pd.read_csv(io.StringIO(out))
    assert set(rows["attribute"]) == {"taste", "noise"} and rows["user"].nunique() * 2 == len(rows)
    rc, out, _ = attribution(tuned_home, capsys, runs["pop-profile"], "--format", "json")
    assert [r["attribute"] for r in json.loads(out)["rows"]] == ["taste", "noise"]


def test_a_warm_run_exits_2(tuned_home, capsys) -> None:
    home, _ = tuned_home
    warm = next(p.name for p in (home / "runs").iterdir() if "-warm-" in p.name)
    rc, out, err = attribution(tuned_home, capsys, warm)
    assert rc == 2 and "is a warm run" in err and not out
