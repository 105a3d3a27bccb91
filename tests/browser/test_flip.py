"""The flip chapter as a student uses it: flip MLP/KAN, hover and tap an edge, type an input."""

import time

import numpy as np
import pytest

from widgets.flip import HEIGHT, INPUT_Y, NODE_X, WIDTH, X_RANGE, Y_RANGE, train_unit_pair

pytestmark = pytest.mark.browser

KAN_CAPTION = "KAN form: a learned curve sits on every edge; the node only adds."
MLP_CAPTION = "MLP form: a number sits on every edge; the node adds, then squashes with tanh."


@pytest.fixture(scope="module")
def models():
    """The same models the server trains: training is deterministic for a fixed seed."""
    return train_unit_pair()


def open_chapter(page, app_server):
    page.goto(f"{app_server.url}?chapter=flip")
    page.get_by_role("heading", name="Flip it: the same unit drawn both ways").wait_for()
    page.get_by_text(KAN_CAPTION).wait_for()


def scroll_to_top(page, selector):
    page.locator(selector).first.evaluate("e => e.scrollIntoView({block: 'start'})")


def large_caption(page):
    return page.locator(".kx-flip-large-caption p")


def renderer_visible(page, source_name):
    return page.evaluate("""(name) => {
        const doc = window.Bokeh.documents[0]
        const src = doc.get_model_by_name(name)
        const found = [...doc.all_models].filter(m => m.data_source === src)
        return found.map(r => r.visible)
    }""", source_name)


def source(page, name):
    return page.evaluate("""(name) => {
        const data = window.Bokeh.documents[0].get_model_by_name(name).data
        return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Array.from(v)]))
    }""", name)


def edge_point(page, edge):
    """Page coordinates of the middle of input edge 1 or 2 on the diagram's canvas."""
    canvas = page.locator(".kx-flip-diagram canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, y = NODE_X / 2, INPUT_Y[edge - 1] / 2
    px = box["x"] + (x - X_RANGE[0]) / (X_RANGE[1] - X_RANGE[0]) * WIDTH
    py = box["y"] + (Y_RANGE[1] - y) / (Y_RANGE[1] - Y_RANGE[0]) * HEIGHT
    return px, py


def test_the_toggle_flips_between_the_two_forms(page, page_watch, app_server, screenshot):
    open_chapter(page, app_server)
    assert renderer_visible(page, "flip-mini-curves") == [True]
    assert renderer_visible(page, "flip-squash") == [False]
    scroll_to_top(page, ".kx-flip-explorer")
    screenshot(page, "flip")

    page.get_by_role("button", name="MLP", exact=True).click()
    page.get_by_text(MLP_CAPTION).wait_for()
    assert page.get_by_text(KAN_CAPTION).count() == 0
    page.wait_for_function("""() => {
        const doc = window.Bokeh.documents[0]
        const src = doc.get_model_by_name('flip-squash')
        return [...doc.all_models].some(m => m.data_source === src && m.visible)
    }""")
    assert renderer_visible(page, "flip-mini-curves") == [False]
    assert "the weight w\u2081" in large_caption(page).inner_text()
    assert page.locator(".kx-flip-table-pane th", has_text="MLP (drawn)").count() == 1
    scroll_to_top(page, ".kx-flip-explorer")
    screenshot(page, "flip-mlp")

    page.get_by_role("button", name="KAN", exact=True).click()
    page.get_by_text(KAN_CAPTION).wait_for()
    assert "the learned curve \u03c6\u2081" in large_caption(page).inner_text()
    page_watch.assert_clean()


def test_hovering_and_tapping_an_edge_shows_it_large(page, app_server, models):
    kan, mlp = models
    open_chapter(page, app_server)
    assert large_caption(page).get_attribute("data-edge") == "1"

    page.mouse.move(*edge_point(page, 2))
    page.locator('.kx-flip-large-caption p[data-edge="2"]').wait_for()
    assert "the learned curve \u03c6\u2082" in large_caption(page).inner_text()
    curve = source(page, "flip-large-curve")
    assert np.allclose(curve["y"], kan.edge(0, 1, 0)(np.array(curve["x"])), atol=1e-9)

    page.get_by_role("button", name="MLP", exact=True).click()
    page.get_by_text(MLP_CAPTION).wait_for()
    page.mouse.move(10, 10)
    page.mouse.click(*edge_point(page, 1))
    page.locator('.kx-flip-large-caption p[data-edge="1"]').wait_for()
    text = large_caption(page).inner_text()
    w1 = mlp.weights[0][0, 0]
    assert f"w\u2081 = {w1:.2f}".replace("-", "\u2212") in text
    shown = source(page, "flip-large-text")["text"]
    assert shown[1] == f"{w1:.2f}".replace("-", "\u2212")


def test_typing_an_input_changes_both_outputs_to_what_kan_core_computes(page, app_server, models):
    kan, mlp = models
    open_chapter(page, app_server)
    box = page.get_by_label("input x\u2081 value", exact=True)
    box.click()
    box.press("Control+a")
    box.press("Delete")
    box.press_sequentially("-0.25")
    box.press("Enter")
    x = np.array([[-0.25, -0.5]])
    want = {"kan-y": kan(x)[0, 0], "mlp-y": mlp(x)[0, 0], "target": np.sin(np.pi * -0.25) + 0.25}
    deadline = time.monotonic() + 20
    while True:
        got = {key: float(page.locator(f'[data-kx="{key}"]').inner_text().replace("\u2212", "-"))
               for key in want}
        if all(abs(got[k] - want[k]) <= 0.0051 for k in want) or time.monotonic() > deadline:
            break
        page.wait_for_timeout(50)
    for key in want:
        assert got[key] == pytest.approx(want[key], abs=0.0051), key
    dots = source(page, "flip-mini-dots")
    assert len(dots["x"]) == 2


def test_reset_returns_to_the_kan_form_and_the_first_edge(page, app_server):
    open_chapter(page, app_server)
    page.get_by_role("button", name="MLP", exact=True).click()
    page.get_by_role("button", name="edge from x\u2082").click()
    page.get_by_text(MLP_CAPTION).wait_for()
    page.locator('.kx-flip-large-caption p[data-edge="2"]').wait_for()
    page.get_by_role("button", name="Reset").click()
    page.get_by_text(KAN_CAPTION).wait_for()
    page.locator('.kx-flip-large-caption p[data-edge="1"]').wait_for()


def test_nothing_overflows_a_900_pixel_window(page, app_server, screenshot):
    page.set_viewport_size({"width": 900, "height": 800})
    open_chapter(page, app_server)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 900
    for canvas in page.locator(".kx-flip canvas").all():
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 900
    scroll_to_top(page, ".kx-flip-explorer")
    screenshot(page, "flip-900")
