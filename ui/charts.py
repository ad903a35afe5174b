"""Plotly figures for the overview tables of ppr/data/overview.py (drawing only, no computing)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

COLD, WARM = "#e4572e", "#4c78a8"
MAX_BARS = 25
_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), height=320)


def length_histogram(hist: pd.DataFrame, cold_threshold: int) -> go.Figure:
    """Users per log-spaced length bin; bins below the cold threshold in the cold colour."""
    labels = [str(lo) if hi - lo == 1 else f"{lo}-{hi - 1}" for lo, hi in zip(hist["lo"], hist["hi"], strict=True)]
    group = ["cold" if hi <= cold_threshold else "warm" for hi in hist["hi"]]
    df = pd.DataFrame({"clicks per user": labels, "users": hist["users"], "group": group})
    fig = px.bar(df, x="clicks per user", y="users", color="group", log_y=True,
                 color_discrete_map={"cold": COLD, "warm": WARM},
                 title=f"Sequence lengths (log-spaced bins; cold = fewer than {cold_threshold} clicks)")  # fmt: skip
    fig.update_layout(**_LAYOUT, bargap=0.05, legend_title_text="")
    fig.update_xaxes(type="category")
    if hist["users"].max() >= 100:
        fig.update_yaxes(dtick=1)  # log axis over decades: label powers of ten only
    return fig


def popularity_curve(curve: pd.DataFrame) -> go.Figure:
    fig = px.line(curve, x="rank", y="clicks", log_x=True, log_y=True, markers=len(curve) < 60,
                  title="Item popularity (rank vs clicks, log-log)")  # fmt: skip
    fig.update_layout(**_LAYOUT)
    if len(curve) and curve["rank"].max() >= 100:
        fig.update_xaxes(dtick=1)
    if len(curve) and curve["clicks"].max() >= 100:
        fig.update_yaxes(dtick=1)
    return fig


def attribute_distribution(name: str, dist: pd.DataFrame) -> go.Figure:
    """Share of users per value (the most common values when there are many), 'missing' greyed."""
    df = dist.sort_values("users", ascending=False).head(MAX_BARS)
    more = len(dist) - len(df)
    colors = ["#bbbbbb" if v == "missing" else WARM for v in df["value"]]
    fig = go.Figure(go.Bar(x=df["share"], y=df["value"], orientation="h", marker_color=colors,
                           customdata=df["users"], hovertemplate="%{y}: %{customdata} users (%{x:.1%})<extra></extra>"))
    title = name + (f" (top {len(df)} of {len(dist)} values)" if more else "")
    fig.update_layout(**_LAYOUT | {"height": 120 + 22 * len(df)}, title=title, xaxis_tickformat=".0%")
    fig.update_yaxes(autorange="reversed", type="category")
    return fig


def split_roles(roles: pd.DataFrame) -> go.Figure:
    colors = [WARM if k == "warm" else COLD for k in roles["key"]]
    fig = go.Figure(go.Bar(x=roles["role"], y=roles["users"], marker_color=colors, text=roles["users"]))
    fig.update_layout(**_LAYOUT, title="Users per role in the cold-start split")
    return fig
