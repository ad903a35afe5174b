"""Runs page, headless (Streamlit's AppTest, no browser): script time to the launch form and run list, and to the
time estimate, on a store's dataset with the form's default settings.

"To the form": the page's script run with the calibration replaced by one that stops the run at once, so the
time is what the page draws before its estimate (the form, its Launch button, the run list); the page must have
drawn the Launch button by then. "To the estimate": the whole script run with the real calibration and an empty
estimate cache (a first visit). Browser figures (frontend boot, drawing) come from bench/app_speed.py.

    python bench/runs_page.py --home /tmp/big bench       # the store bench/ingest.py --keep left
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ppr.io import atomic_write_json


class Stopped(Exception):
    """The calibration the first timing replaces: the script run ends where the estimate starts."""


def _stop(*args: Any, **kwargs: Any) -> Any:
    raise Stopped


def time_page(dataset: str, calibrate: Any) -> tuple[float, Any]:
    """Seconds of the Runs page's script run (the app's first run, which sets the dataset, not counted)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from ppr.jobs import estimate

    st.cache_data.clear()
    estimate.calibrate = calibrate
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=1800)
    at.query_params["dataset"] = dataset
    at.run()
    t0 = time.perf_counter()
    at.switch_page("views/runs.py").run()
    return time.perf_counter() - t0, at


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dataset", help="NAME or NAME@vN in the home")
    p.add_argument("--home", type=Path, default=Path(os.environ.get("PPR_HOME", ROOT / "cache")))
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "runs_page.json")
    args = p.parse_args(argv)
    os.environ["PPR_HOME"] = str(args.home)
    os.chdir(ROOT)
    from ppr.jobs import estimate

    real = estimate.calibrate
    time_page(args.dataset, _stop)  # imports and the page's other caches warmed, as on a second visit
    form_s, at = time_page(args.dataset, _stop)
    if not [b for b in at.button if b.key == "launch"]:
        raise SystemExit("the Launch button was not drawn before the estimate")
    estimate_s, at = time_page(args.dataset, real)
    line = next((m.value for m in at.markdown if "tuning run" in m.value), "")
    print(f"{args.dataset} in {args.home}")
    print(f"to the form and run list: {form_s:.2f} s")
    print(f"to the estimate (first visit, empty cache): {estimate_s:.2f} s: {line}")
    report = {"dataset": args.dataset, "home": str(args.home), "form_s": form_s, "estimate_s": estimate_s, "line": line}
    atomic_write_json(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
