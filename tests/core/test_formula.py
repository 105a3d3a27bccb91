"""kan_core.formula: values against numpy written out by hand, precedence, and every rejection."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.special import expit

import kan_core.formula as formula_module
from kan_core.formula import Formula, FormulaError, parse_formula

RNG = np.random.default_rng(1234)
X3 = RNG.uniform(-2.0, 2.0, size=(50, 3))
x, y, z = X3[:, 0], X3[:, 1], X3[:, 2]


# ---------------------------------------------------------------- values

@pytest.mark.parametrize("text, expected", [
    ("sin(pi*x) + y**2", lambda: np.sin(np.pi * x) + y ** 2),
    ("exp(sin(pi*x) + y^2)", lambda: np.exp(np.sin(np.pi * x) + y ** 2)),
    ("x*y/(1 + x3**2)", lambda: x * y / (1 + z ** 2)),
    ("x1 - x2 + x3", lambda: x - y + z),
    ("2.5e-1*x + .5 - 3.", lambda: 0.25 * x + 0.5 - 3.0),
    ("1E2*y", lambda: 100.0 * y),
    ("e**x", lambda: np.exp(1.0) ** x),
    ("cos(x)*tan(y)", lambda: np.cos(x) * np.tan(y)),
    ("log(abs(x)) + sqrt(abs(y))", lambda: np.log(np.abs(x)) + np.sqrt(np.abs(y))),
    ("tanh(x) + sinh(y) - cosh(x3)", lambda: np.tanh(x) + np.sinh(y) - np.cosh(z)),
    ("arcsin(x/2) + arctan(y)", lambda: np.arcsin(x / 2) + np.arctan(y)),
    ("gaussian(x)", lambda: np.exp(-x * x)),
    ("sign(x) * y", lambda: np.sign(x) * y),
    ("sigmoid(3*x)", lambda: expit(3 * x)),
])
def test_values_match_numpy(text, expected):
    f = parse_formula(text)
    np.testing.assert_allclose(f(X3[:, :f.n_vars]), expected(), rtol=1e-13, atol=1e-15)


def test_sigmoid_is_accurate_far_into_both_tails():
    t = np.array([-745.0, -700.0, -40.0, -1.0, 0.0, 1.0, 40.0, 700.0, 745.0])
    np.testing.assert_allclose(parse_formula("sigmoid(x)")(t), expit(t), rtol=1e-14, atol=1e-320)


@pytest.mark.parametrize("text, value", [
    ("-2**2", -4.0),
    ("(-2)**2", 4.0),
    ("2**3**2", 512.0),
    ("2^3^2", 512.0),
    ("2**-1", 0.5),
    ("-2**-2", -0.25),
    ("1 + 2*3", 7.0),
    ("(1 + 2)*3", 9.0),
    ("8/4/2", 1.0),
    ("8/(4/2)", 4.0),
    ("10 - 4 - 3", 3.0),
    ("2*3**2", 18.0),
    ("-3 + 5", 2.0),
    ("--3", 3.0),
    ("+-+3", -3.0),
    ("2*-3", -6.0),
    ("6/-2*3", -9.0),
    ("pi", np.pi),
    ("e", np.e),
    ("2e3", 2000.0),
    ("1.5e+2 + 2.5E-1", 150.25),
])
def test_precedence_and_constants(text, value):
    f = parse_formula(text)
    assert f.n_vars == 1
    out = f(np.zeros(3))
    assert out.shape == (3,) and out.dtype == np.float64
    np.testing.assert_allclose(out, value, rtol=1e-15)


def test_unary_minus_is_weaker_than_power_on_variables():
    f = parse_formula("-x**2")
    np.testing.assert_array_equal(f(x), -(x ** 2))


@pytest.mark.parametrize("text, n_vars", [
    ("3", 1), ("x", 1), ("x1", 1), ("y", 2), ("x2", 2), ("x + x1", 1),
    ("x3", 3), ("x*x9", 9), ("sin(x4)", 4), ("pi*e", 1),
])
def test_n_vars_is_one_plus_largest_column(text, n_vars):
    assert parse_formula(text).n_vars == n_vars


def test_variable_aliases_pick_the_same_columns():
    X = RNG.normal(size=(20, 9))
    np.testing.assert_array_equal(parse_formula("x")(X[:, :1]), parse_formula("x1")(X[:, :1]))
    np.testing.assert_array_equal(parse_formula("y - x")(X[:, :2]), X[:, 1] - X[:, 0])
    np.testing.assert_array_equal(parse_formula("x2 - x1")(X[:, :2]), X[:, 1] - X[:, 0])
    np.testing.assert_array_equal(parse_formula("x9 - x3")(X), X[:, 8] - X[:, 2])


def test_call_accepts_flat_or_column_input_for_one_variable():
    f = parse_formula("x**2")
    np.testing.assert_array_equal(f(x), x ** 2)
    np.testing.assert_array_equal(f(x[:, None]), x ** 2)
    np.testing.assert_array_equal(f([1, 2, 3]), [1.0, 4.0, 9.0])


def test_constant_formula_returns_one_value_per_row():
    out = parse_formula("2*pi")(np.zeros((4, 1)))
    assert out.shape == (4,) and out.dtype == np.float64
    np.testing.assert_array_equal(out, 2 * np.pi)
    out[0] = 0.0  # must be a writable array of its own, not a broadcast view


@pytest.mark.parametrize("text, shape", [
    ("x*y", (5,)), ("x*y", (5, 1)), ("x*y", (5, 3)), ("x", (5, 2)), ("x3", (2, 2, 3)),
])
def test_wrong_number_of_columns_says_how_many_are_needed(text, shape):
    f = parse_formula(text)
    with pytest.raises(ValueError, match=rf"\(N, {f.n_vars}\)"):
        f(np.zeros(shape))


def test_bad_values_come_out_non_finite_without_warnings():
    f = parse_formula("log(x) + 1/y + sqrt(y) + 10**(1000*x)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = f(np.array([[-1.0, 0.0], [1.0, -1.0], [2.0, 1.0]]))
    assert np.isnan(out[0]) and np.isnan(out[1]) and out[2] == np.inf


def test_text_is_kept_and_repr_shows_it():
    f = parse_formula(" x  +y ")
    assert isinstance(f, Formula)
    assert f.text == " x  +y "
    assert repr(f) == "Formula(' x  +y ')"


# ---------------------------------------------------------------- rendering

@pytest.mark.parametrize("text, expected", [
    ("x^2", "x**2"),
    ("  sin( pi *x )+y**2", "sin(pi*x) + y**2"),
    ("-x**2", "-x**2"),
    ("(-x)**2", "(-x)**2"),
    ("(x**y)**2", "(x**y)**2"),
    ("x**y**2", "x**y**2"),
    ("2^-x", "2**(-x)"),
    ("x*-y", "x*(-y)"),
    ("-(-x)", "-(-x)"),
    ("(x + y) + x", "x + y + x"),
    ("x + (y + x)", "x + (y + x)"),
    ("x - (y - x)", "x - (y - x)"),
    ("(x*y)/(x + y)", "x*y/(x + y)"),
    ("x/(y*x)", "x/(y*x)"),
    ("-(x*y)", "-(x*y)"),
    ("2.0*x + 1e-3", "2*x + 0.001"),
    ("x2", "y"),
    ("x + x3", "x1 + x3"),
    ("((((x))))", "x"),
])
def test_to_text_normalises(text, expected):
    assert parse_formula(text).to_text() == expected


@pytest.mark.parametrize("text, expected", [
    ("sin(pi*x) + y**2", r"\sin\left(\pi \cdot x\right) + y^{2}"),
    ("sqrt(abs(x))/2", r"\frac{\sqrt{\left|x\right|}}{2}"),
    ("(-x)^2", r"\left(-x\right)^{2}"),
    ("log(x1*x3)", r"\ln\left(x_{1} \cdot x_{3}\right)"),
    ("(x + y)*x", r"\left(x + y\right) \cdot x"),
])
def test_to_latex(text, expected):
    assert parse_formula(text).to_latex() == expected


# ---------------------------------------------------------------- rejections

@pytest.mark.parametrize("text, token, position", [
    ("__import__('os')", "__import__", 0),
    ("x.real", ".", 1),
    ("().__class__", ".", 2),
    ("lambda x: x", "lambda", 0),
    ("[a for a in b]", "[", 0),
    ("x + 'a'", "'", 4),
    ('"x"', '"', 0),
    ("sin(x) + foo", "foo", 9),
    ("x0 + 1", "x0", 0),
    ("X", "X", 0),
    ("Sin(x)", "Sin", 0),
    ("x; y", ";", 1),
    ("x @ y", "@", 2),
    ("$x", "$", 0),
    ("x[0]", "[", 1),
    ("x == y", "=", 2),
    ("x % 2", "%", 2),
    ("sin(x, y)", ",", 5),
    ("x, y", ",", 1),
    ("sin()", "sin", 0),
    ("sin x", "sin", 0),
    ("exp", "exp", 0),
    ("(x + 1", "(", 0),
    ("((x)", "(", 0),
    ("sin(x", "(", 3),
    ("x)", ")", 1),
    ("x + )", ")", 4),
    ("()", ")", 1),
    ("x +", "", 3),
    ("x *", "", 3),
    ("x**", "", 3),
    ("* x", "*", 0),
    ("x * / y", "/", 4),
    ("2x", "x", 1),
    ("x y", "y", 2),
    ("x(2)", "(", 1),
    ("1.2.3", ".3", 3),
    ("1e999 * x", "1e999", 0),
    ("x**1000", "1000", 3),
    ("2**99999", "99999", 3),
    ("x^1000", "1000", 2),
    ("x**-101", "101", 4),
    ("x**(1e3)", "1e3", 4),
    ("x**100.5", "100.5", 3),
    ("x ** é", "é", 5),
])
def test_rejections_name_the_token_and_its_position(text, token, position):
    with pytest.raises(FormulaError) as info:
        parse_formula(text)
    err = info.value
    assert isinstance(err, ValueError)
    assert (err.token, err.position) == (token, position)
    message = str(err)
    assert f"position {position}" in message
    if token:
        assert repr(token)[1:-1] in message or token in message


def test_unknown_name_lists_what_is_allowed():
    with pytest.raises(FormulaError, match=r"^Unknown name 'foo' at position 4: use x, y, x1\.\.x9, "
                                           r"pi, e or one of the functions sin, cos, .*sign\.$"):
        parse_formula("x + foo")


@pytest.mark.parametrize("text, pattern", [
    ("", "empty"),
    ("   \t\n", "empty"),
    ("x" + "+x" * 250, "at most 500"),
    ("sin(x, y)", "exactly one argument"),
    ("sin()", "exactly one argument"),
    ("(x + 1", r"Missing '\)'"),
    ("x)", r"Unmatched '\)'"),
    ("x +", "ends too early.*after '\\+'"),
    ("'x'", "Quote"),
    ("x.real", "attribute access"),
    ("2x", r"use \* to multiply"),
])
def test_rejection_messages_say_what_is_wrong(text, pattern):
    with pytest.raises(FormulaError, match=pattern):
        parse_formula(text)


@pytest.mark.parametrize("value", [None, 3, b"x", ["x"]])
def test_non_text_is_rejected(value):
    with pytest.raises(FormulaError, match="must be text"):
        parse_formula(value)


def test_exponent_limit_is_inclusive_and_only_for_number_exponents():
    assert parse_formula("x**100")(np.array([1.0]))[0] == 1.0
    assert parse_formula("x**-100")(np.array([1.0]))[0] == 1.0
    assert parse_formula("x**(50*3)")(np.array([1.0]))[0] == 1.0
    assert parse_formula("1000**x")(np.array([1.0]))[0] == 1000.0


def test_length_limit_is_500_characters():
    ok = "x" + "+x" * 249  # 499 characters
    assert len(ok) == 499
    np.testing.assert_array_equal(parse_formula(ok + " ")(np.ones(2)), 250.0)
    with pytest.raises(FormulaError):
        parse_formula(ok + "  ")


@pytest.mark.parametrize("opening, closing", [
    ("(", ")"), ("sin(", ")"), ("-", ""), ("+", ""), ("2**", ""),
])
def test_nesting_up_to_50_is_fine_and_51_is_rejected(opening, closing):
    depth_50 = opening * 50 + "x" + closing * 50
    assert parse_formula(depth_50)(np.array([0.5])).shape == (1,)
    with pytest.raises(FormulaError, match="nested too deeply"):
        parse_formula(opening * 51 + "x" + closing * 51)


@pytest.mark.parametrize("text", [
    "(" * 400, "(" * 250 + "x" + ")" * 249, "-" * 499, "sin(" * 120 + "x", "2**" * 160 + "2",
])
def test_deep_input_never_raises_recursion_error(text):
    with pytest.raises(FormulaError):
        parse_formula(text)


def test_source_never_uses_eval_exec_compile_or_ast():
    source = Path(formula_module.__file__).read_text()
    assert not re.search(r"(?<![.\w])(eval|exec|compile)\s*\(|\bimport\s+ast\b|\bfrom\s+ast\b", source)


# ---------------------------------------------------------------- fuzzing

PIECES = ["x", "y", "x1", "x3", "2", "1e3", ".5", "pi", "e", "sin", "sqrt", "sigmoid", "(", ")",
          "+", "-", "*", "/", "**", "^", ",", ".", " ", "_", "'", "[", "lambda", "__class__"]


def _parse_or_formula_error(text):
    try:
        f = parse_formula(text)
    except FormulaError as err:
        assert isinstance(err.position, int) and 0 <= err.position <= len(text)
        assert isinstance(err.token, str)
        return
    assert 1 <= f.n_vars <= 9
    with np.errstate(all="ignore"):
        assert f(np.ones((2, f.n_vars))).shape == (2,)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_fuzz_any_text_raises_only_formula_error(text):
    _parse_or_formula_error(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_fuzz_formula_like_text_raises_only_formula_error(text):
    _parse_or_formula_error(text)


@settings(max_examples=20, deadline=None)
@given(st.text(min_size=480, max_size=520))
def test_fuzz_long_text_raises_only_formula_error(text):
    _parse_or_formula_error(text)


# Random expression trees built as (text, numpy oracle) pairs side by side: evaluation must match
# the oracle bit for bit, and to_text() must re-parse to the same values and the same text.
FUNCTIONS = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
    "abs": np.abs, "tanh": np.tanh, "arcsin": np.arcsin, "arctan": np.arctan, "sinh": np.sinh,
    "cosh": np.cosh, "sign": np.sign, "gaussian": lambda t: np.exp(-(t * t)),
}
BINARY = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "**": np.power,
          "^": np.power}
COLUMNS = {"x": 0, "y": 1, "x1": 0, "x2": 1, "x3": 2}

leaves = st.one_of(
    st.sampled_from(sorted(COLUMNS)).map(lambda name: (name, lambda X, c=COLUMNS[name]: X[:, c])),
    st.sampled_from([("pi", np.pi), ("e", np.e)]).map(lambda p: (p[0], lambda X, v=p[1]: v)),
    st.floats(0, 100, allow_nan=False).map(lambda v: (repr(v), lambda X, v=v: v)),
    st.integers(0, 100).map(lambda n: (str(n), lambda X, v=float(n): v)),
)


def _extend(children):
    call = st.tuples(st.sampled_from(sorted(FUNCTIONS)), children).map(
        lambda t: (f"{t[0]}({t[1][0]})", lambda X, f=FUNCTIONS[t[0]], g=t[1][1]: f(g(X))))
    neg = children.map(lambda c: (f"-({c[0]})", lambda X, g=c[1]: np.negative(g(X))))
    binary = st.tuples(children, st.sampled_from(sorted(BINARY)), children).map(
        lambda t: (f"({t[0][0]}) {t[1]} ({t[2][0]})",
                   lambda X, a=t[0][1], op=BINARY[t[1]], b=t[2][1]: op(a(X), b(X))))
    return st.one_of(call, neg, binary)


trees = st.recursive(leaves, _extend, max_leaves=10)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_random_trees_match_numpy_and_round_trip_through_to_text(tree):
    text, oracle = tree
    assume(len(text) <= 500 and text.count("(") <= 20)
    f = parse_formula(text)
    X = X3[:8, :f.n_vars]
    with np.errstate(all="ignore"):
        expected = np.broadcast_to(oracle(X3[:8]), (8,))
    np.testing.assert_array_equal(f(X), expected)
    again = parse_formula(f.to_text())
    assert again.n_vars == f.n_vars
    assert again.to_text() == f.to_text()
    np.testing.assert_array_equal(again(X), expected)
