"""The introduction: what a KAN is in one breath, and what the reader can do here."""

import panel as pn

TITLE = "Kolmogorov-Arnold Networks, explored"

_TEXT = """
## A neural network you can read

In the networks most courses begin with, the multi-layer perceptrons (MLPs), every connection
carries one number, a weight, and every node bends its input through the same fixed curve.
A **Kolmogorov-Arnold Network (KAN)** swaps those roles. Each connection carries a small
curve of one variable that training is free to reshape, and each node only adds up what
arrives. When training is done you can look at any connection and see the curve it learned;
quite often you will recognise it: a parabola here, a sine wave there.

This lesson lets you take that idea apart with your own hands:

- **Drag** the handles of a spline and watch a curve take shape, one neighbourhood at a time.
- **Train** a small KAN and an MLP on the same problem and compare what each one needs.
- **Snap** learned curves to formulas you can write down, and read a law back out of a network.

Every figure is computed live by a small KAN engine written for this lesson, so what you see
is what the mathematics does, not a drawing of it.
"""

_NEXT_READY = "Pick a chapter from the menu to begin; they are meant to be read in order."
_NEXT_WAITING = ("The chapters are still being written. Each one appears in the menu as soon as "
                 "it is finished.")


def build(has_chapters):
    """The introduction page; ``has_chapters`` says whether the menu lists any chapter yet."""
    closing = _NEXT_READY if has_chapters else _NEXT_WAITING
    return pn.pane.Markdown(_TEXT + "\n" + closing, sizing_mode="stretch_width",
                            styles={"font-size": "1.05rem", "max-width": "46rem"})
