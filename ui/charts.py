"""Plotly figures for the overview tables of ppr/data/overview.py (drawing only, no computing).

Few figures with several panels each: every plotly chart costs the browser a separate draw,
so the Data overview shows three, not one per table.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

COLD, WARM, MISSING = "#e4572e", "#4c78a8", "#bbbbbb"
MAX_BARS = 25
_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), height=320)
BAR_PX, PANEL_GAP_PX = 22, 70  # attribute panels: height per bar, room between rows for a title and ticks


def activity(hist: pd.DataFrame, curve: pd.DataFrame, cold_threshold: int) -> go.Figure:
    """Two panels: users per log-spaced sequence-length bin (cold bins in the cold colour) and item popularity."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08, subplot_titles=(
        f"Sequence lengths (log-spaced bins; cold = fewer than {cold_threshold} clicks)",
        "Item popularity (rank vs clicks, log-log)"))  # fmt: skip
    labels = [str(lo) if hi - lo == 1 else f"{lo}-{hi - 1}" for lo, hi in zip(hist["lo"], hist["hi"], strict=True)]
    cold = (hist["hi"] <= cold_threshold).to_numpy()
    for group, mask, color in (("cold", cold, COLD), ("warm", ~cold, WARM)):
        fig.add_trace(go.Bar(x=[lb for lb, m in zip(labels, mask, strict=True) if m], y=hist["users"][mask],
                             name=group, marker_color=color,
                             hovertemplate="%{x} clicks: %{y} users<extra></extra>"), row=1, col=1)  # fmt: skip
    fig.add_trace(go.Scatter(x=curve["rank"], y=curve["clicks"], mode="lines+markers" if len(curve) < 60 else "lines",
                             marker_color=WARM, showlegend=False,
                             hovertemplate="rank %{x}: %{y} clicks<extra></extra>"), row=1, col=2)  # fmt: skip
    fig.update_layout(**_LAYOUT | {"height": 360}, bargap=0.05,
                      legend=dict(orientation="h", x=0, xanchor="left", yref="container", y=0, yanchor="bottom"))
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=labels, title_text="clicks per user",
                     row=1, col=1)  # fmt: skip
    fig.update_yaxes(type="log", title_text="users", row=1, col=1)
    fig.update_xaxes(type="log", title_text="item rank", row=1, col=2)
    fig.update_yaxes(type="log", title_text="clicks", row=1, col=2)
    if hist["users"].max() >= 100:
        fig.update_yaxes(dtick=1, row=1, col=1)  # log axis over decades: label powers of ten only
    if len(curve) and curve["rank"].max() >= 100:
        fig.update_xaxes(dtick=1, row=1, col=2)
    if len(curve) and curve["clicks"].max() >= 100:
        fig.update_yaxes(dtick=1, row=1, col=2)
    return fig


def attributes(dists: dict[str, pd.DataFrame], cols: int = 2) -> go.Figure:
    """One panel per attribute: share of users per value (the most common when there are many), 'missing' greyed."""
    shown = {name: d.sort_values("users", ascending=False).head(MAX_BARS) for name, d in dists.items()}
    titles = [name + (f" (top {len(shown[name])} of {len(d)} values)" if len(d) > MAX_BARS else "")
              for name, d in dists.items()]  # fmt: skip
    cols = max(1, min(cols, len(shown)))
    rows = math.ceil(len(shown) / cols)
    bars = [max(len(df) for df in list(shown.values())[r * cols:(r + 1) * cols]) for r in range(rows)]
    plot_px = BAR_PX * sum(max(b, 2) for b in bars) + PANEL_GAP_PX * (rows - 1)
    longest = max((len(str(v)) for df in shown.values() for v in df["value"]), default=0)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, row_heights=[max(b, 2) for b in bars],
                        vertical_spacing=PANEL_GAP_PX / plot_px if rows > 1 else 0.0,
                        horizontal_spacing=min(0.3, 0.06 + 0.007 * longest))  # room for the right panels' labels
    for i, df in enumerate(shown.values()):
        colors = [MISSING if v == "missing" else WARM for v in df["value"]]
        fig.add_trace(go.Bar(x=df["share"], y=df["value"], orientation="h", marker_color=colors, showlegend=False,
                             customdata=df["users"],
                             hovertemplate="%{y}: %{customdata} users (%{x:.1%})<extra></extra>"),
                      row=i // cols + 1, col=i % cols + 1)  # fmt: skip
    fig.update_layout(**_LAYOUT | {"height": plot_px + 50})
    fig.update_xaxes(tickformat=".0%")
    fig.update_yaxes(autorange="reversed", type="category")
    return fig


def split_roles(roles: pd.DataFrame) -> go.Figure:
    colors = [WARM if k == "warm" else COLD for k in roles["key"]]
    fig = go.Figure(go.Bar(x=roles["role"], y=roles["users"], marker_color=colors, text=roles["users"]))
    fig.update_layout(**_LAYOUT, title="Users per role in the cold-start split")
    return fig
