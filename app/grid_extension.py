"""Chapter 6, grid extension: the grid size G sets how much detail a spline can hold."""

import panel as pn

from widgets.grid_extension import GridExtension, TARGET

from .prose import md as _md, tex as _tex


_OPENING = """
## Grid extension: more knots, finer curve

A KAN has two separate kinds of size. Its **shape**, such as [1, 1] or [2, 5, 1], says which
curves exist and how they are wired together. Its **grid size** *G* says how finely each of
those curves can bend: the input range is cut into *G* equal spans, and a cubic spline gets
*G* + 3 coefficients to play with. You can change *G* without touching the shape, so it is a
precision knob of its own. How far should you turn it?

Below, the teal curve is the function we are after,
"""

_DATA = """
but all we get to see are 100 noisy **train** samples of it (blue-grey dots). Another 100 samples,
drawn the same way, are kept aside as a **test** set (hollow triangles); the fit never sees
them, so they tell us how well it does on data it was not built from. The orange curve is the
best spline with *G* spans in the least-squares sense: of all the curves with *G* + 3
coefficients, it is the one whose squared distances to the train samples add up to the least.
"""

_TRY = """
**Try it.** Drag the grid slider, or click it and press ← → (Home and End jump to the ends);
the box beside it takes a typed number. The plot on the right holds the errors of the fits for
every *G* from 2 to 200, computed once for these samples; the orange line marks where you are.

- With a handful of spans the spline is too stiff: it cuts straight through the narrow bump.
- Around the starred *G* it has enough freedom for the wave and the bump, and the test error is
  as low as it gets, close to the dotted noise level, below which no curve can go on noisy data.
- Keep going and the train error still falls, but the test error turns and climbs: the extra
  spans are spent on copying the noise of the particular samples. Past the dotted vertical line,
  where *G* + 3 reaches the 100 train samples, the spline can pass through every one of them and
  swings wildly in between: the test error leaves the plot.

That is the whole lesson of the U shape: **past the detail that the data really contains, a
finer grid buys nothing but overfitting.** Change the noise or draw new samples and watch the
best *G* move: cleaner data can support a finer grid.
"""

_EXTENSION = """
## Refining a trained network

In a real KAN the spline is not fitted in one go; it is trained by small optimisation steps
together with everything else. A common recipe is to start coarse, where training is quick and
stable, and make the grid finer as training goes on. The step that makes it finer is called
**grid extension**. It must not throw away what was learned, so the new coefficients are chosen
to make the new, finer spline as close as possible to the old one, s(x): once more a
least-squares fit, this time onto the finer basis,
"""

_EXTENSION_AFTER = """
where the *x*ₘ are many points spread over the grid. Here each new grid is twice as fine as the
old one, so every old knot is still a knot, the old curve is one of the curves the new grid can
draw, and the copy is exact up to rounding. (On a grid that does not contain the old knots, say
from 3 spans to 5, the copy is close but not exact.)

**Try it.** Switch to *Extend during training*. A KAN [1, 1], a single edge whose curve is a
pure spline, has been trained for 50 L-BFGS steps on the same samples with *G* = 3. Press
**Extend grid**: the wide dashed curve (before) and the thin solid one (after) lie on top of
each other, and the message prints how far apart they are. Nothing has improved yet; the curve
has only been rewritten with more coefficients. Now press **Train 50 steps** and the new
coefficients get to work: the error drops to a new level, close to the best least-squares
spline on that grid. Extend and train a few times and the error plot falls in a staircase, one
step per extension. Keep an eye on the test error at the finest grid: the U from above is
waiting there.
"""


def build(explorer=None):
    """The chapter; ``explorer`` is its main explorable, made here unless the caller (the URL) gave one."""
    return pn.Column(
        _md(_OPENING),
        _tex(f"$${TARGET.latex}$$"),
        _md(_DATA),
        _tex(r"$$\min_{c_0,\dots,c_{G+2}} \; \sum_{n=1}^{100} "
             r"\Big(y_n - \sum_{i=0}^{G+2} c_i\,B_i(x_n)\Big)^2$$"),
        explorer or GridExtension(),
        _md(_TRY),
        _md(_EXTENSION),
        _tex(r"$$c' = \arg\min_{c'} \sum_{m} \Big(s(x_m) - \sum_{i=0}^{G'+2} c'_i\,"
             r"B'_i(x_m)\Big)^2, \qquad G' > G$$"),
        _md(_EXTENSION_AFTER),
        sizing_mode="stretch_width",
    )
