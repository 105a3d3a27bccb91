"""kan_core: the numeric engine of the KAN teaching app (numpy + numba only, no UI imports).

Every model (KAN, MLP) follows one small protocol so optimizers and trainers work on both:

    model(x)                      -> (N, n_out) float64 output for x of shape (N, n_in)
    model.loss_and_grad(x, y)     -> (mse, grads) with grads a list (one per layer) of dicts of
                                     arrays shaped like that layer's parameters
    model.loss_and_flat_grad(x, y)-> (mse, g) with g a 1-D float64 vector ordered as get_params()
    model.get_params()            -> 1-D float64 copy of every trainable parameter
    model.set_params(theta)       -> writes a 1-D vector back in place
    model.n_params                -> int, the length of get_params()
    model.copy()                  -> an independent deep copy
    model.to_dict() / Cls.from_dict(d) -> JSON-safe dict and its validated inverse
"""
import hashlib as _hashlib
import os as _os
import pathlib as _pathlib


def _use_versioned_numba_cache():
    """Point numba's on-disk cache at a folder named after a hash of this package's source.

    numba re-checks only the file of the function it caches, not the kernels that function calls,
    so after an edit or an update a cached caller could keep running an old callee. A folder per
    source version rules that out. A NUMBA_CACHE_DIR set by the user wins.
    """
    import numba

    if _os.environ.get("NUMBA_CACHE_DIR"):
        return
    here = _pathlib.Path(__file__).parent
    digest = _hashlib.sha1()
    for path in sorted(here.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    numba.config.CACHE_DIR = str(here / "__pycache__" / f"numba-{digest.hexdigest()[:12]}")


_use_versioned_numba_cache()

from .data import PRESETS, Target, make_dataset, target_from_formula
from .formula import Formula, FormulaError, parse_formula
from .kan import FUSED_DEPTHS, KAN
from .mlp import MLP
from .optim import LBFGS, Adam
from .symbolic import SYMBOLIC_LIB, suggest_symbolic
from .trainer import Trainer

__all__ = ["KAN", "MLP", "Adam", "LBFGS", "Trainer", "PRESETS", "Target", "make_dataset",
           "target_from_formula", "parse_formula", "Formula", "FormulaError", "SYMBOLIC_LIB",
           "suggest_symbolic", "warmup"]


def warmup():
    """Compile (or load from numba's on-disk cache) every kernel once, on uniform and moved grids,
    so the first student to press a button does not wait for the compiler."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (16, 2))
    y = x[:, :1] * x[:, 1:]
    model = KAN([2, 2, 1], grid=3, k=3)
    model.loss_and_grad(x, y)
    model.forward_detail(x)
    model.update_grid(x)
    model.loss_and_grad(x, y)
    model.refine(6, x)
    model.fix_symbolic(0, 0, 0, "sin")
    model.loss_and_grad(x, y, lamb=1e-3)
    for depth in FUSED_DEPTHS:  # the one-call training pass is compiled per depth
        KAN([2] * depth + [1], grid=3, k=3).loss_and_flat_grad(x, y)
    suggest_symbolic(x[:, 0], np.sin(x[:, 0]))
