"""`python -m ppr recommend`: a table or JSON of a run's top items for a new profile or a known user; warnings
on stderr; unknown items, attributes, users and warm runs are errors with exit code 2."""

from __future__ import annotations

import json

import pytest
from _tuned import group_of

from ppr.cli import main


def recommend(tuned_home, capsys: pytest.CaptureFixture, *argv: str, method: str = "ppr-light") -> tuple[int, str, str]:
    home, runs = tuned_home
    capsys.readouterr()
    rc = main(["--home", str(home), "recommend", runs[method], *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_json_for_a_new_profile_with_first_clicks(tuned_home, capsys) -> None:
    rc, out, err = recommend(
        tuned_home, capsys, "--profile", "taste=c,noise=x", "--clicks", "i3,i7,i11", "--top", "5", "--json"
    )
    assert rc == 0, err
    result = json.loads(out)
    assert result["clicks"] == 3 and result["method"] == "ppr-light" and result["warnings"] == []
    items = result["items"]
    assert [i["rank"] for i in items] == [1, 2, 3, 4, 5]
    assert {"item_id", "title", "score"} <= set(items[0])
    assert not {"i3", "i7", "i11"} & {i["item_id"] for i in items}
    assert sum(group_of(i["item_id"]) == 3 for i in items) >= 4


def test_zero_shot_table_and_a_warning_for_an_unknown_value(tuned_home, capsys) -> None:
    rc, out, err = recommend(tuned_home, capsys, "--profile", "taste=b,noise=purple", method="pop-profile")
    assert rc == 0, err
    assert "warning: noise='purple' is not a value of planted" in err
    assert "zero-shot (profile only)" in out
    lines = out.strip().splitlines()
    assert lines[1].split()[:3] == ["rank", "item_id", "title"] and len(lines) == 2 + 20  # default --top 20


def test_a_known_user(tuned_home, capsys) -> None:
    rc, out, err = recommend(tuned_home, capsys, "--user", "u3", "--top", "3", "--json")
    assert rc == 0, err
    assert len(json.loads(out)["items"]) == 3 and json.loads(out)["clicks"] > 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--profile", "taste=a", "--clicks", "i1,nope"], "has no item 'nope'"),
        (["--profile", "age=30"], "has no attribute 'age'"),
        (["--profile", "taste"], "not of the form name=value"),
        (["--user", "ghost"], "has no user 'ghost'"),
        (["--profile", "taste=a", "--top", "0"], "--top 0 is invalid"),
    ],
)
def test_bad_input_exits_2_and_says_what_is_wrong(tuned_home, capsys, argv, message) -> None:
    rc, out, err = recommend(tuned_home, capsys, *argv)
    assert rc == 2 and message in err and not out


def test_a_warm_run_or_unknown_run_is_refused(tuned_home, capsys) -> None:
    home, runs = tuned_home
    warm = next(p.name for p in (home / "runs").iterdir() if "-warm-" in p.name)
    for run in (warm, "no-such-run"):
        capsys.readouterr()
        rc = main(["--home", str(home), "recommend", run, "--profile", "taste=a"])
        assert rc == 2 and capsys.readouterr().err
