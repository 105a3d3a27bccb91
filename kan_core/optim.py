"""Optimizers on flat parameter vectors: Adam and L-BFGS with a strong-Wolfe line search.

A function to optimise is ``fun(theta) -> (loss, grad)`` with ``theta`` and ``grad`` 1-D float64
vectors of the same length (a model's ``get_params()`` / ``loss_and_flat_grad``). Each optimizer's
``step(fun, theta)`` returns ``(theta_new, loss)`` where ``loss`` is the loss at the incoming
``theta``. Neither ever writes NaN or inf into ``theta``: a non-finite loss or gradient is
reported through the returned loss (Adam) or backed away from (L-BFGS).
"""
import math
from numbers import Integral, Real

import numpy as np

__all__ = ["Adam", "LBFGS", "strong_wolfe"]


def _positive_number(name, value):
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}.")
    return float(value)


def _non_negative_number(name, value):
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")
    return float(value)


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _check_theta(theta):
    theta = np.asarray(theta, dtype=np.float64)
    if theta.ndim != 1:
        raise ValueError(f"theta must be a 1-D parameter vector, got an array of shape {theta.shape}.")
    if not np.all(np.isfinite(theta)):
        raise ValueError("theta contains NaN or inf; only finite parameter vectors can be optimised.")
    return theta.copy()


def _evaluate(fun, theta):
    """Call fun and return (loss, grad, finite): a float, a 1-D float64 copy, and whether both are finite."""
    loss, grad = fun(theta)
    loss = float(loss)
    grad = np.array(grad, dtype=np.float64).reshape(-1)
    if grad.shape != theta.shape:
        raise ValueError(
            f"fun returned a gradient of length {grad.size} for a parameter vector of length {theta.size}; "
            "they must match."
        )
    return loss, grad, bool(math.isfinite(loss) and np.all(np.isfinite(grad)))


class Adam:
    """Adam (Kingma & Ba 2015) with bias-corrected moments.

    State (the moment vectors and step count) persists between ``step`` calls; ``reset()`` clears it.
    """

    def __init__(self, lr=1e-2, betas=(0.9, 0.999), eps=1e-8):
        self.lr = _positive_number("lr", lr)
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}.") from None
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if isinstance(beta, bool) or not isinstance(beta, Real) or not 0 <= beta < 1:
                raise ValueError(f"{name} must be a number in [0, 1), got {beta!r}.")
        self.betas = (float(beta1), float(beta2))
        self.eps = _positive_number("eps", eps)
        self.reset()

    def reset(self):
        """Forget the moment estimates, as if no step had been taken."""
        self.n_steps = 0
        self._m = None
        self._v = None

    def step(self, fun, theta):
        """One Adam update. theta (P,) -> (theta_new (P,), loss at theta).

        On a non-finite loss or gradient theta is returned unchanged (and the state is not updated)
        together with that loss, so the caller can detect divergence.
        """
        theta = _check_theta(theta)
        loss, grad, finite = _evaluate(fun, theta)
        if not finite:
            return theta, loss
        if self._m is None or self._m.shape != theta.shape:
            self._m = np.zeros_like(theta)
            self._v = np.zeros_like(theta)
            self.n_steps = 0
        beta1, beta2 = self.betas
        self.n_steps += 1
        self._m = beta1 * self._m + (1.0 - beta1) * grad
        self._v = beta2 * self._v + (1.0 - beta2) * grad * grad
        m_hat = self._m / (1.0 - beta1**self.n_steps)
        v_hat = self._v / (1.0 - beta2**self.n_steps)
        return theta - self.lr * m_hat / (np.sqrt(v_hat) + self.eps), loss


def _cubic_minimizer(t1, f1, g1, t2, f2, g2, lo, hi):
    """Minimiser in [lo, hi] of the cubic through (t1, f1) and (t2, f2) with slopes g1, g2.

    Falls back to the midpoint of [lo, hi] when the cubic has no minimiser or the data are not finite.
    """
    if not all(math.isfinite(v) for v in (t1, f1, g1, t2, f2, g2)) or t1 == t2:
        return 0.5 * (lo + hi)
    d1 = g1 + g2 - 3.0 * (f1 - f2) / (t1 - t2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return 0.5 * (lo + hi)
    d2 = math.copysign(math.sqrt(disc), t2 - t1)
    denom = g2 - g1 + 2.0 * d2
    if denom == 0:
        return 0.5 * (lo + hi)
    t = t2 - (t2 - t1) * (g2 + d2 - d1) / denom
    if not math.isfinite(t):
        return 0.5 * (lo + hi)
    return min(max(t, lo), hi)


def strong_wolfe(fun, x, d, t, loss, grad, c1=1e-4, c2=0.9, max_evals=25, tolerance_change=1e-9):
    """Line search along d from x for a step t satisfying the strong Wolfe conditions.

    x, d, grad: (P,); loss, grad: fun at x; t: first trial step. Brackets an acceptable step by
    extrapolation, then shrinks the bracket by safeguarded cubic interpolation (Nocedal & Wright,
    Algorithms 3.5 and 3.6). A non-finite loss or gradient at a trial point counts as an infinite
    loss, so the search backs away from it.

    Returns (t, loss_t, grad_t, n_evals). When no acceptable step is found within max_evals, t is
    the best finite point seen that satisfies sufficient decrease, or 0 (no move).
    """
    slope0 = float(grad @ d)
    d_max = float(np.max(np.abs(d)))

    def probe(step):
        f, g, finite = _evaluate(fun, x + step * d)
        if not finite:
            return math.inf, g, math.nan
        return f, g, float(g @ d)

    def armijo_fails(step, f):
        return f > loss + c1 * step * slope0

    def curvature_holds(slope):
        return abs(slope) <= -c2 * slope0

    # Bracketing: grow t until it passes a minimiser of phi(t) = fun(x + t d) or is acceptable.
    t_prev, f_prev, g_prev, s_prev = 0.0, loss, grad, slope0
    f_new, g_new, s_new = probe(t)
    n_evals = 1
    bracket = None
    while True:
        if armijo_fails(t, f_new) or (n_evals > 1 and f_new >= f_prev):
            bracket = [(t_prev, f_prev, g_prev, s_prev), (t, f_new, g_new, s_new)]
            break
        if curvature_holds(s_new):
            return t, f_new, g_new, n_evals
        if s_new >= 0:
            bracket = [(t_prev, f_prev, g_prev, s_prev), (t, f_new, g_new, s_new)]
            break
        if n_evals >= max_evals:
            return t, f_new, g_new, n_evals
        t_next = _cubic_minimizer(t_prev, f_prev, s_prev, t, f_new, s_new, t + 0.01 * (t - t_prev), 10.0 * t)
        t_prev, f_prev, g_prev, s_prev = t, f_new, g_new, s_new
        t = t_next
        f_new, g_new, s_new = probe(t)
        n_evals += 1

    # Zoom: bracket[lo] is the best point so far satisfying sufficient decrease; the minimiser sought
    # lies between the two ends.
    lo, hi = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
    stalled = False
    while n_evals < max_evals:
        a, b = bracket[0][0], bracket[1][0]
        left, right = min(a, b), max(a, b)
        if (right - left) * d_max < tolerance_change:
            break
        t = _cubic_minimizer(*bracket[0][:2], bracket[0][3], *bracket[1][:2], bracket[1][3], left, right)
        # Keep trial points away from the bracket ends so the bracket keeps shrinking.
        margin = 0.1 * (right - left)
        if min(right - t, t - left) < margin:
            if stalled or t >= right or t <= left:
                t = right - margin if abs(t - right) < abs(t - left) else left + margin
                stalled = False
            else:
                stalled = True
        else:
            stalled = False
        f_new, g_new, s_new = probe(t)
        n_evals += 1
        if armijo_fails(t, f_new) or f_new >= bracket[lo][1]:
            bracket[hi] = (t, f_new, g_new, s_new)
        else:
            if curvature_holds(s_new):
                return t, f_new, g_new, n_evals
            if s_new * (bracket[hi][0] - bracket[lo][0]) >= 0:
                bracket[hi] = bracket[lo]
            bracket[lo] = (t, f_new, g_new, s_new)
        lo, hi = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
    t, f_new, g_new, _ = bracket[lo]
    return t, f_new, g_new, n_evals


class LBFGS:
    """Limited-memory BFGS, following the semantics of torch.optim.LBFGS.

    One ``step`` runs up to ``max_iter`` quasi-Newton iterations (at most ``max_eval`` function
    evaluations, default ``max_iter * 5 // 4``). Directions come from the two-loop recursion over the
    last ``history_size`` curvature pairs (s, y), kept across ``step`` calls; a pair is skipped when
    y.s <= 1e-10. With ``line_search='strong_wolfe'`` each iteration searches for a strong-Wolfe
    step (c1=1e-4, c2=0.9, at most 25 evaluations); with ``line_search=None`` it takes the fixed step
    ``lr``. The very first iteration after construction or ``reset()`` scales its step by
    min(1, 1/|g|_1). A step ends early when max|g| <= tolerance_grad, or when the step or the loss
    change falls below tolerance_change. ``n_evals`` holds the function evaluations of the last step.

    Call ``reset()`` whenever theta or the function changes outside the optimizer (new data,
    re-initialised model), since the curvature history describes the old function.
    """

    _LINE_SEARCH_EVALS = 25
    _CURVATURE_EPS = 1e-10

    def __init__(self, lr=1.0, max_iter=20, history_size=10, tolerance_grad=1e-7, tolerance_change=1e-9,
                 line_search="strong_wolfe", max_eval=None):
        self.lr = _positive_number("lr", lr)
        self.max_iter = _positive_int("max_iter", max_iter)
        self.max_eval = self.max_iter * 5 // 4 if max_eval is None else _positive_int("max_eval", max_eval)
        self.history_size = _positive_int("history_size", history_size)
        self.tolerance_grad = _non_negative_number("tolerance_grad", tolerance_grad)
        self.tolerance_change = _non_negative_number("tolerance_change", tolerance_change)
        if line_search not in ("strong_wolfe", None):
            raise ValueError(f"line_search must be 'strong_wolfe' or None, got {line_search!r}.")
        self.line_search = line_search
        self.reset()

    def reset(self):
        """Forget the curvature history, as if no step had been taken."""
        self.n_iter = 0
        self.n_evals = 0
        self._s = []
        self._y = []
        self._rho = []
        self._h_diag = 1.0
        self._prev_x = None
        self._prev_g = None

    def _remember(self, x, g):
        """Add the curvature pair from the previous point to (x, g) when y.s is positive enough."""
        if self._prev_x is not None:
            s = x - self._prev_x
            y = g - self._prev_g
            ys = float(y @ s)
            if ys > self._CURVATURE_EPS:
                if len(self._s) == self.history_size:
                    del self._s[0], self._y[0], self._rho[0]
                self._s.append(s)
                self._y.append(y)
                self._rho.append(1.0 / ys)
                self._h_diag = ys / float(y @ y)
        self._prev_x = x
        self._prev_g = g

    def _direction(self, g):
        """Two-loop recursion: -H g with H the L-BFGS inverse-Hessian estimate."""
        q = -g
        alphas = []
        for s, y, rho in zip(reversed(self._s), reversed(self._y), reversed(self._rho)):
            alpha = rho * float(s @ q)
            q -= alpha * y
            alphas.append(alpha)
        r = self._h_diag * q
        for s, y, rho, alpha in zip(self._s, self._y, self._rho, reversed(alphas)):
            beta = rho * float(y @ r)
            r += (alpha - beta) * s
        return r

    def step(self, fun, theta):
        """Up to max_iter L-BFGS iterations from theta (P,) -> (theta_new (P,), loss at theta).

        theta_new always has a finite loss and gradient: if fun is non-finite at theta itself,
        theta is returned unchanged with that loss.
        """
        x = _check_theta(theta)
        if self._prev_x is not None and self._prev_x.shape != x.shape:
            self.reset()
        loss, g, finite = _evaluate(fun, x)
        self.n_evals = 1
        first_loss = loss
        if not finite or np.max(np.abs(g)) <= self.tolerance_grad:
            return x, first_loss
        for iteration in range(1, self.max_iter + 1):
            self._remember(x, g)
            d = self._direction(g)
            t = self.lr * min(1.0, 1.0 / float(np.sum(np.abs(g)))) if self.n_iter == 0 else self.lr
            self.n_iter += 1
            slope = float(g @ d)
            if slope > -self.tolerance_change:
                break
            prev_loss = loss
            if self.line_search == "strong_wolfe":
                t, new_loss, new_g, evals = strong_wolfe(
                    fun, x, d, t, loss, g, max_evals=self._LINE_SEARCH_EVALS,
                    tolerance_change=self.tolerance_change)
                self.n_evals += evals
            else:
                new_loss, new_g, new_finite = _evaluate(fun, x + t * d)
                self.n_evals += 1
                if not new_finite:
                    break
            if t == 0.0:
                break
            x = x + t * d
            loss, g = new_loss, new_g
            if (iteration == self.max_iter or self.n_evals >= self.max_eval
                    or np.max(np.abs(g)) <= self.tolerance_grad
                    or np.max(np.abs(t * d)) <= self.tolerance_change
                    or abs(loss - prev_loss) < self.tolerance_change):
                break
        return x.copy(), first_loss  # a copy: x may also be the history's last point
