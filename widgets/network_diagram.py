"""A network drawn node by node, with what each edge has learned: a curve (KAN) or a number (MLP).

``NetworkDiagram(model=...)`` takes a kan_core ``KAN`` or ``MLP`` of any width up to a few dozen
nodes per layer. Nodes sit in rows, inputs at the bottom. Every edge (l, i, j), from node i of
layer l to node j of layer l + 1, passes through a small box in the row between the two layers:

- KAN: the box holds the edge's learned curve phi(t), sampled over the range of the values that
  reach that edge on the sample inputs, and scaled to the curve's own height (but a box always
  spans at least a fifth of the tallest curve of its layer, so a nearly flat edge looks flat). How
  strongly the edge is drawn follows its importance score from ``KAN.attribute`` (the score
  ``KAN.prune`` cuts on). A pruned edge disappears; a snapped edge is red and dashed, with the
  name of its formula.
- MLP: the box holds the weight as a number; the line is orange for a positive weight and
  blue-grey for a negative one, thicker for a larger size.

Tapping an edge's box selects it (``selected = (l, i, j)``) and ``large`` shows it on its own:
the curve with axes for a KAN, the lone number for an MLP. ``picker`` selects by keyboard.

Everything is one figure of a few data sources built once; ``update()`` recomputes the data from
the model and assigns it in place, so it can run several times a second while a model trains
(``python -m widgets.network_diagram`` prints the milliseconds per update).
"""

import statistics
import sys
import time

import numpy as np
import panel as pn
import param
from bokeh.core.serialization import Serializer
from bokeh.document import Document
from bokeh.events import Tap
from bokeh.models import BasicTickFormatter, ColumnDataSource, HoverTool, Range1d
from bokeh.plotting import figure

from kan_core import KAN, MLP

from .theme import LINE, ORANGE, RED, TEAL

# Mid tones, legible on the light and on the dark theme.
NEGATIVE = "#607d8b"   # blue-grey: a negative MLP weight (the sign is also in the number)
INK = "#757575"        # nodes, labels and the selection frame
LINK = "#757575"       # the line of a KAN edge
BOX = "#b0bec5"        # the faint frame of an edge's box

N_POINTS = 41          # samples per mini-curve
N_LARGE = 201          # samples of the curve shown large
N_DEFAULT_SAMPLES = 256
BOX_HEIGHT = 0.5       # in layer spacings
BOX_FILL = 0.78        # share of its slot a box takes across
BOX_MAX_WIDTH = 0.16   # of the figure's width
PAD = 0.12             # margin inside a box, as a share of its size
MAX_MAGNIFY = 5.0      # a box spans at least 1/MAX_MAGNIFY of the tallest curve of its layer
MIN_ALPHA = 0.12       # how faint an unimportant KAN edge gets


def format_weight(w):
    """A weight as the diagram prints it: two decimals and a real minus sign."""
    return f"{w:.2f}".replace("-", "\u2212")


def layout(width):
    """Where everything goes for a network of this width, in data units (x in [0, 1], layer l at y = l).

    Returns (nodes, boxes): nodes[l] is an (n_l,) array of x positions; boxes is a list of
    (l, i, j, cx, cy, w, h) in drawing order, row by row. In each row the boxes are sorted by the
    midpoint of the two nodes they join, which keeps crossings few.
    """
    nodes = [(np.arange(n) + 0.5) / n for n in width]
    boxes = []
    for l, (n_in, n_out) in enumerate(zip(width[:-1], width[1:])):
        order = sorted(((nodes[l][i] + nodes[l + 1][j]) / 2, i, j) for i in range(n_in) for j in range(n_out))
        slot = 1.0 / len(order)
        w = min(BOX_FILL * slot, BOX_MAX_WIDTH)
        for rank, (_, i, j) in enumerate(order):
            boxes.append((l, i, j, (rank + 0.5) * slot, l + 0.5, w, BOX_HEIGHT))
    return nodes, boxes


class NetworkDiagram(pn.viewable.Viewer):
    """Nodes, edges and what each edge learned for a kan_core KAN or MLP; see the module docstring."""

    model = param.ClassSelector(class_=(KAN, MLP), doc="The network to draw (a kan_core KAN or MLP).")
    selected = param.Tuple(default=None, allow_None=True, length=3,
                           doc="The edge (l, i, j) shown large: layer l, its input i, its output j.")
    samples = param.Array(default=None, allow_None=True,
                          doc="KAN only: inputs (N, n_in) that set each edge's range and importance. "
                              "None uses the model's last training batch, else points spread over the grid.")
    input_names = param.List(default=None, allow_None=True, item_type=str, doc="Names of the input nodes.")
    output_names = param.List(default=None, allow_None=True, item_type=str, doc="Names of the output nodes.")
    diagram_width = param.Integer(default=430, bounds=(200, 2400))
    diagram_height = param.Integer(default=330, bounds=(150, 2400))
    large_height = param.Integer(default=230, bounds=(120, 1200))
    label_font_size = param.Integer(default=12, bounds=(6, 40), doc="Pixels, for weights and formula names.")

    def __init__(self, **params):
        super().__init__(**params)
        if self.model is None:
            raise ValueError("NetworkDiagram needs a model: pass model=KAN(...) or model=MLP(...).")
        prefix = self.name
        self._ranges = []   # per layer, (n_in, 2) input ranges of the last refresh
        self._layout_key = None
        self._geom = {}       # per box, in drawing order: l, i, j, centre, size, inner drawing area
        self._edge_rows = []  # (l, i, j) of each box, in drawing order
        self._names = {}      # (l, i, j) -> "x → h1"
        self.links = ColumnDataSource(name=f"{prefix}-links", data=self._empty(
            "x0", "y0", "x1", "y1", "color", "alpha", "width", "dash", "l", "i", "j"))
        self.boxes = ColumnDataSource(name=f"{prefix}-boxes", data=self._empty(
            "left", "right", "bottom", "top", "alpha", "l", "i", "j", "edge", "info"))
        self.curves = ColumnDataSource(name=f"{prefix}-curves", data=self._empty(
            "xs", "ys", "color", "alpha", "width", "dash", "l", "i", "j",
            "t0", "t1", "v0", "v1", "px0", "px1", "py0", "py1"))
        self.labels = ColumnDataSource(name=f"{prefix}-labels", data=self._empty("x", "y", "text", "color", "size",
                                                                                 "l", "i", "j"))
        self.nodes = ColumnDataSource(name=f"{prefix}-nodes", data=self._empty("x", "y"))
        self.node_labels = ColumnDataSource(name=f"{prefix}-node-labels", data=self._empty("x", "y", "text", "align", "baseline"))
        self.highlight = ColumnDataSource(name=f"{prefix}-highlight", data=self._empty("left", "right", "bottom", "top"))
        self.large_curve = ColumnDataSource(name=f"{prefix}-large-curve", data=self._empty("x", "y"))
        self.large_text = ColumnDataSource(name=f"{prefix}-large-text", data=self._empty("x", "y", "text", "color"))
        self.figure = self._diagram_figure(prefix)
        self.large = self._large_figure(prefix)
        # A native <select>: arrow keys on the focused list pick an edge without opening it.
        self.picker = pn.widgets.Select(label="Edge shown large", options={}, width=self.diagram_width - 20)
        self.picker.param.watch(self._on_pick, "value")
        self.figure.on_event(Tap, self._on_tap)
        self.diagram_pane = pn.pane.Bokeh(self.figure)
        self.large_pane = pn.pane.Bokeh(self.large)
        self._refresh()

    @staticmethod
    def _empty(*columns):
        return {c: [] for c in columns}

    # -- figures, built once ----------------------------------------------------------------
    def _diagram_figure(self, prefix):
        fig = figure(name=f"{prefix}-diagram", width=self.diagram_width, height=self.diagram_height,
                     x_range=Range1d(-0.02, 1.02), y_range=Range1d(-0.35, 2.35), tools="",
                     toolbar_location=None, min_border=0, outline_line_color=None, frame_align=False)
        fig.axis.visible = False
        fig.grid.visible = False
        fig.segment("x0", "y0", "x1", "y1", source=self.links, line_color="color", line_alpha="alpha",
                    line_width="width", line_dash="dash")
        box = fig.quad(left="left", right="right", bottom="bottom", top="top", source=self.boxes,
                       fill_color="white", fill_alpha=0.0, line_color=BOX, line_alpha="alpha", line_width=1)
        fig.quad(left="left", right="right", bottom="bottom", top="top", source=self.highlight,
                 fill_color=None, line_color=INK, line_width=3)
        fig.multi_line("xs", "ys", source=self.curves, line_color="color", line_alpha="alpha",
                       line_width="width", line_dash="dash")
        fig.text("x", "y", text="text", source=self.labels, text_color="color", text_align="center",
                 text_baseline="middle", text_font_size="size", text_font_style="bold")
        fig.scatter("x", "y", source=self.nodes, size=15, fill_color="white", line_color=INK, line_width=2)
        fig.text("x", "y", text="text", source=self.node_labels, text_align="align", text_baseline="baseline",
                 text_color=INK, text_font_size="13px", text_font_style="italic")
        fig.add_tools(HoverTool(renderers=[box], tooltips=[("edge", "@edge"), ("", "@info")],
                                point_policy="follow_mouse"))
        return fig

    def _large_figure(self, prefix):
        fig = figure(name=f"{prefix}-large", width=self.diagram_width, height=self.large_height,
                     x_range=Range1d(0, 1), y_range=Range1d(0, 1), tools="", toolbar_location=None, frame_align=False,
                     title=" ")
        fig.title.text_font_size = "15px"
        fig.yaxis.formatter = BasicTickFormatter(power_limit_low=-5)
        fig.line("x", "y", source=self.large_curve, **LINE["target"])
        self._large_line = fig.renderers[-1]
        fig.text("x", "y", text="text", source=self.large_text, text_color="color", text_align="center",
                 text_baseline="middle", text_font_size="44px", text_font_style="bold")
        return fig

    # -- reading the model ------------------------------------------------------------------
    def is_kan(self):
        return isinstance(self.model, KAN)

    def node_name(self, l, j):
        """'x', 'h2', 'f'... for node j of layer l (hidden layers are h1, h2, ... or h<l>.<j>)."""
        width = self.model.width
        last = len(width) - 1
        if l == 0:
            names = self.input_names
            return names[j] if names and j < len(names) else f"x{j + 1}"
        if l == last:
            names = self.output_names
            return names[j] if names and j < len(names) else ("out" if width[-1] == 1 else f"out{j + 1}")
        return f"h{j + 1}" if last == 2 else f"h{l}.{j + 1}"

    def edge_name(self, l, i, j):
        return f"{self.node_name(l, i)} \u2192 {self.node_name(l + 1, j)}"

    def edges(self):
        """Every edge (l, i, j) of the current model, layer by layer."""
        width = self.model.width
        return [(l, i, j) for l in range(len(width) - 1) for i in range(width[l]) for j in range(width[l + 1])]

    def edge_kind(self, l, i, j):
        """'spline', 'snapped' or 'pruned' for a KAN edge; 'weight' for an MLP edge."""
        if not self.is_kan():
            return "weight"
        layer = self.model.layers[l]
        if layer.symbolic_mask[i, j] != 0:
            return "snapped"
        return "spline" if layer.mask[i, j] != 0 else "pruned"

    def _sample_inputs(self):
        model = self.model
        if self.samples is not None:
            x = np.asarray(self.samples, dtype=np.float64)
            if x.ndim != 2 or x.shape[1] != model.width[0] or x.shape[0] < 2 or not np.all(np.isfinite(x)):
                raise ValueError(f"samples must be an array of shape (N, {model.width[0]}) with N >= 2 finite "
                                 f"rows, one column per input; got shape {x.shape}.")
            return x
        if getattr(model, "cache_data", None) is not None:
            return model.cache_data
        grid = model.layers[0].grid
        k = model.layers[0].k
        lo, hi = grid[:, k], grid[:, -k - 1]
        u = np.random.default_rng(0).random((N_DEFAULT_SAMPLES, model.width[0]))
        return lo + u * (hi - lo)

    # -- refreshing the data ------------------------------------------------------------------
    def update(self, model=None):
        """Redraw from ``model`` (or from the current model after it changed in place)."""
        if model is not None and model is not self.model:
            self.model = model
        else:
            self._refresh()

    @param.depends("model", "samples", "input_names", "output_names", watch=True)
    def _refresh(self):
        key = (tuple(self.model.width), self.is_kan(), tuple(self.input_names or ()), tuple(self.output_names or ()))
        if self._layout_key != key:
            self._layout_key = key
            self._set_layout()
        self._draw(self._kan_style() if self.is_kan() else self._mlp_style())
        if self.selected is not None and not self._is_edge(self.selected):
            self.selected = None
        else:
            self._show_selected()

    def _set_layout(self):
        """Things that change only with the network's shape: geometry, nodes, names, the picker."""
        width = self.model.width
        nodes, boxes = layout(width)
        l, i, j = (np.array([b[k] for b in boxes], dtype=int) for k in range(3))
        cx, cy, w, h = (np.array([b[k] for b in boxes], dtype=float) for k in range(3, 7))
        self._geom = {
            "l": l, "i": i, "j": j, "cx": cx, "cy": cy, "w": w, "h": h,
            "x_in": np.array([nodes[a][b] for a, b in zip(l, i)]),
            "x_out": np.array([nodes[a + 1][c] for a, c in zip(l, j)]),
            "px0": cx - w / 2 + PAD * w, "px1": cx + w / 2 - PAD * w,
            "py0": cy - h / 2 + PAD * h, "py1": cy + h / 2 - PAD * h,
            "font": [self._font_size(b) for b in w],
        }
        self._edge_rows = [(int(a), int(b), int(c)) for a, b, c in zip(l, i, j)]
        self._names = {edge: self.edge_name(*edge) for edge in self._edge_rows}
        last = len(width) - 1
        nodes_x, nodes_y = [], []
        label = self._empty("x", "y", "text", "align", "baseline")
        for layer, row in enumerate(nodes):
            for n, x in enumerate(row):
                nodes_x.append(x)
                nodes_y.append(float(layer))
                if layer == 0:
                    where = (x, layer - 0.1, "center", "top")
                elif layer == last:
                    where = (x, layer + 0.1, "center", "bottom")
                else:
                    where = (x + 0.035, layer, "left", "middle")
                for column, value in zip(("x", "y", "align", "baseline"), where):
                    label[column].append(value)
                label["text"].append(self.node_name(layer, n))
        self.nodes.data = {"x": nodes_x, "y": nodes_y}
        self.node_labels.data = label
        self.figure.y_range.update(start=-0.35, end=last + 0.35)
        options = {self._names[e]: e for e in self.edges()}
        self.picker.param.update(options=options, value=self.selected if self.selected in options.values() else None)

    def _draw(self, style):
        """Assign every source at once from the per-edge ``style`` (arrays in box order)."""
        g = self._geom
        both = np.concatenate
        self.links.data = {
            "x0": both([g["x_in"], g["cx"]]), "y0": both([g["l"], g["cy"] + g["h"] / 2]).astype(float),
            "x1": both([g["cx"], g["x_out"]]), "y1": both([g["cy"] - g["h"] / 2, g["l"] + 1.0]),
            "color": style["link_color"] * 2, "alpha": both([style["link_alpha"]] * 2),
            "width": both([style["link_width"]] * 2), "dash": style["link_dash"] * 2,
            "l": both([g["l"]] * 2), "i": both([g["i"]] * 2), "j": both([g["j"]] * 2),
        }
        self.boxes.data = {
            "left": g["cx"] - g["w"] / 2, "right": g["cx"] + g["w"] / 2,
            "bottom": g["cy"] - g["h"] / 2, "top": g["cy"] + g["h"] / 2, "alpha": style["box_alpha"],
            "l": g["l"], "i": g["i"], "j": g["j"], "edge": [self._names[e] for e in self._edge_rows],
            "info": style["info"],
        }
        self.curves.data = {**style["curves"], "l": g["l"], "i": g["i"], "j": g["j"],
                            **{key: g[key] for key in ("px0", "px1", "py0", "py1")}}
        self.labels.data = style["labels"]

    def _importance(self, x):
        """Per layer (n_in, n_out) scores in [0, 1] (KAN.attribute), zero where an edge is pruned."""
        _, scores = self.model.attribute(x)
        return [np.where((layer.mask != 0) | (layer.symbolic_mask != 0), s, 0.0)
                for layer, s in zip(self.model.layers, scores)]

    def _kan_style(self):
        model, g = self.model, self._geom
        try:
            x = self._sample_inputs()
        except ValueError:
            self.samples = None   # draw from the defaults, then say what was wrong
            raise
        acts = model.forward_detail(x)["acts"]
        scores = self._importance(x)
        u = np.linspace(0.0, 1.0, N_POINTS)[:, None]
        self._ranges, ts, phis = [], [], []
        for l, layer in enumerate(model.layers):
            lo, hi = acts[l].min(axis=0), acts[l].max(axis=0)
            flat = hi - lo < 1e-9
            lo = np.where(flat, layer.grid[:, layer.k], lo)
            hi = np.where(flat, layer.grid[:, -layer.k - 1], hi)
            self._ranges.append(np.stack([lo, hi], axis=1))
            t = np.ascontiguousarray(lo[None, :] + u * (hi - lo)[None, :])
            ts.append(t)
            phis.append(layer.forward(t, want_edges=True)[1])   # (N_POINTS, n_out, n_in)
        tallest = [max(float(np.ptp(e, axis=0).max()), 1e-12) for e in phis]
        kinds = [self.edge_kind(*edge) for edge in self._edge_rows]
        strength = np.tanh(3 * np.array([scores[l][i, j] for l, i, j in self._edge_rows]))
        live = np.array([kind != "pruned" for kind in kinds])
        alpha = np.where(live, MIN_ALPHA + (1 - MIN_ALPHA) * strength, 0.0)
        xs, ys, t0, t1, v0, v1 = [], [], [], [], [], []
        for n, (l, i, j) in enumerate(self._edge_rows):
            t, phi = ts[l][:, i], phis[l][:, j, i]
            lo, hi = float(phi.min()), float(phi.max())
            span = max(hi - lo, tallest[l] / MAX_MAGNIFY)
            low = (lo + hi - span) / 2
            t0.append(t[0])
            t1.append(t[-1])
            v0.append(low)
            v1.append(low + span)
            if live[n]:
                xs.append(g["px0"][n] + (t - t[0]) / (t[-1] - t[0]) * (g["px1"][n] - g["px0"][n]))
                ys.append(g["py0"][n] + (phi - low) / span * (g["py1"][n] - g["py0"][n]))
            else:
                xs.append([])
                ys.append([])
        drawn = [LINE["snapped"] if kind == "snapped" else LINE["target"] for kind in kinds]
        dash = [d["line_dash"] for d in drawn]
        snapped = [n for n, kind in enumerate(kinds) if kind == "snapped"]
        names = [model.layers[l].symbolic_fun[i][j] for l, i, j in self._edge_rows]
        return {
            "curves": {"xs": xs, "ys": ys, "color": [d["line_color"] for d in drawn], "alpha": alpha,
                       "width": 1.5 + strength, "dash": dash, "t0": np.array(t0), "t1": np.array(t1),
                       "v0": np.array(v0), "v1": np.array(v1)},
            "link_color": [RED if kind == "snapped" else LINK for kind in kinds], "link_alpha": alpha,
            "link_width": 0.8 + 2.2 * strength, "link_dash": dash,
            "labels": {"x": g["cx"][snapped], "y": g["cy"][snapped] + g["h"][snapped] / 2 + 0.07,
                       "text": [names[n] for n in snapped], "color": [RED] * len(snapped),
                       "size": [g["font"][n] for n in snapped],
                       "l": g["l"][snapped], "i": g["i"][snapped], "j": g["j"][snapped]},
            "box_alpha": np.where(live, 0.9, 0.0),
            "info": [{"spline": f"learned curve, importance {scores[l][i, j]:.2f}", "pruned": "pruned",
                      "snapped": f"snapped to {names[n]}"}[kinds[n]] for n, (l, i, j) in enumerate(self._edge_rows)],
        }

    def _mlp_style(self):
        model, g = self.model, self._geom
        weights = np.array([model.weights[l][i, j] for l, i, j in self._edge_rows])
        biggest = np.array([max(float(np.abs(model.weights[l]).max()), 1e-12) for l in g["l"]])
        size = np.abs(weights) / biggest
        colour = [ORANGE if w >= 0 else NEGATIVE for w in weights]
        text = [format_weight(w) for w in weights]
        return {
            "curves": {"xs": [[]] * len(weights), "ys": [[]] * len(weights), "color": colour,
                       "alpha": np.zeros(len(weights)), "width": np.ones(len(weights)), "dash": ["solid"] * len(weights),
                       **{key: np.zeros(len(weights)) for key in ("t0", "t1", "v0", "v1")}},
            "link_color": colour, "link_alpha": 0.35 + 0.65 * size, "link_width": 0.8 + 3.2 * size,
            "link_dash": ["solid"] * len(weights),
            "labels": {"x": g["cx"], "y": g["cy"], "text": text, "color": colour,
                       "size": g["font"], "l": g["l"], "i": g["i"], "j": g["j"]},
            "box_alpha": np.full(len(weights), 0.9),
            "info": [f"weight {t}" for t in text],
        }

    def _font_size(self, box_width):
        """A label's font: about five characters across its box, from 7 px up to label_font_size."""
        pixels = box_width / (self.figure.x_range.end - self.figure.x_range.start) * self.diagram_width
        return f"{min(self.label_font_size, max(7, int(pixels / 3.2)))}px"

    # -- selection ----------------------------------------------------------------------------
    def _is_edge(self, edge):
        width = self.model.width
        try:
            l, i, j = (int(v) for v in edge)
        except (TypeError, ValueError):
            return False
        return 0 <= l < len(width) - 1 and 0 <= i < width[l] and 0 <= j < width[l + 1]

    def _on_tap(self, event):
        data = self.boxes.data
        hit = np.flatnonzero((data["left"] <= event.x) & (event.x <= data["right"])
                             & (data["bottom"] <= event.y) & (event.y <= data["top"]))
        if hit.size:
            self.selected = self._edge_rows[hit[0]]

    def _on_pick(self, event):
        if event.new is not None and event.new != self.selected:
            self.selected = tuple(event.new)

    @param.depends("selected", watch=True)
    def _on_selected(self):
        if self.selected is not None and not self._is_edge(self.selected):
            bad = self.selected
            self.selected = None
            raise ValueError(f"There is no edge {bad} in a network of width {self.model.width}: "
                             f"an edge is (l, i, j) with layer l, its input i and its output j, counted from 0.")
        self._show_selected()

    def _show_selected(self):
        edge = self.selected
        if self.picker.value != edge:
            self.picker.value = edge
        if edge is None:
            self.highlight.data = self._empty("left", "right", "bottom", "top")
            self.large_curve.data = self._empty("x", "y")
            self.large_text.data = self._empty("x", "y", "text", "color")
            self.large.title.text = "Tap an edge to see it here"
            return
        data = self.boxes.data
        n = self._edge_rows.index(tuple(edge))
        self.highlight.data = {key: [float(data[key][n])] for key in ("left", "right", "bottom", "top")}
        if self.is_kan():
            self._show_curve(*edge)
        else:
            self._show_weight(*edge)

    def _show_weight(self, l, i, j):
        weight = float(self.model.weights[l][i, j])
        self.large.axis.visible = False
        self.large.grid.visible = False
        self.large.x_range.update(start=0, end=1)
        self.large.y_range.update(start=0, end=1)
        self.large_curve.data = self._empty("x", "y")
        self.large_text.data = {"x": [0.5], "y": [0.5], "text": [format_weight(weight)],
                                "color": [ORANGE if weight >= 0 else NEGATIVE]}
        self.large.title.text = f"MLP edge {self.edge_name(l, i, j)}: one weight"   # last: it names what is shown

    def large_values(self, l, i, j, n=N_LARGE):
        """The curve of KAN edge (l, i, j) shown large: (t (n,), phi (n,)) over the edge's range."""
        layer = self.model.layers[l]
        t0, t1 = self._ranges[l][i]
        t = np.linspace(t0, t1, n)
        x = np.zeros((n, layer.in_dim))
        x[:, i] = t
        _, edges = layer.forward(x, want_edges=True)
        return t, edges[:, j, i]

    def _show_curve(self, l, i, j):
        kind = self.edge_kind(l, i, j)
        name = self.edge_name(l, i, j)
        fig = self.large
        fig.axis.visible = True
        fig.grid.visible = True
        fig.xaxis.axis_label = self.node_name(l, i)
        fig.yaxis.axis_label = f"\u03c6({self.node_name(l, i)})"
        t, phi = self.large_values(l, i, j)
        t0, t1 = float(t[0]), float(t[-1])
        fig.x_range.update(start=t0, end=t1)
        if kind == "pruned":
            fig.y_range.update(start=-1, end=1)
            self.large_curve.data = self._empty("x", "y")
            self.large_text.data = {"x": [(t0 + t1) / 2], "y": [0.0], "text": ["pruned"], "color": [BOX]}
            fig.title.text = f"KAN edge {name}: pruned"
            return
        lo, hi = float(phi.min()), float(phi.max())
        pad = max(hi - lo, 1e-3 * max(1.0, abs(hi))) * 0.12
        fig.y_range.update(start=lo - pad, end=hi + pad)
        style = LINE["snapped"] if kind == "snapped" else LINE["target"]
        self._large_line.glyph.update(**style)
        self.large_text.data = self._empty("x", "y", "text", "color")
        self.large_curve.data = {"x": t, "y": phi}
        if kind == "snapped":
            fig.title.text = f"KAN edge {name}: snapped to {self.model.layers[l].symbolic_fun[i][j]}"
        else:
            fig.title.text = f"KAN edge {name}: its learned curve"

    def __panel__(self):
        return pn.Column(self.diagram_pane, self.picker, self.large_pane)


def bench(widths=((2, 5, 1), (4, 8, 4, 1)), repeat=50):
    """Median milliseconds per update() for KANs and MLPs of the given widths, and for encoding the
    new data as a server sends it to the browser (prints and returns them)."""
    rng = np.random.default_rng(0)
    results = {}
    for width in widths:
        for cls in (KAN, MLP):
            diagram = NetworkDiagram(model=cls(list(width)), samples=rng.uniform(-1, 1, (256, width[0])),
                                     selected=(0, 0, 0))
            Document().add_root(diagram.__panel__().get_root())
            sources = [diagram.links, diagram.boxes, diagram.curves, diagram.labels, diagram.large_curve]
            update, encode = [], []
            for _ in range(repeat):
                start = time.perf_counter()
                diagram.update()
                middle = time.perf_counter()
                Serializer().serialize([source.data for source in sources])
                update.append((middle - start) * 1e3)
                encode.append((time.perf_counter() - middle) * 1e3)
            results[(cls.__name__, width)] = (statistics.median(update), statistics.median(encode))
            print(f"{cls.__name__} {list(width)}: update {statistics.median(update):.2f} ms, "
                  f"encoding the new data {statistics.median(encode):.2f} ms")
    return results


if __name__ == "__main__":
    bench()
    sys.exit(0)
