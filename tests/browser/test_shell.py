"""The app shell as a student meets it: title, introduction, menu, colour key, theme, bad URLs."""

import re
import urllib.request
from urllib.parse import quote

import pytest

from app.chapters import CHAPTERS, SANDBOX
from app.shell import menu_label

from .harness import INTRO_HEADING, wait_for_intro

pytestmark = pytest.mark.browser

TITLE = "Kolmogorov-Arnold Networks, explored"


def test_served_page_answers_200_and_names_no_outside_resource(app_server):
    with urllib.request.urlopen(app_server.url, timeout=30) as response:
        assert response.status == 200
        html = response.read().decode("utf-8")
    assert not re.findall(r"""(?:src|href)=["']?(?:https?:)?//""", html)


def test_introduction_renders_with_title_and_menu(page, page_watch, app_server, screenshot):
    page.goto(app_server.url)
    wait_for_intro(page)
    assert page.title() == TITLE
    assert page.get_by_text(TITLE).first.is_visible()
    assert page.get_by_text("Kolmogorov-Arnold Network (KAN)").is_visible()
    assert page.locator(".kx-intro").first.is_visible()
    assert page.locator(".kx-nav").get_by_text("Introduction").is_visible()
    path = screenshot(page, "introduction")
    assert path.stat().st_size > 10_000
    page_watch.assert_clean()


def test_colour_key_shows_each_role_in_words_and_line(page, app_server):
    page.goto(app_server.url)
    wait_for_intro(page)
    key = page.locator(".kx-legend")
    assert key.get_by_text("Colour key").is_visible()
    for words in ("Teal, solid", "Orange, solid", "Grey, faint", "Red, dashed"):
        assert key.get_by_text(words).is_visible()
    dashes = key.locator("line").evaluate_all("lines => lines.map(l => l.getAttribute('stroke-dasharray'))")
    assert len(dashes) == 4 and dashes.count("") == 3


def _background(page):
    return page.evaluate("() => getComputedStyle(document.body).backgroundColor")


def test_theme_toggle_switches_between_light_and_dark(page, app_server):
    page.goto(app_server.url)
    wait_for_intro(page)
    light = _background(page)
    toggle = page.get_by_role("button", name="Toggle theme")
    toggle.click()
    page.wait_for_function("before => getComputedStyle(document.body).backgroundColor !== before", arg=light)
    dark = _background(page)
    assert _luminance(dark) < _luminance(light)
    toggle.click()
    page.wait_for_function("before => getComputedStyle(document.body).backgroundColor !== before", arg=dark)
    assert _background(page) == light


def _luminance(css_colour):
    red, green, blue = (int(v) for v in re.findall(r"\d+", css_colour)[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_unknown_chapter_shows_notice_and_menu_returns_to_introduction(page, app_server):
    page.goto(f"{app_server.url}?chapter=nonsense")
    wait_for_intro(page)
    notice = page.locator(".kx-notice")
    assert notice.inner_text() == "There is no chapter called 'nonsense'; showing the introduction."
    page.evaluate("() => { window.kxSamePage = true }")
    page.locator(".kx-nav").get_by_text("Introduction").click()
    notice.wait_for(state="detached")
    page.wait_for_url(app_server.url)
    assert page.get_by_text(INTRO_HEADING).is_visible()
    assert page.evaluate("() => window.kxSamePage") is True, "the menu reloaded the page"


@pytest.mark.parametrize("value", [
    "<script>kxInjected=1</script>",
    "<img src=x onerror='kxInjected=1'>",
])
def test_chapter_value_is_shown_as_text_never_as_markup(page, app_server, value):
    page.goto(f"{app_server.url}?chapter={quote(value)}")
    wait_for_intro(page)
    notice = page.locator(".kx-notice")
    assert notice.inner_text() == f"There is no chapter called '{value}'; showing the introduction."
    assert notice.locator("script, img").count() == 0
    assert page.evaluate("() => window.kxInjected") is None


def test_long_chapter_value_is_cut_short(page, app_server):
    page.goto(f"{app_server.url}?chapter={'x' * 500}")
    wait_for_intro(page)
    text = page.locator(".kx-notice").inner_text()
    assert "x" * 40 + "…" in text and "x" * 41 not in text


def test_the_menu_lists_exactly_the_registered_chapters_and_each_opens_from_its_url(page, app_server):
    page.goto(app_server.url)
    wait_for_intro(page)
    menu = page.locator(".kx-nav")
    for label in ["Introduction"] + [menu_label(c) for c in CHAPTERS]:
        assert menu.get_by_text(label, exact=True).is_visible()
    parts = {c.part for c in CHAPTERS} - {SANDBOX}
    assert menu.locator(".MuiListItemText-primary").count() == 1 + len(CHAPTERS) + len(parts)
    for chapter in CHAPTERS:
        page.goto(f"{app_server.url}?chapter={chapter.slug}")
        page.locator(f".kx-{chapter.slug}").first.wait_for(state="visible")
        assert page.locator(".kx-notice").count() == 0


def test_the_page_guard_blocks_and_records_a_request_that_leaves_the_machine(page, page_watch, app_server):
    page.goto(app_server.url)
    wait_for_intro(page)
    page.evaluate("() => fetch('http://example.invalid/beacon').catch(() => null)")
    assert page_watch.outside_requests == ["http://example.invalid/beacon"]
    page_watch.outside_requests.clear()
    page_watch.console_errors.clear()
