"""`python -m ppr task profile`: a planted attribute is predicted from clicks far above the majority class; a
random one is not; an unknown attribute is a clear error."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout

import pytest
from _planted import TINY_FLAGS, planted_dataset

from ppr.cli import main
from ppr.data.store import Store

FLAGS = [*TINY_FLAGS, "--d", "32", "--d-ff", "64", "--warm-epochs", "10", "--epochs", "10", "--no-progress"]


def _task(home, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(["--home", str(home), "task", "profile", "planted", *args])
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("profile-home")
    planted_dataset(Store(home), n_users=600)
    return home


def _rows(home, attribute: str) -> dict[str, dict]:
    rc, out, err = _task(home, "--attribute", attribute, "--methods", "finetune,ppr-light", "--format", "json", *FLAGS)
    assert rc == 0, err
    return {r["label"]: r for r in json.loads(out)["rows"]}


def test_the_planted_taste_is_predicted_from_clicks_and_the_random_attribute_is_not(home) -> None:
    taste = _rows(home, "taste")  # taste decides 90% of a user's clicks
    assert set(taste) == {"finetune", "ppr-light", "majority", "logreg-profile"}
    for method in ("finetune", "ppr-light"):
        assert taste[method]["accuracy_low"] > taste["majority"]["accuracy_high"], taste[method]
        assert taste[method]["macro_f1"] > 0.6 and taste[method]["n_users"] >= 30
    assert taste["majority"]["p_adj"] < 0.05 and taste["majority"]["diff"] < 0

    noise = _rows(home, "noise")  # drawn independently of the clicks
    for method in ("finetune", "ppr-light"):
        assert noise[method]["accuracy_low"] <= noise["majority"]["accuracy"], noise[method]
        assert noise[method]["auc_low"] <= 0.5 <= noise[method]["auc_high"]  # a binary attribute has an AUC


def test_an_unknown_attribute_or_method_is_a_clear_error(home) -> None:
    rc, _, err = _task(home, "--attribute", "age", *FLAGS)
    assert rc == 2 and "no attribute 'age'" in err and "taste, noise" in err
    rc, _, err = _task(home, "--attribute", "taste", "--methods", "pop", *FLAGS)
    assert rc == 2 and "--methods takes finetune, adapter, ppr-light, ppr-full" in err


def test_the_markdown_table_says_how_to_read_it(home) -> None:
    rc, out, _ = _task(home, "--attribute", "taste", "--methods", "finetune", *FLAGS)
    assert rc == 0 and "| majority |" in out and "Benjamini-Hochberg" in out and "[" in out
