"""Compare: a sweep's methods and popularity baselines across k-shot and noise, with 95% intervals over users,
differences to fine-tuning with adjusted p-values, the paper's table, where each claim holds, ablations; a
cross-domain sweep's Table VII (ppr.report.crossdomain) and a profile attribute predicted from each run."""

import pandas as pd
import streamlit as st

from ppr.errors import InputError
from ppr.jobs.sweep import read_sweep, sweep_backbones, sweep_runs, sweep_stamp
from ppr.report import crossdomain
from ppr.report.claims import claims
from ppr.report.cohorts import HISTORY, MIN_USERS, cohorts_of_runs
from ppr.report.profile_task import of_runs
from ppr.report.results import param_shares
from ppr.report.significance import ALPHA, BASELINE, FULL_METRICS
from ppr.report.tables import (
    GROUP_LABELS,
    METRIC_LABELS,
    NOTES,
    RANKINGS,
    explanation,
    k_order,
    paper_table,
    setting_rows,
    sweep_table,
)
from ppr.runs.folder import readable
from ppr.spec.run import COUNTED
from ui.charts import cohort_bars, difference_bars, method_lines
from ui.downloads import chart_downloads, csv_download
from ui.state import get_store, kept

NO_SWEEP = (
    "No sweeps yet. Start one on the **Runs** page, or from a shell: "
    "`python -m ppr sweep NAME --methods pop,pop-profile,finetune,ppr-light --k-shots 1,5,all --noise 0,0.3 "
    "--seeds 0,1 --background`; its results appear here as cells finish."
)
PROTOCOL = """
- **Who is tested.** Cold users are dealt into folds; each fold is tested once while the others tune and
  validate, so every cold user is a test user exactly once and the figures pool the folds.
- **Targets.** A test user's first click is a zero-shot target (the model knows only the profile); each later
  click is a few-shot target given the clicks before it; joint pools both. One model, tuned once, gives all three.
- **k-shot.** Tuning users keep their first k clicks; a test target keeps at most the k clicks before it.
- **Candidates.** Each target ranks against 99 items the user never clicked in their whole (uncropped) history,
  sampled once and shared by every method; ties count against the positive, half in AUC. "(full)" metrics rank
  the target against the whole catalogue minus the clicks the model saw: sampled metrics can order methods
  differently (Krichene and Rendle, KDD 2020).
- **Uncertainty.** A user counts once (their targets' mean, averaged over seeds). Intervals: 95% bootstrap over
  users. Differences to fine-tuning are tested by user (Wilcoxon signed-rank) and adjusted for the false
  discovery rate across every comparison of this sweep (Benjamini-Hochberg); * = adjusted p < 0.05.
- **Popularity rows.** pop ranks by clicks among what the methods may see; pop-profile conditions that on every
  profile attribute. When they match a method, the method adds nothing beyond popularity on this data.
"""

CROSS_DOMAIN_HOWTO = (
    "This sweep tests one domain. A cross-domain sweep (the paper's Table VII) needs a dataset whose items have two "
    "domains (`python -m ppr data synth NAME --domains 2`, or `python -m ppr data domains NAME --by category "
    "--target VALUES`) and a target domain: chosen on the **Runs** form, or `python -m ppr task crossdomain NAME "
    "--target-domain D` from a shell."
)

TAB_NAMES = [
    "Claims",
    "Across k-shot and noise",
    "vs fine-tuning",
    "Who gains",
    "Table",
    "Ablations",
    "Tuned parameters",
    "Profile prediction",
]
XD_TAB = "Cross-domain (Table VII)"  # first for a cross-domain sweep, last (how to make one) otherwise

store = get_store()
st.title("Compare")


@st.cache_data(show_spinner="Reading the sweep's runs and bootstrapping intervals ...", max_entries=8, ttl=600)
def load(home: str, sid: str, stamp: float):
    skipped: list[str] = []
    runs = readable(sweep_runs(store, sid), skipped.append)
    domain = crossdomain.target_domain(runs)  # None: a sweep of one domain
    return read_sweep(store, sid), sweep_table(runs), param_shares(runs), domain, skipped


@st.cache_data(show_spinner="Predicting the attribute from each run's user vectors ...", max_entries=16, ttl=300)
def profile_prediction(home: str, sid: str, stamp: float, attribute: str, k: str):
    runs = [r for r in readable(sweep_runs(store, sid), lambda line: None) if _cell(r) == (k, 0.0)]
    return of_runs(store, runs, attribute)


def _cell(run) -> tuple[str, float]:
    t = run.spec().tune
    return ("all" if t.k_shot is None else str(t.k_shot), t.noise)


@st.cache_data(show_spinner="Breaking the results down by cohort ...", max_entries=16, ttl=600)
def cohorts(home: str, sid: str, stamp: float, by: str, baseline: str):
    runs = readable(sweep_runs(store, sid), lambda line: None)  # damaged runs are named above already
    return cohorts_of_runs(store, runs, by, RANKINGS["both"], baseline, warn=None)


def sweep_dataset(sweep: dict):
    try:
        return store.open(sweep["dataset"])
    except InputError:
        return None


backbones = sweep_backbones(store)
if not backbones:
    st.info(NO_SWEEP)
    st.stop()
kinds = sorted(set(backbones.values()))
top = st.columns([1, 3])
kind = top[0].selectbox(
    "Backbone",
    kinds,
    key=kept("compare_backbone"),
    disabled=len(kinds) == 1,
    help="the sequence model the sweep's runs warm-train; PPR against fine-tuning on another backbone is the "
    "paper's test that PPR is universal (its Table VI on CL4SRec)",
)
sids = [s for s, k in backbones.items() if k == kind]
sid = top[1].selectbox("Sweep", sids[::-1], key=kept("compare_sweep"))
stamp = sweep_stamp(store, sid)
sweep, table, shares, domain, skipped = load(str(store.home), sid, stamp)
for line in skipped:
    st.warning(line)
c = sweep["counts"]
st.caption(
    f"Dataset **{sweep['dataset']}** · backbone **{kind}** · state **{sweep['state']}** · {c['done']} of {len(sweep['runs'])} runs done, "
    f"{c['failed']} failed."
)
with st.expander("How to read these figures (the protocol)"):
    st.markdown(PROTOCOL)
if table.empty:
    st.info("No finished tuning run in this sweep yet; results appear here as cells finish.")
    st.stop()
st.caption(explanation(table))

metrics = list(dict.fromkeys(table["metric"]))
cols = st.columns(4)
ranking = cols[0].radio(
    "Ranking",
    ["sampled", "full"],
    horizontal=True,
    key=kept("compare_ranking"),
    help="against the 99 sampled negatives, or against the whole catalogue",
)
shown = [m for m in metrics if (m in FULL_METRICS) == (ranking == "full")]
default = "full_ndcg@10" if ranking == "full" else "ndcg@10"
metric = cols[1].selectbox(
    "Metric",
    shown,
    index=shown.index(default) if default in shown else 0,
    format_func=lambda m: METRIC_LABELS.get(m, m),
    key=kept("compare_metric"),
)
groups = [g for g in ("few", "zero", "joint") if g in set(table["group"])]
group = cols[2].selectbox(
    "Target group",
    groups,
    index=groups.index("joint") if "joint" in groups else 0,
    format_func=GROUP_LABELS.get,
    key=kept("compare_group"),
)
has_ablation = (table["ablation"] != "none").any()
show_abl = cols[3].toggle(
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

if domain is None:
    *tabs, tab_xd = st.tabs([*TAB_NAMES, XD_TAB])
else:
    tab_xd, *tabs = st.tabs([XD_TAB, *TAB_NAMES])
tab_claims, tab_lines, tab_rel, tab_who, tab_table, tab_abl, tab_params, tab_profile = tabs

with tab_xd:
    if domain is None:
        st.info(CROSS_DOMAIN_HOWTO)
    else:
        st.caption(crossdomain.explanation(table, domain))
        a, b = st.columns(2)
        xk = a.selectbox("k-shot", ks, index=len(ks) - 1, key=kept("compare_xd_k"))
        xn = b.selectbox("Noise rate", noises, key=kept("compare_xd_noise"))
        shown_rows = table if show_abl else table[table["ablation"] == "none"]
        vii = crossdomain.table_vii(shown_rows, group, ranking, xk, xn)
        st.dataframe(vii, hide_index=True, key="compare_xd_table")
        if not vii["method"].isin(COUNTED).any():
            st.caption(f"Add {' and '.join(COUNTED)} to the sweep for the popularity rows.")
        verdicts = crossdomain.ppr_verdicts(shown_rows, group, ranking, xk, xn)
        behind = verdicts[verdicts["verdict"] != "holds"]
        if verdicts.empty:
            st.info(f"No PPR run beside {' or '.join(crossdomain.RIVALS)} in this cell: nothing to weigh PPR against.")
        else:
            if behind.empty:
                st.success("PPR beats every rival below on every metric (significantly, or 95% intervals apart).")
            else:
                st.warning(
                    "PPR is not shown to beat its rivals here: "
                    + "; ".join(f"{c}: {v}" for c, v in zip(behind["claim"], behind["verdict"], strict=True))
                    + "."
                )
            st.dataframe(verdicts, hide_index=True, key="compare_xd_verdicts", width="stretch")
        fig = difference_bars(
            crossdomain.block(shown_rows, group, ranking, xk, xn),
            "mean",
            "ci_low",
            "ci_high",
            f"Table VII, {gname} test targets in domain {domain!r}; * = adjusted p < {ALPHA} against {BASELINE}",
            facet="metric",
        )
        st.altair_chart(fig, key="compare_fig_xd")
        chart_downloads(fig, f"{sid}-table-vii-{group}-{ranking}", "dl_fig_xd")
        note = crossdomain.derived_note(store, sweep["dataset"])
        st.caption(" ".join([*crossdomain.NOTES, *([note] if note else [])]))
        csv_download(vii, "Download Table VII (CSV)", f"{sid}-table-vii", "dl_xd")

with tab_claims:
    found = pd.DataFrame([vars(c) for c in claims(table, metric)])
    st.caption(
        f"For {mname}. holds / does not hold: significant after the false-discovery correction, or 95% "
        "intervals apart; inconclusive: the data cannot tell; not tested: this sweep lacks the runs."
    )
    st.dataframe(found, hide_index=True, key="compare_claims", width="stretch")

with tab_lines:
    left, right = st.columns(2)
    with left:
        noise = st.selectbox("Noise rate", noises, key=kept("compare_noise_for_k")) if len(noises) > 1 else noises[0]
        fig = method_lines(main[main["noise"] == noise], "k", f"{mname} ({gname}) across k-shot, noise {noise:g}")
        st.altair_chart(fig, key="compare_fig_k")
        chart_downloads(fig, f"{sid}-{metric}-{group}-k", "dl_fig_k")
    with right:
        k = st.selectbox("k-shot", ks, index=len(ks) - 1, key=kept("compare_k_for_noise")) if len(ks) > 1 else ks[0]
        fig = method_lines(
            main[main["k"] == k].sort_values("noise"), "noise", f"{mname} ({gname}) across noise rate, k {k}"
        )
        st.altair_chart(fig, key="compare_fig_noise")
        chart_downloads(fig, f"{sid}-{metric}-{group}-noise", "dl_fig_noise")

with tab_rel:
    rel = main[(main["label"] != BASELINE) & main["diff"].notna()]
    if rel.empty:
        st.info(f"No {BASELINE} runs in this sweep (or none that share users): nothing to compare against.")
    else:
        fig = difference_bars(
            rel,
            "diff",
            "diff_low",
            "diff_high",
            f"Difference to {BASELINE}, {mname} ({gname}); * = adjusted p < {ALPHA}",
        )
        st.altair_chart(fig, key="compare_fig_rel")
        chart_downloads(fig, f"{sid}-{metric}-{group}-difference", "dl_fig_rel")

with tab_who:
    ds = sweep_dataset(sweep)
    names = [a["name"] for a in ds.attributes] if ds is not None else []
    a, b, c, d = st.columns(4)
    by = a.selectbox(
        "Break down by",
        [HISTORY, *names],
        format_func=lambda x: "clicks the model read" if x == HISTORY else x,
        key=kept("compare_who_by"),
    )
    bases = [x for x in (BASELINE, "pop", "pop-profile") if x in set(table["label"])]
    baseline = b.selectbox("Difference to", bases, key=kept("compare_who_baseline"))
    wk = c.selectbox("k-shot", ks, index=len(ks) - 1, key=kept("compare_who_k"))
    wn = d.selectbox("Noise rate", noises, key=kept("compare_who_noise"))
    who = cohorts(str(store.home), sid, stamp, by, baseline)
    part = setting_rows(who, wk, wn)
    part = part[part["metric"] == metric]
    part = part[part["label"].isin(main["label"]) & part["diff"].notna()]
    if part.empty:
        st.info(f"No runs of this cell to compare with {baseline}.")
    else:
        what = "clicks the model read before the target" if by == HISTORY else f"the user's {by} (before any noise)"
        fig = cohort_bars(
            part,
            f"Difference to {baseline}, {mname}, by {what}; k={wk}, noise {wn:g}; * = adjusted p < {ALPHA}",
            MIN_USERS,
        )
        st.altair_chart(fig, key="compare_fig_who")
        chart_downloads(fig, f"{sid}-who-gains-{by}-vs-{baseline}-{metric}", "dl_fig_who")
        st.caption(
            f"A cohort of fewer than {MIN_USERS} users is pale: its interval is wide and says little either way. "
            + (
                "0 clicks are zero-shot targets (methods reading clicks only are absent there); the others few-shot."
                if by == HISTORY
                else "Each user counts once in their cohort, over all their test targets."
            )
            + " p: Wilcoxon by user, adjusted across every cohort, method and metric of this breakdown."
        )
        csv_download(who, "Download this breakdown (CSV)", f"{sid}-who-gains-{by}-vs-{baseline}", "dl_who")

with tab_table:
    a, b, cc = st.columns(3)
    tk = a.selectbox("k-shot", ks, index=len(ks) - 1, key=kept("compare_table_k"))
    tn = b.selectbox("Noise rate", noises, key=kept("compare_table_noise"))
    alpha = cc.select_slider("Significance level", [0.01, 0.05, 0.1], value=ALPHA, key=kept("compare_alpha"))
    paper = paper_table(table if show_abl else table[table["ablation"] == "none"], tk, tn, group, alpha, shown)
    st.caption(
        f"{gname} test targets: mean [95% interval over users]; * = Benjamini-Hochberg adjusted p < {alpha} "
        f"against {BASELINE} (Wilcoxon signed-rank over users)."
    )
    st.dataframe(paper, hide_index=True, key="compare_paper_table")
    st.caption(" ".join(NOTES))
    csv_download(paper, "Download table (CSV)", f"{sid}-table", "dl_table")
    csv_download(table, "Download all rows (CSV)", f"{sid}-all", "dl_all")

with tab_abl:
    if not has_ablation:
        st.info(
            "This sweep has no ablation cells. Add `--ablations none,no-cl,no-prompt-aug,no-behavior-aug` "
            "to a sweep of PPR methods to compare with and without CL / each augmentation."
        )
    else:
        abl = sel[sel["method"].isin(["ppr-light", "ppr-full"])]
        fig = difference_bars(abl, "mean", "ci_low", "ci_high", f"Ablations: {mname} ({gname})", facet="method")
        st.altair_chart(fig, key="compare_fig_ablation")
        chart_downloads(fig, f"{sid}-{metric}-{group}-ablation", "dl_fig_abl")

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
        csv_download(shares, "Download (CSV)", f"{sid}-params", "dl_params")

with tab_profile:
    st.caption(
        "Can a cold user's clicks tell an attribute they did not give (the paper's Table VIII)? The attribute is "
        "set to missing for everyone; a logistic regression on each run's user vectors learns it from the tuning "
        "and validation users of each fold and predicts the test users. Beside the methods: the majority class "
        "and a logistic regression on the other attributes. Mean [95% interval over users]; accuracy against "
        "fine-tuning, Benjamini-Hochberg adjusted. Runs at noise 0 of the chosen k-shot."
    )
    ds = sweep_dataset(sweep)
    names = [a["name"] for a in ds.attributes] if ds is not None else []
    if not names:
        st.info("This sweep's dataset has no profile attributes to predict.")
    else:
        a, b, c = st.columns([2, 1, 1])
        attribute = a.selectbox("Attribute", names, key=kept("compare_profile_attribute"))
        pk = b.selectbox("k-shot", ks, index=len(ks) - 1, key=kept("compare_profile_k"))
        if c.toggle("Predict", key=kept("compare_profile_on"), help="loads each run's model: seconds per run"):
            try:
                result = profile_prediction(str(store.home), sid, stamp, attribute, pk)
            except InputError as exc:
                st.info(str(exc))
            else:
                st.dataframe(result.round(4), hide_index=True, key="compare_profile_table")
                csv_download(result, "Download (CSV)", f"{sid}-profile-{attribute}", "dl_profile")
