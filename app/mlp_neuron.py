"""Chapter 2, what an MLP neuron does: numbers on the edges, a fixed curve at the node."""

import panel as pn

from widgets.mlp_neuron import MLPNeuron

from .prose import md as _md, tex as _tex


_OPENING = """
## What an MLP neuron does

Before we take a KAN apart, it helps to be precise about the thing it replaces. The building
block of a multi-layer perceptron is the neuron below. It does two things, always in the same
order. First it takes a **weighted sum**: each incoming value is multiplied by the number
written on its edge, the products are added up, and a bias is added on top. Then it pushes that
sum through an **activation function**, a curve chosen in advance:
"""

_AFTER_FORMULA = """
Training an MLP means nudging the weights wᵢ and the bias b. Those numbers are everything the
network can learn. The activation is not learned: whether you pick ReLU, tanh or SiLU below, its
shape stays exactly as drawn, for this neuron and for every other neuron in the network.
"""

_TRY = """
**Try this.** The neuron opens with one positive and one negative weight, and their sum z is
positive, so ReLU passes it through untouched. Drag w₂ further to the left, or type −1.5 into
its box, until z drops below zero: the dot slides onto the flat part of the curve and the output
becomes 0. While it sits there, wiggling w₁ a little changes z but not the output at all.
Now switch to tanh: the same z gives a different output, but you still cannot reshape the curve,
only move along it. Every number in the table can be checked with a pencil.
"""

_CLOSING = """
**What to take away.** In an MLP the learnable parts are plain numbers sitting on the edges, and
the bending happens at the node through a curve nobody trains. On its own, a single weight tells
you little: w₂ = −0.5 only means something together with everything else feeding the same node.
The next chapter keeps this picture and moves the pieces around.
"""


def build(explorer=None):
    """The chapter; ``explorer`` is its main explorable, made here unless the caller (the URL) gave one."""
    return pn.Column(
        _md(_OPENING),
        _tex(r"$z = w_1 x_1 + w_2 x_2 + w_3 x_3 + b, \qquad a = \mathrm{act}(z)$"),
        _md(_AFTER_FORMULA),
        _md(_TRY),
        explorer or MLPNeuron(),
        _md(_CLOSING),
        sizing_mode="stretch_width",
    )
