"""numba kernels for one KAN layer: basis cache, forward (optionally every edge's output), backward.

An edge (input i -> output j) computes
    phi_ij(x) = mask_ij * (scale_base_ij * base(x) + scale_sp_ij * sum_m coef_ijm B_m(x))
and output j is the sum of its incoming edges. Base kinds: 0 silu, 1 identity, 2 zero.

The basis and base values of each (sample, input) are computed once by `layer_basis` and shared
by the forward and the backward pass, which then only gather k+1 coefficients per edge.
"""
import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from .bspline import basis_column, cubic_basis, cubic_basis_du, is_uniform_row
from .symbolic import symbolic_value, symbolic_value_deriv

BASE_KINDS = {"silu": 0, "identity": 1, "zero": 2}

# Offsets for coefficient indices. The passes index coefficient rows with unsigned spans: a signed
# index makes numba test every access for a negative (wrap-around) index, which costs about a
# third of a gather loop's time; spans are never negative.
_0 = np.uint64(0)
_1 = np.uint64(1)
_2 = np.uint64(2)
_3 = np.uint64(3)


_EXPONENT = np.uint64(0x7FF0000000000000)  # the exponent bits of a float64, all set only in NaN and inf


@njit(cache=True, nogil=True)
def all_finite(a):
    """True when no entry of the float64 array is NaN or infinite. Counts the entries whose
    exponent bits are all set, an integer sum the compiler vectorises (a loop that stops at the
    first bad value cannot be)."""
    bits = np.ascontiguousarray(a).reshape(a.size).view(np.uint64)
    bad = 0
    for n in range(bits.shape[0]):
        bad += (bits[n] & _EXPONENT) == _EXPONENT
    return bad == 0


@njit(cache=True, nogil=True)
def base_fn(x, kind):
    """The residual base function and its derivative at x."""
    if kind == 0:
        sig = 1.0 / (1.0 + math.exp(-x))
        return x * sig, sig * (1.0 + x * (1.0 - sig))
    if kind == 1:
        return x, 1.0
    return 0.0, 0.0


_LN2_HI = 6.93147180369123816490e-01  # ln 2 split in two so k * ln 2 is exact to double precision
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e+00


@intrinsic
def _float_from_bits(typingctx, bits):
    """The float64 whose bit pattern is the int64 `bits` (a register move)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@njit(cache=True, nogil=True, error_model="numpy")
def silu_column(xs, B, dB, want_d):
    """B[n] = silu(xs[n]) = xs[n] * sigmoid(xs[n]) to within 4 ulp and, with want_d, dB[n] = its
    derivative sig * (1 + x (1 - sig)) to within 1e-14 (that formula cancels near its zero). One
    loop without branches or library calls, which the compiler vectorises (error_model="numpy":
    numba's test of every division for a zero divisor, which would stop that, is left out; the
    divisor here is never below 0.8).

    sigmoid(x) = 1 / (1 + exp(z)) with z = -x = q ln 2 + r, q = round(z / ln 2), |r| <= ln(2)/2,
    and exp(r) by its [6/6] Pade approximant E(r^2) + r O(r^2) over E(r^2) - r O(r^2) (error
    below 1e-18 on that range), so that
        sigmoid(x) = (E - rO) / ((E - rO) + 2**q (E + rO))
    takes a single division. 2**q is assembled in the exponent bits; z is clamped to |z| <= 708:
    beyond x = 708 the sigmoid is 1 to rounding, and below x = -708 silu and its derivative come
    out below 1e-300 in size rather than as the exact, still tinier, numbers.
    """
    N = xs.shape[0]
    if want_d:
        for n in range(N):
            x = xs[n]
            sig = _sigmoid(x)
            B[n] = x * sig
            dB[n] = sig * (1.0 + x * (1.0 - sig))
    else:
        for n in range(N):
            x = xs[n]
            B[n] = x * _sigmoid(x)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _sigmoid(x):
    """1 / (1 + exp(-x)) as silu_column explains."""
    z = min(max(-x, -708.0), 708.0)
    q = math.floor(z * _INV_LN2 + 0.5)
    r = (z - q * _LN2_HI) - q * _LN2_LO
    r2 = r * r
    e = ((r2 * (1.0 / 665280.0) + 1.0 / 792.0) * r2 + 5.0 / 44.0) * r2 + 1.0
    o = ((r2 * (1.0 / 15840.0) + 1.0 / 66.0) * r2 + 0.5) * r
    num = e - o
    return num / (num + _float_from_bits((np.int64(q) + 1023) << 52) * (e + o))


@njit(cache=True, nogil=True)
def base_column(xs, kind, B, dB, want_d):
    """B[n], dB[n] = the base function and its derivative at xs[n] for one input column (dB only
    with want_d for silu)."""
    if kind == 0:
        silu_column(xs, B, dB, want_d)
        return
    for n in range(xs.shape[0]):
        B[n], dB[n] = base_fn(xs[n], kind)


@njit(cache=True, nogil=True)
def layer_basis(XT, grid, k, P, base_kind, span, V, dV, B, dB, want_d=True):
    """Everything the passes need about the inputs XT (n_in, N), laid out so that every inner loop
    runs over contiguous samples:
        span (n_in, N)        the knot span s of each input, 0 where it is outside the extended grid
        V, dV (n_in, k+1, N)  the k+1 basis values on that span, B_{s-k+r}, and their x-derivatives
                              (0 outside the extended grid)
        B, dB (n_in, N)       the base function and its derivative.
    With the span, basis function s-k+r sits at index s+r of a coefficient row padded with k zeros
    at each end (pad_coef), so the passes never test whether an index exists. Without want_d the
    derivatives are not written (the first layer's backward pass needs no gradient with respect
    to its inputs)."""
    n_in, N = XT.shape
    U = np.empty(N)
    W = np.empty(N)
    for i in range(n_in):
        t = grid[i]
        if k == 3 and is_uniform_row(t, 1e-12):  # knots equal to t_0 + s*h to rounding
            _cubic_uniform_column(t, XT[i], span[i], V[i], dV[i], want_d, U, W)
        else:
            basis_column(t, XT[i], k, P, span[i], V[i].T, dV[i].T, want_d)
            for n in range(N):
                if span[i, n] < 0:  # outside the extended grid: V is 0 there, any span will do
                    span[i, n] = 0
        base_column(XT[i], base_kind, B[i], dB[i], want_d)


@njit(cache=True, nogil=True)
def _cubic_uniform_column(t, xs, span, V, dV, want_d, U, W):
    """The cubic basis on equally spaced knots for one input column, written without branches or
    table look-ups so the compiler vectorises it: with f = (x - t_0) / h, the span is the integer
    part of f and the position inside it u = f - span. (At a knot the cubic basis is continuous,
    so which side rounding picks changes nothing.) Samples outside the extended grid get zeros.
    Three short loops (span and u; values; derivatives) rather than one: each touches few enough
    arrays for the vectoriser's overlap checks. U, W: scratch of N floats."""
    m = t.shape[0]
    lo_t = t[0]
    hi_t = t[m - 1]
    inv_h = (m - 1) / (hi_t - lo_t)
    top = float(m - 2)
    N = xs.shape[0]
    for n in range(N):
        x = xs[n]
        w = 1.0 if (x >= lo_t and x < hi_t) else 0.0
        f = min(max((x - lo_t) * inv_h, 0.0), top + 1.0)
        sf = min(math.floor(f), top)
        U[n] = f - sf
        W[n] = w
        span[n] = int(sf * w)
    V0, V1, V2, V3 = V[0], V[1], V[2], V[3]
    for n in range(N):
        b0, b1, b2, b3 = cubic_basis(U[n])
        w = W[n]
        V0[n] = w * b0
        V1[n] = w * b1
        V2[n] = w * b2
        V3[n] = w * b3
    if want_d:
        D0, D1, D2, D3 = dV[0], dV[1], dV[2], dV[3]
        for n in range(N):
            d0, d1, d2, d3 = cubic_basis_du(U[n])
            wi = W[n] * inv_h
            D0[n] = d0 * wi
            D1[n] = d1 * wi
            D2[n] = d2 * wi
            D3[n] = d3 * wi


@njit(cache=True, nogil=True)
def pad_coef(coef, k):
    """Coefficient rows with k zeros at each end: (n_in, n_out, G + 3k)."""
    n_in, n_out, nb = coef.shape
    out = np.zeros((n_in, n_out, nb + 2 * k))
    out[:, :, k:k + nb] = coef
    return out


@njit(cache=True, nogil=True)
def layer_forward(span, V, dV, B, cpad, scale_base, scale_sp, mask, YT, E, SP, DSP):
    """YT (n_out, N) = the sum over inputs of every edge's output. Caches as from layer_basis, cpad
    from pad_coef. Optional outputs, written when their last axis has N entries: E (N, n_out,
    n_in) every edge's output (for figures and the sparsity penalty); SP (n_in, n_out, N) every
    edge's bare spline value (in training, scratch for the node sums); DSP its x-derivative,
    which the backward pass then reads instead of gathering the coefficients again."""
    n_in, N = span.shape
    n_out = cpad.shape[1]
    k = V.shape[1] - 1
    want_edges = E.shape[0] == N
    keep_sp = SP.shape[2] == N
    keep_dsp = DSP.shape[2] == N
    YT[:] = 0.0
    if want_edges:
        E[:] = 0.0
    YT_f = YT.reshape(YT.size)
    SP_f = SP.reshape(SP.size)
    DSP_f = DSP.reshape(DSP.size)
    cpad_f = cpad.reshape(cpad.size)
    row = np.uint64(cpad.shape[2])
    for i in range(n_in):
        sp_i = span[i]
        B_i = B[i]
        V_i = V[i]
        dV_i = dV[i]
        # the rows of the cubic case, taken once per input (each view costs reference counting);
        # any valid rows for other k, where they go unused
        V0, V1, V2, V3 = V_i[0], V_i[min(1, k)], V_i[min(2, k)], V_i[min(3, k)]
        D0, D1, D2, D3 = dV_i[0], dV_i[min(1, k)], dV_i[min(2, k)], dV_i[min(3, k)]
        for j in range(n_out):
            mk = mask[i, j]
            if mk == 0.0:
                continue
            wb = mk * scale_base[i, j]
            ws = mk * scale_sp[i, j]
            if k == 3 and keep_sp and not want_edges:
                # Training, the common case, gets loops of its own, free of per-sample branches and
                # of per-edge array views (each view costs two atomic reference-count updates):
                # offsets into flat arrays, unsigned so numba adds no wrap-around test.
                co = np.uint64(i * n_out + j) * row
                so = np.uint64((i * n_out + j) * N)
                yo = np.uint64(j * N)
                if keep_dsp:
                    for n in range(N):
                        s = co + np.uint64(sp_i[n])
                        c0, c1, c2, c3 = cpad_f[s], cpad_f[s + _1], cpad_f[s + _2], cpad_f[s + _3]
                        SP_f[so + np.uint64(n)] = c0 * V0[n] + c1 * V1[n] + c2 * V2[n] + c3 * V3[n]
                        DSP_f[so + np.uint64(n)] = c0 * D0[n] + c1 * D1[n] + c2 * D2[n] + c3 * D3[n]
                else:
                    for n in range(N):
                        s = co + np.uint64(sp_i[n])
                        SP_f[so + np.uint64(n)] = (cpad_f[s] * V0[n] + cpad_f[s + _1] * V1[n] + cpad_f[s + _2] * V2[n]
                                                   + cpad_f[s + _3] * V3[n])
                # the node sum in a loop of its own, which the compiler vectorises
                for n in range(N):
                    YT_f[yo + np.uint64(n)] += wb * B_i[n] + ws * SP_f[so + np.uint64(n)]
                continue
            c = cpad[i, j]
            y = YT[j]
            if k == 3 and not (keep_sp or keep_dsp or want_edges):  # a plain evaluation
                for n in range(N):
                    s = np.uint64(sp_i[n])
                    y[n] += wb * B_i[n] + ws * (c[s] * V0[n] + c[s + _1] * V1[n] + c[s + _2] * V2[n]
                                                + c[s + _3] * V3[n])
            elif k == 3:
                for n in range(N):
                    s = np.uint64(sp_i[n])
                    c0, c1, c2, c3 = c[s], c[s + _1], c[s + _2], c[s + _3]
                    spv = c0 * V0[n] + c1 * V1[n] + c2 * V2[n] + c3 * V3[n]
                    phi = wb * B_i[n] + ws * spv
                    y[n] += phi
                    if keep_sp:
                        SP[i, j, n] = spv
                    if keep_dsp:
                        DSP[i, j, n] = c0 * D0[n] + c1 * D1[n] + c2 * D2[n] + c3 * D3[n]
                    if want_edges:
                        E[n, j, i] = phi
            else:
                for n in range(N):
                    s = np.uint64(sp_i[n])
                    spv = 0.0
                    dspv = 0.0
                    for r in range(k + 1):
                        spv += c[s + np.uint64(r)] * V_i[r, n]
                        if keep_dsp:
                            dspv += c[s + np.uint64(r)] * dV_i[r, n]
                    phi = wb * B_i[n] + ws * spv
                    y[n] += phi
                    if keep_sp:
                        SP[i, j, n] = spv
                    if keep_dsp:
                        DSP[i, j, n] = dspv
                    if want_edges:
                        E[n, j, i] = phi


@njit(cache=True, nogil=True)
def dot(a, b):
    """sum_n a[n] * b[n] over a's length: dot_at with no offset."""
    return dot_at(a, b, _0, a.shape[0])


@njit(cache=True, nogil=True, inline="always")
def dot_at(a, b, offset, N):
    """sum_n a[n] * b[offset + n] for n < N, in four interleaved partial sums: a fixed order, so the
    same result on every machine, and four independent chains, so it runs at the speed of a
    vectorised sum. The offset (unsigned) lets the passes read a row of a flat array without
    making a view of it."""
    s0 = s1 = s2 = s3 = 0.0
    top = N - N % 4
    for n in range(0, top, 4):
        m = offset + np.uint64(n)
        s0 += a[n] * b[m]
        s1 += a[n + 1] * b[m + _1]
        s2 += a[n + 2] * b[m + _2]
        s3 += a[n + 3] * b[m + _3]
    for n in range(top, N):
        s0 += a[n] * b[offset + np.uint64(n)]
    return (s0 + s1) + (s2 + s3)


@njit(cache=True, nogil=True, inline="always")
def _scatter_cubic(e, n, span, work, V0, V1, V2, V3):
    """Add sample n's weight times its four cubic basis values to the coefficient row e at its
    span."""
    s = np.uint64(span[n])
    w = work[n]
    e[s] += w * V0[n]
    e[s + _1] += w * V1[n]
    e[s + _2] += w * V2[n]
    e[s + _3] += w * V3[n]


@njit(cache=True, nogil=True)
def layer_backward(span, V, B, dB, cpad, DSP, dYT, dE, scale_base, scale_sp, mask, want_dx,
                   dXT, dcpad, dscale_base, dscale_sp, work):
    """Gradients of a scalar loss given dL/dY as dYT (n_out, N) and, when dE has N rows, an extra
    per-edge dL/dphi (N, n_out, n_in), from the caches of layer_basis, the padded coefficients
    cpad and, when want_dx, the spline derivatives DSP kept by layer_forward. Writes the parameter
    gradients (dcpad padded like pad_coef's rows) and, when want_dx, dL/dX as dXT (n_in, N).
    work: scratch of N floats.

    Per edge, with w_n = dL/dphi at sample n, the pass scatters A_m = sum_n w_n B_m(x_n) once and
    takes both gradients that need the spline from it: dL/dcoef_m = scale_sp * A_m, and
    dL/dscale_sp = sum_n w_n spline(x_n) = sum_m coef_m A_m, a sum over the coefficient row instead
    of over the samples.

    Per edge the rows of the flat arrays are reached by unsigned offsets rather than views (each
    view costs two atomic reference-count updates, which add up over many small edges)."""
    n_in, N = span.shape
    n_out = dcpad.shape[1]
    row = dcpad.shape[2]
    k = V.shape[1] - 1
    has_dE = dE.shape[0] == N
    dcpad[:] = 0.0
    dscale_base[:] = 0.0
    dscale_sp[:] = 0.0
    if want_dx:
        dXT[:] = 0.0
    dY_f = dYT.reshape(dYT.size)
    DSP_f = DSP.reshape(DSP.size)
    dc_f = dcpad.reshape(dcpad.size)
    c_f = cpad.reshape(cpad.size)
    # four partial sums of the coefficient gradient, over samples n = 0, 1, 2, 3 (mod 4): the
    # scatter's read-modify-writes of neighbouring samples then seldom wait for each other
    acc = np.empty((4, row))
    acc_f = acc.reshape(acc.size)
    e0, e1, e2, e3 = acc[0], acc[1], acc[2], acc[3]
    top = N - N % 4
    for i in range(n_in):
        sp_i = span[i]
        B_i = B[i]
        dB_i = dB[i]
        V_i = V[i]
        dx = dXT[i]
        V0, V1, V2, V3 = V_i[0], V_i[min(1, k)], V_i[min(2, k)], V_i[min(3, k)]
        for j in range(n_out):
            mk = mask[i, j]
            if mk == 0.0:
                continue
            sb = scale_base[i, j]
            ssp = scale_sp[i, j]
            go = np.uint64(j * N)
            so = np.uint64((i * n_out + j) * N)
            co = (i * n_out + j) * row
            # Pass 1 (streams, vectorised): the base scale's gradient, dL/dx, and each sample's
            # weight w_n in work.
            if has_dE:
                for n in range(N):
                    work[n] = (dY_f[go + np.uint64(n)] + dE[n, j, i]) * mk
            else:
                for n in range(N):
                    work[n] = dY_f[go + np.uint64(n)] * mk
            dscale_base[i, j] = dot_at(work, B_i, _0, N)
            if want_dx:
                for n in range(N):
                    dx[n] += work[n] * (sb * dB_i[n] + ssp * DSP_f[so + np.uint64(n)])
            # Pass 2 (a scatter, so scalar): A_m into the gradient's row of dcpad.
            if k == 3:
                for m in range(acc_f.shape[0]):
                    acc_f[m] = 0.0
                for n in range(0, top, 4):
                    _scatter_cubic(e0, n, sp_i, work, V0, V1, V2, V3)
                    _scatter_cubic(e1, n + 1, sp_i, work, V0, V1, V2, V3)
                    _scatter_cubic(e2, n + 2, sp_i, work, V0, V1, V2, V3)
                    _scatter_cubic(e3, n + 3, sp_i, work, V0, V1, V2, V3)
                for n in range(top, N):
                    _scatter_cubic(e0, n, sp_i, work, V0, V1, V2, V3)
                for m in range(row):
                    dc_f[co + m] = (e0[m] + e1[m]) + (e2[m] + e3[m])
            else:
                for n in range(N):
                    s = np.uint64(co + sp_i[n])
                    w = work[n]
                    for r in range(k + 1):
                        dc_f[s + np.uint64(r)] += w * V_i[r, n]
            # Pass 3, over the row: the spline scale's gradient, and A scaled into dL/dcoef.
            acc_sp = 0.0
            for m in range(co, co + row):
                a = dc_f[m]
                acc_sp += c_f[m] * a
                dc_f[m] = ssp * a
            dscale_sp[i, j] = acc_sp


@njit(cache=True, nogil=True)
def symbolic_forward(XT, codes, affine, symbolic_mask, YT, E):
    """Add every snapped edge's c*f(a*x + b) + d (library function `codes[i, j]`) to YT (n_out, N),
    and to E (N, n_out, n_in) when E has N rows. Inputs as XT (n_in, N)."""
    n_in, N = XT.shape
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
                phi = sm * (c * symbolic_value(code, a * XT[i, n] + b) + d)
                YT[j, n] += phi
                if want_edges:
                    E[n, j, i] += phi


@njit(cache=True, nogil=True)
def symbolic_backward(XT, dYT, dE, codes, affine, symbolic_mask, want_dx, dXT, daffine):
    """Gradients through the snapped edges: writes daffine (n_in, n_out, 4) for (a, b, c, d) and,
    when want_dx, adds to dXT (n_in, N), which the spline backward pass has already filled."""
    n_in, N = XT.shape
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
                g = dYT[j, n]
                if has_dE:
                    g += dE[n, j, i]
                g *= sm
                x = XT[i, n]
                f, df = symbolic_value_deriv(code, a * x + b)
                gdf = g * c * df
                ga += gdf * x
                gb += gdf
                gc += g * f
                gd += g
                if want_dx:
                    dXT[i, n] += gdf * a
            daffine[i, j, 0] = ga
            daffine[i, j, 1] = gb
            daffine[i, j, 2] = gc
            daffine[i, j, 3] = gd


@njit(cache=True, nogil=True)
def network_loss_grad(x, y, k, P, base_kind, grids, coefs, scale_bases, scale_sps, masks,
                      symbolic_masks, codes, affines, chunk):
    """The whole training pass of a KAN in one call: forward, residuals and the gradient of the
    mean squared error, with no regulariser.

    x (N, n0), y (N, nL); per layer l the arrays of that layer in tuples (grids[l], coefs[l],
    ...). Samples run in chunks of `chunk` so the caches stay small. Returns the sum of squared
    residuals (prediction - target), chunk by chunk as `residual_squares`, and the gradient of the
    mean as a flat vector ordered as KAN.get_params: per layer coef, scale_base, scale_sp, then
    (a, b, c, d) of each snapped edge in row-major edge order.

    The kernels and their order are those of the layer-by-layer path (KANLayer.forward_t and
    backward_t), so both give the same numbers bit for bit.
    """
    N, n0 = x.shape
    L = len(coefs)
    nL = y.shape[1]
    empty3 = np.empty((0, 0, 0))
    empty2 = np.empty((0, 0))
    sizes = np.empty(L + 1, dtype=np.int64)
    sizes[0] = 0
    cpads = []
    for l in range(L):
        n_in, n_out, nb = coefs[l].shape
        n_snapped = 0
        for v in symbolic_masks[l].flat:
            if v != 0.0:
                n_snapped += 1
        sizes[l + 1] = sizes[l] + n_in * n_out * (nb + 2) + 4 * n_snapped
        cpads.append(pad_coef(coefs[l], k))
    grad = np.zeros(sizes[L])
    total = 0.0
    scale = 2.0 / (N * nL)
    for start in range(0, N, chunk):
        C = min(chunk, N - start)
        h = np.empty((n0, C))
        for n in range(C):
            for i in range(n0):
                h[i, n] = x[start + n, i]
        # each layer's inputs and caches, kept for the backward pass
        inputs = [h] + [empty2 for _ in range(L)]
        spans = [np.empty((0, 0), dtype=np.int64) for _ in range(L)]
        Vs = [empty3 for _ in range(L)]
        Bs = [empty2 for _ in range(L)]
        dBs = [empty2 for _ in range(L)]
        DSPs = [empty3 for _ in range(L)]
        for l in range(L):
            n_in, n_out, _ = coefs[l].shape
            want_d = l > 0
            span = np.empty((n_in, C), dtype=np.int64)
            V = np.empty((n_in, k + 1, C))
            dV = np.empty_like(V)
            B = np.empty((n_in, C))
            dB = np.empty_like(B)
            layer_basis(h, grids[l], k, P, base_kind, span, V, dV, B, dB, want_d)
            SP = np.empty((n_in, n_out, C))
            DSP = np.empty((n_in, n_out, C)) if want_d else empty3
            YT = np.empty((n_out, C))
            layer_forward(span, V, dV, B, cpads[l], scale_bases[l], scale_sps[l], masks[l], YT, empty3, SP, DSP)
            if _any(symbolic_masks[l]):
                symbolic_forward(h, codes[l], affines[l], symbolic_masks[l], YT, empty3)
            spans[l], Vs[l], Bs[l], dBs[l], DSPs[l] = span, V, B, dB, DSP
            h = YT
            inputs[l + 1] = h
        res = np.empty((nL, C))
        d = np.empty((nL, C))
        for j in range(nL):
            for n in range(C):
                diff = h[j, n] - y[start + n, j]
                res[j, n] = diff
                d[j, n] = scale * diff
        total += residual_squares(res)
        work = np.empty(C)
        for l in range(L - 1, -1, -1):
            n_in, n_out, nb = coefs[l].shape
            want_dx = l > 0
            dXT = np.empty((n_in, C)) if want_dx else empty2
            dcpad = np.empty_like(cpads[l])
            dsb = np.empty((n_in, n_out))
            dss = np.empty((n_in, n_out))
            layer_backward(spans[l], Vs[l], Bs[l], dBs[l], cpads[l], DSPs[l], d, empty3, scale_bases[l],
                           scale_sps[l], masks[l], want_dx, dXT, dcpad, dsb, dss, work)
            pos = sizes[l]
            for i in range(n_in):
                for j in range(n_out):
                    for m in range(nb):
                        grad[pos] += dcpad[i, j, k + m]
                        pos += 1
            for i in range(n_in):
                for j in range(n_out):
                    grad[pos] += dsb[i, j]
                    pos += 1
            for i in range(n_in):
                for j in range(n_out):
                    grad[pos] += dss[i, j]
                    pos += 1
            if _any(symbolic_masks[l]):
                daffine = np.zeros((n_in, n_out, 4))
                symbolic_backward(inputs[l], d, empty3, codes[l], affines[l], symbolic_masks[l], want_dx, dXT,
                                  daffine)
                for i in range(n_in):
                    for j in range(n_out):
                        if symbolic_masks[l][i, j] != 0.0:
                            for r in range(4):
                                grad[pos] += daffine[i, j, r]
                                pos += 1
            d = dXT
    return total, grad


@njit(cache=True, nogil=True)
def residual_squares(res):
    """The sum of squares of a C-contiguous array of residuals, in the fixed order of `dot`."""
    flat = res.reshape(res.size)
    return dot(flat, flat)


@njit(cache=True, nogil=True)
def _any(a):
    for v in a.flat:
        if v != 0.0:
            return True
    return False
