"""Prompt explorer: empty store message; a tuned run's scatter (decoded colours, selected user marked), the top-10
of its sibling runs side by side with hits, selecting a user, the what-if profile placed on the plot (PCA exactly,
UMAP by its nearest users), and UMAP drawn after the PCA stand-in on an empty cache."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from _apptest import empty_home, start, texts, vega_specs  # noqa: F401

from ppr.data.store import Store
from ppr.report import projection
from ppr.report.explorer import explorable_runs, picked_user, sibling_runs, vector_matrix
from ppr.runs.folder import RunFolder, spec_summary
from ppr.runs.pipeline import load_model
from ppr.train.batching import history_matrix
from ui.charts import PICK

PAGE = "views/prompts.py"
CELL = ("k_shot", "noise", "seed")


def test_no_tuned_run_says_what_to_do(empty_home) -> None:
    at = start(PAGE)
    assert "No tuned run with embeddings yet" in texts(at.info)


def tune_of(run: RunFolder) -> dict:
    return run.info()["spec"]["tune"]


def label_of(run: RunFolder) -> str:
    return spec_summary(run.info())["label"]


def siblings(store: Store, rid: str) -> dict[str, str]:
    """method -> run id of the run's siblings among the runs the page lists."""
    found = sibling_runs(RunFolder(store.runs_dir / rid), explorable_runs(store))
    return {m: r.id for m, r in found.items()}


def test_siblings_pair_finetune_and_ppr_light_of_the_same_cell(sweep_home) -> None:
    home, _ = sweep_home
    store = Store(home)
    runs = explorable_runs(store)
    assert len(runs) == 12  # every tuning run of the sweep wrote embeddings
    plain = [r for r in runs if label_of(r) in ("finetune", "ppr-light")]
    assert len(plain) == 8  # 2 methods x 2 k x 2 seeds
    for run in plain:
        tune = tune_of(run)
        sibs = sibling_runs(run, runs)
        other = "finetune" if tune["method"] == "ppr-light" else "ppr-light"
        assert sibs[tune["method"]] == run and set(sibs) == {"finetune", "ppr-light"}
        assert label_of(sibs[other]) == other
        assert all(tune_of(sibs[other])[f] == tune[f] for f in CELL)
    nocl = next(r for r in runs if label_of(r) == "ppr-light-nocl")
    assert tune_of(sibling_runs(nocl, runs)["finetune"])["k_shot"] == tune_of(nocl)["k_shot"]


def scatters(at) -> list[dict]:
    """The scatter of users on the page (Altair), its datasets under spec["datasets"]."""
    return [v for v in vega_specs(at) if "coloured by" in title(v)]


def title(spec: dict) -> str:
    t = spec.get("title", "")
    return t["text"] if isinstance(t, dict) else str(t)


def user_points(fig: dict) -> pd.DataFrame:
    """The scatter's user points, one row per user: x, y and the columns drawn or shown on hover."""
    [points] = [d for d in fig["datasets"].values() if "user" in d.columns]
    return points.astype({"user": int}).set_index("user")


def trace(fig: dict, name: str) -> np.ndarray | None:
    """The (x, y) of the black mark whose name starts with `name` (the selected user, the what-if profile)."""
    marks = [d for d in fig["datasets"].values() if "kind" in d.columns]
    found = [r for d in marks for _, r in d.iterrows() if str(r["name"]).startswith(name)]
    return np.array([found[0]["x"], found[0]["y"]], dtype=float) if found else None


def top10_tables(at, n: int) -> list[pd.DataFrame]:
    """The side-by-side top-10 tables: after profile and clicks, before the what-if table."""
    return [d.value for d in at.dataframe[2 : 2 + n]]


def test_page_side_by_side_selection_whatif_and_umap(sweep_home) -> None:
    home, _ = sweep_home
    store = Store(home)
    at = start(PAGE)
    runs = at.selectbox(key="prompts_run").options
    ppr_run = next(r for r in runs if "ppr-light," in r).split(" ")[0]
    at.selectbox(key="prompts_run").set_value(ppr_run).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="prompts_kind").options == ["prompt vectors", "final user vectors"]

    emb = pd.read_parquet(home / "runs" / ppr_run / "embeddings.parquet")
    ds = store.open(RunFolder(home / "runs" / ppr_run).spec().dataset)
    taste = next(a for a in ds.attributes if a["name"] == "taste")
    at.selectbox(key="prompts_colour").set_value("taste").run()
    assert not at.exception, at.exception
    [fig] = scatters(at)
    assert "prompt vectors (PCA)" in title(fig)
    points = user_points(fig)[["x", "y"]]
    assert sorted(points.index) == sorted(emb["user"])
    assert set(user_points(fig)["taste"]) <= set(map(str, taste["values"]))  # decoded values, not codes
    assert {b.key for b in at.get("download_button")} >= {f"dl_scatter_{x}" for x in ("png", "svg", "html")}

    # side by side: this run and its fine-tuning sibling, hits = held-out clicks; PPR full is missing
    user = int(at.selectbox(key="prompts_user").value)
    assert emb.set_index("user").loc[user, "role"] == "test"
    assert np.allclose(trace(fig, f"user {user} (selected)"), points.loc[user])
    fine = siblings(store, ppr_run)["finetune"]
    offsets, items = ds.sequences()
    for table, rid in zip(top10_tables(at, 2), [fine, ppr_run], strict=True):
        run_emb = pd.read_parquet(home / "runs" / rid / "embeddings.parquet").set_index("user")
        assert list(table["item"]) == [int(i) for i in run_emb.loc[user, "top20"][:10]]
        held = set(items[offsets[user] + int(run_emb.loc[user, "n_clicks"]) : offsets[user + 1]].tolist())
        assert list(table["hit"]) == [i in held for i in table["item"]]
    labels = texts(at.markdown)
    assert "**finetune**:" in labels and "**ppr-light** (this run):" in labels
    assert "Not in the store for this cell: ppr-full" in texts(at.caption)

    # a clicked point selects its user (the callback sets the selectbox's state; AppTest cannot click a chart)
    other = int(emb.loc[(emb["role"] == "test") & (emb["user"] != user), "user"].iloc[0])
    assert picked_user({"selection": {PICK: [{"user": other}]}}, PICK) == other
    at.session_state["prompts_user"] = other
    at.run()
    assert not at.exception, at.exception
    assert int(at.selectbox(key="prompts_user").value) == other
    assert list(top10_tables(at, 2)[1]["item"]) == [int(i) for i in emb.set_index("user").loc[other, "top20"][:10]]
    assert np.allclose(trace(scatters(at)[0], f"user {other} (selected)"), points.loc[other])

    # what-if: unchanged profile = the stored top-10 and no marker; an edited one gets a star at its exact PCA position
    row = emb.set_index("user").loc[other]
    assert list(at.dataframe[-1].value["item"]) == [int(i) for i in row["top20"][:10]]
    assert trace(scatters(at)[0], "what-if") is None
    new_taste = (int(row["taste"]) + 1) % len(taste["values"])
    at.selectbox(key=f"prompts_whatif_{ppr_run}_{other}_taste").set_value(new_taste).run()
    assert not at.exception, at.exception
    assert len(at.dataframe[-1].value) == 10
    codes = [int(row[a["name"]]) for a in ds.attributes]
    codes[[a["name"] for a in ds.attributes].index("taste")] = new_taste
    model = load_model(store, RunFolder(home / "runs" / ppr_run))
    with torch.no_grad():
        new = model.flat_prompt(torch.tensor([codes]))[0].numpy().astype(np.float64)
    x = vector_matrix(emb, "prompt").astype(np.float64)
    centered = x - x.mean(axis=0)
    axes = np.linalg.svd(centered, full_matrices=False)[2][:2]
    plotted = points.loc[emb["user"]].to_numpy()
    signs = np.sign(((centered @ axes.T) * plotted).sum(axis=0))  # orient the independent axes like the plot's
    assert np.allclose(centered @ axes.T * signs, plotted, atol=1e-3)
    star = trace(scatters(at)[0], "what-if")
    assert np.allclose(star, signs * ((new - x.mean(axis=0)) @ axes.T), atol=1e-3)
    at.selectbox(key="prompts_kind").set_value("user_vector").run()  # the star follows the vector kind
    assert not at.exception, at.exception
    seq = torch.as_tensor(
        history_matrix(offsets, items, np.array([other]), np.array([int(row["n_clicks"])]), model.backbone.cfg.max_len)
    )
    with torch.no_grad():
        new_u = model.user_vector(seq, torch.tensor([codes])).reshape(-1).numpy().astype(np.float64)
    xu = vector_matrix(emb, "user_vector").astype(np.float64)
    cu = xu - xu.mean(axis=0)
    axes_u = np.linalg.svd(cu, full_matrices=False)[2][:2]
    fig_u = scatters(at)[0]
    signs_u = np.sign(((cu @ axes_u.T) * user_points(fig_u).loc[emb["user"], ["x", "y"]].to_numpy()).sum(axis=0))
    assert np.allclose(trace(fig_u, "what-if"), signs_u * ((new_u - xu.mean(axis=0)) @ axes_u.T), atol=1e-3)
    at.selectbox(key="prompts_kind").set_value("prompt").run()

    # UMAP on an empty cache: PCA stand-in first, the page ends with the UMAP scatter; the star = mean of 10 nearest users
    assert not list((home / "runs" / ppr_run / "projections").glob("umap-*.npy"))
    at.toggle(key="prompts_umap").set_value(True).run()
    assert not at.exception, at.exception
    [fig] = scatters(at)
    assert "(UMAP)" in title(fig)
    assert list((home / "runs" / ppr_run / "projections").glob("umap-*.npy"))
    umap = user_points(fig).loc[emb["user"], ["x", "y"]].to_numpy()
    near = np.argsort(((x - new) ** 2).sum(axis=1), kind="stable")[:10]
    assert np.allclose(trace(fig, "what-if"), umap[near].mean(axis=0), atol=1e-4)
    assert "10 nearest users" in texts(at.caption)
    at.run()  # cached now: no stand-in
    assert "PCA shown while UMAP computes" not in texts(at.caption)


def test_pca_stands_in_while_umap_computes(sweep_home, monkeypatch) -> None:
    """UMAP made to fail: what the page drew before it (the placeholder) is the captioned PCA scatter."""
    real = projection.project

    def no_umap(vectors, method="umap", **settings):
        if method == "umap":
            raise RuntimeError("UMAP is still computing")
        return real(vectors, method, **settings)

    monkeypatch.setattr(projection, "project", no_umap)
    at = start(PAGE)
    at.toggle(key="prompts_umap").set_value(True).run()
    assert "UMAP is still computing" in str(at.exception)
    assert "PCA shown while UMAP computes" in texts(at.caption)
    [fig] = scatters(at)
    assert "(PCA)" in title(fig)


def test_choices_survive_a_visit_to_another_page(sweep_home) -> None:
    at = start(PAGE)
    runs = at.selectbox(key="prompts_run").options
    ppr_run = next(r for r in runs if "ppr-light," in r).split(" ")[0]
    at.selectbox(key="prompts_run").set_value(ppr_run).run()
    first = int(at.selectbox(key="prompts_user").value)
    user = next(int(u) for u in at.selectbox(key="prompts_user").options if int(u) != first)
    at.selectbox(key="prompts_kind").set_value("user_vector")
    at.selectbox(key="prompts_colour").set_value("taste")
    at.multiselect(key="prompts_roles").set_value(["test"])
    at.selectbox(key="prompts_user").set_value(user).run()
    assert not at.exception, at.exception
    at.switch_page("views/compare.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="prompts_run").value == ppr_run and int(at.selectbox(key="prompts_user").value) == user
    assert (
        at.selectbox(key="prompts_kind").value == "user_vector" and at.selectbox(key="prompts_colour").value == "taste"
    )
    assert at.multiselect(key="prompts_roles").value == ["test"]
    assert "final user vectors (PCA), coloured by taste" in title(scatters(at)[0])


def attribution_charts(at) -> list[dict]:
    return [v for v in vega_specs(at) if "Which attribute matters" in title(v)]


def test_attribution_on_request_ranks_attributes_and_shows_the_user(sweep_home) -> None:
    from ppr.report.attribution import per_user, summary
    from ppr.runs.pipeline import evaluated

    home, _ = sweep_home
    at = start(PAGE)
    assert not attribution_charts(at)  # nothing computed until asked
    at.toggle(key="prompts_attribution").set_value(True).run()
    assert not at.exception, at.exception
    rid = at.selectbox(key="prompts_run").value
    store = Store(home)
    want = summary(per_user(evaluated(store, RunFolder(store.runs_dir / rid))))
    [spec] = attribution_charts(at)
    drawn = next(iter(spec["datasets"].values()))
    assert list(drawn["attribute"]) == list(want["attribute"])
    assert np.allclose(drawn["rank_change"], want["rank_change"])
    user = int(at.selectbox(key="prompts_user").value)
    mine = at.dataframe[-1].value  # the selected user's rows, last on the page
    assert list(mine["attribute"]) == ["taste", "noise"] and f"**User {user}**" in texts(at.markdown)
