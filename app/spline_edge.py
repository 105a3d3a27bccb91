"""Chapter 4, a learnable curve: how one KAN edge stores a function as a few coefficients."""

import panel as pn
import panel_material_ui as pmui

from widgets.spline_edge import BezierAside, SplineEdge

_TEXT = dict(sizing_mode="stretch_width", styles={"font-size": "1.05rem", "max-width": "46rem"})

_OPENING = """
## A learnable curve: one B-spline edge

Every connection in a KAN carries a curve of one variable, and training has to be able to
reshape it. A computer cannot store "any curve", so the KAN stores a short list of numbers and
builds the curve from them. The building blocks are small bumps called **B-splines**: each bump
is zero everywhere except on a short stretch of the input, and each gets its own weight.
The edge's curve is the weighted sum of the bumps, plus a fixed smooth term that the network
can scale:
"""

_EQUATION = r"$$\displaystyle\phi(x) \;=\; w_b\,\mathrm{silu}(x) \;+\; w_s \sum_{i=0}^{G+k-1} c_i\,B_i(x)$$"

_PARTS = """
Here *G* is the number of intervals the input range [−1, 1] is cut into, *k* is the degree of
the polynomial pieces, the *Bᵢ* are the fixed bumps (drawn faint grey) and the coefficients
*cᵢ* are what training changes (one teal dot each). The bumps also spill *k* intervals past
each end of the range, the shaded "extension", so the curve fades out gently there instead
of stopping dead.
"""

_TRY = """
**Try it.** Drag a dot up or down, or click one and use the ↑ and ↓ keys (hold Shift for bigger
steps; ← and → move to the next dot). The shaded band shows the only stretch of input that
coefficient can touch: exactly *k* + 1 intervals wide. Outside it the curve does not move at
all. Compare with the dotted line, which shows the curve as it was before this coefficient
moved. That is **locality**, and it is why a KAN can refine one region of a function without
spoiling the rest.

Now change *G* or *k*. The curve is not thrown away: its shape is re-expressed on the new
bumps by a least-squares fit, so with more intervals it stays almost exactly where it was,
while fewer intervals or a lower order can only approximate it. Set *k* = 0 to see steps and
*k* = 1 to see straight pieces with the curve passing right through the dots. Switch on the
SiLU term to see the part of the edge that is not a spline: it keeps the edge useful for inputs
beyond the bumps.
"""

_ASIDE_TEXT = """
**Curves from repeated blending.** Pick a fraction *t* between 0 and 1 and slide a point that
fraction of the way along each side of the control polygon; join those new points and do it
again, until one point is left. That point traces a smooth Bézier curve as *t* runs from 0 to 1
(de Casteljau's construction). B-splines are made the same way, except the blend fractions come
from the knots, so each piece of curve only listens to its *k* + 1 nearest coefficients.

**Why many small pieces?** One polynomial of high degree forced through many points tends to
swing wildly between them near the ends (Runge's phenomenon). Low-degree pieces joined at the
knots stay calm, and moving one point only disturbs its neighbourhood.

**Smooth joins.** Pieces of degree *k* can be joined so the value and the first *k* − 1
derivatives agree at every knot: order 1 gives a continuous curve with corners (C⁰),
order 2 also matches the slope (C¹), and the usual cubic, order 3, matches the curvature too (C²).
"""


def build(explorer=None):
    """The chapter; ``explorer`` is its main explorable, made here unless the caller (the URL) gave one."""
    edge = explorer or SplineEdge()
    aside = pmui.Card(
        pn.pane.Markdown(_ASIDE_TEXT, **_TEXT),
        BezierAside(),
        title="Aside: where B-splines come from",
        collapsed=True,
        sizing_mode="stretch_width",
    )
    return pn.Column(
        pn.pane.Markdown(_OPENING, **_TEXT),
        pn.pane.LaTeX(_EQUATION, sizing_mode="stretch_width", styles={"font-size": "1.15rem"}),
        pn.pane.Markdown(_PARTS, **_TEXT),
        edge,
        pn.pane.Markdown(_TRY, **_TEXT),
        aside,
        sizing_mode="stretch_width",
    )
