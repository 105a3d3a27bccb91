"""Server lifecycle hooks: one BLAS thread, the kernels compiled before the first student arrives,
pages that load nothing from the internet whichever server process builds them, and an opt-in
diagnostics line.

Served with ``--num-procs 2`` (or behind a load balancer), a page's HTTP request and its websocket
can reach different processes; Bokeh then builds the session again in the process the websocket
reached. Two things in Panel and Bokeh assume one process, and the hooks here make them hold in
every process from the start:

- The static files of Panel extensions (``/static/extensions/panel-material-ui/...``) are known to
  a process only once it has rendered a page itself; ``register_static_routes`` registers them when
  the process starts, so no student gets a 404 and an unstyled page from a fresh process.
- Panel points a session's stylesheets at this server only while rendering its HTML page; a session
  built for a websocket alone kept CDN addresses, which fail offline. ``on_session_created`` sets
  the server's own address for every session before its page is built.

``websocket_nodelay`` sends each websocket frame at once (as browsers do): Bokeh writes a message as
several frames, and with Nagle's algorithm each small frame after the first waited for the
previous one's acknowledgement (up to 40 ms for every dragged coefficient).

``quiet_closed_websockets``: a tab closed while the server was still sending it an update left
"Task exception was never retrieved ... WebSocketClosedError" tracebacks in the log; a closed tab is
not an error, so those go to the debug log and every other unhandled error is logged as before.

``serialize_busy_counter``: Panel's count of events in progress is one for the process and was
updated from several worker threads without a lock (a burst of presses logged errors); a lock
around it fixes that.

``send_stranded_messages``: when Panel sends updates while an earlier websocket write is still in
flight, it queues them and schedules a writer task; a writer that was already running could finish
after the new messages were queued and clear the "writes pending" flag, and the scheduled task then
saw no flag and returned, leaving the queued messages unsent until some later update came. A
training run's final frame (its summary and the next-step hint) was lost that way on a busy server
until the page was reloaded. The patched task sends whatever is queued, flag or not.

Garbage collection: the objects loaded at startup are frozen (``settle_startup_objects``) and the
full collections CPython would start on its own are left to ``memory_return_check``, run every few
seconds by ``start_memory_return``: a full collection freezes every student of the process, so it
runs when the last student of the process has left (then also handing freed memory back to the
operating system with glibc's ``malloc_trim``, and repeated at the next few checks while it still
finds garbage), or when the process has grown by 192 MB since the last one, beyond 16 MB for each
session it has gained meanwhile. Panel's own collection after each session's end is switched off
too. (Where the process size cannot be read, without ``/proc``, CPython keeps its own rule.)

Diagnostics: with ``KX_DIAGNOSTICS=SECONDS`` in the environment every server process logs a line
``kx-diagnostics pid=... sessions=... connected=... periodic_callbacks=... tasks=... threads=...
rss_mb=...`` every SECONDS; with ``KX_DIAGNOSTICS_OBJECTS=1`` also ``lessons=... explorables=...``
(live page and widget objects, found by a walk over the garbage collector's objects: slow, for tests,
and done only while no session is open). Each line ends with ``gc_ms=... gc_max_ms=... gc_full=...``:
the garbage collector's pauses since the previous line.
Off by default. Only counts are logged, nothing about any one student.
"""

import asyncio
import ctypes
import gc
import glob
import logging
import os
import threading
import time

log = logging.getLogger("kan_app")

DIAGNOSTICS_ENV = "KX_DIAGNOSTICS"
DIAGNOSTICS_OBJECTS_ENV = "KX_DIAGNOSTICS_OBJECTS"
DIAGNOSTICS_TAG = "kx-diagnostics"
MEMORY_RETURN_S = 5.0       # how often start_memory_return looks for ended sessions
GROWTH_PER_COLLECTION_MB = 192.0    # growth of a process, with students in it, that calls for a full collection ...
SESSION_MB = 16.0           # ... beyond this much for each session it has gained since the last one
SETTLE_PASSES = 3           # more passes in an emptied process while each still finds garbage
FULL_COLLECTIONS_OFF = 1_000_000_000    # a threshold for the oldest generation never reached

# The names under which numpy's bundled OpenBLAS (or a system one) exports its thread setter.
_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads64_",
            "openblas_set_num_threads")


def one_blas_thread():
    """Limit numpy's OpenBLAS to one thread; return True if it was found and set.

    The matrices here are small and one server process serves many students at once: extra BLAS
    threads only fight each other for the cores (an MLP step at 1,000 parameters went from about
    1 ms to 15-130 ms on two cores). ``OPENBLAS_NUM_THREADS=1`` does the same but must be set
    before numpy is imported, which ``panel serve`` has already done by the time this runs.
    """
    import numpy

    libs = glob.glob(os.path.join(os.path.dirname(os.path.dirname(numpy.__file__)), "numpy.libs", "*openblas*"))
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _SETTERS:
            setter = getattr(lib, name, None)
            if setter is not None:
                setter(1)
                return True
    return False


def register_static_routes():
    """Register the static folders of every Bokeh extension the app uses in this process; returns
    their names. Bokeh fills this table only when it renders a page's resources."""
    import panel_material_ui  # noqa: F401  (its models are what the page needs served)
    from bokeh.embed.bundle import bundle_for_objs_and_resources, extension_dirs
    from bokeh.resources import Resources

    bundle_for_objs_and_resources(None, Resources(mode="server"))
    return sorted(extension_dirs)


def local_dist_url(app_path):
    """Where Panel's own CSS is served from, relative to a page at ``app_path`` (what Panel's page
    handler uses: 'static/extensions/panel/' for '/app')."""
    from panel.io.resources import LOCAL_DIST

    rel = "/".join([".."] * app_path.strip("/").count("/"))
    return f"{rel}/{LOCAL_DIST}" if rel else LOCAL_DIST


def websocket_nodelay():
    """Make Bokeh's websocket handler send without Nagle's delay (idempotent); returns True."""
    from bokeh.server.views.ws import WSHandler

    if getattr(WSHandler.open, "kx_nodelay", False):
        return True
    original = WSHandler.open

    def open_without_delay(self, *args, **kwargs):
        self.set_nodelay(True)
        return original(self, *args, **kwargs)

    open_without_delay.kx_nodelay = True
    WSHandler.open = open_without_delay
    return True


def _closed_websocket(context):
    from tornado.iostream import StreamClosedError
    from tornado.websocket import WebSocketClosedError

    error = context.get("exception")
    return isinstance(error, (WebSocketClosedError, StreamClosedError))


def quiet_closed_websockets(loop=None):
    """Log unretrieved closed-websocket errors of ``loop`` (default: the running one) at debug level."""
    loop = loop or asyncio.get_event_loop()
    previous = loop.get_exception_handler()

    def handler(loop, context):
        if _closed_websocket(context):
            log.debug("a tab closed while an update was on its way: %s", context.get("exception"))
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    return handler


def serialize_busy_counter():
    """Put a lock around Panel's process-wide busy bookkeeping; returns the lock.

    Served with --num-threads, Panel counts events in progress from several worker threads at once,
    and its read-only switch around the count is not thread-safe: a burst of presses logged
    "Read-only parameter 'busy' cannot be modified" from one thread while another held the switch.
    """
    from panel.io.state import state

    if getattr(state, "_kx_busy_lock", None) is not None:
        return state._kx_busy_lock
    lock = threading.RLock()
    for name in ("_add_busy_event", "_remove_busy_event", "_cleanup_busy_counter"):
        original = getattr(state, name)

        def locked(*args, _original=original, **kwargs):
            with lock:
                return _original(*args, **kwargs)
        setattr(state, name, locked)
    state._kx_busy_lock = lock
    return lock


def send_stranded_messages():
    """Make Panel's queued-message writer send messages queued after an earlier writer finished.

    Returns the patched coroutine function (installed once per process).
    """
    from panel.io import document

    current = document._dispatch_msgs
    if getattr(current, "_kx_patched", False):
        return current
    original = current

    async def dispatch_msgs(doc):
        if doc not in document._WRITE_BLOCK and document._WRITE_MSGS.get(doc) and doc.session_context is not None:
            document._WRITE_BLOCK[doc] = True   # queued after the last writer finished: this task sends them
        await original(doc)

    dispatch_msgs._kx_patched = True
    document._dispatch_msgs = dispatch_msgs
    return dispatch_msgs


def return_memory():
    """A full garbage collection, then glibc's malloc_trim (where found): hand freed memory back to
    the system. Returns the number of unreachable objects the collection found."""
    found = gc.collect()
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return found
    trim = getattr(libc, "malloc_trim", None)
    if trim is not None:
        trim(0)
    return found


def memory_return_check(server_context, give_back=None, collect=None, rss=None, growth_mb=GROWTH_PER_COLLECTION_MB,
                        session_mb=SESSION_MB):
    """The check start_memory_return runs; it also decides when the garbage collector makes a full
    pass (take_over_full_collections leaves that to it). A full pass holds the interpreter, so every
    student of the process waits for it (1.3-1.4 s in a profile of a served process with 15
    students; 0.4-0.5 s once the startup objects are frozen):

    - once sessions have ended and none is left in the process: return_memory() (a full pass and
      malloc_trim), felt by nobody; and again at the next checks while the process stays empty and
      the previous pass found garbage (at most ``SETTLE_PASSES`` more). A page still in use at the
      first pass (by a worker thread finishing a training tick for a tab that had just closed, say)
      survives it into the oldest generation; once released it is garbage that no later pass
      would reach while the process stays empty (a load test in CI found a page alive 120 s after
      its tab had closed);
    - while students remain, only when the process has grown by ``growth_mb`` since the last full
      pass, beyond ``session_mb`` for each session more than it had then (what arriving students
      need is not garbage): the pages of students who reloaded or left, and any other garbage in
      cycles, wait for it, and the growth bounds what they can hold.

    Left to itself, CPython made a full pass each time the objects kept since the last one grew by a
    quarter: every one or two new sessions while a class arrived, a frozen page each time. A pass
    after every few ended sessions was also tried: it came in the middle of a class (a reload or
    two, plus the warm-up's sessions) and froze 13 students for 0.6 s."""
    measure = rss or rss_mb
    seen = {"sessions": set(), "ended": False, "rss": measure(), "count": 0, "settle": 0}

    def check():
        now = {id(s) for s in server_context.sessions}
        seen["ended"] = seen["ended"] or bool(seen["sessions"] - now)
        seen["sessions"] = now
        size = measure()
        if seen["rss"] is None:         # no reading at the start (or the last one failed): from now
            seen.update(rss=size, count=len(now))
        if now:
            seen["settle"] = 0          # a student came: no more passes for the emptied process
        if not now and (seen["ended"] or seen["settle"]):
            found = (give_back or return_memory)() or 0
            seen["settle"] = (SETTLE_PASSES if seen["ended"] else seen["settle"] - 1) if found > 0 else 0
        elif (size is not None and seen["rss"] is not None and
              size - seen["rss"] - session_mb * max(0, len(now) - seen["count"]) >= growth_mb):
            (collect or gc.collect)()
        else:
            return
        seen.update(ended=False, rss=measure(), count=len(now))
    return check


def take_over_full_collections():
    """Stop the full garbage collections that CPython (the oldest generation's threshold out of
    reach; the young generations are collected as before) and Panel (a gc.collect() on the event
    loop 5 s after each session's document is destroyed, however many students remain) would start;
    memory_return_check decides when a full pass runs. Returns the thresholds set."""
    from panel.io import document

    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTIONS_OFF)
    document._garbage_collect = _leave_to_memory_return_check
    return gc.get_threshold()


def _leave_to_memory_return_check():
    """Stands in for Panel's collection after a session's end: memory_return_check collects when
    the process is empty or has grown enough."""


# Panel refuses to schedule a task whose function comes from an application's own code (a
# ``bokeh_app_...`` module, as `panel serve` loads this file), lest it hold a session's state; this
# one holds nothing, and refusing it broke every session's end.
_leave_to_memory_return_check.__module__ = "kan_app.gc_policy"


def start_memory_return(server_context, every=MEMORY_RETURN_S):
    """Every ``every`` seconds, memory_return_check; returns the callback."""
    from tornado.ioloop import PeriodicCallback

    callback = PeriodicCallback(memory_return_check(server_context), every * 1000)
    callback.start()
    return callback


def settle_startup_objects():
    """Import what every page uses, collect once, then gc.freeze(): the quarter of a million objects
    of the loaded libraries and kernels live as long as the process, and frozen, the garbage
    collector's full passes no longer walk them. Each such pass holds the interpreter, so the event
    loop and every student of the process wait for it; with 15 students it took 0.5-0.7 s, of which
    the startup objects were about a fifth. Returns the number of objects frozen."""
    import importlib
    import pkgutil

    import panel_material_ui  # noqa: F401  (imported by every page)
    import widgets

    for module in pkgutil.iter_modules(widgets.__path__):
        importlib.import_module(f"widgets.{module.name}")
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


# -- diagnostics --------------------------------------------------------------------------------------
def rss_mb(pid="self"):
    """Resident memory of a process in MB, from /proc (None where there is no /proc)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def live_objects():
    """(lessons, explorables): live app pages and live widget objects in this process."""
    import panel as pn

    lessons = explorables = 0
    for obj in gc.get_objects():
        cls = type(obj)
        module = cls.__dict__.get("__module__")
        if cls.__name__ == "Lesson":
            lessons += 1
        elif isinstance(module, str) and module.startswith("widgets.") and isinstance(obj, pn.viewable.Viewer):
            explorables += 1
    return lessons, explorables


def diagnostics_line(server_context, with_objects=False):
    """One line of counts for this process (no session ids, addresses or anything a student typed)."""
    from bokeh.server.callbacks import PeriodicCallback

    sessions = list(server_context.sessions)
    connected = sum(1 for s in sessions if s.connection_count > 0)
    periodic = sum(1 for s in sessions for cb in s.document.session_callbacks if isinstance(cb, PeriodicCallback))
    try:
        tasks = len(asyncio.all_tasks())
    except RuntimeError:
        tasks = 0
    rss = rss_mb()
    line = (f"{DIAGNOSTICS_TAG} pid={os.getpid()} sessions={len(sessions)} connected={connected} "
            f"periodic_callbacks={periodic} tasks={tasks} threads={threading.active_count()} "
            f"rss_mb={rss if rss is None else round(rss)}")
    if with_objects and not sessions:
        # Only with no session open: the walk hands out references to every object, a tuple still
        # being built by another thread included, and CPython then fails that thread's build
        # ("SystemError: ... bad argument to internal function"; seen while 30 pages were built).
        lessons, explorables = live_objects()
        line += f" lessons={lessons} explorables={explorables}"
    return line


def gc_pauses():
    """Time the garbage collector's passes (gc.callbacks); returns a function giving
    `` gc_ms=... gc_max_ms=... gc_full=...`` for the passes since its last call: total and longest
    pause in milliseconds and the number of full (oldest-generation) collections. A collection
    holds the interpreter, so on a served process it freezes the event loop and every student."""
    state = {"start": 0.0, "passes": []}

    def timer(phase, info):
        # Runs with the GIL held, inside the collection: no other Python code runs meanwhile.
        if phase == "start":
            state["start"] = time.perf_counter()
            return
        state["passes"].append((time.perf_counter() - state["start"], info.get("generation") == 2))

    gc.callbacks.append(timer)

    def since_last():
        # Take the list and leave a fresh one in one step: a pass that ends meanwhile lands in one
        # of the two, so none is lost (a lock could deadlock: a collection can start while held).
        passes, state["passes"] = state["passes"], []
        pauses = [pause for pause, _ in passes]
        return (f" gc_ms={sum(pauses) * 1000:.0f} gc_max_ms={max(pauses, default=0.0) * 1000:.0f} "
                f"gc_full={sum(1 for _, full in passes if full)}")
    return since_last


def start_diagnostics(server_context, environ=os.environ):
    """Log diagnostics_line every KX_DIAGNOSTICS seconds; returns the callback, or None when off."""
    try:
        seconds = float(environ.get(DIAGNOSTICS_ENV, "0") or 0)
    except ValueError:
        log.warning("%s must be a number of seconds; diagnostics stay off.", DIAGNOSTICS_ENV)
        return None
    if not seconds > 0:
        return None
    from tornado.ioloop import PeriodicCallback

    with_objects = environ.get(DIAGNOSTICS_OBJECTS_ENV, "") not in ("", "0")
    pauses = gc_pauses()

    def report():
        try:
            log.info(diagnostics_line(server_context, with_objects) + pauses())
        except Exception as error:    # diagnostics must never take the server down
            log.warning("%s failed: %r", DIAGNOSTICS_TAG, error)

    callback = PeriodicCallback(report, max(0.2, seconds) * 1000)
    callback.start()
    report()
    return callback


# -- the hooks ------------------------------------------------------------------------------------------
def on_server_loaded(server_context):
    import kan_core

    # `panel serve --log-level` sets only the "bokeh" logger; follow it.
    log.setLevel(logging.getLogger("bokeh").getEffectiveLevel())
    if one_blas_thread():
        log.info("numpy's OpenBLAS limited to one thread.")
    register_static_routes()
    websocket_nodelay()
    quiet_closed_websockets()
    serialize_busy_counter()
    send_stranded_messages()
    start = time.perf_counter()
    kan_core.warmup()
    log.info("kan_core kernels warmed up in %.2f s.", time.perf_counter() - start)
    settle_startup_objects()
    if rss_mb() is not None:        # the policy measures growth; without /proc, CPython's own rule stays
        take_over_full_collections()
    start_memory_return(server_context)
    start_diagnostics(server_context)


def on_session_created(session_context):
    doc = getattr(session_context, "_document", None)
    if doc is not None:
        app_path = getattr(session_context.server_context.application_context, "url", "/app") or "/app"
        doc._template_variables.setdefault("dist_url", local_dist_url(app_path))
