"""Chapter 1, "Two ways to look inside": an MLP and a KAN of one shape, trained on one target."""

import panel as pn

from widgets.hero import Hero

_TEXT = {"font-size": "1.05rem", "max-width": "46rem"}

_BEFORE = """
## Two ways to look inside

Two small networks, wired the same way (inputs *x* and *y*, three hidden nodes, one output),
both trained on a thousand examples of one function. **Tap any box** on a connection to see it
on its own.
"""

_AFTER = """
On the left is a **multi-layer perceptron (MLP)**. Everything it learned is stored as plain
numbers: one weight on each connection (and a bias on each node, not drawn). Tap one and you
get a single number, and nothing about it tells you what job it does: the function is smeared
across all the numbers at once.

On the right is a **Kolmogorov-Arnold network (KAN)**. Each connection stores a whole curve of
one variable, drawn in the small box on that connection, and each node just adds up what
arrives. Tap the boxes that are drawn boldly: the busy hidden node is fed by a wave from *x* and
a bowl from *y*, and its connection to the output bends like an exponential. Calling that busy
node *h*, the KAN computes
"""

_READING = """
with a sine wave for the curve from *x* to *h*, a parabola from *y* to *h* and an exponential
from *h* to the output: exp(sin(πx) + y²), the very function it was trained on, read straight
off the network.
"""

_CLOSING = """
The other connections are drawn faint because training included a penalty that rewards using
as few connections as possible. A faint connection carries almost nothing to the output: some
are nearly flat, others feed a hidden node whose own way out is switched off. (The list under
each network reaches every connection from the keyboard.)

Nothing here is a drawing. Both networks were trained by this lesson's own engine, and every
number and curve on screen is computed from the trained models. The chapters that follow take
the KAN apart: what one of those curves is made of, how a layer of them works, and how training
shapes them.
"""


def build(explorer=None):
    """The chapter; ``explorer`` is its main explorable, made here unless the caller (the URL) gave one."""
    return pn.Column(
        pn.pane.Markdown(_BEFORE, styles=_TEXT, sizing_mode="stretch_width", margin=(0, 10)),
        pn.pane.LaTeX(r"$f(x, y) = \exp\big(\sin(\pi x) + y^2\big)$", styles={"font-size": "1.15rem"},
                      margin=(0, 10, 10, 10)),
        explorer or Hero(),
        pn.pane.Markdown(_AFTER, styles=_TEXT, sizing_mode="stretch_width"),
        pn.pane.LaTeX(r"$f(x, y) \approx \varphi_{h \to f}\big(\varphi_{x \to h}(x) + \varphi_{y \to h}(y)\big)$",
                      styles={"font-size": "1.2rem"}),
        pn.pane.Markdown(_READING, styles=_TEXT, sizing_mode="stretch_width"),
        pn.pane.Markdown(_CLOSING, styles=_TEXT, sizing_mode="stretch_width"),
        sizing_mode="stretch_width",
    )
