"""Server hooks: numpy's OpenBLAS on one thread (many sessions share one process); no queued update
is left unsent when Panel's websocket writers overlap."""

import asyncio
import concurrent.futures
import ctypes
import glob
import os

import numpy
import pytest
import tornado.locks
from panel.io import document

from app.app_hooks import one_blas_thread, send_stranded_messages


def _openblas():
    libs = glob.glob(os.path.join(os.path.dirname(os.path.dirname(numpy.__file__)), "numpy.libs", "*openblas*"))
    if not libs:
        pytest.skip("this numpy does not bundle OpenBLAS")
    return ctypes.CDLL(libs[0])


def test_one_blas_thread_sets_openblas_to_one_thread():
    lib = _openblas()
    getter = getattr(lib, "scipy_openblas_get_num_threads64_", None) or getattr(lib, "openblas_get_num_threads")
    before = getter()
    try:
        assert one_blas_thread() is True
        assert getter() == 1
    finally:
        setter = getattr(lib, "scipy_openblas_set_num_threads64_", None) or getattr(lib, "openblas_set_num_threads")
        setter(before)


class _Socket:
    """A websocket stand-in: records what is written; the first write completes only when told to.

    ``write_lock`` is what Bokeh holds while it sends a message of its own; Panel's writer checks it.
    """

    def __init__(self, loop):
        self.written = []
        self.first = loop.create_future()
        self.write_lock = tornado.locks.Lock()

    def write(self, msg):
        self.written.append(msg[1][0])
        if len(self.written) == 1:
            return self.first
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


class _Protocol:
    def create(self, kind, events):
        return (kind, tuple(events))


class _Connection:
    def __init__(self, socket):
        self._socket = socket
        self.protocol = _Protocol()


class _Doc:
    session_context = object()     # a live session


def test_an_update_queued_while_an_earlier_write_finishes_is_still_sent():
    """The race behind a training run's lost final frame, replayed step by step on Panel's writer."""
    send_stranded_messages()

    async def turns(n, seconds=0.0):
        for _ in range(n):
            await asyncio.sleep(seconds)

    async def replay():
        socket = _Socket(asyncio.get_running_loop())
        document.extra_socket_handlers[_Socket] = lambda conn, msg: [conn._socket.write(msg)]
        doc, conn = _Doc(), _Connection(socket)
        try:
            # writer 1 sends the last progress frame and waits for the (slow) socket
            document.schedule_write_events(doc, [conn], ["step 49 of 50"])
            await turns(5)
            assert socket.written == ["step 49 of 50"]
            # Bokeh starts a send of its own; the final frame is queued meanwhile and its writer backs off
            await socket.write_lock.acquire()
            document.schedule_write_events(doc, [conn], ["done: press 3 · Snap"])
            await turns(5)
            # writer 1 finishes (and clears Panel's "writes pending" flag); then Bokeh's send ends
            socket.first.set_result(None)
            await turns(5)
            socket.write_lock.release()
            await turns(20, 0.005)
            return socket.written
        finally:
            del document.extra_socket_handlers[_Socket]
            document._WRITE_MSGS.pop(doc, None)
            document._WRITE_BLOCK.pop(doc, None)

    # on a thread of its own: another test may have left an event loop running in this one
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        written = pool.submit(asyncio.run, replay()).result()
    assert written == ["step 49 of 50", "done: press 3 · Snap"]


def test_send_stranded_messages_installs_once():
    assert send_stranded_messages() is send_stranded_messages() is document._dispatch_msgs


def test_memory_goes_back_once_the_last_session_of_the_process_has_ended():
    """return_memory's full garbage collection freezes the event loop for a second or more with a
    class connected, so it waits until no session is left in the process."""
    from types import SimpleNamespace

    from app import app_hooks

    calls = []
    a, b, c = object(), object(), object()
    context = SimpleNamespace(sessions=[a, b])
    check = app_hooks.memory_return_check(context, give_back=lambda: calls.append(len(context.sessions)))
    check()
    context.sessions = [b, c]         # a left, b and c still there
    check()
    assert calls == []
    context.sessions = []             # the last ones left
    check()
    assert calls == [0]
    check()                           # nothing new ended
    assert calls == [0]


def test_an_emptied_process_collects_again_while_each_pass_still_finds_garbage():
    """The first pass after the last student left can come while a worker thread still holds a
    closed tab's page (a training tick finishing); later passes free it, and stop once a pass finds
    nothing, after at most SETTLE_PASSES more, or when a student arrives."""
    from types import SimpleNamespace

    from app import app_hooks

    calls, found = [], iter([500, 40, 0, 7, 7, 7, 7, 7, 7, 3])
    context = SimpleNamespace(sessions=[object()])
    check = app_hooks.memory_return_check(context, give_back=lambda: calls.append(1) or next(found))
    check()
    context.sessions = []
    for _ in range(5):
        check()
    assert len(calls) == 3            # 500 and 40 found: again; 0 found: done
    context.sessions = [object()]     # a student comes and goes
    check()
    context.sessions = []
    for _ in range(8):
        check()
    assert len(calls) == 3 + 1 + app_hooks.SETTLE_PASSES      # garbage every time: bounded
    context.sessions = [object()]
    check()
    context.sessions = []
    check()                           # 7 found: one more pass is due ...
    context.sessions = [object()]     # ... but a student arrived first
    check()
    context.sessions = context.sessions[:]
    check()
    assert len(calls) == 3 + 1 + app_hooks.SETTLE_PASSES + 1


def test_a_page_a_worker_thread_held_through_the_first_pass_is_freed_by_the_next():
    """With real collections: a cycle (a stand-in for a closed tab's page) that a thread still uses
    during the emptied process's first pass survives it into the oldest generation, where young
    collections never look; the next check's pass frees it."""
    import gc
    import threading
    import weakref
    from types import SimpleNamespace

    from app import app_hooks

    class Page:
        pass

    page = Page()
    page.me = page                    # garbage only a full pass can free
    gone = weakref.ref(page)
    started, release = threading.Event(), threading.Event()

    def tick(held):                   # the worker finishing a tick for the closed tab
        started.set()
        release.wait(10)
        del held

    worker = threading.Thread(target=tick, args=(page,))
    del page
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], app_hooks.FULL_COLLECTIONS_OFF)    # as served
    try:
        worker.start()
        started.wait(10)
        context = SimpleNamespace(sessions=[object()])
        check = app_hooks.memory_return_check(context, give_back=app_hooks.return_memory)
        check()
        context.sessions = []
        junk = [[] for _ in range(3)]
        for a, b in zip(junk, junk[1:] + junk[:1]):
            a.append(b)               # other students' garbage: the first pass finds some
        del junk, a, b
        check()
        assert gone() is not None     # the thread still held it
        release.set()
        worker.join(10)
        gc.collect(0)
        gc.collect(1)
        assert gone() is not None     # young passes do not reach it
        check()
        assert gone() is None
    finally:
        release.set()
        gc.set_threshold(*thresholds)


def test_with_students_remaining_a_full_collection_waits_for_enough_garbage():
    """With students still working, a full garbage collection (which freezes them all) runs only
    once the process has grown by the limit beyond what its present sessions need: not while a
    class arrives, not for each student who leaves."""
    from types import SimpleNamespace

    from app import app_hooks

    collected, returned, size = [], [], [500.0]
    people = [object() for _ in range(12)]
    context = SimpleNamespace(sessions=[])      # the server starts empty
    check = app_hooks.memory_return_check(context, give_back=lambda: returned.append(1),
                                          collect=lambda: collected.append(len(context.sessions)),
                                          rss=lambda: size[0], growth_mb=100.0, session_mb=16.0)
    check()
    context.sessions = list(people)             # a class of twelve arrives: 12 x 16 MB are theirs
    size[0] = 500.0 + 12 * 16.0 + 50.0          # and 50 MB more
    check()
    for left in range(1, 4):          # three leave: their pages (48 MB) are garbage, 98 MB in all
        context.sessions = people[left:]
        check()
    assert collected == [] and returned == []
    context.sessions = people[4:]     # the fourth: 114 MB beyond what the eight remaining need
    check()
    assert collected == [8]
    context.sessions = people[6:]     # counted afresh from the collection
    check()
    assert collected == [8]
    context.sessions = people[6:] + [object() for _ in range(5)]    # five arrive: three more than at the collection
    size[0] += 3 * 16.0 + 99.0
    check()
    assert collected == [8]
    size[0] += 1.0
    check()
    assert collected == [8, 11] and returned == []
    context.sessions = []             # the last students leave: memory goes back, no extra collection
    check()
    assert returned == [1] and collected == [8, 11]
    check()
    assert returned == [1]


def test_the_served_process_freezes_its_startup_objects_and_leaves_full_collections_to_the_check():
    """Neither CPython's rule nor Panel's collection 5 s after each session's end (which came with
    17 students still connected: 0.7 s) starts a full pass in a served process."""
    import gc
    import subprocess
    import sys

    # Loaded as `panel serve` loads it (a module named bokeh_app_...): Panel must still accept the
    # stand-in for its collection as a scheduled task, or no session could end.
    code = ("import gc, importlib.util, datetime\n"
            "spec = importlib.util.spec_from_file_location('bokeh_app_hooks_test', 'app/app_hooks.py')\n"
            "app_hooks = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(app_hooks)\n"
            "from panel.io import document\nfrom panel.io.state import state\n"
            "frozen = app_hooks.settle_startup_objects()\n"
            "thresholds = app_hooks.take_over_full_collections()\n"
            "calls = []\ngc.collect = lambda *args: calls.append(1)\n"
            "state.schedule_task('gc.collect', document._garbage_collect,"
            " at=datetime.datetime.now() + datetime.timedelta(seconds=60))\n"
            "document._garbage_collect()\n"      # what Panel schedules after every session's end
            "assert document._garbage_collect is app_hooks._leave_to_memory_return_check and not calls\n"
            "print(frozen, gc.get_freeze_count(), *thresholds)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert out.returncode == 0, out.stderr
    frozen, count, young, middle, oldest = map(int, out.stdout.split())
    assert min(frozen, count) > 100_000       # the libraries' objects, walked by no full collection
    assert (young, middle) == gc.get_threshold()[:2]    # the young generations as before
    assert oldest >= 10**9


def test_without_a_size_at_the_start_the_first_reading_becomes_the_baseline():
    from types import SimpleNamespace

    from app import app_hooks

    collected, readings = [], iter([None, 400.0, 650.0, 650.0])
    context = SimpleNamespace(sessions=[object()])
    check = app_hooks.memory_return_check(context, collect=lambda: collected.append(1),
                                          rss=lambda: next(readings), growth_mb=192.0, session_mb=16.0)
    check()                           # 400 MB: now the baseline
    assert collected == []
    check()                           # 250 MB more with the same session: collect
    assert collected == [1]
