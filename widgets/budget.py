"""Parameter budget: test error against parameter count for a KAN and an MLP on the same target.

The curves come from real training runs of ``kan_core.KAN`` and ``kan_core.MLP`` with
``kan_core.Trainer`` (fixed seeds), cached in ``assets/budget.json``. Remake that file with

    python -m widgets.budget --write-asset

(two worker processes; about 80 CPU seconds of training, under three minutes of wall time on a
busy two-core machine). The file records the exact settings, the versions and the time it took.

``BudgetExplorer`` reads the file once per instance, checks it, and lets the reader move a
parameter budget along both curves and switch between a smooth 2-D target and a messy 4-D one.
"""

import argparse
import html
import json
import math
import multiprocessing
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import panel as pn
import panel_material_ui as pmui
import param
from bokeh.models import (BasicTicker, BoxAnnotation, ColorBar, ColumnDataSource, FixedTicker, HoverTool, Label,
                          LabelSet, LinearColorMapper, LogColorMapper, LogTicker, PrintfTickFormatter, Range1d, Span)
from bokeh.palettes import Cividis256, Inferno256
from bokeh.plotting import figure

from kan_core import KAN, MLP, PRESETS, Trainer, make_dataset
from kan_core.data import Target

from .inputs import BoundedIntInput
from .theme import GREY, NEUTRAL, ORANGE, TEAL

ASSET = Path(__file__).resolve().parents[1] / "assets" / "budget.json"
COMMAND = "python -m widgets.budget --write-asset"
FORMAT = 1
HEATMAP_N = 40  # predictions are stored on a HEATMAP_N x HEATMAP_N grid over the first two inputs


def _messy(X):
    # A slanted crease, a product that a ramp switches on, and a twisted wiggle: none of it splits
    # into smooth functions of one input each, and the crease and the ramp are not smooth at all.
    return (np.abs(X[:, 0] + X[:, 1] - X[:, 2] + 0.3)
            + X[:, 2] * np.maximum(0.0, X[:, 1] - X[:, 3])
            + 0.5 * np.sin(3.0 * X[:, 0] * X[:, 3]))


MESSY = Target(
    "messy_4d", "|x1 + x2 - x3 + 0.3| + x3 max(0, x2 - x4) + 0.5 sin(3 x1 x4)",
    r"|x_1 + x_2 - x_3 + 0.3| + x_3 \max(0,\, x_2 - x_4) + \tfrac12 \sin(3 x_1 x_4)", 4, _messy)

TARGETS = {"exp_sin": PRESETS["exp_sin"], "messy_4d": MESSY}


@dataclass(frozen=True)
class Experiment:
    """Every setting of one comparison; the script stores it verbatim in the JSON."""

    key: str
    title: str
    target: str                  # a key of TARGETS
    n_train: int
    n_test: int
    noise: float                 # relative noise on the train labels (make_dataset's meaning)
    data_seed: int
    kan_width: tuple
    kan_k: int
    kan_grids: tuple             # the grid-extension staircase: train, refine, train, ...
    kan_steps: int               # L-BFGS steps at each grid
    mlp_widths: tuple
    mlp_activation: str
    mlp_steps: int               # L-BFGS steps for each MLP (the KAN's total over its staircase)
    optimizer: str
    model_seed: int
    slice_values: tuple          # the inputs beyond the first two are held at these for the heatmaps


EXPERIMENTS = (
    Experiment(
        key="smooth", title="Smooth 2-D target", target="exp_sin", n_train=1000, n_test=1000,
        noise=0.0, data_seed=0, kan_width=(2, 5, 1), kan_k=3, kan_grids=(3, 5, 10, 20, 50),
        kan_steps=50,
        mlp_widths=((2, 4, 1), (2, 8, 1), (2, 16, 1), (2, 32, 1), (2, 64, 1),
                    (2, 4, 4, 1), (2, 8, 8, 1), (2, 16, 16, 1), (2, 32, 32, 1)),
        mlp_activation="tanh", mlp_steps=250, optimizer="lbfgs", model_seed=0, slice_values=()),
    Experiment(
        key="messy", title="Messy 4-D target", target="messy_4d", n_train=2000, n_test=1000,
        noise=0.1, data_seed=0, kan_width=(4, 5, 1), kan_k=3, kan_grids=(3, 5, 10, 20),
        kan_steps=50,
        mlp_widths=((4, 4, 1), (4, 8, 1), (4, 16, 1), (4, 32, 1), (4, 64, 1),
                    (4, 4, 4, 1), (4, 8, 8, 1), (4, 16, 16, 1), (4, 32, 32, 1)),
        mlp_activation="tanh", mlp_steps=200, optimizer="lbfgs", model_seed=0,
        slice_values=(0.5, -0.5)),
)
EXPERIMENT = {e.key: e for e in EXPERIMENTS}


# -- producing the data ----------------------------------------------------------------------
def dataset(exp):
    """The train/test data of an experiment (pykan's dataset dict)."""
    return make_dataset(TARGETS[exp.target], exp.n_train, exp.n_test, exp.noise, exp.data_seed)


def heatmap_inputs(exp, n=HEATMAP_N):
    """(n*n, n_vars) inputs: x1 along columns, x2 along rows (row-major, x2 slowest), the other
    inputs held at exp.slice_values."""
    target = TARGETS[exp.target]
    (lo1, hi1), (lo2, hi2) = target.ranges[:2]
    g1, g2 = np.meshgrid(np.linspace(lo1, hi1, n), np.linspace(lo2, hi2, n))
    columns = [g1.ravel(), g2.ravel()] + [np.full(n * n, v) for v in exp.slice_values]
    return np.stack(columns, axis=1)


def grad_seconds(model, data, repeat=20):
    """Fastest of `repeat` timings of one loss-and-gradient evaluation on the whole training set
    (the fastest, because other work on a busy machine only ever adds time)."""
    x, y = data["train_input"], data["train_label"]
    model.loss_and_flat_grad(x, y)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        model.loss_and_flat_grad(x, y)
        times.append(time.perf_counter() - t0)
    return min(times)


class _Clock:
    """Wall and CPU seconds since it was made (CPU time is not inflated by other busy processes)."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self):
        return {"train_seconds": time.perf_counter() - self.wall, "train_cpu_seconds": time.process_time() - self.cpu}


def _point(trainer, exp, clock, **shape):
    model = trainer.model
    metrics = trainer.metrics()
    return dict(shape, n_params=model.n_params, test_rmse=metrics["test_rmse"],
                train_rmse=metrics["train_rmse"], steps=trainer.n_steps, **clock.read(),
                grad_seconds=grad_seconds(model, trainer.data),
                pred=_rounded(model(heatmap_inputs(exp))[:, 0]))


def _rounded(values, digits=10):
    """Floats cut to `digits` significant digits: a smaller file, still far finer than any error shown."""
    return [float(f"{v:.{digits}g}") for v in values]


def run_kan(exp, grids=None):
    """Train the KAN up the grid staircase; one point (dict) per grid, in order."""
    data = dataset(exp)
    trainer = Trainer(KAN(list(exp.kan_width), grid=exp.kan_grids[0], k=exp.kan_k, seed=exp.model_seed),
                      data, exp.optimizer, seed=exp.model_seed)
    points = []
    for i, grid in enumerate(exp.kan_grids if grids is None else grids):
        clock = _Clock()
        if i > 0:
            trainer.extend_grid(grid)
        trainer.step(exp.kan_steps)
        if trainer.diverged:
            raise RuntimeError(f"KAN {exp.kan_width} at G={grid} diverged: {trainer.reason}")
        points.append(_point(trainer, exp, clock, grid=grid))
    return points


def run_mlp(exp, width):
    """Train one MLP of this width; returns its point (dict)."""
    clock = _Clock()
    trainer = Trainer(MLP(list(width), exp.mlp_activation, seed=exp.model_seed), dataset(exp),
                      exp.optimizer, seed=exp.model_seed)
    trainer.step(exp.mlp_steps)
    if trainer.diverged:
        raise RuntimeError(f"MLP {list(width)} diverged: {trainer.reason}")
    return _point(trainer, exp, clock, width=list(width))


def _job(job):
    kind, key, width = job
    exp = EXPERIMENT[key]
    return run_kan(exp) if kind == "kan" else run_mlp(exp, width)


def compute(processes=2):
    """Run every experiment (in `processes` worker processes) and return the JSON document."""
    start = time.perf_counter()
    jobs = [("kan", e.key, None) for e in EXPERIMENTS]
    jobs += [("mlp", e.key, w) for e in EXPERIMENTS for w in e.mlp_widths]
    # One BLAS thread per worker: the runs are then reproducible number for number, and two
    # workers on two cores do not fight over threads. Spawned workers read these at start-up.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = "1"
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        # the slow jobs first, so the two workers finish together
        order = sorted(range(len(jobs)), key=lambda i: -_cost_guess(jobs[i]))
        results = dict(zip(order, pool.map(_job, [jobs[i] for i in order], chunksize=1)))
    experiments = {}
    for e in EXPERIMENTS:
        target = TARGETS[e.target]
        x = heatmap_inputs(e)
        experiments[e.key] = {
            "title": e.title,
            "settings": _jsonable(asdict(e)),
            "target": {"slug": target.slug, "label": target.label, "latex": target.latex,
                       "n_vars": target.n_vars, "ranges": [list(r) for r in target.ranges]},
            "heatmap": {"n": HEATMAP_N, "x1": x[:HEATMAP_N, 0].tolist(),
                        "x2": x[::HEATMAP_N, 1].tolist(), "slice_values": list(e.slice_values),
                        "target": _rounded(target.fn(x))},
            "kan": [], "mlp": [],
        }
    for i, (kind, key, _) in enumerate(jobs):
        if kind == "kan":
            experiments[key]["kan"] = results[i]
        else:
            experiments[key]["mlp"].append(results[i])
    return {
        "format": FORMAT,
        "command": COMMAND,
        "created": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "seconds": time.perf_counter() - start,
        "train_cpu_seconds": sum(p["train_cpu_seconds"] for e in experiments.values()
                                 for kind in ("kan", "mlp") for p in e[kind]),
        "processes": processes,
        "environment": {"python": platform.python_version(), "numpy": np.__version__,
                        "machine": platform.machine(), "cpus": os.cpu_count()},
        "heatmap_n": HEATMAP_N,
        "experiments": experiments,
    }


def _cost_guess(job):
    kind, key, width = job
    exp = EXPERIMENT[key]
    if kind == "kan":
        return exp.n_train * exp.kan_steps * len(exp.kan_grids) * exp.kan_width[1] * exp.kan_width[0] * 4
    return exp.n_train * exp.mlp_steps * MLP.count_params(list(width))


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def write_asset(path=ASSET, processes=2):
    """Compute everything and write it to `path`; returns the document."""
    doc = compute(processes)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    return doc


# -- reading and checking the cached file -----------------------------------------------------
class AssetError(ValueError):
    """The cached file is missing or malformed; the message says what is wrong."""


def _require(condition, what):
    if not condition:
        raise AssetError(what)


def _finite_list(value, length, what, positive=False):
    _require(isinstance(value, list) and len(value) == length, f"{what} must be a list of {length} numbers")
    _require(all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value),
             f"{what} must contain only numbers")
    arr = np.asarray(value, dtype=np.float64)
    _require(np.all(np.isfinite(arr)), f"{what} contains NaN or infinite values")
    if positive:
        _require(np.all(arr > 0), f"{what} must be positive")
    return arr


def _whole(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _check_point(p, n_cells, n_vars, where, kind):
    _require(isinstance(p, dict), f"{where} must be an object")
    needed = ("n_params", "test_rmse", "train_rmse", "grad_seconds", "pred")
    needed += ("grid",) if kind == "kan" else ("width",)
    missing = [k for k in needed if k not in p]
    _require(not missing, f"{where} is missing {', '.join(missing)}")
    _require(_whole(p["n_params"]) and p["n_params"] > 0, f"{where}: n_params must be a whole number above 0")
    for key in ("test_rmse", "train_rmse", "grad_seconds"):
        _finite_list([p[key]], 1, f"{where}: {key}", positive=key == "test_rmse")
    _finite_list(p["pred"], n_cells, f"{where}: pred")
    if kind == "kan":
        _require(_whole(p["grid"]) and p["grid"] > 0, f"{where}: grid must be a whole number above 0")
    else:
        width = p["width"]
        _require(isinstance(width, list) and len(width) >= 2 and all(_whole(w) and w > 0 for w in width)
                 and width[0] == n_vars and width[-1] == 1,
                 f"{where}: width must be a list of layer sizes from {n_vars} inputs to 1 output")
        _require(MLP.count_params(width) == p["n_params"], f"{where}: n_params does not match its width")


def validate(doc):
    """Check a loaded document; raise AssetError naming the first problem, else return it."""
    _require(isinstance(doc, dict), "the file must hold a JSON object")
    missing = [k for k in ("format", "heatmap_n", "experiments", "seconds") if k not in doc]
    _require(not missing, f"it is missing {', '.join(missing)}")
    _require(doc["format"] == FORMAT, f"its format is {doc['format']!r}, this code reads format {FORMAT}")
    n = doc["heatmap_n"]
    _require(_whole(n) and 2 <= n <= 200, "heatmap_n must be a whole number from 2 to 200")
    experiments = doc["experiments"]
    _require(isinstance(experiments, dict), "experiments must be an object")
    for key in EXPERIMENT:
        _require(key in experiments, f"it has no results for the {key} target")
        exp = experiments[key]
        where = f"the {key} target"
        _require(isinstance(exp, dict), f"{where} must be an object")
        missing = [k for k in ("title", "settings", "target", "heatmap", "kan", "mlp") if k not in exp]
        _require(not missing, f"{where} is missing {', '.join(missing)}")
        target = exp["target"]
        _require(isinstance(target, dict) and _whole(target.get("n_vars")) and target["n_vars"] >= 2
                 and isinstance(target.get("label"), str), f"{where}: target needs a label and n_vars >= 2")
        heat = exp["heatmap"]
        _require(isinstance(heat, dict) and heat.get("n") == n, f"{where}: heatmap.n must equal heatmap_n ({n})")
        for axis in ("x1", "x2"):
            _finite_list(heat.get(axis), n, f"{where}: heatmap.{axis}")
        _finite_list(heat.get("target"), n * n, f"{where}: heatmap.target")
        for kind in ("kan", "mlp"):
            points = exp[kind]
            _require(isinstance(points, list) and points, f"{where}: {kind} must be a non-empty list of points")
            for i, p in enumerate(points):
                _check_point(p, n * n, target["n_vars"], f"{where}: {kind} point {i}", kind)
    return doc


def load_asset(path=ASSET):
    """(document, None) for a good file, or (None, a sentence saying what is wrong).

    In the document returned, every heatmap (the target's and each point's pred) is an (n, n)
    float array, row i being x2 = heatmap.x2[i].
    """
    path = Path(path)
    advice = f"Remake it with `{COMMAND}`."
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return None, f"The cached training results ({path.name}) were not found. {advice}"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, f"The cached training results ({path.name}) could not be read: {err}. {advice}"
    try:
        validate(doc)
    except AssetError as err:
        return None, f"The cached training results ({path.name}) cannot be used: {err}. {advice}"
    n = doc["heatmap_n"]
    for exp in doc["experiments"].values():
        exp["heatmap"]["target"] = np.asarray(exp["heatmap"]["target"], dtype=np.float64).reshape(n, n)
        for p in exp["kan"] + exp["mlp"]:
            p["pred"] = np.asarray(p["pred"], dtype=np.float64).reshape(n, n)
    return doc, None


# -- comparing the two curves ------------------------------------------------------------------
def best_within(points, budget):
    """The point with the lowest test RMSE among those with n_params <= budget (None if none)."""
    fitting = [p for p in points if p["n_params"] <= budget]
    return min(fitting, key=lambda p: p["test_rmse"]) if fitting else None


def fewest_params_to_reach(points, rmse):
    """The smallest model whose test RMSE is at most rmse (None if none gets there)."""
    reaching = [p for p in points if p["test_rmse"] <= rmse]
    return min(reaching, key=lambda p: p["n_params"]) if reaching else None


def shape_name(exp, kind, p):
    """'shape [2, 5, 1], grid G = 20' for a KAN point, 'shape [2, 16, 16, 1]' for an MLP point."""
    if kind == "kan":
        return f"shape {exp['settings']['kan_width']}, grid G = {p['grid']}"
    return f"shape {p['width']}"


def fmt_rmse(value):
    """0.063 above 0.01, else 3.1e-4."""
    if value >= 1e-2:
        return f"{value:.2g}"
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def ratio_sentence(kan, mlp):
    """Which model's error is how many times the other's, in words."""
    ratio = kan["test_rmse"] / mlp["test_rmse"]
    if 0.8 <= ratio <= 1.25:
        return "The two errors are about the same (within 25%)."
    if ratio < 1:
        return f"The MLP's error is {1 / ratio:.1f} times the KAN's."
    return f"The KAN's error is {ratio:.1f} times the MLP's."


def cost_sentence(kan, mlp, n_train):
    """The measured time of one gradient for each model, and the ratio per parameter, in words."""
    per_param = (kan["grad_seconds"] / kan["n_params"]) / (mlp["grad_seconds"] / mlp["n_params"])
    if 0.8 <= per_param <= 1.25:
        compared = "about the same time per parameter"
    elif per_param > 1:
        compared = f"{per_param:.1f} times as long per parameter for the KAN"
    else:
        compared = f"{1 / per_param:.1f} times as long per parameter for the MLP"
    return (f"Time for one gradient over the {n_train:,} training points: KAN {kan['grad_seconds'] * 1e3:.2g} ms, "
            f"MLP {mlp['grad_seconds'] * 1e3:.2g} ms ({compared}).")


NOTE_BUDGET = 1000


def comparison_note(exp):
    """The honest summary of one experiment, computed from its numbers."""
    kan, mlp = best_within(exp["kan"], NOTE_BUDGET), best_within(exp["mlp"], NOTE_BUDGET)
    parts = []
    if kan and mlp:
        parts.append(f"With up to {NOTE_BUDGET:,} parameters, the best KAN reaches a test RMSE of "
                     f"{fmt_rmse(kan['test_rmse'])} and the best MLP {fmt_rmse(mlp['test_rmse'])}. "
                     + ratio_sentence(kan, mlp))
    best = {"KAN": min(exp["kan"], key=lambda p: p["test_rmse"]),
            "MLP": min(exp["mlp"], key=lambda p: p["test_rmse"])}
    weaker = max(best, key=lambda name: best[name]["test_rmse"])
    stronger = "MLP" if weaker == "KAN" else "KAN"
    target = best[weaker]["test_rmse"]
    match = fewest_params_to_reach(exp[stronger.lower()], target)
    parts.append(f"The {weaker}'s best error anywhere on its curve is {fmt_rmse(target)} "
                 f"(with {best[weaker]['n_params']:,} parameters); the {stronger} gets that low with "
                 f"{match['n_params']:,}.")
    return " ".join(parts)


def nice_budgets(low, high):
    """Budgets 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, ... covering [low, high]."""
    out = []
    for decade in range(int(math.floor(math.log10(low))), int(math.ceil(math.log10(high))) + 1):
        out += [m * 10 ** decade for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8)]
    out = [int(round(v)) for v in out]
    first = max(v for v in out if v <= low)
    last = min(v for v in out if v >= high)
    return [v for v in out if first <= v <= last]


# -- the explorable ----------------------------------------------------------------------------
DEFAULT_TARGET = "smooth"
DEFAULT_BUDGET = 400
BUDGET_BOUNDS = (10, 100_000)
EMPTY_IMAGE = np.full((1, 1), np.nan)
HEAT_SIZE = 170  # width of one heatmap figure in pixels (the ones with a colour bar are 50 wider)
INK = "#37474f"  # the budget's words, on a white box (the line itself is NEUTRAL)


class BudgetExplorer(pn.viewable.Viewer):
    """Test RMSE against parameter count for a KAN and MLPs, with a parameter budget to spend.

    ``target`` picks the smooth 2-D or the messy 4-D comparison; ``budget`` is the largest
    parameter count allowed. The best model of each kind within the budget is highlighted on the
    curves and its fit is shown as a heatmap (the first two inputs; any others held fixed).
    """

    target = param.Selector(default=DEFAULT_TARGET, objects=list(EXPERIMENT),
                            doc="'smooth' (exp(sin(pi x) + y^2)) or 'messy' (a 4-D target with noise)")
    budget = param.Integer(default=DEFAULT_BUDGET, bounds=BUDGET_BOUNDS, doc="the most parameters a model may have")

    def __init__(self, path=ASSET, **params):
        super().__init__(**params)
        self._doc, self.problem = load_asset(path)
        self._build_figures()
        self._controls = self._build_controls()
        self._update()

    # -- derived values -----------------------------------------------------------------------
    @property
    def experiment(self):
        """The current target's part of the cached document (None if the file was unusable)."""
        return None if self._doc is None else self._doc["experiments"][self.target]

    @param.depends("target", "budget")
    def chosen(self):
        """{'kan': point or None, 'mlp': point or None}: the best of each within the budget."""
        exp = self.experiment
        if exp is None:
            return {"kan": None, "mlp": None}
        return {kind: best_within(exp[kind], self.budget) for kind in ("kan", "mlp")}

    @param.depends("target", "budget")
    def readout(self):
        """Plain-text lines about the models chosen at this budget (or the file's problem)."""
        exp = self.experiment
        if exp is None:
            return [self.problem]
        chosen = self.chosen()
        lines = [f"Budget: {self.budget:,} parameters."]
        for kind, label in (("kan", "KAN"), ("mlp", "MLP")):
            p = chosen[kind]
            if p is None:
                smallest = min(q["n_params"] for q in exp[kind])
                lines.append(f"{label}: none fits; the smallest here has {smallest:,} parameters.")
            else:
                lines.append(f"Best {label} that fits: {shape_name(exp, kind, p)}; {p['n_params']:,} parameters; "
                             f"test RMSE {fmt_rmse(p['test_rmse'])}.")
        kan, mlp = chosen["kan"], chosen["mlp"]
        if kan and mlp:
            lines.append(ratio_sentence(kan, mlp))
            lines.append(cost_sentence(kan, mlp, exp["settings"]["n_train"]))
        return lines

    @param.depends("target")
    def note(self):
        """The honest summary of the current comparison, computed from the cached numbers."""
        exp = self.experiment
        return "" if exp is None else comparison_note(exp)

    # -- building, once ------------------------------------------------------------------------
    def _build_figures(self):
        self._curve_src = {kind: ColumnDataSource(_curve_data([]), name=f"budget_{kind}")
                           for kind in ("kan", "mlp1", "mlp2")}
        self._chosen_src = ColumnDataSource(_chosen_data([]), name="budget_chosen")
        fig = figure(x_axis_type="log", y_axis_type="log", height=380, min_width=300,
                     x_range=Range1d(10, 2000), y_range=Range1d(1e-4, 1),
                     sizing_mode="stretch_width", title="Test error against parameter count",
                     x_axis_label="parameters (log scale)", y_axis_label="test RMSE (log scale)",
                     tools="pan,wheel_zoom,reset,save", toolbar_location="right", name="budget_curves")
        styles = {
            "kan": ("KAN, grid extension", TEAL, "solid", "diamond", 13),
            "mlp1": ("MLP, 1 hidden layer", ORANGE, "solid", "circle", 9),
            "mlp2": ("MLP, 2 hidden layers", ORANGE, "dashed", "square", 9),
        }
        hovered = []
        for kind, (label, color, dash, marker, size) in styles.items():
            src = self._curve_src[kind]
            fig.line("n_params", "test_rmse", source=src, line_color=color, line_width=2.5,
                     line_dash=dash, legend_label=label)
            hovered.append(fig.scatter("n_params", "test_rmse", source=src, marker=marker, size=size,
                                       fill_color=color, line_color="white", legend_label=label))
        self._over = BoxAnnotation(left=DEFAULT_BUDGET, fill_color=GREY, fill_alpha=0.15, line_alpha=0)
        self._line = Span(location=DEFAULT_BUDGET, dimension="height", line_color=NEUTRAL, line_width=2,
                          line_dash="dashed")
        fig.add_layout(self._over)
        fig.add_layout(self._line)
        fig.scatter("x", "y", source=self._chosen_src, marker="marker", size=22, fill_color="color",
                    fill_alpha=0.35, line_color=NEUTRAL, line_width=2.5)
        fig.add_layout(LabelSet(x="x", y="y", text="text", source=self._chosen_src, x_offset=-14, y_offset="dy",
                                text_align="right", text_baseline="middle", text_font_size="12px",
                                text_color=INK, background_fill_color="white", background_fill_alpha=0.85))
        self._budget_label = Label(x=DEFAULT_BUDGET, y=1, x_offset=6, y_offset=-6, text="", text_baseline="top",
                                   text_font_size="12px", text_font_style="bold", text_color=INK,
                                   background_fill_color="white", background_fill_alpha=0.85)
        fig.add_layout(self._budget_label)
        # The hover tool needs no toolbar button, and the toolbar sits on the right, where the title
        # leaves it room: a toolbar too short for its buttons folds the rest into Bokeh's "⋮"
        # button, which a screen reader cannot name.
        fig.add_tools(HoverTool(renderers=hovered, visible=False,
                                tooltips=[("model", "@shape"), ("parameters", "@n_params"),
                                          ("test RMSE", "@test_rmse{0.00e}")]))
        # plain numbers at 1-2-5 steps read more easily than powers of ten for students
        fig.xaxis.ticker = FixedTicker(ticks=[m * 10 ** e for e in range(1, 6) for m in (1, 2, 5)])
        fig.xaxis.formatter = PrintfTickFormatter(format="%d")
        fig.yaxis.ticker = FixedTicker(ticks=[])
        fig.yaxis.formatter = PrintfTickFormatter(format="%g")
        fig.legend.location = "bottom_left"
        fig.legend.background_fill_alpha = 0.85
        fig.toolbar.logo = None
        self.curves = fig

        self._fit_mapper = LinearColorMapper(palette=Cividis256)
        self._err_mapper = LogColorMapper(palette=Inferno256)
        self._heat_src = {name: ColumnDataSource({"image": [EMPTY_IMAGE]}, name=f"budget_heat_{name}")
                          for name in ("target", "kan", "mlp", "kan_err", "mlp_err")}
        self._heat = {}
        for name in self._heat_src:
            mapper = self._err_mapper if name.endswith("_err") else self._fit_mapper
            self._heat[name] = self._heatmap(name, mapper, colorbar=name in ("mlp", "mlp_err"))

    def _heatmap(self, name, mapper, colorbar):
        fig = figure(width=HEAT_SIZE + 50 if colorbar else HEAT_SIZE, height=HEAT_SIZE + 15, x_range=(-1, 1),
                     y_range=(-1, 1), tools="", toolbar_location=None, name=f"budget_heatmap_{name}",
                     x_axis_label="x₁", y_axis_label="x₂")
        fig.image(image="image", x=-1, y=-1, dw=2, dh=2, source=self._heat_src[name], color_mapper=mapper)
        fig.title.text_font_size = "12px"
        fig.axis.major_label_text_font_size = "10px"
        fig.xaxis.ticker = fig.yaxis.ticker = [-1, 0, 1]
        if colorbar:
            fig.add_layout(ColorBar(color_mapper=mapper, width=10, major_label_text_font_size="10px",
                                    ticker=LogTicker() if isinstance(mapper, LogColorMapper) else BasicTicker(
                                        desired_num_ticks=4)), "right")
        return fig

    def _build_controls(self):
        self._target_switch = pmui.RadioButtonGroup.from_param(
            self.param.target, label="Target",
            options={e.title: e.key for e in EXPERIMENTS})
        # One set of stops for both targets: the slider keeps its place when the target changes.
        sizes = [p["n_params"] for exp in (self._doc or {"experiments": {}})["experiments"].values()
                 for kind in ("kan", "mlp") for p in exp[kind]]
        stops = nice_budgets(min(sizes), max(sizes)) if sizes else [DEFAULT_BUDGET]
        self._slider = pmui.DiscreteSlider(label="Parameter budget (log scale)", options=stops,
                                           value=min(stops, key=lambda v: abs(v - DEFAULT_BUDGET)), width=340)
        self._slider.param.watch(self._on_slider, "value")
        self._entry = BoundedIntInput.from_param(self.param.budget, label="Budget (type a number)", width=170)
        reset = pmui.Button(label="Reset", icon="restart_alt", variant="outlined")
        reset.on_click(lambda _: self.reset())
        return pn.FlexBox(self._target_switch, self._slider, self._entry, reset, sizing_mode="stretch_width",
                          align_items="center")

    def reset(self):
        self.param.update(target=DEFAULT_TARGET, budget=DEFAULT_BUDGET)

    def _on_slider(self, event):
        if event.new != self._nearest_option():
            self.budget = int(event.new)

    def _nearest_option(self):
        options = self._slider.options
        return min(options, key=lambda v: abs(math.log(v) - math.log(self.budget)))

    # -- updating in place ---------------------------------------------------------------------
    @param.depends("target", "budget", watch=True)
    def _update(self):
        exp = self.experiment
        with pn.io.hold():
            if exp is None:
                self._show_nothing()
                return
            if self._slider.value != self._nearest_option():
                self._slider.value = self._nearest_option()
            self._update_curves(exp)
            self._update_heatmaps(exp)

    def _update_curves(self, exp):
        kan_width = exp["settings"]["kan_width"]
        depth = [len(p["width"]) - 2 for p in exp["mlp"]]
        self._curve_src["kan"].data = _curve_data(exp["kan"], lambda p: f"KAN {kan_width}, G = {p['grid']}")
        self._curve_src["mlp1"].data = _curve_data([p for p, d in zip(exp["mlp"], depth) if d == 1],
                                                   lambda p: f"MLP {p['width']}")
        self._curve_src["mlp2"].data = _curve_data([p for p, d in zip(exp["mlp"], depth) if d >= 2],
                                                   lambda p: f"MLP {p['width']}")
        self._chosen_src.data = _chosen_data([(kind, p) for kind, p in self.chosen().items() if p is not None])
        sizes = self._slider.options
        rmse = [p["test_rmse"] for kind in ("kan", "mlp") for p in exp[kind]]
        decades = range(math.floor(math.log10(min(rmse))) - 1, math.ceil(math.log10(max(rmse))) + 1)
        steps = (1,) if math.log10(max(rmse) / min(rmse)) > 2 else (1, 2, 5)
        self.curves.yaxis.ticker.ticks = [m * 10.0 ** e for e in decades for m in steps]
        x_range, y_range = self.curves.x_range, self.curves.y_range
        x_range.update(start=sizes[0] / 1.15, end=sizes[-1] * 1.15, reset_start=sizes[0] / 1.15,
                       reset_end=sizes[-1] * 1.15)
        y_range.update(start=min(rmse) / 2.5, end=max(rmse) * 2.5, reset_start=min(rmse) / 2.5,
                       reset_end=max(rmse) * 2.5)
        self._line.location = self._over.left = self._budget_label.x = self.budget
        self._budget_label.update(y=y_range.end, text=f"budget {self.budget:,}")
        self.curves.title.text = f"Test error against parameter count ({exp['title']})"

    def _update_heatmaps(self, exp):
        heat = exp["heatmap"]
        target = heat["target"]
        self._fit_mapper.update(low=float(target.min()), high=float(target.max()))
        every = np.array([p["test_rmse"] for kind in ("kan", "mlp") for p in exp[kind]])
        self._err_mapper.update(low=10.0 ** math.floor(math.log10(every.min()) - 0.5),
                                high=10.0 ** math.ceil(math.log10(every.max())))
        self._heat["target"].title.text = "Target"
        self._heat_src["target"].data = {"image": [target]}
        for kind, p in self.chosen().items():
            label = kind.upper()
            if p is None:
                pred = err = EMPTY_IMAGE
                self._heat[kind].title.text = f"{label}: none in budget"
                self._heat[f"{kind}_err"].title.text = f"{label} error: none"
            else:
                pred = p["pred"]
                err = np.maximum(np.abs(pred - target), 1e-300)
                self._heat[kind].title.text = f"{label}, {p['n_params']:,} params"
                self._heat[f"{kind}_err"].title.text = f"{label} |error|"
            self._heat_src[kind].data = {"image": [pred]}
            self._heat_src[f"{kind}_err"].data = {"image": [err]}

    def _show_nothing(self):
        for src in self._curve_src.values():
            src.data = _curve_data([])
        self._chosen_src.data = _chosen_data([])
        for src in self._heat_src.values():
            src.data = {"image": [EMPTY_IMAGE]}

    # -- layout --------------------------------------------------------------------------------
    def _lines_html(self):
        lines = self.readout()
        if self.experiment is None:
            return f'<div class="kx-budget-problem" role="alert">{html.escape(self.problem, quote=False)}</div>'
        body = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
        return f'<ul class="kx-budget-readout" aria-live="polite">{body}</ul>'

    def _caption_html(self):
        exp = self.experiment
        fixed = [] if exp is None else exp["heatmap"]["slice_values"]
        held = ("" if not fixed else '<p class="kx-budget-caption">Shown over x₁ and x₂ with '
                + " and ".join(f"x{chr(0x2083 + i)} = {v:g}".replace("-", "−") for i, v in enumerate(fixed))
                + ".</p>")
        return _CAPTION + held

    def _note_html(self):
        text = self.note()
        return f'<p class="kx-budget-note"><b>What the numbers say:</b> {html.escape(text)}</p>' if text else ""

    def __panel__(self):
        readout = pn.pane.HTML(pn.bind(lambda *_: self._lines_html(), self.param.target, self.param.budget),
                               sizing_mode="stretch_width", stylesheets=[_CSS])
        note = pn.pane.HTML(pn.bind(lambda _: self._note_html(), self.param.target),
                            sizing_mode="stretch_width", stylesheets=[_CSS])
        # Plain rows of Bokeh panes: inside a pn.FlexBox (or as one Bokeh gridplot) the heatmaps never
        # finished their first render in the lesson page, which then stayed behind its loading overlay.
        caption = pn.pane.HTML(pn.bind(lambda _: self._caption_html(), self.param.target), stylesheets=[_CSS],
                               width=HEAT_SIZE - 10, margin=(20, 5, 5, 5))
        heat = pn.Column(pn.Row(*[pn.pane.Bokeh(self._heat[k], margin=2) for k in ("target", "kan", "mlp")]),
                         pn.Row(caption, *[pn.pane.Bokeh(self._heat[k], margin=2) for k in ("kan_err", "mlp_err")]),
                         width=3 * HEAT_SIZE + 50 + 12)
        words = pn.Column(readout, note, sizing_mode="stretch_width", styles={"flex": "1 1 300px"})
        return pn.Column(self._controls, pn.pane.Bokeh(self.curves, sizing_mode="stretch_width"),
                         pn.Row(heat, words, sizing_mode="stretch_width", styles={"flex-wrap": "wrap"},
                                css_classes=["kx-budget-bottom"]),
                         # Bokeh caps a column at its parent's height (max-height: 100%); this one can
                         # be taller than the window, and capped it would overlap the text after it.
                         sizing_mode="stretch_width", css_classes=["kx-budget-explorer"],
                         styles={"max-height": "none"})


_CSS = """
.kx-budget-readout { margin: 0.2rem 0; padding-left: 1.2rem; font-size: 0.98rem; line-height: 1.45; }
.kx-budget-note { margin: 0.3rem 0; padding: 0.5rem 0.8rem; border-left: 4px solid #607d8b;
                  background: rgba(96, 125, 139, 0.12); border-radius: 4px; font-size: 0.98rem; }
.kx-budget-caption { font-size: 0.85rem; line-height: 1.3; opacity: 0.8; margin: 0 0 0.6rem 0; }
.kx-budget-problem { padding: 0.5rem 0.8rem; border-left: 4px solid #607d8b;
                     background: rgba(96, 125, 139, 0.12); border-radius: 4px; }
"""


_CAPTION = """<p class="kx-budget-caption">Top row: what each highlighted model computes.</p>
<p class="kx-budget-caption">Bottom row: the size of its error, |fit − target|, on a log colour scale:
brighter is worse.</p>"""


def _chosen_data(rows):
    """The highlighted points: rows of (kind, point). The lower one is labelled below itself and
    the other above, to keep the two labels apart."""
    lowest = min((p["test_rmse"] for _, p in rows), default=None)
    return {
        "x": [p["n_params"] for _, p in rows],
        "y": [p["test_rmse"] for _, p in rows],
        "color": [TEAL if kind == "kan" else ORANGE for kind, _ in rows],
        "marker": ["diamond" if kind == "kan" else "circle" for kind, _ in rows],
        "text": [f"best {kind.upper()}: {p['n_params']:,} parameters, RMSE {fmt_rmse(p['test_rmse'])}"
                 for kind, p in rows],
        "dy": [-22 if p["test_rmse"] == lowest and len(rows) > 1 else 22 for _, p in rows],
    }


def _curve_data(points, shape=lambda p: ""):
    return {"n_params": [p["n_params"] for p in points], "test_rmse": [p["test_rmse"] for p in points],
            "shape": [shape(p) for p in points]}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m widgets.budget", description=__doc__.split("\n")[0])
    parser.add_argument("--write-asset", action="store_true", help=f"train every model and write {ASSET.name}")
    parser.add_argument("--out", type=Path, default=ASSET, help="where to write (default: %(default)s)")
    parser.add_argument("--processes", type=int, default=2, help="worker processes (default: 2)")
    args = parser.parse_args(argv)
    if not args.write_asset:
        parser.print_help()
        return 0
    doc = write_asset(args.out, args.processes)
    print(f"Wrote {args.out} in {doc['seconds']:.1f} s "
          f"(training used {doc['train_cpu_seconds']:.1f} CPU seconds in all).")
    for key, exp in doc["experiments"].items():
        print(f"\n{exp['title']}:")
        for p in exp["kan"]:
            print(f"  KAN {EXPERIMENT[key].kan_width} G={p['grid']:<3} {p['n_params']:6d} params  "
                  f"test RMSE {p['test_rmse']:.3e}  ({p['train_seconds']:.1f} s)")
        for p in exp["mlp"]:
            print(f"  MLP {str(p['width']):<14} {p['n_params']:6d} params  test RMSE {p['test_rmse']:.3e}  "
                  f"({p['train_seconds']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
