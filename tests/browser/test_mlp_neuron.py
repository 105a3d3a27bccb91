"""The MLP neuron chapter as a student uses it: type a weight, press arrow keys, pick tanh."""

import time

import numpy as np
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

URL_SLUG = "mlp-neuron"
X = np.array([1.0, 2.0, 0.5])        # the opening inputs, weights and bias
W = np.array([1.5, -0.5, 0.8])
B = 0.2


def shown(page, key):
    """The number in the readout cell ``data-kx=key``."""
    text = page.locator(f'[data-kx="{key}"]').inner_text(timeout=2000)
    return float(text.replace("\u2212", "-"))


def wait_for_number(page, key, expected, tol=6e-5, timeout=20.0):
    """Poll the readout cell ``key`` until it shows ``expected`` (to the 4 decimals it prints)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = shown(page, key)
        except (ValueError, PlaywrightError):
            value = None
        if value is not None and abs(value - expected) <= tol:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the readout {key!r} shows {value}, expected {expected:.6g}")
        page.wait_for_timeout(50)


def expect_readouts(page, x, w, b, act):
    z = float(np.dot(w, x) + b)
    a = float(act(z))
    wait_for_number(page, "a", a)
    for i in range(3):
        assert shown(page, f"product{i + 1}") == pytest.approx(w[i] * x[i], abs=6e-5)
    assert shown(page, "z") == pytest.approx(z, abs=6e-5)
    assert shown(page, "a") == pytest.approx(a, abs=6e-5)
    return z, a


def open_chapter(page, app_server):
    page.goto(f"{app_server.url}?chapter={URL_SLUG}")
    page.get_by_role("heading", name="What an MLP neuron does").wait_for()
    page.locator('[data-kx="z"]').wait_for()


def scroll_to_top(page, selector):
    page.locator(selector).first.evaluate("e => e.scrollIntoView({block: 'start'})")


def relu(z):
    return max(z, 0.0)


def type_into(page, label, text):
    box = page.get_by_label(label, exact=True)
    box.click()
    box.press("Control+a")
    box.press("Delete")
    box.press_sequentially(text)
    box.press("Enter")


def curve(page):
    return page.evaluate("""() => {
        const src = window.Bokeh.documents[0].get_model_by_name('mlp-neuron-curve')
        return {x: Array.from(src.data.x), y: Array.from(src.data.y)}
    }""")


def test_opening_state_adds_up(page, app_server, screenshot):
    open_chapter(page, app_server)
    z, a = expect_readouts(page, X, W, B, relu)
    assert z > 0 and a == z
    scroll_to_top(page, ".kx-mlp-neuron-widget")
    path = screenshot(page, "mlp-neuron")
    assert path.stat().st_size > 10_000


def test_typing_a_weight_updates_product_sum_and_output(page, page_watch, app_server):
    open_chapter(page, app_server)
    type_into(page, "weight w\u2082 value", "-1.5")
    w = W.copy()
    w[1] = -1.5
    z, a = expect_readouts(page, X, w, B, relu)
    assert z < 0 and a == 0.0                 # ReLU clips a negative sum
    expect(page.get_by_role("slider", name="weight w\u2082")).to_have_attribute("aria-valuenow", "-1.5")
    page_watch.assert_clean()


def test_arrow_keys_on_a_slider_step_the_weight(page, app_server):
    open_chapter(page, app_server)
    slider = page.get_by_role("slider", name="weight w\u2081")
    slider.focus()
    for _ in range(3):
        slider.press("ArrowRight")
    w = W.copy()
    w[0] = 1.8
    expect_readouts(page, X, w, B, relu)
    slider.press("ArrowLeft")
    w[0] = 1.7
    expect_readouts(page, X, w, B, relu)
    expect(page.get_by_label("weight w\u2081 value", exact=True)).to_have_value("1.70")


def test_picking_tanh_redraws_the_activation_and_the_output(page, app_server):
    open_chapter(page, app_server)
    before = curve(page)
    assert np.allclose(before["y"], np.maximum(before["x"], 0.0))
    page.get_by_role("button", name="tanh", exact=True).click()
    page.wait_for_function("""() => {
        const y = window.Bokeh.documents[0].get_model_by_name('mlp-neuron-curve').data.y
        return Math.min(...y) < -0.9
    }""")
    after = curve(page)
    assert np.allclose(after["y"], np.tanh(after["x"]), atol=1e-12)
    expect_readouts(page, X, W, B, np.tanh)
    point = page.evaluate("""() => {
        const src = window.Bokeh.documents[0].get_model_by_name('mlp-neuron-point')
        return [src.data.x[0], src.data.y[0]]
    }""")
    z = float(np.dot(W, X) + B)
    assert point == pytest.approx([z, np.tanh(z)], abs=1e-12)


def test_an_absurd_typed_number_is_clamped_with_a_sentence(page, app_server):
    open_chapter(page, app_server)
    type_into(page, "input x\u2081 value", "99")
    message = page.get_by_role("status").filter(has_text="must be between")
    message.wait_for()
    assert "input x\u2081 must be between \u22122.00 and 2.00; 99 was set to 2.00." in message.inner_text()
    x = X.copy()
    x[0] = 2.0
    expect_readouts(page, x, W, B, relu)


def test_reset_and_two_inputs(page, app_server):
    open_chapter(page, app_server)
    page.get_by_role("button", name="2 inputs").click()
    page.locator('[data-kx="product3"]').wait_for(state="detached")
    expect_readouts_2 = float(np.dot(W[:2], X[:2]) + B)
    wait_for_number(page, "z", expect_readouts_2)
    page.get_by_role("button", name="Reset").click()
    page.locator('[data-kx="product3"]').wait_for()
    expect_readouts(page, X, W, B, relu)


def test_nothing_overflows_a_900_pixel_window(page, app_server, screenshot):
    page.set_viewport_size({"width": 900, "height": 800})
    open_chapter(page, app_server)
    expect_readouts(page, X, W, B, relu)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 900
    for control in page.get_by_role("slider").all() + page.get_by_role("textbox").all():
        control.scroll_into_view_if_needed()
        box = control.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 900, control
    scroll_to_top(page, ".kx-mlp-neuron-widget")
    screenshot(page, "mlp-neuron-900")
