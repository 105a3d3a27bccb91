"""Chapter 10, from network to formula: sparsify, prune, snap, retrain, and read off the law."""

import panel as pn

from widgets.pipeline import EDGE_TH, RETRAIN_STEPS, SETTLE_STEPS, TRAIN_STEPS, PipelineExplorer

from .prose import md as _md, tex as _tex


_OPENING = """
## From network to formula

Chapter 7 turned one learned curve into a formula. Here we go all the way: a whole network,
trained on nothing but samples, is boiled down until what is left can be written on one line.

Think of a lab notebook full of measurements of some quantity that depends on two settings,
x and y. Somewhere behind the numbers is a law. Below, 1,000 samples were drawn from a law we
know, so that we can check the answer at the end:
"""

_LAW = r"$$f(x, y) = \exp\big(\sin(\pi x) + y^2\big)$$"

_NETWORK = """
The KAN that learns it has shape [2, 5, 1]: two inputs, five hidden nodes, one output, and
15 edges, each a spline described by ten numbers. The law needs far less: a curve for x,
a curve for y, and one outer curve that bends their sum. The job is to get the network to
discover that on its own, and then to read it off.

The page has already started step 1 for you. Watch the diagram while it trains, then press
the buttons in order. Each one does one stage, and the status line says what just happened.
"""

_STEPS = """
### What each button does

**1 · Train with a sparsity penalty.** Plain training lets every edge pitch in a little,
which fits the data but hides the structure. So the error that training lowers gets an extra
charge for every edge that is busy. Write |φ| with a bar over it for how big an edge's output
is on average over the samples. The charge adds up those sizes (the L1 part) and, per layer, an
entropy that is small when a few edges do the work and large when the work is spread evenly
(it counts twice, as in pykan, the reference KAN library):
"""

_PENALTY = (r"$$\text{loss} = \text{mean squared error} + \lambda \sum_{\text{layers}} \Big("
            r"\sum_{\text{edges}} \overline{|\varphi|} \;+\; 2 \cdot \big(-\textstyle\sum p \log p\big)\Big)$$")

_SHARE = r"$$\text{where } p = \overline{|\varphi|} \,\big/ \textstyle\sum_{\text{edges}} \overline{|\varphi|}$$"

_PRUNE = f"""
λ sets the price. Over {TRAIN_STEPS} L-BFGS steps, edges that the law does not need shrink
towards zero, and the diagram draws them fainter and fainter (how strongly an edge is drawn is
its share of the output's importance).

**2 · Prune.** Every edge with less than {EDGE_TH:.0%} of the importance is cut, and a hidden
node with nothing left going in or out is removed. The cut costs a little accuracy, so
{SETTLE_STEPS} more steps, now without the penalty, let the remaining edges take over the work.

**3 · Snap.** Each surviving edge is compared with every function in the library (the buttons
next to *Snap may choose from*), stretched and shifted to c·f(a·x + b) + d, and replaced by the
best one, exactly as in chapter 7. Snapped edges turn red and dashed. Tap one in the diagram
to see it large, or pick it from the list under the diagram.

**4 · Retrain the constants.** Each edge was snapped on its own, to a curve that was itself only
nearly right, so the formulas do not yet fit together as well as they could. Nothing in the
network is a spline any more: the only numbers left to train are the four constants of each
formula, and {RETRAIN_STEPS} steps tune them all together.

**5 · Show the formula.** The network now *is* a formula: each node adds up its formulas, and
the outer edge wraps the sum. It is printed typeset and as plain text, and its error is
measured on 1,000 held-out points the network never trained on, using the text exactly as
printed (rounded to four decimals).
"""

_TRY = """
### Try this

- **Read the answer.** With the defaults the formula comes out as exp(sin(3.1416·x) + y²):
  3.1416 is π, found from the samples alone.
- **Switch the penalty off.** Set λ to 0 and press 1 · Train. Every edge stays busy, pruning
  cuts almost nothing, and after snapping you get a long tangle of sines. It fits the samples,
  yet it tells you nothing. The penalty is what makes the network readable.
- **Multiply.** Pick x · y. A product is not a sum of curves of one variable, yet a KAN finds a way:
  two hidden nodes, each adding x and y in some proportion, and two squares on the way out.
  That is the identity xy = ¼((x + y)² − (x − y)²), rediscovered.
- **Offer a wrong tool.** With x · y, add sin to the library before you press 3 · Snap (or after:
  the network then goes back to its pruned state, ready to snap again). Near the top of its hump
  a sine looks just like a parabola, and sin fits the spline a hair better, so it wins. The formula still fits, but with big, strange
  constants. The library is a guess about what the law is made of, and it matters.
- **Charge too much.** With x · y, set λ to 0.05 and train. Now staying quiet is cheaper than
  being right: the network learns next to nothing, and the status line tells you so.
- **Change the starting network.** Try seeds 0 to 7. Some runs share the work between two hidden
  nodes; the formula still fits, but comes out as a tangle with huge constants. With x · y, a few
  seeds end with a formula that misses badly although the network fitted well: a snap went wrong,
  and retraining the constants cannot repair it. Sparsity is a nudge, not a guarantee.
"""

_CLOSING = """
This is the promise of the KAN paper in one page: sparsify, prune, snap, and a trained network
can hand back a law instead of a pile of weights. Keep the fine print in mind, though. It works
when the law really is built from a few functions of one variable that are in the library,
and a person still has to look at the result and decide whether it makes sense. The test error
is the first thing to check: a formula that is off by a lot is a hint, not a discovery.
"""


def build(explorer=None):
    """The chapter; ``explorer`` is its main explorable, made here unless the caller (the URL) gave one."""
    return pn.Column(
        _md(_OPENING),
        _tex(_LAW),
        _md(_NETWORK),
        explorer or PipelineExplorer(),
        _md(_STEPS),
        _tex(_PENALTY),
        _tex(_SHARE),
        _md(_PRUNE),
        _md(_TRY),
        _md(_CLOSING),
        sizing_mode="stretch_width",
    )
