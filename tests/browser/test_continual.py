"""The learning-without-forgetting chapter in Chromium: replaying the phases with buttons and keys."""

import numpy as np
import pytest
from playwright.sync_api import expect

from widgets.continual import DEFAULTS, learn_in_phases, region_edges

pytestmark = pytest.mark.browser

SLUG = "continual"
N = DEFAULTS["n_bumps"]

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


@pytest.fixture(scope="module")
def phases():
    """The same course the server runs, computed here to know what each phase must show."""
    return learn_in_phases(DEFAULTS["n_bumps"], DEFAULTS["grid_size"], DEFAULTS["seed"])


# True once the first y value of a named source is within 1e-9 of the wanted one.
FIRST_Y_JS = """([name, want]) => {
  const source = window.Bokeh.documents[0].get_model_by_name(name)
  const data = source.data instanceof Map ? source.data : new Map(Object.entries(source.data))
  const y = data.get('y')
  return y !== undefined && y.length > 0 && Math.abs(y[0] - want) < 1e-9
}"""


def source(page, name):
    return page.evaluate(SOURCE_JS, name)


def wait_for_first_y(page, name, value):
    page.wait_for_function(FIRST_Y_JS, arg=[name, float(value)])


def caption(page):
    return page.locator(".kx-continual-readout caption")


def wait_for_phase(page, p):
    expect(caption(page)).to_have_text(f"Error (RMSE) on each region after phase {p}")


def settle(page):
    """Let Bokeh finish painting (legend labels come a moment after the data) before a screenshot."""
    page.wait_for_function("() => window.Bokeh.index.roots.every(r => r.is_idle)")
    page.wait_for_timeout(800)


def open_chapter(page, app_server):
    page.goto(f"{app_server.url}?chapter={SLUG}")
    wait_for_phase(page, N)
    page.wait_for_function("() => window.Bokeh.index.roots.every(r => r.is_idle)")


def assert_shows(page, phases, p):
    """The curves, the shaded region and the readout are those of phase p."""
    wait_for_phase(page, p)
    x = np.array(source(page, "continual-kan")["x"])
    for name, model in (("continual-kan", phases[p - 1].kan), ("continual-mlp", phases[p - 1].mlp)):
        wait_for_first_y(page, name, model(x[:1, None])[0, 0])
        np.testing.assert_allclose(source(page, name)["y"], model(x[:, None])[:, 0], atol=1e-9)
    edges = region_edges(N)
    region = source(page, "continual-region")
    assert region["x0"] == pytest.approx([edges[p - 1]]) and region["x1"] == pytest.approx([edges[p]])
    assert len(source(page, "continual-samples-now")["x"]) == 100
    assert len(source(page, "continual-samples-before")["x"]) == 100 * (p - 1)
    cells = page.locator(".kx-continual-readout tr.kx-kan td")
    shown = [float(v) for v in cells.evaluate_all("cells => cells.map(c => c.dataset.rmse)")]
    np.testing.assert_allclose(shown, phases[p - 1].kan_errors, rtol=1e-12)


def test_the_replay_steps_with_buttons_and_keys(page, page_watch, app_server, phases, screenshot):
    open_chapter(page, app_server)
    assert_shows(page, phases, N)
    note = page.locator(".kx-continual-note .kx-note")
    assert "times larger" in note.inner_text()
    page.locator(".kx-continual-widget").scroll_into_view_if_needed()
    settle(page)
    screenshot(page, SLUG)

    back = page.get_by_role("button", name="Previous phase")
    forward = page.get_by_role("button", name="Next phase")
    expect(forward).to_be_disabled()
    back.click()
    assert_shows(page, phases, N - 1)
    back.click()
    assert_shows(page, phases, N - 2)

    slider = page.get_by_role("slider", name="Phase shown")
    slider.focus()
    slider.press("Home")
    assert_shows(page, phases, 1)
    expect(slider).to_have_attribute("aria-valuenow", "1")
    expect(back).to_be_disabled()
    expect(note).to_contain_text("nothing can be forgotten yet")
    page.locator(".kx-continual-widget").scroll_into_view_if_needed()
    settle(page)
    screenshot(page, f"{SLUG}-phase-1")
    slider.press("ArrowRight")
    assert_shows(page, phases, 2)
    forward.click()
    assert_shows(page, phases, 3)
    forward.focus()
    page.keyboard.press("Enter")
    assert_shows(page, phases, 4)
    page.keyboard.press("Space")
    assert_shows(page, phases, 5)
    back.focus()
    page.keyboard.press("Enter")
    assert_shows(page, phases, 4)
    slider.focus()
    slider.press("End")
    assert_shows(page, phases, N)
    page_watch.assert_clean()


def test_a_coarse_grid_relearns_and_the_kan_forgets_too(page, page_watch, app_server, screenshot):
    open_chapter(page, app_server)
    before = source(page, "continual-kan")["y"]
    page.get_by_role("button", name="20", exact=True).click()
    expect(page.locator(".kx-continual-note .kx-note")).to_contain_text("the KAN took 1500 Adam steps", timeout=60_000)
    coarse = learn_in_phases(N, 20, DEFAULTS["seed"])[-1]
    wait_for_phase(page, N)
    x = np.array(source(page, "continual-kan")["x"])
    wait_for_first_y(page, "continual-kan", coarse.kan(x[:1, None])[0, 0])
    shown = source(page, "continual-kan")["y"]
    assert shown != before
    np.testing.assert_allclose(shown, coarse.kan(x[:, None])[:, 0], atol=1e-9)
    page.locator(".kx-continual-widget").scroll_into_view_if_needed()
    settle(page)
    screenshot(page, f"{SLUG}-coarse-grid")
    page.get_by_role("button", name="Reset").click()
    wait_for_first_y(page, "continual-kan", before[0])
    page_watch.assert_clean()


def test_the_chapter_fits_a_narrow_window(page, app_server, screenshot):
    page.set_viewport_size({"width": 900, "height": 900})
    open_chapter(page, app_server)
    widget = page.locator(".kx-continual-widget")
    widget.scroll_into_view_if_needed()
    box = widget.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 900
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 900
    # the two figures stack, and the widget grows with them instead of running over the text below
    kan, mlp = (page.locator(".kx-continual-widget .bk-Canvas").nth(i).bounding_box() for i in (0, 1))
    assert mlp["y"] >= kan["y"] + kan["height"] - 1
    below = page.get_by_text("Try it.").first.bounding_box()
    assert box["y"] + box["height"] <= below["y"]
    reset = page.get_by_role("button", name="Reset").bounding_box()
    assert reset["y"] + reset["height"] <= box["y"] + box["height"]
    settle(page)
    screenshot(page, f"{SLUG}-900")
