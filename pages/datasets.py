"""Datasets in the store (the CLI and the app share it: $PPR_HOME, default ./cache)."""

import pandas as pd
import streamlit as st

from ppr.data.sample import ensure_sample
from ppr.data.store import Store
from ppr.data.summary import dataset_info


@st.cache_resource
def _store() -> Store:
    store = Store()
    ensure_sample(store)  # first start: the bundled sample is there to explore
    return store


store = _store()
st.title("PPR Workbench")
st.caption(f"Store: `{store.home}`")
datasets = store.list()
if not datasets:
    st.info("No datasets yet. Import one with `python -m ppr data import NAME --interactions FILE`.")
    st.stop()

rows = []
for ds in datasets:
    info = dataset_info(ds)
    rows.append({
        "dataset": ds.ref,
        "users": info["users"],
        "items": info["items"],
        "interactions": info["interactions"],
        "warm users": info["warm_users"],
        "cold users": info["cold_users"],
        "attributes": ", ".join(a["name"] for a in ds.attributes),
        "created": ds.manifest["created_at"],
    })
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
