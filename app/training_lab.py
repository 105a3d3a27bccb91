"""Chapter 8, train a tiny KAN: the training lab, with the words around it."""

import panel as pn

from widgets.training_compare import HIDDEN, ITERATIONS, MAX_STEPS
from widgets.training_lab import TrainingLab

_TEXT = {"max-width": "46rem", "font-size": "1.02rem"}


def _md(text):
    return pn.pane.Markdown(text, sizing_mode="stretch_width", styles=_TEXT)


_OPENING = """
## Train a tiny KAN

Until now every curve was either set by hand or fitted in one go. A real KAN learns all its
curves at once, by trial and small correction. Below is a small one, of shape [2, 5, 1]: two
inputs, five hidden nodes and one output, so 15 edges, each a cubic spline on *G* = 5 spans.
It is about to learn the function exp(sin(π*x*) + *y*²) from 1,000 random samples of it.

Training means this: measure how wrong the network is on the samples, then move every
coefficient a little in the direction that makes it less wrong, and repeat. The measure is the
mean squared error *L*, and the simplest correction is a step down its slope:
"""

_LOSS = r"$$L(\theta) = \frac{1}{N}\sum_{n=1}^{N}\bigl(\mathrm{KAN}_\theta(x_n) - y_n\bigr)^2$$"
_STEP = r"$$c \;\leftarrow\; c - \eta\,\frac{\partial L}{\partial c}\qquad\text{for every number } c \text{ in } \theta$$"

_AFTER_EQUATION = """
Here θ stands for all the numbers of the network (the spline coefficients and the two scales of
every edge) and η is the learning rate. **Adam** follows this recipe with a step size that it
adapts for each number separately; **L-BFGS** also remembers the last few steps to guess the
curvature, and each of its steps searches along a line for a good stride (up to 20 tries).
The error plot shows the square root of *L* (the RMSE), on the samples the network learns from
and on 1,000 other points it never sees.
"""

_TRY = """
**Try it.**

- Press **Play**. The middle heatmap is the network's output and the right one is how far it is
  from the target; the error plot falls by orders of magnitude. Watch the diagram at the bottom
  too: every small box is one edge's curve, redrawn as it learns. Tap a box (or pick an edge in
  the list) to see that curve large.
- When the error levels off, press **Extend grid**. Each curve is copied onto a finer grid, so
  nothing changes at first; then the extra coefficients get to work and the error drops to a
  new level. Do it a few times and the error plot becomes a staircase.
- Tick **Stop at test RMSE** and set a target error: training pauses by itself when it gets
  there.
- Pick another target, or type your own formula in *x* and *y* (for example
  `x*y + sin(pi*y)`) and press Enter. Something the lab cannot read gets a message right under
  the box, and training waits until it is fixed.
- Set the learning rate to 1000000 and press Play: the steps are far too large, the error
  explodes, and the lab stops and says so, with the network put back as it was before the bad
  step.
"""

_MLP_NOTE = f"""
**How many numbers does an MLP need?** The last readout answers that with real runs, not a
rule of thumb. While the KAN trains, the lab trains MLPs with one hidden layer of
{", ".join(str(h) for h in HIDDEN[:-1])} or {HIDDEN[-1]} tanh units on the same samples,
smallest first, each with L-BFGS until its test error stops improving (at most
{MAX_STEPS * ITERATIONS:,} iterations). It then names the smallest one whose best test error is
at least as good as the KAN's error right now. The sizes double from one MLP to the next, so
the answer is rough, and an MLP trained differently might do better or worse.

Expect both outcomes. On a single smooth curve such as sin(π*x*) a tiny MLP often wins: one tanh
already looks like half a wave. On exp(sin(π*x*) + *y*²), a function assembled from a few
curves of one variable, the KAN usually reaches errors that no MLP in the family reaches at all.
The next chapter measures that trade-off properly.
"""

_CLOSING = """
What you have watched is the whole idea of training a KAN: the coefficients of every spline
slide, step by step, toward values that make the sum of curves match the target, and quite
often a handful of them is enough to trace a clean, recognisable function.
"""


def build(explorer=None):
    """The chapter; ``explorer`` is its main explorable, made here unless the caller (the URL) gave one."""
    lab = explorer or TrainingLab()
    return pn.Column(
        _md(_OPENING),
        pn.pane.LaTeX(_LOSS, sizing_mode="stretch_width", styles={"font-size": "1.1rem"}),
        pn.pane.LaTeX(_STEP, sizing_mode="stretch_width", styles={"font-size": "1.1rem"}),
        _md(_AFTER_EQUATION),
        lab,
        _md(_TRY),
        _md(_MLP_NOTE),
        _md(_CLOSING),
        sizing_mode="stretch_width",
    )
