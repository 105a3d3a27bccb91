"""Server lifecycle hooks: compile the numeric kernels once, before the first student arrives."""

import logging
import time

log = logging.getLogger("kan_app")


def on_server_loaded(server_context):
    import kan_core

    # `panel serve --log-level` sets only the "bokeh" logger; follow it.
    log.setLevel(logging.getLogger("bokeh").getEffectiveLevel())
    start = time.perf_counter()
    kan_core.warmup()
    log.info("kan_core kernels warmed up in %.2f s.", time.perf_counter() - start)
