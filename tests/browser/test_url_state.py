"""Links as a teacher shares them: copy the link, open it elsewhere, see the same view; garbage
links; presentation mode; a tablet-width window."""

import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import expect

from .test_spline_edge import handle, open_chapter, state, wait_confirmed

pytestmark = pytest.mark.browser


def _query(url):
    return dict(parse_qsl(urlsplit(url).query))


def _idle(page):
    page.wait_for_function("() => window.Bokeh && window.Bokeh.index.roots.every(r => r.is_idle)")


def test_a_copied_link_reproduces_the_spline_edge(browser, page, page_watch, app_server):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    plot = open_chapter(page, app_server)
    _idle(page)
    page.get_by_role("slider", name="Grid size G").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(plot.locator(".handle")).to_have_count(7 + 3)
    handle(plot, 4).focus()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Shift+ArrowUp")
    before = wait_confirmed(plot)
    # the address bar follows every change (replaced, not pushed: Back still leaves the chapter)
    page.wait_for_function("want => { const c = new URLSearchParams(location.search).get('coef');"
                           " return c !== null && c.split(',').map(Number).every((v, i) => v === want[i]) }",
                           arg=before["coef"])
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("status").filter(has_text="Link copied")).to_be_visible()
    link = page.evaluate("() => navigator.clipboard.readText()")
    assert link == page.url
    args = _query(link)
    assert args["chapter"] == "spline-edge" and args["grid_size"] == "7"

    other = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        other.goto(link)
        other.get_by_text("A learnable curve: one B-spline edge").wait_for(timeout=60_000)
        copy = other.locator(".kx-spline-plot")
        copy.locator(".handle").first.wait_for(state="attached")
        after = wait_confirmed(copy)
        assert after["coef"] == before["coef"]
        assert after["knots"] == before["knots"]
        assert after["curve"] == pytest.approx(before["curve"], abs=1e-12)
        expect(other.get_by_role("slider", name="Grid size G")).to_have_attribute("aria-valuenow", "7")
    finally:
        other.close()
    page_watch.assert_clean()


def test_a_garbage_link_shows_a_notice_and_the_page_still_works(page, page_watch, app_server, screenshot):
    page.goto(f"{app_server.url}?chapter=snap&noise=lots&seed=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
              f"&weight_simple=1e999&who=me")
    notice = page.locator(".kx-notice").first
    notice.wait_for(timeout=60_000)
    text = notice.inner_text()
    assert text.startswith("Some settings in this link could not be used")
    assert "noise = 'lots' must be a number from 0 to 0.5" in text
    assert "'who' is not a setting of this chapter" in text
    assert page.locator("script", has_text="alert(1)").count() == 0
    _idle(page)
    page.get_by_role("button", name=re.compile(r"^Snap:")).click()
    page.get_by_text(re.compile(r"^Snapped to")).first.wait_for()
    screenshot(page, "garbage-link")
    page_watch.assert_clean()


def test_presentation_mode_one_explorable_per_screen(page, page_watch, app_server, screenshot):
    page.goto(f"{app_server.url}?chapter=flip")
    page.get_by_role("switch", name="Present").wait_for(timeout=60_000)
    _idle(page)
    nav = page.locator(".kx-nav").first
    assert nav.is_visible()
    page.get_by_role("switch", name="Present").check()
    title = page.locator(".kx-present-title").first
    expect(title).to_have_text("3. Flip it: the same unit drawn both ways")
    expect(nav).not_to_be_visible()
    page.wait_for_function("() => new URLSearchParams(location.search).get('present') === '1'")
    # only the explorable: the chapter's prose is not on this screen
    assert page.locator(".kx-flip").count() == 0
    _idle(page)
    page.mouse.move(5, 5)
    screenshot(page, "presentation-flip")
    # large type, yet nothing runs off the right edge
    assert page.evaluate("() => getComputedStyle(document.documentElement).fontSize") == "20px"
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    canvases = page.locator(".kx-present canvas")
    assert canvases.count() > 0
    for i in range(canvases.count()):
        box = canvases.nth(i).bounding_box()
        assert box["x"] + box["width"] <= page.viewport_size["width"] + 1, box
    page.get_by_role("button", name="Next").click()
    expect(title).to_have_text(re.compile(r"^4\. A learnable curve"))
    page.wait_for_function("() => new URLSearchParams(location.search).get('chapter') === 'spline-edge'")
    page.get_by_role("switch", name="Present").uncheck()
    expect(nav).to_be_visible()
    expect(page.locator(".kx-present-title")).to_have_count(0)
    assert page.evaluate("() => getComputedStyle(document.documentElement).fontSize") == "16px"
    page_watch.assert_clean()


def test_a_presentation_link_opens_in_presentation_mode(page, app_server):
    page.goto(f"{app_server.url}?chapter=mlp-neuron&present=1&activation=tanh")
    expect(page.locator(".kx-present-title").first).to_have_text("2. What an MLP neuron does",
                                                               timeout=60_000)
    expect(page.get_by_role("switch", name="Present")).to_be_checked()


def test_a_tablet_width_window_gets_one_column(page, page_watch, app_server, screenshot):
    page.set_viewport_size({"width": 768, "height": 1000})
    page.goto(f"{app_server.url}?chapter=training-lab")
    page.locator(".kx-lab").first.wait_for(timeout=60_000)
    _idle(page)
    # the menu folds away into a drawer, and the chapter takes the whole width
    expect(page.locator(".kx-nav").first).not_to_be_visible()
    heading = page.get_by_role("heading", name="Train a tiny KAN").first.bounding_box()
    assert heading["x"] < 60
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.wait_for_timeout(600)   # let the drawer's closing slide finish before the picture
    screenshot(page, "training-lab-768")
    # the menu button still opens the chapter list over the page
    page.get_by_role("button", name="Open drawer").click()
    expect(page.locator(".kx-nav").first).to_be_visible()
    page.locator(".kx-nav").get_by_text("4. A learnable curve").click()
    page.get_by_text("A learnable curve: one B-spline edge").first.wait_for()
    page_watch.assert_clean()


def test_save_figures_downloads_one_png_of_the_chapters_plots(page, page_watch, app_server, tmp_path):
    page.goto(f"{app_server.url}?chapter=grid-extension")
    page.get_by_role("button", name="Save figures").wait_for(timeout=60_000)
    _idle(page)
    with page.expect_download() as info:
        page.get_by_role("button", name="Save figures").click()
    download = info.value
    assert download.suggested_filename == "kan-grid-extension.png"
    path = tmp_path / "figures.png"
    download.save_as(path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 300 and height > 200
    page_watch.assert_clean()
