"""Hostile and odd input, each ending with a clear sentence and an explorable that still works.

The served versions of these (over a real websocket, two sessions, the server log checked for
errors) are in tests/load/test_sessions.py; the browser's own clicks and resizes in
tests/browser/test_classroom.py.
"""

import inspect
import json
import math
import time

import panel_material_ui as pmui
import pytest

from tests.widgets.test_isolation import REQUIRED_ARGS, explorable_classes
from widgets.inputs import _Clamped
from widgets.spline_edge import SplineEdge
from widgets.training_lab import FORMULA, TrainingLab

CODE = [
    "__import__('os').system('touch {marker}')",
    "().__class__.__bases__[0].__subclasses__()",
    "lambda: 1",
    "x.__class__",
    "open('/etc/passwd')",
    "exec('1')",
    "eval('x')",
    "globals()",
    "[x for x in ()]",
    "x; import os",
    "sin.__globals__",
    "getattr(x, 'real')",
    "x if x else y",
    "{'a': 1}",
    "'text'",
    "\x00x",
]


@pytest.fixture
def lab():
    lab = TrainingLab()
    yield lab
    lab.cleanup()


def _refused(lab):
    assert lab.problem, "the lab accepted it"
    assert lab.message_text.startswith("Training cannot start:"), lab.message_text
    assert len(lab.message_text) < 600
    lab.play()
    assert not lab.playing and lab.callback is None


@pytest.mark.parametrize("text", CODE)
def test_a_formula_that_tries_to_run_code_is_refused_and_training_does_not_start(lab, text, tmp_path):
    marker = tmp_path / "ran"
    lab.formula = text.replace("{marker}", str(marker))
    assert lab.target == FORMULA
    _refused(lab)
    assert lab.formula_input.error_state and lab.formula_input.helper_text
    assert not marker.exists()
    lab.formula = "x*y + sin(pi*y)"             # and the lab works again
    assert lab.problem is None
    lab.step_once()
    assert lab.trainer.n_steps == 1


@pytest.mark.parametrize("text", ["x+" * 50_000 + "x", "(" * 50_000 + "x" + ")" * 50_000, "x" * 100_000,
                                  "sin(" * 20_000 + "x" + ")" * 20_000, "1" * 100_000, "é" * 50_000],
                         ids=["long sum", "deep brackets", "one long name", "deep calls", "long number", "unicode"])
def test_a_100_kB_formula_is_refused_at_once_without_being_echoed(lab, text):
    start = time.perf_counter()
    lab.formula = text
    assert time.perf_counter() - start < 2.0
    _refused(lab)
    assert len(lab.formula_input.helper_text) < 600


@pytest.mark.parametrize("hidden", ["-3", "1e9", "0", "11", "5, 5, 5, 5", "5,,x", "<script>alert(1)</script>", "9" * 10_000],
                         ids=["negative", "huge", "zero", "eleven", "four layers", "garbage", "markup", "10k digits"])
def test_absurd_hidden_layer_sizes_are_refused_with_the_rule(lab, hidden):
    lab.hidden = hidden
    _refused(lab)
    assert "Hidden layers:" in lab.message_text and "<script>" not in lab.message.object
    lab.hidden = "3"
    assert lab.problem is None and lab.model.width == [2, 3, 1]


ABSURD = [-5, 0, -1e308, 1e308, 10**30, float("nan"), float("inf"), float("-inf"), None, "12", True, 2.5]


def number_boxes(obj):
    """Every number box or slider an explorable keeps as an attribute, as (attribute name, widget).
    (A DiscreteSlider is left out: what it sends is the index of a stop it offers, never typed.)"""
    kinds = (pmui.IntInput, pmui.FloatInput, pmui.IntSlider, pmui.FloatSlider, pmui.EditableFloatSlider,
             pmui.EditableIntSlider)
    return [(name, w) for name, w in sorted(vars(obj).items())
            if isinstance(w, kinds) and not isinstance(w, pmui.DiscreteSlider)]


def test_absurd_numbers_from_the_page_are_clamped_or_kept_with_a_sentence(lab):
    boxes = dict(number_boxes(lab))
    assert {"grid_input", "order_input", "samples_input", "lr_input", "noise_input", "seed_input", "stop_input",
            "speed_slider"} <= set(boxes)
    for name, widget in boxes.items():
        for value in ABSURD:
            widget._process_events({"value": value})          # what the page would send
            used = widget.value
            assert isinstance(used, (int, float)) and math.isfinite(used), (name, value, used)
            assert widget.start <= used <= widget.end, (name, value, used)
            if isinstance(widget, _Clamped) and "helper_text" in widget.param and value != used \
                    and not isinstance(value, bool):
                assert widget.helper_text and widget.error_state, (name, value)
    lab.grid_input._process_events({"value": 10**9})
    assert lab.grid_size == 100 and "Grid size G goes from 1 to 100" in lab.grid_input.helper_text
    lab.grid_input._process_events({"value": 7})
    assert lab.grid_size == 7 and lab.grid_input.helper_text == "" and not lab.grid_input.error_state
    lab.reset()
    lab.step_once()
    assert lab.trainer.n_steps == 1


# Explorables allowed, for the time being, to keep plain pmui number boxes (none now). An explorable
# listed here should switch to widgets.inputs.Bounded* (same arguments) and leave this set.
PENDING = set()


def test_no_number_from_the_page_raises_an_error_in_any_explorable():
    """Every number box of every explorable takes anything the page can send without an error."""
    classes, _ = explorable_classes()
    problems = []
    for cls in classes:
        if cls.__name__ in PENDING:
            continue
        obj = cls(**REQUIRED_ARGS.get(cls.__name__, dict)())
        for name, widget in number_boxes(obj):
            for value in ABSURD:
                try:
                    widget._process_events({"value": value})
                except Exception as error:
                    problems.append(f"{cls.__name__}.{name} = {value!r}: {type(error).__name__}: {error}"[:200])
                    break
        cleanup = getattr(obj, "cleanup", None)
        if callable(cleanup):
            cleanup()
    assert not problems, "\n".join(problems)


def test_rapid_repeated_presses_leave_a_working_lab(lab):
    presses = [lab.toggle_play, lab.step_once, lab.tick, lab.reset, lab.toggle_play, lab.tick, lab.extend_grid,
               lab.step_once, lab.toggle_play]
    for i in range(300):
        presses[i % len(presses)]()
    lab.pause()
    assert not lab.playing
    before = lab.trainer.n_steps
    lab.step_once()
    assert lab.trainer.n_steps == before + 1
    assert lab.message_text.startswith("One step taken")
    lab.reset()
    assert lab.trainer.n_steps == 0 and lab.grid_size == 5 and not lab.playing


def test_a_closed_session_stops_the_lab_for_good(lab):
    lab.play()
    assert lab.playing
    lab._on_session_destroyed(None)
    assert not lab.playing and lab.callback is None
    lab.play()
    lab.tick()
    assert not lab.playing and lab.callback is None


def test_odd_coefficients_on_the_spline_edge_are_clamped_with_a_note():
    edge = SplineEdge()
    for value in (1e308, -1e308, float("inf"), float("nan"), "x", None):
        edge.set_coef(2, value)
        assert math.isfinite(edge.coef[2]) and abs(edge.coef[2]) <= 2.5
        assert edge.note
    edge.set_coef(99, 1.0)
    assert "no coefficient 99" in edge.note

    class Msg:
        def __init__(self, data):
            self.data = data
    # messages the page never sends, and a late drag value overtaken by its release
    for data in ({"kind": "release", "index": 2, "value": 1.0}, {"seq": "1"}, {"seq": 1, "index": -1, "value": 1.0},
                 {"seq": 2, "kind": "drag", "index": 10**9, "value": 1.0}, {"seq": 3, "kind": "x"}, None, [1, 2]):
        edge._on_plot_msg(Msg(data))
    edge._on_plot_msg(Msg({"seq": 10, "kind": "release", "index": 1, "value": 0.5}))
    edge._on_plot_msg(Msg({"seq": 9, "kind": "drag", "index": 1, "value": -2.0}))
    assert edge.coef[1] == 0.5 and edge._plot.confirmed == 10


def test_a_model_file_with_nan_or_infinity_is_refused_with_a_sentence():
    """kan_core refuses it (tests/core/test_kan.py checks every field); the sandbox's import, if this
    checkout has it, says so and keeps its model."""
    sandbox = pytest.importorskip("widgets.sandbox")
    if not hasattr(sandbox.Sandbox, "import_model"):
        pytest.skip("this checkout's sandbox has no model import")
    box = sandbox.Sandbox()
    good = json.loads(box.model_json()) if inspect.ismethod(getattr(box, "model_json", None)) else None
    if good is None:
        pytest.skip("the sandbox cannot save a model to start from")
    before = box.model.to_dict()
    layer = good["model"]["layers"][0] if "model" in good else good["layers"][0]
    for bad in ("NaN", "Infinity", "-Infinity", "1e999"):
        text = json.dumps(good).replace(json.dumps(layer["coef"][0][0][0]), bad, 1)
        assert box.import_model(text.encode(), "hostile.json") is False
        assert "finite" in box.import_text, box.import_text
        assert box.model.to_dict() == before
    box.cleanup()
