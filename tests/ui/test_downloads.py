"""Chart downloads without a browser or a network: PNG, SVG and an HTML page with Vega inside."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import altair as alt
import numpy as np
import pandas as pd
import pytest

from ui.downloads import html, png, svg


@pytest.fixture(scope="module")
def chart() -> alt.Chart:
    data = pd.DataFrame({"method": ["finetune", "ppr-full"], "ndcg": [0.61, 0.6437]})
    return alt.Chart(data, title="T").mark_bar().encode(x="method:N", y="ndcg:Q").properties(width=200, height=100)


def test_altair_charts_as_png_and_svg_without_a_browser(chart) -> None:
    image = png(chart)
    assert image[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(image[16:20], "big")
    assert width >= 400  # drawn at twice the pixel size
    drawn = svg(chart)
    assert ET.fromstring(drawn).tag == "{http://www.w3.org/2000/svg}svg"
    assert "ppr-full" in drawn  # the axis labels are text in the SVG


def test_the_html_download_opens_offline_with_the_data_inside(chart) -> None:
    page = html(chart)
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert "<script src=" not in page  # nothing is fetched from a CDN: Vega is inlined
    assert "vegaEmbed" in page and len(page) > 300_000
    assert "0.6437" in page and "ppr-full" in page


def test_a_chart_of_more_rows_than_altair_allows_by_default_still_downloads() -> None:
    rng = np.random.default_rng(0)
    many = pd.DataFrame(rng.normal(size=(6_000, 2)), columns=["x", "y"])  # Altair refuses over 5,000 by default
    chart = alt.Chart(many).mark_circle().encode(x="x:Q", y="y:Q")
    assert png(chart)[:8] == b"\x89PNG\r\n\x1a\n"
