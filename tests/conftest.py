"""Suite-wide: how pytest-xdist's two workers share the tests (see pyproject.toml's addopts).

All browser tests form one group, so they run one after another on one worker with one server and
one Chromium; two browser groups at once on 2 cores starved each other's pages of CPU. Every other
file is a group of its own, so module fixtures (a served classroom, say) start once.
"""
import pytest


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = item.nodeid.split("::")[0]
        group = "browser" if path.startswith("tests/browser/") else path
        item.add_marker(pytest.mark.xdist_group(group))
