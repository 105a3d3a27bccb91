"""Costs and choices: a KAN and an MLP side by side, and a stopwatch on one training step of each.

``CostsExplorer`` holds two views. ``summary`` is a table of how the two kinds of network differ
(what is learned, what a node does, the theorem behind each, reading them, speed at scale, where
each is best). ``stopwatch`` times, live and in the reader's own server process, one Adam step of
this project's ``kan_core.KAN`` and of a ``kan_core.MLP`` with (nearly) the same number of
parameters, at a few sizes, and shows milliseconds per step, microseconds per parameter and their
ratio. One step is what ``Trainer`` does with Adam: ``loss_and_flat_grad`` on all N samples, the
Adam update, and writing the parameters back.

Every measurement is bounded: a handful of timed steps per model and size, and once MEASURE_BUDGET_S
seconds have passed the sizes not yet timed are left out (the reader's own pair is always timed, and
first). It runs in the thread that asked for it; the display is then updated on the server's event
loop. Nothing here is shared between sessions.
"""

import functools
import html
import math
import statistics
import threading
import time
from dataclasses import dataclass

import panel as pn
import panel_material_ui as pmui
import param
from bokeh.models import ColumnDataSource, FixedTicker, HoverTool, LabelSet, Legend, LegendItem, PrintfTickFormatter
from bokeh.plotting import figure

from kan_core import KAN, MLP, PRESETS, Adam, make_dataset

from .inputs import BoundedIntInput, BoundedIntSlider
from .theme import ORANGE, TEAL

N_IN = 2                      # both networks read two inputs: samples of exp(sin(pi x) + y^2)
TARGET = PRESETS["exp_sin"]
MLP_ACTIVATION = "tanh"
LEARNING_RATE = 1e-2          # Adam's, as the training lab uses; the time of a step does not depend on it
SWEEP = (100, 300, 1000, 2000)  # parameter counts aimed at for the plot, besides the reader's budget
MIN_REPEATS, MAX_REPEATS = 3, 7
ROUND_BUDGET_S = 0.04         # timed steps per size: as many as fit in this, within the two bounds
MEASURE_BUDGET_S = 0.35       # once a measurement has taken this long, the sizes not yet timed are left out

DEFAULTS = {"budget": 300, "grid_size": 5, "spline_order": 3, "n_samples": 1000, "mlp_layers": 2}

INK = "#37474f"
TICKS = [m * 10.0 ** e for e in range(-2, 5) for m in (1, 2, 5)]


# -- matching the two networks ----------------------------------------------------------------
def kan_width(budget, grid_size, spline_order):
    """[2, h, 1] with h chosen so the KAN's parameter count is as near the budget as one hidden
    layer allows: each of its 3h edges carries G + k coefficients and two scales."""
    per_hidden = (N_IN + 1) * (grid_size + spline_order + 2)
    return [N_IN, max(1, round(budget / per_hidden)), 1]


def mlp_width(n_params, hidden_layers):
    """The MLP of 1 or 2 hidden layers whose parameter count is nearest n_params.

    One layer [2, m, 1] has 4m + 1 parameters. Two layers [2, a, b, 1] have 3a + (a + 1) b + b + 1;
    the widths may differ by up to 2 so the count can land close (ties go to equal widths).
    """
    if hidden_layers == 1:
        return [N_IN, max(1, round((n_params - 1) / (N_IN + 2))), 1]
    best = None
    for a in range(1, math.isqrt(n_params) + 3):
        for b in range(max(1, a - 2), a + 3):
            width = [N_IN, a, b, 1]
            key = (abs(MLP.count_params(width) - n_params), abs(a - b), a)
            if best is None or key < best[0]:
                best = (key, width)
    return best[1]


# -- timing -------------------------------------------------------------------------------------
class _AdamStepper:
    """One model and its own Adam; ``step()`` is one training step on all of x, y."""

    def __init__(self, model, x, y):
        self.model = model
        self.optimizer = Adam(lr=LEARNING_RATE)
        self.theta = model.get_params()
        self._fun = functools.partial(self._loss_and_grad, x, y)

    def _loss_and_grad(self, x, y, theta):
        self.model.set_params(theta)
        return self.model.loss_and_flat_grad(x, y)

    def step(self):
        self.theta, _ = self.optimizer.step(self._fun, self.theta)
        self.model.set_params(self.theta)


def median_step_seconds(models, x, y, clock=time.perf_counter):
    """Time Adam steps of each model on x (N, 2), y (N, 1); returns [(median seconds, timed runs)].

    The models take turns step by step, so a burst of other work on a shared machine falls on all of
    them rather than on one. The first round warms up and is not counted; then as many rounds as
    fit in ROUND_BUDGET_S at the warm-up's pace, from MIN_REPEATS to MAX_REPEATS.
    """
    steppers = [_AdamStepper(m, x, y) for m in models]
    warm = 0.0
    for stepper in steppers:
        t0 = clock()
        stepper.step()
        warm += clock() - t0
    repeats = min(MAX_REPEATS, max(MIN_REPEATS, int(ROUND_BUDGET_S / max(warm, 1e-9))))
    runs = [[] for _ in steppers]
    for _ in range(repeats):
        for stepper, times in zip(steppers, runs):
            t0 = clock()
            stepper.step()
            times.append(clock() - t0)
    return [(statistics.median(times), tuple(times)) for times in runs]


@dataclass(frozen=True)
class Timing:
    """One network's measured step: its shape, parameter count and median seconds per step."""

    kind: str            # "KAN" or "MLP"
    width: tuple
    n_params: int
    seconds: float       # median of the timed steps
    runs: tuple          # every timed step, in seconds

    @property
    def ms(self):
        return self.seconds * 1e3

    @property
    def us_per_param(self):
        return self.seconds * 1e6 / self.n_params


@dataclass(frozen=True)
class Pair:
    kan: Timing
    mlp: Timing

    @property
    def ratio(self):
        """Time per parameter of the KAN step over that of the MLP step (above 1: the KAN is slower)."""
        return self.kan.us_per_param / self.mlp.us_per_param


@dataclass(frozen=True)
class Measurement:
    number: int          # 1 for the first measurement of this explorer, then 2, 3, ...
    pairs: tuple         # Pair per size, by the KAN's parameter count
    chosen: int          # index in pairs of the pair at the reader's budget
    left_out: int        # sweep sizes not timed because the time budget ran out
    grid_update_seconds: float
    n_samples: int
    grid_size: int
    spline_order: int
    mlp_layers: int
    seconds: float       # wall time the whole measurement took

    @property
    def pair(self):
        return self.pairs[self.chosen]


def measure(budget, grid_size, spline_order, n_samples, mlp_layers, number=1, time_budget=MEASURE_BUDGET_S):
    """Time the KAN and the matched MLP at the budget, then at the SWEEP sizes from small to large
    until time_budget seconds have passed; returns a Measurement."""
    start = time.perf_counter()
    data = make_dataset(TARGET, n_train=n_samples, n_test=0, seed=0)
    x, y = data["train_input"], data["train_label"]
    chosen = tuple(kan_width(budget, grid_size, spline_order))
    others = sorted({tuple(kan_width(b, grid_size, spline_order)) for b in SWEEP} - {chosen}, key=lambda w: w[1])
    pairs, update, left_out = [], math.nan, 0
    for width in (chosen, *others):
        if width != chosen and time.perf_counter() - start > time_budget:
            left_out += 1
            continue
        kan = KAN(list(width), grid=grid_size, k=spline_order, seed=0)
        # Training moves the knots to the data at its first step: time the KAN in that state, and
        # time that move itself once, as an extra cost of the KAN.
        t0 = time.perf_counter()
        kan.update_grid(x)
        if width == chosen:
            update = time.perf_counter() - t0
        mlp = MLP(mlp_width(kan.n_params, mlp_layers), MLP_ACTIVATION, seed=0)
        (kan_s, kan_runs), (mlp_s, mlp_runs) = median_step_seconds([kan, mlp], x, y)
        pairs.append(Pair(Timing("KAN", width, kan.n_params, kan_s, kan_runs),
                          Timing("MLP", tuple(mlp.width), mlp.n_params, mlp_s, mlp_runs)))
    pairs.sort(key=lambda p: p.kan.n_params)
    return Measurement(number=number, pairs=tuple(pairs), chosen=[p.kan.width for p in pairs].index(chosen),
                       left_out=left_out, grid_update_seconds=update, n_samples=n_samples, grid_size=grid_size,
                       spline_order=spline_order, mlp_layers=mlp_layers, seconds=time.perf_counter() - start)


# -- words and numbers as shown -------------------------------------------------------------------
def fmt_ms(seconds):
    return f"{seconds * 1e3:.3g} ms"


def fmt_us(microseconds):
    return f"{microseconds:.3g} µs"


def shape_text(timing, m):
    if timing.kind == "KAN":
        return f"KAN {list(timing.width)}, G = {m.grid_size}, k = {m.spline_order}"
    return f"MLP {list(timing.width)}, {MLP_ACTIVATION}"


def ratio_sentence(pair):
    """Which step took longer per parameter, and by how much, in words."""
    r = pair.ratio
    if 1 / 1.1 <= r <= 1.1:
        return "Per parameter, the two steps took about the same time (within 10%)."
    if r > 1:
        return f"Per parameter, the KAN step took {r:.1f} times as long as the MLP step."
    return f"Per parameter, the MLP step took {1 / r:.1f} times as long as the KAN step: here the KAN was quicker."


# The side-by-side summary: (what is compared, KAN, MLP).
SUMMARY_ROWS = (
    ("What is learned",
     "A curve of one variable on every edge, stored as a spline: G + k coefficients plus two scales.",
     "A single number (a weight) on every edge, plus one bias per node."),
    ("What a node does",
     "Adds up the curves arriving at it. Nothing else.",
     "Adds up its weighted inputs, then pushes the sum through a fixed activation such as ReLU or tanh."),
    ("Theory behind it",
     "The Kolmogorov-Arnold representation theorem: a continuous function of several variables can be "
     "written exactly with sums and functions of one variable.",
     "The universal approximation theorem: one wide enough layer of fixed activations can get as close "
     "as you like to any continuous function."),
    ("Reading what it learned",
     "Each edge can be plotted, pruned, or swapped for a formula, so a small trained KAN can often be "
     "read like an equation.",
     "A single weight means little on its own; explaining an MLP needs extra tools and usually stays "
     "approximate."),
    ("Speed and scale",
     "Each edge does its own little spline lookup: irregular work that hardware is not built for. "
     "Training is slower per parameter in most implementations, and KANs have not yet been tried at "
     "very large scale.",
     "Almost all the work is matrix multiplication, which CPUs and GPUs are built to do fast. Scales to "
     "billions of parameters."),
    ("Extra choices to make",
     "Grid size G, spline order k, when to move the knots to the data, when to extend the grid.",
     "Width and depth (a KAN needs those too), and the activation."),
    ("Where it shines",
     "Small, smooth, structured problems in a few dimensions, especially in science, where a formula "
     "you can check is worth more than speed.",
     "Large, high-dimensional, messy data (images, sound, text) and anywhere speed and mature tools "
     "matter most."),
)


def summary_html():
    """The summary as an accessible table: a caption, column headers and row headers."""
    head = ('<thead><tr><th scope="col">Compared</th><th scope="col" class="kx-costs-kan">KAN</th>'
            '<th scope="col" class="kx-costs-mlp">MLP</th></tr></thead>')
    body = "".join(f'<tr><th scope="row">{html.escape(what)}</th><td class="kx-costs-kan">{html.escape(kan)}</td>'
                   f'<td class="kx-costs-mlp">{html.escape(mlp)}</td></tr>' for what, kan, mlp in SUMMARY_ROWS)
    return (f'<table class="kx-costs-summary"><caption>How a KAN and an MLP differ</caption>{head}'
            f'<tbody>{body}</tbody></table>')


def pair_table_html(m):
    """The measured pair at the reader's budget, every number as measured (to 3 significant digits)."""
    pair = m.pair
    rows = (
        ("Network", shape_text(pair.kan, m), shape_text(pair.mlp, m)),
        ("Parameters", f"{pair.kan.n_params:,}", f"{pair.mlp.n_params:,}"),
        ("Time per Adam step", fmt_ms(pair.kan.seconds), fmt_ms(pair.mlp.seconds)),
        ("Time per parameter", fmt_us(pair.kan.us_per_param), fmt_us(pair.mlp.us_per_param)),
    )
    head = ('<thead><tr><th scope="col">Measured</th><th scope="col" class="kx-costs-kan">KAN</th>'
            '<th scope="col" class="kx-costs-mlp">MLP</th></tr></thead>')
    body = "".join(f'<tr><th scope="row">{what}</th><td class="kx-costs-kan" data-cell="kan-{i}">{html.escape(kan)}'
                   f'</td><td class="kx-costs-mlp" data-cell="mlp-{i}">{html.escape(mlp)}</td></tr>'
                   for i, (what, kan, mlp) in enumerate(rows))
    return (f'<table class="kx-costs-pair" data-measurement="{m.number}"><caption>One training step at your '
            f'budget, on {m.n_samples:,} samples</caption>{head}<tbody>{body}</tbody></table>')


def readout_lines(m):
    """The sentences under the measured pair."""
    repeats = len(m.pair.kan.runs)
    left_out = ("" if not m.left_out else
                f" {m.left_out} larger size{'s were' if m.left_out > 1 else ' was'} left out of the plot to "
                "keep the wait short.")
    return [
        ratio_sentence(m.pair),
        f"A cost only the KAN has: moving its knots to follow the data took {fmt_ms(m.grid_update_seconds)} "
        "once. Training here does that every 5 steps during the first 50, and again after each grid extension.",
        f"Measurement {m.number}: each time is the median of {repeats} timed steps (after one warm-up step), "
        f"taken just now in this server's own process; the whole measurement took {m.seconds:.2f} s.{left_out} "
        "The machine is shared with everyone using the lesson, so the numbers wobble from one press to the next.",
    ]


def sweep_table_html(m):
    """Every size measured, as a table that a screen reader can walk (the plot shows the same)."""
    head = ('<thead><tr><th scope="col">KAN</th><th scope="col">MLP</th><th scope="col">KAN step</th>'
            '<th scope="col">MLP step</th><th scope="col">KAN ÷ MLP per parameter</th></tr></thead>')
    rows = []
    for i, pair in enumerate(m.pairs):
        mark = ' class="kx-costs-chosen"' if i == m.chosen else ""
        rows.append(f"<tr{mark}><td>{list(pair.kan.width)}, {pair.kan.n_params:,} params</td>"
                    f"<td>{list(pair.mlp.width)}, {pair.mlp.n_params:,} params</td>"
                    f"<td>{fmt_ms(pair.kan.seconds)}</td><td>{fmt_ms(pair.mlp.seconds)}</td>"
                    f"<td>{pair.ratio:.2f}</td></tr>")
    return (f'<table class="kx-costs-sweep"><caption>Every size measured (your budget is in bold)</caption>'
            f'{head}<tbody>{"".join(rows)}</tbody></table>')


def _sweep_data(m, kind):
    timings = [getattr(p, kind) for p in m.pairs]
    return {"n_params": [t.n_params for t in timings], "ms": [t.ms for t in timings],
            "us_per_param": [t.us_per_param for t in timings], "shape": [shape_text(t, m) for t in timings]}


def _chosen_data(m):
    pair = m.pair
    return {"n_params": [pair.kan.n_params, pair.mlp.n_params], "ms": [pair.kan.ms, pair.mlp.ms],
            "color": [TEAL, ORANGE], "text": [f"KAN {fmt_ms(pair.kan.seconds)}", f"MLP {fmt_ms(pair.mlp.seconds)}"],
            "dy": [12, -12] if pair.kan.ms >= pair.mlp.ms else [-12, 12]}


def _on_loop(fn):
    """Call fn now when on the server's event loop (or with no server), else schedule it there:
    Bokeh models must only change on the loop."""
    doc = pn.state.curdoc
    if threading.current_thread() is threading.main_thread() or doc is None or doc.session_context is None:
        fn()
    else:
        pn.state.execute(fn, schedule=True)


class CostsExplorer(pn.viewable.Viewer):
    """The KAN-vs-MLP summary table and a live stopwatch on one Adam step of each.

    ``budget`` is the parameter count aimed at; the KAN is [2, h, 1] with grid ``grid_size`` and
    order ``spline_order``, the MLP has ``mlp_layers`` hidden layers of tanh and as nearly as possible
    the KAN's parameter count. Both train on ``n_samples`` samples. Changing any of these measures
    again, and so does ``measure()`` (the "Measure again" button). ``measurement`` is the latest one.
    """

    budget = param.Integer(default=DEFAULTS["budget"], bounds=(100, 2000),
                           doc="the parameter count the two networks should have")
    grid_size = param.Integer(default=DEFAULTS["grid_size"], bounds=(3, 100), doc="the KAN's grid size G")
    spline_order = param.Integer(default=DEFAULTS["spline_order"], bounds=(1, 5), doc="the KAN's spline order k")
    n_samples = param.Integer(default=DEFAULTS["n_samples"], bounds=(100, 2000),
                              doc="training samples each step runs over")
    mlp_layers = param.Selector(default=DEFAULTS["mlp_layers"], objects=[1, 2], doc="hidden layers of the MLP")

    def __init__(self, **params):
        super().__init__(**params)
        self._lock = threading.Lock()   # one measurement at a time per explorer
        self._count = 0
        self.measurement = None
        self._build_figure()
        self._build_panes()
        self._build_controls()
        self.measure()

    # -- measuring ------------------------------------------------------------------------------
    @param.depends("budget", "grid_size", "spline_order", "n_samples", "mlp_layers", watch=True)
    def _on_settings(self):
        self.measure()

    def measure(self):
        """Time both networks now at the current settings, keep the result and show it."""
        with self._lock:
            self._count += 1
            result = measure(self.budget, self.grid_size, self.spline_order, self.n_samples, self.mlp_layers,
                             number=self._count)
            self.measurement = result
        _on_loop(functools.partial(self._show, result))
        return result

    def reset(self):
        self.param.update(**DEFAULTS)

    # -- building, once ------------------------------------------------------------------------
    def _build_figure(self):
        self._sweep_src = {kind: ColumnDataSource({"n_params": [], "ms": [], "us_per_param": [], "shape": []},
                                                  name=f"costs_sweep_{kind}") for kind in ("kan", "mlp")}
        self._chosen_src = ColumnDataSource({"n_params": [], "ms": [], "color": [], "text": [], "dy": []},
                                            name="costs_chosen")
        fig = figure(x_axis_type="log", y_axis_type="log", height=400, min_width=300, sizing_mode="stretch_width",
                     title="Time per Adam step against parameter count (measured just now)",
                     x_axis_label="parameters (log scale)", y_axis_label="milliseconds per step (log scale)",
                     tools="pan,wheel_zoom,reset,save", toolbar_location="right", name="costs_sweep")
        items, hovered = [], []
        for kind, label, color, marker, size in (("kan", "KAN [2, h, 1]", TEAL, "diamond", 14),
                                                 ("mlp", "MLP, same parameter count", ORANGE, "circle", 10)):
            src = self._sweep_src[kind]
            line = fig.line("n_params", "ms", source=src, line_color=color, line_width=2.5)
            dots = fig.scatter("n_params", "ms", source=src, marker=marker, size=size, fill_color=color,
                               line_color="white")
            hovered.append(dots)
            items.append(LegendItem(label=f"{label} ({'teal, diamonds' if kind == 'kan' else 'orange, circles'})",
                                    renderers=[line, dots]))
        ring = fig.scatter("n_params", "ms", source=self._chosen_src, marker="circle", size=24, fill_alpha=0,
                           line_color="color", line_width=3)
        items.append(LegendItem(label="at your budget (ringed)", renderers=[ring]))
        fig.add_layout(LabelSet(x="n_params", y="ms", text="text", source=self._chosen_src, x_offset=16,
                                y_offset="dy", text_baseline="middle", text_font_size="12px", text_color=INK,
                                background_fill_color="white", background_fill_alpha=0.85))
        fig.add_layout(Legend(items=items, orientation="vertical", border_line_alpha=0), "below")
        # The hover tool needs no toolbar button, and the toolbar sits on the right, where the title
        # leaves it room: a toolbar too short for its buttons folds the rest into Bokeh's "⋮"
        # button, which a screen reader cannot name.
        fig.add_tools(HoverTool(renderers=hovered, visible=False,
                                tooltips=[("network", "@shape"), ("parameters", "@n_params"),
                                          ("per step", "@ms{0.000} ms"), ("per parameter", "@us_per_param{0.000} µs")]))
        # plain numbers at 1-2-5 steps read more easily than powers of ten
        fig.xaxis.ticker = FixedTicker(ticks=TICKS)
        fig.yaxis.ticker = FixedTicker(ticks=TICKS)
        fig.xaxis.formatter = fig.yaxis.formatter = PrintfTickFormatter(format="%g")
        fig.toolbar.logo = None
        self.figure = fig

    def _build_panes(self):
        self._pair_pane = pn.pane.HTML("", stylesheets=[_CSS], sizing_mode="stretch_width", margin=(5, 10),
                                       css_classes=["kx-costs-pair-pane"])
        self._lines_pane = pn.pane.HTML("", stylesheets=[_CSS], sizing_mode="stretch_width", margin=(0, 10),
                                        css_classes=["kx-costs-lines-pane"])
        self._sweep_pane = pn.pane.HTML("", stylesheets=[_CSS], sizing_mode="stretch_width", margin=(5, 10),
                                        css_classes=["kx-costs-sweep-pane"])
        self.summary = pn.pane.HTML(summary_html(), stylesheets=[_CSS], sizing_mode="stretch_width",
                                    margin=(5, 10), css_classes=["kx-costs-summary-pane"])

    def _build_controls(self):
        self.measure_button = pmui.Button(label="Measure again", icon="timer", variant="contained", color="primary",
                                          description="Measure again: time both networks now, at these settings")
        self.measure_button.on_click(lambda _: self.measure())
        reset = pmui.Button(label="Reset", icon="restart_alt", variant="outlined",
                            description="Reset: put every setting back as it started, and measure")
        reset.on_click(lambda _: self.reset())
        slider = dict(throttled=True, sizing_mode="stretch_width", min_width=160)

        def cell(*objects):
            # two cells to a line when there is room, one when the window is narrow
            return pn.Row(*objects, sizing_mode="stretch_width", min_width=280, styles={"flex": "1 1 330px"})

        self.controls = pn.FlexBox(
            cell(BoundedIntSlider.from_param(self.param.budget, label="Parameter budget", step=50, **slider),
                 BoundedIntInput.from_param(self.param.budget, label="Budget (100 to 2000)", width=175)),
            cell(BoundedIntSlider.from_param(self.param.grid_size, label="KAN grid size G", **slider),
                 BoundedIntInput.from_param(self.param.grid_size, label="G (3 to 100)", width=110)),
            cell(BoundedIntSlider.from_param(self.param.spline_order, label="KAN spline order k", **slider)),
            cell(BoundedIntSlider.from_param(self.param.n_samples, label="Training samples N", step=100, **slider)),
            pn.Row(pmui.RadioButtonGroup.from_param(self.param.mlp_layers, label="MLP hidden layers",
                                                    options={"1 layer": 1, "2 layers": 2}, width=210),
                   self.measure_button, reset, align="end", styles={"flex": "1 1 100%", "flex-wrap": "wrap"}),
            gap="4px 24px", sizing_mode="stretch_width",
        )
        self.stopwatch = pn.Column(
            self.controls,
            pn.FlexBox(pn.Column(self._pair_pane, self._lines_pane, styles={"flex": "1 1 340px"}, min_width=300),
                       pn.Column(pn.pane.Bokeh(self.figure, sizing_mode="stretch_width"),
                                 styles={"flex": "1 1 420px"}, min_width=300),
                       sizing_mode="stretch_width"),
            self._sweep_pane,
            # Bokeh caps a column at its parent's height (max-height: 100%); this one can be taller
            # than the window, and capped it would overlap the text after it.
            sizing_mode="stretch_width", css_classes=["kx-costs-stopwatch"], styles={"max-height": "none"},
        )

    # -- showing ---------------------------------------------------------------------------------
    def _show(self, m):
        if m is not self.measurement:
            return  # a newer measurement has arrived meanwhile; it will be shown by its own call
        with pn.io.hold():
            for kind in ("kan", "mlp"):
                self._sweep_src[kind].data = _sweep_data(m, kind)
            self._chosen_src.data = _chosen_data(m)
            self._pair_pane.object = pair_table_html(m)
            lines = "".join(f"<li>{html.escape(line)}</li>" for line in readout_lines(m))
            self._lines_pane.object = (f'<ul class="kx-costs-readout" aria-live="polite" '
                                       f'data-measurement="{m.number}">{lines}</ul>')
            self._sweep_pane.object = sweep_table_html(m)

    def __panel__(self):
        return pn.Column(self.summary, self.stopwatch, sizing_mode="stretch_width",
                         css_classes=["kx-costs-explorer"], styles={"max-height": "none"})


_CSS = f"""
table {{ border-collapse: collapse; font-size: 0.95rem; max-width: 46rem; }}
caption {{ text-align: left; font-weight: 600; padding: 0.2rem 0 0.4rem 0; }}
th, td {{ padding: 0.35rem 0.6rem; text-align: left; vertical-align: top;
          border-bottom: 1px solid rgba(128, 128, 128, 0.3); }}
th[scope=row] {{ font-weight: 600; }}
.kx-costs-summary th[scope=row] {{ width: 10rem; }}
td.kx-costs-kan {{ background: rgba(0, 137, 123, 0.10); }}
td.kx-costs-mlp {{ background: rgba(239, 108, 0, 0.10); }}
thead .kx-costs-kan {{ border-bottom: 3px solid {TEAL}; }}
thead .kx-costs-mlp {{ border-bottom: 3px solid {ORANGE}; }}
.kx-costs-pair td, .kx-costs-sweep td {{ font-variant-numeric: tabular-nums; }}
.kx-costs-sweep {{ font-size: 0.88rem; }}
.kx-costs-sweep tr.kx-costs-chosen td {{ font-weight: 700; }}
.kx-costs-readout {{ margin: 0.2rem 0; padding-left: 1.2rem; font-size: 0.95rem; line-height: 1.45; }}
"""
