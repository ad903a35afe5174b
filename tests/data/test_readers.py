"""The readers' limits and their own record count (issue 12, items 5 and 6): header width and line length are
checked before DuckDB reads anything, a .gz is bounded in size and ratio while it streams, and the count of
records agrees with what DuckDB returns for any well-formed CSV (a hypothesis property)."""

from __future__ import annotations

import gzip
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from ppr.data.importers import import_dataset
from ppr.data.readers import RATIO_FLOOR, Limits, Source, header_names, scan_file
from ppr.data.store import Store
from ppr.errors import InputError


def quiet(msg: str) -> None:
    pass


def csv_source(path: Path, data: str | bytes, role: str = "interactions", fmt: str = "csv") -> Source:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return Source(role, path, fmt)


def test_a_wide_header_is_refused_by_its_width(tmp_path: Path) -> None:
    wide = ",".join(f"c{i}" for i in range(20_001)) + "\n" + ",".join("1" * 20_001) + "\n"
    src = csv_source(tmp_path / "wide.csv", wide)
    with pytest.raises(
        InputError, match=r"wide.csv has 20,001 columns, more than the limit of 10,000 \(--max-columns\)"
    ):
        header_names(src)
    with pytest.raises(InputError, match="--max-columns"):
        import_dataset(Store(tmp_path / "home"), "w", src.path, log=quiet)
    assert not (tmp_path / "home" / "datasets").exists()


def test_a_very_wide_header_is_read_in_linear_time(tmp_path: Path) -> None:
    """200k distinct names: the repeated-name check was quadratic (names.count), i.e. hours for this header."""
    names = [f"c{i}" for i in range(200_000)]
    src = csv_source(tmp_path / "wide.csv", ",".join(names) + "\n")
    assert header_names(src, Limits(max_columns=200_000, max_line_bytes=8 << 20)) == names
    src = csv_source(tmp_path / "dup.csv", ",".join([*names[:50_000], "c7", "c9"]) + "\n")
    with pytest.raises(InputError, match="repeats column name\\(s\\) 'c7', 'c9'"):
        header_names(src, Limits(max_columns=200_000))


def test_a_header_line_past_the_line_limit_is_an_input_error(tmp_path: Path) -> None:
    """A 3 MB header line was a raw _csv.Error (field larger than field limit)."""
    src = csv_source(tmp_path / "long.csv", "a" * 3_000_000 + "\n1\n")
    with pytest.raises(InputError, match=r"header line of the interactions file .*long.csv is longer than 2,097,152"):
        header_names(src)
    src = csv_source(tmp_path / "field.csv", "x" * 200_000 + ",b\n1,2\n")  # one field past csv's own limit
    with pytest.raises(InputError, match="cannot be parsed"):
        header_names(src)


def test_a_long_line_is_named_by_its_number(tmp_path: Path) -> None:
    body = "user,item,ts\n1,2,3\n\n4,5,6\r\n7,8," + "9" * 5000 + "\n10,11,12\n"
    src = csv_source(tmp_path / "l.csv", body)
    with pytest.raises(InputError, match=r"Line 5 of the interactions file .*l.csv is longer than 4,000 bytes"):
        scan_file(src, Limits(max_line_bytes=4000))
    assert scan_file(src, Limits(max_line_bytes=6000)) == 4  # the blank line is no record


def test_a_gz_is_bounded_while_it_streams(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.csv.gz"
    with gzip.open(bomb, "wb") as fh:
        fh.write(b"user,item,ts\n")
        for _ in range(8):
            fh.write(b"1,2,3\n" * 1_000_000)  # 48 MB that packs ~1000 times
    src = Source("interactions", bomb, "csv")
    with pytest.raises(InputError, match=r"unpacks more than 100 times its packed size .*--max-ratio"):
        scan_file(src)
    assert scan_file(src, Limits(max_ratio=10_000)) == 8_000_000
    with pytest.raises(InputError, match=r"unpacks to more than 1,048,576 bytes .*--max-unpacked-bytes"):
        scan_file(src, Limits(max_unpacked_bytes=1 << 20, max_ratio=10_000))
    store = Store(tmp_path / "home")
    with pytest.raises(InputError, match="decompression bomb"):
        import_dataset(store, "bomb", bomb, log=quiet)
    assert store.names() == [] and RATIO_FLOOR < 48_000_000


@pytest.mark.parametrize(
    ("kwargs", "flag"),
    [
        ({"max_columns": 0}, "--max-columns"),
        ({"max_line_bytes": float("inf")}, "--max-line-bytes"),
        ({"max_ratio": float("nan")}, "--max-ratio"),
        ({"max_unpacked_bytes": 2**70}, "--max-unpacked-bytes"),
    ],
)
def test_absurd_limits_are_input_errors(kwargs: dict, flag: str) -> None:
    with pytest.raises(InputError, match=flag):
        Limits(**kwargs)


# Fields that stress the record count: quotes, delimiters, line ends inside quotes, blanks, unicode.
FIELD = st.text(alphabet=st.sampled_from(list('ab,"\n\r\t é;|')), min_size=1, max_size=8)


def csv_field(value: object) -> str:
    """RFC 4180: a field holding a comma, a double quote, CR or LF is quoted, its quotes doubled."""
    text = str(value)
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\r\n') else text


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.tuples(FIELD, FIELD, st.integers(0, 10**10)), min_size=1, max_size=25),
    blank_lines=st.lists(st.integers(0, 30), max_size=3),
    crlf=st.booleans(),
    packed=st.booleans(),
)
def test_the_record_count_matches_what_duckdb_reads(
    tmp_path_factory: pytest.TempPathFactory, rows: list, blank_lines: list, crlf: bool, packed: bool
) -> None:
    """Property: for any well-formed CSV (blank lines added between records), our count equals the rows DuckDB
    returns, and an import keeps every distinct (user, item, time) whose ids are not blank."""
    end = "\r\n" if crlf else "\n"
    records = [",".join(map(csv_field, row)) + end for row in rows]
    for at in sorted(blank_lines, reverse=True):
        records.insert(min(at, len(records)), end)
    text = "user,item,ts" + end + "".join(records)
    folder = tmp_path_factory.mktemp("prop")
    path = folder / ("c.csv.gz" if packed else "c.csv")
    path.write_bytes(gzip.compress(text.encode()) if packed else text.encode())
    src = Source("interactions", path, "csv")
    assert scan_file(src) == len(rows)

    blank = " \t\n\r\x0b\x0c"
    wanted = {(u.strip(blank), i.strip(blank), t) for u, i, t in rows}
    store = Store(folder / "home")
    if any(not u or not i for u, i, _ in wanted):
        with pytest.raises(InputError, match="no (user|item) id"):
            import_dataset(store, "p", path, log=quiet)
        return
    ds = import_dataset(store, "p", path, log=quiet)
    inter = ds.interactions()
    uid = ds.users().set_index("user")["user_id"]
    iid = ds.items().set_index("item")["item_id"]
    got = {(uid[u], iid[i], t) for u, i, t in zip(inter["user"], inter["item"], inter["ts"], strict=True)}
    assert got == wanted and len(inter) == len(wanted)


JUNK = st.text(alphabet=st.sampled_from(list('ab1,"\r\t é;')), min_size=1, max_size=12)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n_good=st.integers(1, 15),
    junk=st.lists(st.tuples(st.integers(0, 20), JUNK), min_size=1, max_size=4),
    skip=st.booleans(),
)
def test_no_row_is_lost_without_a_word(
    tmp_path_factory: pytest.TempPathFactory, n_good: int, junk: list, skip: bool
) -> None:
    """Property: good rows with junk lines among them either fail the import with an InputError, or every record
    of the file is accounted for: imported, or skipped and counted (only with skip_bad_rows). (A stray quote can
    make DuckDB find more records than the quote-aware count: then nothing was lost either.)"""
    lines = [f"u{k % 3},i{k},{1_600_000_000 + k}\n" for k in range(n_good)]
    for at, text in sorted(junk, reverse=True):
        lines.insert(min(at, len(lines)), text + "\n")
    folder = tmp_path_factory.mktemp("junk")
    path = folder / "j.csv"
    path.write_text("user,item,ts\n" + "".join(lines))
    records = scan_file(Source("interactions", path, "csv"))
    notes: list[str] = []
    try:
        ds = import_dataset(Store(folder / "home"), "j", path, log=notes.append, skip_bad_rows=skip)
    except InputError:
        return
    counts = ds.manifest["counts"]
    skipped = counts.get("bad_rows_skipped", {}).get("interactions", 0)
    assert counts["interactions"] + counts["duplicates_dropped"] + skipped >= records
    assert skip or not skipped
    assert not skipped or any("skipped" in n for n in notes)
