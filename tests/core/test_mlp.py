"""MLP against an independent forward pass, finite differences, round trips and bad input."""
import copy
import json
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from kan_core.mlp import MLP
from kan_core.optim import LBFGS

ACTIVATIONS = ["relu", "tanh", "silu"]


def reference_forward(model, x):
    """Unit-by-unit forward pass written independently of the model's vectorised one."""
    act = {
        "relu": lambda v: v if v > 0 else 0.0,
        "tanh": math.tanh,
        "silu": lambda v: v / (1.0 + math.exp(-v)),
        "sigmoid": lambda v: 1.0 / (1.0 + math.exp(-v)),
    }[model.activation]
    out = []
    for row in x:
        a = list(row)
        for l, (w, b) in enumerate(zip(model.weights, model.biases)):
            z = [b[j] + sum(a[i] * w[i, j] for i in range(len(a))) for j in range(w.shape[1])]
            a = z if l == len(model.weights) - 1 else [act(v) for v in z]
        out.append(a)
    return np.array(out)


def relu_pre_activations(model, x):
    zs, a = [], x
    for w, b in zip(model.weights, model.biases):
        zs.append(a @ w + b)
        a = np.maximum(zs[-1], 0.0)
    return zs


widths = st.lists(st.integers(1, 5), min_size=2, max_size=4)


@settings(max_examples=25, deadline=None)
@given(width=widths, activation=st.sampled_from(ACTIVATIONS), seed=st.integers(0, 2**32 - 1),
       n=st.integers(1, 4))
def test_forward_matches_reference(width, activation, seed, n):
    model = MLP(width, activation, seed=seed)
    x = np.random.default_rng(seed).normal(size=(n, width[0]))
    np.testing.assert_allclose(model(x), reference_forward(model, x), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(model.forward(x), model(x))
    assert model(x).dtype == np.float64 and model(x).shape == (n, width[-1])


def central_differences(model, x, y, h=1e-6):
    theta = model.get_params()
    grad = np.empty_like(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = h
        model.set_params(theta + step)
        f_plus = model.loss_and_grad(x, y)[0]
        model.set_params(theta - step)
        f_minus = model.loss_and_grad(x, y)[0]
        grad[i] = (f_plus - f_minus) / (2 * h)
    model.set_params(theta)
    return grad


@settings(max_examples=40, deadline=None)
@given(width=widths, activation=st.sampled_from(ACTIVATIONS), seed=st.integers(0, 2**32 - 1),
       n=st.integers(1, 5))
def test_gradient_matches_finite_differences(width, activation, seed, n):
    model = MLP(width, activation, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, width[0]))
    y = rng.normal(size=(n, width[-1]))
    if activation == "relu":
        # A perturbation of 1e-6 must not move any hidden pre-activation across the kink at 0.
        assume(all(np.min(np.abs(z)) > 1e-3 for z in relu_pre_activations(model, x)[:-1]))
    loss, g = model.loss_and_flat_grad(x, y)
    assert loss == pytest.approx(np.mean((model(x) - y) ** 2), rel=1e-14)
    fd = central_differences(model, x, y)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9 * max(1.0, np.max(np.abs(fd))))


def test_structured_grads_match_flat_grads():
    model = MLP([3, 4, 2], "silu", seed=3)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    loss, grads = model.loss_and_grad(x, y)
    loss_flat, flat = model.loss_and_flat_grad(x, y)
    assert loss == loss_flat and len(grads) == 2
    for gl, w, b in zip(grads, model.weights, model.biases):
        assert gl["weight"].shape == w.shape and gl["bias"].shape == b.shape
    expected = np.concatenate([gl[k].ravel() for gl in grads for k in ("weight", "bias")])
    np.testing.assert_array_equal(flat, expected)


def test_relu_derivative_at_zero_is_zero():
    model = MLP([1, 1, 1], "relu")
    model.set_params(np.array([1.0, 0.0, 2.0, 0.5]))  # hidden pre-activation is exactly x = 0
    _, grads = model.loss_and_grad(np.zeros((1, 1)), np.zeros((1, 1)))
    assert grads[0]["weight"][0, 0] == 0.0 and grads[0]["bias"][0] == 0.0


def test_init_follows_pytorch_linear_default():
    model = MLP([4, 300, 2], "tanh", seed=7)
    assert all(w.dtype == np.float64 for w in model.weights + model.biases)
    assert [w.shape for w in model.weights] == [(4, 300), (300, 2)]
    assert [b.shape for b in model.biases] == [(300,), (2,)]
    for w, b in zip(model.weights, model.biases):
        bound = 1 / math.sqrt(w.shape[0])
        assert np.max(np.abs(w)) <= bound and np.max(np.abs(b)) <= bound
        assert np.max(np.abs(w)) > 0.9 * bound
    np.testing.assert_array_equal(MLP([4, 300, 2], "tanh", seed=7).get_params(), model.get_params())
    assert not np.array_equal(MLP([4, 300, 2], "tanh", seed=8).get_params(), model.get_params())


@pytest.mark.parametrize("width", [[1, 1], [2, 3], [1, 16, 1], [3, 5, 4, 2]])
def test_param_count_and_flat_round_trip(width):
    model = MLP(width, "silu", seed=1)
    expected = sum(a * b + b for a, b in zip(width[:-1], width[1:]))
    assert model.n_params == MLP.count_params(width) == expected
    theta = model.get_params()
    assert theta.shape == (expected,) and theta.dtype == np.float64
    np.testing.assert_array_equal(theta[:width[0] * width[1]], model.weights[0].ravel())
    new = np.arange(expected, dtype=np.float64)
    model.set_params(new)
    np.testing.assert_array_equal(model.get_params(), new)
    theta = model.get_params()
    theta[0] = -99.0
    assert model.get_params()[0] == 0.0  # get_params returns a copy


def test_copy_is_independent():
    model = MLP([2, 3, 1], "tanh", seed=2)
    clone = model.copy()
    np.testing.assert_array_equal(clone.get_params(), model.get_params())
    clone.set_params(np.zeros(clone.n_params))
    clone.width.append(5)
    assert np.all(model.get_params() != 0) and model.width == [2, 3, 1]
    x = np.ones((2, 2))
    np.testing.assert_array_equal(model.copy()(x), model(x))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_to_dict_from_dict_round_trip_through_json(activation):
    model = MLP([2, 4, 3], activation, seed=5)
    d = json.loads(json.dumps(model.to_dict()))
    assert d["kind"] == "mlp" and d["width"] == [2, 4, 3] and d["activation"] == activation
    back = MLP.from_dict(d)
    np.testing.assert_array_equal(back.get_params(), model.get_params())
    x = np.random.default_rng(0).normal(size=(5, 2))
    np.testing.assert_array_equal(back(x), model(x))


def _broken(change):
    d = MLP([2, 3, 1], "relu").to_dict()
    change(d)
    return d


@pytest.mark.parametrize("d, match", [
    ([1, 2], "must be a dict"),
    (_broken(lambda d: d.pop("layers")), "missing layers"),
    (_broken(lambda d: d.pop("width")), "missing width"),
    (_broken(lambda d: d.update(kind="kan")), "kind must be 'mlp'"),
    (_broken(lambda d: d.update(activation="gelu")), "activation must be one of"),
    (_broken(lambda d: d.update(width=[2])), "width must be a list of at least 2"),
    (_broken(lambda d: d["layers"].pop()), "layers must be a list of 2 layers"),
    (_broken(lambda d: d["layers"][0].pop("bias")), "Layer 0 must be a dict with 'weight' and 'bias'"),
    (_broken(lambda d: d["layers"][0].update(weight=[[1.0, 2.0, 3.0]])),
     r"Layer 0 weight must have shape \(2, 3\)"),
    (_broken(lambda d: d["layers"][1].update(bias=[1.0, 2.0])), r"Layer 1 bias must have shape \(1,\)"),
    (_broken(lambda d: d["layers"][1]["weight"][0].__setitem__(0, math.nan)),
     "Layer 1 weight contains NaN or inf"),
    (_broken(lambda d: d["layers"][0]["bias"].__setitem__(0, "abc")),
     "Layer 0 bias must be an array of real"),
    (_broken(lambda d: d["layers"][0]["weight"][0].append(1.0)), "Layer 0 weight must be an array of real"),
])
def test_from_dict_validation(d, match):
    with pytest.raises(ValueError, match=match):
        MLP.from_dict(copy.deepcopy(d))


@pytest.mark.parametrize("width", [[3], [], 3, [2, 0], [2, -1], [2, 2.0], [2, True], [1, 10001], "12"])
def test_bad_width(width):
    with pytest.raises(ValueError, match="width must"):
        MLP(width)
    with pytest.raises(ValueError, match="width must"):
        MLP.count_params(width)


def test_bad_activation():
    with pytest.raises(ValueError, match="activation must be one of 'relu', 'tanh', 'silu', 'sigmoid', got 'gelu'"):
        MLP([1, 1], "gelu")


def test_bad_inputs():
    model = MLP([2, 3, 1])
    good_x, good_y = np.zeros((4, 2)), np.zeros((4, 1))
    with pytest.raises(ValueError, match=r"x must be a 2-D array of shape \(N, 2\), got shape \(4,\)"):
        model(np.zeros(4))
    with pytest.raises(ValueError, match=r"got shape \(4, 3\)"):
        model.loss_and_grad(np.zeros((4, 3)), good_y)
    with pytest.raises(ValueError, match="x contains NaN or inf"):
        model(np.array([[0.0, math.inf]]))
    with pytest.raises(ValueError, match="x must be an array of real numbers"):
        model([["a", "b"]])
    with pytest.raises(ValueError, match=r"y must have shape \(N, 1\) = \(4, 1\)"):
        model.loss_and_grad(good_x, np.zeros(4))
    with pytest.raises(ValueError, match="y contains NaN or inf"):
        model.loss_and_grad(good_x, np.full((4, 1), math.nan))
    with pytest.raises(ValueError, match="at least one row"):
        model.loss_and_grad(np.zeros((0, 2)), np.zeros((0, 1)))
    with pytest.raises(ValueError, match="x.reshape"):
        MLP([1, 1])(np.zeros(3))
    with pytest.raises(ValueError, match="theta must be a 1-D vector of length 13"):
        model.set_params(np.zeros(12))
    with pytest.raises(ValueError, match="theta contains NaN or inf"):
        model.set_params(np.full(13, math.nan))


def test_lbfgs_fits_sine_with_tanh_mlp():
    x = np.linspace(-1, 1, 64).reshape(-1, 1)
    y = np.sin(np.pi * x)
    model = MLP([1, 16, 1], "tanh", seed=0)
    opt = LBFGS()
    theta = model.get_params()

    def fun(params):
        model.set_params(params)
        return model.loss_and_flat_grad(x, y)

    for _ in range(50):
        theta, _ = opt.step(fun, theta)
    model.set_params(theta)
    assert model.loss_and_grad(x, y)[0] < 1e-3
