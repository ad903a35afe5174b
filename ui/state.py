"""What every page shares: the store (one per process and home), the active dataset, the sidebar.

The active dataset lives in st.session_state (so it survives page switches) and is
mirrored to the URL (?dataset=NAME@vN) so a refreshed tab finds it again.
"""

from __future__ import annotations

import os

import streamlit as st

from ppr.data.sample import ensure_sample
from ppr.data.store import Dataset, Store, resolve_home
from ppr.errors import InputError

ACTIVE = "active_dataset"  # canonical "NAME@vN"; pages may set it (then st.rerun())
QUERY_KEY = "dataset"
_SELECT = "_active_dataset_select"  # the sidebar widget's own key
_FLASH = "_flash"
_KEPT = "_kept_widgets"  # keys of the widgets whose choice outlives a visit to another page


@st.cache_resource(show_spinner="Preparing the dataset store ...")
def _store_at(home: str) -> Store:
    store = Store(home)
    if not store.datasets_dir.exists():  # first start of this store: bring the bundled sample
        ensure_sample(store)
    store.sweep_stale()  # at start-up: what killed imports, splits and removals left behind (only ours, only stale)
    return store


def get_store() -> Store:
    """The store at $PPR_HOME (default ./cache), shared with the CLI; one object per process and home."""
    return _store_at(str(resolve_home()))


def dataset_refs(store: Store) -> list[str]:
    """Every version of every dataset, newest version first within a name."""
    return [f"{name}@v{v}" for name in store.names() for v in reversed(store.versions(name))]


def set_active(ref: str) -> None:
    """Make `ref` the active dataset; call before st.rerun() when the sidebar was already drawn."""
    st.session_state[ACTIVE] = ref


def active_dataset(store: Store) -> Dataset | None:
    """The active dataset (resolved here too, so a view works even before the sidebar ran); None if none."""
    ref = _resolve_active(dataset_refs(store))
    if not ref:
        return None
    try:
        return store.open(ref)
    except InputError:  # removed by another process since the list was read
        return None


def _resolve_active(refs: list[str]) -> str | None:
    """Session value, else the URL's, else the first dataset; a bare NAME means its latest version."""
    wanted = st.session_state.get(ACTIVE) or st.query_params.get(QUERY_KEY)
    if wanted not in refs:
        same_name = [r for r in refs if wanted and r.split("@")[0] == str(wanted).split("@")[0]]
        wanted = same_name[0] if same_name else (refs[0] if refs else None)
    st.session_state[ACTIVE] = wanted
    return wanted


def _adopt_selection() -> None:
    st.session_state[ACTIVE] = st.session_state[_SELECT]


def sidebar(store: Store) -> None:
    """Active dataset picker, compute device and store location, on every page."""
    refs = dataset_refs(store)
    ref = _resolve_active(refs)
    with st.sidebar:
        if ref:
            st.session_state[_SELECT] = ref
            st.selectbox(
                "Active dataset",
                refs,
                key=_SELECT,
                on_change=_adopt_selection,
                help="Every page works on this dataset. Versions are immutable; importing again adds one.",
            )
            st.query_params[QUERY_KEY] = ref
        else:
            st.caption("No dataset yet: add one on the Data page.")
            if QUERY_KEY in st.query_params:
                del st.query_params[QUERY_KEY]
        st.caption(f"Compute: **{device_label()}**")
        st.caption(f"Store: `{store.home}`")


@st.cache_resource(show_spinner=False)
def device_label() -> str:
    """'NVIDIA ... (CUDA)' when a GPU is visible to torch, else 'CPU (N cores)'."""
    import torch  # only here: importing torch costs a second or two

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (CUDA)"
    return f"CPU ({os.cpu_count()} cores)"


def kept(key: str) -> str:
    """Register a selection widget's key as one whose choice survives a visit to another page; returns the key.

    (Streamlit drops the state of widgets not drawn in a run; buttons, uploaders and charts can't be kept.)
    """
    st.session_state.setdefault(_KEPT, set()).add(key)
    return key


def keep_widget_state() -> None:
    """Re-save every kept key before the page runs: a re-saved key outlives its widget's absence.

    (Streamlit's documented "interrupt the widget clean-up" pattern; a kept value that is no longer
    among a selectbox's options falls back to the default.)
    """
    for key in st.session_state.get(_KEPT, ()):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def flash(kind: str, text: str) -> None:
    """A message to show once on the next run (survives the st.rerun() after an import)."""
    st.session_state[_FLASH] = (kind, text)


def show_flash() -> None:
    if msg := st.session_state.pop(_FLASH, None):
        kind, text = msg
        getattr(st, kind)(text)
