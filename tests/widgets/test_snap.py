"""The snap explorer driven through its parameters: a really trained edge, the ranking, the snap."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from kan_core import KAN, SYMBOLIC_LIB, Trainer, make_dataset, target_from_formula
from widgets.snap import (GRID_SIZE, N_TEST, N_TRAIN, SPLINE, SPLINE_ORDER, TARGETS, TRAIN_STEPS, XS,
                          SnapExplorer)

# The library written out again with plain numpy, as the oracle for every snapped curve.
NUMPY_LIB = {
    "x": lambda t: t, "x^2": lambda t: t ** 2, "x^3": lambda t: t ** 3, "x^4": lambda t: t ** 4,
    "1/x": lambda t: 1 / t, "1/x^2": lambda t: 1 / t ** 2, "sqrt": np.sqrt, "exp": np.exp, "log": np.log,
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "tanh": np.tanh, "abs": np.abs, "sgn": np.sign,
    "arcsin": np.arcsin, "arctan": np.arctan, "gaussian": lambda t: np.exp(-t ** 2),
    "0": lambda t: np.zeros_like(t),
}


def numpy_formula(candidate, x):
    return candidate.c * NUMPY_LIB[candidate.name](candidate.a * x + candidate.b) + candidate.d


def ys(widget, key):
    return np.asarray(widget.sources[key].data["y"], dtype=float)


def send_row_click(widget, name):
    """What the table sends when the reader clicks a row."""
    widget._on_row(SimpleNamespace(data={"name": name}))


@pytest.fixture
def widget():
    return SnapExplorer()


def test_the_numpy_oracle_covers_the_whole_library():
    assert set(NUMPY_LIB) == set(SYMBOLIC_LIB)


def test_the_orange_curve_is_a_really_trained_kan_edge_close_to_the_sine_but_not_equal(widget):
    # Train the same KAN independently and compare its edge with what is plotted.
    data = make_dataset(target_from_formula("sin(pi*x)"), n_train=N_TRAIN, n_test=N_TEST, noise=0.08, seed=0)
    model = KAN([1, 1], grid=GRID_SIZE, k=SPLINE_ORDER, seed=0)
    trainer = Trainer(model, data, "lbfgs")
    trainer.step(TRAIN_STEPS)
    expected = trainer.model.edge(0, 0, 0)(XS)
    np.testing.assert_allclose(ys(widget, "learned"), expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(widget.sources["samples"].data["y"], data["train_label"][:, 0])
    # messy but close: off the clean sine by a visible but small amount
    rmse = np.sqrt(np.mean((ys(widget, "learned") - np.sin(np.pi * XS)) ** 2))
    assert 0.005 < rmse < 0.1


def test_the_default_opens_unsnapped_with_a_preview_of_the_best_formula(widget):
    assert widget.snapped_to == SPLINE
    assert len(widget.sources["snapped"].data["y"]) == 0
    best = widget.candidates[0]
    np.testing.assert_allclose(ys(widget, "preview"), numpy_formula(best, XS), rtol=1e-12, atol=1e-12)
    assert "Press Snap" in widget.status.object
    assert "sin" not in widget.formula.object and "cos" not in widget.formula.object
    assert widget.legend_items["preview"].visible and not widget.legend_items["snapped"].visible


def test_the_best_candidate_for_the_default_sine_is_sin_or_cos_with_r2_above_0_99(widget):
    best = widget.candidates[0]
    assert best.name in ("sin", "cos")
    assert best.r2 > 0.99
    # the constants recover the hidden sin(pi x): frequency near pi, amplitude near 1
    assert abs(abs(best.a) - math.pi) < 0.1 and abs(abs(best.c) - 1) < 0.1


def test_the_table_lists_every_library_function_once_ranked_by_the_score_formula(widget):
    rows = widget.table.rows
    names = [row["name"] for row in rows]
    assert sorted(names) == sorted(SYMBOLIC_LIB) and len(set(names)) == len(names)
    w = widget.weight_simple
    scores = []
    for row, cand in zip(rows, widget.candidates):
        assert row["r2"] == f"{cand.r2:.6f}"
        assert row["complexity"] == str(SYMBOLIC_LIB[cand.name].complexity)
        # the score, recomputed from the formula shown to the reader
        score = w * SYMBOLIC_LIB[cand.name].complexity + (1 - w) * math.log2(1 + 1e-5 - cand.r2)
        assert cand.score == pytest.approx(score, abs=1e-12)
        assert row["score"] == f"{score:.3f}".replace("-", "−")
        scores.append(score)
    assert scores == sorted(scores)


def test_snap_locks_the_edge_to_the_best_formula_computed_independently(widget):
    learned = ys(widget, "learned").copy()
    widget.snap()
    best = widget.candidates[0]
    assert widget.snapped_to == best.name
    # the red dashed curve is what the network computes now, and it is c f(a x + b) + d
    np.testing.assert_allclose(ys(widget, "snapped"), numpy_formula(best, XS), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(widget.model(XS[:, None])[:, 0], numpy_formula(best, XS), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(widget.model.layers[0].affine[0, 0], [best.a, best.b, best.c, best.d], rtol=1e-12)
    assert widget.model.layers[0].mask[0, 0] == 0 and widget.model.layers[0].symbolic_mask[0, 0] == 1
    # the orange curve stays as learned, under the snapped one
    np.testing.assert_array_equal(ys(widget, "learned"), learned)
    assert len(widget.sources["preview"].data["y"]) == 0
    assert widget.legend_items["snapped"].visible and not widget.legend_items["preview"].visible


def test_the_typeset_formula_carries_the_fitted_constants(widget):
    widget.snap()
    best = widget.candidates[0]
    latex = widget.formula.object
    assert latex.startswith("$") and latex.endswith("$")
    assert rf"\{best.name}" in latex
    for v in (best.a, best.c):
        assert str(round(abs(v), 3)) in latex
    assert f"{widget.snap_r2:.6f}" in widget.constants.object


def test_r2_is_what_the_difference_strip_shows(widget):
    widget.snap()
    residual = ys(widget, "residual")
    learned = ys(widget, "learned")
    np.testing.assert_allclose(residual, learned - ys(widget, "snapped"), rtol=0, atol=1e-15)
    r2 = 1 - np.sum(residual ** 2) / np.sum((learned - learned.mean()) ** 2)
    assert widget.snap_r2 == pytest.approx(r2, abs=1e-9)
    assert widget.candidates[0].r2 == pytest.approx(r2, abs=1e-9)


def test_clicking_another_row_re_snaps_to_that_function(widget):
    widget.snap()
    before_curve, before_formula = ys(widget, "snapped").copy(), widget.formula.object
    send_row_click(widget, "x^2")
    assert widget.snapped_to == "x^2"
    cand = widget.candidate("x^2")
    np.testing.assert_allclose(ys(widget, "snapped"), numpy_formula(cand, XS), rtol=1e-10, atol=1e-12)
    assert np.max(np.abs(ys(widget, "snapped") - before_curve)) > 0.3
    assert widget.formula.object != before_formula and "^{2}" in widget.formula.object
    assert widget.table.snapped == "x^2"
    # the fit is made to the learned spline, not to the curve snapped before
    assert widget.snap_r2 == pytest.approx(cand.r2, abs=1e-12)


def test_the_select_widget_is_a_keyboard_route_to_the_same_snap(widget):
    widget.picker.value = "gaussian"
    assert widget.snapped_to == "gaussian"
    np.testing.assert_allclose(ys(widget, "snapped"), numpy_formula(widget.candidate("gaussian"), XS),
                               rtol=1e-10, atol=1e-12)
    widget.snapped_to = "tanh"
    assert widget.picker.value == "tanh"
    assert list(widget.picker.options.values())[1:] == [c.name for c in widget.candidates]


def test_unsnap_restores_the_learned_spline_exactly(widget):
    spline = widget.model(XS[:, None])[:, 0].copy()
    learned = ys(widget, "learned").copy()
    for name in ("sin", "x^2", "0"):
        send_row_click(widget, name)
    widget.unsnap()
    assert widget.snapped_to == SPLINE
    np.testing.assert_array_equal(widget.model(XS[:, None])[:, 0], spline)
    np.testing.assert_array_equal(ys(widget, "learned"), learned)
    assert len(widget.sources["snapped"].data["y"]) == 0
    assert widget.model.layers[0].mask[0, 0] == 1 and widget.model.layers[0].symbolic_mask[0, 0] == 0
    assert "sin" not in widget.formula.object


def test_every_candidate_snaps_to_a_finite_curve_that_matches_numpy(widget):
    for cand in list(widget.candidates):
        widget.snapped_to = cand.name
        curve = ys(widget, "snapped")
        assert np.all(np.isfinite(curve)), cand.name
        np.testing.assert_allclose(curve, numpy_formula(cand, XS), rtol=1e-9, atol=1e-9, err_msg=cand.name)


def test_the_weight_re_ranks_live(widget):
    widget.weight_simple = 0.0
    # with no weight on simplicity the best fit wins outright
    assert widget.candidates[0].r2 == max(c.r2 for c in widget.candidates)
    widget.weight_simple = 1.0
    # with all the weight on simplicity the constant 0 (complexity 0) wins
    assert widget.table.rows[0]["name"] == "0"
    assert "0.80" not in widget.score_line.object and "1.00·" in widget.score_line.object


def test_the_score_line_explains_why_a_simpler_function_outranks_a_better_fit():
    widget = SnapExplorer(target="bump (Gaussian)", weight_simple=0.5)
    shown = widget.candidates[0]
    sharper = max(widget.candidates, key=lambda c: c.r2)
    line = widget.score_line.object
    assert f"For {shown.name}:" in line and f"{shown.r2:.6f}" in line
    if sharper.name != shown.name and sharper.r2 > shown.r2 + 5e-7:
        assert f"{sharper.name} fits better (R² = {sharper.r2:.6f})" in line


def test_too_much_noise_makes_saying_nothing_win_and_the_page_says_why(widget):
    widget.noise = 0.3
    assert widget.candidates[0].name == "0"
    assert "constant 0 scores best" in widget.status.object
    assert "constant 0 (say nothing) scores best" in widget.score_line.object
    widget.snap()
    assert widget.snapped_to == "0"
    np.testing.assert_allclose(ys(widget, "snapped"), np.full(XS.size, widget.candidates[0].d), rtol=1e-12)


def test_retraining_is_real_and_starts_unsnapped(widget):
    widget.snap()
    first_learned, first_samples = ys(widget, "learned").copy(), ys(widget, "samples").copy()
    widget.seed = 7
    assert widget.snapped_to == SPLINE
    assert not np.array_equal(ys(widget, "samples"), first_samples)
    assert np.max(np.abs(ys(widget, "learned") - first_learned)) > 1e-3
    widget.target = "parabola"
    assert np.sqrt(np.mean((ys(widget, "learned") - XS ** 2) ** 2)) < 0.1
    assert widget.candidates[0].r2 > 0.99
    widget.show_target = True
    np.testing.assert_allclose(ys(widget, "target"), XS ** 2, atol=1e-12)
    assert widget.legend_items["target"].visible


@pytest.mark.parametrize("label", list(TARGETS))
def test_every_hidden_function_trains_ranks_and_snaps(label):
    widget = SnapExplorer(target=label, weight_simple=0.5)
    best = widget.candidates[0]
    assert best.r2 > 0.99
    widget.snap()
    np.testing.assert_allclose(ys(widget, "snapped"), numpy_formula(best, XS), rtol=1e-9, atol=1e-9)


def test_reset_restores_the_opening_state(widget):
    opening = ys(widget, "learned").copy()
    widget.param.update(target="exponential", noise=0.2, seed=3, weight_simple=0.3, show_target=True)
    widget.snap()
    widget.reset()
    assert (widget.target, widget.noise, widget.seed, widget.weight_simple, widget.snapped_to, widget.show_target) == \
        ("sine", 0.08, 0, 0.8, SPLINE, False)
    np.testing.assert_array_equal(ys(widget, "learned"), opening)
    assert len(widget.sources["snapped"].data["y"]) == 0


def test_out_of_range_values_are_refused_and_the_controls_carry_the_bounds(widget):
    with pytest.raises(ValueError):
        widget.noise = 5
    with pytest.raises(ValueError):
        widget.seed = -1
    assert widget.noise == 0.08 and widget.seed == 0
    assert (widget.noise_slider.start, widget.noise_slider.end) == (0.0, 0.5)
    assert (widget.seed_input.start, widget.seed_input.end) == (0, 9999)
    assert (widget.weight_slider.start, widget.weight_slider.end) == (0.0, 1.0)
    send_row_click(widget, "not-a-function")
    send_row_click(widget, None)
    assert widget.snapped_to == SPLINE


def test_two_explorers_share_nothing():
    first, second = SnapExplorer(), SnapExplorer()
    first.snap()
    assert second.snapped_to == SPLINE and len(second.sources["snapped"].data["y"]) == 0
    assert first.model is not second.model and first.sources["learned"] is not second.sources["learned"]
