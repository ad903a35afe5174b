"""The workbench in a real browser: `streamlit run app.py` on a free port, Debian's Chromium via Playwright.

Each test gets `wb` (a Workbench: one fresh browser context) on one server per module whose
PPR_HOME is a fresh temp folder, so the first load also brings the bundled sample, as on a user's
first start. Screenshots land in the test's tmp folder (printed with the server log's tail; a
`teardown.png` shows where a failed test stopped).

A flow over more pages is one more test with the same fixture: `wb.open("Runs")` clicks the
sidebar entry of that title and waits for the page to settle; `wb.rerun(button.click)` does a
click that reruns the script and waits for it to settle; the charts are Altair: wait for
VEGA_DRAWN (every chart on the page drawn) or SHOWN_VEGA_DRAWN (at least n shown ones, not those
in hidden tabs); `wb.shot("runs")` saves a screenshot. The browser may ask nothing of any host but
the app's server: the `wb` fixture fails the test otherwise.
Runs launched from the page are detached processes (their own session), outside the server's
process group: keep them tiny and wait for them to finish inside the test.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from _browser import (
    NO_CHROMIUM,
    SHOWN_VEGA_DRAWN,
    VEGA_DRAWN,
    AppServer,
    chromium,
    chromium_path,
    running_app,
    wait_rendered,
    wait_rerun,
)

WAIT_MS = 60_000  # one bound for every wait: a slow, shared CI machine, not a hang
pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(chromium_path() is None, reason=NO_CHROMIUM),
]


class Workbench:
    """One browser tab on the running app, with the moves every page test needs."""

    def __init__(self, page, server: AppServer, shots: Path) -> None:
        self.page, self.server, self.shots = page, server, shots

    def start(self) -> None:
        self.page.goto(self.server.url, timeout=WAIT_MS)
        wait_rendered(self.page, WAIT_MS)

    def open(self, title: str) -> None:
        """Go to a page through its sidebar entry (as a user does: same session, active dataset kept)."""
        link = self.page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True)
        self.rerun(link.click)

    def rerun(self, action: Callable[[], object]) -> None:
        wait_rerun(self.page, action, WAIT_MS)

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    pytest.importorskip("playwright.sync_api", reason="playwright is missing: pip install -r requirements-dev.txt")
    folder = tmp_path_factory.mktemp("app")
    with running_app(folder / "home", folder / "streamlit.log", timeout=WAIT_MS / 1000) as app:
        yield app


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium() as b:
        yield b


@pytest.fixture
def wb(browser, server: AppServer, tmp_path: Path) -> Iterator[Workbench]:
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    context.set_default_timeout(WAIT_MS)
    outside: list[str] = []  # the workbench works without a network: the browser asks only our server
    context.on("request", lambda r: None if r.url.startswith((server.url, "data:", "blob:")) else outside.append(r.url))
    bench = Workbench(context.new_page(), server, tmp_path)
    try:
        yield bench
    finally:
        with contextlib.suppress(Exception):  # where a failed test stopped; a dead page has nothing to show
            bench.shot("teardown")
        context.close()
        print(f"screenshots: {tmp_path}\n--- streamlit log (tail) ---\n{server.log_tail()}")
    assert not outside, f"the browser requested resources outside the app: {sorted(set(outside))}"


def _svg_root(body: bytes) -> bool:
    import xml.etree.ElementTree as ET

    return ET.fromstring(body).tag == "{http://www.w3.org/2000/svg}svg"


def clicks_csv(path: Path, n_users: int = 30, n_items: int = 200, seed: int = 0) -> Path:
    """A small clicks file: user, item, time and a per-user age column; a third of the users cold.

    200 items, so every user leaves the 99 never-clicked items the default split samples as negatives.
    """
    rng = np.random.default_rng(seed)
    rows = ["visitor,product,timestamp,age"]
    for u in range(n_users):
        n = int(rng.integers(2, 9)) if u % 3 == 0 else int(rng.integers(12, 20))
        age = int(rng.choice([20, 30, 40, 50]))
        for t, item in enumerate(rng.choice(n_items, size=n, replace=False)):
            rows.append(f"v{u},p{item},{1_700_000_000 + 3600 * t},{age}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_home_then_upload_a_csv_and_see_its_overview(wb: Workbench, tmp_path: Path):
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    page = wb.page
    vega = page.get_by_test_id("stVegaLiteChart")  # the Data overview draws with Altair

    def drawn() -> int:
        page.wait_for_function(VEGA_DRAWN, timeout=WAIT_MS)
        return vega.count()

    active = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Active dataset")
    wb.start()
    expect(page.get_by_role("heading", name="PPR Workbench")).to_be_visible()
    expect(page.get_by_text("What to do next")).to_be_visible()  # the sample arrived on first start
    expect(active).to_have_value("sample@v1")
    wb.shot("home")

    wb.open("Data")
    expect(page.get_by_role("heading", name="Data · sample@v1")).to_be_visible()
    assert drawn() == 3  # sequence lengths beside popularity, split roles, one panel per attribute
    for title in ("Sequence lengths", "Item popularity", "Users per role in the cold-start split", "gender"):
        expect(vega.filter(has_text=title).first).to_be_visible()
    wb.shot("data-sample")
    for kind, check in (("PNG", lambda b: b[:8] == b"\x89PNG\r\n\x1a\n"), ("SVG", _svg_root)):
        with page.expect_download(timeout=WAIT_MS) as download:  # drawn on click by the server (vl-convert)
            page.get_by_role("button", name=kind, exact=True).first.click()
        body = Path(download.value.path()).read_bytes()
        assert download.value.suggested_filename == f"sample-activity.{kind.lower()}" and check(body), kind

    wb.rerun(page.get_by_role("tab", name="Import a file").click)  # lazy tabs: opening one runs its content
    assert parse_qs(urlparse(page.url).query)["tab"] == ["Import a file"]  # a refresh keeps the tab
    uploader = page.get_by_test_id("stFileUploader").filter(has_text="Interactions")
    wb.rerun(lambda: uploader.locator("input[type=file]").set_input_files(clicks_csv(tmp_path / "clicks.csv")))
    expect(page.get_by_text("first rows of clicks.csv")).to_be_visible()
    wb.shot("data-upload-preview")

    wb.rerun(page.get_by_test_id("stFormSubmitButton").get_by_role("button", name="Import").click)
    expect(page.get_by_role("heading", name="Data · clicks@v1")).to_be_visible()
    expect(page.get_by_text("Imported clicks@v1")).to_be_visible()
    expect(active).to_have_value("clicks@v1")

    expect(page.get_by_role("tab", name="Overview")).to_have_attribute("aria-selected", "true")  # its overview
    assert drawn() == 2  # imported without attributes: no attribute panels
    for title in ("Sequence lengths", "Item popularity", "Users per role in the cold-start split"):
        expect(vega.filter(has_text=title)).to_be_visible()
    label = page.get_by_test_id("stMetricLabel").get_by_text("Users", exact=True)
    expect(page.get_by_test_id("stMetric").filter(has=label).get_by_test_id("stMetricValue")).to_have_text("30")
    wb.shot("data-imported")
    shots = sorted(p.name for p in tmp_path.glob("*.png"))
    assert shots == ["data-imported.png", "data-sample.png", "data-upload-preview.png", "home.png"]
    assert all((tmp_path / name).stat().st_size > 10_000 for name in shots)


def top_lists(page, before: list[list[str]] | None = None, moving: tuple[int, ...] = ()) -> list[list[str]]:
    """The item ids of the page's three recommendation grids (read from each grid's accessible table), once
    every grid of `moving` shows another list than `before` (a list that never moves fails the wait)."""
    from playwright.sync_api import expect

    grids = page.get_by_test_id("stDataFrame")
    cells = [grids.nth(i).locator("table tbody td[aria-colindex='2']") for i in range(3)]
    for c in cells:
        expect(c).to_have_count(10)
    for m in moving:
        expect(cells[m]).not_to_have_text(before[m])
    return [[t.strip() for t in c.all_inner_texts()] for c in cells]


def stop_workers(home: Path) -> list[int]:
    """SIGTERM every live worker a sweep or run under `home` records (detached: each leads its own process group)."""
    import os
    import signal

    from ppr.data.store import Store
    from ppr.io import read_json
    from ppr.jobs import sweep as sweeps
    from ppr.runs.status import pid_alive, raw_status

    store = Store(home)
    pids = {read_json(sweeps.sweeps_dir(store) / sid / "sweep.json").get("pid") for sid in sweeps.list_sweeps(store)}
    if store.runs_dir.is_dir():
        pids |= {raw_status(run).get("pid") for run in store.runs_dir.iterdir() if run.is_dir()}
    stopped = [int(p) for p in pids if p and pid_alive(p)]
    for pid in stopped:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGTERM)
            else:
                os.kill(pid, signal.SIGTERM)
    return stopped


def test_launch_a_tiny_sweep_then_compare_and_explore_its_prompts(wb: Workbench, tmp_path: Path):
    """Runs -> Compare -> Prompt explorer on a 300-user synthetic dataset: fine-tuning and PPR-light, tiny backbone."""
    import re

    from playwright.sync_api import expect

    from ppr.data.store import Store
    from ppr.data.synth import synth_dataset
    from ppr.io import read_json

    expect.set_options(timeout=WAIT_MS)
    page, home = wb.page, wb.server.home
    synth_dataset(Store(home), "tiny", n_users=300, n_items=200, if_exists="new")  # tiny@v1 unless run twice
    try:
        page.goto(f"{wb.server.url}/runs?dataset=tiny", timeout=WAIT_MS)
        wait_rendered(page, WAIT_MS)
        expect(page.get_by_test_id("stSidebar").get_by_role("combobox", name="Active dataset")).to_have_value(
            re.compile(r"^tiny@v")
        )
        expect(page.get_by_text(re.compile(r"^On tiny@v"))).to_be_visible()

        # Methods: the default is pop, pop-profile, finetune, ppr-light, ppr-full; Backspace drops the last (ppr-full).
        methods = page.get_by_test_id("stMultiSelect").filter(has_text="Methods")
        methods.locator("input").click()
        wb.rerun(lambda: methods.locator("input").press("Backspace"))
        page.keyboard.press("Escape")
        expect(methods).not_to_contain_text("ppr-full")
        expect(methods).to_contain_text("ppr-light")

        def fill(label: str, value: str) -> None:
            box = page.get_by_label(label, exact=True)
            box.fill(value)
            wb.rerun(lambda: box.press("Enter"))
            expect(box).to_have_value(value)

        fill("Tuning epochs", "2")
        page.get_by_text("Split and warm-training (backbone) settings").click()
        for label, value in (
            ("Folds of cold users", "1"),
            ("Warm epochs", "2"),
            ("Max length", "10"),
            ("Hidden size", "16"),
            ("Layers", "1"),
        ):
            fill(label, value)
        expect(page.get_by_text(re.compile(r"4 tuning runs.*1 warm run"))).to_be_visible()
        wb.shot("runs-form")

        wb.rerun(page.get_by_role("button", name="Launch").click)
        expect(page.get_by_text(re.compile(r"Sweep .* submitted"))).to_be_visible()
        done = page.get_by_text(re.compile(r"Sweep .*: done"))
        expect(done).to_be_visible(timeout=180_000)  # the page re-reads the run folders every 2 s
        expect(page.get_by_text(re.compile(r"Sweep .*: done .* 5 done"))).to_be_visible()
        page.wait_for_function(VEGA_DRAWN, timeout=WAIT_MS)  # the loss curve, the page's one Altair chart
        loss = page.get_by_test_id("stVegaLiteChart").filter(has_text="Loss and validation NDCG@10 per epoch")
        expect(loss).to_be_visible()
        wb.shot("runs-done")
        # the form's warm settings reached the worker
        backbone = [read_json(p)["spec"]["backbone"] for p in (home / "runs").glob("*-warm-*/spec.json")]
        assert [(b["max_len"], b["d"], b["n_layers"]) for b in backbone] == [(10, 16, 1)], backbone

        wb.open("Compare")
        expect(page.get_by_role("heading", name="Compare")).to_be_visible()
        claims = page.get_by_test_id("stDataFrame").first  # the first tab: a verdict per claim of the paper
        expect(claims).to_be_visible()
        page.get_by_role("tab", name="Across k-shot and noise").click()
        page.wait_for_function(SHOWN_VEGA_DRAWN, arg=2, timeout=WAIT_MS)
        expect(page.get_by_test_id("stVegaLiteChart").filter(has_text="across k-shot").first).to_be_visible()
        expect(page.get_by_test_id("stVegaLiteChart").filter(has_text="across noise rate").first).to_be_visible()
        wb.shot("compare")
        with page.expect_download(timeout=WAIT_MS) as download:  # built on click by the server
            page.get_by_role("button", name="HTML").first.click()
        html = Path(download.value.path()).read_text()
        assert "vegaEmbed" in html and "<script src=" not in html  # opens offline: Vega travels inside
        page.get_by_role("tab", name="vs fine-tuning").click()
        expect(page.get_by_test_id("stVegaLiteChart").filter(has_text="Difference to finetune")).to_be_visible()
        page.wait_for_function(SHOWN_VEGA_DRAWN, arg=1, timeout=WAIT_MS)
        wb.shot("compare-vs-finetune")

        wb.open("Prompt explorer")
        expect(page.get_by_role("heading", name="Prompt explorer")).to_be_visible()
        page.wait_for_function(SHOWN_VEGA_DRAWN, arg=1, timeout=WAIT_MS)
        scatter = page.get_by_test_id("stVegaLiteChart").filter(has_text="(PCA), coloured by")
        expect(scatter).to_be_visible()
        expect(page.get_by_text("Top-10 recommendations")).to_be_visible()
        wb.shot("prompts")
        # clicking the scatter selects the nearest user
        user_box = page.get_by_role("combobox", name=re.compile(r"^User \(type an id"))
        before = user_box.input_value()
        box = scatter.locator("canvas, svg").first.bounding_box()
        for fx, fy in ((0.2, 0.3), (0.5, 0.7), (0.35, 0.55), (0.6, 0.2)):  # the first spot nearest another user
            spot = (box["x"] + fx * box["width"] * 0.8, box["y"] + fy * box["height"])  # left of the legend
            wb.rerun(lambda s=spot: page.mouse.click(*s))
            if user_box.input_value() != before:
                break
        assert user_box.input_value() != before, "clicking points on the scatter did not select another user"

        wb.open("Try a user")  # a typed profile, then two first clicks: every method's top-10 moves
        expect(page.get_by_role("heading", name="Try a user")).to_be_visible()
        grids = page.get_by_test_id("stDataFrame")
        expect(grids).to_have_count(3)  # pop-profile, finetune, ppr-light of the sweep's cell
        expect(
            page.get_by_text(re.compile(r"^Not in the store for this cell: melu, gce-gnn, adapter, ppr-full"))
        ).to_be_visible()
        pop_profile, *tuned = range(3)  # pop-profile reads the profile only; finetune and ppr-light the clicks too
        steps = [top_lists(page)]
        gender = page.get_by_test_id("stSelectbox").filter(has_text="gender")
        gender.click()
        wb.rerun(page.get_by_role("option").nth(2).click)
        steps.append(top_lists(page, steps[-1], moving=(pop_profile,)))
        clicks = page.get_by_test_id("stMultiSelect").filter(has_text="First clicks").locator("input")
        for n, item in enumerate(("17", "42"), start=1):
            clicks.click()
            clicks.press_sequentially(f"Item {item} (")  # synthetic items are titled "Item <id> (cluster <c>)"
            option = page.get_by_role("option").filter(has_text=re.compile(rf"^Item {item} \(cluster \d+\)"))
            wb.rerun(option.first.click)
            page.keyboard.press("Escape")
            expect(page.get_by_text(f"{n}-shot: the profile and {n} click(s)", exact=False)).to_be_visible()
            steps.append(top_lists(page, steps[-1], moving=tuple(tuned)))  # each click moves them
        wb.shot("try-a-user")
        for m in range(3):
            assert not {"17", "42"} & set(steps[3][m])  # clicks are never recommended
    finally:
        stopped = stop_workers(home)
    assert not stopped, f"workers still running at the end: {stopped}"
    for name in ("runs-form", "runs-done", "compare", "compare-vs-finetune", "prompts", "try-a-user"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000, name
