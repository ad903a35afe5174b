"""Try a user: with no tuned run the page says what to run; otherwise a typed profile and first clicks give the
cell's fine-tuning and PPR top-10 side by side, exactly the library's recommendations, changing with each click
and never repeating one."""

from __future__ import annotations

import numpy as np
from _apptest import empty_home, start, texts  # noqa: F401

from ppr.data.store import Store
from ppr.report.recommend import Query, recommend
from ppr.runs.folder import RunFolder
from ppr.runs.pipeline import load_model

PAGE = "views/try_user.py"


def test_no_tuned_run_says_what_to_do(empty_home) -> None:
    at = start(PAGE)
    assert "No tuned run with a profile yet" in texts(at.info)


def tables(at) -> list[list[str]]:
    return [list(d.value["item_id"]) for d in at.dataframe]


def test_profile_and_clicks_give_each_methods_top10(sweep_home) -> None:
    home, _ = sweep_home
    store = Store(home)
    at = start(PAGE)
    cell = next(r for r in at.selectbox(key="try_run").options if "ppr-light," in r and "k=2" in r).split(" ")[0]
    at.selectbox(key="try_run").set_value(cell).run()
    assert not at.exception, at.exception
    run = RunFolder(home / "runs" / cell)
    ds = store.open(run.spec().dataset)
    assert [m.value for m in at.markdown if m.value.startswith("**")][:2] == ["**finetune**", "**ppr-light**"]
    assert "Not in the store for this cell: pop-profile, melu, gce-gnn, adapter, ppr-full" in texts(at.caption)
    zero = tables(at)
    assert len(zero) == 2 and all(len(t) == 10 for t in zero)
    assert "Zero-shot" in texts(at.caption)

    at.selectbox(key=f"try_{ds.ref}_taste").set_value(3).run()
    steps = [tables(at)]
    for n in (1, 2):
        at.multiselect(key=f"try_{ds.ref}_clicks").set_value([3, 7][:n]).run()
        assert not at.exception, at.exception
        assert f"{n}-shot" in texts(at.caption)
        steps.append(tables(at))
    for m in range(2):  # each method's list moved with the profile and with each click
        assert len({tuple(step[m]) for step in [zero, *steps]}) == 4
    shown = steps[-1]
    ppr_light = load_model(store, run)
    expected = recommend(ppr_light, ds, Query(np.array([3, 0]), np.array([3, 7])), 10)
    assert shown[1] == list(expected["item_id"])
    assert not {"i3", "i7"} & set(shown[0] + shown[1])
