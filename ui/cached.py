"""Streamlit caches: computations keyed by a dataset version's path and content hash, and loaded models.

Versions are immutable, so (path, hash) names the data exactly; the hash also tells a
re-created folder at the same path from the one cached. A run's model is keyed by its folder and
checkpoint time, so a recomputed run is loaded afresh.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from ppr.data.domains import domain_counts
from ppr.data.overview import dataset_overview
from ppr.data.sql import run_readonly_sql
from ppr.data.store import Dataset, Store
from ppr.data.upload import UploadPreview, preview_upload
from ppr.runs.folder import RunFolder

SQL_ROW_LIMIT = 10_000
SQL_TIMEOUT_S = 30.0  # the app's SQL box: a page must not hang on a runaway query


@st.cache_data(show_spinner="Summarizing the dataset ...", max_entries=16)
def overview(path: str, content_hash: str) -> dict[str, Any]:
    return dataset_overview(Dataset(Path(path)))


@st.cache_data(show_spinner=False, max_entries=64)
def domains(path: str, content_hash: str) -> dict[str, int]:
    """Items per declared item domain ({} for a dataset of one domain): what the Runs form offers as target."""
    return domain_counts(Dataset(Path(path)))


@st.cache_data(show_spinner="Running the query ...", max_entries=64)
def sql(path: str, content_hash: str, query: str, limit: int = SQL_ROW_LIMIT) -> pd.DataFrame:
    return run_readonly_sql(Dataset(Path(path)), query, limit=limit, timeout_s=SQL_TIMEOUT_S)


@st.cache_data(show_spinner="Reading the first rows ...", max_entries=8)
def preview(interactions: str, users: str | None, items: str | None) -> UploadPreview:
    return preview_upload(Path(interactions), users and Path(users), items and Path(items))


@st.cache_resource(show_spinner="Loading the tuned model ...", max_entries=8)
def model(home: str, run_path: str, mtime: float) -> Any:
    """A finished run's model (ppr.runs.pipeline.load_model), shared by the pages that score with it."""
    from ppr.runs.pipeline import load_model  # torch: only for the pages that load a model, not the Data page

    return load_model(Store(Path(home)), RunFolder(Path(run_path)))


def run_model(store: Store, run: RunFolder) -> Any:
    """The cached model of a finished run (its result file's time names the version computed)."""
    return model(str(store.home), str(run.path), (run.path / "metrics.json").stat().st_mtime)
