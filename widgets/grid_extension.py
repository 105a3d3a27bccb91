"""Grid extension: how fine a spline's grid should be, and how a trained KAN moves to a finer one.

``GridExtension`` shows a target curve, noisy train samples and noisy held-out test samples.
In the first mode the orange curve is the least-squares cubic spline on G uniform knot spans
(``kan_core.bspline.fit_coef``), refitted whenever G changes, next to the train and test error
of that fit for every G from 2 to 200: the test error falls, bottoms out, and rises again once
the spline has enough freedom to chase the noise. In the second mode a coarse ``KAN([1, 1])``
is trained by L-BFGS (``kan_core.Trainer``); "Extend grid" re-expresses it on a finer grid
(``Trainer.extend_grid``, i.e. ``KAN.refine``) so the old and new curves coincide, and further
training makes the loss fall in steps.
"""

import html
import time

import numpy as np
import panel as pn
import panel_material_ui as pmui
import param
from bokeh.models import (ColumnDataSource, FixedTicker, Label, LabelSet, Legend, LegendItem, Range1d, Span)
from bokeh.plotting import figure

from kan_core import KAN, Trainer, bspline
from kan_core.trainer import make_optimizer
from kan_core.data import Target

from .inputs import BoundedFloatInput, BoundedFloatSlider, BoundedIntInput, BoundedIntSlider
from .theme import GREY, LINE, NEUTRAL, ORANGE

LOW, HIGH = -1.0, 1.0
K = 3
G_MIN, G_MAX = 2, 200
GRID_SIZES = np.arange(G_MIN, G_MAX + 1)
N_TRAIN, N_TEST = 100, 100
CURVE_POINTS = 1601
DEFAULTS = {"mode": "fit", "grid_size": 12, "noise": 0.1, "seed": 0}
MAX_SEED = 999_999
# Each grid is twice as fine as the one before, so every old knot is also a new knot and the
# coarse spline lies exactly in the finer spline space.
EXTEND_SEQUENCE = (3, 6, 12, 24, 48)
FIRST_STEPS = 50
LBFGS_MEMORY = 50                     # curvature pairs L-BFGS keeps (see start_training)
TRAIN_STEPS = 50

INK = "#37474f"        # words, on a white box; samples and errors are NEUTRAL (teal and orange carry meanings)
TRAIN_INK = "#78909c"
RMSE_TICKS = [c * 10.0 ** e for e in range(-6, 3) for c in (1, 2, 5)]

TARGET = Target(
    "wave-bump", "sin(5x) + 0.6 exp(-((x - 0.4)/0.08)^2)",
    r"f(x) = \sin(5x) + 0.6\,e^{-\left(\frac{x-0.4}{0.08}\right)^2}", 1,
    lambda X: np.sin(5.0 * X[:, 0]) + 0.6 * np.exp(-((X[:, 0] - 0.4) / 0.08) ** 2))


def target(x):
    """The target f at points x (M,) -> (M,)."""
    return TARGET.fn(np.asarray(x, dtype=np.float64)[:, None])


def noisy_samples(seed, noise, n_train=N_TRAIN, n_test=N_TEST):
    """Train and held-out test samples of the target, both with Gaussian noise of std ``noise``.

    Returns pykan's dataset dict (train_input (n_train, 1), train_label (n_train, 1), test_input,
    test_label). Inputs and noise come from separate streams, so changing ``noise`` only rescales
    the same noise draws and keeps the inputs where they were.
    """
    x_rng, test_rng, noise_rng = np.random.default_rng(seed).spawn(3)
    x_train = x_rng.uniform(LOW, HIGH, n_train)
    x_test = test_rng.uniform(LOW, HIGH, n_test)
    e_train, e_test = noise_rng.standard_normal(n_train), noise_rng.standard_normal(n_test)
    return {"train_input": x_train[:, None], "train_label": (target(x_train) + noise * e_train)[:, None],
            "test_input": x_test[:, None], "test_label": (target(x_test) + noise * e_test)[:, None]}


def lsq_spline(x, y, G, k=K):
    """The least-squares spline on G uniform spans of [-1, 1]: (grid (1, G+2k+1), coef (1, 1, G+k))."""
    grid = bspline.make_grid(1, G, k, (LOW, HIGH))
    return grid, bspline.fit_coef(np.asarray(x).reshape(-1, 1), np.asarray(y).reshape(-1, 1), grid, k)


def spline_at(x, grid, coef, k=K):
    """The spline (grid, coef) at points x (M,) -> (M,)."""
    return bspline.spline(np.asarray(x).reshape(-1, 1), grid, coef, k)[:, 0, 0]


def rmse(a, b):
    return float(np.sqrt(np.mean((np.ravel(a) - np.ravel(b)) ** 2)))


def error_curve(data, grid_sizes=GRID_SIZES):
    """Train and test RMSE of the least-squares spline for every G in grid_sizes: two (len,) arrays."""
    x, y = data["train_input"][:, 0], data["train_label"][:, 0]
    xt, yt = data["test_input"][:, 0], data["test_label"][:, 0]
    train, test = np.empty(len(grid_sizes)), np.empty(len(grid_sizes))
    for n, G in enumerate(grid_sizes):
        grid, coef = lsq_spline(x, y, int(G))
        train[n] = rmse(spline_at(x, grid, coef), y)
        test[n] = rmse(spline_at(xt, grid, coef), yt)
    return train, test


def short(v):
    """A readable number for a readout: 3 significant figures, scientific when tiny or huge."""
    if not np.isfinite(v):
        return "—"
    return f"{v:.3g}" if 1e-3 <= abs(v) < 1e4 or v == 0 else f"{v:.2e}"


class GridExtension(pn.viewable.Viewer):
    """Least-squares spline fits for any grid size G, and grid extension of a training KAN."""

    mode = param.Selector(default=DEFAULTS["mode"], objects=["fit", "extend"],
                          doc="'fit': refit a spline at grid size G; 'extend': train a KAN and extend its grid.")
    grid_size = param.Integer(default=DEFAULTS["grid_size"], bounds=(G_MIN, G_MAX),
                              doc="Number of knot spans G of the least-squares spline (mode 'fit').")
    noise = param.Number(default=DEFAULTS["noise"], bounds=(0.0, 0.5), step=0.01,
                         doc="Standard deviation of the noise added to every sample.")
    seed = param.Integer(default=DEFAULTS["seed"], bounds=(0, MAX_SEED),
                         doc="Seed of the random samples; 'New samples' moves to the next one.")

    def __init__(self, **params):
        super().__init__(**params)
        self._x = np.linspace(LOW, HIGH, CURVE_POINTS)
        self.data = None
        self.train_curve = self.test_curve = None
        self.trainer = None
        self.refit_seconds = float("nan")
        # The last extension: (from G, to G, step, max |coarse - refined|, (train, test) RMSE then).
        self.extension = None
        self._build_figures()
        self._build_controls()
        self._layout = self._build_layout()
        self._new_samples()
        self._show_mode()

    # -- numbers, all from kan_core ---------------------------------------------------------------
    def fit(self, G=None):
        """The least-squares spline at grid size G (default the current one): (grid, coef)."""
        return lsq_spline(self.data["train_input"][:, 0], self.data["train_label"][:, 0],
                          self.grid_size if G is None else G)

    @property
    def best_grid(self):
        """The G from 2 to 200 with the lowest test RMSE for the current samples."""
        return int(GRID_SIZES[np.argmin(self.test_curve)])

    @property
    def kan(self):
        """The KAN being trained in mode 'extend' (None before that mode is first opened)."""
        return None if self.trainer is None else self.trainer.model

    def next_grid(self):
        """The grid size the next extension moves to, or None at the end of EXTEND_SEQUENCE."""
        later = [G for G in EXTEND_SEQUENCE if G > self.kan.G]
        return later[0] if later else None

    # -- figures, built once ----------------------------------------------------------------------
    def _build_figures(self):
        self.noise_spans = []
        self._build_fit_figure()
        self._build_error_figure()
        self._build_loss_figure()

    def _build_fit_figure(self):
        fig = figure(height=380, sizing_mode="stretch_width", min_width=320, x_range=Range1d(-1.04, 1.04),
                     y_range=Range1d(-2, 2), tools="", toolbar_location=None, name="grid-fit-figure",
                     min_border_left=40, min_border_right=10)
        fig.title.text_font_size = "14px"
        fig.xaxis.axis_label = "x"
        fig.xgrid.visible = False
        fig.ygrid.grid_line_alpha = 0.4
        self.target_source = ColumnDataSource({"x": self._x, "y": target(self._x)}, name="grid-target")
        self.train_source = ColumnDataSource({"x": [], "y": []}, name="grid-train")
        self.test_source = ColumnDataSource({"x": [], "y": []}, name="grid-test")
        self.knot_source = ColumnDataSource({"x": [], "y0": [], "y1": []}, name="grid-knots")
        self.fit_source = ColumnDataSource({"x": [], "y": []}, name="grid-fit")
        self.coarse_source = ColumnDataSource({"x": [], "y": []}, name="grid-coarse")
        self.kan_source = ColumnDataSource({"x": [], "y": []}, name="grid-kan")
        knots = fig.segment(x0="x", x1="x", y0="y0", y1="y1", source=self.knot_source, line_color=GREY,
                            line_width=1.5, line_alpha=0.9)
        tgt = fig.line("x", "y", source=self.target_source, **LINE["target"])
        train = fig.scatter("x", "y", source=self.train_source, marker="circle", size=6,
                            fill_color=NEUTRAL, fill_alpha=0.75, line_color="white", line_width=0.5)
        test = fig.scatter("x", "y", source=self.test_source, marker="triangle", size=7,
                           fill_color="white", line_color=NEUTRAL, line_width=1.3)
        self.fit_line = fig.line("x", "y", source=self.fit_source, **LINE["fit"])
        self.coarse_line = fig.line("x", "y", source=self.coarse_source, line_color=ORANGE, line_width=9,
                                    line_alpha=0.4, line_dash=[12, 6])
        self.kan_line = fig.line("x", "y", source=self.kan_source, **LINE["fit"])
        self.fit_items = {
            "target": LegendItem(label="target f(x)", renderers=[tgt]),
            "train": LegendItem(label="train samples (fitted)", renderers=[train]),
            "test": LegendItem(label="held-out test samples", renderers=[test]),
            "fit": LegendItem(label="least-squares spline", renderers=[self.fit_line]),
            "kan": LegendItem(label="KAN curve now", renderers=[self.kan_line]),
            "coarse": LegendItem(label="coarse curve, before extending", renderers=[self.coarse_line]),
            "knots": LegendItem(label="knots (grey ticks)", renderers=[knots]),
        }
        fig.add_layout(Legend(items=list(self.fit_items.values()), location="center", orientation="horizontal",
                              ncols=2, label_text_font_size="12px", spacing=2, padding=4, margin=4,
                              border_line_alpha=0), "below")
        self.fit_figure = fig

    def _noise_span(self):
        """A dotted line at the noise level, one per figure (a Bokeh annotation belongs to one plot)."""
        span = Span(location=DEFAULTS["noise"], dimension="width", line_color=GREY, line_dash="dotted",
                    line_width=1.5)
        self.noise_spans.append(span)
        return span

    def _build_error_figure(self):
        fig = figure(height=380, sizing_mode="stretch_width", min_width=320, x_axis_type="log", y_axis_type="log",
                     x_range=Range1d(1.8, 225), y_range=Range1d(0.05, 5), tools="", toolbar_location=None,
                     name="grid-error-figure", title="Error of the fit against the grid size G",
                     min_border_left=50, min_border_right=10)
        fig.title.text_font_size = "14px"
        fig.xaxis.axis_label = "grid size G (knot spans, log scale)"
        fig.yaxis.axis_label = "RMSE (log scale)"
        fig.xaxis.ticker = FixedTicker(ticks=[2, 3, 5, 10, 20, 30, 50, 100, 200])
        fig.yaxis.ticker = FixedTicker(ticks=RMSE_TICKS)
        fig.grid.grid_line_alpha = 0.35
        self.curve_source = ColumnDataSource({"G": [], "train": [], "test": []}, name="grid-error-curve")
        self.current_source = ColumnDataSource({"G": [], "train": [], "test": [], "label": []},
                                               name="grid-error-current")
        self.best_source = ColumnDataSource({"G": [], "test": [], "label": []}, name="grid-error-best")
        fig.add_layout(self._noise_span())
        self.current_span = Span(location=DEFAULTS["grid_size"], dimension="height", line_color=ORANGE,
                                 line_width=2, line_alpha=0.7)
        fig.add_layout(self.current_span)
        # Where the spline gets as many coefficients as there are train samples (G + k = N).
        interpolating = fig.vspan(x=[N_TRAIN - K], line_color=GREY, line_dash="dotted", line_width=1.5)
        self.off_chart = Label(x=G_MAX, y=0, x_offset=-4, y_offset=4, text="", text_align="right",
                               text_baseline="bottom", text_font_size="11px", text_color=INK,
                               background_fill_color="white", background_fill_alpha=0.85)
        fig.add_layout(self.off_chart)
        test = fig.line("G", "test", source=self.curve_source, line_color=NEUTRAL, line_width=2.5)
        train = fig.line("G", "train", source=self.curve_source, line_color=TRAIN_INK, line_width=2,
                         line_dash="dashed")
        fig.scatter("G", "test", source=self.current_source, size=10, marker="circle", fill_color=ORANGE,
                    line_color="white", line_width=1.5)
        fig.scatter("G", "train", source=self.current_source, size=9, marker="circle", fill_color="white",
                    line_color=ORANGE, line_width=2)
        best = fig.scatter("G", "test", source=self.best_source, marker="star", size=15, fill_color=NEUTRAL,
                           line_color="white")
        fig.text("G", "test", text="label", source=self.best_source, y_offset=12, text_align="center",
                 text_baseline="top", text_font_size="12px", text_color=INK,
                 background_fill_color="white", background_fill_alpha=0.85)
        fig.text("G", "test", text="label", source=self.current_source, x_offset=8, y_offset=-4,
                 text_baseline="bottom", text_font_size="12px", text_font_style="bold", text_color=ORANGE)
        fig.add_layout(Legend(items=[LegendItem(label="test RMSE (held-out)", renderers=[test]),
                                     LegendItem(label="train RMSE", renderers=[train]),
                                     LegendItem(label="best G (lowest test)", renderers=[best]),
                                     LegendItem(label="as many coefficients as samples",
                                                renderers=[interpolating])],
                              location="center", orientation="horizontal", ncols=2, label_text_font_size="12px",
                              spacing=2, padding=4, margin=4, border_line_alpha=0), "below")
        self.error_figure = fig

    def _build_loss_figure(self):
        fig = figure(height=380, sizing_mode="stretch_width", min_width=320, y_axis_type="log",
                     x_range=Range1d(0, 60), y_range=Range1d(0.05, 1), tools="", toolbar_location=None,
                     name="grid-loss-figure", title="KAN training: error against optimizer step",
                     min_border_left=50, min_border_right=10, visible=False)
        fig.title.text_font_size = "14px"
        fig.xaxis.axis_label = "L-BFGS step"
        fig.yaxis.ticker = FixedTicker(ticks=RMSE_TICKS)
        fig.yaxis.axis_label = "RMSE (log scale)"
        fig.grid.grid_line_alpha = 0.35
        self.loss_source = ColumnDataSource({"step": [], "train": [], "test": []}, name="grid-loss")
        self.event_source = ColumnDataSource({"step": [], "label": [], "y": []}, name="grid-extensions")
        fig.add_layout(self._noise_span())
        marks = fig.vspan(x="step", source=self.event_source, line_color=ORANGE, line_dash="dashed",
                          line_width=1.5, line_alpha=0.8)
        fig.add_layout(LabelSet(x="step", y="y", y_units="screen", text="label", source=self.event_source,
                                x_offset=4, text_font_size="12px", text_color=ORANGE, text_font_style="bold"))
        test = fig.line("step", "test", source=self.loss_source, line_color=NEUTRAL, line_width=2.5)
        train = fig.line("step", "train", source=self.loss_source, line_color=TRAIN_INK, line_width=2,
                         line_dash="dashed")
        fig.add_layout(Legend(items=[LegendItem(label="test RMSE (held-out samples)", renderers=[test]),
                                     LegendItem(label="train RMSE", renderers=[train]),
                                     LegendItem(label="grid extended", renderers=[marks])],
                              location="center", orientation="horizontal", ncols=2, label_text_font_size="12px",
                              spacing=2, padding=4, margin=4, border_line_alpha=0), "below")
        self.loss_figure = fig

    # -- controls ---------------------------------------------------------------------------------
    def _build_controls(self):
        self.mode_toggle = pmui.RadioButtonGroup.from_param(
            self.param.mode, options={"Fit at grid size G": "fit", "Extend during training": "extend"},
            label="Mode", color="primary", size="small", width=430, description=None)
        # Each slider has a number box beside it: typing is the keyboard-only way in, and a number
        # outside the bounds is refused by the box (it returns to the current value).
        self.grid_slider = BoundedIntSlider.from_param(
            self.param.grid_size, label="Grid size G (knot spans)", sizing_mode="stretch_width", min_width=200)
        self.grid_input = BoundedIntInput.from_param(self.param.grid_size, label="G (2 to 200)", width=120)
        self.noise_slider = BoundedFloatSlider.from_param(
            self.param.noise, label="Noise (standard deviation)", step=0.01, format="0.00", throttled=True,
            sizing_mode="stretch_width", min_width=160)
        self.noise_input = BoundedFloatInput.from_param(self.param.noise, label="Noise (0 to 0.5)", step=0.01,
                                                      width=130)
        self.seed_input = BoundedIntInput.from_param(self.param.seed, label="Sample seed", width=130)
        self.samples_button = pmui.Button(label="New samples", icon="casino", variant="outlined")
        self.samples_button.on_click(lambda event: self.new_samples())
        self.extend_button = pmui.Button(label="Extend grid", icon="grid_on", color="primary")
        self.extend_button.on_click(lambda event: self.extend())
        self.train_button = pmui.Button(label=f"Train {TRAIN_STEPS} steps", icon="play_arrow", variant="outlined")
        self.train_button.on_click(lambda event: self.train())
        self.restart_button = pmui.Button(label="Start again at G = 3", icon="replay", variant="text")
        self.restart_button.on_click(lambda event: self.start_training())
        self.reset_button = pmui.Button(label="Reset", icon="restart_alt", variant="outlined")
        self.reset_button.on_click(lambda event: self.reset())
        self.readout = pn.pane.HTML("", css_classes=["kx-grid-readout"], sizing_mode="stretch_width",
                                    stylesheets=[_CSS])
        self.message = pn.pane.HTML("", css_classes=["kx-grid-message"], sizing_mode="stretch_width",
                                    stylesheets=[_CSS])

    def _build_layout(self):
        self.fit_controls = pn.Row(self.grid_slider, self.grid_input, sizing_mode="stretch_width")
        self.extend_controls = pn.Row(self.extend_button, self.train_button, self.restart_button,
                                      visible=False, sizing_mode="stretch_width")
        data_controls = pn.Row(self.noise_slider, self.noise_input, self.seed_input, self.samples_button,
                               sizing_mode="stretch_width", align="end")
        # Side by side when there is room, one above the other in a narrow window.
        side = {"sizing_mode": "stretch_width", "min_width": 320, "styles": {"flex": "1 1 380px"}}
        figures = pn.FlexBox(pn.Column(self.fit_figure, **side),
                             pn.Column(self.error_figure, self.loss_figure, **side), sizing_mode="stretch_width")
        return pn.Column(
            pn.Row(self.mode_toggle, self.reset_button, align="start"),
            self.fit_controls,
            self.extend_controls,
            self.readout,
            figures,
            self.message,
            data_controls,
            sizing_mode="stretch_width", css_classes=["kx-gridext"],
        )

    def __panel__(self):
        return self._layout

    # -- actions ----------------------------------------------------------------------------------
    def new_samples(self):
        """Move to the next seed: fresh random samples."""
        self.seed = self.seed + 1 if self.seed < MAX_SEED else 0

    def reset(self):
        """Every control back to its default; the KAN of mode 'extend' starts afresh next time."""
        self.trainer = None
        self.param.update(**DEFAULTS)

    def start_training(self):
        """A fresh KAN([1, 1]) at the coarsest grid, trained FIRST_STEPS L-BFGS steps.

        Its one edge is a pure spline (base 'zero', no SiLU term), so after training on a grid it
        can be compared with the least-squares spline on that grid.
        """
        model = KAN([1, 1], grid=EXTEND_SEQUENCE[0], k=K, grid_range=(LOW, HIGH), seed=self.seed, base="zero")
        # Knots stay uniform (no update_grid), so each extension only subdivides them.
        # A pure spline is almost a linear least-squares problem, ill-conditioned on fine grids
        # (knot spans with few samples): a longer L-BFGS memory keeps every plateau of the staircase
        # from stalling on rounding-level differences (10 pairs stalls now and then).
        self.trainer = Trainer(model, self.data, make_optimizer("lbfgs", history_size=LBFGS_MEMORY),
                               update_grid_every=None)
        self.trainer.step(FIRST_STEPS)
        self.extension = None
        self._show_training(coarse=None)

    def extend(self):
        """Re-express the KAN on the next grid of EXTEND_SEQUENCE; returns max |coarse - refined|."""
        if self.trainer is None:
            self.start_training()
        new_G = self.next_grid()
        if new_G is None:
            self.message.object = (f'<p class="kx-note">G = {self.kan.G} is the finest grid here. Train on, '
                                   f'or start again at G = {EXTEND_SEQUENCE[0]}.</p>')
            return None
        coarse = self.kan
        old_G = coarse.G
        refined = self.trainer.extend_grid(new_G)
        before, after = self._curve(coarse), self._curve(refined)
        gap = float(np.max(np.abs(before - after)))
        self.extension = (old_G, new_G, self.trainer.n_steps, gap,
                          (self.trainer.rmse("train"), self.trainer.rmse("test")))
        self._show_training(coarse=before)
        return gap

    def train(self, steps=TRAIN_STEPS):
        """Run ``steps`` more L-BFGS steps on the current grid."""
        if self.trainer is None:
            self.start_training()
        self.trainer.step(steps)
        self._show_training(coarse=None)

    def _curve(self, model):
        return model(self._x[:, None])[:, 0]

    # -- updates ----------------------------------------------------------------------------------
    @param.depends("seed", "noise", watch=True)
    def _new_samples(self):
        self.data = noisy_samples(self.seed, self.noise)
        self.train_curve, self.test_curve = error_curve(self.data)
        ys = np.concatenate([self.data["train_label"][:, 0], self.data["test_label"][:, 0], target(self._x)])
        pad = 0.12 * np.ptp(ys)
        bottom = ys.min() - 1.4 * pad
        with pn.io.hold():
            self.fit_figure.y_range.update(start=bottom, end=ys.max() + pad)
            self._knot_strip = (bottom + 0.2 * pad, bottom + 0.8 * pad)
            self.train_source.data = {"x": self.data["train_input"][:, 0], "y": self.data["train_label"][:, 0]}
            self.test_source.data = {"x": self.data["test_input"][:, 0], "y": self.data["test_label"][:, 0]}
            self.curve_source.data = {"G": GRID_SIZES, "train": self.train_curve, "test": self.test_curve}
            best = self.best_grid
            best_test = self.test_curve[best - G_MIN]
            self.best_source.data = {"G": [best], "test": [best_test], "label": [f"best G = {best}"]}
            low = max(min(self.test_curve.min(), self.noise if self.noise > 0 else np.inf) / 3, 1e-6)
            # Past the interpolation point the test error swings by orders of magnitude; a top at a
            # dozen times the minimum keeps the U readable and lets those swings leave the plot.
            high = min(self.test_curve.max() * 1.3, 12 * self.test_curve.min())
            self.error_figure.y_range.update(start=low, end=high)
            peak = self.test_curve.max()
            self.off_chart.update(y=low, text=f"↑ test RMSE leaves the plot, up to {short(peak)}"
                                  if peak > high else "")
            for span in self.noise_spans:
                span.update(location=max(self.noise, 1e-9), visible=self.noise > 0)
            self.trainer = None
            self._refit()
            if self.mode == "extend":
                self.start_training()

    @param.depends("grid_size", watch=True)
    def _refit(self):
        t0 = time.perf_counter()
        grid, coef = self.fit()
        y_fit = spline_at(self._x, grid, coef)
        self.refit_seconds = time.perf_counter() - t0
        G = self.grid_size
        train, test = self.train_curve[G - G_MIN], self.test_curve[G - G_MIN]
        knots = grid[0, K:K + G + 1]
        with pn.io.hold():
            self.fit_source.data = {"x": self._x, "y": y_fit}
            self.current_source.data = {"G": [G], "train": [train], "test": [test], "label": [f"G = {G}"]}
            self.current_span.location = G
            if self.mode == "fit":  # in the other mode the knots, title and words belong to the KAN
                self._show_knots(knots)
                self.fit_figure.title.text = f"Least-squares cubic spline on G = {G} knot spans"
                self.readout.object = self._fit_readout(G, train, test)
                self.message.object = self._fit_message(G)

    def _show_knots(self, knots):
        low, high = self._knot_strip
        self.knot_source.data = {"x": knots, "y0": np.full(knots.shape, low), "y1": np.full(knots.shape, high)}

    @param.depends("mode", watch=True)
    def _show_mode(self):
        fitting = self.mode == "fit"
        with pn.io.hold():
            self.fit_controls.visible = fitting
            self.extend_controls.visible = not fitting
            self.error_figure.visible = fitting
            self.loss_figure.visible = not fitting
            self.fit_line.visible = fitting
            self.kan_line.visible = self.coarse_line.visible = not fitting
            self.fit_items["fit"].visible = fitting
            self.fit_items["kan"].visible = self.fit_items["coarse"].visible = not fitting
            if fitting:
                self._refit()
            elif self.trainer is None:
                self.start_training()
            else:
                self._show_training(coarse=None)

    def _show_training(self, coarse):
        trainer, model = self.trainer, self.kan
        history = trainer.history
        steps = np.asarray(history["step"], dtype=float)
        extended = coarse is not None
        with pn.io.hold():
            self.kan_source.data = {"x": self._x, "y": self._curve(model)}
            self.coarse_source.data = {"x": self._x if extended else [], "y": coarse if extended else []}
            self.fit_items["coarse"].visible = extended
            knots = model.layers[0].grid[0, K:K + model.G + 1]
            self._show_knots(knots)
            self.loss_source.data = {"step": steps, "train": history["train_rmse"], "test": history["test_rmse"]}
            events = history["grid_events"]
            self.event_source.data = {"step": [s for s, _ in events], "label": [f"G = {g}" for _, g in events],
                                      "y": [8] * len(events)}
            last = steps[-1] if len(steps) else 0
            self.loss_figure.x_range.update(start=0, end=max(60, last + 10))
            values = np.concatenate([history["train_rmse"], history["test_rmse"]])
            values = values[np.isfinite(values) & (values > 0)]
            if len(values):
                low = min(values.min(), self.noise if self.noise > 0 else np.inf) / 1.6
                self.loss_figure.y_range.update(start=low, end=values.max() * 1.6)
            self.fit_figure.title.text = f"A trained KAN [1, 1] on G = {model.G} knot spans"
            nxt = self.next_grid()
            self.extend_button.label = f"Extend grid: G {model.G} → {nxt}" if nxt else "Extend grid"
            self.extend_button.disabled = nxt is None
            self.readout.object = self._train_readout()
            self.message.object = self._extend_message(extended)

    # -- words ------------------------------------------------------------------------------------
    def _fit_readout(self, G, train, test):
        return (f'<div class="kx-readout" aria-live="polite">'
                f'<span class="kx-g">G = {G}</span> knot spans · <span>{G + K} coefficients</span> · '
                f'<span class="kx-train">train RMSE {short(train)}</span> · '
                f'<span class="kx-test">test RMSE {short(test)}</span> · '
                f'<span class="kx-time">refit in {self.refit_seconds * 1e3:.1f} ms</span></div>')

    def _fit_message(self, G):
        best = self.best_grid
        best_test = self.test_curve[best - G_MIN]
        n = N_TRAIN
        if G + K >= n:
            where = (f"With {G + K} coefficients and only {n} train samples the spline can pass through every "
                     f"train point, noise and all: the train error is almost zero, the test error is not.")
        elif G > 2 * best:
            where = "Past the best G the extra knots are spent on following the noise of the train samples."
        elif G < best / 2:
            where = "Too few knots: the spline is too stiff to follow the target's wiggles and bump."
        else:
            where = "Near the sweet spot: enough knots for the target's features, too few to chase the noise."
        noise = (f" The dotted line is the noise level {self.noise:.2f}: on noisy test samples no curve can do "
                 f"much better." if self.noise > 0 else "")
        return (f'<p class="kx-note">{where} Lowest test RMSE: {short(best_test)} at G = {best}.{noise}</p>')

    def _train_readout(self):
        t, model = self.trainer, self.kan
        best = self.train_curve[model.G - G_MIN]
        return (f'<div class="kx-readout" aria-live="polite">'
                f'<span class="kx-g">KAN [1, 1] at G = {model.G}</span> · {model.n_params} parameters · '
                f'<span class="kx-step">step {t.n_steps}</span> · '
                f'<span class="kx-train">train RMSE {short(t.rmse("train"))}</span> · '
                f'<span class="kx-test">test RMSE {short(t.rmse("test"))}</span>'
                f'<div class="kx-aside">The least-squares spline on this grid reaches train RMSE '
                f'<span class="kx-best">{short(best)}</span>: training can get close, not below.</div></div>')

    def _extend_message(self, just_extended):
        if self.trainer.diverged:
            return f'<p class="kx-note">{html.escape(self.trainer.reason)}</p>'
        if self.extension is None:
            return (f'<p class="kx-note">A coarse KAN with G = {self.kan.G} was trained for {FIRST_STEPS} '
                    f'L-BFGS steps. Press "Extend grid" to move it to a finer grid.</p>')
        old_G, new_G, step, gap, (train_then, test_then) = self.extension
        if just_extended:
            return (f'<p class="kx-overlay">Extended G = {old_G} → {new_G} at step {step}. The coarse curve '
                    f'(wide, dashed) and the refined one (thin, solid) differ by at most '
                    f'<b class="kx-gap">{gap:.1e}</b> on [−1, 1]: the same function, now with '
                    f'{new_G + K} coefficients. Train on to use them.</p>')
        train_now, test_now = self.trainer.rmse("train"), self.trainer.rmse("test")
        moves = (f"train RMSE {short(train_then)} → {short(train_now)}, "
                 f"test RMSE {short(test_then)} → {short(test_now)}")
        if train_now < train_then and test_now > test_then:
            verdict = ("The finer grid fits the train samples better but the test samples worse: it has "
                       "started to chase the noise.")
        elif train_now < train_then:
            verdict = "The finer grid is being put to use."
        else:
            verdict = "No gain yet on this grid."
        return (f'<p class="kx-note">Training on G = {new_G} since step {step}: {moves}. {verdict} Each step '
                f'in the error plot starts at an extension (dashed line).</p>')


_CSS = """
.kx-readout { font-size: 1rem; font-variant-numeric: tabular-nums; margin: 0.2rem 0; }
.kx-readout .kx-g { font-weight: 700; }
.kx-readout .kx-test { font-weight: 600; }
.kx-readout .kx-aside { font-size: 0.88rem; color: #546e7a; }
.kx-note, .kx-overlay { font-size: 0.95rem; margin: 0.2rem 0; max-width: 60rem; }
.kx-overlay { border-left: 4px solid #ef6c00; padding: 0.3rem 0.7rem; background: rgba(239, 108, 0, 0.08); }
"""
