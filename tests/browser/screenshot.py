"""Remake assets/screenshot.png, the README's picture of the app.

Run from the repository root: ``python -m tests.browser.screenshot``. It serves the app on a
free loopback port, opens the introduction in headless Chromium at 1280 x 800 and saves a PNG.
"""

import sys

from playwright.sync_api import sync_playwright

from .harness import REPO, AppServer, launch_browser, save_screenshot, wait_for_intro


def main(directory=REPO / "assets", name="screenshot"):
    with AppServer() as server, sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, color_scheme="light")
        page.goto(server.url)
        wait_for_intro(page)
        path = save_screenshot(page, name, directory)
        browser.close()
    print(f"Saved {path.relative_to(REPO)}")
    return path


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
