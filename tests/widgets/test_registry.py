"""The chapter registry and the page that it drives, checked without a browser."""

import panel as pn
import pytest
from panel.io.location import Location

from app.chapters import (ANATOMY, CHAPTERS, LEARNING, MAX_ECHO, PARTS, SANDBOX, SLUGS, Chapter,
                          check_registry, grouped, resolve)
from app.shell import INTRO, Lesson, chapter_in_query, notice_pane


def _text(slug):
    return lambda: pn.pane.Markdown(f"the {slug} chapter")


FAKE = check_registry([
    Chapter("hero", "Two ways to look inside", ANATOMY, _text("hero")),
    Chapter("flip", "Flip it", ANATOMY, _text("flip")),
    Chapter("snap", "Snap to a formula", LEARNING, _text("snap")),
    Chapter("sandbox", "Sandbox", SANDBOX, _text("sandbox")),
])


def test_registered_slugs_are_unique_known_and_in_reading_order():
    slugs = [c.slug for c in CHAPTERS]
    assert len(set(slugs)) == len(slugs)
    assert set(slugs) <= set(SLUGS)
    assert slugs == sorted(slugs, key=SLUGS.index)
    assert all(c.part in PARTS for c in CHAPTERS)


def test_the_allowed_slugs_are_the_lessons_thirteen_in_order():
    assert SLUGS == ("hero", "mlp-neuron", "flip", "spline-edge", "layer", "grid-extension", "snap",
                     "training-lab", "budget", "pipeline", "continual", "costs", "sandbox")


@pytest.mark.parametrize("chapters, complaint", [
    ([Chapter("nope", "Nope", ANATOMY, _text("nope"))], "is not one of"),
    ([Chapter("hero", "A", ANATOMY, _text("a")), Chapter("hero", "B", ANATOMY, _text("b"))], "unique"),
    ([Chapter("snap", "A", LEARNING, _text("a")), Chapter("hero", "B", ANATOMY, _text("b"))], "order"),
    ([Chapter("hero", "A", "Part IX", _text("a"))], "part"),
    ([Chapter("hero", " ", ANATOMY, _text("a"))], "title"),
])
def test_a_bad_registry_is_refused_with_a_reason(chapters, complaint):
    with pytest.raises(ValueError, match=complaint):
        check_registry(chapters)


def test_resolve_finds_a_registered_chapter():
    assert resolve("snap", FAKE) == (FAKE[2], None)


@pytest.mark.parametrize("value", ["", "   ", None])
def test_no_chapter_means_the_introduction_without_notice(value):
    assert resolve(value, FAKE) == (None, None)


def test_an_unknown_chapter_means_the_introduction_with_a_notice():
    assert resolve("xyz", FAKE) == (None, "There is no chapter called 'xyz'; showing the introduction.")
    assert resolve("hero", ()) == (None, "There is no chapter called 'hero'; showing the introduction.")


def test_an_echoed_value_is_cut_short_and_loses_control_characters():
    _, notice = resolve("a\x00b\x1b" + "c" * 100, FAKE)
    assert "\x00" not in notice and "\x1b" not in notice
    assert "ab" + "c" * (MAX_ECHO - 2) + "…'" in notice


def test_the_notice_pane_escapes_markup():
    pane = notice_pane("There is no chapter called '<script>x()</script>'")
    assert "<script>" not in pane.object
    assert "&lt;script&gt;x()&lt;/script&gt;" in pane.object


def test_chapters_are_grouped_by_part_in_part_order():
    assert [(part, [c.slug for c in members]) for part, members in grouped(FAKE)] == [
        (ANATOMY, ["hero", "flip"]), (LEARNING, ["snap"]), (SANDBOX, ["sandbox"])]


def test_chapter_in_query():
    assert chapter_in_query("?chapter=flip&seed=3") == "flip"
    assert chapter_in_query("") == ""


def _labels(items):
    for item in items:
        yield item["label"]
        yield from _labels(item.get("items", []))


def test_the_menu_lists_the_introduction_and_exactly_the_registered_chapters():
    assert list(_labels(Lesson(chapters=()).nav.items)) == ["Introduction"]
    assert list(_labels(Lesson(chapters=FAKE, state={}).nav.items)) == [
        "Introduction", ANATOMY, "1. Two ways to look inside", "3. Flip it",
        LEARNING, "7. Snap to a formula", "Sandbox"]


def test_a_chapter_opens_in_a_layout_carrying_its_css_class():
    lesson = Lesson(requested="flip", chapters=FAKE, state={})
    [view] = lesson.body.objects
    assert view.css_classes == ["kx-flip"]
    assert lesson.nav.value["id"] == "flip"


def test_an_unknown_chapter_opens_the_introduction_under_a_notice():
    lesson = Lesson(requested="xyz", chapters=FAKE, state={})
    notice, view = lesson.body.objects
    assert "There is no chapter called 'xyz'" in notice.object
    assert view.css_classes == ["kx-intro"]
    assert lesson.nav.value["id"] == INTRO


def test_the_menu_and_the_url_stay_in_step():
    location = Location()
    lesson = Lesson(requested="hero", location=location, chapters=FAKE, state={})
    snap = next(item for item in lesson.nav.items[2]["items"] if item["id"] == "snap")
    lesson._on_menu(snap)
    assert location.search == "?chapter=snap"
    assert lesson.shown.css_classes == ["kx-snap"]
    lesson._on_menu(lesson.nav.items[0])
    assert location.search == ""
    assert lesson.current == INTRO
    location.search = "?chapter=flip"
    assert lesson.current == "flip" and lesson.nav.value["id"] == "flip"
    location.search = "?chapter=bogus"
    assert lesson.current == INTRO and "bogus" in lesson.body.objects[0].object


def test_the_chapter_before_stays_built_and_hidden_and_older_ones_leave_the_page():
    lesson = Lesson(requested="hero", chapters=FAKE, state={})
    hero = lesson.shown
    lesson.show("snap")
    snap = lesson.shown
    assert lesson.body.objects == [hero, snap]
    assert (hero.visible, snap.visible) == (False, True)
    lesson.show("hero")                       # back: the same view, shown again; nothing rebuilt or moved
    assert lesson.shown is hero and lesson.body.objects == [hero, snap]
    assert (hero.visible, snap.visible) == (True, False)
    lesson.show("flip")                       # a third chapter: the one seen longest ago leaves
    assert lesson.body.objects == [hero, lesson.shown] and lesson.shown.css_classes == ["kx-flip"]
    assert (hero.visible, lesson.shown.visible) == (False, True)
    lesson.show("snap", notice="A sentence.")     # a notice goes above, the kept views stay
    notice, *views = lesson.body.objects
    assert "A sentence." in notice.object and lesson.shown is snap and len(views) == 2


def test_a_hidden_lab_knows_it_is_off_screen_and_does_not_draw():
    from bokeh.document import Document

    lesson = Lesson(requested="training-lab")
    lesson.page.server_doc(Document())          # the page's models exist, as in a served session
    lab = lesson.explorer("training-lab")
    lab._served = True
    assert lab.on_screen and lab._visible()
    lesson.show("spline-edge")
    assert not lab.on_screen and not lab._visible(), "a hidden lab must not draw"
    assert lesson.explorer("training-lab") is lab and lab._layout._models, "kept, models and all"
    lesson.show("training-lab")
    assert lab.on_screen and lab._visible()


def test_a_page_kept_hidden_is_shown_in_presentation_mode():
    """The introduction has no explorer, so presentation mode shows its whole view: after being kept
    hidden (the reader went to chapter 1), Previous must not bring back an empty page."""
    lesson = Lesson(requested="", chapters=FAKE, state={})
    intro_view = lesson.shown
    lesson.show("hero")
    assert not intro_view.visible
    lesson.present_toggle.value = True
    lesson._go(INTRO)
    [presented] = lesson.body.objects
    assert "kx-present" in presented.css_classes and intro_view in presented.objects and intro_view.visible
    lesson.present_toggle.value = False         # back: the kept pages again, the introduction shown
    assert lesson.shown is intro_view and intro_view.visible


def test_each_session_builds_its_own_views():
    first, second = Lesson(requested="hero", chapters=FAKE, state={}), Lesson(requested="hero", chapters=FAKE, state={})
    assert first.body.objects[0] is not second.body.objects[0]
