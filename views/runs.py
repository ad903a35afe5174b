"""Runs: launch a tune or a sweep on the active dataset in a background worker (cross-domain when the dataset declares
item domains and a target domain is chosen); watch, cancel and resume runs.

Everything lives in the run folders (ppr.runs, ppr.jobs), so a refreshed tab or a CLI-started
sweep shows the same runs; the sweep id in the URL (?sweep=ID) brings the view back. The launch
form and the list show at once; the time estimate (a few timed training steps per run shape,
cached) fills its place at the end of the script run, and launching never waits for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from ppr.data.splits import fold_count
from ppr.data.store import Dataset, Store, os_error_message
from ppr.errors import InputError
from ppr.jobs import control, estimate
from ppr.jobs import plan as plans
from ppr.jobs import sweep as sweeps
from ppr.report.crossdomain import derived_note
from ppr.report.results import result_table
from ppr.runs.folder import RunFolder
from ppr.runs.status import read_metrics, read_status
from ppr.spec.run import METHODS, BackboneSpec, RunSpec, SplitSpec, TuneSpec, WarmSpec
from ppr.spec.settings import parse_list
from ppr.spec.sweep import ABLATIONS, SweepSpec
from ui import cached
from ui.charts import loss_curve
from ui.downloads import chart_downloads
from ui.spec_form import setting_input
from ui.state import active_dataset, flash, get_store, kept, show_flash

SWEEP_KEY = "sweep"  # query parameter naming the sweep the list shows
ALL_RUNS = "(all runs)"
_SHOW = "_runs_show"  # the list's sweep selector
_RUN = "_runs_run"  # the run whose details show

store = get_store()
ds = active_dataset(store)


@st.cache_data(show_spinner=False, max_entries=256)
def calibration(home: str, ref: str, content_hash: str, spec: str, device: str) -> estimate.Calibration:
    """Measured once per dataset content, timing-relevant settings (spec: its JSON) and device."""
    ds = Store(home).open(ref)
    return estimate.calibrate(ds, RunSpec.from_dict(json.loads(spec)), device)


@st.cache_data(show_spinner=False, max_entries=64)
def folds(path: str, content_hash: str, spec: str) -> int:
    """The split's number of folds (every cell is tested on each), once per dataset version and split settings."""
    return fold_count(Dataset(Path(path)), RunSpec.from_dict(json.loads(spec)).split)


def target_domain_input(store: Store, ds: Dataset) -> str | None:
    """The target domain of a cross-domain sweep, offered when the dataset declares two or more item domains."""
    domains = cached.domains(str(ds.path), ds.content_hash)
    if len(domains) < 2:
        return None
    left, right = st.columns([1, 3])
    choices = {"none": "none (one domain)", **{name: f"{name} ({n:,} items)" for name, n in domains.items()}}
    target = setting_input(left, SplitSpec, "target_domain", "Target domain", "target_domain", choices=choices)
    note = derived_note(store, ds.ref)
    right.caption(
        "Cross-domain (the paper's Table VII): the warm run reads the other domains' clicks, and the users cold in "
        "the target domain are tuned and tested; Compare shows the sweep as Table VII." + (f" {note}" if note else "")
    )
    return target


def sweep_from_form(store: Store, ds: Dataset) -> tuple[SweepSpec, str]:
    """The sweep the form describes and the device it asks for."""
    a, b, c, d = st.columns(4)
    methods = a.multiselect(
        "Methods", METHODS, default=["pop", "pop-profile", "finetune", "ppr-light", "ppr-full"], key=kept("methods")
    )
    k_text = b.text_input("k-shots", "all", key=kept("k_shots"), help="comma list of integers >= 1 or 'all'")
    noise_text = c.text_input(
        "Noise rates", "0", key=kept("noises"), help="comma list of profile noise rates in [0, 1]"
    )
    seeds_text = d.text_input("Seeds", "0", key=kept("seeds"), help="comma list of integers")
    a, b, c, d = st.columns(4)
    toggles = {
        name: setting_input(col, TuneSpec, name, label, name)
        for col, name, label in (
            (a, "cl", "Contrastive learning (CL)"),
            (b, "prompt_aug", "Prompt augmentation"),
            (c, "behavior_aug", "Behaviour augmentation"),
        )
    }
    ablations = d.multiselect(
        "Also run ablations",
        [x for x in ABLATIONS if x != "none"],
        key=kept("ablations"),
        help="extra PPR cells without CL or one augmentation (the paper's ablation)",
    )
    a, b, c, d = st.columns(4)
    tune = {
        "prompt_tokens": setting_input(a, TuneSpec, "prompt_tokens", "Prompt tokens", "prompt_tokens"),
        "epochs": setting_input(b, TuneSpec, "epochs", "Tuning epochs", "epochs", optional=True),
        "lr": setting_input(c, TuneSpec, "lr", "Learning rate", "lr", optional=True),
        **toggles,
    }
    device = d.selectbox("Device", ["auto", "cpu", "cuda"], key=kept("device"))
    target = target_domain_input(store, ds)
    with st.expander("Split and warm-training (backbone) settings"):
        w = st.columns(6)
        split = SplitSpec(
            folds=setting_input(w[0], SplitSpec, "folds", "Folds of cold users", "folds", optional=True),
            target_domain=target,
        )
        warm = WarmSpec(epochs=setting_input(w[1], WarmSpec, "epochs", "Warm epochs", "warm_epochs"))
        backbone = BackboneSpec(
            kind=setting_input(w[2], BackboneSpec, "kind", "Backbone", "warm_backbone"),
            max_len=setting_input(w[3], BackboneSpec, "max_len", "Max length", "warm_max_len"),
            d=setting_input(w[4], BackboneSpec, "d", "Hidden size", "warm_d"),
            n_layers=setting_input(w[5], BackboneSpec, "n_layers", "Layers", "warm_layers"),
        )
    base = RunSpec(ds.ref, ds.content_hash, split, backbone, warm)
    sweep = SweepSpec.grid(
        base,
        tuple(methods),
        parse_list(TuneSpec, "k_shot", k_text),
        parse_list(TuneSpec, "noise", noise_text),
        parse_list(TuneSpec, "seed", seeds_text),
        ("none", *ablations),
        TuneSpec(**tune),
        folds(ds.path, ds.content_hash, plans.spec_json(base)),
    )
    return sweep, device


def launch_form(store: Store, ds: Dataset) -> Callable[[], None] | None:
    """The form and its Launch button; returns what fills in the time estimate (None: nothing to estimate)."""
    st.subheader("Launch")
    st.caption(
        f"On **{ds.ref}**. One method, one k-shot, one noise rate and one seed is a single tune; "
        "lists make a sweep (every combination), each tested on every fold of cold users. Each seed warm-trains "
        "the backbone once, shared by its cells."
    )
    try:
        sweep, device = sweep_from_form(store, ds)
        grid = plans.sweep_grid(store, sweep)
    except InputError as exc:
        st.error(str(exc))
        return None
    nothing_to_do = not grid.todo
    line, note = st.empty(), st.empty()
    line.markdown(f"{grid.counts_text()}" + ("." if nothing_to_do else ": estimating ..."))
    if nothing_to_do:
        note.caption("Every run of this grid is done already: its results are in the list below and on Compare.")
    if st.button("Launch", type="primary", key="launch", disabled=nothing_to_do):
        try:
            sid, pid = control.start(store, sweep, device)
        except OSError as exc:  # a full disk, a read-only store: one paragraph, not a traceback
            st.error(os_error_message(exc, "launch the sweep"))
            return None
        st.query_params[SWEEP_KEY] = sid
        st.session_state[_SHOW] = sid
        flash("success", f"Sweep **{sid}** submitted; worker {pid} computes it in the background.")
        st.rerun()
    return None if nothing_to_do else lambda: show_estimate(store, ds, grid, device, line, note)


def show_estimate(
    store: Store, ds: Dataset, grid: plans.Grid, device: str, line: DeltaGenerator, note: DeltaGenerator
) -> None:
    """The grid's time estimate and what it rests on, in the placeholders the form left for them."""
    dev = plans.device_name(device)
    try:
        p = plans.make_plan(
            store,
            ds,
            grid,
            dev,
            lambda spec: calibration(str(store.home), ds.ref, ds.content_hash, plans.spec_json(spec), dev),
        )
    except InputError as exc:
        line.error(str(exc))
        return
    line.markdown(f"{grid.counts_text()}: {p.time_text()}.")
    busy = sum(r["state"] == "running" and not r["stale"] for r in control.run_rows(store, warn=None))
    note.caption(p.caption(busy))


def _act(action: Callable[[], str]) -> None:
    """Run a button's action; its message as a toast, an error as one paragraph."""
    try:
        st.toast(action())
    except InputError as exc:
        st.error(str(exc))
    except OSError as exc:
        st.error(os_error_message(exc, "do that"))


def run_detail(store: Store, row: dict) -> None:
    """One run of the list: progress, cancel/resume, what to do when it is stranded, error, loss curve, result."""
    rid = row["id"]
    run = RunFolder(store.runs_dir / rid)
    status = read_status(run.path)
    try:
        state = control.shown_state(status, run.info(), row["worker"])
    except InputError as exc:  # damaged since the list was read
        st.warning(str(exc))
        return
    max_epochs = status.get("max_epochs")
    st.progress(
        float(status.get("progress") or 0),
        text=f"{state} · epoch {status.get('epoch', 0)}" + (f" of {max_epochs}" if max_epochs else ""),
    )
    stranded = status["state"] == "queued" and not row["worker"]
    left, right, _ = st.columns([1, 1, 4])
    if left.button("Cancel", key=f"cancel_{rid}", disabled=status["state"] not in ("queued", "running")):
        _act(lambda: control.cancel(store, rid))
    if right.button(
        "Resume", key=f"resume_{rid}", disabled=status["state"] not in ("failed", "cancelled") and not stranded
    ):
        _act(lambda: f"worker {control.resume(store, rid)} resumes {rid}")
    if stranded:
        st.warning(
            f"Queued, but no worker will take it (its worker was stopped or killed). Resume starts one; "
            f"from a shell: `{row['next']}`."
        )
    if status["state"] == "failed":
        st.error(status.get("error") or "The run failed.")
        with st.expander("Traceback", expanded=False):
            st.code(status.get("traceback") or "(no traceback recorded)", language="text")
    metrics = read_metrics(run.path)
    if any("epoch" in r and r.get("loss") is not None for r in metrics):
        curve = loss_curve(metrics)
        st.altair_chart(curve, key=f"loss_{rid}", width="content")  # fixed-width panels
        chart_downloads(curve, f"{rid}-loss", f"dl_loss_{rid}")
    if run.is_complete:
        st.dataframe(result_table(run), hide_index=True)


def sweep_header(store: Store, sid: str) -> list[str]:
    """The sweep's progress and its cancel/resume buttons; returns its run ids."""
    body = sweeps.read_sweep(store, sid)
    counts = ", ".join(f"{n} {s}" for s, n in body["counts"].items() if n)
    state = "failed (worker gone)" if body.get("stale") else body["state"]
    st.progress(body["progress"], text=f"Sweep **{sid}** ({body['dataset']}): {state} · {counts}")
    left, right, _ = st.columns([1, 1, 4])
    if left.button("Cancel sweep", key=f"cancel_sweep_{sid}", disabled=body["state"] not in ("queued", "running")):
        _act(lambda: control.cancel(store, sid))
    if right.button(
        "Resume sweep",
        key=f"resume_sweep_{sid}",
        disabled=not (body["counts"]["failed"] or body["counts"]["cancelled"] or body["stranded"]),
    ):
        _act(lambda: f"worker {control.resume(store, sid)} resumes sweep {sid}")
    if body["stranded"]:
        st.warning(
            f"{body['stranded']} queued runs of this sweep have no worker (it was stopped or killed). "
            f"Resume sweep starts one; from a shell: `{body['next']}`."
        )
    return body["runs"]


@st.fragment(run_every=2)
def live_runs(store: Store) -> None:
    """Re-read the run folders every 2 s (only this part of the page reruns)."""
    skipped: list[str] = []
    options = [ALL_RUNS, *sweeps.list_sweeps(store, skipped.append)]
    if st.session_state.get(_SHOW) not in options:  # first run, or a refreshed tab: the URL's sweep
        wanted = st.query_params.get(SWEEP_KEY)
        st.session_state[_SHOW] = wanted if wanted in options else ALL_RUNS
    chosen = st.selectbox("Show", options, key=kept(_SHOW))
    if chosen != ALL_RUNS:
        st.query_params[SWEEP_KEY] = chosen
        rows = control.run_rows(store, sweep_header(store, chosen), skipped.append)
    else:
        if SWEEP_KEY in st.query_params:
            del st.query_params[SWEEP_KEY]
        rows = control.run_rows(store, warn=skipped.append)
    for line in skipped:  # damaged run or sweep folders: left out, each named once
        st.warning(line.removeprefix("warning: "), icon=":material/warning:")
    if not rows:
        st.info(
            "No runs yet. Launch a tune or a sweep above; runs started from a shell "
            f"(`python -m ppr --home {store.home} sweep ...`) appear here too."
        )
        return
    table = pd.DataFrame(rows).assign(state=lambda t: t["shown_state"])
    st.dataframe(
        table[["id", "method", "state", "progress", "epoch", "dataset", "updated"]],
        hide_index=True,
        key="runs_table",
        column_config={"progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0)},
    )
    ids = list(table["id"])
    if st.session_state.get(_RUN) not in ids:  # default: the run being computed, else the first
        st.session_state[_RUN] = next((r["id"] for r in rows if r["state"] == "running"), ids[0])
    states = dict(zip(table["id"], table["state"], strict=True))
    rid = st.selectbox("Run", ids, key=kept(_RUN), format_func=lambda r: f"{r} ({states[r]})")
    run_detail(store, next(r for r in rows if r["id"] == rid))


st.title("Runs")
show_flash()
estimate_later = None
if ds is None:
    st.info(f"The store at `{store.home}` holds no dataset yet. Add one on the Data page, then launch runs here.")
    st.page_link("views/data.py", label="Open Data", icon=":material/database:")
else:
    estimate_later = launch_form(store, ds)
st.subheader("Runs")
live_runs(store)
if estimate_later is not None:  # last: the form and the list are on screen while the runs are timed
    estimate_later()
