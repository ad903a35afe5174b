"""Home: what the workbench is for and what to do next."""

import pandas as pd
import streamlit as st

from ppr.data.summary import store_rows
from ppr.jobs.sweep import latest_sweeps
from ui.state import active_dataset, get_store

store = get_store()
ds = active_dataset(store)

st.title("PPR Workbench")
st.markdown(
    "Cold-start recommendation with **personalized prompts**: a sequential recommender (SASRec) is trained "
    "on users with long histories; for new users with few or no clicks, a small prompt generator turns their "
    "profile (age, gender, occupation, ...) into prompt tokens the model reads before their clicks."
)

if ds is None:
    st.info(
        f"The store at `{store.home}` holds no dataset yet. Open **Data** to upload a file (CSV, TSV, Parquet, "
        "JSON lines or a MovieLens/RecBole zip), fetch MovieLens-100K, or generate synthetic data."
    )
    st.page_link("views/data.py", label="Open Data", icon=":material/database:")
    st.stop()

st.subheader("What to do next")
first, second, third = st.columns(3)
sample = (
    " The bundled `sample` is synthetic data with user profiles, ready to explore." if "sample" in store.names() else ""
)
with first:
    st.markdown(
        f"**1. Look at the data.** The active dataset is `{ds.ref}` ({ds.n_users:,} users, "
        f"{ds.n_items:,} items).{sample} Upload your own, fetch MovieLens-100K or generate "
        "synthetic data on the Data page."
    )
    st.page_link("views/data.py", label="Open Data", icon=":material/database:")
with second:
    st.markdown(
        "**2. Launch runs.** Warm-train SASRec on the warm users, then tune for the cold users with "
        "fine-tuning or PPR: one run, or a sweep over methods, k-shot sparsity, profile noise and seeds, "
        "in a background worker."
    )
    st.page_link("views/runs.py", label="Open Runs", icon=":material/play_circle:")
with third:
    st.markdown(
        "**3. Compare.** See where prompts beat fine-tuning: by k-shot sparsity, by profile noise and "
        "by ablation; then per user, which profile the prompts read and what they recommend."
    )
    st.page_link("views/compare.py", label="Open Compare", icon=":material/monitoring:")
    st.page_link("views/prompts.py", label="Open Prompt explorer", icon=":material/scatter_plot:")
cli = f"python -m ppr --home {store.home}"
st.caption("Or from a shell, on the same store:")
st.code(
    f"{cli} warm {ds.ref}\n{cli} tune {ds.ref} --method finetune\n{cli} tune {ds.ref} --method ppr-full\n"
    f"{cli} sweep {ds.ref} --k-shots 1,5,all --background",
    language="bash",
)

if recent := latest_sweeps(store):
    st.subheader("Latest sweeps")
    for sweep in recent:
        st.page_link(
            "views/runs.py",
            query_params={"sweep": sweep["id"]},
            icon=":material/play_circle:",
            label=f"{sweep['id']} · {sweep['dataset']} · {len(sweep['runs'])} runs · "
            f"submitted {sweep['submitted'][:16].replace('T', ' ')} UTC",
        )

st.subheader("Datasets in the store")
rows = pd.DataFrame(store_rows(store))
rows["attributes"] = [", ".join(a) or "-" for a in rows["attributes"]]
rows = rows.rename(columns={"ref": "dataset", "created_at": "created"})
st.dataframe(
    rows[["dataset", "users", "items", "interactions", "attributes", "created"]], hide_index=True, width="stretch"
)
