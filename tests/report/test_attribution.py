"""Which attribute matters: on planted data the attribute that carries the taste comes first for PPR and for
pop-profile, the one that carries nothing changes nearly nothing; per-user rows add up to the summary."""

from __future__ import annotations

import numpy as np
import pytest

from ppr.data.store import Store
from ppr.errors import InputError
from ppr.report.attribution import PER_USER, SUMMARY, per_user, summary
from ppr.runs.folder import RunFolder
from ppr.runs.pipeline import evaluated


def attributed(tuned_home, method: str):
    home, runs = tuned_home
    store = Store(home)
    ev = evaluated(store, RunFolder(store.runs_dir / runs[method]))
    rows = per_user(ev)
    return ev, rows, summary(rows, ev.codes, [a["name"] for a in ev.dataset.attributes])


@pytest.mark.parametrize("method", ["ppr-light", "pop-profile"])
def test_the_planted_attribute_comes_first(tuned_home, method: str) -> None:
    ev, rows, table = attributed(tuned_home, method)
    assert list(table.columns) == SUMMARY and list(rows.columns) == PER_USER
    assert list(table["attribute"]) == ["taste", "noise"]
    taste, noise = table.iloc[0], table.iloc[1]
    assert taste["rank_low"] > 0  # leaving the taste out drops the real next clicks, beyond doubt
    assert noise["rank_low"] < taste["rank_low"] and noise["rank_change"] < taste["rank_change"] / 5
    # and never changes less of what the user sees (users with clicks: the sequence holds most of the top 10)
    assert taste["top10_overlap"] <= noise["top10_overlap"]
    n_test = len(np.unique(ev.split.targets.loc[ev.split.targets["group"] == "test", "user"]))
    assert taste["n_users"] == n_test and taste["share_missing"] == 0.0
    mine = rows[rows["attribute"] == "taste"]
    assert taste["rank_change"] == pytest.approx(mine["rank_change"].mean())
    assert ((rows["top10_overlap"] >= 0) & (rows["top10_overlap"] <= 1)).all()


def test_a_warm_run_is_refused(tuned_home) -> None:
    home, runs = tuned_home
    warm = next(p.name for p in (home / "runs").iterdir() if "-warm-" in p.name)
    with pytest.raises(InputError, match="warm run"):
        evaluated(Store(home), RunFolder(home / "runs" / warm))
