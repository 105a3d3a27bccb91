"""Serve the real app on loopback and drive it with the system's Chromium.

Shared by the browser tests (through conftest.py) and by the screenshot command
(``python -m tests.browser.screenshot``).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"

BROWSER_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync",
]

HOW_TO_GET_A_BROWSER = (
    "The browser tests need Chromium and none was found: install Debian's with "
    "`apt-get install -y chromium`, or set CHROMIUM=/path/to/chromium."
)

# Text the introduction always shows; its presence means Bokeh has finished rendering.
INTRO_HEADING = "A neural network you can read"
SERVER_TIMEOUT = float(os.environ.get("KX_SERVER_TIMEOUT", "180"))


class BrowserMissing(RuntimeError):
    pass


def find_browser(playwright):
    """Path of the Chromium to launch: $CHROMIUM, else /usr/bin/chromium, else Playwright's own.

    Returns None to mean Playwright's bundled browser; raises BrowserMissing if there is none.
    """
    chosen = os.environ.get("CHROMIUM")
    if chosen:
        if not Path(chosen).is_file():
            raise BrowserMissing(f"CHROMIUM={chosen} is not a file. {HOW_TO_GET_A_BROWSER}")
        return chosen
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    if Path(playwright.chromium.executable_path).is_file():
        return None
    raise BrowserMissing(HOW_TO_GET_A_BROWSER)


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=find_browser(playwright), args=BROWSER_ARGS,
                                      headless=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppServer:
    """``panel serve app`` on a free loopback port, run from the repository root.

    Use as a context manager; ``url`` is the app's address once it answers.
    """

    def __init__(self, log_path=ARTIFACTS / "panel-serve.log"):
        self.port = free_port()
        self.netloc = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.netloc}/app"
        self.log_path = Path(log_path)
        self._proc = None

    def __enter__(self):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "panel", "serve", "app", "--port", str(self.port),
             "--address", "127.0.0.1", "--allow-websocket-origin", self.netloc],
            cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            self._wait_until_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_until_ready(self):
        deadline = time.monotonic() + SERVER_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"`panel serve app` exited with code {self._proc.returncode}.\n"
                                   f"Server log:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        raise RuntimeError(f"`panel serve app` did not answer 200 at {self.url} within "
                           f"{SERVER_TIMEOUT:.0f} s (set KX_SERVER_TIMEOUT to wait longer).\n"
                           f"Server log:\n{self.log()}")

    def log(self):
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def __exit__(self, *exc):
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._log.close()
        return False


def wait_for_intro(page):
    """Block until Bokeh has rendered the introduction."""
    page.get_by_text(INTRO_HEADING).wait_for(state="visible", timeout=60_000)


def save_screenshot(page, name, directory=SCREENSHOTS):
    """Save a PNG of the page as ``<directory>/<name>.png`` and return its path."""
    path = Path(directory) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    return path
