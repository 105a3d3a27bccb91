"""Fixtures for the browser tests: one real server per session, a fresh watched page per test.

A test that uses ``page`` fails if the page logs a console error, throws an uncaught error,
or asks for anything from a host other than the local server.
"""

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect, sync_playwright

from .harness import AppServer, BrowserMissing, launch_browser, save_screenshot

# Waits in the browser tests end on what the page shows, not on a clock: allow a starved machine (the
# other pytest worker busy with load tests on the same two cores) as long for a web-first assertion
# as for any other wait (page.set_default_timeout below), instead of Playwright's 5 s.
expect.set_options(timeout=30_000)


@pytest.fixture(scope="session")
def app_server():
    with AppServer() as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        try:
            chromium = launch_browser(playwright)
        except BrowserMissing as missing:
            pytest.fail(str(missing), pytrace=False)
        yield chromium
        chromium.close()


@dataclass
class PageWatch:
    """What a page did that a test must not allow."""

    netloc: str
    console_errors: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)
    outside_requests: list = field(default_factory=list)

    def is_local(self, url):
        parts = urlsplit(url)
        return parts.scheme in ("data", "blob") or parts.netloc == self.netloc

    def route(self, route):
        if self.is_local(route.request.url):
            route.continue_()
        else:
            self.outside_requests.append(route.request.url)
            route.abort()

    def on_websocket(self, websocket):
        if not self.is_local(websocket.url):
            self.outside_requests.append(websocket.url)

    def problems(self):
        found = [f"console error: {text}" for text in self.console_errors]
        found += [f"page error: {text}" for text in self.page_errors]
        found += [f"request outside the local server: {url}" for url in self.outside_requests]
        return found

    def assert_clean(self):
        problems = self.problems()
        assert not problems, "The page misbehaved:\n" + "\n".join(problems)


@pytest.fixture
def page_watch(app_server):
    return PageWatch(netloc=app_server.netloc)


@pytest.fixture
def page(browser, page_watch):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
    context.route("**/*", page_watch.route)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.on("console", lambda msg: msg.type == "error" and page_watch.console_errors.append(msg.text))
    page.on("pageerror", lambda error: page_watch.page_errors.append(str(error)))
    page.on("websocket", page_watch.on_websocket)
    yield page
    context.close()
    problems = page_watch.problems()
    if problems:
        pytest.fail("The page misbehaved:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def screenshot():
    """``screenshot(page, name)`` saves test-artifacts/screenshots/<name>.png and returns its path."""
    return save_screenshot
