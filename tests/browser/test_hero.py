"""Chapter 1 in Chromium: toggle the networks, tap edges on the canvas, pick one by keyboard, reset."""

import numpy as np
import pytest

pytestmark = pytest.mark.browser

ARROW = "\u2192"

# Where an edge's box sits on screen: its centre in data units, mapped through the plot's own
# scales to canvas pixels, plus the canvas's place on the page.
BOX_POINT = """([name, edge]) => {
  const doc = Bokeh.documents[0];
  const fig = doc.get_model_by_name(name + '-diagram');
  const boxes = doc.get_model_by_name(name + '-boxes').data;
  const n = boxes.edge.indexOf(edge);
  if (n < 0) { return null }
  const view = Bokeh.index.find_one(fig);
  const rect = view.canvas_view.el.getBoundingClientRect();
  const x = (boxes.left[n] + boxes.right[n]) / 2, y = (boxes.bottom[n] + boxes.top[n]) / 2;
  return [rect.left + view.frame.x_scale.compute(x), rect.top + view.frame.y_scale.compute(y)];
}"""

MODEL_READY = """(name) => window.Bokeh && Bokeh.documents.length > 0
  && Bokeh.documents[0].get_model_by_name(name) != null"""


def title(page, name):
    return page.evaluate("(name) => Bokeh.documents[0].get_model_by_name(name).title.text", name)


def wait_for_title(page, name, text):
    page.wait_for_function(
        "([name, text]) => Bokeh.documents[0].get_model_by_name(name).title.text.includes(text)", arg=[name, text])


def column(page, name, key):
    return page.evaluate("([name, key]) => Array.from(Bokeh.documents[0].get_model_by_name(name).data[key])",
                         [name, key])


def open_hero(page, app_server):
    page.goto(f"{app_server.url}?chapter=hero")
    page.locator(".kx-hero").first.wait_for(state="visible")
    page.wait_for_function(MODEL_READY, arg="hero-kan-large")
    wait_for_title(page, "hero-kan-large", "KAN edge")


def box_point(page, name, edge):
    """The middle of an edge's box on the page, once the page has stopped moving under it."""
    point = None
    for _ in range(50):
        now = page.evaluate(BOX_POINT, [name, edge])
        if now is not None and now == point:
            break
        point = now
        page.wait_for_timeout(150)
    assert point is not None, f"no box for the edge {edge!r} in {name}"
    return point


def tap_box(page, name, edge):
    page.mouse.click(*box_point(page, name, edge))


def strongest_edge_from(page, name, source):
    """The name of the boldest drawn KAN edge leaving input ``source``."""
    edges = column(page, f"{name}-boxes", "edge")
    alpha = column(page, f"{name}-curves", "alpha")
    mine = [(a, e) for a, e in zip(alpha, edges) if e.startswith(f"{source} {ARROW}")]
    return max(mine)[1]


def test_opens_with_both_networks_and_the_kan_sine_shown_large(page, page_watch, app_server, screenshot):
    open_hero(page, app_server)
    mlp, kan = page.locator(".kx-hero-mlp"), page.locator(".kx-hero-kan")
    assert mlp.is_visible() and kan.is_visible()
    sine = strongest_edge_from(page, "hero-kan", "x")
    assert title(page, "hero-kan-large") == f"KAN edge {sine}: its learned curve"
    kan.get_by_text("a sine wave").wait_for()
    x = np.array(column(page, "hero-kan-large-curve", "x"))
    y = np.array(column(page, "hero-kan-large-curve", "y"))
    assert abs(np.corrcoef(y, np.sin(np.pi * x))[0, 1]) > 0.999
    assert title(page, "hero-mlp-large").startswith("MLP edge x")
    assert len(column(page, "hero-mlp-large-text", "text")) == 1
    path = screenshot(page, "hero")
    assert path.stat().st_size > 20_000
    page_watch.assert_clean()


def test_the_toggle_switches_between_mlp_kan_and_both(page, app_server):
    open_hero(page, app_server)
    mlp, kan = page.locator(".kx-hero-mlp"), page.locator(".kx-hero-kan")
    page.get_by_role("button", name="MLP", exact=True).click()
    kan.wait_for(state="hidden")
    assert mlp.is_visible()
    page.get_by_role("button", name="KAN", exact=True).click()
    mlp.wait_for(state="hidden")
    assert kan.is_visible()
    page.get_by_role("button", name="both", exact=True).click()
    mlp.wait_for(state="visible")
    assert kan.is_visible()
    mlp_box, kan_box = mlp.bounding_box(), kan.bounding_box()
    assert kan_box["x"] >= mlp_box["x"] + mlp_box["width"] - 1, "at 1280 px the two sit side by side"


def test_tapping_a_kan_edge_shows_its_curve_large_and_names_it(page, app_server):
    open_hero(page, app_server)
    bowl = strongest_edge_from(page, "hero-kan", "y")
    tap_box(page, "hero-kan", bowl)
    wait_for_title(page, "hero-kan-large", f"KAN edge {bowl}")
    page.locator(".kx-hero-kan").get_by_text("a parabola").wait_for()
    x = np.array(column(page, "hero-kan-large-curve", "x"))
    y = np.array(column(page, "hero-kan-large-curve", "y"))
    fitted = np.polyval(np.polyfit(x, y, 2), x)
    assert 1 - np.sum((y - fitted) ** 2) / np.sum((y - y.mean()) ** 2) > 0.999
    assert page.locator(".kx-hero-kan select").input_value() == bowl


def test_tapping_an_mlp_edge_shows_its_lone_number(page, app_server):
    open_hero(page, app_server)
    edge = f"y {ARROW} h1"
    boxes = column(page, "hero-mlp-boxes", "edge")
    written = column(page, "hero-mlp-labels", "text")[boxes.index(edge)]
    page.mouse.move(*box_point(page, "hero-mlp", edge))
    page.get_by_text(f"weight {written}", exact=True).wait_for()   # the hover tooltip
    tap_box(page, "hero-mlp", edge)
    wait_for_title(page, "hero-mlp-large", f"MLP edge {edge}: one weight")
    assert column(page, "hero-mlp-large-text", "text") == [written], "the weight written on that edge, large"
    page.locator(".kx-hero-mlp").get_by_text(f"{edge} is the single number {written}").wait_for()


def test_keyboard_picks_an_edge_and_reset_brings_back_the_sine(page, app_server):
    open_hero(page, app_server)
    opening = title(page, "hero-kan-large")
    picker = page.locator(".kx-hero-kan").get_by_label("Edge shown large")
    before = opening.split(": ")[0].removeprefix("KAN edge ")
    page.wait_for_function("(el) => el.value !== ''", arg=picker.element_handle())
    assert picker.input_value() == before
    picker.focus()
    assert picker.evaluate("el => el.matches(':focus')")
    page.keyboard.press("ArrowDown")
    page.wait_for_function(
        "(before) => !Bokeh.documents[0].get_model_by_name('hero-kan-large').title.text.includes(before)",
        arg=before)
    chosen = picker.input_value()
    assert chosen != before
    wait_for_title(page, "hero-kan-large", f"KAN edge {chosen}")
    page.get_by_role("button", name="MLP", exact=True).click()
    page.locator(".kx-hero-kan").wait_for(state="hidden")
    page.get_by_role("button", name="Reset").click()
    page.locator(".kx-hero-kan").wait_for(state="visible")
    wait_for_title(page, "hero-kan-large", opening)
    assert picker.input_value() == before


def test_at_900_pixels_the_networks_stack_and_nothing_spills_sideways(page, app_server, screenshot):
    page.set_viewport_size({"width": 900, "height": 800})
    open_hero(page, app_server)
    mlp, kan = page.locator(".kx-hero-mlp"), page.locator(".kx-hero-kan")
    mlp_box, kan_box = mlp.bounding_box(), kan.bounding_box()
    assert kan_box["y"] >= mlp_box["y"] + mlp_box["height"] - 1
    assert kan_box["x"] + kan_box["width"] <= 900
    main = page.locator(".kx-hero").first
    assert main.evaluate("el => el.scrollWidth <= el.clientWidth + 1")
    screenshot(page, "hero-900")
