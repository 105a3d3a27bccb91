"""The sandbox as a student uses it: train with a sparsity penalty, prune, snap, read the formula,
download the model, load it back, and try a broken file.

What the page shows is read from the readouts and messages (their text), from the Bokeh sources
the plots draw (found by name), and from the files the page hands to the browser.
"""

import json
import math
import re

import pytest

pytestmark = pytest.mark.browser

SLOW = 90_000   # several helpers share two cores: training in the browser can crawl
RED = "#d32f2f"


def open_sandbox(page, app_server):
    page.goto(f"{app_server.url}?chapter=sandbox")
    page.get_by_role("heading", name="Sandbox", exact=True).wait_for(state="visible", timeout=SLOW)
    lab = page.locator(".kx-sandbox-lab").first
    lab.locator(".kx-step").wait_for(state="visible", timeout=SLOW)
    page.wait_for_function("() => window.Bokeh && Bokeh.index.roots.length && Bokeh.index.roots.every(r => r.is_idle)",
                           timeout=SLOW)
    return lab


def readout(lab, key):
    return lab.locator(f".kx-{key}").first.inner_text()


def readouts(lab):
    return {key: readout(lab, key) for key in ("train", "test", "params", "edges")}


def step_count(lab):
    return int(readout(lab, "step").replace(",", ""))


def until(page, condition, what, timeout_ms=SLOW):
    for _ in range(timeout_ms // 100):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"Timed out waiting for {what}.")


def wait_message(lab, text, where="msg"):
    until(lab.page, lambda: text in lab.locator(f".kx-{where}").first.inner_text(), f"a message saying {text!r}")


def button(lab, name):
    return lab.get_by_role("button", name=name, exact=True)


def type_into(lab, label, text):
    box = lab.get_by_role("textbox", name=re.compile(f"^{re.escape(label)}"))
    box.click()
    box.press("Control+a")
    box.press_sequentially(text)
    box.press("Enter")


def source(page, name):
    return page.evaluate("""name => { const s = window.Bokeh.documents[0].get_model_by_name(name)
        const out = {}; for (const [k, v] of Object.entries(s.data)) out[k] = Array.from(v, x =>
            (x != null && typeof x === 'object') ? Array.from(x) : x)
        return out }""", name)


def play_for(lab, steps):
    start = step_count(lab)
    button(lab, "Play").click()
    until(lab.page, lambda: step_count(lab) >= start + steps, f"{steps} more steps")
    button(lab, "Pause").click()
    button(lab, "Play").wait_for(timeout=SLOW)


def show(lab, selector):
    lab.locator(selector).first.evaluate("e => e.scrollIntoView({block: 'start'})")
    lab.page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def download(page, lab, name, folder):
    with page.expect_download(timeout=SLOW) as info:
        lab.get_by_role("button", name=re.compile(f"^{re.escape(name)}")).click()
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return path


def import_file(lab, path):
    lab.locator(".kx-sandbox-files input[type=file]").set_input_files(str(path))


def test_train_prune_snap_save_and_load_back(page, page_watch, app_server, screenshot, tmp_path):
    lab = open_sandbox(page, app_server)
    assert readout(lab, "edges") == "15 of 15" and readout(lab, "params") == "150"
    assert "No formula yet" in lab.locator(".kx-formula-wait").inner_text()

    # train with the sparsity penalty, then prune
    lab.get_by_role("button", name="L-BFGS", exact=True).click()
    type_into(lab, "Sparsity penalty λ", "0.01")
    wait_message(lab, "sparsity penalty λ = 0.01")
    play_for(lab, 40)
    button(lab, "Prune").click()
    wait_message(lab, "Pruned in")
    used, total = (int(n) for n in re.match(r"(\d+) of (\d+)", readout(lab, "edges")).groups())
    assert used < 15 and int(readout(lab, "params").replace(",", "")) < 150
    boxes = source(page, "sandbox-diagram-boxes")
    assert len(boxes["l"]) == total and sum(a > 0 for a in boxes["alpha"]) == used, "the diagram thins out"

    # a little more training without the penalty, then snap every edge
    type_into(lab, "Sparsity penalty λ", "0")
    wait_message(lab, "Paused. Press Play")
    play_for(lab, 20)
    button(lab, "Snap all").click()
    wait_message(lab, "Snapped")
    formula = lab.locator(".kx-sandbox-formula")
    formula.locator(".katex").first.wait_for(timeout=SLOW)
    text = formula.locator(".kx-formula-text").inner_text()
    assert re.search(r"\b(sin|exp|tanh|x|y)\b", text)
    error = float(formula.locator(".kx-formula-rmse").inner_text())
    assert math.isfinite(error) and error < 1.0
    curves = source(page, "sandbox-diagram-curves")
    drawn = [n for n, xs in enumerate(curves["xs"]) if len(xs)]
    assert drawn and all(curves["color"][n] == RED and curves["dash"][n] == "dashed" for n in drawn)
    assert button(lab, "Unsnap all").is_enabled()
    show(lab, ".kx-sandbox-network")
    screenshot(page, "sandbox-snapped")

    # the formula and the model as files
    assert download(page, lab, "Formula as text", tmp_path).read_text() == text + "\n"
    typeset = formula.locator("annotation").first.text_content()      # KaTeX keeps the TeX it typeset
    latex = download(page, lab, "Formula as LaTeX", tmp_path).read_text()
    assert latex.endswith("\n") and typeset.endswith(latex.strip()) and "\\approx" in typeset
    saved = download(page, lab, "Download model (JSON)", tmp_path)
    doc = json.loads(saved.read_text())
    assert doc["format"] == "kan-explorables-model" and doc["settings"]["optimizer"] == "lbfgs"
    assert doc["model"]["width"][1] == used_hidden(lab)
    before = readouts(lab)

    # the model moves on, and loading the file brings it back
    button(lab, "Step").click()
    until(page, lambda: readout(lab, "train") != before["train"], "one more step to change the error")
    import_file(lab, saved)
    wait_message(lab, f"Imported “{saved.name}”", where="file-msg")
    until(page, lambda: readouts(lab) == before, "the readouts of the saved model")
    assert step_count(lab) == 0
    assert lab.locator(".kx-sandbox-formula .kx-formula-text").inner_text() == text

    # a file with NaN in it is refused with a sentence, and nothing changes
    doc["model"]["layers"][0]["coef"][0][0][0] = float("nan")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(doc, allow_nan=True))
    import_file(lab, broken)
    wait_message(lab, "Nothing was imported from “broken.json”: The file contains NaN; only finite numbers are "
                      "allowed.", where="file-msg")
    assert readouts(lab) == before
    show(lab, ".kx-sandbox-formula")
    screenshot(page, "sandbox-files")
    play_for(lab, 5)                          # and the page still trains
    page_watch.assert_clean()


def used_hidden(lab):
    """The hidden layer's size, from the 'KAN parameters in use' readout's note, e.g. '[2, 3, 1]'."""
    note = lab.locator(".kx-stat-params .kx-sub").inner_text()
    return json.loads(note.split("]")[0] + "]")[1]


def test_the_sandbox_fits_a_900_pixel_window(page, page_watch, app_server, screenshot):
    page.set_viewport_size({"width": 900, "height": 900})
    lab = open_sandbox(page, app_server)
    for part, where in ((page.locator(".kx-sandbox").first, "chapter"), (lab, "sandbox")):
        overflow = part.evaluate("e => e.scrollWidth - e.clientWidth")
        assert overflow <= 1, f"the {where} is {overflow} px wider than its column at 900 px"
    for selector in (".kx-sandbox-network", ".kx-sandbox-files", ".kx-lab-stats"):
        box = lab.locator(selector).first.bounding_box()
        assert box["x"] + box["width"] <= 900, selector
    show(lab, ".kx-lab-setup")
    screenshot(page, "sandbox-900")
    show(lab, ".kx-sandbox-network")
    screenshot(page, "sandbox-900-network")
    page_watch.assert_clean()
