"""Keyboard only: from the top of the page, Tab reaches the controls, each shows where the focus
is, and keys operate them (the spline edge and the training lab)."""

import pytest

from .test_spline_edge import open_chapter, wait_confirmed

pytestmark = pytest.mark.browser

FOCUSED = """() => {
  let a = document.activeElement
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement
  if (!a || a === document.body) return null
  const style = getComputedStyle(a)
  const ring = a.querySelector && a.querySelector('.ring')
  return {tag: a.tagName, cls: String(a.getAttribute('class') || ''),
          name: a.getAttribute('aria-label') || a.textContent.trim().slice(0, 40),
          index: a.dataset ? a.dataset.index : undefined,
          visible: a.matches(':focus-visible') && (style.outlineStyle !== 'none' || style.boxShadow !== 'none'
                   || /Mui-focusVisible/.test(a.getAttribute('class') || '')
                   || (ring !== null && getComputedStyle(ring).stroke !== 'none'))}
}"""


def steps(lab):
    return int(lab.locator(".kx-step").first.inner_text().replace(",", ""))


def tab_to(page, wanted, limit=250):
    """Press Tab until ``wanted(focused)`` holds; return the focused element's description."""
    page.locator("body").click(position={"x": 2, "y": 200})    # start from the page, not the address bar
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused and wanted(focused):
            return focused
    raise AssertionError(f"{limit} presses of Tab never reached the control")


def test_the_spline_edge_works_from_the_keyboard_alone(page, app_server):
    plot = open_chapter(page, app_server)
    page.wait_for_function("() => window.Bokeh.index.roots.every(r => r.is_idle)")
    start = wait_confirmed(plot)
    focused = tab_to(page, lambda f: "handle" in f["cls"])
    assert focused["visible"], f"the focused handle shows no focus ring: {focused}"
    m = int(focused["index"])
    page.keyboard.press("ArrowUp")
    after = wait_confirmed(plot)
    assert after["coef"][m] == pytest.approx(start["coef"][m] + 0.05, abs=1e-9)
    page.keyboard.press("Tab")
    nxt = page.evaluate(FOCUSED)
    assert "handle" in nxt["cls"] and int(nxt["index"]) == m + 1


def test_the_training_lab_works_from_the_keyboard_alone(page, app_server):
    page.goto(f"{app_server.url}?chapter=training-lab")
    lab = page.locator(".kx-lab").first
    lab.locator(".kx-step").wait_for(timeout=60_000)
    page.wait_for_function("() => window.Bokeh.index.roots.every(r => r.is_idle)")
    focused = tab_to(page, lambda f: f["tag"] == "BUTTON" and f["name"].endswith("Play"))
    assert focused["visible"], f"the focused Play button shows no focus: {focused}"
    page.keyboard.press("Enter")
    for _ in range(600):
        if steps(lab) >= 5:
            break
        page.wait_for_timeout(100)
    assert steps(lab) >= 5, "Enter on Play started training"
    page.keyboard.press("Enter")      # the same button, now Pause
    lab.get_by_role("button", name="Play", exact=True).wait_for(timeout=30_000)
    paused = steps(lab)
    page.wait_for_timeout(500)
    assert steps(lab) == paused
