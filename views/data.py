"""Data: look at the active dataset, import a file, query it, fetch MovieLens-100K or generate synthetic data."""

from pathlib import Path

import streamlit as st

from ppr.data.fetch import fetch_and_import
from ppr.data.store import Dataset, os_error_message
from ppr.data.synth import synth_dataset
from ppr.data.upload import UPLOAD_TYPES, dataset_name_for, import_upload
from ppr.errors import InputError
from ui import cached, charts
from ui.downloads import chart_downloads, csv_download
from ui.state import active_dataset, flash, get_store, set_active, show_flash
from ui.uploads import discard_staged, readable, staged_files, work_dir

NO_DATASET = (
    "No dataset yet. Import a file (**Import a file** tab), fetch MovieLens-100K or generate "
    "synthetic data (**MovieLens & synthetic** tab)."
)
DEFAULT_SQL = "SELECT item, count(*) AS clicks\nFROM interactions\nGROUP BY item\nORDER BY clicks DESC\nLIMIT 20"
NO_TIME = "(none: use file order)"
TABS = ["Overview", "Import a file", "SQL", "MovieLens & synthetic"]
TAB_KEY = "tab"  # also the URL's query parameter
_OPEN_TAB = "_data_open_tab"
_SQL_KEPT = "_sql_kept"  # the last query run: the text box forgets it while the SQL tab is hidden

store = get_store()
ds = active_dataset(store)


def failure(exc: Exception, doing: str) -> str:
    """One paragraph for a failed step: an InputError's own message, an OS error explained (disk full, ...)."""
    return readable(os_error_message(exc, doing) if isinstance(exc, OSError) else str(exc))


def published(new: Dataset, notes: list[str], what: str) -> None:
    """Make a new version active, open its overview and say so on the next run."""
    set_active(new.ref)
    st.session_state[_OPEN_TAB] = TABS[0]
    c = new.manifest["counts"]
    text = (
        f"{what} **{new.ref}**: {c['users']:,} users, {c['items']:,} items, "
        f"{c['interactions']:,} interactions. It is now the active dataset."
    )
    flash("success", text + "".join(f"\n\n- {n}" for n in notes))
    st.rerun()


def show_overview(ds: Dataset) -> None:
    ov = cached.overview(str(ds.path), ds.content_hash)
    info, split = ov["info"], ov["split"]
    cols = st.columns(5)
    cols[0].metric("Users", f"{info['users']:,}")
    cols[1].metric("Items", f"{info['items']:,}")
    cols[2].metric("Interactions", f"{info['interactions']:,}")
    cols[3].metric("Warm users", f"{info['warm_users']:,}", help=f">= {info['cold_threshold']} clicks")
    cols[4].metric("Cold users", f"{info['cold_users']:,}", help=f"fewer than {info['cold_threshold']} clicks")
    q, tr = info["sequence_length"], info["time_range"]
    span = f" · time {tr['min_iso'][:10]} to {tr['max_iso'][:10]}" if tr["min"] is not None else ""
    st.caption(
        f"Clicks per user: median {q['p50']:g}, mean {q['mean']:.1f}, max {q['max']:g} · "
        f"density {info['density']:.3%}{span} · source: {info['source'].get('format', '?')}"
    )
    activity = charts.activity(ov["lengths"], ov["popularity"], info["cold_threshold"])
    st.altair_chart(activity, key="chart_activity", width="content")  # fixed-width panels side by side
    chart_downloads(activity, f"{ds.name}-activity", "dl_activity")

    st.subheader("Cold-start split")
    if "error" in split:
        st.warning(f"The default cold-start split cannot be made from this data yet: {split['error']}")
    else:
        show_split(split)

    st.subheader("User attributes")
    if not ov["attributes"]:
        st.info(
            "This dataset has no user attributes, so personalized prompts have no profile to read. "
            "Import it again with a users file (or attribute columns) to use PPR."
        )
    else:
        panels = charts.attributes(ov["attributes"])
        st.altair_chart(panels, key="chart_attributes", width="content")
        chart_downloads(panels, f"{ds.name}-attributes", "dl_attributes")


def show_split(split: dict) -> None:
    t = split["cold_threshold"]
    if split["cold_simulated"]:
        st.warning(
            f"Cold users are **simulated**: this dataset has too few naturally cold users (fewer than {t} clicks), "
            f"so {split['cold_simulated']:,} warm users ({split['simulate_share']:.0%} of them) keep only their "
            f"first 1 to {t - 1} clicks and act as cold users, as the paper's authors do. "
            f"{split['cold_natural']:,} cold users are natural."
        )
    else:
        st.caption(f"All {split['cold_natural']:,} cold users are natural (fewer than {t} clicks); none simulated.")
    if split["folds"] > 1:
        st.caption(
            f"Cold users are dealt into {split['folds']} folds: each run tests one fold and tunes on the "
            "others, so over the folds every cold user is tested once. The chart shows the first fold."
        )
    left, right = st.columns([3, 2])
    left.altair_chart(charts.split_roles(split["roles"]), key="chart_split")
    right.markdown(
        f"Default split `{split['split_id']}`: cold users go by user to tuning (with a validation share for "
        "early stopping) and test. For each test user the first click is the **zero-shot** target and every "
        "later click a **few-shot** target, each scored against 99 items the user never clicked."
    )
    right.dataframe({"targets": list(split["targets"]), "count": list(split["targets"].values())}, hide_index=True)


def import_section() -> None:
    inter = st.file_uploader(
        "Interactions: CSV, TSV, Parquet, JSON lines, or a MovieLens/RecBole zip",
        type=list(UPLOAD_TYPES),
        key="upload_interactions",
    )
    with st.expander("Optional: a users file (profile attributes) and an items file (titles, categories)"):
        users = st.file_uploader("Users file", type=list(UPLOAD_TYPES), key="upload_users")
        items = st.file_uploader("Items file", type=list(UPLOAD_TYPES), key="upload_items")
    if inter is None:
        discard_staged()
        st.caption(
            "One row per click with a user id, an item id and (best) a time column. User attributes "
            "come from a users file or from columns of the interactions file that never change "
            "within a user."
        )
        return
    try:
        paths = staged_files({"interactions": inter, "users": users, "items": items})
        preview = cached.preview(*(str(paths[r]) if r in paths else None for r in ("interactions", "users", "items")))
    except (InputError, OSError) as exc:
        st.error(failure(exc, "stage and preview the upload"))
        return
    for role, rows in preview.rows.items():
        st.markdown(f"**{role}** · first rows of `{preview.files[role].name}` ({preview.kind})")
        st.dataframe(rows, hide_index=True)
        if role in preview.unreadable:
            st.warning(
                f"Some rows of the {role} file cannot be read (first: {preview.unreadable[role]}). "
                "Fix the file, or tick **Skip unreadable rows** to import without them."
            )
    import_form(inter, preview)


def import_form(inter, preview) -> None:
    cols = preview.columns["interactions"]
    g = preview.guess
    fid = inter.file_id
    with st.form(f"import_form_{fid}"):
        name = st.text_input("Dataset name", value=dataset_name_for(inter.name), key=f"import_name_{fid}")
        a, b, c = st.columns(3)
        user = a.selectbox(
            "User column", cols, index=cols.index(g["user"]) if g["user"] else 0, key=f"import_user_{fid}"
        )
        item = b.selectbox(
            "Item column",
            cols,
            index=cols.index(g["item"]) if g["item"] else min(1, len(cols) - 1),
            key=f"import_item_{fid}",
        )
        times = cols + [NO_TIME] if not g["time"] else cols
        time = c.selectbox("Time column", times, index=times.index(g["time"] or NO_TIME), key=f"import_time_{fid}")
        where = "users file" if preview.attribute_source == "users" else "interactions file, first value per user"
        attrs = st.multiselect(
            f"User attributes (from the {where})",
            preview.attribute_choices,
            default=preview.attribute_guess,
            key=f"import_attrs_{fid}",
        )
        skip_bad = st.checkbox(
            "Skip unreadable rows",
            key=f"import_skip_bad_{fid}",
            help="Leave out rows that cannot be read (they are counted and reported); "
            "unticked, any such row stops the import.",
        )
        submitted = st.form_submit_button("Import", type="primary", key="import_submit")
    if not submitted:
        return
    notes: list[str] = []
    try:
        with st.spinner("Importing ..."):
            new = import_upload(
                store,
                name.strip(),
                preview,
                user,
                item,
                None if time == NO_TIME else time,
                attrs,
                work_dir(),
                log=notes.append,
                skip_bad_rows=skip_bad,
            )
    except (InputError, OSError) as exc:
        st.error(failure(exc, "import the upload"))
        return
    published(new, [readable(n) for n in notes], "Imported")


def sql_section(ds: Dataset) -> None:
    with st.form("sql_form"):
        query = st.text_area(
            "One SELECT over the tables `interactions`, `users` and `items` (read-only)",
            value=st.session_state.get(_SQL_KEPT, DEFAULT_SQL),
            height=140,
            key="sql_query",
        )
        st.form_submit_button("Run query", key="sql_submit")
    st.session_state[_SQL_KEPT] = query
    with st.expander("Table columns"):
        attrs = ", ".join(a["name"] for a in ds.attributes)
        st.markdown(
            f"- `interactions`: user, item, ts (unix seconds), in time order per user\n"
            f"- `users`: user, user_id (original id){', ' + attrs if attrs else ''} (codes; 0 = missing)\n"
            "- `items`: item, item_id (original id), title, category"
        )
    try:
        result = cached.sql(str(ds.path), ds.content_hash, query)
    except InputError as exc:
        st.error(str(exc))
        return
    if len(result) >= cached.SQL_ROW_LIMIT:
        st.caption(f"Showing the first {cached.SQL_ROW_LIMIT:,} rows; add a LIMIT or aggregate for the rest.")
    st.dataframe(result, hide_index=True, width="stretch")
    csv_download(result, "Download CSV", f"{ds.name}-v{ds.version}-query")


def fetch_section() -> None:
    st.markdown("#### MovieLens-100K")
    st.caption(
        "943 users with age, gender, occupation and zip code; 100k ratings. Downloaded on this machine "
        "from GroupLens (or the copy in RecBole's wheel on PyPI): its licence forbids redistribution."
    )
    name = st.text_input("Dataset name", value="ml-100k", key="ml_name")
    source = st.text_input(
        "Local copy (optional): path to ml-100k.zip or its folder; empty = download", key="ml_source"
    )
    if not st.button("Fetch and import MovieLens-100K", key="ml_fetch"):
        return
    try:
        with st.status("Fetching MovieLens-100K ...", expanded=True) as status:
            new = fetch_and_import(
                store, name.strip(), source=Path(source.strip()) if source.strip() else None, log=status.write
            )
            status.update(label="MovieLens-100K imported", state="complete")
    except (InputError, OSError) as exc:
        status.update(label="MovieLens-100K could not be fetched", state="error")
        st.error(failure(exc, "fetch MovieLens-100K"))
        return
    published(new, [], "Fetched")


def synth_section() -> None:
    st.markdown("#### Synthetic data")
    st.caption(
        "Users with four profile attributes that shift their tastes over item clusters, popular items, "
        "short-range sequence effects and about 20% naturally cold users. Same seed, same data."
    )
    with st.form("synth_form"):
        name = st.text_input("Dataset name", value="synth", key="synth_name")
        a, b = st.columns(2)
        n_users = a.number_input("Users", min_value=10, max_value=5_000_000, value=2_000, step=500, key="synth_users")
        n_items = b.number_input("Items", min_value=10, max_value=1_000_000, value=500, step=100, key="synth_items")
        mean_len = a.number_input(
            "Mean clicks per user", min_value=1.0, max_value=1_000.0, value=20.0, key="synth_mean_len"
        )
        seed = b.number_input("Seed", min_value=0, value=0, step=1, key="synth_seed")
        submitted = st.form_submit_button("Generate and import", type="primary", key="synth_submit")
    if not submitted:
        return
    bar = st.progress(0.0, text="Generating users ...")

    def progress(done: int, total: int) -> None:  # generation is most of the work; the import follows
        text = f"Generated {done:,} of {total:,} users" + ("; importing ..." if done == total else "")
        bar.progress(0.9 * done / total, text=text)

    try:
        new = synth_dataset(
            store,
            name.strip(),
            int(n_users),
            int(n_items),
            float(mean_len),
            int(seed),
            progress=progress,
            log=lambda _msg: None,
        )
    except (InputError, OSError) as exc:
        st.error(failure(exc, "generate the synthetic dataset"))
        return
    published(new, [], "Generated")


st.title(f"Data · {ds.ref}" if ds else "Data")
show_flash()
if tab := st.session_state.pop(_OPEN_TAB, None):  # set by published(): show the new version's overview
    st.session_state[TAB_KEY] = tab
# Lazy tabs bound to the URL (?tab=SQL): only the open tab's content runs and reaches the browser.
# An empty store opens on the import.
overview_tab, import_tab, sql_tab, more_tab = st.tabs(
    TABS, key=TAB_KEY, bind="query-params", default=TABS[0] if ds else TABS[1]
)
if overview_tab.open:
    with overview_tab:
        if ds:
            show_overview(ds)
        else:
            st.info(NO_DATASET)
if import_tab.open:
    with import_tab:
        import_section()
else:
    discard_staged()  # a hidden uploader forgets its file, so the staged copy is no longer needed
if sql_tab.open:
    with sql_tab:
        if ds:
            sql_section(ds)
        else:
            st.info(NO_DATASET)
if more_tab.open:
    with more_tab:
        left, right = st.columns(2)
        with left:
            fetch_section()
        with right:
            synth_section()
