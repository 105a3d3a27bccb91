"""A plain multilayer perceptron with a hand-written backward pass: the KAN's point of comparison.

``MLP(width=[n0, ..., nL], activation)`` stacks L affine layers ``z = a @ W + b`` with the
activation after every layer except the last (a linear output). It follows the model protocol of
``kan_core`` (see the package docstring), so the same optimizers and trainers drive MLPs and KANs.
"""
import math
from numbers import Integral

import numpy as np

__all__ = ["MLP"]

MAX_LAYER_WIDTH = 10000


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _relu(z):
    return np.maximum(z, 0.0)


def _relu_grad(z):
    return (z > 0).astype(np.float64)


def _tanh_grad(z):
    return 1.0 - np.tanh(z) ** 2


def _sigmoid_grad(z):
    s = _sigmoid(z)
    return s * (1.0 - s)


def _silu(z):
    return z * _sigmoid(z)


def _silu_grad(z):
    s = _sigmoid(z)
    return s * (1.0 + z * (1.0 - s))


# name -> (activation, its derivative); both act elementwise on pre-activations z.
ACTIVATIONS = {
    "relu": (_relu, _relu_grad),
    "tanh": (np.tanh, _tanh_grad),
    "silu": (_silu, _silu_grad),
    "sigmoid": (_sigmoid, _sigmoid_grad),
}


def _check_width(width):
    if not isinstance(width, (list, tuple)) or len(width) < 2:
        raise ValueError(
            f"width must be a list of at least 2 layer sizes such as [1, 16, 1], got {width!r}.")
    for n in width:
        if isinstance(n, bool) or not isinstance(n, Integral) or not 1 <= n <= MAX_LAYER_WIDTH:
            raise ValueError(
                f"width must contain integers from 1 to {MAX_LAYER_WIDTH}, got {n!r} in {list(width)!r}.")
    return [int(n) for n in width]


def _check_activation(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {', '.join(repr(a) for a in ACTIVATIONS)}, got {activation!r}.")
    return activation


def _as_finite_array(name, value):
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of real numbers.") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; only finite values are allowed.")
    return arr


class MLP:
    """Multilayer perceptron of shape width=[n0, ..., nL] with float64 parameters.

    weights[l]: (width[l], width[l+1]); biases[l]: (width[l+1],). Initialised like PyTorch's
    nn.Linear: both drawn from U(-1/sqrt(n_in), 1/sqrt(n_in)) with np.random.default_rng(seed).
    """

    def __init__(self, width, activation="relu", seed=0):
        self.width = _check_width(width)
        self.activation = _check_activation(activation)
        rng = np.random.default_rng(seed)
        self.weights = []
        self.biases = []
        for n_in, n_out in zip(self.width[:-1], self.width[1:]):
            bound = 1.0 / math.sqrt(n_in)
            self.weights.append(rng.uniform(-bound, bound, size=(n_in, n_out)))
            self.biases.append(rng.uniform(-bound, bound, size=n_out))

    @staticmethod
    def count_params(width):
        """Number of trainable parameters of an MLP of this width, without building it."""
        width = _check_width(width)
        return sum(n_in * n_out + n_out for n_in, n_out in zip(width[:-1], width[1:]))

    @property
    def n_params(self):
        return self.count_params(self.width)

    def _check_x(self, x):
        x = _as_finite_array("x", x)
        if x.ndim != 2 or x.shape[1] != self.width[0]:
            hint = ""
            if x.ndim == 1 and self.width[0] == 1:
                hint = " (reshape a 1-D array of inputs with x.reshape(-1, 1))"
            raise ValueError(
                f"x must be a 2-D array of shape (N, {self.width[0]}), got shape {x.shape}{hint}.")
        return x

    def _forward(self, x):
        """x (N, n0) -> (output (N, nL), [(a_in, z) for each layer]) with a_in the layer's input."""
        act = ACTIVATIONS[self.activation][0]
        cache = []
        a = x
        last = len(self.weights) - 1
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = a @ w + b
            cache.append((a, z))
            a = z if l == last else act(z)
        return a, cache

    def forward(self, x):
        """x (N, n0) -> (N, nL) float64."""
        return self._forward(self._check_x(x))[0]

    __call__ = forward

    def loss_and_grad(self, x, y):
        """Mean squared error over all N*nL entries and its gradient.

        x (N, n0), y (N, nL) -> (mse, [{'weight': (n_in, n_out), 'bias': (n_out,)} per layer]).
        """
        x = self._check_x(x)
        if x.shape[0] == 0:
            raise ValueError("x must have at least one row to compute a loss.")
        y = _as_finite_array("y", y)
        if y.shape != (x.shape[0], self.width[-1]):
            raise ValueError(
                f"y must have shape (N, {self.width[-1]}) = {(x.shape[0], self.width[-1])} to match x, "
                f"got shape {y.shape}.")
        out, cache = self._forward(x)
        diff = out - y
        loss = float(np.mean(diff * diff))
        act_grad = ACTIVATIONS[self.activation][1]
        delta = 2.0 * diff / diff.size  # d loss / d z of the last (linear) layer
        grads = [None] * len(self.weights)
        for l in range(len(self.weights) - 1, -1, -1):
            a_in, _ = cache[l]
            grads[l] = {"weight": a_in.T @ delta, "bias": delta.sum(axis=0)}
            if l > 0:
                delta = (delta @ self.weights[l].T) * act_grad(cache[l - 1][1])
        return loss, grads

    def loss_and_flat_grad(self, x, y):
        """(mse, g) with g (n_params,) ordered as get_params()."""
        loss, grads = self.loss_and_grad(x, y)
        return loss, np.concatenate([p for gl in grads for p in (gl["weight"].ravel(), gl["bias"])])

    def get_params(self):
        """(n_params,) copy: per layer the weight raveled in C order, then the bias."""
        return np.concatenate([p for w, b in zip(self.weights, self.biases) for p in (w.ravel(), b)])

    def set_params(self, theta):
        """Write a (n_params,) vector ordered as get_params() into the layers in place."""
        theta = _as_finite_array("theta", theta)
        if theta.shape != (self.n_params,):
            raise ValueError(
                f"theta must be a 1-D vector of length {self.n_params}, got shape {theta.shape}.")
        i = 0
        for w, b in zip(self.weights, self.biases):
            w[...] = theta[i:i + w.size].reshape(w.shape)
            i += w.size
            b[...] = theta[i:i + b.size]
            i += b.size

    def copy(self):
        """An independent deep copy."""
        clone = MLP.__new__(MLP)
        clone.width = list(self.width)
        clone.activation = self.activation
        clone.weights = [w.copy() for w in self.weights]
        clone.biases = [b.copy() for b in self.biases]
        return clone

    def to_dict(self):
        """JSON-safe description: kind, width, activation and per-layer weight/bias as lists of floats."""
        return {
            "kind": "mlp",
            "width": list(self.width),
            "activation": self.activation,
            "layers": [{"weight": w.tolist(), "bias": b.tolist()} for w, b in zip(self.weights, self.biases)],
        }

    @classmethod
    def from_dict(cls, d):
        """Rebuild an MLP from to_dict() output, raising ValueError on anything malformed."""
        if not isinstance(d, dict):
            raise ValueError(f"An MLP description must be a dict, got {type(d).__name__}.")
        missing = [k for k in ("kind", "width", "activation", "layers") if k not in d]
        if missing:
            raise ValueError(
                f"The MLP description is missing {', '.join(missing)}; it needs kind, width, activation "
                "and layers.")
        if d["kind"] != "mlp":
            raise ValueError(f"The description's kind must be 'mlp', got {d['kind']!r}.")
        model = cls(d["width"], d["activation"])
        layers = d["layers"]
        if not isinstance(layers, list) or len(layers) != len(model.weights):
            raise ValueError(
                f"layers must be a list of {len(model.weights)} layers for width {model.width}.")
        for l, layer in enumerate(layers):
            if not isinstance(layer, dict) or "weight" not in layer or "bias" not in layer:
                raise ValueError(f"Layer {l} must be a dict with 'weight' and 'bias'.")
            for key, target in (("weight", model.weights[l]), ("bias", model.biases[l])):
                arr = _as_finite_array(f"Layer {l} {key}", layer[key])
                if arr.shape != target.shape:
                    raise ValueError(
                        f"Layer {l} {key} must have shape {target.shape} for width {model.width}, "
                        f"got shape {arr.shape}.")
                target[...] = arr
        return model
