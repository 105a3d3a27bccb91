"""Chapter 7 as a student meets it: press Snap, see the formula, pick another candidate, unsnap."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

OPEN_HINT = "Press Snap"
SINE = re.compile(r"sin|cos")


def _open(page, app_server):
    page.goto(f"{app_server.url}?chapter=snap")
    page.get_by_text(OPEN_HINT).first.wait_for(state="visible", timeout=60_000)
    expect(_formula(page)).to_contain_text("silu")
    page.wait_for_function("() => window.Bokeh.index.roots.every(r => r.is_idle)")


def _curve(page, name):
    """The y values of a named Bokeh source, read from the page's own document."""
    return page.evaluate("name => Array.from(window.Bokeh.documents[0].get_model_by_name(name).data.y)",
                         f"snap-{name}")


def _formula(page):
    """The typeset formula as KaTeX drew it (Playwright's CSS locators reach into shadow roots)."""
    return page.locator(".kx-snap-formula .katex-html").first


def _formula_text(page):
    return _formula(page).inner_text()


def _snapped_row(page):
    return page.locator(".kx-cand tr.snapped").first.get_attribute("data-name")


def test_snap_shows_the_formula_another_row_changes_it_and_unsnap_returns_the_spline(
        page, page_watch, app_server, screenshot):
    _open(page, app_server)
    assert "silu" in _formula_text(page)
    assert "sin" not in _formula_text(page) and "cos" not in _formula_text(page)
    learned = _curve(page, "learned")
    assert len(learned) == 201 and _curve(page, "snapped") == []

    page.get_by_role("button", name=re.compile(r"^Snap:")).click()
    expect(_formula(page)).to_have_text(SINE)
    page.get_by_text(re.compile(r"^Snapped to")).first.wait_for()
    snapped = _curve(page, "snapped")
    assert len(snapped) == 201 and snapped != learned
    first_row = page.locator(".kx-cand tbody tr").first.get_attribute("data-name")
    assert _snapped_row(page) == first_row in ("sin", "cos")
    page.mouse.move(5, 5)
    page.locator(".kx-snap-status").first.evaluate("e => e.scrollIntoView()")
    screenshot(page, "snap")
    sine_text = _formula_text(page)
    assert re.search(r"\d\.\d+", sine_text), sine_text   # the fitted constants are typeset

    page.locator(".kx-cand tbody tr", has_text="x^2").first.click()
    page.locator(".kx-cand tr.snapped[data-name='x^2']").wait_for()
    expect(_formula(page)).not_to_have_text(SINE)
    assert _formula_text(page) != sine_text
    assert _curve(page, "snapped") != snapped

    page.get_by_role("button", name=re.compile(r"^Unsnap:")).click()
    page.get_by_text(OPEN_HINT).first.wait_for()
    page.wait_for_function("() => window.Bokeh.documents[0].get_model_by_name('snap-snapped').data.y.length === 0")
    assert _curve(page, "learned") == learned
    assert page.locator(".kx-cand tr.snapped").count() == 0
    page_watch.assert_clean()


def test_a_candidate_can_be_chosen_with_the_keyboard(page, app_server):
    _open(page, app_server)
    page.get_by_role("button", name="Snap to gaussian").focus()
    page.keyboard.press("Enter")
    page.locator(".kx-cand tr.snapped[data-name='gaussian']").wait_for()
    page.get_by_text(re.compile(r"^Snapped to")).first.wait_for()
    assert len(_curve(page, "snapped")) == 201
    # the redrawn table keeps the focus where it was, so the next key press goes on from there
    expect(page.get_by_role("button", name="Snap to gaussian")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    page.locator(".kx-cand tr.snapped:not([data-name='gaussian'])").wait_for()


def test_the_weight_slider_re_ranks_the_table_from_the_keyboard(page, app_server):
    _open(page, app_server)
    rows = page.locator(".kx-cand tbody tr")
    assert rows.first.get_attribute("data-name") in ("sin", "cos")
    slider = page.get_by_role("slider", name="Simplicity weight w")
    slider.focus()
    page.keyboard.press("End")
    # all weight on simplicity: the constant 0, complexity 0, goes to the top
    expect(rows.first).to_have_attribute("data-name", "0")
    page.keyboard.press("Home")
    expect(rows.first).to_have_attribute("data-name", re.compile(r"^(sin|cos)$"))


def test_typing_a_noise_level_retrains_the_edge(page, app_server):
    _open(page, app_server)
    learned = _curve(page, "learned")
    samples = _curve(page, "samples")
    # the number box beside the noise slider, found by its accessible name
    box = page.get_by_role("textbox", name=re.compile(r"^Noise \(0 to 0\.5\)"))
    box.fill("0.3")
    box.press("Enter")
    page.wait_for_function("before => { const y = window.Bokeh.documents[0].get_model_by_name('snap-samples').data.y;"
                           " return y[0] !== before }", arg=samples[0])
    after = _curve(page, "learned")
    assert max(abs(a - b) for a, b in zip(after, learned)) > 0.01
    # that much noise and the ranking would rather say nothing: the page says so
    page.get_by_text("the constant 0 scores best").first.wait_for()


def test_nothing_breaks_at_900_pixels_wide(page, app_server):
    page.set_viewport_size({"width": 900, "height": 800})
    _open(page, app_server)
    page.get_by_role("button", name=re.compile(r"^Snap:")).click()
    expect(_formula(page)).to_have_text(SINE)
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    widget = page.locator(".kx-snap-widget").first.bounding_box()
    table = page.locator(".kx-snap-table").first.bounding_box()
    assert table["x"] + table["width"] <= widget["x"] + widget["width"] + 1
    # the text after the explorer starts below it rather than on top of it
    after = page.get_by_text("What Snap does.").first.bounding_box()
    assert after["y"] >= table["y"] + table["height"]
