"""Adam and L-BFGS against closed forms, known minima and the strong-Wolfe conditions themselves."""
import math

import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings, strategies as st

from kan_core.optim import LBFGS, Adam, strong_wolfe


def quadratic(a, b):
    """f(x) = 0.5 x.A x - b.x with minimiser A^-1 b."""
    def fun(x):
        return 0.5 * x @ a @ x - b @ x, a @ x - b
    return fun


def rosenbrock(x):
    f = np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return f, g


def random_spd(rng, n, cond=20.0):
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return q @ np.diag(np.geomspace(1.0, cond, n)) @ q.T


def test_rosenbrock_helper_matches_scipy():
    x = np.random.default_rng(0).normal(size=6)
    f, g = rosenbrock(x)
    assert f == pytest.approx(scipy.optimize.rosen(x))
    np.testing.assert_allclose(g, scipy.optimize.rosen_der(x), rtol=1e-12)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 12), seed=st.integers(0, 10**6))
def test_lbfgs_quadratic_reaches_closed_form_minimum(n, seed):
    rng = np.random.default_rng(seed)
    a, b = random_spd(rng, n), rng.normal(size=n)
    fun = quadratic(a, b)
    opt = LBFGS(tolerance_grad=1e-12, tolerance_change=0.0)
    theta = rng.normal(size=n)
    for _ in range(3):
        theta, _ = opt.step(fun, theta)
    # A line search on loss values cannot see changes below machine precision of the loss, so
    # the minimiser is only pinned down to about sqrt(eps) ~ 1e-8 per unit of scale.
    np.testing.assert_allclose(theta, np.linalg.solve(a, b), atol=1e-7)


def test_adam_quadratic_within_tolerance():
    rng = np.random.default_rng(1)
    a, b = random_spd(rng, 5, cond=5.0), rng.normal(size=5)
    fun = quadratic(a, b)
    opt = Adam(lr=0.05)
    theta = np.zeros(5)
    for _ in range(3000):
        theta, _ = opt.step(fun, theta)
    np.testing.assert_allclose(theta, np.linalg.solve(a, b), atol=1e-4)


@pytest.mark.parametrize("n", [2, 10])
def test_lbfgs_rosenbrock_reaches_ones(n):
    theta = np.tile([-1.2, 1.0], n // 2)
    opt = LBFGS(tolerance_grad=1e-12, tolerance_change=0.0)
    for _ in range(20):
        theta, _ = opt.step(rosenbrock, theta)
    np.testing.assert_allclose(theta, np.ones(n), atol=1e-6)


def test_lbfgs_returns_loss_at_incoming_theta_and_counts_evals():
    calls = []

    def counted(x):
        calls.append(x.copy())
        return rosenbrock(x)

    theta0 = np.array([-1.2, 1.0])
    opt = LBFGS(max_iter=5)
    theta1, loss = opt.step(counted, theta0)
    assert loss == rosenbrock(theta0)[0]
    assert opt.n_evals == len(calls) and opt.n_evals <= opt.max_eval
    assert rosenbrock(theta1)[0] < loss


def test_lbfgs_history_is_kept_across_steps_and_reset_clears_it():
    opt = LBFGS(max_iter=3, history_size=4)
    theta = np.array([-1.2, 1.0])
    for _ in range(4):
        theta, _ = opt.step(rosenbrock, theta)
    assert len(opt._s) == 4
    opt.reset()
    assert opt._s == [] and opt.n_iter == 0


def check_strong_wolfe(fun, x, d, t, c1=1e-4, c2=0.9):
    f0, g0 = fun(x)
    t_acc, f_t, g_t, n_evals = strong_wolfe(fun, x, d, t, f0, g0, c1=c1, c2=c2)
    f_check, g_check = fun(x + t_acc * d)
    assert t_acc > 0 and 1 <= n_evals <= 25
    assert f_t == f_check
    np.testing.assert_array_equal(g_t, g_check)
    slope0 = g0 @ d
    assert f_check <= f0 + c1 * t_acc * slope0
    assert abs(g_check @ d) <= c2 * abs(slope0)


@pytest.mark.parametrize("t", [1e-4, 1.0, 1e3])
def test_line_search_step_satisfies_strong_wolfe_on_rosenbrock(t):
    x = np.array([-1.2, 1.0])
    check_strong_wolfe(rosenbrock, x, -rosenbrock(x)[1], t)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), log_t=st.floats(-4, 3), c2=st.sampled_from([0.1, 0.5, 0.9]))
def test_line_search_step_satisfies_strong_wolfe_on_random_problems(seed, log_t, c2):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=4)
    d = -rosenbrock(x)[1] + 0.3 * rng.normal(size=4)
    if rosenbrock(x)[1] @ d >= 0:
        d = -rosenbrock(x)[1]
    check_strong_wolfe(rosenbrock, x, d, 10.0**log_t, c2=c2)


def test_adam_first_step_closed_form():
    lr, (b1, b2), eps = 0.01, (0.9, 0.999), 1e-8
    g = np.array([3.0, -0.5, 1e-3, 0.0])
    theta = np.array([1.0, 2.0, -1.0, 0.5])
    new, loss = Adam(lr=lr, betas=(b1, b2), eps=eps).step(lambda x: (7.0, g), theta)
    m_hat = (1 - b1) * g / (1 - b1)
    v_hat = (1 - b2) * g**2 / (1 - b2)
    np.testing.assert_allclose(new, theta - lr * m_hat / (np.sqrt(v_hat) + eps), rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(new, theta - lr * np.sign(g), atol=1e-7)
    assert loss == 7.0


def test_adam_second_step_uses_moments_and_reset_forgets_them():
    g1, g2 = np.array([1.0, -2.0]), np.array([0.5, 4.0])
    grads = iter([g1, g2, g2])
    fun = lambda x: (0.0, next(grads))  # noqa: E731
    opt = Adam(lr=0.1)
    theta = np.zeros(2)
    theta1, _ = opt.step(fun, theta)
    theta2, _ = opt.step(fun, theta1)
    m = 0.1 * (0.9 * g1 + g2) * 1.0 / (1 - 0.9**2)
    v = 0.001 * (0.999 * g1**2 + g2**2) / (1 - 0.999**2)
    np.testing.assert_allclose(theta2, theta1 - 0.1 * m / (np.sqrt(v) + 1e-8), rtol=1e-12)
    opt.reset()
    theta3, _ = opt.step(fun, theta)
    np.testing.assert_allclose(theta3, theta - 0.1 * np.sign(g2), atol=1e-7)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_adam_leaves_theta_unchanged_on_non_finite_loss_or_grad(bad):
    theta = np.array([1.0, 2.0])
    opt = Adam()
    new, loss = opt.step(lambda x: (bad, np.ones(2)), theta)
    np.testing.assert_array_equal(new, theta)
    assert not math.isfinite(loss)
    new, loss = opt.step(lambda x: (1.0, np.array([1.0, bad])), theta)
    np.testing.assert_array_equal(new, theta)
    assert opt.n_steps == 0


def test_lbfgs_backs_away_from_non_finite_region():
    # A bowl centred at 3 that is NaN beyond x = 1: the search must stop short of the wall.
    def fun(x):
        if x[0] > 1.0:
            return math.nan, np.array([math.nan])
        return (x[0] - 3.0) ** 2, 2.0 * (x[0] - 3.0)

    theta = np.array([0.0])
    opt = LBFGS(lr=10.0)
    for _ in range(5):
        theta, loss = opt.step(fun, theta)
        assert np.all(np.isfinite(theta)) and theta[0] <= 1.0 and math.isfinite(loss)
    assert theta[0] > 0.9


def test_lbfgs_returns_theta_when_everything_is_non_finite():
    theta = np.array([0.5, -0.5])
    opt = LBFGS()
    new, loss = opt.step(lambda x: (math.inf, np.zeros(2)), theta)
    np.testing.assert_array_equal(new, theta)
    assert loss == math.inf

    calls = []

    def finite_only_at_start(x):
        calls.append(1)
        if len(calls) == 1:
            return 1.0, np.array([1.0, 1.0])
        return math.nan, np.full(2, math.nan)

    new, loss = LBFGS().step(finite_only_at_start, theta)
    np.testing.assert_array_equal(new, theta)
    assert loss == 1.0


def test_lbfgs_fixed_step_stops_before_non_finite_point():
    def fun(x):
        if x[0] < -1.0:
            return math.inf, np.array([math.inf])
        return float(x[0] ** 2), 2.0 * x
    new, _ = LBFGS(lr=1.0, line_search=None).step(fun, np.array([0.75]))
    assert np.all(np.isfinite(new)) and new[0] >= -1.0


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": 0}, "lr must be a positive finite number"),
    ({"lr": -1.0}, "lr must be a positive finite number"),
    ({"lr": math.nan}, "lr must be a positive finite number"),
    ({"lr": "0.1"}, "lr must be a positive finite number"),
    ({"eps": 0.0}, "eps must be a positive finite number"),
    ({"betas": (0.9, 1.0)}, r"beta2 must be a number in \[0, 1\)"),
    ({"betas": 0.9}, "betas must be a pair"),
])
def test_adam_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Adam(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": math.inf}, "lr must be a positive finite number"),
    ({"max_iter": 0}, "max_iter must be a positive integer"),
    ({"max_iter": 2.5}, "max_iter must be a positive integer"),
    ({"history_size": 0}, "history_size must be a positive integer"),
    ({"tolerance_grad": -1.0}, "tolerance_grad must be a finite number >= 0"),
    ({"tolerance_change": math.nan}, "tolerance_change must be a finite number >= 0"),
    ({"line_search": "armijo"}, "line_search must be 'strong_wolfe' or None"),
])
def test_lbfgs_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LBFGS(**kwargs)


@pytest.mark.parametrize("opt", [Adam(), LBFGS()])
def test_step_validation(opt):
    fun = quadratic(np.eye(2), np.ones(2))
    with pytest.raises(ValueError, match="theta must be a 1-D parameter vector"):
        opt.step(fun, np.zeros((2, 1)))
    with pytest.raises(ValueError, match="theta contains NaN or inf"):
        opt.step(fun, np.array([0.0, math.nan]))
    with pytest.raises(ValueError, match="gradient of length 3 for a parameter vector of length 2"):
        opt.step(lambda x: (0.0, np.zeros(3)), np.zeros(2))
