"""Home: what the workbench is for and what to do next."""

import pandas as pd
import streamlit as st

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
sample = " The bundled `sample` is synthetic data with user profiles, ready to explore." if "sample" in store.names() else ""
with first:
    st.markdown(f"**1. Look at the data.** The active dataset is `{ds.ref}` ({ds.n_users:,} users, "
                f"{ds.n_items:,} items).{sample} Upload your own, fetch MovieLens-100K or generate "
                "synthetic data on the Data page.")  # fmt: skip
    st.page_link("views/data.py", label="Open Data", icon=":material/database:")
with second:
    st.markdown("**2. Launch runs.** Warm-train SASRec on the warm users, then tune for the cold users with "
                "fine-tuning or PPR. For now from a shell on the same store (below).")  # fmt: skip
with third:
    st.markdown("**3. Compare.** See where prompts beat fine-tuning: by k-shot sparsity, by profile noise, "
                "by ablation and per user. The Runs, Compare and Prompt explorer pages come next.")  # fmt: skip
cli = f"python -m ppr --home {store.home}"
st.code(f"{cli} warm {ds.ref}\n{cli} tune {ds.ref} --method finetune\n{cli} tune {ds.ref} --method ppr-full",
        language="bash")  # fmt: skip

st.subheader("Datasets in the store")
rows = [
    {"dataset": d.ref, "users": d.n_users, "items": d.n_items,
     "interactions": d.manifest["counts"]["interactions"],
     "attributes": ", ".join(a["name"] for a in d.attributes) or "-",
     "created": d.manifest["created_at"]}  # fmt: skip
    for d in store.list()
]
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
