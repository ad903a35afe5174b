"""Runs page in AppTest: empty store, the launch form's grid size, time estimate (drawn after the form and the
list) and submit call (the sweep it builds is the CLI's for the same settings), the target domain of a cross-domain
sweep (offered for a dataset with item domains only), the live list of runs (run folders written here through
ppr.runs), loss curve, failed-run traceback, cancel, and choices kept across a visit to another page."""

import os
import shlex
from pathlib import Path

import pytest
import streamlit as st
from _apptest import APP, TIMEOUT, app_home, empty_home, sample_template, start, texts, vega_panels, vega_specs  # noqa: F401
from _domains import planted_domains
from streamlit.testing.v1 import AppTest

from ppr.cli import build_parser
from ppr.cli.jobs import sweep_spec
from ppr.data.store import Store
from ppr.jobs import control, estimate
from ppr.jobs import sweep as sweeps
from ppr.report.results import result_table
from ppr.runs.folder import RunFolder
from ppr.runs.status import append_metrics, write_status
from ppr.spec.run import RunSpec, TuneSpec

RUNS = "views/runs.py"


def _fake_calibrate(ds, spec: RunSpec, device: str) -> estimate.Calibration:
    """Round numbers: 10 batches x 0.1 s + 1 s validation = 2 s per epoch, 1 s validation before it, 2 s final."""
    what = "warm" if spec.tune is None else spec.tune.label
    return estimate.Calibration(what, device, 100, 32, 10, 0.1, 3, 50, 1.0, 2.0, 0.0)


@pytest.fixture
def fake_timing(monkeypatch: pytest.MonkeyPatch):
    """The launch form's calibration replaced by fixed numbers (and never cached for other tests)."""
    st.cache_data.clear()
    monkeypatch.setattr(estimate, "calibrate", _fake_calibrate)
    yield
    st.cache_data.clear()


@pytest.fixture
def submitted(monkeypatch: pytest.MonkeyPatch) -> list:
    """control.start queues the runs as the real one does but spawns no worker; the sweeps it got, in order."""
    calls = []

    def fake_start(store, sweep, device="auto", max_workers=None):
        calls.append((sweep, device))
        return sweeps.submit(store, sweep, device)["id"], 4242

    monkeypatch.setattr(control, "start", fake_start)
    return calls


def _run(home: Path, rid: str, tune: TuneSpec | None, **status) -> Path:
    """A run folder named `rid` holding a real spec.json (of the sample dataset) and the given status."""
    ds = Store(home).open("sample")
    run = RunFolder(home / "runs" / rid)
    run.write_spec(RunSpec(ds.ref, ds.content_hash, tune=tune))
    write_status(run.path, **status)
    return run.path


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


def _three_methods_one_fold(at):
    """The grid of the tests' expectations: fine-tuning and both PPRs, every cold user in one test fold."""
    at.multiselect(key="methods").set_value(["finetune", "ppr-light", "ppr-full"])
    at.number_input(key="folds").set_value(1)
    return at.run()


def test_launch_form_counts_the_grid_and_submits_it(app_home, submitted, fake_timing):
    at = start(RUNS)
    assert at.multiselect(key="methods").value == ["pop", "pop-profile", "finetune", "ppr-light", "ppr-full"]
    assert at.number_input(key="folds").value is None  # auto: every cold user tested once
    at = _three_methods_one_fold(at)
    # warm: 1 + 40 epochs x 2 s + 2 s = 83 s, or 10 epochs (patience 10) = 23 s; 3 tunes: 1 + 50 x 2 + 2 = 103 s
    # or 5 epochs (patience 5) = 13 s: 392 s (7 min) in all, 62 s with the earliest stops
    assert (
        "**3 tuning runs** (0 already done) and **1 warm run** (0 already done): up to **7 min** if no run "
        "stops early (early stopping can cut it to 62 s)"
    ) in texts(at.markdown)
    assert "warm: 10 batches × 100 ms + validation 1.0 s per epoch, 10–40 epochs" in texts(at.caption)
    assert "finetune: 10 batches × 100 ms + validation 1.0 s per epoch, 5–50 epochs" in texts(at.caption)
    assert "No runs yet" in texts(at.info)
    at.text_input(key="k_shots").set_value("1, all")
    at.text_input(key="seeds").set_value("0,1")
    at.multiselect(key="ablations").set_value(["no-cl"]).run()
    # 3 methods x 2 k x 2 seeds = 12, plus the no-cl variant of the 2 PPR methods = 8 more
    assert "**20 tuning runs** (0 already done) and **2 warm runs**" in texts(at.markdown)
    assert "Time measured on cpu" in texts(at.caption) and "one after another" in texts(at.caption)

    at.text_input(key="noises").set_value("0,x").run()
    assert "Tuning setting noise='x' is invalid: expected a finite number >= 0 and <= 1" in texts(at.error)
    assert not [b for b in at.button if b.key == "launch"]  # no plan, no launch
    at.text_input(key="noises").set_value("0,0.3")
    at.number_input(key="epochs").set_value(3)
    at.checkbox(key="behavior_aug").uncheck()
    at.selectbox(key="device").set_value("cpu").run()
    # 2 warm runs (83 s or 23 s each) and 40 tunes of 3 epochs (1 + 3 x 2 + 2 = 9 s: 3 <= patience, no early stop)
    assert "**40 tuning runs** (0 already done) and **2 warm runs** (0 already done): up to **9 min**" in texts(
        at.markdown
    )
    assert "(early stopping can cut it to 7 min)" in texts(at.markdown)
    at.button(key="launch").click().run()
    assert not at.exception, at.exception
    assert len(submitted) == 1
    sweep, device = submitted[0]
    assert (sweep.base.dataset, sweep.methods, sweep.k_shots, sweep.noises, sweep.seeds) == (
        "sample@v1",
        ("finetune", "ppr-light", "ppr-full"),
        (1, None),
        (0.0, 0.3),
        (0, 1),
    )
    assert sweep.ablations == ("none", "no-cl") and device == "cpu"
    tune = sweep.base.tune
    assert tune.epochs == 3 and tune.behavior_aug is False and tune.cl is True and tune.lr is None
    sid = sweeps.list_sweeps(Store(app_home))[0]
    assert sid == sweep.sweep_id
    assert at.query_params["sweep"] == sid and at.selectbox(key="_runs_show").value == sid
    assert f"Sweep **{sid}** submitted; worker 4242" in texts(at.success)
    table = at.dataframe[0].value
    # 40 cells and 2 warm runs; the fake worker 4242 does not exist, so the list says so
    assert len(table) == 42 and set(table["state"]) == {"queued, no worker"}

    again = start(RUNS, sweep=sid)  # a refreshed tab finds the sweep through the URL
    assert again.selectbox(key="_runs_show").value == sid


class StillTiming(Exception):
    """Stands for a calibration still running: the page as it is drawn up to that moment."""


def test_the_form_and_the_list_show_before_the_estimate_and_launching_does_not_wait(app_home, submitted, monkeypatch):
    st.cache_data.clear()
    calls = []

    def timing(ds, spec: RunSpec, device: str) -> estimate.Calibration:
        calls.append(spec)
        raise StillTiming

    monkeypatch.setattr(estimate, "calibrate", timing)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page(RUNS).run()
    assert calls and at.exception  # stopped in the first calibration ...
    assert "**25 tuning runs** (0 already done) and **1 warm run** (0 already done): estimating ..." in texts(
        at.markdown
    )
    assert not at.button(key="launch").disabled and "No runs yet" in texts(at.info)  # ... after the form and list
    calls.clear()
    at.button(key="launch").click().run()
    assert len(submitted) == 1 and calls  # submitted before the (re)run reached the estimate again
    assert f"Sweep **{submitted[0][0].sweep_id}** submitted" in texts(at.success)

    monkeypatch.setattr(estimate, "calibrate", _fake_calibrate)  # the timing done: the estimate fills its place
    at.run()
    assert not at.exception, at.exception
    markdown = texts(at.markdown)
    assert "**25 tuning runs** (0 already done) and **1 warm run** (0 already done): up to **" in markdown
    assert "estimating" not in markdown and "Time measured on cpu" in texts(at.caption)
    assert at.button(key="launch")
    st.cache_data.clear()


def test_the_form_builds_the_sweep_the_cli_builds_from_the_same_settings(app_home, submitted, fake_timing):
    at = start(RUNS)
    at.multiselect(key="methods").set_value(["ppr-full", "finetune"])
    at.text_input(key="k_shots").set_value("3,all")
    at.text_input(key="noises").set_value("0.2")
    at.text_input(key="seeds").set_value("4,5")
    at.multiselect(key="ablations").set_value(["no-prompt-aug"])
    at.checkbox(key="cl").uncheck()
    at.number_input(key="prompt_tokens").set_value(2)
    at.number_input(key="epochs").set_value(7)
    at.number_input(key="lr").set_value(0.002)
    at.number_input(key="warm_epochs").set_value(30)
    at.number_input(key="warm_max_len").set_value(20)
    at.number_input(key="warm_d").set_value(32)
    at.number_input(key="warm_layers").set_value(1)
    at.selectbox(key="warm_backbone").select("gru4rec")
    at.number_input(key="folds").set_value(1).run()
    assert not at.exception and not at.error, (at.exception, at.error)
    at.button(key="launch").click().run()
    assert not at.exception, at.exception
    [(form, _)] = submitted

    argv = shlex.split(
        "sweep sample --methods ppr-full,finetune --k-shots 3,all --noise 0.2 --seeds 4,5 "
        "--ablations none,no-prompt-aug --no-cl --prompt-tokens 2 --epochs 7 --lr 0.002 "
        "--warm-epochs 30 --max-len 20 --d 32 --layers 1 --folds 1 --backbone gru4rec"
    )
    cli = sweep_spec(build_parser("sweep").parse_args(argv), Store(app_home))
    assert form == cli and form.sweep_id == cli.sweep_id
    assert [s.run_id for _, s in form.cells()] == [s.run_id for _, s in cli.cells()]
    assert len(form.cells()) == (2 + 1) * 2 * 2  # (ppr-full's two ablations + finetune) x 2 k-shots x 2 seeds
    body = sweeps.read_sweep(Store(app_home), form.sweep_id)  # what the worker would compute
    assert [c["run_id"] for c in body["cells"]] == [s.run_id for _, s in cli.cells()]
    spec = form.cells()[0][1]
    assert (spec.backbone.max_len, spec.backbone.d, spec.backbone.n_layers, spec.warm.epochs) == (20, 32, 1, 30)
    assert spec.backbone.kind == "gru4rec"
    assert (spec.tune.prompt_tokens, spec.tune.epochs, spec.tune.lr, spec.tune.cl) == (2, 7, 0.002, False)


def test_list_shows_runs_loss_curve_error_and_cancels(app_home, monkeypatch, fake_timing):
    live = _run(
        app_home,
        "tune-ppr-light-live",
        TuneSpec(method="ppr-light"),
        state="running",
        pid=os.getpid(),
        epoch=2,
        max_epochs=4,
        progress=0.5,
    )
    append_metrics(live, {"epoch": 0, "loss": None, "val_ndcg@10": 0.05})  # the model before training
    for epoch, loss in ((1, 0.9), (2, 0.7)):
        append_metrics(live, {"epoch": epoch, "loss": loss, "val_ndcg@10": 0.1 * epoch})
    _run(
        app_home,
        "warm-broken",
        None,
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
    assert list(ndcg["epoch"]) == [0, 1, 2] and list(ndcg["value"]) == pytest.approx([0.05, 0.1, 0.2])

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
    shown = at.selectbox(key="_runs_run").value
    assert shown == sweeps.read_sweep(Store(home), sid)["runs"][0]  # the sweep's first run: a warm run
    loss, ndcg = _loss_panels(at)
    assert list(loss["epoch"]) == [1, 2] and list(ndcg["epoch"]) == [0, 1, 2]  # 2 epochs, validated before too
    result = at.dataframe[1].value
    assert result.equals(result_table(RunFolder(home / "runs" / shown)))
    assert set(result["evaluated"]) == {"warm_val", "warm_test"}
    at = _three_methods_one_fold(at)
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


def test_a_stranded_queued_run_says_how_to_start_a_worker_and_a_damaged_one_is_named(
    app_home, monkeypatch, fake_timing
):
    _run(app_home, "tune-stranded", TuneSpec(method="finetune"), state="queued")  # its worker was killed
    damaged = _run(app_home, "warm-damaged", None, state="done")
    (damaged / "spec.json").write_bytes(bytes(range(256)))
    resumed = []
    monkeypatch.setattr(control, "resume", lambda store, ident: resumed.append(ident) or 4242)

    at = start(RUNS)
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["id"]) == ["tune-stranded"] and list(table["state"]) == ["queued, no worker"]
    warnings = texts(at.warning)
    assert "warm-damaged" in warnings and "spec.json" in warnings  # named once, the rest of the list intact
    assert "runs resume tune-stranded" in warnings  # the command that starts a worker
    assert not at.button(key="resume_tune-stranded").disabled
    at.button(key="resume_tune-stranded").click().run()
    assert resumed == ["tune-stranded"]


@pytest.fixture
def domains_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$PPR_HOME holding planted@v1 (one domain) and planted@v2 (its items cut into a source and a target domain)."""
    home = tmp_path / "home"
    home.mkdir()
    planted_domains(home, n_users=300)
    monkeypatch.setenv("PPR_HOME", str(home))
    return home


def test_the_target_domain_is_offered_for_a_dataset_with_domains_and_launches_a_cross_domain_sweep(
    domains_home, submitted, fake_timing
):
    at = start(RUNS, dataset="planted@v1")  # one domain: nothing to choose
    assert not [box for box in at.selectbox if box.key == "target_domain"]
    at.multiselect(key="methods").set_value(["minet"]).run()
    assert "minet is a cross-domain baseline: it needs a target domain" in texts(at.error)  # the spec's own check

    at = start(RUNS)  # the newest version, planted@v2, declares two domains
    box = at.selectbox(key="target_domain")
    assert box.options == ["none (one domain)", "source (150 items)", "target (50 items)"] and box.value == "none"
    assert "one catalogue cut in two" in texts(at.caption)  # its domains were cut from its categories
    box.select("target")
    at.number_input(key="folds").set_value(1).run()
    assert "ppr-light keeps the warmed item embeddings frozen" in texts(at.error)  # among the default methods
    assert not [b for b in at.button if b.key == "launch"]
    at.multiselect(key="methods").set_value(["pop", "minet", "finetune", "ppr-full"]).run()
    assert not at.exception and not at.error, (at.exception, at.error)
    assert "**4 tuning runs** (0 already done) and **1 warm run** (0 already done)" in texts(at.markdown)
    at.button(key="launch").click().run()
    assert not at.exception, at.exception
    [(sweep, _)] = submitted
    assert sweep.base.dataset == "planted@v2" and sweep.base.split.target_domain == "target"
    assert [s.tune.method for _, s in sweep.cells()] == ["pop", "minet", "finetune", "ppr-full"]
    store = Store(domains_home)
    queued = [RunFolder(store.runs_dir / r).spec() for r in sweeps.read_sweep(store, sweep.sweep_id)["runs"]]
    assert len(queued) == 5 and {s.split.target_domain for s in queued} == {"target"}  # the warm run's too
