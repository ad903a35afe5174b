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


def test_altair_charts_as_png_and_svg_without_a_browser() -> None:
    import xml.etree.ElementTree as ET

    import altair as alt
    import pandas as pd

    from ui.downloads import png, svg

    chart = alt.Chart(pd.DataFrame({"method": ["finetune", "ppr-full"], "ndcg": [0.61, 0.64]}), title="T").mark_bar()
    chart = chart.encode(x="method:N", y="ndcg:Q").properties(width=200, height=100)
    image = png(chart)
    assert image[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(image[16:20], "big")
    assert width >= 400  # drawn at twice the pixel size
    root = ET.fromstring(svg(chart))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "ppr-full" in svg(chart)  # the axis labels are text in the SVG
