"""The Kolmogorov-Arnold Network: a stack of layers whose every edge is a learnable 1-D function.

Names and array layouts follow pykan so results can be compared number for number:
    width       [n0, n1, ..., nL]
    layer.grid        (n_in, G + 2k + 1)
    layer.coef        (n_in, n_out, G + k)
    layer.scale_base  (n_in, n_out)
    layer.scale_sp    (n_in, n_out)
    layer.mask        (n_in, n_out)   1 live, 0 pruned
"""
import math
import operator

import numpy as np

from . import bspline
from .kernels import (BASE_KINDS, all_finite, layer_backward, layer_basis, layer_forward, network_loss_grad, pad_coef,
                      residual_squares, symbolic_backward, symbolic_forward)
from .expression import Sum, SymbolicExpression
from .symbolic import SYMBOLIC_LIB, suggest_symbolic

LIB_NAMES = {fun.code: name for name, fun in SYMBOLIC_LIB.items()}

MAX_WIDTH = 1000
CHUNK = 1024
_F64 = np.dtype(np.float64)
_I64 = np.dtype(np.int64)
FUSED_DEPTHS = range(1, 5)  # depths whose training pass runs as one compiled call (warmup compiles each)
_EMPTY3 = np.empty((0, 0, 0))
_EMPTY2 = np.empty((0, 0))
PARAM_NAMES = ("coef", "scale_base", "scale_sp")  # then affine of the snapped edges, per layer
GRAD_NAMES = PARAM_NAMES + ("affine",)
ARRAY_FIELDS = ("grid",) + PARAM_NAMES + ("mask", "symbolic_mask", "affine")
OPTIONAL_FIELDS = ("symbolic_mask", "affine")


def check_width(width):
    """Validate a width list [n0, ..., nL] and return it as a list of ints."""
    try:
        width = list(width)
    except TypeError:
        raise ValueError(f"width must be a list of layer sizes like [2, 5, 1]; got {width!r}.") from None
    if len(width) < 2:
        raise ValueError(f"width needs at least two layer sizes (inputs and outputs), like [2, 5, 1]; got {width!r}.")
    for n in width:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_WIDTH:
            raise ValueError(
                f"Every layer size in width must be a whole number from 1 to {MAX_WIDTH}; got {n!r} in {width!r}.")
    return [int(n) for n in width]


def check_xy(x, y, n_in, n_out):
    """Return x (N, n_in) and y (N, n_out) as contiguous float64 arrays, or raise ValueError."""
    x = check_x(x, n_in)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1 and n_out == 1:
        y = y[:, None]
    if y.shape != (x.shape[0], n_out):
        raise ValueError(f"Targets y must have shape ({x.shape[0]}, {n_out}) to match x; got {y.shape}.")
    if not all_finite(y):
        raise ValueError("Targets y contain NaN or infinite values; only finite numbers are allowed.")
    return x, np.ascontiguousarray(y)


def check_x(x, n_in):
    try:
        x = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("Inputs x must be an array of numbers.") from None
    if x.ndim == 1 and n_in == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != n_in or x.shape[0] < 1:
        raise ValueError(f"Inputs x must have shape (N, {n_in}) with N >= 1; got {x.shape}.")
    if not all_finite(x):
        raise ValueError("Inputs x contain NaN or infinite values; only finite numbers are allowed.")
    return np.ascontiguousarray(x)


# The layers' arrays the compiled training pass takes, one tuple per name, and their dtypes.
KERNEL_ARRAYS = (("grid", _F64), ("coef", _F64), ("scale_base", _F64), ("scale_sp", _F64), ("mask", _F64),
                 ("symbolic_mask", _F64), ("symbolic_codes", _I64), ("affine", _F64))


def _kernel_view(a, dtype):
    """``a`` as the compiled training pass takes a layer's array: C-contiguous, of one dtype and
    read-only whatever the layer's own flags (so that a tuple of them has one type). Returns
    (array, shared): a view of ``a`` when it already has that dtype and order, else a copy."""
    shared = a.dtype == dtype and a.flags.c_contiguous
    out = a.view() if shared else np.array(a, dtype=dtype, order="C")
    out.flags.writeable = False
    return out, shared


def _flat_parts(layer, arrays):
    """The pieces of the flat parameter vector for one layer, from arrays shaped like its
    parameters (the layer's own attributes or its gradients)."""
    parts = [arrays[name].ravel() for name in PARAM_NAMES]
    if layer.symbolic_mask.any():
        parts.append(arrays["affine"][layer.symbolic_mask != 0].ravel())
    return parts


def sparsity_penalty(edges, lamb_l1=1.0, lamb_entropy=2.0):
    """The KAN paper's sparsity penalty and its gradient with respect to every edge output.

    edges: list per layer of edge outputs (N, n_out, n_in). Per layer, a_ji = mean_n |phi_ji| is
    the size of edge (i -> j), L1 = sum a, and the entropy is -sum p log p with p = a / L1.
    Returns (sum over layers of lamb_l1 * L1 + lamb_entropy * entropy, list of d penalty / d edges).
    """
    total = 0.0
    grads = []
    for E in edges:
        N = E.shape[0]
        a = np.abs(E).mean(axis=0)
        A = a.sum()
        if A <= 0.0:
            grads.append(np.zeros_like(E))
            continue
        p = a / A
        live = p > 0.0
        logp = np.log(np.where(live, p, 1.0))
        entropy = -float(np.sum(p * logp))
        total += lamb_l1 * A + lamb_entropy * entropy
        # d entropy / d a = -(log p + entropy) / L1 on live edges
        da = lamb_l1 + lamb_entropy * np.where(live, -(logp + entropy) / A, 0.0)
        grads.append(np.sign(E) * (da / N)[None, :, :])
    return total, grads


class KANLayer:
    """One layer: n_in * n_out edge functions sharing a knot grid per input.

    An edge is a spline (mask 1), snapped to a formula (symbolic_mask 1, mask 0: it computes
    c*f(a*x + b) + d with (a, b, c, d) = affine[i, j] and f the library function
    symbolic_codes[i, j]), or pruned (both 0), as in pykan.
    """

    def __init__(self, grid, coef, scale_base, scale_sp, mask, k, base="silu",
                 symbolic_mask=None, affine=None, symbolic_codes=None):
        n_in, n_out = mask.shape
        self.grid = grid
        self.coef = coef
        self.scale_base = scale_base
        self.scale_sp = scale_sp
        self.mask = mask
        self.k = k
        self.base = base
        self.symbolic_mask = np.zeros((n_in, n_out)) if symbolic_mask is None else symbolic_mask
        self.affine = np.zeros((n_in, n_out, 4)) if affine is None else affine
        self.symbolic_codes = (np.full((n_in, n_out), SYMBOLIC_LIB["0"].code, dtype=np.int64)
                               if symbolic_codes is None else symbolic_codes)

    @property
    def in_dim(self):
        return self.coef.shape[0]

    @property
    def out_dim(self):
        return self.coef.shape[1]

    @property
    def G(self):
        return self.grid.shape[1] - 2 * self.k - 1

    @property
    def symbolic_fun(self):
        """Names of the library functions on the edges, [i][j] (meaningful where symbolic_mask is 1)."""
        return [[LIB_NAMES[code] for code in row] for row in self.symbolic_codes]

    def basis_cache(self, XT, want_d=True, for_backward=True):
        """Everything about the inputs XT (n_in, N) (samples along the last axis) the passes need:
        span, V, dV, B, dB as laid out by kernels.layer_basis, the padded coefficients, and (when
        for_backward) room for the forward pass's spline values SP (scratch) and (when want_d)
        their derivatives DSP, which the backward pass reads."""
        n_in, N = XT.shape
        span = np.empty((n_in, N), dtype=np.int64)
        V = np.empty((n_in, self.k + 1, N))
        dV = np.empty_like(V)
        B = np.empty((n_in, N))
        dB = np.empty_like(B)
        layer_basis(XT, self.grid, self.k, bspline.uniform_basis_poly(self.k), BASE_KINDS[self.base],
                    span, V, dV, B, dB, want_d)
        SP = np.empty((n_in, self.out_dim, N)) if for_backward else _EMPTY3
        DSP = np.empty_like(SP) if want_d and for_backward else _EMPTY3
        return span, V, dV, B, dB, pad_coef(self.coef, self.k), SP, DSP

    def forward_t(self, XT, want_edges=False, cache=None):
        """XT (n_in, N) -> YT (n_out, N), and edge outputs (N, n_out, n_in) when want_edges."""
        if cache is None:
            cache = self.basis_cache(XT, want_d=False, for_backward=False)
        span, V, dV, B, _, cpad, SP, DSP = cache
        N = XT.shape[1]
        YT = np.empty((self.out_dim, N))
        E = np.empty((N, self.out_dim, self.in_dim)) if want_edges else _EMPTY3
        layer_forward(span, V, dV, B, cpad, self.scale_base, self.scale_sp, self.mask, YT, E, SP, DSP)
        if self.symbolic_mask.any():
            symbolic_forward(XT, self.symbolic_codes, self.affine, self.symbolic_mask, YT, E)
        return YT, E

    def forward(self, X, want_edges=False, cache=None):
        """X (N, n_in) -> Y (N, n_out), and edge outputs (N, n_out, n_in) when want_edges."""
        YT, E = self.forward_t(np.ascontiguousarray(X.T), want_edges, cache)
        Y = np.ascontiguousarray(YT.T)
        return (Y, E) if want_edges else Y

    def backward_t(self, XT, cache, dYT, dE=_EMPTY3, want_dx=True):
        """Given the inputs XT (n_in, N), their cache after forward_t(XT, cache=cache) and dL/dY as
        dYT (n_out, N), and optionally an extra dL/d(edge output) (N, n_out, n_in): returns dL/dX
        as dXT (n_in, N) (None without want_dx; the cache must then have been built with want_d)
        and a dict of parameter gradients shaped like the parameters (coef, scale_base, scale_sp,
        affine)."""
        span, V, _, B, dB, cpad, SP, DSP = cache
        N = XT.shape[1]
        dYT = np.ascontiguousarray(dYT, dtype=np.float64)  # the kernel reads it as one flat row
        dE = np.ascontiguousarray(dE, dtype=np.float64)
        dXT = np.empty(XT.shape) if want_dx else _EMPTY2
        dcpad = np.empty_like(cpad)
        grads = {"scale_base": np.empty_like(self.scale_base), "scale_sp": np.empty_like(self.scale_sp),
                 "affine": np.zeros_like(self.affine)}
        layer_backward(span, V, B, dB, cpad, DSP, dYT, dE, self.scale_base, self.scale_sp, self.mask, want_dx,
                       dXT, dcpad, grads["scale_base"], grads["scale_sp"], np.empty(N))
        grads["coef"] = np.ascontiguousarray(dcpad[:, :, self.k:self.k + self.coef.shape[2]])
        if self.symbolic_mask.any():
            symbolic_backward(XT, dYT, dE, self.symbolic_codes, self.affine, self.symbolic_mask, want_dx, dXT,
                              grads["affine"])
        return (dXT if want_dx else None), grads

    def spline_values(self, X):
        """The bare spline sum_m coef B_m(x) per edge: (N, n_in, n_out)."""
        return bspline.spline(X, self.grid, self.coef, self.k)

    def copy(self):
        return self.subset(slice(None), slice(None))

    def subset(self, keep_in, keep_out):
        """A new layer with only the inputs keep_in and outputs keep_out (index arrays or slices)."""
        def pick(arr):
            return arr[keep_in][:, keep_out].copy()
        return KANLayer(self.grid[keep_in].copy(), pick(self.coef), pick(self.scale_base), pick(self.scale_sp),
                        pick(self.mask), self.k, self.base, pick(self.symbolic_mask), pick(self.affine),
                        pick(self.symbolic_codes))


class KAN:
    """KAN(width=[n0, ..., nL], grid=G, k=3, grid_range=(-1, 1), seed=0, noise_scale=0.3, base='silu').

    Edge function: phi = mask * (scale_base * base(x) + scale_sp * sum_m coef[m] B_m(x)); each node
    sums its incoming edges. Initialised as pykan: a small-noise spline, scale_base drawn from
    U(-1/sqrt(n_in), 1/sqrt(n_in)), scale_sp = 1/sqrt(n_in).
    """

    def __init__(self, width, grid=5, k=3, grid_range=(-1.0, 1.0), seed=0, noise_scale=0.3,
                 base="silu", grid_eps=0.02):
        self.width = check_width(width)
        G, k, grid_range = bspline.check_grid_args(grid, k, grid_range)
        if base not in BASE_KINDS:
            raise ValueError(f"base must be one of {', '.join(BASE_KINDS)}; got {base!r}.")
        if not (np.isfinite(noise_scale) and noise_scale >= 0):
            raise ValueError(f"noise_scale must be a finite number >= 0; got {noise_scale!r}.")
        if not (np.isfinite(grid_eps) and 0.0 <= grid_eps <= 1.0):
            raise ValueError(f"grid_eps must be a number from 0 to 1; got {grid_eps!r}.")
        self.k = k
        self.grid_range = grid_range
        self.base = base
        self.grid_eps = float(grid_eps)
        self.seed = seed
        self.cache_data = None  # the last batch seen in training, as pykan keeps it
        rng = np.random.default_rng(seed)
        self.layers = []
        for n_in, n_out in zip(self.width[:-1], self.width[1:]):
            grid_arr = bspline.make_grid(n_in, G, k, grid_range)
            knots_x = grid_arr[:, k:k + G + 1].T
            noise = (rng.random((G + 1, n_in, n_out)) - 0.5) * noise_scale / G
            coef = bspline.fit_coef(knots_x, noise, grid_arr, k)
            bound = 1.0 / np.sqrt(n_in)
            scale_base = rng.uniform(-bound, bound, (n_in, n_out))
            scale_sp = np.full((n_in, n_out), bound)
            mask = np.ones((n_in, n_out))
            self.layers.append(KANLayer(grid_arr, coef, scale_base, scale_sp, mask, k, base))

    # -- evaluation -------------------------------------------------------------------------
    @property
    def G(self):
        """Grid size of the first layer (all layers share it unless changed by hand)."""
        return self.layers[0].G

    @property
    def depth(self):
        return len(self.layers)

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        """x (N, n0) -> (N, nL)."""
        h = check_x(x, self.width[0])
        for layer in self.layers:
            h = layer.forward(h)
        return h

    def forward_detail(self, x):
        """Everything a figure needs: dict with
        'acts'  list of layer inputs, acts[l] (N, n_l)  (acts[L] is the output),
        'edges' list of edge outputs, edges[l] (N, n_{l+1}, n_l)."""
        h = check_x(x, self.width[0])
        acts, edges = [h], []
        for layer in self.layers:
            h, e = layer.forward(h, want_edges=True)
            acts.append(h)
            edges.append(e)
        return {"acts": acts, "edges": edges, "output": h}

    def edge(self, l, i, j):
        """The edge function phi_{l,j,i} as a 1-D callable: array (M,) -> array (M,)."""
        self._check_edge(l, i, j)
        sub = self.layers[l].subset([i], [j])

        def phi(x):
            x = np.ascontiguousarray(np.asarray(x, dtype=np.float64).reshape(-1, 1))
            return sub.forward(x)[:, 0]
        return phi

    # -- training protocol ------------------------------------------------------------------
    def loss_and_grad(self, x, y, lamb=0.0, lamb_l1=1.0, lamb_entropy=2.0):
        """Training objective and its gradient: (loss, [ {coef, scale_base, scale_sp, affine} per layer ]).

        loss = mean squared error + lamb * (lamb_l1 * L1 + lamb_entropy * entropy), the sparsity
        penalty of the KAN paper summed over layers (see sparsity_penalty). Without the penalty,
        large batches run in chunks of CHUNK samples so the basis caches stay in the CPU cache and
        the cost grows linearly with N; the penalty needs every edge's mean over the whole batch,
        so with lamb > 0 the batch runs in one piece.
        """
        x, y = self._check_training_args(x, y, lamb, lamb_l1, lamb_entropy)
        if lamb == 0 and self.depth in FUSED_DEPTHS:
            loss, flat = self._loss_and_flat(x, y)
            return loss, self._split_flat(flat)
        return self._loss_and_grad_layers(x, y, lamb, lamb_l1, lamb_entropy)

    def loss_and_flat_grad(self, x, y, lamb=0.0, lamb_l1=1.0, lamb_entropy=2.0):
        """loss_and_grad with the gradient as one vector ordered as get_params()."""
        x, y = self._check_training_args(x, y, lamb, lamb_l1, lamb_entropy)
        if lamb == 0 and self.depth in FUSED_DEPTHS:
            return self._loss_and_flat(x, y)
        loss, grads = self._loss_and_grad_layers(x, y, lamb, lamb_l1, lamb_entropy)
        return loss, np.concatenate([part for layer, g in zip(self.layers, grads) for part in _flat_parts(layer, g)])

    def _check_training_args(self, x, y, lamb, lamb_l1, lamb_entropy):
        x, y = check_xy(x, y, self.width[0], self.width[-1])
        for name, value in (("lamb", lamb), ("lamb_l1", lamb_l1), ("lamb_entropy", lamb_entropy)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0; got {value!r}.")
        self.cache_data = x
        return x, y

    def _loss_and_flat(self, x, y):
        """The plain mean squared error and its flat gradient in one compiled pass over all layers
        (kernels.network_loss_grad): the training hot path, free of per-layer Python work. The
        compiled code is specialised on the depth (the layers' arrays travel as tuples), so it
        serves the depths in FUSED_DEPTHS, which warmup compiles; deeper models (only by import)
        take the layer-by-layer path rather than wait for the compiler mid-lesson."""
        total, flat = network_loss_grad(x, y, self.k, bspline.uniform_basis_poly(self.k), BASE_KINDS[self.base],
                                        *self._kernel_tuples(), CHUNK)
        return total / y.size, flat

    def _kernel_tuples(self):
        """The layers' arrays for the compiled training pass, one tuple per name in KERNEL_ARRAYS.
        Built once and reused for as long as every layer holds the same array objects: they are
        read-only views sharing the layers' memory, so changes made in place show through, and an
        array replaced by another makes a new set. Arrays of another dtype or order go as copies,
        made afresh on every call. (A layer array reshaped in place, by assigning its shape,
        would not be seen; nothing does that.) Copies of the model drop the cache: KAN.copy
        and __getstate__, which pickling and copy.deepcopy use."""
        layers = self.layers
        current = [getattr(layer, name) for name, _ in KERNEL_ARRAYS for layer in layers]
        cached = self.__dict__.get("_kernel_cache")
        if cached is not None and len(cached[0]) == len(current) and all(map(operator.is_, cached[0], current)):
            return cached[1]
        L = len(layers)
        views = []
        all_shared = True
        for idx, a in enumerate(current):
            view, shared = _kernel_view(a, KERNEL_ARRAYS[idx // L][1])
            views.append(view)
            all_shared = all_shared and shared
        tuples = tuple(tuple(views[g * L:(g + 1) * L]) for g in range(len(KERNEL_ARRAYS)))
        self._kernel_cache = (current, tuples) if all_shared else None
        return tuples

    def _split_flat(self, flat):
        """A flat vector ordered as get_params() as a list per layer of dicts shaped like the
        parameters (affine zero on edges that are not snapped)."""
        out = []
        pos = 0
        for layer in self.layers:
            part = {}
            for name in PARAM_NAMES:
                arr = getattr(layer, name)
                part[name] = flat[pos:pos + arr.size].reshape(arr.shape)
                pos += arr.size
            snapped = layer.symbolic_mask != 0
            n = 4 * int(snapped.sum())
            part["affine"] = np.zeros_like(layer.affine)
            part["affine"][snapped] = flat[pos:pos + n].reshape(-1, 4)
            pos += n
            out.append(part)
        return out

    def _loss_and_grad_layers(self, x, y, lamb=0.0, lamb_l1=1.0, lamb_entropy=2.0):
        """loss_and_grad layer by layer in Python over the per-layer kernels: the path for the
        sparsity penalty, and for lamb = 0 an independent route to the same numbers as
        _loss_and_flat (tests compare the two). x and y already checked."""
        N = x.shape[0]
        chunk = CHUNK if lamb == 0 else N
        total = 0.0
        grads = None
        for start in range(0, N, chunk):
            xsT = np.ascontiguousarray(x[start:start + chunk].T)
            ysT = y[start:start + chunk].T
            h, caches, edges, inputs = xsT, [], [], []
            for l, layer in enumerate(self.layers):
                inputs.append(h)
                caches.append(layer.basis_cache(h, want_d=l > 0))
                h, e = layer.forward_t(h, want_edges=bool(lamb), cache=caches[-1])
                edges.append(e)
            diff = np.ascontiguousarray(h - ysT)
            total += residual_squares(diff)
            if lamb:
                reg, dedges = sparsity_penalty(edges, lamb_l1, lamb_entropy)
                total += lamb * reg * y.size
            d = (2.0 / y.size) * diff
            part = [None] * self.depth
            for l in range(self.depth - 1, -1, -1):
                dE = lamb * dedges[l] if lamb else _EMPTY3
                d, part[l] = self.layers[l].backward_t(inputs[l], caches[l], d, dE, want_dx=l > 0)
            if grads is None:
                grads = part
            else:
                for g, p in zip(grads, part):
                    for name in GRAD_NAMES:
                        g[name] += p[name]
        return total / y.size, grads

    def get_params(self):
        """Every trainable number, layer by layer: coef, scale_base, scale_sp (all edges), then
        (a, b, c, d) of each snapped edge in row-major edge order."""
        return np.concatenate([part for layer in self.layers for part in _flat_parts(layer, vars(layer))])

    def set_params(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape != (self.n_params,):
            raise ValueError(f"The parameter vector must have length {self.n_params}; got shape {theta.shape}.")
        if not np.all(np.isfinite(theta)):
            raise ValueError("The parameter vector contains NaN or infinite values; only finite numbers are allowed.")
        pos = 0
        for layer in self.layers:
            for name in PARAM_NAMES:
                arr = getattr(layer, name)
                arr[...] = theta[pos:pos + arr.size].reshape(arr.shape)
                pos += arr.size
            snapped = layer.symbolic_mask != 0
            n = 4 * int(snapped.sum())
            layer.affine[snapped] = theta[pos:pos + n].reshape(-1, 4)
            pos += n

    @property
    def n_params(self):
        return sum(part.size for layer in self.layers for part in _flat_parts(layer, vars(layer)))

    @staticmethod
    def count_params(width, grid, k):
        """Parameters of a KAN of this shape: every edge has G + k coefficients and two scales."""
        width = check_width(width)
        return sum(a * b for a, b in zip(width[:-1], width[1:])) * (grid + k + 2)

    def __getstate__(self):
        """The model's attributes without the compiled pass's cached views (pickle and
        copy.deepcopy would otherwise give the copy views of arrays it does not hold)."""
        state = dict(self.__dict__)
        state.pop("_kernel_cache", None)
        return state

    def copy(self):
        new = object.__new__(KAN)
        new.__dict__.update(self.__dict__)
        new._kernel_cache = None
        new.width = list(self.width)
        new.layers = [layer.copy() for layer in self.layers]
        return new

    # -- grids ------------------------------------------------------------------------------
    def update_grid(self, x, grid_eps=None):
        """Move every layer's knots to follow the data (uniform/quantile blend, grid_eps), keeping
        each edge's spline by a least-squares refit at the layer's inputs."""
        grid_eps = self.grid_eps if grid_eps is None else grid_eps
        h = check_x(x, self.width[0])
        for layer in self.layers:
            old = layer.spline_values(h)
            layer.grid = bspline.grid_from_samples(h, layer.G, layer.k, grid_eps)
            layer.coef = bspline.fit_coef(h, old, layer.grid, layer.k)
            h = layer.forward(h)

    # -- reading the network ------------------------------------------------------------------
    def _data_or_cache(self, x):
        if x is not None:
            return check_x(x, self.width[0])
        if getattr(self, "cache_data", None) is None:
            raise ValueError("Pass the inputs x: this model has not seen any data yet.")
        return self.cache_data

    def attribute(self, x=None):
        """How much each edge and node matters to the outputs, from the mean |phi| over inputs x
        (default: the last batch seen in loss_and_grad).

        Every output node scores 1. Walking back, each node shares its score among its incoming
        edges in proportion to their mean |phi|, and a node scores the sum of its outgoing edges.
        Returns (node_scores: list of (n_l,) for l = 0..L, edge_scores: list of (n_in, n_out)).
        """
        detail = self.forward_detail(self._data_or_cache(x))
        node_scores = [None] * (self.depth + 1)
        edge_scores = [None] * self.depth
        node_scores[-1] = np.ones(self.width[-1])
        for l in range(self.depth - 1, -1, -1):
            a = np.abs(detail["edges"][l]).mean(axis=0).T
            share = a / np.maximum(a.sum(axis=0, keepdims=True), 1e-300)
            edge_scores[l] = share * node_scores[l + 1][None, :]
            node_scores[l] = edge_scores[l].sum(axis=1)
        return node_scores, edge_scores

    def prune(self, node_th=1e-2, edge_th=3e-2, x=None):
        """A smaller KAN: edges scoring below edge_th (see attribute) are masked off, and hidden
        nodes scoring at most node_th, or left with no live edge in or out, are removed. Inputs
        and outputs always stay; a hidden layer keeps at least its best node."""
        node_scores, edge_scores = self.attribute(x)
        live = [layer.mask * (edge_scores[l] >= edge_th) for l, layer in enumerate(self.layers)]
        keep = [np.arange(self.width[0])]
        for l in range(1, self.depth):
            # a node also dies when every edge into it or out of it is cut
            alive = (node_scores[l] > node_th) & live[l - 1].any(axis=0) & live[l].any(axis=1)
            kept = np.flatnonzero(alive)
            keep.append(kept if kept.size else np.array([int(np.argmax(node_scores[l]))]))
        keep.append(np.arange(self.width[-1]))
        new = self.copy()
        new.width = [len(kept) for kept in keep]
        new.layers = [layer.subset(keep[l], keep[l + 1]) for l, layer in enumerate(self.layers)]
        for l, layer in enumerate(new.layers):
            layer.mask[:] = live[l][keep[l]][:, keep[l + 1]]
        new.cache_data = None
        return new

    # -- snapping edges to formulas -----------------------------------------------------------
    def _check_edge(self, l, i, j):
        ok = (isinstance(l, (int, np.integer)) and 0 <= l < self.depth
              and isinstance(i, (int, np.integer)) and 0 <= i < self.width[l]
              and isinstance(j, (int, np.integer)) and 0 <= j < self.width[l + 1])
        if not ok:
            raise ValueError(f"There is no edge (l={l}, i={i}, j={j}) in a KAN of width {self.width}: "
                             f"l counts layers from 0, i inputs of that layer, j its outputs.")

    def edge_samples(self, l, i, j, x=None):
        """(inputs, outputs) of edge (l, i, j) over the inputs x (default: the last batch seen)."""
        self._check_edge(l, i, j)
        detail = self.forward_detail(self._data_or_cache(x))
        return detail["acts"][l][:, i].copy(), detail["edges"][l][:, j, i].copy()

    def suggest_symbolic(self, l, i, j, lib=None, topk=5, weight_simple=0.8, x=None):
        """Rank library functions c*f(a*t + b) + d by how well they match edge (l, i, j)."""
        t, phi = self.edge_samples(l, i, j, x)
        return suggest_symbolic(t, phi, lib=lib, topk=topk, weight_simple=weight_simple)

    def fix_symbolic(self, l, i, j, name, fit_params=True, x=None):
        """Snap edge (l, i, j) to the library function `name`: its spline is switched off and
        c*f(a*t + b) + d is used instead, with (a, b, c, d) fitted to the edge's current outputs
        (or 1, 0, 1, 0 when fit_params is False). Returns the R^2 of the fit (None if not fitted)."""
        self._check_edge(l, i, j)
        if name not in SYMBOLIC_LIB:
            raise ValueError(f"Unknown symbolic function {name!r}; choose one of {', '.join(SYMBOLIC_LIB)}.")
        r2 = None
        params = (1.0, 0.0, 1.0, 0.0)
        if fit_params:
            best = self.suggest_symbolic(l, i, j, lib=[name], topk=1, x=x)[0]
            params, r2 = (best.a, best.b, best.c, best.d), best.r2
        layer = self.layers[l]
        layer.affine[i, j] = params
        layer.symbolic_codes[i, j] = SYMBOLIC_LIB[name].code
        layer.symbolic_mask[i, j] = 1.0
        layer.mask[i, j] = 0.0
        return r2

    def unfix_symbolic(self, l, i, j):
        """Give edge (l, i, j) its spline back."""
        self._check_edge(l, i, j)
        self.layers[l].symbolic_mask[i, j] = 0.0
        self.layers[l].mask[i, j] = 1.0

    def auto_symbolic(self, lib=None, r2_threshold=0.0, weight_simple=0.8, x=None):
        """Snap every live spline edge to its best-ranked library function whose fit reaches
        r2_threshold. Returns [(l, i, j, name, r2)] of the edges snapped."""
        x = self._data_or_cache(x)
        snapped = []
        for l, layer in enumerate(self.layers):
            for i in range(layer.in_dim):
                for j in range(layer.out_dim):
                    if layer.mask[i, j] == 0.0:
                        continue
                    best = self.suggest_symbolic(l, i, j, lib=lib, topk=1, weight_simple=weight_simple, x=x)[0]
                    if best.r2 < r2_threshold:
                        continue
                    layer.affine[i, j] = (best.a, best.b, best.c, best.d)
                    layer.symbolic_codes[i, j] = SYMBOLIC_LIB[best.name].code
                    layer.symbolic_mask[i, j] = 1.0
                    layer.mask[i, j] = 0.0
                    snapped.append((l, i, j, best.name, best.r2))
        return snapped

    def symbolic_formula(self):
        """The formula the network computes once every live edge is snapped (SymbolicExpression)."""
        nodes = [Sum.var(i) for i in range(self.width[0])]
        for l, layer in enumerate(self.layers):
            out = [Sum(0.0, ()) for _ in range(layer.out_dim)]
            for i in range(layer.in_dim):
                for j in range(layer.out_dim):
                    if layer.symbolic_mask[i, j] != 0.0:
                        a, b, c, d = layer.affine[i, j] * np.array([1.0, 1.0, layer.symbolic_mask[i, j],
                                                                    layer.symbolic_mask[i, j]])
                        out[j] = out[j].plus(nodes[i].apply(LIB_NAMES[layer.symbolic_codes[i, j]], a, b, c, d))
                    elif layer.mask[i, j] != 0.0:
                        raise ValueError(f"Edge (l={l}, i={i}, j={j}) is still a spline; snap every live edge "
                                         f"first (fix_symbolic or auto_symbolic).")
            nodes = out
        return SymbolicExpression(nodes, self.width[0])

    def refine(self, new_grid, x=None):
        """A new KAN with new_grid intervals per edge (grid extension), keeping every function.

        Each input's new knots subdivide its current range: knot j of the new_grid + 1 sits at
        fraction j * G / new_grid of the way along the old knot sequence, so when new_grid is a
        multiple of G every old interval is split evenly. The k extension knots on each side are
        kept as they were, so the old spline (zero beyond them) lies in the new spline space and is
        re-expressed exactly; otherwise as closely as least squares allows. The fit uses a dense
        sweep of the extended grid plus the layer's inputs from x. scale_base, scale_sp and mask
        are copied.
        """
        G, k, _ = bspline.check_grid_args(new_grid, self.k, self.grid_range)
        new = self.copy()
        h = None if x is None else check_x(x, self.width[0])
        for l, layer in enumerate(self.layers):
            old = layer.grid
            where = np.linspace(0.0, layer.G, G + 1)
            inner = np.stack([np.interp(where, np.arange(layer.G + 1), row[k:k + layer.G + 1]) for row in old])
            grid = np.concatenate([old[:, :k], inner, old[:, old.shape[1] - k:]], axis=1)
            n_sweep = max(400, 8 * (G + 2 * k))
            u = np.linspace(0.0, 1.0, n_sweep, endpoint=False)[:, None]
            pts = old[:, 0][None, :] + (old[:, -1] - old[:, 0])[None, :] * u
            if h is not None:
                pts = np.concatenate([pts, h], axis=0)
            nl = new.layers[l]
            nl.grid = grid
            nl.coef = bspline.fit_coef(pts, layer.spline_values(pts), grid, k)
            if h is not None:
                h = layer.forward(h)
        return new

    # -- serialisation ----------------------------------------------------------------------
    def to_dict(self):
        return {
            "kind": "kan",
            "width": list(self.width),
            "k": self.k,
            "grid_range": list(self.grid_range),
            "base": self.base,
            "grid_eps": self.grid_eps,
            "layers": [dict({name: getattr(layer, name).tolist() for name in ARRAY_FIELDS},
                            symbolic_fun=layer.symbolic_fun) for layer in self.layers],
        }

    @classmethod
    def from_dict(cls, d):
        """Rebuild a KAN from to_dict() output, checking every shape and number."""
        if not isinstance(d, dict) or d.get("kind") != "kan":
            raise ValueError("This is not a KAN model file: expected a JSON object with \"kind\": \"kan\".")
        for key in ("width", "k", "layers", "base"):
            if key not in d:
                raise ValueError(f"The model file is missing the field {key!r}.")
        width = check_width(d["width"])
        k = d["k"]
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= bspline.MAX_K:
            raise ValueError(f"The model's spline order k must be a whole number from 0 to {bspline.MAX_K}; got {k!r}.")
        if d["base"] not in BASE_KINDS:
            raise ValueError(f"The model's base must be one of {', '.join(BASE_KINDS)}; got {d['base']!r}.")
        layers_in = d["layers"]
        if not isinstance(layers_in, list) or len(layers_in) != len(width) - 1:
            raise ValueError(f"A model of width {width} needs {len(width) - 1} layers; the file has "
                             f"{len(layers_in) if isinstance(layers_in, list) else 'none'}.")
        grid_range = d.get("grid_range", [-1.0, 1.0])
        model = cls(width, grid=1, k=k, grid_range=grid_range, base=d["base"], grid_eps=d.get("grid_eps", 0.02))
        for l, (raw, n_in, n_out) in enumerate(zip(layers_in, width[:-1], width[1:])):
            if not isinstance(raw, dict):
                raise ValueError(f"Layer {l} of the model file is not an object.")
            arrays = {}
            for name in ARRAY_FIELDS:
                if name not in raw and name in OPTIONAL_FIELDS:
                    continue
                if name not in raw:
                    raise ValueError(f"Layer {l} of the model file is missing {name!r}.")
                try:
                    arr = np.asarray(raw[name], dtype=np.float64)
                except (TypeError, ValueError):
                    raise ValueError(f"Layer {l} field {name!r} must be a nested list of numbers.") from None
                if not np.all(np.isfinite(arr)):
                    raise ValueError(f"Layer {l} field {name!r} contains NaN or infinite numbers; only finite numbers are allowed.")
                arrays[name] = arr
            n_knots = arrays["grid"].shape[-1] if arrays["grid"].ndim == 2 else -1
            G = n_knots - 2 * k - 1
            expected = {"grid": (n_in, n_knots), "coef": (n_in, n_out, G + k), "scale_base": (n_in, n_out),
                        "scale_sp": (n_in, n_out), "mask": (n_in, n_out), "symbolic_mask": (n_in, n_out),
                        "affine": (n_in, n_out, 4)}
            expected = {name: shape for name, shape in expected.items() if name in arrays}
            if G < 1 or G > bspline.MAX_GRID:
                raise ValueError(f"Layer {l}'s grid must have shape ({n_in}, G + 2k + 1) with G from 1 to "
                                 f"{bspline.MAX_GRID}; got {arrays['grid'].shape}.")
            for name, shape in expected.items():
                if arrays[name].shape != shape:
                    raise ValueError(f"Layer {l} field {name!r} must have shape {shape}; got {arrays[name].shape}.")
            if np.any(np.diff(arrays["grid"], axis=1) <= 0):
                raise ValueError(f"Layer {l}'s grid knots must increase strictly along each row.")
            layer = model.layers[l]
            for name, arr in arrays.items():
                setattr(layer, name, np.ascontiguousarray(arr))
            names = raw.get("symbolic_fun", [["0"] * n_out for _ in range(n_in)])
            if (not isinstance(names, list) or len(names) != n_in
                    or any(not isinstance(row, list) or len(row) != n_out for row in names)):
                raise ValueError(f"Layer {l} field 'symbolic_fun' must be a {n_in} x {n_out} list of function names.")
            unknown = {name for row in names for name in row if name not in SYMBOLIC_LIB}
            if unknown:
                raise ValueError(f"Layer {l} names unknown symbolic functions {sorted(map(str, unknown))}; "
                                 f"allowed: {', '.join(SYMBOLIC_LIB)}.")
            layer.symbolic_codes = np.array([[SYMBOLIC_LIB[name].code for name in row] for row in names],
                                            dtype=np.int64).reshape(n_in, n_out)
        return model
