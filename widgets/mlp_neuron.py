"""One MLP neuron, every number in plain sight: inputs, a weight on each edge, a bias, a fixed squash.

``MLPNeuron`` draws two or three inputs feeding one node. The reader sets each input x_i, each
weight w_i and the bias b; the node forms z = sum_i w_i x_i + b and applies a fixed activation,
a = act(z). The reader may pick which activation (any of ``kan_core.mlp.ACTIVATIONS``), but its
shape is never adjustable: the only learnable parts are the numbers.

The arithmetic is done by a real ``kan_core.MLP([n, 1])`` whose weights are set from the
parameters (its output layer is linear, so it returns z), and a = act(z) uses the activation
function kan_core's MLP itself uses. A table lists every product w_i x_i, the sum and the output,
so each step can be checked by hand; a plot of the activation marks the current (z, a).
"""

import html

import numpy as np
import panel as pn
import panel_material_ui as pmui
import param
from bokeh.core.properties import value
from bokeh.models import ColumnDataSource, Range1d
from bokeh.plotting import figure

from kan_core import MLP
from kan_core.mlp import ACTIVATIONS

from .inputs import BoundedFloatSlider, EchoGuard, FloatInput
from .theme import GREY, ORANGE

NEGATIVE = "#546e7a"    # a negative weight: blue-grey and dashed (the sign is also in the number)
INK = "#37474f"         # nodes and labels
INPUT_LIMIT = 2.0       # every x_i stays in [-INPUT_LIMIT, INPUT_LIMIT]
WEIGHT_LIMIT = 3.0      # every w_i and the bias stay in [-WEIGHT_LIMIT, WEIGHT_LIMIT]
STEP = 0.1              # slider and arrow-key step
Z_VIEW = 4.0            # the activation plot shows at least z in [-Z_VIEW, Z_VIEW]
N_CURVE = 241           # samples of the activation curve

# How each activation is written; a name kan_core adds later is shown as it is spelled there.
PRETTY = {"relu": "ReLU", "tanh": "tanh", "silu": "SiLU", "sigmoid": "sigmoid"}
LATEX_NAME = {"relu": r"\mathrm{ReLU}", "tanh": r"\tanh", "silu": r"\mathrm{SiLU}", "sigmoid": r"\sigma"}

SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")

_CSS = """
.kx-neuron-table { border-collapse: collapse; font-size: 0.98rem; font-variant-numeric: tabular-nums; }
.kx-neuron-table th, .kx-neuron-table td { padding: 0.22rem 0.7rem; text-align: right;
  border-bottom: 1px solid rgba(128, 128, 128, 0.25); }
.kx-neuron-table th:first-child, .kx-neuron-table td:first-child { text-align: left; }
.kx-neuron-table tr.kx-total td { font-weight: 700; border-top: 2px solid rgba(128, 128, 128, 0.6); }
.kx-neuron-hint { font-size: 0.98rem; margin: 0.2rem 0; }
"""

LABEL_COLUMNS = ("x", "y", "text", "align", "color", "size", "style", "fill")


def empty_data(*columns):
    """Data for a ColumnDataSource with these columns and no rows yet."""
    return {column: [] for column in columns}


def white_backdrop(fig):
    """Fill a figure without axes with a white card, drawn as its first glyph.

    The page theme recolours a figure's own background (dark in the dark theme) but never its
    glyphs, so a card drawn as a glyph keeps the dark ink of nodes and labels readable in both.
    """
    fig.quad(left=fig.x_range.start, right=fig.x_range.end, bottom=fig.y_range.start, top=fig.y_range.end,
             fill_color="white", line_color="#cfd8dc", line_width=1)


def pretty(activation):
    return PRETTY.get(activation, activation)


def fmt(value):
    """A number as the readouts print it: at least two decimals, at most four, a real minus sign.

    1.5 -> '1.50', 0.0025 -> '0.0025', -0.8005 -> '−0.8005'; a value that rounds to zero is '0.00'.
    """
    text = f"{value:.4f}".rstrip("0")
    decimals = len(text.split(".")[1])
    if decimals < 2:
        text += "0" * (2 - decimals)
    if text.lstrip("-") == "0.00":
        return "0.00"
    return text.replace("-", "\u2212")


def _tex(value):
    """fmt() for LaTeX: a plain minus, which KaTeX sets as a minus sign."""
    return fmt(value).replace("\u2212", "-")


def sub(i):
    """'₁' for i = 1."""
    return str(i).translate(SUBSCRIPTS)


class SliderWithBox:
    """A slider (arrow keys move it by ``step``) and a number box for one bounded parameter.

    ``view`` holds both. A typed number outside the parameter's bounds is clamped into them, and
    ``message`` (an HTML pane) says so in a sentence; a number inside the bounds hides it again.
    """

    def __init__(self, owner, name, label, message, step=STEP):
        self.owner, self.name, self.label, self.message = owner, name, label, message
        self.slider = BoundedFloatSlider.from_param(owner.param[name], label=label, step=step, show_value=False,
                                                  sizing_mode="stretch_width", min_width=140)
        self.box = FloatInput(label=f"{label} value", value=getattr(owner, name), step=step,
                              format="0.00", width=130)
        self.echo = EchoGuard(self.box)
        self.box.param.watch(self._typed, "value")
        owner.param.watch(self._follow, name)
        self.view = pn.Row(self.box, self.slider, sizing_mode="stretch_width", margin=0)

    def _follow(self, event):
        self.echo.show(event.new)

    def _typed(self, event):
        value, current = event.new, getattr(self.owner, self.name)
        if value is None or value == current:
            return
        if self.echo.is_echo(value):     # the browser's box repeating an older value: keep the newer one
            self.box.value = current
            return
        low, high = self.owner.param[self.name].bounds
        clamped = float(np.clip(value, low, high)) if np.isfinite(value) else current
        if clamped != value:
            self.message.object = (f'<div role="status">{html.escape(self.label)} must be between '
                                   f'{fmt(low)} and {fmt(high)}; {value:g} was set to '
                                   f'{fmt(clamped)}.</div>')
        self.message.visible = clamped != value
        self.echo.typed(value)
        with self.echo.typing():
            setattr(self.owner, self.name, clamped)
            self.box.value = clamped


class MLPNeuron(pn.viewable.Viewer):
    """One neuron a = act(w · x + b) with n_inputs inputs; see the module docstring."""

    n_inputs = param.Integer(default=3, bounds=(2, 3), doc="How many inputs feed the neuron.")
    x1 = param.Number(default=1.0, bounds=(-INPUT_LIMIT, INPUT_LIMIT), doc="Input x₁.")
    x2 = param.Number(default=2.0, bounds=(-INPUT_LIMIT, INPUT_LIMIT), doc="Input x₂.")
    x3 = param.Number(default=0.5, bounds=(-INPUT_LIMIT, INPUT_LIMIT), doc="Input x₃ (used when n_inputs = 3).")
    w1 = param.Number(default=1.5, bounds=(-WEIGHT_LIMIT, WEIGHT_LIMIT), doc="Weight on the edge from x₁.")
    w2 = param.Number(default=-0.5, bounds=(-WEIGHT_LIMIT, WEIGHT_LIMIT), doc="Weight on the edge from x₂.")
    w3 = param.Number(default=0.8, bounds=(-WEIGHT_LIMIT, WEIGHT_LIMIT), doc="Weight on the edge from x₃.")
    bias = param.Number(default=0.2, bounds=(-WEIGHT_LIMIT, WEIGHT_LIMIT), doc="Bias b added at the node.")
    activation = param.Selector(default="relu", objects={pretty(name): name for name in ACTIVATIONS},
                                doc="The node's fixed activation; its shape is not adjustable.")

    _STATE = ("n_inputs", "x1", "x2", "x3", "w1", "w2", "w3", "bias", "activation")

    def __init__(self, **params):
        super().__init__(**params)
        self.edges = ColumnDataSource(name="mlp-neuron-edges",
                                      data=empty_data("x0", "y0", "x1", "y1", "color", "width", "dash"))
        self.nodes = ColumnDataSource(name="mlp-neuron-nodes", data=empty_data("x", "y", "size", "marker"))
        self.labels = ColumnDataSource(name="mlp-neuron-labels", data=empty_data(*LABEL_COLUMNS))
        self.glyph = ColumnDataSource(name="mlp-neuron-glyph", data=empty_data("xs", "ys"))
        self.curve = ColumnDataSource(name="mlp-neuron-curve", data=empty_data("x", "y"))
        self.point = ColumnDataSource(name="mlp-neuron-point", data=empty_data("x", "y"))
        self.guides = ColumnDataSource(name="mlp-neuron-guides", data=empty_data("x0", "y0", "x1", "y1"))
        self.marks = ColumnDataSource(name="mlp-neuron-marks", data=empty_data("x", "y", "text", "align"))
        self.diagram = self._diagram_figure()
        self.plot = self._activation_figure()
        self.table = pn.pane.HTML("", stylesheets=[_CSS], css_classes=["kx-neuron-readout"], margin=(5, 10))
        self.sum_equation = pn.pane.LaTeX("", styles={"font-size": "1.1rem"}, margin=(5, 10),
                                          css_classes=["kx-neuron-sum"])
        self.output_equation = pn.pane.LaTeX("", styles={"font-size": "1.1rem"}, margin=(5, 10),
                                             css_classes=["kx-neuron-output"])
        self.hint = pn.pane.HTML("", stylesheets=[_CSS], css_classes=["kx-neuron-hint-pane"],
                                 sizing_mode="stretch_width", margin=(0, 10))
        self.message = pn.pane.HTML("", css_classes=["kx-neuron-message"], sizing_mode="stretch_width",
                                    margin=(0, 10), visible=False)
        self.entries = {}
        self._controls = self._build_controls()
        self._view = self._layout()
        self._update()

    # -- figures, built once ----------------------------------------------------------------
    def _diagram_figure(self):
        fig = figure(name="mlp-neuron-diagram", width=500, height=300, x_range=Range1d(-0.9, 5.4),
                     y_range=Range1d(-1.55, 1.55), tools="", toolbar_location=None, min_border=0,
                     outline_line_color=None)
        fig.axis.visible = False
        fig.grid.visible = False
        white_backdrop(fig)
        fig.segment("x0", "y0", "x1", "y1", source=self.edges, line_color="color", line_width="width",
                    line_dash="dash")
        fig.scatter("x", "y", source=self.nodes, size="size", marker="marker", fill_color="white",
                    line_color=INK, line_width=2)
        fig.multi_line("xs", "ys", source=self.glyph, line_color=ORANGE, line_width=2.5)
        fig.text("x", "y", text="text", source=self.labels, text_align="align", text_baseline="middle",
                 text_color="color", text_font_size="size", text_font_style="style",
                 background_fill_color="fill", background_fill_alpha=0.92)
        return fig

    def _activation_figure(self):
        fig = figure(name="mlp-neuron-activation", width=380, height=300, tools="", toolbar_location=None,
                     x_range=Range1d(-Z_VIEW, Z_VIEW), y_range=Range1d(-1, 1),
                     x_axis_label="pre-activation z", y_axis_label="output a")
        fig.line("x", "y", source=self.curve, line_color=ORANGE, line_width=3)
        fig.segment("x0", "y0", "x1", "y1", source=self.guides, line_color=GREY, line_width=1.5,
                    line_dash="dashed")
        fig.scatter("x", "y", source=self.point, size=13, fill_color=ORANGE, line_color=INK, line_width=2)
        fig.text("x", "y", text="text", source=self.marks, text_align="align", text_baseline=value("bottom"),
                 text_color=INK, text_font_size="13px", text_font_style="bold",
                 background_fill_color="white", background_fill_alpha=0.85)
        fig.title.text_font_size = "14px"
        return fig

    # -- controls -----------------------------------------------------------------------------
    def _build_controls(self):
        rows = {}
        labels = {"bias": "bias b"}
        for i in (1, 2, 3):
            labels.update({f"x{i}": f"input x{sub(i)}", f"w{i}": f"weight w{sub(i)}"})
        for name, label in labels.items():
            self.entries[name] = SliderWithBox(self, name, label, self.message)
            rows[name] = self.entries[name].view
        self._rows = rows
        self._count = pmui.RadioButtonGroup(label="Number of inputs", options={"2 inputs": 2, "3 inputs": 3},
                                            value=self.n_inputs)
        self._count.link(self, value="n_inputs", bidirectional=True)
        picker = pmui.RadioButtonGroup.from_param(self.param.activation, label="Activation (fixed shape)")
        reset = pmui.Button(label="Reset", icon="restart_alt", variant="outlined")
        reset.on_click(lambda _: self.reset())
        inputs = pn.Column(*(rows[f"x{i}"] for i in (1, 2, 3)), sizing_mode="stretch_width", margin=0)
        weights = pn.Column(*(rows[f"w{i}"] for i in (1, 2, 3)), rows["bias"], sizing_mode="stretch_width",
                            margin=0)
        return pn.Column(
            pn.FlexBox(self._count, picker, reset, align_items="center", gap="12px"),
            pn.FlexBox(pn.Column(pn.pane.HTML("<b>Inputs</b>", margin=(0, 10)), inputs, min_width=320,
                                 styles={"flex": "1 1 320px"}),
                       pn.Column(pn.pane.HTML("<b>Weights and bias</b>", margin=(0, 10)), weights,
                                 min_width=320, styles={"flex": "1 1 320px"}),
                       gap="16px", sizing_mode="stretch_width", max_width=920),
            self.message,
            sizing_mode="stretch_width",
        )

    def reset(self):
        """Back to the opening state (a positive and a negative weight, z > 0, ReLU)."""
        self.param.update(**{name: self.param[name].default for name in self._STATE})
        self.message.visible = False

    # -- the arithmetic -------------------------------------------------------------------------
    def inputs(self):
        return np.array([self.x1, self.x2, self.x3][:self.n_inputs])

    def weights(self):
        return np.array([self.w1, self.w2, self.w3][:self.n_inputs])

    @param.depends(*_STATE)
    def result(self):
        """{'products': (n,) w_i x_i, 'z': pre-activation, 'a': output}, computed by kan_core."""
        x, w = self.inputs(), self.weights()
        model = MLP([self.n_inputs, 1])
        model.set_params(np.append(w, self.bias))
        z = float(model(x[None, :])[0, 0])
        a = float(ACTIVATIONS[self.activation][0](np.array([z]))[0])
        return {"products": w * x, "z": z, "a": a}

    # -- keeping the view in step ---------------------------------------------------------------
    @param.depends(*_STATE, watch=True)
    def _update(self):
        out = self.result()
        n = self.n_inputs
        for i in (1, 2, 3):
            self._rows[f"x{i}"].visible = self._rows[f"w{i}"].visible = i <= n
        with pn.io.hold():
            self._draw_diagram(out)
            self._draw_activation(out)
            self.table.object = self._table_html(out)
            self.sum_equation.object, self.output_equation.object = self._equations(out)
            self.hint.object = f'<p class="kx-neuron-hint">{self._hint(out)}</p>'

    def _input_ys(self):
        return np.array([1.1, 0.0, -1.1]) if self.n_inputs == 3 else np.array([0.65, -0.65])

    def _draw_diagram(self, out):
        x, w, ys = self.inputs(), self.weights(), self._input_ys()
        node_x, box_x, out_x = 2.3, 3.55, 4.45
        n = len(w)
        self.edges.data = {
            "x0": [0.0] * n + [node_x, node_x + 0.35, box_x + 0.42],
            "y0": list(ys) + [1.05, 0.0, 0.0],
            "x1": [node_x] * n + [node_x, box_x - 0.42, out_x - 0.05],
            "y1": [0.0] * n + [0.33, 0.0, 0.0],
            "color": [ORANGE if v >= 0 else NEGATIVE for v in w] + [GREY, INK, INK],
            "width": list(np.clip(1.0 + 2.2 * np.abs(w), 1.0, 8.0)) + [1.5, 2.0, 2.0],
            "dash": ["solid" if v >= 0 else "dashed" for v in w] + ["dotted", "solid", "solid"],
        }
        self.nodes.data = {
            "x": [0.0] * n + [node_x, box_x],
            "y": list(ys) + [0.0, 0.0],
            "size": [46] * n + [56, 70],
            "marker": ["circle"] * n + ["circle", "square"],
        }
        # the activation's own shape, drawn small inside its box
        t = np.linspace(-3.0, 3.0, 61)
        s = ACTIVATIONS[self.activation][0](t)
        s = (s - s.min()) / (s.max() - s.min()) - 0.5
        self.glyph.data = {"xs": [box_x + t / 3.0 * 0.3], "ys": [s * 0.5]}
        texts, tx, ty, align, colour, size, style, fill = [], [], [], [], [], [], [], []

        def add(text, px, py, how="center", c=INK, px_size="14px", st="normal", bg=None):
            texts.append(text), tx.append(px), ty.append(py), align.append(how), colour.append(c)
            size.append(px_size), style.append(st), fill.append(bg)

        for i in range(n):
            add(f"x{sub(i + 1)}", -0.35, ys[i], "right", st="italic", px_size="15px")
            add(fmt(x[i]), 0.0, ys[i], px_size="13px", st="bold")
            add(f"w{sub(i + 1)} = {fmt(w[i])}", node_x * 0.45, ys[i] * 0.55,
                c=ORANGE if w[i] >= 0 else NEGATIVE, st="bold", bg="white")
        add("Σ", node_x, 0.0, px_size="22px", st="bold")
        add(f"z = {fmt(out['z'])}", node_x, -0.5, st="bold", bg="white")
        add(f"b = {fmt(self.bias)}", node_x, 1.22, st="bold", bg="white")
        add(pretty(self.activation), box_x, 0.62, st="bold")
        add(f"a = {fmt(out['a'])}", out_x, 0.0, "left", px_size="15px", st="bold", bg="white")
        self.labels.data = {"x": tx, "y": ty, "text": texts, "align": align, "color": colour,
                            "size": size, "style": style, "fill": fill}

    def _draw_activation(self, out):
        z, a = out["z"], out["a"]
        half = max(Z_VIEW, abs(z) + 0.6)
        zs = np.linspace(-half, half, N_CURVE)
        act = ACTIVATIONS[self.activation][0](zs)
        lo, hi = min(act.min(), 0.0), max(act.max(), 0.0)
        pad = 0.12 * (hi - lo)
        self.plot.x_range.update(start=-half, end=half)
        self.plot.y_range.update(start=lo - pad, end=hi + pad)
        self.plot.title.text = f"a = {pretty(self.activation)}(z), a fixed curve"
        self.plot.yaxis.axis_label = f"output a = {pretty(self.activation)}(z)"
        self.curve.data = {"x": zs, "y": act}
        self.point.data = {"x": [z], "y": [a]}
        base = lo - pad
        self.guides.data = {"x0": [z, -half], "y0": [base, a], "x1": [z, z], "y1": [a, a]}
        self.marks.data = {
            "x": [z + (0.1 if z < half - 1.6 else -0.1), -half + 0.1],
            "y": [base + 0.03 * (hi - lo), a + 0.04 * (hi - lo)],
            "text": [f"z = {fmt(z)}", f"a = {fmt(a)}"],
            "align": ["left" if z < half - 1.6 else "right", "left"],
        }

    def _table_html(self, out):
        x, w = self.inputs(), self.weights()
        rows = "".join(
            f'<tr><td>edge {i + 1}</td><td data-kx="x{i + 1}">{fmt(x[i])}</td>'
            f'<td data-kx="w{i + 1}">{fmt(w[i])}</td>'
            f'<td data-kx="product{i + 1}">{fmt(out["products"][i])}</td></tr>'
            for i in range(len(x)))
        name = pretty(self.activation)
        return (
            '<table class="kx-neuron-table" aria-label="The neuron\'s arithmetic">'
            "<thead><tr><th></th><th>input x<sub>i</sub></th><th>weight w<sub>i</sub></th>"
            "<th>product w<sub>i</sub>·x<sub>i</sub></th></tr></thead><tbody>"
            f"{rows}"
            f'<tr><td>bias b</td><td></td><td></td><td data-kx="bias">{fmt(self.bias)}</td></tr>'
            f'<tr class="kx-total"><td>sum z</td><td></td><td></td><td data-kx="z">{fmt(out["z"])}</td></tr>'
            f'<tr class="kx-total"><td>output a = {name}(z)</td><td></td><td></td>'
            f'<td data-kx="a">{fmt(out["a"])}</td></tr>'
            "</tbody></table>"
        )

    def _equations(self, out):
        """The sum and the output written out with the current numbers, as two LaTeX lines."""
        x, w = self.inputs(), self.weights()
        numbers = " + ".join(f"({{{_tex(w[i])}}})({{{_tex(x[i])}}})" for i in range(len(x)))
        name = LATEX_NAME.get(self.activation, rf"\mathrm{{{self.activation}}}")
        return (rf"$z = {numbers} + ({{{_tex(self.bias)}}}) = {_tex(out['z'])}$",
                rf"$a = {name}(z) = {name}({{{_tex(out['z'])}}}) = {_tex(out['a'])}$")

    def _hint(self, out):
        z, name = out["z"], pretty(self.activation)
        if self.activation == "relu" and z > 0:
            return (f"z is positive, so {name} lets it through unchanged. Make a weight more negative "
                    "(or the bias) until z drops below zero, and watch ReLU clip the output to 0.")
        if self.activation == "relu":
            return ("z is zero or negative, so ReLU outputs 0: small changes to the weights do nothing "
                    "to the output until z climbs back above zero.")
        return (f"Whatever the numbers, the output is read off the same {name} curve: the weights and "
                "the bias only move the point along it.")

    def _layout(self):
        figures = pn.FlexBox(pn.pane.Bokeh(self.diagram), pn.pane.Bokeh(self.plot), gap="8px")
        key = pn.pane.HTML('<p class="kx-neuron-hint">A thicker edge is a larger weight; solid orange is '
                           "positive, dashed blue-grey negative.</p>", stylesheets=[_CSS], margin=(0, 10),
                           sizing_mode="stretch_width")
        equations = pn.Column(self.sum_equation, self.output_equation, self.hint, min_width=300,
                              styles={"flex": "1 1 300px"})
        readout = pn.FlexBox(self.table, equations, gap="8px", sizing_mode="stretch_width")
        return pn.Column(figures, key, self._controls, readout, sizing_mode="stretch_width",
                         css_classes=["kx-mlp-neuron-widget"])

    def __panel__(self):
        return self._view
