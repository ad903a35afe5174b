"""Real-browser harness for tests/e2e and bench/app_speed.py: `streamlit run app.py`, Chromium via Playwright.

The server runs as its own process group on a free port with PPR_HOME (and TMPDIR) in the
caller's folder, so teardown kills it (and anything it started) without touching other processes. Chromium is Debian's
(`apt-get install -y chromium`); Playwright's own browser download is never used.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NO_CHROMIUM = (
    "Debian's chromium is not installed, so the real-browser checks cannot run. Install it with "
    "`apt-get update && apt-get install -y chromium` (as root; `bash tests/e2e/install_browser.sh` "
    "does this when needed), then run again."
)
RENDERED = "[data-testid='stApp'][data-test-script-state='notRunning']"
VEGA_DRAWN = """() => {
  const charts = [...document.querySelectorAll("[data-testid='stVegaLiteChart']")];
  return charts.length > 0 && charts.every(c => c.querySelector('canvas, svg'));
}"""  # Altair charts: every one has its canvas (or svg) in place
SHOWN_VEGA_DRAWN = """(n) => {
  const charts = [...document.querySelectorAll("[data-testid='stVegaLiteChart']")]
    .filter(c => c.getClientRects().length > 0);
  return charts.length >= n && charts.every(c => c.querySelector('canvas, svg'));
}"""  # at least n Altair charts shown (not in a hidden tab), each drawn


def chromium_path() -> str | None:
    return shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """`streamlit run <script> (app.py)` on a free port with PPR_HOME=home; start() waits for /_stcore/health."""

    def __init__(self, home: Path, log_path: Path, script: Path = REPO / "app.py") -> None:
        self.home, self.log_path, self.script, self.port = Path(home), Path(log_path), Path(script), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> float:
        """Start the server; return seconds until healthy. Raises RuntimeError with the log's tail."""
        cmd = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(self.script),
            "--server.headless",
            "true",
            "--server.port",
            str(self.port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ]
        tmp = self.log_path.parent / "server-tmp"  # upload staging and the like: removed with the test's folder
        tmp.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PPR_HOME": str(self.home), "TMPDIR": str(tmp)}
        t0 = time.perf_counter()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {self.proc.returncode}:\n{self.log_tail()}")
            if self._healthy():
                return time.perf_counter() - t0
            time.sleep(0.2)
        raise RuntimeError(f"streamlit was not healthy after {timeout:.0f} s:\n{self.log_tail()}")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as resp:
                return resp.read().decode().strip() == "ok"
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM the server's process group, SIGKILL after 10 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def log_tail(self, n: int = 40) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines() if self.log_path.exists() else []
        return "\n".join(lines[-n:])


@contextlib.contextmanager
def running_app(
    home: Path, log_path: Path, timeout: float = 60.0, script: Path = REPO / "app.py"
) -> Iterator[AppServer]:
    server = AppServer(home, log_path, script)
    try:
        server.start(timeout)
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless Debian Chromium driven by Playwright's sync API (caller checks chromium_path() first)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_rendered(page, timeout_ms: float = 30_000) -> None:
    """Wait until the script run settled (after a full page load, where the state starts at 'initial')."""
    page.wait_for_selector(RENDERED, timeout=timeout_ms)


def wait_rerun(page, action, timeout_ms: float = 30_000) -> None:
    """Do `action()` (a click that reruns the script) and wait for that rerun to start and then settle.

    Waiting for 'notRunning' alone could see the state from before the click; a rerun that
    finishes too fast to be seen 'running' is caught by the short first wait timing out.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    action()
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_selector("[data-testid='stApp']:not([data-test-script-state='notRunning'])", timeout=2_000)
    page.wait_for_selector(RENDERED, timeout=timeout_ms)
