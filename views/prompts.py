"""Prompt explorer: a tuned run's prompt or user vectors in 2-D, coloured by an attribute; one user's clicks,
the top-10 of fine-tuning, PPR light and PPR full side by side, a what-if profile placed on the plot, and which
attribute matters (leave one out, per user and over the test users).

The scatter is drawn last into a placeholder (it shows the selected user and the what-if profile, both
decided further down); while UMAP coordinates are not cached yet, the placeholder holds the PCA scatter.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from ppr.report.attribution import EXPLANATION, per_user, summary
from ppr.report.explorer import (
    SIDE_BY_SIDE,
    VECTOR_KINDS,
    decode,
    default_user,
    explorable_runs,
    missing_hint,
    picked_user,
    ranked,
    run_dataset,
    run_label,
    sibling_runs,
    user_detail,
    vector_matrix,
    whatif,
)
from ppr.report.projection import cached_only, cached_projection, place
from ppr.runs.folder import RunFolder, spec_summary
from ppr.runs.pipeline import evaluated
from ppr.spec.run import PROFILE_METHODS
from ui import cached
from ui.charts import PICK, attribution_bars, vector_scatter
from ui.downloads import chart_downloads
from ui.state import get_store, kept

NO_RUN = (
    "No tuned run with embeddings yet. Start a sweep or a tuning run on the **Runs** page (or "
    "`python -m ppr sweep NAME --methods ppr-light --k-shots all --noise 0 --seeds 0`); every finished "
    "tuning run writes the vectors this page shows."
)

store = get_store()
st.title("Prompt explorer")


@st.cache_data(show_spinner="Reading the run's embeddings ...", max_entries=8)
def embeddings(run_path: str, mtime: float) -> pd.DataFrame:
    return RunFolder(Path(run_path)).embeddings()


def embeddings_of(run: RunFolder) -> pd.DataFrame:
    return embeddings(str(run.path), (run.path / "embeddings.parquet").stat().st_mtime)


@st.cache_data(show_spinner=False, max_entries=4)
def labels_of(home: str, ids: tuple[str, ...]) -> dict[str, str]:
    """One spec.json read per run and list of runs, not one per option on every rerun."""
    return {rid: run_label(RunFolder(store.runs_dir / rid)) for rid in ids}


@st.cache_data(show_spinner=False, max_entries=16)
def siblings(home: str, rid: str, ids: tuple[str, ...]) -> dict[str, str]:
    """method -> run id of the same cell, cached per store home (part of the key only) and list of runs."""
    runs = [RunFolder(store.runs_dir / r) for r in ids]
    return {m: r.id for m, r in sibling_runs(RunFolder(store.runs_dir / rid), runs).items()}


@st.cache_data(show_spinner="Scoring the test users again without each attribute ...", max_entries=8)
def attribution_of(run_path: str, mtime: float) -> pd.DataFrame:
    return per_user(evaluated(store, RunFolder(Path(run_path))))


def pick_from_plot() -> None:
    """Clicking the scatter selects the nearest user."""
    user = picked_user(st.session_state.get("prompts_scatter"), PICK)
    if user is not None:
        st.session_state["prompts_user"] = user


ids = tuple(r.id for r in explorable_runs(store))
if not ids:
    st.info(NO_RUN)
    st.stop()

rid = st.selectbox("Tuned run", ids[::-1], format_func=labels_of(str(store.home), ids).get, key=kept("prompts_run"))
run = RunFolder(store.runs_dir / rid)
emb = embeddings_of(run)
ds = run_dataset(store, run)
if ds is None:
    st.warning(
        "This run's dataset version is no longer in the store: attribute codes are shown undecoded, "
        "clicks and titles are unavailable."
    )
table = decode(emb, ds)
attrs = [a["name"] for a in ds.attributes] if ds is not None else []

kinds = [k for k in VECTOR_KINDS if vector_matrix(emb, k) is not None]
cols = st.columns(4)
kind = cols[0].selectbox("Vectors", kinds, format_func=VECTOR_KINDS.get, key=kept("prompts_kind"))
colour = cols[1].selectbox("Colour by", [*attrs, "role", "n_clicks"], key=kept("prompts_colour"))
use_umap = cols[2].toggle(
    "UMAP", value=False, key=kept("prompts_umap"), help="PCA is instant; UMAP takes seconds (cached)."
)
all_roles = sorted(table["role"].unique())
roles = cols[3].multiselect("Roles", all_roles, default=all_roles, key=kept("prompts_roles"))

vectors = vector_matrix(emb, kind)
method = "umap" if use_umap else "pca"
cache = run.path / "projections"
coords = cached_only(vectors, "umap", cache) if use_umap else cached_projection(vectors, "pca", cache)
hover = ["user", "role", "n_clicks", *attrs]


def _title(axis: str) -> str:
    return f"{VECTOR_KINDS[kind]} ({axis}), coloured by {colour}"


chart = st.empty()
if coords is None:
    with chart.container():
        st.caption("PCA shown while UMAP computes (seconds, once per run and settings; the page updates by itself).")
        pca = cached_projection(vectors, "pca", cache)
        st.altair_chart(vector_scatter(table, pca, roles, colour, hover, _title("PCA"), "PCA"))

st.subheader("One user")
users = table["user"].tolist()
if st.session_state.get("prompts_user") not in users:
    st.session_state["prompts_user"] = default_user(table)
user = int(st.selectbox("User (type an id to search, or click a point on the plot)", users, key=kept("prompts_user")))
detail = user_detail(ds, emb, user)
left, right = st.columns(2)
with left:
    st.markdown(f"**Profile** (role: {detail['role']})")
    st.dataframe(pd.DataFrame([{k: str(v) for k, v in detail["profile"].items()}]), hide_index=True)
with right:
    st.markdown("**Click history** (the model saw the first clicks; the rest are held out)")
    st.dataframe(detail["clicks"], hide_index=True)

sibs = siblings(str(store.home), rid, ids)
methods = [m for m in sibs if m not in SIDE_BY_SIDE] + [m for m in SIDE_BY_SIDE if m in sibs]
st.markdown(
    "**Top-10 recommendations** side by side (same users, split, warm run, k-shot, noise and seed; "
    "hit = a held-out click)"
)
if detail["recommendations"] is None:
    st.info("Top-10 recommendations are stored for test users only; pick a test user.")
else:
    for col, m in zip(st.columns(len(methods)), methods, strict=True):
        sib = RunFolder(store.runs_dir / sibs[m])
        recs = user_detail(ds, embeddings_of(sib), user)["recommendations"]
        label = spec_summary(sib.info())["label"]
        with col:
            if recs is None:
                st.info(f"{label}: no stored top-10 for user {user}.")
                continue
            st.markdown(f"**{label}**{' (this run)' if sibs[m] == rid else ''}: {int(recs['hit'].sum())} hits")
            st.dataframe(recs, hide_index=True)
missing = [m for m in SIDE_BY_SIDE if m not in sibs]
if missing:
    st.caption(missing_hint(run.info(), missing))

new_vector = None
if ds is not None and attrs and (run.path / "checkpoint.pt").is_file():
    with st.expander("What if: edit this user's profile and see the top-10 and the prompt's position change"):
        codes = detail["codes"]
        new_codes = []
        ecols = st.columns(min(4, len(attrs)))
        for j, a in enumerate(ds.attributes):
            values = list(a["values"])
            new_codes.append(
                ecols[j % len(ecols)].selectbox(
                    a["name"],
                    range(len(values)),
                    index=codes[j],
                    format_func=lambda i, v=values: str(v[i]),
                    key=f"prompts_whatif_{rid}_{user}_{a['name']}",
                )
            )
        n_seen = int(emb.loc[emb["user"] == user, "n_clicks"].iloc[0])
        res = whatif(cached.run_model(store, run), ds, user, n_seen, new_codes)
        st.dataframe(ranked(res["top"], detail["held"], {}), hide_index=True, key="prompts_whatif_table")
        if new_codes != codes:
            new_vector = res[kind]
            st.caption("The edited profile is the ★ on the plot above.")

if ds is not None and attrs and spec_summary(run.info())["method"] in PROFILE_METHODS:
    with st.expander("Which attribute matters: leave one out"):
        st.caption(EXPLANATION)
        if st.toggle("Compute for this run's test users", key=kept("prompts_attribution")):
            rows = attribution_of(str(run.path), (run.path / "metrics.json").stat().st_mtime)
            ranked_attrs = attribution_bars(summary(rows), run.id)
            st.altair_chart(ranked_attrs, key="prompts_attribution_chart")
            chart_downloads(ranked_attrs, f"{run.id}-attribution", "dl_attribution")
            mine = rows[rows["user"] == user]
            if mine.empty:
                st.caption(f"User {user} is not a test user of this run: no per-user attribution.")
            else:
                st.markdown(f"**User {user}**")
                st.dataframe(mine.drop(columns="user"), hide_index=True, key="prompts_attribution_user")

if coords is None:
    with st.spinner("Projecting with UMAP ..."):
        coords = cached_projection(vectors, "umap", cache)
marks = [(coords[np.flatnonzero(table["user"].to_numpy() == user)[0]], f"user {user} (selected)", "selected")]
note = ""
if new_vector is not None:
    marks.append((place(new_vector, vectors, coords, method), "what-if profile", "what-if"))
    note = (
        "★ what-if profile: its exact PCA position (same axes)."
        if method == "pca"
        else "★ what-if profile: the mean UMAP position of its 10 nearest users in the vector space "
        "(an approximation: UMAP gives no exact position for a new point)."
    )
marked = pd.DataFrame([{"x": float(xy[0]), "y": float(xy[1]), "name": name, "kind": what} for xy, name, what in marks])
fig = vector_scatter(table, coords, roles, colour, hover, _title(method.upper()), method.upper(), marked)
with chart.container():
    st.altair_chart(fig, key="prompts_scatter", on_select=pick_from_plot, selection_mode=PICK)
    if note:
        st.caption(note)
    chart_downloads(fig, f"{rid}-{kind}-{method}", "dl_scatter")
