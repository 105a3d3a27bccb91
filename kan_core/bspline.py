"""B-splines on extended knot grids: grids, basis values (dense and sparse), derivatives, fits.

Layouts follow pykan:
    grid  (n_in, G + 2k + 1)   G+1 knots over the range, extended by k knots on each side
    basis (N, n_in, G + k)     B_m(x[n, i]) for the G + k basis functions of order k
    coef  (n_in, n_out, G + k)

The basis is Cox-de Boor on half-open knot spans [t_s, t_{s+1}). Inside the original range it sums
to 1, in the k extension spans on each side it fades out, and beyond the extended grid it is 0.
Only the k+1 basis functions that are non-zero on an input's span are ever computed, so the cost
per input does not depend on G.
"""
import functools

import numpy as np
from numba import njit

MAX_GRID = 1000
MAX_K = 10


def check_grid_args(G, k, grid_range=(-1.0, 1.0)):
    """Raise ValueError with a readable sentence if G, k or the range are not allowed."""
    if isinstance(G, bool) or not isinstance(G, (int, np.integer)) or not 1 <= G <= MAX_GRID:
        raise ValueError(f"The grid size G must be a whole number from 1 to {MAX_GRID}; got {G!r}.")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= MAX_K:
        raise ValueError(f"The spline order k must be a whole number from 0 to {MAX_K}; got {k!r}.")
    lo, hi = _range_pair(grid_range)
    return int(G), int(k), (lo, hi)


def _range_pair(grid_range):
    try:
        lo, hi = (float(v) for v in grid_range)
    except (TypeError, ValueError):
        raise ValueError(f"The grid range must be two numbers (low, high); got {grid_range!r}.") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"The grid range must be two finite numbers with low < high; got ({lo}, {hi}).")
    return lo, hi


def extend_grid(knots, k):
    """Extend knots (n_in, G+1) by k knots on each side at each row's end spacing -> (n_in, G+2k+1)."""
    knots = np.atleast_2d(np.asarray(knots, dtype=np.float64))
    if k == 0:
        return knots.copy()
    h_lo = (knots[:, 1] - knots[:, 0])[:, None]
    h_hi = (knots[:, -1] - knots[:, -2])[:, None]
    steps = np.arange(1, k + 1, dtype=np.float64)[None, :]
    left = knots[:, :1] - h_lo * steps[:, ::-1]
    right = knots[:, -1:] + h_hi * steps
    return np.concatenate([left, knots, right], axis=1)


def make_grid(n_in, G, k, grid_range=(-1.0, 1.0)):
    """Uniform extended grid (n_in, G+2k+1): G intervals over grid_range plus k knots each side."""
    G, k, (lo, hi) = check_grid_args(G, k, grid_range)
    h = (hi - lo) / G
    row = lo + h * np.arange(-k, G + k + 1, dtype=np.float64)
    row[k] = lo
    row[k + G] = hi
    return np.tile(row, (n_in, 1))


def grid_from_samples(x, G, k, grid_eps=0.02):
    """Knots that follow the data: a blend of uniform and quantile knots, extended by k each side.

    x (N, n_in) -> grid (n_in, G+2k+1). grid_eps=1 gives uniform knots over [min, max] of each
    column, grid_eps=0 puts the G+1 knots at equally spaced sample quantiles.
    """
    x = np.asarray(x, dtype=np.float64)
    xs = np.sort(x, axis=0)
    N = xs.shape[0]
    idx = np.linspace(0, N - 1, G + 1).round().astype(np.int64)
    adaptive = xs[idx].T
    lo, hi = xs[0], xs[-1]
    span = np.where(hi > lo, hi - lo, 1.0)
    hi = lo + span
    uniform = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, G + 1)[None, :]
    knots = grid_eps * uniform + (1.0 - grid_eps) * adaptive
    # Quantile knots can coincide (repeated samples); keep them strictly increasing.
    min_gap = 1e-6 * span[:, None] / G
    for j in range(1, G + 1):
        knots[:, j] = np.maximum(knots[:, j], knots[:, j - 1] + min_gap[:, 0])
    return extend_grid(knots, k)


# ----------------------------------------------------------------------------------------------
# numba kernels


@njit(cache=True, nogil=True)
def is_uniform_row(t, rtol=1e-9):
    """True when the knots of one row are equally spaced (to rtol of the spacing)."""
    h = (t[-1] - t[0]) / (t.shape[0] - 1)
    tol = rtol * h
    for i in range(t.shape[0]):
        if abs(t[i] - (t[0] + i * h)) > tol:
            return False
    return True


@njit(cache=True, nogil=True)
def _knot(t, i):
    """Knot i of row t, continuing the end spacing past either end (only the recursion's knots of
    basis functions that do not exist reach past the ends, and their values are discarded)."""
    m = t.shape[0]
    if i < 0:
        return t[0] + i * (t[1] - t[0])
    if i >= m:
        return t[m - 1] + (i - m + 1) * (t[m - 1] - t[m - 2])
    return t[i]


@njit(cache=True, nogil=True)
def span_polys(t, k, Q):
    """Polynomial form of the basis on every span of any increasing knots: Q (m-1, k+1, k+1) with
    B_{s-k+r}(x) = sum_p Q[s, r, p] u**p for x in span s, u = (x - t_s) / (t_{s+1} - t_s).

    It runs the Cox-de Boor recursion once per span on polynomials in u (the factors x - t_i are
    linear in u), so the per-sample work on moved grids is a search plus Horner's rule, as on
    uniform grids. Costs O(G k^3) per knot row.
    """
    m = t.shape[0]
    vals = np.empty((k + 1, k + 1))
    temp = np.empty(k + 1)
    saved = np.empty(k + 1)
    for s in range(m - 1):
        h = t[s + 1] - t[s]
        vals[:, :] = 0.0
        vals[0, 0] = 1.0
        for j in range(1, k + 1):
            saved[:] = 0.0
            for r in range(j):
                inv_denom = 1.0 / (_knot(t, s + r + 1) - _knot(t, s + 1 - j + r))
                for p in range(k + 1):
                    temp[p] = vals[r, p] * inv_denom
                # right factor t_{s+r+1} - x = a_r - h u; left factor x - t_{s+1-j+r} = a_l + h u
                a_r = _knot(t, s + r + 1) - t[s]
                a_l = t[s] - _knot(t, s + 1 - j + r)
                for p in range(k, -1, -1):
                    up = temp[p - 1] if p > 0 else 0.0
                    vals[r, p] = saved[p] + a_r * temp[p] - h * up
                    saved[p] = a_l * temp[p] + h * up
            for p in range(k + 1):
                vals[j, p] = saved[p]
        Q[s] = vals


@functools.lru_cache(maxsize=None)
def uniform_basis_poly(k):
    """Polynomial form of the basis on a uniform grid: P (k+1, k+1) with
    B_{s-k+r}(x) = sum_p P[r, p] u**p, where u = (x - t_s) / h is the position inside span s.

    Built once per k by running the Cox-de Boor recursion on polynomials (on equal spacing every
    denominator is j*h), so the kernels evaluate the basis with (k+1)^2 multiply-adds.
    """
    poly = np.polynomial.polynomial
    vals = [np.array([1.0])]
    for j in range(1, k + 1):
        new = []
        saved = np.array([0.0])
        for r in range(j):
            temp = vals[r] / j
            new.append(poly.polyadd(saved, poly.polymul(temp, [r + 1.0, -1.0])))
            saved = poly.polymul(temp, [j - r - 1.0, 1.0])
        new.append(saved)
        vals = new
    P = np.zeros((k + 1, k + 1))
    for r, coeffs in enumerate(vals):
        P[r, :len(coeffs)] = coeffs
    P.flags.writeable = False
    return P


@njit(cache=True, nogil=True, inline="always")
def cubic_basis(u):
    """The four cubic B-splines that are non-zero on a span of equal knots, at position u in [0, 1)."""
    v = 1.0 - u
    u2 = u * u
    return (v * v * v * (1.0 / 6.0), (3.0 * u2 * u - 6.0 * u2 + 4.0) * (1.0 / 6.0),
            (-3.0 * u2 * u + 3.0 * u2 + 3.0 * u + 1.0) * (1.0 / 6.0), u2 * u * (1.0 / 6.0))


@njit(cache=True, nogil=True, inline="always")
def cubic_basis_du(u):
    """Their derivatives with respect to u (times 1/h for the derivative in x)."""
    v = 1.0 - u
    u2 = u * u
    return -0.5 * v * v, 1.5 * u2 - 2.0 * u, -1.5 * u2 + u + 0.5, 0.5 * u2


@njit(cache=True, nogil=True)
def basis_column(t, xs, k, P, span, V, dV, want_d=True):
    """Local basis of one input column, the hot loop of every pass.

    t (G+2k+1,) knots, xs (N,) inputs. Writes span[n] (-1 outside the extended grid) and, for
    r = 0..k, V[n, r] = B_{span-k+r}(xs[n]) and, when want_d, dV[n, r] its x-derivative (0
    outside). Indices span-k+r below 0 or above G+k-1 name no basis function and must be skipped
    by the caller. Per sample the work is an O(1) span lookup and Horner's rule in the position u
    inside the span (on a uniform row P = uniform_basis_poly(k) serves every span, and the cubic
    has a closed form), so it costs the same for any G.

    On equally spaced knots the span is the integer part of the scaled input, corrected by one
    when rounding lands next to a stored knot (the stored knots decide). On knots moved by
    update_grid each span's polynomials in u = (x - t_s) / (t_{s+1} - t_s) come from span_polys,
    and the span from a table of equal cells over the grid, each knowing the span at its start,
    so a short walk finds it in O(1).

    The per-sample loop calls no helper that takes arrays: numba counts references to every
    array handed to a function, two atomic updates per call, which cost more than the Horner
    arithmetic itself.
    """
    m = t.shape[0]
    lo_t = t[0]
    hi_t = t[m - 1]
    inv_h = np.empty(m - 1)
    for s in range(m - 1):
        inv_h[s] = 1.0 / (t[s + 1] - t[s])
    uniform = is_uniform_row(t)
    if uniform:
        Q = P.reshape((1, k + 1, k + 1))
        n_cells = m - 1
    else:
        Q = np.empty((m - 1, k + 1, k + 1))
        span_polys(t, k, Q)
        n_cells = 2 * (m - 1)
    inv_cell = n_cells / (hi_t - lo_t)
    first = np.empty(0 if uniform else n_cells, dtype=np.int64)
    s = 0
    for c in range(first.shape[0]):
        while s < m - 2 and t[s + 1] <= lo_t + c / inv_cell:
            s += 1
        first[c] = s
    for n in range(xs.shape[0]):
        x = xs[n]
        if not (x >= lo_t and x < hi_t):
            span[n] = -1
            for r in range(k + 1):
                V[n, r] = 0.0
                dV[n, r] = 0.0
            continue
        if uniform:
            s = min(int((x - lo_t) * inv_cell), m - 2)
            if s > 0 and x < t[s]:
                s -= 1
            elif s < m - 2 and x >= t[s + 1]:
                s += 1
            q = 0
        else:
            s = first[min(int((x - lo_t) * inv_cell), n_cells - 1)]
            while s > 0 and x < t[s]:
                s -= 1
            while s < m - 2 and x >= t[s + 1]:
                s += 1
            q = s
        span[n] = s
        ih = inv_h[s]
        u = (x - t[s]) * ih
        if uniform and k == 3:  # the default order in closed form: about three times as fast as Horner
            V[n, 0], V[n, 1], V[n, 2], V[n, 3] = cubic_basis(u)
            if want_d:
                d0, d1, d2, d3 = cubic_basis_du(u)
                dV[n, 0], dV[n, 1], dV[n, 2], dV[n, 3] = d0 * ih, d1 * ih, d2 * ih, d3 * ih
            continue
        if k == 3:  # the cubic on moved knots: Horner's rule written out, the same operations
            for r in range(4):
                q1, q2, q3 = Q[q, r, 1], Q[q, r, 2], Q[q, r, 3]
                V[n, r] = ((q3 * u + q2) * u + q1) * u + Q[q, r, 0]
                if want_d:
                    dV[n, r] = ((3.0 * q3 * u + 2.0 * q2) * u + q1) * ih
            continue
        for r in range(k + 1):  # Horner's rule for value and derivative
            acc = Q[q, r, k]
            dacc = 0.0
            for p in range(k - 1, -1, -1):
                dacc = dacc * u + (p + 1) * Q[q, r, p + 1]
                acc = acc * u + Q[q, r, p]
            V[n, r] = acc
            if want_d:
                dV[n, r] = dacc * ih


@njit(cache=True, nogil=True)
def _normal_equations(xcol, t, k, P, Y, AtA, AtY):
    """Accumulate B^T B (nb, nb) and B^T Y (nb, n_out) for one input column, touching only the
    k+1 non-zero basis values per sample."""
    nb = AtA.shape[0]
    N = xcol.shape[0]
    span = np.empty(N, dtype=np.int64)
    V = np.empty((N, k + 1))
    dV = np.empty((N, k + 1))
    basis_column(t, xcol, k, P, span, V, dV)
    for n in range(N):
        s = span[n]
        if s < 0:
            continue
        for r in range(k + 1):
            a = s - k + r
            if a < 0 or a >= nb:
                continue
            for q in range(k + 1):
                b = s - k + q
                if 0 <= b < nb:
                    AtA[a, b] += V[n, r] * V[n, q]
            for j in range(Y.shape[1]):
                AtY[a, j] += V[n, r] * Y[n, j]


# ----------------------------------------------------------------------------------------------
# numpy-facing API


def _check_x_grid(x, grid, k):
    x = np.asarray(x, dtype=np.float64)
    grid = np.asarray(grid, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or grid.ndim != 2 or x.shape[1] != grid.shape[0]:
        raise ValueError(
            f"x must have shape (N, n_in) matching grid (n_in, G+2k+1); got x {x.shape}, grid {grid.shape}.")
    if grid.shape[1] < k + 2:
        raise ValueError(f"A grid for order k={k} needs at least k+2 = {k + 2} knots per row; got {grid.shape[1]}.")
    return np.ascontiguousarray(x), np.ascontiguousarray(grid)


def basis_sparse(x, grid, k):
    """Sparse basis: span (N, n_in) int64, vals and dvals (N, n_in, k+1).

    vals[n, i, r] is B_{span-k+r}(x[n, i]); span is -1 where x is outside the extended grid.
    """
    x, grid = _check_x_grid(x, grid, k)
    N, n_in = x.shape
    span = np.empty((n_in, N), dtype=np.int64)
    vals = np.empty((n_in, N, k + 1))
    dvals = np.empty((n_in, N, k + 1))
    P = uniform_basis_poly(k)
    for i in range(n_in):
        basis_column(grid[i], np.ascontiguousarray(x[:, i]), k, P, span[i], vals[i], dvals[i])
    return span.T, vals.transpose(1, 0, 2), dvals.transpose(1, 0, 2)


def _densify(span, sparse, k, nb):
    N, n_in = span.shape
    dense = np.zeros((N, n_in, nb))
    n_idx, i_idx = np.nonzero(span >= 0)
    for r in range(k + 1):
        m = span[n_idx, i_idx] - k + r
        ok = (m >= 0) & (m < nb)
        dense[n_idx[ok], i_idx[ok], m[ok]] = sparse[n_idx[ok], i_idx[ok], r]
    return dense


def basis(x, grid, k):
    """Dense basis values (N, n_in, G+k) for plotting and fitting."""
    span, vals, _ = basis_sparse(x, grid, k)
    return _densify(span, vals, k, grid.shape[1] - k - 1)


def basis_derivative(x, grid, k):
    """Dense x-derivatives of the basis (N, n_in, G+k)."""
    span, _, dvals = basis_sparse(x, grid, k)
    return _densify(span, dvals, k, grid.shape[1] - k - 1)


def spline(x, grid, coef, k):
    """Sum of coef * basis: x (N, n_in), coef (n_in, n_out, G+k) -> (N, n_in, n_out)."""
    return np.einsum("nim,iom->nio", basis(x, grid, k), coef)


def fit_coef(x, y, grid, k, ridge=1e-8):
    """Least-squares coefficients so that spline(x) matches y, per input column.

    x (N, n_in), y (N, n_in, n_out) -> coef (n_in, n_out, G+k). A ridge of `ridge` times the mean
    diagonal of B^T B keeps rank-deficient systems (more basis functions than samples) stable.
    """
    x, grid = _check_x_grid(x, grid, k)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 2:
        y = y[:, :, None]
    if y.shape[:2] != x.shape:
        raise ValueError(f"y must have shape (N, n_in, n_out) with (N, n_in) = {x.shape}; got {y.shape}.")
    nb = grid.shape[1] - k - 1
    n_in, n_out = x.shape[1], y.shape[2]
    coef = np.zeros((n_in, n_out, nb))
    for i in range(n_in):
        AtA = np.zeros((nb, nb))
        AtY = np.zeros((nb, n_out))
        _normal_equations(x[:, i].copy(), grid[i].copy(), k, uniform_basis_poly(k), np.ascontiguousarray(y[:, i, :]), AtA, AtY)
        scale = max(np.trace(AtA) / nb, 1e-300)
        AtA[np.diag_indices(nb)] += ridge * scale
        coef[i] = np.linalg.solve(AtA, AtY).T
    return coef
