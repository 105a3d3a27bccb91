"""The formula a fully snapped KAN computes, as a small expression tree.

Every node of a KAN is a sum, so one type covers the whole tree: a `Sum` is a constant plus
coefficient * atom terms, where an atom is an input variable or a library function applied to
another Sum. Snapping an edge to c*f(a*u + b) + d wraps its input Sum u; the identity 'x' folds
straight into the linear combination, and equal atoms merge, so x*y trained as
((x+y)^2 - (x-y)^2)/4 prints in that shape.
"""
from dataclasses import dataclass

import numpy as np

from .symbolic import SYMBOLIC_LIB, _plus, _times

KEY_DIGITS = 10
POWERS = {"x^2": 2, "x^3": 3, "x^4": 4, "1/x": -1, "1/x^2": -2}  # atoms whose inner constants agree to this many digits are merged


@dataclass(frozen=True)
class Sum:
    const: float
    terms: tuple  # ((coef, atom), ...) with atom ('var', i) or ('fun', name, Sum)

    @staticmethod
    def var(i):
        return Sum(0.0, ((1.0, ("var", i)),))

    def scaled(self, k):
        return Sum(self.const * k, tuple((c * k, atom) for c, atom in self.terms))

    def shifted(self, b):
        return Sum(self.const + b, self.terms)

    def plus(self, other):
        merged = {}
        for c, atom in self.terms + other.terms:
            key = _key(atom)
            old = merged.get(key)
            merged[key] = (c + (old[0] if old else 0.0), atom)
        return Sum(self.const + other.const, tuple(merged.values()))

    def apply(self, name, a, b, c, d):
        """c * f(a * self + b) + d for the library function `name`."""
        if name == "0":
            return Sum(d, ())
        if name == "x":
            return self.scaled(a).shifted(b).scaled(c).shifted(d)
        inner = self.scaled(a).shifted(b)
        if name == "exp" and inner.terms:
            # c*exp(u + k) = (c*e^k)*exp(u): constants inside the exponent become one factor
            return Sum(d, ((c * np.exp(inner.const), ("fun", name, Sum(0.0, inner.terms))),))
        if name in POWERS and inner.terms and inner.terms[0][0] != 0.0:
            # c*(k*t + ...)^p = (c*k^p)*(t + .../k)^p: the first term inside gets coefficient 1
            k = inner.terms[0][0]
            return Sum(d, ((c * k ** POWERS[name], ("fun", name, inner.scaled(1.0 / k))),))
        return Sum(d, ((c, ("fun", name, inner)),))

    def evaluate(self, X):
        out = np.full(X.shape[0], self.const)
        for c, atom in self.terms:
            if atom[0] == "var":
                out += c * X[:, atom[1]]
            else:
                out += c * SYMBOLIC_LIB[atom[1]].fn(atom[2].evaluate(X))
        return out

    def pruned(self, drop_below):
        """The same sum without terms whose |coef| is below drop_below (also inside functions)."""
        terms = []
        for c, atom in self.terms:
            if abs(c) < drop_below:
                continue
            if atom[0] == "fun":
                atom = ("fun", atom[1], atom[2].pruned(drop_below))
            terms.append((c, atom))
        return Sum(self.const if abs(self.const) >= drop_below else 0.0, tuple(terms))

    def render(self, names, digits, latex):
        text = ""
        for c, atom in self.terms:
            if atom[0] == "var":
                body = names[atom[1]]
            else:
                inner = atom[2].render(names, digits, latex)
                wrapped = inner if inner in names else (rf"\left({inner}\right)" if latex else f"({inner})")
                template = SYMBOLIC_LIB[atom[1]].latex if latex else SYMBOLIC_LIB[atom[1]].text
                body = template.replace("{u}", inner).replace("{U}", wrapped)
            term = _times(c, body, digits, latex)
            if not term:
                continue
            if not text:
                text = term
            elif term.startswith("-"):
                text = f"{text} - {term[1:]}"
            else:
                text = f"{text} + {term}"
        return _plus(text, self.const, digits, latex) or "0"


def _key(atom):
    if atom[0] == "var":
        return atom
    inner = atom[2]
    return ("fun", atom[1], round(inner.const, KEY_DIGITS),
            tuple(sorted((round(c, KEY_DIGITS), repr(_key(a))) for c, a in inner.terms)))


def variable_names(n_vars, latex=False):
    """x, y for up to two inputs (as the formula box reads them), else x1, x2, ..."""
    if n_vars <= 2:
        return ["x", "y"][:n_vars]
    return [rf"x_{{{i + 1}}}" if latex else f"x{i + 1}" for i in range(n_vars)]


class SymbolicExpression:
    """What a snapped KAN computes: one Sum per output, over n_vars inputs.

    expr(X) evaluates it (X (N, n_vars) -> (N, n_out)); text() and latex() render it with
    constants rounded to `digits` decimals; pruned(drop_below) drops negligible terms.
    """

    def __init__(self, outputs, n_vars):
        self.outputs = list(outputs)
        self.n_vars = n_vars

    def __call__(self, X):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1 and self.n_vars == 1:
            X = X[:, None]
        if X.ndim != 2 or X.shape[1] != self.n_vars:
            raise ValueError(f"The formula needs inputs of shape (N, {self.n_vars}); got {X.shape}.")
        with np.errstate(all="ignore"):
            return np.stack([out.evaluate(X) for out in self.outputs], axis=1)

    def pruned(self, drop_below=1e-4):
        return SymbolicExpression([out.pruned(drop_below) for out in self.outputs], self.n_vars)

    def texts(self, digits=4, latex=False):
        names = variable_names(self.n_vars, latex)
        return [out.render(names, digits, latex) for out in self.outputs]

    def text(self, digits=4):
        """Plain text that kan_core.formula.parse_formula reads back (one output), or one line per output."""
        parts = self.texts(digits)
        return parts[0] if len(parts) == 1 else "\n".join(f"y{j + 1} = {p}" for j, p in enumerate(parts))

    def latex(self, digits=4):
        parts = self.texts(digits, latex=True)
        return parts[0] if len(parts) == 1 else r" \\ ".join(f"y_{{{j + 1}}} = {p}" for j, p in enumerate(parts))

    def __repr__(self):
        return self.text()
