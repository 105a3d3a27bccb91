"""The server hook leaves numpy's OpenBLAS on one thread (many sessions share one process)."""

import ctypes
import glob
import os

import numpy
import pytest

from app.app_hooks import one_blas_thread


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
