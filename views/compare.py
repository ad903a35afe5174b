"""Compare: a sweep's methods across k-shot and noise (mean ± std over seeds), vs fine-tuning, tables, ablations."""

import streamlit as st

from ppr.jobs.sweep import list_sweeps, read_sweep, sweep_runs, sweeps_dir
from ppr.report.results import param_shares
from ppr.report.significance import BASELINE
from ppr.report.tables import GROUP_LABELS, METRIC_LABELS, k_order, paper_table, sweep_table
from ui.downloads import figure_download
from ui.plots import grouped_bars, method_lines
from ui.state import get_store, kept

NO_SWEEP = (
    "No sweeps yet. Start one on the **Runs** page, or from a shell: "
    "`python -m ppr sweep NAME --methods finetune,ppr-light --k-shots 1,5,all --noise 0,0.3 --seeds 0,1 "
    "--background`; its results appear here as cells finish."
)

store = get_store()
st.title("Compare")


@st.cache_data(show_spinner="Reading the sweep's runs ...", max_entries=8, ttl=30)
def load(home: str, sid: str, stamp: float):
    runs = sweep_runs(store, sid)
    return read_sweep(store, sid), sweep_table(runs), param_shares(runs)


sids = list_sweeps(store)
if not sids:
    st.info(NO_SWEEP)
    st.stop()

sid = st.selectbox("Sweep", sids[::-1], key=kept("compare_sweep"))
sweep, table, shares = load(str(store.home), sid, (sweeps_dir(store) / sid / "sweep.json").stat().st_mtime)
c = sweep["counts"]
st.caption(
    f"Dataset **{sweep['dataset']}** · state **{sweep['state']}** · {c['done']} of {len(sweep['runs'])} runs "
    f"done, {c['failed']} failed. Test targets; mean ± std over seeds."
)
if table.empty:
    st.info("No finished tuning run in this sweep yet; results appear here as cells finish.")
    st.stop()

metrics = list(dict.fromkeys(table["metric"]))
cols = st.columns(3)
metric = cols[0].selectbox(
    "Metric",
    metrics,
    index=metrics.index("ndcg@10") if "ndcg@10" in metrics else 0,
    format_func=lambda m: METRIC_LABELS.get(m, m),
    key=kept("compare_metric"),
)
groups = [g for g in ("few", "zero", "joint") if g in set(table["group"])]
group = cols[1].selectbox(
    "Target group",
    groups,
    index=groups.index("joint") if "joint" in groups else 0,
    format_func=GROUP_LABELS.get,
    key=kept("compare_group"),
)
has_ablation = (table["ablation"] != "none").any()
show_abl = cols[2].toggle(
    "Show ablations",
    value=False,
    disabled=not has_ablation,
    key=kept("compare_ablations"),
    help="Include variants without CL or without one augmentation.",
)

sel = table[(table["metric"] == metric) & (table["group"] == group)]
main = sel if show_abl else sel[sel["ablation"] == "none"]
mname, gname = METRIC_LABELS.get(metric, metric), GROUP_LABELS[group]
ks = sorted(table["k"].unique(), key=k_order)
noises = sorted(table["noise"].unique())

tab_lines, tab_rel, tab_table, tab_abl, tab_params = st.tabs(
    ["Across k-shot and noise", "vs fine-tuning", "Table", "Ablations", "Tuned parameters"]
)

with tab_lines:
    left, right = st.columns(2)
    with left:
        noise = st.selectbox("Noise rate", noises, key=kept("compare_noise_for_k")) if len(noises) > 1 else noises[0]
        fig = method_lines(main[main["noise"] == noise], "k", f"{mname} ({gname}) across k-shot, noise {noise:g}")
        st.plotly_chart(fig, key="compare_fig_k")
        figure_download(fig, f"{sid}-{metric}-{group}-k", "dl_fig_k")
    with right:
        k = st.selectbox("k-shot", ks, index=len(ks) - 1, key=kept("compare_k_for_noise")) if len(ks) > 1 else ks[0]
        fig = method_lines(
            main[main["k"] == k].sort_values("noise"), "noise", f"{mname} ({gname}) across noise rate, k {k}"
        )
        st.plotly_chart(fig, key="compare_fig_noise")
        figure_download(fig, f"{sid}-{metric}-{group}-noise", "dl_fig_noise")

with tab_rel:
    rel = main[main["label"] != BASELINE]
    if rel.empty or (sel["label"] != BASELINE).all():
        st.info(f"No {BASELINE} runs in this sweep: nothing to compare against.")
    else:
        fig = grouped_bars(
            rel.assign(**{"improvement %": 100 * rel["rel_vs_finetune"]}),
            "improvement %",
            f"Relative improvement over {BASELINE}, {mname} ({gname})",
        )
        st.plotly_chart(fig, key="compare_fig_rel")
        figure_download(fig, f"{sid}-{metric}-{group}-relative", "dl_fig_rel")

with tab_table:
    a, b, cc = st.columns(3)
    tk = a.selectbox("k-shot", ks, key=kept("compare_table_k"))
    tn = b.selectbox("Noise rate", noises, key=kept("compare_table_noise"))
    alpha = cc.select_slider("Significance level", [0.01, 0.05, 0.1], value=0.05, key=kept("compare_alpha"))
    paper = paper_table(table if show_abl else table[table["ablation"] == "none"], tk, tn, group, alpha)
    st.caption(f"{gname} test targets, mean ± std over seeds; * = paired t-test vs {BASELINE}, p < {alpha}.")
    st.dataframe(paper, hide_index=True, key="compare_paper_table")
    st.download_button(
        "Download table (CSV)", paper.to_csv(index=False), file_name=f"{sid}-table.csv", mime="text/csv", key="dl_table"
    )
    st.download_button(
        "Download all rows (CSV)", table.to_csv(index=False), file_name=f"{sid}-all.csv", mime="text/csv", key="dl_all"
    )

with tab_abl:
    if not has_ablation:
        st.info(
            "This sweep has no ablation cells. Add `--ablations none,no-cl,no-prompt-aug,no-behavior-aug` "
            "to a sweep of PPR methods to compare with and without CL / each augmentation."
        )
    else:
        fig = grouped_bars(
            sel[sel["method"] != BASELINE], "mean", f"Ablations: {mname} ({gname})", error="std", facet="method"
        )
        st.plotly_chart(fig, key="compare_fig_ablation")
        figure_download(fig, f"{sid}-{metric}-{group}-ablation", "dl_fig_abl")

with tab_params:
    if shares.empty:
        st.info("No parameter counts recorded for this sweep's runs.")
    else:
        st.dataframe(
            shares,
            hide_index=True,
            key="compare_params",
            column_config={"share of fine-tuning": st.column_config.NumberColumn(format="%.4f")},
        )
        st.download_button(
            "Download (CSV)",
            shares.to_csv(index=False),
            file_name=f"{sid}-params.csv",
            mime="text/csv",
            key="dl_params",
        )
