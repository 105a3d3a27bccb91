"""Target functions a KAN learns (presets and typed formulas) and pykan-style datasets of them."""

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from kan_core.formula import parse_formula

MAX_SAMPLES = 1_000_000
MAX_NOISE = 10.0

# Midpoint rule for J0(x) = (1/pi) * integral_0^pi cos(x sin t) dt. The integrand is smooth and
# pi-periodic, so the rule with M nodes errs by about 2*J_{2M}(x): M = 96 keeps that far below
# 1e-15 for |x| <= 100. The nodes are symmetric about pi/2, so half of them suffice.
_J0_NODES = 96
_J0_SIN = np.sin((np.arange(_J0_NODES // 2) + 0.5) * np.pi / _J0_NODES)
_J0_CHUNK = 16_384


def j0(x) -> np.ndarray:
    """Bessel function of the first kind of order 0, elementwise; accurate to ~1e-14 for |x| <= 100.

    x: array-like of any shape; returns float64 of the same shape.
    """
    x = np.asarray(x, dtype=np.float64)
    flat = x.ravel()
    out = np.empty_like(flat)
    for start in range(0, flat.size, _J0_CHUNK):
        part = flat[start:start + _J0_CHUNK]
        out[start:start + _J0_CHUNK] = np.cos(np.outer(part, _J0_SIN)).mean(axis=1)
    return out.reshape(x.shape)


@dataclass(frozen=True)
class Target:
    """A function to learn: ``fn`` maps X of shape (N, n_vars) to labels of shape (N,).

    ``ranges`` holds one (low, high) pair per variable; None means (-1, 1) for each.
    """

    slug: str
    label: str
    latex: str
    n_vars: int
    fn: Callable[[np.ndarray], np.ndarray]
    ranges: tuple | None = None

    def __post_init__(self):
        if self.ranges is None:
            object.__setattr__(self, "ranges", ((-1.0, 1.0),) * self.n_vars)


def _smooth_step(t):
    # 1/(1+exp(-20 t)) written with tanh so it never overflows.
    return 0.5 * (1.0 + np.tanh(10.0 * t))


PRESETS = {
    t.slug: t
    for t in (
        Target("sin", "sin(pi x)", r"\sin(\pi x)", 1, lambda X: np.sin(np.pi * X[:, 0])),
        Target("square", "x^2", r"x^2", 1, lambda X: X[:, 0] ** 2),
        Target("step", "smooth step 1/(1+exp(-20x))", r"\frac{1}{1+e^{-20x}}", 1,
               lambda X: _smooth_step(X[:, 0])),
        Target("bessel", "J0(20x)", r"J_0(20x)", 1, lambda X: j0(20.0 * X[:, 0])),
        Target("exp_sin", "exp(sin(pi x) + y^2)", r"\exp(\sin(\pi x) + y^2)", 2,
               lambda X: np.exp(np.sin(np.pi * X[:, 0]) + X[:, 1] ** 2)),
        Target("product", "x y", r"x y", 2, lambda X: X[:, 0] * X[:, 1]),
        Target("exp_4d", "exp(0.5 (sin(pi (x1^2 + x2^2)) + sin(pi (x3^2 + x4^2))))",
               r"\exp\left(\tfrac12\left(\sin(\pi(x_1^2+x_2^2))"
               r" + \sin(\pi(x_3^2+x_4^2))\right)\right)",
               4,
               lambda X: np.exp(0.5 * (np.sin(np.pi * (X[:, 0] ** 2 + X[:, 1] ** 2))
                                       + np.sin(np.pi * (X[:, 2] ** 2 + X[:, 3] ** 2))))),
    )
}


def target_from_formula(text: str) -> Target:
    """A Target (slug 'custom') from a typed formula; raises FormulaError if it is not allowed."""
    formula = parse_formula(text)
    return Target("custom", formula.to_text(), formula.to_latex(), formula.n_vars, formula)


def _count(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number, got {value!r}.")
    if not low <= value <= MAX_SAMPLES:
        raise ValueError(f"{name} must be between {low} and {MAX_SAMPLES:,}, got {value}.")
    return int(value)


def _check_ranges(ranges, n_vars: int) -> np.ndarray:
    """Validated ranges as a float64 array of shape (n_vars, 2)."""
    try:
        arr = np.asarray(ranges, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"ranges must be {n_vars} (low, high) pair(s) of numbers, got {ranges!r}.") from None
    if arr.shape != (n_vars, 2):
        raise ValueError(
            f"ranges needs one (low, high) pair per variable: this target has {n_vars} "
            f"variable(s), got {ranges!r}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"ranges must be finite numbers, got {ranges!r}.")
    if np.any(arr[:, 0] >= arr[:, 1]):
        raise ValueError(f"Each range needs low < high, got {ranges!r}.")
    return arr


def _labels(target: Target, X: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    y = np.asarray(target.fn(X), dtype=np.float64)
    if y.shape != (X.shape[0],):
        raise ValueError(
            f"The target '{target.slug}' returned shape {y.shape}; expected ({X.shape[0]},).")
    bad = ~np.isfinite(y)
    if bad.any():
        where = " x ".join(f"[{lo:g}, {hi:g}]" for lo, hi in bounds)
        example = ", ".join(f"{v:.4g}" for v in X[np.argmax(bad)])
        raise ValueError(
            "The formula gives non-finite values (e.g. log of a negative number) at some inputs "
            f"in the range {where}, for example at ({example}); change the formula or the range.")
    return y


def make_dataset(target: Target, n_train: int = 1000, n_test: int = 1000, noise: float = 0.0,
                 seed: int = 0, ranges=None) -> dict:
    """Sample a dataset with pykan's keys, all float64.

    Returns ``train_input`` (n_train, n_vars), ``train_label`` (n_train, 1), ``test_input``
    (n_test, n_vars), ``test_label`` (n_test, 1). Inputs are uniform in ``ranges`` (default
    ``target.ranges``). ``noise`` is relative: Gaussian noise with standard deviation
    ``noise * std(clean train labels)`` is added to the train labels only; test labels stay clean.
    Train inputs, test inputs and noise come from three independent streams spawned from
    ``np.random.default_rng(seed)``, so changing n_train or noise leaves the test set unchanged.
    """
    n_train = _count("n_train", n_train, 1)
    n_test = _count("n_test", n_test, 0)
    raw_noise = noise
    try:
        noise = float(noise)
    except (TypeError, ValueError):
        noise = math.nan
    if not (math.isfinite(noise) and 0.0 <= noise <= MAX_NOISE):
        raise ValueError(f"noise must be a number between 0 and {MAX_NOISE:g}, got {raw_noise!r}.")
    bounds = _check_ranges(target.ranges if ranges is None else ranges, target.n_vars)

    train_rng, test_rng, noise_rng = np.random.default_rng(seed).spawn(3)
    lo, hi = bounds[:, 0], bounds[:, 1]
    train_input = train_rng.uniform(lo, hi, size=(n_train, target.n_vars))
    test_input = test_rng.uniform(lo, hi, size=(n_test, target.n_vars))
    train_label = _labels(target, train_input, bounds)
    test_label = _labels(target, test_input, bounds)
    if noise > 0.0:
        train_label = train_label + noise_rng.normal(0.0, noise * train_label.std(), size=n_train)
    return {
        "train_input": train_input,
        "train_label": train_label[:, None],
        "test_input": test_input,
        "test_label": test_label[:, None],
    }
