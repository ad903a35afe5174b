"""Compare page: empty store message, a tiny sweep's charts (values from the report), metric switch, tables,
choices kept across a visit to another page; a cross-domain sweep opens on its Table VII."""

from __future__ import annotations

import json
import shutil

import numpy as np
from _apptest import empty_home, start, texts, vega_specs  # noqa: F401
from _scores import finetune_cell, write_scores

from ppr.data.export import original_ids, targets_frame
from ppr.data.store import Store
from ppr.jobs.sweep import add_run, sweep_runs
from ppr.report.claims import VERDICTS
from ppr.report.cohorts import cohorts_of_runs
from ppr.report.crossdomain import crossdomain_table, table_vii
from ppr.report.profile_task import of_runs
from ppr.report.results import param_shares
from ppr.report.tables import RANKINGS, sweep_table
from ppr.runs.imported import import_scores
from ppr.runs.pipeline import evaluated
from ui.palette import METHOD_COLOURS

PAGE = "views/compare.py"


def _title(spec: dict) -> str:
    title = spec.get("title", "")
    return title["text"] if isinstance(title, dict) else str(title)


def _fig(at, word: str) -> dict:
    """The Altair chart whose title holds `word`, its one dataset as spec["data"] (a DataFrame)."""
    spec = next(v for v in vega_specs(at) if word in _title(v))
    [spec["data"]] = spec["datasets"].values()
    return spec


def _ys(fig: dict, name: str, column: str = "mean") -> np.ndarray:
    return fig["data"].loc[fig["data"]["label"] == name, column].to_numpy(dtype=float)


def _names(fig: dict) -> set[str]:
    return set(fig["data"]["label"])


def test_no_sweep_says_what_to_do(empty_home) -> None:
    at = start(PAGE)
    assert "No sweeps yet" in texts(at.info) and "python -m ppr sweep" in texts(at.info)


def test_sweep_charts_follow_the_report_and_the_metric_selector(sweep_home) -> None:
    home, sid = sweep_home
    table = sweep_table(sweep_runs(Store(home), sid))
    at = start(PAGE)
    assert at.selectbox(key="compare_sweep").value == sid
    fig = _fig(at, "across k-shot")
    assert _names(fig) == {"finetune", "ppr-light"}  # ablations hidden by default
    want = table[(table["metric"] == "ndcg@10") & (table["group"] == "joint") & (table["label"] == "ppr-light")]
    want = want.set_index("k").loc[["2", "all"], "mean"].to_numpy()
    light = fig["data"][fig["data"]["label"] == "ppr-light"]
    assert list(light["setting"]) == ["2", "all"] and np.allclose(light["mean"], want)
    assert fig["layer"][0]["encoding"]["x"]["sort"] == ["2", "all"]  # 'all' last, whatever the rows' order

    at.selectbox(key="compare_metric").set_value("auc").run()
    assert not at.exception, at.exception
    fig = _fig(at, "across k-shot")
    assert "AUC" in _title(fig)
    auc = table[(table["metric"] == "auc") & (table["group"] == "joint") & (table["label"] == "ppr-light")]
    rows = auc.set_index("k").loc[["2", "all"]]
    assert np.allclose(_ys(fig, "ppr-light"), rows["mean"].to_numpy())
    assert not np.allclose(auc["mean"].to_numpy(), want)
    whiskers = fig["layer"][1]["encoding"]  # each point's 95% interval over users
    assert whiskers["y"]["field"] == "ci_low" and whiskers["y2"]["field"] == "ci_high"
    assert np.allclose(_ys(fig, "ppr-light", "ci_high"), rows["ci_high"].to_numpy())

    diff = _fig(at, "Difference to finetune")
    assert _names(diff) == {"ppr-light"}
    assert np.allclose(_ys(diff, "ppr-light", "diff"), rows["diff"].to_numpy())  # bars: the per-user difference
    assert np.allclose(_ys(diff, "ppr-light", "diff_high"), rows["diff_high"].to_numpy())  # 95% interval
    assert [layer["mark"]["type"] for layer in diff["layer"][:3]] == ["bar", "rule", "text"]
    stars = diff["data"].set_index("setting")["star"]
    assert list(stars) == ["*" if s else "" for s in rows["significant"]]

    at.toggle(key="compare_ablations").set_value(True).run()
    assert not at.exception, at.exception
    assert _names(_fig(at, "across k-shot")) == {"finetune", "ppr-light", "ppr-light-nocl"}
    ablations = _fig(at, "Ablations")
    assert "ppr-light-nocl" in _names(ablations) and ablations["facet"]["column"]["field"] == "method"

    claims = at.dataframe[0].value
    assert (
        list(claims.columns) == ["claim", "verdict", "evidence"] and claims["claim"].str.contains("fine-tuning").any()
    )
    params = at.dataframe[2].value
    shares = dict(zip(params["method"], params["share of fine-tuning"], strict=True))
    assert shares["finetune"] == 1.0 and 0 < shares["ppr-light"] < 1
    assert params.equals(param_shares(sweep_runs(Store(home), sid)))
    paper = at.dataframe[1].value
    assert set(paper["method"]) == {"finetune", "ppr-light", "ppr-light-nocl"} and "AUC" in paper.columns
    assert paper["AUC"].str.contains(r"\[").all()  # every cell with its interval
    buttons = at.get("download_button")
    assert {b.label for b in buttons} >= {"Download table (CSV)", "PNG", "SVG", "HTML"}
    drawn = [b.proto for b in buttons if b.label in ("PNG", "SVG", "HTML")]
    assert len(drawn) >= 9 and all(p.deferred_file_id and not p.url for p in drawn)  # drawn on click only


def test_choices_survive_a_visit_to_another_page(sweep_home) -> None:
    _, sid = sweep_home
    at = start(PAGE)
    at.selectbox(key="compare_metric").set_value("auc")
    at.selectbox(key="compare_group").set_value("zero")
    at.toggle(key="compare_ablations").set_value(True)
    at.selectbox(key="compare_table_k").set_value("all").run()
    at.switch_page("views/home.py").run()
    assert not at.exception, at.exception
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="compare_sweep").value == sid
    assert at.selectbox(key="compare_metric").value == "auc" and at.selectbox(key="compare_group").value == "zero"
    assert at.toggle(key="compare_ablations").value and at.selectbox(key="compare_table_k").value == "all"
    assert "AUC (zero-shot)" in _title(_fig(at, "across k-shot"))


def test_who_gains_draws_the_cohort_differences_with_intervals(sweep_home) -> None:
    home, sid = sweep_home
    at = start(PAGE)
    at.selectbox(key="compare_who_by").set_value("taste")
    at.selectbox(key="compare_who_k").set_value("2").run()
    assert not at.exception, at.exception
    [spec] = [v for v in vega_specs(at) if "by the user's taste" in str(v.get("title"))]
    drawn = next(iter(spec["datasets"].values())).set_index(["cohort", "label"])
    want = cohorts_of_runs(Store(home), sweep_runs(Store(home), sid), "taste", RANKINGS["both"], warn=None)
    want = want[(want["k"] == "2") & (want["metric"] == "ndcg@10") & (want["label"] == "ppr-light")]
    want = want.set_index(["cohort", "label"])
    assert set(drawn.index) == set(want.index)  # ablations hidden, as in the other tabs
    for col in ("diff", "diff_low", "diff_high", "n_users"):
        assert np.allclose(drawn.loc[want.index, col].astype(float), want[col].astype(float))
    assert drawn["cohort_label"].str.contains("users, few").all()  # a tiny sweep: every cohort under 20 users
    scale = spec["layer"][0]["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == {"ppr-light": METHOD_COLOURS["ppr-light"]}
    assert "fewer than 20 users is pale" in texts(at.caption)


def _colour_scales(node: dict):
    """Every colour scale with a domain in a (layered, faceted) Vega-Lite spec."""
    scale = node.get("encoding", {}).get("color", {}).get("scale") or {}
    if "domain" in scale:
        yield scale
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for child in node.get(key, []):
            yield from _colour_scales(child)
    if "spec" in node:
        yield from _colour_scales(node["spec"])


def test_one_colour_per_method_in_every_chart(sweep_home) -> None:
    at = start(PAGE)
    at.toggle(key="compare_ablations").set_value(True).run()
    checked = set()
    for spec in vega_specs(at):
        for scale in _colour_scales(spec):
            for label, colour in zip(scale["domain"], scale["range"], strict=True):
                if label in METHOD_COLOURS:
                    assert colour == METHOD_COLOURS[label], (_title(spec), label)
                    checked.add((_title(spec).split(",")[0], label))
    charts = {title for title, _ in checked}
    assert {"finetune", "ppr-light"} <= {label for _, label in checked}
    assert len(charts) >= 4, checked  # across k, across noise, the difference bars and the ablations


def test_the_backbone_selector_lists_the_sweeps_of_each_backbone(sweep_home) -> None:
    home, sid = sweep_home
    at = start(PAGE)
    box = at.selectbox(key="compare_backbone")
    assert box.options == ["sasrec"] and box.disabled and "backbone **sasrec**" in texts(at.caption)
    other = home / "sweeps" / "other-gru"  # the same runs, declared as a gru4rec sweep
    shutil.copytree(home / "sweeps" / sid, other)
    body = json.loads((other / "sweep.json").read_text())
    body["spec"]["base"]["backbone"]["kind"] = "gru4rec"
    (other / "sweep.json").write_text(json.dumps(body))
    at = start(PAGE)
    box = at.selectbox(key="compare_backbone")
    assert box.options == ["gru4rec", "sasrec"] and not box.disabled
    box.select("gru4rec").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="compare_sweep").options == ["other-gru"]
    assert "backbone **gru4rec**" in texts(at.caption)


def test_the_profile_prediction_tab_predicts_an_attribute_from_the_sweeps_runs(sweep_home) -> None:
    home, sid = sweep_home
    at = start(PAGE)
    at.selectbox(key="compare_profile_attribute").set_value("taste")
    at.toggle(key="compare_profile_on").set_value(True).run()
    assert not at.exception, at.exception
    [shown] = [d.value.set_index("label") for d in at.dataframe if "macro_f1" in d.value.columns]
    runs = [r for r in sweep_runs(Store(home), sid) if r.spec().tune.k_shot is None]
    want = of_runs(Store(home), runs, "taste").set_index("label")
    assert {"finetune", "ppr-light", "majority", "logreg-profile"} <= set(shown.index)
    assert np.allclose(shown.loc[want.index, "accuracy"], want["accuracy"].round(4))
    assert shown.loc["ppr-light", "accuracy"] > shown.loc["majority", "accuracy"]  # the planted taste


def test_imported_scores_show_as_a_method_with_na_where_they_have_none(sweep_home, tmp_path) -> None:
    """A method whose scores were imported (few-shot only, no full-catalogue ranks) is drawn where it has figures,
    in a colour of its own, and reads n/a elsewhere; no chart breaks on it."""
    home, sid = sweep_home
    store = Store(home)
    like = finetune_cell(store, sid)
    ev = evaluated(store, like)
    tg = targets_frame(ev.split, *original_ids(ev.dataset), None, ev.spec.backbone.max_len)
    write_scores(tmp_path / "s.csv", tg)
    assert add_run(store, sid, import_scores(store, tmp_path / "s.csv", like, "bert4rec").run)
    at = start(PAGE)
    at.selectbox(key="compare_group").set_value("few").run()
    assert not at.exception, at.exception
    fig = _fig(at, "across k-shot")
    line = fig["data"][fig["data"]["label"] == "bert4rec"]
    assert list(line["setting"]) == ["all"] and np.allclose(line["mean"], [1.0])
    scale = next(_colour_scales(fig))
    colour = dict(zip(scale["domain"], scale["range"], strict=True))["bert4rec"]
    assert colour and colour not in METHOD_COLOURS.values()
    assert "bert4rec" in _names(_fig(at, "Difference to finetune"))
    at.selectbox(key="compare_table_k").set_value("all").run()
    paper = at.dataframe[1].value.set_index("method")
    assert paper.loc["bert4rec", "NDCG@10"].startswith("1.0000 [1.0000, 1.0000]*")
    at.selectbox(key="compare_group").set_value("joint").run()
    assert not at.exception, at.exception
    assert "bert4rec" not in _names(_fig(at, "across k-shot"))
    assert set(at.dataframe[1].value.set_index("method").loc["bert4rec"]) == {"n/a"}
    at.radio(key="compare_ranking").set_value("full").run()
    assert not at.exception, at.exception
    assert "bert4rec" not in _names(_fig(at, "across k-shot"))
    at.selectbox(key="compare_who_by").set_value("taste").run()
    assert not at.exception, at.exception


def test_a_sweep_of_one_domain_says_how_to_make_a_cross_domain_one(sweep_home) -> None:
    at = start(PAGE)
    xd = at.tabs[-1]
    assert xd.label == "Cross-domain (Table VII)" and at.tabs[0].label == "Claims"
    assert "--target-domain D" in texts(xd.info) and "**Runs** form" in texts(xd.info)


def test_a_cross_domain_sweep_opens_on_table_vii_with_its_methods_and_verdicts(xd_sweep_home) -> None:
    home, sid = xd_sweep_home
    at = start(PAGE)
    xd = at.tabs[0]
    assert xd.label == "Cross-domain (Table VII)" and at.tabs[1].label == "Claims"
    table, domain = crossdomain_table(sweep_runs(Store(home), sid), "both", warn=None)
    assert domain == "target"
    shown = xd.dataframe[0].value
    assert shown.equals(table_vii(table, "joint", "sampled"))  # the report's table, joint targets by default
    assert list(shown["method"]) == ["finetune", "pop", "pop-profile", "minet", "ppr-full", "sasrec-target"]
    rows = shown.set_index("method")
    assert rows.loc["pop", "reads"] == "target clicks' popularity" and rows.loc["ppr-full", "AUC"].count("[") == 1
    assert (rows.loc["sasrec-target", ["HIT@10", "NDCG@10", "AUC"]] == "n/a").all()  # no score without target clicks
    verdicts = xd.dataframe[1].value.set_index("claim")
    assert set(verdicts.index) == {
        f"ppr-full beats {rival} ({m})" for rival in ("finetune", "minet") for m in ("HIT@10", "NDCG@10", "AUC")
    }
    assert set(verdicts["verdict"]) <= set(VERDICTS)
    behind = verdicts.index[verdicts["verdict"] != "holds"]
    said = texts(xd.warning) if len(behind) else texts(xd.success)
    assert all(f"{claim}: {verdicts.loc[claim, 'verdict']}" in said for claim in behind), said
    fig = _fig(at, "Table VII")
    assert _names(fig) == {"finetune", "pop", "pop-profile", "minet", "ppr-full"}
    auc = table[(table["group"] == "joint") & (table["metric"] == "auc")].set_index("label")
    drawn = fig["data"][fig["data"]["metric"] == "AUC"].set_index("label")
    assert np.allclose(drawn.loc[auc.index, "ci_high"], auc["ci_high"])  # each bar with its 95% interval
    assert "Target domain 'target'" in texts(xd.caption) and "one catalogue cut in two" in texts(xd.caption)

    at.selectbox(key="compare_group").set_value("zero").run()
    assert not at.exception, at.exception
    assert at.tabs[0].dataframe[0].value.equals(table_vii(table, "zero", "sampled"))
