"""The layer chapter as a student uses it: drag, press keys and type the inputs, toggle MLP/KAN,
pick x and y for the product; the totals shown must always be the sums of the values shown."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

READY = "Each node adds what arrives"


def _open(page, app_server):
    page.goto(f"{app_server.url}?chapter=layer")
    page.get_by_text(READY).wait_for(state="visible", timeout=60_000)
    page.locator(".kx-layer-readout .kx-total").first.wait_for(state="visible")


def _num(text):
    return float(text.strip().replace("−", "-"))


def _node_row(page, j):
    """(parts, total) as printed in the readout row of output node j (1-based)."""
    row = page.locator(f".kx-layer-readout tr.kx-node-{j}")
    parts = [_num(t) for t in row.locator("td.kx-part").all_inner_texts()]
    return parts, _num(row.locator("td.kx-total").inner_text())


def _readout(page):
    return page.locator(".kx-layer-readout .kx-layer-table").inner_text()


def _assert_totals_add_up(page, n_parts):
    for j in (1, 2):
        parts, total = _node_row(page, j)
        assert len(parts) == n_parts
        # each printed value is rounded to 3 decimals, so the printed sum may be off by 1.5e-3
        assert total == pytest.approx(sum(parts), abs=2e-3), (parts, total)


def _figure_point(page, name, x):
    """Page coordinates of data x at mid-height of the plotting area of the figure called `name`."""
    return page.evaluate("""([name, x]) => {
        const fig = Bokeh.documents[0].get_model_by_name(name)
        const view = Bokeh.index.find_one_by_id(fig.id)
        const box = view.el.getBoundingClientRect(), frame = view.frame.bbox
        return [box.left + view.frame.x_scale.compute(x), box.top + frame.top + frame.height / 2]
    }""", [name, x])


def _settled_point(page, name, x):
    """_figure_point once the page has stopped moving (equations and fonts can still shift it)."""
    before = _figure_point(page, name, x)
    for _ in range(20):
        page.wait_for_timeout(250)
        now = _figure_point(page, name, x)
        if now == before:
            return now
        before = now
    return before


def _source(page, name):
    return page.evaluate("name => { const d = Bokeh.documents[0].get_model_by_name(name).data;"
                         " return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, Array.from(v)])) }",
                         name)


def _input_box(page, label):
    return page.get_by_role("textbox", name=label, exact=True)


def _type(page, label, text):
    """Click the number box called `label`, replace what it shows with `text`, press Enter."""
    box = _input_box(page, label)
    box.click()
    box.press("ControlOrMeta+a")
    box.press_sequentially(text)
    box.press("Enter")
    return box


def _wait_dot_at(page, name, x):
    page.wait_for_function("([name, x]) => Math.abs(Bokeh.documents[0].get_model_by_name(name).data.x[0] - x) < 1e-9",
                           arg=[name, x])


def test_dragging_an_input_moves_its_dots_and_the_totals_stay_the_sums(page, page_watch, app_server, screenshot):
    _open(page, app_server)
    _assert_totals_add_up(page, 3)
    screenshot(page, "layer")
    before = _readout(page)
    page.locator(".kx-layer-trace").first.scroll_into_view_if_needed()
    start = _settled_point(page, "layer-curve-1-2", -0.7)
    end = _figure_point(page, "layer-curve-1-2", 0.3)
    page.mouse.move(*start)
    page.mouse.down()
    for n in range(1, 11):
        page.mouse.move(start[0] + (end[0] - start[0]) * n / 10, start[1], steps=2)
    page.mouse.up()
    box = _input_box(page, "x₂")
    page.wait_for_function("el => Math.abs(parseFloat(el.value) - 0.3) < 0.03", arg=box.element_handle())
    expect(page.locator(".kx-layer-readout .kx-layer-table")).not_to_have_text(before)
    assert _readout(page) != before
    for j in (1, 2):
        dot = _source(page, f"layer-dot-{j}-2")
        assert dot["x"][0] == pytest.approx(float(box.input_value()), abs=1e-9)
    _assert_totals_add_up(page, 3)
    # a click in a column sets that input too, and a quick second click is not lost
    page.mouse.click(*_figure_point(page, "layer-curve-2-1", -0.4))
    page.mouse.click(*_figure_point(page, "layer-curve-2-1", 0.1))
    expect(_input_box(page, "x₁")).to_have_value("0.10")
    _wait_dot_at(page, "layer-dot-1-1", 0.1)
    _assert_totals_add_up(page, 3)
    page_watch.assert_clean()


def test_keys_and_typing_set_an_input(page, app_server):
    _open(page, app_server)
    before = _readout(page)
    box = _type(page, "x₃", "-0.25")
    _wait_dot_at(page, "layer-dot-1-3", -0.25)
    _wait_dot_at(page, "layer-dot-2-3", -0.25)
    assert _readout(page) != before
    _assert_totals_add_up(page, 3)
    slider = page.get_by_role("slider", name="x₃", exact=True)
    slider.focus()
    for _ in range(5):
        slider.press("ArrowRight")
    _wait_dot_at(page, "layer-dot-1-3", -0.20)
    expect(box).to_have_value("-0.20")
    box.click()
    box.press("ArrowUp")
    _wait_dot_at(page, "layer-dot-1-3", -0.19)
    _assert_totals_add_up(page, 3)


def test_an_absurd_typed_value_is_clamped_with_a_sentence(page, app_server):
    _open(page, app_server)
    box = _type(page, "x₁", "5")
    _wait_dot_at(page, "layer-dot-1-1", 1.0)
    notice = page.locator(".kx-layer-trace .kx-msg")
    assert notice.inner_text() == "x₁ goes from −1 to 1, so 5 became 1.00."
    expect(box).to_have_value("1.00")
    _assert_totals_add_up(page, 3)
    page.locator(".kx-layer-trace").get_by_role("button", name="Reset").click()
    _wait_dot_at(page, "layer-dot-1-1", 0.5)
    notice.wait_for(state="detached")


def test_the_mlp_toggle_swaps_curves_for_six_numbers_and_back(page, app_server):
    _open(page, app_server)
    kan_curve = _source(page, "layer-edge-1-1")
    page.get_by_role("button", name="MLP layer").click()
    page.get_by_text("The MLP layer learned six numbers").wait_for()
    weights = [_num(t) for t in page.locator(".kx-weights td.kx-weight").all_inner_texts()]
    assert len(weights) == 6
    page.wait_for_function("() => Bokeh.documents[0].get_model_by_name('layer-segments-1').data.label.length == 4")
    line = _source(page, "layer-edge-1-1")
    assert line["y"] != kan_curve["y"]
    # the MLP edge from x1 to out1 is the straight line w * x through 0 with w the table's first number
    slope = (line["y"][-1] - line["y"][0]) / (line["x"][-1] - line["x"][0])
    assert slope == pytest.approx(weights[0], abs=6e-4)
    assert line["y"][len(line["y"]) // 2] == pytest.approx(0.0, abs=1e-12)
    _assert_totals_add_up(page, 4)
    page.get_by_role("button", name="KAN layer").click()
    page.locator(".kx-weights").wait_for(state="detached")
    page.wait_for_function("() => Bokeh.documents[0].get_model_by_name('layer-segments-1').data.label.length == 3")
    assert _source(page, "layer-edge-1-1")["y"] == pytest.approx(kan_curve["y"], abs=1e-12)
    _assert_totals_add_up(page, 3)


def test_the_product_example_adds_up_to_x_times_y(page, app_server):
    _open(page, app_server)
    _type(page, "x", "-1.5")
    _type(page, "y", "0.4")
    check = page.locator(".kx-product-readout .kx-check")
    expect(check).to_contain_text("−1.50 × 0.40 =")
    cells = [_num(t) for t in page.locator(".kx-product-readout td.kx-num").all_inner_texts()]
    xy, xy_squared, x2, y2, sq, half_square, minus_half, total = cells
    assert xy == pytest.approx(-1.1)
    assert xy_squared == pytest.approx(1.21)
    assert half_square == pytest.approx(xy_squared / 2)
    assert (x2, y2) == (pytest.approx(2.25), pytest.approx(0.16))
    assert sq == pytest.approx(x2 + y2)
    assert total == pytest.approx(half_square + minus_half, abs=2e-4)
    assert total == pytest.approx(-1.5 * 0.4, abs=1e-4)
    assert re.search(r"= \S*0\.6000", check.inner_text())


def test_nothing_spills_sideways_in_a_900_pixel_window(page, app_server):
    page.set_viewport_size({"width": 900, "height": 800})
    _open(page, app_server)
    too_wide = page.evaluate("""() => {
        const out = []
        const walk = (root) => { for (const el of root.querySelectorAll('*')) {
            if (el.shadowRoot) walk(el.shadowRoot)
            const r = el.getBoundingClientRect()
            if (r.width > 0 && r.right > window.innerWidth + 1) out.push(String(el.className).slice(0, 60))
        } }
        walk(document)
        return out
    }""")
    assert too_wide == []
