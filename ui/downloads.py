"""Download buttons whose files are built only when clicked, and that open offline."""

from __future__ import annotations

import altair as alt
import pandas as pd
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


def png(chart: alt.TopLevelMixin) -> bytes:
    """The chart as a PNG at twice its pixel size, drawn by vl-convert (no browser, no network)."""
    import vl_convert as vlc  # on click only: its engine takes a second to start

    return vlc.vegalite_to_png(chart.to_json(), scale=2)


def svg(chart: alt.TopLevelMixin) -> str:
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_json())


def chart_downloads(chart: alt.TopLevelMixin, name: str, key: str) -> None:
    """PNG and SVG downloads of an Altair chart, side by side, each drawn on click."""
    left, right, _ = st.columns([1, 1, 4])
    left.download_button(
        "PNG", lambda: png(chart), file_name=f"{name}.png", mime="image/png", key=f"{key}_png", on_click="ignore"
    )
    right.download_button(
        "SVG", lambda: svg(chart), file_name=f"{name}.svg", mime="image/svg+xml", key=f"{key}_svg", on_click="ignore"
    )


def csv_download(table: pd.DataFrame, label: str, name: str, key: str | None = None) -> None:
    """A button that downloads `table` as NAME.csv (no rerun of the page on click)."""
    st.download_button(
        label, table.to_csv(index=False), file_name=f"{name}.csv", mime="text/csv", key=key, on_click="ignore"
    )
