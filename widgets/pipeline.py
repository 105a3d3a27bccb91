"""From network to formula: sparsify, prune, snap, retrain the constants, read the law.

``PipelineExplorer`` runs the interpretability pipeline of the KAN paper on a 2-input target with
kan_core, one stage per button:

1. train a KAN [2, 5, 1] with the sparsity penalty (L1 plus entropy on the edges, ``Trainer`` with
   ``reg``), so that edges the target does not need fade away;
2. prune (``KAN.prune``): edges and hidden nodes below the importance thresholds are cut, then a
   short run without the penalty lets the survivors take up the slack;
3. snap (``KAN.auto_symbolic``): every surviving edge becomes the best formula c·f(a·x + b) + d
   from a short library of candidate functions the reader chooses;
4. retrain: training goes on with only the constants (a, b, c, d) of the snapped edges left to move;
5. read the formula (``KAN.symbolic_formula``), typeset and as text, with the test RMSE of the text
   exactly as printed, evaluated by kan_core's own formula parser.

Every training stage runs in slices from a periodic callback (``tick``: at most ``TICK_BUDGET_S``
of optimizer steps, never two ticks at once), so the page stays responsive and the diagram shows
the edges fading while the penalty works. The page opens with stage 1 already running. Everything
on screen comes from these runs; every number sent to the browser is checked to be finite.

``python -m widgets.pipeline --bench`` runs the default pipeline and prints each stage's time.
"""

import html
import io
import math
import sys
import threading
import time

import numpy as np
import panel as pn
import panel_material_ui as pmui
import param
from bokeh.models import ColumnDataSource, DataRange1d, LabelSet, Legend, LegendItem, LogTicker
from bokeh.plotting import figure

from kan_core import KAN, PRESETS, FormulaError, Trainer, make_dataset, parse_formula
from kan_core.trainer import make_optimizer

from .inputs import BoundedFloatInput, BoundedIntInput
from .network_diagram import NetworkDiagram
from .sandbox import download_button
from .theme import GREY, NEUTRAL, RED
from .training_lab import PeriodicWork, finite, on_loop, short

def lbfgs():
    return make_optimizer("lbfgs", history_size=LBFGS_MEMORY)


# The targets: preset slug -> what the reader sees and the candidate list Snap starts with.
TARGETS = {
    "exp_sin": {"label": "exp(sin(πx) + y²)", "library": ["x", "x^2", "exp", "sin"]},
    "product": {"label": "x · y", "library": ["x", "x^2"]},
}
# The functions the reader may offer to Snap, with how they are written on the buttons.
LIBRARY = {"x": "x", "x^2": "x²", "x^3": "x³", "exp": "exp", "sin": "sin", "tanh": "tanh",
           "gaussian": "gaussian"}

WIDTH = (2, 5, 1)
GRID_SIZE, SPLINE_ORDER = 5, 3
N_TRAIN, N_TEST = 1000, 1000
DATA_SEED = 0                         # the samples stay put; the seed picks the starting network
LAMB_L1, LAMB_ENTROPY = 1.0, 2.0      # the two parts of the sparsity penalty, pykan's defaults
TRAIN_STEPS = 100                     # stage 1, with the penalty
SETTLE_STEPS = 50                     # stage 2, after the cut, without the penalty
RETRAIN_STEPS = 50                    # stage 4, constants only
NODE_TH, EDGE_TH = 1e-2, 3e-2         # KAN.prune's thresholds on the importance scores
DIGITS = 4                            # decimals of the constants in the printed formula
DROP_BELOW = 1e-4                     # terms with a smaller coefficient are left out of the formula
PERIOD_MS = 50
TICK_BUDGET_S = 0.035                 # optimizer work per tick
DIAGRAM_EVERY = 3                     # redraw the diagram every 3rd tick while training
DIAGRAM_SAMPLES = 256
ROLLOVER = 5000
LBFGS_MEMORY = 50                     # curvature pairs L-BFGS keeps: with pykan's 10, retraining
                                      # the snapped constants stalls on some starting points
TINY = 1e-12                          # an RMSE on the log axis is at least TINY

STAGES = ("start", "trained", "pruned", "snapped", "tuned", "formula")
STEP_TITLES = {1: "Train", 2: "Prune", 3: "Snap", 4: "Retrain", 5: "Formula"}
ICONS = {1: "model_training", 2: "content_cut", 3: "auto_fix_high", 4: "tune", 5: "functions"}
TRAIN_INK = "#78909c"


def count_edges(model):
    """(spline edges, snapped edges) still live in a KAN."""
    splines = sum(int((layer.mask != 0).sum()) for layer in model.layers)
    snapped = sum(int((layer.symbolic_mask != 0).sum()) for layer in model.layers)
    return splines, snapped


def strong_edges(model, x, edge_th=EDGE_TH):
    """How many live edges score at least edge_th on KAN.attribute: the ones prune would keep."""
    _, scores = model.attribute(x)
    return sum(int(((s >= edge_th) & ((layer.mask != 0) | (layer.symbolic_mask != 0))).sum())
               for layer, s in zip(model.layers, scores))


def width_text(width):
    return "[" + ", ".join(str(n) for n in width) + "]"


def rmse(pred, label):
    with np.errstate(all="ignore"):
        return float(np.sqrt(np.mean((np.asarray(pred, dtype=np.float64) - label) ** 2)))


class PipelineExplorer(PeriodicWork, pn.viewable.Viewer):
    """The sparsify-prune-snap pipeline, one button per stage; see the module docstring."""

    period_ms = PERIOD_MS

    target = param.Selector(default="exp_sin", objects=list(TARGETS), doc="The law hidden in the samples.")
    seed = param.Integer(default=3, bounds=(0, 999), doc="Picks the random starting network.")
    lamb = param.Number(default=0.01, bounds=(0.0, 0.05), step=0.005,
                        doc="λ, the strength of the sparsity penalty in stage 1 (0 switches it off).")
    library = param.ListSelector(default=list(TARGETS["exp_sin"]["library"]), objects=list(LIBRARY),
                                 doc="The functions Snap may choose from.")
    stage = param.Selector(default="start", objects=list(STAGES), constant=True,
                           doc="The last stage completed.")

    def __init__(self, **params):
        self._building = True
        if "library" not in params:
            params["library"] = list(TARGETS[params.get("target", self.param.target.default)]["library"])
        super().__init__(**params)
        self._lock = threading.RLock()        # held while the model or the job changes
        self._tick_lock = threading.Lock()    # held while a tick runs: ticks never overlap
        self._closed = False
        self._callback = None
        self._generation = 0
        self._ticks = 0
        self.skipped_ticks = 0
        self._resetting = False
        self.job = None
        self.data = None
        self.model = None
        self.pruned_model = None     # the model after stage 2, kept so a new library can snap it again
        self._after_prune = None     # (steps, loss points, marks) on the loss plot after stage 2
        self.snapped = []            # [(l, i, j, name, r2)] from auto_symbolic
        self.rows = []               # one dict of figures per completed stage
        self.stopped = None          # a sentence when training stopped early
        self.formula_text = None
        self.formula_latex = None
        self.formula_rmse = None
        self.status_text = ""
        self._build_sources()
        self._build_figures()
        self._build_controls()
        self._layout = self._build_layout()
        self._start_over()
        self._building = False
        doc = pn.state.curdoc
        if doc is not None and doc.session_context is not None:
            pn.state.on_session_destroyed(self._on_session_destroyed)
        # Stage 1 starts once the page is connected (at once outside a server): changes made before
        # the browser connects would not all reach it.
        pn.state.onload(self.train)

    # -- state ------------------------------------------------------------------------------------
    @property
    def step(self):
        """The number of the last completed stage, 0 to 5."""
        return STAGES.index(self.stage)

    @property
    def running(self):
        return self.job is not None

    @property
    def callback(self):
        """The periodic callback while a stage trains, else None."""
        return self._callback

    def _set_stage(self, stage):
        with param.edit_constant(self):
            self.stage = stage

    def _start_over(self):
        """Fresh samples and an untrained network for the current settings; nothing done yet."""
        with self._lock:
            self._generation += 1
            self.job = None
            self.data = make_dataset(PRESETS[self.target], n_train=N_TRAIN, n_test=N_TEST, seed=DATA_SEED)
            self.model = KAN(list(WIDTH), grid=GRID_SIZE, k=SPLINE_ORDER, seed=self.seed)
            self.pruned_model = self._after_prune = None
            self.snapped, self.rows, self.stopped = [], [], None
            self.formula_text = self.formula_latex = self.formula_rmse = None
            self._total_steps = 0
            self._loss_points, self._marks = 1, 0    # what the loss plot holds: the start, then each step
            self._set_stage("start")
        self._stop_callback()
        self._show_start()

    @on_loop
    def _show_start(self):
        with pn.io.hold():
            self.diagram.samples = self.data["train_input"][:DIAGRAM_SAMPLES]
            self.diagram.selected = (0, 0, 0)
            self.loss_source.data = {"step": [0], "train": finite([self._rmse("train")], TINY),
                                     "test": finite([self._rmse("test")], TINY)}
            self.mark_source.data = {"step": [], "label": [], "y": [], "color": []}
            self._show_model()
            self._show_tables()
            self._say_stage()

    def _rmse(self, split, model=None):
        model = self.model if model is None else model
        return rmse(model(self.data[f"{split}_input"]), self.data[f"{split}_label"])

    # -- the stages -------------------------------------------------------------------------------
    @on_loop
    def train(self):
        """Stage 1: from a fresh network, train with the sparsity penalty (L1 + entropy)."""
        if self.running or self._closed:
            return
        if self.step > 0:
            self._start_over()
        reg = {"lamb": self.lamb, "lamb_l1": LAMB_L1, "lamb_entropy": LAMB_ENTROPY}
        self._begin(Trainer(self.model, self.data, "lbfgs", reg=reg), TRAIN_STEPS, "trained")

    @on_loop
    def prune(self):
        """Stage 2: cut what carries almost nothing, then let the rest settle without the penalty."""
        if self.running or self.stage != "trained":
            return
        start = time.perf_counter()
        with self._lock:
            before = {"width": list(self.model.width), "edges": sum(count_edges(self.model))}
            self.model = self.model.prune(node_th=NODE_TH, edge_th=EDGE_TH, x=self.data["train_input"])
            self._cut = {**before, "test": self._rmse("test"), "seconds": time.perf_counter() - start}
            self._mark("pruned", GREY)
        self._show_model()
        self._begin(Trainer(self.model, self.data, "lbfgs"), SETTLE_STEPS, "pruned")

    @on_loop
    def snap(self):
        """Stage 3: snap every live edge to its best-scoring function from the library."""
        if self.running or self.stage != "pruned":
            return
        if not self.library:
            self._say("Snap needs at least one function to choose from: tick one in the library.", "error")
            return
        start = time.perf_counter()
        with self._lock:
            self.pruned_model = self.model.copy()
            self.snapped = self.model.auto_symbolic(lib=list(self.library), x=self.data["train_input"])
            seconds = time.perf_counter() - start
            self._mark("snapped", RED)
            self._add_row(3, seconds)
            self._set_stage("snapped")
        self._show_model()
        self._show_tables()
        self._say_stage()

    @on_loop
    def retrain(self):
        """Stage 4: train again; with every edge snapped only the constants a, b, c, d can move."""
        if self.running or self.stage != "snapped":
            return
        self._begin(Trainer(self.model, self.data, lbfgs(), update_grid_every=None), RETRAIN_STEPS, "tuned")

    @on_loop
    def show_formula(self):
        """Stage 5: the formula the network now computes, and its error as printed."""
        if self.running or self.stage != "tuned":
            return
        with self._lock:
            expr = self.model.symbolic_formula().pruned(DROP_BELOW)
            self.formula_text = expr.text(DIGITS)
            self.formula_latex = expr.latex(DIGITS)
            try:
                printed = parse_formula(self.formula_text)(self.data["test_input"])
                self.formula_rmse = rmse(printed, self.data["test_label"][:, 0])
            except FormulaError:
                self.formula_rmse = math.nan
            self._set_stage("formula")
        self._show_tables()
        self._say_stage()

    @on_loop
    def reset(self):
        """Every setting back to its default, and stage 1 running again from a fresh network."""
        self._resetting = True
        try:
            self.param.update({name: list(p.default) if isinstance(p.default, list) else p.default
                               for name, p in self.param.objects("existing").items() if name not in ("name", "stage")})
        finally:
            self._resetting = False
        self._start_over()
        self.train()

    @param.depends("target", watch=True)
    def _on_target(self):
        if not self._resetting:
            self.library = list(TARGETS[self.target]["library"])
            self._on_settings()

    @param.depends("seed", "lamb", watch=True)
    @on_loop
    def _on_settings(self):
        if not self._resetting:
            self._start_over()
            self._say("New settings, so a new, untrained network. Next: press 1 · Train.")

    @param.depends("library", watch=True)
    @on_loop
    def _on_library(self):
        if self._resetting:
            return
        retraining = self.job is not None and self.job["stage"] == "tuned"
        if self.step < 3 and not retraining:
            self._show_controls()
            return
        with self._lock:
            self._generation += 1
            self.job = None
            self.model = self.pruned_model.copy()
            self.rows = [row for row in self.rows if row["step"] < 3]
            self.snapped, self.stopped = [], None
            self.formula_text = self.formula_latex = self.formula_rmse = None
            self._total_steps, n_loss, n_marks = self._after_prune
            self._loss_points, self._marks = n_loss, n_marks
            self._set_stage("pruned")
        self._stop_callback()
        self._show_back_to_pruned(n_loss, n_marks)

    @on_loop
    def _show_back_to_pruned(self, n_loss, n_marks):
        with pn.io.hold():
            self.loss_source.data = {key: list(v)[:n_loss] for key, v in self.loss_source.data.items()}
            self.mark_source.data = {key: list(v)[:n_marks] for key, v in self.mark_source.data.items()}
            self._show_model()
            self._show_tables()
            nxt = ("press 3 · Snap to snap them with the new list" if self.library
                   else "tick at least one function, then press 3 · Snap")
            self._say(f"The library changed, so the edges are splines again, as they were after pruning. "
                      f"Next: {nxt}.")

    # -- running a training stage in ticks --------------------------------------------------------
    def _begin(self, trainer, steps, stage):
        with self._lock:
            self.job = {"trainer": trainer, "steps": steps, "stage": stage, "seconds": 0.0,
                        "generation": self._generation, "shown": 0}
        self._show_controls()
        self._say_running()
        self._ensure_callback()

    def cleanup(self):
        """Stop for good (runs when the browser tab closes)."""
        self._closed = True
        with self._lock:
            self.job = None
        self._stop_callback()

    def tick(self):
        """One tick: up to TICK_BUDGET_S of optimizer steps for the running stage, then the display."""
        if self._closed or not self._tick_lock.acquire(blocking=False):
            self.skipped_ticks += 1
            return
        try:
            with self._lock:
                frame = self._advance()
            if frame is not None:
                self._show_frame(frame)
        finally:
            self._tick_lock.release()

    def finish(self):
        """Run the current training stage to its end at once (for tests, notebooks and the bench)."""
        while self.running and not self._closed:
            self.tick()

    def _advance(self):
        job = self.job
        if job is None:
            return None
        trainer = job["trainer"]
        start = time.perf_counter()
        while trainer.n_steps < job["steps"] and not trainer.diverged:
            trainer.step(1)
            if time.perf_counter() - start >= TICK_BUDGET_S:
                break
        job["seconds"] += time.perf_counter() - start
        history = trainer.history
        new = slice(job["shown"], len(history["step"]))
        steps = self._total_steps + np.asarray(history["step"][new], dtype=float)
        job["shown"] = len(history["step"])
        self._loss_points += len(steps)
        done = trainer.n_steps >= job["steps"] or trainer.diverged
        self._ticks += 1
        frame = {"generation": job["generation"], "steps": steps,
                 "train": np.asarray(history["train_rmse"][new]), "test": np.asarray(history["test_rmse"][new]),
                 "model": self.model.copy() if done or self._ticks % DIAGRAM_EVERY == 0 else None,
                 "done": done}
        if done:
            self._complete(job)
        return frame

    def _complete(self, job):
        """A training stage has run all its steps (or stopped): record it and move on."""
        trainer = job["trainer"]
        self._total_steps += trainer.n_steps
        self.job = None
        stage = job["stage"]
        if stage == "trained":
            self._add_row(1, job["seconds"], steps=trainer.n_steps,
                          strong=strong_edges(self.model, self.data["train_input"]))
        elif stage == "pruned":
            cut = self._cut
            self._add_row(2, job["seconds"], steps=trainer.n_steps, cut=cut)
            self._after_prune = (self._total_steps, self._loss_points, self._marks)
        else:
            self._add_row(4, job["seconds"], steps=trainer.n_steps)
        if trainer.diverged:
            self.stopped = (f"Training stopped early, after {trainer.n_steps} of {job['steps']} steps, because "
                            f"the numbers stopped being finite; the network was rolled back to its last good state.")
        self._set_stage(stage)

    def _add_row(self, step, seconds, steps=None, strong=None, cut=None):
        """Record the figures of a completed stage (replacing an older row of the same stage)."""
        splines, snapped = count_edges(self.model)
        live = splines + snapped
        if strong is not None:
            edges = f"{live}, {strong} strong"
        elif cut is not None:
            edges = f"{cut['edges']} → {live}"
        else:
            edges = f"{live} snapped" if snapped == live else f"{live}, {snapped} snapped"
        self.rows = [row for row in self.rows if row["step"] != step] + [{
            "step": step, "width": list(self.model.width), "edges": edges, "live": live, "strong": strong,
            "snapped": snapped, "train": self._rmse("train"), "test": self._rmse("test"),
            "cut_test": None if cut is None else cut["test"], "cut_seconds": None if cut is None else cut["seconds"],
            "seconds": seconds, "steps": steps}]

    def _mark(self, label, color):
        """A labelled line on the loss plot where an instant stage (prune, snap) changed the model,
        and the error right after the change, so the line jumps there."""
        self._loss_points += 1
        self._marks += 1
        self._show_mark({"step": float(self._total_steps), "label": label, "color": color,
                         "train": self._rmse("train"), "test": self._rmse("test")})

    # -- showing ----------------------------------------------------------------------------------
    @on_loop
    def _show_frame(self, frame):
        if frame["generation"] != self._generation or self._closed:
            return
        with pn.io.hold():
            if len(frame["steps"]):
                self.loss_source.stream({"step": frame["steps"], "train": finite(frame["train"], TINY),
                                         "test": finite(frame["test"], TINY)}, rollover=ROLLOVER)
            if frame["model"] is not None:
                self.diagram.update(frame["model"])
            if frame["done"]:
                self._stop_callback()
                if self.stage in ("trained", "pruned"):
                    self._select_strongest()
                self._show_tables()
                self._say_stage()
            else:
                self._say_running()

    def _select_strongest(self):
        """Show the first layer's most important edge large: after training, the one to look at."""
        model = self.diagram.model
        _, scores = model.attribute(self.diagram.samples)
        i, j = np.unravel_index(int(np.argmax(scores[0])), scores[0].shape)
        self.diagram.selected = (0, int(i), int(j))

    @on_loop
    def _show_mark(self, mark):
        with pn.io.hold():
            self.loss_source.stream({"step": [mark["step"]], "train": finite([mark["train"]], TINY),
                                     "test": finite([mark["test"]], TINY)}, rollover=ROLLOVER)
            self.mark_source.stream({"step": [mark["step"]], "label": [mark["label"]], "y": [8],
                                     "color": [mark["color"]]})

    @on_loop
    def _show_model(self):
        with self._lock:
            model = self.model.copy()
        self.diagram.update(model)

    @on_loop
    def _show_tables(self):
        with pn.io.hold():
            self.table.object = self._table_html()
            self.formula_pane.object = self._formula_latex()
            self.formula_notes.object = self._formula_html()
            self.latex_download.disabled = self.text_download.disabled = self.formula_text is None
            self.formula_box.css_classes = ["kx-pipe-formula"] + (["shown"] if self.step == 5 else [])
            self._show_controls()

    def _show_controls(self):
        step, busy = self.step, self.running
        for n, button in enumerate(self.buttons, start=1):
            done = step >= n
            if n == 1:
                button.param.update(disabled=busy, icon="check_circle" if done else "model_training",
                                    label="1 · Train again" if done else "1 · Train")
            else:
                button.param.update(disabled=busy or step != n - 1, icon="check_circle" if done else ICONS[n])
        self.buttons[2].disabled = self.buttons[2].disabled or not self.library

    def _say(self, text, kind="note"):
        self.status_text = text
        self.status.object = (f'<div class="kx-pipe-status kx-pipe-{kind}" role="status" aria-live="polite">'
                              f'{html.escape(text)}</div>')

    def _say_running(self):
        job = self.job
        if job is None:
            return
        done, total = job["trainer"].n_steps, job["steps"]
        if job["stage"] == "trained":
            penalty = (f"the sparsity penalty λ = {self.lamb:g}" if self.lamb > 0
                       else "no penalty at all (λ = 0)")
            text = (f"Stage 1 of 5 · Training with {penalty}: step {done} of {total}. Watch the edges that "
                    f"the target does not need grow faint.")
        elif job["stage"] == "pruned":
            text = (f"Stage 2 of 5 · Pruned to {width_text(self.model.width)}. Now {total} steps without the "
                    f"penalty let the edges that are left take up the slack: step {done} of {total}.")
        else:
            text = (f"Stage 4 of 5 · Retraining: only the constants a, b, c, d of the snapped edges can move. "
                    f"Step {done} of {total}.")
        self._say(text)

    def _say_stage(self):
        """What just happened and what to press next."""
        row = {r["step"]: r for r in self.rows}
        step = self.step
        if self.stopped:
            self._say(f"{self.stopped} Press Reset, or change λ or the seed.", "error")
            return
        if step == 0:
            self._say("A fresh, untrained network. Next: press 1 · Train.")
        elif step == 1:
            r = row[1]
            flat = float(np.std(self.data["test_label"]))
            if r["test"] > 0.5 * flat:
                self._say(f"Trained for {r['steps']} steps, but the penalty won: the test RMSE {short(r['test'])} "
                          f"is close to the {short(flat)} of always answering the average, so the network learned "
                          f"next to nothing. Lower λ or try another seed, then press 1 · Train again.", "error")
                return
            how = "with the penalty" if self.lamb > 0 else "without any penalty (λ = 0)"
            self._say(f"Trained for {r['steps']} steps {how}; test RMSE {short(r['test'])}. "
                      f"Only {r['strong']} of the {r['live']} edges carry at least {EDGE_TH:.0%} of the output's "
                      f"importance; the others are the faint ones. Next: press 2 · Prune to cut them away.")
        elif step == 2:
            r = row[2]
            self._say(f"Pruned from {width_text(self._cut['width'])} to {width_text(r['width'])}: "
                      f"{r['live']} edges are left, and after {r['steps']} more steps the test RMSE is "
                      f"{short(r['test'])}. Next: press 3 · Snap to turn each edge into a formula.")
        elif step == 3:
            self._say(f"Snapped every edge ({self._snapped_words()}); they are drawn red and dashed. Each was "
                      f"fitted on its own; together they give a test RMSE of {short(row[3]['test'])}. "
                      f"Next: press 4 · Retrain the constants.")
        elif step == 4:
            self._say(f"Constants retrained: the test RMSE went from {short(row[3]['test'])} to "
                      f"{short(row[4]['test'])}. Next: press 5 · Show the formula.")
        else:
            spread = float(np.std(self.data["test_label"]))
            off = self.formula_rmse / spread if math.isfinite(self.formula_rmse) else math.inf
            if off <= 0.01:
                parts = f"{float(f'{1 / max(off, 1e-15):.2g}'):,.0f}"
                self._say(f"Done: the printed formula is off by about one part in {parts} of f's spread (its "
                          f"standard deviation, {short(spread)}) on held-out points. Compare it with the law the "
                          f"samples came from, then try another seed, λ or library, or press Reset.", "done")
            else:
                how_far = f"{off:.0%} of f's spread" if math.isfinite(off) else "more than any number can say"
                self._say(f"The printed formula misses the held-out points by {how_far}: this run did not "
                          f"recover the law. Try another seed, λ or library, or press Reset.", "error")

    def _snapped_words(self):
        """'x → h1: sin, y → h1: x², h1 → f: exp', or counts like 'sin ×8, x ×3' for many edges."""
        if len(self.snapped) <= 4:
            return ", ".join(f"{self.diagram.edge_name(l, i, j)}: {LIBRARY.get(name, name)}"
                             for l, i, j, name, _ in self.snapped)
        names = [name for *_, name, _ in self.snapped]
        counts = sorted({name: names.count(name) for name in names}.items(), key=lambda kv: -kv[1])
        return f"{len(names)} edges: " + ", ".join(f"{LIBRARY.get(name, name)} ×{n}" for name, n in counts)

    def _table_html(self):
        head = "".join(f"<th scope='col'>{title}</th>"
                       for title in ("Stage", "Shape", "Edges", "Steps", "Test RMSE", "Time"))
        lines = []    # (data-step, done, cells)
        for n in range(1, 6):
            row = next((r for r in self.rows if r["step"] == n), None)
            title = f"{n} · {STEP_TITLES[n]}"
            if n == 5:
                done = self.formula_rmse is not None
                lines.append((n, done, [f"{title}, as printed", "", "", "", short(self.formula_rmse), ""] if done
                              else [title, "", "", "", "", ""]))
            elif row is None:
                lines.append((n, False, [title, "", "", "", "", ""]))
            elif row["cut_test"] is not None:   # the cut, then the steps that let the rest settle
                lines.append((n, True, [title, width_text(row["width"]), row["edges"], "", short(row["cut_test"]),
                                        f"{row['cut_seconds']:.2f} s"]))
                lines.append(("2b", True, ["then settle", width_text(row["width"]), "", row["steps"],
                                           short(row["test"]), f"{row['seconds']:.2f} s"]))
            else:
                lines.append((n, True, [title, width_text(row["width"]), row["edges"], row["steps"] or "",
                                        short(row["test"]), f"{row['seconds']:.2f} s"]))
        body = [f"<tr class='{'done' if done else 'todo'}' data-step='{key}'>"
                + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>" for key, done, cells in lines]
        caption = (f"What each stage did (test RMSE on {N_TEST:,} held-out points; a strong edge has at least "
                   f"{EDGE_TH:.0%} of the importance)")
        return (f"<div class='kx-pipe-scroll'><table class='kx-pipe-table'><caption>{caption}</caption>"
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")

    def _formula_latex(self):
        if self.formula_latex is None:
            return ""
        return r"$f(x, y) \approx " + self.formula_latex + "$"

    def _formula_html(self):
        target = TARGETS[self.target]["label"]
        if self.formula_text is None:
            return (f"<div class='kx-pipe-line kx-pipe-wait'>The recovered formula appears here at stage 5. "
                    f"The samples came from f(x, y) = {html.escape(target)}.</div>")
        if math.isfinite(self.formula_rmse):
            error = (f"Test RMSE of this formula, exactly as printed, on {N_TEST:,} held-out points: "
                     f"<b class='kx-pipe-rmse'>{short(self.formula_rmse)}</b>.")
        else:
            error = "This formula's values overflow on some held-out points, so it has no finite test RMSE."
        return (f"<div class='kx-pipe-line'>As text: <code class='kx-pipe-text'>{html.escape(self.formula_text)}"
                f"</code></div><div class='kx-pipe-line'>{error} The samples came from "
                f"f(x, y) = {html.escape(target)}.</div>")

    # -- sources, figures, controls, layout: built once ---------------------------------------------
    def _build_sources(self):
        self.loss_source = ColumnDataSource({"step": [], "train": [], "test": []}, name="pipeline-loss")
        self.mark_source = ColumnDataSource({"step": [], "label": [], "y": [], "color": []}, name="pipeline-marks")

    def _build_figures(self):
        fig = figure(height=260, sizing_mode="stretch_width", min_width=300, y_axis_type="log", tools="",
                     toolbar_location=None, name="pipeline-loss-figure", title="Error through the stages (log scale)",
                     min_border_left=50, min_border_right=12)
        fig.title.text_font_size = "14px"
        fig.xaxis.axis_label = "optimizer step, all stages in a row"
        fig.yaxis.axis_label = "RMSE"
        fig.yaxis.ticker = LogTicker(mantissas=[1, 2, 5], desired_num_ticks=5)
        fig.grid.grid_line_alpha = 0.35
        marks = fig.vspan(x="step", source=self.mark_source, line_color="color", line_dash="dashed",
                          line_width=1.5, line_alpha=0.9)
        fig.add_layout(LabelSet(x="step", y="y", y_units="screen", text="label", source=self.mark_source,
                                x_offset=-4, text_align="right", text_font_size="12px", text_color="color",
                                text_font_style="bold"))
        test = fig.line("step", "test", source=self.loss_source, line_color=NEUTRAL, line_width=2.5)
        train = fig.line("step", "train", source=self.loss_source, line_color=TRAIN_INK, line_width=2,
                         line_dash="dashed")
        fig.x_range = DataRange1d(renderers=[test, train], range_padding=0.02, min_interval=20, start=0)
        fig.y_range = DataRange1d(renderers=[test, train], range_padding=0.15)
        fig.add_layout(Legend(items=[LegendItem(label="test (held-out points)", renderers=[test]),
                                     LegendItem(label="train", renderers=[train]),
                                     LegendItem(label="pruned / snapped", renderers=[marks])],
                              location="center", orientation="horizontal", label_text_font_size="12px",
                              spacing=8, padding=4, margin=2, border_line_alpha=0), "below")
        self.loss_figure = fig
        self.diagram = NetworkDiagram(model=KAN(list(WIDTH), grid=GRID_SIZE, k=SPLINE_ORDER), input_names=["x", "y"],
                                      output_names=["f"], diagram_width=440, diagram_height=330,
                                      large_height=210, name="pipeline-diagram")

    def _build_controls(self):
        small = {"size": "small"}
        self.target_select = pmui.Select.from_param(
            self.param.target, label="Target", options={v["label"]: k for k, v in TARGETS.items()},
            description="", width=190, **small)
        self.seed_input = BoundedIntInput.from_param(self.param.seed, label="Seed", width=110, description="", **small)
        self.lamb_input = BoundedFloatInput.from_param(self.param.lamb, label="Penalty λ", step=0.005, width=120,
                                                     description="", **small)
        self.library_group = pmui.CheckButtonGroup.from_param(
            self.param.library, label="Snap may choose from", options={v: k for k, v in LIBRARY.items()},
            description="", size="small", sx={"& .MuiToggleButton-root": {"textTransform": "none"}})
        self.buttons = []
        for n, (label, action) in enumerate([("1 · Train", self.train), ("2 · Prune", self.prune),
                                             ("3 · Snap", self.snap), ("4 · Retrain constants", self.retrain),
                                             ("5 · Show formula", self.show_formula)], start=1):
            button = pmui.Button(label=label, icon=ICONS[n], variant="contained",
                                 color="error" if n == 3 else "primary", description="",
                                 css_classes=[f"kx-pipe-step{n}"])
            button.on_click(lambda event, action=action: action())
            self.buttons.append(button)
        self.reset_button = pmui.Button(label="Reset", icon="restart_alt", variant="outlined", description="")
        self.reset_button.on_click(lambda event: self.reset())
        self.status = pn.pane.HTML("", css_classes=["kx-pipe-status-pane"], sizing_mode="stretch_width",
                                   stylesheets=[_CSS], margin=(0, 10))
        self.table = pn.pane.HTML("", css_classes=["kx-pipe-stages"], sizing_mode="stretch_width",
                                  stylesheets=[_CSS], margin=(4, 10))
        self.formula_pane = pn.pane.LaTeX("", css_classes=["kx-pipe-latex"], sizing_mode="stretch_width",
                                          styles={"font-size": "1.3rem", "overflow-x": "auto"}, margin=(0, 0, 4, 0))
        self.formula_notes = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[_CSS], margin=0)
        self.latex_download = download_button(lambda: io.StringIO(f"{self.formula_latex}\n"), "kan-formula.tex",
                                              "Formula as LaTeX", "functions", disabled=True)
        self.text_download = download_button(lambda: io.StringIO(f"{self.formula_text}\n"), "kan-formula.txt",
                                             "Formula as text", "notes", disabled=True)

    def _build_layout(self):
        settings = pn.FlexBox(self.target_select, self.seed_input, self.lamb_input, self.library_group,
                              align_items="flex-end", sizing_mode="stretch_width", css_classes=["kx-pipe-settings"])
        steps = pn.FlexBox(*self.buttons, self.reset_button, align_items="center", sizing_mode="stretch_width",
                           css_classes=["kx-pipe-buttons"])
        self.formula_box = pn.Column(self.formula_pane, self.formula_notes,
                                     pn.FlexBox(self.latex_download, self.text_download, align_items="center"),
                                     sizing_mode="stretch_width",
                                     css_classes=["kx-pipe-formula"], stylesheets=[_CSS], margin=(4, 10))
        diagram = pn.Column(self.diagram.diagram_pane, self.diagram.picker, self.diagram.large_pane, width=450,
                            css_classes=["kx-pipe-diagram"])
        right = pn.Column(pn.pane.Bokeh(self.loss_figure, sizing_mode="stretch_width"), self.table,
                          sizing_mode="stretch_width", min_width=320, styles={"flex": "1 1 380px"})
        return pn.Column(settings, steps, self.status, self.formula_box,
                         pn.FlexBox(diagram, right, sizing_mode="stretch_width"),
                         sizing_mode="stretch_width", css_classes=["kx-pipe"],
                         # Panel caps a Column at its parent's height; this one is taller than a window.
                         styles={"max-height": "none"})

    def __panel__(self):
        return self._layout


_CSS = """
.kx-pipe-status { font-size: 0.98rem; padding: 0.35rem 0.7rem; border-left: 4px solid #607d8b;
                  background: rgba(96, 125, 139, 0.10); border-radius: 4px; }
.kx-pipe-error { border-left-color: #b71c1c; background: rgba(183, 28, 28, 0.08); }
.kx-pipe-done { border-left-color: #00897b; background: rgba(0, 137, 123, 0.08); }
.kx-pipe-line { font-size: 0.95rem; line-height: 1.5; margin: 0.15rem 0; }
.kx-pipe-wait { opacity: 0.8; }
.kx-pipe-text { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9rem;
                overflow-wrap: anywhere; user-select: all; }
:host(.kx-pipe-formula) { border: 1px solid rgba(127, 127, 127, 0.4); border-radius: 6px; padding: 0.3rem 0.8rem; }
:host(.kx-pipe-formula.shown) { border: 2px dashed rgba(211, 47, 47, 0.6); }
.kx-pipe-scroll { overflow-x: auto; }
.kx-pipe-table { border-collapse: collapse; width: 100%; font-size: 0.88rem; font-variant-numeric: tabular-nums; }
.kx-pipe-table caption { text-align: left; font-size: 0.9rem; opacity: 0.85; padding-bottom: 0.2rem; }
.kx-pipe-table th { text-align: left; font-weight: 600; border-bottom: 2px solid rgba(127, 127, 127, 0.5);
                    padding: 0.15rem 0.45rem; }
.kx-pipe-table td { padding: 0.15rem 0.45rem; border-bottom: 1px solid rgba(127, 127, 127, 0.2);
                    white-space: nowrap; }
.kx-pipe-table tr.todo td { opacity: 0.5; }
.kx-pipe-table tr[data-step='2b'] td:first-child { padding-left: 1.6rem; }
"""


def bench():
    """Run the default pipeline once without a browser; print and return each stage's seconds."""
    explorer = PipelineExplorer()
    timings = {}
    for name, action in (("train", None), ("prune", explorer.prune), ("snap", explorer.snap),
                         ("retrain", explorer.retrain), ("formula", explorer.show_formula)):
        start = time.perf_counter()
        if action is not None:
            action()
        explorer.finish()
        timings[name] = time.perf_counter() - start
        print(f"{name:>8}: {timings[name]:6.2f} s", flush=True)
    print(f"formula: {explorer.formula_text}   test RMSE as printed: {short(explorer.formula_rmse)}")
    explorer.cleanup()
    return timings


if __name__ == "__main__":
    if "--bench" in sys.argv[1:]:
        bench()
        sys.exit(0)
    print("Usage: python -m widgets.pipeline --bench")
    sys.exit(2)
