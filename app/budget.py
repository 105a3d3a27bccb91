"""Chapter 9, the parameter budget: how much error a KAN and an MLP buy with the same parameters."""

import panel as pn

from widgets.budget import MESSY, BudgetExplorer

_TEXT = {"max-width": "46rem", "font-size": "1.02rem"}


def _md(text):
    return pn.pane.Markdown(text, sizing_mode="stretch_width", styles=_TEXT)


def _tex(text):
    return pn.pane.LaTeX(text, sizing_mode="stretch_width", styles={"font-size": "1.1rem"})


_OPENING = """
## Parameter budget: KAN vs MLP

Imagine every network has to be paid for, one parameter at a time, and you have a fixed
amount to spend. Which kind of network gives you the smaller error for the money?

Every dot in the plot below is a real network trained in this project, on the same 1,000
samples of one function, and scored on 1,000 fresh points it never saw. The teal line is one
KAN of shape [2, 5, 1] that was trained, given a finer grid, trained again, and so on
(G = 3, 5, 10, 20, 50): each step of that staircase is a dot. The orange lines are MLPs with
one or two hidden layers of growing width, trained with the same optimizer for as many steps
as the KAN had in total. The parameters are counted the same way for both: every number that
training may change.
"""

_COUNTS = (r"$$\text{KAN: } \Big(\sum_l n_l\, n_{l+1}\Big)\,(G + k + 2)"
           r"\qquad\qquad \text{MLP: } \sum_l (n_l + 1)\, n_{l+1}$$")

_SMOOTH = """
The first target is smooth and built from pieces of one variable each:
"""

_SMOOTH_TEX = r"$$f(x, y) = \exp\big(\sin(\pi x) + y^2\big)$$"

_TRY = """
**Try it.** Move the budget slider (or focus it and use the arrow keys, or type a number).
The dashed line is your budget; everything in the shaded part costs too much. The ringed
dots are the best KAN and the best MLP you can afford, and the heatmaps show what each of
them actually computes, next to the target, with the size of its error underneath
(brighter means worse; the colour scale is logarithmic, so each step is a factor of ten).

On this target the KAN wins by a wide margin. That is no accident: the function is a sum and a
composition of smooth curves of one variable, which is exactly the shape a KAN is made of.
Each edge only has to learn a sine, a square or an exponential, and a spline gets such a
curve right very quickly as its grid gets finer. An MLP has to assemble the same curves out of
many copies of one fixed squashing function, and that takes many more parameters.

The staircase does not go down forever, though. With a fixed set of training points, a
fine enough grid starts to fit the quirks of the sample, and the test error stops improving.
"""

_MESSY = """
**A niche, not a law.** Now switch to the messy target: four inputs, a crease along a slanted
plane, a product that a ramp switches on and off, a wiggle that depends on two inputs at
once, and 10% noise on the training labels (the test points stay clean):
"""

_MESSY_TEX = "$$f(x_1, x_2, x_3, x_4) = " + MESSY.latex + "$$"

_COSTS = """
Nothing here splits neatly into smooth curves of one variable, so the KAN's special talent has
nothing to work on, and the noise puts a floor under everyone's error. Read the note next to the
heatmaps for what the numbers say: the advantage shrinks or turns around.

**The honest costs.** Parameters are not the only price. The readout shows how long one
gradient took for each of the two highlighted networks when these curves were made. In this
project's engine a KAN edge only evaluates the handful of B-spline pieces that are non-zero at
its input, so the two kinds of network land within a small factor of each other per parameter,
sometimes one ahead and sometimes the other. That is a property of the code, not of KANs: the
authors of the original KAN paper reported that their KANs trained about ten times slower than
MLPs with the same number of parameters. A KAN also brings choices an MLP does not have (the
grid size, the spline order, when to refine the grid) and extra work between steps, such as
moving the knots to follow the data. On smooth, structured problems in a few dimensions those
costs buy a great deal. On large, messy data an MLP is often still the better tool.
"""


def build(explorer=None):
    """The chapter; ``explorer`` is its main explorable, made here unless the caller (the URL) gave one."""
    return pn.Column(
        _md(_OPENING),
        _tex(_COUNTS),
        _md(_SMOOTH),
        _tex(_SMOOTH_TEX),
        explorer or BudgetExplorer(),
        _md(_TRY),
        _md(_MESSY),
        _tex(_MESSY_TEX),
        _md(_COSTS),
        sizing_mode="stretch_width",
    )
