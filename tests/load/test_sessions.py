"""Served with the README's classroom command: sessions kept apart, odd input survived, tabs closed.

Every test talks to the real server over its websocket as a page does (tests/load/client.py),
against ``panel serve`` started exactly as README.md's "Serving a classroom" says (two processes,
a thread pool), with the opt-in diagnostics line on so the tests can see live sessions, periodic
callbacks and live page objects in every process (app/app_hooks.py). No test may leave an error
in the server log.
"""

import asyncio
import time
import urllib.error
import urllib.request
from urllib.parse import quote, urlencode

import pytest

from tests.load.classroom import AFTER_TOLERANCE, AFTER_TOLERANCE_MB, Classroom, run_async, warm_up
from tests.load.client import Session, SplineDriver, lab_steps

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def room():
    with Classroom(diagnostics_every=0.5, objects=True, name="sessions-serve") as room:
        yield room


@pytest.fixture
def clean_log(room):
    """Fails the test if it left error lines in the server log."""
    before = len(room.trouble())
    yield
    after = room.trouble()
    assert len(after) == before, "The server logged errors:\n" + "\n".join(after[before:][:20])


def run(coroutine):
    return run_async(coroutine)


def message(session):
    texts = session.text_of("kx-lab-message")
    return texts[-1] if texts else ""


# -- 2. isolation --------------------------------------------------------------------------------------
def test_two_sessions_changing_the_same_controls_never_see_each_other(room, clean_log):
    async def scenario():
        a = await Session(room.url, {"chapter": "spline-edge"}).open()
        b = await Session(room.url, {"chapter": "spline-edge"}).open()
        da, db = SplineDriver(a), SplineDriver(b)
        start = list(a.attrs(da.plot)["coef"])
        assert start == b.attrs(db.plot)["coef"]
        for i in range(8):                   # the same coefficient, opposite values, interleaved
            await da.release(0, 2.0 - 0.1 * i)
            await db.release(0, -2.0 + 0.1 * i)
        patches_b = b.patches
        await da.drag(3, [0.5, 1.0, 1.5, 2.2])
        await a.set(a.widget("IntSlider", label="Grid size G"), "value", 9)
        await a.wait(lambda: len(a.attrs(da.plot)["coef"]) == 12, what="G = 9 on A")
        await asyncio.sleep(0.5)
        assert b.patches == patches_b, "B received updates from A's changes"
        for s in (a, b):
            await s.pull()
        coef_a = a.attrs(a.component("SplinePlot"))["coef"]
        coef_b = b.attrs(b.component("SplinePlot"))["coef"]
        assert len(coef_a) == 12 and len(coef_b) == 8
        assert coef_b == [-2.0 + 0.1 * 7, *start[1:]]
        c = await Session(room.url, {"chapter": "spline-edge"}).open()     # a newcomer starts afresh
        assert c.attrs(c.component("SplinePlot"))["coef"] == start
        for s in (a, b, c):
            await s.close()

        # the lab: one session trains a [2, 3, 1] KAN, the other keeps its [2, 7, 1] paused
        a = await Session(room.url, {"chapter": "training-lab"}).open()
        b = await Session(room.url, {"chapter": "training-lab"}).open()
        await a.set(a.widget("TextInput", label="Hidden layer sizes"), "value", "3")
        await b.set(b.widget("TextInput", label="Hidden layer sizes"), "value", "7")
        await a.wait(lambda: "[2, 3, 1]" in message(a), what="A's new network")
        await b.wait(lambda: "[2, 7, 1]" in message(b), what="B's new network")
        play_a, play_b = a.widget("Button", label="Play"), b.widget("Button", label="Play")
        await a.click(play_a)
        await a.wait(lambda: (lab_steps(a) or 0) > 20, what="A to train")
        assert b.attrs(play_b)["label"] == "Play" and lab_steps(b) == 0
        assert "[2, 7, 1]" in message(b) and "[2, 3, 1]" not in message(b)
        for s in (a, b):
            await s.close()
    run(scenario())


# -- 3. hostile and odd input --------------------------------------------------------------------------
ODD_QUERIES = [
    {"chapter": ""},
    {"chapter": "no-such-chapter"},
    {"chapter": "<script>alert(1)</script>"},
    {"chapter": "ünïcødé ✓ 日本語 \U0001F600"},
    {"chapter": "../../etc/passwd"},
    {"chapter": "\x00\x01\x7f"},
    {"chapter": "x" * 8000},
    {"chapter": "training-lab", "grid_size": "-5", "spline_order": "99", "learning_rate": "1e308",
     "n_samples": "99999999999", "hidden": "<script>", "formula": "__import__('os').system('x')", "seed": "nan"},
    {"chapter": "spline-edge", "coef": "nan,inf,1e999,-1e999", "grid_size": "abc", "scale_sp": "1e400"},
    {"chapter": "training-lab", "target": "formula", "formula": "x+" * 3000 + "x"},
    {"unknown": "1", "chapter[]": "2", "": "3"},
]


@pytest.mark.parametrize("query", ODD_QUERIES, ids=range(len(ODD_QUERIES)))
def test_an_odd_url_opens_a_working_page(room, clean_log, query):
    url = f"{room.url}?{urlencode(query, quote_via=quote)}"
    with urllib.request.urlopen(url, timeout=60) as response:
        assert response.status == 200

    async def scenario():
        async with Session(room.url, query) as s:
            assert s.n_roots >= 1
            html = "\n".join(t for e in s.models.values() for t in [str(e["attributes"].get("text") or "")])
            assert "<script>" not in html.replace("&lt;script&gt;", "")
            for name, entry in s.models.items():     # every number box shows a number within its bounds
                if entry["name"].startswith(("IntInput", "FloatInput")):
                    a = entry["attributes"]
                    value = a.get("value")
                    assert value is None or (a.get("start") is None or a["start"] <= value) and \
                        (a.get("end") is None or value <= a["end"]), (entry["name"], a.get("label"), value)
    run(scenario())


def test_a_url_too_long_for_the_server_is_refused_and_harms_nothing(room):
    url = f"{room.url}?chapter={'x' * 200_000}"
    try:
        urllib.request.urlopen(url, timeout=60)
    except urllib.error.HTTPError as refused:       # 414 or 431 ...
        assert 400 <= refused.code < 500
    except (ConnectionError, urllib.error.URLError):  # ... or tornado simply hangs up
        pass
    else:
        pytest.fail("a 200 kB address was served")

    async def still_works():
        async with Session(room.url, {"chapter": "spline-edge"}) as s:
            assert await SplineDriver(s).release(1, 0.5) < 30
    run(still_works())


@pytest.mark.parametrize("formula", ["__import__('os').system('touch /tmp/kx-hacked')", "().__class__.__bases__",
                                     "lambda: 0", "open('/etc/passwd').read()", "x" * 100_000],
                         ids=["import", "dunder", "lambda", "open", "100 kB"])
def test_a_formula_that_tries_to_run_code_is_refused_in_a_served_lab(room, clean_log, formula):
    async def scenario():
        async with Session(room.url, {"chapter": "training-lab"}) as s:
            box = s.widget("TextInput", label="Formula in x and y (press Enter)")
            await s.set(box, "value", formula)
            await s.wait(lambda: message(s).find("Training cannot start") >= 0, what="the refusal")
            assert len(message(s)) < 1500
            play = s.widget("Button", label="Play")
            await s.click(play)
            await asyncio.sleep(1.0)
            assert s.attrs(play)["label"] == "Play" and lab_steps(s) == 0
            await s.set(box, "value", "x*y")                  # and a good formula works again
            await s.wait(lambda: "Press Play to train" in message(s), what="the lab to accept x*y")
            await s.click(s.widget("Button", label="Step"))
            await s.wait(lambda: lab_steps(s) == 1, what="one step")
    run(scenario())


@pytest.mark.parametrize("label, values, low, high", [
    ("Grid size G", [-5, 0, 10**9, None], 1, 100),
    ("Spline order k", [-1, 99], 1, 5),
    ("Train samples", [-100, 10**12], 20, 10_000),
    ("Adam learning rate", [-1.0, 1e300], 1e-6, 1e6),
])
def test_absurd_numbers_typed_into_a_served_lab_are_clamped_with_a_sentence(room, clean_log, label, values, low, high):
    kind = "FloatInput" if isinstance(low, float) else "IntInput"

    async def scenario():
        async with Session(room.url, {"chapter": "training-lab"}) as s:
            box = s.widget(kind, label=label)
            for value in values:
                await s.set(box, "value", value)
                await s.wait(lambda: s.attrs(box).get("helper_text"), what=f"a sentence under {label}")
                used = s.attrs(box)["value"]
                assert low <= used <= high, (value, used)
            await s.click(s.widget("Button", label="Step"))
            await s.wait(lambda: lab_steps(s) == 1, what="one step")
    run(scenario())


def test_rapid_presses_on_play_step_and_reset_leave_a_working_session(room, clean_log):
    async def scenario():
        async with Session(room.url, {"chapter": "training-lab"}) as s:
            play, step, reset = (s.widget("Button", label=n) for n in ("Play", "Step", "Reset"))
            presses = [play, step, reset, play, play, step, reset, step, play] * 12
            await asyncio.gather(*(s.click(b) for b in presses))        # all at once, no waiting
            for _ in range(10):            # the server works through the presses; then Reset holds
                await s.click(reset)
                await s.wait(lambda: s.attrs(play)["label"] == "Play", what="a paused lab")
                if await s.quiet(2.0, timeout=60) and lab_steps(s) == 0:
                    break
            await s.click(step)
            await s.wait(lambda: lab_steps(s) == 1 and "One step taken" in message(s),
                         what="one step after the storm")
    run(scenario())


# -- 4. disconnects ----------------------------------------------------------------------------------------
def test_100_sessions_closed_mid_training_leave_no_session_callback_or_memory_behind(room, clean_log):
    async def tab():
        async with Session(room.url, {"chapter": "training-lab"}, timeout=120) as s:
            play = s.widget("Button", label="Play")
            await s.click(play)
            await s.wait(lambda: s.attrs(play)["label"] == "Pause", what="training")
        # leaving the block closes the websocket: the tab is gone, mid-training

    async def batch(n):
        await asyncio.gather(*(tab() for _ in range(n)))

    assert warm_up(room), "not every server process got a session"   # every process has built the lab
    run(batch(10))                         # and has served a few: its memory has found its level
    assert room.wait_idle(need_objects=True, timeout=120) is not None
    time.sleep(1.0)
    baseline, _ = room.memory()
    for _ in range(10):
        run(batch(10))
    waited = room.wait_idle(need_objects=True, timeout=120)
    time.sleep(1.0)
    after, _ = room.memory()
    last = room.diagnostics()
    assert waited is not None, f"sessions, callbacks or page objects left: {last}"
    assert all(d["sessions"] == 0 and d["periodic_callbacks"] == 0 and d["lessons"] == 0 and d["explorables"] == 0
               for d in last.values()), last
    allowed = baseline + max(AFTER_TOLERANCE_MB, AFTER_TOLERANCE * baseline)
    print(f"100 sessions: RSS {baseline:.0f} MB before, {after:.0f} MB after; idle {waited:.1f} s after the last")
    assert after <= allowed, f"server memory {after:.0f} MB after 100 sessions, {baseline:.0f} MB before"
