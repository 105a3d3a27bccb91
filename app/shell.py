"""One student's page: the template, the chapter menu, the colour key and the URL kept in step.

A ``Lesson`` is created per browser session, so everything a student changes lives on it.
"""

import html
import itertools
from urllib.parse import parse_qs

import panel as pn
import panel_material_ui as pmui
import param
from panel.util import edit_readonly

from . import intro, url_state
from .chapters import CHAPTERS, SANDBOX, SLUGS, grouped, resolve
from .legend import legend

INTRO = "intro"

# Neutral blue-grey: the notice must not borrow a colour that figures give a meaning.
_NOTICE_CSS = """
.kx-notice { border-left: 4px solid #607d8b; padding: 0.5rem 0.8rem; margin: 0 0 0.5rem 0;
             background: rgba(96, 125, 139, 0.12); border-radius: 4px; font-size: 1rem; }
"""

# Material UI draws the button that folds a part's chapters away as an unnamed arrow icon; CSS
# alternative text names it by what it will do, read from whether the chapters' list after it is
# open (see widgets.inputs.step_names_css for why the content is a zero-width space).
_NAV_CSS = """
.MuiListItemButton-root:has(+ .MuiCollapse-entered) > .MuiIconButton-root::after {
  content: "\\200b" / "Hide this part's chapters"; }
.MuiListItemButton-root:has(+ .MuiCollapse-root:not(.MuiCollapse-entered)) > .MuiIconButton-root::after {
  content: "\\200b" / "Show this part's chapters"; }
"""


def detach_from_process_busy(page):
    """Stop ``page`` (a pmui.Page) from following Panel's busy flag, which is one for the whole server
    process. Followed, any student's click redrew every student's page and showed them a busy bar
    for someone else's work (with 30 students that alone swamped the server), and the flag's watcher
    kept every page ever served, with all its explorables, alive after its tab closed."""
    with edit_readonly(page):
        page.busy = False
    private = page._param__private
    kept = []
    for names, watcher in private.ref_watchers:
        if (watcher.inst if watcher.inst is not None else watcher.cls) is pn.state:
            pn.state.param.unwatch(watcher)
        else:
            kept.append((names, watcher))
    private.ref_watchers = kept


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


class UrlKeeper(pn.custom.JSComponent):
    """Keeps the address bar in step with the page, in both directions.

    ``query`` is the current chapter's shareable state ('?chapter=snap&seed=3'); the browser's
    entry is replaced (not pushed) as it changes, so a drag does not flood the back button. Python
    pushes an entry for every chapter opened from the menu; the browser's own back/forward does
    not tell the server, so landing on another chapter (or other settings) reloads the page there.
    ``font_size`` sets the page's root font size (presentation mode's large type); ``narrow``
    tells Python when the window is too narrow for the menu beside the chapter.
    """

    chapter = param.String(default="")
    query = param.String(default="")
    font_size = param.String(default="", doc="the page's root font size ('' = the browser's own)")
    narrow = param.Boolean(default=False, doc="set by the page: True while the window is under 900 px wide")

    _esm = """
    export function render({ model }) {
      const onPop = () => {
        const wanted = new URLSearchParams(window.location.search).get("chapter") || ""
        if (wanted !== model.chapter || window.location.search !== model.query) { window.location.reload() }
      }
      const write = () => {
        if (model.query && window.location.search !== model.query) {
          window.history.replaceState(window.history.state, "", window.location.pathname + model.query)
        }
      }
      const size = () => { document.documentElement.style.fontSize = model.font_size }
      const media = window.matchMedia(`(max-width: 899.98px)`)
      const measure = () => { if (model.narrow !== media.matches) { model.narrow = media.matches } }
      media.addEventListener("change", measure)
      // Report the width once the page is fully drawn: a change sent before then can be lost.
      const whenReady = () => {
        const roots = window.Bokeh ? Object.values(window.Bokeh.index) : []
        if (roots.length && roots.every(r => r.is_idle)) { setTimeout(measure, 100) }
        else { setTimeout(whenReady, 50) }
      }
      whenReady()
      window.addEventListener("popstate", onPop)
      model.on("query", write)
      model.on("font_size", size)
      size()
      model.on("remove", () => {
        window.removeEventListener("popstate", onPop)
        media.removeEventListener("change", measure)
      })
      write()
      return document.createElement("span")
    }
    """


class CopyLink(pn.custom.JSComponent):
    """A "Copy link" button: puts the page's address, with every setting in it, on the clipboard.

    The clipboard needs a secure page (https or localhost); on a classroom's plain http address
    the link is shown selected in a box instead, ready for Ctrl+C.
    """

    _esm = """
    export function render({ model }) {
      const root = document.createElement("div")
      root.className = "kx-copy-link"
      const button = document.createElement("button")
      button.type = "button"
      button.textContent = "Copy link"
      const box = document.createElement("input")
      box.readOnly = true
      box.hidden = true
      box.setAttribute("aria-label", "Link to this view")
      const said = document.createElement("span")
      said.setAttribute("role", "status")
      root.append(button, box, said)
      const showBox = () => {
        box.value = window.location.href
        box.hidden = false
        box.focus()
        box.select()
        said.textContent = "Press Ctrl+C to copy"
      }
      button.addEventListener("click", async () => {
        box.value = window.location.href
        root.dataset.href = window.location.href
        try {
          if (!navigator.clipboard || !window.isSecureContext) { throw new Error("no clipboard") }
          await navigator.clipboard.writeText(window.location.href)
          box.hidden = true
          said.textContent = "Link copied"
          setTimeout(() => { said.textContent = "" }, 2500)
        } catch (error) {
          showBox()
        }
      })
      box.addEventListener("blur", () => { box.hidden = true; said.textContent = "" })
      return root
    }
    """

    _stylesheets = ["""
.kx-copy-link { display: flex; align-items: center; gap: 0.5rem; height: 100%; }
.kx-copy-link { color: #fff; font-family: Roboto, "Helvetica Neue", Arial, sans-serif; }
.kx-copy-link button { font: inherit; font-size: 0.95rem; color: #fff; background: none; cursor: pointer;
                       border: 1px solid rgba(255, 255, 255, 0.7); border-radius: 4px; padding: 0.3rem 0.7rem; }
.kx-copy-link button:hover { background: rgba(255, 255, 255, 0.12); }
.kx-copy-link button:focus-visible, .kx-copy-link input:focus-visible { outline: 3px solid #ffd54f; outline-offset: 2px; }
.kx-copy-link input { width: 18rem; font-size: 0.85rem; }
.kx-copy-link span { font-size: 0.9rem; white-space: nowrap; }
"""]


class SaveFigures(pn.custom.JSComponent):
    """A "Save figures" button: every plot on the current chapter, drawn as the page shows it,
    in one PNG file (kan-<chapter>.png), laid out as on screen. It runs in the browser, from
    Bokeh's own canvas export, so the picture is exactly what the student sees."""

    chapter = param.String(default="intro")

    _esm = """
    const PLOTS = new Set(["Plot", "Figure", "GMap"])

    function plotViews() {
      if (!window.Bokeh) return []
      const found = [...window.Bokeh.index.query(v => PLOTS.has(v.model.constructor.__name__))]
      return found.filter(v => v.el.isConnected && v.el.getBoundingClientRect().width > 0)
    }

    export function render({ model }) {
      const button = document.createElement("button")
      button.type = "button"
      button.className = "kx-save-figures"
      button.textContent = "Save figures"
      button.title = "Save every figure of this chapter as one PNG picture"
      button.addEventListener("click", async () => {
        const views = plotViews()
        if (!views.length) { button.textContent = "No figures here"; setTimeout(() => { button.textContent = "Save figures" }, 2000); return }
        const boxes = views.map(v => v.el.getBoundingClientRect())
        const left = Math.min(...boxes.map(b => b.left)), top = Math.min(...boxes.map(b => b.top))
        const right = Math.max(...boxes.map(b => b.right)), bottom = Math.max(...boxes.map(b => b.bottom))
        const ratio = window.devicePixelRatio || 1
        const sheet = document.createElement("canvas")
        sheet.width = Math.ceil((right - left) * ratio)
        sheet.height = Math.ceil((bottom - top) * ratio)
        const ctx = sheet.getContext("2d")
        ctx.fillStyle = getComputedStyle(document.body).backgroundColor || "#fff"
        if (ctx.fillStyle === "rgba(0, 0, 0, 0)") ctx.fillStyle = "#fff"
        ctx.fillRect(0, 0, sheet.width, sheet.height)
        views.forEach((view, i) => {
          const layer = view.export("png", true)
          const box = boxes[i]
          ctx.drawImage(layer.canvas, (box.left - left) * ratio, (box.top - top) * ratio, box.width * ratio, box.height * ratio)
        })
        const blob = await new Promise(resolve => sheet.toBlob(resolve, "image/png"))
        const link = document.createElement("a")
        link.href = URL.createObjectURL(blob)
        link.download = `kan-${model.chapter}.png`
        document.body.appendChild(link)
        link.click()
        link.remove()
        setTimeout(() => URL.revokeObjectURL(link.href), 10000)
      })
      return button
    }
    """

    _stylesheets = ["""
.kx-save-figures { font: inherit; font-family: Roboto, "Helvetica Neue", Arial, sans-serif; font-size: 0.95rem;
                   color: #fff; background: none; cursor: pointer; border: 1px solid rgba(255, 255, 255, 0.7);
                   border-radius: 4px; padding: 0.3rem 0.7rem; white-space: nowrap; }
.kx-save-figures:hover { background: rgba(255, 255, 255, 0.12); }
.kx-save-figures:focus-visible { outline: 3px solid #ffd54f; outline-offset: 2px; }
"""]


class Lesson:
    """The whole page for one session; ``page`` is the viewable to serve.

    ``requested`` is the raw ``?chapter=`` value the session opened with and ``args`` the rest of
    its query ({key: text}: the chapter's settings and page-level keys such as ``present``);
    ``location`` is the session's ``pn.state.location`` (None outside a server, e.g. in tests);
    ``state`` is the URL-state table (url_state.STATE) for ``chapters``.
    """

    def __init__(self, requested="", location=None, chapters=CHAPTERS, args=None, state=url_state.STATE):
        self._chapters = {c.slug: c for c in chapters}
        self._state = state
        self._views = {}
        self._explorers = {}
        self._kept = []             # slugs whose views are in the page now, in page order
        self._last_shown = {}       # slug -> when it was last shown (a tick of _clock)
        self._clock = itertools.count()
        self._location = location
        self.current = None
        self._notice = None
        self._keeper = UrlKeeper(height=0, width=0, margin=0)
        self.nav = pmui.MenuList(items=self._menu(chapters), sizing_mode="stretch_width", css_classes=["kx-nav"],
                                 stylesheets=[_NAV_CSS])
        self.body = pn.Column(sizing_mode="stretch_width")
        self.present_toggle = pmui.Switch(label="Present", value=False, css_classes=["kx-present-toggle"],
                                          margin=(0, 10))
        self.link_button = CopyLink(margin=(0, 10))
        self.save_figures = SaveFigures(margin=(0, 0, 0, 10))
        self.page = pmui.Page(
            title=intro.TITLE,
            sidebar=[self.nav, pmui.Divider(), legend()],
            main=[self._keeper, self.body],
            header=[pn.HSpacer(), self.save_figures, self.link_button, self.present_toggle],
            theme_toggle=True,
            sidebar_width=300,
        )
        detach_from_process_busy(self.page)
        self.nav.on_click(self._on_menu)
        args = dict(args or {})
        present, page_problems = _page_settings(args)
        chapter, notice = resolve(requested, chapters)
        slug = chapter.slug if chapter else INTRO
        settings, problems = url_state.parse(slug, args, state) if chapter else ({}, [])
        self._pending = {slug: settings}
        self.show(slug, notice or url_state.notice(page_problems + problems))
        self.present_toggle.value = present
        self.present_toggle.param.watch(self._on_present, "value")
        self._keeper.param.watch(self._on_width, "narrow")
        if present:
            self._on_present()
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

    @property
    def presenting(self):
        return self.present_toggle.value

    @property
    def shown(self):
        """The chapter view on screen (the presented one in presentation mode)."""
        return next(view for view in reversed(self.body.objects) if view.visible)

    def explorer(self, slug):
        """The chapter's main explorable (the one its link describes), once the chapter is built."""
        return self._explorers.get(slug)

    def _make_explorer(self, slug):
        """The chapter's main explorable built with the link's settings (or the defaults, with a
        sentence, if the settings cannot be combined)."""
        shared = self._state.get(slug)
        if shared is None:
            return None, None
        settings = self._pending.pop(slug, {})
        problem = None
        try:
            explorer = shared.explorer(**settings)
        except Exception as error:   # settings each valid but not together: fall back, and say so
            problem = (f"The settings in this link could not be used together ({_short(error)}), "
                       "so the chapter starts from its defaults.")
            explorer = shared.explorer()
        adjusted = [f"{key} = '{url_state.fmt(value)}' does not fit the other settings, so "
                    f"{url_state.fmt(getattr(explorer, key))} is used"
                    for key, value in settings.items() if url_state.fmt(getattr(explorer, key)) != url_state.fmt(value)]
        if adjusted and problem is None:
            problem = url_state.notice(adjusted)
        explorer.param.watch(self._sync_url, list(shared.keys))
        self._explorers[slug] = explorer
        return explorer, problem

    def _view(self, slug):
        """``(view, problem)``: the chapter's page (built once per session) and any sentence about
        its link settings that only showed up while building it."""
        problem = None
        if slug not in self._views:
            if slug == INTRO:
                content = intro.build(bool(self._chapters))
            else:
                explorer, problem = self._make_explorer(slug)
                chapter = self._chapters[slug]
                content = chapter.build(explorer) if explorer is not None else chapter.build()
            self._views[slug] = pn.Column(content, css_classes=[f"kx-{slug}"],
                                          sizing_mode="stretch_width", styles={"max-height": "none"})
        return self._views[slug], problem

    def show(self, slug, notice=None):
        """Put chapter ``slug`` (or INTRO) in the main area, with an optional notice above it."""
        if (slug, notice) == (self.current, self._notice):
            return
        self.current, self._notice = slug, notice
        view, problem = self._view(slug)
        notice = " ".join(n for n in (notice, problem) if n) or None
        if self.presenting:
            self._kept = []
            view.visible = True         # it may have been kept hidden; a page without an explorer shows it
            views = [self._presented(slug, view)]
        else:
            views = self._keep(slug)
        for kept, explorer in self._explorers.items():
            if hasattr(explorer, "on_screen"):
                explorer.on_screen = kept == slug
        objects = [notice_pane(notice), *views] if notice else views
        if objects != self.body.objects:     # back to a kept chapter: only its visibility changed
            self.body.objects = objects
        self.nav.value = next(item for item in self._flat_menu() if item["id"] == slug)
        self._keeper.chapter = "" if slug == INTRO else slug
        self.save_figures.chapter = slug
        self._sync_url()

    def _keep(self, slug):
        """The chapter views to have in the page with ``slug`` shown: it and up to KEEP_VIEWS - 1
        chapters shown before it, hidden. A kept chapter comes back at once, as the reader left it,
        without the server building its page again and the browser drawing it from scratch (with a
        class flipping between two chapters, those rebuilds were most of the server's work);
        older ones leave the page, so a session's document holds the models of at most KEEP_VIEWS
        chapters (the Panel objects of every chapter visited stay cached in _views, as before).
        Presentation mode keeps nothing."""
        self._last_shown[slug] = next(self._clock)
        if slug not in self._kept:
            self._kept.append(slug)
            while len(self._kept) > KEEP_VIEWS:
                self._kept.remove(min(self._kept, key=self._last_shown.get))
        views = [self._views[kept] for kept in self._kept]
        for kept, view in zip(self._kept, views):
            view.visible = kept == slug
        return views

    def link(self):
        """The query that reproduces what this page shows now ('' for the introduction)."""
        if self.current in (None, INTRO):
            return "?present=1" if self.presenting else ""
        settings = url_state.current(self.current, self.explorer(self.current), self._state)
        return url_state.query(self.current, settings, {"present": "1"} if self.presenting else None)

    def _sync_url(self, *events):
        self._keeper.query = self.link()

    def _flat_menu(self):
        for item in self.nav.items:
            yield item
            yield from item.get("items", [])

    def _on_menu(self, item):
        slug = item.get("id") if isinstance(item, dict) else None
        if slug not in {INTRO, *self._chapters}:
            return
        self._go(slug)

    def _on_url(self, event):
        chapter, notice = resolve(chapter_in_query(event.new), tuple(self._chapters.values()))
        self.show(chapter.slug if chapter else INTRO, notice)

    # -- presentation mode ------------------------------------------------------------------------
    def _presented(self, slug, view):
        """One explorable per screen in large type: the chapter's title, its explorable (or the
        whole page for a chapter without one) and buttons to the neighbouring chapters."""
        order = [INTRO, *self._chapters]
        here = order.index(slug)
        title = intro.TITLE if slug == INTRO else menu_label(self._chapters[slug])
        back = pmui.Button(label="Previous", icon="chevron_left", variant="outlined", disabled=here == 0)
        ahead = pmui.Button(label="Next", icon="chevron_right", variant="contained",
                            disabled=here == len(order) - 1)
        back.on_click(lambda event: self._go(order[here - 1]))
        ahead.on_click(lambda event: self._go(order[here + 1]))
        explorer = self.explorer(slug)
        return pn.Column(
            pn.pane.HTML(f'<h1 class="kx-present-title">{html.escape(title)}</h1>', stylesheets=[_PRESENT_CSS],
                         sizing_mode="stretch_width"),
            explorer if explorer is not None else view,
            pn.Row(back, pn.HSpacer(), ahead, sizing_mode="stretch_width"),
            css_classes=["kx-present"], sizing_mode="stretch_width",
            styles={"max-height": "none"},
        )

    def _go(self, slug):
        """Open chapter ``slug`` and push its link onto the browser's history."""
        self.show(slug)
        if self._location is not None:
            self._location.search = self.link()

    def _on_width(self, *events):
        """Under 900 px the menu becomes a drawer over the page, so the chapter gets the whole
        width (one column); wider, it sits beside the chapter again."""
        self.page.sidebar_variant = "temporary" if self._keeper.narrow else "auto"
        self.page.sidebar_open = not (self._keeper.narrow or self.presenting)

    def _on_present(self, *events):
        self.page.sidebar_open = not (self.presenting or self._keeper.narrow)
        self._keeper.font_size = PRESENT_TYPE if self.presenting else ""
        slug, notice = self.current, self._notice
        self.current = None    # force a redraw in the other mode
        self.show(slug, notice)


KEEP_VIEWS = 2         # chapter pages kept built in a session: the one shown and the one before it
PRESENT_TYPE = "125%"  # presentation mode's root font size: text and controls (sized in rem) grow with it

_PRESENT_CSS = """
.kx-present-title { font-size: 2rem; font-weight: 600; margin: 0.2rem 0 0.6rem 0; }
"""


def _short(error):
    text = "".join(ch for ch in str(error) if ch.isprintable())
    return text if len(text) <= 120 else text[:120] + "…"


def _page_settings(args):
    """Pop the page-level keys from ``args``; return ``(present, problems)``."""
    problems = []
    present = False
    if "present" in args:
        text = args.pop("present")
        if text in ("1", "0"):
            present = text == "1"
        else:
            problems.append(f"present = '{url_state._echo(text)}' must be 1 (on) or 0 (off), so it is off")
    return present, problems
