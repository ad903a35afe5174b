"""Bad input: every case is an InputError naming the file (and column/row), and the store is unchanged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ppr.data.importers import import_dataset
from ppr.data.store import Store
from ppr.errors import InputError

GOOD = "user,item,ts\n1,10,100\n2,10,200\n"


def quiet(msg: str) -> None:
    pass


def snapshot(home: Path) -> list[str]:
    return sorted(str(p.relative_to(home)) for p in home.rglob("*"))


@pytest.fixture
def store(home: Path, tmp_path: Path) -> Store:
    """A store that already holds one dataset, so 'unchanged' is a real check."""
    store = Store(home)
    (tmp_path / "good.csv").write_text(GOOD)
    import_dataset(store, "existing", tmp_path / "good.csv", log=quiet)
    return store


def write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _empty(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "empty.csv", b"")}


def _header_only(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "header.csv", "user,item,ts\n")}


def _binary(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "garbage.csv", np.random.default_rng(0).bytes(4096))}


def _latin1(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "latin.csv", "user,item,ts\nJos\xe9,1,1\n".encode("latin-1"))}


def _latin1_late(t: Path) -> dict[str, Any]:
    """The bad byte lies past the first 64 KiB, so DuckDB itself finds it: its error must be wrapped."""
    body = "user,item,ts\n" + "u,1,1\n" * 20000 + "Jos\xe9,1,1\n"
    return {"interactions": write(t / "late.csv", body.encode("latin-1"))}


def _semicolons(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "semi.csv", "user;item;ts\n1;2;3\n")}


def _missing_column(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "i.csv", GOOD), "user_col": "customer"}


def _missing_attr(t: Path) -> dict[str, Any]:
    return {
        "interactions": write(t / "i.csv", GOOD),
        "users": write(t / "u.csv", "user,age\n1,30\n"),
        "attrs": ["age", "shoe_size"],
    }


def _null_user(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "i.csv", "user,item,ts\n1,10,100\n2,10,200\n,11,300\n")}


def _null_item_parquet(t: Path) -> dict[str, Any]:
    path = t / "i.parquet"
    pd.DataFrame({"user": [1, 2], "item": [5.0, None], "ts": [1, 2]}).to_parquet(path)
    return {"interactions": path}


def _bad_time(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "i.csv", "user,item,ts\n1,10,100\n2,10,yesterday\n")}


def _null_time(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "i.csv", "user,item,ts\n1,10,100\n2,10,\n")}


def _huge_time(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "i.csv", "user,item,ts\n1,10,100\n2,10,1e300\n")}


def _users_header_only(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "i.csv", GOOD), "users": write(t / "u.csv", "user,age\n")}


def _users_wrong_delimiter(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "i.csv", GOOD), "users": write(t / "u.tsv", "user,age\n1,30\n")}


def _users_match_nothing(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "i.csv", GOOD), "users": write(t / "u.csv", "user,age\n77,30\n78,31\n")}


def _items_match_nothing(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "i.csv", GOOD), "items": write(t / "it.csv", "item,title\n99,X\n")}


def _no_such_file(t: Path) -> dict[str, Any]:
    return {"interactions": t / "nope.csv"}


def _no_such_users_file(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "i.csv", GOOD), "users": t / "nope_users.csv"}


def _ragged(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "ragged.csv", "user,item,ts\n1,2,3\n1,2,3,4,5\n")}


def _fake_parquet(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "fake.parquet", GOOD)}


def _bad_json(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "bad.jsonl", '{"user": 1, "item": 2, "ts": 3}\n{"user": 1, item\n')}


def _unknown_extension(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "data.xyz", GOOD)}


def _no_id_column(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "cols.csv", "a,b,c\n1,2,3\n")}


def _same_user_item(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "i.csv", GOOD), "user_col": "user", "item_col": "user"}


def _bool_time(t: Path) -> dict[str, Any]:
    path = t / "b.parquet"
    pd.DataFrame({"user": [1], "item": [2], "ts": [True]}).to_parquet(path)
    return {"interactions": path}


def _attrs_without_users(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "i.csv", GOOD), "attrs": ["age"]}


def _bad_format(t: Path) -> dict[str, Any]:
    return {"interactions": write(t / "i.csv", GOOD), "fmt": "excel"}


def _plain_folder(t: Path) -> dict[str, Any]:
    (t / "folder").mkdir()
    write(t / "folder" / "i.csv", GOOD)
    return {"interactions": t / "folder"}


# (builder, words the message must contain besides the file name)
CASES: dict[str, tuple[Callable[[Path], dict[str, Any]], list[str]]] = {
    "empty": (_empty, ["empty.csv", "empty"]),
    "header_only": (_header_only, ["header.csv", "no data rows"]),
    "binary": (_binary, ["garbage.csv"]),
    "non_utf8": (_latin1, ["latin.csv", "UTF-8"]),
    "non_utf8_late": (_latin1_late, ["late.csv", "UTF-8"]),
    "wrong_delimiter": (_semicolons, ["semi.csv", "delimiter seems wrong", "';'"]),
    "missing_column": (_missing_column, ["i.csv", "'customer'", "'user', 'item', 'ts'"]),
    "missing_attr": (_missing_attr, ["u.csv", "'shoe_size'", "'age'"]),
    "null_user": (_null_user, ["i.csv", "'user'", "row 3", "line 4"]),
    "null_item": (_null_item_parquet, ["i.parquet", "'item'", "row 2"]),
    "bad_time": (_bad_time, ["i.csv", "'ts'", "row 2", "'yesterday'"]),
    "huge_time": (_huge_time, ["i.csv", "'ts'", "row 2", "implausible"]),
    "null_time": (_null_time, ["i.csv", "'ts'", "row 2", "an empty value"]),
    "users_header_only": (_users_header_only, ["users file", "u.csv", "no data rows"]),
    "users_wrong_delimiter": (_users_wrong_delimiter, ["users file", "u.tsv", "delimiter seems wrong", "','"]),
    "users_match_nothing": (_users_match_nothing, ["u.csv", "None of the 2 ids", "'77'"]),
    "items_match_nothing": (_items_match_nothing, ["it.csv", "None of the 1 ids"]),
    "no_such_file": (_no_such_file, ["nope.csv", "does not exist"]),
    "no_such_users_file": (_no_such_users_file, ["nope_users.csv", "does not exist"]),
    "ragged": (_ragged, ["ragged.csv", "line 3", "Expected Number of Columns: 3 Found: 5", "--skip-bad-rows"]),
    "fake_parquet": (_fake_parquet, ["fake.parquet", "not a Parquet file"]),
    "bad_json": (_bad_json, ["bad.jsonl"]),
    "unknown_extension": (_unknown_extension, ["data.xyz", "--format"]),
    "no_id_column": (_no_id_column, ["cols.csv", "user ids", "--user-col"]),
    "same_user_item": (_same_user_item, ["i.csv", "--item-col"]),
    "bool_time": (_bool_time, ["b.parquet", "BOOLEAN"]),
    "attrs_without_users": (_attrs_without_users, ["--attrs", "users file"]),
    "bad_format": (_bad_format, ["'excel'"]),
    "plain_folder": (_plain_folder, ["folder", "RecBole"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_input_error_and_store_unchanged(case: str, store: Store, home: Path, tmp_path: Path) -> None:
    build, words = CASES[case]
    kwargs = build(tmp_path)
    before = snapshot(home)
    with pytest.raises(InputError) as info:
        import_dataset(store, "fresh", log=quiet, **kwargs)
    msg = str(info.value)
    for word in words:
        assert word in msg, f"{word!r} not in: {msg}"
    assert "\n" not in msg.strip(), "message should be one paragraph"
    assert "Traceback" not in msg
    assert snapshot(home) == before


@pytest.mark.parametrize("name", ["../x", "a/b", "", "/abs", ".hidden"])
def test_bad_names_rejected_before_reading(name: str, store: Store, home: Path, tmp_path: Path) -> None:
    before = snapshot(home)
    with pytest.raises(InputError, match="not allowed"):  # the file does not exist: the name was checked first
        import_dataset(store, name, tmp_path / "missing.csv", log=quiet)
    assert snapshot(home) == before


def test_refuse_existing_leaves_store(store: Store, home: Path, tmp_path: Path) -> None:
    before = snapshot(home)
    with pytest.raises(InputError, match="already exists"):
        import_dataset(store, "existing", write(tmp_path / "i.csv", GOOD), if_exists="refuse", log=quiet)
    assert snapshot(home) == before


def test_failure_on_fresh_home_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "fresh_home"
    home.mkdir()
    with pytest.raises(InputError):
        import_dataset(Store(home), "x", write(tmp_path / "bad.csv", "user,item,ts\n1,2,soon\n"), log=quiet)
    assert list(home.iterdir()) == []
