"""Learning without forgetting: a KAN and an MLP taught a row of bumps one region at a time.

The target is a row of equal Gaussian bumps on [-1, 1], one in the middle of each of
``n_bumps`` equal regions. Phase p shows the learners samples from region p only. A
``KAN([1, 1])`` (one edge, a pure cubic spline on ``grid_size`` spans) and an ``MLP([1, 8, 8, 1])``
(tanh, about as many parameters as the KAN at G = 100) are trained with ``kan_core.Trainer`` and
Adam on each region in turn, each phase starting from the parameters the last one left, until
their error on held-out samples of the region is below STOP_RMSE (or MAX_STEPS is reached).
After every phase both models are stored, and ``ContinualLearning`` replays the phases: the
whole target, both fits over the whole range, the region being taught, the samples seen so far,
and each model's error on every region. The KAN's two scale factors are held fixed, as in pykan's
continual-learning demo: they multiply the whole curve, so training them would rescale the
regions learned before.

All phases are computed up front when the widget is built or a setting changes: about 0.4 s of one
core at the defaults, about 1 s on the coarsest grid, where the KAN never reaches STOP_RMSE
(``python -m widgets.continual --bench`` prints the times).
"""

import sys
import time
from dataclasses import dataclass

import numpy as np
import panel as pn
import panel_material_ui as pmui
import param
from bokeh.models import ColumnDataSource, Label, Legend, LegendItem, Range1d
from bokeh.plotting import figure

from kan_core import KAN, MLP, Adam, Trainer

from .inputs import BoundedIntInput, BoundedIntSlider
from .theme import GREY, NEUTRAL, ORANGE, TEAL

LOW, HIGH = -1.0, 1.0
K = 3
MLP_WIDTH = [1, 8, 8, 1]
MLP_ACTIVATION = "tanh"
N_TRAIN = 100          # samples taught per region
N_CHECK = 50           # held-out samples per region that decide when a phase is done
LEARNING_RATE = 0.02   # Adam, for both learners
STOP_RMSE = 0.01
MAX_STEPS = 1500
N_EVAL = 201           # evenly spaced points per region for the error readouts
CURVE_POINTS = 801
GRID_CHOICES = (20, 50, 100, 200)
BUMPS_MIN, BUMPS_MAX = 3, 8
MAX_SEED = 999_999
DEFAULTS = {"n_bumps": 5, "grid_size": 100, "seed": 0}
Y_RANGE = (-0.55, 1.45)
BIG = 1e6              # any value sent to the browser is clipped to [-BIG, BIG]

INK = "#37474f"        # words on a white box (the taught region's name, the off-plot note); samples are NEUTRAL
PALE_TEAL = "#80cbc4"


# -- the task ---------------------------------------------------------------------------------------
def region_edges(n_bumps):
    """The n_bumps + 1 edges of the equal regions of [-1, 1]."""
    return np.linspace(LOW, HIGH, n_bumps + 1)


def bump_centres(n_bumps):
    edges = region_edges(n_bumps)
    return 0.5 * (edges[:-1] + edges[1:])


def bump_width(n_bumps):
    """Width s of each bump exp(-((x - c)/s)^2): 15 % of a region, so neighbours barely touch."""
    return 0.15 * (HIGH - LOW) / n_bumps


def target(x, n_bumps):
    """The row of bumps at points x (M,) -> (M,)."""
    x = np.asarray(x, dtype=np.float64)
    s = bump_width(n_bumps)
    return np.sum(np.exp(-((x[:, None] - bump_centres(n_bumps)[None, :]) / s) ** 2), axis=1)


def region_points(n_bumps, region):
    """N_EVAL evenly spaced points across region ``region`` (0-based), ends included."""
    edges = region_edges(n_bumps)
    return np.linspace(edges[region], edges[region + 1], N_EVAL)


def phase_data(n_bumps, seed):
    """One dataset dict per phase (pykan's keys): train samples and held-out samples of region p only.

    train_input (N_TRAIN, 1), train_label (N_TRAIN, 1), test_input (N_CHECK, 1), test_label (N_CHECK, 1).
    """
    rng = np.random.default_rng(seed)
    edges = region_edges(n_bumps)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        x, xc = rng.uniform(lo, hi, N_TRAIN), rng.uniform(lo, hi, N_CHECK)
        out.append({"train_input": x[:, None], "train_label": target(x, n_bumps)[:, None],
                    "test_input": xc[:, None], "test_label": target(xc, n_bumps)[:, None]})
    return out


# -- the learners -----------------------------------------------------------------------------------
class HoldFixed:
    """An optimizer that leaves the entries ``fixed`` of the parameter vector where they are.

    It wraps another optimizer (step(fun, theta) -> (theta, loss), reset()) and hands it the
    gradient with those entries set to zero, so Adam never moves them.
    """

    def __init__(self, optimizer, fixed):
        self.optimizer = optimizer
        self.fixed = np.asarray(fixed, dtype=np.int64)

    def reset(self):
        self.optimizer.reset()

    def step(self, fun, theta):
        def held(t):
            loss, grad = fun(t)
            grad = grad.copy()
            grad[self.fixed] = 0.0
            return loss, grad
        return self.optimizer.step(held, theta)


def scale_entries(kan):
    """Where scale_base and scale_sp sit in kan.get_params(): an int array."""
    entries, pos = [], 0
    for layer in kan.layers:
        pos += layer.coef.size
        n = layer.scale_base.size + layer.scale_sp.size
        entries.extend(range(pos, pos + n))
        pos += n
    return np.array(entries, dtype=np.int64)


def new_kan(grid_size, seed):
    """A KAN [1, 1] whose one edge is a pure cubic spline (no SiLU term) on [-1, 1]."""
    return KAN([1, 1], grid=grid_size, k=K, grid_range=(LOW, HIGH), seed=seed, base="zero")


def new_mlp(seed):
    return MLP(MLP_WIDTH, MLP_ACTIVATION, seed=seed)


def region_rmse(model, n_bumps):
    """The model's RMSE against the target on each region: (n_bumps,)."""
    errors = np.empty(n_bumps)
    for region in range(n_bumps):
        x = region_points(n_bumps, region)
        errors[region] = np.sqrt(np.mean((model(x[:, None])[:, 0] - target(x, n_bumps)) ** 2))
    return errors


@dataclass
class Phase:
    """Both learners right after being taught one region (``region`` is 0-based)."""

    region: int
    kan: KAN
    mlp: MLP
    kan_steps: int
    mlp_steps: int
    kan_errors: np.ndarray   # (n_bumps,) RMSE on every region
    mlp_errors: np.ndarray


def teach(model, data, optimizer):
    """Train ``model`` in place on one region's data until STOP_RMSE on its held-out samples.

    The knots never move (no grid update): they would otherwise crowd into the region being taught.
    Returns the number of Adam steps taken.
    """
    trainer = Trainer(model, data, optimizer, update_grid_every=None)
    trainer.step(MAX_STEPS, stop_rmse=STOP_RMSE)
    return trainer.n_steps


def learn_in_phases(n_bumps, grid_size, seed):
    """Teach a fresh KAN and MLP the regions one after another; a list of n_bumps Phases."""
    kan, mlp = new_kan(grid_size, seed), new_mlp(seed)
    fixed = scale_entries(kan)
    phases = []
    for region, data in enumerate(phase_data(n_bumps, seed)):
        kan_steps = teach(kan, data, HoldFixed(Adam(lr=LEARNING_RATE), fixed))
        mlp_steps = teach(mlp, data, Adam(lr=LEARNING_RATE))
        phases.append(Phase(region, kan.copy(), mlp.copy(), kan_steps, mlp_steps,
                            region_rmse(kan, n_bumps), region_rmse(mlp, n_bumps)))
    return phases


def short(v):
    """An error for a readout: 3 significant figures, scientific when tiny or huge."""
    if not np.isfinite(v):
        return "—"
    return f"{v:.2g}" if 1e-3 <= abs(v) < 1e4 or v == 0 else f"{v:.1e}"


def _region_list(regions):
    """Regions 0-based -> '1', '1 and 2', '1 to 4'."""
    names = [str(r + 1) for r in regions]
    if len(names) == 1:
        return f"region {names[0]}"
    if len(names) == 2:
        return f"regions {names[0]} and {names[1]}"
    return f"regions {names[0]} to {names[-1]}"


# -- the explorable ---------------------------------------------------------------------------------
class ContinualLearning(pn.viewable.Viewer):
    """A KAN and an MLP taught one region at a time, replayed phase by phase."""

    n_bumps = param.Integer(default=DEFAULTS["n_bumps"], bounds=(BUMPS_MIN, BUMPS_MAX),
                            doc="Number of bumps, regions and phases.")
    grid_size = param.Selector(default=DEFAULTS["grid_size"], objects=list(GRID_CHOICES),
                               doc="Grid size G of the KAN's spline: G equal knot spans over [-1, 1].")
    seed = param.Integer(default=DEFAULTS["seed"], bounds=(0, MAX_SEED),
                         doc="Seed of the samples and of both networks' starting parameters.")
    phase = param.Integer(default=DEFAULTS["n_bumps"], bounds=(1, DEFAULTS["n_bumps"]),
                          doc="The phase being viewed: the state of both learners right after it.")

    def __init__(self, **params):
        super().__init__(**params)
        self._x = np.linspace(LOW, HIGH, CURVE_POINTS)
        self.phases = []
        self.data = []
        self.compute_seconds = float("nan")
        self._build_figures()
        self._build_controls()
        self._layout = self._build_layout()
        self._relearn()

    # -- figures, built once ----------------------------------------------------------------------
    def _build_figures(self):
        # The task (target, regions, samples) is the same in both panels, so they share sources.
        self.target_source = ColumnDataSource({"x": [], "y": []}, name="continual-target")
        self.region_source = ColumnDataSource({"x0": [], "x1": []}, name="continual-region")
        self.bounds_source = ColumnDataSource({"x": []}, name="continual-bounds")
        self.labels_source = ColumnDataSource({"x": [], "y": [], "text": [], "colour": [], "style": [],
                                               "box": []}, name="continual-labels")
        self.now_source = ColumnDataSource({"x": [], "y": []}, name="continual-samples-now")
        self.before_source = ColumnDataSource({"x": [], "y": []}, name="continual-samples-before")
        self.kan_source = ColumnDataSource({"x": [], "y": []}, name="continual-kan")
        self.mlp_source = ColumnDataSource({"x": [], "y": []}, name="continual-mlp")
        self.kan_figure, self.kan_off = self._figure("KAN", self.kan_source, TEAL, "continual-kan-figure")
        self.mlp_figure, self.mlp_off = self._figure("MLP", self.mlp_source, ORANGE, "continual-mlp-figure")

    def _figure(self, who, fit_source, colour, name):
        fig = figure(height=330, sizing_mode="stretch_width", min_width=300, x_range=Range1d(LOW - 0.03, HIGH + 0.03),
                     y_range=Range1d(*Y_RANGE), tools="", toolbar_location=None, name=name,
                     min_border_left=36, min_border_right=8)
        fig.title.text_font_size = "14px"
        fig.xaxis.axis_label = "x"
        fig.xgrid.visible = False
        fig.ygrid.grid_line_alpha = 0.35
        region = fig.vstrip(x0="x0", x1="x1", source=self.region_source, fill_color=GREY, fill_alpha=0.18,
                            line_color=None)
        fig.vspan(x="x", source=self.bounds_source, line_color=GREY, line_dash="dotted", line_width=1)
        fig.text("x", "y", text="text", source=self.labels_source, text_align="center", text_baseline="top",
                 text_font_size="12px", text_color="colour", text_font_style="style", y_offset=4,
                 background_fill_color="white", background_fill_alpha="box")
        tgt = fig.line("x", "y", source=self.target_source, line_color=PALE_TEAL, line_width=8, line_alpha=0.6,
                       line_cap="round", line_join="round")
        before = fig.scatter("x", "y", source=self.before_source, marker="circle", size=4, fill_color=GREY,
                             fill_alpha=0.55, line_color=None)
        now = fig.scatter("x", "y", source=self.now_source, marker="circle", size=5, fill_color=NEUTRAL,
                          fill_alpha=0.8, line_color="white", line_width=0.5)
        line = fig.line("x", "y", source=fit_source, line_color=colour, line_width=2.5)
        off = Label(x=HIGH, y=Y_RANGE[0], x_offset=-2, y_offset=2, text="", text_align="right",
                    text_baseline="bottom", text_font_size="11px", text_color=INK,
                    background_fill_color="white", background_fill_alpha=0.85)
        fig.add_layout(off)
        fig.add_layout(Legend(items=[LegendItem(label="target (pale band)", renderers=[tgt]),
                                     LegendItem(label=f"{who} after this phase", renderers=[line]),
                                     LegendItem(label="samples of this phase", renderers=[now]),
                                     LegendItem(label="samples of earlier phases", renderers=[before]),
                                     LegendItem(label="region being taught", renderers=[region])],
                              location="center", orientation="horizontal", ncols=2, label_text_font_size="12px",
                              spacing=2, padding=4, margin=4, border_line_alpha=0), "below")
        return fig, off

    # -- controls ---------------------------------------------------------------------------------
    def _build_controls(self):
        self.phase_slider = BoundedIntSlider.from_param(self.param.phase, label="Phase shown",
                                                      sizing_mode="stretch_width", min_width=180)
        self.back_button = pmui.Button(label="Previous phase", icon="skip_previous", variant="outlined")
        self.back_button.on_click(lambda event: self.previous_phase())
        self.next_button = pmui.Button(label="Next phase", icon="skip_next", variant="outlined")
        self.next_button.on_click(lambda event: self.next_phase())
        self.bumps_input = BoundedIntInput.from_param(self.param.n_bumps, label=f"Bumps ({BUMPS_MIN} to {BUMPS_MAX})",
                                                    width=140)
        self.grid_toggle = pmui.RadioButtonGroup.from_param(
            self.param.grid_size, options={str(G): G for G in GRID_CHOICES}, label="KAN grid size G",
            color="primary", size="small", description=None)
        self.seed_input = BoundedIntInput.from_param(self.param.seed, label="Seed", width=120)
        self.reset_button = pmui.Button(label="Reset", icon="restart_alt", variant="outlined")
        self.reset_button.on_click(lambda event: self.reset())
        self.readout = pn.pane.HTML("", css_classes=["kx-continual-readout"], sizing_mode="stretch_width",
                                    stylesheets=[_CSS])
        self.note = pn.pane.HTML("", css_classes=["kx-continual-note"], sizing_mode="stretch_width",
                                 stylesheets=[_CSS])

    def _build_layout(self):
        side = {"sizing_mode": "stretch_width", "min_width": 300, "styles": {"flex": "1 1 360px"}}
        figures = pn.FlexBox(pn.Column(self.kan_figure, **side), pn.Column(self.mlp_figure, **side),
                             sizing_mode="stretch_width")
        replay = pn.Row(self.back_button, self.phase_slider, self.next_button, sizing_mode="stretch_width",
                        align="center")
        setup = pn.FlexBox(self.bumps_input, self.grid_toggle, self.seed_input, self.reset_button,
                           align_items="flex-end", sizing_mode="stretch_width")
        # Bokeh caps a layout at its parent's height (max-height: 100%); in a page whose main area
        # scrolls, that would let a widget taller than the window overlap the text below it.
        return pn.Column(replay, figures, self.readout, self.note, setup, sizing_mode="stretch_width",
                         css_classes=["kx-continual-widget"], styles={"max-height": "none"})

    def __panel__(self):
        return self._layout

    # -- actions ----------------------------------------------------------------------------------
    def previous_phase(self):
        self.phase = max(1, self.phase - 1)

    def next_phase(self):
        self.phase = min(self.n_bumps, self.phase + 1)

    def reset(self):
        """Every control back to its default, showing the last phase."""
        self.param.update(**DEFAULTS)
        self.phase = self.n_bumps

    # -- numbers ----------------------------------------------------------------------------------
    @param.depends("n_bumps", "grid_size", "seed", watch=True)
    def _relearn(self):
        t0 = time.perf_counter()
        self.data = phase_data(self.n_bumps, self.seed)
        self.phases = learn_in_phases(self.n_bumps, self.grid_size, self.seed)
        self.compute_seconds = time.perf_counter() - t0
        n = self.n_bumps
        edges = region_edges(n)
        with pn.io.hold():
            self.target_source.data = {"x": self._x, "y": target(self._x, n)}
            self.bounds_source.data = {"x": edges[1:-1]}
            self.param.phase.bounds = (1, n)
            self.phase_slider.end = n
            if self.phase != n:
                self.phase = n  # shows it
            else:
                self._show_phase()

    def shown_phase(self):
        """The Phase record on screen."""
        return self.phases[self.phase - 1]

    # -- display ----------------------------------------------------------------------------------
    @param.depends("phase", watch=True)
    def _show_phase(self):
        p, n = self.phase, self.n_bumps
        if not self.phases or not 1 <= p <= n:
            return
        record = self.phases[p - 1]
        edges = region_edges(n)
        now = self.data[p - 1]
        before_x = [d["train_input"][:, 0] for d in self.data[:p - 1]]
        before_y = [d["train_label"][:, 0] for d in self.data[:p - 1]]
        kan_y = _safe(record.kan(self._x[:, None])[:, 0])
        mlp_y = _safe(record.mlp(self._x[:, None])[:, 0])
        centres = bump_centres(n)
        with pn.io.hold():
            self.region_source.data = {"x0": [edges[p - 1]], "x1": [edges[p]]}
            self.labels_source.data = {
                "x": centres, "y": np.full(n, Y_RANGE[1]),
                "text": [f"region {r + 1}" if n <= 5 else f"{r + 1}" for r in range(n)],
                "colour": [INK if r == p - 1 else "#78909c" for r in range(n)],
                "style": ["bold" if r == p - 1 else "normal" for r in range(n)],
                "box": [0.85 if r == p - 1 else 0.0 for r in range(n)]}
            self.now_source.data = {"x": now["train_input"][:, 0], "y": now["train_label"][:, 0]}
            self.before_source.data = {"x": np.concatenate(before_x) if before_x else np.empty(0),
                                       "y": np.concatenate(before_y) if before_y else np.empty(0)}
            self.kan_source.data = {"x": self._x, "y": kan_y}
            self.mlp_source.data = {"x": self._x, "y": mlp_y}
            self.kan_figure.title.text = f"KAN [1, 1], G = {self.grid_size}: after phase {p} of {n}"
            self.mlp_figure.title.text = (f"MLP [{', '.join(map(str, MLP_WIDTH))}], {MLP_ACTIVATION}: "
                                          f"after phase {p} of {n}")
            self.kan_off.text = _off_chart("KAN", kan_y)
            self.mlp_off.text = _off_chart("MLP", mlp_y)
            self.back_button.disabled = p == 1
            self.next_button.disabled = p == n
            self.readout.object = self._table(record)
            self.note.object = self._sentence(record)

    # -- words ------------------------------------------------------------------------------------
    def _table(self, record):
        p, n = self.phase, self.n_bumps
        head = "".join(f'<th scope="col">{r + 1}</th>' for r in range(n))

        def row(who, css, errors):
            cells = []
            for r, e in enumerate(errors):
                state = "kx-taught" if r < p - 1 else "kx-current" if r == p - 1 else "kx-unseen"
                cells.append(f'<td class="{state}" data-rmse="{e:.17g}">{short(e)}</td>')
            return f'<tr class="{css}"><th scope="row">{who}</th>{"".join(cells)}</tr>'

        return (f'<table class="kx-errors" aria-live="polite">'
                f'<caption>Error (RMSE) on each region after phase {p}</caption>'
                f'<thead><tr><th scope="col">region</th>{head}</tr></thead><tbody>'
                f'{row("KAN", "kx-kan", record.kan_errors)}{row("MLP", "kx-mlp", record.mlp_errors)}'
                f'</tbody></table>'
                f'<div class="kx-key"><span class="kx-key-current">bold: the region taught in this phase</span> · '
                f'<span class="kx-key-unseen">grey: not taught yet</span> · '
                f'<span class="kx-sizes">KAN: {record.kan.layers[0].coef.size} spline coefficients trained, its '
                f'2 scales held fixed; MLP: {record.mlp.n_params} weights and biases</span></div>')

    def _sentence(self, record):
        p, n = self.phase, self.n_bumps
        steps = (f"In phase {p} the KAN took {record.kan_steps} Adam steps and the MLP {record.mlp_steps} "
                 f"to fit {_region_list([p - 1])}")
        reached = [who for who, e in (("KAN", record.kan_errors), ("MLP", record.mlp_errors))
                   if e[p - 1] > 2 * STOP_RMSE]
        steps += (f" ({' and '.join(reached)} stopped after {MAX_STEPS} steps without getting there)."
                  if reached else ".")
        if p == 1:
            verdict = ("This is the first region, so nothing can be forgotten yet. "
                       "Step on to phase 2 and watch what happens to region 1.")
        else:
            old = list(range(p - 1))
            kan_worst, mlp_worst = record.kan_errors[:p - 1].max(), record.mlp_errors[:p - 1].max()
            verdict = (f'On {_region_list(old)}, taught earlier, the worst error is now '
                       f'<b class="kx-kan-worst">{short(kan_worst)}</b> for the KAN and '
                       f'<b class="kx-mlp-worst">{short(mlp_worst)}</b> for the MLP')
            if mlp_worst > 3 * kan_worst:
                verdict += f": the MLP's is {mlp_worst / kan_worst:.0f} times larger."
            elif kan_worst > 3 * mlp_worst:
                verdict += ": this time the KAN has forgotten more."
            else:
                verdict += "."
        timing = f' <span class="kx-time">All {n} phases computed in {self.compute_seconds:.2f} s.</span>'
        return f'<p class="kx-note">{verdict} {steps}{timing}</p>'


def _safe(y):
    """Values for the browser: finite and clipped."""
    return np.clip(np.nan_to_num(y, nan=0.0, posinf=BIG, neginf=-BIG), -BIG, BIG)


def _off_chart(who, y):
    low, high = float(np.min(y)), float(np.max(y))
    if high > Y_RANGE[1]:
        return f"↑ the {who} curve leaves the plot, up to {high:.3g}"
    if low < Y_RANGE[0]:
        return f"↓ the {who} curve leaves the plot, down to {low:.3g}"
    return ""


_CSS = """
.kx-errors { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 0.95rem; margin: 0.3rem 0; }
.kx-errors caption { text-align: left; font-weight: 600; padding-bottom: 0.2rem; }
.kx-errors th, .kx-errors td { padding: 0.15rem 0.6rem; text-align: right; }
.kx-errors thead th { border-bottom: 1px solid #b0bec5; font-weight: 500; color: #546e7a; }
.kx-errors tbody th { text-align: left; }
.kx-errors tr.kx-kan th { color: #00695c; }
.kx-errors tr.kx-mlp th { color: #e65100; }
.kx-errors td.kx-current { font-weight: 700; background: rgba(158, 158, 158, 0.18); }
.kx-errors td.kx-unseen { color: #90a4ae; font-style: italic; }
.kx-key { font-size: 0.85rem; color: #546e7a; }
.kx-key .kx-key-current { font-weight: 700; }
.kx-key .kx-key-unseen { color: #90a4ae; font-style: italic; }
.kx-note { font-size: 0.95rem; margin: 0.2rem 0; max-width: 60rem; }
.kx-note .kx-time { color: #546e7a; font-size: 0.88rem; }
"""


def _bench():
    learn_in_phases(BUMPS_MIN, GRID_CHOICES[-1], 0)  # loads the compiled kernels
    for args in ((5, 100, 0), (8, 100, 0), (5, 20, 0), (5, 200, 0)):
        t0, cpu0 = time.perf_counter(), time.process_time()
        phases = learn_in_phases(*args)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        last = phases[-1]
        print(f"n_bumps={args[0]} G={args[1]} seed={args[2]}: {seconds:.2f} s ({cpu:.2f} s CPU); KAN steps "
              f"{[ph.kan_steps for ph in phases]}, MLP steps {[ph.mlp_steps for ph in phases]}")
        print("  after the last phase, RMSE per region  KAN", np.array2string(last.kan_errors, precision=4),
              " MLP", np.array2string(last.mlp_errors, precision=3))


if __name__ == "__main__" and "--bench" in sys.argv:
    _bench()
