"""Snap a learned edge to a formula: rank every library function c·f(a·x + b) + d, lock the best.

``SnapExplorer`` trains a one-edge ``kan_core.KAN([1, 1])`` on noisy samples of a hidden clean
function, so its edge is a real learned spline: close to the clean curve, but wobbly where it
chased the noise. ``kan_core.suggest_symbolic`` fits every function of ``SYMBOLIC_LIB`` to that
curve and ranks the fits by pykan's score (R² against complexity); snapping calls
``KAN.fix_symbolic`` and the snapped curve is the network's own output, read back with
``forward_detail``. Unsnapping (``KAN.unfix_symbolic``) gives the untouched spline back.

The default opens unsnapped, with the best candidate as a faint dotted preview: the reader sees
the messy spline, sees at once that a clean curve runs right through it, and makes the swap
with Snap, which is when the formula appears.
"""

import html

import numpy as np
import panel as pn
import panel_material_ui as pmui
import param
from bokeh.models import ColumnDataSource, Legend, LegendItem, Range1d, Span
from bokeh.core.properties import value
from bokeh.plotting import figure

from kan_core import KAN, SYMBOLIC_LIB, Trainer, make_dataset, suggest_symbolic, target_from_formula

from .inputs import BoundedFloatInput, BoundedFloatSlider, BoundedIntInput
from .theme import GREY, LINE, ORANGE, RED

# The hidden clean functions the reader can train on: label -> formula for kan_core's parser.
TARGETS = {
    "sine": "sin(pi*x)",
    "parabola": "x^2",
    "exponential": "exp(1.5*x)",
    "S-curve (tanh)": "tanh(3*x)",
    "bump (Gaussian)": "exp(-4*x^2)",
}
SPLINE = "spline"          # the value of ``snapped_to`` when the edge is not snapped
GRID_SIZE = 20             # enough knots for the spline to chase the noise a little
SPLINE_ORDER = 3
N_TRAIN = 100
N_TEST = 50
TRAIN_STEPS = 50           # L-BFGS steps; training takes well under a second
XS = np.linspace(-1.0, 1.0, 201)   # where the edge is drawn and where formulas are fitted to it
DIGITS = 3                 # decimals of the fitted constants in formulas


def signed(v, digits=3):
    """A number with a real minus sign, e.g. '−0.004'."""
    s = f"{v:.{digits}f}"
    return s.replace("-", "−")


def score_sum(candidate, weight):
    """The score written out with its numbers: 'w·complexity + (1 − w)·log₂(1 + 10⁻⁵ − R²) = …'."""
    return (f"{weight:.2f}·{candidate.complexity} + {1 - weight:.2f}·log₂(1 + 10⁻⁵ − {candidate.r2:.6f})"
            f" = {signed(candidate.score)}")


class SnapExplorer(pn.viewable.Viewer):
    """A learned edge, the ranking of every library formula against it, and the snap itself."""

    target = param.Selector(default="sine", objects=list(TARGETS), doc="The hidden clean function.")
    noise = param.Number(default=0.08, bounds=(0.0, 0.5), step=0.01,
                         doc="Noise on the training labels, as a fraction of the function's spread.")
    seed = param.Integer(default=0, bounds=(0, 9999), doc="Seed for the samples, the noise and the KAN's start.")
    weight_simple = param.Number(default=0.8, bounds=(0.0, 1.0), step=0.05,
                                 doc="w in the score: how much simplicity counts against accuracy.")
    snapped_to = param.Selector(default=SPLINE, objects=[SPLINE, *SYMBOLIC_LIB],
                                doc="The library function the edge is snapped to, or 'spline'.")
    show_target = param.Boolean(default=False, doc="Draw the hidden clean function.")

    def __init__(self, **params):
        super().__init__(**params)
        self.model = None
        self.candidates = []
        self.learned = np.zeros_like(XS)
        self._build_figures()
        self._build_table()
        self._build_controls()
        self._layout = self._build_layout()
        self._train()
        self._rank()
        self._apply_snap()
        self._draw()

    # -- the numbers ------------------------------------------------------------------------------
    def _train(self):
        """Train a fresh KAN([1, 1]) on noisy samples of the hidden function; keep its spline edge."""
        self.hidden = target_from_formula(TARGETS[self.target])
        self.data = make_dataset(self.hidden, n_train=N_TRAIN, n_test=N_TEST, noise=self.noise, seed=self.seed)
        self.model = KAN([1, 1], grid=GRID_SIZE, k=SPLINE_ORDER, seed=self.seed)
        self.trainer = Trainer(self.model, self.data, "lbfgs")
        self.trainer.step(TRAIN_STEPS)
        self.model = self.trainer.model
        self.learned = self._edge_values()

    def _edge_values(self):
        """The edge phi(x) at XS, as the network computes it (spline or snapped formula)."""
        return self.model.forward_detail(XS[:, None])["edges"][0][:, 0, 0].copy()

    def _rank(self):
        """Fit every library function to the learned spline's samples and rank them by score."""
        self.candidates = suggest_symbolic(XS, self.learned, lib=None, topk=None,
                                           weight_simple=self.weight_simple)

    def _apply_snap(self):
        """Lock the edge to ``snapped_to`` (fitted to the spline), or give it its spline back."""
        self.model.unfix_symbolic(0, 0, 0)
        self.snap_r2 = None
        if self.snapped_to != SPLINE:
            self.snap_r2 = self.model.fix_symbolic(0, 0, 0, self.snapped_to, x=XS[:, None])
        self.curve = self._edge_values()

    def candidate(self, name):
        return next(c for c in self.candidates if c.name == name)

    @property
    def shown(self):
        """The candidate the formula, the residual and the score line are about: the snapped one,
        or the top of the ranking (the preview) when nothing is snapped."""
        return self.candidates[0] if self.snapped_to == SPLINE else self.candidate(self.snapped_to)

    # -- actions ----------------------------------------------------------------------------------
    def snap(self, event=None):
        """Fit and rank the whole library on the learned curve, then lock the edge to the best."""
        self.model.unfix_symbolic(0, 0, 0)
        self.learned = self._edge_values()
        self._rank()
        best = self.candidates[0].name
        if best == self.snapped_to:
            self._apply_snap()
            self._draw()
        else:
            self.snapped_to = best

    def unsnap(self, event=None):
        self.snapped_to = SPLINE

    def reset(self, event=None):
        self.param.update({name: p.default for name, p in self.param.objects("existing").items()
                           if name != "name"})

    @param.depends("target", "noise", "seed", watch=True)
    def _on_data(self):
        self._train()
        self._rank()
        if self.snapped_to != SPLINE:
            self.snapped_to = SPLINE  # a new curve starts unsnapped; that watcher redraws
            return
        self._apply_snap()
        self._draw()

    @param.depends("weight_simple", watch=True)
    def _on_weight(self):
        self._rank()
        self._draw()

    @param.depends("snapped_to", watch=True)
    def _on_snapped(self):
        self._apply_snap()
        self._draw()

    @param.depends("show_target", watch=True)
    def _on_show_target(self):
        self._draw_target()

    # -- figures ----------------------------------------------------------------------------------
    def _build_figures(self):
        self.sources = {key: ColumnDataSource(data={"x": [], "y": []}, name=f"snap-{key}")
                        for key in ("samples", "target", "learned", "preview", "snapped", "residual")}
        self.y_range = Range1d(-1.5, 1.5)
        x_range = Range1d(-1.05, 1.05)
        fig = figure(name="snap-figure", height=330, sizing_mode="stretch_width", min_width=360,
                     x_range=x_range, y_range=self.y_range, tools="", toolbar_location=None,
                     title="The trained edge φ(x)", min_border_left=44)
        fig.title.text_font_size = "13px"
        fig.xaxis.axis_label = "x (the edge's input)"
        fig.yaxis.axis_label = "φ(x)"
        samples = fig.scatter("x", "y", source=self.sources["samples"], size=4, color=GREY, alpha=0.55)
        target = fig.line("x", "y", source=self.sources["target"], **{**LINE["target"], "line_width": 2})
        learned = fig.line("x", "y", source=self.sources["learned"], **LINE["fit"])
        preview = fig.line("x", "y", source=self.sources["preview"], line_color=RED, line_width=3,
                           line_alpha=0.9, line_dash=[2, 4])
        snapped = fig.line("x", "y", source=self.sources["snapped"], **{**LINE["snapped"], "line_width": 3})
        self.learned_line = learned
        self.legend_items = {
            "samples": LegendItem(label=value("noisy samples"), renderers=[samples]),
            "target": LegendItem(label=value("hidden function"), renderers=[target]),
            "learned": LegendItem(label=value("learned spline"), renderers=[learned]),
            "preview": LegendItem(label=value("best formula (preview)"), renderers=[preview]),
            "snapped": LegendItem(label=value("snapped formula"), renderers=[snapped]),
        }
        fig.add_layout(Legend(items=list(self.legend_items.values()), orientation="horizontal", ncols=3,
                              location="center", label_text_font_size="12px", spacing=4, padding=4,
                              border_line_alpha=0), "below")
        self.figure = fig

        self.residual_range = Range1d(-0.1, 0.1)
        res = figure(name="snap-residual-figure", height=150, sizing_mode="stretch_width", min_width=360,
                     x_range=x_range, y_range=self.residual_range, tools="", toolbar_location=None,
                     title="", min_border_left=44)
        res.title.text_font_size = "13px"
        res.yaxis.axis_label = "difference"
        res.add_layout(Span(location=0, dimension="width", line_color=GREY, line_alpha=0.8, line_width=1))
        res.line("x", "y", source=self.sources["residual"], line_color=ORANGE, line_width=1.8)
        res.varea(x="x", y1=0, y2="y", source=self.sources["residual"], fill_color=ORANGE, fill_alpha=0.15)
        self.residual_figure = res

    def _build_table(self):
        self.table = CandidateTable(sizing_mode="stretch_width", css_classes=["kx-snap-table"], margin=(10, 10),
                                    height=CandidateTable.height_for(len(SYMBOLIC_LIB)))
        self.table.on_msg(self._on_row)

    def table_rows(self):
        """One dict of display strings per candidate, best score first."""
        return [{"rank": str(i + 1), "name": c.name, "r2": f"{c.r2:.6f}", "complexity": str(c.complexity),
                 "score": signed(c.score), "formula": c.text(digits=DIGITS)}
                for i, c in enumerate(self.candidates)]

    def _on_row(self, event):
        """The reader clicked a row (or pressed its button): snap to that function."""
        name = event.data.get("name") if isinstance(event.data, dict) else None
        if name in self.param.snapped_to.objects:
            self.snapped_to = name

    # -- controls ---------------------------------------------------------------------------------
    def _build_controls(self):
        self.target_select = pmui.Select.from_param(self.param.target, label="Hidden function",
                                                    sizing_mode="stretch_width")
        # Each slider has a number box beside it that shows its value, named by its own label (typing
        # is the keyboard's other way in; Material UI's slider-with-a-box leaves its box unnamed).
        self.noise_slider = BoundedFloatSlider.from_param(self.param.noise, label="Noise", step=0.01, format="0.00",
                                                          show_value=False, sizing_mode="stretch_width",
                                                          min_width=150)
        self.noise_input = BoundedFloatInput.from_param(self.param.noise, label="Noise (0 to 0.5)", step=0.01,
                                                        format="0.00", width=135)
        self.seed_input = BoundedIntInput.from_param(self.param.seed, label="Seed",
                                                   sizing_mode="stretch_width")
        self.show_target_box = pmui.Checkbox.from_param(self.param.show_target, label="Show the hidden function")
        self.snap_button = pmui.Button(label="Snap", icon="auto_fix_high", variant="contained", color="error",
                                       description="Snap: fit every library function and lock the edge to the best one")
        self.unsnap_button = pmui.Button(label="Unsnap", icon="undo", variant="outlined",
                                         description="Unsnap: give the edge its learned spline back")
        self.reset_button = pmui.Button(label="Reset", icon="restart_alt", variant="outlined",
                                        description="Reset: put every control back as it started")
        self.snap_button.on_click(self.snap)
        self.unsnap_button.on_click(self.unsnap)
        self.reset_button.on_click(self.reset)
        self.picker = pmui.Select(label="Snap to", options={"spline (not snapped)": SPLINE}, value=SPLINE,
                                  sizing_mode="stretch_width")
        self.picker.param.watch(self._on_pick, "value")
        self.weight_slider = BoundedFloatSlider.from_param(
            self.param.weight_simple, label="Simplicity weight w", step=0.05, format="0.00", show_value=False,
            sizing_mode="stretch_width", min_width=150)
        self.weight_input = BoundedFloatInput.from_param(self.param.weight_simple, label="w (0 to 1)", step=0.05,
                                                         format="0.00", width=135)
        self.status = pn.pane.HTML("", css_classes=["kx-snap-status"], sizing_mode="stretch_width",
                                   stylesheets=[_CSS])
        self.formula = pn.pane.LaTeX("", css_classes=["kx-snap-formula"], sizing_mode="stretch_width",
                                     styles={"font-size": "1.45rem"}, margin=(0, 0, 4, 0))
        self.constants = pn.pane.HTML("", css_classes=["kx-snap-constants"], sizing_mode="stretch_width",
                                      stylesheets=[_CSS], margin=0)
        self.score_line = pn.pane.HTML("", css_classes=["kx-snap-score"], sizing_mode="stretch_width",
                                       stylesheets=[_CSS], margin=0)

    def _on_pick(self, event):
        if event.new in self.param.snapped_to.objects:
            self.snapped_to = event.new

    def _build_layout(self):
        controls = pn.Column(
            self.target_select, pn.Row(self.noise_slider, self.noise_input, sizing_mode="stretch_width"),
            self.seed_input, self.show_target_box,
            pn.Row(self.snap_button, self.unsnap_button, sizing_mode="stretch_width"),
            self.picker, pn.Row(self.weight_slider, self.weight_input, sizing_mode="stretch_width"), self.reset_button,
            width=320, margin=(0, 0, 0, 10),
        )
        plots = pn.Column(pn.pane.Bokeh(self.figure), pn.pane.Bokeh(self.residual_figure),
                          sizing_mode="stretch_width", min_width=360, margin=(0, 10))
        self.result = pn.Column(self.formula, self.constants, self.score_line, sizing_mode="stretch_width",
                                css_classes=["kx-snap-result"], stylesheets=[_CSS], margin=(4, 10))
        return pn.Column(
            self.status,
            self.result,
            pn.FlexBox(pn.Column(plots, sizing_mode="stretch_width", styles={"flex": "1 1 420px"}),
                       pn.Column(controls, styles={"flex": "0 0 330px"}),
                       flex_wrap="wrap", sizing_mode="stretch_width"),
            self.table,
            # Bokeh caps a column at its parent's height (max-height: 100%); this one is taller
            # than a screen, and capped it would overlap whatever comes after it on the page.
            sizing_mode="stretch_width", css_classes=["kx-snap-widget"], styles={"max-height": "none"},
        )

    def __panel__(self):
        return self._layout

    # -- drawing ----------------------------------------------------------------------------------
    def _draw(self):
        snapped = self.snapped_to != SPLINE
        shown = self.shown
        formula_curve = self.curve if snapped else shown.predict(XS)
        residual = self.learned - formula_curve
        with pn.io.hold():
            self.sources["samples"].data = {"x": self.data["train_input"][:, 0], "y": self.data["train_label"][:, 0]}
            self.sources["learned"].data = {"x": XS, "y": self.learned}
            self.sources["snapped"].data = {"x": XS, "y": self.curve} if snapped else {"x": [], "y": []}
            self.sources["preview"].data = {"x": [], "y": []} if snapped else {"x": XS, "y": formula_curve}
            self.sources["residual"].data = {"x": XS, "y": residual}
            self.legend_items["snapped"].visible = snapped
            self.learned_line.glyph.update(line_alpha=0.45 if snapped else 1.0,
                                           line_width=2 if snapped else LINE["fit"]["line_width"])
            self.legend_items["learned"].label = value("learned spline (switched off)" if snapped
                                                       else "learned spline")
            self.legend_items["preview"].visible = not snapped
            self._draw_target()
            y = np.concatenate([self.data["train_label"][:, 0], self.learned])
            pad = 0.08 * (y.max() - y.min())
            self.y_range.update(start=y.min() - pad, end=y.max() + pad)
            top = max(1.25 * np.abs(residual).max(), 0.02 * (y.max() - y.min()))
            self.residual_range.update(start=-top, end=top)
            what = "snapped formula" if snapped else "best formula (preview)"
            self.residual_figure.title.text = f"Learned spline minus {what}: what R² measures"
            self.table.param.update(rows=self.table_rows(), snapped=self.snapped_to)
            options = {"spline (not snapped)": SPLINE}
            options.update({f"{i + 1}. {c.name}   (R² {c.r2:.6f})": c.name for i, c in enumerate(self.candidates)})
            self.picker.options = options
            self.picker.value = self.snapped_to
            self.result.css_classes = ["kx-snap-result"] + (["snapped"] if snapped else [])
            self.status.object = self._status_html()
            self.formula.object = self._formula_latex()
            self.constants.object = self._constants_html()
            self.score_line.object = self._score_html()

    def _draw_target(self):
        self.sources["target"].data = ({"x": XS, "y": self.hidden.fn(XS[:, None])} if self.show_target
                                       else {"x": [], "y": []})
        self.legend_items["target"].visible = self.show_target
        self.legend_items["target"].label = value(f"hidden function {self.hidden.label.replace('**', '^')}")

    def _status_html(self):
        if self.snapped_to == SPLINE:
            top = self.candidates[0]
            best = ("the constant 0 scores best (the score line below says why)" if top.name == "0" else
                    f"the dotted red line is the best-scoring formula ({html.escape(top.name)}, R² = {top.r2:.6f})")
            text = (f"Not snapped: the edge is a spline stored as {self.model.n_params} numbers, and {best}. "
                    f"<b>Press Snap</b> to replace the spline with it.")
        else:
            text = (f"Snapped to <b>{html.escape(self.snapped_to)}</b>: the spline is switched off and the edge now "
                    f"computes the red dashed formula. Pick another row, or Unsnap to get the spline back.")
        return f'<div class="kx-snap-note" role="status">{text}</div>'

    def _formula_latex(self):
        if self.snapped_to == SPLINE:
            return (r"$\varphi(x) = w_b\,\mathrm{silu}(x) + w_s \sum_{m=1}^{" + str(GRID_SIZE + SPLINE_ORDER)
                    + r"} c_m B_m(x)$")
        return r"$\varphi(x) \approx " + self.model.symbolic_formula().latex(digits=DIGITS) + "$"

    def _constants_html(self):
        if self.snapped_to == SPLINE:
            return ('<div class="kx-snap-line">A spline: its curve is stored as numbers, not as a formula '
                    'you could write down.</div>')
        layer = self.model.layers[0]
        a, b, c, d = layer.affine[0, 0]
        return (f'<div class="kx-snap-line">c·f(a·x + b) + d with f = <b>{html.escape(self.snapped_to)}</b>, '
                f'a = {signed(a)}, b = {signed(b)}, c = {signed(c)}, d = {signed(d)} · '
                f'R² = {self.snap_r2:.6f} against the learned spline at {XS.size} points</div>')

    def _score_html(self):
        w = self.weight_simple
        shown = self.shown
        lines = [f'<b>score</b> = w·complexity + (1 − w)·log₂(1 + 10⁻⁵ − R²), lower is better. '
                 f'For {html.escape(shown.name)}: {score_sum(shown, w)}.']
        sharper = max(self.candidates, key=lambda c: c.r2)
        if sharper.r2 > shown.r2 + 5e-7 and sharper.name != shown.name:
            verdict = "ranks above it" if shown.score < sharper.score else "is ranked below it"
            lines.append(f'{html.escape(sharper.name)} fits better (R² = {sharper.r2:.6f}) but has complexity '
                         f'{sharper.complexity}: {score_sum(sharper, w)}, so {html.escape(shown.name)} {verdict}.')
        if self.candidates[0].name == "0":
            lines.append("Here the constant 0 (say nothing) scores best: at this weight no formula is accurate "
                         "enough to be worth its complexity. Lower w, or the noise, and a formula wins.")
        return "".join(f'<div class="kx-snap-line">{line}</div>' for line in lines)


class CandidateTable(pn.custom.JSComponent):
    """The ranked candidates as a table. Clicking a row, or pressing Enter on its function button,
    sends ``{name}`` to Python (``on_msg``); the row of ``snapped`` is highlighted."""

    rows = param.List(default=[], doc="dicts of display strings: rank, name, r2, complexity, score, formula")
    snapped = param.String(default=SPLINE)

    ROW_PX, HEAD_PX, CAPTION_PX = 29, 32, 28   # fixed by the stylesheet below

    @classmethod
    def height_for(cls, n_rows):
        """Pixels the table needs for n_rows rows: Panel cannot size a custom component to its content."""
        return cls.CAPTION_PX + cls.HEAD_PX + cls.ROW_PX * n_rows + 4

    _esm = """
const COLUMNS = [["rank", "#"], ["name", "function f"], ["r2", "R²"], ["complexity", "complexity"],
                 ["score", "score"], ["formula", "fitted c·f(a·x + b) + d"]]

export function render({ model }) {
  const root = document.createElement("div")
  root.className = "kx-cand"
  const table = document.createElement("table")
  const caption = document.createElement("caption")
  caption.textContent = "Every library function fitted to the learned curve, best score first. " +
                        "Click a row to snap to it."
  table.appendChild(caption)
  const head = document.createElement("tr")
  for (const [, title] of COLUMNS.concat([["now", ""]])) {
    const th = document.createElement("th")
    th.scope = "col"
    th.textContent = title
    head.appendChild(th)
  }
  table.createTHead().appendChild(head)
  const body = table.createTBody()
  root.appendChild(table)

  function draw() {
    // Redrawing replaces the buttons: keep keyboard focus on the same function's button.
    const active = root.getRootNode().activeElement
    const focused = active && body.contains(active) ? active.closest("tr").dataset.name : null
    body.replaceChildren()
    for (const row of model.rows) {
      const tr = body.insertRow()
      const snapped = row.name === model.snapped
      tr.className = snapped ? "snapped" : ""
      tr.dataset.name = row.name
      for (const [key] of COLUMNS) {
        const td = tr.insertCell()
        td.className = key
        if (key === "name") {
          const button = document.createElement("button")
          button.type = "button"
          button.textContent = row.name
          button.setAttribute("aria-label", "Snap to " + row.name)
          button.setAttribute("aria-pressed", snapped ? "true" : "false")
          td.appendChild(button)
        } else {
          td.textContent = row[key]
        }
      }
      tr.insertCell().textContent = snapped ? "◀ snapped" : ""
      tr.addEventListener("click", () => model.send_msg({ name: row.name }))
      if (row.name === focused) tr.querySelector("button").focus()
    }
  }
  draw()
  model.on(["rows", "snapped"], draw)
  return root
}
"""

    _stylesheets = ["""
.kx-cand { font-size: 0.9rem; overflow: auto; height: 100%; }
.kx-cand table { border-collapse: collapse; width: 100%; }
.kx-cand caption { text-align: left; height: 28px; line-height: 22px; font-size: 0.9rem; opacity: 0.85;
                   white-space: nowrap; }
.kx-cand th { text-align: left; font-weight: 600; border-bottom: 2px solid rgba(127, 127, 127, 0.5);
              padding: 0 0.5rem; height: 30px; white-space: nowrap; }
.kx-cand td { padding: 0 0.5rem; height: 28px; border-bottom: 1px solid rgba(127, 127, 127, 0.2);
              white-space: nowrap; }
.kx-cand td.r2, .kx-cand td.score, .kx-cand td.complexity, .kx-cand td.rank { font-variant-numeric: tabular-nums; }
.kx-cand td.formula { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85rem; }
.kx-cand tbody tr { cursor: pointer; }
.kx-cand tbody tr:hover { background: rgba(127, 127, 127, 0.12); }
.kx-cand tr.snapped { background: rgba(211, 47, 47, 0.13); font-weight: 600; }
.kx-cand tr.snapped td:last-child { color: #d32f2f; white-space: nowrap; }
.kx-cand button { font: inherit; color: inherit; background: none; border: 1px solid rgba(127, 127, 127, 0.45);
                  border-radius: 4px; padding: 0 0.4rem; cursor: pointer; min-width: 4.5rem; text-align: left;
                  line-height: 20px; }
.kx-cand button:focus-visible { outline: 3px solid #1565c0; outline-offset: 1px; }
"""]


_CSS = """
.kx-snap-note { border-left: 4px solid #607d8b; padding: 0.35rem 0.7rem; background: rgba(96, 125, 139, 0.10);
                border-radius: 4px; font-size: 0.98rem; }
.kx-snap-line { font-size: 0.95rem; line-height: 1.45; margin: 0.15rem 0; }
:host(.kx-snap-result) { border: 1px solid rgba(127, 127, 127, 0.4); border-radius: 6px; padding: 0.4rem 0.8rem; }
:host(.kx-snap-result.snapped) { border: 2px dashed rgba(211, 47, 47, 0.6); }
"""
