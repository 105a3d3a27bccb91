"""Symbolic snapping: a library of 1-D functions, and `suggest_symbolic`, which fits
y ≈ c·f(a·x + b) + d for each of them and ranks the fits the pykan way.

The library (`SYMBOLIC_LIB`, names and complexities as in pykan) gives every function three forms:
a vectorised numpy `fn` for plotting and formulas, an integer `code` that numba kernels dispatch on
(`symbolic_value(code, t)`, `symbolic_value_deriv(code, t)` -> (f, f'), as a KAN edge needs to
train a, b, c, d by gradient), and text / LaTeX templates for c·f(a·x + b) + d.

How a fit is made (`suggest_symbolic`), per library function f:
  1. x and y are rescaled to [-1, 1]. A fit is affine-invariant, so nothing is lost, and one search
     grid suits data of any scale. a_range and b_range bound (a, b) for the rescaled x, which is
     pykan's meaning whenever x already spans [-1, 1].
  2. Coarse-to-fine grid search over (a, b) on a subsample of ~160 points spread over the x range:
     each (a, b) is scored by the R² of the best (c, d), the closed-form least-squares line of y on
     f(a·x + b). An (a, b) whose a·x + b leaves f's domain at any sample, or makes |f| exceed
     F_MAX there (a pole, an overflow), is excluded.
  3. Exact least squares for (c, d) on all samples, Levenberg-Marquardt on all four with (a, b)
     kept in the box, and a last exact least squares for (c, d).
Special cases, all exact: 'x' is plain linear regression; 'sgn' places its jump by scanning every
split between sorted samples (its derivative is 0, so no gradient could move it); '0' is the zero
function, c = 0 and d = mean(y), R² = 0 (what pykan's regression on f = 0 gives).
Fits are reported in one canonical form: a >= 0 for even and odd f, b within one period for
sin, cos and tan, and a = 1, b = 0 for 'x', a = 1 for 'sgn', b = 0 for 'exp'.

Conventions for degenerate data (nothing the input checks accept makes a ranking NaN or inf):
  - R² = 1 - SSE/SST, clipped to [0, 1] (pykan uses the squared correlation, the same number for
    the least-squares (c, d)).
  - Constant y: every function fits exactly with c = 0, d = y, so all get R² = 1 and the simplest
    wins ('0' when it is in the library).
  - A function with no admissible (a, b) in the box (only narrow ranges do that, e.g. log with
    b_range below 0 and a_range = (0, 0); or the subsample's best puts a pole right at a sample
    outside the subsample), or whose fit overflows float64 when mapped back to the original x and
    y, stays in the ranking as "explains nothing": R² = 0, a = 0, b = 1, c = 0, d = mean(y)
    (f(1) is finite for every library function, so `predict` stays finite).

Near-ties between equivalent forms are decided by a hair's difference in R²: cos is a shifted sin
(same complexity), and cos(a·x + b) with a small a approaches a parabola.
"""
import math
import statistics
import time
import types
from dataclasses import dataclass
from typing import Callable

import numpy as np
from numba import njit

F_MAX = 1e8          # |f(a·x + b)| above this at any sample rules out that (a, b)
N_SUBSAMPLE = 160    # samples used by the (a, b) grid search
N_COARSE = 41        # grid points over a_range and over b_range in the first search level
N_ZOOM = 9           # grid points per axis in each zoom level (each zoom shrinks the step 4x)
ZOOM_LEVELS = 4
LM_MAX_EVALS = 40    # passes over the data in Levenberg-Marquardt
R2_EPS = 1e-5        # pykan's log2(1 + R2_EPS - R²) accuracy term


# ----------------------------------------------------------------------------------------------
# numba forms, dispatched on the library code (the row number in _ROWS below)


@njit(cache=True, nogil=True)
def symbolic_value(code, t):
    """f(t) for library function `code`; nan outside its domain, ±inf at a pole."""
    if code == 0:
        return t
    if code == 1:
        return t * t
    if code == 2:
        return t * t * t
    if code == 3:
        t2 = t * t
        return t2 * t2
    if code == 4:
        return 1.0 / t if t != 0.0 else math.copysign(math.inf, t)
    if code == 5:
        t2 = t * t
        return 1.0 / t2 if t2 != 0.0 else math.inf  # t2 also underflows to 0 for tiny t
    if code == 6:
        return math.sqrt(t) if t >= 0.0 else math.nan
    if code == 7:
        return math.exp(t)
    if code == 8:
        if t > 0.0:
            return math.log(t)
        return -math.inf if t == 0.0 else math.nan
    if code == 9:
        return math.sin(t)
    if code == 10:
        return math.cos(t)
    if code == 11:
        return math.tan(t)
    if code == 12:
        return math.tanh(t)
    if code == 13:
        return abs(t)
    if code == 14:
        if t > 0.0:
            return 1.0
        if t < 0.0:
            return -1.0
        return t  # 0 stays 0, nan stays nan
    if code == 15:
        return math.asin(t) if abs(t) <= 1.0 else math.nan
    if code == 16:
        return math.atan(t)
    if code == 17:
        return math.exp(-t * t)
    return 0.0


@njit(cache=True, nogil=True)
def symbolic_value_deriv(code, t):
    """(f(t), f'(t)) for library function `code`; f' is ±inf where f has a vertical tangent
    (sqrt at 0, arcsin at ±1) and nan where f is."""
    if code == 0:
        return t, 1.0
    if code == 1:
        return t * t, 2.0 * t
    if code == 2:
        return t * t * t, 3.0 * t * t
    if code == 3:
        t2 = t * t
        return t2 * t2, 4.0 * t2 * t
    if code == 4:
        if t == 0.0:
            return math.copysign(math.inf, t), -math.inf
        f = 1.0 / t
        return f, -f * f
    if code == 5:
        f = 1.0 / t if t != 0.0 else math.copysign(math.inf, t)
        return f * f, -2.0 * f * f * f
    if code == 6:
        if t > 0.0:
            s = math.sqrt(t)
            return s, 0.5 / s
        return (0.0, math.inf) if t == 0.0 else (math.nan, math.nan)
    if code == 7:
        e = math.exp(t)
        return e, e
    if code == 8:
        if t > 0.0:
            return math.log(t), 1.0 / t
        return (-math.inf, math.inf) if t == 0.0 else (math.nan, math.nan)
    if code == 9:
        return math.sin(t), math.cos(t)
    if code == 10:
        return math.cos(t), -math.sin(t)
    if code == 11:
        f = math.tan(t)
        return f, 1.0 + f * f
    if code == 12:
        f = math.tanh(t)
        return f, 1.0 - f * f
    if code == 13:
        if t > 0.0:
            return t, 1.0
        if t < 0.0:
            return -t, -1.0
        return abs(t), 0.0 * t  # the kink: 0 (nan for nan)
    if code == 14:
        if t > 0.0:
            return 1.0, 0.0
        if t < 0.0:
            return -1.0, 0.0
        return t, 0.0 * t
    if code == 15:
        if abs(t) < 1.0:
            return math.asin(t), 1.0 / math.sqrt((1.0 - t) * (1.0 + t))
        return (math.asin(t), math.inf) if abs(t) == 1.0 else (math.nan, math.nan)
    if code == 16:
        return math.atan(t), 1.0 / (1.0 + t * t)
    if code == 17:
        g = math.exp(-t * t)
        return g, -2.0 * t * g
    return 0.0, 0.0


@njit(cache=True, nogil=True)
def _values_and_derivs(code, t, f, df):
    for i in range(t.shape[0]):
        f[i], df[i] = symbolic_value_deriv(code, t[i])


# ----------------------------------------------------------------------------------------------
# the library


@dataclass(frozen=True)
class SymbolicFunction:
    """One library entry.

    `text` and `latex` are templates of f(u) for the inner argument u = a·x + b: "{u}" stands for
    u as written, "{U}" for u wrapped in parentheses unless it is a lone variable.
    `parity` is +1 for even f, -1 for odd f, 0 otherwise: fits of even and odd functions are
    reported with a >= 0 (the sign of a is then absorbed by b, and by c for odd f).
    `period` is f's period (0 if none): fits report b in [-period/2, period/2).
    """
    name: str
    code: int
    complexity: int
    parity: int
    period: float
    fn: Callable[[np.ndarray], np.ndarray]
    text: str
    latex: str


def _safe(f):
    """Vectorised numpy form that never raises or warns: float64 in, float64 out."""
    def fn(t):
        with np.errstate(all="ignore"):
            return f(np.asarray(t, dtype=np.float64))
    return fn


_ROWS = (
    # name, pykan complexity, parity, period, numpy form, text template, LaTeX template
    ("x", 1, -1, 0, lambda t: t + 0.0, "{U}", "{U}"),
    ("x^2", 2, 1, 0, np.square, "{U}**2", "{U}^{2}"),
    ("x^3", 3, -1, 0, lambda t: t ** 3, "{U}**3", "{U}^{3}"),
    ("x^4", 3, 1, 0, lambda t: t ** 4, "{U}**4", "{U}^{4}"),
    ("1/x", 2, -1, 0, lambda t: 1.0 / t, "1/{U}", r"\frac{1}{{u}}"),
    ("1/x^2", 2, 1, 0, lambda t: 1.0 / (t * t), "1/{U}**2", r"\frac{1}{{U}^{2}}"),
    ("sqrt", 2, 0, 0, np.sqrt, "sqrt({u})", r"\sqrt{{u}}"),
    ("exp", 2, 0, 0, np.exp, "exp({u})", r"e^{{u}}"),
    ("log", 2, 0, 0, np.log, "log({u})", r"\ln\left({u}\right)"),
    ("sin", 2, -1, 2 * math.pi, np.sin, "sin({u})", r"\sin\left({u}\right)"),
    ("cos", 2, 1, 2 * math.pi, np.cos, "cos({u})", r"\cos\left({u}\right)"),
    ("tan", 3, -1, math.pi, np.tan, "tan({u})", r"\tan\left({u}\right)"),
    ("tanh", 3, -1, 0, np.tanh, "tanh({u})", r"\tanh\left({u}\right)"),
    ("abs", 3, 1, 0, np.abs, "abs({u})", r"\left|{u}\right|"),
    ("sgn", 3, -1, 0, np.sign, "sign({u})", r"\operatorname{sgn}\left({u}\right)"),
    ("arcsin", 4, -1, 0, np.arcsin, "arcsin({u})", r"\arcsin\left({u}\right)"),
    ("arctan", 4, -1, 0, np.arctan, "arctan({u})", r"\arctan\left({u}\right)"),
    ("gaussian", 3, 1, 0, lambda t: np.exp(-t * t), "exp(-{U}**2)", r"e^{-{U}^{2}}"),
    ("0", 0, 0, 0, np.zeros_like, "0", "0"),
)

SYMBOLIC_LIB = types.MappingProxyType({
    name: SymbolicFunction(name, code, complexity, parity, float(period), _safe(f), text, latex)
    for code, (name, complexity, parity, period, f, text, latex) in enumerate(_ROWS)
})


def fn_and_deriv(name, t):
    """f(t) and f'(t) of library function `name` as float64 arrays shaped like t (numba form)."""
    if name not in SYMBOLIC_LIB:
        raise ValueError(f"Unknown symbolic function {name!r}; choose one of {', '.join(SYMBOLIC_LIB)}.")
    t = np.asarray(t, dtype=np.float64)
    flat = np.ascontiguousarray(t.ravel())
    f = np.empty_like(flat)
    df = np.empty_like(flat)
    _values_and_derivs(SYMBOLIC_LIB[name].code, flat, f, df)
    return f.reshape(t.shape), df.reshape(t.shape)


# ----------------------------------------------------------------------------------------------
# rendering c·f(a·x + b) + d


def _number(v, digits, latex):
    r = round(float(v), digits)
    if r == 0:
        return "0"
    s = str(int(r)) if r.is_integer() and abs(r) < 1e15 else repr(r)
    if latex and "e" in s:
        mantissa, exponent = s.split("e")
        s = rf"{mantissa} \cdot 10^{{{int(exponent)}}}"
    return s


def _plus(head, v, digits, latex):
    """head + v with v's sign folded in; v is left out when it rounds to 0."""
    s = _number(v, digits, latex)
    if s == "0":
        return head
    if not head:
        return s
    return f"{head} - {s[1:]}" if s.startswith("-") else f"{head} + {s}"


def _times(k, term, digits, latex):
    """k·term: '' when k rounds to 0, no written factor when it rounds to ±1."""
    s = _number(k, digits, latex)
    if s == "0":
        return ""
    sign, mag = ("-", s[1:]) if s.startswith("-") else ("", s)
    if term.startswith("1/"):
        return f"{s}/{term[2:]}"
    if term.startswith(r"\frac{1}"):
        return sign + rf"\frac{{{mag}}}" + term[len(r"\frac{1}"):]
    if mag == "1":
        return sign + term
    return f"{s} {term}" if latex else f"{s}*{term}"


def symbolic_text(name, a, b, c, d, var="x", digits=4, latex=False):
    """c·f(a·var + b) + d as plain text (parseable by kan_core.formula) or LaTeX, constants rounded
    to `digits` decimals (pykan's ex_round); terms that round to 0 are left out."""
    fun = SYMBOLIC_LIB[name]
    u = _plus(_times(a, var, digits, latex), b, digits, latex) or "0"
    U = u if u == var else (rf"\left({u}\right)" if latex else f"({u})")
    template = fun.latex if latex else fun.text
    outer = "" if template == "0" else _times(c, template.replace("{u}", u).replace("{U}", U), digits, latex)
    return _plus(outer, d, digits, latex) or "0"


@dataclass(frozen=True)
class Candidate:
    """One fitted c·f(a·x + b) + d with its R², pykan complexity and ranking score (lower is better)."""
    name: str
    r2: float
    complexity: int
    a: float
    b: float
    c: float
    d: float
    score: float

    def predict(self, x):
        """c·f(a·x + b) + d at x (any shape), as float64."""
        with np.errstate(all="ignore"):
            return self.c * SYMBOLIC_LIB[self.name].fn(self.a * np.asarray(x, dtype=np.float64) + self.b) + self.d

    def text(self, var="x", digits=4):
        return symbolic_text(self.name, self.a, self.b, self.c, self.d, var, digits)

    def latex(self, var="x", digits=4):
        return symbolic_text(self.name, self.a, self.b, self.c, self.d, var, digits, latex=True)


def score(r2, complexity, weight_simple=0.8):
    """pykan's ranking score: weight_simple·complexity + (1 - weight_simple)·log2(1 + 1e-5 - R²)."""
    return weight_simple * complexity + (1.0 - weight_simple) * math.log2(1.0 + R2_EPS - r2)


# ----------------------------------------------------------------------------------------------
# fitting kernels; samples are rescaled to [-1, 1], y centred where noted


@njit(cache=True, nogil=True)
def _r2_at(code, alpha, beta, xs, ys, syy, buf):
    """R² of the least-squares line of ys (centred, syy = sum ys²) on f(alpha·xs + beta);
    -1 when that leaves f's domain or exceeds F_MAX at any sample."""
    n = xs.shape[0]
    s = 0.0
    for i in range(n):
        f = symbolic_value(code, alpha * xs[i] + beta)
        if not abs(f) <= F_MAX:  # also catches nan
            return -1.0
        buf[i] = f
        s += f
    mean = s / n
    sff = 0.0
    sfy = 0.0
    for i in range(n):
        df = buf[i] - mean
        sff += df * df
        sfy += df * ys[i]
    den = sff * syy
    # f constant to rounding: no line through it explains anything
    if den == 0.0 or sff <= 1e-20 * n * mean * mean:
        return 0.0
    return min(sfy * sfy / den, 1.0)


@njit(cache=True, nogil=True)
def _grid_search(code, xs, ys, box, a_lo, n_a, n_b):
    """Coarse grid of n_a by n_b points from (a_lo, b_lo) to (a_hi, b_hi), box = (a_min, a_hi, b_lo,
    b_hi) with a_min <= a_lo, then ZOOM_LEVELS zooms around the best point, never leaving the box.
    Returns (alpha, beta, r2); r2 = -1 when no grid point is admissible."""
    a_hi, b_lo, b_hi = box[1], box[2], box[3]
    yc = ys - ys.mean()
    syy = (yc * yc).sum()
    buf = np.empty(xs.shape[0])
    best_a, best_b, best = 0.0, 0.0, -2.0
    step_a = (a_hi - a_lo) / max(n_a - 1, 1)
    step_b = (b_hi - b_lo) / max(n_b - 1, 1)
    for i in range(n_a):
        alpha = a_lo + i * step_a
        for j in range(n_b):
            beta = b_lo + j * step_b
            r2 = _r2_at(code, alpha, beta, xs, yc, syy, buf)
            if r2 > best:
                best_a, best_b, best = alpha, beta, r2
    if best < 0.0:
        return best_a, best_b, -1.0
    half = (N_ZOOM - 1) // 2
    for _ in range(ZOOM_LEVELS):
        step_a /= half
        step_b /= half
        ca, cb = best_a, best_b
        for i in range(-half, half + 1):
            alpha = ca + i * step_a
            if not box[0] <= alpha <= box[1]:
                continue
            for j in range(-half, half + 1):
                beta = cb + j * step_b
                if not box[2] <= beta <= box[3]:
                    continue
                r2 = _r2_at(code, alpha, beta, xs, yc, syy, buf)
                if r2 > best:
                    best_a, best_b, best = alpha, beta, r2
    return best_a, best_b, best


@njit(cache=True, nogil=True)
def _line_fit(code, alpha, beta, xs, ys, buf):
    """Least-squares (c, d) of ys on f(alpha·xs + beta) and its SSE; SSE = inf if inadmissible."""
    n = xs.shape[0]
    s = 0.0
    for i in range(n):
        f = symbolic_value(code, alpha * xs[i] + beta)
        if not abs(f) <= F_MAX:
            return 0.0, 0.0, math.inf
        buf[i] = f
        s += f
    mf = s / n
    my = ys.mean()
    sff = 0.0
    sfy = 0.0
    for i in range(n):
        df = buf[i] - mf
        sff += df * df
        sfy += df * (ys[i] - my)
    c = 0.0 if (sff <= 1e-20 * n * mf * mf or sff == 0.0) else sfy / sff
    d = my - c * mf
    sse = 0.0
    for i in range(n):
        r = ys[i] - c * buf[i] - d
        sse += r * r
    return c, d, sse


@njit(cache=True, nogil=True)
def _lm_pass(code, p, xs, ys, JtJ, Jtr):
    """SSE of c·f(a·xs + b) + d at p = (a, b, c, d), filling JᵀJ and Jᵀr; inf if inadmissible."""
    a, b, c, d = p[0], p[1], p[2], p[3]
    JtJ[:, :] = 0.0
    Jtr[:] = 0.0
    J = np.empty(4)
    sse = 0.0
    for i in range(xs.shape[0]):
        f, df = symbolic_value_deriv(code, a * xs[i] + b)
        if not abs(f) <= F_MAX:
            return math.inf
        if not math.isfinite(df):  # a sample on a vertical tangent (sqrt at 0) steers nothing
            df = 0.0
        r = ys[i] - (c * f + d)
        sse += r * r
        J[0] = c * df * xs[i]
        J[1] = c * df
        J[2] = f
        J[3] = 1.0
        for k in range(4):
            Jtr[k] += J[k] * r
            for m in range(k + 1):
                JtJ[k, m] += J[k] * J[m]
    for k in range(4):
        for m in range(k):
            JtJ[m, k] = JtJ[k, m]
    return sse


@njit(cache=True, nogil=True)
def _solve_spd4(A, rhs, out):
    """Solve A out = rhs for a symmetric positive definite 4x4 A by Cholesky; False if it is not."""
    L = np.zeros((4, 4))
    for i in range(4):
        for j in range(i + 1):
            s = A[i, j]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            if i == j:
                if not s > 0.0:
                    return False
                L[i, i] = math.sqrt(s)
            else:
                L[i, j] = s / L[j, j]
    z = np.empty(4)
    for i in range(4):
        s = rhs[i]
        for k in range(i):
            s -= L[i, k] * z[k]
        z[i] = s / L[i, i]
    for i in range(3, -1, -1):
        s = z[i]
        for k in range(i + 1, 4):
            s -= L[k, i] * out[k]
        out[i] = s / L[i, i]
    for i in range(4):
        if not math.isfinite(out[i]):
            return False
    return True


@njit(cache=True, nogil=True)
def _levenberg_marquardt(code, p, xs, ys, sst, box):
    """Refine p = (a, b, c, d) in place to lower the SSE of c·f(a·xs + b) + d, keeping (a, b) in
    box = (a_lo, a_hi, b_lo, b_hi); returns the SSE."""
    JtJ = np.empty((4, 4))
    Jtr = np.empty(4)
    JtJ_t = np.empty((4, 4))
    Jtr_t = np.empty(4)
    A = np.empty((4, 4))
    rhs = np.empty(4)
    step = np.empty(4)
    trial = np.empty(4)
    sse = _lm_pass(code, p, xs, ys, JtJ, Jtr)
    if not math.isfinite(sse):
        return sse
    lam = 1e-3
    for _ in range(LM_MAX_EVALS):
        if sse <= 1e-28 * sst:
            break
        top = max(JtJ[0, 0], JtJ[1, 1], JtJ[2, 2], JtJ[3, 3])
        if not top > 0.0:
            break
        for k in range(4):
            for m in range(4):
                A[k, m] = JtJ[k, m]
            A[k, k] += lam * max(JtJ[k, k], 1e-12 * top)
            rhs[k] = Jtr[k]
        solved = _solve_spd4(A, rhs, step)
        # a or b on the edge of the box and the step pointing out: hold it there, solve for the rest
        pinned = False
        for k in range(2):
            if solved and ((p[k] <= box[2 * k] and step[k] < 0) or (p[k] >= box[2 * k + 1] and step[k] > 0)):
                A[k, :] = 0.0
                A[:, k] = 0.0
                A[k, k] = 1.0
                rhs[k] = 0.0
                pinned = True
        if pinned:
            solved = _solve_spd4(A, rhs, step)
        if not solved:
            lam *= 10.0
            if lam > 1e10:
                break
            continue
        for k in range(4):
            trial[k] = p[k] + step[k]
        trial[0] = min(max(trial[0], box[0]), box[1])
        trial[1] = min(max(trial[1], box[2]), box[3])
        sse_t = _lm_pass(code, trial, xs, ys, JtJ_t, Jtr_t)
        if sse_t < sse:
            done = sse - sse_t <= 1e-10 * sse
            p[:] = trial
            sse = sse_t
            JtJ[:, :] = JtJ_t
            Jtr[:] = Jtr_t
            lam = max(lam * 0.1, 1e-12)
            if done:
                break
        else:
            lam *= 10.0
            if lam > 1e10:
                break
    return sse


@njit(cache=True, nogil=True)
def _fit_affine(code, xs, ys, sub, box, a_lo, n_a, n_b):
    """Fit ys ≈ c·f(a·xs + b) + d with (a, b) in box = (a_lo, a_hi, b_lo, b_hi): grid search from
    a_lo (n_a by n_b points) on xs[sub], then least squares and LM on all samples.
    Returns (a, b, c, d, sse); sse = inf when no admissible (a, b) was found."""
    alpha, beta, r2 = _grid_search(code, xs[sub], ys[sub], box, a_lo, n_a, n_b)
    if r2 < 0.0:
        return 0.0, 1.0, 0.0, 0.0, math.inf
    buf = np.empty(xs.shape[0])
    c, d, sse = _line_fit(code, alpha, beta, xs, ys, buf)
    if not math.isfinite(sse):
        return 0.0, 1.0, 0.0, 0.0, math.inf
    yc = ys - ys.mean()
    p = np.array([alpha, beta, c, d])
    _levenberg_marquardt(code, p, xs, ys, (yc * yc).sum(), box)
    # the exact line on the refined (a, b), so c and d are least squares to the last digit
    c, d, sse = _line_fit(code, p[0], p[1], xs, ys, buf)
    return p[0], p[1], c, d, sse


# ----------------------------------------------------------------------------------------------
# suggest_symbolic


def _rescale(v):
    """v = centre + half·s with s in [-1, 1], computed without overflow; half = 0 if v is constant."""
    lo, hi = float(v.min()), float(v.max())
    centre = lo / 2 + hi / 2
    half = hi / 2 - lo / 2
    if not half > 0.0:
        return np.zeros_like(v), centre, 0.0
    return np.clip((v - centre) / half, -1.0, 1.0), centre, half


def _samples(x, y):
    arrays = []
    for label, v in (("x", x), ("y", y)):
        try:
            v = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{label} must be a 1-D array of real numbers.") from None
        if v.ndim == 2 and v.shape[1] == 1:
            v = v[:, 0]
        if v.ndim != 1:
            raise ValueError(f"{label} must be a 1-D array of samples (or one column, shape (N, 1)); "
                             f"got shape {v.shape}.")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{label} contains NaN or infinite values; only finite numbers are allowed.")
        arrays.append(np.ascontiguousarray(v))
    x, y = arrays
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same number of samples; got {x.shape[0]} and {y.shape[0]}.")
    if x.shape[0] < 2:
        raise ValueError(f"suggest_symbolic needs at least 2 samples; got {x.shape[0]}.")
    return x, y


def _library(lib):
    if lib is None:
        return list(SYMBOLIC_LIB)
    if isinstance(lib, str):
        raise ValueError(f"lib must be a list of function names such as ['sin', 'x^2'], not the string {lib!r}.")
    try:
        names = list(dict.fromkeys(lib))
    except TypeError:
        raise ValueError(f"lib must be a list of function names or None; got {lib!r}.") from None
    unknown = [n for n in names if n not in SYMBOLIC_LIB]
    if unknown:
        raise ValueError(f"Unknown symbolic function(s) {', '.join(map(repr, unknown))}; "
                         f"choose from {', '.join(SYMBOLIC_LIB)}.")
    if not names:
        raise ValueError("lib must name at least one function (or be None for the whole library).")
    return names


def _range(label, r):
    try:
        lo, hi = (float(v) for v in r)
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be two numbers (low, high); got {r!r}.") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
        raise ValueError(f"{label} must be two finite numbers with low <= high; got ({lo}, {hi}).")
    return lo, hi


def _fit_one(fun, xs, ys, order, sub, a_range, b_range):
    """(a, b, c, d, sse) for rescaled samples; sse = inf when no admissible (a, b) exists."""
    if fun.name == "0":
        return 0.0, 1.0, 0.0, ys.mean(), float(((ys - ys.mean()) ** 2).sum())
    if fun.name == "x":
        c, d, sse = _line_fit(fun.code, 1.0, 0.0, xs, ys, np.empty_like(xs))
        return 1.0, 0.0, c, d, sse
    if fun.name == "sgn":
        return _fit_step(xs, ys, order)
    box = np.array([*a_range, *b_range])
    a_lo, n_a = a_range[0], N_COARSE
    if fun.parity != 0 and a_range[0] == -a_range[1] and b_range[0] == -b_range[1] and a_range[1] > 0:
        # (a, b) and (-a, -b) give the same fit of an even or odd f: search a >= 0 only
        a_lo, n_a = 0.0, N_COARSE // 2 + 1
    return _fit_affine(fun.code, xs, ys, sub, box, a_lo, n_a, N_COARSE)


# Powers f(x) = x**p, for which c·f(a·x + b) = c·a**p · f(x + b/a): the scale a is c's to carry.
_POWERS = {"x^2": 2, "x^3": 3, "x^4": 4, "1/x": -1, "1/x^2": -2}


def _canonical(fun, a, b, c, d):
    """The same c·f(a·x + b) + d written the plainest way: a >= 0 for even and odd f, b within one
    period, and for f = x, the powers, sgn and exp the factors that c or b can carry moved there
    (a = 1 for a power: otherwise a and c trade off freely, a printed c can round to 0 and
    retraining the constants crawls along that valley)."""
    if fun.parity != 0 and a < 0:
        a, b, c = -a, -b, c * fun.parity
    if fun.name in _POWERS and a > 0:
        try:
            c_new = c * a ** _POWERS[fun.name]
        except OverflowError:
            c_new = math.inf
        if math.isfinite(c_new) and math.isfinite(b / a):
            a, b, c = 1.0, b / a, c_new
    elif fun.name == "x":
        a, b, c, d = 1.0, 0.0, c * a, d + c * b
    elif fun.name == "sgn" and a > 0:
        a, b = 1.0, b / a
    elif fun.name == "exp" and b < 700 and math.isfinite(c * math.exp(b)):
        b, c = 0.0, c * math.exp(b)
    if fun.period:
        b -= fun.period * math.floor(b / fun.period + 0.5)
    return a, b, c, d


def _fit_step(xs, ys, order):
    """Best c·sgn(x - t) + d by scanning every split between consecutive sorted samples."""
    xo, yo = xs[order], ys[order]
    n = xo.shape[0]
    k = np.arange(1, n)
    left = np.cumsum(yo)[:-1]
    right = yo.sum() - left
    gain = left ** 2 / k + right ** 2 / (n - k)  # SSE = sum y² - gain
    gain[xo[1:] <= xo[:-1]] = -np.inf           # no split between equal x
    if not np.isfinite(gain).any():
        return 0.0, 1.0, 0.0, ys.mean(), float(((ys - ys.mean()) ** 2).sum())
    s = int(np.argmax(gain))
    t = xo[s] + (xo[s + 1] - xo[s]) / 2
    mean_l, mean_r = left[s] / (s + 1), right[s] / (n - s - 1)
    c, d = (mean_r - mean_l) / 2, (mean_r + mean_l) / 2
    sse = float(((ys - c * np.sign(xs - t) - d) ** 2).sum())
    return 1.0, -t, c, d, sse


def suggest_symbolic(x, y, lib=None, topk=5, weight_simple=0.8, a_range=(-10, 10), b_range=(-10, 10)):
    """Fit y ≈ c·f(a·x + b) + d for every function f of `lib` and rank the fits the pykan way.

    x, y: N >= 2 finite samples, shape (N,) or (N, 1). lib: list of names from SYMBOLIC_LIB, or None
    for all. Returns the `topk` best (all for topk=None) as a list of Candidate, lowest score first,
    score = weight_simple·complexity + (1 - weight_simple)·log2(1 + 1e-5 - R²); ties keep library
    order. a_range and b_range bound (a, b) on x rescaled to [-1, 1] (pykan's a_range and b_range
    when x spans [-1, 1]), for the search and the refinement alike; 'sgn' places its jump by an
    exact scan instead. See the module docstring for the method and degenerate cases.
    """
    x, y = _samples(x, y)
    names = _library(lib)
    if topk is not None and (isinstance(topk, bool) or not isinstance(topk, (int, np.integer)) or topk < 1):
        raise ValueError(f"topk must be a whole number >= 1, or None for all; got {topk!r}.")
    if isinstance(weight_simple, bool) or not isinstance(weight_simple, (int, float, np.number)) \
            or not 0.0 <= weight_simple <= 1.0:
        raise ValueError(f"weight_simple must be a number from 0 to 1; got {weight_simple!r}.")
    a_range, b_range = _range("a_range", a_range), _range("b_range", b_range)

    xs, cx, hx = _rescale(x)
    ys, cy, hy = _rescale(y)
    order = np.argsort(xs, kind="stable")
    picks = np.unique(np.linspace(0, xs.shape[0] - 1, min(xs.shape[0], N_SUBSAMPLE)).round().astype(np.int64))
    # the extremes first: a domain violation shows there first and ends that (a, b) early
    sub = np.ascontiguousarray(np.concatenate([order[picks[[0, -1]]], order[picks[1:-1]]]))
    sst = float(((ys - ys.mean()) ** 2).sum())
    mean_y = cy + hy * float(ys.mean())

    candidates = []
    for name in names:
        fun = SYMBOLIC_LIB[name]
        if hy == 0.0:  # constant y: c = 0, d = y fits exactly, whatever f is
            fit, r2 = (0.0, 1.0, 0.0, cy), 1.0
        else:
            a, b, c, d, sse = _fit_one(fun, xs, ys, order, sub, a_range, b_range)
            # back to the original x and y: alpha·(x - cx)/hx + beta and cy + hy·(c·f + d)
            scale = 1.0 / hx if hx > 0 else 0.0
            fit = (a * scale, b - a * scale * cx, hy * c, cy + hy * d)
            r2 = min(max(1.0 - sse / sst, 0.0), 1.0) if sst > 0 else 0.0
            if all(math.isfinite(v) for v in fit):
                fit = _canonical(fun, *fit)
            if not (math.isfinite(sse) and all(math.isfinite(v) for v in fit)):
                fit, r2 = (0.0, 1.0, 0.0, mean_y), 0.0  # nothing admissible: explains nothing
        candidates.append(Candidate(name, float(r2), fun.complexity, *map(float, fit),
                                    score(r2, fun.complexity, weight_simple)))
    candidates.sort(key=lambda cand: cand.score)
    return candidates if topk is None else candidates[:int(topk)]


def bench_suggest(n=1000, repeat=15):
    """Median seconds of suggest_symbolic over the whole library on n noisy samples of a sine."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, n)
    y = np.sin(2.5 * x + 0.3) + 0.01 * rng.normal(size=n)
    suggest_symbolic(x, y)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        suggest_symbolic(x, y)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
