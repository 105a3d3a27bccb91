"""The sandbox driven through its parameters, buttons and tick function, without a browser.

Oracles: pruning and snapping are compared with kan_core's KAN.prune / auto_symbolic run here on a
copy of the same network, formulas with the snapped network's own outputs and with numpy, errors
with numpy from the model's predictions, and model files with json and KAN.to_dict written here.
"""

import copy
import json
import re

import numpy as np
import pytest

import widgets.training_lab as tl
from kan_core import KAN
from widgets.sandbox import (DEFAULT_LIBRARY, MAX_FILE_BYTES, MAX_TYPESET, MODEL_FORMAT, SETTINGS, Sandbox,
                             edge_usage, read_model_file)
from widgets.theme import RED


@pytest.fixture
def exact_ticks(monkeypatch):
    """Every tick does exactly ``speed`` steps, however busy the machine is."""
    monkeypatch.setattr(tl, "KAN_BUDGET_S", 60.0)


def stat(lab, key):
    match = re.search(rf'class="kx-value kx-{key}">([^<]*)<', lab.stats.object)
    return match.group(1)


def rmse(pred, label):
    return float(np.sqrt(np.mean((np.ravel(pred) - np.ravel(label)) ** 2)))


def train(lab, ticks):
    lab.play()
    for _ in range(ticks):
        lab.tick()
    lab.pause()


@pytest.fixture
def sparse(exact_ticks):
    """exp(sin(πx) + y²) after 60 L-BFGS steps under the sparsity penalty λ = 0.01 (fixed seed)."""
    lab = Sandbox(optimizer="lbfgs", lamb=0.01, speed=20)
    lab.family = None           # the MLP comparison is the lab's business, not this file's
    train(lab, 3)
    assert lab.trainer.n_steps == 60
    return lab


@pytest.fixture
def snapped(sparse):
    """The sparse network pruned, trained 40 more steps without the penalty, then snapped."""
    sparse.prune()
    sparse.lamb = 0.0
    train(sparse, 2)
    sparse.snap_all()
    return sparse


def snapped_rows(diagram):
    """Indices, in the diagram's drawing order, of the boxes whose edge is snapped."""
    rows = zip(diagram.curves.data["l"], diagram.curves.data["i"], diagram.curves.data["j"])
    return [n for n, (l, i, j) in enumerate(rows) if diagram.model.layers[l].symbolic_mask[i, j]]


# -- the default state --------------------------------------------------------------------------------
def test_the_sandbox_opens_as_the_lab_with_its_tools_ready():
    lab = Sandbox()
    assert lab.model.width == [2, 5, 1] and lab.trainer.n_steps == 0
    assert (lab.lamb, lab.node_th, lab.edge_th) == (0.0, 1e-2, 3e-2)
    assert lab.snap_library == list(DEFAULT_LIBRARY)
    assert stat(lab, "params") == "150" and stat(lab, "edges") == "15 of 15"
    assert lab.recovered is None and "No formula yet: 15 edges" in lab.formula_notes.object
    assert lab.latex_download.disabled and lab.text_download.disabled
    assert lab.unsnap_button.disabled and not lab.snap_button.disabled
    assert lab.diagram.figure.sizing_mode == "stretch_width"
    assert lab.message_text.startswith("Press Play")
    assert "playing" not in SETTINGS and {"lamb", "node_th", "edge_th", "snap_library", "seed"} <= set(SETTINGS)


def test_two_sandboxes_share_no_state():
    first, second = Sandbox(), Sandbox()
    assert first.snap_library is not second.snap_library
    first.snap_library = ["sin"]
    assert second.snap_library == list(DEFAULT_LIBRARY)


# -- the sparsity penalty -----------------------------------------------------------------------------
def test_the_penalty_reaches_every_trainer_and_shrinks_the_edges(exact_ticks):
    plain, sparse = Sandbox(optimizer="lbfgs", speed=20), Sandbox(optimizer="lbfgs", speed=20)
    sparse.lamb = 0.01
    assert sparse.trainer.reg == {"lamb": 0.01} and plain.trainer.reg == {}
    sparse.seed = 1
    sparse.seed = 0                        # two new networks: each trainer gets the penalty
    assert sparse.trainer.reg == {"lamb": 0.01}
    assert "sparsity penalty λ = 0.01" in sparse.message_text
    for lab in (plain, sparse):
        lab.family = None
        train(lab, 2)

    def size(lab):                         # the L1 size of all edges, as the penalty measures it
        edges = lab.model.forward_detail(lab.data["train_input"])["edges"]
        return sum(float(np.abs(e).mean(axis=0).sum()) for e in edges)
    assert size(sparse) < 0.8 * size(plain)
    sparse.lamb = 0.0
    assert sparse.trainer.reg == {}


# -- prune ---------------------------------------------------------------------------------------------
def test_prune_cuts_edges_and_nodes_keeps_the_fit_and_redraws(sparse):
    before = sparse.model.copy()
    before_rmse = rmse(before(sparse.data["test_input"]), sparse.data["test_label"])
    expected = before.prune(node_th=sparse.node_th, edge_th=sparse.edge_th, x=sparse.data["train_input"])
    pruned = sparse.prune()
    assert pruned is sparse.model and sparse.trainer.model is pruned
    assert pruned.width == expected.width and pruned.width[1] < 5
    x = sparse.data["test_input"]
    np.testing.assert_allclose(pruned(x), expected(x), atol=1e-12)
    assert pruned.n_params < before.n_params
    spline, snapped, total, in_use = edge_usage(pruned)
    assert spline < 15 and snapped == 0 and in_use < 150
    assert stat(sparse, "params") == f"{in_use:,}" and stat(sparse, "edges") == f"{spline} of {total}"
    after_rmse = rmse(pruned(x), sparse.data["test_label"])
    assert after_rmse < 1.5 * before_rmse, "pruning the faint edges keeps the fit"
    assert stat(sparse, "test") == tl.short(after_rmse)
    assert sparse.hidden == str(pruned.width[1]) and sparse.model is pruned, "the box follows, nothing is rebuilt"
    assert sparse.diagram.model.width == pruned.width
    assert len(sparse.diagram.curves.data["xs"]) == total
    assert sparse.message_text.startswith("Pruned in") and "Press Play" in sparse.message_text
    assert sparse.trainer.n_steps == 60, "the step count goes on"


def test_prune_with_nothing_to_cut_says_so_and_keeps_the_network():
    lab = Sandbox(node_th=0.0, edge_th=0.0)
    model = lab.model
    lab.prune()
    assert lab.model.width == [2, 5, 1] and np.array_equal(lab.model.get_params(), model.get_params())
    assert lab.message_text.startswith("Nothing to prune")


def test_prune_waits_for_unsnap_while_edges_are_snapped(snapped):
    model, params = snapped.model, snapped.model.get_params()
    snapped.prune()
    assert snapped.model is model and np.array_equal(model.get_params(), params)
    assert "press Unsnap all first" in snapped.message_text


# -- snap and the formula -----------------------------------------------------------------------------
def test_snap_all_makes_the_formula_and_red_dashed_edges(sparse):
    sparse.prune()
    copy_before = sparse.model.copy()
    snapped = sparse.snap_all()
    model = sparse.model
    assert [row[:4] for row in snapped] == [row[:4] for row in
                                            copy_before.auto_symbolic(lib=list(DEFAULT_LIBRARY),
                                                                      x=sparse.data["train_input"])]
    assert all(not layer.mask.any() for layer in model.layers), "every edge in use is snapped"
    spline, n_snapped, total, in_use = edge_usage(model)
    assert spline == 0 and n_snapped == len(snapped) and in_use == 4 * n_snapped
    assert stat(sparse, "edges") == f"{n_snapped} of {total}" and stat(sparse, "params") == f"{in_use:,}"
    rows = snapped_rows(sparse.diagram)
    assert len(rows) == n_snapped
    curves, links = sparse.diagram.curves.data, sparse.diagram.links.data
    assert all(curves["color"][n] == RED and curves["dash"][n] == "dashed" for n in rows)
    assert all(links["color"][n] == RED for n in rows)
    # the formula is what the snapped network computes
    x, y = sparse.data["test_input"], sparse.data["test_label"]
    formula = sparse.recovered
    exact = model.symbolic_formula()
    np.testing.assert_allclose(exact(x), model(x), atol=1e-9)
    assert formula["rmse"] == pytest.approx(rmse(exact(x), y), rel=0.05, abs=1e-3)
    assert formula["latex"] in sparse.formula_pane.object and sparse.formula_pane.object.startswith("$f(x, y)")
    assert formula["text"] in sparse.formula_notes.object.replace("&#x27;", "'")
    assert not sparse.latex_download.disabled and not sparse.text_download.disabled
    assert sparse.latex_download.callback().read() == formula["latex"] + "\n"
    assert sparse.text_download.callback().read() == formula["text"] + "\n"
    assert sparse.snap_button.disabled and not sparse.unsnap_button.disabled
    assert sparse.message_text.startswith(f"Snapped {n_snapped} edges")


def test_a_formula_too_long_to_typeset_is_offered_as_files():
    lab = Sandbox(hidden="10, 10, 10", snap_library=["x", "sin"])
    lab.trainer.step(3)
    lab.snap_all()
    formula = lab.recovered
    assert len(formula["latex"]) > MAX_TYPESET and not formula["as_printed"]
    x, y = lab.data["test_input"], lab.data["test_label"]
    assert formula["rmse"] == pytest.approx(rmse(lab.model(x), y), rel=1e-3)
    assert lab.formula_pane.object == "" and "too long to show here" in lab.formula_notes.object
    assert "constants unrounded" in lab.formula_notes.object
    assert lab.text_download.callback().read() == formula["text"] + "\n"


def test_snap_needs_a_library_and_keeps_the_network_without_one():
    lab = Sandbox()
    lab.snap_library = []
    assert lab.snap_all() is None
    assert lab.message_text.startswith("Snap needs at least one function")
    assert edge_usage(lab.model)[1] == 0


def test_training_goes_on_after_prune_and_after_snap(sparse):
    sparse.prune()
    steps, error = sparse.trainer.n_steps, sparse.trainer.rmse("test")
    sparse.lamb = 0.0
    train(sparse, 2)
    assert sparse.trainer.n_steps == steps + 40 and sparse.trainer.rmse("test") < error
    sparse.snap_all()
    steps, error, text = sparse.trainer.n_steps, sparse.trainer.rmse("test"), sparse.recovered["text"]
    affine = [layer.affine.copy() for layer in sparse.model.layers]
    train(sparse, 2)
    assert sparse.trainer.n_steps == steps + 40
    assert sparse.trainer.rmse("test") < error, "the constants a, b, c, d keep learning"
    assert any(not np.array_equal(a, layer.affine) for a, layer in zip(affine, sparse.model.layers))
    assert sparse.recovered["text"] != text, "the formula follows the constants"
    shown = list(sparse.loss_source.data["step"])
    assert shown == [0] + sparse.trainer.history["step"] and shown == sorted(shown), "one loss curve throughout"


def test_unsnap_all_gives_the_curves_back(snapped):
    was = [layer.symbolic_mask.copy() for layer in snapped.model.layers]
    assert snapped.unsnap_all() == int(sum(m.sum() for m in was))
    for layer, mask in zip(snapped.model.layers, was):
        assert not layer.symbolic_mask.any() and np.array_equal(layer.mask, mask)
    assert snapped.recovered is None and snapped.latex_download.disabled and snapped.unsnap_button.disabled
    assert snapped_rows(snapped.diagram) == [] and RED not in snapped.diagram.curves.data["color"]
    assert "No formula yet" in snapped.formula_notes.object
    assert snapped.unsnap_all() == 0 and "nothing to unsnap" in snapped.message_text


def test_extend_grid_works_on_a_snapped_network(snapped):
    formula = snapped.recovered["text"]
    assert snapped.extend_grid() == 10
    assert snapped.model.G == 10 and snapped.grid_size == 10
    assert snapped.recovered["text"] == formula, "snapped edges do not use the grid"


# -- model files -----------------------------------------------------------------------------------------
def test_the_model_file_is_strict_json_with_the_settings(snapped):
    def refuse(name):
        raise AssertionError(f"{name} in the file")
    text = snapped.model_json()
    doc = json.loads(text, parse_constant=refuse)
    assert doc["format"] == MODEL_FORMAT and doc["version"] == 1
    assert doc["settings"] == {name: getattr(snapped, name) for name in SETTINGS}
    assert doc["model"] == json.loads(json.dumps(snapped.model.to_dict()))
    assert doc["step"] == snapped.trainer.n_steps and doc["target"] == "exp(sin(πx) + y²)"
    assert snapped.model_file().read() == text


def test_export_then_import_reproduces_the_model_exactly_and_training_goes_on(snapped, exact_ticks):
    snapped.extend_grid()
    text = snapped.model_json()
    original = snapped.model
    other = Sandbox(target="sin", seed=7, lamb=0.5, snap_library=["x"], hidden="3, 3")
    other.family = None
    assert other.import_model(text.encode(), "kan-model.json") is True
    for name in SETTINGS:
        assert getattr(other, name) == getattr(snapped, name), name
    for key in ("train_input", "train_label", "test_input", "test_label"):
        assert np.array_equal(other.data[key], snapped.data[key])
    x = snapped.data["test_input"]
    np.testing.assert_allclose(other.model(x), original(x), rtol=0, atol=1e-12)
    assert other.model.width == original.width and other.model.G == 10
    for key in ("test", "train", "params", "edges"):
        assert stat(other, key) == stat(snapped, key)
    assert other.recovered["text"] == snapped.recovered["text"]
    assert other.diagram.model.width == original.width and snapped_rows(other.diagram)
    assert other.import_text.startswith("Imported “kan-model.json”: a KAN") and other.message_text == other.import_text
    assert other.trainer.n_steps == 0 and list(other.loss_source.data["step"]) == [0]
    train(other, 1)
    assert other.trainer.n_steps == 20


def test_a_bare_kan_dictionary_is_accepted_for_the_current_target():
    model = KAN([2, 3, 1], grid=4, seed=5)
    lab = Sandbox(seed=2)
    assert lab.import_model(json.dumps(model.to_dict()), "bare.json")
    np.testing.assert_allclose(lab.model(lab.data["test_input"]), model(lab.data["test_input"]), atol=1e-12)
    assert (lab.hidden, lab.grid_size, lab.seed, lab.target) == ("3", 4, 2, "exp_sin")


def test_the_file_input_imports_and_can_import_the_same_file_again(sparse):
    text = sparse.model_json().encode()
    expected = sparse.model(sparse.data["test_input"])
    for _ in range(2):
        sparse.step_once()              # the model moves on; importing goes back to the file
        sparse.import_input.filename = "saved.json"
        sparse.import_input.value = text
        assert sparse.import_input.value is None, "cleared, so the same file can be chosen again"
        np.testing.assert_allclose(sparse.model(sparse.data["test_input"]), expected, atol=1e-12)
        assert sparse.import_text.startswith("Imported “saved.json”")


def _file(mutate):
    """A valid model file for exp_sin, changed by ``mutate(doc)``, as bytes."""
    lab_doc = {"format": MODEL_FORMAT, "version": 1, "settings": {"target": "exp_sin", "seed": 0},
               "model": KAN([2, 3, 1], grid=5, seed=1).to_dict()}
    mutate(lab_doc)
    return json.dumps(lab_doc, allow_nan=True).encode()


def _set(path, value):
    def mutate(doc):
        where = doc
        for key in path[:-1]:
            where = where[key]
        where[path[-1]] = value
    return mutate


def _drop(path):
    def mutate(doc):
        where = doc
        for key in path[:-1]:
            where = where[key]
        del where[path[-1]]
    return mutate


def _huge(doc):
    """Finite numbers whose product overflows: the model's output is infinite."""
    layers = doc["model"]["layers"]
    layers[0]["coef"] = (np.array(layers[0]["coef"]) * 1e300).tolist()
    layers[1]["scale_base"] = (np.ones_like(layers[1]["scale_base"]) * 1e300).tolist()


BAD_FILES = {
    "not JSON": (b"this is not a model", "The file is not valid JSON (Expecting value at line 1, column 1)"),
    "not text": (b"\xff\xfe\xfa\x00\x81", "The file is not text"),
    "too large": (b" " * (MAX_FILE_BYTES + 1), "The file is 2.0 MB; a model file may be at most 2 MB."),
    "deeply nested": (b"[" * 200_000 + b"]" * 200_000, "The file is not JSON this app can read"),
    "NaN": (_file(_set(["model", "layers", 0, "coef", 0, 0, 0], float("nan"))),
            "The file contains NaN; only finite numbers are allowed."),
    "Infinity": (_file(_set(["model", "layers", 0, "scale_sp", 0, 0], float("-inf"))),
                 "The file contains -Infinity; only finite numbers are allowed."),
    "huge number": (_file(_set(["model", "layers", 0, "coef", 0, 0, 0], 1.0)).replace(b"1.0", b"1e999", 1),
                    "too large for the computer; only finite numbers are allowed"),
    "wrong shape": (_file(lambda doc: doc["model"]["layers"][1]["coef"].pop()),
                    "Layer 1 field 'coef' must have shape (3, 1, 8); got (2, 1, 8)."),
    "wrong type": (_file(_set(["model", "layers", 0, "coef"], "abc")),
                   "Layer 0 field 'coef' must be a nested list of numbers."),
    "base not a name": (_file(_set(["model", "base"], ["silu"])), "The model's field 'base' must be a name"),
    "missing layers": (_file(_drop(["model", "layers"])), "The model file is missing the field 'layers'."),
    "missing scale_sp": (_file(_drop(["model", "layers", 0, "scale_sp"])),
                         "Layer 0 of the model file is missing 'scale_sp'."),
    "missing model": (_file(_drop(["model"])), "The file is JSON but not a model file"),
    "a list": (b"[1, 2, 3]", "The file is JSON but not a model file"),
    "other version": (_file(_set(["version"], 2)), "The file is format version 2; this app reads version 1."),
    "seed out of range": (_file(_set(["settings", "seed"], -1)),
                          'The setting "seed" is -1; allowed: a whole number from 0 to 999,999.'),
    "noise not a number": (_file(_set(["settings", "noise"], "loud")),
                           'The setting "noise" is "loud"; allowed: a number from 0 to 1.'),
    "unknown target": (_file(_set(["settings", "target"], "rm -rf")), 'The setting "target" is "rm -rf"; allowed: one of'),
    "bad formula": (_file(lambda doc: doc["settings"].update(target="formula", formula="__import__('os')")),
                    "The file's target cannot be used ("),
    "too wide": (_file(_set(["model", "width"], [2, 50, 1])),
                 "this lab takes 1 or 2 inputs, up to 3 hidden layers of 1 to 10 nodes, and 1 output."),
    "inputs do not match": (_file(_set(["settings", "target"], "sin")),
                            "The model takes 2 inputs but its target sin(πx) has 1; the two must match."),
    "overflow": (_file(_huge), "its output overflows; only models with finite outputs can be imported."),
    "mask not 0 or 1": (_file(_set(["model", "layers", 0, "mask", 0, 0], 0.5)),
                        "Layer 0 field 'mask' must hold only 0 and 1."),
    "unknown function": (_file(_set(["model", "layers", 0, "symbolic_fun", 0, 0], "eval")),
                         "Layer 0 names unknown symbolic functions ['eval']"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_model_file_gets_one_sentence_and_changes_nothing(case):
    raw, sentence = BAD_FILES[case]
    lab = Sandbox()
    lab.step_once()
    model, params = lab.model, lab.model.get_params()
    settings = {name: copy.deepcopy(getattr(lab, name)) for name in SETTINGS}
    assert lab.import_model(raw, "bad.json") is False
    assert lab.import_text.startswith("Nothing was imported from “bad.json”: ")
    assert sentence in lab.import_text
    assert lab.import_text.endswith(".") and "\n" not in lab.import_text and "Traceback" not in lab.import_text
    assert 'role="status"' in lab.file_message.object and "kx-file-msg-error" in lab.file_message.object
    assert lab.model is model and np.array_equal(model.get_params(), params)
    assert {name: getattr(lab, name) for name in SETTINGS} == settings
    lab.step_once()
    assert lab.trainer.n_steps == 2, "the page still works"


def test_read_model_file_alone_checks_the_whole_file():
    lab = Sandbox()
    settings, model = read_model_file(lab.model_json().encode(), {name: lab.param[name] for name in SETTINGS})
    assert settings == {name: getattr(lab, name) for name in SETTINGS}
    assert model.to_dict() == lab.model.to_dict()


def test_a_file_name_is_escaped_and_cut_short():
    lab = Sandbox()
    lab.import_model(b"nope", "<b>" + "x" * 60 + ".json")
    assert "&lt;b&gt;" in lab.file_message.object and "<b>x" not in lab.file_message.object
    assert "…”" in lab.import_text


# -- reset -------------------------------------------------------------------------------------------------
def test_reset_brings_back_every_default_and_a_fresh_network(snapped):
    snapped.reset()
    assert (snapped.lamb, snapped.node_th, snapped.edge_th, snapped.hidden) == (0.0, 1e-2, 3e-2, "5")
    assert snapped.snap_library == list(DEFAULT_LIBRARY) and snapped.optimizer == "adam"
    assert snapped.model.width == [2, 5, 1] and snapped.trainer.n_steps == 0
    assert snapped.recovered is None and snapped.trainer.reg == {}
