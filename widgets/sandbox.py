"""The sandbox: the training lab with every tool of the lesson available at once.

``Sandbox`` is a ``TrainingLab`` (the same targets, network settings, optimizers, play / pause /
step, grid extension and MLP comparison) that adds:

- the whole network drawn large, every edge's curve in its box, and any edge shown on its own;
- a sparsity penalty λ while training (``Trainer.reg``: λ times the L1 size plus twice the entropy
  of the edges, the KAN paper's penalty), so that edges the target does not need fade away;
- Prune (``KAN.prune`` with the node and edge thresholds): the diagram thins out and the count of
  parameters in use drops;
- Snap all (``KAN.auto_symbolic`` with the chosen library: edges turn red and dashed) and Unsnap all;
- the formula the network computes once every edge in use is snapped (``KAN.symbolic_formula``),
  typeset and as text, with the test RMSE of the text exactly as printed;
- downloads of the model as JSON (``KAN.to_dict`` plus the settings that made its samples) and of
  the formula as LaTeX and as text, and an import that checks a model file through and through
  (``read_model_file``) before anything changes; a file that cannot be used gets one sentence
  saying what is wrong and what is allowed, and the model in use stays as it was.

After a prune, snap or unsnap, training goes on from the same step with the changed network. Every
setting is a parameter (``SETTINGS`` lists them), which is also what a model file records.
Nothing read from a file is ever evaluated as code: JSON is parsed by ``json`` and a formula only
by kan_core's whitelisting parser.

``python -m widgets.sandbox --bench`` prints how long Prune, Snap all, export and import take.
"""

import html
import io
import json
import math
import sys
import time

import numpy as np
import panel as pn
import panel_material_ui as pmui
import param

from kan_core import KAN, SYMBOLIC_LIB, FormulaError, parse_formula
from kan_core.kan import check_width

from .inputs import BoundedFloatInput
from .network_diagram import NetworkDiagram
from .training_lab import (FORMULA, MAX_HIDDEN, MAX_LAYERS, N_TEST, TARGET_LABELS, TrainingLab, build_dataset,
                           lab_group, lab_head, on_loop, resolve_target, short, width_text)

MODEL_FORMAT = "kan-explorables-model"
MODEL_VERSION = 1
MAX_FILE_BYTES = 2_000_000        # a model file may be at most 2 MB (the largest lab network needs ~0.7 MB)
UPLOAD_LIMIT = 20 * 1024 * 1024   # the browser itself refuses larger files before sending them
MAX_TEXT = 500                    # longest text setting (kan_core's parser reads at most 500 characters)
DIGITS = 4                        # decimals of the constants in the printed formula
DROP_BELOW = 1e-4                 # terms with a smaller coefficient are left out of the formula
FORMULA_EVERY = 30                # while training, the formula is redone every 30th tick (about 1 s)
MAX_TYPESET = 2000                # longer formulas (big networks) are offered as files, not typeset
DIAGRAM_WIDTH, DIAGRAM_HEIGHT = 600, 430
LARGE_WIDTH = 360

# The functions Snap may choose from, as the reader sees them; pykan's names underneath.
SNAP_LABELS = {"x": "x", "x^2": "x²", "x^3": "x³", "x^4": "x⁴", "1/x": "1/x", "1/x^2": "1/x²", "sqrt": "√x",
               "exp": "exp", "log": "log", "sin": "sin", "cos": "cos", "tan": "tan", "tanh": "tanh",
               "abs": "|x|", "sgn": "sign", "arcsin": "arcsin", "arctan": "arctan", "gaussian": "gaussian",
               "0": "0 (drop the edge)"}
# The default leaves out "0": it wins whenever a curve fits anything else less than almost perfectly.
DEFAULT_LIBRARY = ("x", "x^2", "x^3", "exp", "sin", "tanh", "gaussian")

SANDBOX_DEFAULTS = {"lamb": 0.0, "node_th": 1e-2, "edge_th": 3e-2}   # and snap_library = DEFAULT_LIBRARY

HOW_TO_SAVE = "as “Download model (JSON)” saves it"


class ModelFileError(ValueError):
    """A model file that cannot be used; the message is the sentence the page shows."""


# -- reading a model file: pure functions, no widget state ---------------------------------------------
def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ModelFileError("The file holds a number too large for the computer; only finite numbers are allowed.")
    return value


def _no_constant(name):
    raise ModelFileError(f"The file contains {name}; only finite numbers are allowed.")


def parse_json(raw):
    """bytes (or text) -> the JSON value, refusing oversized, non-text, non-JSON and non-finite input."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if not isinstance(raw, (bytes, bytearray)):
        raise ModelFileError(f"No file content arrived; choose a .json file {HOW_TO_SAVE}.")
    if len(raw) > MAX_FILE_BYTES:
        raise ModelFileError(f"The file is {len(raw) / 1e6:.1f} MB; a model file may be at most "
                             f"{MAX_FILE_BYTES / 1e6:.0f} MB.")
    try:
        text = bytes(raw).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ModelFileError(f"The file is not text; a model file is the JSON text {HOW_TO_SAVE}.") from None
    try:
        return json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)
    except ModelFileError:
        raise
    except json.JSONDecodeError as error:
        raise ModelFileError(f"The file is not valid JSON ({error.msg} at line {error.lineno}, column "
                             f"{error.colno}); a model file is the JSON {HOW_TO_SAVE}.") from None
    except (ValueError, RecursionError):   # e.g. a whole number of thousands of digits, or lists nested too deep
        raise ModelFileError(f"The file is not JSON this app can read; a model file is the JSON {HOW_TO_SAVE}.") \
            from None


def setting_rule(p):
    """What a setting may be, in words, from its parameter."""
    if isinstance(p, param.Boolean):
        return "true or false"
    if isinstance(p, param.ListSelector):
        return "a list of names from " + ", ".join(p.objects)
    if isinstance(p, param.Selector):
        return "one of " + ", ".join(p.objects)
    if isinstance(p, param.Integer):
        return f"a whole number from {p.bounds[0]:,} to {p.bounds[1]:,}"
    if isinstance(p, param.Number):
        return f"a number from {p.bounds[0]:g} to {p.bounds[1]:g}"
    return f"text of at most {MAX_TEXT} characters"


def setting_allowed(p, value):
    """Whether ``value`` may be given to parameter ``p`` (a JSON value, checked before param sees it)."""
    if isinstance(p, param.Boolean):
        return isinstance(value, bool)
    if isinstance(p, param.ListSelector):
        return isinstance(value, list) and all(isinstance(v, str) and v in p.objects for v in value)
    if isinstance(p, param.Selector):
        return isinstance(value, str) and value in p.objects
    if isinstance(value, bool):
        return False
    if isinstance(p, param.Integer):
        return isinstance(value, int) and p.bounds[0] <= value <= p.bounds[1]
    if isinstance(p, param.Number):
        return isinstance(value, (int, float)) and math.isfinite(value) and p.bounds[0] <= value <= p.bounds[1]
    return isinstance(value, str) and len(value) <= MAX_TEXT


def check_lab_width(width):
    """The model's layer sizes as a list, if the lab can show and train such a network."""
    try:
        width = check_width(width)
    except ValueError as error:
        raise ModelFileError(str(error)) from None
    hidden = width[1:-1]
    if width[0] not in (1, 2) or width[-1] != 1 or len(hidden) > MAX_LAYERS or max(hidden, default=1) > MAX_HIDDEN:
        raise ModelFileError(f"The model has width {width}; this lab takes 1 or 2 inputs, up to {MAX_LAYERS} hidden "
                             f"layers of 1 to {MAX_HIDDEN} nodes, and 1 output.")
    return width


def build_model(raw_model, grid_bounds, order_bounds):
    """kan_core's validated KAN.from_dict, after the checks that keep it small, plus the lab's limits."""
    if not isinstance(raw_model, dict):
        raise ModelFileError(f"The field \"model\" must be an object {HOW_TO_SAVE}.")
    if "width" not in raw_model:
        raise ModelFileError("The model file is missing the field 'width'.")
    check_lab_width(raw_model["width"])
    for key, kinds, what in (("base", str, "a name"), ("grid_eps", (int, float), "a number")):
        if key in raw_model and (not isinstance(raw_model[key], kinds) or isinstance(raw_model[key], bool)):
            raise ModelFileError(f"The model's field '{key}' must be {what}; got {json.dumps(raw_model[key])[:40]}.")
    try:
        model = KAN.from_dict(raw_model)
    except ValueError as error:   # kan_core's own sentence: what is wrong and what is allowed
        raise ModelFileError(str(error)) from None
    except (TypeError, KeyError, IndexError, AttributeError):
        raise ModelFileError(f"A field of the model holds the wrong kind of value; every field must be {HOW_TO_SAVE} "
                             f"(numbers, lists of numbers and function names).") from None
    grids = {layer.G for layer in model.layers}
    G = model.G
    if len(grids) != 1 or not grid_bounds[0] <= G <= grid_bounds[1]:
        raise ModelFileError(f"The model's layers have grid sizes {sorted(grids)}; this lab takes one grid size "
                             f"from {grid_bounds[0]} to {grid_bounds[1]} for every layer.")
    if not order_bounds[0] <= model.k <= order_bounds[1]:
        raise ModelFileError(f"The model's spline order is k = {model.k}; this lab takes k from {order_bounds[0]} "
                             f"to {order_bounds[1]}.")
    for l, layer in enumerate(model.layers):
        for name in ("mask", "symbolic_mask"):
            if not np.all((getattr(layer, name) == 0) | (getattr(layer, name) == 1)):
                raise ModelFileError(f"Layer {l} field '{name}' must hold only 0 and 1.")
    return model


def read_model_file(raw, params):
    """Check a model file completely; returns (settings, model) or raises ModelFileError.

    raw: the file's bytes. params: the Parameters of the settings a file may hold (name -> Parameter).
    settings holds only names of ``params`` with allowed values; hidden, grid_size and spline_order
    always follow the model. A bare ``KAN.to_dict()`` (no settings) is accepted too.
    """
    doc = parse_json(raw)
    if isinstance(doc, dict) and doc.get("kind") == "kan" and "format" not in doc:
        doc = {"format": MODEL_FORMAT, "version": MODEL_VERSION, "settings": {}, "model": doc}
    if not isinstance(doc, dict) or doc.get("format") != MODEL_FORMAT or "model" not in doc:
        raise ModelFileError(f"The file is JSON but not a model file: expected an object with \"format\": "
                             f"\"{MODEL_FORMAT}\" and a \"model\" field, {HOW_TO_SAVE}.")
    if doc.get("version") != MODEL_VERSION:
        raise ModelFileError(f"The file is format version {json.dumps(doc.get('version'))[:20]}; this app reads "
                             f"version {MODEL_VERSION}.")
    raw_settings = doc.get("settings", {})
    if not isinstance(raw_settings, dict):
        raise ModelFileError("The field \"settings\" must be an object of named settings.")
    settings = {}
    for name, value in raw_settings.items():
        if name not in params:
            continue    # a setting this version does not know changes nothing
        if not setting_allowed(params[name], value):
            raise ModelFileError(f"The setting \"{name}\" is {json.dumps(value)[:40]}; allowed: "
                                 f"{setting_rule(params[name])}.")
        settings[name] = value
    model = build_model(doc["model"], params["grid_size"].bounds, params["spline_order"].bounds)
    settings.update(hidden=", ".join(str(n) for n in model.width[1:-1]), grid_size=model.G,
                    spline_order=model.k)
    return settings, model


# -- what the network has become ---------------------------------------------------------------------------
def edge_usage(model):
    """(spline edges, snapped edges, all edges, parameters in use) of a KAN.

    A spline edge uses its G + k coefficients and two scales, a snapped edge its a, b, c, d; a
    pruned edge uses none (its numbers stay in the arrays but nothing moves them).
    """
    spline = sum(int(np.count_nonzero(layer.mask)) for layer in model.layers)
    snapped = sum(int(np.count_nonzero(layer.symbolic_mask)) for layer in model.layers)
    total = sum(layer.mask.size for layer in model.layers)
    per_spline = model.layers[0].coef.shape[2] + 2
    return spline, snapped, total, spline * per_spline + 4 * snapped


def printed_rmse(text, x, y):
    """The test RMSE of a formula's text as printed, read back by kan_core's parser; nan if its values
    overflow, None if the parser cannot read it (longer than the parser reads)."""
    try:
        formula = parse_formula(text)
    except FormulaError:
        return None
    if formula.n_vars > x.shape[1]:
        return None
    with np.errstate(all="ignore"):
        pred = np.broadcast_to(np.asarray(formula(x[:, :formula.n_vars]), dtype=np.float64), (x.shape[0],))
        error = float(np.sqrt(np.mean((pred - y[:, 0]) ** 2)))
    return error if math.isfinite(error) else math.nan


def recovered_formula(model, x, y):
    """{'text', 'latex', 'rmse', 'as_printed'} of the formula a fully snapped KAN computes, or None
    while an edge in use is still a spline. rmse is that of the text as printed on (x, y) (nan if it
    overflows); for a text too long for the parser, that of the formula with unrounded constants."""
    if any(np.any(layer.mask != 0) for layer in model.layers):
        return None
    expr = model.symbolic_formula().pruned(DROP_BELOW)
    text = expr.text(DIGITS)
    rmse = printed_rmse(text, x, y)
    as_printed = rmse is not None
    if not as_printed:
        with np.errstate(all="ignore"):
            rmse = float(np.sqrt(np.mean((expr(x)[:, 0] - y[:, 0]) ** 2)))
    return {"text": text, "latex": expr.latex(DIGITS), "rmse": rmse if math.isfinite(rmse) else math.nan,
            "as_printed": as_printed}


def hidden_text(width):
    return ", ".join(str(n) for n in width[1:-1])


class Sandbox(TrainingLab):
    """The training lab plus pruning, snapping, the recovered formula and model files; see the module docstring."""

    lamb = param.Number(default=SANDBOX_DEFAULTS["lamb"], bounds=(0.0, 1.0),
                        doc="Weight λ of the sparsity penalty while training (0: no penalty).")
    node_th = param.Number(default=SANDBOX_DEFAULTS["node_th"], bounds=(0.0, 1.0),
                           doc="Prune removes hidden nodes whose importance is at most this.")
    edge_th = param.Number(default=SANDBOX_DEFAULTS["edge_th"], bounds=(0.0, 1.0),
                           doc="Prune cuts edges whose importance is below this.")
    snap_library = param.ListSelector(default=list(DEFAULT_LIBRARY), objects=list(SYMBOLIC_LIB), instantiate=True,
                                      doc="The functions Snap all may choose from (kan_core's library names).")

    def __init__(self, **params):
        self.recovered = None          # {'text', 'latex', 'rmse'} of the formula on screen, or None
        self._formula_key = ()         # what the formula panes show, to redraw them only on a change
        self.import_text = ""          # the last sentence about a model file
        super().__init__(**params)

    # -- controls, layout ---------------------------------------------------------------------------
    def _make_diagram(self):
        diagram = NetworkDiagram(model=KAN([2, 1], grid=3), diagram_width=DIAGRAM_WIDTH, diagram_height=DIAGRAM_HEIGHT,
                                 large_height=240, name="sandbox-diagram")
        # The whole network takes the full width; the one edge shown large sits beside the error plot.
        diagram.figure.update(sizing_mode="stretch_width", min_width=300)
        diagram.diagram_pane.sizing_mode = "stretch_width"
        diagram.large.width = LARGE_WIDTH
        diagram.picker.width = LARGE_WIDTH - 10
        return diagram

    def _build_controls(self):
        super()._build_controls()
        small = {"size": "small"}
        self.lamb_input = BoundedFloatInput.from_param(
            self.param.lamb, label="Sparsity penalty λ", step=0.001, width=145,
            description="0 trains on the error alone; try 0.002 to 0.01 to make unneeded edges fade.", **small)
        self.node_input = BoundedFloatInput.from_param(
            self.param.node_th, label="Node threshold", step=0.01, width=145,
            description="Prune removes a hidden node whose importance is at most this (0 to 1).", **small)
        self.edge_input = BoundedFloatInput.from_param(
            self.param.edge_th, label="Edge threshold", step=0.01, width=145,
            description="Prune cuts an edge whose importance is below this (0 to 1).", **small)
        self.library_choice = pmui.MultiChoice.from_param(
            self.param.snap_library, label="Snap may choose from", options={v: k for k, v in SNAP_LABELS.items()},
            description="", sizing_mode="stretch_width")
        self.prune_button = pmui.Button(label="Prune", icon="content_cut", variant="outlined")
        self.prune_button.on_click(lambda event: self.prune())
        self.snap_button = pmui.Button(label="Snap all", icon="auto_fix_high", color="error", variant="outlined")
        self.snap_button.on_click(lambda event: self.snap_all())
        self.unsnap_button = pmui.Button(label="Unsnap all", icon="undo", variant="outlined", disabled=True)
        self.unsnap_button.on_click(lambda event: self.unsnap_all())
        # No tooltips on these buttons: a tooltip would replace the label as the button's accessible name.
        self.model_download = download_button(self.model_file, "kan-model.json", "Download model (JSON)", "download")
        self.import_input = pmui.FileInput(
            accept=".json,application/json", label="Import model (JSON)", uploaded_label="Import model (JSON)",
            max_file_size=UPLOAD_LIMIT, variant="outlined", description="")
        self.import_input.param.watch(self._on_import_file, "value")
        self.latex_download = download_button(lambda: io.StringIO(self.recovered["latex"] + "\n" if self.recovered else ""),
                                        "kan-formula.tex", "Formula as LaTeX", "functions", disabled=True)
        self.text_download = download_button(lambda: io.StringIO(self.recovered["text"] + "\n" if self.recovered else ""),
                                       "kan-formula.txt", "Formula as text", "text_snippet", disabled=True)
        self.formula_pane = pn.pane.LaTeX("", sizing_mode="stretch_width", css_classes=["kx-sandbox-latex"],
                                          styles={"font-size": "1.25rem", "overflow-x": "auto"}, margin=(0, 5))
        self.formula_notes = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[_CSS],
                                          css_classes=["kx-sandbox-formula-notes"], margin=(0, 5))
        self.file_message = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[_CSS],
                                         css_classes=["kx-sandbox-file-message"], margin=(0, 5))

    def _arrange(self):
        self.setup_box.append(lab_group(lab_head("Sparsify, prune, snap"), self.lamb_input,
                                        pn.Row(self.node_input, self.edge_input), self.library_choice))
        tools = pn.FlexBox(self.prune_button, self.snap_button, self.unsnap_button, align_items="center",
                           sizing_mode="stretch_width", css_classes=["kx-sandbox-tools"])
        edge = pn.Column(lab_head("One edge, large (tap a box or pick it here)"), self.diagram.picker,
                         self.diagram.large_pane, width=LARGE_WIDTH + 10)
        # Every figure sits in a FlexBox, as in the lab: one placed straight in the Column never
        # finished drawing here once the page's theme restyled it (the page never went idle).
        network = pn.FlexBox(pn.Column(lab_head("The whole network: every edge's learned curve"),
                                       self.diagram.diagram_pane, sizing_mode="stretch_width"),
                             sizing_mode="stretch_width", css_classes=["kx-sandbox-network"])
        formula = pn.Column(lab_head("The formula the network computes"), self.formula_pane, self.formula_notes,
                            pn.FlexBox(self.latex_download, self.text_download, align_items="center"),
                            sizing_mode="stretch_width", css_classes=["kx-sandbox-formula"])
        files = pn.Column(lab_head("Save the model, or load one"),
                          pn.FlexBox(self.model_download, self.import_input, align_items="center"),
                          self.file_message, sizing_mode="stretch_width", css_classes=["kx-sandbox-files"])
        return pn.Column(self.setup_box, self.transport_box, tools, self.tuning_box, self.stats, self.message,
                         self.fit_views, pn.FlexBox(self.loss_box, edge, sizing_mode="stretch_width"), network,
                         formula, files, sizing_mode="stretch_width", css_classes=["kx-lab", "kx-sandbox-lab"],
                         # taller than a window: not capped at the parent's height (see TrainingLab)
                         styles={"max-height": "none"})

    # -- training with the penalty ----------------------------------------------------------------------
    def _penalty(self):
        return {"lamb": self.lamb} if self.lamb > 0 else {}

    def _make_trainer(self, model):
        trainer = super()._make_trainer(model)
        trainer.reg = self._penalty()
        return trainer

    @param.depends("lamb", watch=True)
    @on_loop
    def _set_penalty(self):
        if self.trainer is None:
            return
        with self._lock:
            self.trainer.reg = self._penalty()
        if not self.playing and not self.problem:
            self._say(self._ready_sentence())

    def _ready_sentence(self):
        sentence = super()._ready_sentence()
        if self.lamb > 0:
            sentence = sentence[:-1] + f", under a sparsity penalty λ = {self.lamb:g}."
        return sentence

    def _carry_on(self, model):
        """Go on training ``model`` (the network after a prune, snap or unsnap) from the same step."""
        old = self.trainer
        trainer = self._make_trainer(model)
        trainer.n_steps, trainer.history = old.n_steps, old.history
        self.trainer = trainer
        self._generation += 1      # a frame of the network before, still on its way, is dropped
        self._keeping_network = True
        try:
            self.hidden = hidden_text(model.width)
        finally:
            self._keeping_network = False

    # -- frames carry the edges in use and the formula ---------------------------------------------------
    def _frame(self, metrics, new_steps=True, with_model=True, check_stop=False):
        frame = super()._frame(metrics, new_steps=new_steps, with_model=with_model, check_stop=check_stop)
        model = self.trainer.model
        frame["usage"] = edge_usage(model)
        if not self.playing or (with_model and self._frames % FORMULA_EVERY == 0):
            frame["formula"] = recovered_formula(model, self.data["test_input"], self.data["test_label"])
        return frame

    def _stat_cells(self, frame):
        """The lab's readouts, with the parameters actually in use and a count of the edges in use."""
        spline, snapped, total, in_use = frame["usage"]
        stored = frame["metrics"]["n_params"]
        cells = []
        for cell in super()._stat_cells(frame):
            if cell[0] != "params":
                cells.append(cell)
                continue
            note = width_text(frame["width"]) + (f", {stored:,} stored" if stored != in_use else "")
            cells.append(("params", "KAN parameters in use", f"{in_use:,}", note))
            cells.append(("edges", "Edges in use", f"{spline + snapped} of {total}",
                          f"{snapped} snapped to formulas" if snapped else "all learned curves"))
        return cells

    @on_loop
    def _show(self, frame):
        super()._show(frame)
        if frame["generation"] != self._generation or self._closed:
            return
        spline, snapped, _, _ = frame["usage"]
        self.snap_button.disabled = spline == 0
        self.unsnap_button.disabled = snapped == 0
        if "formula" in frame:
            self._show_formula(frame["formula"], frame["metrics"]["test_rmse"], spline)

    def _show_formula(self, formula, network_rmse, splines):
        key = (None if formula is None else (formula["text"], formula["rmse"]), splines, self.n_vars)
        if key == self._formula_key:
            return
        self._formula_key = key
        self.recovered = formula
        self.latex_download.disabled = self.text_download.disabled = formula is None
        if formula is None:
            self.formula_pane.object = ""
            self.formula_notes.object = (
                f"<p class='kx-formula-wait'>No formula yet: {splines} edge{'s are' if splines != 1 else ' is'} still "
                f"a learned curve. Press <b>Snap all</b> to turn every edge in use into a formula (prune first to "
                f"keep it short).</p>")
            return
        lhs = "f(x)" if self.n_vars == 1 else "f(x, y)"
        long = len(formula["latex"]) > MAX_TYPESET
        self.formula_pane.object = "" if long else f"${lhs} \\approx {formula['latex']}$"
        if not math.isfinite(formula["rmse"]):
            error = "This formula's values overflow on some held-out points, so it has no finite test RMSE."
        else:
            how = ("exactly as printed" if formula["as_printed"] else
                   "with its constants unrounded (the text is too long to read back)")
            error = (f"Test RMSE of this formula {how}, on {N_TEST:,} held-out points: "
                     f"<b class='kx-formula-rmse'>{short(formula['rmse'])}</b> (the network itself: "
                     f"{short(network_rmse)}).")
        text = (f"<p>This formula has {len(formula['text']):,} characters, too long to show here: download it "
                f"as text or LaTeX below.</p>" if long else
                f"<p>As text: <code class='kx-formula-text'>{html.escape(formula['text'])}</code></p>")
        self.formula_notes.object = f"{text}<p>{error}</p>"

    # -- prune, snap, unsnap ------------------------------------------------------------------------------
    def _before_change(self):
        """Pause, and say why not if the network cannot be changed now; True when it can."""
        if self.problem:
            self._refuse()
            return False
        self.pause()
        return True

    @on_loop
    def prune(self):
        """Cut the edges and hidden nodes that carry (almost) nothing (KAN.prune); returns the new model."""
        if not self._before_change():
            return None
        with self._lock:
            model = self.model
            spline, snapped, total, in_use = edge_usage(model)
            if snapped:
                self._say(f"Prune reads the learned curves, and {snapped} edges are snapped to formulas: press "
                          f"Unsnap all first, prune, then snap again.", kind="error")
                return None
            before_rmse = self.trainer.rmse("test")
            start = time.perf_counter()
            pruned = model.prune(node_th=self.node_th, edge_th=self.edge_th, x=self.data["train_input"])
            seconds = time.perf_counter() - start
            self._carry_on(pruned)
            frame = self._snapshot()
        self._show(frame)
        after = edge_usage(pruned)
        if after[3] == in_use:
            self._say(f"Nothing to prune: every edge scores at least {self.edge_th:g} and every hidden node more than "
                      f"{self.node_th:g}. Train with a sparsity penalty λ first, or raise the thresholds.")
        else:
            self._say(f"Pruned in {seconds * 1e3:.0f} ms: the network is now {width_text(pruned.width)} with "
                      f"{after[0]} of {after[2]} edges and {after[3]:,} parameters in use (was {spline} edges and "
                      f"{in_use:,}); test RMSE {short(before_rmse)} → {short(frame['metrics']['test_rmse'])}. "
                      f"Press Play to let the remaining edges take up the slack.")
        return pruned

    def snap_all(self):
        """Snap every learned curve in use to its best formula from snap_library (KAN.auto_symbolic);
        returns [(l, i, j, name, r2)] of the edges snapped.

        Fitting takes about 2 ms per edge and function (seconds for the largest network), so it runs
        on a copy without holding the lock, on the thread that called it, and only the result is
        shown on the event loop: a server with worker threads stays responsive meanwhile.
        """
        if not self._before_change():
            return None
        if not self.snap_library:
            self._say("Snap needs at least one function to choose from: pick some in “Snap may choose from”.",
                      kind="error")
            return None
        with self._lock:
            model = self.model.copy()
            generation = self._generation
            before_rmse = self.trainer.rmse("test")
            x = self.data["train_input"]
        spline = edge_usage(model)[0]
        if not spline:
            self._say("Every edge in use is already snapped to a formula.")
            return []
        self._say(f"Snapping {spline} edges: trying {len(self.snap_library)} functions on each…")
        self.snap_button.loading = True
        try:
            start = time.perf_counter()
            snapped = model.auto_symbolic(lib=list(self.snap_library), x=x)
            seconds = time.perf_counter() - start
        finally:
            self.snap_button.loading = False
        counts = {}
        for *_, name, _ in snapped:
            counts[SNAP_LABELS[name]] = counts.get(SNAP_LABELS[name], 0) + 1
        chosen = ", ".join(f"{n} × {label}" for label, n in sorted(counts.items(), key=lambda item: -item[1]))
        self._use_snapped(model, generation, f"Snapped {len(snapped)} edges in {seconds:.2f} s ({chosen}); test RMSE "
                                             f"{short(before_rmse)} → {{after}}. Press Play to fine-tune the constants "
                                             f"a, b, c, d of every snapped edge, or Unsnap all to get the curves back.")
        return snapped

    @on_loop
    def _use_snapped(self, model, generation, sentence):
        with self._lock:
            if generation != self._generation:
                self._say("The network changed while its edges were being snapped, so nothing was snapped. "
                          "Press Snap all again.")
                return
            self._carry_on(model)
            frame = self._snapshot()
        self._show(frame)
        self._say(sentence.format(after=short(frame["metrics"]["test_rmse"])))

    @on_loop
    def unsnap_all(self):
        """Give every snapped edge its learned curve back (KAN.unfix_symbolic)."""
        if not self._before_change():
            return None
        with self._lock:
            model = self.model.copy()
            edges = [(l, int(i), int(j)) for l, layer in enumerate(model.layers)
                     for i, j in zip(*np.nonzero(layer.symbolic_mask))]
            if not edges:
                self._say("No edge is snapped: there is nothing to unsnap.")
                return 0
            for edge in edges:
                model.unfix_symbolic(*edge)
            self._carry_on(model)
            frame = self._snapshot()
        self._show(frame)
        self._say(f"Unsnapped {len(edges)} edges: each has its learned curve back; test RMSE now "
                  f"{short(frame['metrics']['test_rmse'])}.")
        return len(edges)

    @on_loop
    def reset(self):
        """Every setting back to its default and a fresh, untrained network."""
        self.pause()
        self.param.update(**SANDBOX_DEFAULTS, snap_library=list(DEFAULT_LIBRARY))
        super().reset()

    # -- model files ------------------------------------------------------------------------------------
    def model_json(self):
        """The model in use and the settings that made its samples, as JSON text."""
        with self._lock:
            metrics = self.trainer.metrics()
            doc = {
                "format": MODEL_FORMAT, "version": MODEL_VERSION,
                "about": "A Kolmogorov-Arnold Network saved by the sandbox of 'Kolmogorov-Arnold Networks, "
                         "explored'. Import it there to look at it and train it further.",
                "target": self._target_label(), "step": self.trainer.n_steps,
                "train_rmse": _json_number(metrics["train_rmse"]), "test_rmse": _json_number(metrics["test_rmse"]),
                "settings": {name: getattr(self, name) for name in SETTINGS},
                "model": self.model.to_dict(),
            }
        return json.dumps(doc, allow_nan=False)

    def model_file(self):
        return io.StringIO(self.model_json())

    def _on_import_file(self, event):
        if event.new is None:
            return
        raw, name = event.new, self.import_input.filename
        self.import_input.clear()     # so that the same file can be imported again
        self.import_model(raw, name)

    @on_loop
    def import_model(self, raw, filename=None):
        """Use the model in a model file (bytes) with its settings; True on success. A file that cannot
        be used changes nothing and gets one sentence (import_text) saying what is wrong."""
        shown = _shown_name(filename)
        try:
            settings, model = read_model_file(raw, {name: self.param[name] for name in SETTINGS})
            self._check_fits(settings, model)
        except ModelFileError as error:
            self._file_say(f"Nothing was imported from {shown}: {error}", kind="error")
            return False
        self.pause()
        self._resetting = True          # keep the formula box from switching the target by itself
        self._keeping_network = True    # no network for each of hidden, grid_size, spline_order
        try:
            self.param.update(**settings)
        finally:
            self._resetting = False
            self._keeping_network = False
        self._set_data()
        self._use_model(model)
        spline, snapped, total, in_use = edge_usage(model)
        sentence = (f"Imported {shown}: a KAN {width_text(model.width)} with G = {model.G}, {spline + snapped} of "
                    f"{total} edges in use ({snapped} snapped), learning {self._target_label()}; test RMSE "
                    f"{short(self.trainer.rmse('test'))}. Press Play to train it further.")
        self._file_say(sentence, kind="done")
        self._say(sentence, kind="done")
        return True

    def _check_fits(self, settings, model):
        """The file's target must make samples, and the model must take them and give finite outputs."""
        choice, formula = settings.get("target", self.target), settings.get("formula", self.formula)
        try:
            target = resolve_target(choice, formula)
            data = build_dataset(target, settings.get("n_samples", self.n_samples), settings.get("noise", self.noise),
                                 settings.get("seed", self.seed))
        except ValueError as error:
            raise ModelFileError(f"The file's target cannot be used ({str(error).rstrip('.')}).") from None
        if model.width[0] != target.n_vars:
            what = TARGET_LABELS[choice] if choice != FORMULA else target.label
            raise ModelFileError(f"The model takes {model.width[0]} input{'s' if model.width[0] > 1 else ''} but its "
                                 f"target {what} has {target.n_vars}; the two must match.")
        with np.errstate(all="ignore"):
            finite = all(np.all(np.isfinite(model(data[key]))) for key in ("train_input", "test_input"))
        if not finite:
            raise ModelFileError("The model's numbers are so large that its output overflows; only models with "
                                 "finite outputs can be imported.")

    def _file_say(self, sentence, kind="note"):
        self.import_text = sentence
        self.file_message.object = (f'<p class="kx-file-msg kx-file-msg-{kind}" role="status" aria-live="polite">'
                                    f'{html.escape(sentence)}</p>')


SETTINGS = tuple(name for name in Sandbox.param if name not in ("name", "playing"))


def download_button(callback, filename, label, icon, **params):
    """An outlined download button (pmui's FileDownload warns when given variant= at construction)."""
    button = pmui.FileDownload(callback=callback, filename=filename, label=label, icon=icon, description="",
                               **params)
    button.variant = "outlined"
    return button


def _json_number(v):
    return float(v) if v is not None and math.isfinite(v) else None


def _shown_name(filename):
    """A file name as the page echoes it: printable characters only, at most 40 of them."""
    name = "".join(ch for ch in str(filename or "") if ch.isprintable())
    if not name:
        return "the file"
    return f"“{name[:40]}{'…' if len(name) > 40 else ''}”"


_CSS = """
.kx-formula-text { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9rem;
                   overflow-wrap: anywhere; user-select: all; }
.kx-formula-wait { opacity: 0.85; }
p { margin: 0.2rem 0; font-size: 0.95rem; line-height: 1.45; }
.kx-file-msg { font-size: 0.95rem; margin: 0.2rem 0; padding: 0.3rem 0.7rem; border-left: 4px solid #607d8b;
               background: rgba(96, 125, 139, 0.10); }
.kx-file-msg-error { border-left-color: #b71c1c; background: rgba(183, 28, 28, 0.08); }
.kx-file-msg-done { border-left-color: #00897b; background: rgba(0, 137, 123, 0.08); }
"""


def bench(widths=("5", "10, 10, 10")):
    """Seconds for Prune, Snap all, the JSON export and its import, after 40 L-BFGS steps with λ = 0.01
    on exp(sin(πx) + y²); prints and returns {hidden: {step: seconds}}."""
    results = {}
    for hidden in widths:
        lab = Sandbox(hidden=hidden, optimizer="lbfgs", lamb=0.01)
        lab.trainer.step(40)
        times = {}
        start = time.perf_counter()
        lab.prune()
        times["prune"] = time.perf_counter() - start
        width = list(lab.model.width)
        start = time.perf_counter()
        lab.snap_all()
        times["snap all"] = time.perf_counter() - start
        start = time.perf_counter()
        text = lab.model_json()
        times["export"] = time.perf_counter() - start
        start = time.perf_counter()
        lab.import_model(text.encode(), "bench.json")
        times["import"] = time.perf_counter() - start
        lab.cleanup()
        results[hidden] = times
        print(f"hidden {hidden:>10} (pruned to {width_text(width)}, {len(text) / 1e3:.0f} kB of JSON): "
              + ", ".join(f"{name} {seconds * 1e3:.0f} ms" for name, seconds in times.items()))
    return results


if __name__ == "__main__":
    if "--bench" in sys.argv[1:]:
        bench()
        sys.exit(0)
    print("Usage: python -m widgets.sandbox --bench")
    sys.exit(2)
