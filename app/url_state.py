"""Every explorable's shareable state, declared once: it drives defaults, the page URL and parsing.

``STATE`` maps a chapter slug to its main explorable class and the names of the parameters a
link carries. Defaults, types and allowed ranges all come from those param declarations, so
adding a setting to a link is adding its name to the table. A link carries only the settings
that differ from their defaults, e.g. ``?chapter=snap&noise=0.2&seed=3``.

Parsing never trusts the text: each value is checked against its parameter (whole number,
number, yes/no, one of a list, short text, list of numbers) and its bounds; anything else falls
back to the default and is reported in a sentence for the page to show.
"""

import math
from dataclasses import dataclass
from urllib.parse import urlencode

import numpy as np
import param

from widgets.budget import BudgetExplorer
from widgets.continual import ContinualLearning
from widgets.costs import CostsExplorer
from widgets.flip import Flip
from widgets.grid_extension import GridExtension
from widgets.hero import Hero
from widgets.layer_trace import LayerTrace
from widgets.mlp_neuron import MLPNeuron
from widgets.pipeline import PipelineExplorer
from widgets.sandbox import SETTINGS as SANDBOX_SETTINGS, Sandbox
from widgets.snap import SnapExplorer
from widgets.spline_edge import SplineEdge
from widgets.training_lab import TrainingLab

MAX_TEXT = 200        # longest text value a link may carry (a typed formula)
MAX_ITEMS = 64        # most numbers in a list value (spline coefficients)
MAX_ABS = 1e6         # largest magnitude of a number in a list value
MAX_ECHO = 24         # characters of a rejected value echoed back in a notice
MAX_PROBLEMS = 4      # rejected settings listed one by one; the rest are counted


@dataclass(frozen=True)
class Shared:
    explorer: type
    keys: tuple


STATE = {
    "hero": Shared(Hero, ("view",)),
    "mlp-neuron": Shared(MLPNeuron, ("n_inputs", "x1", "x2", "x3", "w1", "w2", "w3", "bias", "activation")),
    "flip": Shared(Flip, ("form", "x1", "x2", "focus")),
    # shape first: the coefficients are read for the grid and order they were made on
    "spline-edge": Shared(SplineEdge, ("grid_size", "spline_order", "coef", "use_base", "scale_base", "scale_sp",
                                       "show_basis")),
    "layer": Shared(LayerTrace, ("x1", "x2", "x3", "view")),
    "grid-extension": Shared(GridExtension, ("mode", "grid_size", "noise", "seed")),
    "snap": Shared(SnapExplorer, ("target", "noise", "seed", "weight_simple", "snapped_to", "show_target")),
    "training-lab": Shared(TrainingLab, ("target", "formula", "hidden", "grid_size", "spline_order", "optimizer",
                                         "learning_rate", "n_samples", "noise", "seed", "speed", "stop_at_target",
                                         "target_rmse")),
    "budget": Shared(BudgetExplorer, ("target", "budget")),
    "pipeline": Shared(PipelineExplorer, ("target", "seed", "lamb")),
    "continual": Shared(ContinualLearning, ("n_bumps", "grid_size", "seed", "phase")),
    "costs": Shared(CostsExplorer, ("budget", "grid_size", "spline_order", "n_samples", "mlp_layers")),
    # the sandbox's whole state, as its model files record it
    "sandbox": Shared(Sandbox, SANDBOX_SETTINGS),
}


class Refused(ValueError):
    """A value a link may not set; the message says what is allowed."""


def _echo(text):
    shown = "".join(ch for ch in text if ch.isprintable())
    return shown if len(shown) <= MAX_ECHO else shown[:MAX_ECHO] + "…"


def _range(p):
    low, high = p.bounds if p.bounds else (None, None)
    if low is not None and high is not None:
        return f" from {fmt(low)} to {fmt(high)}"
    if low is not None:
        return f" of at least {fmt(low)}"
    if high is not None:
        return f" of at most {fmt(high)}"
    return ""


def _in_bounds(p, value):
    low, high = p.bounds if p.bounds else (None, None)
    return (low is None or value >= low) and (high is None or value <= high)


def fmt(value):
    """The text a link uses for ``value``; floats in their shortest exact form."""
    if isinstance(value, np.generic):       # numpy scalars: np.float64's repr is 'np.float64(...)'
        value = value.item()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value) or abs(value) >= 1e16:
            return repr(value)
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return ",".join(fmt(v) for v in value)
    return str(value)


def parse_value(p, text):
    """The value of parameter ``p`` that ``text`` stands for; raise Refused with the rule if none."""
    if isinstance(p, param.Boolean):
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise Refused("must be 1 (on) or 0 (off)")
    if isinstance(p, param.ListSelector):
        names = text.split(",") if text else []
        allowed = [fmt(c) for c in p.objects]
        if len(names) > MAX_ITEMS or not all(name in allowed for name in names):
            raise Refused("must be names from " + ", ".join(allowed) + ", separated by commas")
        return [p.objects[allowed.index(name)] for name in names]
    if isinstance(p, param.Selector):
        for choice in p.objects:
            if fmt(choice) == text:
                return choice
        choices = [fmt(c) for c in p.objects]
        listed = ", ".join(choices[:8]) + (", …" if len(choices) > 8 else "")
        raise Refused(f"must be one of {listed}")
    if isinstance(p, param.Integer):
        try:
            value = int(text)
        except ValueError:
            raise Refused(f"must be a whole number{_range(p)}") from None
        if not _in_bounds(p, value):
            raise Refused(f"must be a whole number{_range(p)}")
        return value
    if isinstance(p, param.Number):
        try:
            value = float(text)
        except ValueError:
            raise Refused(f"must be a number{_range(p)}") from None
        if not math.isfinite(value) or not _in_bounds(p, value):
            raise Refused(f"must be a number{_range(p)}")
        return value
    if isinstance(p, param.List):
        parts = text.split(",") if text else []
        if len(parts) > MAX_ITEMS:
            raise Refused(f"may list at most {MAX_ITEMS} numbers")
        try:
            values = [float(part) for part in parts]
        except ValueError:
            raise Refused("must be numbers separated by commas") from None
        if not all(math.isfinite(v) and abs(v) <= MAX_ABS for v in values):
            raise Refused(f"must be finite numbers no larger than {MAX_ABS:g} in size")
        return values
    if isinstance(p, param.String):
        if len(text) > MAX_TEXT or not text.isprintable():
            raise Refused(f"must be printable text of at most {MAX_TEXT} characters")
        return text
    raise Refused("cannot be set from a link")


def parse(slug, args, state=STATE):
    """``(params, problems)`` for chapter ``slug`` from a query's ``args`` ({key: text}).

    ``params`` holds the accepted values (to build the explorable with); ``problems`` holds one
    sentence per rejected or unknown setting (the caller takes ``chapter`` and the page-level
    keys out first).
    """
    shared = state.get(slug)
    keys = shared.keys if shared else ()
    params, problems = {}, []
    for key, text in args.items():
        if key not in keys:
            problems.append(f"'{_echo(key)}' is not a setting of this chapter, so it was left out")
            continue
        p = shared.explorer.param[key]
        try:
            params[key] = parse_value(p, text)
        except Refused as refused:
            problems.append(f"{key} = '{_echo(text)}' {refused}, so the default {fmt(p.default)} is used")
    return params, problems


def notice(problems):
    """One readable paragraph about the rejected settings of a link, or None if there are none."""
    if not problems:
        return None
    listed = problems[:MAX_PROBLEMS]
    more = len(problems) - len(listed)
    tail = f" ({more} more setting{'s' if more > 1 else ''} also could not be used.)" if more > 0 else ""
    return "Some settings in this link could not be used: " + "; ".join(listed) + "." + tail


def current(slug, explorer, state=STATE):
    """The chapter's settings that differ from their defaults, as link text ({key: text})."""
    shared = state.get(slug)
    if shared is None or explorer is None:
        return {}
    out = {}
    for key in shared.keys:
        p = explorer.param[key]
        value = getattr(explorer, key)
        if fmt(value) != fmt(p.default):
            out[key] = fmt(value)
    return out


def query(slug, settings, extra=None):
    """The URL query ('?chapter=…&…') for chapter ``slug`` with ``settings`` and page-level ``extra``."""
    items = [("chapter", slug)] if slug else []
    items += list(settings.items()) + list((extra or {}).items())
    return "?" + urlencode(items, safe=",") if items else ""
