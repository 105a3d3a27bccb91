"""Chapter 7, snap to a formula: a learned spline edge swapped for a term you can write down."""

import panel as pn

from widgets.snap import SnapExplorer

from .prose import md as _md, tex as _tex


_OPENING = """
## Snap to a formula

When training ends, each edge of a KAN holds a spline: a curve kept as a couple of dozen
numbers. Plot one and you will often know it at a glance. That wobbly arch is nearly a sine;
that bowl is nearly a parabola. Once you can name a curve, you can throw the numbers away and
write a formula in their place, and a network made of formulas is one you can read on paper.

The network below has a single edge. A moment ago it was trained on 100 noisy samples (grey
dots) of a hidden function, a sine unless you pick another one. The orange curve is the edge
it learned. It follows the hidden function closely, but it also bends a little to fit the noise.
"""

_HOW = """
**What Snap does.** It takes every function f in a small library (x, x², x³, x⁴, 1/x, 1/x², √x,
eˣ, log, sin, cos, tan, tanh, |x|, sign, arcsin, arctan, a Gaussian bump, and the constant 0)
and stretches and shifts it to match the orange curve:
"""

_AFFINE = """
a and b squeeze and slide the input, c and d scale and lift the output. For each f, kan_core
searches for the four numbers that bring the formula closest to the learned curve, then
grades the match with R², the share of the curve's ups and downs that the formula reproduces:
"""

_R2 = """
Here φ is the learned curve, φ̂ the formula and φ̄ the curve's average, all read at 201 points
from −1 to 1. R² = 1 means the formula and the spline agree everywhere; R² = 0 means the formula
does no better than a flat line. The strip under the plot draws the difference that the top of
the fraction adds up.

**Why not just take the highest R²?** Because an elaborate function can always hug the curve a
bit more tightly, noise included. Each library function has a *complexity*: 1 for x; 2 for x²,
sin, exp and friends; 3 for x³, tanh or the bump; 4 for arcsin and arctan; 0 for the constant.
The ranking trades the two against each other with a weight w, and the lowest score wins:
"""

_SCORE = """
The logarithm counts nines: going from R² = 0.9 to 0.99 lowers the score by as much as going
from 0.99 to 0.999. With w = 0.8 (the default in pykan, the reference KAN library), every step
of complexity must be paid for with about 1.2 extra nines, so a sine (complexity 2) needs an R²
above roughly 0.996 just to beat the constant 0, which costs nothing and explains nothing.
"""

_TRY = """
**Try this.**

- Press **Snap**. The red dashed curve is now what the edge computes, and the formula in the box
  above the plot is the whole edge. Look at a: it comes out close to 3.14. That is π, the frequency of the
  hidden sin(πx), recovered from 100 noisy points.
- Click other rows of the table (or choose in *Snap to*). cos ties with sin, because a cosine is a
  sine shifted by a quarter turn. x and x² fit badly: watch R² drop and the difference strip grow.
- Raise the noise until the constant 0 climbs to the top. A wobblier curve lowers every R², and at
  w = 0.8 a formula that is not very accurate is not worth its price, so the ranking would rather
  say nothing. Lower w and the sine comes back.
- Pick the S-curve or the bump. Their true functions, tanh and the Gaussian, cost 3, so at w = 0.8
  the constant wins; at w = 0.6 the right function takes first place.
- Pick the parabola: with seed 0, a shallow cosine arch fits the noisy bowl slightly better
  than x² does, and wins. Tick *Show the hidden function* to see the truth. The best fit is a
  suggestion, not a proof.
"""

_CLOSING = """
Snapping is where a trained KAN starts to hand back knowledge: once every edge of a larger
network is snapped and its constants tuned by a little more training, the whole network is a
formula. Chapter 10 does exactly that on a two-input problem.
"""


def build(explorer=None):
    """The chapter; ``explorer`` is its main explorable, made here unless the caller (the URL) gave one."""
    return pn.Column(
        _md(_OPENING),
        explorer or SnapExplorer(),
        _md(_HOW),
        _tex(r"$\varphi(x) \;\approx\; c\, f(a\,x + b) + d$"),
        _md(_AFFINE),
        _tex(r"$R^2 = 1 - \dfrac{\sum_n \left(\varphi(x_n) - \hat\varphi(x_n)\right)^2}"
             r"{\sum_n \left(\varphi(x_n) - \bar\varphi\right)^2}$"),
        _md(_R2),
        _tex(r"$\text{score} = w \cdot \text{complexity} + (1 - w)\,\log_2\!\left(1 + 10^{-5} - R^2\right)$"),
        _md(_SCORE),
        _md(_TRY),
        _md(_CLOSING),
        sizing_mode="stretch_width",
    )
