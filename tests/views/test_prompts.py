"""Prompt explorer: empty store message, a tuned run's scatter (decoded attribute colours), one user's top-10."""

from __future__ import annotations

import numpy as np
import pandas as pd
from _apptest import empty_home, plotly_figures, start, texts  # noqa: F401

from ppr.data.store import Store
from ppr.io import read_json

PAGE = "views/prompts.py"


def test_no_tuned_run_says_what_to_do(empty_home) -> None:  # noqa: F811
    at = start(PAGE)
    assert "No tuned run with embeddings yet" in texts(at.info)


def test_scatter_decodes_attributes_and_user_top10_marks_hits(sweep_home) -> None:
    home, _ = sweep_home
    store = Store(home)
    at = start(PAGE)
    runs = at.selectbox(key="prompts_run").options
    ppr_run = next(r for r in runs if "ppr-light," in r).split(" ")[0]
    at.selectbox(key="prompts_run").set_value(ppr_run).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="prompts_kind").options == ["prompt vectors", "final user vectors"]

    emb = pd.read_parquet(home / "runs" / ppr_run / "embeddings.parquet")
    ds = store.open(read_json(home / "runs" / ppr_run / "spec.json")["dataset_ref"])
    taste = next(a for a in ds.attributes if a["name"] == "taste")
    at.selectbox(key="prompts_colour").set_value("taste").run()
    assert not at.exception, at.exception
    fig = plotly_figures(at)[0]
    assert "prompt vectors (PCA)" in fig["layout"]["title"]["text"]
    assert sum(len(t["x"]) for t in fig["data"]) == len(emb)
    assert {t["name"] for t in fig["data"]} <= set(taste["values"])  # decoded values, not codes

    user = int(emb.loc[emb["role"] == "test", "user"].iloc[0])
    at.selectbox(key="prompts_user").set_value(user).run()
    assert not at.exception, at.exception
    recs = at.dataframe[-2].value
    row = emb[emb["user"] == user].iloc[0]
    assert list(recs["item"]) == [int(i) for i in row["top20"][:10]]
    offsets, items = ds.sequences()
    held = set(items[offsets[user] + int(row["n_clicks"]) : offsets[user + 1]].tolist())
    assert list(recs["hit"]) == [i in held for i in recs["item"]]

    whatif = at.dataframe[-1].value  # unchanged profile: the stored top-10 again
    assert list(whatif["item"]) == list(recs["item"])
    taste_now = int(row["taste"])
    other = (taste_now % (len(taste["values"]) - 1)) + 1
    at.selectbox(key=f"prompts_whatif_{ppr_run}_{user}_taste").set_value(other).run()
    assert not at.exception, at.exception
    assert list(at.dataframe[-2].value["item"]) == list(recs["item"])  # stored recs unchanged
    assert len(at.dataframe[-1].value) == 10

    at.toggle(key="prompts_umap").set_value(True).run()
    assert not at.exception, at.exception
    assert "(UMAP)" in plotly_figures(at)[0]["layout"]["title"]["text"]
    assert list((home / "runs" / ppr_run / "projections").glob("umap-*.npy"))
