"""Suite-wide: how pytest-xdist's two workers share the tests (see pyproject.toml's addopts).

The browser tests form two groups of about equal length, one per worker, each with its own server
and Chromium (a group's files run one after another on one worker and share its session fixtures).
Every other file is a group of its own, so module fixtures (a served classroom, say) start once.
Browser waits end on what the page shows (see tests/browser/conftest.py), so the two groups and the
load tests may share the two cores.
"""
import pytest

# The second browser group; every other browser file is in the first.
BROWSER_B = {"test_mlp_neuron.py", "test_layer_trace.py", "test_hero.py", "test_snap.py", "test_grid_extension.py",
             "test_flip.py", "test_classroom.py", "test_continual.py", "test_sandbox.py"}


def group_of(path):
    """The xdist group of a test file, by its path relative to the repository."""
    if path.startswith("tests/browser/"):
        return "browser-b" if path.rsplit("/", 1)[-1] in BROWSER_B else "browser-a"
    return path


def pytest_collection_modifyitems(config, items):
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group_of(item.nodeid.split("::")[0])))


def pytest_sessionstart(session):
    """Compile every numba kernel once (or load it from numba's on-disk cache) before pytest-xdist
    starts its workers: on a fresh clone every worker, and every server the tests start, would
    otherwise compile the same kernels at the same time, about a minute of the suite on 2 cores.
    (xdist starts its workers in its own sessionstart hook, which runs last.)"""
    if hasattr(session.config, "workerinput"):     # a worker: the controller has done it
        return
    import kan_core

    kan_core.warmup()
