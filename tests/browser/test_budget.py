"""The parameter-budget chapter as a student uses it: arrow keys on the budget slider, typing a
budget, the target switch, reset; the expected numbers come from the cached runs."""

import pytest
from playwright.sync_api import expect

from widgets import budget as B

pytestmark = pytest.mark.browser

CHOSEN = """() => {
  const src = window.Bokeh.documents[0].get_model_by_name('budget_chosen')
  return {x: Array.from(src.data.x), y: Array.from(src.data.y), color: Array.from(src.data.color)}
}"""


@pytest.fixture(scope="module")
def doc():
    doc, problem = B.load_asset()
    assert problem is None, problem
    return doc


def _open(page, app_server):
    page.goto(f"{app_server.url}?chapter=budget")
    page.get_by_text("Parameter budget: KAN vs MLP").first.wait_for(state="visible")
    page.locator(".kx-budget-readout").wait_for(state="visible")
    page.get_by_role("slider", name="Parameter budget (log scale)").wait_for(state="attached")
    page.wait_for_function("() => window.Bokeh.index.roots.every(r => r.is_idle)")


def _expected(exp, budget):
    """{colour: (n_params, test_rmse)} of the best KAN and MLP within the budget."""
    out = {}
    for kind, colour in (("kan", B.TEAL), ("mlp", B.ORANGE)):
        p = B.best_within(exp[kind], budget)
        if p is not None:
            out[colour] = (p["n_params"], p["test_rmse"])
    return out


def _shown(page, wait_for=None):
    """The highlighted points as {colour: (n_params, test_rmse)}, after waiting (if asked) until
    their parameter counts are those of `wait_for`."""
    if wait_for is not None:
        wanted = sorted(n for n, _ in wait_for.values())
        page.wait_for_function(f"() => JSON.stringify(({CHOSEN})().x.slice().sort((a, b) => a - b))"
                               f" === {str(wanted).replace(' ', '')!r}")
    data = page.evaluate(CHOSEN)
    return {c: (x, y) for c, x, y in zip(data["color"], data["x"], data["y"])}


def test_arrow_keys_on_the_budget_slider_move_the_highlights_and_the_readout(page, app_server, doc, screenshot):
    _open(page, app_server)
    smooth = doc["experiments"]["smooth"]
    readout = page.locator(".kx-budget-readout")
    before = readout.inner_text()
    assert f"Budget: {B.DEFAULT_BUDGET} parameters." in before
    assert _shown(page) == _expected(smooth, B.DEFAULT_BUDGET)
    page.locator(".kx-budget-explorer").evaluate("e => e.scrollIntoView()")
    screenshot(page, "budget")

    slider = page.get_by_role("slider", name="Parameter budget (log scale)")
    options = B.nice_budgets(min(p["n_params"] for k in ("kan", "mlp") for p in smooth[k]),
                             max(p["n_params"] for k in ("kan", "mlp") for p in smooth[k]))
    budget = options[options.index(B.DEFAULT_BUDGET) - 3]
    slider.focus()
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    expect(readout).to_contain_text(f"Budget: {budget} parameters.")
    after = readout.inner_text()
    expect(slider).to_have_attribute("aria-valuetext", str(budget))
    expected = _expected(smooth, budget)
    assert _shown(page, wait_for=expected) == expected != _expected(smooth, B.DEFAULT_BUDGET)
    kan = B.best_within(smooth["kan"], budget)
    assert f"{kan['n_params']:,} parameters; test RMSE {B.fmt_rmse(kan['test_rmse'])}" in after
    span = page.evaluate("() => window.Bokeh.documents[0].get_model_by_name('budget_curves')"
                         ".center.find(r => r.type === 'Span').location")
    assert span == budget


def test_typing_a_budget_below_every_kan_says_no_kan_fits(page, app_server, doc):
    _open(page, app_server)
    smooth = doc["experiments"]["smooth"]
    smallest = min(p["n_params"] for p in smooth["kan"])
    entry = page.get_by_label("Budget (type a number)")
    entry.fill(str(smallest - 20))
    entry.press("Enter")
    page.get_by_text(f"KAN: none fits; the smallest here has {smallest:,} parameters.").wait_for()
    assert _shown(page, wait_for=_expected(smooth, smallest - 20)) == _expected(smooth, smallest - 20)
    assert list(_shown(page)) == [B.ORANGE]


def test_the_target_switch_changes_the_curves_and_the_honest_note_and_reset_brings_it_back(
        page, app_server, doc, screenshot):
    _open(page, app_server)
    note = page.locator(".kx-budget-note")
    smooth_note = note.inner_text()
    assert B.comparison_note(doc["experiments"]["smooth"]) in smooth_note
    page.get_by_role("button", name="Messy 4-D target").click()
    messy = doc["experiments"]["messy"]
    expect(note).to_contain_text(B.comparison_note(messy))
    assert note.inner_text() != smooth_note
    assert "The KAN's error is" in note.inner_text()
    page.wait_for_function(f"() => window.Bokeh.documents[0].get_model_by_name('budget_kan').data.n_params.length"
                           f" === {len(messy['kan'])}")
    assert _shown(page, wait_for=_expected(messy, B.DEFAULT_BUDGET)) == _expected(messy, B.DEFAULT_BUDGET)
    page.locator(".kx-budget-explorer").evaluate("e => e.scrollIntoView()")
    screenshot(page, "budget-messy")

    page.get_by_role("button", name="Reset").click()
    expect(note).to_have_text(smooth_note)
    default = _expected(doc["experiments"]["smooth"], B.DEFAULT_BUDGET)
    assert _shown(page, wait_for=default) == default


def test_at_900_pixels_nothing_spills_sideways(page, app_server, screenshot):
    page.set_viewport_size({"width": 900, "height": 800})
    _open(page, app_server)
    explorer = page.locator(".kx-budget-explorer").bounding_box()
    assert explorer["x"] + explorer["width"] <= 900
    for name in ("budget_curves", "budget_heatmap_mlp_err"):
        right = page.evaluate(f"""() => {{
          const v = [...window.Bokeh.index.roots[0].owner.all_views()].find(v => v.model.name === '{name}')
          return v.el.getBoundingClientRect().right }}""")
        assert right <= 900
    page.locator(".kx-budget-readout").evaluate("e => e.scrollIntoView()")
    screenshot(page, "budget-900")
