"""Prompt explorer: a tuned run's prompt or user vectors in 2-D, coloured by an attribute; one user's clicks and top-10."""

from pathlib import Path

import pandas as pd
import plotly.express as px
import streamlit as st

from ppr.embed.projection import cached_projection
from ppr.eval.views import decode, load_tuned_model, run_dataset, tuned_runs, user_detail, vector_matrix, whatif_top
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


@st.cache_data(show_spinner="Reading the run's embeddings ...", max_entries=4)
def load(path: str, mtime: float) -> pd.DataFrame:
    return pd.read_parquet(path)


runs = tuned_runs(store)
if not runs:
    st.info(NO_RUN)
    st.stop()


def run_label(rid: str) -> str:
    tune = read_json(store.runs_dir / rid / "spec.json").get("tune") or {}
    k = tune.get("k_shot")
    return f"{rid} ({tune.get('label', '?')}, k={'all' if k is None else k}, noise {tune.get('noise', 0):g})"


rid = st.selectbox("Tuned run", runs[::-1], format_func=run_label, key="prompts_run")
path = store.runs_dir / rid
emb_file = path / "embeddings.parquet"
emb = load(str(emb_file), emb_file.stat().st_mtime)
ds = run_dataset(store, path)
if ds is None:
    st.warning("This run's dataset version is no longer in the store: attribute codes are shown undecoded, "
               "clicks and titles are unavailable.")  # fmt: skip
table = decode(emb, ds)
attrs = [a["name"] for a in ds.attributes] if ds is not None else []

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
with st.spinner(f"Projecting with {method.upper()} ..."):
    coords = cached_projection(vectors, method, path / "projections")
plot = table.assign(x=coords[:, 0], y=coords[:, 1])
plot = plot[plot["role"].isin(roles)]
hover = ["user", "role", "n_clicks", *attrs]
fig = px.scatter(plot, x="x", y="y", color=plot[colour].astype(str) if colour != "n_clicks" else colour,
                 hover_data=hover, title=f"{VECTORS[kind]} ({method.upper()}), coloured by {colour}",
                 labels={"color": colour})  # fmt: skip
fig.update_traces(marker=dict(size=5, opacity=0.8))
fig.update_layout(margin=dict(l=10, r=10, t=40, b=10), height=520, xaxis_title=f"{method.upper()} 1",
                  yaxis_title=f"{method.upper()} 2")  # fmt: skip
st.plotly_chart(fig, key="prompts_scatter")

st.subheader("One user")
users = table["user"].tolist()
test_users = table.loc[table["role"] == "test", "user"].tolist()
user = st.selectbox("User (type an id to search)", users, index=users.index(test_users[0]) if test_users else 0,
                    key="prompts_user")  # fmt: skip
detail = user_detail(ds, emb, int(user))
left, right = st.columns(2)
with left:
    st.markdown(f"**Profile** (role: {detail['role']})")
    st.dataframe(pd.DataFrame([{k: str(v) for k, v in detail["profile"].items()}]), hide_index=True)
    st.markdown("**Click history** (the model saw the first clicks; the rest are held out)")
    st.dataframe(detail["clicks"], hide_index=True)
with right:
    recs = detail["recommendations"]
    if recs is None:
        st.info("Top-10 recommendations are stored for test users only; pick a test user.")
    else:
        st.markdown(f"**Top-10 recommendations** ({int(recs['hit'].sum())} hits among the held-out clicks)")
        st.dataframe(recs, hide_index=True)

if ds is not None and attrs and (path / "checkpoint.pt").is_file():
    with st.expander("What if: edit this user's profile and see the top-10 change"):
        row = emb[emb["user"] == int(user)].iloc[0]
        new_codes = []
        ecols = st.columns(min(4, len(attrs)))
        for j, a in enumerate(ds.attributes):
            values = list(a["values"])
            new_codes.append(ecols[j % len(ecols)].selectbox(
                a["name"], range(len(values)), index=int(row[a["name"]]), format_func=lambda i, v=values: str(v[i]),
                key=f"prompts_whatif_{rid}_{int(user)}_{a['name']}"))  # fmt: skip
        ckpt = path / "checkpoint.pt"
        top = whatif_top(model_of(str(path), ckpt.stat().st_mtime), ds, int(user), int(row["n_clicks"]), new_codes)
        held = set(detail["clicks"].loc[~detail["clicks"]["seen by the model"], "item"].astype(int)) \
            if len(detail["clicks"]) else set()
        st.dataframe(pd.DataFrame({"rank": range(1, len(top) + 1), "item": top, "hit": [i in held for i in top]}),
                     hide_index=True, key="prompts_whatif_table")  # fmt: skip
