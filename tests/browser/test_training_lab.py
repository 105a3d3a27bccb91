"""The training lab as a student uses it: play, pause, step, extend, reset, type formulas, break it.

What the page shows is read from the readouts (their text) and from the Bokeh sources the plots
draw (found by name in the page's Bokeh document).
"""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

HEADING = "Train a tiny KAN"
SLOW = 90_000   # several helpers share two cores: training in the browser can crawl

# Every number in every data source of the page, checked in the browser.
ALL_FINITE = """() => {
  const doc = window.Bokeh.documents[0]
  const bad = []
  for (const model of doc.all_models) {
    if (model.type !== "ColumnDataSource" && !(model.data && model.columns)) continue
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


def open_lab(page, app_server):
    page.goto(f"{app_server.url}?chapter=training-lab")
    page.get_by_role("heading", name=HEADING, exact=True).wait_for(state="visible", timeout=SLOW)
    lab = page.locator(".kx-lab").first
    lab.locator(".kx-step").wait_for(state="visible", timeout=SLOW)
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && Bokeh.documents[0].is_idle",
                           timeout=SLOW)
    return lab


def readout(lab, key):
    return lab.locator(f".kx-{key}").first.inner_text()


def step_count(lab):
    return int(readout(lab, "step").replace(",", ""))


def until(page, condition, what, timeout_ms=SLOW):
    """Poll ``condition()`` (it reads the page through Playwright, which sees inside Panel's shadow
    roots) every 100 ms until it is true; fail with ``what`` after ``timeout_ms``."""
    for _ in range(timeout_ms // 100):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"Timed out waiting for {what}.")


def wait_steps(lab, at_least):
    until(lab.page, lambda: step_count(lab) >= at_least, f"the step counter to reach {at_least}")


def wait_message(lab, text):
    until(lab.page, lambda: text in readout(lab, "msg"), f"the message to say {text!r}")


def show_views(lab):
    """Scroll so the play buttons sit at the top of the window, as a student watching training would."""
    lab.locator(".kx-lab-transport").first.evaluate("e => e.scrollIntoView({block: 'start'})")
    lab.page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def button(lab, name):
    return lab.get_by_role("button", name=name, exact=True)


def source(page, name):
    return page.evaluate("""name => { const s = window.Bokeh.documents[0].get_model_by_name(name)
        const out = {}; for (const [k, v] of Object.entries(s.data)) out[k] = Array.from(v, x =>
            (x != null && typeof x === 'object') ? Array.from(x) : x)
        return out }""", name)


def type_into(lab, label, text):
    box = lab.get_by_role("textbox", name=re.compile(f"^{re.escape(label)}"))
    box.click()
    box.press("Control+a")
    box.press_sequentially(text)
    box.press("Enter")
    return box


def test_play_pause_step_extend_and_reset(page, page_watch, app_server, screenshot):
    lab = open_lab(page, app_server)
    box, after = lab.bounding_box(), page.get_by_text("Try it.").first.bounding_box()
    assert after["y"] >= box["y"] + box["height"] - 1, "the text after the lab must not overlap it"
    assert step_count(lab) == 0
    start_error = float(readout(lab, "test"))
    assert "Press Play" in readout(lab, "msg")
    button(lab, "Play").click()
    button(lab, "Pause").wait_for(timeout=SLOW)
    wait_steps(lab, 20)
    first_steps, first_error = step_count(lab), float(readout(lab, "test"))
    wait_steps(lab, first_steps + 40)
    later_steps, later_error = step_count(lab), float(readout(lab, "test"))
    assert 0 < first_steps < later_steps
    assert later_error < first_error < start_error
    loss = source(page, "training-loss")
    assert loss["step"][0] == 0 and loss["step"] == sorted(loss["step"])
    assert loss["test"][-1] < loss["test"][0] / 2

    button(lab, "Pause").click()
    button(lab, "Play").wait_for(timeout=SLOW)
    paused = step_count(lab)
    button(lab, "Step").click()
    wait_steps(lab, paused + 1)
    page.wait_for_timeout(800)          # long enough for several ticks, had the callback survived
    assert step_count(lab) == paused + 1, "paused training must not move on its own"

    button(lab, "Extend grid: G 5 → 10").click()
    button(lab, "Extend grid: G 10 → 20").wait_for(timeout=SLOW)
    assert "G = 10" in lab.locator(".kx-stat-step .kx-sub").inner_text()
    marks = source(page, "training-extensions")
    assert marks["step"] == [paused + 1] and marks["label"] == ["G = 10"]
    show_views(lab)
    screenshot(page, "training-lab")

    button(lab, "Reset").click()
    until(page, lambda: step_count(lab) == 0, "the step counter to go back to 0")
    wait_message(lab, "Press Play to train")
    assert lab.get_by_role("button", name=re.compile("^Extend grid: G 5")).count() == 1
    assert source(page, "training-extensions")["step"] == []
    page_watch.assert_clean()


def test_play_is_keyboard_operable(page, app_server):
    lab = open_lab(page, app_server)
    play = button(lab, "Play")
    play.focus()
    assert play.evaluate("e => e.matches(':focus')"), "the Play button takes the keyboard focus"
    page.keyboard.press("Enter")
    pause = button(lab, "Pause")
    pause.wait_for(timeout=SLOW)
    wait_steps(lab, 5)
    assert button(lab, "Pause").count() == 1, "one key press must not toggle twice"
    pause.focus()
    page.keyboard.press("Enter")
    button(lab, "Play").wait_for(timeout=SLOW)


def test_an_invalid_formula_shows_the_message_and_a_2d_formula_trains(page, page_watch, app_server, screenshot):
    lab = open_lab(page, app_server)
    type_into(lab, "Formula in x and y", "sin(x")
    parser_says = "Missing ')' to close 'sin(' at position 3."    # kan_core's FormulaError for 'sin(x'
    lab.get_by_text(parser_says).first.wait_for(timeout=SLOW)
    helper = lab.locator(".MuiFormHelperText-root").first.inner_text()
    assert helper == parser_says
    wait_message(lab, "Training cannot start")
    assert helper in readout(lab, "msg")
    button(lab, "Play").click()
    page.wait_for_timeout(500)
    assert step_count(lab) == 0 and button(lab, "Play").count() == 1, "training must not start"

    type_into(lab, "Formula in x and y", "x*y + sin(y)")
    wait_message(lab, "Press Play to train")
    assert lab.locator(".MuiFormHelperText-root").first.inner_text() == "Press Enter to learn it."
    start_error = float(readout(lab, "test"))
    button(lab, "Play").click()
    wait_steps(lab, 30)
    button(lab, "Pause").click()
    button(lab, "Play").wait_for(timeout=SLOW)
    assert float(readout(lab, "test")) < start_error / 2
    target = source(page, "training-heat-target")
    assert len(target["image"]) == 1
    show_views(lab)
    screenshot(page, "training-lab-formula-2d")
    page_watch.assert_clean()


def test_a_huge_learning_rate_stops_with_a_message_and_no_nan_anywhere(page, page_watch, app_server):
    lab = open_lab(page, app_server)
    type_into(lab, "Adam learning rate", "1000000")
    wait_message(lab, "Press Play")
    button(lab, "Play").click()
    wait_message(lab, "Training stopped because")
    button(lab, "Play").wait_for(timeout=SLOW)
    text = page.locator("body").inner_text()
    assert not re.search(r"\b(nan|inf|infinity)\b", text, re.IGNORECASE), "a non-finite value reached the page"
    assert page.evaluate(ALL_FINITE) == []
    assert "smaller learning rate" in readout(lab, "msg")
    page_watch.assert_clean()


def test_a_1d_target_and_a_narrow_window(page, app_server, screenshot):
    lab = open_lab(page, app_server)
    lab.get_by_role("combobox", name="Target function").click()
    page.get_by_role("menuitem", name="sin(πx)", exact=True).click()
    wait_message(lab, "learning sin(πx)")
    assert readout(lab, "params") == "100"
    button(lab, "Play").click()
    wait_steps(lab, 40)
    button(lab, "Pause").click()
    button(lab, "Play").wait_for(timeout=SLOW)
    fit, target = source(page, "training-fit"), source(page, "training-target")
    assert len(fit["y"]) == len(target["y"]) > 100
    assert max(abs(a - b) for a, b in zip(fit["y"], target["y"])) < 0.5
    show_views(lab)
    screenshot(page, "training-lab-1d")
    page.set_viewport_size({"width": 900, "height": 800})
    page.wait_for_timeout(500)
    for part, where in ((page.locator(".kx-training-lab").first, "chapter"), (lab, "lab")):
        overflow = part.evaluate("e => e.scrollWidth - e.clientWidth")
        assert overflow <= 1, f"the {where} is {overflow} px wider than its column at 900 px"
    show_views(lab)
    screenshot(page, "training-lab-900")


def test_the_lab_keeps_training_on_another_chapter_and_comes_back_at_once(page, page_watch, app_server, screenshot):
    """The page keeps the chapter left last built but hidden: going back shows it straight away, still
    training, with its figures drawn at full size, and nothing of the other chapter on screen."""
    from app.chapters import CHAPTERS
    from app.shell import menu_label

    label = {c.slug: menu_label(c) for c in CHAPTERS}
    lab = open_lab(page, app_server)
    page.evaluate("() => { window.kxSamePage = true }")
    button(lab, "Play").click()
    button(lab, "Pause").wait_for(timeout=SLOW)
    wait_steps(lab, 10)
    menu = page.locator(".kx-nav")
    menu.get_by_text(label["spline-edge"], exact=True).click()
    page.get_by_text("A learnable curve: one B-spline edge").wait_for(state="visible", timeout=SLOW)
    expect(lab).to_be_hidden()
    page.wait_for_timeout(500)         # a frame already on its way may still land
    left_at = step_count(lab)          # the readout as it was drawn last (hidden now)
    page.wait_for_timeout(1500)
    assert step_count(lab) == left_at, "a hidden lab must not spend the server's time drawing"
    menu.get_by_text(label["training-lab"], exact=True).click()
    expect(lab).to_be_visible(timeout=5_000)
    expect(page.locator(".kx-spline-plot")).to_be_hidden()
    wait_steps(lab, left_at + 1)       # drawing again, and it trained while away
    assert button(lab, "Pause").is_visible()
    figures = lab.locator(".bk-Figure:visible")
    assert figures.count() >= 2
    for plot in figures.all():
        box = plot.bounding_box()
        assert box["width"] > 100 and box["height"] > 100, box
    assert page.evaluate("() => window.kxSamePage") is True, "the menu reloaded the page"
    screenshot(page, "training-lab-after-another-chapter")
    page_watch.assert_clean()
