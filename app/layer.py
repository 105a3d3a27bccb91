"""Chapter 5, a layer: six edge curves feeding two adding nodes, then two layers stacked."""

import panel as pn

from widgets.layer_trace import LayerTrace, ProductByParts

_TEXT = {"max-width": "46rem", "font-size": "1.02rem", "line-height": "1.5"}


def _md(text):
    return pn.pane.Markdown(text, sizing_mode="stretch_width", styles=_TEXT)


def _prose(text):
    """A paragraph with inline maths between dollar signs (typeset by KaTeX, served locally)."""
    return pn.pane.LaTeX(" ".join(text.split()), sizing_mode="stretch_width", styles=_TEXT, margin=(5, 10))


def _tex(text):
    """A displayed equation; ``text`` is LaTeX without the dollar signs."""
    return pn.pane.LaTeX(r"$\displaystyle " + text + "$", sizing_mode="stretch_width",
                         styles={"font-size": "1.1rem"}, margin=(0, 10, 0, 30))


_OPENING = """
## A layer: 3 inputs, 2 outputs

A layer is many edge curves side by side. This one has three inputs and two outputs, so six
edges, one from every input to every output, each with its own curve. It is a real KAN layer,
trained a moment ago on the target written above the plots.
"""

_READING = """
**How to read it.** Each column belongs to one input; each row leads to one output. Output 1
collects the three curves of the top row, output 2 those of the bottom row:
"""

_TRY = """
Move an input and two dots slide at once, one along each curve in its column: the same number
travels to both outputs, but each edge bends it in its own way. On the right, each output node
stacks the values that arrive (positive ones to the right of zero, negative ones to the left),
and the black mark is where they net out: the total. Nothing else happens at the node. It has no
weight and no curve of its own; it adds.

**Try this.** Slide x₂ from −1 to 1 and compare its two dots: one traces a parabola, the other a
falling cubic. Find the column whose two curves look least alike. Then switch to the MLP layer:
the same three inputs and two outputs, but each edge now carries a single number, so every plot
turns into a straight line through zero, and no choice of six numbers can make a sine.

## Stacking layers
"""

_STACKING = r"""
The outputs of one layer can be the inputs of the next. Write $x_{l,i}$ for the value at node
$i$ of layer $l$, and $\phi_{l,j,i}$ for the curve on the edge from node $i$ of layer $l$ to
node $j$ of layer $l+1$. Every layer does exactly what you just did by hand:
"""

_NETWORK = r"""
and a deep KAN is these layers applied one after another, each $\Phi_l$ being a whole grid of
curves:
"""

_THEOREM = r"""
Why this shape? Kolmogorov and Arnold proved in the 1950s that every continuous function of $n$
variables on a box can be written with nothing but sums and functions of one variable:
"""

_THEOREM_AFTER = r"""
Read it as a network: $n$ inputs, $2n+1$ hidden nodes that each add $n$ curves, and one output
node that adds $2n+1$ more. That is a two-layer KAN of shape $[n,\ 2n+1,\ 1]$. The catch is that
the theorem's curves may be wildly rough; trained KANs use more layers, so that every curve can
stay smooth.
"""

_PRODUCT_INTRO = """
**A worked example: multiplication.** No curve of one variable can multiply two numbers, yet
sums and squares can:
"""

_PRODUCT = """
That is a two-layer network. The first layer makes x + y (two straight edges) and x² + y² (two
parabola edges); the second takes half the square of the first and minus half of the second,
and the output node adds the two. Below, a KAN of shape [2, 2, 1] has each of its six edges
snapped to one of those formulas (red and dashed, as snapped edges are drawn everywhere in this
lesson). Pick x and y and follow the numbers.
"""


def build(explorer=None):
    """The chapter; ``explorer`` is its main explorable, made here unless the caller (the URL) gave one."""
    return pn.Column(
        _md(_OPENING),
        explorer or LayerTrace(),
        _md(_READING),
        _tex(r"\mathrm{out}_j = \phi_{j,1}(x_1) + \phi_{j,2}(x_2) + \phi_{j,3}(x_3), \qquad j = 1, 2"),
        _md(_TRY),
        _prose(_STACKING),
        _tex(r"x_{l+1,\,j} = \sum_{i=1}^{n_l} \phi_{l,\,j,\,i}\left(x_{l,\,i}\right)"),
        _prose(_NETWORK),
        _tex(r"\mathrm{KAN}(\mathbf{x}) = \left(\Phi_{L-1} \circ \cdots \circ \Phi_1 \circ \Phi_0\right)(\mathbf{x})"),
        _prose(_THEOREM),
        _tex(r"f(x_1, \dots, x_n) = \sum_{q=1}^{2n+1} \Phi_q\!\left(\sum_{p=1}^{n} \phi_{q,p}(x_p)\right)"),
        _prose(_THEOREM_AFTER),
        _md(_PRODUCT_INTRO),
        _tex(r"x\,y = \frac{(x+y)^2 - x^2 - y^2}{2} = \tfrac12 (x+y)^2 - \tfrac12\left(x^2 + y^2\right)"),
        _md(_PRODUCT),
        ProductByParts(),
        sizing_mode="stretch_width",
    )
