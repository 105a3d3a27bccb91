"""numba kernels for one KAN layer: basis cache, forward (optionally every edge's output), backward.

An edge (input i -> output j) computes
    phi_ij(x) = mask_ij * (scale_base_ij * base(x) + scale_sp_ij * sum_m coef_ijm B_m(x))
and output j is the sum of its incoming edges. Base kinds: 0 silu, 1 identity, 2 zero.

The basis and base values of each (sample, input) are computed once by `layer_basis` and shared
by the forward and the backward pass, which then only gather k+1 coefficients per edge.
"""
import math

import numpy as np
from numba import njit

from .bspline import basis_column
from .symbolic import symbolic_value, symbolic_value_deriv

BASE_KINDS = {"silu": 0, "identity": 1, "zero": 2}


@njit(cache=True, nogil=True)
def base_fn(x, kind):
    """The residual base function and its derivative at x."""
    if kind == 0:
        sig = 1.0 / (1.0 + math.exp(-x))
        return x * sig, sig * (1.0 + x * (1.0 - sig))
    if kind == 1:
        return x, 1.0
    return 0.0, 0.0


@njit(cache=True, nogil=True)
def layer_basis(XT, grid, k, P, base_kind, span, V, dV, B, dB):
    """Per input i and sample n (inputs given transposed, XT (n_in, N)): span[i, n], the k+1 local
    basis values V[i, n] and derivatives dV[i, n] (see bspline.basis_column), and the base
    function B[i, n] and its derivative dB[i, n]."""
    n_in, N = XT.shape
    for i in range(n_in):
        basis_column(grid[i], XT[i], k, P, span[i], V[i], dV[i])
        for n in range(N):
            B[i, n], dB[i, n] = base_fn(XT[i, n], base_kind)


@njit(cache=True, nogil=True, inline="always")
def _local_dot(c, Vn, s, k):
    """sum_r c[s-k+r] * Vn[r] over the local basis functions that exist (c of length G+k)."""
    nb = c.shape[0]
    if k <= s < nb:
        if k == 3:  # the default order, unrolled: about twice as fast as the loop
            return c[s - 3] * Vn[0] + c[s - 2] * Vn[1] + c[s - 1] * Vn[2] + c[s] * Vn[3]
        acc = 0.0
        for r in range(k + 1):
            acc += c[s - k + r] * Vn[r]
        return acc
    acc = 0.0
    if s >= 0:
        for r in range(k + 1):
            m = s - k + r
            if 0 <= m < nb:
                acc += c[m] * Vn[r]
    return acc


@njit(cache=True, nogil=True)
def layer_forward(span, V, B, coef, scale_base, scale_sp, mask, Y, E):
    """Y (N, n_out) = sum of edge outputs. When E has N rows it also receives every edge's
    output, E (N, n_out, n_in). Caches are laid out (n_in, N, ...) as from layer_basis."""
    n_in, N = span.shape
    n_out = coef.shape[1]
    k = V.shape[2] - 1
    want_edges = E.shape[0] == N
    Y[:] = 0.0
    if want_edges:
        E[:] = 0.0
    for i in range(n_in):
        Vi = V[i]
        for j in range(n_out):
            mk = mask[i, j]
            if mk == 0.0:
                continue
            c = coef[i, j]
            wb = mk * scale_base[i, j]
            ws = mk * scale_sp[i, j]
            for n in range(N):
                phi = wb * B[i, n] + ws * _local_dot(c, Vi[n], span[i, n], k)
                Y[n, j] += phi
                if want_edges:
                    E[n, j, i] = phi


@njit(cache=True, nogil=True)
def layer_backward(span, V, dV, B, dB, dY, dE, coef, scale_base, scale_sp, mask,
                   dX, dcoef, dscale_base, dscale_sp):
    """Gradients of a scalar loss given dL/dY (N, n_out) and, when dE has N rows, an extra
    per-edge dL/dphi (N, n_out, n_in). Writes dX (N, n_in) and the parameter gradients."""
    n_in, N = span.shape
    n_out, nb = coef.shape[1], coef.shape[2]
    k = V.shape[2] - 1
    has_dE = dE.shape[0] == N
    dcoef[:] = 0.0
    dscale_base[:] = 0.0
    dscale_sp[:] = 0.0
    dX[:] = 0.0
    for i in range(n_in):
        Vi = V[i]
        dVi = dV[i]
        for j in range(n_out):
            mk = mask[i, j]
            if mk == 0.0:
                continue
            c = coef[i, j]
            dc = dcoef[i, j]
            sb = scale_base[i, j]
            ssp = scale_sp[i, j]
            acc_b = 0.0
            acc_sp = 0.0
            for n in range(N):
                g = dY[n, j]
                if has_dE:
                    g += dE[n, j, i]
                gm = g * mk
                s = span[i, n]
                w = gm * ssp
                if k == 3 and 3 <= s < nb:  # the default order, unrolled
                    c0, c1, c2, c3 = c[s - 3], c[s - 2], c[s - 1], c[s]
                    v0, v1, v2, v3 = Vi[n, 0], Vi[n, 1], Vi[n, 2], Vi[n, 3]
                    sp = c0 * v0 + c1 * v1 + c2 * v2 + c3 * v3
                    dsp = c0 * dVi[n, 0] + c1 * dVi[n, 1] + c2 * dVi[n, 2] + c3 * dVi[n, 3]
                    dc[s - 3] += w * v0
                    dc[s - 2] += w * v1
                    dc[s - 1] += w * v2
                    dc[s] += w * v3
                else:
                    sp = 0.0
                    dsp = 0.0
                    if s >= 0:
                        for r in range(k + 1):
                            m = s - k + r
                            if 0 <= m < nb:
                                sp += c[m] * Vi[n, r]
                                dsp += c[m] * dVi[n, r]
                                dc[m] += w * Vi[n, r]
                acc_b += gm * B[i, n]
                acc_sp += gm * sp
                dX[n, i] += gm * (sb * dB[i, n] + ssp * dsp)
            dscale_base[i, j] = acc_b
            dscale_sp[i, j] = acc_sp


@njit(cache=True, nogil=True)
def symbolic_forward(X, codes, affine, symbolic_mask, Y, E):
    """Add every snapped edge's c*f(a*x + b) + d (library function `codes[i, j]`) to Y (N, n_out),
    and to E (N, n_out, n_in) when E has N rows."""
    N, n_in = X.shape
    n_out = codes.shape[1]
    want_edges = E.shape[0] == N
    for i in range(n_in):
        for j in range(n_out):
            sm = symbolic_mask[i, j]
            if sm == 0.0:
                continue
            a, b, c, d = affine[i, j, 0], affine[i, j, 1], affine[i, j, 2], affine[i, j, 3]
            code = codes[i, j]
            for n in range(N):
                phi = sm * (c * symbolic_value(code, a * X[n, i] + b) + d)
                Y[n, j] += phi
                if want_edges:
                    E[n, j, i] += phi


@njit(cache=True, nogil=True)
def symbolic_backward(X, dY, dE, codes, affine, symbolic_mask, dX, daffine):
    """Gradients through the snapped edges: writes daffine (n_in, n_out, 4) for (a, b, c, d) and
    adds to dX (N, n_in), which the spline backward pass has already filled."""
    N, n_in = X.shape
    n_out = codes.shape[1]
    has_dE = dE.shape[0] == N
    daffine[:] = 0.0
    for i in range(n_in):
        for j in range(n_out):
            sm = symbolic_mask[i, j]
            if sm == 0.0:
                continue
            a, b, c = affine[i, j, 0], affine[i, j, 1], affine[i, j, 2]
            code = codes[i, j]
            ga = 0.0
            gb = 0.0
            gc = 0.0
            gd = 0.0
            for n in range(N):
                g = dY[n, j]
                if has_dE:
                    g += dE[n, j, i]
                g *= sm
                x = X[n, i]
                f, df = symbolic_value_deriv(code, a * x + b)
                gdf = g * c * df
                ga += gdf * x
                gb += gdf
                gc += g * f
                gd += g
                dX[n, i] += gdf * a
            daffine[i, j, 0] = ga
            daffine[i, j, 1] = gb
            daffine[i, j, 2] = gc
            daffine[i, j, 3] = gd
