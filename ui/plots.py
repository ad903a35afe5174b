"""Plotly figures of the Prompt explorer (drawing only, no computing): its scatter of up to tens of thousands of
users, where Plotly's point selection picks a user."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go


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
