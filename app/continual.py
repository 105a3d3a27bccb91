"""Chapter 11, learning without forgetting: local basis functions give local updates."""

import panel as pn

from widgets.continual import (DEFAULTS, LEARNING_RATE, MAX_STEPS, MLP_WIDTH, N_TRAIN, STOP_RMSE, ContinualLearning,
                               bump_width)

from .prose import md as _md, tex as _tex

_N = DEFAULTS["n_bumps"]

_OPENING = f"""
## Learning without forgetting

When you learn to cook a new dish, you do not forget how to ride a bike. Neural networks are
not always that lucky. Train one on a new batch of data and, unless you keep showing it the old
data too, it happily rewrites whatever it knew before. This is called **catastrophic
forgetting**, and it is one of the reasons networks are usually trained on everything at once,
shuffled, rather than one lesson after another.

Here is a small experiment in which a KAN behaves differently. The function to learn is a row
of {_N} equal bumps, one in the middle of each fifth of the range from −1 to 1:
"""

_SETUP = f"""
with centres *c*ₚ at −0.8, −0.4, 0, 0.4 and 0.8. The twist is in how the data arrive. The
range is cut into {_N} regions, one bump each, and learning happens in {_N} **phases**: in phase 1
the learner sees {N_TRAIN} samples from region 1 and nothing else, in phase 2 only samples from
region 2, and so on. Each phase starts from where the last one stopped, and nobody reminds the
learner of the earlier regions.

Two learners take the same course with the same rules. On the left is a KAN [1, 1]: a single
edge, whose curve is a cubic spline on a grid of *G* = {DEFAULTS["grid_size"]} spans. On the right
is an MLP [{", ".join(map(str, MLP_WIDTH))}] with tanh activations, a network with about as many
parameters. Both train with Adam (learning rate {LEARNING_RATE}) until their error on fresh
samples from the current region drops below {STOP_RMSE} (or {MAX_STEPS} steps have passed), and
both are saved after every phase. All of this really runs when the page opens; nothing below is
a drawing.
"""

_TRY = """
**Try it.** The figure opens after the last phase. Both learners have just finished region 5,
and both fit it well. Now look at the rest: the KAN's teal line still runs through every bump,
while the MLP's orange line has lost the bumps it learned first and wanders off somewhere else.

To see how that happened, replay the course. Press **Previous phase** until you reach phase 1,
or click the slider and use the arrow keys (Home and End jump to the first and last phase).
Then step forward one phase at a time and keep your eye on region 1. The shaded strip is the
region being taught; blue-grey dots with a white rim are the samples of this phase and faint
grey dots the ones from earlier phases, which the learner no longer sees. The table underneath
gives each learner's error on every region: bold for the region just taught, grey for regions
not taught yet (there the error is simply the size of a bump nobody has drawn).

You will see the MLP learn each new bump nicely and, in the same breath, bend the rest of its
curve out of shape. The KAN's errors on old regions stay at the level they reached when they
were taught.
"""

_WHY = """
## Why the KAN remembers

The KAN's curve is a weighted sum of B-spline basis functions, and each of them is non-zero on
only *k* + 1 = 4 neighbouring knot spans (you met them in chapter 4, *A learnable curve*). When training
nudges a coefficient *c*ᵢ, the gradient of the squared error is
"""

_WHY_AFTER = """
and *B*ᵢ(*x*ₙ) is zero for every sample that lies outside the little stretch where *B*ᵢ lives.
Samples from region 5 therefore only reach the coefficients whose bumps overlap region 5; the
coefficients that drew region 1 get a gradient of exactly zero and stay where they were. Training
on one place changes the curve there and in the few knot spans next to it, and nowhere else.

An MLP has no such thing. Each hidden unit computes tanh(*w x* + *b*), which is non-zero along
the whole line, and the output mixes all of them. To make a bump appear in region 5 the
optimizer adjusts weights that shape the curve everywhere, and since region 1 is no longer in
the data, nothing pulls it back.

**Locality is relative to the grid.** Switch the KAN's grid to *G* = 20. Now each basis
function spans 0.4, as wide as a whole region, so most coefficients that region 3 touches also
reach into region 2 or 4. The KAN cannot even draw one narrow bump well on such a coarse grid, and
teaching it a new region damages its neighbours: it forgets too. A finer grid gives more
local, and so more independent, pieces.
"""

_FINE_PRINT = """
## The fine print

A few details make this work, and they are worth knowing before you generalise from it.

- The KAN's two scale factors, which multiply the whole curve, are held fixed here (pykan's own
  version of this experiment does the same). If they were trained, each new region could
  stretch the whole curve and with it the old regions. Locality is a property of the spline
  coefficients, not of every parameter.
- The knots stay where they are. Training a KAN often moves the knots to where the data lie; in
  this course that would pile them all into the region being taught.
- This is a one-dimensional toy in which the regions do not overlap. With many inputs, or with
  deeper KANs whose inner layers mix the inputs before the splines see them, "a different part
  of the input" is much less clear-cut, and whether KANs escape forgetting on real sequences of
  tasks is still an open question. What the toy does show cleanly is the mechanism: **local basis
  functions give local updates.**

Change the number of bumps or the seed to run the course again with other samples and other
starting weights; it takes about a second.
"""


def build(explorer=None):
    """The chapter; ``explorer`` is its main explorable, made here unless the caller (the URL) gave one."""
    s = bump_width(_N)
    return pn.Column(
        _md(_OPENING),
        _tex(rf"$$f(x) = \sum_{{p=1}}^{{{_N}}} \exp\!\Big(-\Big(\frac{{x - c_p}}{{{s:g}}}\Big)^2\Big)$$"),
        _md(_SETUP),
        explorer or ContinualLearning(),
        _md(_TRY),
        _md(_WHY),
        _tex(r"$$\frac{\partial L}{\partial c_i} = \frac{2}{N} \sum_{n=1}^{N} "
             r"\big(\varphi(x_n) - y_n\big)\, w_s\, B_i(x_n),$$"),
        _md(_WHY_AFTER),
        _md(_FINE_PRINT),
        sizing_mode="stretch_width",
        css_classes=["kx-continual"],
    )
