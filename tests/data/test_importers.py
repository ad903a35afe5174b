"""Importing every supported format into the store format of the contract."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ppr.data.importers import first_of_repeats, import_dataset, repeat_rows
from ppr.data.store import Store
from ppr.errors import InputError

SHARED_ML100K = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "ml-100k"


@pytest.fixture
def store(home: Path) -> Store:
    return Store(home)


def quiet(msg: str) -> None:
    pass


def seqs(ds) -> dict[str, list[str]]:
    """{original user id: [original item ids in stored order]} for readable assertions."""
    inter = ds.interactions()
    uid = ds.users().set_index("user")["user_id"]
    iid = ds.items().set_index("item")["item_id"]
    out: dict[str, list[str]] = {}
    for u, i in zip(inter["user"], inter["item"], strict=True):
        out.setdefault(uid[u], []).append(iid[i])
    return out


def check_store_format(ds) -> None:
    """The invariants every consumer relies on."""
    inter, users, items = ds.interactions(), ds.users(), ds.items()
    assert [str(t) for t in inter.dtypes] == ["int32", "int32", "int64"]
    assert list(inter.columns) == ["user", "item", "ts"]
    assert users["user"].tolist() == list(range(ds.n_users))
    assert items["item"].tolist() == list(range(1, ds.n_items + 1))
    assert list(items.columns) == ["item", "item_id", "title", "category"]
    assert inter["item"].min() >= 1 and inter["item"].max() <= ds.n_items
    assert set(inter["user"]) == set(range(ds.n_users))  # every user has a click
    key = inter["user"].to_numpy(np.int64) * 10**12 + inter["ts"].to_numpy()
    assert np.all(np.diff(key) >= 0), "not sorted by (user, ts)"
    for a in ds.attributes:
        assert a["values"][0] == "missing"
        assert users[a["name"]].dtype == np.int16
        assert users[a["name"]].between(0, len(a["values"]) - 1).all()
    assert ds.manifest["counts"]["interactions"] == len(inter)


def test_csv_string_ids_iso_times_users_and_items(store: Store, tmp_path: Path) -> None:
    (tmp_path / "events.csv").write_text(
        "visitor,product,when\n"
        "bob,p2,2024-01-02T00:00:00\n"
        "alice,p1,2024-01-01T10:00:00Z\n"
        "bob,p1,2024-01-01 00:00:00\n"
        "alice,p3,2024-01-01T09:00:00+00:00\n"
    )
    (tmp_path / "people.csv").write_text("visitor,country,plan\nalice,DE,pro\nbob,,free\ncarol,FR,pro\n")
    (tmp_path / "products.csv").write_text('product,name,genre\np1,"Pen, blue",office\np2,Mug,kitchen\n')
    ds = import_dataset(
        store,
        "shop",
        tmp_path / "events.csv",
        users=tmp_path / "people.csv",
        items=tmp_path / "products.csv",
        user_col="visitor",
        item_col="product",
        time_col="when",
        log=quiet,
    )
    check_store_format(ds)
    assert ds.users()["user_id"].tolist() == ["alice", "bob"]
    assert seqs(ds) == {"alice": ["p3", "p1"], "bob": ["p1", "p2"]}
    assert ds.interactions()["ts"].tolist() == [1704099600, 1704103200, 1704067200, 1704153600]
    items = ds.items().set_index("item_id")
    assert items.loc["p1", "title"] == "Pen, blue" and items.loc["p2", "category"] == "kitchen"
    assert pd.isna(items.loc["p3", "title"])  # no items-file row
    m = ds.manifest
    assert m["counts"]["users_file_rows_dropped"] == 1  # carol never clicked
    assert m["source"]["columns"] == {"user": "visitor", "item": "product", "time": "when"}
    assert m["source"]["time_unit"] == "iso"
    assert m["items"] == {"has_title": True, "has_category": True}
    country = next(a for a in ds.attributes if a["name"] == "country")
    assert country["values"] == ["missing", "DE"] and country["missing_share"] == 0.5  # bob's is empty
    assert ds.users()["country"].tolist() == [1, 0]
    assert set(m["source"]["files"]) == {"interactions", "users", "items"}
    assert len(m["source"]["files"]["users"]["sha256"]) == 64


def test_tsv_guessed_columns(store: Store, tmp_path: Path) -> None:
    (tmp_path / "x.tsv").write_text("UserID\tMovieID\tRating\tTimestamp\n1\t10\t5\t100\n2\t10\t3\t50\n1\t20\t4\t90\n")
    ds = import_dataset(store, "t", tmp_path / "x.tsv", log=quiet)
    check_store_format(ds)
    assert ds.manifest["source"]["columns"] == {"user": "UserID", "item": "MovieID", "time": "Timestamp"}
    assert seqs(ds) == {"1": ["20", "10"], "2": ["10"]}


def test_parquet_millisecond_times_and_float_ids(store: Store, tmp_path: Path) -> None:
    pd.DataFrame(
        {"uid": [3.0, 1.0, 3.0], "iid": [7, 8, 9], "ts": [1_600_000_000_500, 1_600_000_001_000, 1_600_000_000_000]}
    ).to_parquet(tmp_path / "i.parquet")
    pd.DataFrame({"uid": ["1", "3"], "age": ["30", "40"]}).to_parquet(tmp_path / "u.parquet")
    notes: list[str] = []
    ds = import_dataset(store, "p", tmp_path / "i.parquet", users=tmp_path / "u.parquet", log=notes.append)
    check_store_format(ds)
    assert ds.users()["user_id"].tolist() == ["1", "3"]  # 3.0 -> "3", matching the users file
    assert ds.users()["age"].tolist() == [1, 2]
    assert ds.interactions()["ts"].tolist() == [1_600_000_001, 1_600_000_000, 1_600_000_000]
    assert seqs(ds)["3"] == ["7", "9"]  # both floor to the same second: file order breaks the tie
    assert ds.manifest["source"]["time_unit"] == "ms"
    assert any("ms" in n for n in notes)


def test_jsonl(store: Store, tmp_path: Path) -> None:
    rows = [
        {"user": "u1", "item": 5, "timestamp": 30},
        {"user": "u2", "item": 6, "timestamp": 10},
        {"user": "u1", "item": 6, "timestamp": 20},
    ]
    (tmp_path / "log.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ds = import_dataset(store, "j", tmp_path / "log.jsonl", log=quiet)
    check_store_format(ds)
    assert seqs(ds) == {"u1": ["6", "5"], "u2": ["6"]}


def _ml100k(folder: Path) -> Path:
    folder.mkdir()
    (folder / "u.data").write_text("1\t10\t5\t881250949\n2\t10\t3\t881250000\n1\t20\t4\t881250900\n")
    (folder / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|94043\n")
    flags = ["0"] * 19
    flags[3] = flags[5] = "1"  # Animation, Comedy
    line = "|".join(["10", "Amélie (2001)", "01-Jan-2001", "", "http://x", *flags])
    (folder / "u.item").write_bytes(
        (line + "\n" + "|".join(["20", "B", "", "", "", *(["0"] * 19)]) + "\n").encode("latin-1")
    )
    return folder


def test_movielens_100k_folder(store: Store, tmp_path: Path) -> None:
    ds = import_dataset(store, "ml", _ml100k(tmp_path / "ml-100k"), log=quiet)
    check_store_format(ds)
    assert ds.manifest["source"]["format"] == "movielens-100k"
    assert seqs(ds) == {"1": ["20", "10"], "2": ["10"]}
    items = ds.items().set_index("item_id")
    assert items.loc["10", "title"] == "Amélie (2001)"
    assert items.loc["10", "category"] == "Animation|Comedy"
    assert pd.isna(items.loc["20", "category"])
    assert [a["name"] for a in ds.attributes] == ["age", "gender", "occupation", "zip_code"]


def test_movielens_100k_by_file_with_format_flag(store: Store, tmp_path: Path) -> None:
    folder = _ml100k(tmp_path / "ml")
    ds = import_dataset(store, "ml", folder / "u.data", fmt="movielens", attrs=["gender"], log=quiet)
    assert [a["name"] for a in ds.attributes] == ["gender"]
    assert ds.manifest["items"]["has_title"]


def test_movielens_1m(store: Store, tmp_path: Path) -> None:
    (tmp_path / "ratings.dat").write_text("1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n")
    (tmp_path / "users.dat").write_text("1::F::1::10::48067\n2::M::56::16::70072\n")
    (tmp_path / "movies.dat").write_bytes(
        "1193::Vertigo (1958)::Drama|Thriller\n661::Café (1996)::Comedy\n".encode("latin-1")
    )
    ds = import_dataset(store, "m1", tmp_path / "ratings.dat", log=quiet)
    check_store_format(ds)
    assert ds.manifest["source"]["format"] == "movielens-1m"
    assert seqs(ds) == {"1": ["1193", "661"], "2": ["1193"]}
    age = next(a for a in ds.attributes if a["name"] == "age")
    job = next(a for a in ds.attributes if a["name"] == "occupation")
    assert age["values"] == ["missing", "56+", "Under 18"]
    assert set(job["values"]) == {"missing", "K-12 student", "self-employed"}
    items = ds.items().set_index("item_id")
    assert items.loc["661", "title"] == "Café (1996)" and items.loc["1193", "category"] == "Drama|Thriller"


def test_recbole_strips_types(store: Store, tmp_path: Path) -> None:
    (tmp_path / "d.inter").write_text("user_id:token\titem_id:token\ttimestamp:float\na\tx\t2\nb\ty\t1\na\ty\t1\n")
    (tmp_path / "d.user").write_text("user_id:token\tgender:token\na\tF\nb\tM\n")
    (tmp_path / "d.item").write_text("item_id:token\tmovie_title:token_seq\tclass:token_seq\nx\tX Men\tAction Sci-Fi\n")
    ds = import_dataset(store, "rb", tmp_path, log=quiet)
    check_store_format(ds)
    assert ds.manifest["source"]["columns"]["user"] == "user_id"
    assert seqs(ds) == {"a": ["y", "x"], "b": ["y"]}
    assert ds.items().set_index("item_id").loc["x", "category"] == "Action Sci-Fi"


@pytest.mark.skipif(not SHARED_ML100K.is_dir(), reason="shared ml-100k copy not present")
def test_real_ml100k(store: Store) -> None:
    ds = import_dataset(store, "ml-100k", SHARED_ML100K, log=quiet)
    check_store_format(ds)
    assert (ds.n_users, ds.n_items, len(ds.interactions())) == (943, 1682, 100000)
    enc = {a["name"]: a["encoding"] for a in ds.attributes}
    assert enc == {"age": "quantile_bins", "gender": "categorical", "occupation": "categorical", "zip_code": "top_k"}
    offsets, items = ds.sequences()
    assert offsets[-1] == 100000 and np.diff(offsets).min() >= 20


def test_duplicates_dropped_and_counted(store: Store, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("user,item,ts\n1,5,10\n1,5,10\n1,6,10\n1,5,11\n2,5,10\n1,5,10\n")
    notes: list[str] = []
    ds = import_dataset(store, "d", tmp_path / "d.csv", log=notes.append)
    assert ds.manifest["counts"]["duplicates_dropped"] == 2
    assert len(ds.interactions()) == 4
    assert seqs(ds)["1"] == ["5", "6", "5"]
    assert any("2 duplicate" in n for n in notes)


def test_repeats_and_ties_of_a_shuffled_file_keep_the_first_row_in_file_order(store: Store, tmp_path: Path) -> None:
    """Many ties and repeats in no order: stored as (user, time, file order) with the first of each repeat."""
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {"user": rng.integers(0, 40, 6000), "item": rng.integers(1, 30, 6000), "ts": rng.integers(0, 60, 6000)}
    )
    df.to_csv(tmp_path / "r.csv", index=False)
    ds = import_dataset(store, "r", tmp_path / "r.csv", log=quiet)
    want = df.reset_index().drop_duplicates(["user", "item", "ts"]).sort_values(["user", "ts", "index"])
    got = ds.interactions()
    uid = ds.users().set_index("user")["user_id"].astype(int)
    iid = ds.items().set_index("item")["item_id"].astype(int)
    assert uid[got["user"]].tolist() == want["user"].tolist() and got["ts"].tolist() == want["ts"].tolist()
    assert iid[got["item"]].tolist() == want["item"].tolist()
    assert ds.manifest["counts"]["duplicates_dropped"] == len(df) - len(want) > 0


def test_first_of_repeats_compares_only_rows_of_one_user_and_time() -> None:
    user, ts = np.array([0, 0, 0, 0, 1, 1]), np.array([5, 5, 5, 6, 5, 5])
    assert first_of_repeats(user, np.array([3, 4, 3, 3, 3, 4]), ts).tolist() == [1, 1, 0, 1, 1, 1]
    assert first_of_repeats(user, np.array([3, 4, 5, 3, 3, 4]), ts) is None  # ties, no repeat
    assert first_of_repeats(user[:1], np.array([3]), ts[:1]) is None


def test_repeat_rows_read_in_batches_find_what_one_pass_finds() -> None:
    """Runs of equal (user, time) cut by batch ends are held back, so batch size never changes the answer."""
    rng = np.random.default_rng(8)
    ev = pd.DataFrame({"user": rng.integers(0, 6, 400), "item": rng.integers(1, 5, 400), "ts": rng.integers(0, 9, 400)})
    ev = ev.sort_values(["user", "ts"], kind="stable").astype({"user": np.int32, "item": np.int32, "ts": np.int64})
    keep = first_of_repeats(*(ev[c].to_numpy() for c in ("user", "item", "ts")))
    table = pa.Table.from_pandas(ev, preserve_index=False)
    for size in (1, 3, 7, 64, 400):
        assert repeat_rows(table.to_batches(max_chunksize=size)).tolist() == np.flatnonzero(~keep).tolist(), size
    assert repeat_rows([]).tolist() == []


def test_ties_keep_file_order_not_item_order(store: Store, tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("user,item,ts\n1,9,5\n1,3,5\n1,7,1\n1,1,5\n1,8,9\n")
    ds = import_dataset(store, "t", tmp_path / "t.csv", log=quiet)
    assert seqs(ds)["1"] == ["7", "9", "3", "1", "8"]


def test_ids_numbered_in_numeric_order(store: Store, tmp_path: Path) -> None:
    (tmp_path / "n.csv").write_text("user,item,ts\n10,100,1\n9,20,1\n100,3,1\n")
    ds = import_dataset(store, "n", tmp_path / "n.csv", log=quiet)
    assert ds.users()["user_id"].tolist() == ["9", "10", "100"]
    assert ds.items()["item_id"].tolist() == ["3", "20", "100"]


def test_leading_zero_ids_stay_distinct(store: Store, tmp_path: Path) -> None:
    (tmp_path / "z.csv").write_text("user,item,ts\n007,1,1\n7,1,1\n")
    ds = import_dataset(store, "z", tmp_path / "z.csv", log=quiet)
    assert sorted(ds.users()["user_id"]) == ["007", "7"]


def test_no_time_column_uses_file_order(store: Store, tmp_path: Path) -> None:
    (tmp_path / "n.csv").write_text("user,item\n1,5\n1,3\n1,5\n")
    notes: list[str] = []
    ds = import_dataset(store, "n", tmp_path / "n.csv", log=notes.append)
    assert seqs(ds)["1"] == ["5", "3", "5"]
    assert ds.manifest["source"]["time_unit"] == "row_order"
    assert any("--time-col" in n for n in notes)


def test_attribute_encodings_end_to_end(store: Store, tmp_path: Path) -> None:
    n = 120
    rng = np.random.default_rng(0)
    pd.DataFrame({"user": np.arange(n), "item": rng.integers(1, 20, n), "ts": np.arange(n)}).to_csv(
        tmp_path / "i.csv", index=False
    )
    users = pd.DataFrame(
        {
            "user": np.arange(n - 10),  # last 10 users have no users-file row
            "age": np.arange(n - 10) % 60 + 15,  # 60 distinct numbers -> bins
            "city": [f"c{i % 70}" for i in range(n - 10)],  # 70 distinct strings -> top 50 + other
            "vip": ["yes" if i % 3 == 0 else "" for i in range(n - 10)],  # empty -> missing
        }
    )
    users.to_csv(tmp_path / "u.csv", index=False)
    ds = import_dataset(store, "a", tmp_path / "i.csv", users=tmp_path / "u.csv", log=quiet)
    check_store_format(ds)
    by = {a["name"]: a for a in ds.attributes}
    assert by["age"]["encoding"] == "quantile_bins" and len(by["age"]["values"]) == 9
    assert by["age"]["values"][1].startswith("[15, ") and by["age"]["values"][-1].endswith(", 74]")
    assert by["age"]["edges"][0] == 15 and by["age"]["edges"][-1] == 74
    assert by["city"]["encoding"] == "top_k" and by["city"]["values"][-1] == "other"
    assert len(by["city"]["values"]) == 52
    assert by["vip"]["values"] == ["missing", "yes"]
    u = ds.users().set_index("user_id")
    assert (u.loc[[str(i) for i in range(n - 10, n)], ["age", "city", "vip"]] == 0).all().all()
    assert by["age"]["missing_share"] == pytest.approx(10 / n)
    assert by["vip"]["missing_share"] == pytest.approx((n - 37) / n)


def test_reimport_makes_new_version_and_refuse(store: Store, tmp_path: Path) -> None:
    from ppr.errors import InputError

    (tmp_path / "a.csv").write_text("user,item,ts\n1,2,3\n")
    first = import_dataset(store, "r", tmp_path / "a.csv", log=quiet)
    second = import_dataset(store, "r", tmp_path / "a.csv", log=quiet)
    assert (first.version, second.version) == (1, 2)
    assert first.content_hash == second.content_hash
    with pytest.raises(InputError, match="already exists"):
        import_dataset(store, "r", tmp_path / "a.csv", if_exists="refuse", log=quiet)
    assert store.versions("r") == [1, 2]


def test_integer_typed_ids_match_across_files(store: Store, tmp_path: Path) -> None:
    pd.DataFrame({"user_id": [5, 6], "item_id": [1, 2], "ts": [1, 2]}).to_parquet(tmp_path / "i.parquet")
    pd.DataFrame({"user_id": [5, 6], "gender": ["F", "M"]}).to_parquet(tmp_path / "u.parquet")
    pd.DataFrame({"item_id": [1, 2], "title": ["A", "B"]}).to_parquet(tmp_path / "it.parquet")
    ds = import_dataset(
        store, "ints", tmp_path / "i.parquet", users=tmp_path / "u.parquet", items=tmp_path / "it.parquet", log=quiet
    )
    assert ds.users()["gender"].tolist() == [1, 2]
    assert ds.items()["title"].tolist() == ["A", "B"]


def test_crlf_bom_quotes_and_gzip(store: Store, tmp_path: Path) -> None:
    import gzip

    text = '\ufeffuser,item,ts\r\n"a, b",x,1\r\nc,"y ""q""",2\r\n'
    (tmp_path / "w.csv").write_bytes(text.encode())
    ds = import_dataset(store, "w", tmp_path / "w.csv", log=quiet)
    assert seqs(ds) == {"a, b": ["x"], "c": ['y "q"']}
    (tmp_path / "w.csv.gz").write_bytes(gzip.compress(text.encode()))
    assert seqs(import_dataset(store, "wz", tmp_path / "w.csv.gz", log=quiet)) == seqs(ds)


def test_mixed_unix_and_iso_times(store: Store, tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("user,item,ts\n1,1,1704067200\n1,2,2024-01-01T00:00:01Z\n1,3,1704067199.9\n")
    ds = import_dataset(store, "m", tmp_path / "m.csv", log=quiet)
    assert ds.interactions()["ts"].tolist() == [1704067199, 1704067200, 1704067201]
    assert seqs(ds)["1"] == ["3", "1", "2"]


# ----------------------------------------------------------------------------- no silent loss (issue 12, item 6)


@pytest.mark.parametrize("packed", [False, True])
def test_a_huge_last_line_is_an_error_not_a_dropped_row(store: Store, tmp_path: Path, packed: bool) -> None:
    """DuckDB dropped a final line over ~32 MB without a word, and the import reported success."""
    body = ("user,item,ts\n1,2,3\n1,3,4\n9,9," + "1" * 34_000_000).encode()
    path = tmp_path / ("long.csv.gz" if packed else "long.csv")
    path.write_bytes(gzip.compress(body, compresslevel=1) if packed else body)
    with pytest.raises(InputError, match=r"Line 4 of the interactions file .*long.csv(.gz)? is longer than"):
        import_dataset(store, "long", path, log=quiet)
    assert store.names() == []


def test_unreadable_rows_are_counted_and_fail_unless_skipped(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("user,item,ts\n1,2,3\n1,3\n2,2,5\n2,3,6,7\n   \n3,4,8\n")  # lines 3, 5 and 6 are bad
    with pytest.raises(InputError) as info:
        import_dataset(store, "bad", path, log=quiet)
    msg = str(info.value)
    assert "3 row(s) of the interactions file" in msg and "the first is at line 3" in msg and "'1,3'" in msg
    assert "--skip-bad-rows" in msg and store.names() == []
    notes: list[str] = []
    ds = import_dataset(store, "bad", path, log=notes.append, skip_bad_rows=True)
    assert ds.manifest["counts"]["interactions"] == 3
    assert ds.manifest["counts"]["bad_rows_skipped"] == {"interactions": 3}
    assert any("skipped 3 unreadable row(s)" in n and "line 3" in n for n in notes)


def test_unreadable_users_file_rows_are_counted_too(store: Store, tmp_path: Path) -> None:
    (tmp_path / "i.csv").write_text("user,item,ts\n1,2,3\n2,2,4\n")
    (tmp_path / "u.csv").write_text("user,age\n1,30\n2,40,extra\n")
    with pytest.raises(InputError, match="1 row\\(s\\) of the users file .*u.csv could not be read.*line 3"):
        import_dataset(store, "u", tmp_path / "i.csv", users=tmp_path / "u.csv", log=quiet)
    ds = import_dataset(store, "u", tmp_path / "i.csv", users=tmp_path / "u.csv", log=quiet, skip_bad_rows=True)
    assert ds.manifest["counts"]["bad_rows_skipped"] == {"users": 1}
    assert ds.users()["age"].tolist() == [1, 0]  # user 2's row was unreadable: no age


def test_time_units_follow_the_median_of_the_whole_column(store: Store, tmp_path: Path) -> None:
    """One year-9999 time among ordinary seconds stays seconds (it was read as milliseconds: 1978)."""
    (tmp_path / "s.csv").write_text("user,item,ts\n1,2,1700000000\n1,3,1700000100\n2,3,253402300799\n")
    ds = import_dataset(store, "s", tmp_path / "s.csv", log=quiet)
    assert ds.manifest["source"]["time_unit"] == "s"
    assert ds.interactions()["ts"].max() == 253_402_300_799
    (tmp_path / "ms.csv").write_text("user,item,ts\n1,2,1700000000000\n1,3,1700000100000\n2,3,99\n")
    ds = import_dataset(store, "ms", tmp_path / "ms.csv", log=quiet)
    assert ds.manifest["source"]["time_unit"] == "ms" and sorted(ds.interactions()["ts"]) == [
        0,
        1_700_000_000,
        1_700_000_100,
    ]


@pytest.mark.parametrize(
    ("body", "where", "value"),
    [
        ("1,2,2024-01-01\n1,3,294247-01-01\n", "row 2 (line 3 of the file)", "'294247-01-01'"),
        ("1,2,1700000000\n1,3,1700000000000000\n", "row 2 (line 3 of the file)", "'1700000000000000'"),
        ("1,2,1700000000000\n1,3,-99999999999999999\n1,4,1700000000000\n", "row 2", "'-99999999999999999'"),
    ],
)
def test_times_outside_years_1_to_9999_name_their_row(
    store: Store, tmp_path: Path, body: str, where: str, value: str
) -> None:
    (tmp_path / "t.csv").write_text("user,item,ts\n" + body)
    with pytest.raises(InputError, match="implausible timestamp") as info:
        import_dataset(store, "t", tmp_path / "t.csv", log=quiet)
    assert where in str(info.value) and value in str(info.value) and "years 1 to 9999" in str(info.value)


def test_blank_and_nan_ids_are_missing_ids(store: Store, tmp_path: Path) -> None:
    (tmp_path / "tab.csv").write_text("user,item,ts\n1,2,3\n\t,3,4\n")
    with pytest.raises(InputError, match=r"no user id in column 'user' at row 2 \(line 3 of the file\)"):
        import_dataset(store, "tab", tmp_path / "tab.csv", log=quiet)
    pd.DataFrame({"user": [1.0, float("nan")], "item": [1, 2], "ts": [1, 2]}).to_parquet(tmp_path / "nan.parquet")
    with pytest.raises(InputError, match="no user id in column 'user' at row 2"):
        import_dataset(store, "nan", tmp_path / "nan.parquet", log=quiet)
    pd.DataFrame({"user": [1, 2], "item": [float("inf"), 2.0], "ts": [1, 2]}).to_parquet(tmp_path / "inf.parquet")
    with pytest.raises(InputError, match="no item id in column 'item' at row 1"):
        import_dataset(store, "inf", tmp_path / "inf.parquet", log=quiet)
    assert store.names() == []
