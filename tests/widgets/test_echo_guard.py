"""EchoGuard (widgets/inputs.py): a number box's late echoes against a reader's typing."""

import threading
import time
from types import SimpleNamespace

from widgets import inputs
from widgets.inputs import EchoGuard


def guard():
    return EchoGuard(SimpleNamespace(value=None))


def test_a_value_shown_and_since_replaced_is_an_echo_until_the_window_passes(monkeypatch):
    g = guard()
    g.show(0.2)
    g.show(0.6)
    assert g.box.value == 0.6
    assert g.is_echo(0.2) and not g.is_echo(0.6) and not g.is_echo(0.4)
    later = time.monotonic() + inputs.ECHO_S + 0.1
    monkeypatch.setattr(inputs.time, "monotonic", lambda: later)
    assert not g.is_echo(0.2)


def test_typing_disarms_the_values_shown_before_it():
    g = guard()
    g.show(0.2)
    g.show(0.6)
    g.typed(0.9)
    assert not g.is_echo(0.2) and not g.is_echo(0.6)
    g.show(1.5)                        # a slider moves after the typing
    assert not g.is_echo(0.9)          # the reader's own earlier value is theirs to type again
    g.show(1.7)
    assert g.is_echo(1.5)


def test_values_shown_while_answering_typing_count_as_typed_only_on_that_thread():
    g = guard()
    g.show(0.1)
    inside = threading.Event()
    done = threading.Event()

    def answer_typing():
        with g.typing():
            g.show(0.3)                # typed
            inside.set()
            done.wait(5)

    worker = threading.Thread(target=answer_typing)
    worker.start()
    inside.wait(5)
    g.show(0.5)                        # a slider on another thread meanwhile: not typed
    done.set()
    worker.join()
    g.show(0.7)
    assert g.is_echo(0.5)              # shown after the typing and since replaced
    assert not g.is_echo(0.1)          # shown before the typing
