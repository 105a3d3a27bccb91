"""The same two-input unit drawn two ways: the MLP form and the KAN form, one toggle apart.

``Flip`` holds two real kan_core models trained, when it is created, on the same target
f(x1, x2) = sin(pi x1) + x2^2 (a fraction of a second):

- the MLP form, ``MLP([2, 1, 1], 'tanh')``: a number on each input edge, a sum and a fixed tanh
  at the node, y = v tanh(w1 x1 + w2 x2 + b) + c (the output layer's v and c are drawn too);
- the KAN form, ``KAN([2, 1])``: a learned curve on each edge and a node that only adds,
  y = phi1(x1) + phi2(x2).

``form`` flips the drawing between them; x1 and x2 set the inputs and both forms report their
output for them. Hovering or tapping an input edge (or choosing it with ``focus``) shows that edge
large: a lone number for the MLP, the whole curve for the KAN. A table states what the swap
changes, with the theorem behind each form.
"""

import html

import numpy as np
import panel as pn
import panel_material_ui as pmui
import param
from bokeh.core.properties import value
from bokeh.models import ColumnDataSource, CustomJS, HoverTool, Range1d, TapTool
from bokeh.plotting import figure

from kan_core import KAN, MLP, Trainer, make_dataset, target_from_formula

from .mlp_neuron import INK, LABEL_COLUMNS, NEGATIVE, SliderWithBox, empty_data, sub, white_backdrop
from .theme import ORANGE, TEAL

TARGET = "sin(pi*x1) + x2**2"
KAN_STEPS, MLP_STEPS = 10, 50
N_MINI, N_LARGE = 41, 201

# The diagram, in data units: inputs on the left, the node, then the output.
INPUT_Y = (0.95, -0.95)
NODE_X, OUT_X = 3.3, 4.45
BOX_W, BOX_H = 1.3, 0.72
X_RANGE, Y_RANGE = (-0.9, 5.3), (-1.45, 1.45)
WIDTH, HEIGHT = 560, 330
PX_X = WIDTH / (X_RANGE[1] - X_RANGE[0])   # pixels per data unit, to fit drawings inside markers
PX_Y = HEIGHT / (Y_RANGE[1] - Y_RANGE[0])
NODE_PX = 66

TABLE_ROWS = (
    ("What is learned", "one number on each edge (a weight), and a bias",
     "one curve on each edge (its spline coefficients)"),
    ("Where the nonlinearity lives", "at the node: a fixed squash such as tanh",
     "on the edges: each curve bends its own input"),
    ("What the node does", "adds, then squashes", "only adds"),
    ("Which theorem licenses it", "the universal approximation theorem",
     "the Kolmogorov-Arnold representation theorem"),
)

CAPTIONS = {
    "MLP": "MLP form: a number sits on every edge; the node adds, then squashes with tanh.",
    "KAN": "KAN form: a learned curve sits on every edge; the node only adds.",
}

WEIGHT_KEY = ('<span class="kx-flip-key"> A thicker line is a larger weight; solid orange is positive, '
              'dashed blue-grey negative.</span>')

_CSS = """
.kx-flip-table { border-collapse: collapse; font-size: 0.95rem; max-width: 46rem; }
.kx-flip-table th, .kx-flip-table td { padding: 0.35rem 0.6rem; text-align: left; vertical-align: top;
  border-bottom: 1px solid rgba(128, 128, 128, 0.3); }
.kx-flip-table th[scope=row] { font-weight: 600; width: 11rem; }
.kx-flip-table .kx-on-MLP { background: rgba(239, 108, 0, 0.12); }
.kx-flip-table .kx-on-KAN { background: rgba(0, 137, 123, 0.12); }
.kx-flip-table thead .kx-on-MLP, .kx-flip-table thead .kx-on-KAN { border-bottom: 3px solid currentColor; }
.kx-flip-caption { font-size: 1.02rem; font-weight: 600; margin: 0.2rem 0; }
.kx-flip-key { font-weight: 400; font-size: 0.92rem; }
.kx-flip-outputs { font-size: 0.98rem; font-variant-numeric: tabular-nums; margin: 0.2rem 0; }
.kx-flip-outputs b { font-weight: 700; }
"""


def fmt(value):
    """Two decimals and a real minus sign; a value that rounds to zero is '0.00'."""
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text.replace("-", "\u2212")


def train_unit_pair(seed=0):
    """(kan, mlp): a KAN([2, 1]) and an MLP([2, 1, 1], 'tanh') trained briefly on TARGET."""
    data = make_dataset(target_from_formula(TARGET), n_train=200, n_test=200, seed=seed)
    kan = KAN([2, 1], grid=5, k=3, seed=seed)
    Trainer(kan, data, "lbfgs").step(KAN_STEPS)
    mlp = MLP([2, 1, 1], activation="tanh", seed=seed)
    Trainer(mlp, data, "lbfgs").step(MLP_STEPS)
    return kan, mlp


class Flip(pn.viewable.Viewer):
    """A two-input unit as an MLP (numbers on edges) or a KAN (curves on edges); see the module docstring."""

    form = param.Selector(default="KAN", objects=["MLP", "KAN"],
                          doc="Which form of the unit is drawn.")
    x1 = param.Number(default=0.5, bounds=(-1.0, 1.0), doc="Input x₁.")
    x2 = param.Number(default=-0.5, bounds=(-1.0, 1.0), doc="Input x₂.")
    focus = param.Selector(default=1, objects={"edge from x₁": 1, "edge from x₂": 2},
                           doc="The input edge shown large.")

    _STATE = ("form", "x1", "x2", "focus")

    def __init__(self, **params):
        super().__init__(**params)
        self.kan, self.mlp = train_unit_pair()
        self._mini_t = np.linspace(-1.0, 1.0, N_MINI)
        self._large_t = np.linspace(-1.0, 1.0, N_LARGE)
        self._phi = [self.kan.edge(0, i, 0) for i in (0, 1)]
        self.edges = ColumnDataSource(name="flip-edges",
                                      data=empty_data("x0", "y0", "x1", "y1", "color", "width", "dash"))
        self.boxes = ColumnDataSource(name="flip-boxes", data=empty_data("x", "y", "color", "width"))
        self.hits = ColumnDataSource(name="flip-hits", data={
            "left": [0.25, 0.25], "right": [NODE_X - 0.4, NODE_X - 0.4],
            "bottom": [0.05, -1.05], "top": [1.05, -0.05], "edge": [1, 2]})
        self.mini = ColumnDataSource(name="flip-mini-curves", data=empty_data("xs", "ys"))
        self.dots = ColumnDataSource(name="flip-mini-dots", data=empty_data("x", "y"))
        self.squash = ColumnDataSource(name="flip-squash", data=empty_data("xs", "ys"))
        self.nodes = ColumnDataSource(name="flip-nodes", data=empty_data("x", "y", "size"))
        self.labels = ColumnDataSource(name="flip-labels", data=empty_data(*LABEL_COLUMNS))
        self.large_curve = ColumnDataSource(name="flip-large-curve", data=empty_data("x", "y"))
        self.large_dot = ColumnDataSource(name="flip-large-dot", data=empty_data("x", "y"))
        self.large_text = ColumnDataSource(name="flip-large-text",
                                           data=empty_data("x", "y", "text", "color", "size"))
        self.diagram = self._diagram_figure()
        self.large = self._large_figure()
        self.caption = pn.pane.HTML("", stylesheets=[_CSS], css_classes=["kx-flip-caption-pane"],
                                    sizing_mode="stretch_width", margin=(0, 10))
        self.large_caption = pn.pane.HTML("", css_classes=["kx-flip-large-caption"], width=340,
                                          margin=(0, 10))
        self.outputs = pn.pane.HTML("", stylesheets=[_CSS], css_classes=["kx-flip-outputs-pane"],
                                    sizing_mode="stretch_width", margin=(0, 10))
        self.equation = pn.pane.LaTeX("", styles={"font-size": "1.1rem"}, margin=(0, 10),
                                      css_classes=["kx-flip-equation"])
        self.table = pn.pane.HTML("", stylesheets=[_CSS], css_classes=["kx-flip-table-pane"],
                                  sizing_mode="stretch_width", margin=(5, 10))
        self.message = pn.pane.HTML("", sizing_mode="stretch_width", margin=(0, 10), visible=False)
        self.inputs = {name: SliderWithBox(self, name, f"input x{sub(i)}", self.message)
                       for i, name in ((1, "x1"), (2, "x2"))}
        self._view = self._layout()
        self._update()

    # -- figures, built once ----------------------------------------------------------------
    def _diagram_figure(self):
        fig = figure(name="flip-diagram", css_classes=["kx-flip-diagram"], width=WIDTH, height=HEIGHT,
                     x_range=Range1d(*X_RANGE), y_range=Range1d(*Y_RANGE), tools="", toolbar_location=None,
                     min_border=0, outline_line_color=None)
        fig.axis.visible = False
        fig.grid.visible = False
        white_backdrop(fig)
        fig.segment("x0", "y0", "x1", "y1", source=self.edges, line_color="color", line_width="width",
                    line_dash="dash")
        fig.rect("x", "y", width=BOX_W, height=BOX_H, source=self.boxes, fill_color="white",
                 line_color="color", line_width="width")
        self._kan_glyphs = [
            fig.multi_line("xs", "ys", source=self.mini, line_color=TEAL, line_width=2.5),
            fig.scatter("x", "y", source=self.dots, size=9, fill_color=TEAL, line_color=INK, line_width=1.5),
        ]
        fig.scatter("x", "y", source=self.nodes, size="size", fill_color="white", line_color=INK, line_width=2)
        self._mlp_glyphs = [fig.multi_line("xs", "ys", source=self.squash, line_color=ORANGE, line_width=2.5)]
        fig.text("x", "y", text="text", source=self.labels, text_align="align", text_baseline="middle",
                 text_color="color", text_font_size="size", text_font_style="style",
                 background_fill_color="fill", background_fill_alpha=0.9)
        hits = fig.quad(left="left", right="right", bottom="bottom", top="top", source=self.hits,
                        fill_alpha=0.0, line_alpha=0.0)
        hits.selection_glyph = hits.nonselection_glyph = hits.glyph
        # Hovering an edge selects it, as a tap does; the selection reaches Python as `focus`.
        pick = CustomJS(args={"src": self.hits}, code="""
            const found = cb_data.index.indices
            const now = src.selected.indices
            if (found.length > 0 && !(now.length === 1 && now[0] === found[0])) {
              src.selected.indices = [found[0]]
            }
        """)
        fig.add_tools(HoverTool(renderers=[hits], tooltips=None, callback=pick),
                      TapTool(renderers=[hits]))
        self.hits.selected.on_change("indices", self._on_pick)
        return fig

    def _large_figure(self):
        fig = figure(name="flip-large", css_classes=["kx-flip-large"], width=340, height=HEIGHT, tools="",
                     toolbar_location=None, x_range=Range1d(-1.05, 1.05), y_range=Range1d(-1, 1))
        self._large_kan = [
            fig.line("x", "y", source=self.large_curve, line_color=TEAL, line_width=3),
            fig.scatter("x", "y", source=self.large_dot, size=12, fill_color=TEAL, line_color=INK, line_width=2),
        ]
        self._large_mlp = [
            fig.text("x", "y", text="text", source=self.large_text, text_align="center",
                     text_baseline=value("middle"), text_color="color", text_font_size="size",
                     text_font_style="bold", background_fill_color="white", background_fill_alpha=0.9),
        ]
        return fig

    # -- the two models ---------------------------------------------------------------------
    def point(self):
        return np.array([[self.x1, self.x2]])

    @param.depends("x1", "x2")
    def kan_result(self):
        """{'edges': (2,) phi_i(x_i), 'y': the KAN's output}, from kan_core's forward pass."""
        detail = self.kan.forward_detail(self.point())
        return {"edges": detail["edges"][0][0, 0, :].copy(), "y": float(detail["output"][0, 0])}

    @param.depends("x1", "x2")
    def mlp_result(self):
        """{'w': (2,), 'b', 'v', 'c', 'z', 'y'}: the MLP unit's numbers and its output (kan_core)."""
        w = self.mlp.weights[0][:, 0]
        b = float(self.mlp.biases[0][0])
        z = float(np.dot(w, self.point()[0]) + b)
        return {"w": w.copy(), "b": b, "v": float(self.mlp.weights[1][0, 0]), "c": float(self.mlp.biases[1][0]),
                "z": z, "y": float(self.mlp.forward(self.point())[0, 0])}

    def target(self):
        return float(np.sin(np.pi * self.x1) + self.x2 ** 2)

    def reset(self):
        self.param.update(**{name: self.param[name].default for name in self._STATE})
        self.message.visible = False

    # -- picking an edge ----------------------------------------------------------------------
    def _on_pick(self, attr, old, new):
        if new:
            self.focus = int(self.hits.data["edge"][new[0]])

    # -- keeping the view in step -------------------------------------------------------------
    @param.depends(*_STATE, watch=True)
    def _update(self):
        kan, mlp = self.kan_result(), self.mlp_result()
        is_kan = self.form == "KAN"
        with pn.io.hold():
            for glyph in self._kan_glyphs + self._large_kan:
                glyph.visible = is_kan
            for glyph in self._mlp_glyphs + self._large_mlp:
                glyph.visible = not is_kan
            self._draw_diagram(kan, mlp)
            self._draw_large(kan, mlp)
            if self.hits.selected.indices != [self.focus - 1]:
                self.hits.selected.indices = [self.focus - 1]
            self.caption.object = (f'<p class="kx-flip-caption" data-form="{self.form}">{CAPTIONS[self.form]}'
                                   f'{WEIGHT_KEY if self.form == "MLP" else ""}</p>')
            self.outputs.object = self._outputs_html(kan, mlp)
            self.equation.object = self._equation(kan, mlp)
            self.table.object = self._table_html()

    def _edge_mid(self, i):
        return NODE_X / 2, INPUT_Y[i] / 2

    def _draw_diagram(self, kan, mlp):
        is_kan = self.form == "KAN"
        x = self.point()[0]
        w = mlp["w"]
        if is_kan:
            colours, widths, dashes = [TEAL, TEAL, INK], [2.5, 2.5, 2.0], ["solid"] * 3
        else:
            colours = [ORANGE if v >= 0 else NEGATIVE for v in w] + [ORANGE if mlp["v"] >= 0 else NEGATIVE]
            widths = list(np.clip(1.0 + 0.8 * np.abs(np.append(w, mlp["v"])), 1.0, 8.0))
            dashes = ["solid" if v >= 0 else "dashed" for v in np.append(w, mlp["v"])]
        self.edges.data = {"x0": [0.0, 0.0, NODE_X], "y0": list(INPUT_Y) + [0.0],
                           "x1": [NODE_X, NODE_X, OUT_X - 0.05], "y1": [0.0, 0.0, 0.0],
                           "color": colours, "width": widths, "dash": dashes}
        mids = [self._edge_mid(i) for i in (0, 1)]
        frame = TEAL if is_kan else ORANGE
        self.boxes.data = {"x": [m[0] for m in mids], "y": [m[1] for m in mids],
                           "color": [INK if i + 1 == self.focus else frame for i in (0, 1)],
                           "width": [3.0 if i + 1 == self.focus else 1.5 for i in (0, 1)]}
        self.nodes.data = {"x": [0.0, 0.0, NODE_X], "y": list(INPUT_Y) + [0.0], "size": [46, 46, NODE_PX]}
        # The KAN's two curves share one vertical scale, so their sizes can be compared.
        t = self._mini_t
        curves = [phi(t) for phi in self._phi]
        span = max(max(c.max() - c.min() for c in curves), 1e-9)
        scale = 0.72 * BOX_H / span
        sx = 0.42 * BOX_W
        xs, ys, dot_x, dot_y = [], [], [], []
        for i, (cx, cy) in enumerate(mids):
            centre = (curves[i].max() + curves[i].min()) / 2
            xs.append(cx + sx * t)
            ys.append(cy + scale * (curves[i] - centre))
            dot_x.append(cx + sx * x[i])
            dot_y.append(cy + scale * (kan["edges"][i] - centre))
        self.mini.data = {"xs": xs, "ys": ys}
        self.dots.data = {"x": dot_x, "y": dot_y}
        zs = np.linspace(-2.5, 2.5, 41)
        half_w, half_h = 0.3 * NODE_PX / PX_X, 0.22 * NODE_PX / PX_Y
        self.squash.data = {"xs": [NODE_X + half_w * zs / 2.5], "ys": [half_h * np.tanh(zs)]}

        texts, tx, ty, align, colour, size, style, fill = [], [], [], [], [], [], [], []

        def add(text, px, py, how="center", c=INK, px_size="14px", st="bold", bg=None):
            texts.append(text), tx.append(px), ty.append(py), align.append(how), colour.append(c)
            size.append(px_size), style.append(st), fill.append(bg)

        for i in (0, 1):
            add(f"x{sub(i + 1)}", -0.33, INPUT_Y[i], "right", px_size="15px", st="italic")
            add(fmt(x[i]), 0.0, INPUT_Y[i], px_size="13px")
            cx, cy = mids[i]
            outside = cy + (1 if cy > 0 else -1) * (BOX_H / 2 + 0.13)
            if is_kan:
                add(f"φ{sub(i + 1)}(x{sub(i + 1)}) = {fmt(kan['edges'][i])}", cx, outside, c=TEAL)
            else:
                add(f"w{sub(i + 1)} = {fmt(w[i])}", cx, cy, px_size="17px",
                    c=ORANGE if w[i] >= 0 else NEGATIVE)
        if is_kan:
            add("+", NODE_X, 0.0, px_size="34px")
            add("adds only", NODE_X, -0.48, st="normal")
            add(f"y = {fmt(kan['y'])}", OUT_X, 0.0, "left", px_size="15px", bg="white")
        else:
            add("Σ, then tanh", NODE_X, 0.5, st="normal")
            add(f"b = {fmt(mlp['b'])}", NODE_X, -0.48)
            add(f"v = {fmt(mlp['v'])}", (NODE_X + OUT_X) / 2 + 0.05, 0.22, px_size="13px",
                c=ORANGE if mlp["v"] >= 0 else NEGATIVE)
            add(f"c = {fmt(mlp['c'])}", OUT_X + 0.1, -0.3, "left", px_size="13px")
            add(f"y = {fmt(mlp['y'])}", OUT_X, 0.0, "left", px_size="15px", bg="white")
        self.labels.data = {"x": tx, "y": ty, "text": texts, "align": align, "color": colour,
                            "size": size, "style": style, "fill": fill}

    def _draw_large(self, kan, mlp):
        i = self.focus - 1
        name = f"x{sub(self.focus)}"
        fig = self.large
        if self.form == "KAN":
            t = self._large_t
            phi = self._phi[i](t)
            pad = 0.1 * max(phi.max() - phi.min(), 1e-9)
            fig.y_range.update(start=phi.min() - pad, end=phi.max() + pad)
            self.large_curve.data = {"x": t, "y": phi}
            self.large_dot.data = {"x": [self.point()[0, i]], "y": [kan["edges"][i]]}
            fig.title.text = f"φ{sub(self.focus)}({name}), the curve on this edge"
            fig.xaxis.axis_label = name
            fig.yaxis.axis_label = f"φ{sub(self.focus)}({name})"
            caption = (f"The edge from {name}, shown large: the learned curve φ{sub(self.focus)}. "
                       f"At {name} = {fmt(self.point()[0, i])} it gives {fmt(kan['edges'][i])}.")
        else:
            fig.y_range.update(start=-1.0, end=1.0)
            weight = mlp["w"][i]
            self.large_text.data = {"x": [0.0, 0.0], "y": [0.25, -0.2],
                                    "text": [f"w{sub(self.focus)}", fmt(weight)],
                                    "color": [INK, ORANGE if weight >= 0 else NEGATIVE], "size": ["26px", "64px"]}
            fig.title.text = f"w{sub(self.focus)}, the number on this edge"
            fig.xaxis.axis_label = fig.yaxis.axis_label = ""
            caption = (f"The edge from {name}, shown large: the weight w{sub(self.focus)} = {fmt(weight)}. "
                       "A lone number; that is all this edge holds.")
        fig.axis.visible = self.form == "KAN"
        fig.grid.visible = self.form == "KAN"
        self.large_caption.object = f'<p data-edge="{self.focus}">{html.escape(caption)}</p>'

    def _outputs_html(self, kan, mlp):
        return (
            '<p class="kx-flip-outputs">For these inputs: '
            f'KAN form <b data-kx="kan-y">{fmt(kan["y"])}</b> · '
            f'MLP form <b data-kx="mlp-y">{fmt(mlp["y"])}</b> · '
            f'target sin(πx₁) + x₂² <b data-kx="target">{fmt(self.target())}</b></p>'
        )

    def _equation(self, kan, mlp):
        def tex(v):
            return "{" + fmt(v).replace("\u2212", "-") + "}"
        if self.form == "KAN":
            e = kan["edges"]
            return rf"$y = \varphi_1(x_1) + \varphi_2(x_2) = {tex(e[0])} + ({tex(e[1])}) = {tex(kan['y'])}$"
        return (rf"$y = v\,\tanh(w_1x_1 + w_2x_2 + b) + c = ({tex(mlp['v'])})\,\tanh({tex(mlp['z'])})"
                rf" + ({tex(mlp['c'])}) = {tex(mlp['y'])}$")

    def _table_html(self):
        def cls(form):
            return f' class="kx-on-{form}"' if form == self.form else ""
        def heading(form):
            return f'<th scope="col"{cls(form)}>{form}{" (drawn)" if form == self.form else ""}</th>'
        head = f"<thead><tr><th></th>{heading('MLP')}{heading('KAN')}</tr></thead>"
        body = "".join(f'<tr><th scope="row">{html.escape(what)}</th><td{cls("MLP")}>{html.escape(m)}</td>'
                       f'<td{cls("KAN")}>{html.escape(k)}</td></tr>' for what, m, k in TABLE_ROWS)
        return f'<table class="kx-flip-table" aria-label="What the flip swaps">{head}<tbody>{body}</tbody></table>'

    def _layout(self):
        """The whole view; ``explorer`` (the unit and its controls) and ``summary`` (the table and the
        two theorems) can also be placed apart, e.g. with text between them."""
        toggle = pmui.RadioButtonGroup.from_param(self.param.form, label="Draw the unit as")
        focus = pmui.RadioButtonGroup.from_param(self.param.focus, label="Edge shown large")
        reset = pmui.Button(label="Reset", icon="restart_alt", variant="outlined")
        reset.on_click(lambda _: self.reset())
        theorems = pn.Column(
            pn.pane.HTML("<b>Universal approximation</b> (one hidden layer of fixed squashes, wide enough):",
                         margin=(0, 10)),
            pn.pane.LaTeX(r"$\displaystyle f(\mathbf{x}) \approx \sum_{j=1}^{N} v_j\,\sigma\!\left("
                          r"\mathbf{w}_j \cdot \mathbf{x} + b_j\right)$", styles={"font-size": "1.1rem"},
                          margin=(0, 10)),
            pn.pane.HTML("<b>Kolmogorov-Arnold representation</b> (exact, with curves of one variable and sums):",
                         margin=(0, 10)),
            pn.pane.LaTeX(r"$\displaystyle f(x_1, \dots, x_n) = \sum_{q=0}^{2n} \Phi_q\!\left("
                          r" \sum_{p=1}^{n} \phi_{q,p}(x_p) \right)$", styles={"font-size": "1.1rem"},
                          margin=(0, 10)),
            sizing_mode="stretch_width",
        )
        self.explorer = pn.Column(
            pn.FlexBox(toggle, focus, reset, align_items="center", gap="12px"),
            self.caption,
            pn.FlexBox(pn.pane.Bokeh(self.diagram),
                       pn.Column(self.large_caption, pn.pane.Bokeh(self.large)),
                       gap="8px"),
            self.outputs,
            self.equation,
            pn.FlexBox(*(pn.Column(c.view, min_width=300, styles={"flex": "1 1 300px"})
                         for c in self.inputs.values()),
                       gap="16px", sizing_mode="stretch_width", max_width=920),
            self.message,
            sizing_mode="stretch_width",
            css_classes=["kx-flip-explorer"],
        )
        self.summary = pn.Column(self.table, theorems, sizing_mode="stretch_width")
        return pn.Column(self.explorer, self.summary, sizing_mode="stretch_width",
                         css_classes=["kx-flip-widget"])

    def __panel__(self):
        return self._view
