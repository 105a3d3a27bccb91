"""Server lifecycle hooks: one BLAS thread, and the numeric kernels compiled before the first student arrives."""

import ctypes
import glob
import logging
import os
import time

log = logging.getLogger("kan_app")

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


def on_server_loaded(server_context):
    import kan_core

    # `panel serve --log-level` sets only the "bokeh" logger; follow it.
    log.setLevel(logging.getLogger("bokeh").getEffectiveLevel())
    if one_blas_thread():
        log.info("numpy's OpenBLAS limited to one thread.")
    start = time.perf_counter()
    kan_core.warmup()
    log.info("kan_core kernels warmed up in %.2f s.", time.perf_counter() - start)
