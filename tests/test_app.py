"""The shell: first start imports the sample, home says what to do, every view is a page, the active dataset
follows the user, and the choices of kept widgets survive visits to other pages."""

from pathlib import Path

import pytest
import streamlit as st
from _apptest import APP, app_home, empty_home, sample_template, start, texts  # noqa: F401
from streamlit.testing.v1 import AppTest

from ppr.data.store import Store
from ppr.data.synth import synth_dataset
from ppr.jobs import estimate
from ppr.jobs.sweep import submit
from ppr.spec.run import RunSpec, TuneSpec
from ppr.spec.sweep import SweepSpec

VIEWS = Path(APP).parent / "views"


def test_first_start_imports_the_sample_and_says_what_next(tmp_path, monkeypatch):
    monkeypatch.setenv("PPR_HOME", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert list(at.dataframe[0].value["dataset"]) == ["sample@v1"]
    assert int(at.dataframe[0].value["users"].iloc[0]) == 3000
    assert (tmp_path / "datasets" / "sample" / "v1" / "manifest.json").is_file()
    steps = texts(at.markdown)
    assert "`sample@v1`" in steps and "Launch runs" in steps and "For now" not in steps
    links = [(link.proto.label, link.proto.page) for link in at.get("page_link")]
    assert links == [  # in the order a user works through them
        ("Open Data", "data"),
        ("Open Runs", "runs"),
        ("Open Compare", "compare"),
        ("Open Prompt explorer", "prompts"),
    ]
    assert f"python -m ppr --home {tmp_path} warm sample@v1" in at.code[0].value
    assert "Latest sweeps" not in texts(at.subheader)
    assert at.sidebar.selectbox[0].value == "sample@v1"
    assert at.query_params["dataset"] == "sample@v1"

    again = AppTest.from_file(APP, default_timeout=120).run()  # a second start imports nothing new
    assert list(again.dataframe[0].value["dataset"]) == ["sample@v1"]
    assert Store(tmp_path).versions("sample") == [1]


def test_home_links_the_latest_sweeps_to_the_runs_page(app_home):
    store = Store(app_home)
    ds = store.open("sample")
    base = RunSpec(ds.ref, ds.content_hash, tune=TuneSpec())
    sids = [submit(store, SweepSpec(base, (m,), (None,), (0.0,), (0,)))["id"] for m in ("finetune", "ppr-full")]
    at = start()
    assert "Latest sweeps" in texts(at.subheader)
    links = [link.proto for link in at.get("page_link") if link.proto.page == "runs"][1:]  # after "Open Runs"
    assert [link.query_string for link in links] == [f"sweep={sid}" for sid in reversed(sids)]  # newest first
    assert "sample@v1 · 2 runs · submitted " in links[0].label  # its warm run and its tuning run


def test_sidebar_names_the_compute_device(app_home):
    at = start()
    device = texts(at.sidebar.caption)
    assert "Compute:" in device and ("CPU" in device or "CUDA" in device)
    assert str(app_home) in device


def test_active_dataset_is_kept_across_pages_and_in_the_url(app_home):
    synth_dataset(Store(app_home), "tiny", 40, 30, mean_len=5, seed=1, log=lambda m: None)
    at = start()
    assert at.sidebar.selectbox[0].options == ["sample@v1", "tiny@v1"]
    at.sidebar.selectbox[0].select("tiny@v1").run()
    assert "`tiny@v1`" in texts(at.markdown)
    assert at.session_state["active_dataset"] == "tiny@v1"
    assert at.query_params["dataset"] == "tiny@v1"

    at.switch_page("views/data.py").run()
    assert not at.exception
    assert at.title[0].value == "Data · tiny@v1"
    assert at.metric[0].value == "40"  # users of tiny, not of the sample
    assert at.sidebar.selectbox[0].value == "tiny@v1"
    assert at.query_params["dataset"] == "tiny@v1"

    refreshed = start(dataset="tiny@v1")  # a refreshed tab: new session, same URL
    assert refreshed.sidebar.selectbox[0].value == "tiny@v1"
    assert refreshed.query_params["dataset"] == "tiny@v1"
    assert "`tiny@v1`" in texts(refreshed.markdown)
    by_name = start(dataset="tiny")  # a bare name means its latest version
    assert by_name.sidebar.selectbox[0].value == "tiny@v1"
    unknown = start(dataset="gone@v3")
    assert unknown.sidebar.selectbox[0].value == "sample@v1"
    assert unknown.query_params["dataset"] == "sample@v1"


def test_empty_store_every_page_renders_and_says_what_to_do(empty_home):
    at = start()
    assert "holds no dataset yet" in texts(at.info)
    assert not at.sidebar.selectbox
    assert "No dataset yet" in texts(at.sidebar.caption)
    at.switch_page("views/data.py").run()
    assert not at.exception
    assert at.title[0].value == "Data"
    assert at.file_uploader and "One row per click" in texts(at.caption)  # it opens on the import
    assert Store(empty_home).names() == []  # a removed sample is not brought back
    assert not Path(empty_home, "datasets", "sample").exists()


def test_every_view_is_a_page_that_renders(empty_home):
    """Each file of views/ is registered with the navigation (switch_page refuses others) and draws its title."""
    at = start()
    titles = {}
    for view in sorted(p.name for p in VIEWS.glob("*.py") if p.name != "__init__.py"):
        at.switch_page(f"views/{view}").run()
        assert not at.exception, (view, at.exception)
        titles[view] = at.title[0].value
    assert titles == {
        "compare.py": "Compare",
        "data.py": "Data",
        "home.py": "PPR Workbench",
        "prompts.py": "Prompt explorer",
        "runs.py": "Runs",
        "try_user.py": "Try a user",
    }


@pytest.fixture
def quick_estimates(monkeypatch: pytest.MonkeyPatch):
    """The Runs form's time estimate from fixed numbers instead of timing training steps."""
    st.cache_data.clear()
    monkeypatch.setattr(
        estimate,
        "calibrate",
        lambda ds, spec, device: estimate.Calibration("x", device, 1, 1, 1, 0.1, 1, 1, 0.1, 0.1, 0.0),
    )
    yield
    st.cache_data.clear()


def test_kept_widgets_survive_visits_to_other_pages(app_home, quick_estimates):
    """Pages register their selection widgets with ui.state.kept; the app re-saves them before any page runs."""
    at = start("views/runs.py")
    at.multiselect(key="methods").set_value(["ppr-full"])
    at.text_input(key="k_shots").set_value("2,all")
    at.checkbox(key="prompt_aug").uncheck()
    at.number_input(key="epochs").set_value(4)  # an optional setting (empty = the method's default)
    at.number_input(key="warm_d").set_value(32)  # inside the collapsed expander
    at.number_input(key="folds").set_value(1)
    at.selectbox(key="device").set_value("cpu").run()
    assert not at.exception, at.exception
    for page in ("views/data.py", "views/home.py", "views/compare.py", "views/runs.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
    assert at.multiselect(key="methods").value == ["ppr-full"]
    assert at.text_input(key="k_shots").value == "2,all"
    assert at.checkbox(key="prompt_aug").value is False
    assert at.number_input(key="epochs").value == 4 and at.number_input(key="warm_d").value == 32
    assert at.number_input(key="folds").value == 1
    assert at.selectbox(key="device").value == "cpu"
    assert "**2 tuning runs**" in texts(at.markdown)  # the plan follows the kept choices
