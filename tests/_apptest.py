"""AppTest fixtures: a store home holding the bundled sample (imported once per session), or an empty one.

Test modules import the fixtures they use (`from _apptest import app_home  # noqa: F401`).
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from ppr.data.sample import ensure_sample
from ppr.data.store import Store

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 60


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("sample-home")
    ensure_sample(Store(home))
    return home


@pytest.fixture
def app_home(tmp_path: Path, sample_template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$PPR_HOME with the sample already imported (as on every start after the first)."""
    home = tmp_path / "home"
    shutil.copytree(sample_template, home)
    monkeypatch.setenv("PPR_HOME", str(home))
    return home


@pytest.fixture
def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store whose datasets were all removed (so the sample is not brought back)."""
    home = tmp_path / "home"
    (home / "datasets").mkdir(parents=True)
    monkeypatch.setenv("PPR_HOME", str(home))
    return home


def start(page: str | None = None, **query: str) -> AppTest:
    """Run the app (then `page`, e.g. "pages/data.py"); fails on any exception."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(query)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def plotly_figures(at: AppTest) -> list[dict[str, Any]]:
    """Every plotly chart on the page as its JSON spec (from the element proto), typed arrays decoded."""
    return [_decode(json.loads(el.proto.spec)) for el in at.get("plotly_chart")]


def vega_specs(at: AppTest) -> list[dict[str, Any]]:
    """Every Altair/Vega-Lite chart on the page as its spec, its datasets (Arrow bytes on the proto) put back
    under spec["datasets"] as DataFrames, as Altair's own `to_dict()` holds them (as records)."""
    specs = []
    for el in at.get("vega_lite_chart"):
        spec = json.loads(el.proto.spec)
        spec["datasets"] = {
            d.name: dataframe_util.convert_arrow_bytes_to_pandas_df(d.data.data) for d in el.proto.datasets
        }
        specs.append(spec)
    return specs


def vega_panels(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any], pd.DataFrame]]:
    """The single views of a (concatenated or layered) Vega-Lite spec: (title, view, its data as a DataFrame).

    A view inherits its parent's data and title; field-equals filters are applied, other transforms refused.
    """
    datasets = {k: v if isinstance(v, pd.DataFrame) else pd.DataFrame(v) for k, v in spec.get("datasets", {}).items()}

    def walk(node: dict[str, Any], data: dict | None, title: str | None) -> list:
        data, title = node.get("data", data), node.get("title", title)
        for key in ("hconcat", "vconcat", "concat", "layer"):
            if key in node:
                return [p for child in node[key] for p in walk(child, data, title)]
        df = datasets[data["name"]]
        for t in node.get("transform", []):
            assert set(t) == {"filter"} and set(t["filter"]) == {"field", "equal"}, t
            df = df[df[t["filter"]["field"]] == t["filter"]["equal"]]
        return [(title["text"] if isinstance(title, dict) else title, node, df.reset_index(drop=True))]

    return walk(spec, None, None)


def _decode(obj: Any) -> Any:
    """Plotly 6+ writes numeric arrays as {"dtype", "bdata"(base64), "shape"?}; turn them into numpy."""
    if isinstance(obj, dict):
        if "bdata" in obj and "dtype" in obj:
            arr = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=obj["dtype"])
            return arr.reshape(obj["shape"]) if "shape" in obj else arr
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def by_key(elements, prefix: str):
    """The one widget whose key starts with `prefix` (keys that embed an upload id)."""
    found = [e for e in elements if e.key and e.key.startswith(prefix)]
    assert len(found) == 1, [e.key for e in elements]
    return found[0]


def chart_title(fig: dict[str, Any]) -> str:
    return fig["layout"]["title"]["text"]
