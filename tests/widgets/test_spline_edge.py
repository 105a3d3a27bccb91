"""The spline-edge explorable driven through its parameters, checked against independent oracles.

The oracle for every B-spline value is scipy's BSpline (not kan_core), and the SiLU term is
x / (1 + exp(-x)) written out here.
"""

from math import comb
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.interpolate import BSpline

from kan_core import KAN
from widgets.spline_edge import (COEF_LIMIT, DEFAULT_ACTIVE, DEFAULT_COEF, BezierAside, SplineEdge,
                                 continuity_sentence, de_casteljau, runge_comparison)

GRIDS = [(5, 3), (1, 5), (8, 0), (3, 1), (20, 5), (7, 2), (1, 0)]


def silu(x):
    return x / (1.0 + np.exp(-x))


def scipy_basis(knots, k, x):
    """(G+k, N) basis values by scipy, zero outside each function's support."""
    nb = len(knots) - k - 1
    rows = [BSpline.basis_element(knots[i:i + k + 2], extrapolate=False)(x) for i in range(nb)]
    rows = np.nan_to_num(np.array(rows), nan=0.0)
    # Half-open spans [t_i, t_{i+1}), as in kan_core: B_i is 0 at the right end of its support.
    rows[np.asarray(x)[None, :] == knots[k + 1:k + 1 + nb, None]] = 0.0
    return rows


def plotted(edge):
    p = edge._plot
    xs = np.asarray(p.xs)
    return xs, np.asarray(p.curve), np.asarray(p.basis).reshape(len(p.centers), xs.size), np.asarray(p.base)


def message(**data):
    return SimpleNamespace(data=data)


@pytest.mark.parametrize("G, k", GRIDS)
def test_plotted_basis_is_the_b_spline_basis_on_the_kan_grid(G, k):
    edge = SplineEdge(grid_size=G, spline_order=k)
    xs, _, basis, _ = plotted(edge)
    knots = np.asarray(edge._plot.knots)
    h = 2.0 / G
    assert np.allclose(knots, -1.0 + h * np.arange(-k, G + k + 1))
    assert basis.shape == (G + k, xs.size)
    inside = (xs >= knots[0]) & (xs < knots[-1])
    expected = scipy_basis(knots, k, xs)
    assert np.allclose(basis[:, inside], expected[:, inside], atol=1e-12)
    assert np.all(basis[:, ~inside] == 0.0)


@pytest.mark.parametrize("G, k", GRIDS)
def test_curve_is_the_kan_edge_and_equals_what_the_browser_computes(G, k):
    rng = np.random.default_rng(G * 10 + k)
    edge = SplineEdge(grid_size=G, spline_order=k, use_base=True, scale_base=0.7, scale_sp=-1.3)
    edge.coef = rng.uniform(-2, 2, G + k).tolist()
    xs, curve, basis, base = plotted(edge)
    knots = np.asarray(edge._plot.knots)
    assert np.array_equal(curve, edge.model.edge(0, 0, 0)(xs))
    assert np.allclose(base, 0.7 * silu(xs), atol=1e-12)
    independent = 0.7 * silu(xs) - 1.3 * (np.asarray(edge.coef) @ scipy_basis(knots, k, xs))
    assert np.allclose(curve, independent, atol=1e-12)
    # The browser's formula: base + w_s * (basis^T c), over the arrays Python sent.
    js = base + edge._plot.scale_sp * (np.asarray(edge._plot.coef) @ basis)
    assert np.allclose(curve, js, atol=1e-12)
    layer = edge.model.layers[0]
    assert layer.coef[0, 0].tolist() == edge.coef == edge._plot.coef
    assert (layer.scale_base[0, 0], layer.scale_sp[0, 0]) == (0.7, -1.3)


@pytest.mark.parametrize("G, k", GRIDS)
def test_changing_one_coefficient_changes_the_curve_only_on_its_support(G, k):
    edge = SplineEdge(grid_size=G, spline_order=k, use_base=True)
    edge.coef = np.linspace(-1, 1, G + k).tolist()
    xs = np.asarray(edge._plot.xs)
    knots = np.asarray(edge._plot.knots)
    for m in sorted({0, (G + k) // 2, G + k - 1}):
        before = np.asarray(edge._plot.curve).copy()
        edge.set_coef(m, edge.coef[m] + 0.7 if edge.coef[m] < 1 else edge.coef[m] - 0.7)
        after = np.asarray(edge._plot.curve)
        changed = after != before
        lo, hi = knots[m], knots[m + k + 1]
        assert edge.support(m) == (lo, hi)
        assert np.all((xs[changed] >= lo) & (xs[changed] <= hi)), "the curve moved outside the support"
        margin = 1e-6 * (hi - lo)  # within a hair of the ends B_m is below rounding
        strictly_inside = (xs > lo + margin) & (xs < hi - margin)
        assert strictly_inside.sum() > 5
        assert np.all(changed[strictly_inside]), "part of the support did not move"


@pytest.mark.parametrize("G, k", GRIDS)
def test_handles_sit_at_the_greville_points_which_are_the_bump_peaks(G, k):
    edge = SplineEdge(grid_size=G, spline_order=k)
    xs, _, basis, _ = plotted(edge)
    knots = np.asarray(edge._plot.knots)
    centers = np.asarray(edge._plot.centers)
    if k == 0:
        assert np.allclose(centers, (knots[:-1] + knots[1:]) / 2)
    else:
        assert np.allclose(centers, [knots[i + 1:i + k + 1].mean() for i in range(G + k)])
        spacing = np.diff(xs).max()
        assert np.all(np.abs(xs[basis.argmax(axis=1)] - centers) <= spacing)


def test_opening_state_shows_a_wave_with_basis_and_a_highlighted_handle():
    edge = SplineEdge()
    xs, curve, _, base = plotted(edge)
    assert (edge.grid_size, edge.spline_order, edge.coef) == (5, 3, list(DEFAULT_COEF))
    assert edge._plot.show_basis and not edge._plot.show_base and np.all(base == 0)
    assert edge._plot.active == DEFAULT_ACTIVE
    inside = (xs >= -1) & (xs <= 1)
    slope_sign = np.sign(np.diff(curve[inside]))
    turns = np.count_nonzero(slope_sign[1:] != slope_sign[:-1])
    assert turns >= 2 and np.ptp(curve[inside]) > 1.0, "the opening curve should visibly wave"


def test_browser_messages_update_the_coefficient_and_are_acknowledged():
    edge = SplineEdge()
    plot = edge._plot
    edge._on_plot_msg(message(kind="drag", index=2, value=1.234, seq=7))
    assert edge.coef[2] == 1.234 and edge.active == 2
    assert plot.received == 1 and plot.confirmed == 7
    assert np.array_equal(plot.curve, edge.model.edge(0, 0, 0)(plot.xs))
    edge._on_plot_msg(message(kind="release", index=2, value=99.0, seq=8))
    assert edge.coef[2] == COEF_LIMIT and plot.received == 2 and plot.confirmed == 8
    edge._on_plot_msg(message(kind="select", index=5, seq=9))
    assert edge.active == 5 and plot.active == 5 and plot.received == 2 and plot.confirmed == 9
    before = list(edge.coef)
    for seq, bad in enumerate(({"kind": "drag", "index": 99, "value": 1.0},
                               {"kind": "drag", "index": 1, "value": "high"},
                               {"kind": "drag", "index": 1, "value": float("nan")},
                               {"kind": "drag", "index": 1, "value": True},
                               {"kind": "key", "index": "1", "value": 1.0},
                               {"kind": "shake", "index": 1, "value": 1.0}), start=10):
        edge._on_plot_msg(message(seq=seq, **bad))
        assert plot.confirmed == seq, "the page waits for every message to be acknowledged"
    edge._on_plot_msg(message(kind="drag", index=1, value=1.0))
    edge._on_plot_msg(SimpleNamespace(data="not a dict"))
    assert edge.coef == before and plot.received == 2 and plot.confirmed == 15


def test_changing_the_grid_refits_the_same_shape_by_least_squares():
    edge = SplineEdge()
    x = np.linspace(-1, 1, 512)
    old_knots = np.asarray(edge._plot.knots)
    old_values = np.asarray(edge.coef) @ scipy_basis(old_knots, 3, x)
    edge.grid_size = 10
    new_knots = np.asarray(edge._plot.knots)
    B = scipy_basis(new_knots, 3, x)
    expected, *_ = np.linalg.lstsq(B.T, old_values, rcond=None)
    assert len(edge.coef) == 13 == len(edge._plot.centers)
    assert np.allclose(edge.coef, expected, atol=1e-5)
    assert np.max(np.abs(np.asarray(edge.coef) @ B - old_values)) < 0.01, "a finer grid keeps the shape"
    edge.spline_order = 0
    steps = np.asarray(edge.coef) @ scipy_basis(np.asarray(edge._plot.knots), 0, x)
    assert len(edge.coef) == 10
    assert np.max(np.abs(steps - old_values)) < 0.5, "steps follow the old curve roughly"
    assert edge.active <= 9


def test_the_silu_term_switches_on_and_off():
    edge = SplineEdge(scale_base=-0.8)
    xs = np.asarray(edge._plot.xs)
    assert np.all(np.asarray(edge._plot.base) == 0) and edge.model.layers[0].scale_base[0, 0] == 0
    spline_only = np.asarray(edge._plot.curve).copy()
    edge.use_base = True
    assert edge._plot.show_base
    assert np.allclose(edge._plot.base, -0.8 * silu(xs), atol=1e-12)
    assert np.allclose(edge._plot.curve, spline_only - 0.8 * silu(xs), atol=1e-12)
    edge.scale_sp = 0.5
    assert np.allclose(edge._plot.curve, 0.5 * spline_only - 0.8 * silu(xs), atol=1e-12)


@pytest.mark.parametrize("G, k", [(5, 3), (1, 0), (20, 5), (12, 2)])
def test_parameter_count_is_g_plus_k_plus_two(G, k):
    edge = SplineEdge(grid_size=G, spline_order=k)
    assert edge.model.n_params == G + k + 2 == KAN.count_params([1, 1], G, k)
    assert edge.count_text().startswith(f"**{G + k + 2} parameters**")
    assert f"G + k = {G} + {k} = {G + k}" in edge.count_text()


def test_typed_values_are_clamped_or_refused_with_a_sentence():
    edge = SplineEdge()
    assert edge.set_coef(2, 9) == COEF_LIMIT
    assert edge.coef[2] == COEF_LIMIT and "became 2.5" in edge.note
    before = list(edge.coef)
    assert edge.set_coef(2, "lots") is None and "must be a number" in edge.note
    assert edge.set_coef(40, 1.0) is None and "no coefficient 40" in edge.note
    assert edge.set_coef(1, float("inf")) is None and "finite" in edge.note
    assert edge.coef == before
    edge.coef = [5.0, -7.0]
    assert edge.coef == [COEF_LIMIT, -COEF_LIMIT] + [0.0] * 6 and "exactly 8 coefficients" in edge.note


def test_the_coefficient_entry_selects_and_types():
    edge = SplineEdge()
    edge._pick.value = 1
    assert edge.active == 1 and edge._plot.active == 1
    edge._value.value = -1.75
    assert edge.coef[1] == -1.75
    edge._value.value = -4.0
    assert edge.coef[1] == -COEF_LIMIT and edge._value.value == -COEF_LIMIT
    edge._on_plot_msg(message(kind="drag", index=6, value=0.5, seq=1))
    edge._on_plot_msg(message(kind="release", index=6, value=0.5, seq=2))
    assert edge._pick.value == 6 and edge._value.value == 0.5


def test_reset_returns_to_the_opening_state():
    edge = SplineEdge()
    opening = np.asarray(edge._plot.curve).copy()
    edge.param.update(grid_size=9, spline_order=1, use_base=True, show_basis=False, active=2)
    edge.set_coef(0, 2.0)
    edge.reset()
    assert (edge.grid_size, edge.spline_order, edge.coef, edge.use_base) == (5, 3, list(DEFAULT_COEF), False)
    assert edge._plot.show_basis and edge.active == DEFAULT_ACTIVE and edge.note == ""
    assert np.array_equal(edge._plot.curve, opening)
    edge.reset()
    assert np.array_equal(edge._plot.curve, opening)


def test_continuity_follows_the_order():
    assert "jumps" in continuity_sentence(0)
    assert "C⁰" in continuity_sentence(1) and "values match" in continuity_sentence(1)
    assert "C²" in continuity_sentence(3) and "slopes and curvatures" in continuity_sentence(3)
    assert "C⁴" in continuity_sentence(5)


@pytest.mark.parametrize("n", [3, 4])
def test_de_casteljau_lands_on_the_bernstein_form(n):
    rng = np.random.default_rng(n)
    pts = rng.normal(size=(n, 2))
    for t in (0.0, 0.3, 0.77, 1.0):
        levels = de_casteljau(pts, t)
        assert [len(lvl) for lvl in levels] == list(range(n, 0, -1))
        bernstein = sum(comb(n - 1, i) * t ** i * (1 - t) ** (n - 1 - i) * pts[i] for i in range(n))
        assert np.allclose(levels[-1][0], bernstein)


def test_bezier_aside_draws_the_construction_at_t():
    aside = BezierAside(t=0.25, n_control=3)
    assert len(aside._mid_pts.data["x"]) == 2 and len(aside._control.data["x"]) == 3
    point = (aside._point.data["x"][0], aside._point.data["y"][0])
    traced_end = (aside._traced.data["x"][-1], aside._traced.data["y"][-1])
    assert np.allclose(point, traced_end)
    aside.param.update(n_control=4, t=0.6)
    assert len(aside._mid_pts.data["x"]) == 3 + 2
    assert len(aside._mid.data["xs"]) == 2


def test_runge_polynomial_wiggles_while_the_spline_stays_close():
    r = runge_comparison()
    bump_at = 1 / (1 + 25 * r["xp"] ** 2)
    assert r["xp"].size == 13 and np.allclose(r["yp"], bump_at)
    assert np.allclose(r["poly_at_points"], bump_at, atol=1e-9), "the polynomial goes through all 13 points"
    assert np.allclose(r["spline_at_points"], bump_at, atol=1e-6), "so does the spline"
    assert np.abs(r["poly"] - r["bump"]).max() > 1.0
    assert np.abs(r["spline"] - r["bump"]).max() < 0.02


def test_a_late_echo_of_an_older_value_from_the_box_does_not_undo_a_drag():
    """The value box showed 0.5 after one drag and 1.25 after the next; its late echo of 0.5 (a
    busy server) must not set the coefficient back, nor may the echo of coefficient 6's value
    be written into coefficient 2 after the reader picked it. Typing still works."""
    edge = SplineEdge()
    edge._on_plot_msg(message(kind="drag", index=6, value=0.5, seq=1))
    edge._on_plot_msg(message(kind="release", index=6, value=0.5, seq=2))
    edge._on_plot_msg(message(kind="drag", index=6, value=1.25, seq=3))
    edge._on_plot_msg(message(kind="release", index=6, value=1.25, seq=4))
    assert edge._value.value == 1.25
    edge._value.value = 0.5                   # the stale echo arrives
    assert edge.coef[6] == 1.25 and edge._value.value == 1.25
    before = edge.coef[2]
    edge._pick.value = 2
    edge._value.value = 1.25                  # the box's echo of coefficient 6's value
    assert edge.coef[2] == before and edge._value.value == round(before, 3)
    edge._value.value = -0.8                  # typing
    assert edge.coef[2] == -0.8
    assert edge.coef[6] == 1.25


def test_a_typed_value_equal_to_one_shown_before_the_last_typing_is_taken():
    """Only values shown since the reader last typed can be echoes: after two drags (0.5, 1.25)
    and typing 0.8, typing 0.5 is the reader's, not the box repeating the first drag."""
    edge = SplineEdge()
    for seq, value in ((1, 0.5), (3, 1.25)):
        edge._on_plot_msg(message(kind="drag", index=6, value=value, seq=seq))
        edge._on_plot_msg(message(kind="release", index=6, value=value, seq=seq + 1))
    edge._value.value = 0.8
    assert edge.coef[6] == 0.8
    edge._value.value = 0.5
    assert edge.coef[6] == 0.5 and edge._value.value == 0.5
