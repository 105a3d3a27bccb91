"""Chapter 3, flip it: one small unit drawn as an MLP and as a KAN, and what the swap changes."""

import panel as pn

from widgets.flip import Flip

from .prose import md as _md, tex as _tex


_OPENING = """
## Flip it: the same unit drawn both ways

Take the neuron from the last chapter, give it two inputs, and ask a blunt question: what if the
edges did the bending instead of the node? That single change is the whole difference between an
MLP and a KAN, and it is easiest to see on the smallest possible unit, two inputs and one output.

Both versions below are real models, trained a moment ago (it takes a fraction of a second) on
the same target, f(x₁, x₂) = sin(πx₁) + x₂², so their numbers and curves are what training
actually produced.
"""

_FORMS = """
In the **MLP form** each edge holds a single number, and the node adds and then squashes the sum
through tanh, a curve fixed in advance. (One tanh only reaches from −1 to 1, so the output edge
carries one more number, v, and the output one more bias, c.) In the **KAN form** each edge holds
a whole curve of one variable, learned from data, and the node does nothing but add:
"""

_TRY = """
**Try this.** Flip between the two forms with the buttons above the picture. Then hover over an
edge, tap it, or choose it with the buttons, to see what it holds, shown large: in the KAN form
you get a curve with the current input marked on it; in the MLP form, just a number. Slide x₁
from −1 to 1 in the KAN form and watch the dot on the top curve trace a full wave of a sine,
while the dot on the bottom curve, a parabola in x₂, stays put: each edge only ever sees its own
input.
"""

_HONEST = """
**A fair warning.** Compare the outputs with the target: the KAN unit matches it closely, the
single MLP unit does not. That is not because KANs are better in general. This target happens
to be a sum of one curve in x₁ and one curve in x₂, exactly the shape of one KAN unit, while one
MLP unit can only squash a single weighted sum. An MLP reaches the same target with more units;
chapter 9 weighs what each of them needs.
"""

_SWAP = """
## What the flip swaps

Moving the learnable part from the node to the edge, and making it a function instead of a
number, changes four things at once:
"""

_THEOREM = """
The second formula is why the flip is not a gamble. Kolmogorov and Arnold showed that any
continuous function of n variables on a bounded box can be written exactly with one-variable
functions and addition, nothing else. The inner curves φ<sub>q,p</sub> sit on edges, the sums sit
at nodes, the outer curves Φ<sub>q</sub> sit on a second layer of edges: a KAN of shape
[n, 2n + 1, 1]. Real KANs relax this recipe (more layers, smooth spline curves), but the pieces are
the ones you just flipped to.
"""


def build(explorer=None):
    """The chapter; ``explorer`` is its main explorable, made here unless the caller (the URL) gave one."""
    flip = explorer or Flip()
    return pn.Column(
        _md(_OPENING),
        _md(_FORMS),
        _tex(r"$\text{MLP: } y = v\,\tanh(w_1 x_1 + w_2 x_2 + b) + c \qquad"
             r"\text{KAN: } y = \varphi_1(x_1) + \varphi_2(x_2)$"),
        _md(_TRY),
        flip.explorer,
        _md(_HONEST),
        _md(_SWAP),
        flip.summary,
        _md(_THEOREM),
        sizing_mode="stretch_width",
    )
