"""One KAN edge as a curve you can bend: its B-spline basis, draggable coefficients, and locality.

``SplineEdge`` is the explorable. Its curve is a real one-edge ``kan_core.KAN([1, 1])``:

    phi(x) = w_b * silu(x) + w_s * sum_i c_i B_i(x)      (scale_base, scale_sp, coef in kan_core)

``SplinePlot`` is its figure, an SVG drawn by JavaScript that ships inline with this module.
A drag has to redraw the curve under the pointer with no server round trip, and every handle
must take keyboard focus. A Bokeh canvas cannot focus a glyph, and its PointDrawTool moves points
in x too, adds points on tap and syncs every pointer move unthrottled; an SVG of our own does
exactly what is needed. Python sends the basis matrix once per (G, k); during a drag the browser
only multiplies it by the coefficients, streams values to Python (at most one every THROTTLE_MS,
with at most MAX_IN_FLIGHT unacknowledged, so a busy server never queues them up) and sends the
exact value on release; Python then recomputes the curve with kan_core and the browser shows
that confirmed curve.

``BezierAside`` is the small figure on where B-splines come from: a Bezier curve built by repeated
linear interpolation (de Casteljau), and one degree-12 polynomial against a cubic spline through
the same 13 points of a bump (Runge's example).
"""

import functools
import html
import threading

import numpy as np
import panel as pn
import panel_material_ui as pmui
import param
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure
from panel.io.state import set_curdoc

from kan_core import KAN, bspline

from .inputs import BoundedFloatInput, BoundedFloatSlider, BoundedIntSlider, EchoGuard
from .theme import GREY, LINE, ORANGE, TEAL

COEF_LIMIT = 2.5          # a coefficient stays in [-COEF_LIMIT, COEF_LIMIT]
Y_RANGE = (-3.0, 3.0)     # the plot's fixed vertical range, so a drag never rescales it
INPUT_RANGE = (-1.0, 1.0)
THROTTLE_MS = 50          # at most 20 streamed values a second during a drag
MAX_IN_FLIGHT = 2         # drag values sent but not yet acknowledged, at most
KEY_STEP, KEY_BIG_STEP = 0.05, 0.25
DEFAULT_COEF = (-0.3, 0.9, -0.4, -1.1, 0.4, 1.3, 0.1, -0.6)   # G = 5, k = 3: a wave over [-1, 1]
DEFAULT_ACTIVE = 4

SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def coef_name(i):
    """'c₃' for i = 3."""
    return "c" + str(i).translate(SUBSCRIPTS)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


def plot_samples(knots, per_span_total=480, margin_frac=0.06):
    """x samples for one knot row (G+2k+1,): a margin on each side and every span sampled evenly.

    Each span [t_s, t_{s+1}) ends with a sample a hair before t_{s+1}, so an order-0 curve draws
    as clean steps; the knots themselves are samples, so a bump's support starts exactly on one.
    """
    t = np.asarray(knots, dtype=np.float64)
    n_spans = t.size - 1
    per_span = int(np.clip(np.ceil(per_span_total / n_spans), 12, 120))
    margin = margin_frac * (t[-1] - t[0])
    u = np.append(np.linspace(0.0, 1.0, per_span, endpoint=False), 1.0 - 1e-9)
    spans = [t[s] + (t[s + 1] - t[s]) * u for s in range(n_spans)]
    left = np.linspace(t[0] - margin, t[0], 16, endpoint=False)
    right = np.linspace(t[-1], t[-1] + margin, 16)
    return np.concatenate([left, *spans, right])


def greville(knots, k):
    """Where each coefficient's handle sits: the mean of knots t_{i+1} .. t_{i+k} (span midpoints for k = 0).

    On the uniform grids of kan_core every basis function is a symmetric bump, so this is also the
    x of its peak.
    """
    t = np.asarray(knots, dtype=np.float64)
    nb = t.size - k - 1
    if k == 0:
        return 0.5 * (t[:-1] + t[1:])
    return np.array([t[i + 1:i + k + 1].mean() for i in range(nb)])


def continuity_sentence(k):
    """What order k means for the joins at the knots, in one plain sentence."""
    if k == 0:
        return ("Order k = 0: each piece is a constant, so the curve jumps at every knot "
                "(not even C⁰).")
    names = {1: "straight lines", 2: "parabolas", 3: "cubics", 4: "quartics", 5: "quintics"}
    matched = ["values", "slopes", "curvatures", "third derivatives", "fourth derivatives"][:k]
    joined = matched[0] if k == 1 else ", ".join(matched[:-1]) + " and " + matched[-1]
    sup = str(k - 1).translate(str.maketrans("012345", "⁰¹²³⁴⁵"))
    return (f"Order k = {k}: the pieces are {names[k]}, joined so that {joined} match at every "
            f"knot (C{sup} continuity).")


class SplinePlot(pn.custom.JSComponent):
    """The edge's figure and its handles; the numbers come from ``SplineEdge``, the drawing is JS.

    Messages sent to Python (see ``SplineEdge._on_plot_msg``): ``{kind: 'drag' | 'release' |
    'key', index, value, seq}`` for a coefficient change and ``{kind: 'select', index, seq}``.
    Python answers by setting ``coef`` and ``curve`` and then ``confirmed = seq``.
    """

    xs = param.Array(default=np.zeros(0), doc="x samples (N,)")
    basis = param.Array(default=np.zeros(0), doc="basis values, row i = B_i(xs), flattened (G+k)*N")
    base = param.Array(default=np.zeros(0), doc="w_b * silu(xs) (N,), zeros when the term is off")
    curve = param.Array(default=np.zeros(0), doc="phi(xs) as kan_core computed it (N,)")
    knots = param.List(default=[], doc="the extended knot row (G+2k+1,)")
    centers = param.List(default=[], doc="x of each coefficient's handle (G+k,)")
    coef = param.List(default=[], doc="the coefficients c_i (G+k,)")
    scale_sp = param.Number(default=1.0)
    show_basis = param.Boolean(default=True)
    show_base = param.Boolean(default=False)
    active = param.Integer(default=0, doc="the coefficient whose support is highlighted")
    confirmed = param.Integer(default=0, doc="seq of the last browser message Python has applied")
    received = param.Integer(default=0, doc="coefficient values Python has received from the browser")
    limit = param.Number(default=COEF_LIMIT)
    y_range = param.NumericTuple(default=Y_RANGE, length=2)
    input_range = param.NumericTuple(default=INPUT_RANGE, length=2)

    def _process_bokeh_event(self, doc, event):
        # Panel marks the page busy around every browser event, and the page then flashes its
        # progress bar and re-renders twice. Twenty drag values a second are not a wait the
        # reader should see, so this component's messages skip the busy mark.
        with set_curdoc(doc):
            self._process_event(event)

    _esm = ("""
const TEAL = "%TEAL%", GREY = "%GREY%", BAND = "#607d8b"
const THROTTLE_MS = %THROTTLE%, IN_FLIGHT = %IN_FLIGHT%, STEP = %STEP%, BIG_STEP = %BIG%
const NS = "http://www.w3.org/2000/svg"
const SUB = "₀₁₂₃₄₅₆₇₈₉"
const HEIGHT = 360, M = { left: 46, right: 14, top: 14, bottom: 34 }

function node(tag, attrs, parent) {
  const e = document.createElementNS(NS, tag)
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v)
  if (parent) parent.appendChild(e)
  return e
}
const name = (i) => "c" + String(i).split("").map((d) => SUB[+d]).join("")
const fmt = (v) => (v < 0 ? "\u2212" : "") + Math.abs(v).toFixed(2)

function niceTicks(lo, hi, count) {
  const raw = (hi - lo) / count, mag = Math.pow(10, Math.floor(Math.log10(raw)))
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)
  const out = []
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) out.push(Math.abs(v) < 1e-12 ? 0 : v)
  return out
}

export function render({ model }) {
  const root = document.createElement("div")
  root.className = "kx-spline-plot"
  const svg = node("svg", { role: "group", "aria-label": "Edge curve with one draggable dot per coefficient" })
  svg.style.display = "block"
  svg.style.touchAction = "none"
  svg.style.userSelect = "none"
  root.appendChild(svg)
  const style = document.createElement("style")
  style.textContent = `
    .kx-spline-plot { color: inherit; font-family: inherit; }
    .kx-spline-plot svg text { fill: currentColor; font-size: 12px; }
    .kx-spline-plot .handle { cursor: ns-resize; outline: none; }
    .kx-spline-plot .handle .dot { fill: ${TEAL}; stroke: white; stroke-width: 1.5; }
    .kx-spline-plot .handle.active .dot { fill: white; stroke: ${TEAL}; stroke-width: 3.5; }
    .kx-spline-plot .handle .ring { fill: none; stroke: none; }
    .kx-spline-plot .handle:focus-visible .ring { stroke: #1565c0; stroke-width: 3; stroke-dasharray: 3 2; }
    .kx-spline-plot .legend { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 0.85rem;
                              margin: 4px 0 0 46px; align-items: center; }
    .kx-spline-plot .legend span { display: inline-flex; align-items: center; gap: 5px; }
  `
  root.appendChild(style)
  const legend = document.createElement("div")
  legend.className = "legend"
  legend.setAttribute("aria-hidden", "true")
  root.appendChild(legend)

  const defs = node("defs", {}, svg)
  const clipId = "kx-clip-" + Math.random().toString(36).slice(2)
  const clipRect = node("rect", {}, node("clipPath", { id: clipId }, defs))
  const gShade = node("g", {}, svg)
  const gGrid = node("g", {}, svg)
  const gBand = node("g", {}, svg)
  const plotArea = node("g", { "clip-path": `url(#${clipId})` }, svg)
  const gBasis = node("g", {}, plotArea)
  const baseLine = node("path", { fill: "none", stroke: GREY, "stroke-width": 1.6, "stroke-dasharray": "2 3",
                                   "stroke-opacity": 0.9 }, plotArea)
  const ghostLine = node("path", { fill: "none", stroke: TEAL, "stroke-width": 1.5, "stroke-dasharray": "1 3",
                                    "stroke-opacity": 0.9, "stroke-linecap": "round" }, plotArea)
  const curveLine = node("path", { fill: "none", stroke: TEAL, "stroke-width": 3.2, "stroke-linejoin": "round",
                                    class: "kx-curve" }, plotArea)
  const gKnots = node("g", {}, svg)
  const gAxes = node("g", {}, svg)
  const gHandles = node("g", {}, svg)
  const hint = node("text", { "font-weight": "bold", "text-anchor": "start", class: "kx-hint" }, svg)

  // Local state: the browser's own copy of the coefficients and what it has sent to Python.
  let W = 600, coef = [], active = model.active, dragging = null, touched = false
  let sentSeq = model.confirmed, lastSent = -1e9, timer = null, releaseAt = null, releaseSeq = null
  let pending = null
  let curve = new Float64Array(0), ghost = null, handles = [], structure = "", lastScale = null, lastBase = []

  const xs = () => model.xs, knots = () => model.knots
  const nb = () => model.centers.length
  const k = () => model.knots.length - nb() - 1
  const consistent = () => model.coef.length === nb() && model.basis.length === nb() * model.xs.length &&
                           model.base.length === model.xs.length && model.curve.length === model.xs.length
  const x0 = () => xs()[0], x1 = () => xs()[xs().length - 1]
  const sx = (x) => M.left + (x - x0()) / (x1() - x0()) * (W - M.left - M.right)
  const [ylo, yhi] = model.y_range
  const sy = (y) => M.top + (yhi - y) / (yhi - ylo) * (HEIGHT - M.top - M.bottom)
  const valueAt = (py) => yhi - (py - M.top) / (HEIGHT - M.top - M.bottom) * (yhi - ylo)
  const clamp = (v) => Math.max(-model.limit, Math.min(model.limit, v))

  function jsCurve() {
    // phi = w_b silu + w_s * (basis^T c): a matrix-vector product over the basis Python sent.
    const X = xs(), N = X.length, B = model.basis, out = new Float64Array(N), s = new Float64Array(N)
    for (let i = 0; i < coef.length; i++) {
      const c = coef[i], row = i * N
      for (let n = 0; n < N; n++) s[n] += c * B[row + n]
    }
    for (let n = 0; n < N; n++) out[n] = model.base[n] + model.scale_sp * s[n]
    return out
  }

  function pathOf(ys, from = 0, to = null) {
    const X = xs()
    to = to === null ? X.length : to
    let d = ""
    for (let n = from; n < to; n++) {
      const y = Math.max(ylo - 5, Math.min(yhi + 5, ys[n]))
      d += (n === from ? "M" : "L") + sx(X[n]).toFixed(2) + "," + sy(y).toFixed(2)
    }
    return d
  }

  function drawFrame() {
    svg.setAttribute("width", W)
    svg.setAttribute("height", HEIGHT)
    svg.setAttribute("viewBox", `0 0 ${W} ${HEIGHT}`)
    const [lo, hi] = model.input_range
    const top = M.top, bottom = HEIGHT - M.bottom, left = M.left, right = W - M.right
    clipRect.setAttribute("x", left); clipRect.setAttribute("y", top)
    clipRect.setAttribute("width", right - left); clipRect.setAttribute("height", bottom - top)
    gShade.replaceChildren(); gGrid.replaceChildren(); gAxes.replaceChildren(); gKnots.replaceChildren()
    for (const [a, b] of [[x0(), lo], [hi, x1()]]) {
      if (b > a) node("rect", { x: sx(a), y: top, width: sx(b) - sx(a), height: bottom - top, fill: GREY,
                                "fill-opacity": 0.1 }, gShade)
    }
    if (sx(lo) - left > 70) {
      node("text", { x: left + 4, y: bottom - 6, "font-size": 11, opacity: 0.75 }, gShade).textContent = "extension"
      node("text", { x: right - 4, y: bottom - 6, "font-size": 11, opacity: 0.75, "text-anchor": "end" },
           gShade).textContent = "extension"
    }
    const xt = niceTicks(x0(), x1(), Math.max(3, Math.floor((right - left) / 70)))
    for (const v of xt) {
      node("line", { x1: sx(v), x2: sx(v), y1: top, y2: bottom, stroke: "currentColor", "stroke-opacity": 0.08 }, gGrid)
      node("line", { x1: sx(v), x2: sx(v), y1: bottom, y2: bottom + 5, stroke: "currentColor" }, gAxes)
      node("text", { x: sx(v), y: bottom + 17, "text-anchor": "middle" }, gAxes).textContent = fmt(v).replace(/\\.?0+$/, "")
    }
    for (const v of niceTicks(ylo, yhi, 6)) {
      node("line", { x1: left, x2: right, y1: sy(v), y2: sy(v), stroke: "currentColor",
                     "stroke-opacity": v === 0 ? 0.35 : 0.08 }, gGrid)
      node("line", { x1: left - 5, x2: left, y1: sy(v), y2: sy(v), stroke: "currentColor" }, gAxes)
      node("text", { x: left - 8, y: sy(v) + 4, "text-anchor": "end" }, gAxes).textContent = fmt(v).replace(/\\.?0+$/, "")
    }
    node("rect", { x: left, y: top, width: right - left, height: bottom - top, fill: "none",
                   stroke: "currentColor", "stroke-opacity": 0.4 }, gAxes)
    node("text", { x: right, y: bottom + 30, "text-anchor": "end", opacity: 0.8 }, gAxes).textContent = "x, the edge's input"
    node("text", { x: 12, y: top + (bottom - top) / 2, "text-anchor": "middle", opacity: 0.8,
                   transform: `rotate(-90 12 ${top + (bottom - top) / 2})` }, gAxes).textContent = "\u03c6(x)"
    for (const t of knots()) {
      const inside = t >= lo - 1e-12 && t <= hi + 1e-12
      node("line", { x1: sx(t), x2: sx(t), y1: sy(0) - 5, y2: sy(0) + 5, stroke: "currentColor",
                     "stroke-opacity": inside ? 0.7 : 0.4, "stroke-width": 1.5, class: "knot" }, gKnots)
    }
  }

  function drawBasis() {
    gBasis.replaceChildren()
    if (!model.show_basis) return
    const N = xs().length, B = model.basis
    for (let i = 0; i < nb(); i++) {
      const row = new Float64Array(N)
      for (let n = 0; n < N; n++) row[n] = B[i * N + n]
      let a = 0, b = N
      while (a < N && row[a] === 0) a++
      while (b > a && row[b - 1] === 0) b--
      node("path", { d: pathOf(row, Math.max(0, a - 1), Math.min(N, b + 1)), fill: "none", stroke: GREY,
                     "stroke-width": i === active ? 2.4 : 1.4, "stroke-opacity": i === active ? 0.95 : 0.6 }, gBasis)
    }
  }

  function buildHandles() {
    gHandles.replaceChildren()
    handles = []
    for (let i = 0; i < nb(); i++) {
      const g = node("g", { class: "handle", tabindex: 0, role: "slider", "aria-orientation": "vertical",
                            "aria-label": "coefficient " + name(i), "aria-valuemin": -model.limit,
                            "aria-valuemax": model.limit, "data-index": i }, gHandles)
      node("circle", { class: "ring", r: 13 }, g)
      node("circle", { class: "hit", r: 14, fill: "transparent" }, g)
      node("circle", { class: "dot", r: 7 }, g)
      g.addEventListener("pointerdown", (e) => startDrag(e, i))
      g.addEventListener("keydown", (e) => onKey(e, i))
      g.addEventListener("focus", () => select(i))
      handles.push(g)
    }
  }

  function drawDynamic() {
    const N = xs().length
    curveLine.setAttribute("d", pathOf(curve))
    baseLine.setAttribute("d", model.show_base ? pathOf(model.base) : "")
    const showGhost = ghost && ghost.length === N && ghost.some((v, n) => v !== curve[n])
    ghostLine.setAttribute("d", showGhost ? pathOf(ghost) : "")
    const K = k(), t = knots(), top = M.top, bottom = HEIGHT - M.bottom
    gBand.replaceChildren()
    if (active >= 0 && active < nb()) {
      const a = sx(t[active]), b = sx(t[active + K + 1])
      node("rect", { x: a, y: top, width: b - a, height: bottom - top, fill: BAND, "fill-opacity": 0.18,
                     stroke: BAND, "stroke-opacity": 0.6, "stroke-dasharray": "4 3", class: "kx-support" }, gBand)
      const label = node("text", { x: (a + b) / 2, y: top + 14, "text-anchor": "middle", "font-size": 12 }, gBand)
      label.textContent = b - a > 110 ? name(active) + " reaches only here" : name(active)
    }
    handles.forEach((g, i) => {
      const v = coef[i], cx = sx(model.centers[i]), cy = sy(v)
      g.setAttribute("transform", `translate(${cx.toFixed(2)},${cy.toFixed(2)})`)
      g.setAttribute("aria-valuenow", v.toFixed(3))
      g.setAttribute("aria-valuetext", `${name(i)} = ${fmt(v)}`)
      g.classList.toggle("active", i === active)
    })
    const old = gHandles.querySelector(".value-label")
    if (old) old.remove()
    if (active >= 0 && active < nb()) {
      const cx = sx(model.centers[active]), cy = sy(coef[active])
      const above = cy > M.top + 40
      const lbl = node("text", { x: cx, y: above ? cy - 14 : cy + 24, "text-anchor": "middle", "font-weight": "bold",
                                 class: "value-label" }, gHandles)
      lbl.textContent = `${name(active)} = ${fmt(coef[active])}`
      hint.setAttribute("x", M.left + 8)
      hint.setAttribute("y", M.top + 34)
      hint.textContent = touched ? "" : "\u2195 drag a dot up or down"
    }
    root.dataset.received = model.received
  }

  function drawLegend() {
    const sw = (attrs) => `<svg width="26" height="10" aria-hidden="true"><line x1="1" y1="5" x2="25" y2="5" ${attrs}/></svg>`
    const items = [
      [sw(`stroke="${TEAL}" stroke-width="3.2"`), "\u03c6(x), the edge's curve"],
      [`<svg width="14" height="14"><circle cx="7" cy="7" r="5.5" fill="${TEAL}"/></svg>`, "a coefficient c\u1d62 (drag it)"],
      [`<svg width="18" height="12"><rect x="1" y="1" width="16" height="10" fill="${BAND}" fill-opacity="0.25" stroke="${BAND}" stroke-dasharray="3 2"/></svg>`,
       "what the chosen c\u1d62 can change"],
    ]
    if (model.show_basis) items.push([sw(`stroke="${GREY}" stroke-width="1.6" stroke-opacity="0.8"`), "basis bumps B\u1d62(x)"])
    if (model.show_base) items.push([sw(`stroke="${GREY}" stroke-width="1.8" stroke-dasharray="2 3"`), "w_b\u00b7silu(x), the base term"])
    items.push([sw(`stroke="${TEAL}" stroke-width="1.8" stroke-dasharray="1 3" stroke-linecap="round"`), "before this coefficient moved"])
    legend.innerHTML = items.map(([s, t]) => `<span>${s}${t}</span>`).join("")
  }

  function redraw(full) {
    if (!consistent()) return
    if (full) { drawFrame(); drawBasis(); drawLegend() }
    drawDynamic()
  }

  // Adopt Python's state unless the browser has messages in flight (or a drag under way).
  function sync() {
    if (!consistent()) return
    const key = [model.knots.length, model.centers.length, model.knots[0], model.xs.length].join("|")
    const newStructure = key !== structure
    if (newStructure) { structure = key; buildHandles() }
    root.dataset.received = model.received
    pump()
    if (dragging) return
    if ((model.confirmed < sentSeq || pending) && !newStructure) return
    if (releaseSeq !== null && model.confirmed >= releaseSeq) {
      root.dataset.roundtripMs = (performance.now() - releaseAt).toFixed(1)
      releaseSeq = null
    }
    // The dotted "before" curve compares moves of one coefficient; anything else starts it afresh.
    const incoming = Array.from(model.coef), base = Array.from(model.base)
    const otherMoved = incoming.length !== coef.length || incoming.some((c, i) => i !== model.active && c !== coef[i])
    const baseChanged = model.scale_sp !== lastScale || base.length !== lastBase.length ||
                        base.some((v, n) => v !== lastBase[n])
    coef = incoming
    curve = Float64Array.from(model.curve)
    lastScale = model.scale_sp
    lastBase = base
    if (model.active !== active || newStructure || otherMoved || baseChanged) {
      active = model.active
      ghost = Float64Array.from(curve)
    }
    redraw(true)
    root.dataset.confirmed = model.confirmed
  }
  let queued = false
  const queueSync = () => { if (!queued) { queued = true; queueMicrotask(() => { queued = false; sync() }) } }

  function send(kind, i) {
    sentSeq += 1
    lastSent = performance.now()
    const msg = { kind, index: i, seq: sentSeq }
    if (kind !== "select") msg.value = coef[i]
    model.send_msg(msg)
  }

  // Send the waiting value (pending = {kind, index}) when allowed: a release at once; drag and
  // key values with at most IN_FLIGHT messages unacknowledged, drag values also at most every
  // THROTTLE_MS. A busy server so never builds a queue (the rate adapts to the round trip) and
  // the newest value is always the next one sent.
  function pump() {
    if (!pending) return
    if (pending.kind !== "release" && model.confirmed <= sentSeq - IN_FLIGHT) return
    if (pending.kind === "drag") {
      const wait = THROTTLE_MS - (performance.now() - lastSent)
      if (wait > 0) {
        if (timer === null) timer = setTimeout(() => { timer = null; pump() }, wait)
        return
      }
    }
    const { kind, index } = pending
    pending = null
    send(kind, index)
    if (kind !== "drag") releaseSeq = sentSeq
  }
  function queue(kind, index) {
    pending = { kind, index }
    pump()
  }

  function select(i) {
    if (i === active) return
    active = i
    ghost = Float64Array.from(curve)
    redraw(true)
    send("select", i)
  }

  function setLocal(i, v) {
    coef[i] = clamp(v)
    curve = jsCurve()
    drawDynamic()
  }

  function startDrag(e, i) {
    e.preventDefault()
    touched = true
    handles[i].focus({ preventScroll: true })
    select(i)
    ghost = Float64Array.from(curve)
    dragging = { index: i, pointerId: e.pointerId }
    svg.setPointerCapture(e.pointerId)
    drawDynamic()
  }

  svg.addEventListener("pointermove", (e) => {
    if (!dragging || e.pointerId !== dragging.pointerId) return
    const i = dragging.index
    const rect = svg.getBoundingClientRect()
    setLocal(i, valueAt(e.clientY - rect.top))
    queue("drag", i)
  })
  const endDrag = (e) => {
    if (!dragging || e.pointerId !== dragging.pointerId) return
    const i = dragging.index
    dragging = null
    if (timer !== null) { clearTimeout(timer); timer = null }
    releaseAt = performance.now()
    queue("release", i)
  }
  svg.addEventListener("pointerup", endDrag)
  svg.addEventListener("pointercancel", endDrag)

  function onKey(e, i) {
    const step = e.shiftKey ? BIG_STEP : STEP
    let v = null
    if (e.key === "ArrowUp") v = coef[i] + step
    else if (e.key === "ArrowDown") v = coef[i] - step
    else if (e.key === "PageUp") v = coef[i] + BIG_STEP
    else if (e.key === "PageDown") v = coef[i] - BIG_STEP
    else if (e.key === "ArrowRight" && i + 1 < nb()) { handles[i + 1].focus(); e.preventDefault(); return }
    else if (e.key === "ArrowLeft" && i > 0) { handles[i - 1].focus(); e.preventDefault(); return }
    if (v === null) return
    e.preventDefault()
    touched = true
    setLocal(i, Math.round(v * 1e6) / 1e6)
    releaseAt = performance.now()
    queue("key", i)
  }

  const resize = new ResizeObserver(() => {
    const w = Math.floor(root.clientWidth)
    if (w > 0 && w !== W) { W = w; redraw(true) }
  })
  resize.observe(root)
  model.on(["xs", "basis", "base", "curve", "knots", "centers", "coef", "scale_sp", "show_basis",
            "show_base", "active", "confirmed", "received"], queueSync)
  model.on("remove", () => { resize.disconnect(); if (timer !== null) clearTimeout(timer) })

  // For tests and curious readers: the numbers behind the drawing.
  root.kxPlot = {
    get xs() { return Array.from(xs()) }, get curve() { return Array.from(curve) },
    get pythonCurve() { return Array.from(model.curve) }, get computed() { return Array.from(jsCurve()) },
    get coef() { return coef.slice() },
    get knots() { return model.knots.slice() }, get k() { return k() }, get active() { return active },
    get dragging() { return dragging !== null }, get sent() { return sentSeq },
  }
  W = Math.max(320, Math.floor(root.clientWidth) || 600)
  sync()
  return root
}
""".replace("%TEAL%", TEAL).replace("%GREY%", GREY).replace("%THROTTLE%", str(THROTTLE_MS))
        .replace("%IN_FLIGHT%", str(MAX_IN_FLIGHT))
        .replace("%STEP%", str(KEY_STEP)).replace("%BIG%", str(KEY_BIG_STEP)))


class SplineEdge(pn.viewable.Viewer):
    """One KAN edge phi(x) = w_b silu(x) + w_s sum_i c_i B_i(x) with draggable coefficients.

    Set the parameters from Python (``edge.coef = [...]``, ``edge.grid_size = 8``) or in the page.
    Changing G or k re-expresses the current spline on the new grid by least squares over the
    input range, so the shape is kept as well as the new grid allows.
    """

    grid_size = param.Integer(default=5, bounds=(1, 20), doc="G, the number of knot intervals over [-1, 1]")
    spline_order = param.Integer(default=3, bounds=(0, 5), doc="k, the polynomial degree of each piece")
    coef = param.List(default=list(DEFAULT_COEF), item_type=float, doc="the G + k coefficients c_i")
    use_base = param.Boolean(default=False, doc="add the SiLU base term w_b * silu(x)")
    scale_base = param.Number(default=1.0, bounds=(-2.0, 2.0), doc="w_b, the SiLU term's scale")
    scale_sp = param.Number(default=1.0, bounds=(-2.0, 2.0), doc="w_s, the spline's scale")
    show_basis = param.Boolean(default=True, doc="draw the basis bumps B_i(x)")
    active = param.Integer(default=DEFAULT_ACTIVE, bounds=(0, None), doc="the coefficient being edited")
    note = param.String(default="", doc="a sentence about the last input that had to be corrected")

    def __init__(self, **params):
        super().__init__(**params)
        self._model = None
        self._refit = True          # False only while reset() restores the opening coefficients
        self._streaming = False     # True while a drag value is applied: the entry boxes wait for release
        self._pick = self._value = None
        self._plot = SplinePlot(sizing_mode="stretch_width", min_width=300, styles={"flex": "1 1 480px"},
                                css_classes=["kx-spline-figure"])
        self._plot.on_msg(self._on_plot_msg)
        self._msg_lock = threading.Lock()   # served with --num-threads, messages come on several threads
        self._fit_x = np.linspace(*INPUT_RANGE, 512)[:, None]
        self._rebuild(refit=False)
        self._controls = self._make_controls()

    # -- the numbers ----------------------------------------------------------------------------
    @property
    def model(self):
        """The one-edge kan_core.KAN([1, 1]) behind the figure (rebuilt when G or k changes)."""
        return self._model

    def support(self, i):
        """The interval [t_i, t_{i+k+1}] outside which coefficient i has no effect."""
        t = self._model.layers[0].grid[0]
        return float(t[i]), float(t[i + self.spline_order + 1])

    def _rebuild(self, refit):
        """Make the KAN for the current (G, k); refit the old spline onto it when ``refit``."""
        G, k = self.grid_size, self.spline_order
        new = KAN([1, 1], grid=G, k=k, noise_scale=0.0)
        if refit and self._model is not None:
            old = self._model.layers[0].spline_values(self._fit_x)
            fitted = bspline.fit_coef(self._fit_x, old, new.layers[0].grid, k)[0, 0]
            coef = np.clip(fitted, -COEF_LIMIT, COEF_LIMIT)
            clipped = not np.array_equal(coef, fitted)
        else:
            coef = self._checked_coef(self.coef, G + k)
            clipped = False
        self._model = new
        grid = new.layers[0].grid
        xs = plot_samples(grid[0])
        self._xs = xs
        with pn.io.hold():
            self._plot.param.update(
                xs=xs,
                basis=np.ascontiguousarray(bspline.basis(xs[:, None], grid, k)[:, 0, :].T).ravel(),
                knots=grid[0].tolist(),
                centers=greville(grid[0], k).tolist(),
            )
            self.param.update(coef=[float(c) for c in coef], active=min(self.active, G + k - 1),
                              note=(f"Some refitted coefficients were outside ±{COEF_LIMIT} and were "
                                    f"clipped to it." if clipped else ""))
            self._push()

    def _checked_coef(self, values, n):
        """Exactly n finite coefficients clamped to the limit (padding with 0 or cutting if needed)."""
        arr = np.zeros(n)
        given = np.asarray(values, dtype=np.float64)[:n]
        arr[:given.size] = np.where(np.isfinite(given), given, 0.0)
        return np.clip(arr, -COEF_LIMIT, COEF_LIMIT)

    def _push(self):
        """Write the parameters into the KAN, evaluate the edge with kan_core and update the figure."""
        layer = self._model.layers[0]
        layer.coef[0, 0, :] = self._checked_coef(self.coef, layer.coef.shape[2])
        layer.scale_sp[0, 0] = self.scale_sp
        layer.scale_base[0, 0] = self.scale_base if self.use_base else 0.0
        if self.use_base:
            base_only = self._model.copy()
            base_only.layers[0].scale_sp[0, 0] = 0.0
            base = base_only.edge(0, 0, 0)(self._xs)
        else:
            base = np.zeros_like(self._xs)
        self._plot.param.update(coef=layer.coef[0, 0].tolist(), curve=self._model.edge(0, 0, 0)(self._xs),
                                base=base, scale_sp=float(self.scale_sp), show_base=self.use_base,
                                show_basis=self.show_basis, active=self.active)

    @param.depends("grid_size", "spline_order", watch=True)
    def _on_grid(self):
        self._rebuild(refit=self._refit)

    @param.depends("coef", "use_base", "scale_base", "scale_sp", "show_basis", "active", watch=True)
    def _on_values(self):
        if self._model.layers[0].coef.shape[2] != self.grid_size + self.spline_order:
            return  # G or k changed in the same update: _on_grid rebuilds and pushes
        checked = self._checked_coef(self.coef, self.grid_size + self.spline_order)
        if len(self.coef) != checked.size or not np.array_equal(checked, self.coef):
            self.note = (f"This edge has exactly {checked.size} coefficients, each from −{COEF_LIMIT} "
                         f"to {COEF_LIMIT}; the values given were adjusted to fit.")
            self.coef = checked.tolist()
            return
        with pn.io.hold():
            self._push()

    def set_coef(self, i, value):
        """Set coefficient i to value (clamped to ±COEF_LIMIT with a note); returns the value used."""
        n = self.grid_size + self.spline_order
        if not 0 <= i < n:
            self.note = f"There is no coefficient {i}; this edge has {coef_name(0)} to {coef_name(n - 1)}."
            return None
        try:
            value = float(value)
        except (TypeError, ValueError):
            self.note = f"A coefficient must be a number; {value!r} is not one."
            return None
        if not np.isfinite(value):
            self.note = "A coefficient must be a finite number."
            return None
        used = float(np.clip(value, -COEF_LIMIT, COEF_LIMIT))
        self.note = "" if used == value else (f"Coefficients stay between −{COEF_LIMIT} and {COEF_LIMIT}, "
                                              f"so {value:g} became {used:g}.")
        coef = list(self.coef)
        coef[i] = used
        self.param.update(coef=coef, active=i)
        return used

    def _on_plot_msg(self, event):
        """A message from the browser: a dragged, released or keyed value, or a selected handle.

        Every message with a whole-number ``seq`` is acknowledged (``confirmed = seq``), even one
        whose handle a change of G or k has just removed, because the page waits for it.
        Served with ``--num-threads``, Panel hands some messages to worker threads and handles
        others on the event loop, so a later message can be handled first, and a worker thread's
        changes reach the page after the loop's. So every message is handled on the event loop,
        one at a time, and one older than a message already handled (a drag value overtaken by
        the release) is dropped: the newest value always wins and ``confirmed`` never goes back.
        """
        doc = pn.state.curdoc
        if (doc is not None and doc.session_context is not None
                and threading.current_thread() is not threading.main_thread()):
            try:
                pn.state.execute(functools.partial(self._on_plot_msg, event), schedule=True)
            except AttributeError:      # the tab closed meanwhile: its document is gone
                if doc.session_context is not None:
                    raise
            return
        msg = event.data if isinstance(event.data, dict) else {}
        seq = msg.get("seq")
        if not _is_int(seq):
            return
        with self._msg_lock:
            if seq > self._plot.confirmed:
                self._apply_plot_msg(msg, seq)

    def _apply_plot_msg(self, msg, seq):
        kind, index, value = (msg.get(key) for key in ("kind", "index", "value"))
        known = _is_int(index) and 0 <= index < self.grid_size + self.spline_order
        received = self._plot.received
        with pn.io.hold():
            if known and kind == "select":
                self.active = index
            elif known and kind in ("drag", "release", "key") and _is_number(value):
                coef = list(self.coef)
                coef[index] = float(np.clip(value, -COEF_LIMIT, COEF_LIMIT))
                self._streaming = kind == "drag"
                self.param.update(coef=coef, active=index, note="")
                self._streaming = False
                if kind != "drag":
                    self._sync_entry()
                received += 1
            self._plot.param.update(received=received, confirmed=seq)

    @param.depends("grid_size", "spline_order")
    def count_text(self):
        """The parameter-count readout, from kan_core's own count."""
        G, k = self.grid_size, self.spline_order
        return (f"**{KAN.count_params([1, 1], G, k)} parameters** on this edge: G + k = {G} + {k} = {G + k} "
                f"coefficients cᵢ, plus the two scales w_b and w_s.")

    @param.depends("spline_order")
    def continuity_text(self):
        return continuity_sentence(self.spline_order)

    # -- the page -------------------------------------------------------------------------------
    def reset(self, *_):
        """Back to the opening state: G = 5, k = 3, the default wave, no SiLU term."""
        self._refit = False
        try:
            with pn.io.hold():
                self.param.update(grid_size=5, spline_order=3, coef=list(DEFAULT_COEF), use_base=False,
                                  scale_base=1.0, scale_sp=1.0, show_basis=True, active=DEFAULT_ACTIVE,
                                  note="")
        finally:
            self._refit = True

    def _make_controls(self):
        grid = BoundedIntSlider.from_param(self.param.grid_size, label="Grid size G", sizing_mode="stretch_width")
        order = BoundedIntSlider.from_param(self.param.spline_order, label="Spline order k", sizing_mode="stretch_width")
        basis = pmui.Switch.from_param(self.param.show_basis, label="Show the basis bumps")
        base = pmui.Switch.from_param(self.param.use_base, label="Add the SiLU base term")
        w_b = BoundedFloatInput.from_param(self.param.scale_base, label="w_b (SiLU)", step=0.1, width=125,
                                         disabled=self.param.use_base.rx.not_())
        w_s = BoundedFloatInput.from_param(self.param.scale_sp, label="w_s (spline)", step=0.1, width=125)
        self._pick = pmui.Select(label="Coefficient", width=110)
        self._value = BoundedFloatInput(label="its value", step=KEY_STEP, width=130)
        self._value_echo = EchoGuard(self._value)
        self._sync_entry()
        self._pick.param.watch(self._on_pick, "value")
        self._value.param.watch(self._on_typed, "value")
        reset = pmui.Button(label="Reset", icon="restart_alt", variant="outlined", on_click=self.reset)
        note = pn.pane.HTML(self._note_html, sizing_mode="stretch_width", margin=(0, 10))
        small = {"font-size": "0.9rem"}
        count = pn.pane.Markdown(self.count_text, sizing_mode="stretch_width", margin=(0, 10), styles=small,
                                 css_classes=["kx-param-count"])
        joins = pn.pane.Markdown(self.continuity_text, sizing_mode="stretch_width", margin=(0, 10), styles=small,
                                 css_classes=["kx-continuity"])
        return pn.Column(grid, order, count, joins, pn.Row(self._pick, self._value), base, pn.Row(w_b, w_s),
                         basis, reset, note, width=300, css_classes=["kx-spline-controls"])

    @param.depends("note")
    def _note_html(self):
        if not self.note:
            return ""
        return f'<div role="status" class="kx-spline-note">{html.escape(self.note)}</div>'

    @param.depends("coef", "active", watch=True)
    def _sync_entry(self):
        if self._pick is None or self._streaming:
            return
        options = {coef_name(i): i for i in range(len(self.coef))}
        if self._pick.options != options:
            self._pick.options = options
        self._pick.value = self.active
        value = round(self.coef[self.active], 3)
        if self._value.value != value:
            self._value_echo.show(value)

    def _on_pick(self, event):
        if event.new is not None and event.new != self.active:
            self.active = event.new

    def _on_typed(self, event):
        current = round(self.coef[self.active], 3)
        if event.new is None or event.new == current:
            return
        if self._value_echo.is_echo(event.new):   # the box repeating an older value: keep the newer one
            self._value.value = current
            return
        self._value_echo.typed(event.new)
        with self._value_echo.typing():
            used = self.set_coef(self.active, event.new)
            if used is None or used != event.new:
                self._value.value = round(self.coef[self.active], 3)

    def __panel__(self):
        # Without max-height: none a FlexBox is capped at its parent's height, and once the
        # controls wrap below the figure they would spill over whatever follows.
        return pn.FlexBox(self._plot, self._controls, flex_wrap="wrap", gap="8px",
                          sizing_mode="stretch_width", styles={"max-height": "none"},
                          css_classes=["kx-spline-edge-widget"])


def de_casteljau(points, t):
    """All levels of de Casteljau's construction at t: a list of arrays, from the control points
    (n, 2) down to the single point on the Bezier curve (1, 2)."""
    levels = [np.asarray(points, dtype=np.float64)]
    while len(levels[-1]) > 1:
        p = levels[-1]
        levels.append((1.0 - t) * p[:-1] + t * p[1:])
    return levels


CONTROL_POINTS = {
    3: ((0.0, 0.0), (1.4, 2.2), (3.0, 0.4)),
    4: ((0.0, 0.0), (0.7, 2.2), (2.4, 2.3), (3.0, 0.2)),
}


def runge_comparison(n_points=13, n_plot=801):
    """One polynomial of degree n_points - 1 and a cubic spline (kan_core, knots at the points)
    through the same samples of the bump 1 / (1 + 25 x^2) on [-1, 1].

    Returns a dict: x, the bump, both curves on x ('poly', 'spline'), the sample points (xp, yp)
    and both curves at them ('poly_at_points', 'spline_at_points').
    """
    def bump(x):
        return 1.0 / (1.0 + 25.0 * x * x)

    xp = np.linspace(-1.0, 1.0, n_points)
    x = np.linspace(-1.0, 1.0, n_plot)
    poly = np.polynomial.Polynomial.fit(xp, bump(xp), n_points - 1)
    grid = bspline.make_grid(1, n_points - 1, 3)
    coef = bspline.fit_coef(xp[:, None], bump(xp)[:, None], grid, 3)
    def spline(at):
        return bspline.spline(at[:, None], grid, coef, 3)[:, 0, 0]

    return {"x": x, "bump": bump(x), "poly": poly(x), "spline": spline(x), "xp": xp, "yp": bump(xp),
            "poly_at_points": poly(xp), "spline_at_points": spline(xp)}


def _legend_below(fig):
    legend = fig.legend[0]
    legend.label_text_font_size = "9pt"
    legend.spacing = 0
    legend.padding = 4
    legend.border_line_alpha = 0
    fig.add_layout(legend, "below")


class BezierAside(pn.viewable.Viewer):
    """Where B-splines come from: de Casteljau's repeated interpolation, and pieces versus one polynomial."""

    t = param.Number(default=0.4, bounds=(0.0, 1.0), doc="how far along the Bezier curve")
    n_control = param.Selector(default=4, objects=[3, 4], doc="number of control points")

    def __init__(self, **params):
        super().__init__(**params)
        fig = figure(height=370, width=380, x_range=(-0.3, 3.3), y_range=(-0.35, 2.6), toolbar_location=None,
                     title="A Bézier curve by repeated interpolation", match_aspect=False,
                     name="kx-bezier-figure")
        fig.xaxis.visible = fig.yaxis.visible = False
        fig.grid.visible = False
        self._curve = ColumnDataSource(name="kx-bezier-curve", data={"x": [], "y": []})
        self._traced = ColumnDataSource(name="kx-bezier-traced", data={"x": [], "y": []})
        self._control = ColumnDataSource(name="kx-bezier-control", data={"x": [], "y": [], "label": []})
        self._mid = ColumnDataSource(name="kx-bezier-levels", data={"xs": [], "ys": []})
        self._mid_pts = ColumnDataSource(name="kx-bezier-level-points", data={"x": [], "y": []})
        self._point = ColumnDataSource(name="kx-bezier-point", data={"x": [], "y": []})
        fig.line("x", "y", source=self._curve, **{**LINE["target"], "line_width": 1.5, "line_alpha": 0.35})
        fig.line("x", "y", source=self._traced, legend_label="the curve so far", **LINE["target"])
        fig.line("x", "y", source=self._control, legend_label="control polygon", **LINE["scaffold"])
        fig.scatter("x", "y", source=self._control, size=9, color=GREY)
        fig.text("x", "y", text="label", source=self._control, x_offset=6, y_offset=-4, text_font_size="11pt")
        fig.multi_line("xs", "ys", source=self._mid, line_color="#616161", line_width=1.5,
                       legend_label="interpolation steps")
        fig.scatter("x", "y", source=self._mid_pts, size=7, color="#616161", marker="square")
        fig.scatter("x", "y", source=self._point, size=13, color=TEAL, line_color="white")
        _legend_below(fig)
        self._bezier_fig = fig

        r = runge_comparison()
        rf = figure(height=390, width=400, x_range=(-1.05, 1.05), y_range=(-1.2, 1.6), toolbar_location=None,
                    title="13 points of a bump: one polynomial vs a spline", name="kx-runge-figure")
        src = ColumnDataSource(name="kx-runge", data={k: r[k] for k in ("x", "bump", "poly", "spline")})
        pts = ColumnDataSource(data={"x": r["xp"], "y": r["yp"]})
        err_p = np.abs(r["poly"] - r["bump"]).max()
        err_s = np.abs(r["spline"] - r["bump"]).max()
        rf.line("x", "bump", source=src, legend_label="the bump", **{**LINE["target"], "line_width": 5,
                                                                      "line_alpha": 0.35})
        rf.line("x", "poly", source=src, legend_label=f"one polynomial of degree 12 (worst error {err_p:.2f})",
                line_color=ORANGE, line_width=2, line_dash="dotted")
        rf.line("x", "spline", source=src, legend_label=f"cubic spline, 12 pieces (worst error {err_s:.3f})",
                **LINE["fit"])
        rf.scatter("x", "y", source=pts, size=7, color=TEAL, line_color="white", legend_label="the 13 points")
        _legend_below(rf)
        self._runge_fig = rf
        self._slider = BoundedFloatSlider.from_param(self.param.t, label="t, how far along", step=0.01, width=330)
        self._count = pmui.RadioButtonGroup.from_param(self.param.n_control, label="Control points")
        self._update()

    @param.depends("t", "n_control", watch=True)
    def _update(self):
        pts = np.array(CONTROL_POINTS[self.n_control])
        ts = np.linspace(0.0, 1.0, 201)
        curve = np.array([de_casteljau(pts, s)[-1][0] for s in ts])
        traced = curve[ts <= self.t + 1e-12]
        levels = de_casteljau(pts, self.t)
        inner = levels[1:-1]
        self._curve.data = {"x": curve[:, 0], "y": curve[:, 1]}
        self._traced.data = {"x": traced[:, 0], "y": traced[:, 1]}
        self._control.data = {"x": pts[:, 0], "y": pts[:, 1],
                              "label": ["P" + str(i).translate(SUBSCRIPTS) for i in range(len(pts))]}
        self._mid.data = {"xs": [lvl[:, 0] for lvl in inner], "ys": [lvl[:, 1] for lvl in inner]}
        flat = np.concatenate(inner) if inner else np.zeros((0, 2))
        self._mid_pts.data = {"x": flat[:, 0], "y": flat[:, 1]}
        self._point.data = {"x": levels[-1][:, 0], "y": levels[-1][:, 1]}

    def __panel__(self):
        return pn.FlexBox(pn.Column(self._bezier_fig, self._count, self._slider), self._runge_fig,
                          flex_wrap="wrap", gap="12px", sizing_mode="stretch_width",
                          styles={"max-height": "none"})
