"""App speed: UMAP time on this CPU, and time to a full render of each workbench page in a real browser.

    python bench/app_speed.py                      # both parts; JSON to bench/out/app_speed.json
    python bench/app_speed.py --skip-umap --warm-loads 5
    python bench/app_speed.py --sizes 1000,5000 --skip-pages --out /tmp/a.json
    python bench/app_speed.py --skip-umap --big    # also every page with a 10M-interaction dataset active

UMAP: synthetic clustered 64-d vectors (seeded), ppr.report.projection.project as the app and
run worker call it (seeded, so single-threaded). The process's first call pays umap's import and
numba's load of the compiled functions (the first process ever also compiles them); it is timed
apart, on a small input, so each size's figure is the fit alone. Target: 5k users under 15 s.

Pages: `streamlit run app.py` with PPR_HOME in a temp dir holding the sample dataset and one
finished tiny sweep on it (3 methods x k 2,all x seeds 0,1, 1-layer backbone, 2 epochs; built
by `python -m ppr sweep` first and timed as setup), Debian's Chromium via Playwright. Per page:
- cold: a fresh server and browser context (nothing cached on either side), the page's URL;
- new tab: --warm-loads more loads of the URL in new tabs of that context (new Streamlit
  sessions, server caches and browser HTTP cache warm; each pays Streamlit's frontend boot);
- in app: one tab on one more server, clicking the sidebar links round all pages (so every click
  is a page switch, among them chart page -> chart page); a first round warms the caches, then
  --warm-loads rounds are timed, from the click.
A load ends when the page's readiness predicate holds (PAGES below): the script run settled, no
stale element of the previous page left, the page's own heading shown, and its charts and
tables drawn. Targets, once warm: under 2 s in app and under 3 s in a new tab (medians). A one-line
Streamlit app and one-chart Plotly and Altair apps are timed the same way first (cold and new tab), as
the floors this machine (and its load, printed) sets: every new tab boots Streamlit's frontend and loads
the chart library again. So are 20k points in one scatter drawn by Plotly (WebGL) and by Altair: the
Prompt explorer's choice of library.

--big: the same pages again with bench/ingest.py's dataset (10M interactions, 100k users and items)
the store's only one, and a finished sweep on it (one warm epoch, tuning cells scored untrained: the
pages are measured, not the model), printed beside the small-data figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from _browser import NO_CHROMIUM, chromium, chromium_path, running_app
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from ppr.io import atomic_write_json


def ready(heading: str, charts: int = 0, tables: int = 0, vega: int = 0) -> str:
    """JS predicate: run settled, nothing stale, h1 starts with `heading`, >= charts (Plotly), vega (Altair) and
    tables shown and all drawn.

    Settled + no stale element + the new heading cannot be met by the page a click leaves, so
    no separate wait for the rerun is needed. Only shown elements count: charts in other tabs and
    tables in closed expanders are not drawn until opened.
    """
    return """() => {
  const app = document.querySelector("[data-testid='stApp']");
  if (!app || app.getAttribute("data-test-script-state") !== "notRunning") return false;
  if (document.querySelector("[data-testid='stElementContainer'][data-stale='true']")) return false;
  const h1 = document.querySelector("[data-testid='stHeading'] h1");
  if (!h1 || !h1.textContent.trim().startsWith(%s)) return false;
  const shown = sel => [...document.querySelectorAll(sel)]
    .filter(e => e.getClientRects().length > 0 && !e.closest("details:not([open])"));
  const charts = shown("[data-testid='stPlotlyChart']"), tables = shown("[data-testid='stDataFrame']");
  const vega = shown("[data-testid='stVegaLiteChart']");
  return charts.length >= %d && tables.length >= %d && vega.length >= %d
    && charts.every(c => c.querySelector(".main-svg")) && tables.every(t => t.querySelector("canvas"))
    && vega.every(v => v.querySelector("canvas, svg"));
}""" % (json.dumps(heading), charts, tables, vega)  # noqa: UP031 (JavaScript braces)


# (sidebar link name, URL path ({sweep}: the bench's sweep id), readiness predicate). A new page: add a row;
# its predicate should wait for its slowest element. Compare and Prompt explorer open on their default choice (the
# store's one sweep; a tuned run of it). In-app clicks drop ?sweep=, so there Runs lists all runs (same widgets).
PAGES: list[tuple[str, str, str]] = [
    ("Home", "/", ready("PPR Workbench", tables=1)),
    ("Data", "/data", ready("Data", vega=3)),  # activity, split roles, attributes (Altair)
    ("Runs", "/runs?sweep={sweep}", ready("Runs", vega=1, tables=2)),  # run list, final metrics; loss curve (Altair)
    ("Compare", "/compare", ready("Compare", tables=1)),  # the claims table (the first tab)
    ("Prompt explorer", "/prompts", ready("Prompt explorer", tables=3, vega=1)),  # scatter (Altair), one user's tables
    ("Try a user", "/try_user", ready("Try a user", tables=3)),  # top-10 of finetune, ppr-light, ppr-full
]
# For scale: Streamlit + Chromium alone, the same plus one tiny chart of each library (the library's own load), and
# the Prompt explorer's choice: 20k users in one scatter drawn by Plotly (WebGL) or by Altair (Vega, canvas).
_POINTS = (
    "import numpy as np\nimport pandas as pd\nimport streamlit as st\n\n"
    "rng = np.random.default_rng(0)\n"
    "df = pd.DataFrame(rng.normal(size=(20000, 2)), columns=['x', 'y']).assign(c=rng.integers(0, 8, 20000).astype(str))\n"
    'st.title("Baseline")\n'
)
BASELINES = [
    ("(baseline: a one-line Streamlit app)", 'import streamlit as st\n\nst.title("Baseline")\n', ready("Baseline")),
    (
        "(baseline: one tiny Plotly chart)",
        "import plotly.express as px\nimport streamlit as st\n\n"
        'st.title("Baseline")\nst.plotly_chart(px.bar(x=[1, 2, 3], y=[3, 1, 2]))\n',
        ready("Baseline", charts=1),
    ),
    (
        "(baseline: one tiny Altair chart)",
        "import altair as alt\nimport pandas as pd\nimport streamlit as st\n\n"
        'st.title("Baseline")\n'
        "st.altair_chart(alt.Chart(pd.DataFrame({'x': [1, 2, 3], 'y': [3, 1, 2]})).mark_bar().encode(x='x:O', y='y'))\n",
        ready("Baseline", vega=1),
    ),
    (
        "(scatter of 20k points: Plotly WebGL)",
        _POINTS + "import plotly.express as px\n"
        "st.plotly_chart(px.scatter(df, x='x', y='y', color='c', render_mode='webgl'))\n",
        ready("Baseline", charts=1),
    ),
    (
        "(scatter of 20k points: Altair)",
        _POINTS + "import altair as alt\n"
        "alt.data_transformers.disable_max_rows()\n"
        "st.altair_chart(alt.Chart(df).mark_circle(size=12).encode(x='x', y='y', color='c'))\n",
        ready("Baseline", vega=1),
    ),
]
SWEEP = (  # a tiny sweep (tiny backbone, 2 epochs) so the Compare and Prompt explorer pages have data
    "--methods finetune,ppr-light,ppr-full --k-shots 2,all --noise 0 --seeds 0,1 --max-len 10 --d 16 --layers 1 "
    "--d-ff 32 --warm-epochs 2 --warm-lr 1e-2 --epochs 2 --batch-size 32"
).split()
BIG_INGEST = ["--users", "100000", "--items", "100000", "--interactions", "10000000"]  # bench/ingest.py's default
BIG_SWEEP = (  # a finished sweep on the big dataset, as cheap as possible: the pages are measured, not the model
    "--methods finetune,ppr-light,ppr-full --k-shots all --noise 0 --seeds 0 --folds 2 --max-len 10 --d 16 "
    "--layers 1 --d-ff 32 --warm-epochs 1 --warm-loss bpr --epochs 0"
).split()
TARGETS = {
    "umap_5000_s": 15.0,
    "page_warm_s": 2.0,
    "page_new_tab_s": 3.0,
    "page_warm_metric": "in_app.median_s (median time from a sidebar click to the page drawn, caches warm) under "
    "page_warm_s and new_tab.median_s (a new tab of a warm server) under page_new_tab_s",
}
TIMEOUT_MS = 120_000


def clustered_vectors(n: int, dim: int = 64, n_clusters: int = 10, seed: int = 0):
    """Gaussian blobs around random centres, like users grouped by profile."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(n_clusters, dim))
    return (centres[rng.integers(0, n_clusters, size=n)] + rng.normal(size=(n, dim))).astype(np.float32)


def bench_umap(sizes: list[int], dim: int, seed: int) -> dict[str, Any]:
    from ppr.report.projection import project

    t0 = time.perf_counter()
    project(clustered_vectors(300, dim, seed=seed), "umap", seed=seed)
    out: dict[str, Any] = {"dim": dim, "first_call_overhead_s": round(time.perf_counter() - t0, 2), "sizes": {}}
    print(
        f"UMAP first call in this process (import + numba load/compile, 300 points): "
        f"{out['first_call_overhead_s']:.2f} s"
    )
    for n in sizes:
        x = clustered_vectors(n, dim, seed=seed)
        t0 = time.perf_counter()
        project(x, "pca")
        pca_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        project(x, "umap", seed=seed)
        umap_s = time.perf_counter() - t0
        out["sizes"][str(n)] = {"umap_s": round(umap_s, 2), "pca_s": round(pca_s, 3)}
        print(f"UMAP {n:>6,} x {dim}: {umap_s:7.2f} s   (PCA {pca_s:.3f} s)")
    if "5000" in out["sizes"]:
        out["target_met"] = out["sizes"]["5000"]["umap_s"] < TARGETS["umap_5000_s"]
    return out


def build_sweep(home: Path) -> tuple[str, float]:
    """The sample dataset and a tiny finished sweep on it, via the CLI; returns (sweep id, seconds)."""
    from ppr.data.sample import ensure_sample
    from ppr.data.store import Store

    t0 = time.perf_counter()
    ensure_sample(Store(home))  # imported here: the cold loads below measure rendering, not the import
    return _sweep(home, "sample", SWEEP), time.perf_counter() - t0


def build_big(home: Path) -> tuple[str, float]:
    """bench/ingest.py's 10M-interaction dataset (100k users, 100k items) as the store's only dataset, and a finished
    sweep on it (one warm epoch, untrained tuning cells); returns (sweep id, seconds)."""
    t0 = time.perf_counter()
    _cli(
        [
            sys.executable,
            str(ROOT / "bench" / "ingest.py"),
            "--home",
            str(home),
            "--keep",
            *BIG_INGEST,
            "--out",
            str(home.parent / "ingest.json"),
        ]
    )
    return _sweep(home, "bench", BIG_SWEEP), time.perf_counter() - t0


def _sweep(home: Path, dataset: str, grid: list[str]) -> str:
    out = _cli([sys.executable, "-m", "ppr", "--home", str(home), "sweep", dataset, *grid])
    return out.strip().splitlines()[-1]


def _cli(cmd: list[str]) -> str:
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(
            f"the bench's setup failed ({done.returncode}): {' '.join(cmd)}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    return done.stdout


def bench_pages(
    warm_loads: int, workdir: Path, build=build_sweep, baselines: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per page: cold, new-tab and in-app figures and whether the target is met; and the setup (sweep, seconds)."""
    home = workdir / "home"
    sid, setup_s = build(home)
    print(f"setup (not a page figure): datasets + sweep {sid} built in {setup_s:.1f} s", flush=True)
    setup = {"sweep": sid, "seconds": round(setup_s, 1), "grid": " ".join(SWEEP if build is build_sweep else BIG_SWEEP)}
    scripts = []
    for i, (name, text, pred) in enumerate(BASELINES if baselines else []):
        (workdir / f"baseline{i}.py").write_text(text)
        scripts.append((name, workdir / f"baseline{i}.py", "/", pred))
    pages = [(name, path.format(sweep=sid), pred) for name, path, pred in PAGES]
    results: dict[str, Any] = {}
    log = workdir / "streamlit.log"
    with chromium() as browser:
        for name, script, path, pred in [*scripts, *((n, ROOT / "app.py", p, r) for n, p, r in pages)]:
            with running_app(home, log, script=script) as app:
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                loads = [_new_tab(context, app.url + path, pred) for _ in range(1 + warm_loads)]
                context.close()
            results[name] = {"path": path, "cold": loads[0], "new_tab": _summary(loads[1:])}
            print(f"  {name:<38} cold {_seconds(loads[0])}", flush=True)
        with running_app(home, log) as app:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            for name, clicks in _in_app(context, app.url + pages[0][1], pages, warm_loads).items():
                results[name]["in_app"] = _summary(clicks)
            context.close()
    for name, _, _ in pages:
        r = results[name]
        app, tab = r["in_app"]["median_s"], r["new_tab"]["median_s"]
        met = None if app is None or tab is None else app < TARGETS["page_warm_s"] and tab < TARGETS["page_new_tab_s"]
        r["target_met"] = False if r["in_app"]["timeouts"] or r["new_tab"]["timeouts"] else met
    _print_table(results, [*(n for n, _, _ in BASELINES if baselines), *(n for n, _, _ in pages)])
    return results, setup


def _new_tab(context, url: str, pred: str) -> float | None:
    """Seconds from opening `url` in a new tab to `pred` holding; None past TIMEOUT_MS."""
    page = context.new_page()
    t0 = time.perf_counter()
    try:
        page.goto(url, timeout=TIMEOUT_MS)
        page.wait_for_function(pred, timeout=TIMEOUT_MS)
    except PlaywrightTimeout:
        return None
    finally:
        seconds = time.perf_counter() - t0
        page.close()
    return round(seconds, 2)


def _in_app(
    context,
    start_url: str,
    pages: list[tuple[str, str, str]],
    rounds: int,
) -> dict[str, list[float]]:
    """One tab; click each page's sidebar link in turn, 1 + `rounds` times round; the first round is warm-up."""
    page = context.new_page()
    page.goto(start_url, timeout=TIMEOUT_MS)
    page.wait_for_function(pages[0][2], timeout=TIMEOUT_MS)
    order = pages[1:] + pages[:1]  # starts on the first page: every click switches page
    clicks: dict[str, list[float]] = {name: [] for name, _, _ in pages}
    for r in range(1 + rounds):
        for name, _, pred in order:
            link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=name, exact=True)
            t0 = time.perf_counter()
            link.click()
            try:
                page.wait_for_function(pred, timeout=TIMEOUT_MS)
                seconds: float | None = round(time.perf_counter() - t0, 2)
            except PlaywrightTimeout:  # recorded as None; the next click moves on
                seconds = None
            if r:
                clicks[name].append(seconds)
    page.close()
    return clicks


def _summary(times: list[float | None]) -> dict[str, Any]:
    """Median and max of the loads that finished; a load past TIMEOUT_MS counts as None and fails the target."""
    done = [t for t in times if t is not None]
    return {
        "loads_s": times,
        "timeouts": len(times) - len(done),
        "median_s": round(statistics.median(done), 2) if done and len(done) == len(times) else None,
        "max_s": round(max(done), 2) if done else None,
    }


def _seconds(t: float | None) -> str:
    return f"{t:6.2f} s" if t is not None else f"over {TIMEOUT_MS // 1000} s"


def _cell(summary: dict[str, Any]) -> str:
    if summary.get("timeouts"):
        return f"{summary['timeouts']} over {TIMEOUT_MS // 1000} s"
    return f"{summary['median_s']:5.2f} / {summary['max_s']:5.2f}" if summary.get("median_s") is not None else "-"


def _print_table(results: dict[str, Any], names: list[str]) -> None:
    print(
        f"\n{'page':<38} {'cold s':>7}   new tab med/max s   in app med/max s   "
        f"target: in app < {TARGETS['page_warm_s']:g} s, new tab < {TARGETS['page_new_tab_s']:g} s"
    )
    for name in names:
        r = results[name]
        met = {True: "met", False: "NOT met"}.get(r.get("target_met"), "-")
        print(
            f"{name:<38} {_seconds(r['cold']):>9}   {_cell(r['new_tab']):>17}   {_cell(r.get('in_app', {})):>16}   {met}"
        )


def _print_side_by_side(small: dict[str, Any], big: dict[str, Any]) -> None:
    print(f"\n{'page':<22} {'new tab small / big (median s)':>32}   {'in app small / big (median s)':>31}")
    for name, _, _ in PAGES:
        s, b = small[name], big[name]
        tab = f"{s['new_tab']['median_s']} / {b['new_tab']['median_s']}"
        app = f"{s['in_app']['median_s']} / {b['in_app']['median_s']}"
        print(f"{name:<22} {tab:>32}   {app:>31}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="1000,5000,20000", help="UMAP sizes (users), comma-separated")
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--warm-loads", type=int, default=3, help="new-tab loads and in-app clicks per page, after warm-up")
    p.add_argument("--skip-umap", action="store_true")
    p.add_argument("--skip-pages", action="store_true")
    p.add_argument(
        "--big",
        action="store_true",
        help="also time every page with bench/ingest.py's 10M-interaction dataset active and a finished sweep on it "
        "(its setup takes minutes)",
    )
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "app_speed.json")
    a = p.parse_args(argv)

    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        },
        "targets": TARGETS,
    }
    if not a.skip_umap:
        report["umap"] = bench_umap([int(s) for s in a.sizes.split(",")], a.dim, a.seed)
    if not a.skip_pages:
        if chromium_path() is None:
            print(f"Pages skipped: {NO_CHROMIUM}")
            report["pages"] = {"skipped": NO_CHROMIUM}
        else:
            with tempfile.TemporaryDirectory(prefix="ppr-app-speed-") as tmp:
                report["pages"], report["pages_setup"] = bench_pages(a.warm_loads, Path(tmp))
            atomic_write_json(a.out, report)  # kept if the --big part fails
            if a.big:
                print("\nThe same pages with a 10M-interaction dataset active:", flush=True)
                with tempfile.TemporaryDirectory(prefix="ppr-app-speed-big-") as tmp:
                    report["pages_big"], report["pages_big_setup"] = bench_pages(
                        a.warm_loads, Path(tmp), build_big, baselines=False
                    )
                _print_side_by_side(report["pages"], report["pages_big"])
    report["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(
        f"load average (1/5/15 min) at start {report['machine']['loadavg_start']}, "
        f"end {report['machine']['loadavg_end']} on {os.cpu_count()} CPUs"
    )
    atomic_write_json(a.out, report)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
