"""ml-100k fetching: each source is tried in order and every failure is explained."""

import zipfile
from pathlib import Path

import pytest

from ppr.data import fetch
from ppr.errors import InputError


def _recbole_folder(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "ml-100k.inter").write_text("user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t2\t3\t4\n")
    (root / "ml-100k.user").write_text("user_id:token\tage:token\n1\t20\n")
    (root / "ml-100k.item").write_text("item_id:token\tmovie_title:token_seq\n2\tA\n")
    return root


def test_local_folder_is_used_as_is(tmp_path):
    src = _recbole_folder(tmp_path / "src")
    assert fetch.fetch_ml100k(tmp_path / "dest", source=src, log=lambda m: None) == src


def test_local_grouplens_zip_extracts_only_data_files(tmp_path):
    zpath = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for name in ("u.data", "u.user", "u.item", "README", "u1.base"):
            zf.writestr(f"ml-100k/{name}", "x")
    folder = fetch.fetch_ml100k(tmp_path / "dest", source=zpath, log=lambda m: None)
    assert sorted(p.name for p in folder.iterdir()) == ["u.data", "u.item", "u.user"]


def test_local_path_errors_name_the_path(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        fetch.fetch_ml100k(tmp_path / "d", source=tmp_path / "nope.zip")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="found neither"):
        fetch.fetch_ml100k(tmp_path / "d", source=empty)


def test_every_source_failing_explains_each_step(tmp_path, monkeypatch):
    def offline(*a, **k):
        raise OSError("network unreachable")

    monkeypatch.setattr(fetch, "_from_grouplens", offline)
    monkeypatch.setattr(fetch, "_from_recbole_wheel", lambda dest: offline())
    said = []
    with pytest.raises(InputError) as err:
        fetch.fetch_ml100k(tmp_path / "d", log=said.append)
    assert "GroupLens" in str(err.value) and "recbole" in str(err.value) and "--from" in str(err.value)
    assert sum(m.startswith("Trying") for m in said) == 2


def test_falls_back_to_the_wheel_when_grouplens_is_unreachable(tmp_path, monkeypatch):
    src = _recbole_folder(tmp_path / "wheeldata")

    def offline(*a, **k):
        raise OSError("network unreachable")

    monkeypatch.setattr(fetch, "_from_grouplens", offline)
    monkeypatch.setattr(fetch, "_from_recbole_wheel", lambda dest: src)
    assert fetch.fetch_ml100k(tmp_path / "d", log=lambda m: None) == src
