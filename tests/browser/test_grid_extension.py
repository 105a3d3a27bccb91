"""The grid-extension chapter in Chromium: the grid slider by keyboard, and grid extension by buttons."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SLUG = "grid-extension"

# The plotted data of a named ColumnDataSource, read from the page's Bokeh document.
SOURCE_JS = """name => {
  for (const doc of window.Bokeh.documents) {
    const source = doc.get_model_by_name(name)
    if (source) {
      const out = {}
      const data = source.data instanceof Map ? source.data : new Map(Object.entries(source.data))
      for (const [key, value] of data) { out[key] = Array.from(value) }
      return out
    }
  }
  return null
}"""


def source(page, name):
    return page.evaluate(SOURCE_JS, name)


def readout(page):
    return page.locator(".kx-grid-readout .kx-readout").inner_text()


def wait_for_grid(page, G):
    """Wait until the readout names grid size G exactly."""
    page.locator(".kx-grid-readout .kx-g").get_by_text(f"G = {G}", exact=True).wait_for()


def open_chapter(page, app_server):
    page.goto(f"{app_server.url}?chapter={SLUG}")
    wait_for_grid(page, 12)


def test_grid_slider_to_200_and_back_refits_live(page, page_watch, app_server, screenshot):
    open_chapter(page, app_server)
    start = readout(page)
    fit_at_12 = source(page, "grid-fit")["y"]
    assert "15 coefficients" in start
    slider = page.get_by_role("slider", name="Grid size G (knot spans)")
    slider.focus()
    slider.press("End")
    wait_for_grid(page, 200)
    at_200 = readout(page)
    assert "203 coefficients" in at_200
    train_12 = float(re.search(r"train RMSE ([\d.e+-]+)", start).group(1))
    train_200 = float(re.search(r"train RMSE ([\d.e+-]+)", at_200).group(1))
    assert train_200 < 0.01 < train_12          # with 203 coefficients it runs through every train point
    assert len(source(page, "grid-knots")["x"]) == 201
    assert source(page, "grid-error-current")["G"] == [200]
    assert source(page, "grid-fit")["y"] != fit_at_12
    slider.press("Home")
    wait_for_grid(page, 2)
    assert "5 coefficients" in readout(page)
    assert len(source(page, "grid-knots")["x"]) == 3
    slider.press("ArrowRight")
    wait_for_grid(page, 3)
    page_watch.assert_clean()


def test_the_default_view_shows_the_u_and_the_current_g(page, app_server, screenshot):
    open_chapter(page, app_server)
    curve = source(page, "grid-error-curve")
    assert curve["G"][0] == 2 and curve["G"][-1] == 200 and len(curve["test"]) == 199
    best = curve["G"][curve["test"].index(min(curve["test"]))]
    assert 2 < best < 200 and curve["test"][-1] > 4 * min(curve["test"])
    assert source(page, "grid-error-best")["G"] == [best]
    assert source(page, "grid-error-current")["G"] == [12]
    assert f"at G = {best}" in page.locator(".kx-grid-message .kx-note").inner_text()
    page.locator(".kx-gridext").first.scroll_into_view_if_needed()
    screenshot(page, SLUG)


def test_extend_overlays_the_two_curves_then_training_steps_down(page, page_watch, app_server, screenshot):
    open_chapter(page, app_server)
    page.get_by_role("button", name="Extend during training").click()
    extend = page.get_by_role("button", name="Extend grid: G 3 → 6")
    extend.wait_for()
    assert source(page, "grid-extensions")["step"] == []
    extend.click()
    overlay = page.locator(".kx-overlay")
    overlay.wait_for()
    text = overlay.inner_text()
    assert "G = 3 → 6 at step 50" in text
    gap = float(re.search(r"differ by at most ([\d.e+-]+)", text).group(1))
    assert gap < 1e-5
    coarse, refined = source(page, "grid-coarse")["y"], source(page, "grid-kan")["y"]
    assert len(coarse) == len(refined) > 100
    assert max(abs(a - b) for a, b in zip(coarse, refined)) < 1e-5
    assert source(page, "grid-extensions")["step"] == [50]
    assert source(page, "grid-extensions")["label"] == ["G = 6"]
    page.locator(".kx-gridext").first.scroll_into_view_if_needed()
    screenshot(page, f"{SLUG}-extended")

    losses = source(page, "grid-loss")
    plateau = losses["train"][-1]
    page.get_by_role("button", name="Train 50 steps").click()
    page.locator(".kx-grid-readout").get_by_text("step 100").wait_for()
    overlay.wait_for(state="detached")
    losses = source(page, "grid-loss")
    assert losses["step"][-1] == 100 and losses["train"][-1] < plateau - 0.005
    assert source(page, "grid-coarse")["y"] == []
    page.get_by_role("button", name="Extend grid: G 6 → 12").click()
    page.locator(".kx-overlay").get_by_text("G = 6 → 12 at step 100").wait_for()
    assert source(page, "grid-extensions")["step"] == [50, 100]
    page_watch.assert_clean()


def test_typed_grid_sizes_and_reset(page, page_watch, app_server):
    open_chapter(page, app_server)
    box = page.get_by_label("G (2 to 200)")
    box.fill("40")
    box.press("Enter")
    wait_for_grid(page, 40)
    expect(page.get_by_role("slider", name="Grid size G (knot spans)")).to_have_attribute("aria-valuenow", "40")
    for bad in ("500", "1", "abc"):
        box.fill(bad)
        box.press("Enter")
        page.wait_for_function("box => box.value === '40'", arg=box.element_handle())
    assert source(page, "grid-error-current")["G"] == [40]
    page.get_by_role("button", name="Reset").click()
    wait_for_grid(page, 12)
    assert source(page, "grid-error-current")["G"] == [12]
    page_watch.assert_clean()


def test_the_chapter_fits_a_narrow_window(page, app_server, screenshot):
    page.set_viewport_size({"width": 900, "height": 800})
    open_chapter(page, app_server)
    widget = page.locator(".kx-gridext").first
    widget.scroll_into_view_if_needed()
    box = widget.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 900
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 900
    screenshot(page, f"{SLUG}-900px")
