"""Data page in AppTest: overview charts (checked through their Vega-Lite specs and data), upload and import, SQL,
MovieLens fetch and synthetic data, on the sample dataset and on an empty store; only the open tab runs."""

import io
import zipfile

import numpy as np
import pandas as pd
from _apptest import (  # noqa: F401
    app_home,
    by_key,
    empty_home,
    sample_template,
    start,
    texts,
    vega_panels,
    vega_specs,
)
from _movielens import write_tiny_ml100k

from ppr.data.store import Store
from ppr.data.summary import dataset_info
from ui import charts

DATA = "views/data.py"
CLICKS = (
    b"visitor_id,product_id,rating,age,event_time\n"
    b"u1,p1,5,30,2024-01-01T00:00:00\n"
    b"u1,p2,3,30,2024-01-02T00:00:00\n"
    b"u2,p1,4,40,2024-01-01T00:00:00\n"
    b"u2,p3,2,40,2024-01-03T00:00:00\n"
)


def _open(at, tab: str):
    """Select a tab as a click does (the tabs are bound to session state key and URL parameter "tab")."""
    at.session_state["tab"] = tab
    at.run()
    assert not at.exception, at.exception
    return at


def _upload(at, name: str, data: bytes, mime: str = "text/csv"):
    if not at.file_uploader:
        _open(at, "Import a file")
    at.file_uploader(key="upload_interactions").set_value((name, data, mime)).run()
    assert not at.exception, at.exception
    return at


def _chart(at, title_start: str) -> list[tuple[str, dict, pd.DataFrame]]:
    """The panels (title, view, data) of the one chart that has a panel titled `title_start`..."""
    charts_ = [vega_panels(s) for s in vega_specs(at)]
    found = [c for c in charts_ if any(t.startswith(title_start) for t, _, _ in c)]
    assert len(found) == 1, [[t for t, _, _ in c] for c in charts_]
    return found[0]


def _log(view: dict, channel: str) -> bool:
    return view["encoding"][channel].get("scale", {}).get("type") == "log"


def _query_result(at) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe if list(d.value.columns) == ["item", "clicks"]]


def test_overview_of_the_sample_matches_the_data(app_home):
    at = start(DATA)
    ds = Store(app_home).open("sample")
    info = dataset_info(ds)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {
        "Users": "3,000",
        "Items": "1,000",
        "Interactions": f"{info['interactions']:,}",
        "Warm users": f"{info['warm_users']:,}",
        "Cold users": f"{info['cold_users']:,}",
    }
    assert len(vega_specs(at)) == 3  # each chart is a separate draw in the browser: panels, not figures

    (lengths_title, bars, bins), (popularity_title, line, curve) = _chart(at, "Sequence lengths")
    assert popularity_title.startswith("Item popularity")
    by_group = bins.groupby("group")["users"].sum()
    assert (by_group["cold"], by_group["warm"]) == (info["cold_users"], info["warm_users"])
    assert bars["encoding"]["color"]["scale"] == {"domain": ["cold", "warm"], "range": [charts.COLD, charts.WARM]}
    assert (bins["group"] == "cold").tolist() == (bins["hi"] <= info["cold_threshold"]).tolist()
    assert _log(bars, "y") and abs(bins["share"].sum() - 1.0) < 1e-9
    assert {t["field"] for t in bars["encoding"]["tooltip"]} == {"clicks", "users", "share"}

    counts = np.bincount(ds.interactions()["item"])[1:]
    assert curve["rank"].iloc[0] == 1 and curve["clicks"].iloc[0] == counts.max() and curve["rank"].iloc[-1] == 1000
    assert _log(line, "x") and _log(line, "y")

    names = [a["name"] for a in ds.attributes]
    attrs = _chart(at, names[0])
    assert [t for t, _, _ in attrs] == names  # one panel per attribute (none has more than 25 values)
    for name, view, bars in attrs:
        assert len(bars) and abs(bars["share"].sum() - 1.0) < 1e-9, name  # shares of all users, missing included
        assert (bars["color"] == charts.MISSING).tolist() == (bars["value"] == "missing").tolist()
        assert view["encoding"]["color"] == {"field": "color", "scale": None, "type": "nominal"}

    roles = _chart(at, "Users per role")
    assert len(roles) == 2  # bars with their counts written on top
    assert int(roles[0][2]["users"].sum()) == 3000
    assert "none simulated" in texts(at.caption)


def test_attribute_panels_cap_many_values_and_say_so():
    many = pd.DataFrame({"value": ["missing"] + [f"zip {i:03d}" for i in range(39)], "users": range(40, 0, -1)})
    many["share"] = many["users"] / many["users"].sum()
    few = pd.DataFrame({"value": ["F", "M", "missing"], "users": [5, 4, 1], "share": [0.5, 0.4, 0.1]})
    spec = charts.attributes({"zip": many, "gender": few, "age": few}).to_dict()
    panels = vega_panels(spec)
    assert [t for t, _, _ in panels] == ["zip (top 25 of 40 values)", "gender", "age"]
    _, zip_view, zip_bars = panels[0]
    assert list(zip_bars["value"]) == list(many["value"][:25])  # the most common values, in order
    assert zip_view["encoding"]["y"]["sort"] == list(many["value"][:25])
    assert list(zip_bars["color"][:2]) == [charts.MISSING, charts.WARM]
    assert [len(row["hconcat"]) for row in spec["vconcat"]] == [2, 1]  # two panels a row: age below zip
    assert zip_view["height"] > panels[2][1]["height"]  # each panel as tall as its bars


def test_only_the_open_tab_runs(app_home):
    at = start(DATA)
    assert at.metric and not _query_result(at)  # the SQL tab's default query did not run
    assert not at.file_uploader and not at.get("form")

    _open(at, "SQL")
    assert not at.metric and not at.get("vega_lite_chart")
    (top,) = _query_result(at)
    assert len(top) == 20 and top["clicks"].is_monotonic_decreasing

    _open(at, "MovieLens & synthetic")
    assert not at.dataframe and [b.key for b in at.button] == ["ml_fetch", "synth_submit"]

    linked = start(DATA, tab="SQL")  # a deep link or refreshed tab: /data?tab=SQL
    assert _query_result(linked) and not linked.metric


def test_sql_query_is_kept_while_another_tab_is_open(app_home):
    at = _open(start(DATA), "SQL")
    at.text_area(key="sql_query").set_value("SELECT count(*) AS n FROM items")
    at.button(key="sql_submit").click().run()
    _open(_open(at, "Overview"), "SQL")
    assert at.text_area(key="sql_query").value == "SELECT count(*) AS n FROM items"
    assert next(d.value for d in at.dataframe if list(d.value.columns) == ["n"])["n"].iloc[0] == 1000


def test_upload_csv_guesses_columns_and_imports(app_home):
    at = _upload(start(DATA), "my clicks.csv", CLICKS)
    preview = next(d.value for d in at.dataframe if "visitor_id" in d.value.columns)
    assert list(preview["product_id"]) == ["p1", "p2", "p1", "p3"]
    name = by_key(at.text_input, "import_name_")
    assert name.value == "my_clicks"
    assert by_key(at.selectbox, "import_user_").value == "visitor_id"
    assert by_key(at.selectbox, "import_item_").value == "product_id"
    assert by_key(at.selectbox, "import_time_").value == "event_time"
    assert by_key(at.multiselect, "import_attrs_").value == ["age"]  # per user; rating is per click

    name.set_value("clicks")
    assert "_staged_upload" in at.session_state
    at.button(key="import_submit").click().run()
    assert not at.exception and not at.error
    ds = Store(app_home).open("clicks")
    assert (ds.ref, ds.n_users, ds.n_items, [a["name"] for a in ds.attributes]) == ("clicks@v1", 2, 3, ["age"])
    assert "Imported **clicks@v1**" in texts(at.success)
    assert at.title[0].value == "Data · clicks@v1"  # the new version is active
    assert at.session_state["active_dataset"] == "clicks@v1"
    assert at.session_state["tab"] == "Overview" and at.metric[0].value == "2"  # its overview is open
    assert not at.file_uploader and "_staged_upload" not in at.session_state  # the staged copy is gone


def test_bad_upload_shows_the_importer_message_and_stores_nothing(app_home):
    bad = b"visitor_id,product_id,event_time\nu1,p1,2024-01-01\nu1,p2,yesterday\n"
    at = _upload(start(DATA), "bad.csv", bad)
    at.button(key="import_submit").click().run()
    assert not at.exception
    (err,) = at.error
    assert "unparseable timestamp" in err.value and "'yesterday'" in err.value and "row 2" in err.value
    assert "'bad.csv' (uploaded)" in err.value and "ppr-upload-" not in err.value  # no private temp paths
    assert Store(app_home).names() == ["sample"]

    at = _upload(start(DATA), "empty.csv", b"")  # unreadable already at the preview
    assert "empty (0 bytes)" in at.error[0].value
    assert not [b for b in at.button if b.key == "import_submit"]


def test_separate_users_file_supplies_the_attributes(app_home):
    at = _open(start(DATA), "Import a file")
    at.file_uploader(key="upload_users").set_value(
        ("people.csv", b"visitor_id,gender,city\nu1,F,Oslo\nu2,M,Rome\n", "text/csv")
    )
    _upload(at, "clicks.csv", CLICKS)
    attrs = by_key(at.multiselect, "import_attrs_")
    assert attrs.options == ["gender", "city"] and attrs.value == ["gender", "city"]
    assert "users file" in attrs.label
    attrs.set_value(["gender"])
    at.button(key="import_submit").click().run()
    ds = Store(app_home).open("clicks")
    assert [a["name"] for a in ds.attributes] == ["gender"]


def test_movielens_zip_upload_imports_profiles(app_home, tmp_path):
    ml = write_tiny_ml100k(tmp_path / "ml")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in ml.iterdir():
            zf.write(p, f"ml-100k/{p.name}")
    at = _upload(start(DATA), "ml-100k.zip", buf.getvalue(), "application/zip")
    assert by_key(at.multiselect, "import_attrs_").value == ["age", "gender", "occupation", "zip_code"]
    at.button(key="import_submit").click().run()
    ds = Store(app_home).open("ml-100k")
    assert (ds.n_users, ds.n_items) == (4, 5) and ds.manifest["items"]["has_title"]
    assert [a["name"] for a in ds.attributes] == ["age", "gender", "occupation", "zip_code"]


def test_zip_with_a_path_escaping_member_is_refused(app_home, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../escaped.csv", "user_id,item_id\n1,2\n")
    at = _upload(start(DATA), "evil.zip", buf.getvalue(), "application/zip")
    assert "points outside" in at.error[0].value
    assert Store(app_home).names() == ["sample"]


def test_sql_box_shows_results_and_refuses_writes(app_home):
    at = _open(start(DATA), "SQL")
    (top,) = _query_result(at)
    assert len(top) == 20 and top["clicks"].is_monotonic_decreasing
    assert [b.proto.label for b in at.get("download_button")] == ["Download CSV"]

    at.text_area(key="sql_query").set_value("SELECT count(*) AS n FROM users WHERE user < ?".replace("?", "10"))
    at.button(key="sql_submit").click().run()
    assert next(d.value for d in at.dataframe if list(d.value.columns) == ["n"])["n"].iloc[0] == 10

    at.text_area(key="sql_query").set_value("DROP TABLE users")
    at.button(key="sql_submit").click().run()
    assert not at.exception
    assert "Only SELECT queries are allowed" in at.error[0].value
    assert Store(app_home).open("sample").users().shape[0] == 3000


def test_synthetic_form_generates_a_dataset_and_makes_it_active(app_home):
    at = _open(start(DATA), "MovieLens & synthetic")
    at.text_input(key="synth_name").set_value("tiny")
    at.number_input(key="synth_users").set_value(60)
    at.number_input(key="synth_items").set_value(400)
    at.number_input(key="synth_mean_len").set_value(5.0)
    at.button(key="synth_submit").click().run()
    assert not at.exception and not at.error
    assert Store(app_home).open("tiny").n_users == 60
    assert "Generated **tiny@v1**" in texts(at.success)
    assert at.title[0].value == "Data · tiny@v1"
    assert at.metric[0].value == "60"  # the overview of the new version is open

    _open(at, "MovieLens & synthetic")
    at.text_input(key="synth_name").set_value("../bad")
    at.button(key="synth_submit").click().run()
    assert "is not allowed" in at.error[0].value
    assert Store(app_home).names() == ["sample", "tiny"]


def test_fetch_movielens_from_a_local_copy(app_home, tmp_path):
    at = _open(start(DATA), "MovieLens & synthetic")
    at.text_input(key="ml_source").set_value(str(tmp_path / "missing.zip"))
    at.button(key="ml_fetch").click().run()
    assert "no such file" in at.error[0].value
    assert Store(app_home).names() == ["sample"]

    at.text_input(key="ml_source").set_value(str(write_tiny_ml100k(tmp_path / "ml")))
    at.text_input(key="ml_name").set_value("ml-tiny")
    at.button(key="ml_fetch").click().run()
    assert not at.exception
    assert Store(app_home).open("ml-tiny").n_users == 4
    assert at.title[0].value == "Data · ml-tiny@v1"


def test_empty_store_says_what_to_do_and_accepts_a_first_import(empty_home):
    at = start(DATA)
    assert at.title[0].value == "Data"
    assert at.file_uploader  # an empty store opens on the import
    for tab in ("Overview", "SQL"):
        assert "No dataset yet" in texts(_open(at, tab).info)
        assert not at.metric and not at.get("vega_lite_chart")
    _upload(at, "clicks.csv", CLICKS)
    at.button(key="import_submit").click().run()
    assert Store(empty_home).names() == ["clicks"]
    assert at.title[0].value == "Data · clicks@v1"
    assert at.metric[0].value == "2"
