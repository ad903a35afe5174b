"""Prompt explorer data: which runs it lists, sibling runs of one cell (the side-by-side top-10), the cell
key, the hint for missing methods, the clicked point's user, decoded profiles and one user's detail."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from _fakeruns import base_spec, tuning_run, warm_run
from _planted import planted_dataset

from ppr.data.store import Store
from ppr.report.explorer import (
    decode,
    explorable_runs,
    missing_hint,
    picked_user,
    ranked,
    run_cell,
    run_label,
    sibling_runs,
    user_detail,
    vector_matrix,
)
from ppr.runs.folder import RunFolder
from ppr.spec.run import BackboneSpec, RunSpec, SplitSpec

Q = np.linspace(0.1, 0.9, 8)


def run(home: Path, method: str, **settings) -> RunFolder:
    return tuning_run(home, Q, method, embeddings=True, **{"k_shot": 2, **settings})


def test_explorable_runs_are_the_finished_ones_with_embeddings(tmp_path: Path) -> None:
    shown = run(tmp_path, "ppr-light")
    run(tmp_path, "ppr-full", complete=False)  # still computing
    tuning_run(tmp_path, Q, "finetune")  # finished, but no embeddings.parquet
    warm_run(tmp_path, Q)
    assert explorable_runs(Store(tmp_path)) == [shown]
    assert run_label(shown) == f"{shown.id} (ppr-light, k=2, noise 0)"


def test_siblings_share_the_cell_and_prefer_the_matching_variant(tmp_path: Path) -> None:
    light = run(tmp_path, "ppr-light")
    fine = run(tmp_path, "finetune")
    full = run(tmp_path, "ppr-full")
    full_nocl = run(tmp_path, "ppr-full", cl=False)
    light_nocl = run(tmp_path, "ppr-light", cl=False)
    # other cells: k, noise, seed (and with it the warm run's seed), the warm-training settings alone
    fine_k5 = run(tmp_path, "finetune", k_shot=5)
    run(tmp_path, "finetune", noise=0.3)
    run(tmp_path, "finetune", seed=1)
    run(tmp_path, "finetune", base=base_spec(lr=0.01))
    candidates = explorable_runs(Store(tmp_path))
    assert len(candidates) == 9

    assert sibling_runs(light, candidates) == {"ppr-light": light, "finetune": fine, "ppr-full": full}
    assert sibling_runs(fine, candidates) == {"finetune": fine, "ppr-light": light, "ppr-full": full}
    # an ablation finds the same ablation of the other PPR method; fine-tuning has none
    assert sibling_runs(light_nocl, candidates) == {"ppr-light": light_nocl, "finetune": fine, "ppr-full": full_nocl}
    assert sibling_runs(full_nocl, candidates)["ppr-light"] == light_nocl
    assert sibling_runs(fine_k5, candidates) == {"finetune": fine_k5}
    assert sibling_runs(light, [light]) == {"ppr-light": light}


def test_run_cell_is_everything_but_the_method_and_its_toggles(tmp_path: Path) -> None:
    def cell(method: str = "ppr-light", base: RunSpec | None = None, **tune) -> tuple:
        return run_cell(run(tmp_path / str(len(list(tmp_path.glob("*")))), method, base=base, **tune).info())

    mine = cell()
    assert mine == cell("finetune") == cell("ppr-full", cl=False, prompt_tokens=2)
    assert mine[1:] == (2, 0.0, 0)
    different = [
        cell(k_shot=None),
        cell(noise=0.3),
        cell(seed=1),
        cell(base=base_spec(lr=0.01)),
        cell(base=RunSpec("planted@v1", "hash0", SplitSpec(seed=1), warm=base_spec().warm)),
        cell(base=RunSpec("planted@v1", "hash0", backbone=BackboneSpec(d=32), warm=base_spec().warm)),
        cell(base=RunSpec("planted@v2", "hash1", warm=base_spec().warm)),
    ]
    assert len({mine, *different}) == 1 + len(different)
    assert run_cell(warm_run(tmp_path / "warm", Q).info()) is None


def test_missing_hint_names_the_sweep_for_the_cell(tmp_path: Path) -> None:
    info = run(tmp_path, "ppr-light", k_shot=None, noise=0.3, seed=1).info()
    hint = missing_hint(info, ["finetune", "ppr-full"])
    assert "finetune, ppr-full" in hint
    assert "python -m ppr sweep planted@v1 --methods finetune,ppr-full --k-shots all --noise 0.3 --seeds 1" in hint


def test_picked_user_reads_the_named_point_selection() -> None:
    assert picked_user({"selection": {"pick": [{"user": 42}]}}, "pick") == 42
    assert picked_user({"selection": {"pick": [{"x": 1.0}, {"user": "7"}]}}, "pick") == 7
    assert picked_user({"selection": {"other": [{"user": 42}]}}, "pick") is None  # another chart's selection
    assert picked_user({"selection": {"pick": []}}, "pick") is None
    assert picked_user(None, "pick") is None


def embeddings(users: list[int], codes: list[tuple[int, int]], n_clicks: list[int], top: list) -> pd.DataFrame:
    """embeddings.parquet's columns for a few users (attributes taste and noise of the planted dataset)."""
    return pd.DataFrame(
        {
            "user": users,
            "role": ["test" if t is not None else "tune" for t in top],
            "n_clicks": n_clicks,
            "taste": [c[0] for c in codes],
            "noise": [c[1] for c in codes],
            "prompt": pd.Series([np.full(4, float(u)) for u in users], dtype=object),
            "user_vector": pd.Series([np.arange(3.0) + u for u in users], dtype=object),
            "top20": pd.Series([None if t is None else np.asarray(t) for t in top], dtype=object),
        }
    )


def test_decode_and_user_detail_read_the_dataset(tmp_path: Path) -> None:
    ds = planted_dataset(Store(tmp_path), n_users=40, n_items=30)
    offsets, items = ds.sequences()
    user = int(next(u for u in range(40) if offsets[u + 1] - offsets[u] >= 4))
    seq = items[offsets[user] : offsets[user + 1]].astype(int)
    top = [int(seq[3]), 999, int(seq[0])]  # a held-out click, an unknown item, a click the model saw
    other = (user + 1) % 40
    emb = embeddings([user, other], [(2, 1), (7, 0)], [2, 1], [top, None])

    table = decode(emb, ds)
    assert list(table.columns) == ["user", "role", "n_clicks", "taste", "noise"]
    assert list(table["taste"]) == ["b", "7"] and list(table["noise"]) == ["x", "missing"]  # unknown code kept
    assert list(decode(emb, None)["taste"]) == [2, 7]  # dataset gone: codes stay
    assert vector_matrix(emb, "prompt").shape == (2, 4)
    assert vector_matrix(emb.assign(prompt=None), "prompt") is None  # no prompt (fine-tuning)

    detail = user_detail(ds, emb, user)
    assert detail["role"] == "test" and detail["profile"]["taste"] == "b"
    clicks = detail["clicks"]
    assert list(clicks["item"]) == list(seq) and list(clicks["seen by the model"]) == [i < 2 for i in range(len(seq))]
    assert list(clicks["title"]) == [f"item {i}" for i in seq]
    recs = detail["recommendations"]
    assert list(recs["rank"]) == [1, 2, 3] and list(recs["item"]) == top
    assert list(recs["hit"]) == [True, False, False]  # only held-out clicks count
    assert user_detail(ds, emb, other)["recommendations"] is None  # tuning users have no stored top list
    bare = user_detail(None, emb, user)
    assert bare["clicks"].empty and list(bare["recommendations"]["hit"]) == [False] * 3
    titled = ranked([5, 6], {6}, {5: "five"})
    assert titled["title"].iloc[0] == "five" and pd.isna(titled["title"].iloc[1]) and list(titled["hit"]) == [0, 1]
