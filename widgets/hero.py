"""Two ways to look inside: an MLP and a KAN of the same shape, trained on the same target, side by side.

Both are real kan_core models of shape [2, 3, 1] trained on exp(sin(pi x) + y^2). The KAN was
trained with a sparsity penalty, so one hidden node does all the work: its edge from x learns a
sine, its edge from y a parabola, and its edge to the output an exponential, while the other
edges fade to nearly flat. The MLP's edges are plain numbers. Tapping an edge (or picking it from
the list) shows it large, with a caption that names what it is.

Training takes a few seconds, so the two models are trained once and stored in
``assets/hero_models.json``; remake that file with

    python -m widgets.hero --write-asset

Each session loads and validates the file (``KAN.from_dict`` / ``MLP.from_dict``); if it is
missing or broken, the models are trained afresh instead.
"""

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np
import panel as pn
import panel_material_ui as pmui
import param

from kan_core import KAN, MLP, PRESETS, Trainer, make_dataset, suggest_symbolic

from .network_diagram import NetworkDiagram, format_weight
from .theme import ORANGE, TEAL

log = logging.getLogger(__name__)

ASSET = Path(__file__).resolve().parents[1] / "assets" / "hero_models.json"
COMMAND = "python -m widgets.hero --write-asset"

TARGET = "exp_sin"
WIDTH = [2, 3, 1]
INPUTS = ["x", "y"]
OUTPUTS = ["f"]
DATA = {"n_train": 1000, "n_test": 1000, "seed": 0}
KAN_SETTINGS = {"grid": 5, "k": 3, "seed": 6, "lamb": 3e-3, "sparse_steps": 50, "polish_steps": 50}
MLP_SETTINGS = {"activation": "tanh", "seed": 0, "steps": 300}

# Shapes the caption may name, with the words it uses; fitted as c*f(a*t + b) + d.
SHAPES = {"x": "a straight line", "x^2": "a parabola", "x^3": "a cubic", "sin": "a sine wave",
          "exp": "an exponential"}
MLP_KEY = "Orange: a positive weight, blue-grey: a negative one; thicker: larger."
KAN_KEY = "Bold edges carry the signal; faint ones are all but switched off."
NAMED_R2 = 0.99         # a fit at least this good gets named
IDLE_SCORE = 0.05       # an importance score below this counts as idle


def hero_data():
    """The dataset both models learn: pykan-style dict of exp(sin(pi x) + y^2) on [-1, 1]^2."""
    return make_dataset(PRESETS[TARGET], **DATA)


def train_models(data=None):
    """Train the hero's (mlp, kan) from scratch; deterministic for the settings above (a few seconds)."""
    data = hero_data() if data is None else data
    s = KAN_SETTINGS
    kan = KAN(WIDTH, grid=s["grid"], k=s["k"], seed=s["seed"])
    Trainer(kan, data, "lbfgs", reg={"lamb": s["lamb"]}).step(s["sparse_steps"])
    Trainer(kan, data, "lbfgs", update_grid_every=None).step(s["polish_steps"])
    m = MLP_SETTINGS
    mlp = MLP(WIDTH, m["activation"], seed=m["seed"])
    Trainer(mlp, data, "lbfgs").step(m["steps"])
    return mlp, kan


def rmse(model, data):
    return float(np.sqrt(np.mean((model(data["test_input"]) - data["test_label"]) ** 2)))


def write_asset(path=ASSET):
    """Train both models and store them, with how they were made, as JSON at ``path``."""
    data = hero_data()
    mlp, kan = train_models(data)
    stored = {
        "about": "The two models of the 'Two ways to look inside' explorable (widgets/hero.py).",
        "command": COMMAND,
        "target": TARGET,
        "data": DATA,
        "kan_settings": KAN_SETTINGS,
        "mlp_settings": MLP_SETTINGS,
        "test_rmse": {"kan": rmse(kan, data), "mlp": rmse(mlp, data)},
        "kan": kan.to_dict(),
        "mlp": mlp.to_dict(),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stored, indent=1) + "\n")
    return stored


def load_models(path=ASSET):
    """(mlp, kan) from the stored file, or ValueError with a sentence saying what is wrong."""
    path = Path(path)
    try:
        stored = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"Cannot read the hero models at {path} ({err}); remake them with `{COMMAND}`.") from None
    if not isinstance(stored, dict) or stored.get("target") != TARGET:
        raise ValueError(f"{path} does not hold the hero models for {TARGET!r}; remake it with `{COMMAND}`.")
    mlp, kan = MLP.from_dict(stored.get("mlp")), KAN.from_dict(stored.get("kan"))
    if mlp.width != WIDTH or kan.width != WIDTH:
        raise ValueError(f"The hero models in {path} must both have width {WIDTH}; remake them with `{COMMAND}`.")
    return mlp, kan


def models_for_session(path=ASSET):
    """The stored models, or freshly trained ones when the file cannot be used."""
    try:
        return load_models(path)
    except ValueError as err:
        log.warning("%s Training the hero models now instead.", err)
        return train_models()


class Hero(pn.viewable.Viewer):
    """The MLP and the KAN side by side; ``view`` picks which, ``kan_edge``/``mlp_edge`` what is shown large."""

    view = param.Selector(objects=["MLP", "KAN", "both"], default="both", doc="Which network to show.")
    kan_edge = param.Tuple(default=None, allow_None=True, length=3, doc="KAN edge (l, i, j) shown large.")
    mlp_edge = param.Tuple(default=None, allow_None=True, length=3, doc="MLP edge (l, i, j) shown large.")

    def __init__(self, models=None, **params):
        mlp, kan = models_for_session() if models is None else models
        self.data = hero_data()
        self._samples = self.data["train_input"]
        self._described = {}
        self.mlp_diagram = NetworkDiagram(model=mlp, name="hero-mlp", input_names=INPUTS, output_names=OUTPUTS,
                                          diagram_height=255, large_height=180)
        self.kan_diagram = NetworkDiagram(model=kan, name="hero-kan", input_names=INPUTS, output_names=OUTPUTS,
                                          samples=self._samples, diagram_height=255, large_height=180)
        self._defaults = {"view": "both", "kan_edge": self.default_kan_edge(), "mlp_edge": self.default_mlp_edge()}
        super().__init__(**{**self._defaults, **params})
        self.mlp_diagram.param.watch(lambda e: setattr(self, "mlp_edge", e.new), "selected")
        self.kan_diagram.param.watch(lambda e: setattr(self, "kan_edge", e.new), "selected")
        self._push_edges()
        self.toggle = pmui.RadioButtonGroup.from_param(self.param.view, label="Show", options=["MLP", "KAN", "both"])
        self.reset_button = pmui.Button(label="Reset", variant="outlined", icon="restart_alt")
        self.reset_button.on_click(lambda _: self.reset())
        self.mlp_column = self._column(self.mlp_diagram, "MLP: a number on every edge", MLP_KEY, ORANGE,
                                       self.mlp_caption)
        self.kan_column = self._column(self.kan_diagram, "KAN: a curve on every edge", KAN_KEY, TEAL,
                                       self.kan_caption, self.kan_formula)
        self._show_view()

    def _column(self, diagram, heading, key, colour, *captions):
        title = pn.pane.HTML(f'<h3 style="margin:0;color:{colour}">{heading}</h3>'
                             f'<div style="font-size:0.85rem;opacity:0.75">{key}</div>', margin=(0, 10))
        words = [pn.pane.Markdown(caption, width=diagram.diagram_width, margin=(0, 10),
                                  styles={"font-size": "0.98rem"}) for caption in captions[:1]]
        formula = [pn.pane.LaTeX(caption, width=diagram.diagram_width, margin=(0, 10, 12, 18),
                                 styles={"font-size": "1.05rem"}) for caption in captions[1:]]
        return pn.Column(title, diagram.diagram_pane, diagram.large_pane, *words, *formula, diagram.picker,
                         width=diagram.diagram_width + 10, css_classes=[f"kx-hero-{diagram.name.split('-')[-1]}"])

    # -- defaults and reset -----------------------------------------------------------------
    def default_kan_edge(self):
        """The KAN edge from x with the highest importance score: the sine, for the stored model."""
        _, scores = self.kan_diagram.model.attribute(self._samples)
        return (0, 0, int(np.argmax(scores[0][0])))

    def default_mlp_edge(self):
        """The MLP edge from x with the largest weight."""
        return (0, 0, int(np.argmax(np.abs(self.mlp_diagram.model.weights[0][0]))))

    def reset(self):
        self.param.update(**self._defaults)

    # -- keeping the diagrams in step -----------------------------------------------------------
    @param.depends("kan_edge", "mlp_edge", watch=True)
    def _push_edges(self):
        self.kan_diagram.selected = self.kan_edge
        self.mlp_diagram.selected = self.mlp_edge

    @param.depends("view", watch=True)
    def _show_view(self):
        self.mlp_column.visible = self.view in ("MLP", "both")
        self.kan_column.visible = self.view in ("KAN", "both")

    # -- captions -------------------------------------------------------------------------------
    def describe_kan_edge(self, l, i, j):
        """(shape words or None, best Candidate, importance score) for KAN edge (l, i, j)."""
        if (l, i, j) not in self._described:
            kan = self.kan_diagram.model
            _, scores = kan.attribute(self._samples)
            t, phi = kan.edge_samples(l, i, j, self._samples)
            best = suggest_symbolic(t, phi, lib=list(SHAPES), topk=1)[0]
            words = SHAPES[best.name] if best.r2 >= NAMED_R2 else None
            self._described[(l, i, j)] = (words, best, float(scores[l][i, j]))
        return self._described[(l, i, j)]

    @param.depends("kan_edge")
    def kan_caption(self):
        if self.kan_edge is None:
            return "Tap a box on the KAN to see its curve."
        name = self.kan_diagram.edge_name(*self.kan_edge)
        words, best, score = self.describe_kan_edge(*self.kan_edge)
        if score < IDLE_SCORE:
            return (f"**{name}** hardly matters (importance {score:.2f} out of 1): almost nothing it "
                    f"computes reaches the output. Training with a sparsity penalty leaves such edges idle.")
        if words is None:
            return f"**{name}** is a curve with no simple match; the closest (R² = {best.r2:.3f}) is"
        return f"**{name}** has learned **{words}**. The best fit (R² = {best.r2:.4f}) is"

    @param.depends("kan_edge")
    def kan_formula(self):
        """The fitted formula of the selected KAN edge as LaTeX ('' when the edge is nearly flat)."""
        if self.kan_edge is None:
            return ""
        _, best, score = self.describe_kan_edge(*self.kan_edge)
        if score < IDLE_SCORE:
            return ""
        var = self.kan_diagram.node_name(self.kan_edge[0], self.kan_edge[1])
        if var[1:] and var[0].isalpha():
            var = f"{var[0]}_{{{var[1:]}}}"   # h3 -> h_{3}
        return rf"$\varphi({var}) \approx {best.latex(var=var, digits=2)}$"

    @param.depends("mlp_edge")
    def mlp_caption(self):
        if self.mlp_edge is None:
            return "Tap a box on the MLP to see its weight."
        name = self.mlp_diagram.edge_name(*self.mlp_edge)
        weight = float(self.mlp_diagram.model.weights[self.mlp_edge[0]][self.mlp_edge[1], self.mlp_edge[2]])
        return (f"**{name}** is the single number **{format_weight(weight)}**. On its own it says "
                f"nothing about sin(πx) or y²: the MLP's {self.mlp_diagram.model.n_params} numbers only "
                f"mean something all together.")

    def facts(self):
        kan, mlp = self.kan_diagram.model, self.mlp_diagram.model
        return (f"Both have the shape {WIDTH} and learned the same 1,000 samples of "
                f"exp(sin(πx) + y²). Test error (RMSE): KAN {rmse(kan, self.data):.3f} with "
                f"{kan.n_params} parameters, MLP {rmse(mlp, self.data):.3f} with {mlp.n_params}.")

    def __panel__(self):
        controls = pn.Row(self.toggle, self.reset_button, styles={"align-items": "center"})
        facts = pn.pane.Markdown(self.facts(), sizing_mode="stretch_width", margin=(0, 10),
                                 styles={"font-size": "0.95rem", "opacity": "0.8"})
        return pn.Column(controls, pn.FlexBox(self.mlp_column, self.kan_column, gap="16px"), facts,
                         sizing_mode="stretch_width")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train the hero's MLP and KAN and store them.")
    parser.add_argument("--write-asset", action="store_true", help=f"write {ASSET.relative_to(ASSET.parents[1])}")
    args = parser.parse_args(argv)
    if not args.write_asset:
        parser.print_help()
        return 1
    stored = write_asset()
    print(f"Wrote {ASSET}: test RMSE KAN {stored['test_rmse']['kan']:.4f}, MLP {stored['test_rmse']['mlp']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
