"""The colour key: a short line sample drawn in each role's style, with words beside it."""

import panel as pn

from widgets.theme import LINE, MEANING

_DASHES = {"solid": "", "dashed": "6 4"}

_CSS = """
.kx-legend { font-size: 0.9rem; line-height: 1.35; }
.kx-legend h3 { font-size: 0.95rem; margin: 0 0 0.4rem 0; }
.kx-legend ul { list-style: none; margin: 0; padding: 0; }
.kx-legend li { display: flex; gap: 0.6rem; align-items: flex-start; margin: 0 0 0.45rem 0; }
.kx-legend svg { flex: 0 0 auto; margin-top: 0.35rem; }
"""


def _sample(style):
    # Thin scaffolding lines are drawn a little wider here so the sample can be seen at all.
    dash = _DASHES[style["line_dash"]]
    return (
        '<svg width="40" height="10" viewBox="0 0 40 10" aria-hidden="true">'
        f'<line x1="2" y1="5" x2="38" y2="5" stroke="{style["line_color"]}" '
        f'stroke-width="{max(style["line_width"], 2.5)}" stroke-opacity="{style["line_alpha"]}" '
        f'stroke-dasharray="{dash}" stroke-linecap="butt"/></svg>'
    )


def legend_html():
    rows = "".join(
        f'<li>{_sample(LINE[role])}<span><b>{name}</b>: {words}</span></li>'
        for role, (name, words) in MEANING.items()
    )
    return f'<div class="kx-legend" role="note"><h3>Colour key</h3><ul>{rows}</ul></div>'


def legend():
    return pn.pane.HTML(legend_html(), stylesheets=[_CSS], css_classes=["kx-legend-pane"],
                        sizing_mode="stretch_width", margin=(10, 12))
