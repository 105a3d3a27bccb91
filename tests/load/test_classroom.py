"""The classroom load test, reduced for the test suite: a few students, a few seconds.

``python -m tests.load.classroom`` is the full run (30 students, 60 s) and prints the figures,
latency included; here only what does not depend on the machine's speed is asserted: every
session completes, the server logs no error, the probe's changes all come back with a new curve,
memory stays under the bound and returns near its baseline, and no session or periodic callback
is left once the tabs close.
"""

import pytest

from tests.load import classroom

pytestmark = pytest.mark.slow


def test_the_readme_command_is_the_classroom_command():
    env, words = classroom.readme_command()
    assert env.get("OPENBLAS_NUM_THREADS") == "1"
    assert env.get("PYTHONMALLOC") == "malloc"      # memory goes back after the class (README)
    assert words[:3] == ["panel", "serve", "app"]
    for option in ("--num-procs", "--num-threads", "--allow-websocket-origin", "--check-unused-sessions",
                   "--unused-session-lifetime"):
        assert option in words
    _, argv = classroom.classroom_argv(5999, origins=["127.0.0.1:8080"])
    assert argv[argv.index("--address") + 1] == "127.0.0.1" and argv[argv.index("--port") + 1] == "5999"
    assert "127.0.0.1:8080" in argv and "HOST:5006" not in " ".join(argv)


def test_a_small_classroom_completes_without_errors_and_gives_its_memory_back():
    figures = classroom.run(sessions=4, seconds=8, ramp=1.0, watch=3.0, idle_probes=4, warm=2, log=lambda *a: None)
    classroom.report(figures)
    verdicts = classroom.verdicts(figures)
    assert figures["completed"] == figures["sessions"], figures["failed"]
    assert not figures["trouble"], figures["trouble"]
    assert not figures["probe_failures"], figures["probe_failures"]
    assert figures["probe_run_n"] > 0 and figures["drags"] > 0
    assert verdicts["memory_peak"][0], verdicts["memory_peak"][1]
    assert verdicts["memory_after"][0], verdicts["memory_after"][1]
