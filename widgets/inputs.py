"""Number boxes and sliders that keep whatever the page sends within their bounds, and number
boxes whose − and + buttons have names a screen reader can say.

The page stops a student at a box's bounds, but an emptied box, a pasted or mistyped number, or a
message from somewhere else can still bring -5, 10⁹, NaN or nothing at all. A box made with
``from_param`` passes that on to a bounded parameter, which raised an error in the server and left
the box showing the refused value. These classes clamp such a value to [start, end] (or keep the
last good one if it is not a number) before anything else sees it, put the value used back in the
box, and say what happened under the box (a slider only moves back).

Use them exactly like the Material UI widgets: ``BoundedIntInput.from_param(self.param.grid_size, ...)``.

Material UI draws a number box's − and + as icons in unnamed buttons; every box here names them
"Decrease <label>" and "Increase <label>" with CSS alternative text (``content: "\\200b" / "name"``),
which the browser reads as the button's name: no script, and it survives every redraw.
"""

import contextlib
import math
import threading
import time

import panel_material_ui as pmui
import param


def _shown(value):
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return "not a number" if math.isnan(value) else ("∞" if value > 0 else "−∞")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = f"{value:,}" if isinstance(value, int) and abs(value) < 10**15 else f"{value:.6g}"
        return text.replace("-", "−")
    return repr(value)[:24]


class _Clamped:
    """Mixin: the browser's ``value`` is clamped to [start, end] in ``_process_property_change``."""

    def _clamp(self, value):
        """(value to use, sentence or '') for a value that came from the page."""
        old = self.value
        integer = isinstance(self.param["value"], param.Integer)
        label = self.label or "This box"
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            return old, f"{label}: type a number; it stays {_shown(old)}."
        if math.isnan(value):
            return old, f"{label}: that is not a number; it stays {_shown(old)}."
        low, high = self.start, self.end
        used = value
        if low is not None and used < low:
            used = low
        if high is not None and used > high:
            used = high
        if math.isinf(used):
            return old, f"{label}: that number is too large; it stays {_shown(old)}."
        if integer:
            used = int(round(used))
        if used == value:
            return used, ""
        span = f"goes from {_shown(low)} to {_shown(high)}" if low is not None and high is not None else \
            (f"is at least {_shown(low)}" if low is not None else f"is at most {_shown(high)}")
        whole = " in whole numbers" if integer else ""
        return used, f"{label} {span}{whole}; {_shown(value)} became {_shown(used)}."

    def _process_property_change(self, msg):
        msg = super()._process_property_change(msg)
        if "value" in msg:
            incoming = msg["value"]
            msg["value"], note = self._clamp(incoming)
            self._clamp_note = (note, not isinstance(incoming, (int, float)) or msg["value"] != incoming)
        return msg

    def _process_events(self, events):
        self._clamp_note = None
        try:
            super()._process_events(events)
        finally:
            note = self._clamp_note
            self._clamp_note = None
        if note is None:
            return
        sentence, changed = note
        if "helper_text" in self.param and (sentence or self._clamp_said):
            self.param.update(helper_text=sentence, error_state=bool(sentence))
            self._clamp_said = bool(sentence)
        if changed:
            self.param.trigger("value")       # the page shows the value used, not the one typed

    _clamp_note = None
    _clamp_said = False


def _css_string(text):
    """``text`` as the body of a double-quoted CSS string."""
    return "".join(f"\\{ord(ch):x} " if ch in '"\\' or not ch.isprintable() else ch for ch in text)


def step_names_css(label):
    """A stylesheet naming a number box's buttons "Decrease <label>" and "Increase <label>".

    The generated content is a zero-width space, not "": Chromium drops the alternative text of an
    empty ::after in a button laid out as a flex item, which these buttons are.
    """
    label = _css_string(label.strip() if label else "")
    button = ".MuiInputAdornment-position{} .MuiIconButton-root::after"
    return (f'{button.format("Start")} {{ content: "\\200b" / "Decrease {label}"; }}\n'
            f'{button.format("End")} {{ content: "\\200b" / "Increase {label}"; }}\n')


class _NamedSteps:
    """Mixin for a number box: its − and + buttons are named after its label (and follow it)."""

    def __init__(self, **params):
        super().__init__(**params)
        self._steps_css = None
        self._name_steps()
        self.param.watch(self._name_steps, "label")

    def _name_steps(self, *events):
        css = step_names_css(self.label)
        self.stylesheets = [s for s in self.stylesheets if s != self._steps_css] + [css]
        self._steps_css = css


class FloatInput(_NamedSteps, pmui.FloatInput):
    """``pmui.FloatInput`` with named − and + buttons, for a box whose owner checks what it sends."""


class BoundedIntInput(_NamedSteps, _Clamped, pmui.IntInput):
    """``pmui.IntInput`` that clamps what the page sends to [start, end]."""


class BoundedFloatInput(_NamedSteps, _Clamped, pmui.FloatInput):
    """``pmui.FloatInput`` that clamps what the page sends to [start, end]."""


class BoundedIntSlider(_Clamped, pmui.IntSlider):
    """``pmui.IntSlider`` that clamps what the page sends to [start, end]."""


class BoundedFloatSlider(_Clamped, pmui.FloatSlider):
    """``pmui.FloatSlider`` that clamps what the page sends to [start, end]."""


ECHO_S = 2.0   # seconds within which a value the owner showed and then replaced can come back as an echo


class EchoGuard:
    """Tells a number box's stale echoes from a reader's typing.

    A box whose value the server also sets (a slider moved, a point dragged, a click) sends back
    what it is shown, and on a busy server that echo can arrive after a newer value has been
    shown and would undo it. The owner shows values through ``show``, records every value the
    reader types and it accepts with ``typed``, and asks ``is_echo`` about every value that comes
    from the box: a value shown within the last ECHO_S seconds, since the reader last typed, and
    since replaced is an echo; put the current value back instead of using it. Values shown
    while answering the reader's typing (inside ``typing()``, on that thread) count as typed, so
    a reader who types 0.3, then 0.5, then 0.3 again gets 0.3. One per box, per session; safe to
    call from the server's several threads.
    """

    def __init__(self, box, window=ECHO_S):
        self.box = box
        self.window = window
        self._shown = []        # [(value, time, typed)] newest last
        self._lock = threading.Lock()
        self._local = threading.local()

    def _record(self, value, typed):
        now = time.monotonic()
        with self._lock:
            self._shown = [e for e in self._shown if now - e[1] < self.window] + [(value, now, typed)]

    def show(self, value):
        """Record ``value`` as shown and put it in the box."""
        self._record(value, getattr(self._local, "typing", False))
        self.box.value = value

    def typed(self, value):
        """Record that the reader typed ``value`` and the owner took it."""
        self._record(value, True)

    def is_echo(self, value):
        now = time.monotonic()
        with self._lock:
            recent = [e for e in self._shown if now - e[1] < self.window]
        for i in range(len(recent) - 1, -1, -1):   # only values shown since the last typing count
            if recent[i][2]:
                recent = recent[i + 1:]
                break
        return any(v == value for v, _, _ in recent[:-1])

    @contextlib.contextmanager
    def typing(self):
        """Values shown inside this block (on this thread) answer the reader's own typing."""
        self._local.typing = True
        try:
            yield
        finally:
            self._local.typing = False
