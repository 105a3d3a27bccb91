"""The costs chapter as a student uses it: it opens with a measurement already on screen, "Measure
again" replaces the numbers, and the summary table and the stopwatch fit a narrow window. Nothing
here depends on how fast the server is."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SWEEP_MS = """() => ['kan', 'mlp'].map(k =>
  Array.from(window.Bokeh.documents[0].get_model_by_name('costs_sweep_' + k).data.ms))"""


def _open(page, app_server):
    page.goto(f"{app_server.url}?chapter=costs")
    page.get_by_text("Costs and choices").first.wait_for(state="visible")
    page.locator(".kx-costs-readout").wait_for(state="visible")
    page.wait_for_function("() => window.Bokeh.index.roots.every(r => r.is_idle)")


def _cells(page):
    """The measured pair's table as shown: {row header: (KAN cell, MLP cell)}."""
    rows = page.locator(".kx-costs-pair tbody tr")
    out = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        out[row.locator("th").inner_text()] = tuple(row.locator("td").all_inner_texts())
    return out


def test_the_chapter_opens_with_a_measurement_and_measure_again_replaces_it(page, app_server, page_watch,
                                                                             screenshot):
    _open(page, app_server)
    readout = page.locator(".kx-costs-readout")
    expect(readout).to_contain_text("Measurement 1:")
    first = _cells(page)
    assert first["Network"][0] == "KAN [2, 10, 1], G = 5, k = 3"
    assert first["Network"][1].startswith("MLP [2, ")
    kan_params, mlp_params = (int(v.replace(",", "")) for v in first["Parameters"])
    assert abs(kan_params - mlp_params) <= 0.05 * kan_params
    for kan, mlp in (first["Time per Adam step"], first["Time per parameter"]):
        assert kan.endswith(" ms") or kan.endswith(" µs")
        assert float(kan.split()[0]) > 0 and float(mlp.split()[0]) > 0
    sweep_before = page.evaluate(SWEEP_MS)
    assert all(len(ms) >= 1 and all(v > 0 for v in ms) for ms in sweep_before)
    assert page.locator(".kx-costs-summary tbody th[scope=row]").count() == 7
    page.locator(".kx-costs-stopwatch").evaluate("e => e.scrollIntoView()")
    screenshot(page, "costs")

    page.get_by_role("button", name=re.compile(r"^Measure again")).click()
    expect(readout).to_contain_text("Measurement 2:")
    expect(page.locator(".kx-costs-pair")).to_have_attribute("data-measurement", "2")
    page.wait_for_function(f"before => JSON.stringify(({SWEEP_MS})()) !== JSON.stringify(before)", arg=sweep_before)
    assert page.evaluate(SWEEP_MS) != sweep_before
    assert "Measurement 1:" not in readout.inner_text()
    second = _cells(page)
    assert second["Network"] == first["Network"] and second["Parameters"] == first["Parameters"]
    page_watch.assert_clean()


def test_typing_a_grid_size_measures_the_new_kan(page, app_server, page_watch):
    _open(page, app_server)
    entry = page.get_by_label("G (3 to 100)")
    entry.fill("50")
    entry.press("Enter")
    expect(page.locator(".kx-costs-pair")).to_contain_text("G = 50, k = 3")
    expect(page.locator(".kx-costs-readout")).to_contain_text("Measurement 2:")
    page_watch.assert_clean()


def test_at_900_pixels_nothing_spills_sideways(page, app_server, page_watch, screenshot):
    page.set_viewport_size({"width": 900, "height": 900})
    _open(page, app_server)
    for selector in (".kx-costs-summary", ".kx-costs-stopwatch", ".kx-costs-pair", ".kx-costs-sweep"):
        box = page.locator(selector).bounding_box()
        assert box["x"] + box["width"] <= 900, selector
    right = page.evaluate("""() => {
      const v = [...window.Bokeh.index.roots[0].owner.all_views()].find(v => v.model.name === 'costs_sweep')
      return v.el.getBoundingClientRect().right }""")
    assert right <= 900
    page.locator(".kx-costs-summary").evaluate("e => e.scrollIntoView()")
    screenshot(page, "costs-900-summary")
    page.locator(".kx-costs-stopwatch").evaluate("e => e.scrollIntoView()")
    screenshot(page, "costs-900")
    page_watch.assert_clean()
