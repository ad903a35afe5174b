"""Uploads: safe staging (zip members never escape), previews with guessed columns, import with attributes."""

import errno
import io
import zipfile

import pandas as pd
import pytest
from _movielens import write_tiny_ml100k

from ppr.data.store import Store
from ppr.data.upload import (
    dataset_name_for,
    extract_zip,
    import_upload,
    per_user_columns,
    preview_upload,
    safe_filename,
    stage_upload,
)
from ppr.errors import InputError

CLICKS = (
    "visitor_id,product_id,rating,age,event_time\n"
    "u1,p1,5,30,2024-01-01T00:00:00\n"
    "u1,p2,3,30,2024-01-02T00:00:00\n"
    "u2,p1,4,40,2024-01-01T00:00:00\n"
    "u2,p3,2,40,2024-01-03T00:00:00\n"
    "u3,p2,1,,2024-01-04T00:00:00\n"
)


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_names_are_made_safe():
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\Users\\me\\my clicks.csv") == "my_clicks.csv"
    assert safe_filename("..") == "upload"
    assert dataset_name_for("My ratings.csv.gz") == "My_ratings"
    assert dataset_name_for("ml-100k.zip") == "ml-100k"
    assert dataset_name_for("_x.csv") == "x"


@pytest.mark.parametrize("member", ["../evil.csv", "/abs/evil.csv", "a/../../evil.csv"])
def test_zip_members_that_escape_are_refused(tmp_path, member):
    staged = tmp_path / "stage"
    with pytest.raises(InputError, match="outside"):
        stage_upload("x.zip", _zip({"ok.csv": b"a,b\n", member: b"boom"}), staged)
    assert not (tmp_path / "evil.csv").exists()
    assert not list(tmp_path.rglob("evil.csv"))


def test_zip_symlink_member_is_refused(tmp_path):
    info = zipfile.ZipInfo("link")
    info.external_attr = 0o120777 << 16
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(InputError, match="link"):
        stage_upload("x.zip", buf.getvalue(), tmp_path / "s")


def test_zip_that_inflates_too_much_is_refused(tmp_path):
    zpath = tmp_path / "big.zip"
    zpath.write_bytes(_zip({"a.csv": b"0" * 5000}))
    with pytest.raises(InputError, match="unpacks to more than"):
        extract_zip(zpath, tmp_path / "out", max_bytes=1000)


def test_movielens_zip_is_found_inside_its_folder(tmp_path):
    ml = write_tiny_ml100k(tmp_path / "ml")
    data = _zip({f"ml-100k/{p.name}": p.read_bytes() for p in ml.iterdir()} | {"__MACOSX/._u.data": b"x"})
    folder = stage_upload("ml-100k.zip", data, tmp_path / "s")
    assert folder.name == "ml-100k" and (folder / "u.data").is_file()
    preview = preview_upload(folder)
    assert preview.kind == "movielens-100k"
    assert preview.guess == {"user": "user_id", "item": "item_id", "time": "timestamp"}
    assert preview.attribute_source == "users"
    assert preview.attribute_guess == ["age", "gender", "occupation", "zip_code"]
    assert len(preview.rows["interactions"]) == 20


def test_zip_with_one_csv_yields_that_file_and_other_zips_say_what_they_hold(tmp_path):
    path = stage_upload("clicks.zip", _zip({"data/clicks.csv": CLICKS.encode()}), tmp_path / "a")
    assert path.name == "clicks.csv"
    with pytest.raises(InputError, match="readme.txt"):
        stage_upload("junk.zip", _zip({"readme.txt": b"hi"}), tmp_path / "b")
    with pytest.raises(InputError, match="not a zip"):
        stage_upload("fake.zip", b"not a zip", tmp_path / "c")


def test_preview_guesses_columns_and_per_user_attributes(tmp_path):
    path = stage_upload("clicks.csv", CLICKS.encode(), tmp_path)
    preview = preview_upload(path)
    assert preview.guess == {"user": "visitor_id", "item": "product_id", "time": "event_time"}
    assert preview.attribute_source == "interactions"
    assert preview.attribute_choices == ["rating", "age"]
    assert preview.attribute_guess == ["age"]  # rating changes within a user: not a profile
    assert list(preview.rows["interactions"]["visitor_id"]) == ["u1", "u1", "u2", "u2", "u3"]


def test_per_user_columns_needs_repeated_users():
    once = pd.DataFrame({"u": [1, 2], "a": [1, 1]})
    assert per_user_columns(once, "u", ["a"]) == []
    assert per_user_columns(once, None, ["a"]) == []


def test_bad_file_preview_raises_the_readers_message(tmp_path):
    path = stage_upload("x.csv", b"", tmp_path)
    with pytest.raises(InputError, match="empty"):
        preview_upload(path)


def test_import_takes_attributes_from_the_interactions_file(tmp_path):
    path = stage_upload("clicks.csv", CLICKS.encode(), tmp_path / "s")
    store = Store(tmp_path / "home")
    notes = []
    ds = import_upload(
        store,
        "clicks",
        preview_upload(path),
        "visitor_id",
        "product_id",
        "event_time",
        ["age"],
        tmp_path / "work",
        log=notes.append,
    )
    assert (ds.ref, ds.n_users, ds.n_items) == ("clicks@v1", 3, 3)
    assert [a["name"] for a in ds.attributes] == ["age"]
    users = ds.users().set_index("user_id")
    values = ds.attributes[0]["values"]
    assert values[users.loc["u1", "age"]] == "30" and values[users.loc["u2", "age"]] == "40"
    assert values[users.loc["u3", "age"]] == "missing"
    assert any("first row of each user" in n for n in notes)


def test_import_without_attributes_and_with_a_bad_column_leaves_no_version(tmp_path):
    path = stage_upload("clicks.csv", CLICKS.encode(), tmp_path / "s")
    store = Store(tmp_path / "home")
    ds = import_upload(store, "plain", preview_upload(path), "visitor_id", "product_id", None, [], tmp_path / "w")
    assert ds.attributes == [] and ds.n_users == 3
    with pytest.raises(InputError, match="nope"):
        import_upload(store, "bad", preview_upload(path), "visitor_id", "product_id", None, ["nope"], tmp_path / "w")
    assert store.names() == ["plain"]


def test_import_with_a_separate_users_file(tmp_path):
    inter = stage_upload("clicks.csv", CLICKS.encode(), tmp_path / "i")
    users = stage_upload("people.csv", b"visitor_id,gender,city\nu1,F,Oslo\nu2,M,Rome\n", tmp_path / "u")
    preview = preview_upload(inter, users)
    assert preview.attribute_source == "users" and preview.attribute_guess == ["gender", "city"]
    ds = import_upload(
        Store(tmp_path / "home"),
        "withusers",
        preview,
        "visitor_id",
        "product_id",
        "event_time",
        ["gender"],
        tmp_path / "w",
    )
    assert [a["name"] for a in ds.attributes] == ["gender"]


def _as_format(fmt: str, tmp_path) -> bytes:
    df = pd.read_csv(io.StringIO(CLICKS), dtype=str)
    if fmt == "tsv":
        return df.to_csv(sep="\t", index=False).encode()
    if fmt == "jsonl":
        return df.to_json(orient="records", lines=True).encode()
    df.to_parquet(tmp_path / "x.parquet", index=False)
    return (tmp_path / "x.parquet").read_bytes()


@pytest.mark.parametrize("fmt", ["tsv", "jsonl", "parquet"])
def test_every_plain_format_previews_and_imports(tmp_path, fmt):
    path = stage_upload(f"clicks.{fmt}", _as_format(fmt, tmp_path), tmp_path / "s")
    preview = preview_upload(path)
    assert preview.kind == fmt
    assert preview.guess == {"user": "visitor_id", "item": "product_id", "time": "event_time"}
    assert preview.attribute_guess == ["age"]
    ds = import_upload(
        Store(tmp_path / "home"), "c", preview, "visitor_id", "product_id", "event_time", ["age"], tmp_path / "w"
    )
    assert (ds.n_users, ds.n_items, ds.manifest["counts"]["interactions"]) == (3, 3, 5)


# ----------------------------------------------------------------------------- hostile zips (issue 12, items 5, 7)


def _bomb(size: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf, zf.open("bomb.csv", "w") as out:
        for _ in range(size >> 20):
            out.write(b"0" * (1 << 20))
    return buf.getvalue()


def _unpacked(folder) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_a_zip_bomb_is_stopped_by_its_ratio_before_the_disk_fills(tmp_path):
    data = _bomb(64 << 20)  # 64 MiB of zeros in ~64 KiB: a ratio near 1000
    with pytest.raises(InputError, match="as a zip bomb does"):
        stage_upload("bomb.zip", data, tmp_path / "s")
    assert _unpacked(tmp_path / "s") - len(data) < 20 << 20  # it wrote 1 GiB before: checked while streaming


def test_a_zip_that_lies_about_its_sizes_is_still_stopped(tmp_path):
    """The central directory claims 1 KiB unpacked: no more than the real bytes are trusted or written."""
    zpath = tmp_path / "liar.zip"
    raw = bytearray(_bomb(32 << 20))
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 24 : central + 28] = (1024).to_bytes(4, "little")  # uncompressed size
    zpath.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="zip bomb|cannot be unpacked"):
        extract_zip(zpath, tmp_path / "out")
    assert _unpacked(tmp_path / "out") < 20 << 20


@pytest.mark.parametrize(
    "member",
    ["a" * 300 + ".csv", "/".join(["d"] * 40) + "/x.csv", "/".join(["d" * 100] * 12) + "/x.csv"],
    ids=["long-name", "deep", "long-path"],
)
def test_too_long_or_too_deep_member_names_are_input_errors(tmp_path, member):
    with pytest.raises(InputError, match="too long or too deep"):
        stage_upload("x.zip", _zip({member: CLICKS.encode()}), tmp_path / "s")


def test_disk_trouble_while_staging_is_an_input_error(tmp_path, monkeypatch):
    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(type(tmp_path), "write_bytes", full)
    with pytest.raises(InputError, match="disk is full"):
        stage_upload("clicks.csv", CLICKS.encode(), tmp_path / "s")


def test_skip_bad_rows_reaches_the_upload_import(tmp_path):
    bad = CLICKS + "u4,p1\n"
    path = stage_upload("clicks.csv", bad.encode(), tmp_path / "s")
    store = Store(tmp_path / "home")
    args = (preview_upload(path), "visitor_id", "product_id", "event_time", ["age"], tmp_path / "w")
    with pytest.raises(InputError, match="1 row\\(s\\) of the interactions file"):
        import_upload(store, "c", *args)
    ds = import_upload(store, "c", *args, skip_bad_rows=True)
    assert ds.manifest["counts"]["bad_rows_skipped"] == {"interactions": 1} and ds.n_users == 3
