"""The network-to-formula pipeline driven through its buttons and ticks, without a browser.

Oracles: the laws are recomputed here with numpy on fresh points; edge importance is recomputed
with numpy from the edge outputs; the printed formula is read back by kan_core's whitelisting
parser and compared with numpy's values of the law; stage figures are recomputed from the model.
"""

import re
import threading

import numpy as np
import pytest

import widgets.pipeline as wp
from kan_core import parse_formula
from widgets.pipeline import EDGE_TH, TRAIN_STEPS, PipelineExplorer
from widgets.theme import RED

LAWS = {
    "exp_sin": lambda X: np.exp(np.sin(np.pi * X[:, 0]) + X[:, 1] ** 2),
    "product": lambda X: X[:, 0] * X[:, 1],
}
FRESH = np.random.default_rng(12345).uniform(-1, 1, (2000, 2))   # points no stage has seen


def rmse(a, b):
    return float(np.sqrt(np.mean((np.ravel(a) - np.ravel(b)) ** 2)))


def n_live(model):
    return sum(int(((layer.mask != 0) | (layer.symbolic_mask != 0)).sum()) for layer in model.layers)


def importance_by_hand(model, x):
    """Edge scores of a 3-layer-node KAN [n0, n1, 1] from its edge outputs, written out with numpy:
    each output edge's share of the output, then each node's share split over its incoming edges."""
    detail = model.forward_detail(x)
    a0 = np.abs(detail["edges"][0]).mean(axis=0).T     # (n0, n1)
    a1 = np.abs(detail["edges"][1]).mean(axis=0).T     # (n1, 1)
    node = a1[:, 0] / a1.sum()
    return [a0 / np.maximum(a0.sum(axis=0, keepdims=True), 1e-300) * node[None, :], node[:, None]]


def enabled(explorer):
    return [not b.disabled for b in explorer.buttons]


def all_shown_numbers(explorer):
    values = []
    for source in (explorer.loss_source, explorer.mark_source, explorer.diagram.links, explorer.diagram.curves,
                   explorer.diagram.boxes, explorer.diagram.large_curve):
        for key, column in source.data.items():
            for v in column:
                if isinstance(v, (int, float, np.floating, np.integer)):
                    values.append(float(v))
                elif isinstance(v, (list, np.ndarray)) and len(v) and not isinstance(v[0], str):
                    values.extend(np.asarray(v, dtype=float).ravel())
    return np.array(values)


def snapshot(explorer):
    return {
        "stage": explorer.stage, "model": explorer.model.copy(), "status": explorer.status_text,
        "enabled": enabled(explorer), "rows": [dict(r) for r in explorer.rows],
        "loss": {k: list(v) for k, v in explorer.loss_source.data.items()},
        "marks": {k: list(v) for k, v in explorer.mark_source.data.items()},
        "curves": {k: list(v) for k, v in explorer.diagram.curves.data.items()},
        "links": {k: list(v) for k, v in explorer.diagram.links.data.items()},
        "labels": {k: list(v) for k, v in explorer.diagram.labels.data.items()},
        "diagram_model": explorer.diagram.model.copy(), "table": explorer.table.object,
        "latex": explorer.formula_pane.object, "notes": explorer.formula_notes.object,
        "finite": bool(np.all(np.isfinite(all_shown_numbers(explorer)))),
    }


@pytest.fixture(scope="module")
def run():
    """The default pipeline run once, stage by stage, with what was on screen after each stage."""
    explorer = PipelineExplorer()
    seen = {"opening": snapshot(explorer)}
    seen["opening"]["running"] = explorer.running
    explorer.finish()
    seen["trained"] = snapshot(explorer)
    for stage, action in (("pruned", explorer.prune), ("snapped", explorer.snap), ("tuned", explorer.retrain),
                          ("formula", explorer.show_formula)):
        action()
        explorer.finish()
        seen[stage] = snapshot(explorer)
    seen["explorer"] = explorer
    yield seen
    explorer.cleanup()


# -- the opening and stage 1 ------------------------------------------------------------------------
def test_the_page_opens_training_stage_1_with_only_the_train_button_waiting(run):
    opening = run["opening"]
    assert opening["running"] and opening["stage"] == "start"
    assert "Stage 1 of 5" in opening["status"] and "λ = 0.01" in opening["status"]
    assert opening["enabled"] == [False] * 5, "nothing can be pressed while stage 1 trains"
    assert opening["loss"]["step"] == [0]


def test_stage_1_trains_with_the_penalty_and_most_edges_fade(run):
    trained, explorer = run["trained"], run["explorer"]
    assert trained["stage"] == "trained"
    assert trained["loss"]["step"] == list(range(TRAIN_STEPS + 1))
    model, data = trained["model"], explorer.data
    assert model.width == [2, 5, 1] and n_live(model) == 15
    # the error is small on held-out points, measured here against the law itself
    assert rmse(model(FRESH), LAWS["exp_sin"](FRESH)) < 0.08
    assert trained["loss"]["test"][-1] == pytest.approx(rmse(model(data["test_input"]), data["test_label"]))
    # importance recomputed by hand: only a few edges matter, and the readout counts exactly those
    scores = importance_by_hand(model, data["train_input"])
    strong = sum(int((s >= EDGE_TH).sum()) for s in scores)
    assert strong <= 5
    assert trained["rows"][0]["strong"] == strong
    assert f"Only {strong} of the 15 edges" in trained["status"] and "press 2 · Prune" in trained["status"]
    assert trained["enabled"] == [True, True, False, False, False]


def test_the_diagram_thins_out_while_the_penalty_trains(run):
    def faint(snap):   # drawn at (nearly) the diagram's faintest
        return sum(a < 0.15 for a in snap["curves"]["alpha"])
    assert faint(run["opening"]) == 0, "an untrained network uses every edge a little"
    assert faint(run["trained"]) >= 10
    assert np.allclose(run["trained"]["diagram_model"].get_params(), run["trained"]["model"].get_params())


# -- stage 2 ----------------------------------------------------------------------------------------
def test_prune_leaves_fewer_edges_and_the_held_out_error_stays_small(run):
    pruned = run["pruned"]
    model = pruned["model"]
    assert model.width == [2, 1, 1] and n_live(model) == 3
    assert rmse(model(FRESH), LAWS["exp_sin"](FRESH)) < 0.02
    row = pruned["rows"][1]
    assert row["edges"] == "15 → 3" and row["cut_test"] > row["test"], "the short retrain after the cut helps"
    assert pruned["diagram_model"].width == [2, 1, 1] and len(pruned["curves"]["alpha"]) == 3
    # the loss plot has a prune mark, and the error right after the cut, at the end of stage 1
    assert pruned["marks"]["label"] == ["pruned"] and pruned["marks"]["step"] == [TRAIN_STEPS]
    assert pruned["loss"]["step"][TRAIN_STEPS + 1] == TRAIN_STEPS
    assert pruned["loss"]["test"][TRAIN_STEPS + 1] == pytest.approx(row["cut_test"])
    assert pruned["enabled"] == [True, False, True, False, False]
    assert "[2, 5, 1] to [2, 1, 1]" in pruned["status"]


# -- stage 3 ----------------------------------------------------------------------------------------
def test_snap_turns_every_edge_into_a_formula_close_to_the_law(run):
    snapped = run["snapped"]
    model = snapped["model"]
    assert all(layer.mask.sum() == 0 for layer in model.layers), "no spline is left"
    names = sorted(name for layer in model.layers for row in layer.symbolic_fun for name in row)
    assert names == ["exp", "sin", "x^2"]
    formula = parse_formula(model.symbolic_formula().text(10))
    np.testing.assert_allclose(formula(FRESH), model(FRESH)[:, 0], atol=1e-6)
    assert rmse(formula(FRESH), LAWS["exp_sin"](FRESH)) < 0.01
    assert snapped["enabled"] == [True, False, False, True, False]


def test_snapped_edges_are_drawn_red_and_dashed_with_their_names(run):
    snapped = run["snapped"]
    assert set(snapped["curves"]["color"]) == {RED} and set(snapped["curves"]["dash"]) == {"dashed"}
    assert set(snapped["links"]["color"]) == {RED}
    assert sorted(snapped["labels"]["text"]) == ["exp", "sin", "x^2"]
    assert set(run["pruned"]["curves"]["dash"]) == {"solid"}, "before snapping the edges are splines"
    assert run["snapped"]["marks"]["label"] == ["pruned", "snapped"]
    assert "x → h1: sin" in snapped["status"] and "h1 → f: exp" in snapped["status"]


# -- stage 4 ----------------------------------------------------------------------------------------
def test_retraining_moves_only_the_constants_and_lowers_the_error(run):
    before, after = run["snapped"]["model"], run["tuned"]["model"]
    for old, new in zip(before.layers, after.layers):
        np.testing.assert_array_equal(old.coef, new.coef)
        np.testing.assert_array_equal(old.symbolic_codes, new.symbolic_codes)
    assert any(not np.allclose(old.affine, new.affine) for old, new in zip(before.layers, after.layers))
    law = LAWS["exp_sin"](FRESH)
    assert rmse(after(FRESH), law) < rmse(before(FRESH), law) / 3
    assert run["tuned"]["rows"][3]["test"] < run["tuned"]["rows"][2]["test"]
    assert run["tuned"]["enabled"] == [True, False, False, False, True]


# -- stage 5 ----------------------------------------------------------------------------------------
def test_the_printed_formula_is_the_law_and_its_error_is_measured_as_printed(run):
    explorer, shown = run["explorer"], run["formula"]
    text = explorer.formula_text
    assert "exp" in text and "sin" in text and "y**2" in text
    printed = parse_formula(text)
    assert rmse(printed(FRESH), LAWS["exp_sin"](FRESH)) < 1e-3
    # the readout is the printed text's error on the held-out points, recomputed here
    data = explorer.data
    assert explorer.formula_rmse == pytest.approx(rmse(printed(data["test_input"]), data["test_label"]))
    assert wp.short(explorer.formula_rmse) in shown["notes"]
    # π recovered: the sine's frequency, read off the text
    frequency = float(re.search(r"sin\(([\d.]+)\*x", text).group(1))
    assert frequency == pytest.approx(np.pi, abs=2e-3)
    assert shown["latex"].startswith("$f(x, y) \\approx") and "\\sin" in shown["latex"]
    assert "e^{" in shown["latex"]
    assert shown["stage"] == "formula" and shown["status"].startswith("Done")
    assert shown["enabled"] == [True, False, False, False, False]


def test_the_stage_table_holds_a_row_per_stage_recomputed_from_the_runs(run):
    table = run["formula"]["table"]
    assert table.count("class='done'") == 6    # stage 2 takes two lines: the cut, then the settling
    for n in range(1, 5):
        row = run["formula"]["rows"][n - 1]
        assert row["step"] == n and wp.short(row["test"]) in table
    assert "15, 3 strong" in table and "15 → 3" in table and "3 snapped" in table


def test_nothing_shown_is_ever_nan_or_infinite(run):
    assert all(run[stage]["finite"] for stage in ("opening", "trained", "pruned", "snapped", "tuned", "formula"))


def test_buttons_out_of_order_do_nothing(run):
    explorer = run["explorer"]
    params = explorer.model.get_params()
    for action in (explorer.prune, explorer.snap, explorer.retrain, explorer.show_formula):
        action()
    assert explorer.stage == "formula" and np.array_equal(explorer.model.get_params(), params)


# -- other settings -----------------------------------------------------------------------------------
def test_x_times_y_is_recovered_as_two_squares():
    explorer = PipelineExplorer(target="product")
    assert explorer.library == ["x", "x^2"]
    explorer.finish()
    for action in (explorer.prune, explorer.snap, explorer.retrain, explorer.show_formula):
        action()
        explorer.finish()
    assert explorer.model.width == [2, 2, 1]
    assert explorer.formula_text.count("**2") == 2
    assert rmse(parse_formula(explorer.formula_text)(FRESH), LAWS["product"](FRESH)) < 1e-3
    explorer.cleanup()


def test_a_new_library_puts_the_pruned_network_back_and_snaps_again(monkeypatch):
    explorer = PipelineExplorer(target="product")
    explorer.finish()
    explorer.prune()
    explorer.finish()
    pruned = explorer.model.get_params()
    n_loss = len(explorer.loss_source.data["step"])
    explorer.snap()
    explorer.retrain()
    monkeypatch.setattr(wp, "TICK_BUDGET_S", 0.0)   # one step per tick: the retraining is still on
    explorer.tick()                                # however fast the engine runs its 50 steps
    assert explorer.running
    explorer.library = ["x", "x^2", "sin"]        # while the constants retrain
    assert explorer.stage == "pruned" and not explorer.running and explorer.callback is None
    np.testing.assert_array_equal(explorer.model.get_params(), pruned)
    assert all(layer.symbolic_mask.sum() == 0 for layer in explorer.model.layers)
    assert len(explorer.loss_source.data["step"]) == n_loss
    assert explorer.mark_source.data["label"] == ["pruned"]
    assert [r["step"] for r in explorer.rows] == [1, 2]
    assert "3 · Snap" in explorer.status_text and enabled(explorer)[2]
    explorer.snap()
    names = {name for layer in explorer.model.layers for row in layer.symbolic_fun for name in row}
    assert "sin" in names, "a sine near its crest passes for a parabola"
    explorer.cleanup()


def test_an_empty_library_is_refused_with_a_sentence():
    explorer = PipelineExplorer(library=[])
    explorer.finish()
    explorer.prune()
    explorer.finish()
    assert not enabled(explorer)[2]
    explorer.snap()
    assert explorer.stage == "pruned" and "at least one function" in explorer.status_text
    explorer.cleanup()


def test_without_the_penalty_almost_every_edge_stays_and_prune_cuts_little():
    explorer = PipelineExplorer(lamb=0.0)
    explorer.finish()
    strong = sum(int((s >= EDGE_TH).sum())
                 for s in importance_by_hand(explorer.model, explorer.data["train_input"]))
    assert strong >= 10 and "without any penalty" in explorer.status_text
    explorer.prune()
    explorer.finish()
    assert n_live(explorer.model) == strong
    explorer.cleanup()


def test_too_strong_a_penalty_is_called_out():
    explorer = PipelineExplorer(target="product", lamb=0.05)
    explorer.finish()
    flat = float(np.std(explorer.data["test_label"]))
    assert explorer.rows[0]["test"] > 0.5 * flat
    assert "the penalty won" in explorer.status_text
    explorer.cleanup()


def test_new_settings_start_over_and_train_waits_for_its_button():
    explorer = PipelineExplorer()
    explorer.finish()
    explorer.seed = 5
    assert explorer.stage == "start" and not explorer.running and explorer.model.width == [2, 5, 1]
    assert explorer.loss_source.data["step"] == [0] and explorer.rows == []
    assert "press 1 · Train" in explorer.status_text
    assert enabled(explorer) == [True, False, False, False, False]
    explorer.train()
    assert explorer.running and explorer.callback is not None
    explorer.target = "product"
    assert explorer.library == ["x", "x^2"] and not explorer.running and explorer.callback is None
    explorer.cleanup()


def test_reset_restores_the_defaults_and_trains_again():
    explorer = PipelineExplorer(target="product", seed=7, lamb=0.02)
    explorer.finish()
    explorer.prune()
    explorer.finish()
    explorer.reset()
    assert (explorer.target, explorer.seed, explorer.lamb, explorer.library) == \
        ("exp_sin", 3, 0.01, ["x", "x^2", "exp", "sin"])
    assert explorer.running and explorer.stage == "start" and explorer.model.width == [2, 5, 1]
    assert explorer.loss_source.data["step"] == [0] and explorer.mark_source.data["step"] == []
    explorer.cleanup()


def test_out_of_range_settings_are_refused():
    explorer = PipelineExplorer()
    for name, value in (("seed", -1), ("seed", 10_000), ("lamb", -0.01), ("lamb", 1.0), ("library", ["os"])):
        with pytest.raises(ValueError):
            setattr(explorer, name, value)
    assert (explorer.seed, explorer.lamb) == (3, 0.01)
    assert (explorer.seed_input.start, explorer.seed_input.end) == (0, 999)
    explorer.cleanup()


# -- ticks -----------------------------------------------------------------------------------------
def test_a_tick_does_a_bounded_slice_and_ticks_never_overlap():
    explorer = PipelineExplorer()
    explorer.tick()
    trainer = explorer.job["trainer"]
    assert 1 <= trainer.n_steps < TRAIN_STEPS
    entered, release = threading.Event(), threading.Event()
    real_step = trainer.step

    def slow_step(n=1, stop_rmse=None):
        entered.set()
        release.wait(10)
        return real_step(n, stop_rmse=stop_rmse)

    trainer.step = slow_step
    worker = threading.Thread(target=explorer.tick)
    worker.start()
    assert entered.wait(10)
    explorer.tick()
    assert explorer.skipped_ticks == 1
    release.set()
    worker.join(10)
    explorer.cleanup()


def test_closing_the_tab_stops_the_training_for_good():
    explorer = PipelineExplorer()
    callback = explorer.callback
    assert callback is not None and callback.running
    explorer._on_session_destroyed(None)
    assert explorer.callback is None and not callback.running and not explorer.running
    explorer.tick()
    explorer.train()
    assert explorer.callback is None and not explorer.running


def test_two_explorers_share_nothing():
    first, second = PipelineExplorer(), PipelineExplorer()
    first.tick()
    assert second.job["trainer"].n_steps == 0
    assert first.model is not second.model and first.loss_source is not second.loss_source
    assert first.diagram is not second.diagram
    first.cleanup()
    second.cleanup()


def test_the_formula_downloads_wait_for_the_formula_then_give_latex_and_text():
    from widgets.pipeline import PipelineExplorer

    explorer = PipelineExplorer()
    assert explorer.latex_download.disabled and explorer.text_download.disabled
    explorer.formula_text, explorer.formula_latex = "exp(sin(3.1416*x) + y**2)", r"e^{\sin(3.1416 x) + y^{2}}"
    explorer.formula_rmse = 5.9e-06
    explorer._show_tables()
    assert not explorer.latex_download.disabled and not explorer.text_download.disabled
    assert explorer.latex_download.callback().read() == "e^{\\sin(3.1416 x) + y^{2}}\n"
    assert explorer.text_download.callback().read() == "exp(sin(3.1416*x) + y**2)\n"
