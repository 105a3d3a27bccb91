"""kan_core.data: J0 against scipy, presets against numpy written out by hand, datasets, validation."""

import dataclasses
import math
import subprocess
import sys

import numpy as np
import pytest
import scipy.special
import scipy.stats

from kan_core.data import PRESETS, Target, j0, make_dataset, target_from_formula
from kan_core.formula import FormulaError

RNG = np.random.default_rng(7)


# ---------------------------------------------------------------- j0

def test_j0_matches_scipy_to_1e_12_on_minus_60_to_60():
    x = np.concatenate([np.linspace(-60.0, 60.0, 40_001), RNG.uniform(-60.0, 60.0, 10_000)])
    np.testing.assert_allclose(j0(x), scipy.special.j0(x), rtol=0, atol=1e-12)


def test_j0_stays_accurate_out_to_100():
    x = np.linspace(60.0, 100.0, 4001)
    np.testing.assert_allclose(j0(x), scipy.special.j0(x), rtol=0, atol=1e-12)


def test_j0_known_values_and_shape():
    assert j0(0.0) == pytest.approx(1.0, abs=1e-15)
    assert abs(j0(2.404825557695773)) < 1e-14  # first zero
    grid = RNG.uniform(-5.0, 5.0, size=(3, 4, 5))
    out = j0(grid)
    assert out.shape == (3, 4, 5) and out.dtype == np.float64
    np.testing.assert_allclose(out, scipy.special.j0(grid), rtol=0, atol=1e-13)


def test_j0_is_the_same_across_chunk_boundaries():
    x = RNG.uniform(-30.0, 30.0, 40_000)  # more than two chunks
    np.testing.assert_array_equal(j0(x)[-5:], j0(x[-5:]))
    np.testing.assert_allclose(j0(x), scipy.special.j0(x), rtol=0, atol=1e-12)


# ---------------------------------------------------------------- presets

ORACLES = {
    "sin": lambda X: np.sin(np.pi * X[:, 0]),
    "square": lambda X: X[:, 0] * X[:, 0],
    "step": lambda X: scipy.special.expit(20.0 * X[:, 0]),
    "bessel": lambda X: scipy.special.j0(20.0 * X[:, 0]),
    "exp_sin": lambda X: np.exp(np.sin(np.pi * X[:, 0]) + X[:, 1] ** 2),
    "product": lambda X: X[:, 0] * X[:, 1],
    "exp_4d": lambda X: np.exp(0.5 * (np.sin(np.pi * (X[:, 0] ** 2 + X[:, 1] ** 2))
                                      + np.sin(np.pi * (X[:, 2] ** 2 + X[:, 3] ** 2)))),
}
N_VARS = {"sin": 1, "square": 1, "step": 1, "bessel": 1, "exp_sin": 2, "product": 2, "exp_4d": 4}


def test_preset_slugs_and_order():
    assert list(PRESETS) == ["sin", "square", "step", "bessel", "exp_sin", "product", "exp_4d"]


@pytest.mark.parametrize("slug", list(ORACLES))
def test_preset_matches_its_formula(slug):
    target = PRESETS[slug]
    assert target.slug == slug
    assert target.n_vars == N_VARS[slug]
    assert target.ranges == ((-1.0, 1.0),) * target.n_vars
    assert isinstance(target.label, str) and target.label
    assert isinstance(target.latex, str) and target.latex
    X = RNG.uniform(-1.0, 1.0, size=(500, target.n_vars))
    out = target.fn(X)
    assert out.shape == (500,)
    np.testing.assert_allclose(out, ORACLES[slug](X), rtol=1e-12, atol=1e-12)


def test_target_is_frozen_and_defaults_ranges():
    target = Target("t", "t", "t", 3, lambda X: X[:, 0])
    assert target.ranges == ((-1.0, 1.0),) * 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        target.n_vars = 2


def test_target_from_formula():
    target = target_from_formula("sin(pi*x)*y^2")
    assert (target.slug, target.n_vars, target.label) == ("custom", 2, "sin(pi*x)*y**2")
    assert target.latex == r"\sin\left(\pi \cdot x\right) \cdot y^{2}"
    X = RNG.uniform(-1.0, 1.0, size=(100, 2))
    np.testing.assert_array_equal(target.fn(X), np.sin(np.pi * X[:, 0]) * X[:, 1] ** 2)


def test_target_from_formula_passes_on_formula_errors():
    with pytest.raises(FormulaError, match="Unknown name 'foo'"):
        target_from_formula("foo(x)")


# ---------------------------------------------------------------- datasets

@pytest.mark.parametrize("slug", list(PRESETS))
def test_dataset_keys_shapes_dtypes_and_clean_labels(slug):
    target = PRESETS[slug]
    data = make_dataset(target, n_train=300, n_test=200, seed=3)
    n = target.n_vars
    assert set(data) == {"train_input", "train_label", "test_input", "test_label"}
    assert data["train_input"].shape == (300, n) and data["train_label"].shape == (300, 1)
    assert data["test_input"].shape == (200, n) and data["test_label"].shape == (200, 1)
    assert all(a.dtype == np.float64 for a in data.values())
    for part in ("train", "test"):
        inputs = data[f"{part}_input"]
        assert inputs.min() >= -1.0 and inputs.max() < 1.0
        np.testing.assert_allclose(data[f"{part}_label"][:, 0], ORACLES[slug](inputs),
                                   rtol=1e-12, atol=1e-12)


def test_inputs_are_uniform_in_custom_ranges():
    data = make_dataset(PRESETS["product"], n_train=20_000, n_test=10, seed=5,
                        ranges=[(-3.0, -1.0), (0.0, 10.0)])
    X = data["train_input"]
    assert X[:, 0].min() >= -3.0 and X[:, 0].max() < -1.0
    assert X[:, 1].min() >= 0.0 and X[:, 1].max() < 10.0
    assert scipy.stats.kstest(X[:, 0], scipy.stats.uniform(-3.0, 2.0).cdf).pvalue > 1e-3
    assert scipy.stats.kstest(X[:, 1], scipy.stats.uniform(0.0, 10.0).cdf).pvalue > 1e-3
    assert abs(np.corrcoef(X[:, 0], X[:, 1])[0, 1]) < 0.05


def test_target_ranges_are_the_default():
    target = dataclasses.replace(PRESETS["square"], ranges=((2.0, 4.0),))
    X = make_dataset(target, n_train=500, n_test=500)["test_input"]
    assert X.min() >= 2.0 and X.max() < 4.0


def test_same_seed_same_data_other_seed_other_data():
    a = make_dataset(PRESETS["exp_sin"], n_train=50, n_test=40, noise=0.1, seed=11)
    b = make_dataset(PRESETS["exp_sin"], n_train=50, n_test=40, noise=0.1, seed=11)
    c = make_dataset(PRESETS["exp_sin"], n_train=50, n_test=40, noise=0.1, seed=12)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
        assert not np.array_equal(a[key], c[key])


def test_test_set_does_not_depend_on_n_train_or_noise():
    a = make_dataset(PRESETS["sin"], n_train=10, n_test=30, noise=0.0, seed=4)
    b = make_dataset(PRESETS["sin"], n_train=99, n_test=30, noise=0.5, seed=4)
    np.testing.assert_array_equal(a["test_input"], b["test_input"])
    np.testing.assert_array_equal(a["test_label"], b["test_label"])


def test_noise_is_relative_gaussian_on_train_labels_only():
    target = PRESETS["exp_sin"]
    noise = 0.2
    data = make_dataset(target, n_train=100_000, n_test=1000, noise=noise, seed=9)
    clean = target.fn(data["train_input"])
    residual = data["train_label"][:, 0] - clean
    expected_std = noise * clean.std()
    assert abs(residual.mean()) < 4 * expected_std / math.sqrt(residual.size)
    assert residual.std() == pytest.approx(expected_std, rel=0.01)
    assert scipy.stats.kstest(residual / expected_std, "norm").pvalue > 1e-3
    assert abs(np.corrcoef(residual, clean)[0, 1]) < 0.02
    np.testing.assert_array_equal(data["test_label"][:, 0], target.fn(data["test_input"]))


def test_noise_does_not_move_the_inputs():
    clean = make_dataset(PRESETS["sin"], n_train=100, n_test=10, noise=0.0, seed=2)
    noisy = make_dataset(PRESETS["sin"], n_train=100, n_test=10, noise=1.0, seed=2)
    np.testing.assert_array_equal(clean["train_input"], noisy["train_input"])
    assert not np.array_equal(clean["train_label"], noisy["train_label"])


def test_limits_are_inclusive():
    data = make_dataset(PRESETS["square"], n_train=1, n_test=0, noise=10.0)
    assert data["train_input"].shape == (1, 1) and data["test_input"].shape == (0, 1)
    assert data["test_label"].shape == (0, 1)
    assert np.isfinite(data["train_label"]).all()


@pytest.mark.parametrize("kwargs, pattern", [
    ({"n_train": 0}, "n_train must be between 1 and 1,000,000, got 0"),
    ({"n_train": 1_000_001}, "n_train must be between 1 and 1,000,000"),
    ({"n_train": 10.5}, "n_train must be a whole number"),
    ({"n_train": True}, "n_train must be a whole number"),
    ({"n_test": -1}, "n_test must be between 0 and 1,000,000, got -1"),
    ({"n_test": 1_000_001}, "n_test must be between 0 and 1,000,000"),
    ({"noise": -0.1}, "noise must be a number between 0 and 10, got -0.1"),
    ({"noise": 10.5}, "noise must be a number between 0 and 10"),
    ({"noise": float("nan")}, "noise must be a number between 0 and 10, got nan"),
    ({"noise": float("inf")}, "noise must be a number between 0 and 10"),
    ({"noise": "loud"}, "noise must be a number between 0 and 10, got 'loud'"),
    ({"ranges": [(1.0, -1.0), (0.0, 1.0)]}, "low < high"),
    ({"ranges": [(0.0, 0.0), (0.0, 1.0)]}, "low < high"),
    ({"ranges": [(-np.inf, 1.0), (0.0, 1.0)]}, "finite"),
    ({"ranges": [(0.0, np.nan), (0.0, 1.0)]}, "finite"),
    ({"ranges": [(0.0, 1.0)]}, "one \\(low, high\\) pair per variable: this target has 2"),
    ({"ranges": [(0.0, 1.0, 2.0), (0.0, 1.0, 2.0)]}, "one \\(low, high\\) pair per variable"),
    ({"ranges": [("a", 1.0), (0.0, 1.0)]}, "pair\\(s\\) of numbers"),
])
def test_bad_arguments_get_a_clear_value_error(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        make_dataset(PRESETS["product"], **{"n_train": 10, "n_test": 10, **kwargs})


@pytest.mark.parametrize("text, ranges", [
    ("log(x)", None),
    ("sqrt(x - 0.5)", None),
    ("1/(x - x)", None),
    ("arcsin(x)", [(0.0, 2.0)]),
    ("exp(exp(x))", [(5.0, 10.0)]),
])
def test_non_finite_labels_are_reported(text, ranges):
    with pytest.raises(ValueError, match=r"The formula gives non-finite values \(e\.g\. log of a "
                                         r"negative number\) at some inputs in the range \["):
        make_dataset(target_from_formula(text), n_train=200, n_test=200, ranges=ranges)


def test_non_finite_message_names_range_and_an_offending_input():
    with pytest.raises(ValueError) as info:
        make_dataset(target_from_formula("log(x*y)"), n_train=100, ranges=[(0, 1), (-2, 3)])
    message = str(info.value)
    assert "[0, 1] x [-2, 3]" in message
    point = [float(v) for v in message.split("for example at (")[1].split(")")[0].split(", ")]
    assert point[0] * point[1] <= 0.0


def test_target_returning_the_wrong_shape_is_reported():
    bad = Target("bad", "bad", "bad", 1, lambda X: X)
    with pytest.raises(ValueError, match=r"returned shape \(5, 1\); expected \(5,\)"):
        make_dataset(bad, n_train=5, n_test=5)


def test_core_runs_with_scipy_and_ui_libraries_blocked():
    # numba itself imports scipy when it is installed, so block the modules instead of looking
    # for them: kan_core must import and work with every one of them unavailable.
    code = ("import sys\n"
            "for name in ('scipy', 'panel', 'bokeh', 'param'): sys.modules[name] = None\n"
            "import kan_core\n"
            "data = kan_core.make_dataset(kan_core.PRESETS['bessel'], n_train=50, n_test=10)\n"
            "m = kan_core.Trainer(kan_core.KAN([1, 1]), data, 'adam').step(2)\n"
            "print(kan_core.parse_formula('sin(x)*y').n_vars, m['step'])\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", "2"]
