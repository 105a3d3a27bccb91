"""Chapter 10 as a student meets it: watch stage 1 train, then press prune, snap, retrain, show.

What the page shows is read from the status line, the stage table, the typeset formula and the
Bokeh sources of the diagram and the loss plot (found by name in the page's Bokeh document).
"""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

HEADING = re.compile(r"^From network to formula")
SLOW = 180_000    # several helpers share two cores: training in the browser can crawl
RED = "#d32f2f"

# Every number in every data source of the page, checked in the browser.
ALL_FINITE = """() => {
  const bad = []
  for (const model of window.Bokeh.documents[0].all_models) {
    if (!(model.data && model.columns)) continue
    for (const [key, column] of Object.entries(model.data)) {
      const flat = (v) => (v != null && typeof v === "object" && v.length !== undefined && typeof v !== "string")
        ? Array.from(v).flatMap(flat) : [v]
      for (const v of flat(column)) {
        if (typeof v === "number" && !Number.isFinite(v)) bad.push(`${model.name}.${key}`)
      }
    }
  }
  return [...new Set(bad)]
}"""


def source(page, name):
    return page.evaluate("""name => { const s = window.Bokeh.documents[0].get_model_by_name(name)
        const out = {}; for (const [k, v] of Object.entries(s.data)) out[k] = Array.from(v, x =>
            (x != null && typeof x === 'object') ? Array.from(x) : x)
        return out }""", name)


def status(page):
    return page.locator(".kx-pipe-status").first


def button(page, name):
    return page.get_by_role("button", name=name, exact=True)


def wait_status(page, text):
    expect(status(page)).to_contain_text(text, timeout=SLOW)


def open_trained(page, app_server):
    """Open the chapter and wait for stage 1, which starts by itself, to finish."""
    page.goto(f"{app_server.url}?chapter=pipeline")
    page.get_by_role("heading", name=HEADING).wait_for(state="visible", timeout=SLOW)
    wait_status(page, "Next: press 2 · Prune")
    page.wait_for_function("() => window.Bokeh.documents[0].is_idle", timeout=SLOW)


def show(page):
    """Scroll so the explorer's buttons sit at the top of the window."""
    page.locator(".kx-pipe-buttons").first.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.mouse.move(5, 5)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def wait_diagram(page, condition):
    """Wait until the diagram's edge curves satisfy a JavaScript condition on ``c`` (their data)."""
    page.wait_for_function(f"""() => {{ const c = window.Bokeh.documents[0]
        .get_model_by_name('pipeline-diagram-curves').data; return {condition} }}""", timeout=SLOW)


def table_row(page, n):
    return page.locator(f".kx-pipe-table tr[data-step='{n}']").first


def test_a_student_runs_the_pipeline_and_reads_the_formula(page, page_watch, app_server, screenshot):
    open_trained(page, app_server)
    # stage 1 ran by itself: the dense network, its faint edges, and Prune waiting
    curves = source(page, "pipeline-diagram-curves")
    assert len(curves["alpha"]) == 15 and sum(a < 0.15 for a in curves["alpha"]) >= 10
    assert len(source(page, "pipeline-diagram-nodes")["x"]) == 8
    loss = source(page, "pipeline-loss")
    assert loss["step"] == list(range(101)) and loss["test"][-1] < loss["test"][0] / 5
    expect(button(page, "2 · Prune")).to_be_enabled()
    for later in ("3 · Snap", "4 · Retrain constants", "5 · Show formula"):
        expect(button(page, later)).to_be_disabled()
    expect(table_row(page, 1)).to_have_class("done")
    expect(page.locator(".kx-pipe-formula").first).to_contain_text("appears here at stage 5")
    show(page)
    screenshot(page, "pipeline-trained")

    button(page, "2 · Prune").click()
    wait_status(page, "Next: press 3 · Snap")
    wait_diagram(page, "c.alpha.length === 3")
    assert len(source(page, "pipeline-diagram-nodes")["x"]) == 4      # [2, 1, 1]
    assert len(source(page, "pipeline-diagram-curves")["alpha"]) == 3
    expect(table_row(page, 2)).to_contain_text("15 → 3")
    expect(button(page, "2 · Prune")).to_be_disabled()

    button(page, "3 · Snap").click()
    wait_status(page, "Next: press 4 · Retrain the constants")
    wait_diagram(page, "Array.from(c.dash).every(d => d === 'dashed')")
    curves = source(page, "pipeline-diagram-curves")
    assert set(curves["color"]) == {RED} and set(curves["dash"]) == {"dashed"}
    assert sorted(source(page, "pipeline-diagram-labels")["text"]) == ["exp", "sin", "x^2"]
    assert source(page, "pipeline-marks")["label"] == ["pruned", "snapped"]
    show(page)
    screenshot(page, "pipeline-snapped")

    button(page, "4 · Retrain constants").click()
    wait_status(page, "Next: press 5 · Show the formula")
    snapped_error = float(table_row(page, 3).locator("td").nth(4).inner_text())
    retrained_error = float(table_row(page, 4).locator("td").nth(4).inner_text())
    assert retrained_error < snapped_error

    button(page, "5 · Show formula").click()
    wait_status(page, "Done")
    typeset = page.locator(".kx-pipe-latex .katex-html").first
    expect(typeset).to_contain_text("sin")
    text = page.locator(".kx-pipe-text").first.inner_text()
    assert re.fullmatch(r"exp\(sin\(3\.14\d+\*x\) \+ y\*\*2\)", text), text
    printed_error = float(page.locator(".kx-pipe-rmse").first.inner_text())
    assert printed_error < 1e-3
    expect(button(page, "1 · Train again")).to_be_enabled()
    assert page.evaluate(ALL_FINITE) == []
    show(page)
    screenshot(page, "pipeline-formula")
    page_watch.assert_clean()


def test_a_new_library_sends_the_network_back_to_be_snapped_again(page, app_server):
    open_trained(page, app_server)
    button(page, "2 · Prune").click()
    wait_status(page, "Next: press 3 · Snap")
    button(page, "3 · Snap").click()
    wait_status(page, "Next: press 4")
    page.get_by_role("button", name="x³", exact=True).click()
    wait_status(page, "The library changed")
    wait_diagram(page, "Array.from(c.dash).every(d => d === 'solid')")
    assert set(source(page, "pipeline-diagram-curves")["dash"]) == {"solid"}
    assert source(page, "pipeline-marks")["label"] == ["pruned"]
    expect(button(page, "3 · Snap")).to_be_enabled()
    expect(table_row(page, 3)).to_have_class("todo")


def test_the_buttons_work_from_the_keyboard(page, app_server):
    open_trained(page, app_server)
    button(page, "2 · Prune").focus()
    page.keyboard.press("Enter")
    wait_status(page, "Next: press 3 · Snap")
    button(page, "3 · Snap").focus()
    page.keyboard.press("Enter")
    wait_status(page, "Next: press 4")


def test_nothing_breaks_at_900_pixels_wide(page, app_server, screenshot):
    page.set_viewport_size({"width": 900, "height": 900})
    open_trained(page, app_server)
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    explorer = page.locator(".kx-pipe").first.bounding_box()
    right = explorer["x"] + explorer["width"] + 1
    for part in (".kx-pipe-buttons", ".kx-pipe-status", ".kx-pipe-formula", ".kx-pipe-diagram", ".kx-pipe-table"):
        box = page.locator(part).first.bounding_box()
        assert box["x"] >= explorer["x"] - 1 and box["x"] + box["width"] <= right, part
    # the text after the explorer starts below it rather than on top of it
    after = page.get_by_text("What each button does").first.bounding_box()
    assert after["y"] >= explorer["y"] + explorer["height"] - 1
    show(page)
    screenshot(page, "pipeline-900")
