"""Download buttons whose files are built only when clicked, and that open offline."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st


def spec(chart: alt.TopLevelMixin) -> str:
    """The chart's Vega-Lite JSON with its data inline, however many rows (Altair refuses over 5,000 by default;
    the scatter of users has tens of thousands)."""
    with alt.data_transformers.disable_max_rows():
        return chart.to_json()


def png(chart: alt.TopLevelMixin) -> bytes:
    """The chart as a PNG at twice its pixel size, drawn by vl-convert (no browser, no network)."""
    import vl_convert as vlc  # on click only: its engine takes a second to start

    return vlc.vegalite_to_png(spec(chart), scale=2)


def svg(chart: alt.TopLevelMixin) -> str:
    import vl_convert as vlc

    return vlc.vegalite_to_svg(spec(chart))


def html(chart: alt.TopLevelMixin) -> str:
    """The chart as one interactive HTML page with Vega inside (~1 MB): it opens without a network."""
    import vl_convert as vlc

    return vlc.vegalite_to_html(spec(chart), bundle=True)


def chart_downloads(chart: alt.TopLevelMixin, name: str, key: str) -> None:
    """PNG, SVG and HTML downloads of an Altair chart, side by side, each drawn on click (not on every rerun)."""
    files = (
        ("PNG", png, "png", "image/png"),
        ("SVG", svg, "svg", "image/svg+xml"),
        ("HTML", html, "html", "text/html"),
    )
    row = st.container(horizontal=True)
    for label, draw, ext, mime in files:
        row.download_button(
            label,
            lambda draw=draw: draw(chart),
            file_name=f"{name}.{ext}",
            mime=mime,
            key=f"{key}_{ext}",
            on_click="ignore",
            icon=":material/download:",
        )


def csv_download(table: pd.DataFrame, label: str, name: str, key: str | None = None) -> None:
    """A button that downloads `table` as NAME.csv (no rerun of the page on click)."""
    st.download_button(
        label, table.to_csv(index=False), file_name=f"{name}.csv", mime="text/csv", key=key, on_click="ignore"
    )
