"""The page as a classroom gets it: served by the README's classroom command (two processes).

With ``--num-procs 2`` a page's HTTP request and its websocket may reach different processes;
every page must still load nothing from outside the server (app/app_hooks.py). Also in a real
browser: a window resized while the lab trains, a storm of presses on Play, Step and Reset, and a
tab closed mid-training, after which the server holds no session, callback or page object for it.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.load.classroom import Classroom

from .conftest import PageWatch
from .harness import wait_for_intro

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def room():
    with Classroom(diagnostics_every=0.5, objects=True, name="browser-classroom-serve") as room:
        yield room


@pytest.fixture
def open_page(browser, room):
    """open_page(query='') -> (page, watch): a fresh browser context (its own connections)."""
    opened = []

    def _open(query=""):
        watch = PageWatch(netloc=room.url.split("/")[2])
        context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
        context.route("**/*", watch.route)
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.on("console", lambda msg: msg.type == "error" and watch.console_errors.append(msg.text))
        page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
        page.on("websocket", watch.on_websocket)
        page.goto(room.url + query)
        opened.append((context, watch))
        return page, watch

    yield _open
    for context, watch in opened:
        context.close()
    for _, watch in opened:
        watch.assert_clean()


def open_lab(open_page):
    page, watch = open_page("?chapter=training-lab")
    lab = page.locator(".kx-lab").first
    lab.locator(".kx-step").wait_for()
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length && Bokeh.documents[0].is_idle")
    return page, lab


def steps(lab):
    return int(re.sub(r"\D", "", lab.locator(".kx-step").first.inner_text()))


def button(lab, name):
    return lab.get_by_role("button", name=name, exact=True)


def test_every_page_loads_from_this_server_whichever_process_builds_it(open_page):
    for _ in range(6):          # fresh connections: the processes take turns at random
        page, watch = open_page()
        wait_for_intro(page)
        page.wait_for_load_state("networkidle")
        assert not watch.problems(), watch.problems()


def test_a_window_resized_while_the_lab_trains_keeps_training(open_page):
    page, lab = open_lab(open_page)
    button(lab, "Play").click()
    expect(button(lab, "Pause")).to_be_visible()
    for width, height in [(600, 900), (1600, 1000), (375, 700), (1024, 600), (1280, 800)]:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(400)
    before = steps(lab)
    page.wait_for_timeout(1500)
    assert steps(lab) > before
    button(lab, "Pause").click()
    expect(button(lab, "Play")).to_be_visible()


def test_a_storm_of_presses_on_play_step_and_reset_leaves_a_working_lab(open_page):
    page, lab = open_lab(open_page)
    for name in ["Play", "Step", "Reset", "Step", "Play", "Reset"] * 4:
        lab.get_by_role("button", name=re.compile(f"^({name}|Pause)$") if name == "Play" else name,
                        exact=name != "Play").first.click(no_wait_after=True)
    button(lab, "Reset").click()
    expect(button(lab, "Play")).to_be_visible()
    expect(lab.locator(".kx-step").first).to_have_text("0")
    button(lab, "Step").click()
    expect(lab.locator(".kx-step").first).to_have_text("1")


def test_closing_a_tab_mid_training_ends_its_session_callbacks_and_objects(open_page, room):
    assert room.wait_idle(need_objects=True, timeout=60) is not None
    page, lab = open_lab(open_page)
    button(lab, "Play").click()
    expect(button(lab, "Pause")).to_be_visible()
    page.wait_for_timeout(1500)
    live = room.diagnostics()
    assert sum(d["periodic_callbacks"] for d in live.values()) >= 1, live
    page.context.close()
    waited = room.wait_idle(need_objects=True, timeout=60)
    assert waited is not None, room.diagnostics()
