"""Runs: launch a tune or a sweep on the active dataset in a background worker; watch, cancel and resume runs.

Everything lives in the run folders (ppr.jobs), so a refreshed tab or a CLI-started
sweep shows the same runs; the sweep id in the URL (?sweep=ID) brings the view back.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from ppr.data.splits import SplitConfig
from ppr.data.store import Dataset, Store
from ppr.errors import InputError
from ppr.jobs import control, sweep as sweeps
from ppr.jobs.spec import make_spec
from ppr.jobs.status import read_metrics, read_status
from ppr.train import estimate
from ppr.train.config import METHODS, TuneConfig, WarmConfig
from ppr.train.device import pick_device
from ui.state import active_dataset, flash, get_store, show_flash

SWEEP_KEY = "sweep"  # query parameter naming the sweep the list shows
ALL_RUNS = "(all runs)"
_SHOW = "_runs_show"  # the list's sweep selector
_RUN = "_runs_run"  # the run whose details show
LOSS_W, LOSS_H = 600, 160  # loss-curve panel width and height (px)

store = get_store()
ds = active_dataset(store)


@st.cache_data(show_spinner="Timing a few training steps of this configuration...", max_entries=256)
def calibration(home: str, ref: str, content_hash: str, split: str, warm: str, tune: str | None,
                device: str) -> estimate.Calibration:  # fmt: skip
    """Measured once per dataset content, split, timing-relevant settings and device (content_hash: the key)."""
    ds = Store(home).open(ref)
    cfg = None if tune is None else TuneConfig(**json.loads(tune))
    return estimate.calibrate(ds, SplitConfig(**json.loads(split)), WarmConfig(**json.loads(warm)), cfg, device)


def _estimate(store: Store, ds: Dataset, spec: sweeps.SweepSpec, cfg: WarmConfig | TuneConfig, device: str,
              past: dict) -> estimate.RunEstimate:  # fmt: skip
    """One todo run's estimate; its calibration is keyed on the settings that change the cost per epoch only."""
    as_json = lambda c: json.dumps(dataclasses.asdict(c), sort_keys=True)  # noqa: E731
    tune = None if isinstance(cfg, WarmConfig) else as_json(estimate.timing_key(cfg))
    cal = calibration(str(store.home), ds.ref, ds.content_hash, as_json(spec.split),
                      as_json(estimate.timing_key(spec.warm)), tune, device)  # fmt: skip
    return estimate.estimate_run(cal, cfg, past)


def plan(store: Store, ds: Dataset, spec: sweeps.SweepSpec) -> dict[str, Any]:
    """Cells, warm runs, how many are already done, and the measured time range for the rest."""
    cells, warm_ids, todo_tune, todo_warm = sweeps.cells(spec), {}, [], []
    for _, cfg in cells:
        rs = make_spec(ds, spec.split, spec.warm, cfg, spec.device)
        if cfg.seed not in warm_ids:  # one warm run per seed
            warm = rs.warm_spec()
            warm_ids[cfg.seed] = warm.run_id(ds)
            if not (store.runs_dir / warm_ids[cfg.seed] / "metrics.json").is_file():
                todo_warm.append(warm.warm_config())
        if not (store.runs_dir / rs.run_id(ds) / "metrics.json").is_file():
            todo_tune.append(cfg)
    device, past = str(pick_device(spec.device)), estimate.past_runs(store, ds)
    runs = [_estimate(store, ds, spec, c, device, past) for c in [*todo_warm, *todo_tune]]
    return {"cells": len(cells), "warm": len(warm_ids), "todo_tune": len(todo_tune), "todo_warm": len(todo_warm),
            "runs": runs, "device": device, "past": past,
            "low_s": sum(r.low_s for r in runs), "high_s": sum(r.high_s for r in runs),
            "typical_s": sum(r.typical_s for r in runs)}  # fmt: skip


def _basis(p: dict[str, Any]) -> str:
    """Which numbers the estimate rests on, per kind of run (one line each kind)."""
    seen: dict[tuple[str, int], estimate.RunEstimate] = {}
    for r in p["runs"]:  # one line per method and batch count (k-shots differ in batches)
        seen.setdefault((r.calibration.what, r.calibration.batches), r)
    parts = [f"{w}: {r.calibration.batches} batches × {r.calibration.step_s * 1000:.0f} ms + validation "
             f"{r.calibration.val_s:.1f} s per epoch, {r.min_epochs}–{r.max_epochs} epochs"
             + (f" (past runs stopped after {r.past_epochs:.0f})" if r.past_epochs is not None else "")
             for (w, _), r in seen.items()]  # fmt: skip
    return "; ".join(parts)


def _n(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _duration(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.1f} h"


def _time_text(p: dict[str, Any]) -> str:
    if not p["runs"]:
        return "nothing left to compute"
    if p["high_s"] - p["low_s"] < 1:  # no run can stop early
        return f"about **{_duration(p['high_s'])}**"
    if p["typical_s"] < p["high_s"]:
        return f"about **{_duration(p['typical_s'])}** (up to {_duration(p['high_s'])} if no run stops early)"
    return f"up to **{_duration(p['high_s'])}** if no run stops early (early stopping can cut it to {_duration(p['low_s'])})"


def _time_caption(store: Store, p: dict[str, Any]) -> str:
    """What the estimate is based on, past runs as a cross-check, and how the worker spends the time."""
    text = (f"Time measured on {p['device']}: a few real training steps and an evaluation batch of each run's "
            f"model, times the exact number of batches. {_basis(p)}. ")  # fmt: skip
    if any(r.past_epochs is not None for r in p["runs"]):
        text += "'About' assumes runs stop where this dataset's past runs with the same epochs setting stopped. "
    tuned = [v for (kind, _), v in p["past"].items() if kind != "warm"]
    if tuned:
        n = sum(v.n for v in tuned)
        mean = sum(v.mean_seconds * v.n for v in tuned) / n
        text += f"For comparison: this dataset's {_n(n, 'finished tuning run')} took {_duration(mean)} each on average. "
    busy = sum(r["state"] == "running" and not r["stale"] for r in control.run_rows(store))
    text += ("One worker computes the sweep's runs one after another, so the wall time is the sum"
             + (f"; {_n(busy, 'other run')} computing now share the machine and may hold the worker slot."
                if busy else "."))  # fmt: skip
    return text


def launch_form(store: Store, ds: Dataset) -> None:
    st.subheader("Launch")
    st.caption(f"On **{ds.ref}**. One method, one k-shot, one noise rate and one seed is a single tune; "
               "lists make a sweep (every combination). Each seed warm-trains SASRec once, shared by its cells.")  # fmt: skip
    a, b, c, d = st.columns(4)
    methods = a.multiselect("Methods", METHODS, default=["finetune", "ppr-light", "ppr-full"], key="methods")
    k_text = b.text_input("k-shots", "all", key="k_shots", help="comma list of integers >= 1 or 'all'")
    noise_text = c.text_input("Noise rates", "0", key="noises", help="comma list of profile noise rates in [0, 1)")
    seeds_text = d.text_input("Seeds", "0", key="seeds", help="comma list of integers")
    a, b, c, d = st.columns(4)
    cl = a.checkbox("Contrastive learning (CL)", True, key="cl")
    prompt_aug = b.checkbox("Prompt augmentation", True, key="prompt_aug")
    behavior_aug = c.checkbox("Behaviour augmentation", True, key="behavior_aug")
    ablations = d.multiselect("Also run ablations", [x for x in sweeps.ABLATIONS if x != "none"], key="ablations",
                              help="extra PPR cells without CL or one augmentation (the paper's ablation)")  # fmt: skip
    a, b, c, d = st.columns(4)
    tokens = a.number_input("Prompt tokens", 1, 16, 1, key="prompt_tokens")
    epochs = b.number_input("Tuning epochs", 1, 1000, None, key="epochs", placeholder="method default")
    lr = c.number_input("Learning rate", 0.0, 1.0, None, format="%.0e", key="lr", placeholder="method default")
    device = d.selectbox("Device", ["auto", "cpu", "cuda"], key="device")
    with st.expander("Warm-training (backbone) settings"):
        w = st.columns(4)
        warm = WarmConfig(epochs=int(w[0].number_input("Warm epochs", 1, 1000, WarmConfig.epochs, key="warm_epochs")),
                          max_len=int(w[1].number_input("Max length", 2, 500, WarmConfig.max_len, key="warm_max_len")),
                          d=int(w[2].number_input("Hidden size", 4, 512, WarmConfig.d, key="warm_d")),
                          n_layers=int(w[3].number_input("Layers", 1, 8, WarmConfig.n_layers, key="warm_layers")))  # fmt: skip
    tune = {"cl": cl, "prompt_aug": prompt_aug, "behavior_aug": behavior_aug, "prompt_tokens": int(tokens)}
    tune |= {k: v for k, v in (("epochs", epochs and int(epochs)), ("lr", lr or None)) if v is not None}
    try:
        spec = sweeps.SweepSpec(
            dataset=ds.ref, methods=list(methods), k_shots=sweeps.grid_list(k_text, sweeps.k_shot, "k-shots"),
            noises=sweeps.grid_list(noise_text, float, "Noise rates"), seeds=sweeps.grid_list(seeds_text, int, "Seeds"),
            ablations=["none", *ablations], warm=warm, tune=tune, device=device,
        )  # fmt: skip
        p = plan(store, ds, spec)
    except InputError as exc:
        st.error(str(exc))
        return
    done = p["cells"] - p["todo_tune"]
    st.markdown(f"**{_n(p['cells'], 'tuning run')}** ({done} already done) and **{_n(p['warm'], 'warm run')}** "
                f"({p['warm'] - p['todo_warm']} already done): {_time_text(p)}.")  # fmt: skip
    nothing_to_do = not p["todo_tune"] and not p["todo_warm"]
    if nothing_to_do:
        st.caption("Every run of this grid is done already: its results are in the list below and on Compare.")
    else:
        st.caption(_time_caption(store, p))
    if st.button("Launch", type="primary", key="launch", disabled=nothing_to_do):
        sid, pid = control.start(store, spec)
        st.query_params[SWEEP_KEY] = sid
        st.session_state[_SHOW] = sid
        flash("success", f"Sweep **{sid}** submitted; worker {pid} computes it in the background.")
        st.rerun()


def loss_curve(rows: list[dict[str, Any]]) -> alt.VConcatChart:
    """Loss per epoch (and validation NDCG@10 where logged) from metrics.jsonl rows, one panel per series, each
    with its own y scale. Altair, not Plotly: a new tab then needs no plotly.js (about 2.5 s less)."""
    epochs = [r for r in rows if "epoch" in r and "event" not in r and r.get("loss") is not None]
    df = pd.DataFrame(epochs)
    value_cols = [c for c in ("loss", "val_ndcg@10", "ndcg@10") if c in df.columns]
    long = df.melt(id_vars="epoch", value_vars=value_cols, var_name="series").dropna()
    panels = [alt.Chart().mark_line(point=True).encode(
        x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("value:Q", title=name, scale=alt.Scale(zero=False)),
        tooltip=["epoch:Q", "series:N", alt.Tooltip("value:Q", format=".4g")],
    ).transform_filter(alt.FieldEqualPredicate(field="series", equal=name)).properties(
        width=LOSS_W, height=LOSS_H) for name in value_cols]  # fmt: skip
    return alt.vconcat(*panels, data=long, spacing=15, title="Loss and validation NDCG@10 per epoch")


def run_detail(store: Store, rid: str) -> None:
    path = store.runs_dir / rid
    status = read_status(path)
    state = "failed (worker gone)" if status.get("stale") else status["state"]
    max_epochs = status.get("max_epochs")
    st.progress(float(status.get("progress") or 0),
                text=f"{state} · epoch {status.get('epoch', 0)}"
                     + (f" of {max_epochs}" if max_epochs else ""))  # fmt: skip
    left, right, _ = st.columns([1, 1, 4])
    if left.button("Cancel", key=f"cancel_{rid}", disabled=status["state"] not in ("queued", "running")):
        st.toast(control.cancel(store, rid))
    if right.button("Resume", key=f"resume_{rid}", disabled=status["state"] not in ("failed", "cancelled")):
        st.toast(f"worker {control.resume(store, rid)} resumes {rid}")
    if status["state"] == "failed":
        st.error(status.get("error") or "The run failed.")
        with st.expander("Traceback", expanded=False):
            st.code(status.get("traceback") or "(no traceback recorded)", language="text")
    metrics = read_metrics(path)
    if any("epoch" in r and r.get("loss") is not None for r in metrics):
        st.altair_chart(loss_curve(metrics), key=f"loss_{rid}", width="content")  # fixed-width panels
    if final := next((r for r in reversed(metrics) if r.get("event") == "eval"), None):
        shown = {k: v for k, v in final.items() if k not in ("event", "time")}
        st.dataframe(pd.DataFrame([shown]), hide_index=True)


def sweep_header(store: Store, sid: str) -> list[str]:
    """The sweep's progress and its cancel/resume buttons; returns its run ids."""
    body = sweeps.read_sweep(store, sid)
    counts = ", ".join(f"{n} {s}" for s, n in body["counts"].items() if n)
    st.progress(body["progress"], text=f"Sweep **{sid}** ({body['dataset']}): {body['state']} · {counts}")
    left, right, _ = st.columns([1, 1, 4])
    if left.button("Cancel sweep", key=f"cancel_sweep_{sid}", disabled=body["state"] not in ("queued", "running")):
        st.toast(control.cancel(store, sid))
    if right.button("Resume sweep", key=f"resume_sweep_{sid}",
                    disabled=not (body["counts"]["failed"] or body["counts"]["cancelled"])):  # fmt: skip
        st.toast(f"worker {control.resume(store, sid)} resumes sweep {sid}")
    return body["runs"]


@st.fragment(run_every=2)
def live_runs(store: Store) -> None:
    """Re-read the run folders every 2 s (only this part of the page reruns)."""
    options = [ALL_RUNS, *sweeps.list_sweeps(store)]
    if st.session_state.get(_SHOW) not in options:  # first run, or a refreshed tab: the URL's sweep
        wanted = st.query_params.get(SWEEP_KEY)
        st.session_state[_SHOW] = wanted if wanted in options else ALL_RUNS
    chosen = st.selectbox("Show", options, key=_SHOW)
    if chosen != ALL_RUNS:
        st.query_params[SWEEP_KEY] = chosen
        rows = control.run_rows(store, sweep_header(store, chosen))
    else:
        if SWEEP_KEY in st.query_params:
            del st.query_params[SWEEP_KEY]
        rows = control.run_rows(store)
    if not rows:
        st.info("No runs yet. Launch a tune or a sweep above; runs started from a shell "
                f"(`python -m ppr --home {store.home} sweep ...`) appear here too.")  # fmt: skip
        return
    table = pd.DataFrame(rows)
    table["state"] = [("failed (worker gone)" if s else st_) for st_, s in zip(table["state"], table["stale"])]
    st.dataframe(table[["id", "method", "state", "progress", "epoch", "dataset", "updated"]], hide_index=True,
                 key="runs_table", column_config={"progress": st.column_config.ProgressColumn("progress", min_value=0.0,
                                                                                            max_value=1.0)})  # fmt: skip
    ids = list(table["id"])
    if st.session_state.get(_RUN) not in ids:  # default: the run being computed, else the first
        st.session_state[_RUN] = next((r["id"] for r in rows if r["state"] == "running"), ids[0])
    states = dict(zip(table["id"], table["state"]))
    rid = st.selectbox("Run", ids, key=_RUN, format_func=lambda r: f"{r} ({states[r]})")
    run_detail(store, rid)


st.title("Runs")
show_flash()
if ds is None:
    st.info(f"The store at `{store.home}` holds no dataset yet. Add one on the Data page, then launch runs here.")
    st.page_link("views/data.py", label="Open Data", icon=":material/database:")
else:
    launch_form(store, ds)
st.subheader("Runs")
live_runs(store)
