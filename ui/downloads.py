"""Download buttons whose files are built only when clicked, and that open offline."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st


def standalone_html(fig: go.Figure) -> str:
    """The figure as one HTML file with plotly.js inside (~5 MB): it opens without a network."""
    return fig.to_html(include_plotlyjs=True, full_html=True)


def figure_download(fig: go.Figure, name: str, key: str) -> None:
    """An HTML download of `fig`, rendered on click (embedding plotly.js on every rerun would cost ~5 MB each)."""
    st.download_button(
        "Download figure (HTML)",
        lambda: standalone_html(fig),
        file_name=f"{name}.html",
        mime="text/html",
        key=key,
        on_click="ignore",
    )
