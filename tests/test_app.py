"""The workbench starts on an empty store, imports the bundled sample, and lists it."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_first_start_shows_the_bundled_sample(tmp_path, monkeypatch):
    monkeypatch.setenv("PPR_HOME", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["dataset"]) == ["sample@v1"]
    assert int(table["users"].iloc[0]) > 1000
    assert (tmp_path / "datasets" / "sample" / "v1" / "manifest.json").is_file()

    again = AppTest.from_file(APP, default_timeout=120).run()  # a second start imports nothing new
    assert list(again.dataframe[0].value["dataset"]) == ["sample@v1"]
