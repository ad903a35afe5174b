"""Plotly figures of the Compare and Prompt explorer pages (drawing only, no computing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from ppr.report.tables import k_order
from ui.palette import colour_map

LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "height": 360}


def method_lines(df: pd.DataFrame, x: str, title: str) -> go.Figure:
    """Mean per method along k-shot or noise; error bars: the 95% interval over users."""
    df = df.assign(above=df["ci_high"] - df["mean"], below=df["mean"] - df["ci_low"])
    fig = px.line(
        df,
        x=x,
        y="mean",
        error_y="above",
        error_y_minus="below",
        color="label",
        color_discrete_map=colour_map(df["label"]),
        markers=True,
        title=title,
        labels={"mean": "mean (95% interval over users)", "label": "method"},
    )
    fig.update_layout(**LAYOUT)
    if x == "k":
        fig.update_xaxes(type="category", categoryorder="array", categoryarray=sorted(df["k"].unique(), key=k_order))
    return fig


def difference_bars(df: pd.DataFrame, y: str, low: str, high: str, title: str, facet: str | None = None) -> go.Figure:
    """One bar per method and (k, noise) setting with its 95% interval; '*' over significant bars."""
    df = df.assign(
        setting=[f"k={a}, noise={b:g}" for a, b in zip(df["k"], df["noise"], strict=True)],
        above=df[high] - df[y],
        below=df[y] - df[low],
    )
    text = ["*" if s else "" for s in df.get("significant", pd.Series(False, index=df.index)).fillna(False)]
    fig = px.bar(
        df,
        x="setting",
        y=y,
        error_y="above",
        error_y_minus="below",
        color="label",
        color_discrete_map=colour_map(df["label"]),
        barmode="group",
        facet_col=facet,
        title=title,
        text=text,
    )
    fig.update_traces(textposition="outside")
    fig.update_layout(**LAYOUT)
    return fig


def vector_scatter(
    table: pd.DataFrame, xy: np.ndarray, roles: list[str], colour: str, hover: list[str], what: str, axis: str
) -> go.Figure:
    """The users of `roles` at their 2-D coordinates `xy` (rows of `table`), coloured by `colour`; customdata
    starts with the user id (a click selects the user)."""
    plot = table.assign(x=xy[:, 0], y=xy[:, 1])
    plot = plot[plot["role"].isin(roles)]
    colours = plot[colour].astype(str) if colour != "n_clicks" else plot[colour]
    fig = px.scatter(
        plot,
        x="x",
        y="y",
        color=colours,
        custom_data=["user"],
        hover_data=hover,
        title=f"{what} ({axis}), coloured by {colour}",
        labels={"color": colour},
    )
    fig.update_traces(marker={"size": 5, "opacity": 0.8})
    fig.update_layout(
        margin={"l": 10, "r": 10, "t": 40, "b": 10}, height=520, xaxis_title=f"{axis} 1", yaxis_title=f"{axis} 2"
    )
    return fig


def mark(fig: go.Figure, xy: np.ndarray, name: str, symbol: str) -> None:
    """A black marker at `xy` on `fig` (the selected user, a what-if profile)."""
    fig.add_trace(
        go.Scatter(
            x=[float(xy[0])],
            y=[float(xy[1])],
            mode="markers",
            name=name,
            hovertemplate=name + "<extra></extra>",
            marker={"symbol": symbol, "size": 16, "color": "black", "line": {"width": 2, "color": "black"}},
        )
    )
