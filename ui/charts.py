"""Altair (Vega-Lite) figures of the workbench's pages (drawing only, no computing).

Altair, not Plotly: a new browser tab loads Vega in about a tenth of plotly.js's time, so the Data page
opens seconds sooner. Few figures with several panels each: the Data overview shows three.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from ppr.report.tables import k_order
from ui.palette import colour_map

COLD, WARM, MISSING = "#e4572e", "#4c78a8", "#bbbbbb"
MAX_BARS = 25
BAR_PX, PANEL_W, HEIGHT = 22, 300, 260  # attribute bars: height per bar; panel width; activity/roles height
ACTIVITY_W = 390  # two panels side by side fit the wide layout at 1400 px
_LOG_TICKS = {"tickCount": 5, "format": "~s"}  # a log axis over decades: powers of ten, not every minor tick


def method_colour(labels: pd.Series) -> tuple[alt.Color, list[str]]:
    """The `label` field coloured by the one palette (ui.palette), its legend titled 'method'; and the labels in
    legend order (for offsets within a group)."""
    colours = colour_map(labels)
    scale = alt.Scale(domain=list(colours), range=list(colours.values()))
    return alt.Color("label:N", title="method", scale=scale), list(colours)


def activity(hist: pd.DataFrame, curve: pd.DataFrame, cold_threshold: int) -> alt.HConcatChart:
    """Two panels: users per log-spaced sequence-length bin (cold bins in the cold colour) and item popularity."""
    total = max(int(hist["users"].sum()), 1)
    labels = [str(lo) if hi - lo == 1 else f"{lo}-{hi - 1}" for lo, hi in zip(hist["lo"], hist["hi"], strict=True)]
    bins = hist.assign(
        clicks=labels,
        group=["cold" if hi <= cold_threshold else "warm" for hi in hist["hi"]],
        share=hist["users"] / total,
    )
    lengths = (
        alt.Chart(
            bins[bins["users"] > 0],
            title=(  # a log axis cannot show empty bins; their labels stay
                f"Sequence lengths (log-spaced bins; cold = fewer than {cold_threshold} clicks)"
            ),
        )
        .mark_bar()
        .encode(
            x=alt.X(
                "clicks:N",
                sort=labels,
                scale=alt.Scale(domain=labels),
                title="clicks per user",
                axis=alt.Axis(labelAngle=-45),
            ),
            y=alt.Y(
                "users:Q", scale=alt.Scale(type="log"), title="users", axis=alt.Axis(**_LOG_TICKS), stack=None
            ),  # stacked bars would start at zero, which a log axis cannot show
            color=alt.Color(
                "group:N",
                scale=alt.Scale(domain=["cold", "warm"], range=[COLD, WARM]),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            tooltip=[alt.Tooltip("clicks:N", title="clicks per user"), "users:Q", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(width=ACTIVITY_W, height=HEIGHT)
    )
    line = (
        alt.Chart(curve[curve["clicks"] > 0], title="Item popularity (rank vs clicks, log-log)")
        .mark_line(color=WARM, point=len(curve) < 60)
        .encode(
            x=alt.X("rank:Q", scale=alt.Scale(type="log"), title="item rank", axis=alt.Axis(**_LOG_TICKS)),
            y=alt.Y("clicks:Q", scale=alt.Scale(type="log"), title="clicks", axis=alt.Axis(**_LOG_TICKS)),
            tooltip=["rank:Q", "clicks:Q"],
        )
        .properties(width=ACTIVITY_W, height=HEIGHT)
    )
    return alt.hconcat(lengths, line, spacing=40, autosize=alt.AutoSizeParams(type="pad", contains="padding"))


def attributes(dists: dict[str, pd.DataFrame], cols: int = 2) -> alt.VConcatChart:
    """One panel per attribute: share of users per value (the most common when there are many), 'missing' greyed.

    Panels are rows of `cols`, each as tall as its bars; they share one dataset (column `attribute`).
    """
    shown = {name: d.sort_values("users", ascending=False).head(MAX_BARS) for name, d in dists.items()}
    data = pd.concat(
        [
            df.assign(attribute=name, color=[MISSING if v == "missing" else WARM for v in df["value"]])
            for name, df in shown.items()
        ],
        ignore_index=True,
    )
    data["value"] = data["value"].astype(str)
    panels = []
    for name, df in shown.items():
        n = len(dists[name])
        title = name + (f" (top {len(df)} of {n} values)" if n > MAX_BARS else "")
        panels.append(
            alt.Chart(title=alt.Title(title, anchor="start"))
            .mark_bar()
            .encode(
                x=alt.X("share:Q", title="share of users", axis=alt.Axis(format=".0%")),
                y=alt.Y("value:N", sort=list(df["value"].astype(str)), title=None, axis=alt.Axis(labelLimit=180)),
                color=alt.Color("color:N", scale=None),
                tooltip=["value:N", "users:Q", alt.Tooltip("share:Q", format=".1%")],
            )
            .transform_filter(alt.FieldEqualPredicate(field="attribute", equal=name))
            .properties(width=PANEL_W, height=BAR_PX * max(len(df), 2))
        )
    cols = max(1, cols)
    rows = [alt.hconcat(*panels[i : i + cols], spacing=60) for i in range(0, len(panels), cols)]
    return alt.vconcat(*rows, data=data, spacing=30)


def split_roles(roles: pd.DataFrame) -> alt.LayerChart:
    """Users per role of the cold-start split, warm in the warm colour and the cold roles in the cold one."""
    data = roles.assign(color=[WARM if k == "warm" else COLD for k in roles["key"]])
    base = alt.Chart(data, title="Users per role in the cold-start split").encode(
        x=alt.X("role:N", sort=list(roles["role"]), title=None, axis=alt.Axis(labelAngle=0, labelLimit=200)),
        y=alt.Y("users:Q", title="users"),
        tooltip=["role:N", "users:Q"],
    )
    bars = base.mark_bar().encode(color=alt.Color("color:N", scale=None))
    return (bars + base.mark_text(dy=-8).encode(text="users:Q")).properties(height=HEIGHT)


LOSS_W, LOSS_H = 600, 160  # loss-curve panel width and height (px)


def loss_curve(rows: list[dict[str, Any]]) -> alt.VConcatChart:
    """Loss and validation NDCG@10 per epoch from metrics.jsonl rows, one panel per series, each with its own
    y scale (epoch 0: the model before training, validation only)."""
    df = pd.DataFrame([r for r in rows if "epoch" in r and "event" not in r])
    value_cols = [c for c in ("loss", "val_ndcg@10") if c in df.columns]
    long = df.melt(id_vars="epoch", value_vars=value_cols, var_name="series").dropna()
    panels = [
        alt.Chart()
        .mark_line(point=True)
        .encode(
            x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("value:Q", title=name, scale=alt.Scale(zero=False)),
            tooltip=["epoch:Q", "series:N", alt.Tooltip("value:Q", format=".4g")],
        )
        .transform_filter(alt.FieldEqualPredicate(field="series", equal=name))
        .properties(width=LOSS_W, height=LOSS_H)
        for name in value_cols
    ]
    return alt.vconcat(*panels, data=long, spacing=15, title="Loss and validation NDCG@10 per epoch")


COHORT_W = 560


def cohort_bars(df: pd.DataFrame, title: str, small: int) -> alt.LayerChart:
    """Each method's difference to the baseline per cohort (one row each), with its 95% interval; cohorts of
    fewer than `small` users are pale and say so in their label."""
    df = df.assign(
        cohort_label=[
            f"{c} ({n} users{', few' if n < small else ''})" for c, n in zip(df["cohort"], df["n_users"], strict=True)
        ],
        shade=[0.35 if n < small else 1.0 for n in df["n_users"]],
        star=["*" if s else "" for s in df["significant"].fillna(False)],
    )
    colour, methods = method_colour(df["label"])
    order = list(dict.fromkeys(df["cohort_label"]))
    base = alt.Chart(df).encode(
        y=alt.Y("cohort_label:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
        yOffset=alt.YOffset("label:N", sort=methods),
        color=colour,
        opacity=alt.Opacity("shade:Q", scale=None, legend=None),
        tooltip=[
            "cohort:N",
            "label:N",
            "n_users:Q",
            alt.Tooltip("diff:Q", format="+.4f"),
            alt.Tooltip("diff_low:Q", format="+.4f"),
            alt.Tooltip("diff_high:Q", format="+.4f"),
            alt.Tooltip("p_adj:Q", format=".2g"),
        ],
    )
    bars = base.mark_bar().encode(x=alt.X("diff:Q", title="difference (95% interval over users)"))
    whiskers = base.mark_rule(color="black").encode(x="diff_low:Q", x2="diff_high:Q")
    stars = base.mark_text(align="left", dx=4, fontSize=14).encode(x="diff_high:Q", text="star:N")
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(strokeDash=[4, 3], color="gray").encode(x="x:Q")
    height = max(160, 18 * len(df) + 20 * len(order))
    return (bars + whiskers + stars + zero).properties(title=title, width=COHORT_W, height=height)


def attribution_bars(table: pd.DataFrame, run_id: str) -> alt.LayerChart:
    """Attributes ranked by the mean rank change their absence causes, with 95% intervals over users."""
    order = list(table["attribute"])
    base = alt.Chart(table).encode(
        y=alt.Y("attribute:N", sort=order, title=None),
        tooltip=[
            "attribute:N",
            alt.Tooltip("rank_change:Q", format="+.2f"),
            alt.Tooltip("ndcg_change:Q", format="+.4f"),
            alt.Tooltip("top10_overlap:Q", format=".2f"),
            "n_users:Q",
        ],
    )
    bars = base.mark_bar(color=WARM).encode(
        x=alt.X("rank_change:Q", title="places the real next click drops without it (95% interval over users)")
    )
    whiskers = base.mark_rule(color="black").encode(x="rank_low:Q", x2="rank_high:Q")
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(strokeDash=[4, 3], color="gray").encode(x="x:Q")
    title = f"Which attribute matters to {run_id}: leave one out"
    return (bars + whiskers + zero).properties(title=title, width=COHORT_W, height=max(80, 28 * len(order)))


LINE_W, LINE_H, BARS_H = 420, 300, 320


def method_lines(df: pd.DataFrame, x: str, title: str) -> alt.LayerChart:
    """Mean per method along k-shot (`x` 'k') or noise ('noise'), each point with its 95% interval over users.

    Settings are categories (k 'all' has no number), methods side by side within each; clicking a method in
    the legend highlights it.
    """
    df = df.assign(setting=df[x].map(lambda v: f"{v:g}" if isinstance(v, float) else str(v)))
    order = [s for _, s in sorted(zip(df[x].map(k_order), df["setting"], strict=True))]
    pick = alt.selection_point(fields=["label"], bind="legend")
    colour, methods = method_colour(df["label"])
    base = alt.Chart().encode(
        x=alt.X("setting:N", sort=list(dict.fromkeys(order)), title=x, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("label:N", sort=methods),
        color=colour,
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.15)),
        tooltip=[
            alt.Tooltip("label:N", title="method"),
            alt.Tooltip("setting:N", title=x),
            alt.Tooltip("mean:Q", format=".4f"),
            alt.Tooltip("ci_low:Q", format=".4f", title="95% low"),
            alt.Tooltip("ci_high:Q", format=".4f", title="95% high"),
        ],
    )
    points = base.mark_point(filled=True, size=60).encode(
        y=alt.Y("mean:Q", title="mean (95% interval over users)", scale=alt.Scale(zero=False))
    )
    whiskers = base.mark_rule(strokeWidth=2).encode(y="ci_low:Q", y2="ci_high:Q")
    return alt.layer(points, whiskers, data=df).add_params(pick).properties(title=title, width=LINE_W, height=LINE_H)


def difference_bars(
    df: pd.DataFrame, y: str, low: str, high: str, title: str, facet: str | None = None
) -> alt.LayerChart | alt.FacetChart:
    """One bar per method and (k, noise) setting with its 95% interval (`low`..`high`); '*' above significant
    bars; one panel per value of `facet` when given."""
    significant = df["significant"] if "significant" in df else pd.Series(False, index=df.index)
    df = df.assign(
        setting=[f"k={a}, noise={b:g}" for a, b in zip(df["k"], df["noise"], strict=True)],
        star=["*" if s else "" for s in significant.fillna(False).astype(bool)],
    )
    colour, methods = method_colour(df["label"])
    base = alt.Chart().encode(
        x=alt.X("setting:N", sort=list(dict.fromkeys(df["setting"])), title=None, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("label:N", sort=methods),
        color=colour,
        tooltip=[
            alt.Tooltip("label:N", title="method"),
            "setting:N",
            alt.Tooltip(f"{y}:Q", format="+.4f" if y == "diff" else ".4f"),
            alt.Tooltip(f"{low}:Q", format=".4f", title="95% low"),
            alt.Tooltip(f"{high}:Q", format=".4f", title="95% high"),
            *([alt.Tooltip("p_adj:Q", format=".2g", title="adjusted p")] if "p_adj" in df else []),
        ],
    )
    bars = base.mark_bar().encode(y=alt.Y(f"{y}:Q", title="value (95% interval over users)"))
    whiskers = base.mark_rule().encode(y=f"{low}:Q", y2=f"{high}:Q", color=alt.value("black"))
    stars = base.mark_text(dy=-8, fontSize=16).encode(y=f"{high}:Q", text="star:N")
    zero = alt.Chart().mark_rule(strokeDash=[4, 3], color="gray").encode(y=alt.datum(0))
    layers = alt.layer(bars, whiskers, stars, zero, data=df)
    if facet is None:
        return layers.properties(title=title, width=max(LINE_W, 90 * df["setting"].nunique()), height=BARS_H)
    panels = layers.properties(width=max(240, 80 * df["setting"].nunique()), height=BARS_H)
    facets = panels.facet(column=alt.Column(f"{facet}:N", title=None)).properties(title=title)
    return facets.resolve_scale(xOffset="independent")


SCATTER_W, SCATTER_H = 820, 520
PICK = "pick"  # the scatter's point selection: the clicked user
_STAR = "M0,-1L0.24,-0.31L0.95,-0.31L0.38,0.12L0.59,0.81L0,0.38L-0.59,0.81L-0.38,0.12L-0.95,-0.31L-0.24,-0.31Z"
MARK_SHAPES = {"selected": "circle", "what-if": _STAR}


def vector_scatter(
    table: pd.DataFrame,
    xy: Any,
    roles: list[str],
    colour: str,
    hover: list[str],
    title: str,
    axis: str,
    marks: pd.DataFrame | None = None,
) -> alt.LayerChart:
    """The users of `roles` at their 2-D coordinates `xy` (rows of `table`), coloured by `colour`, and black
    `marks` (columns x, y, name, kind: 'selected' or 'what-if') on top.

    Altair, not Plotly: it draws 20k points as fast (bench/app_speed.py's scatter floors) and exports like every other chart. A
    click selects the nearest user (selection PICK, field 'user'), so a click never misses.
    """
    plot = table.assign(x=xy[:, 0], y=xy[:, 1])
    plot = plot[plot["role"].isin(roles)][["x", "y", *dict.fromkeys([*hover, colour])]]
    numeric = colour == "n_clicks"
    if not numeric:
        plot[colour] = plot[colour].astype(str)
    pick = alt.selection_point(name=PICK, fields=["user"], on="click", nearest=True, empty=False)
    x = alt.X("x:Q", title=f"{axis} 1", scale=alt.Scale(zero=False))
    y = alt.Y("y:Q", title=f"{axis} 2", scale=alt.Scale(zero=False))
    points = (
        alt.Chart(plot)
        .mark_circle(size=28, opacity=0.8)
        .encode(x=x, y=y, color=alt.Color(f"{colour}:{'Q' if numeric else 'N'}", title=colour), tooltip=hover)
        .add_params(pick)
    )
    layers = [points]
    if marks is not None and len(marks):
        kinds = list(dict.fromkeys(marks["kind"]))
        shape = alt.Shape("kind:N", scale=alt.Scale(domain=kinds, range=[MARK_SHAPES[k] for k in kinds]), title=None)
        layers.append(
            alt.Chart(marks)
            .mark_point(size=320, color="black", strokeWidth=2, filled=False)
            .encode(x=x, y=y, shape=shape, tooltip=["name:N"])
        )
    return alt.layer(*layers).properties(title=title, width=SCATTER_W, height=SCATTER_H)
