"""B-spline basis against scipy's BSpline (the independent oracle), and its properties."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.interpolate import BSpline

from kan_core import bspline


def scipy_basis(x, t, k):
    """B_m(x) for the len(t)-k-1 basis functions on knots t, each built from its own k+2 knots.

    The knot vector is padded by k+1 knots on each side so scipy's half-open spans cover the
    whole extended grid; outside it every basis function is 0."""
    h_lo, h_hi = t[1] - t[0], t[-1] - t[-2]
    pad = np.concatenate([t[0] - h_lo * np.arange(k + 1, 0, -1), t, t[-1] + h_hi * np.arange(1, k + 2)])
    nb_pad = len(pad) - k - 1
    inside = (x >= pad[k]) & (x < pad[nb_pad])
    out = np.zeros((len(x), nb_pad))
    xi = x[inside]
    for m in range(nb_pad):
        c = np.zeros(nb_pad)
        c[m] = 1.0
        out[inside, m] = BSpline(pad, c, k, extrapolate=False)(xi)
    out = np.nan_to_num(out)
    return out[:, k + 1:k + 1 + len(t) - k - 1]


def random_grid(rng, G, k, uniform):
    if uniform:
        return bspline.make_grid(1, G, k, (-1.0, 1.0))
    knots = np.sort(rng.uniform(-1, 1, G + 1))
    knots[0], knots[-1] = -1.0, 1.0
    knots[1:-1] = np.clip(knots[1:-1], -0.99, 0.99)
    return bspline.extend_grid(np.unique(knots)[None, :], k)


@pytest.mark.parametrize("k", range(6))
@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("G", [1, 2, 5, 13])
def test_basis_matches_scipy(k, uniform, G):
    rng = np.random.default_rng(100 * k + G)
    grid = random_grid(rng, G, k, uniform)
    t = grid[0]
    x = np.concatenate([rng.uniform(-2.5, 2.5, 300), t, t[0] - [1e-12, 0.5], t[-1] + [0.0, 1e-12, 0.5]])
    ours = bspline.basis(x[:, None], grid, k)[:, 0, :]
    assert ours.shape == (len(x), len(t) - k - 1)
    np.testing.assert_allclose(ours, scipy_basis(x, t, k), rtol=0, atol=1e-12)


@pytest.mark.parametrize("k", range(1, 6))
def test_derivative_matches_scipy(k):
    rng = np.random.default_rng(k)
    for uniform in (True, False):
        grid = random_grid(rng, 6, k, uniform)
        t = grid[0]
        x = rng.uniform(t[0], t[-1], 200)
        ours = bspline.basis_derivative(x[:, None], grid, k)[:, 0, :]
        nb = len(t) - k - 1
        ref = np.zeros_like(ours)
        for m in range(nb):
            c = np.zeros(nb)
            c[m] = 1.0
            ref[:, m] = BSpline(t, c, k, extrapolate=True).derivative()(x)
        # scipy's full-knot spline equals ours only where all k+1 local functions exist.
        core = (x >= t[k]) & (x < t[-k - 1])
        np.testing.assert_allclose(ours[core], ref[core], atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(G=st.integers(1, 40), k=st.integers(0, 5), seed=st.integers(0, 10_000))
def test_partition_of_unity_inside_range(G, k, seed):
    rng = np.random.default_rng(seed)
    grid = bspline.make_grid(3, G, k, (-2.0, 3.0))
    x = rng.uniform(-2.0, 3.0, (100, 3))
    x[0] = -2.0
    B = bspline.basis(x, grid, k)
    np.testing.assert_allclose(B.sum(axis=2), 1.0, atol=1e-12)
    assert np.all(B >= -1e-15)


def test_basis_zero_beyond_extended_grid_and_fades_in_extension():
    grid = bspline.make_grid(1, 4, 3)
    far = bspline.basis(np.array([[-5.0], [5.0], [grid[0, -1]]]), grid, 3)
    assert np.all(far == 0.0)
    fade = bspline.basis(np.array([[-1.2], [1.2]]), grid, 3).sum(axis=2)
    assert np.all((fade > 0) & (fade < 1))


def test_nonfinite_inputs_give_zero_basis():
    grid = bspline.make_grid(1, 4, 2)
    B = bspline.basis(np.array([[np.nan], [np.inf]]), grid, 2)
    assert np.all(B == 0)


def test_cost_is_local_only_k_plus_one_nonzero():
    grid = bspline.make_grid(1, 50, 3)
    x = np.random.default_rng(0).uniform(-1, 1, (500, 1))
    B = bspline.basis(x, grid, 3)
    assert np.all((B != 0).sum(axis=2) <= 4)
    span, vals, _ = bspline.basis_sparse(x, grid, 3)
    dense = np.zeros_like(B)
    for r in range(4):
        dense[np.arange(500), 0, span[:, 0] - 3 + r] = vals[:, 0, r]
    np.testing.assert_allclose(dense, B, atol=0)


def test_fit_coef_recovers_a_spline_exactly():
    rng = np.random.default_rng(1)
    grid = bspline.make_grid(2, 7, 3)
    coef = rng.normal(size=(2, 3, 10))
    x = rng.uniform(-1, 1, (400, 2))
    y = bspline.spline(x, grid, coef, 3)
    np.testing.assert_allclose(bspline.fit_coef(x, y, grid, 3, ridge=0.0), coef, atol=1e-9)


def test_fit_coef_is_stable_when_underdetermined():
    grid = bspline.make_grid(1, 200, 3)
    x = np.linspace(-1, 1, 30)[:, None]
    y = np.sin(3 * x)[:, :, None]
    coef = bspline.fit_coef(x, y, grid, 3)
    assert np.all(np.isfinite(coef))
    np.testing.assert_allclose(bspline.spline(x, grid, coef, 3), y, atol=1e-3)


def test_grid_from_samples_follows_data():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.normal(0, 0.05, 900), rng.uniform(-1, 1, 100)])[:, None]
    adaptive = bspline.grid_from_samples(x, 10, 3, grid_eps=0.0)[0, 3:14]
    uniform = bspline.grid_from_samples(x, 10, 3, grid_eps=1.0)[0, 3:14]
    assert np.all(np.diff(adaptive) > 0)
    np.testing.assert_allclose(np.diff(uniform), np.diff(uniform)[0])
    # quantile knots crowd where the samples are
    assert np.sum(np.abs(adaptive) < 0.1) > np.sum(np.abs(uniform) < 0.1)
    assert adaptive[0] == x.min() and adaptive[-1] == x.max()


@pytest.mark.parametrize("G,k,rng_", [(0, 3, (-1, 1)), (5, -1, (-1, 1)), (5, 3, (1, -1)),
                                      (5, 3, (0, np.inf)), (2.5, 3, (-1, 1)), (5, 11, (-1, 1))])
def test_bad_grid_arguments_raise_clear_errors(G, k, rng_):
    with pytest.raises(ValueError, match="must be"):
        bspline.make_grid(1, G, k, rng_)
