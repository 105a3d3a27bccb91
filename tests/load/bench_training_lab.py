"""Benchmark of the training lab: screen updates and optimizer steps per second, second session's lag.

Run from the repository root (not collected by pytest):

    python -m tests.load.bench_training_lab [--seconds 10] [--threads N]

1. In-process: the cost of one tick (no browser) for [2, 5, 1], G = 5, 1000 samples, Adam and L-BFGS.
2. Served: ``panel serve app`` on a free loopback port (``--threads N`` adds ``--num-threads N``), two
   Chromium pages on the training lab. Page 1 trains [2, 5, 1], G = 5, 1000 samples (the lab's
   default) with Adam, then with L-BFGS; a hook on its loss plot's data source counts the updates
   that reach the browser, and the step readout gives the optimizer steps per second. Meanwhile
   page 2 presses its own "Step" button about once a second and times how long the server takes
   to show the new step count: the responsiveness of a second session while the first one trains
   (and, for comparison, the same before page 1 starts).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
import urllib.request

from playwright.sync_api import sync_playwright

from tests.browser.harness import REPO, free_port, launch_browser
from widgets.training_lab import bench as tick_bench

HOOK = """() => {
  const source = window.Bokeh.documents[0].get_model_by_name('training-loss')
  window.kxUpdates = []
  source.streaming.connect(() => window.kxUpdates.push(performance.now()))
}"""


class Server:
    def __init__(self, threads=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/app"
        self.threads = threads

    def __enter__(self):
        command = [sys.executable, "-m", "panel", "serve", "app", "--port", str(self.port), "--address",
                   "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{self.port}"]
        if self.threads:
            command += ["--num-threads", str(self.threads)]
        self.log = open(REPO / "test-artifacts" / "bench-training-lab-serve.log", "w")
        self.proc = subprocess.Popen(command, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url, timeout=5):
                    return self
            except OSError:
                time.sleep(0.25)
        raise RuntimeError("the server did not start")

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=15)
        self.log.close()


def open_lab(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{url}?chapter=training-lab")
    lab = page.locator(".kx-lab").first
    lab.locator(".kx-step").wait_for(timeout=180_000)
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length && Bokeh.documents[0].is_idle",
                           timeout=180_000)
    return page, lab


def steps(lab):
    return int(lab.locator(".kx-step").first.inner_text().replace(",", ""))


def press(lab, name):
    lab.get_by_role("button", name=name, exact=True).click()


STEP_IN_PAGE = """(button) => new Promise(resolve => {
  // timed inside the page: from the click to the frame that shows the new step count; the
  // readout is looked up afresh each frame (Panel replaces its element when the text changes)
  const find = (root) => {
    const hit = root.querySelector(".kx-step")
    if (hit) return hit
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) { const inner = find(el.shadowRoot); if (inner) return inner }
    }
    return null
  }
  const text = () => { const el = find(document); return el ? el.textContent : null }
  const before = text()
  const start = performance.now()
  button.click()
  const poll = () => text() !== before ? resolve(performance.now() - start) : requestAnimationFrame(poll)
  requestAnimationFrame(poll)
})"""


def step_latency(page, lab, repeats):
    """Milliseconds from pressing Step until the page shows the next step count, ``repeats`` times,
    measured by the page's own clock (no test-driver round trips included)."""
    button = lab.get_by_role("button", name="Step", exact=True).element_handle()
    return [page.evaluate(STEP_IN_PAGE, button) for _ in range(repeats)]


def choose_optimizer(page, lab, label):
    lab.get_by_role("button", name=label, exact=True).click()
    page.wait_for_timeout(300)


def measure(browser, url, optimizer, seconds, repeats):
    """Page 1 trains for ``seconds``; meanwhile page 2 presses Step about once a second, as a second
    student working at their own pace would."""
    page1, lab1 = open_lab(browser, url)
    page2, lab2 = open_lab(browser, url)
    idle = step_latency(page2, lab2, repeats)
    press(lab2, "Reset")
    if optimizer != "Adam":
        choose_optimizer(page1, lab1, optimizer)
    page1.evaluate(HOOK)
    press(lab1, "Play")
    lab1.get_by_role("button", name="Pause", exact=True).wait_for(timeout=60_000)
    page1.wait_for_timeout(1500)            # past the first ticks
    first_steps, first_time = steps(lab1), time.perf_counter()
    page1.evaluate("() => { window.kxUpdates = [] }")
    busy = []
    while time.perf_counter() - first_time < seconds:
        pressed = time.perf_counter()
        busy += step_latency(page2, lab2, 1)
        page2.wait_for_timeout(max(0.0, 1.0 - (time.perf_counter() - pressed)) * 1000)
    updates = page1.evaluate("() => window.kxUpdates.length")
    elapsed = time.perf_counter() - first_time
    done = steps(lab1) - first_steps
    press(lab1, "Pause")
    page1.close()
    page2.close()
    return {"updates_per_s": updates / elapsed, "steps_per_s": done / elapsed, "idle_ms": idle, "busy_ms": busy}


def describe(times):
    return f"median {statistics.median(times):.0f} ms, max {max(times):.0f} ms over {len(times)} presses"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="how long page 1 trains per optimizer")
    parser.add_argument("--repeats", type=int, default=5, help="Step presses timed on page 2 before page 1 plays")
    parser.add_argument("--threads", type=int, default=None, help="serve with --num-threads N")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("In-process ticks, [2, 5, 1], G = 5, 1000 samples:")
    tick_bench()
    print(f"Served ({'--num-threads ' + str(args.threads) if args.threads else 'no thread pool'}), "
          f"two Chromium sessions on the training lab:")
    with Server(args.threads) as server, sync_playwright() as playwright:
        browser = launch_browser(playwright)
        for optimizer in ("Adam", "L-BFGS"):
            r = measure(browser, server.url, optimizer, args.seconds, args.repeats)
            print(f"  {optimizer:>6}: page 1 shows {r['updates_per_s']:.1f} loss-plot updates/s and "
                  f"{r['steps_per_s']:.0f} optimizer steps/s")
            print(f"          page 2 Step -> new count on screen: {describe(r['busy_ms'])} while page 1 "
                  f"trains ({describe(r['idle_ms'])} when it does not)")
        browser.close()
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
