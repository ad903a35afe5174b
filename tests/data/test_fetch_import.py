"""fetch_and_import: the one library call behind `data fetch` and the app's fetch button."""

import zipfile

import pytest
from _movielens import write_tiny_ml100k

from ppr.data.fetch import fetch_and_import
from ppr.data.store import Store
from ppr.errors import InputError


def test_local_folder_is_imported_with_profiles(tmp_path):
    src = write_tiny_ml100k(tmp_path / "ml")
    said = []
    ds = fetch_and_import(Store(tmp_path / "home"), "ml-tiny", source=src, log=said.append)
    assert ds.ref == "ml-tiny@v1"
    assert (ds.n_users, ds.n_items, ds.manifest["counts"]["interactions"]) == (4, 5, 20)
    assert [a["name"] for a in ds.attributes] == ["age", "gender", "occupation", "zip_code"]
    assert ds.items()["title"].iloc[0] == "Movie 1 (1995)"
    assert any("local copy" in m for m in said)


def test_zip_with_extra_files_imports_and_leaves_no_temp_files(tmp_path):
    src = write_tiny_ml100k(tmp_path / "ml")
    zpath = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in src.iterdir():
            zf.write(f, f"ml-100k/{f.name}")
        zf.writestr("ml-100k/README", "readme")
    home = tmp_path / "home"
    ds = fetch_and_import(Store(home), source=zpath, log=lambda m: None)
    assert ds.ref == "ml-100k@v1"
    assert sorted(p.name for p in home.iterdir()) == ["datasets"]


def test_bad_source_leaves_the_store_empty(tmp_path):
    store = Store(tmp_path / "home")
    with pytest.raises(InputError, match="no such file"):
        fetch_and_import(store, source=tmp_path / "missing.zip", log=lambda m: None)
    assert store.names() == []
