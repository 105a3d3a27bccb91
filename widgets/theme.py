"""The app's colour language, defined once so every figure and the legend agree.

Each role pairs a colour with a line style, because colour must never be the only cue:
the target and the KAN are solid teal, a fit in progress and the MLP are solid orange,
fixed scaffolding is thin faint grey, and a snapped edge is dashed red.
"""

TEAL = "#00897b"
ORANGE = "#ef6c00"
GREY = "#9e9e9e"
RED = "#d32f2f"

# Marks that carry no role (errors, samples, guide lines) and sit straight on a figure: blue grey 500
# keeps about 4.4:1 against the light theme's white and the dark theme's #121212 alike, since the
# page theme recolours a figure's background but never its glyphs. (Words in dark ink get a white
# box behind them instead, which reads the same in both themes.)
NEUTRAL = "#607d8b"

# Bokeh glyph keyword arguments for each role, e.g. ``fig.line(x, y, **LINE["fit"])``.
LINE = {
    "target": {"line_color": TEAL, "line_width": 3, "line_alpha": 1.0, "line_dash": "solid"},
    "fit": {"line_color": ORANGE, "line_width": 2.5, "line_alpha": 1.0, "line_dash": "solid"},
    "scaffold": {"line_color": GREY, "line_width": 1.5, "line_alpha": 0.55, "line_dash": "solid"},
    "snapped": {"line_color": RED, "line_width": 2.5, "line_alpha": 1.0, "line_dash": "dashed"},
}

# What each role means to the reader, in the order the legend lists them.
MEANING = {
    "target": ("Teal, solid", "the target function, and the KAN's own learned curve"),
    "fit": ("Orange, solid", "a fit being made, and the MLP when the two are compared"),
    "scaffold": ("Grey, faint", "fixed scaffolding: basis bumps, knots, the SiLU base curve"),
    "snapped": ("Red, dashed", "an edge snapped to a formula you can write down"),
}
