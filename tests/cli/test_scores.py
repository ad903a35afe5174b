"""`python -m ppr scores import CSV --like RUN --name NAME [--sweep SWEEP]`: the round trip export -> scores made
elsewhere -> import -> a method of the sweep's report, with its intervals and adjusted p against fine-tuning; bad
files exit 2 naming the row or target and write nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from _scores import finetune_cell, write_scores

from ppr.cli import main
from ppr.data.store import Store
from ppr.jobs import sweep as sweeps
from ppr.jobs.sweep import sweep_runs
from ppr.report.tables import paper_table, sweep_table
from ppr.runs.folder import RunFolder
from ppr.spec.sweep import SweepSpec


@pytest.fixture
def cli(sweep_home, capsys):
    home, _ = sweep_home

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            rc = main(["--home", str(home), *map(str, argv)])
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return rc, out, err

    return run


@pytest.fixture
def exported(sweep_home, cli, tmp_path: Path) -> tuple[str, pd.DataFrame]:
    """(the sweep's finetune run at k=all seed 0, targets.tsv of its fold exported with `data export`)."""
    home, sid = sweep_home
    rc, _, err = cli(
        "data", "export", "planted", "--to", "recbole", tmp_path / "out", "--folds", "1", "--max-len", "10"
    )
    assert rc == 0, err
    tg = pd.read_csv(tmp_path / "out" / "targets.tsv", sep="\t", dtype=str, keep_default_na=False)
    return finetune_cell(Store(home), sid).id, tg


def scores_csv(tg: pd.DataFrame, path: Path, zero_shot: bool = False) -> pd.DataFrame:
    """The positive scored highest for each target, zero-shot ones left out unless asked: the rows written."""
    return write_scores(path, tg, keep=lambda t: zero_shot or t["kind"] == "few")


def test_round_trip_to_the_sweeps_report_with_intervals_and_adjusted_p(sweep_home, cli, exported, tmp_path) -> None:
    home, sid = sweep_home
    like, tg = exported
    scores_csv(tg, tmp_path / "bert4rec.csv")
    rc, out, err = cli("scores", "import", tmp_path / "bert4rec.csv", "--like", like, "--name", "bert4rec")
    assert rc == 0, err
    lines = out.splitlines()
    run_id = lines[0].split()[1]
    assert run_id.startswith("planted-bert4rec-kall-r0-s0-f0-") and lines[1] == "label    bert4rec"
    assert lines[2].startswith(f"sweep    {sid} (joined;")
    n_few = int(((tg["group"] == "test") & (tg["kind"] == "few")).sum())
    n_zero = int(((tg["group"] == "test") & (tg["kind"] == "zero")).sum())
    assert f"scored   test targets: {n_few} of {n_few} few-shot, 0 of {n_zero} zero-shot (n/a)" in out
    assert f"test     few-shot NDCG@10 1.0000  HIT@10 1.0000  AUC 1.0000  ({n_few} targets)" in out
    assert "test     joint    n/a (its zero-shot targets were not scored)" in out

    table = sweep_table(sweep_runs(Store(home), sid))
    mine = table[(table["label"] == "bert4rec") & (table["k"] == "all")]
    assert set(mine["group"]) == {"few"} and not mine["metric"].str.startswith("full_").any()  # the rest: n/a
    ndcg = mine[mine["metric"] == "ndcg@10"].iloc[0]
    assert ndcg["mean"] == ndcg["ci_low"] == ndcg["ci_high"] == 1.0 and ndcg["diff"] > 0
    assert ndcg["diff_low"] > 0 and 0 < ndcg["p_wilcoxon"] < 0.05 and ndcg["p_adj"] < 0.05 and ndcg["significant"]
    assert ndcg["seeds_agree"] == "1/1" and ndcg["n_users"] > 0
    assert table[table["label"] == "bert4rec"]["k"].unique().tolist() == ["all"]  # its cell only
    cell = paper_table(table, "all", 0.0, "joint", metrics=["ndcg@10", "full_ndcg@10"])
    assert cell.set_index("method").loc["bert4rec"].tolist() == ["n/a", "n/a"]
    few = paper_table(table, "all", 0.0, "few", metrics=["ndcg@10", "full_ndcg@10"]).set_index("method")
    assert few.loc["bert4rec", "NDCG@10"].startswith("1.0000 [1.0000, 1.0000]*") and few.loc["bert4rec"].iat[1] == "n/a"

    rc, out, err = cli("report", sid, "--format", "json")
    assert rc == 0, err
    rows = [r for r in json.loads(out)["rows"] if r["label"] == "bert4rec"]
    assert rows and {r["group"] for r in rows} == {"few"}
    rc, out, _ = cli("report", sid)
    assert "| bert4rec | 1.0000 [1.0000, 1.0000]* |" in out and "| bert4rec | n/a |" in out


def test_reimporting_the_same_file_is_the_same_run_and_a_new_file_another(sweep_home, cli, exported, tmp_path) -> None:
    home, sid = sweep_home
    like, tg = exported
    rows = scores_csv(tg, tmp_path / "a.csv", zero_shot=True)
    rc, out, err = cli("scores", "import", tmp_path / "a.csv", "--like", like, "--name", "sasrec-ext", "--json")
    assert rc == 0, err
    first = json.loads(out)
    assert not first["already_imported"] and first["joined_sweep"] and first["sweep"] == sid
    assert first["test"]["joint"]["n"] == len(tg[tg["group"] == "test"]) and first["test"]["joint"]["hit@10"] == 1.0
    rc, out, _ = cli("scores", "import", tmp_path / "a.csv", "--like", like, "--name", "sasrec-ext")
    assert rc == 0 and f"run      {first['run_id']} (already imported)" in out and "already listed there" in out
    sweep = json.loads((home / "sweeps" / sid / "sweep.json").read_text())
    assert (
        sweep["runs"].count(first["run_id"]) == 1 and sum(c["run_id"] == first["run_id"] for c in sweep["cells"]) == 1
    )
    rows.assign(score=-rows["score"]).to_csv(tmp_path / "b.csv", index=False)
    rc, out, _ = cli("scores", "import", tmp_path / "b.csv", "--like", like, "--name", "sasrec-ext", "--json")
    second = json.loads(out)
    assert rc == 0 and second["run_id"] != first["run_id"] and second["test"]["few"]["hit@10"] == 0.0


def _damaged(rows: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, str]]:
    """Per case: the bad file's rows and the error's words (the file and its row, column or target)."""
    t0 = rows["target"].iat[0]
    few_targets = rows["target"].unique()
    return {
        "no score column": (rows.drop(columns="score"), r"lacks the column\(s\) score: expected a comma-separated"),
        "text score": (
            rows.assign(score=rows["score"].where(rows.index != 4, "high")),
            r"row 5 \(line 6\): score 'high' is not a number",
        ),
        "infinite score": (
            rows.assign(score=rows["score"].where(rows.index != 2, "inf")),
            r"row 3 \(line 4\): score 'inf' is not a finite number",
        ),
        "unknown target": (
            rows.assign(target=rows["target"].where(rows.index != 7, "987654")),
            r"row 8 \(line 9\): target '987654' is not a validation or test target of fold 0",
        ),
        "foreign candidate": (
            rows.assign(candidate=rows["candidate"].where(rows.index != 3, "nope")),
            rf"row 4 \(line 5\): candidate 'nope' is neither the positive nor one of the 99 negatives of target {t0}",
        ),
        "missing candidate": (
            rows.drop(index=5),
            rf"1 target\(s\) lack scores for some of their 100 candidates, e.g. target {t0} \(user \w+\) has 99",
        ),
        "duplicate": (
            pd.concat([rows, rows.iloc[[6]]]),
            rf"row 7 \(line 8\) and row {len(rows) + 1} \(line {len(rows) + 2}\) both score candidate '\w+' of target {t0}",
        ),
        "wrong user": (
            rows.assign(user=rows["user"].where(rows.index != 9, "someone")),
            rf"row 10 \(line 11\): user 'someone' is not the user of target {t0} \(expected '\w+'\)",
        ),
        "few-shot test target missing": (
            rows[rows["target"] != few_targets[-1]],
            r"1 of the \d+ few-shot test targets have no scores \(every one must be\), e.g. target",
        ),
    }


CASES = [
    "no score column",
    "text score",
    "infinite score",
    "unknown target",
    "foreign candidate",
    "missing candidate",
    "duplicate",
    "wrong user",
    "few-shot test target missing",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_files_exit_2_naming_the_row_or_target_and_write_nothing(sweep_home, cli, exported, tmp_path, case) -> None:
    home, sid = sweep_home
    like, tg = exported
    rows, message = _damaged(scores_csv(tg, tmp_path / "good.csv"))[case]
    rows.to_csv(tmp_path / "bad.csv", index=False)
    runs_before = sorted(p.name for p in (home / "runs").iterdir())
    sweep_before = (home / "sweeps" / sid / "sweep.json").read_bytes()
    rc, out, err = cli("scores", "import", tmp_path / "bad.csv", "--like", like, "--name", "bert4rec")
    assert rc == 2 and not out
    assert err.startswith(f"error: Scores file {tmp_path / 'bad.csv'}") and len(err.splitlines()) == 1
    assert pd.Series([err]).str.contains(message).iat[0], err
    assert sorted(p.name for p in (home / "runs").iterdir()) == runs_before
    assert (home / "sweeps" / sid / "sweep.json").read_bytes() == sweep_before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--name", "ppr-full"], "--name 'ppr-full' is invalid: expected a short name of your own"),
        (["--name", "mine-nocl"], "no '-'-separated part nocl"),
        (["--name", "ppr-light-bert"], "not beginning with ppr-light- or ppr-full-"),
        (["--name", "Bert4Rec"], "--name 'Bert4Rec' is invalid"),
        (["--name", "x", "--sweep", "nosuch"], "Sweep 'nosuch' not found"),
    ],
)
def test_bad_names_and_sweeps_exit_2(cli, exported, tmp_path, argv, message) -> None:
    like, tg = exported
    scores_csv(tg, tmp_path / "a.csv")
    rc, out, err = cli("scores", "import", tmp_path / "a.csv", "--like", like, *argv)
    assert rc == 2 and message in err and not out


def test_like_must_be_a_finished_tuning_run_of_the_sweep(sweep_home, cli, exported, tmp_path) -> None:
    home, sid = sweep_home
    like, tg = exported
    scores_csv(tg, tmp_path / "a.csv")
    spec = RunFolder(home / "runs" / like).spec()
    warm = spec.warm_run().run_id
    rc, _, err = cli("scores", "import", tmp_path / "a.csv", "--like", warm, "--name", "x")
    assert rc == 2 and "--like needs a tuning run" in err
    rc, _, err = cli("scores", "import", tmp_path / "a.csv", "--like", "nosuch-run", "--name", "x")
    assert rc == 2 and "Run 'nosuch-run' not found" in err
    other = sweeps.submit(Store(home), SweepSpec.grid(spec.warm_run(), ("pop",), (None,), (0.0,), (7,)))["id"]
    rc, _, err = cli("scores", "import", tmp_path / "a.csv", "--like", like, "--name", "x", "--sweep", other)
    assert rc == 2 and f"Run {like} is not a tuning run of sweep {other}" in err
    rc, _, err = cli("scores", "import", tmp_path / "a.csv", "--like", like, "--name", "x", "--sweep", sid)
    assert rc == 0, err
