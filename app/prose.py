"""How chapters set their words: a readable measure of prose and displayed equations."""

import panel as pn

_TEXT = {"max-width": "46rem", "font-size": "1.02rem"}


def md(text):
    """A block of narrative Markdown at a comfortable line length."""
    return pn.pane.Markdown(text, sizing_mode="stretch_width", styles=_TEXT)


def tex(text):
    """A typeset equation (KaTeX, served locally)."""
    return pn.pane.LaTeX(text, sizing_mode="stretch_width", styles={"font-size": "1.1rem"})
