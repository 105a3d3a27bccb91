"""The URL-state table: defaults, links that reproduce a view, and links that are garbage."""

import re
from urllib.parse import parse_qsl

import param
import pytest

from app import url_state
from app.chapters import CHAPTERS
from app.shell import Lesson
from app.url_state import STATE, Refused, current, fmt, parse, parse_value, query


def _args(link):
    return dict(parse_qsl(link.lstrip("?"), keep_blank_values=True))


def test_every_registered_chapter_with_an_explorable_is_in_the_table():
    registered = {c.slug for c in CHAPTERS}
    assert set(STATE) <= registered
    assert {"spline-edge", "training-lab", "snap", "grid-extension"} <= set(STATE)


@pytest.mark.parametrize("slug", sorted(STATE))
def test_each_setting_is_a_parameter_and_its_default_reads_back(slug):
    shared = STATE[slug]
    for key in shared.keys:
        p = shared.explorer.param[key]
        assert parse_value(p, fmt(p.default)) == p.default, key


@pytest.mark.parametrize("value", [0.1, 1e-05, -2.5, 3.0, 1 / 3, 123456.789])
def test_numbers_survive_the_link_exactly(value):
    p = param.Number(default=0.0)
    assert parse_value(p, fmt(value)) == value


@pytest.mark.parametrize("p, text, rule", [
    (param.Integer(default=5, bounds=(2, 200)), "abc", "must be a whole number from 2 to 200"),
    (param.Integer(default=5, bounds=(2, 200)), "-7", "must be a whole number from 2 to 200"),
    (param.Integer(default=5, bounds=(2, 200)), "9" * 400, "must be a whole number from 2 to 200"),
    (param.Number(default=0.1, bounds=(0, 1)), "nan", "must be a number from 0 to 1"),
    (param.Number(default=0.1, bounds=(0, 1)), "inf", "must be a number from 0 to 1"),
    (param.Number(default=0.1, bounds=(0, 1)), "1e400", "must be a number from 0 to 1"),
    (param.Boolean(default=False), "maybe", "must be 1 (on) or 0 (off)"),
    (param.Selector(default="a", objects=["a", "b"]), "<script>", "must be one of a, b"),
    (param.List(default=[]), "1,x", "must be numbers separated by commas"),
    (param.List(default=[]), "1,nan", "must be finite numbers"),
    (param.List(default=[]), ",".join(["1"] * 500), "may list at most"),
    (param.String(default=""), "x" * 5000, "at most 200 characters"),
    (param.String(default=""), "a\x00b", "printable text"),
])
def test_bad_values_are_refused_with_the_rule(p, text, rule):
    with pytest.raises(Refused, match=re.escape(rule)):
        parse_value(p, text)


def test_parse_keeps_good_settings_and_reports_bad_and_unknown_ones():
    params, problems = parse("spline-edge", {"grid_size": "7", "spline_order": "99", "bogus<b>": "1"})
    assert params == {"grid_size": 7}
    assert any(p.startswith("spline_order = '99' must be a whole number from 0 to 5, so the default 3")
               for p in problems)
    assert any("'bogus<b>' is not a setting of this chapter" in p for p in problems)
    assert url_state.notice(problems).startswith("Some settings in this link could not be used: ")
    assert url_state.notice([]) is None


def test_a_link_carries_only_what_differs_from_the_defaults_in_table_order():
    lesson = Lesson(requested="mlp-neuron")
    assert lesson.link() == "?chapter=mlp-neuron"
    neuron = lesson.explorer("mlp-neuron")
    neuron.param.update(bias=0.25, x1=-0.5, activation="tanh")
    assert lesson.link() == "?chapter=mlp-neuron&x1=-0.5&bias=0.25&activation=tanh"
    assert lesson._keeper.query == lesson.link()   # the address bar follows


@pytest.mark.parametrize("slug, changes", [
    ("spline-edge", {"grid_size": 7, "spline_order": 2, "use_base": False}),
    ("flip", {"form": "MLP", "x1": 0.3}),
    ("mlp-neuron", {"n_inputs": 2, "w2": -1.25, "activation": "relu"}),
    ("snap", {"seed": 3, "noise": 0.2, "snapped_to": "x^2"}),
])
def test_a_copied_link_rebuilds_the_same_view(slug, changes):
    first = Lesson(requested=slug)
    explorer = first.explorer(slug)
    explorer.param.update(**changes)
    if slug == "spline-edge":
        explorer.coef = [round(0.1 * i - 0.4, 3) for i in range(len(explorer.coef))]
    link = first.link()
    args = _args(link)
    second = Lesson(requested=args.pop("chapter"), args=args)
    rebuilt = second.explorer(slug)
    for key in STATE[slug].keys:
        assert getattr(rebuilt, key) == getattr(explorer, key), key
    assert second.link() == link
    assert len(second.body.objects) == 1, "a good link shows no notice"


def test_the_spline_coefficients_come_back_for_their_own_grid():
    first = Lesson(requested="spline-edge")
    edge = first.explorer("spline-edge")
    edge.grid_size = 8
    edge.coef = [0.5] * len(edge.coef)
    args = _args(first.link())
    rebuilt = Lesson(requested=args.pop("chapter"), args=args).explorer("spline-edge")
    assert rebuilt.grid_size == 8 and rebuilt.coef == [0.5] * 11


def test_a_garbage_link_opens_the_chapter_with_defaults_under_a_notice():
    lesson = Lesson(requested="flip", args={"x1": "NaN", "form": "<img src=x onerror=alert(1)>", "zzz": "1"})
    notice, view = lesson.body.objects
    text = notice.object
    assert "Some settings in this link could not be used" in text
    assert "<img" not in text and "&lt;img" in text
    flip = lesson.explorer("flip")
    assert flip.x1 == flip.param.x1.default and flip.form == flip.param.form.default
    assert lesson.link() == "?chapter=flip"


def test_many_bad_settings_are_summed_up():
    args = {f"k{i}": "1" for i in range(10)}
    notice, _ = Lesson(requested="flip", args=args).body.objects
    assert "(6 more settings also could not be used.)" in notice.object


def test_presentation_mode_shows_the_explorable_alone_without_the_sidebar():
    lesson = Lesson(requested="flip", args={"present": "1"})
    assert lesson.presenting and lesson.page.sidebar_open is False
    [view] = lesson.body.objects
    assert "kx-present" in view.css_classes
    title, explorable, buttons = view.objects
    assert "kx-flip" not in explorable.css_classes, "the explorable alone, not the chapter's page"
    assert "Flip it" in title.object
    assert lesson.link() == "?chapter=flip&present=1"
    lesson.present_toggle.value = False
    assert lesson.page.sidebar_open is True
    assert "kx-present" not in lesson.body.objects[0].css_classes
    assert lesson.link() == "?chapter=flip"


def test_presentation_mode_steps_through_the_chapters():
    lesson = Lesson(requested="hero", args={"present": "1"})
    [view] = lesson.body.objects
    buttons = view.objects[-1]
    back, ahead = buttons.objects[0], buttons.objects[-1]
    assert back.disabled is False and ahead.disabled is False
    ahead.clicks += 1
    assert lesson.current == "mlp-neuron"
    assert "kx-present" in lesson.body.objects[0].css_classes


def test_a_bad_present_value_is_reported_and_ignored():
    lesson = Lesson(requested="flip", args={"present": "yes please"})
    assert not lesson.presenting
    assert "present = 'yes please' must be 1 (on) or 0 (off)" in lesson.body.objects[0].object


def test_query_encodes_text_safely():
    link = query("training-lab", {"formula": "sin(pi*x) + y^2 & z=1"})
    assert _args(link) == {"chapter": "training-lab", "formula": "sin(pi*x) + y^2 & z=1"}


def test_current_is_empty_without_an_explorable():
    assert current("intro", None) == {}


def test_a_setting_the_explorable_had_to_adjust_is_reported():
    lesson = Lesson(requested="continual", args={"n_bumps": "3", "phase": "5"})
    assert lesson.explorer("continual").phase == 3
    assert "phase = '5' does not fit the other settings, so 3 is used" in lesson.body.objects[0].object
    assert lesson.link() == "?chapter=continual&n_bumps=3&phase=3"


def test_spline_coefficients_of_the_wrong_count_are_reported():
    lesson = Lesson(requested="spline-edge", args={"grid_size": "4", "coef": "0.1,0.2"})
    edge = lesson.explorer("spline-edge")
    assert len(edge.coef) == 4 + 3
    assert "coef = '0.1,0.2' does not fit the other settings" in lesson.body.objects[0].object


def test_a_list_of_names_is_read_and_checked_name_by_name():
    p = param.ListSelector(default=["x"], objects=["x", "sin", "exp"])
    assert parse_value(p, "sin,x") == ["sin", "x"]
    assert parse_value(p, "") == []
    with pytest.raises(Refused, match="must be names from x, sin, exp"):
        parse_value(p, "sin,os.system")


def test_the_sandbox_link_carries_its_whole_state():
    first = Lesson(requested="sandbox")
    sandbox = first.explorer("sandbox")
    sandbox.param.update(lamb=0.002, seed=4, snap_library=["x", "sin"])
    args = _args(first.link())
    assert args == {"chapter": "sandbox", "seed": "4", "lamb": "0.002", "snap_library": "x,sin"}
    rebuilt = Lesson(requested=args.pop("chapter"), args=args).explorer("sandbox")
    assert (rebuilt.lamb, rebuilt.seed, rebuilt.snap_library) == (0.002, 4, ["x", "sin"])


def test_numpy_numbers_are_written_as_plain_numbers():
    import numpy as np
    assert fmt(np.float64(-0.4)) == "-0.4" and fmt(np.float64(3.0)) == "3"
    assert fmt(np.int64(7)) == "7" and fmt(np.bool_(True)) == "1"
    assert fmt([np.float64(0.25), np.int64(2)]) == "0.25,2"
    from widgets.training_lab import TrainingLab
    lab = TrainingLab()
    lab.learning_rate = np.float64(0.003)
    link = query("training-lab", current("training-lab", lab))
    assert "np.float64" not in link and "learning_rate=0.003" in link
