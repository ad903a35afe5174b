"""Prompt explorer: a tuned run's prompt or user vectors in 2-D, coloured by an attribute; one user's clicks,
the top-10 of fine-tuning, PPR light and PPR full side by side, and a what-if profile placed on the plot.

The scatter is drawn last into a placeholder (it shows the selected user and the what-if profile, both
decided further down); while UMAP coordinates are not cached yet, the placeholder holds the PCA scatter.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from ppr.embed.projection import cached_only, cached_projection, place
from ppr.eval.views import (SIDE_BY_SIDE, decode, load_tuned_model, missing_hint, picked_user, run_dataset, sibling_runs,
                            tuned_runs, user_detail, vector_matrix, whatif)  # fmt: skip
from ppr.io import read_json
from ui.state import get_store

NO_RUN = ("No tuned run with embeddings yet. Start a sweep or a tuning run on the **Runs** page (or "
          "`python -m ppr sweep NAME --methods ppr-light --k-shots all --noise 0 --seeds 0`); every finished "
          "tuning run writes the vectors this page shows.")  # fmt: skip
VECTORS = {"prompt": "prompt vectors", "user_vector": "final user vectors"}

store = get_store()
st.title("Prompt explorer")


@st.cache_resource(show_spinner="Loading the tuned model ...", max_entries=2)
def model_of(run_path: str, mtime: float):  # noqa: ANN201
    return load_tuned_model(store, Path(run_path), ds)


@st.cache_data(show_spinner="Reading the run's embeddings ...", max_entries=8)
def load(path: str, mtime: float) -> pd.DataFrame:
    return pd.read_parquet(path)


runs = tuned_runs(store)
if not runs:
    st.info(NO_RUN)
    st.stop()


@st.cache_data(show_spinner=False, max_entries=4)
def run_labels(home: str, runs: tuple[str, ...]) -> dict[str, str]:
    """One spec.json read per run and list of runs, not one per option on every rerun."""
    labels = {}
    for rid in runs:
        tune = read_json(store.runs_dir / rid / "spec.json").get("tune") or {}
        k = tune.get("k_shot")
        labels[rid] = f"{rid} ({tune.get('label', '?')}, k={'all' if k is None else k}, noise {tune.get('noise', 0):g})"
    return labels


labels = run_labels(str(store.home), tuple(runs))
rid = st.selectbox("Tuned run", runs[::-1], format_func=labels.get, key="prompts_run")
path = store.runs_dir / rid
emb_file = path / "embeddings.parquet"
emb = load(str(emb_file), emb_file.stat().st_mtime)
ds = run_dataset(store, path)
if ds is None:
    st.warning("This run's dataset version is no longer in the store: attribute codes are shown undecoded, "
               "clicks and titles are unavailable.")  # fmt: skip
table = decode(emb, ds)
attrs = [a["name"] for a in ds.attributes] if ds is not None else []


@st.cache_data(show_spinner=False, max_entries=16)
def siblings(home: str, rid: str, runs: tuple[str, ...]) -> dict[str, str]:
    """sibling_runs, cached per store home (part of the key only) and list of tuned runs."""
    return sibling_runs(store, rid, list(runs))


def pick_from_plot() -> None:
    """Clicking a point selects its user (the scatter's customdata starts with the user id)."""
    user = picked_user(st.session_state.get("prompts_scatter"))
    if user is not None:
        st.session_state["prompts_user"] = user


def scatter(coords: np.ndarray, name: str, marks: list[go.Scatter]) -> go.Figure:
    plot = table.assign(x=coords[:, 0], y=coords[:, 1])
    plot = plot[plot["role"].isin(roles)]
    fig = px.scatter(plot, x="x", y="y", color=plot[colour].astype(str) if colour != "n_clicks" else colour,
                     custom_data=["user"], hover_data=["user", "role", "n_clicks", *attrs],
                     title=f"{VECTORS[kind]} ({name}), coloured by {colour}", labels={"color": colour})  # fmt: skip
    fig.update_traces(marker=dict(size=5, opacity=0.8))
    for mark in marks:
        fig.add_trace(mark)
    fig.update_layout(margin=dict(l=10, r=10, t=40, b=10), height=520, xaxis_title=f"{name} 1", yaxis_title=f"{name} 2")
    return fig


def mark(xy: np.ndarray, name: str, symbol: str, size: int) -> go.Scatter:
    return go.Scatter(x=[float(xy[0])], y=[float(xy[1])], mode="markers", name=name, hovertemplate=name + "<extra></extra>",
                      marker=dict(symbol=symbol, size=size, color="black", line=dict(width=2, color="black")))  # fmt: skip


kinds = [k for k in VECTORS if vector_matrix(emb, k) is not None]
cols = st.columns(4)
kind = cols[0].selectbox("Vectors", kinds, format_func=VECTORS.get, key="prompts_kind")
colour_opts = [*attrs, "role", "n_clicks"]
colour = cols[1].selectbox("Colour by", colour_opts, key="prompts_colour")
use_umap = cols[2].toggle("UMAP", value=False, key="prompts_umap", help="PCA is instant; UMAP takes seconds (cached).")
roles = cols[3].multiselect("Roles", sorted(table["role"].unique()), default=sorted(table["role"].unique()),
                            key="prompts_roles")  # fmt: skip

vectors = vector_matrix(emb, kind)
method = "umap" if use_umap else "pca"
cache = path / "projections"
coords = cached_only(vectors, "umap", cache) if use_umap else cached_projection(vectors, "pca", cache)
chart = st.empty()
if coords is None:
    with chart.container():
        st.caption("PCA shown while UMAP computes (seconds, once per run and settings; the page updates by itself).")
        st.plotly_chart(scatter(cached_projection(vectors, "pca", cache), "PCA", []))

st.subheader("One user")
users = table["user"].tolist()
if st.session_state.get("prompts_user") not in users:
    test_users = table.loc[table["role"] == "test", "user"].tolist()
    st.session_state["prompts_user"] = test_users[0] if test_users else users[0]
user = int(st.selectbox("User (type an id to search, or click a point on the plot)", users, key="prompts_user"))
detail = user_detail(ds, emb, user)
left, right = st.columns(2)
with left:
    st.markdown(f"**Profile** (role: {detail['role']})")
    st.dataframe(pd.DataFrame([{k: str(v) for k, v in detail["profile"].items()}]), hide_index=True)
with right:
    st.markdown("**Click history** (the model saw the first clicks; the rest are held out)")
    st.dataframe(detail["clicks"], hide_index=True)

spec = read_json(path / "spec.json")
sibs = siblings(str(store.home), rid, tuple(runs))
methods = [m for m in sibs if m not in SIDE_BY_SIDE] + [m for m in SIDE_BY_SIDE if m in sibs]
st.markdown("**Top-10 recommendations** side by side (same users, split, warm run, k-shot, noise and seed; "
            "hit = a held-out click)")  # fmt: skip
if detail["recommendations"] is None:
    st.info("Top-10 recommendations are stored for test users only; pick a test user.")
else:
    for col, m in zip(st.columns(len(methods)), methods, strict=True):
        sib = store.runs_dir / sibs[m]
        sib_emb = load(str(sib / "embeddings.parquet"), (sib / "embeddings.parquet").stat().st_mtime)
        recs = user_detail(ds, sib_emb, user)["recommendations"] if user in set(sib_emb["user"]) else None
        label = read_json(sib / "spec.json")["tune"].get("label", m)
        with col:
            if recs is None:
                st.info(f"{label}: no stored top-10 for user {user}.")
                continue
            st.markdown(f"**{label}**{' (this run)' if sibs[m] == rid else ''}: {int(recs['hit'].sum())} hits")
            st.dataframe(recs, hide_index=True)
missing = [m for m in SIDE_BY_SIDE if m not in sibs]
if missing:
    st.caption(missing_hint(spec, missing))

marks: list[go.Scatter] = []
new_vector = None
if ds is not None and attrs and (path / "checkpoint.pt").is_file():
    with st.expander("What if: edit this user's profile and see the top-10 and the prompt's position change"):
        row = emb[emb["user"] == user].iloc[0]
        codes = [int(row[a]) for a in attrs]
        new_codes = []
        ecols = st.columns(min(4, len(attrs)))
        for j, a in enumerate(ds.attributes):
            values = list(a["values"])
            new_codes.append(ecols[j % len(ecols)].selectbox(
                a["name"], range(len(values)), index=codes[j], format_func=lambda i, v=values: str(v[i]),
                key=f"prompts_whatif_{rid}_{user}_{a['name']}"))  # fmt: skip
        ckpt = path / "checkpoint.pt"
        res = whatif(model_of(str(path), ckpt.stat().st_mtime), ds, user, int(row["n_clicks"]), new_codes)
        held = set(detail["clicks"].loc[~detail["clicks"]["seen by the model"], "item"].astype(int)) \
            if len(detail["clicks"]) else set()
        top = res["top"]
        st.dataframe(pd.DataFrame({"rank": range(1, len(top) + 1), "item": top, "hit": [i in held for i in top]}),
                     hide_index=True, key="prompts_whatif_table")  # fmt: skip
        if new_codes != codes:
            new_vector = res[kind]
            st.caption("The edited profile is the ★ on the plot above.")

if coords is None:
    with st.spinner("Projecting with UMAP ..."):
        coords = cached_projection(vectors, "umap", cache)
name = method.upper()
users_at = {u: i for i, u in enumerate(table["user"])}
marks.append(mark(coords[users_at[user]], f"user {user} (selected)", "circle-open", 16))
note = ""
if new_vector is not None:
    marks.append(mark(place(new_vector, vectors, coords, method), "what-if profile", "star", 16))
    note = ("★ what-if profile: its exact PCA position (same axes)." if method == "pca" else
            "★ what-if profile: the mean UMAP position of its 10 nearest users in the vector space "
            "(an approximation: UMAP gives no exact position for a new point).")  # fmt: skip
with chart.container():
    st.plotly_chart(scatter(coords, name, marks), key="prompts_scatter", on_select=pick_from_plot, selection_mode="points")
    if note:
        st.caption(note)
