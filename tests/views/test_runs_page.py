"""Runs page in AppTest: empty store, the launch form's grid size and submit call, the live list of runs
(made as run folders through ppr.jobs.status), loss curve, failed-run traceback, cancel."""

import os
from pathlib import Path

import pytest
import streamlit as st
from _apptest import app_home, empty_home, sample_template, start, texts, vega_panels, vega_specs  # noqa: F401

from ppr.data.store import Store
from ppr.io import atomic_write_json
from ppr.jobs import control
from ppr.jobs import sweep as sweeps
from ppr.jobs.status import append_metrics, write_status
from ppr.train import estimate

RUNS = "views/runs.py"


def _fake_calibrate(ds, split, warm, cfg, device):
    """Round numbers: 10 batches x 0.1 s + 1 s validation = 2 s per epoch, 2 s final evaluation."""
    return estimate.Calibration(
        "warm" if cfg is None else cfg.label,
        device,
        100,
        32,
        10,
        0.1,
        3,
        50,
        1.0,
        2.0,
        0.0,
        initial_val=cfg is not None,
    )


@pytest.fixture
def fake_timing(monkeypatch: pytest.MonkeyPatch):
    """The launch form's calibration replaced by fixed numbers (and never cached for other tests)."""
    st.cache_data.clear()
    monkeypatch.setattr(estimate, "calibrate", _fake_calibrate)
    yield
    st.cache_data.clear()


def _run(home: Path, rid: str, method: str, **status) -> Path:
    path = home / "runs" / rid
    path.mkdir(parents=True)
    kind = "warm" if method == "warm" else "tune"
    atomic_write_json(
        path / "job.json",
        {"kind": kind, "dataset": "sample@v1", "tune": None if kind == "warm" else {"method": method}},
    )
    write_status(path, **status)
    return path


def _loss_panels(at):
    """The loss curve's panels (one per series, in order: loss first) as their filtered data."""
    spec = next(s for s in vega_specs(at) if s.get("title", "").startswith("Loss"))
    panels = [(view["encoding"]["y"]["title"], df) for _, view, df in vega_panels(spec)]
    assert panels[0][0] == "loss" and all(set(df["series"]) == {name} for name, df in panels), panels
    return [df for _, df in panels]


def test_empty_store_says_what_to_do(empty_home):
    at = start(RUNS)
    info = texts(at.info)
    assert "no dataset yet" in info and "No runs yet" in info
    assert not at.button  # no launch form without a dataset


def test_launch_form_counts_the_grid_and_submits_it(app_home, monkeypatch, fake_timing):
    calls = []

    def fake_start(store, spec):  # queue the runs as the real one does, but spawn no worker
        calls.append(spec)
        return sweeps.submit(store, spec)["id"], 4242

    monkeypatch.setattr(control, "start", fake_start)
    at = start(RUNS)
    # warm: 200 epochs x 2 s + 2 s = 402 s, or 21 epochs (patience 20) = 44 s; 3 tunes: 50 x 2 + 1 + 2 = 103 s or 13 s
    assert (
        "**3 tuning runs** (0 already done) and **1 warm run** (0 already done): up to **12 min** if no run "
        "stops early (early stopping can cut it to 83 s)"
    ) in texts(at.markdown)
    assert "warm: 10 batches × 100 ms + validation 1.0 s per epoch, 21–200 epochs" in texts(at.caption)
    assert "No runs yet" in texts(at.info)
    at.text_input(key="k_shots").set_value("1, all")
    at.text_input(key="seeds").set_value("0,1")
    at.multiselect(key="ablations").set_value(["no-cl"]).run()
    # 3 methods x 2 k x 2 seeds = 12, plus the no-cl variant of the 2 PPR methods = 8 more
    assert "**20 tuning runs** (0 already done) and **2 warm runs**" in texts(at.markdown)
    assert "Time measured on cpu" in texts(at.caption) and "one after another" in texts(at.caption)

    at.text_input(key="noises").set_value("0,x").run()
    assert "Noise rates '0,x' is invalid" in texts(at.error)
    at.text_input(key="noises").set_value("0,0.3")
    at.number_input(key="epochs").set_value(3)
    at.checkbox(key="behavior_aug").uncheck()
    at.selectbox(key="device").set_value("cpu").run()
    # 2 warm runs (402 s or 44 s each) and 40 tunes of 3 epochs (3 x 2 + 1 + 2 = 9 s: 3 <= patience, no early stop)
    assert "**40 tuning runs** (0 already done) and **2 warm runs** (0 already done): up to **19 min**" in texts(
        at.markdown
    )
    assert "(early stopping can cut it to 7 min)" in texts(at.markdown)
    at.button(key="launch").click().run()
    assert not at.exception, at.exception
    assert len(calls) == 1
    spec = calls[0]
    assert (spec.dataset, spec.methods, spec.k_shots, spec.noises, spec.seeds) == (
        "sample@v1",
        ["finetune", "ppr-light", "ppr-full"],
        [1, None],
        [0.0, 0.3],
        [0, 1],
    )
    assert spec.ablations == ["none", "no-cl"] and spec.device == "cpu"
    assert spec.tune["epochs"] == 3 and spec.tune["behavior_aug"] is False and spec.tune["cl"] is True
    sid = sweeps.list_sweeps(Store(app_home))[0]
    assert at.query_params["sweep"] == sid and at.selectbox(key="_runs_show").value == sid
    assert f"Sweep **{sid}** submitted; worker 4242" in texts(at.success)
    table = at.dataframe[0].value
    assert len(table) == 42 and set(table["state"]) == {"queued"}  # 40 cells and 2 warm runs

    again = start(RUNS, sweep=sid)  # a refreshed tab finds the sweep through the URL
    assert again.selectbox(key="_runs_show").value == sid


def test_list_shows_runs_loss_curve_error_and_cancels(app_home, monkeypatch, fake_timing):
    live = _run(
        app_home,
        "tune-ppr-light-live",
        "ppr-light",
        state="running",
        pid=os.getpid(),
        epoch=2,
        max_epochs=4,
        progress=0.5,
    )
    for epoch, loss in ((1, 0.9), (2, 0.7)):
        append_metrics(live, {"epoch": epoch, "loss": loss, "val_ndcg@10": 0.1 * epoch})
    _run(
        app_home,
        "warm-broken",
        "warm",
        state="failed",
        error="RuntimeError: boom",
        traceback="Traceback (most recent call last):\nRuntimeError: boom",
    )
    cancelled = []
    monkeypatch.setattr(control, "cancel", lambda store, ident: cancelled.append(ident) or "sent SIGTERM")

    at = start(RUNS)
    table = at.dataframe[0].value
    assert list(table["id"]) == ["tune-ppr-light-live", "warm-broken"]
    assert list(table["state"]) == ["running", "failed"] and list(table["progress"]) == [0.5, 0.0]
    assert list(table["method"]) == ["ppr-light", "warm"]
    assert at.selectbox(key="_runs_run").value == "tune-ppr-light-live"  # the running one first
    loss, ndcg = _loss_panels(at)
    assert list(loss["epoch"]) == [1, 2] and list(loss["value"]) == [0.9, 0.7]
    assert list(ndcg["epoch"]) == [1, 2] and list(ndcg["value"]) == pytest.approx([0.1, 0.2])

    at.button(key="cancel_tune-ppr-light-live").click().run()
    assert not at.exception, at.exception
    assert cancelled == ["tune-ppr-light-live"]

    at.selectbox(key="_runs_run").set_value("warm-broken").run()
    assert "RuntimeError: boom" in texts(at.error)
    assert "Traceback (most recent call last)" in at.expander[-1].code[0].value
    assert at.button(key="cancel_warm-broken").disabled and not at.button(key="resume_warm-broken").disabled


def test_a_finished_sweep_from_the_url_shows_done_runs_curves_and_estimates_from_them(sweep_home):
    home, sid = sweep_home
    at = start(RUNS, sweep=sid)
    assert at.selectbox(key="_runs_show").value == sid
    table = at.dataframe[0].value
    assert len(table) == 14 and set(table["state"]) == {"done"} and set(table["progress"]) == {1.0}  # 12 cells, 2 warm
    assert f"Sweep **{sid}** (planted@v1): done" in at.get("progress")[0].proto.text
    assert list(_loss_panels(at)[0]["epoch"]) == [1, 2]  # 2 epochs logged
    assert "test_ndcg@10" in at.dataframe[1].value.columns or "warm_test_ndcg@10" in at.dataframe[1].value.columns
    markdown, caption = texts(at.markdown), texts(at.caption)  # measured for real: planted data, default settings
    assert "**3 tuning runs** (0 already done) and **1 warm run** (0 already done): up to **" in markdown
    assert "Time measured on cpu" in caption and "finetune: " in caption and "ppr-full: " in caption
    assert "this dataset's 12 finished tuning runs took" in caption
    assert at.button(key=f"resume_sweep_{sid}").disabled and at.button(key=f"cancel_sweep_{sid}").disabled


def test_choices_survive_a_visit_to_another_page(sweep_home, fake_timing):
    home, sid = sweep_home
    at = start(RUNS, sweep=sid)
    run = at.dataframe[0].value["id"].iloc[3]
    at.selectbox(key="_runs_run").set_value(run).run()
    at.text_input(key="seeds").set_value("0,1,2").run()
    at.switch_page("views/home.py").run()
    at.query_params.clear()  # as st.navigation does when the user leaves the page
    at.switch_page(RUNS).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="_runs_show").value == sid and at.selectbox(key="_runs_run").value == run
    assert at.text_input(key="seeds").value == "0,1,2"
