"""The sandbox: the training lab with pruning, snapping, the recovered formula and model files, all at once."""

import panel as pn

from widgets.sandbox import Sandbox

from .prose import md

_OPENING = """
## Sandbox

No story here, no fixed path: this page has every tool from the lesson on one bench. Pick a target
(or type one), shape the network, train it, and read it in whatever order you like. The whole
network is drawn large at the bottom, one small curve per edge, and the formula it computes
appears underneath as soon as every edge in use has been snapped.

**A recipe to start with.** On the default target, set the sparsity penalty λ to 0.01 and press
**Play**. After a few hundred steps, **Prune**: faint edges disappear, and so do hidden nodes with
nothing left to do. Set λ back to 0 and train a little more, then press **Snap all** and watch the
edges turn red and dashed. A formula appears below the diagram; press **Play** once more and its
constants settle. Its error is measured on held-out points, exactly as printed.

Nothing here is final. **Unsnap all** gives the edges their curves back, **Extend grid** works
at any stage, and **Download model** saves the network with the settings that made its samples,
so you, a classmate or a teacher can load it later with **Import model** and carry on.
"""


def build(sandbox=None):
    """The chapter; ``sandbox`` is its explorable, made here unless the caller (the URL) gave one."""
    sandbox = sandbox or Sandbox()
    return pn.Column(md(_OPENING), sandbox, sizing_mode="stretch_width", css_classes=["kx-sandbox"])
