"""One student's page: the template, the chapter menu, the colour key and the URL kept in step.

A ``Lesson`` is created per browser session, so everything a student changes lives on it.
"""

import html
from urllib.parse import parse_qs

import panel as pn
import panel_material_ui as pmui
import param

from . import intro
from .chapters import CHAPTERS, SANDBOX, SLUGS, grouped, resolve
from .legend import legend

INTRO = "intro"

# Neutral blue-grey: the notice must not borrow a colour that figures give a meaning.
_NOTICE_CSS = """
.kx-notice { border-left: 4px solid #607d8b; padding: 0.5rem 0.8rem; margin: 0 0 0.5rem 0;
             background: rgba(96, 125, 139, 0.12); border-radius: 4px; font-size: 1rem; }
"""


def notice_pane(text):
    """Show a plain-text notice; the text is escaped, so nothing in it can become markup."""
    return pn.pane.HTML(f'<div class="kx-notice" role="status">{html.escape(text, quote=False)}</div>',
                        stylesheets=[_NOTICE_CSS], sizing_mode="stretch_width")


def chapter_in_query(search):
    """The ``chapter`` value of a URL query string such as ``'?chapter=flip'`` ('' if absent)."""
    return parse_qs(search.lstrip("?")).get("chapter", [""])[0]


def menu_label(chapter):
    """'4. A learnable curve' for numbered chapters; the sandbox goes unnumbered."""
    if chapter.part == SANDBOX:
        return chapter.title
    return f"{SLUGS.index(chapter.slug) + 1}. {chapter.title}"


class HistoryWatcher(pn.custom.JSComponent):
    """Reloads the page when the browser's back or forward button lands on another chapter.

    Python pushes a history entry for every chapter opened from the menu; the browser's own
    back/forward does not tell the server, so a reload at the restored URL shows the right page.
    """

    chapter = param.String(default="")

    _esm = """
    export function render({ model }) {
      const onPop = () => {
        const wanted = new URLSearchParams(window.location.search).get("chapter") || ""
        if (wanted !== model.chapter) { window.location.reload() }
      }
      window.addEventListener("popstate", onPop)
      model.on("remove", () => window.removeEventListener("popstate", onPop))
      return document.createElement("span")
    }
    """


class Lesson:
    """The whole page for one session; ``page`` is the viewable to serve.

    ``requested`` is the raw ``?chapter=`` value the session opened with; ``location`` is the
    session's ``pn.state.location`` (None outside a server, e.g. in tests).
    """

    def __init__(self, requested="", location=None, chapters=CHAPTERS):
        self._chapters = {c.slug: c for c in chapters}
        self._views = {}
        self._location = location
        self.current = None
        self._notice = None
        self._history = HistoryWatcher(height=0, width=0, margin=0)
        self.nav = pmui.MenuList(items=self._menu(chapters), sizing_mode="stretch_width", css_classes=["kx-nav"])
        self.body = pn.Column(sizing_mode="stretch_width")
        self.page = pmui.Page(
            title=intro.TITLE,
            sidebar=[self.nav, pmui.Divider(), legend()],
            main=[self._history, self.body],
            theme_toggle=True,
            sidebar_width=300,
        )
        self.nav.on_click(self._on_menu)
        chapter, notice = resolve(requested, chapters)
        self.show(chapter.slug if chapter else INTRO, notice)
        if location is not None:
            location.param.watch(self._on_url, "search")

    @staticmethod
    def _menu(chapters):
        items = [{"label": "Introduction", "id": INTRO, "icon": "home"}]
        for part, members in grouped(chapters):
            if part == SANDBOX:
                items += [{"label": c.title, "id": c.slug, "icon": "tune"} for c in members]
                continue
            items.append({
                "label": part, "id": part, "icon": None, "selectable": False, "open": True,
                "items": [{"label": menu_label(c), "id": c.slug, "icon": None} for c in members],
            })
        return items

    def _view(self, slug):
        if slug not in self._views:
            if slug == INTRO:
                content = intro.build(bool(self._chapters))
            else:
                content = self._chapters[slug].build()
            self._views[slug] = pn.Column(content, css_classes=[f"kx-{slug}"],
                                          sizing_mode="stretch_width")
        return self._views[slug]

    def show(self, slug, notice=None):
        """Put chapter ``slug`` (or INTRO) in the main area, with an optional notice above it."""
        if (slug, notice) == (self.current, self._notice):
            return
        self.current, self._notice = slug, notice
        self._history.chapter = "" if slug == INTRO else slug
        view = self._view(slug)
        self.body.objects = [notice_pane(notice), view] if notice else [view]
        self.nav.value = next(item for item in self._flat_menu() if item["id"] == slug)

    def _flat_menu(self):
        for item in self.nav.items:
            yield item
            yield from item.get("items", [])

    def _on_menu(self, item):
        slug = item.get("id") if isinstance(item, dict) else None
        if slug not in {INTRO, *self._chapters}:
            return
        self.show(slug)
        if self._location is not None:
            self._location.search = "" if slug == INTRO else f"?chapter={slug}"

    def _on_url(self, event):
        chapter, notice = resolve(chapter_in_query(event.new), tuple(self._chapters.values()))
        self.show(chapter.slug if chapter else INTRO, notice)
