"""Figure downloads open offline: plotly.js travels inside the HTML."""

from __future__ import annotations

import plotly.graph_objects as go

from ui.downloads import standalone_html


def test_standalone_html_embeds_plotly_and_the_data() -> None:
    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[0.25, 0.5, 0.75], name="ppr-full"))
    html = standalone_html(fig)
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "<script src=" not in html  # no script is fetched from a network (the CDN link is what we replaced)
    assert "Plotly.newPlot" in html and len(html) > 1_000_000  # plotly.js itself is inlined
    assert '"ppr-full"' in html and "0.75" in html
