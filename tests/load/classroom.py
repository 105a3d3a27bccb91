"""Classroom load test: 30 students on one server, each training in the lab and bending a spline.

Run from the repository root (the figures are printed; exit code 1 if a target is missed):

    python -m tests.load.classroom [--sessions 30] [--seconds 60] [--through-nginx] [--json PATH]

1. Starts the app with the README's "Serving a classroom" command, read from README.md (so the two
   cannot drift apart), on a free loopback port: ``--num-procs 2``, ``--num-threads 4``,
   OPENBLAS_NUM_THREADS=1, PYTHONMALLOC=malloc, and ``KX_DIAGNOSTICS=1`` so every server process
   logs its live sessions and periodic callbacks once a second (app/app_hooks.py). With ``--through-nginx``: two such
   processes (``--backends``, each ``--num-procs 1`` unless given) behind nginx running the sample
   configuration assets/deploy/nginx/kan-classroom.conf, and every session goes through nginx.
2. Warms up (sessions open and close until every worker process has served some), waits until no
   session is left, and takes the memory baseline: the resident memory (RSS, from /proc) of every
   server process added up. RSS counts pages that the forked processes share once per process;
   PSS, which splits them, is shown too.
3. Opens ``--sessions`` student sessions over the websocket (tests/load/client.py: the Bokeh
   protocol, as a page speaks it, without a browser), joining over ``--ramp`` seconds. Each one
   opens the training lab, presses Play, waits for the button to say Pause and watches the lab
   train for a few seconds (up to ``--watch``), then opens the spline-edge chapter while its lab
   keeps training, and until ``--seconds`` have passed since Play drags coefficients as the page
   does (values streamed at most every 50 ms with at most 2 unanswered, then the release), one
   drag every ``--drag-every`` seconds or so (``--phase P``: back and forth between the chapters
   every P seconds instead). Then it checks that the server holds exactly the coefficients it set
   (a fresh pull of its document), goes back to the lab, checks that it trained, and closes its
   tab while training still runs. The students run in a child process so that their work does
   not delay the probe.
4. Meanwhile a probe session on the spline-edge chapter sets one coefficient every
   ``--probe-every`` seconds and times it: from sending the value to the arrival of the patch with
   the server's acknowledgement and the recomputed curve (the curve must have changed).
5. After the students close: waits until every server process reports no sessions and no periodic
   callbacks, and measures memory again.

Reported: probe latency p50/p95 (idle, and while every student is active), errors in the server
log, sessions completed, memory (baseline, peak, after), load average. Targets: p95 < 250 ms,
zero errors, every session completes, peak memory < 1.5 GB, back within 20 % (at least 100 MB) of
the baseline. tests/load/test_classroom.py runs a reduced version in the test suite and asserts
everything but the timings.
"""

import argparse
import asyncio
import concurrent.futures
import datetime
import itertools
import json
import os
import random
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from app.app_hooks import MEMORY_RETURN_S
from tests.load.client import Session, SessionError, SplineDriver, lab_steps


def run_async(coroutine):
    """``asyncio.run`` on a thread of its own, so it also works where an event loop is already
    running in this thread (pytest after the browser tests, a notebook)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"

TARGET_P95_MS = 250.0
TARGET_MEMORY_MB = 1536.0
AFTER_TOLERANCE = 0.20          # "back near the baseline": within 20 % ...
AFTER_TOLERANCE_MB = 100.0      # ... or 100 MB, whichever is larger
COEF_LIMIT = 2.5
_SERVERS = itertools.count()   # numbers each server's log file, see Classroom

DIAG = re.compile(r"kx-diagnostics pid=(\d+) sessions=(\d+) connected=(\d+) periodic_callbacks=(\d+) "
                  r"tasks=(\d+) threads=(\d+) rss_mb=(\S+)(?: lessons=(\d+) explorables=(\d+))?")
# The same lines with the log's time stamp and the garbage collector's figures.
DIAG_TIMED = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*?kx-diagnostics pid=(\d+) "
                        r"sessions=(\d+) .*?gc_max_ms=(\d+) gc_full=(\d+)", re.M)
# A line of the server log that reports trouble: a traceback, an error or exception, or an HTTP
# answer 4xx/5xx. (Diagnostics lines and the orderly shutdown message are not trouble.)
TROUBLE = re.compile(r"traceback|error|exception|uncaught|critical|\b[45]\d\d (GET|POST|HEAD)\b", re.I)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the README's command --------------------------------------------------------------------------------
def readme_command(readme=REPO / "README.md"):
    """(environment, argv) of the command in README.md's "Serving a classroom" section."""
    text = Path(readme).read_text()
    section = text.split("## Serving a classroom", 1)
    if len(section) != 2:
        raise ValueError("README.md has no '## Serving a classroom' section")
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", section[1], re.S)
    if block is None:
        raise ValueError("README.md's 'Serving a classroom' section has no command block")
    words = shlex.split(block.group(1).replace("\\\n", " "))
    env = {}
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    if words[:3] != ["panel", "serve", "app"]:
        raise ValueError(f"README.md's classroom command is not `panel serve app ...`: {words[:3]}")
    return env, words


def _set_option(argv, name, value):
    """Replace ``name VALUE`` in argv (or append it)."""
    argv = list(argv)
    if name in argv:
        argv[argv.index(name) + 1] = str(value)
    else:
        argv += [name, str(value)]
    return argv


def classroom_argv(port, origins=(), num_procs=None, num_threads=None, readme=REPO / "README.md"):
    """The README's command on 127.0.0.1:port (env, argv for subprocess); ``origins`` are added to
    --allow-websocket-origin (e.g. nginx's address)."""
    env, words = readme_command(readme)
    words = _set_option(words, "--address", "127.0.0.1")
    words = _set_option(words, "--port", port)
    words = _set_option(words, "--allow-websocket-origin", f"127.0.0.1:{port}")
    for origin in origins:
        words += ["--allow-websocket-origin", origin]
    if num_procs is not None:
        words = _set_option(words, "--num-procs", num_procs)
    if num_threads is not None:
        words = _set_option(words, "--num-threads", num_threads)
    return env, [sys.executable, "-m", *words]


# -- processes and memory ------------------------------------------------------------------------------------
def _proc_stats():
    """(pid, fields of /proc/<pid>/stat after the command name) for every process on the machine:
    fields[0] is the state, fields[1] the parent pid, fields[2] the process group."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                yield int(entry), stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue


def _children():
    """{parent pid: [child pids]} for every process on the machine, from /proc."""
    tree = {}
    for pid, fields in _proc_stats():
        tree.setdefault(int(fields[1]), []).append(pid)
    return tree


def process_tree(root):
    """``root`` and all its descendants that are alive."""
    tree, found, todo = _children(), [], [root]
    while todo:
        pid = todo.pop()
        if os.path.exists(f"/proc/{pid}"):
            found.append(pid)
            todo += tree.get(pid, [])
    return found


def group_members(pgid):
    """Live processes of process group ``pgid`` (zombies not counted)."""
    return [pid for pid, fields in _proc_stats() if int(fields[2]) == pgid and fields[0] != "Z"]


def _proc_kb(pid, filename, key):
    try:
        with open(f"/proc/{pid}/{filename}") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def memory_mb(pids, pss=True):
    """(RSS, PSS) of the processes added up, in MB (PSS 0.0 unless ``pss``)."""
    rss = sum(_proc_kb(pid, "status", "VmRSS:") for pid in pids) / 1024
    pss = sum(_proc_kb(pid, "smaps_rollup", "Pss:") for pid in pids) / 1024 if pss else 0.0
    return rss, pss


class Backend:
    """One ``panel serve app`` started with the README's command, in its own process group."""

    def __init__(self, port, log_path, origins=(), num_procs=None, num_threads=None, extra_env=None):
        self.port = port
        self.url = f"http://127.0.0.1:{port}/app"
        self.log_path = Path(log_path)
        env, self.argv = classroom_argv(port, origins, num_procs, num_threads)
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
        procs = self.argv[self.argv.index("--num-procs") + 1] if "--num-procs" in self.argv else "1"
        self.num_procs = int(procs) if int(procs) > 0 else os.cpu_count()
        self.proc = None

    def start(self):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.argv, cwd=REPO, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        return self

    def ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"`{' '.join(self.argv[2:])}` exited with code {self.proc.returncode}:\n"
                               f"{self.log()[-3000:]}")
        return self.log().count("kernels warmed up") >= self.num_procs

    def log(self):
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def pids(self):
        return process_tree(self.proc.pid) if self.proc is not None else []

    def stop(self):
        if self.proc is None:
            return
        # `--num-procs` forks workers into this process group, the test's own: end the whole group,
        # politely first. A worker can outlive its parent, so look for the group, not the tree.
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            if not group_members(self.proc.pid):
                break
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and group_members(self.proc.pid):
                self.proc.poll()
                time.sleep(0.1)
        self.proc.wait(timeout=10)
        self._log.close()


class Classroom:
    """The served app as students reach it: one backend, or ``backends`` behind nginx.

    ``url`` is where sessions open; ``pids()`` every server process (nginx not included);
    ``diagnostics(after)`` the newest diagnostics line of each worker process logged after the
    log offsets ``after`` (from ``log_marks()``).
    """

    def __init__(self, through_nginx=False, backends=None, num_procs=None, num_threads=None,
                 diagnostics_every=1.0, objects=False, log_dir=ARTIFACTS, name="classroom-serve"):
        self.through_nginx = through_nginx
        self.diagnostics_every = diagnostics_every
        n = backends or (2 if through_nginx else 1)
        if through_nginx and num_procs is None:
            num_procs = 1
        self.nginx_port = free_port() if through_nginx else None
        origins = [f"127.0.0.1:{self.nginx_port}"] if through_nginx else []
        env = {"KX_DIAGNOSTICS": str(diagnostics_every)}
        if objects:
            env["KX_DIAGNOSTICS_OBJECTS"] = "1"
        self.backends = [Backend(free_port(), Path(log_dir) / f"{name}-{i}-{os.getpid()}-{next(_SERVERS)}.log", origins, num_procs,
                                 num_threads, env) for i in range(n)]
        self.nginx = None
        self.url = self.backends[0].url

    def __enter__(self):
        try:
            for backend in self.backends:
                backend.start()
            deadline = time.monotonic() + float(os.environ.get("KX_SERVER_TIMEOUT", "240"))
            while not all(b.ready() for b in self.backends):
                if time.monotonic() > deadline:
                    raise RuntimeError("the server processes did not warm up in time:\n" +
                                       "\n".join(b.log()[-2000:] for b in self.backends))
                time.sleep(0.2)
            if self.through_nginx:
                from tests.load.nginx import Nginx
                self.nginx = Nginx([f"127.0.0.1:{b.port}" for b in self.backends], self.nginx_port).__enter__()
                self.url = self.nginx.url
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        if self.nginx is not None:
            self.nginx.__exit__()
        for backend in self.backends:
            backend.stop()
        return False

    @property
    def workers(self):
        return sum(b.num_procs for b in self.backends)

    def pids(self):
        return [pid for b in self.backends for pid in b.pids()]

    def memory(self):
        return memory_mb(self.pids())

    def logs(self):
        return [b.log() for b in self.backends]

    def log_marks(self):
        return [len(text) for text in self.logs()]

    def diagnostics(self, after=None):
        """{pid: dict of the newest counts} from lines logged after the offsets ``after``."""
        latest = {}
        for i, text in enumerate(self.logs()):
            for match in DIAG.finditer(text, after[i] if after else 0):
                pid, *counts = match.groups()
                names = ("sessions", "connected", "periodic_callbacks", "tasks", "threads", "rss_mb", "lessons",
                         "explorables")
                latest[int(pid)] = {k: (float(v) if k == "rss_mb" else int(v)) for k, v in zip(names, counts)
                                    if v is not None and v != "None"}
        return latest

    def pauses(self, after=None):
        """What held the server processes' event loops, from the diagnostics lines logged after the
        offsets ``after`` (one a second per process, written on the event loop): the longest time
        a line came late ("stall", in seconds beyond the period), how many came over a second late,
        and the garbage collector's passes (full collections, the longest pause in ms), counted
        while the process had sessions (the pass after the last student left freezes nobody)."""
        figures = {"loop_stall_max_s": 0.0, "loop_stalls_over_1s": 0, "gc_full": 0, "gc_pause_max_ms": 0}
        for i, text in enumerate(self.logs()):
            last = {}
            for match in DIAG_TIMED.finditer(text, after[i] if after else 0):
                stamp, pid, sessions, gc_max, gc_full = match.groups()
                when = datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f")
                if pid in last:
                    late = (when - last[pid]).total_seconds() - self.diagnostics_every
                    figures["loop_stall_max_s"] = round(max(figures["loop_stall_max_s"], late), 1)
                    figures["loop_stalls_over_1s"] += late > 1.0
                last[pid] = when
                if int(sessions) > 0:
                    figures["gc_full"] += int(gc_full)
                    figures["gc_pause_max_ms"] = max(figures["gc_pause_max_ms"], int(gc_max))
        return figures

    def wait_idle(self, timeout=90.0, need_objects=False):
        """Wait until every worker reports no sessions and no periodic callbacks (and, with
        ``need_objects``, no live pages or explorables) in a line logged after this call began;
        returns the seconds waited, or None on timeout."""
        marks, start = self.log_marks(), time.monotonic()
        keys = ("sessions", "periodic_callbacks") + (("lessons", "explorables") if need_objects else ())
        while time.monotonic() - start < timeout:
            latest = self.diagnostics(marks)
            if len(latest) >= self.workers and all(all(d.get(k, 0) == 0 for k in keys) for d in latest.values()):
                return time.monotonic() - start
            time.sleep(0.25)
        return None

    def trouble(self):
        """Lines of the server logs (and nginx's error log) that report errors."""
        lines = [line for text in self.logs() for line in text.splitlines()
                 if TROUBLE.search(line) and "kx-diagnostics" not in line]
        if self.nginx is not None:
            lines += [f"nginx: {line}" for line in self.nginx.error_log().splitlines()
                      if re.search(r"\[(error|crit|alert|emerg)\]", line)]
        return lines


class MemorySampler(threading.Thread):
    """Samples (seconds, RSS MB, PSS MB) of the server processes every ``every`` seconds."""

    def __init__(self, classroom, every=0.5):
        super().__init__(daemon=True)
        self.classroom, self.every = classroom, every
        self.samples = []
        self._halt = threading.Event()

    def run(self):
        # PSS (smaps_rollup) makes the kernel walk a process's page tables under its memory lock:
        # read it only every 10th sample, so that measuring does not slow the server down.
        start, n, pss = time.monotonic(), 0, 0.0
        while not self._halt.is_set():
            pids = self.classroom.pids()
            rss = memory_mb(pids, pss=False)[0]
            if n % 10 == 0:
                pss = memory_mb(pids)[1]
            self.samples.append((time.monotonic() - start, rss, pss))
            n += 1
            self._halt.wait(self.every)

    def stop(self):
        self._halt.set()
        self.join(5)

    def peak(self):
        return max((s[1] for s in self.samples), default=0.0), max((s[2] for s in self.samples), default=0.0)


# -- students -------------------------------------------------------------------------------------------------
def _drag_values(start, target, n):
    return [start + (target - start) * (i + 1) / n for i in range(n)]


def chapter_shown(session, slug):
    """True when the session holds chapter ``slug``'s page and it is visible: the page keeps the
    chapter left last built but hidden (app.shell.Lesson), so going back to it sends no new
    models, only its visibility."""
    return any(f"kx-{slug}" in (e["attributes"].get("css_classes") or []) and e["attributes"].get("visible", True)
               for e in list(session.models.values()))


async def open_chapter(session, slug, timeout):
    """Open chapter ``slug`` as the menu does (the page's URL changes) and wait until it is shown."""
    await session.navigate(f"?chapter={slug}")
    await session.wait(lambda: chapter_shown(session, slug), timeout, f"the {slug} chapter")


async def student(number, url, seconds, drag_every, rng, phase=0.0, watch=10.0, timeout=90.0):
    """One student, start to finish; returns a dict of what happened (``completed`` is the verdict).

    Opens the lab, presses Play and watches it train for up to ``watch`` seconds (2 to 10 s by
    default, so that some labs are on screen while others are not), then opens the spline-edge
    chapter and drags coefficients until ``seconds`` have passed since Play, the lab training on
    all the while. With ``phase`` > 0 it goes back and forth between the two chapters every
    ``phase`` seconds instead. Finally checks that the server holds exactly the coefficients it
    set and that the lab trained, and closes the tab with the lab still training.
    """
    result = {"student": number, "completed": False, "phase": "open", "drags": 0, "releases_ms": [],
              "lab_steps": None, "error": None}
    session = Session(url, {"chapter": "training-lab"}, timeout=timeout)
    try:
        await session.open()
        result["phase"] = "play"
        play = session.widget("Button", label="Play")
        await session.click(play)
        await session.wait(lambda: session.attrs(play)["label"] == "Pause", timeout, "the lab to start training")
        result["active_from"] = time.time()
        end = time.monotonic() + seconds
        coef, where = None, "lab"
        watch = rng.uniform(0.2, 1.0) * watch          # the students' first switch is spread out
        while time.monotonic() < end:
            if where == "lab":
                result["phase"] = "watching"
                await asyncio.sleep(min(watch, max(0.0, end - time.monotonic())))
                watch = phase if phase > 0 else seconds
                if time.monotonic() >= end:
                    break
                result["phase"] = "spline"
                result["lab_steps_left_at"] = lab_steps(session)    # the last time the student left it
                await open_chapter(session, "spline-edge", timeout)
                where = "spline"
                driver = SplineDriver(session)
                if coef is None:
                    coef = list(session.attrs(driver.plot)["coef"])
            result["phase"] = "dragging"
            until = min(end, time.monotonic() + phase) if phase > 0 else end
            while time.monotonic() < until:
                index = rng.randrange(len(coef))
                target = round(rng.uniform(-COEF_LIMIT, COEF_LIMIT), 3)
                values = _drag_values(coef[index], target, rng.randint(6, 12))
                result["releases_ms"].append(1000 * await driver.drag(index, values, timeout=timeout))
                coef[index] = values[-1]
                result["drags"] += 1
                pause = max(0.0, rng.uniform(0.5, 1.5) * drag_every)
                await asyncio.sleep(min(pause, max(0.0, until - time.monotonic())))
            if time.monotonic() < end:
                result["phase"] = "back to the lab"
                await open_chapter(session, "training-lab", timeout)
                where = "lab"
        result["active_until"] = time.time()
        result["phase"] = "check coefficients"
        if where == "lab" or coef is None:
            await open_chapter(session, "spline-edge", timeout)
        if coef is not None:
            await session.pull()        # what the server holds for this session, afresh
            held = [round(c, 9) for c in session.attrs(session.component("SplinePlot"))["coef"]]
            if held != [round(c, 9) for c in coef]:
                raise AssertionError(f"the server holds coefficients {held}, this student set {coef}")
        result["phase"] = "check lab"
        await open_chapter(session, "training-lab", timeout)
        shown = lab_steps(session) or 0     # the readout as the lab was last drawn, before the student left
        try:    # the first fresh frame shows how far the lab trained while away
            await session.wait(lambda: (lab_steps(session) or 0) > shown, 15.0, "a fresh frame of the lab")
        except SessionError:
            pass
        result["lab_steps"] = lab_steps(session)
        if not result["lab_steps"]:
            raise AssertionError("the lab shows no training steps")
        if session.errors:
            raise AssertionError("; ".join(session.errors[:3]))
        result["phase"] = "done"
        result["completed"] = True
    except Exception as error:     # a failed session is a figure of the test, not a crashed test
        result["error"] = f"{type(error).__name__}: {error}"
    finally:
        await session.close()       # the tab closes with the lab still training
    return result


async def students(url, n, seconds, drag_every, ramp, seed, phase=0.0, watch=10.0):
    async def one(i):
        await asyncio.sleep(ramp * i / max(1, n))
        return await student(i, url, seconds, drag_every, random.Random(seed * 1000 + i), phase, watch)
    return await asyncio.gather(*(one(i) for i in range(n)))


def _students_main(args):
    """Entry point of the child process that plays the students; writes their results as JSON."""
    results = run_async(students(args.url, args.sessions, args.seconds, args.drag_every, args.ramp, args.seed,
                                   args.phase, args.watch))
    Path(args.students_out).write_text(json.dumps(results))


# -- the probe ----------------------------------------------------------------------------------------------------
class Probe:
    """A session on the spline-edge chapter that times coefficient changes."""

    def __init__(self, url, timeout=60.0):
        self.session = Session(url, {"chapter": "spline-edge"}, timeout=timeout)
        self.samples = []           # (wall time, milliseconds)
        self.failures = []

    async def open(self):
        await self.session.open()
        self.driver = SplineDriver(self.session)
        self._value = 1.0
        return self

    async def measure(self, index=3):
        """One timed change; appends (time, ms) and returns ms (None on failure)."""
        plot = self.session.attrs(self.driver.plot)
        before = plot["curve"].copy()
        self._value = -self._value           # alternate, so every change moves the curve
        try:
            seconds = await self.driver.release(index, self._value)
        except SessionError as error:
            self.failures.append(str(error))
            return None
        after = self.session.attrs(self.driver.plot)["curve"]
        if after.shape == before.shape and (after == before).all():
            self.failures.append("the acknowledgement came without a new curve")
        self.samples.append((time.time(), seconds * 1000))
        return seconds * 1000

    async def run_until(self, done, every):
        while not done():
            started = time.monotonic()
            await self.measure()
            await asyncio.sleep(max(0.0, every - (time.monotonic() - started)))

    async def close(self):
        await self.session.close()


def percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def _hold_sessions(url, n, until, timeout=120.0):
    """Open n sessions on the training lab at once, keep them until ``until()`` is true, close them."""
    sessions = [Session(url, {"chapter": "training-lab"}, timeout=timeout) for _ in range(n)]
    try:
        await asyncio.gather(*(s.open() for s in sessions))
        deadline = time.monotonic() + 10
        while not until() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
    finally:
        await asyncio.gather(*(s.close() for s in sessions))


def warm_up(room, rounds=6, timeout=120.0):
    """Have every worker process serve sessions (a student's whole path once, then the lab in
    batches until every worker has shown sessions), so that the first students do not pay for
    imports and first-time setup and the memory baseline is taken with every worker in use."""
    result = run_async(student(-1, room.url, 1.5, 0.2, random.Random(0), watch=0.5, timeout=timeout))
    if not result["completed"]:
        raise RuntimeError(f"warm-up session failed in phase {result['phase']}: {result['error']}")
    served = set()
    for _ in range(rounds):
        marks = room.log_marks()

        def everyone():
            served.update(pid for pid, d in room.diagnostics(marks).items() if d["sessions"] > 0)
            return len(served) >= room.workers
        run_async(_hold_sessions(room.url, 2 * room.workers, everyone, timeout))
        if everyone():
            return True
    return False


# -- the whole test -------------------------------------------------------------------------------------------------
def run(sessions=30, seconds=60.0, through_nginx=False, backends=None, num_procs=None, num_threads=None,
        ramp=10.0, drag_every=2.0, phase=0.0, watch=10.0, probe_every=0.25, idle_probes=20, seed=1, warm=None,
        log=print):
    """Run the load test; returns a dict of figures (see ``report``)."""
    figures = {"sessions": sessions, "seconds": seconds, "through_nginx": through_nginx,
               "load_before": os.getloadavg()[0], "cpus": os.cpu_count()}
    with Classroom(through_nginx, backends, num_procs, num_threads, objects=True) as room:
        figures["command"] = " ".join(room.backends[0].argv[2:])
        figures["workers"] = room.workers
        log(f"server up: {room.workers} worker process(es){' behind nginx' if through_nginx else ''} at {room.url}")
        figures["memory_cold_mb"] = room.memory()[0]
        warm_up(room, rounds=warm if warm is not None else 6)
        waited = room.wait_idle()
        if waited is None:
            raise RuntimeError("the warm-up sessions did not go away")
        time.sleep(1.0)
        figures["memory_baseline_mb"], figures["pss_baseline_mb"] = room.memory()
        log(f"baseline after warm-up: RSS {figures['memory_baseline_mb']:.0f} MB "
            f"(PSS {figures['pss_baseline_mb']:.0f} MB)")

        sampler = MemorySampler(room)
        sampler.start()
        marks = room.log_marks()
        with tempfile.TemporaryDirectory(prefix="kx-classroom-") as tmp:
            out = Path(tmp) / "students.json"
            command = [sys.executable, "-m", "tests.load.classroom", "--students-only", "--url", room.url,
                       "--sessions", str(sessions), "--seconds", str(seconds), "--drag-every", str(drag_every),
                       "--ramp", str(ramp), "--phase", str(phase), "--watch", str(watch), "--seed", str(seed),
                       "--students-out", str(out)]
            results, probe = run_async(_drive(room, command, idle_probes, probe_every, log))
            figures["students_exit"] = results
            students_results = json.loads(out.read_text()) if out.exists() else []
        closed_at = time.monotonic()
        figures.update(room.pauses(marks))
        # closed means gone: no session, callback, page or explorable left in any process ...
        waited = room.wait_idle(timeout=120.0, need_objects=True)
        figures["idle_after_s"] = None if waited is None else round(time.monotonic() - closed_at, 1)
        # ... and the server has had one turn of giving freed memory back (app_hooks, every 5 s)
        time.sleep(MEMORY_RETURN_S + 1.0)
        sampler.stop()
        figures["memory_after_mb"], figures["pss_after_mb"] = room.memory()
        figures["memory_peak_mb"], figures["pss_peak_mb"] = sampler.peak()
        last = room.diagnostics()
        figures["left_sessions"] = sum(d["sessions"] for d in last.values())
        figures["left_callbacks"] = sum(d["periodic_callbacks"] for d in last.values())
        figures["trouble"] = room.trouble()
    figures["load_after"] = os.getloadavg()[0]
    figures.update(_summarise(students_results, probe))
    return figures


async def _drive(room, command, idle_probes, probe_every, log):
    probe = await Probe(room.url).open()
    for _ in range(idle_probes):
        await probe.measure()
        await asyncio.sleep(probe_every)
    probe.idle = [ms for _, ms in probe.samples]
    probe.samples = []
    log(f"probe alone: p50 {percentile(probe.idle, 50):.0f} ms; starting the students")
    child = await asyncio.create_subprocess_exec(*command, cwd=str(REPO))
    waiting = asyncio.create_task(child.wait())
    await probe.run_until(waiting.done, probe_every)
    code = await waiting
    await probe.close()
    return code, probe


def _summarise(results, probe):
    completed = [r for r in results if r.get("completed")]
    starts = [r["active_from"] for r in results if "active_from" in r]
    ends = [r["active_until"] for r in results if "active_until" in r]
    # "every student active": after the last one started dragging and before the first one stopped
    window = (max(starts), min(ends)) if starts and ends and max(starts) < min(ends) else None
    during = [(t, ms) for t, ms in probe.samples if window and window[0] <= t <= window[1]]
    loaded = [ms for _, ms in during]
    everything = [ms for _, ms in probe.samples]
    releases = [ms for r in results for ms in r.get("releases_ms", [])]
    return {
        "completed": len(completed), "failed": [{k: r[k] for k in ("student", "phase", "error")}
                                                 for r in results if not r.get("completed")],
        "students_reported": len(results),
        "drags": sum(r.get("drags", 0) for r in results),
        "lab_steps_median": statistics.median([r["lab_steps"] for r in completed]) if completed else None,
        "lab_steps_left_median": statistics.median(left) if (left := [r["lab_steps_left_at"] for r in completed
                                                                        if r.get("lab_steps_left_at") is not None])
        else None,
        "all_active_s": round(window[1] - window[0], 1) if window else 0.0,
        "probe_idle_p50": percentile(probe.idle, 50), "probe_idle_p95": percentile(probe.idle, 95),
        "probe_p50": percentile(loaded, 50), "probe_p95": percentile(loaded, 95), "probe_max": max(loaded, default=0),
        "probe_n": len(loaded),
        # the slowest changes while every student was active: (seconds into that stretch, ms)
        "probe_slowest": sorted(((round(t - window[0], 1), round(ms)) for t, ms in during), key=lambda p: -p[1])[:5],
        "probe_run_p50": percentile(everything, 50), "probe_run_p95": percentile(everything, 95),
        "probe_run_n": len(everything),
        "probe_failures": probe.failures,
        "student_release_p50": percentile(releases, 50), "student_release_p95": percentile(releases, 95),
    }


def verdicts(f):
    """{target: (met, text)} for the figures of ``run``."""
    base = f["memory_baseline_mb"]
    allowed_after = base + max(AFTER_TOLERANCE_MB, AFTER_TOLERANCE * base)
    return {
        "latency": (f["probe_p95"] < TARGET_P95_MS, f"probe p95 {f['probe_p95']:.0f} ms < {TARGET_P95_MS:.0f} ms"),
        "errors": (not f["trouble"] and not f["probe_failures"],
                   f"{len(f['trouble'])} error lines in the server log, {len(f['probe_failures'])} probe failures"),
        "completed": (f["completed"] == f["sessions"], f"{f['completed']} of {f['sessions']} sessions completed"),
        "memory_peak": (f["memory_peak_mb"] < TARGET_MEMORY_MB,
                        f"peak RSS {f['memory_peak_mb']:.0f} MB < {TARGET_MEMORY_MB:.0f} MB"),
        "memory_after": (f["memory_after_mb"] <= allowed_after and f["left_sessions"] == 0 and
                         f["left_callbacks"] == 0,
                         f"after: RSS {f['memory_after_mb']:.0f} MB <= {allowed_after:.0f} MB, "
                         f"{f['left_sessions']} sessions and {f['left_callbacks']} periodic callbacks left"),
    }


def report(f, out=print):
    out(f"\nClassroom load test: {f['sessions']} sessions x {f['seconds']:.0f} s"
        f"{' through nginx' if f['through_nginx'] else ''}, {f['workers']} server process(es), {f['cpus']} CPUs")
    out(f"  server: {f['command']}")
    out(f"  load average {f['load_before']:.1f} before, {f['load_after']:.1f} after")
    out(f"  sessions completed: {f['completed']} of {f['sessions']}"
        + (f"; failed: {f['failed'][:5]}" if f["failed"] else ""))
    out(f"  every student active together for {f['all_active_s']:.0f} s; {f['drags']} drags; lab steps (median): "
        f"{f['lab_steps_left_median']} when the student left the lab, {f['lab_steps_median']} at the end")
    out(f"  probe latency (coefficient -> new curve): alone p50 {f['probe_idle_p50']:.0f} ms, "
        f"p95 {f['probe_idle_p95']:.0f} ms; with every student active p50 {f['probe_p50']:.0f} ms, "
        f"p95 {f['probe_p95']:.0f} ms, max {f['probe_max']:.0f} ms (n = {f['probe_n']}); whole run p50 "
        f"{f['probe_run_p50']:.0f} ms, p95 {f['probe_run_p95']:.0f} ms (n = {f['probe_run_n']})")
    out("  slowest probe changes while every student was active (s into that stretch, ms): "
        + ", ".join(f"{t:.0f} s: {ms}" for t, ms in f.get("probe_slowest", [])))
    out(f"  students' own releases: p50 {f['student_release_p50']:.0f} ms, p95 {f['student_release_p95']:.0f} ms")
    out(f"  server event loops (from the diagnostics lines): longest stall {f['loop_stall_max_s']:.1f} s, "
        f"{f['loop_stalls_over_1s']} over 1 s; {f['gc_full']} full garbage collections with students connected, the longest "
        f"{f['gc_pause_max_ms']} ms")
    out(f"  server log: {len(f['trouble'])} error lines" + (f": {f['trouble'][:5]}" if f["trouble"] else ""))
    out(f"  memory (RSS of all server processes; PSS in brackets): cold {f['memory_cold_mb']:.0f} MB, "
        f"baseline {f['memory_baseline_mb']:.0f} MB ({f['pss_baseline_mb']:.0f}), peak {f['memory_peak_mb']:.0f} MB "
        f"({f['pss_peak_mb']:.0f}), after {f['memory_after_mb']:.0f} MB ({f['pss_after_mb']:.0f}), "
        f"no session left {f['idle_after_s']} s after the last tab closed")
    for name, (met, text) in verdicts(f).items():
        out(f"  [{'ok' if met else 'MISSED'}] {text}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30, help="students (default 30)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long each student drags (default 60)")
    parser.add_argument("--through-nginx", action="store_true", help="serve through nginx and the sample config")
    parser.add_argument("--backends", type=int, default=None, help="panel serve processes (default 1; 2 with nginx)")
    parser.add_argument("--num-procs", type=int, default=None, help="override the README's --num-procs")
    parser.add_argument("--num-threads", type=int, default=None, help="override the README's --num-threads")
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds over which the students arrive")
    parser.add_argument("--drag-every", type=float, default=2.0, help="mean seconds between a student's drags")
    parser.add_argument("--watch", type=float, default=10.0,
                        help="a student watches the lab train for up to this many seconds before dragging (default 10)")
    parser.add_argument("--phase", type=float, default=0.0,
                        help="switch between the lab and the spline edge every PHASE seconds (default 0: once)")
    parser.add_argument("--probe-every", type=float, default=0.25, help="seconds between probe changes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--students-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--students-out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.students_only:
        _students_main(args)
        return 0
    figures = run(args.sessions, args.seconds, args.through_nginx, args.backends, args.num_procs, args.num_threads,
                  args.ramp, args.drag_every, args.phase, args.watch, args.probe_every, seed=args.seed)
    report(figures)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1, default=str))
    return 0 if all(met for met, _ in verdicts(figures).values()) else 1


if __name__ == "__main__":
    sys.exit(main())
