"""Parse a formula a student types (e.g. ``sin(pi*x) + y**2``) into a safe numpy evaluator.

Whitelisting by construction: a tokenizer accepts only numbers, known names and operators, a
recursive-descent parser builds a tiny tree of our own node types, and evaluation walks that tree
calling numpy ufuncs. Python's ``eval``/``exec``/``compile`` are never involved, so nothing a user
types can reach Python objects.

Grammar (lowest to highest precedence; ``**`` is right-associative and binds tighter than a sign,
so ``-x**2 == -(x**2)`` and ``2**-x`` is allowed, as in Python)::

    expr  := term (('+' | '-') term)*
    term  := unary (('*' | '/') unary)*
    unary := ('+' | '-') unary | power
    power := atom (('**' | '^') unary)?
    atom  := number | variable | constant | function '(' expr ')' | '(' expr ')'
"""

import math
import re
from dataclasses import dataclass

import numpy as np

MAX_LENGTH = 500
MAX_DEPTH = 50
MAX_LITERAL_EXPONENT = 100

# x and x1 are column 0, y and x2 column 1, x3..x9 columns 2..8.
VARIABLES = {"x": 0, "y": 1, **{f"x{i}": i - 1 for i in range(1, 10)}}
CONSTANTS = {"pi": math.pi, "e": math.e}


def _sigmoid(t):
    # Under errstate, exp(-t) overflowing to inf gives the correct limit 0, and tiny values keep
    # full relative precision (a tanh form would round them to 0).
    return 1.0 / (1.0 + np.exp(-t))


def _gaussian(t):
    return np.exp(-np.square(t))


FUNCTIONS = {
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "tanh": np.tanh,
    "arcsin": np.arcsin,
    "arctan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "sigmoid": _sigmoid,
    "gaussian": _gaussian,
    "sign": np.sign,
}

_ALLOWED_NAMES = "x, y, x1..x9, pi, e or one of the functions " + ", ".join(FUNCTIONS)

_LATEX_FUNCTIONS = {
    "sin": r"\sin", "cos": r"\cos", "tan": r"\tan", "exp": r"\exp", "log": r"\ln",
    "tanh": r"\tanh", "arcsin": r"\arcsin", "arctan": r"\arctan", "sinh": r"\sinh",
    "cosh": r"\cosh", "sigmoid": r"\operatorname{sigmoid}",
    "gaussian": r"\operatorname{gaussian}", "sign": r"\operatorname{sign}",
}


class FormulaError(ValueError):
    """A formula that cannot be accepted; ``position`` is the 0-based index of ``token``."""

    def __init__(self, message: str, position: int, token: str):
        super().__init__(message)
        self.position = position
        self.token = token


# ---------------------------------------------------------------- tokens

@dataclass(frozen=True)
class _Token:
    kind: str  # 'number', 'name', 'op' or 'end'
    text: str
    pos: int


_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = ("**", "+", "-", "*", "/", "^", "(", ")", ",")
_SPACES = " \t\r\n"


def _tokenize(text: str) -> list[_Token]:
    tokens = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in _SPACES:
            i += 1
            continue
        match = _NUMBER.match(text, i) or _NAME.match(text, i)
        if match:
            word = match.group()
            if word[0].isdigit() or word[0] == ".":
                if not math.isfinite(float(word)):
                    raise FormulaError(
                        f"Number '{word}' at position {i} is too large: numbers must be finite.",
                        i, word)
                tokens.append(_Token("number", word, i))
            elif word in VARIABLES or word in CONSTANTS or word in FUNCTIONS:
                tokens.append(_Token("name", word, i))
            else:
                raise FormulaError(
                    f"Unknown name '{word}' at position {i}: use {_ALLOWED_NAMES}.", i, word)
            i = match.end()
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if op is not None:
            tokens.append(_Token("op", op, i))
            i += len(op)
            continue
        if ch in "'\"":
            raise FormulaError(
                f"Quote {ch!r} at position {i} is not allowed: a formula contains no text strings.",
                i, ch)
        if ch == ".":
            raise FormulaError(
                f"Unexpected '.' at position {i}: a dot may only appear inside a number such as "
                "0.5 (attribute access is not allowed).", i, ch)
        raise FormulaError(
            f"Unexpected character {ch!r} at position {i}: a formula may contain only numbers, "
            f"the names x, y, x1..x9, pi, e, {', '.join(FUNCTIONS)}, the operators "
            "+ - * / ** ^, parentheses ( ) and spaces.", i, ch)
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _describe(token: _Token) -> str:
    return "the end of the formula" if token.kind == "end" else f"'{token.text}'"


# ---------------------------------------------------------------- tree

@dataclass(frozen=True)
class _Num:
    value: float
    pos: int
    text: str


@dataclass(frozen=True)
class _Const:
    name: str


@dataclass(frozen=True)
class _Var:
    column: int


@dataclass(frozen=True)
class _Unary:
    op: str  # '-' or '+'
    operand: object


@dataclass(frozen=True)
class _Binary:
    op: str  # '+', '-', '*', '/', '**'
    left: object
    right: object


@dataclass(frozen=True)
class _Call:
    name: str
    arg: object


# Binding strength used to decide where to print parentheses.
_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "unary": 3, "**": 4, "atom": 5}


def _prec(node) -> int:
    if isinstance(node, _Binary):
        return _PREC[node.op]
    if isinstance(node, _Unary):
        return _PREC["unary"]
    return _PREC["atom"]


# ---------------------------------------------------------------- parser

class _Parser:
    def __init__(self, tokens: list[_Token]):
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def enter(self, token: _Token):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError(
                f"The formula is nested too deeply at position {token.pos} "
                f"({_describe(token)}): at most {MAX_DEPTH} levels of parentheses, functions, "
                "signs and powers are allowed.",
                token.pos, token.text)

    def parse(self):
        node = self.expr()
        token = self.peek()
        if token.kind != "end":
            if token.text == ")":
                raise FormulaError(
                    f"Unmatched ')' at position {token.pos}: there is no '(' for it to close.",
                    token.pos, token.text)
            self.unexpected_in_group(token)
        return node

    def unexpected_after_operand(self, token: _Token):
        juxtaposed = token.kind in ("number", "name") or token.text == "("
        hint = " (use * to multiply, e.g. 2*x)" if juxtaposed else ""
        raise FormulaError(
            f"Unexpected {_describe(token)} at position {token.pos}: expected an operator "
            f"+ - * / ** or ^, or the end of the formula{hint}.", token.pos, token.text)

    def expr(self):
        node = self.term()
        while self.peek().text in ("+", "-"):
            op = self.take().text
            node = _Binary(op, node, self.term())
        return node

    def term(self):
        node = self.unary()
        while self.peek().text in ("*", "/"):
            op = self.take().text
            node = _Binary(op, node, self.unary())
        return node

    def unary(self):
        token = self.peek()
        if token.text in ("+", "-"):
            self.take()
            self.enter(token)
            node = _Unary(token.text, self.unary())
            self.depth -= 1
            return node
        return self.power()

    def power(self):
        base = self.atom()
        token = self.peek()
        if token.text in ("**", "^"):
            self.take()
            self.enter(token)
            exponent = self.unary()
            self.depth -= 1
            literal = _literal(exponent)
            if literal is not None and abs(literal.value) > MAX_LITERAL_EXPONENT:
                raise FormulaError(
                    f"Exponent '{literal.text}' at position {literal.pos} is too large: a number "
                    f"used as an exponent must lie within -{MAX_LITERAL_EXPONENT}.."
                    f"{MAX_LITERAL_EXPONENT}.", literal.pos, literal.text)
            return _Binary("**", base, exponent)
        return base

    def atom(self):
        token = self.take()
        if token.kind == "number":
            return _Num(float(token.text), token.pos, token.text)
        if token.kind == "name":
            if token.text in VARIABLES:
                return _Var(VARIABLES[token.text])
            if token.text in CONSTANTS:
                return _Const(token.text)
            return self.call(token)
        if token.text == "(":
            self.enter(token)
            node = self.expr()
            self.depth -= 1
            closing = self.take()
            if closing.text != ")":
                if closing.kind == "end":
                    raise FormulaError(
                        f"Missing ')' to close the '(' at position {token.pos}.",
                        token.pos, token.text)
                self.i -= 1
                self.unexpected_in_group(closing)
            return node
        if token.kind == "end":
            previous = self.tokens[self.i - 2] if self.i >= 2 else None
            after = f" after '{previous.text}'" if previous is not None else ""
            raise FormulaError(
                f"The formula ends too early at position {token.pos}: expected a number, "
                f"variable, function or '('{after}.", token.pos, token.text)
        if token.text == ")":
            raise FormulaError(
                f"Unexpected ')' at position {token.pos}: expected a number, variable, "
                "function or '(' before it.", token.pos, token.text)
        raise FormulaError(
            f"Unexpected '{token.text}' at position {token.pos}: expected a number, variable, "
            "function or '(' here.", token.pos, token.text)

    def unexpected_in_group(self, token: _Token):
        if token.text == ",":
            raise FormulaError(
                f"Unexpected ',' at position {token.pos}: commas only separate function "
                "arguments, and every function takes exactly one argument.", token.pos, token.text)
        self.unexpected_after_operand(token)

    def call(self, name: _Token):
        opening = self.take()
        if opening.text != "(":
            raise FormulaError(
                f"Function '{name.text}' at position {name.pos} must be followed by '(' and one "
                f"argument, e.g. {name.text}(x).", name.pos, name.text)
        self.enter(name)
        if self.peek().text == ")":
            raise FormulaError(
                f"Function '{name.text}' at position {name.pos} needs exactly one argument, "
                "got none.", name.pos, name.text)
        arg = self.expr()
        self.depth -= 1
        closing = self.take()
        if closing.text == ",":
            raise FormulaError(
                f"Function '{name.text}' at position {name.pos} takes exactly one argument, "
                f"but a second one starts after the ',' at position {closing.pos}.",
                closing.pos, closing.text)
        if closing.kind == "end":
            raise FormulaError(
                f"Missing ')' to close '{name.text}(' at position {opening.pos}.",
                opening.pos, opening.text)
        if closing.text != ")":
            self.i -= 1
            self.unexpected_after_operand(closing)
        return _Call(name.text, arg)


def _literal(node):
    """The number node under any signs, e.g. 3 in ``-(3)``; None when node is not a literal."""
    while isinstance(node, _Unary):
        node = node.operand
    return node if isinstance(node, _Num) else None


# ---------------------------------------------------------------- evaluation and rendering

def _evaluate(node, X: np.ndarray):
    if isinstance(node, _Num):
        return np.float64(node.value)
    if isinstance(node, _Const):
        return np.float64(CONSTANTS[node.name])
    if isinstance(node, _Var):
        return X[:, node.column]
    if isinstance(node, _Unary):
        value = _evaluate(node.operand, X)
        return np.negative(value) if node.op == "-" else value
    if isinstance(node, _Call):
        return FUNCTIONS[node.name](_evaluate(node.arg, X))
    left, right = _evaluate(node.left, X), _evaluate(node.right, X)
    ufunc = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "**": np.power}
    return ufunc[node.op](left, right)


def _max_column(node) -> int:
    if isinstance(node, _Var):
        return node.column
    if isinstance(node, _Unary):
        return _max_column(node.operand)
    if isinstance(node, _Call):
        return _max_column(node.arg)
    if isinstance(node, _Binary):
        return max(_max_column(node.left), _max_column(node.right))
    return -1


def _number_text(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _needs_parens(node, parent: _Binary, side: str) -> bool:
    """Parenthesise child ``node`` of ``parent`` so re-parsing gives back the same tree."""
    child, own = _prec(node), _PREC[parent.op]
    if parent.op == "**":
        return child <= own if side == "left" else child < own
    if side == "left":
        return child < own
    return child <= own or isinstance(node, _Unary)


def _text(node, names) -> str:
    if isinstance(node, _Num):
        return _number_text(node.value)
    if isinstance(node, _Const):
        return node.name
    if isinstance(node, _Var):
        return names[node.column]
    if isinstance(node, _Unary):
        inner = _text(node.operand, names)
        wrap = _prec(node.operand) < _PREC["unary"] or isinstance(node.operand, _Unary)
        return node.op + (f"({inner})" if wrap else inner)
    if isinstance(node, _Call):
        return f"{node.name}({_text(node.arg, names)})"
    left, right = _text(node.left, names), _text(node.right, names)
    if _needs_parens(node.left, node, "left"):
        left = f"({left})"
    if _needs_parens(node.right, node, "right"):
        right = f"({right})"
    joiner = f" {node.op} " if node.op in ("+", "-") else node.op
    return left + joiner + right


def _latex(node, names) -> str:
    if isinstance(node, _Num):
        return _number_text(node.value)
    if isinstance(node, _Const):
        return r"\pi" if node.name == "pi" else "e"
    if isinstance(node, _Var):
        return names[node.column]
    if isinstance(node, _Unary):
        inner = _latex(node.operand, names)
        wrap = _prec(node.operand) < _PREC["unary"] or isinstance(node.operand, _Unary)
        return node.op + (rf"\left({inner}\right)" if wrap else inner)
    if isinstance(node, _Call):
        arg = _latex(node.arg, names)
        if node.name == "sqrt":
            return rf"\sqrt{{{arg}}}"
        if node.name == "abs":
            return rf"\left|{arg}\right|"
        return rf"{_LATEX_FUNCTIONS[node.name]}\left({arg}\right)"
    left, right = _latex(node.left, names), _latex(node.right, names)
    if node.op == "/":
        return rf"\frac{{{left}}}{{{right}}}"
    if node.op == "**":
        if _needs_parens(node.left, node, "left"):
            left = rf"\left({left}\right)"
        return f"{left}^{{{right}}}"
    if _needs_parens(node.left, node, "left"):
        left = rf"\left({left}\right)"
    if _needs_parens(node.right, node, "right"):
        right = rf"\left({right}\right)"
    joiner = r" \cdot " if node.op == "*" else f" {node.op} "
    return left + joiner + right


# ---------------------------------------------------------------- public API

class Formula:
    """A parsed formula; call it on X of shape (N, n_vars), or (N,) when n_vars == 1, to get (N,)."""

    def __init__(self, text: str, tree):
        self.text = text
        self._tree = tree
        self.n_vars = max(1, _max_column(tree) + 1)

    def __repr__(self) -> str:
        return f"Formula({self.text!r})"

    def _names(self, latex: bool) -> list[str]:
        if self.n_vars <= 2:
            return ["x", "y"]
        return [f"x_{{{i}}}" if latex else f"x{i}" for i in range(1, 10)]

    def to_text(self) -> str:
        """Plain text with normalised spacing, ``**`` for powers and only the parentheses needed."""
        return _text(self._tree, self._names(latex=False))

    def to_latex(self) -> str:
        """A LaTeX rendering for display (natural log shown as ``\\ln``)."""
        return _latex(self._tree, self._names(latex=True))

    def __call__(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1 and self.n_vars == 1:
            X = X[:, None]
        if X.ndim != 2 or X.shape[1] != self.n_vars:
            raise ValueError(
                f"This formula uses {self.n_vars} variable(s), so its input needs shape "
                f"(N, {self.n_vars}) with {self.n_vars} column(s); got shape {X.shape}.")
        with np.errstate(all="ignore"):
            out = _evaluate(self._tree, X)
        return np.array(np.broadcast_to(out, (X.shape[0],)), dtype=np.float64)


def parse_formula(text: str) -> Formula:
    """Parse ``text`` into a Formula; raises FormulaError (and nothing else) if it is not allowed."""
    if not isinstance(text, str):
        raise FormulaError(
            f"The formula must be text, got {type(text).__name__}.", 0, "")
    if len(text) > MAX_LENGTH:
        raise FormulaError(
            f"The formula is {len(text)} characters long: at most {MAX_LENGTH} are allowed.",
            MAX_LENGTH, text[MAX_LENGTH])
    if not text.strip(_SPACES):
        raise FormulaError(
            "The formula is empty: type an expression such as sin(pi*x) or x*y.", 0, "")
    return Formula(text, _Parser(_tokenize(text)).parse())
