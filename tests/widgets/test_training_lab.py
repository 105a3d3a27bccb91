"""The training lab driven through its parameters and its tick function, without a browser.

Oracles: targets are recomputed here with numpy from their formulas, errors with numpy from the
model's predictions, formula messages come from kan_core's parser itself, and MLP sizes from
MLP.count_params. Tests that need an exact number of steps per tick lift the time budget.
"""

import re
import threading

import numpy as np
import pytest

import widgets.training_lab as tl
from kan_core import MLP, FormulaError, make_dataset, target_from_formula, PRESETS
from widgets.training_compare import ITERATIONS, MLPFamily
from widgets.training_lab import DEFAULTS, FORMULA, TrainingLab, finite, next_grid, parse_hidden


@pytest.fixture
def exact_ticks(monkeypatch):
    """Every tick does exactly ``speed`` steps, however busy the machine is."""
    monkeypatch.setattr(tl, "KAN_BUDGET_S", 60.0)


def small_family(lab, hidden=(2, 4), max_steps=15):
    lab.family = MLPFamily(lab.data, hidden=hidden, seed=lab.seed, max_steps=max_steps)
    return lab.family


def rmse(pred, label):
    return float(np.sqrt(np.mean((np.ravel(pred) - np.ravel(label)) ** 2)))


def stat(lab, key):
    match = re.search(rf'class="kx-value kx-{key}">([^<]*)<', lab.stats.object)
    return match.group(1)


def all_shown_values(lab):
    """Every number the lab has put into a Bokeh source or a colour mapper."""
    values = []
    for source in (lab.target_source, lab.fit_source, lab.train_source, lab.loss_source, lab.event_source):
        for key, column in source.data.items():
            if key != "label":
                values.append(np.asarray(column, dtype=float).ravel())
    for source in (lab.heat_target, lab.heat_fit, lab.heat_error):
        for image in source.data["image"]:
            values.append(np.asarray(image, dtype=float).ravel())
    for mapper in (lab.value_mapper, lab.error_mapper):
        values.append(np.array([mapper.low, mapper.high], dtype=float))
    return np.concatenate(values)


def grid_points(lab):
    u = np.linspace(-1, 1, tl.HEAT)
    gx, gy = np.meshgrid(u, u)
    return gx, gy


# -- the default state ------------------------------------------------------------------------------
def test_default_state_shows_the_2d_target_the_untrained_output_and_a_play_button():
    lab = TrainingLab()
    assert lab.model.width == [2, 5, 1] and lab.model.G == 5 and lab.trainer.n_steps == 0
    gx, gy = grid_points(lab)
    target = np.exp(np.sin(np.pi * gx) + gy ** 2)
    assert np.allclose(lab.heat_target.data["image"][0], target)
    output = lab.model(np.column_stack([gx.ravel(), gy.ravel()]))[:, 0].reshape(gx.shape)
    assert np.allclose(lab.heat_fit.data["image"][0], output)
    assert np.allclose(lab.heat_error.data["image"][0], np.abs(output - target))
    assert (lab.value_mapper.low, lab.value_mapper.high) == pytest.approx((target.min(), target.max()))
    data = lab.data
    assert lab.loss_source.data["step"] == [0]
    assert lab.loss_source.data["test"][0] == pytest.approx(rmse(lab.model(data["test_input"]), data["test_label"]))
    assert lab.loss_source.data["train"][0] == pytest.approx(
        rmse(lab.model(data["train_input"]), data["train_label"]))
    assert lab.curve_pane.visible is False and all(p.visible for p in lab.heat_panes)
    assert lab.play_button.label == "Play" and lab.callback is None
    assert lab.message_text.startswith("Press Play")
    assert stat(lab, "step") == "0" and stat(lab, "params") == "150"
    assert lab.diagram.model.width == [2, 5, 1]


def test_a_1d_preset_draws_the_target_curve_the_output_and_the_train_samples():
    lab = TrainingLab(target="sin")
    x = np.asarray(lab.target_source.data["x"])
    assert np.allclose(lab.target_source.data["y"], np.sin(np.pi * x))
    assert np.allclose(lab.fit_source.data["y"], lab.model(x[:, None])[:, 0])
    shown = len(lab.train_source.data["x"])
    assert 0 < shown <= tl.SHOWN_TRAIN
    assert np.allclose(lab.train_source.data["y"], np.sin(np.pi * np.asarray(lab.train_source.data["x"])))
    assert lab.curve_pane.visible is True and not any(p.visible for p in lab.heat_panes)
    assert lab.model.width == [1, 5, 1]


@pytest.mark.parametrize("target, formula", [
    ("square", lambda x: x ** 2),
    ("step", lambda x: 1 / (1 + np.exp(-20 * x))),
])
def test_every_1d_preset_is_the_function_it_names(target, formula):
    lab = TrainingLab(target=target)
    x = np.asarray(lab.target_source.data["x"])
    assert np.allclose(lab.target_source.data["y"], formula(x))


def test_the_product_preset_is_x_times_y():
    lab = TrainingLab(target="product")
    gx, gy = grid_points(lab)
    assert np.allclose(lab.heat_target.data["image"][0], gx * gy)


# -- playing ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["sin", "exp_sin", "bessel"])
def test_ticks_raise_the_step_counter_and_lower_the_error(target, exact_ticks):
    lab = TrainingLab(target=target, speed=20)
    small_family(lab)
    first = lab.loss_source.data["test"][0]
    lab.play()
    assert lab.playing and lab.callback is not None
    for n in range(1, 11):
        lab.tick()
        assert lab.trainer.n_steps == 20 * n
        assert stat(lab, "step") == f"{20 * n:,}"
    history = lab.trainer.history
    assert list(lab.loss_source.data["step"]) == [0] + history["step"]
    assert np.allclose(lab.loss_source.data["test"][1:], history["test_rmse"])
    assert np.allclose(lab.loss_source.data["train"][1:], history["train_rmse"])
    last = lab.loss_source.data["test"][-1]
    assert last < first / 2
    assert last == pytest.approx(rmse(lab.model(lab.data["test_input"]), lab.data["test_label"]))
    assert stat(lab, "test") == tl.short(last)


def test_a_tick_does_at_most_speed_steps_and_at_least_one():
    lab = TrainingLab(target="sin", speed=3)
    small_family(lab)
    lab.play()
    lab.tick()
    assert 1 <= lab.trainer.n_steps <= 3


def test_the_diagram_follows_the_training_network(exact_ticks):
    lab = TrainingLab(target="sin", speed=5)
    small_family(lab)
    before = np.array(lab.diagram.curves.data["ys"][0])
    lab.play()
    for _ in range(tl.DIAGRAM_EVERY):
        lab.tick()
    shown = lab.diagram.model
    assert shown is not lab.model, "the diagram draws a copy, never the model being trained"
    assert np.allclose(shown.get_params(), lab.model.get_params())
    assert not np.allclose(lab.diagram.curves.data["ys"][0], before)


def test_pause_stops_the_callback_and_play_makes_only_one(exact_ticks):
    lab = TrainingLab(target="sin")
    lab.play()
    callback = lab.callback
    lab.play()
    assert lab.callback is callback
    lab.toggle_play()
    assert not lab.playing and lab.callback is None and not callback.running
    assert lab.play_button.label == "Play"
    steps = lab.trainer.n_steps
    lab.tick()
    assert lab.trainer.n_steps == steps, "a paused lab does not train"


def test_step_takes_exactly_one_optimizer_step_and_redraws_everything():
    lab = TrainingLab(target="sin")
    small_family(lab)
    lab.step_once()
    lab.step_once()
    assert lab.trainer.n_steps == 2 and not lab.playing
    assert list(lab.loss_source.data["step"]) == [0, 1, 2]
    assert np.allclose(lab.diagram.model.get_params(), lab.model.get_params())
    x = np.asarray(lab.fit_source.data["x"])
    assert np.allclose(lab.fit_source.data["y"], lab.model(x[:, None])[:, 0])


def test_ticks_never_overlap():
    lab = TrainingLab(target="sin")
    small_family(lab)
    lab.play()
    entered, release = threading.Event(), threading.Event()
    real_step = lab.trainer.step

    def slow_step(n, stop_rmse=None):
        entered.set()
        release.wait(10)
        return real_step(n, stop_rmse=stop_rmse)

    lab.trainer.step = slow_step
    worker = threading.Thread(target=lab.tick)
    worker.start()
    assert entered.wait(10)
    lab.tick()                       # arrives while the first tick still runs
    assert lab.skipped_ticks == 1
    release.set()
    worker.join(10)
    assert lab.skipped_ticks == 1 and lab.trainer.n_steps >= 1


def test_closing_the_tab_stops_the_callback_for_good():
    lab = TrainingLab(target="sin")
    lab.play()
    callback = lab.callback
    assert callback.running
    lab._on_session_destroyed(None)    # what Bokeh calls when the session ends
    assert lab.callback is None and not callback.running and not lab.playing
    steps = lab.trainer.n_steps
    lab.tick()
    lab.play()
    assert lab.trainer.n_steps == steps and lab.callback is None


# -- targets and formulas -----------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["sin(x", "x ** ", "foo(x)", "import os", "x + "])
def test_an_invalid_formula_shows_the_parser_message_and_training_does_not_start(text):
    lab = TrainingLab(target="sin")
    with pytest.raises(FormulaError) as parser:
        target_from_formula(text)
    lab.formula = text
    assert lab.target == FORMULA
    assert lab.formula_input.error_state is True
    assert lab.formula_input.helper_text == str(parser.value)
    lab.play()
    assert not lab.playing and lab.callback is None
    assert str(parser.value) in lab.message_text and lab.message_text.startswith("Training cannot start")
    lab.tick()
    lab.step_once()
    assert lab.trainer.n_steps == 0
    lab.target = "square"              # a preset makes the lab usable again
    assert lab.problem is None
    lab.play()
    assert lab.playing


def test_a_valid_2d_formula_is_learned(exact_ticks):
    lab = TrainingLab(target="sin", speed=20)
    lab.formula = "x*y + sin(y)"
    assert lab.target == FORMULA and lab.problem is None and lab.formula_input.error_state is False
    assert lab.model.width == [2, 5, 1]
    gx, gy = grid_points(lab)
    assert np.allclose(lab.heat_target.data["image"][0], gx * gy + np.sin(gy))
    assert np.allclose(lab.data["test_label"][:, 0],
                       lab.data["test_input"][:, 0] * lab.data["test_input"][:, 1] + np.sin(lab.data["test_input"][:, 1]))
    small_family(lab)
    first = lab.loss_source.data["test"][0]
    lab.play()
    for _ in range(10):
        lab.tick()
    assert lab.loss_source.data["test"][-1] < first / 2


def test_a_formula_in_three_variables_is_refused_with_a_sentence():
    lab = TrainingLab()
    lab.formula = "x*y*x3"
    assert "x and y only" in lab.problem and "x and y only" in lab.formula_input.helper_text
    assert lab.model.width == [2, 5, 1], "the last good network stays"


def test_a_formula_that_is_not_finite_on_the_range_is_refused():
    lab = TrainingLab()
    lab.formula = "log(x)"
    assert "non-finite" in lab.problem
    lab.play()
    assert not lab.playing


def test_a_huge_target_is_refused():
    lab = TrainingLab()
    lab.formula = "exp(30*x)"
    assert "Scale the formula down" in lab.problem


def test_noise_goes_on_the_train_labels_only():
    lab = TrainingLab(target="sin", noise=0.3, seed=4)
    clean = make_dataset(PRESETS["sin"], 1000, tl.N_TEST, 0.0, 4)
    assert np.allclose(lab.data["test_label"], clean["test_label"])
    spread = np.std(lab.data["train_label"] - clean["train_label"])
    assert spread == pytest.approx(0.3 * np.std(clean["train_label"]), rel=0.1)


# -- the network's shape ------------------------------------------------------------------------------
@pytest.mark.parametrize("text, sizes", [("5", [5]), ("5,3", [5, 3]), (" 4 , 2 ", [4, 2]), ("", []),
                                         ("1 2 3", [1, 2, 3])])
def test_hidden_sizes_are_read_from_text(text, sizes):
    assert parse_hidden(text) == sizes


@pytest.mark.parametrize("text", ["0", "11", "abc", "5,3,2,1", "-1", "2.5", "5,,x"])
def test_bad_hidden_sizes_are_refused_with_the_rule(text):
    with pytest.raises(ValueError, match="Hidden layers: write up to 3 whole numbers"):
        parse_hidden(text)
    lab = TrainingLab(target="sin")
    lab.hidden = text
    assert lab.problem.startswith("Hidden layers") and lab.hidden_input.error_state is True
    lab.play()
    assert not lab.playing
    lab.hidden = "4, 3"
    assert lab.problem is None and lab.model.width == [1, 4, 3, 1]


def test_grid_order_and_seed_make_a_fresh_network():
    lab = TrainingLab(target="sin")
    lab.step_once()
    lab.param.update(grid_size=8, spline_order=2)
    assert lab.model.G == 8 and lab.model.k == 2 and lab.trainer.n_steps == 0
    assert lab.model.n_params == 5 * 2 * (8 + 2 + 2)
    assert stat(lab, "params") == f"{lab.model.n_params}"


@pytest.mark.parametrize("name, value", [("grid_size", 1000), ("spline_order", 9), ("n_samples", 10 ** 7),
                                         ("learning_rate", 1e9), ("noise", 5.0), ("speed", 0)])
def test_absurd_values_are_refused_by_the_bounds(name, value):
    lab = TrainingLab(target="sin")
    with pytest.raises(ValueError):
        setattr(lab, name, value)
    assert getattr(lab, name) == DEFAULTS[name]


# -- optimizers and divergence --------------------------------------------------------------------------
def test_lbfgs_trains_and_hides_the_learning_rate(exact_ticks):
    lab = TrainingLab(target="sin", optimizer="lbfgs", speed=2)
    small_family(lab)
    assert lab.lr_input.visible is False
    first = lab.loss_source.data["test"][0]
    lab.play()
    for _ in range(5):
        lab.tick()
    assert lab.trainer.n_steps == 10
    assert lab.loss_source.data["test"][-1] < first / 10
    lab.optimizer = "adam"
    assert lab.lr_input.visible is True and lab.trainer.n_steps == 10, "switching keeps the network"


def test_a_huge_learning_rate_pauses_with_a_message_and_nothing_non_finite_is_shown(exact_ticks):
    lab = TrainingLab(target="exp_sin", learning_rate=1e6, speed=20)
    small_family(lab)
    lab.play()
    for _ in range(5):
        lab.tick()
    assert not lab.playing and lab.callback is None
    assert lab.message_text.startswith("Training stopped because")
    assert "smaller learning rate" in lab.message_text
    assert np.all(np.isfinite(all_shown_values(lab)))
    assert np.all(np.asarray(lab.loss_source.data["test"]) > 0)
    page = (lab.stats.object + lab.message.object).lower()
    assert "nan" not in page and "inf" not in page
    assert np.all(np.isfinite(lab.model.get_params()))
    lab.learning_rate = 0.02           # a sensible rate lets training go on
    lab.play()
    lab.tick()
    assert lab.playing and lab.trainer.n_steps > 0


def test_finite_replaces_nan_and_clips_infinity():
    out = finite([np.nan, np.inf, -np.inf, 1.0, 1e300], low=1e-12)
    assert np.all(np.isfinite(out)) and out[0] == 1e-12 and out[1] == tl.BIG and out[2] == 1e-12
    assert tl.short(np.nan) == "—" and tl.short(np.inf) == "—"


def test_a_non_finite_frame_never_reaches_a_source():
    lab = TrainingLab(target="sin")
    frame = lab._snapshot()
    frame["curve"] = np.full(tl.CURVE_POINTS, np.nan)
    frame["steps"] = (np.array([1.0]), np.array([np.inf]), np.array([np.nan]))
    frame["metrics"] = dict(frame["metrics"], train_rmse=np.nan, test_rmse=np.inf, seconds_per_step=np.nan)
    lab._show(frame)
    assert np.all(np.isfinite(all_shown_values(lab)))
    assert "nan" not in lab.stats.object.lower() and "inf" not in lab.stats.object.lower()


# -- grid extension and the stop target ------------------------------------------------------------------
def test_extend_grid_refines_the_same_function_and_marks_the_loss_plot(exact_ticks):
    lab = TrainingLab(target="sin", speed=50)
    small_family(lab)
    lab.play()
    for _ in range(4):
        lab.tick()
    lab.pause()
    x = np.asarray(lab.fit_source.data["x"])
    before = lab.model(x[:, None])[:, 0]
    error_before = lab.trainer.rmse("test")
    assert next_grid(5) == 10
    assert lab.extend_grid() == 10
    assert lab.model.G == 10 and lab.grid_size == 10 and lab.trainer.n_steps == 200
    assert lab.trainer.history["grid_events"] == [(200, 10)]
    assert lab.event_source.data["step"] == [200] and lab.event_source.data["label"] == ["G = 10"]
    assert np.max(np.abs(lab.model(x[:, None])[:, 0] - before)) < 1e-6, "the same curve on a finer grid"
    assert lab.model.n_params == 5 * 2 * (10 + 3 + 2)
    assert lab.extend_button.label == "Extend grid: G 10 → 20"
    lab.play()
    for _ in range(4):
        lab.tick()
    assert lab.trainer.rmse("test") < error_before, "the error drops after the extension"


def test_extend_grid_stops_at_the_finest_grid():
    lab = TrainingLab(target="sin", grid_size=100)
    assert lab.extend_grid() is None and lab.extend_button.disabled is True
    assert "finest" in lab.message_text


def test_stop_at_target_pauses_by_itself_with_a_message(exact_ticks):
    lab = TrainingLab(target="sin", speed=5, stop_at_target=True, target_rmse=0.2)
    small_family(lab)
    assert lab.stop_span.visible and lab.stop_span.location == 0.2
    lab.play()
    for _ in range(200):
        if not lab.playing:
            break
        lab.tick()
    assert not lab.playing and lab.callback is None
    assert lab.message_text.startswith("Paused by itself")
    last = lab.loss_source.data["test"][-1]
    assert last <= 0.2 < lab.loss_source.data["test"][-2]


# -- reset ----------------------------------------------------------------------------------------------
def test_reset_restores_every_default_and_a_fresh_network(exact_ticks):
    lab = TrainingLab()
    fresh = lab.model.get_params()
    lab.param.update(target="sin", hidden="3,2", grid_size=7, spline_order=2, optimizer="lbfgs",
                     n_samples=300, noise=0.2, seed=5, speed=3, stop_at_target=True, target_rmse=0.5)
    lab.formula = "x + y"
    small_family(lab)
    lab.play()
    lab.tick()
    lab.extend_grid()
    lab.reset()
    for name, value in DEFAULTS.items():
        assert getattr(lab, name) == value, name
    assert lab.trainer.n_steps == 0 and lab.model.width == [2, 5, 1] and lab.callback is None
    assert np.allclose(lab.model.get_params(), fresh)
    assert list(lab.loss_source.data["step"]) == [0] and lab.event_source.data["step"] == []
    assert lab.problem is None and lab.formula_input.error_state is False
    assert lab.message_text.startswith("Press Play")


# -- the MLP comparison ------------------------------------------------------------------------------------
def test_mlp_family_answers_from_its_own_runs():
    data = make_dataset(PRESETS["sin"], 300, 300, 0.0, 0)
    family = MLPFamily(data, hidden=(2, 4, 8), max_steps=20)
    assert family.answer(1.0) == {"kind": "idle"}
    while not family.finished:
        family.advance(0.01)
    assert all(family.done) and all(0 < s <= 20 for s in family.steps)
    assert family.n_params == [MLP.count_params([1, h, 1]) for h in (2, 4, 8)]
    best = family.best
    easiest = max(best) * 1.01
    assert family.answer(easiest)["hidden"] == 2
    hardest = min(best)
    reached = family.answer(hardest)
    i = reached["index"]
    assert best[i] <= hardest and all(b > hardest for b in best[:i])
    assert family.answer(hardest / 2) == {"kind": "none", "n_params": family.n_params[-1], "hidden": 8}


def test_mlp_family_best_is_a_test_error_its_mlp_really_reached():
    data = make_dataset(PRESETS["square"], 200, 200, 0.0, 1)
    family = MLPFamily(data, hidden=(3,), max_steps=10)
    family.advance(60)
    model = MLP([1, 3, 1], "tanh", seed=0)
    from kan_core import Trainer
    from kan_core.optim import LBFGS
    trainer = Trainer(model, data, LBFGS(max_iter=ITERATIONS, tolerance_change=1e-14, tolerance_grad=1e-12))
    trainer.step(family.steps[0])
    assert family.best[0] == pytest.approx(min(trainer.history["test_rmse"]))


def test_compare_button_trains_the_mlps_while_the_kan_rests():
    lab = TrainingLab(target="sin")
    family = small_family(lab, hidden=(2, 4), max_steps=10)
    assert stat(lab, "mlp") == "—"
    lab.compare_mlps()
    assert lab.callback is not None and not lab.playing and lab.compare_button.disabled
    for _ in range(200):
        if family.finished:
            break
        lab.tick()
    assert family.finished and lab.trainer.n_steps == 0, "only the MLPs trained"
    assert lab.callback is None, "the callback stops once the comparison is done"
    answer = family.answer(lab.trainer.rmse("test"))
    assert answer["kind"] == "reached" and answer["hidden"] == 2, "any MLP beats an untrained KAN"
    assert stat(lab, "mlp") == f"≈ {MLP.count_params([1, 2, 1])} parameters"


def test_mlp_readout_says_honestly_when_no_mlp_reached_the_error():
    lab = TrainingLab(target="sin")
    family = small_family(lab, hidden=(2,), max_steps=3)
    family.advance(10)
    assert family.finished
    family.best[0] = 10.0          # as if the only MLP never got anywhere
    lab._show(lab._snapshot())
    assert stat(lab, "mlp") == "none reached it"


@pytest.mark.parametrize("reason", [
    "Training stopped because the loss became infinite or NaN; the parameters were rolled back.",
    "Training stopped because the loss exploded to 5.01e+49; the parameters were rolled back.",
    "Training stopped because the parameters became infinite or NaN; the parameters were rolled back.",
])
def test_divergence_is_told_without_nan_or_inf(reason):
    sentence = tl.divergence_sentence(reason)
    assert sentence.startswith("Training stopped because") and "smaller learning rate" in sentence
    assert not re.search(r"\b(nan|inf|infinity|infinite)\b", sentence, re.IGNORECASE)
    if "exploded" in reason:
        assert "5e+49" in sentence


def test_the_error_colour_scale_follows_the_error_down(exact_ticks):
    lab = TrainingLab(target="product", speed=50)
    small_family(lab)
    lab.play()
    for _ in range(8):
        lab.tick()
    error = np.asarray(lab.heat_error.data["image"][0])
    assert error.max() <= lab.error_mapper.high <= 5 * error.max(), "the error uses most of its colour bar"
    assert lab.error_mapper.low == 0
