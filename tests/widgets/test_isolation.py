"""No student's state at module or class level: every explorable is used, and nothing shared changes.

The explorables are found by scanning the ``widgets`` package, so a new one is checked without
anyone adding it here (a module that does not import is reported and skipped: it is being written).
Each is instantiated, shown (its Bokeh models built in a document) and used: every parameter is
set to another allowed value, and the training lab also ticks. Afterwards

- every class-level parameter default (and a selector's choices and a number's bounds) is as it
  was before any instance existed,
- an instance made after all that starts exactly like one made before it, and
- no module-level container (dict, list, set, array) of ``widgets``, ``kan_core`` or ``app`` changed.
"""

import copy
import importlib
import inspect
import pkgutil
import warnings

import numpy as np
import panel as pn
import param
from bokeh.document import Document

import app
import kan_core
import widgets

# Explorables that cannot be made without arguments, and the arguments to make them with.
REQUIRED_ARGS = {
    "NetworkDiagram": lambda: {"model": kan_core.KAN([2, 3, 1], grid=3, seed=0)},
}
# Methods that act like a student pressing a button, called where a class has them (no arguments).
ACTIONS = ("step_once", "tick", "extend_grid", "compare_mlps", "play", "tick", "pause", "reset")
MUTABLE = (dict, list, set, bytearray, np.ndarray)


def _modules(package, skip=()):
    found, skipped = [], []
    for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
        if info.name in skip:
            continue
        try:
            found.append(importlib.import_module(info.name))
        except Exception as error:     # being written by someone else: skip, but say so
            skipped.append(f"{info.name}: {error!r}")
    return found, skipped


def explorable_classes():
    modules, skipped = _modules(widgets)
    classes = []
    for module in modules:
        for obj in list(vars(module).values()):
            if (inspect.isclass(obj) and issubclass(obj, pn.viewable.Viewer) and obj.__module__ == module.__name__
                    and not inspect.isabstract(obj)):
                classes.append(obj)
    return sorted(classes, key=lambda c: (c.__module__, c.__name__)), skipped


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and \
            np.array_equal(a, b, equal_nan=True)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if hasattr(a, "to_dict") and hasattr(b, "to_dict") and type(a) is type(b):   # a KAN or an MLP
        return _same(a.to_dict(), b.to_dict())
    if isinstance(a, param.Parameterized) or isinstance(b, param.Parameterized):
        return type(a) is type(b)      # e.g. a model object: its own class checks cover it
    try:
        return bool(a == b) or (a != a and b != b)
    except Exception:
        return repr(a) == repr(b)


def _snapshot(value):
    try:
        return copy.deepcopy(value)
    except Exception:
        return repr(value)


def class_defaults(cls):
    """Every parameter's default and, where it has them, its choices and bounds."""
    snap = {}
    for name, p in cls.param.objects("existing").items():
        snap[name] = {"default": _snapshot(p.default)}
        if hasattr(p, "objects"):
            names = getattr(p, "names", None)
            snap[name]["objects"] = (_snapshot(list(p.objects)), _snapshot(dict(names) if names else None))
        if getattr(p, "bounds", None) is not None:
            snap[name]["bounds"] = _snapshot(p.bounds)
    return snap


def instance_values(obj):
    return {name: _snapshot(value) for name, value in obj.param.values().items() if name != "name"}


def module_state(modules):
    """{module.name: snapshot} of every module-level mutable container."""
    state = {}
    for module in modules:
        for name, value in list(vars(module).items()):
            if isinstance(value, MUTABLE) and not name.startswith("__"):
                state[f"{module.__name__}.{name}"] = _snapshot(value)
    return state


def other_value(p, current):
    """A different allowed value for parameter p, or None to leave it alone."""
    if p.constant or p.readonly or isinstance(p, (param.Event, param.Action, param.Callable)):
        return None
    if isinstance(p, param.Boolean):
        return not current
    if isinstance(p, (param.ListSelector,)):
        options = list(p.objects.values()) if isinstance(p.objects, dict) else list(p.objects)
        return options[:1] if current != options[:1] else options[:2]
    if isinstance(p, param.Selector):
        options = list(p.objects.values()) if isinstance(p.objects, dict) else list(p.objects)
        others = [o for o in options if not _same(o, current)]
        return others[len(others) // 2] if others else None
    if isinstance(p, param.Integer) and current is not None:
        low, high = p.bounds or (None, None)
        up = current + 1
        return up if high is None or up <= high else (current - 1 if low is None or current - 1 >= low else None)
    if isinstance(p, param.Number) and current is not None:
        low, high = p.bounds or (None, None)
        for candidate in (current * 0.5 + (high if high is not None else current + 1) * 0.5,
                          current * 0.5 + (low if low is not None else current - 1) * 0.5):
            if candidate != current and (low is None or candidate >= low) and (high is None or candidate <= high):
                return candidate
        return None
    if isinstance(p, param.List) and current and all(isinstance(v, (int, float)) for v in current):
        changed = list(current)
        changed[0] = changed[0] * 0.5 + 0.1
        return changed
    return None


def use(obj):
    """Show obj and set each of its parameters to another value, then press its buttons."""
    doc = Document()
    doc.add_root(pn.panel(obj).get_root(doc))
    for name, p in obj.param.objects("existing").items():
        if name == "name" or p.owner in (pn.viewable.Viewer, param.Parameterized):
            continue
        value = other_value(p, getattr(obj, name))
        if value is None:
            continue
        try:
            setattr(obj, name, value)
        except ValueError:
            pass                    # a value the explorable refuses is fine: it said so
    for action in ACTIONS:
        method = getattr(obj, action, None)
        if callable(method) and not inspect.signature(method).parameters:
            method()
    cleanup = getattr(obj, "cleanup", None)
    if callable(cleanup):
        cleanup()


def make(cls):
    return cls(**REQUIRED_ARGS.get(cls.__name__, dict)())


def test_the_scan_finds_the_explorables():
    classes, _ = explorable_classes()
    names = {c.__name__ for c in classes}
    assert {"SplineEdge", "TrainingLab", "Flip", "MLPNeuron", "BudgetExplorer"} <= names


def test_using_every_explorable_changes_no_class_or_module_state():
    classes, skipped = explorable_classes()
    modules = [*_modules(kan_core)[0], *_modules(widgets)[0], *_modules(app, skip={"app.main"})[0]]
    defaults = {cls: class_defaults(cls) for cls in classes}
    shared = module_state(modules)
    before = {cls: instance_values(make(cls)) for cls in classes}

    for cls in classes:
        use(make(cls))

    problems = []
    for cls in classes:
        label = f"{cls.__module__}.{cls.__name__}"
        now = class_defaults(cls)
        for name, snap in defaults[cls].items():
            for key, value in snap.items():
                if not _same(value, now[name][key]):
                    problems.append(f"{label}.param.{name} {key} changed from {value!r:.80} to {now[name][key]!r:.80}")
        fresh = instance_values(make(cls))
        for name, value in before[cls].items():
            if not _same(value, fresh[name]):
                problems.append(f"a new {label} starts with {name} = {fresh[name]!r:.80}, not {value!r:.80}")
    after = module_state(modules)
    for name in sorted(set(shared) | set(after)):
        if name not in shared or name not in after or not _same(shared[name], after[name]):
            problems.append(f"module-level {name} changed")
    assert not problems, "State shared between students changed:\n" + "\n".join(problems)
    if skipped:
        warnings.warn("checked every explorable that imports; not importable now: " + "; ".join(skipped))
