"""Access: every control on every chapter has a name a screen reader can say, and in the dark theme
the figures' words (titles, axis labels, tick labels, legends) are light on the dark page.

Controls are found in the page and in every shadow root (Panel and Material UI draw into both), and
their names are the ones Chromium gives assistive technology. Failures list each culprit.
"""

import pytest

from app.chapters import SLUGS

pytestmark = pytest.mark.browser

SLOW = 90_000
IDLE = "() => window.Bokeh && Bokeh.index.roots.length && Bokeh.index.roots.every(r => r.is_idle)"

# Every visible control (a form control, anything with a control's role, a link, anything Tab
# stops at), in the page and in every shadow root. The layer Bokeh lays over every plot to catch
# pointer and key events is focusable but no control, so it is left out.
CONTROLS = r"""() => {
  const CONTROLS = 'button, [role=button], input:not([type=hidden]), select, textarea, [role=slider], ' +
                   '[role=switch], [role=checkbox], [role=radio], [role=tab], [role=combobox], a[href], ' +
                   '[tabindex]:not([tabindex="-1"]):not(.bk-events)'
  const found = []
  const walk = root => {
    for (const el of root.querySelectorAll('*')) {
      if (el.matches(CONTROLS)) found.push(el)
      if (el.shadowRoot) walk(el.shadowRoot)
    }
  }
  walk(document)
  return found.filter(el => {
    if (!el.checkVisibility({visibilityProperty: true})) return false
    const box = el.getBoundingClientRect()
    return box.width > 0 && box.height > 0
  })
}"""

# Where a control is, for a failure message: its tag and attributes, the explorable around it,
# the text of the widget it belongs to.
DESCRIBE = r"""function () {
  const squash = s => (s || '').replace(/\s+/g, ' ').trim()
  const up = n => n.parentNode instanceof ShadowRoot ? n.parentNode.host : n.parentElement
  const attrs = ['class', 'type', 'role', 'tabindex']
    .filter(a => this.getAttribute(a)).map(a => `${a}="${String(this.getAttribute(a)).slice(0, 50)}"`)
  const where = []
  for (let n = up(this); n; n = up(n)) {
    const kx = [...(n.classList || [])].filter(c => c.startsWith('kx-'))
    if (kx.length) where.push('.' + kx.join('.'))
  }
  const widget = this.closest('.MuiFormControl-root, .MuiListItemButton-root') || up(this)
  return `<${this.tagName.toLowerCase()} ${attrs.join(' ')}> in ${where.slice(0, 3).join(' < ') || 'the page'}` +
         `, in the widget reading "${squash(widget && widget.textContent).slice(0, 60)}"`
}"""


def controls_and_names(page):
    """``[(description, name)]`` for every visible control that Chromium exposes to assistive
    technology, ``name`` being the accessible name Chromium computed: what a screen reader says.

    Chromium is asked rather than a computation in the page (or Playwright's get_by_role, which has
    its own): both accepted names that Chromium does not expose (CSS alternative text on ::after of a
    button laid out as a flex item)."""
    cdp = page.context.new_cdp_session(page)
    try:
        listed = cdp.send("Runtime.evaluate", {"expression": f"({CONTROLS})()"})["result"]
        items = cdp.send("Runtime.getProperties", {"objectId": listed["objectId"], "ownProperties": True})["result"]
        found = []
        for item in items:
            if not item["name"].isdigit():
                continue
            element = item["value"]["objectId"]
            node = cdp.send("Accessibility.getPartialAXTree",
                            {"objectId": element, "fetchRelatives": False})["nodes"][0]
            if node.get("ignored"):       # hidden from assistive technology (aria-hidden, or a stand-in)
                continue
            described = cdp.send("Runtime.callFunctionOn", {"objectId": element, "functionDeclaration": DESCRIBE,
                                                            "returnByValue": True})["result"]["value"]
            name = node.get("name", {}).get("value", "")
            role = node.get("role", {}).get("value", "")
            found.append((f"{role}: {described}", name.replace("\u200b", "").strip()))
        return found
    finally:
        cdp.detach()


# Every piece of text the visible figures draw, with the colour behind it: titles, axis labels and
# tick labels, legends and colour bars (on the figure's border), and labels, label sets and text
# glyphs (on their own box if they have one, else on whatever glyph lies under the text's anchor,
# found with Bokeh's own hit test, else on the plot area). Colours are read from the Bokeh models
# as the page theme left them, alpha included, and composed over what is behind.
FIGURE_TEXT = r"""() => {
  const ctx = document.createElement('canvas').getContext('2d')
  const rgba = (colour, alpha = 1) => {
    if (colour == null) return null
    if (Array.isArray(colour)) return [colour[0], colour[1], colour[2], (colour[3] ?? 1) * alpha]
    ctx.fillStyle = '#000'
    ctx.fillStyle = colour
    const s = ctx.fillStyle
    if (s.startsWith('#')) return [1, 3, 5].map(i => parseInt(s.slice(i, i + 2), 16)).concat([alpha])
    const p = s.match(/\(([^)]*)\)/)[1].split(',').map(Number)
    return [p[0], p[1], p[2], (p[3] ?? 1) * alpha]
  }
  const over = (fg, bg) => fg == null ? bg : [0, 1, 2].map(i => fg[i] * fg[3] + bg[i] * (1 - fg[3])).concat([1])
  const lum = c => {                   // relative luminance, as WCAG defines it
    const [r, g, b] = c.slice(0, 3).map(v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
  }
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05) }
  // a property's values: a plain value, {value}, or {field} read from the data source
  const values = (spec, source, n) => {
    if (spec != null && typeof spec === 'object' && !Array.isArray(spec)) {
      if ('value' in spec) return Array(n).fill(spec.value)
      if ('field' in spec) return [...(source.data[spec.field] || [])]
    }
    return Array(n).fill(spec)
  }
  const page = rgba(getComputedStyle(document.body).backgroundColor)
  const found = []
  const plots = [...Bokeh.index.query(v => ['Plot', 'Figure'].includes(v.model.constructor.__name__))]
    .filter(v => v.el.isConnected && v.el.getBoundingClientRect().width > 0).map(v => v.model)
  for (const plot of plots) {
    const who = plot.name || (plot.title && plot.title.text) || plot.id
    const border = over(rgba(plot.border_fill_color, plot.border_fill_alpha), page)
    const area = over(rgba(plot.background_fill_color, plot.background_fill_alpha), border)
    // the filled glyphs drawn before `upTo` (all, if null) under screen point (sx, sy), composed over the area
    const under = (sx, sy, upTo) => {
      let behind = area
      for (const r of plot.renderers) {
        if (r === upTo) break
        if (r.constructor.__name__ !== 'GlyphRenderer' || r.visible === false || !('fill_color' in r.glyph)) continue
        const hit = Bokeh.index.find_one_by_id(r.id)?.hit_test({type: 'point', sx, sy})
        for (const i of hit ? hit.indices : []) {
          const n = Math.max(i + 1, r.data_source.get_length() ?? 0)    // a glyph of scalars has no columns
          const fill = values(r.glyph.fill_color, r.data_source, n)[i]
          const alpha = values(r.glyph.fill_alpha, r.data_source, n)[i]
          behind = over(rgba(fill, alpha ?? 1), behind)
        }
      }
      return behind
    }
    const add = (what, text, colour, alpha, behind) => {
      if (!text || colour == null || alpha === 0) return
      const fg = over(rgba(colour, alpha ?? 1), behind)
      found.push({plot: who, what, text: String(text).slice(0, 40), fg: fg.slice(0, 3).map(Math.round),
                  bg: behind.slice(0, 3).map(Math.round), ratio: ratio(fg, behind), light: lum(fg) > lum(behind)})
    }
    const sides = [...plot.above, ...plot.below, ...plot.left, ...plot.right]
    for (const model of [...sides, ...plot.center, ...plot.renderers]) {
      if (model.visible === false) continue
      const kind = model.constructor.__name__
      const behind = sides.includes(model) ? border : area
      if (kind === 'Title') add('title', model.text, model.text_color, model.text_alpha, border)
      else if (kind.endsWith('Axis')) {
        add('axis label', model.axis_label, model.axis_label_text_color, model.axis_label_text_alpha, border)
        add('tick labels', 'ticks', model.major_label_text_color, model.major_label_text_alpha, border)
      } else if (kind === 'Legend' && model.items.length) {
        const box = over(rgba(model.background_fill_color, model.background_fill_alpha), behind)
        for (const item of model.items) {
          const label = item.label && (item.label.value ?? item.label.field ?? item.label)
          add('legend', label, model.label_text_color, model.label_text_alpha, box)
        }
        add('legend title', model.title, model.title_text_color, model.title_text_alpha, box)
      } else if (kind === 'ColorBar') {
        add('colour bar ticks', 'ticks', model.major_label_text_color, model.major_label_text_alpha, behind)
        add('colour bar title', model.title, model.title_text_color, model.title_text_alpha, behind)
      } else if (kind === 'Label') {
        const box = over(rgba(model.background_fill_color, model.background_fill_alpha), behind)
        add('label', model.text, model.text_color, model.text_alpha, box)
      } else if (kind === 'LabelSet' || (kind === 'GlyphRenderer' && model.glyph.constructor.__name__ === 'Text')) {
        const set = kind === 'LabelSet'
        const glyph = set ? model : model.glyph
        const source = set ? model.source : model.data_source
        const view = Bokeh.index.find_one_by_id(model.id)
        const drawn = set ? view : view.glyph        // holds the anchors in screen units, sx and sy
        const texts = values(glyph.text, source, 0)
        const n = texts.length
        const colours = values(glyph.text_color, source, n), alphas = values(glyph.text_alpha, source, n)
        const fills = values(glyph.background_fill_color, source, n)
        const fillAlphas = values(glyph.background_fill_alpha, source, n)
        const dx = values(glyph.x_offset, source, n), dy = values(glyph.y_offset, source, n)
        texts.forEach((text, i) => {
          const sx = drawn.sx[i] + (dx[i] || 0), sy = drawn.sy[i] + (set ? -1 : 1) * (dy[i] || 0)
          const box = over(rgba(fills[i], fillAlphas[i] ?? 1), under(sx, sy, set ? null : model))
          add(set ? 'label set' : 'text', text, colours[i], alphas[i], box)
        })
      }
    }
  }
  return found
}"""


def open_page(page, app_server, slug):
    page.goto(app_server.url if slug == "intro" else f"{app_server.url}?chapter={slug}")
    page.locator(f".kx-{slug}").first.wait_for(state="visible", timeout=SLOW)
    page.wait_for_function(IDLE, timeout=SLOW)
    page.wait_for_timeout(300)        # Material UI draws its React components just after Bokeh is idle


@pytest.mark.parametrize("slug", ("intro", *SLUGS))
def test_every_control_has_an_accessible_name(page, app_server, slug):
    open_page(page, app_server, slug)
    controls = controls_and_names(page)
    assert len(controls) > 10
    unnamed = [where for where, name in controls if not name]
    assert not unnamed, (f"{len(unnamed)} of {len(controls)} controls on '{slug}' have no accessible name:\n"
                         + "\n".join(unnamed))


# What the page theme restyles: it must read light on dark, at WCAG's 4.5:1 for text.
THEMED = {"title", "axis label", "tick labels", "legend", "legend title", "colour bar ticks", "colour bar title"}
# Words a chapter draws itself keep their colours in both themes. Dark ink sits on a white box;
# without one, a mid tone must still stand out from the dark plot. No single colour reaches 4.5:1
# against both white and the dark #121212 (the best manage about 4.3:1), so the bar is 3:1 here.
DRAWN_MIN = 3.0
DARK_PICTURES = ("budget", "grid-extension")
# The dark theme restyles every figure in the browser: done when every border is dark.
DARK_FIGURES = """() => {
  const ctx = document.createElement('canvas').getContext('2d')
  const dark = colour => { ctx.fillStyle = '#fff'; ctx.fillStyle = colour; const s = ctx.fillStyle
                           return (s.startsWith('#') ? parseInt(s.slice(1, 3), 16) : +s.match(/\\d+/)[0]) < 128 }
  return [...Bokeh.index.query(v => ['Plot', 'Figure'].includes(v.model.constructor.__name__))]
    .every(v => !v.el.isConnected || dark(v.model.border_fill_color))
}"""


def _said(texts):
    return "\n".join(f"  {t['plot']}: {t['what']} {t['text']!r} in rgb{tuple(t['fg'])} on rgb{tuple(t['bg'])}, "
                     f"contrast {t['ratio']:.2f}:1" for t in texts)


@pytest.mark.parametrize("slug", SLUGS)
def test_figure_text_reads_light_on_dark_in_the_dark_theme(page, app_server, screenshot, slug):
    open_page(page, app_server, slug)
    page.get_by_role("button", name="Toggle theme").click()
    page.wait_for_function(DARK_FIGURES, timeout=SLOW)
    page.wait_for_function(IDLE)
    texts = page.evaluate(FIGURE_TEXT)
    if slug != "spline-edge":       # the spline edge draws its own SVG figure, no Bokeh plot
        assert any(t["what"] in THEMED for t in texts)
    themed = [t for t in texts if t["what"] in THEMED and (t["ratio"] < 4.5 or not t["light"])]
    assert not themed, f"Figure text on '{slug}' is not light on dark in the dark theme:\n{_said(themed)}"
    drawn = [t for t in texts if t["what"] not in THEMED and t["ratio"] < DRAWN_MIN]
    assert not drawn, f"Words drawn in figures on '{slug}' are hard to read in the dark theme:\n{_said(drawn)}"
    if slug in DARK_PICTURES:
        page.locator(".bk-Figure").first.scroll_into_view_if_needed()
        screenshot(page, f"dark-{slug}")
