"""The training lab: a small KAN learning a 1-D or 2-D target live, next to the MLP it would take.

``TrainingLab`` trains a ``kan_core.KAN`` with ``kan_core.Trainer`` (Adam or L-BFGS) on samples of
a preset target or of a formula the reader types (checked by kan_core's parser). While it plays, a
periodic callback does a bounded slice of optimizer steps per tick (about KAN_BUDGET_S seconds) and
shows the result: the network's output over the target (a curve in 1-D; heatmaps of target, output
and error in 2-D), train and test RMSE against the step on a log axis, the network diagram with every
edge's learned curve, and readouts of step, errors, time per step and the parameter count next to
the size of MLP that reaches the same error (``MLPFamily``, trained in the same ticks).

Ticks never overlap (a flag skips a tick while the last one still runs), the numbers are computed
under a lock and shown through ``pn.state.execute`` so that the Bokeh models are only touched on the
server's event loop even when Panel runs callbacks on worker threads, and a closed browser tab stops
the session's training. Every value sent to the browser is checked to be finite.

``python -m widgets.training_lab --bench`` prints the cost of a tick and steps per second.
"""

import functools
import html
import math
import re
import sys
import threading
import time

import numpy as np
import panel as pn
import panel_material_ui as pmui
import param
from bokeh.models import (ColorBar, ColumnDataSource, DataRange1d, LabelSet, Legend, LegendItem,
                          LinearColorMapper, LogTicker, Range1d, Span)
from bokeh.palettes import Purples256, Viridis256
from bokeh.plotting import figure
from panel.io.callbacks import PeriodicCallback

from kan_core import KAN, PRESETS, Trainer, make_dataset, target_from_formula
from kan_core.trainer import make_optimizer

from .inputs import BoundedFloatInput, BoundedIntInput, BoundedIntSlider
from .network_diagram import NetworkDiagram
from .theme import GREY, LINE, NEUTRAL, ORANGE
from .training_compare import MLPFamily

PERIOD_MS = 33              # one tick every 33 ms: at most 30 screen updates per second
KAN_BUDGET_S = 0.015        # optimizer work per tick while playing
MLP_BUDGET_S = 0.003        # MLP comparison work per tick while the KAN plays
MLP_ONLY_BUDGET_S = 0.025   # ... and while only the comparison runs
# Pacing under load (TrainingLab._pace): a tick that comes LATE_S later than due, or whose last
# frame has waited LATE_S for the event loop, means the server is busy. The lab then halves its work
# per tick (down to MIN_BUDGET_S), then works on only every 2nd, 4th, ... tick (up to MAX_STRIDE),
# and creeps back to full speed while ticks come on time. It never queues a second frame. At 40 ms a
# busy classroom server keeps answering drags and presses promptly (30 students on 2 cores: probe p95
# 119 ms; at 100 ms it was 397 ms) at the cost of fewer training steps per student.
LATE_S = 0.04
MIN_BUDGET_S = 0.002
MAX_STRIDE = 30
LOST_FRAME_S = 5.0          # a frame not shown after this long is taken as lost (its session is gone)
DIAGRAM_EVERY = 5           # redraw the network diagram every 5th tick (5 per second)
ROLLOVER = 20_000           # loss points kept in the browser
N_TEST = 1000
CURVE_POINTS = 301
HEAT = 48                   # heatmaps are HEAT x HEAT
SHOWN_TRAIN = 400           # train samples drawn in 1-D
DIAGRAM_SAMPLES = 256
GRID_STEPS = (3, 5, 10, 20, 50, 100)
MAX_HIDDEN, MAX_LAYERS = 10, 3
MAX_ABS_TARGET = 1e6
BIG = 1e12                  # any value shown is clipped to [-BIG, BIG]
TINY = 1e-12                # ... and an RMSE on the log axis to at least TINY

PRESET_LABELS = {
    "sin": "sin(πx)",
    "square": "x²",
    "step": "smooth step 1/(1 + e^(−20x))",
    "bessel": "J₀(20x), a Bessel function",
    "exp_sin": "exp(sin(πx) + y²)",
    "product": "x · y",
}
FORMULA = "formula"
TARGET_LABELS = {**PRESET_LABELS, FORMULA: "Your formula (type it below)"}

DEFAULTS = {
    "target": "exp_sin", "formula": "x*y + sin(pi*y)", "hidden": "5", "grid_size": 5, "spline_order": 3,
    "optimizer": "adam", "learning_rate": 0.02, "n_samples": 1000, "noise": 0.0, "seed": 0,
    "speed": 12, "stop_at_target": False, "target_rmse": 0.01, "playing": False,
}

TRAIN_INK = "#78909c"

HIDDEN_RULE = (f"Hidden layers: write up to {MAX_LAYERS} whole numbers from 1 to {MAX_HIDDEN} separated by "
               f"commas, like 5 or 5, 3 (leave it empty for no hidden layer)")


# -- small pure helpers ---------------------------------------------------------------------------
def on_loop(method):
    """Run ``method`` on the server's event loop, holding the document lock.

    Panel served with --num-threads runs widget callbacks on worker threads, where changing a Bokeh
    model directly races with the loop; there the call is scheduled with pn.state.execute. On the
    loop itself, in a notebook, without a server or while the object is still being built (its
    models are not in any document yet) it runs at once and returns its result.
    """
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        doc = pn.state.curdoc
        gone = getattr(self, "_served", False) and (doc is None or doc.session_context is None)
        if (self._building or threading.current_thread() is threading.main_thread()
                or (not gone and (doc is None or doc.session_context is None))):
            return method(self, *args, **kwargs)
        if getattr(self, "_closed", False) or gone:
            return None             # the tab has closed: nothing left to show
        schedule_on_loop(doc, functools.partial(method, self, *args, **kwargs))
        return None
    return wrapper


def schedule_on_loop(doc, callback):
    """pn.state.execute(callback, schedule=True), except that a session closed in the meantime (its
    tab went away while a worker thread was busy for it) is not an error: the callback is dropped."""
    try:
        pn.state.execute(callback, schedule=True)
    except AttributeError:
        if doc.session_context is not None and getattr(doc.callbacks, "_change_callbacks", None) is not None:
            raise


def parse_hidden(text):
    """'5' -> [5], '5, 3' -> [5, 3], '' -> []; raises ValueError with a sentence otherwise."""
    parts = [p for p in re.split(r"[,\s;]+", text.strip()) if p]
    if len(parts) > MAX_LAYERS or not all(p.isdigit() and len(p) <= 3 for p in parts):
        raise ValueError(f"{HIDDEN_RULE}; got '{text.strip()[:40]}'.")
    sizes = [int(p) for p in parts]
    if any(not 1 <= n <= MAX_HIDDEN for n in sizes):
        raise ValueError(f"{HIDDEN_RULE}; got '{text.strip()[:40]}'.")
    return sizes


def resolve_target(choice, formula):
    """The kan_core Target for a preset key or for FORMULA; raises ValueError (or FormulaError)."""
    if choice != FORMULA:
        return PRESETS[choice]
    target = target_from_formula(formula)
    if target.n_vars > 2:
        raise ValueError(f"This lab draws functions of x, or of x and y; this formula uses {target.n_vars} "
                         f"variables (x1..x{target.n_vars}). Write it with x and y only.")
    return target


def build_dataset(target, n_samples, noise, seed):
    """make_dataset with the lab's test size, refusing targets too large to train on or draw."""
    data = make_dataset(target, n_samples, N_TEST, noise, seed)
    biggest = max(float(np.max(np.abs(data["train_label"]))), float(np.max(np.abs(data["test_label"]))))
    if biggest > MAX_ABS_TARGET:
        raise ValueError(f"The target reaches {biggest:.3g} on [−1, 1]; this lab takes targets between "
                         f"−{MAX_ABS_TARGET:,.0f} and {MAX_ABS_TARGET:,.0f}. Scale the formula down.")
    return data


def divergence_sentence(reason):
    """kan_core's divergence reason in words for the page (no 'NaN' or 'inf' on screen)."""
    exploded = re.search(r"exploded to ([0-9.eE+-]+)", reason or "")
    what = (f"the error exploded to {float(exploded.group(1)):.2g}" if exploded else
            "the numbers grew too large for the computer to hold")
    return (f"Training stopped because {what}: the steps are far too large. The network was put back as "
            f"it was before the bad step. Try a smaller learning rate, then press Play.")


def next_grid(G):
    """The next grid size of GRID_STEPS after G, or None at the end."""
    later = [g for g in GRID_STEPS if g > G]
    return later[0] if later else None


def finite(values, low=-BIG, high=BIG):
    """values as a float64 array with NaN -> 0 and everything clipped into [low, high]."""
    arr = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=high, neginf=low)
    return np.clip(arr, low, high)


def short(v):
    """A readable number: 3 significant figures, scientific when tiny or huge, '—' if not finite."""
    if v is None or not np.isfinite(v):
        return "—"
    return f"{v:.3g}" if 1e-3 <= abs(v) < 1e4 or v == 0 else f"{v:.2e}"


def nice_ceiling(v):
    """The smallest of 1, 2, 5 times a power of ten that is >= v (v > 0)."""
    exp = math.floor(math.log10(v))
    for m in (1, 2, 5, 10):
        if m * 10 ** exp >= v:
            return m * 10 ** exp
    return 10 ** (exp + 1)


def width_text(width):
    return "[" + ", ".join(str(n) for n in width) + "]"


def lab_head(text):
    """A small heading over a group of controls or a view."""
    return pn.pane.HTML(f"<h3 class='kx-lab-head'>{text}</h3>", stylesheets=[_CSS], margin=(0, 5))


def lab_group(*objects):
    """A column of related controls, one of the boxes that wrap side by side."""
    return pn.Column(*objects, width=310, margin=(0, 10, 0, 0))


class PeriodicWork:
    """Starts and stops an explorable's periodic ``tick`` (every ``period_ms``) for one session.

    The callback is marked as background work, unlike pn.state.add_periodic_callback: a foreground
    callback flips the page's busy state twice per tick, and each flip costs the page a walk over all
    its Bokeh models, which alone would cut the lab to a few ticks per second. The class using it
    sets ``_callback = None`` and ``_closed = False`` and defines ``tick`` and ``cleanup``.
    """

    period_ms = PERIOD_MS

    def _ensure_callback(self):
        if self._callback is None and not self._closed:
            self._callback = PeriodicCallback(callback=self.tick, period=self.period_ms, background=True)
            self._callback.start()

    def _stop_callback(self):
        if self._callback is not None:
            self._callback.stop()
            self._callback = None

    def _on_session_destroyed(self, session_context):
        self.cleanup()


class TrainingLab(PeriodicWork, pn.viewable.Viewer):
    """Train a small KAN live on a 1-D or 2-D target; see the module docstring."""

    target = param.Selector(default=DEFAULTS["target"], objects=list(TARGET_LABELS),
                            doc="A preset target, or FORMULA to learn the typed formula.")
    formula = param.String(default=DEFAULTS["formula"],
                           doc="A formula in x (and y), read by kan_core's parser when target is FORMULA.")
    hidden = param.String(default=DEFAULTS["hidden"], doc="Hidden layer sizes, e.g. '5' or '5, 3'.")
    grid_size = param.Integer(default=DEFAULTS["grid_size"], bounds=(1, 100), doc="Grid size G of every edge.")
    spline_order = param.Integer(default=DEFAULTS["spline_order"], bounds=(1, 5), doc="Spline order k.")
    optimizer = param.Selector(default=DEFAULTS["optimizer"], objects=["adam", "lbfgs"])
    learning_rate = param.Number(default=DEFAULTS["learning_rate"], bounds=(1e-6, 1e6),
                                 doc="Adam's learning rate (L-BFGS searches its own step).")
    n_samples = param.Integer(default=DEFAULTS["n_samples"], bounds=(20, 10_000), doc="Train samples.")
    noise = param.Number(default=DEFAULTS["noise"], bounds=(0.0, 1.0),
                         doc="Noise on the train labels, as a fraction of the target's spread.")
    seed = param.Integer(default=DEFAULTS["seed"], bounds=(0, 999_999), doc="Seed of the samples and network.")
    speed = param.Integer(default=DEFAULTS["speed"], bounds=(1, 200),
                          doc="Optimizer steps per tick (at most what fits in KAN_BUDGET_S).")
    stop_at_target = param.Boolean(default=DEFAULTS["stop_at_target"],
                                   doc="Pause by itself when the test RMSE reaches target_rmse.")
    target_rmse = param.Number(default=DEFAULTS["target_rmse"], bounds=(1e-6, 10.0))
    playing = param.Boolean(default=DEFAULTS["playing"], doc="Whether training runs.")

    def __init__(self, **params):
        self._building = True
        super().__init__(**params)
        self._lock = threading.RLock()
        self._tick_lock = threading.Lock()   # held while a tick runs: ticks never overlap
        self._closed = False
        self._callback = None
        self._comparing = False
        self._generation = 0
        self._frames = 0
        self._seconds_per_step = 1e-3
        self._steps_shown = 0       # trainer history entries already sent to the loss plot
        self._events_shown = 0
        self._error_scale = None
        self._rate = (time.perf_counter(), 0)   # for steps per second: (time, step) at play
        self.skipped_ticks = 0
        self._budget = KAN_BUDGET_S     # training time per tick, lowered while the server is busy
        self._stride = 1                # work on every _stride-th tick, raised while the server is busy
        self._calls = 0                 # ticks since the last one that worked
        self._last_work = None          # when the last working tick began
        self._frame_waiting_since = None  # when a frame was handed to the event loop and not shown yet
        self._served = False            # True in a served session (set at the end of __init__)
        self.on_screen = True           # False while the page keeps the lab hidden (app.shell.Lesson)
        self.data = None
        self.target_fn = None
        self.trainer = None
        self.family = None
        self._data_problem = None   # a sentence while the target or its samples cannot be used
        self._hidden_problem = None  # ... or the hidden layer sizes
        self._keeping_network = False   # True while grid_size or hidden follow the network shown
        self._resetting = False
        self._controls_key = None
        self.message_text = ""
        self._build_sources()
        self._build_figures()
        self._build_controls()
        self._layout = self._build_layout()
        self._set_data()
        self._building = False
        doc = pn.state.curdoc
        self._served = doc is not None and doc.session_context is not None
        if self._served:
            pn.state.on_session_destroyed(self._on_session_destroyed)

    # -- what the reader is looking at ------------------------------------------------------------
    @property
    def model(self):
        return self.trainer.model

    @property
    def n_vars(self):
        return self.data["train_input"].shape[1]

    @property
    def problem(self):
        """Why training cannot start (a sentence), or None."""
        return self._data_problem or self._hidden_problem

    @property
    def callback(self):
        """The session's periodic callback while training runs, else None."""
        return self._callback

    def width(self):
        return [self.n_vars, *parse_hidden(self.hidden), 1]

    # -- sources and figures, built once ------------------------------------------------------------
    def _build_sources(self):
        self.target_source = ColumnDataSource({"x": [], "y": []}, name="training-target")
        self.fit_source = ColumnDataSource({"x": [], "y": []}, name="training-fit")
        self.train_source = ColumnDataSource({"x": [], "y": []}, name="training-samples")
        self.heat_target = ColumnDataSource({"image": [], "x": [], "y": [], "dw": [], "dh": []},
                                            name="training-heat-target")
        self.heat_fit = ColumnDataSource({"image": [], "x": [], "y": [], "dw": [], "dh": []},
                                         name="training-heat-fit")
        self.heat_error = ColumnDataSource({"image": [], "x": [], "y": [], "dw": [], "dh": []},
                                           name="training-heat-error")
        self.loss_source = ColumnDataSource({"step": [], "train": [], "test": []}, name="training-loss")
        self.event_source = ColumnDataSource({"step": [], "label": [], "y": []}, name="training-extensions")

    def _build_figures(self):
        self.curve_figure = self._curve_figure()
        self.value_mapper = LinearColorMapper(palette=Viridis256, low=0, high=1)
        self.error_mapper = LinearColorMapper(palette=Purples256[::-1][24:], low=0, high=1)
        self.heat_figures = [
            self._heat_figure("Target f(x, y)", self.heat_target, self.value_mapper, "training-heat-target-figure"),
            self._heat_figure("KAN output", self.heat_fit, self.value_mapper, "training-heat-fit-figure",
                              bar_title="value (target and output)"),
            self._heat_figure("Error |output − f|", self.heat_error, self.error_mapper, "training-heat-error-figure",
                              bar_title="error"),
        ]
        self.loss_figure = self._loss_figure()

    def _curve_figure(self):
        fig = figure(height=300, sizing_mode="stretch_width", min_width=300, tools="", toolbar_location=None,
                     x_range=Range1d(-1.02, 1.02), y_range=Range1d(-1, 1), name="training-curve-figure",
                     min_border_left=40, min_border_right=12)
        fig.xaxis.axis_label = "x"
        fig.xgrid.visible = False
        fig.ygrid.grid_line_alpha = 0.4
        samples = fig.scatter("x", "y", source=self.train_source, size=4, fill_color=GREY, fill_alpha=0.45,
                              line_color=None)
        target = fig.line("x", "y", source=self.target_source, **LINE["target"])
        fit = fig.line("x", "y", source=self.fit_source, **LINE["fit"])
        fig.add_layout(Legend(items=[LegendItem(label="target f(x)", renderers=[target]),
                                     LegendItem(label="KAN output, being trained", renderers=[fit]),
                                     LegendItem(label="train samples", renderers=[samples])],
                              location="center", orientation="horizontal", label_text_font_size="12px",
                              spacing=8, padding=4, margin=2, border_line_alpha=0), "below")
        fig.title.text_font_size = "14px"
        return fig

    def _heat_figure(self, title, source, mapper, name, bar_title=None):
        fig = figure(width=250 if bar_title is None else 315, height=270, title=title, tools="",
                     toolbar_location=None, x_range=Range1d(-1, 1), y_range=Range1d(-1, 1), name=name,
                     min_border_left=34, min_border_right=6)
        fig.image(image="image", x="x", y="y", dw="dw", dh="dh", source=source, color_mapper=mapper)
        fig.xaxis.axis_label = "x"
        fig.yaxis.axis_label = "y"
        fig.grid.visible = False
        fig.title.text_font_size = "13px"
        if bar_title is not None:
            fig.add_layout(ColorBar(color_mapper=mapper, width=12, title=bar_title, title_text_font_size="11px",
                                    title_text_font_style="normal", label_standoff=4,
                                    major_label_text_font_size="11px"), "right")
        return fig

    def _loss_figure(self):
        fig = figure(height=280, sizing_mode="stretch_width", min_width=300, y_axis_type="log", tools="",
                     toolbar_location=None, name="training-loss-figure",
                     title="Error while training (log scale)", min_border_left=50, min_border_right=12)
        fig.title.text_font_size = "14px"
        fig.xaxis.axis_label = "optimizer step"
        fig.yaxis.axis_label = "RMSE"
        fig.yaxis.ticker = LogTicker(mantissas=[1, 2, 5], desired_num_ticks=5)
        fig.grid.grid_line_alpha = 0.35
        marks = fig.vspan(x="step", source=self.event_source, line_color=ORANGE, line_dash="dashed",
                          line_width=1.5, line_alpha=0.8)
        fig.add_layout(LabelSet(x="step", y="y", y_units="screen", text="label", source=self.event_source,
                                x_offset=4, text_font_size="12px", text_color=ORANGE, text_font_style="bold"))
        self.stop_span = Span(location=self.target_rmse, dimension="width", line_color=GREY,
                              line_dash="dotted", line_width=2, visible=self.stop_at_target)
        fig.add_layout(self.stop_span)
        test = fig.line("step", "test", source=self.loss_source, line_color=NEUTRAL, line_width=2.5)
        train = fig.line("step", "train", source=self.loss_source, line_color=TRAIN_INK, line_width=2,
                         line_dash="dashed")
        fig.x_range = DataRange1d(renderers=[test, train], range_padding=0.02, min_interval=20, start=0)
        fig.y_range = DataRange1d(renderers=[test, train], range_padding=0.15)
        fig.add_layout(Legend(items=[LegendItem(label="test RMSE (held-out samples)", renderers=[test]),
                                     LegendItem(label="train RMSE", renderers=[train]),
                                     LegendItem(label="grid extended", renderers=[marks])],
                              location="center", orientation="horizontal", label_text_font_size="12px",
                              spacing=8, padding=4, margin=2, border_line_alpha=0), "below")
        return fig

    # -- controls -----------------------------------------------------------------------------------
    def _build_controls(self):
        small = {"size": "small"}
        self.target_select = pmui.Select.from_param(
            self.param.target, label="Target function", options={v: k for k, v in TARGET_LABELS.items()},
            description="", sizing_mode="stretch_width", **small)
        self.formula_input = pmui.TextInput.from_param(
            self.param.formula, label="Formula in x and y (press Enter)", placeholder="e.g. x*y + sin(pi*y)",
            description="Numbers, x, y, pi, + − * / ** and functions such as sin, exp, log, sqrt, tanh, abs.",
            sizing_mode="stretch_width", **small)
        self.samples_input = BoundedIntInput.from_param(
            self.param.n_samples, label="Train samples", step=100, width=145, description="", **small)
        self.noise_input = BoundedFloatInput.from_param(
            self.param.noise, label="Noise", step=0.05, width=145,
            description="Random noise on the train samples, as a share of the target's spread (0 to 1).", **small)
        self.seed_input = BoundedIntInput.from_param(
            self.param.seed, label="Seed", width=145,
            description="Picks other random samples and another starting network.", **small)
        self.hidden_input = pmui.TextInput.from_param(
            self.param.hidden, label="Hidden layer sizes", placeholder="e.g. 5 or 5, 3",
            description=f"Up to {MAX_LAYERS} layers of 1 to {MAX_HIDDEN} nodes, separated by commas.",
            sizing_mode="stretch_width", **small)
        self.grid_input = BoundedIntInput.from_param(
            self.param.grid_size, label="Grid size G", width=145,
            description="Spans of every edge's spline (1 to 100).", **small)
        self.order_input = BoundedIntInput.from_param(
            self.param.spline_order, label="Spline order k", width=145,
            description="Degree of the spline pieces (1 to 5; 3 is cubic).", **small)
        self.optimizer_toggle = pmui.RadioButtonGroup.from_param(
            self.param.optimizer, options={"Adam": "adam", "L-BFGS": "lbfgs"}, label="Optimizer",
            description="", width=200, **small)
        self.lr_input = BoundedFloatInput.from_param(
            self.param.learning_rate, label="Adam learning rate", step=0.01, width=145,
            description="Adam's step size (L-BFGS finds its own).", visible=self.optimizer == "adam", **small)
        self.play_button = pmui.Button(label="Play", icon="play_arrow", color="primary", width=110)
        self.play_button.on_click(lambda event: self.toggle_play())
        self.step_button = pmui.Button(label="Step", icon="skip_next", variant="outlined")
        self.step_button.on_click(lambda event: self.step_once())
        self.reset_button = pmui.Button(label="Reset", icon="restart_alt", variant="outlined")
        self.reset_button.on_click(lambda event: self.reset())
        self.extend_button = pmui.Button(label="Extend grid", icon="grid_on", variant="outlined")
        self.extend_button.on_click(lambda event: self.extend_grid())
        self.speed_slider = BoundedIntSlider.from_param(
            self.param.speed, label="Speed (steps per tick)", width=200, description="")
        self.stop_check = pmui.Checkbox.from_param(self.param.stop_at_target, label="Stop at test RMSE",
                                                   description="")
        self.stop_input = BoundedFloatInput.from_param(self.param.target_rmse, label="Target RMSE", step=0.001,
                                                     width=130, description="", **small)
        self.compare_button = pmui.Button(label="Compare with MLPs", icon="balance", variant="text")
        self.compare_button.on_click(lambda event: self.compare_mlps())
        self.stats = pn.pane.HTML("", css_classes=["kx-lab-stats"], sizing_mode="stretch_width",
                                  stylesheets=[_CSS])
        self.message = pn.pane.HTML("", css_classes=["kx-lab-message"], sizing_mode="stretch_width",
                                    stylesheets=[_CSS])
        self.diagram = self._make_diagram()

    def _make_diagram(self):
        return NetworkDiagram(model=KAN([2, 1], grid=3), diagram_width=440, diagram_height=300,
                              large_height=220, name="training-diagram")

    def _build_layout(self):
        self._build_parts()
        return self._arrange()

    def _build_parts(self):
        """The lab's blocks, kept as attributes so that a subclass can add to them or rearrange them."""
        self.setup_box = pn.FlexBox(
            lab_group(lab_head("What to learn"), self.target_select, self.formula_input,
                      pn.Row(self.samples_input, self.noise_input), self.seed_input),
            lab_group(lab_head("The network"), self.hidden_input, pn.Row(self.grid_input, self.order_input)),
            lab_group(lab_head("How it learns"), self.optimizer_toggle, self.lr_input),
            sizing_mode="stretch_width", css_classes=["kx-lab-setup"])
        self.transport_box = pn.FlexBox(self.play_button, self.step_button, self.reset_button, self.extend_button,
                                        self.speed_slider, align_items="center", sizing_mode="stretch_width",
                                        css_classes=["kx-lab-transport"])
        self.tuning_box = pn.FlexBox(self.stop_check, self.stop_input, self.compare_button, align_items="center",
                                     sizing_mode="stretch_width")
        self.curve_pane = pn.pane.Bokeh(self.curve_figure, sizing_mode="stretch_width")
        self.heat_panes = [pn.pane.Bokeh(f) for f in self.heat_figures]
        self.fit_views = pn.FlexBox(self.curve_pane, *self.heat_panes, sizing_mode="stretch_width")
        self.loss_box = pn.Column(pn.pane.Bokeh(self.loss_figure, sizing_mode="stretch_width"),
                                  sizing_mode="stretch_width", min_width=320, styles={"flex": "1 1 400px"})

    def _arrange(self):
        diagram = pn.Column(lab_head("Inside the network: every edge's curve"), self.diagram.diagram_pane,
                            self.diagram.picker, self.diagram.large_pane, width=450)
        below = pn.FlexBox(self.loss_box, diagram, sizing_mode="stretch_width")
        return pn.Column(self.setup_box, self.transport_box, self.tuning_box, self.stats, self.message,
                         self.fit_views, below, sizing_mode="stretch_width", css_classes=["kx-lab"],
                         # Panel caps a Column at its parent's height (max-height: 100%); the lab is
                         # taller than a window, and capped it would spill over the text below it.
                         styles={"max-height": "none"})

    def __panel__(self):
        return self._layout

    # -- building data, networks and trainers --------------------------------------------------------
    @param.depends("formula", watch=True)
    @on_loop
    def _on_formula(self):
        """Pressing Enter in the formula box means: learn this formula."""
        if self._resetting:
            return
        if self.target != FORMULA:
            self.target = FORMULA      # the target watcher builds the data
        else:
            self._set_data()

    @param.depends("target", "n_samples", "noise", "seed", watch=True)
    @on_loop
    def _set_data(self):
        with self._lock:
            self._generation += 1
            try:
                target = resolve_target(self.target, self.formula)
                data = build_dataset(target, self.n_samples, self.noise, self.seed)
            except ValueError as error:   # kan_core's FormulaError is a ValueError
                self._data_problem = str(error)
                if self.target == FORMULA:
                    self.formula_input.param.update(error_state=True, helper_text=str(error))
                self._refuse()
                return
            self._data_problem = None
            self._check_formula_text()
            self.target_fn = target
            self.data = data
            self.family = MLPFamily(data, seed=self.seed)
            self._comparing = False
            self._show_target()
            self._new_network()

    def _check_formula_text(self):
        """Mark the formula box when its text cannot be used, even while a preset is chosen."""
        try:
            resolve_target(FORMULA, self.formula)
        except ValueError as error:
            self.formula_input.param.update(error_state=True, helper_text=str(error))
        else:
            self.formula_input.param.update(error_state=False, helper_text="Press Enter to learn it.")

    @param.depends("hidden", "grid_size", "spline_order", "seed", watch=True)
    @on_loop
    def _set_network(self):
        if self._keeping_network or self.data is None:
            return
        self._new_network()

    @on_loop
    def _new_network(self):
        with self._lock:
            try:
                width = self.width()
            except ValueError as error:
                self._hidden_problem = str(error)
                self.hidden_input.error_state = True
                self._refuse()
                return
            self._hidden_problem = None
            self.hidden_input.error_state = False
            self._use_model(KAN(width, grid=self.grid_size, k=self.spline_order, seed=self.seed))

    def _make_trainer(self, model):
        return Trainer(model, self.data, self.optimizer, lr=self._lr(), seed=self.seed)

    def _use_model(self, model):
        """Train ``model`` from step 0 on the current data: a new trainer, loss plot and diagram."""
        with self._lock:
            self.trainer = self._make_trainer(model)
            self._generation += 1
            self._steps_shown = 0
            self._events_shown = 0
            self._error_scale = None
            start = self.trainer.metrics()
            frame = self._frame(start, new_steps=False, with_model=False)
            names = ["x"] if self.n_vars == 1 else ["x", "y"]
            with pn.io.hold():
                self.loss_source.data = {"step": [0], "train": finite([start["train_rmse"]], TINY),
                                         "test": finite([start["test_rmse"]], TINY)}
                self.event_source.data = {"step": [], "label": [], "y": []}
                self.diagram.param.update(model=model.copy(), samples=self._diagram_samples(),
                                          input_names=names, output_names=["f"], selected=(0, 0, 0))
                self._show(frame)
                if self.problem:
                    self._refuse()
                elif not self.playing:
                    self._say(self._ready_sentence())

    def _lr(self):
        return self.learning_rate if self.optimizer == "adam" else None

    def _diagram_samples(self):
        return self.data["train_input"][:DIAGRAM_SAMPLES]

    @param.depends("optimizer", "learning_rate", watch=True)
    @on_loop
    def _set_optimizer(self):
        """A new optimizer for the same network: training goes on from where it is."""
        self.lr_input.visible = self.optimizer == "adam"
        if self.trainer is None:
            return
        with self._lock:
            self.trainer.optimizer = make_optimizer(self.optimizer, self._lr())
            self.trainer.diverged = False
            self.trainer.reason = None
        if not self.playing and not self.problem:
            self._say(self._ready_sentence())

    def _refuse(self):
        """Keep the last good setup, pause, and say what is wrong."""
        self.pause()
        self._say(f"Training cannot start: {self.problem}", kind="error")

    # -- playing --------------------------------------------------------------------------------------
    def play(self):
        if self._closed:
            return
        if self.problem:
            self._refuse()
            return
        self.playing = True

    def pause(self):
        self.playing = False

    def toggle_play(self):
        self.pause() if self.playing else self.play()

    @on_loop
    def compare_mlps(self):
        """Train the MLP family in the background (it also trains while the KAN plays)."""
        if self.family is None or self.family.finished or self.problem:
            return
        self._comparing = True
        self._ensure_callback()
        self._show_controls()

    @param.depends("playing", watch=True)
    @on_loop
    def _on_playing(self):
        if self.playing:
            if self.problem:
                self.playing = False
                return
            self._rate = (time.perf_counter(), self.trainer.n_steps)
            if self.family is not None and not self.family.finished:
                self._comparing = True
            self._ensure_callback()
            self._say("Training… watch the network's output close in on the target and the error fall.")
        else:
            self._comparing = False
            self._stop_callback()
            if self.trainer is not None and self.data is not None:
                with self._lock:
                    frame = self._snapshot()
                self._show(frame)
                if not self.problem:
                    self._say(self._ready_sentence())
        self._show_controls()

    def cleanup(self):
        """Stop this session's training for good (runs when the browser tab closes)."""
        self._closed = True
        self._comparing = False
        self._stop_callback()
        with param.parameterized.discard_events(self):
            self.playing = False

    @on_loop
    def step_once(self):
        """One optimizer step (pauses first), shown at once with the diagram."""
        if self.problem:
            self._refuse()
            return
        self.pause()
        with self._lock:
            metrics = self.trainer.step(1, stop_rmse=self._stop_rmse())
            frame = self._frame(metrics, check_stop=True)
        self._show(frame)
        if not frame["stop"]:
            self._say(f"One step taken (step {frame['step']}). Press Step again, or Play.")

    def tick(self):
        """One tick of the periodic callback: a bounded slice of training, then the display.

        Ticks pace themselves (``_pace``) so that thirty students training at once on one server
        still get quick answers to their clicks; a lab that is not on the page (its reader opened
        another chapter) trains without drawing.
        """
        now = time.perf_counter()
        if self._closed or not self._tick_lock.acquire(blocking=False):
            self.skipped_ticks += 1
            return
        try:
            if not self._pace(now):
                self.skipped_ticks += 1
                return
            with self._lock:
                frame = self._advance(display=self._visible())
            if frame is not None:
                self._frame_waiting_since = time.perf_counter()
                self._show(frame)
        finally:
            self._tick_lock.release()

    def _pace(self, now):
        """Whether this tick works; adapts the work per tick and how often it works to how busy the
        server is (see LATE_S). Each lab paces only itself: no state is shared between sessions."""
        self._calls += 1
        if self._calls < self._stride:
            return False
        waited = 0.0 if self._frame_waiting_since is None else now - self._frame_waiting_since
        waiting = self._frame_waiting_since is not None and waited < LOST_FRAME_S
        if self._last_work is not None and now - self._last_work < 2.0:
            late = (now - self._last_work) - self._stride * PERIOD_MS / 1000
            if (waiting and waited > LATE_S) or late > LATE_S:
                if self._budget > MIN_BUDGET_S:
                    self._budget = max(MIN_BUDGET_S, self._budget / 2)
                else:
                    self._stride = min(MAX_STRIDE, self._stride * 2)
            elif self._stride > 1:
                self._stride -= 1
            else:
                self._budget = min(KAN_BUDGET_S, self._budget + KAN_BUDGET_S / 8)
        self._calls = 0
        if waiting:
            return False
        self._last_work = now
        return True

    def _visible(self):
        """False only in a served session whose page does not show the lab right now: not in the
        page, or kept in it hidden while the reader is on another chapter (on_screen, set by the
        page's shell)."""
        return not self._served or (self.on_screen and bool(self._layout._models))

    def _advance(self, display=True):
        """Up to ``speed`` KAN steps within the tick's budget, then MLP work; returns the frame to show
        (None when there is nothing to show, or ``display`` is False and training need not stop)."""
        if self.problem or self.trainer is None:
            return None
        start = time.perf_counter()
        metrics = None
        if self.playing:
            trainer, done = self.trainer, 0
            while done < self.speed:
                left = self._budget - (time.perf_counter() - start)
                if left <= 0 and done:
                    break
                chunk = max(1, min(self.speed - done, int(left / self._seconds_per_step)))
                before = trainer.n_steps
                metrics = trainer.step(chunk, stop_rmse=self._stop_rmse())
                taken = trainer.n_steps - before
                done += taken
                if taken and math.isfinite(metrics["seconds_per_step"]):
                    self._seconds_per_step = 0.8 * self._seconds_per_step + 0.2 * metrics["seconds_per_step"]
                if metrics["diverged"] or self._reached(metrics) or taken == 0:
                    break
        if self._comparing and self.family is not None:
            budget = MLP_BUDGET_S if self.playing else MLP_ONLY_BUDGET_S
            self.family.advance(budget * self._budget / KAN_BUDGET_S)
        if not display and not (metrics is not None and (metrics["diverged"] or self._reached(metrics))):
            return None     # the loss history waits in the trainer and is shown when the lab is
        self._frames += 1
        if metrics is None:
            return self._snapshot(with_model=False)
        return self._frame(metrics, with_model=self._frames % DIAGRAM_EVERY == 0, check_stop=True)

    def _stop_rmse(self):
        return self.target_rmse if self.stop_at_target else None

    def _reached(self, metrics):
        return self.stop_at_target and metrics["test_rmse"] <= self.target_rmse

    # -- frames: every number the display needs, computed under the lock ----------------------------
    def _snapshot(self, with_model=True):
        metrics = self.trainer.metrics(seconds_per_step=self._seconds_per_step)
        return self._frame(metrics, with_model=with_model)

    def _frame(self, metrics, new_steps=True, with_model=True, check_stop=False):
        trainer, model = self.trainer, self.trainer.model
        history = trainer.history
        frame = {"generation": self._generation, "step": trainer.n_steps, "metrics": metrics,
                 "model": model.copy() if with_model else None, "width": list(model.width), "G": model.G,
                 "stop": None, "steps": None, "events": None}
        if new_steps and len(history["step"]) > self._steps_shown:
            n = self._steps_shown
            frame["steps"] = (np.array(history["step"][n:], dtype=float), np.array(history["train_rmse"][n:]),
                              np.array(history["test_rmse"][n:]))
            self._steps_shown = len(history["step"])
        if len(history["grid_events"]) > self._events_shown:
            frame["events"] = list(history["grid_events"][self._events_shown:])
            self._events_shown = len(history["grid_events"])
        if self.n_vars == 1:
            frame["curve"] = model(self._curve_x[:, None])[:, 0]
        else:
            frame["heat"] = model(self._heat_points)[:, 0].reshape(HEAT, HEAT)
        if check_stop and metrics["diverged"]:
            frame["stop"] = ("error", divergence_sentence(trainer.reason))
        elif check_stop and self._reached(metrics):
            frame["stop"] = ("done", f"Paused by itself: the test RMSE reached {short(metrics['test_rmse'])}, "
                                     f"at or below your target {short(self.target_rmse)}, at step "
                                     f"{trainer.n_steps}. Lower the target and press Play to go on.")
        frame["mlp"] = self._mlp_answer(metrics["test_rmse"])
        frame["mlp_progress"] = None if self.family is None else (sum(self.family.done), len(self.family.hidden))
        frame["comparing"] = self._comparing
        return frame

    def _mlp_answer(self, rmse):
        if self.family is None or not math.isfinite(rmse):
            return {"kind": "idle"}
        return self.family.answer(rmse)

    # -- showing --------------------------------------------------------------------------------------
    def _show_target(self):
        """The target's own views; they change only with the data."""
        fn = self.target_fn.fn
        x, y = self.data["train_input"], self.data["train_label"][:, 0]
        one_d = self.n_vars == 1
        with pn.io.hold():
            self.curve_pane.visible = one_d
            for pane in self.heat_panes:
                pane.visible = not one_d
            if one_d:
                self._curve_x = np.linspace(-1.0, 1.0, CURVE_POINTS)
                f = finite(fn(self._curve_x[:, None]))
                shown = slice(0, SHOWN_TRAIN)
                self.target_source.data = {"x": self._curve_x, "y": f}
                self.train_source.data = {"x": finite(x[shown, 0]), "y": finite(y[shown])}
                values = np.concatenate([f, y[shown]])
                low, high = float(values.min()), float(values.max())
                pad = 0.12 * max(high - low, 1e-6)
                self.curve_figure.y_range.update(start=low - pad, end=high + pad)
                self.curve_figure.title.text = f"Target f(x) = {self._target_label()} and the KAN's output"
            else:
                u = np.linspace(-1.0, 1.0, HEAT)
                gx, gy = np.meshgrid(u, u)
                self._heat_points = np.column_stack([gx.ravel(), gy.ravel()])
                f = finite(fn(self._heat_points)).reshape(HEAT, HEAT)
                self._heat_values = f
                low, high = float(f.min()), float(f.max())
                if high - low < 1e-9:
                    low, high = low - 0.5, high + 0.5
                self.value_mapper.update(low=low, high=high)
                self.heat_target.data = self._image(f)
                self.heat_figures[0].title.text = f"Target f = {self._target_label()}"

    def _target_label(self):
        return PRESET_LABELS.get(self.target, self.target_fn.label) if self.target != FORMULA else \
            self.target_fn.label

    @staticmethod
    def _image(values):
        # float32 halves what each tick sends; colours need nowhere near float64's precision
        return {"image": [finite(values).astype(np.float32)], "x": [-1.0], "y": [-1.0], "dw": [2.0], "dh": [2.0]}

    @on_loop
    def _show(self, frame):
        """Put a frame on screen (on the event loop); frames of an older network are dropped."""
        self._frame_waiting_since = None
        if frame["generation"] != self._generation or self._closed:
            return
        with pn.io.hold():
            if frame["steps"] is not None:
                steps, train, test = frame["steps"]
                self.loss_source.stream({"step": steps, "train": finite(train, TINY), "test": finite(test, TINY)},
                                        rollover=ROLLOVER)
            if frame["events"]:
                data = dict(self.event_source.data)
                for step, G in frame["events"]:
                    data = {"step": [*data["step"], step], "label": [*data["label"], f"G = {G}"],
                            "y": [*data["y"], 8]}
                self.event_source.data = data
            if "curve" in frame:
                self.fit_source.data = {"x": self._curve_x, "y": finite(frame["curve"])}
            else:
                self._show_heat(frame["heat"])
            if frame["model"] is not None:
                self.diagram.update(frame["model"])
            self.stats.object = self._stats_html(frame)
            if frame["stop"] is not None:
                kind, sentence = frame["stop"]
                self.playing = False
                self._say(sentence, kind=kind)
            if self._comparing and not self.playing and self.family.finished:
                self._comparing = False     # the comparison ran on its own and is done
                self._stop_callback()
            self._show_controls(frame)

    def _show_heat(self, fit):
        error = np.abs(fit - self._heat_values)
        biggest = float(np.max(finite(error, 0.0)))
        scale = nice_ceiling(max(biggest, 1e-9))
        # Raise the scale at once; lower it only with room to spare, so the colours do not flicker
        # while the error wobbles around a step of the 1-2-5 ladder.
        if self._error_scale is None or scale > self._error_scale or \
                nice_ceiling(max(1.5 * biggest, 1e-9)) < self._error_scale:
            self._error_scale = scale
            self.error_mapper.update(low=0.0, high=scale)
        self.heat_fit.data = self._image(fit)
        self.heat_error.data = self._image(error)

    def _show_controls(self, frame=None):
        """Button labels and states; Bokeh and the widgets are only touched when something changed."""
        if self.trainer is None:
            return
        G = self.model.G if frame is None else frame["G"]
        family = self.family
        key = (self.playing, G, family is None or family.finished or self._comparing)
        if key == self._controls_key:
            return
        self._controls_key = key
        nxt = next_grid(G)
        self.play_button.param.update(label="Pause" if self.playing else "Play",
                                      icon="pause" if self.playing else "play_arrow")
        self.extend_button.param.update(label=f"Extend grid: G {G} → {nxt}" if nxt else "Extend grid",
                                        disabled=nxt is None)
        self.compare_button.disabled = key[2]

    @param.depends("stop_at_target", "target_rmse", watch=True)
    @on_loop
    def _on_stop_target(self):
        self.stop_span.update(location=self.target_rmse, visible=self.stop_at_target)

    def _stats_html(self, frame):
        body = "".join(f'<div class="kx-stat kx-stat-{key}"><div class="kx-label">{label}</div>'
                       f'<div class="kx-value kx-{key}">{value}</div><div class="kx-sub">{sub}</div></div>'
                       for key, label, value, sub in self._stat_cells(frame))
        return f'<div class="kx-stats">{body}</div>'

    def _stat_cells(self, frame):
        """The readouts as (key, label, value, note) rows."""
        m = frame["metrics"]
        per_step = m["seconds_per_step"] if frame["step"] else math.nan
        now, start = time.perf_counter(), self._rate
        rate = (frame["step"] - start[1]) / (now - start[0]) if self.playing and now > start[0] + 0.5 else None
        rate_text = f"{rate:.0f} steps/s" if rate is not None and math.isfinite(rate) else "&nbsp;"
        unit = "L-BFGS step (≤ 20 iterations)" if self.optimizer == "lbfgs" else "Adam step"
        return [
            ("step", "Step", f"{frame['step']:,}", f"G = {frame['G']}"),
            ("train", "Train RMSE", short(m["train_rmse"]), "on the samples it learns from"),
            ("test", "Test RMSE", short(m["test_rmse"]), f"on {N_TEST} held-out points"),
            ("time", "Time per step", f"{short(per_step * 1e3)} ms" if math.isfinite(per_step) else "—",
             rate_text if self.playing else unit),
            ("params", "KAN parameters", f"{m['n_params']:,}", width_text(frame["width"])),
            ("mlp", "MLP for the same test error", *self._mlp_words(frame)),
        ]

    def _mlp_words(self, frame):
        answer, progress = frame["mlp"], frame["mlp_progress"]
        kind = answer["kind"]
        if kind == "reached":
            return (f"≈ {answer['n_params']:,} parameters",
                    f"{width_text(answer['width'])}, the smallest MLP that got there")
        if kind == "none":
            return ("none reached it", f"MLPs up to {answer['n_params']:,} parameters "
                                       f"({answer['hidden']} hidden) were tried")
        if kind == "pending":
            done = f"{progress[0]} of {progress[1]} sizes trained"
            if frame["comparing"]:
                return ("training MLPs…", done + (" · not reached yet" if progress[0] else ""))
            return (f"{progress[0]} of {progress[1]} MLPs done", "press Play or “Compare with MLPs” to go on")
        return ("—", "press Play or “Compare with MLPs”")

    def _say(self, sentence, kind="note"):
        self.message_text = sentence
        self.message.object = (f'<p class="kx-msg kx-msg-{kind}" role="status" aria-live="polite">'
                               f'{html.escape(sentence)}</p>')

    def _ready_sentence(self):
        where = "Press Play to train" if self.trainer.n_steps == 0 else "Paused. Press Play to go on"
        return (f"{where}: a KAN {width_text(self.model.width)} with G = {self.model.G}, "
                f"{self.model.n_params} parameters, learning {self._target_label()} from "
                f"{self.n_samples:,} samples with {'Adam' if self.optimizer == 'adam' else 'L-BFGS'}.")

    # -- buttons --------------------------------------------------------------------------------------
    @on_loop
    def extend_grid(self):
        """Re-express the trained KAN on the next grid of GRID_STEPS (Trainer.extend_grid)."""
        if self.problem:
            return None
        with self._lock:
            old = self.model.G
            new = next_grid(old)
            if new is None:
                self._say(f"G = {old} is the finest grid here.")
                return None
            self.trainer.extend_grid(new)
            self._keeping_network = True
            try:
                self.grid_size = new
            finally:
                self._keeping_network = False
            frame = self._snapshot()
        self._show(frame)
        self._say(f"Grid extended from G = {old} to G = {new} at step {self.trainer.n_steps}: the same curves, "
                  f"now with {self.model.n_params} parameters. Keep training and watch the error take a step "
                  f"down.")
        return new

    @on_loop
    def reset(self):
        """Every control back to its default and a fresh, untrained network."""
        self.pause()
        self._resetting = True
        try:
            self.param.update(**DEFAULTS)
        finally:
            self._resetting = False
        self._set_data()


_CSS = """
.kx-lab-head { font-size: 1rem; font-weight: 600; margin: 0.6rem 0 0.1rem 0; }
.kx-stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(128px, 1fr)); gap: 0.35rem;
            font-variant-numeric: tabular-nums; }
.kx-stat { border: 1px solid rgba(96, 125, 139, 0.35); border-radius: 6px; padding: 0.25rem 0.5rem; }
.kx-stat .kx-label { font-size: 0.8rem; opacity: 0.8; }
.kx-stat .kx-value { font-size: 1.2rem; font-weight: 700; white-space: nowrap; }
.kx-stat .kx-sub { font-size: 0.75rem; opacity: 0.75; min-height: 1em; }
.kx-stat-mlp { grid-column: span 2; }
.kx-msg { font-size: 0.95rem; margin: 0.2rem 0; padding: 0.3rem 0.7rem; border-left: 4px solid #607d8b;
          background: rgba(96, 125, 139, 0.10); }
.kx-msg-error { border-left-color: #b71c1c; background: rgba(183, 28, 28, 0.08); }
.kx-msg-done { border-left-color: #00897b; background: rgba(0, 137, 123, 0.08); }
"""


def bench(ticks=100, optimizers=("adam", "lbfgs")):
    """Cost of a tick for [2, 5, 1], G = 5, 1000 samples, without a browser: prints and returns
    {optimizer: (ms per tick, steps per tick, steps per second at one tick per PERIOD_MS)}."""
    results = {}
    for name in optimizers:
        lab = TrainingLab(target="exp_sin", hidden="5", grid_size=5, n_samples=1000, optimizer=name)
        lab.play()
        lab.tick()
        first = lab.trainer.n_steps
        start = time.perf_counter()
        for _ in range(ticks):
            lab.tick()
        seconds = time.perf_counter() - start
        steps = (lab.trainer.n_steps - first) / ticks
        ms = seconds / ticks * 1e3
        rate = steps * 1000 / max(PERIOD_MS, ms)
        lab.cleanup()
        results[name] = (ms, steps, rate)
        print(f"{name:>5}: {ms:5.1f} ms per tick (budget {KAN_BUDGET_S * 1e3:.0f} ms of training), "
              f"{steps:5.1f} steps per tick, {rate:6.0f} steps/s at one tick per {PERIOD_MS} ms")
    return results


if __name__ == "__main__":
    if "--bench" in sys.argv[1:]:
        bench()
        sys.exit(0)
    print("Usage: python -m widgets.training_lab --bench")
    sys.exit(2)
