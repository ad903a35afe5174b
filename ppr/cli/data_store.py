"""`data import | list | info | sql | rm`: get datasets into the store and look at them."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from ppr.data.importers import import_dataset
from ppr.data.readers import DEFAULT_LIMITS, FORMATS, Limits
from ppr.data.sql import SQL_MAX_ROWS, SQL_TIMEOUT_S, run_readonly_sql
from ppr.data.store import Store, validate_name
from ppr.data.summary import dataset_info, store_rows
from ppr.errors import InputError

SQL_DEFAULT_ROWS = 50  # human output only; --json/--csv print everything (up to --max-rows) unless --limit
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def byte_size(text: str) -> int:
    """'2M', '512k', '16G' or a plain number of bytes (argparse type: a bad value is a usage error)."""
    value = text.strip().lower().removesuffix("ib").removesuffix("b")
    unit = value[-1:] if value[-1:] in _SIZE_UNITS else ""
    try:
        number = float(value[: len(value) - len(unit)])
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size; use bytes or a suffix k, M, G (e.g. 2M)") from None
    if not math.isfinite(number) or not 1 <= number * _SIZE_UNITS[unit] < 2**62:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range; expected 1 byte to 4 EiB")
    return int(number * _SIZE_UNITS[unit])


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="import interactions (+ users, items) as a new dataset version")
    p.add_argument("name", help="dataset name (letters, digits, '_', '-', '.')")
    p.add_argument("--interactions", required=True, type=Path, help="interactions file, or a MovieLens/RecBole folder")
    p.add_argument("--users", type=Path, help="user profile file (one row per user)")
    p.add_argument("--items", type=Path, help="item metadata file (title, category)")
    p.add_argument("--user-col", help="user id column (default: guessed, e.g. user_id, uid)")
    p.add_argument("--item-col", help="item id column (default: guessed, e.g. item_id, movie_id)")
    p.add_argument("--time-col", help="time column (default: guessed, e.g. timestamp, ts)")
    p.add_argument("--attrs", help="comma-separated user attribute columns (default: all non-id users-file columns)")
    p.add_argument("--format", default="auto", choices=FORMATS, help="input format (default: from the file names)")
    p.add_argument(
        "--if-exists",
        default="new",
        choices=("new", "refuse"),
        help="when the name exists: make a new version (default) or refuse",
    )
    p.add_argument(
        "--skip-bad-rows",
        action="store_true",
        help="leave out rows that cannot be read (they are counted and reported); by default any fails the import",
    )
    d = DEFAULT_LIMITS
    p.add_argument("--max-columns", type=int, default=d.max_columns, help=f"columns per file (default {d.max_columns})")
    p.add_argument(
        "--max-line-bytes",
        type=byte_size,
        default=d.max_line_bytes,
        help=f"bytes per line, e.g. 4M (default {d.max_line_bytes >> 20}M)",
    )
    p.add_argument(
        "--max-unpacked-bytes",
        type=byte_size,
        default=d.max_unpacked_bytes,
        help=f"size of a .gz once unpacked, e.g. 32G (default {d.max_unpacked_bytes >> 30}G)",
    )
    p.add_argument(
        "--max-ratio",
        type=float,
        default=d.max_ratio,
        help=f"unpacked/packed size of a .gz, a decompression-bomb guard (default {d.max_ratio:g})",
    )
    p.add_argument("--json", action="store_true", help="print the new version's manifest as JSON")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("list", help="list datasets (latest version of each)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("info", help="summarize a dataset: counts, warm/cold users, lengths, attributes")
    p.add_argument("ref", help="NAME or NAME@vN")
    p.add_argument("--cold-threshold", type=int, default=10, help="users with fewer clicks are cold (default 10)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("sql", help="read-only SQL over views interactions, users, items")
    p.add_argument("ref", help="NAME or NAME@vN")
    p.add_argument("query", help='one SELECT, e.g. "SELECT count(*) FROM interactions"')
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="rows as a JSON list of objects")
    out.add_argument("--csv", action="store_true", help="rows as CSV")
    p.add_argument("--limit", type=int, help=f"at most N rows (human output defaults to {SQL_DEFAULT_ROWS})")
    p.add_argument(
        "--max-rows",
        type=int,
        default=SQL_MAX_ROWS,
        help=f"refuse a result of more rows than this (default {SQL_MAX_ROWS:,}); --limit cuts instead",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=SQL_TIMEOUT_S,
        help=f"stop the query after this many seconds (default {SQL_TIMEOUT_S:g})",
    )
    p.add_argument("--param", action="append", default=[], help="value for a ? placeholder (repeatable)")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("rm", help="delete a dataset (every version)")
    p.add_argument("name")
    p.set_defaults(func=cmd_rm)


def cmd_import(args: argparse.Namespace, store: Store) -> int:
    before = store.versions(validate_name(args.name))  # the name first: a bad one must not reach the disk
    limits = Limits(args.max_columns, args.max_line_bytes, args.max_unpacked_bytes, args.max_ratio)
    store.sweep_stale()
    start = time.perf_counter()
    ds = import_dataset(
        store,
        args.name,
        args.interactions,
        users=args.users,
        items=args.items,
        user_col=args.user_col,
        item_col=args.item_col,
        time_col=args.time_col,
        attrs=[a.strip() for a in args.attrs.split(",") if a.strip()] if args.attrs else None,
        fmt=args.format,
        if_exists=args.if_exists,
        limits=limits,
        skip_bad_rows=args.skip_bad_rows,
    )
    if args.json:
        _print_json(ds.manifest)
        return 0
    c = ds.manifest["counts"]
    print(
        f"{ds.ref}: {c['users']:,} users, {c['items']:,} items, {c['interactions']:,} interactions "
        f"({time.perf_counter() - start:.1f} s)"
    )
    if c.get("duplicates_dropped"):
        print(f"  dropped {c['duplicates_dropped']:,} duplicate (user, item, time) rows")
    if c.get("users_file_rows_dropped"):
        print(f"  dropped {c['users_file_rows_dropped']:,} users-file rows with no interaction")
    for role, n in c.get("bad_rows_skipped", {}).items():
        print(f"  skipped {n:,} unreadable rows of the {role} file (--skip-bad-rows)")
    attrs = ", ".join(f"{a['name']} ({len(a['values'])})" for a in ds.attributes) or "none"
    print(f"  attributes: {attrs}")
    if before:
        had = ", ".join(f"v{v}" for v in before)
        print(f"  {args.name} already had version(s) {had}; made a new version v{ds.version}")
    return 0


def cmd_list(args: argparse.Namespace, store: Store) -> int:
    rows = store_rows(store)
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        print(f"No datasets in {store.datasets_dir}. Import one with `python -m ppr data import`.")
        return 0
    table = [["NAME", "VERSION", "USERS", "ITEMS", "INTERACTIONS", "SOURCE", "CREATED"]]
    for r in rows:
        table.append(
            [
                r["name"],
                f"v{r['version']}" + (f" ({len(r['versions'])})" if len(r["versions"]) > 1 else ""),
                _n(r["users"]),
                _n(r["items"]),
                _n(r["interactions"]),
                str(r["source"] or "-"),
                str(r["created_at"] or "-"),
            ]
        )
    _print_table(table, right=(2, 3, 4))
    return 0


def cmd_info(args: argparse.Namespace, store: Store) -> int:
    if not 1 <= args.cold_threshold <= 1_000_000:
        raise InputError(
            f"--cold-threshold {args.cold_threshold} is invalid: expected a whole number from 1 to 1000000."
        )
    info = dataset_info(store.open(args.ref), cold_threshold=args.cold_threshold)
    if args.json:
        _print_json(info)
        return 0
    q = info["sequence_length"]
    src = info["source"]
    print(f"{info['ref']}  (created {info['created_at']})")
    print(f"  users         {info['users']:>12,}")
    print(f"  items         {info['items']:>12,}")
    print(f"  interactions  {info['interactions']:>12,}   density {info['density']:.4%}")
    print(f"  warm users    {info['warm_users']:>12,}   (>= {info['cold_threshold']} clicks)")
    print(f"  cold users    {info['cold_users']:>12,}   (< {info['cold_threshold']} clicks)")
    print("  clicks/user   " + "  ".join(f"{k} {q[k]:g}" for k in ("min", "p25", "p50", "p75", "p90", "max")))
    tr = info["time_range"]
    if tr["min"] is not None and src.get("time_unit") != "row_order":
        print(f"  time range    {tr['min_iso']} .. {tr['max_iso']}")
    if info["duplicates_dropped"] or info["users_file_rows_dropped"]:
        print(
            f"  dropped       {info['duplicates_dropped']:,} duplicate rows, "
            f"{info['users_file_rows_dropped']:,} users-file rows"
        )
    if info["attributes"]:
        print("  attributes")
        table = [["NAME", "ENCODING", "VALUES", "MISSING", "MOST COMMON"]]
        for a in info["attributes"]:
            top = ", ".join(f"{t['value']} {t['share']:.0%}" for t in a["top_values"][:3])
            table.append([a["name"], a["encoding"], str(a["cardinality"]), f"{a['missing_share']:.1%}", top])
        _print_table(table, right=(2, 3), indent="    ")
    else:
        print("  attributes    none")
    print(
        f"  source        {src.get('format', '-')}: "
        + ", ".join(f"{role} {f['path']}" for role, f in src.get("files", {}).items())
    )
    print(f"  content hash  {info['content_hash']}")
    return 0


def cmd_sql(args: argparse.Namespace, store: Store) -> int:
    ds = store.open(args.ref)
    human = not (args.json or args.csv)
    limit = args.limit if args.limit is not None else (SQL_DEFAULT_ROWS + 1 if human else None)
    df = run_readonly_sql(
        ds,
        args.query,
        params=[_param(v) for v in args.param],
        limit=limit,
        timeout_s=args.timeout,
        max_rows=args.max_rows,
    )
    if args.json:
        sys.stdout.write(df.to_json(orient="records", date_format="iso") + "\n")
    elif args.csv:
        df.to_csv(sys.stdout, index=False)
    else:
        more = args.limit is None and len(df) > SQL_DEFAULT_ROWS
        shown = df.head(SQL_DEFAULT_ROWS) if more else df
        print(shown.to_string(index=False) if len(shown) else f"(no rows; columns: {', '.join(map(str, df.columns))})")
        if more:
            print(f"... more rows; showing the first {SQL_DEFAULT_ROWS} (use --limit N, --csv or --json)")
    return 0


def _param(value: str) -> Any:
    """CLI values arrive as text; numbers bind as numbers so `user = ?` compares as intended."""
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def cmd_rm(args: argparse.Namespace, store: Store) -> int:
    removed = store.remove(args.name, log=lambda msg: print(msg, file=sys.stderr))
    store.sweep_stale()  # after: what it sweeps of this name, this rm reports
    if removed:
        print(f"removed {args.name} ({', '.join(f'v{v}' for v in removed)})")
    else:
        print(f"removed {args.name}: what an interrupted import or rm had left (no complete version)")
    return 0


def _n(x: int | None) -> str:
    return "-" if x is None else f"{x:,}"


def _print_table(rows: list[list[str]], right: tuple[int, ...] = (), indent: str = "") -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        print(indent + "  ".join(cells).rstrip())


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))
