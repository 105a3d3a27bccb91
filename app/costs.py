"""Chapter 12, costs and choices: the two networks side by side, a training step timed live, the
knobs a KAN adds, and a short guide to choosing."""

import panel as pn

from widgets.costs import CostsExplorer

from .prose import md, tex

_OPENING = """
## Costs and choices

By now you have seen what a KAN is good at: every edge is a curve you can look at, and on smooth,
structured problems it reaches a small error with few parameters. Nothing comes for free, though.
This chapter sets the two kinds of network side by side, times them on the very computer that is
serving you this page, lists the extra knobs a KAN hands you, and ends with a short guide to
choosing between them.

### Side by side
"""

_STOPWATCH = """
### What one training step costs

Parameter counts are one price; time is another. The stopwatch below does not train anything
useful: it times. Both networks read two inputs (samples of the same smooth function as in the
parameter budget chapter), and one *step* is what training does over and over: the error and its
gradient on all N samples, then one Adam update. The KAN has one hidden layer, [2, h, 1], with h
picked so that its parameter count lands near your budget; the MLP is then given as nearly the same
count as its shape allows, within a few percent. Each model takes a handful of steps, taking turns,
and the median time is shown. The plot repeats this at a few other sizes.

**Try it.** Press *Measure again* a few times and watch how much the numbers move: this is a real
measurement on a shared machine, not a table from a book. Then change one thing at a time.

*For teachers:* if the MLP's times jump about wildly, its matrix library is probably splitting the
work over processor cores that are busy with other things. Starting the server with
`OPENBLAS_NUM_THREADS=1`, as the README suggests for a classroom, keeps it steady.
"""

_WHY = r"""
**What to look for.** With the default settings (grid G = 5, cubic splines) the KAN's step takes
longer per parameter than the MLP's, and the gap tends to widen as both grow. The reason is the kind
of work each does. Almost everything an MLP computes is a matrix product: one multiply and one add
per weight per sample, done by routines that have been tuned for decades. A KAN edge has to find
which knot span its input falls in, work out the k + 1 B-spline pieces that are not zero there, add
the SiLU term, and then do it all again backwards for the gradient. That is a few dozen operations per
edge per sample, in a loop written for this project.

Now raise G. The KAN gains parameters, since every edge stores G + k + 2 numbers, but its step
hardly slows down, because only k + 1 pieces are ever evaluated per input however fine the grid is.
By G = 50 the two are close per parameter. That is not a free lunch: a finer grid only pays when the
data have that much detail (remember the U-shaped error curve in the grid extension chapter). Try
the MLP with one hidden layer as well: each of its hidden units holds only four parameters but needs
a tanh for every sample, so per parameter it draws level with the KAN, or falls behind it as the
networks grow. In rough terms, with *E* edges, *N* samples and *n*<sub>*l*</sub> nodes in layer *l* of the MLP:
"""

_WORK = (r"$$\begin{array}{lll} & \text{parameters}\qquad & \text{work per step} \\[2pt]"
         r"\text{KAN}\qquad & E\,(G+k+2) & \propto N\,E\,(k+1) \\[2pt]"
         r"\text{MLP}\qquad & \sum_l (n_l+1)\,n_{l+1}\qquad & \propto N \sum_l n_l\,n_{l+1}\end{array}$$")

_HONEST = """
These are this project's KAN and MLP on this machine, and other code lands elsewhere. The authors of
the original KAN paper reported that their KANs trained about ten times slower than MLPs with the
same number of parameters; their code computes every basis function at every input, zero or not, and
was not written for speed. And the graphics cards that do most of today's training are built for
exactly the dense matrix products an MLP is made of. The stopwatch also times a cost that only the
KAN has: every so often during training its knots are moved to follow the data.

### The extra knobs a KAN brings

An MLP asks you for a width, a depth and an activation. A KAN asks for a width and a depth too, and
then for four more things:

- **Grid size G**: how many knot spans each edge's curve has. More spans make finer curves and more
  parameters per edge; past the detail in the data the curves start to copy the noise. Start small,
  with 3 to 5.
- **Spline order k**: the degree of each polynomial piece. Cubic (k = 3) is the usual choice: the
  pieces join smoothly and each coefficient bends only four neighbouring spans. A higher order costs
  time on every step, as the stopwatch shows, and seldom helps.
- **When to move the knots**: early in training the knots are shifted to where the samples actually
  are (here every 5 steps during the first 50, the same schedule as pykan's default). That puts the
  detail where the data are, at the price shown above, and it is one more schedule to choose.
- **Grid extension**: train on a coarse grid, then refine it and carry on, for example with
  G = 3, 5, 10, 20. You decide when to extend (when the training error levels off) and when to stop
  (when the error on held-out data stops falling).

### Choosing between them

A rule of thumb, not a law:

- **Try a KAN** when there are few inputs (up to a dozen or so), the relationship is smooth and
  probably built from simple pieces, and you want to look inside afterwards: to check a model, to
  find a law, to get a formula you can write down. Start with something like [n, 5, 1], G = 3 to 5
  and k = 3, extend the grid step by step, then sparsify, prune and snap, as Part III shows.
- **Use an MLP** when there is a lot of data with many inputs (pixels, sounds, words), when the
  target is messy rather than built from smooth pieces (the messy target of the parameter budget
  chapter), when training time or hardware matters most, or when you need the tools that already
  exist for MLPs.
- **Not sure?** Train both at the same parameter budget and compare two numbers: the error on
  held-out data, as in the parameter budget chapter, and the time, as above. That small experiment
  usually settles it.

A KAN trades some speed, and a few more decisions, for parameters that mean something.
"""


def build(explorer=None):
    """The chapter; ``explorer`` is its main explorable, made here unless the caller (the URL) gave one."""
    explorer = explorer or CostsExplorer()
    return pn.Column(
        md(_OPENING),
        explorer.summary,
        md(_STOPWATCH),
        explorer.stopwatch,
        md(_WHY),
        tex(_WORK),
        md(_HONEST),
        sizing_mode="stretch_width",
        css_classes=["kx-costs"],
    )
