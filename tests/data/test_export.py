"""A split exported for RecBole and ReChorus reads back, with each library's conventions, into exactly the
targets, histories and negatives our evaluation scores; training examples are only what methods may see."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _planted import planted_dataset

from ppr.data.export import export_split
from ppr.data.splits import ROLE_TUNE, ROLE_WARM, make_split
from ppr.data.store import Store
from ppr.errors import InputError
from ppr.spec.run import SplitSpec
from ppr.train.batching import history_matrix

MAX_LEN = 6


@pytest.fixture
def planted(tmp_path: Path):
    store = Store(tmp_path / "home")
    ds = planted_dataset(store, n_users=200)
    return ds, make_split(ds, SplitSpec(folds=2), fold=1)


def read_atomic(path: Path) -> pd.DataFrame:
    """A RecBole atomic file as RecBole reads it: tab-separated, 'name:type' headers, token_seq split by spaces."""
    lines = path.read_text(encoding="utf-8").splitlines()
    fields = [h.split(":") for h in lines[0].split("\t")]
    assert all(t in ("token", "token_seq", "float", "float_seq") for _, t in fields), fields
    rows = [line.split("\t") for line in lines[1:]]
    cols = {}
    for j, (name, kind) in enumerate(fields):
        cols[name] = [
            r[j].split(" ") if kind.endswith("_seq") and r[j] else [] if kind.endswith("_seq") else r[j] for r in rows
        ]
    return pd.DataFrame(cols)


def expected(split, group: str, kind: str | None, h: int) -> pd.DataFrame:
    """(user, history, item) in internal ids, as ppr.eval.evaluate reads them."""
    tg = split.targets[(split.targets["group"] == group) & ((split.targets["kind"] == kind) if kind else True)]
    hist = history_matrix(split.offsets, split.items, tg["user"].to_numpy(), tg["pos"].to_numpy(), h)
    return tg.assign(history=[list(r[r > 0]) for r in hist])


@pytest.mark.parametrize("k_shot", [None, 2])
def test_recbole_files_hold_our_targets_histories_and_negatives(planted, tmp_path: Path, k_shot) -> None:
    ds, split = planted
    out = tmp_path / "rb"
    counts = export_split(ds, split, "recbole", out, k_shot, MAX_LEN)
    h = MAX_LEN if k_shot is None else 2
    uid = dict(zip(ds.users()["user"], ds.users()["user_id"], strict=True))
    iid = dict(zip(ds.items()["item"], ds.items()["item_id"], strict=True))
    for part, group in (("test", "test"), ("valid", "val")):
        got = read_atomic(out / f"planted.{part}.inter")
        want = expected(split, group, "few", h)
        assert list(got["user_id"]) == [uid[u] for u in want["user"]]
        assert list(got["item_id"]) == [iid[i] for i in want["item"]]
        assert list(got["item_id_list"]) == [[iid[i] for i in hist] for hist in want["history"]]
        assert counts[f"{part}_rows"] == len(want)
    targets = pd.read_csv(out / "targets.tsv", sep="\t", dtype=str, keep_default_na=False)
    both = split.targets[split.targets["group"].isin(["val", "test"])]
    assert list(targets["target_id"].astype(int)) == list(both["target_id"])
    negs = split.negatives[both["target_id"].to_numpy()]
    assert [row.split(" ") for row in targets["negatives"]] == [[iid[i] for i in r] for r in negs]
    zero = targets[targets["kind"] == "zero"]
    assert len(zero) == counts["zero_shot_targets"] > 0 and (zero["history"] == "").all()

    train = read_atomic(out / "planted.train.inter")
    by_user = {u: len(rows) for u, rows in train.groupby("user_id")}
    roles = {uid[u]: split.roles[u] for u in range(ds.n_users)}
    assert {roles[u] for u in by_user} <= {ROLE_WARM, ROLE_TUNE}  # never a validation or test user
    lengths = np.diff(split.offsets)
    for u, n in by_user.items():
        internal = int(u[1:])
        if roles[u] == ROLE_WARM:
            assert n == lengths[internal] - 3  # every click but the first and the two held out
        elif k_shot is not None:
            assert n <= k_shot - 1  # tuning users: their first k clicks only
    users = read_atomic(out / "planted.user")
    assert set(users.columns) == {"user_id", "taste", "noise"} and set(users["taste"]) <= {
        "missing",
        "a",
        "b",
        "c",
        "d",
    }
    assert "benchmark_filename: [train, valid, test]" in (out / "planted.yaml").read_text()


def test_rechorus_histories_as_rechorus_builds_them(planted, tmp_path: Path) -> None:
    ds, split = planted
    out = tmp_path / "rc"
    export_split(ds, split, "rechorus", out, 3, MAX_LEN)
    frames = {k: pd.read_csv(out / f"{k}.csv", sep="\t") for k in ("train", "dev", "test")}
    every = pd.concat([f[["user_id", "item_id", "time"]] for f in frames.values()]).sort_values(
        ["time", "user_id"], kind="mergesort"
    )
    seen: dict[int, list[int]] = {}
    history = {}
    for u, i, t in zip(every["user_id"], every["item_id"], every["time"], strict=True):
        history[(u, t)] = seen.setdefault(u, [])[-3:]  # --history_max 3
        seen[u].append(i)
    test = frames["test"]
    want = expected(split, "test", None, 3)
    assert list(test["user_id"] - 1) == list(want["user"]) and list(test["item_id"]) == list(want["item"])
    assert [history[(u, t)] for u, t in zip(test["user_id"], test["time"], strict=True)] == list(want["history"])
    negs = [ast.literal_eval(x) for x in test["neg_items"]]
    assert negs == split.negatives[want["target_id"].to_numpy()].tolist()
    ids = pd.read_csv(out / "ids.tsv", sep="\t", dtype=str)
    assert ids[ids["kind"] == "item"].set_index("rechorus_id").loc["5", "original_id"] == "i5"


def test_an_existing_folder_is_refused_and_left_alone(planted, tmp_path: Path) -> None:
    ds, split = planted
    out = tmp_path / "taken"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(InputError, match="exists already"):
        export_split(ds, split, "recbole", out, None, MAX_LEN)
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".taken")]


def test_cli_export_and_bad_input(run_cli, home: Path) -> None:
    planted_dataset(Store(home), n_users=120)
    rc, out, err = run_cli("data", "export", "planted", "--to", "rechorus", home / "x", "--k-shot", "2", "--json")
    assert rc == 0, err
    assert '"format": "rechorus"' in out and (home / "x" / "train.csv").is_file()
    rc, out, err = run_cli("data", "export", "planted", "--to", "recbole", home / "y", "--k-shot", "0")
    assert rc == 2 and "--k-shot '0' is invalid" in err and not (home / "y").exists()
    rc, _, err = run_cli("data", "export", "planted", "--to", "recbole", home / "z", "--fold", "7")
    assert rc == 2 and "Fold 7 does not exist" in err
