"""Try a user: type a brand-new user's profile, add their first clicks one by one, and see what the profile
baseline, fine-tuning, PPR(light) and PPR(full) of one sweep cell recommend, side by side (zero-shot, then
1-shot, then k-shot)."""

import numpy as np
import streamlit as st

from ppr.report.explorer import item_titles, missing_hint, run_dataset, run_label, sibling_runs
from ppr.report.recommend import TRIED, Query, recommend, recommending_runs
from ppr.runs.folder import RunFolder, spec_summary
from ui import cached
from ui.state import get_store, kept

NO_RUN = (
    "No tuned run with a profile yet. Run fine-tuning or PPR on the **Runs** page (or `python -m ppr sweep NAME "
    "--methods pop-profile,finetune,ppr-light,ppr-full`); this page then recommends for any profile you type."
)

store = get_store()
st.title("Try a user")


@st.cache_data(show_spinner=False, max_entries=4)
def labels_of(home: str, ids: tuple[str, ...]) -> dict[str, str]:
    return {rid: run_label(RunFolder(store.runs_dir / rid)) for rid in ids}


runs = recommending_runs(store)
if not runs:
    st.info(NO_RUN)
    st.stop()
ids = tuple(r.id for r in runs)
rid = st.selectbox(
    "Cell (any of its tuning runs)", ids[::-1], format_func=labels_of(str(store.home), ids).get, key=kept("try_run")
)
run = RunFolder(store.runs_dir / rid)
ds = run_dataset(store, run)
if ds is None:
    st.warning("This run's dataset version is no longer in the store: nothing to recommend from.")
    st.stop()
sibs = sibling_runs(run, runs, TRIED)
methods = [m for m in TRIED if m in sibs]
missing = [m for m in TRIED if m not in sibs]

st.subheader("Profile")
cols = st.columns(min(4, max(1, len(ds.attributes))))
codes = [
    cols[j % len(cols)].selectbox(
        a["name"],
        range(len(a["values"])),
        format_func=lambda i, v=a["values"]: str(v[i]),
        key=f"try_{ds.ref}_{a['name']}",
    )
    for j, a in enumerate(ds.attributes)
]
titles, items = item_titles(ds), ds.items()
names = {
    int(i): f"{titles[int(i)]} ({iid})" if int(i) in titles else str(iid)
    for i, iid in zip(items["item"], items["item_id"], strict=True)
}
clicks = st.multiselect(
    "First clicks, oldest first (type to search)",
    list(names),
    format_func=names.get,
    key=f"try_{ds.ref}_clicks",
    max_selections=50,
)
query = Query(np.asarray(codes, dtype=np.int64), np.asarray(clicks, dtype=np.int64))
st.caption(
    "Zero-shot: the profile alone."
    if not clicks
    else f"{len(clicks)}-shot: the profile and {len(clicks)} click(s); clicked items are never recommended."
)

st.subheader("Top-10 side by side")
st.caption(
    "Scores order the items of one method; they are not comparable across methods (pop-profile's are log-probabilities)."
)
for col, m in zip(st.columns(len(methods)), methods, strict=True):
    sib = sibs[m]
    with col:
        st.markdown(f"**{spec_summary(sib.info())['label']}**")
        st.dataframe(
            recommend(cached.run_model(store, sib), ds, query, 10),
            hide_index=True,
            column_config={"score": st.column_config.NumberColumn(format="%.3f")},
            key=f"try_top_{m}",
        )
if missing:
    st.caption(missing_hint(run.info(), missing))
