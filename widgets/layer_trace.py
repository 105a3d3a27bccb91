"""One KAN layer traced by hand: three inputs, six edge curves, two nodes that only add.

``LayerTrace`` trains a real ``KAN([3, 2])`` (and, for contrast, a one-layer ``MLP([3, 2])``) on a
target whose six parts are easy to recognise, then shows the six learned edge curves as a 2 x 3
grid of small plots. The reader sets the three inputs by dragging sideways in an input's column of
plots, with its slider (arrow keys too) or by typing; a dot rides along every edge curve and each
output node shows its three incoming edge values as a stacked bar with the total.

``ProductByParts`` stacks two layers: a ``KAN([2, 2, 1])`` whose six edges are snapped to x, x^2
and scaled copies of them computes x * y = ((x + y)^2 - x^2 - y^2) / 2 from 1-D functions and sums.
"""

import html
import time

import numpy as np
import panel as pn
import panel_material_ui as pmui
import param
from bokeh import events
from bokeh.models import ColumnDataSource, CustomJS, Range1d, Span
from bokeh.plotting import figure

from kan_core import KAN, MLP, SYMBOLIC_LIB, Trainer

from .inputs import EchoGuard, FloatInput
from .theme import GREY, LINE, ORANGE, RED, TEAL

N_IN, N_OUT = 3, 2
LOW, HIGH = -1.0, 1.0
CURVE_POINTS = 201
DEFAULT_INPUTS = (0.5, -0.7, 0.8)

TARGET_LATEX = (r"\mathrm{out}_1 = \sin(\pi x_1) + x_2^2 + \tfrac12 x_3,\qquad "
                r"\mathrm{out}_2 = \tfrac12 e^{x_1} - x_2^3 + \cos(\pi x_3)")

BAR_Y, BAR_HEIGHT = 0.3, 0.24
LABEL_SLOTS = [0.48, 0.61, 0.74, 0.87]  # heights of the segment labels above a node's bar
INK = "#37474f"          # the inputs and labels: neutral, since teal and orange already carry meanings
MARK = "#607d8b"         # input markers and guides, visible on light and dark backgrounds
LABEL_BOX = {"background_fill_color": "white", "background_fill_alpha": 0.85, "padding": 1}
HATCH = ("blank", "right_diagonal_line", "dot")
FILL_ALPHA = (0.95, 0.65, 0.4)
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def sub(n):
    """The digits of n as Unicode subscripts: sub(12) == '₁₂'."""
    return str(n).translate(_SUB)


def number(v, digits=2):
    """A signed number with a true minus sign, e.g. '−0.25'."""
    return f"{v:.{digits}f}".replace("-", "−")


# TARGET_PARTS[j][i] is the part of output j that depends on input i alone.
TARGET_PARTS = (
    (lambda t: np.sin(np.pi * t), np.square, lambda t: 0.5 * t),
    (lambda t: 0.5 * np.exp(t), lambda t: -t ** 3, lambda t: np.cos(np.pi * t)),
)


def layer_target(X):
    """The function the layer learns: X (N, 3) -> (N, 2), each output a sum of three 1-D parts."""
    return np.stack([sum(part(X[:, i]) for i, part in enumerate(row)) for row in TARGET_PARTS], axis=1)


def align_edges(kan, grid):
    """Move constants between the edges of each node of a trained KAN([3, 2]) so that every
    curve's mean over `grid` matches its part of the target; the outputs do not change.

    Only a node's sum is ever seen, so training leaves the split of constants among its edges
    arbitrary. The shifts of one node add up to zero, and a shift c on edge (i, j) is c / scale_sp
    added to every coefficient, exact wherever the basis sums to 1 (the whole grid range).
    """
    layer = kan.layers[0]
    edges = kan.forward_detail(np.repeat(grid[:, None], N_IN, axis=1))["edges"][0]
    for j, row in enumerate(TARGET_PARTS):
        shift = np.array([part(grid).mean() - edges[:, j, i].mean() for i, part in enumerate(row)])
        shift -= shift.mean()
        layer.coef[:, j, :] += (shift / layer.scale_sp[:, j])[:, None]


def layer_dataset(seed=0, n_train=600, n_test=400):
    """Inputs uniform on [-1, 1]^3 with their exact targets, in pykan's dataset layout."""
    rng = np.random.default_rng(seed)
    train, test = rng.uniform(LOW, HIGH, (n_train, N_IN)), rng.uniform(LOW, HIGH, (n_test, N_IN))
    return {"train_input": train, "train_label": layer_target(train),
            "test_input": test, "test_label": layer_target(test)}


def train_layer(seed=0, steps=20):
    """A KAN([3, 2]) and an MLP([3, 2]) trained by L-BFGS on the same data: (kan, mlp, rmse dict).

    The knots stay uniform on [-1, 1] (no grid update), so every input the reader can set lies
    inside the grid, where align_edges is exact. Takes about 0.1 s once numba's kernels are loaded.
    """
    data = layer_dataset(seed)
    kan = KAN([N_IN, N_OUT], grid=5, k=3, seed=seed)
    mlp = MLP([N_IN, N_OUT], seed=seed)
    rmse = {}
    for name, model in (("KAN", kan), ("MLP", mlp)):
        trainer = Trainer(model, data, "lbfgs", update_grid_every=None)
        rmse[name] = trainer.step(steps)["test_rmse"]
    align_edges(kan, np.linspace(LOW, HIGH, CURVE_POINTS))
    return kan, mlp, rmse


def number_and_slider(owner, name, label, notice):
    """A typed number box and a slider that set the bounded parameter `name` of `owner`.

    The slider cannot leave the bounds; a typed number outside them is clamped and `notice` (an
    HTML pane) says so in a sentence; an empty or unreadable entry puts the current value back.
    The owner shows its value in both with show_value (a drag can then update them on release
    only, sparing the browser a redraw of both widgets at every step). The box carries the
    visible label; the slider's label is hidden on screen but still names it for screen readers.
    """
    low, high = owner.param[name].bounds
    value = getattr(owner, name)
    box = FloatInput(value=value, label=label, start=low, end=high, step=0.01, format="0.00",
                     width=112, size="small", margin=(10, 0, 0, 26))
    slider = pmui.FloatSlider(value=value, label=label, start=low, end=high, step=0.01, format="0.00",
                              show_value=False, sizing_mode="stretch_width", min_width=50,
                              margin=(12, 10, 0, 6), stylesheets=[_HIDDEN_LABEL_CSS])

    guard = box._kx_echo = EchoGuard(box)

    def typed(event):
        value = event.new
        if value == getattr(owner, name):
            return
        if guard.is_echo(value):
            box.value = getattr(owner, name)   # the browser is behind: show it the current value
            return
        if value is None or not np.isfinite(value):
            say(notice, f"{label} needs a number from {number(low, 0)} to {number(high, 0)}.")
            box.value = getattr(owner, name)
            return
        clamped = float(np.clip(value, low, high))
        say(notice, "" if clamped == value else
            f"{label} goes from {number(low, 0)} to {number(high, 0)}, so {value:g} became {number(clamped)}.")
        guard.typed(value)
        with guard.typing():
            setattr(owner, name, clamped)
            box.value = clamped  # also when the clamped value is the one already set

    box.param.watch(typed, "value")
    slider.param.watch(lambda event: setattr(owner, name, event.new), "value")
    return box, slider


def show_value(box, slider, value):
    box._kx_echo.show(value)
    slider.value = value


def say(notice, sentence):
    """Show `sentence` (plain text) in a notice pane, or clear it with ''."""
    notice.object = f'<div class="kx-msg" role="status">{html.escape(sentence)}</div>' if sentence else ""


def notice_pane():
    """Where a sentence about a refused or clamped entry appears (read out by screen readers)."""
    return pn.pane.HTML("", css_classes=["kx-input-notice"], sizing_mode="stretch_width", margin=(0, 26),
                        stylesheets=[".kx-msg { color: #b71c1c; font-size: 0.92rem; }"],
                        styles={"min-height": "1.2em"})


def stack_segments(values):
    """Stack signed values on one bar: positives away from 0 on one side, negatives on the other,
    each in the order given.

    values (n,) -> (start (n,), end (n,)) with start <= end; segment i spans [start[i], end[i]],
    the positive segments tile [0, sum of positives] and the negative ones [sum of negatives, 0].
    """
    values = np.asarray(values, dtype=float)
    start, end = np.empty_like(values), np.empty_like(values)
    up = down = 0.0
    for i, v in enumerate(values):
        if v >= 0:
            start[i], end[i] = up, up + v
            up += v
        else:
            start[i], end[i] = down + v, down
            down += v
    return start, end


def label_side(x, low, high):
    """Text alignment that keeps a label at x inside [low, high]: it extends toward the middle."""
    return ["left" if v < (low + high) / 2 else "right" for v in np.atleast_1d(x)]


# Moves the guide, the input's marker and the riding dots at once in the browser while the reader
# drags; Python then recomputes the exact values and the sums.
_DRAG_JS = """
const x = Math.round(Math.max(lo, Math.min(hi, cb_obj.x)) * 100) / 100
const quiet = {sync: false}  // Python is told by the event itself and sends back the exact values
handle.setv({data: {x: [x], y: [handle.data.y[0]]}}, quiet)
for (const span of spans) { span.setv({location: x}, quiet) }
const left = x > flip
for (let j = 0; j < dots.length; j++) {
  const cx = curves[j].data.x, cy = curves[j].data.y
  let k = 1
  while (k < cx.length - 1 && cx[k] < x) { k++ }
  const t = (x - cx[k - 1]) / (cx[k] - cx[k - 1])
  const y = cy[k - 1] + t * (cy[k] - cy[k - 1])
  dots[j].setv({data: {x: [x], y: [y], label: [y.toFixed(2).replace('-', '\u2212')],
                       align: [left ? 'right' : 'left'], dx: [left ? -10 : 10]}}, quiet)
}
"""
DRAG_INTERVAL = 0.04  # seconds; a drag redraws the sums at most 25 times a second
LABEL_FLIP = 0.35  # a dot right of this input puts its value on its left, away from the plot's edge


class LayerTrace(pn.viewable.Viewer):
    """A trained 3-input, 2-output KAN layer: six edge curves, riding dots and stacked sums."""

    x1 = param.Number(default=DEFAULT_INPUTS[0], bounds=(LOW, HIGH), step=0.01, doc="Input x₁.")
    x2 = param.Number(default=DEFAULT_INPUTS[1], bounds=(LOW, HIGH), step=0.01, doc="Input x₂.")
    x3 = param.Number(default=DEFAULT_INPUTS[2], bounds=(LOW, HIGH), step=0.01, doc="Input x₃.")
    view = param.Selector(default="KAN", objects=["KAN", "MLP"],
                          doc="Show the KAN layer, or an MLP layer of the same shape for contrast.")

    def __init__(self, **params):
        super().__init__(**params)
        self.kan, self.mlp, self.rmse = train_layer()
        self._dragging = False
        self._last_drag = 0.0
        self._drawn_view = None
        self._grid = np.linspace(LOW, HIGH, CURVE_POINTS)
        self._kan_curves = self._edge_curves()
        self._build_figures()
        self._build_controls()
        self._layout = self._build_layout()
        self._refresh()

    # -- numbers, all from kan_core -------------------------------------------------------------
    @property
    def inputs(self):
        return np.array([self.x1, self.x2, self.x3])

    def _edge_curves(self):
        """phi_{j,i} sampled on the input range: (N_OUT, N_IN, CURVE_POINTS)."""
        X = np.repeat(self._grid[:, None], N_IN, axis=1)
        edges = self.kan.forward_detail(X)["edges"][0]  # (points, n_out, n_in)
        return np.transpose(edges, (1, 2, 0))

    def edge_values(self):
        """The six edge values at the current inputs and the KAN's outputs: ((2, 3), (2,))."""
        detail = self.kan.forward_detail(self.inputs[None, :])
        return detail["edges"][0][0], detail["output"][0]

    def mlp_parts(self):
        """The MLP's weights (3, 2), its products w x (2, 3), biases (2,) and outputs (2,)."""
        W, b = self.mlp.weights[0], self.mlp.biases[0]
        return W, (W * self.inputs[:, None]).T, b, self.mlp(self.inputs[None, :])[0]

    def _stack_range(self):
        """A fixed value range per node that holds every stack either view can draw."""
        W, b = self.mlp.weights[0], self.mlp.biases[0]
        ranges = []
        for j in range(N_OUT):
            curves = self._kan_curves[j]
            # inputs are independent and w * x reaches |w| on [-1, 1]
            ups = [np.maximum(curves, 0).max(axis=1).sum(), np.abs(W[:, j]).sum() + max(b[j], 0)]
            downs = [np.minimum(curves, 0).min(axis=1).sum(), -np.abs(W[:, j]).sum() + min(b[j], 0)]
            low, high = min(downs + [0.0]), max(ups + [0.0])
            pad = 0.08 * (high - low)
            ranges.append((low - pad, high + pad))
        return ranges

    # -- figures, built once --------------------------------------------------------------------
    def _build_figures(self):
        span = np.ptp(self._kan_curves)
        mlp_lines = np.abs(self.mlp.weights[0]).max()
        top = max(self._kan_curves.max(), mlp_lines) + 0.12 * span
        bottom = min(self._kan_curves.min(), -mlp_lines) - 0.12 * span
        self._y_range = Range1d(bottom, top)
        self._handle_y = bottom + 0.03 * (top - bottom)
        self.curve_figs, self.curve_sources, self.curve_lines, self.dot_sources = {}, {}, {}, {}
        self.handles, self._spans = [], []
        for i in range(N_IN):
            x_range = Range1d(LOW - 0.08, HIGH + 0.08)
            self.handles.append(ColumnDataSource({"x": [0.0], "y": [self._handle_y]}, name=f"layer-input-{i + 1}"))
            self._spans.append([])
            for j in range(N_OUT):
                self.curve_figs[j, i] = self._curve_fig(j, i, x_range)
        self._stack_ranges = self._stack_range()
        self.bar_figs, self.bar_sources, self.total_sources = [], [], []
        for j in range(N_OUT):
            self.bar_figs.append(self._bar_fig(j))
        for i in range(N_IN):
            self._wire_drag(i)

    def _curve_fig(self, j, i, x_range):
        fig = figure(height=165, sizing_mode="stretch_width", min_width=110, x_range=x_range,
                     y_range=self._y_range, tools="", toolbar_location=None, title="",
                     min_border_left=34, min_border_right=10, min_border_top=4, min_border_bottom=22,
                     name=f"layer-curve-{j + 1}-{i + 1}")
        fig.title.text_font_size = "13px"
        fig.xaxis.ticker = [-1, 0, 1]
        fig.yaxis.ticker = [-1, 0, 1]
        fig.xgrid.visible = False
        fig.ygrid.grid_line_alpha = 0.5
        guide = Span(location=0.0, dimension="height", line_color=MARK, line_dash="dashed", line_width=1)
        fig.add_layout(guide)
        self._spans[i].append(guide)
        fig.scatter("x", "y", source=self.handles[i], marker="triangle", size=15, fill_color=MARK,
                    line_color="white")
        curve = ColumnDataSource({"x": [], "y": []}, name=f"layer-edge-{j + 1}-{i + 1}")
        self.curve_lines[j, i] = fig.line("x", "y", source=curve, **LINE["target"])
        dot = ColumnDataSource({"x": [0.0], "y": [0.0], "label": [""], "align": ["left"], "dx": [10]},
                               name=f"layer-dot-{j + 1}-{i + 1}")
        fig.scatter("x", "y", source=dot, size=13, fill_color="white", line_color=INK, line_width=3)
        fig.text("x", "y", text="label", source=dot, x_offset="dx", y_offset=-5, text_align="align",
                 text_font_size="12px", text_font_style="bold", text_color=INK, text_baseline="bottom", **LABEL_BOX)
        self.curve_sources[j, i] = curve
        self.dot_sources[j, i] = dot
        return fig

    def _bar_fig(self, j):
        """Node j as a horizontal stacked bar: positives to the right of 0, negatives to the left;
        each segment's label sits in its own slot above, with a thin line down to the segment."""
        low, high = self._stack_ranges[j]
        fig = figure(height=165, sizing_mode="stretch_width", min_width=110, x_range=Range1d(low, high),
                     y_range=Range1d(0, 1),
                     tools="", toolbar_location=None, min_border_left=4, min_border_right=4,
                     min_border_top=4, min_border_bottom=4, outline_line_color=None, name=f"layer-bar-{j + 1}",
                     title=f"node out{sub(j + 1)}: the sum")
        fig.title.text_font_size = "13px"
        fig.axis.visible = False
        fig.grid.visible = False
        fig.add_layout(Span(location=0, dimension="height", line_color=GREY, line_width=1.5))
        fig.text(x=[0], y=[1.0], text=["0"], text_align="right", text_baseline="top", x_offset=-3,
                 text_font_size="11px", text_color=GREY)
        bars = ColumnDataSource({k: [] for k in ("left", "right", "middle", "fill", "alpha", "hatch", "label",
                                                 "align", "label_y")}, name=f"layer-segments-{j + 1}")
        fig.hbar(y=BAR_Y, height=BAR_HEIGHT, left="left", right="right", source=bars, fill_color="fill",
                 fill_alpha="alpha", hatch_pattern="hatch", hatch_color="white", hatch_alpha=0.8,
                 line_color="white", line_width=1.5)
        fig.segment(x0="middle", y0=BAR_Y + BAR_HEIGHT / 2, x1="middle", y1="label_y", source=bars,
                    line_color=GREY, line_width=1)
        fig.text(x="middle", y="label_y", text="label", source=bars, text_align="align", text_baseline="bottom",
                 text_font_size="12px", text_color=INK, **LABEL_BOX)
        total = ColumnDataSource({"x": [0.0], "align": ["left"], "label": [""]}, name=f"layer-total-{j + 1}")
        fig.segment(x0="x", x1="x", y0=BAR_Y - BAR_HEIGHT, y1=BAR_Y + BAR_HEIGHT, source=total,
                    line_color="black", line_width=4)
        fig.segment(x0="x", x1="x", y0=BAR_Y - BAR_HEIGHT, y1=BAR_Y + BAR_HEIGHT, source=total,
                    line_color="white", line_width=1.5)
        fig.text(x="x", y=0.03, text="label", source=total, text_align="align", text_baseline="bottom",
                 text_font_size="13px", text_font_style="bold", text_color="black", **LABEL_BOX)
        self.bar_sources.append(bars)
        self.total_sources.append(total)
        return fig

    def _wire_drag(self, i):
        """Dragging or clicking in either plot of input i's column sets x_i."""
        js = CustomJS(args=dict(handle=self.handles[i], spans=self._spans[i], lo=LOW, hi=HIGH, flip=LABEL_FLIP,
                                dots=[self.dot_sources[j, i] for j in range(N_OUT)],
                                curves=[self.curve_sources[j, i] for j in range(N_OUT)]),
                      code=_DRAG_JS)
        for j in range(N_OUT):
            fig = self.curve_figs[j, i]
            # A second click soon after a first one arrives as a double tap, and a click whose
            # button stays down a moment (or whose release a busy page handles late) as a press.
            clicks = (events.Tap, events.DoubleTap, events.PressUp)
            for event in clicks + (events.PanStart, events.Pan, events.PanEnd):
                fig.js_on_event(event, js)
            fig.on_event(events.PanStart, lambda event, i=i: self._drag(i, event.x, True))
            fig.on_event(events.Pan, lambda event, i=i: self._drag(i, event.x, True))
            for event in clicks + (events.PanEnd,):
                fig.on_event(event, lambda event, i=i: self._drag(i, event.x, False))

    def _drag(self, i, x, dragging):
        """A drag or click reached Python: x_i follows it, clamped to the input range.

        While the pointer is down the browser has already moved the marker and the dots, so only
        the sums are redrawn, at most once per DRAG_INTERVAL; on release everything is redrawn at
        the exact value.
        """
        if x is None or not np.isfinite(x):
            return
        now = time.monotonic()
        if dragging and now - self._last_drag < DRAG_INTERVAL:
            return
        self._last_drag = now if dragging else 0.0
        value = round(float(np.clip(x, LOW, HIGH)), 2)
        name = f"x{i + 1}"
        self._dragging = dragging
        try:
            if getattr(self, name) != value:
                setattr(self, name, value)
            elif not dragging:
                self._refresh()
        finally:
            self._dragging = False

    # -- controls -------------------------------------------------------------------------------
    def _build_controls(self):
        self.notice = notice_pane()
        self.number_inputs, self.sliders = zip(*(number_and_slider(self, f"x{i + 1}", f"x{sub(i + 1)}", self.notice)
                                                  for i in range(N_IN)))
        self.view_toggle = pmui.RadioButtonGroup.from_param(
            self.param.view, options={"KAN layer": "KAN", "MLP layer": "MLP"}, label="", description="",
            size="small", width=230)
        self.reset_button = pmui.Button(label="Reset", icon="restart_alt", variant="outlined", size="small")
        self.reset_button.on_click(lambda event: self.reset())
        self.readout = pn.pane.HTML("", css_classes=["kx-layer-readout"], sizing_mode="stretch_width",
                                    stylesheets=[_READOUT_CSS])
        self.note = pn.pane.HTML("", css_classes=["kx-layer-note"], sizing_mode="stretch_width",
                                 stylesheets=[_READOUT_CSS])

    def reset(self):
        say(self.notice, "")
        self.param.update(x1=DEFAULT_INPUTS[0], x2=DEFAULT_INPUTS[1], x3=DEFAULT_INPUTS[2], view="KAN")

    def _build_layout(self):
        target = pn.pane.LaTeX(r"$\text{Trained on}\quad " + TARGET_LATEX + "$", styles={"font-size": "1.05rem"},
                               margin=(0, 10))
        hint = pn.pane.HTML('<div class="kx-layer-target">Set each input with its slider, type a value, or drag '
                            'sideways in its column of plots.</div>', stylesheets=[_READOUT_CSS],
                            sizing_mode="stretch_width", align="center")
        node_head = pn.pane.HTML('<div class="kx-layer-nodehead">Each node adds what arrives ↓</div>',
                                 sizing_mode="stretch_width", min_width=110, stylesheets=[_READOUT_CSS],
                                 margin=(20, 5, 0, 5))
        # Four equal columns in every row, so each input's slider sits over its column of curves
        # and each node's bar at the end of its row.
        inputs = [pn.Row(box, slider, sizing_mode="stretch_width", min_width=110)
                  for box, slider in zip(self.number_inputs, self.sliders)]
        rows = [pn.Row(*inputs, node_head, sizing_mode="stretch_width")]
        rows += [pn.Row(*[self.curve_figs[j, i] for i in range(N_IN)], self.bar_figs[j], sizing_mode="stretch_width")
                 for j in range(N_OUT)]
        return pn.Column(
            target,
            pn.Row(self.view_toggle, self.reset_button, hint, sizing_mode="stretch_width"),
            *rows,
            self.notice,
            self.readout,
            self.note,
            sizing_mode="stretch_width", css_classes=["kx-layer-trace"],
        )

    def __panel__(self):
        return self._layout

    # -- updates --------------------------------------------------------------------------------
    @param.depends("x1", "x2", "x3", "view", watch=True)
    def _refresh(self):
        kan_view = self.view == "KAN"
        edges, out = self.edge_values()
        W, products, b, mlp_out = self.mlp_parts()
        shown = edges if kan_view else products
        x = self.inputs
        with pn.io.hold():
            for i in range(N_IN):
                for j in range(N_OUT):
                    if self._drawn_view != self.view:
                        self._show_edge(j, i, kan_view, W[i, j])
                    if not self._dragging:
                        left = x[i] > LABEL_FLIP
                        self.dot_sources[j, i].data = {"x": [x[i]], "y": [shown[j, i]], "label": [number(shown[j, i])],
                                                       "align": ["right" if left else "left"], "dx": [-10 if left else 10]}
                if not self._dragging:
                    show_value(self.number_inputs[i], self.sliders[i], x[i])
                    self.handles[i].data = {"x": [x[i]], "y": [self._handle_y]}
                    for span in self._spans[i]:
                        span.location = x[i]
            for j in range(N_OUT):
                if kan_view:
                    self._show_stack(j, edges[j], out[j], None)
                else:
                    self._show_stack(j, products[j], mlp_out[j], b[j])
            self._drawn_view = self.view
            self.readout.object = self._readout_html(edges, out, products, b, mlp_out)
            self.note.object = self._note_html(W, b)

    def _show_edge(self, j, i, kan_view, w):
        """The edge's curve in the KAN view; in the MLP view the line w * x its weight draws."""
        self.curve_figs[j, i].title.text = (f"φ{sub(j + 1)},{sub(i + 1)}(x{sub(i + 1)})  →  out{sub(j + 1)}" if kan_view
                                            else f"w{sub(j + 1)},{sub(i + 1)}·x{sub(i + 1)} = {number(w)}·x{sub(i + 1)}")
        y = self._kan_curves[j, i] if kan_view else w * self._grid
        self.curve_sources[j, i].data = {"x": self._grid, "y": y}
        self.curve_lines[j, i].glyph.update(**LINE["target" if kan_view else "fit"])

    def _show_stack(self, j, values, total, bias):
        kan_view = bias is None
        parts = list(values) + ([] if kan_view else [bias])
        left, right = stack_segments(parts)
        low, high = self._stack_ranges[j]
        names = [(f"φ{sub(j + 1)},{sub(i + 1)}" if kan_view else f"w{sub(j + 1)},{sub(i + 1)}x{sub(i + 1)}")
                 for i in range(N_IN)] + ([] if kan_view else [f"b{sub(j + 1)}"])
        labels = [f"{name} = {number(v)}" for name, v in zip(names, parts)]
        middle = (left + right) / 2
        colour = TEAL if kan_view else ORANGE
        total_label = f"Σ = {number(total)}"
        self.bar_sources[j].data = {
            "left": left, "right": right, "middle": middle,
            "fill": [colour] * N_IN + ([] if kan_view else [GREY]),
            "alpha": list(FILL_ALPHA) + ([] if kan_view else [0.8]),
            "hatch": list(HATCH) + ([] if kan_view else ["blank"]),
            "label": labels,
            "align": label_side(middle, low, high),
            "label_y": LABEL_SLOTS[:len(parts)],
        }
        self.total_sources[j].data = {"x": [total], "label": [total_label], "align": label_side(total, low, high)}

    def _readout_html(self, edges, out, products, b, mlp_out):
        kan_view = self.view == "KAN"
        target = layer_target(self.inputs[None, :])[0]
        head = "".join(f"<th>from x{sub(i + 1)}</th>" for i in range(N_IN))
        head += "" if kan_view else "<th>bias</th>"
        rows = []
        for j in range(N_OUT):
            parts = edges[j] if kan_view else list(products[j]) + [b[j]]
            total = out[j] if kan_view else mlp_out[j]
            cells = "".join(f'<td class="kx-part">{number(v, 3)}</td>' for v in parts)
            rows.append(f'<tr class="kx-node-{j + 1}"><th>out{sub(j + 1)}</th>{cells}'
                        f'<td class="kx-total"><b>{number(total, 3)}</b></td>'
                        f'<td class="kx-target">{number(target[j], 3)}</td></tr>')
        what = "edge values φ(x)" if kan_view else "products w·x and the bias"
        other = ("The MLP of the same shape gives "
                 + " and ".join(f"out{sub(j + 1)} = {number(mlp_out[j], 3)}" for j in range(N_OUT))
                 if kan_view else
                 "The KAN layer gives " + " and ".join(f"out{sub(j + 1)} = {number(out[j], 3)}" for j in range(N_OUT)))
        return (f'<table class="kx-layer-table" aria-label="What each node adds up">'
                f'<caption>{self.view} layer: {what}, and the node total</caption>'
                f'<tr><th></th>{head}<th>node total</th><th>target</th></tr>{"".join(rows)}</table>'
                f'<p class="kx-layer-other">{other}. Typical error over 400 held-out inputs: '
                f'KAN {self.rmse["KAN"]:.3f}, MLP {self.rmse["MLP"]:.3f}.</p>')

    def _note_html(self, W, b):
        if self.view == "KAN":
            return ('<p>Every edge carries its own learned curve φ. The node has nothing to learn: it '
                    'only adds the three values that arrive. Because a node sees only the sum, a constant '
                    'can move from one of its edges to another without changing anything; after training, '
                    'such constants were moved so that each curve sits at the height of its part of the '
                    'target.</p>')
        cells = "".join(
            f'<tr><th>x{sub(i + 1)}</th>' + "".join(f'<td class="kx-weight">{number(W[i, j], 3)}</td>'
                                                   for j in range(N_OUT)) + "</tr>"
            for i in range(N_IN))
        bias = "".join(f"<td>{number(v, 3)}</td>" for v in b)
        return (f'<div class="kx-mlp-box"><table class="kx-weights" aria-label="MLP weight matrix">'
                f'<caption>The MLP layer learned six numbers (a 3 × 2 weight matrix)</caption>'
                f'<tr><th></th><th>to out₁</th><th>to out₂</th></tr>{cells}'
                f'<tr class="kx-bias"><th>bias</th>{bias}</tr></table>'
                f'<p>Each MLP edge only multiplies: plotted against its input it is a straight line '
                f'through 0 (orange above). The curve lives at the node and is fixed before training: '
                f'in a hidden layer every node would pass its sum through the same squash, such as '
                f'tanh. This is an output layer, so its nodes give the plain sum, a flat plane in '
                f'x₁, x₂, x₃, which cannot bend to follow the sine or the parabola.</p></div>')


# The slider's label names it for screen readers; on screen the number box beside it says the same.
_HIDDEN_LABEL_CSS = """
.MuiFormLabel-root { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
                     white-space: nowrap; }
"""

_READOUT_CSS = """
.kx-layer-target { font-size: 0.95rem; margin: 0 0 0.2rem 0; }
.kx-layer-nodehead { font-size: 0.9rem; font-weight: 600; text-align: center; }
.kx-layer-table, .kx-weights { border-collapse: collapse; font-size: 0.95rem; margin: 0.3rem 0; }
.kx-layer-table caption, .kx-weights caption { text-align: left; font-weight: 600; padding: 0 0 0.2rem 0; }
.kx-layer-table th, .kx-layer-table td, .kx-weights th, .kx-weights td {
  padding: 0.15rem 0.7rem; text-align: right; border-bottom: 1px solid rgba(128,128,128,0.3);
  font-variant-numeric: tabular-nums; }
.kx-weights td { font-size: 1.1rem; }
.kx-layer-other { margin: 0.3rem 0; font-size: 0.92rem; }
.kx-mlp-box { display: flex; gap: 1.5rem; align-items: flex-start; flex-wrap: wrap; }
.kx-mlp-box p { max-width: 34rem; margin: 0.3rem 0; }
"""


# -- the second step: two layers stacked, computing x * y --------------------------------------------

# The snapped edges (layer, input, output, library function, c): c * f(t); a = 1, b = d = 0.
PRODUCT_EDGES = (
    (0, 0, 0, "x", 1.0), (0, 1, 0, "x", 1.0),        # h1 = x + y
    (0, 0, 1, "x^2", 1.0), (0, 1, 1, "x^2", 1.0),    # h2 = x^2 + y^2
    (1, 0, 0, "x^2", 0.5), (1, 1, 0, "x", -0.5),     # out = h1^2 / 2 - h2 / 2
)
PRODUCT_DEFAULT = (0.8, 0.5)
PRODUCT_LOW, PRODUCT_HIGH = -2.0, 2.0


def product_kan():
    """A KAN([2, 2, 1]) whose six edges are snapped by hand so that it computes x * y exactly."""
    model = KAN([2, 2, 1], grid=3, k=3)
    for l, i, j, name, c in PRODUCT_EDGES:
        model.fix_symbolic(l, i, j, name, fit_params=False)
        model.layers[l].affine[i, j] = (1.0, 0.0, c, 0.0)
    return model


# Where the diagram draws each node, and the label of each edge (in PRODUCT_EDGES order).
_NODE_XY = {"x": (0.0, 1.6), "y": (0.0, 0.4), "h1": (1.4, 1.6), "h2": (1.4, 0.4), "out": (2.8, 1.0)}
_NODE_SYMBOL = ("x", "y", "Σ", "Σ", "Σ")
_NODE_LABEL_DY = (-27, 27, -27, 27, -27)  # screen pixels: values above the top nodes, below the others
_EDGE_ENDS = (("x", "h1"), ("y", "h1"), ("x", "h2"), ("y", "h2"), ("h1", "out"), ("h2", "out"))
_EDGE_NAMES = ("t", "t", "t²", "t²", "½ t²", "−½ t")
_EDGE_LABEL_AT = (0.5, 0.27, 0.27, 0.5, 0.5, 0.5)  # how far along its edge each label sits; the
# crossing edges carry theirs near their start, away from the crossing
_COLUMN_NAMES = ((0.0, "inputs"), (0.7, "layer 1 edges"), (1.4, "hidden nodes"), (2.1, "layer 2 edges"),
                 (2.8, "output"))


class ProductByParts(pn.viewable.Viewer):
    """x * y built from 1-D functions and sums by a two-layer KAN with snapped (red) edges."""

    x = param.Number(default=PRODUCT_DEFAULT[0], bounds=(PRODUCT_LOW, PRODUCT_HIGH), step=0.01, doc="x.")
    y = param.Number(default=PRODUCT_DEFAULT[1], bounds=(PRODUCT_LOW, PRODUCT_HIGH), step=0.01, doc="y.")

    def __init__(self, **params):
        super().__init__(**params)
        self.kan = product_kan()
        self.formula = self.kan.symbolic_formula().text(digits=3)
        self._build()
        self._layout = pn.Column(
            pn.Row(*[pn.Row(box, slider, sizing_mode="stretch_width") for box, slider in
                     zip(self.number_inputs, self.sliders)], self.reset_button, sizing_mode="stretch_width"),
            self.notice,
            pn.Row(self.diagram, self.readout, sizing_mode="stretch_width"),
            sizing_mode="stretch_width", css_classes=["kx-product"],
        )
        self._refresh()

    def values(self):
        """Every intermediate number, from kan_core's forward pass, keyed by what it is."""
        detail = self.kan.forward_detail(np.array([[self.x, self.y]]))
        e0, e1 = detail["edges"][0][0], detail["edges"][1][0]
        h1, h2 = detail["acts"][1][0]
        return {"x": self.x, "y": self.y, "x+y": h1, "x²+y²": h2,
                "edge x→h1": e0[0, 0], "edge y→h1": e0[0, 1], "x²": e0[1, 0], "y²": e0[1, 1],
                # the square that edge (1, 0, 0) halves: its library function alone, applied to x + y
                "(x+y)²": float(SYMBOLIC_LIB["x^2"].fn(h1)),
                "½(x+y)²": e1[0, 0], "−½(x²+y²)": e1[0, 1], "out": detail["output"][0, 0]}

    def _build(self):
        fig = figure(height=300, sizing_mode="stretch_width", min_width=360, max_width=620,
                     x_range=Range1d(-0.45, 3.25), y_range=Range1d(-0.2, 2.0), tools="", toolbar_location=None,
                     name="product-diagram", outline_line_color=None, min_border=4)
        fig.axis.visible = False
        fig.grid.visible = False
        xs0 = [_NODE_XY[a][0] for a, _ in _EDGE_ENDS]
        ys0 = [_NODE_XY[a][1] for a, _ in _EDGE_ENDS]
        xs1 = [_NODE_XY[b][0] for _, b in _EDGE_ENDS]
        ys1 = [_NODE_XY[b][1] for _, b in _EDGE_ENDS]
        self.edge_source = ColumnDataSource({"x0": xs0, "y0": ys0, "x1": xs1, "y1": ys1,
                                             "lx": [a + f * (b - a) for f, a, b in zip(_EDGE_LABEL_AT, xs0, xs1)],
                                             "ly": [a + f * (b - a) for f, a, b in zip(_EDGE_LABEL_AT, ys0, ys1)],
                                             "label": list(_EDGE_NAMES)}, name="product-edges")
        fig.segment("x0", "y0", "x1", "y1", source=self.edge_source, **LINE["snapped"])
        fig.text("lx", "ly", text="label", source=self.edge_source, text_align="center", text_baseline="middle",
                 text_font_size="13px", text_color=RED, background_fill_color="white", background_fill_alpha=0.9)
        fig.text(x=[x for x, _ in _COLUMN_NAMES], y=[-0.17] * len(_COLUMN_NAMES),
                 text=[name for _, name in _COLUMN_NAMES], text_align="center", text_baseline="bottom",
                 text_font_size="12px", text_color=GREY, text_font_style="italic")
        names = list(_NODE_XY)
        self.node_source = ColumnDataSource({"x": [_NODE_XY[n][0] for n in names],
                                             "y": [_NODE_XY[n][1] for n in names],
                                             "symbol": list(_NODE_SYMBOL), "dy": list(_NODE_LABEL_DY),
                                             "label": [""] * len(names)}, name="product-nodes")
        fig.scatter("x", "y", source=self.node_source, size=34, fill_color="white", line_color=INK,
                    line_width=2)
        fig.text("x", "y", text="symbol", source=self.node_source, text_align="center",
                 text_baseline="middle", text_font_size="14px", text_font_style="bold", text_color=INK)
        fig.text("x", "y", text="label", source=self.node_source, y_offset="dy", text_align="center",
                 text_baseline="middle", text_font_size="13px", text_font_style="bold", text_color=INK,
                 background_fill_color="white", background_fill_alpha=0.9)
        self.diagram = fig
        self.notice = notice_pane()
        self.number_inputs, self.sliders = zip(*(number_and_slider(self, name, name, self.notice)
                                                 for name in ("x", "y")))
        self.reset_button = pmui.Button(label="Reset", icon="restart_alt", variant="outlined")
        self.reset_button.on_click(lambda event: self.reset())
        self.readout = pn.pane.HTML("", css_classes=["kx-product-readout"], sizing_mode="stretch_width",
                                    stylesheets=[_READOUT_CSS + _PRODUCT_CSS])

    def reset(self):
        say(self.notice, "")
        self.param.update(x=PRODUCT_DEFAULT[0], y=PRODUCT_DEFAULT[1])

    def __panel__(self):
        return self._layout

    @param.depends("x", "y", watch=True)
    def _refresh(self):
        v = self.values()
        node_labels = [f"x = {number(v['x'])}", f"y = {number(v['y'])}", f"x+y = {number(v['x+y'])}",
                       f"x²+y² = {number(v['x²+y²'])}", f"out = {number(v['out'], 3)}"]
        edge_values = [v["edge x→h1"], v["edge y→h1"], v["x²"], v["y²"], v["½(x+y)²"], v["−½(x²+y²)"]]
        with pn.io.hold():
            for box, slider, value in zip(self.number_inputs, self.sliders, (self.x, self.y)):
                show_value(box, slider, value)
            self.node_source.data.update(label=node_labels)
            self.edge_source.data.update(label=[f"{name} = {number(val)}"
                                                for name, val in zip(_EDGE_NAMES, edge_values)])
            rows = [("x + y", "top hidden node", v["x+y"]),
                    ("(x + y)²", "its square", v["(x+y)²"]),
                    ("x²", "edge from x", v["x²"]),
                    ("y²", "edge from y", v["y²"]),
                    ("x² + y²", "bottom hidden node", v["x²+y²"]),
                    ("½(x + y)²", "edge from the top node", v["½(x+y)²"]),
                    ("−½(x² + y²)", "edge from the bottom node", v["−½(x²+y²)"]),
                    ("sum", "output node", v["out"])]
            body = "".join(f'<tr><th>{a}</th><td class="kx-what">{b}</td><td class="kx-num">{number(c, 4)}</td></tr>'
                           for a, b, c in rows)
            self.readout.object = (
                f'<table class="kx-layer-table" aria-label="The intermediate values">'
                f'<caption>Every number on the way, from the network</caption>{body}</table>'
                f'<p class="kx-check">Check: x · y = {number(v["x"])} × {number(v["y"])} = '
                f'<b>{number(self.x * self.y, 4)}</b>. The network read back as a formula: '
                f'<code>{html.escape(self.formula)}</code></p>')


_PRODUCT_CSS = """
.kx-layer-table td.kx-what { text-align: left; color: #607d8b; font-size: 0.85rem; }
.kx-check { margin: 0.3rem 0; font-size: 0.95rem; }
"""
