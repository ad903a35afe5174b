"""App speed: UMAP time on this CPU, and time to first full render of each workbench page in a real browser.

    python bench/app_speed.py                      # both parts; JSON to bench/out/app_speed.json
    python bench/app_speed.py --skip-umap --warm-loads 5
    python bench/app_speed.py --sizes 1000,5000 --skip-pages --out /tmp/a.json

UMAP: synthetic clustered 64-d vectors (seeded), ppr.embed.projection.project as the app and
run worker call it (seeded, so single-threaded). The process's first call pays umap's import and
numba's load of the compiled functions (the first process ever also compiles them); it is timed
apart, on a small input, so each size's figure is the fit alone. Target: 5k users under 15 s.

Pages: `streamlit run app.py` with PPR_HOME in a temp dir holding the sample dataset, Debian's
Chromium via Playwright. For each page: a fresh server and browser context ("cold": nothing cached
on either side), then --warm-loads more loads in new tabs of the same context (new Streamlit
sessions; server caches and browser HTTP cache warm). A load ends when the script run settled and
the page's own content is drawn (PAGES below). Target: under 2 s once warm. A one-line Streamlit
app is timed the same way first, as the floor this machine (and its load, printed) sets.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from ppr.io import atomic_write_json  # noqa: E402
from _browser import CHARTS_DRAWN, NO_CHROMIUM, chromium, chromium_path, running_app, wait_rendered  # noqa: E402

# (name, URL path, JS predicate that is true once the page's own content is drawn, or None).
# A new page: add a row; its predicate should wait for its slowest element (charts, tables).
TABLE_DRAWN = "() => !!document.querySelector(\"[data-testid='stDataFrame'] canvas\")"
PAGES: list[tuple[str, str, str | None]] = [
    ("Home", "/", TABLE_DRAWN),
    ("Data", "/data", CHARTS_DRAWN),
]
BASELINE = 'import streamlit as st\n\nst.title("Baseline")\n'  # Streamlit + Chromium alone, for scale
TARGETS = {"umap_5000_s": 15.0, "page_warm_s": 2.0}
TIMEOUT_MS = 120_000


def clustered_vectors(n: int, dim: int = 64, n_clusters: int = 10, seed: int = 0):  # noqa: ANN201 (ndarray)
    """Gaussian blobs around random centres, like users grouped by profile."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(n_clusters, dim))
    return (centres[rng.integers(0, n_clusters, size=n)] + rng.normal(size=(n, dim))).astype(np.float32)


def bench_umap(sizes: list[int], dim: int, seed: int) -> dict[str, Any]:
    from ppr.embed.projection import project

    t0 = time.perf_counter()
    project(clustered_vectors(300, dim, seed=seed), "umap", seed=seed)
    out: dict[str, Any] = {"dim": dim, "first_call_overhead_s": round(time.perf_counter() - t0, 2), "sizes": {}}
    print(f"UMAP first call in this process (import + numba load/compile, 300 points): "
          f"{out['first_call_overhead_s']:.2f} s")
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
    return out


def bench_pages(warm_loads: int, workdir: Path) -> dict[str, Any]:
    from ppr.data.sample import ensure_sample
    from ppr.data.store import Store

    home = workdir / "home"
    ensure_sample(Store(home))  # imported once here: the cold loads below measure rendering, not the import
    baseline = workdir / "baseline.py"
    baseline.write_text(BASELINE)
    rows = [("(baseline: a one-line Streamlit app)", baseline, "/", None)]
    rows += [(name, ROOT / "app.py", path, ready) for name, path, ready in PAGES]
    results: dict[str, Any] = {}
    with chromium() as browser:
        for name, script, path, ready in rows:
            with running_app(home, workdir / "streamlit.log", script=script) as app:
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                loads = [_load(context, app.url + path, ready) for _ in range(1 + warm_loads)]
                context.close()
            warm = [t["full_s"] for t in loads[1:]]
            results[name] = {"path": path, "cold": loads[0], "warm": loads[1:],
                             "warm_median_s": round(statistics.median(warm), 2) if warm else None,
                             "warm_max_s": round(max(warm), 2) if warm else None}  # fmt: skip
            print(f"{name:<38} cold {loads[0]['full_s']:6.2f} s (script settled {loads[0]['script_s']:.2f} s)"
                  + (f"   warm median {results[name]['warm_median_s']:.2f} s, max {results[name]['warm_max_s']:.2f} s"
                     if warm else ""))  # fmt: skip
    return results


def _load(context, url: str, ready: str | None) -> dict[str, float]:  # noqa: ANN001 (BrowserContext)
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(url, timeout=TIMEOUT_MS)
    wait_rendered(page, TIMEOUT_MS)
    script_s = time.perf_counter() - t0
    if ready:
        page.wait_for_function(ready, timeout=TIMEOUT_MS)
    full_s = time.perf_counter() - t0
    page.close()
    return {"script_s": round(script_s, 2), "full_s": round(full_s, 2)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="1000,5000,20000", help="UMAP sizes (users), comma-separated")
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--warm-loads", type=int, default=3, help="loads per page after the cold one")
    p.add_argument("--skip-umap", action="store_true")
    p.add_argument("--skip-pages", action="store_true")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "app_speed.json")
    a = p.parse_args(argv)

    report: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                          "loadavg_start": [round(x, 2) for x in os.getloadavg()]},
                              "targets": TARGETS}  # fmt: skip
    if not a.skip_umap:
        report["umap"] = bench_umap([int(s) for s in a.sizes.split(",")], a.dim, a.seed)
    if not a.skip_pages:
        if chromium_path() is None:
            print(f"Pages skipped: {NO_CHROMIUM}")
            report["pages"] = {"skipped": NO_CHROMIUM}
        else:
            with tempfile.TemporaryDirectory(prefix="ppr-app-speed-") as tmp:
                report["pages"] = bench_pages(a.warm_loads, Path(tmp))
    report["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"load average (1/5/15 min) at start {report['machine']['loadavg_start']}, "
          f"end {report['machine']['loadavg_end']} on {os.cpu_count()} CPUs")
    atomic_write_json(a.out, report)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
