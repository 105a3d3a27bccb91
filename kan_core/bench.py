"""Benchmarks of the KAN engine: `python -m kan_core.bench` prints a table of medians.

Everything runs on one thread (numba kernels are serial; BLAS is pinned to one thread here).
"""
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from kan_core import KAN, PRESETS, Trainer, make_dataset, warmup  # noqa: E402


def median_time(fn, repeat=None, budget=1.0):
    """Median wall time of fn() over repeated runs (about `budget` seconds of runs, 5 at least)."""
    fn()
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    repeat = repeat or int(min(2000, max(5, budget / max(once, 1e-7))))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def fmt(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds:8.2f} s "


def fwd_bwd_rows():
    rng = np.random.default_rng(0)
    rows = []
    for width in ([2, 5, 1], [4, 8, 4, 1]):
        for G in (5, 100):
            for N in (1000, 100_000):
                model = KAN(width, grid=G, k=3, seed=0)
                x = rng.uniform(-1, 1, (N, width[0]))
                y = rng.normal(size=(N, 1))
                t = median_time(lambda: model.loss_and_flat_grad(x, y), budget=1.5)
                rows.append((f"fwd+bwd {width} G={G} N={N}", t))
    return rows


def moved_grid_row():
    rng = np.random.default_rng(1)
    model = KAN([2, 5, 1], grid=5, k=3, seed=0)
    x = rng.uniform(-1, 1, (1000, 2))
    model.update_grid(x)
    y = rng.normal(size=(1000, 1))
    return [("fwd+bwd [2, 5, 1] G=5 N=1000, knots moved by update_grid",
             median_time(lambda: model.loss_and_flat_grad(x, y), budget=1.0))]


def refine_rows():
    data = make_dataset(PRESETS["exp_sin"], n_train=1000, n_test=100, seed=0)
    model = KAN([2, 5, 1], grid=5, k=3, seed=0)
    return [(f"refine [2, 5, 1] G=5 -> {G}, N=1000", median_time(lambda: model.refine(G, data["train_input"]), budget=1.0))
            for G in (10, 100)]


def trainer_rows():
    data = make_dataset(PRESETS["exp_sin"], n_train=1000, n_test=1000, seed=0)
    rows = []
    for opt in ("adam", "lbfgs"):
        trainer = Trainer(KAN([2, 5, 1], grid=5, k=3, seed=0), data, opt, update_grid_every=None)
        trainer.step(2)
        n = 200 if opt == "adam" else 10
        t0 = time.perf_counter()
        trainer.step(n)
        per = (time.perf_counter() - t0) / n
        rows.append((f"Trainer.step {opt} [2, 5, 1] G=5 N=1000 (incl. test RMSE)", per, f"{1 / per:9.0f} steps/s"))
    return rows


def symbolic_rows():
    from kan_core.symbolic import bench_suggest
    rows = [("suggest_symbolic, whole library, 1000 noisy samples", bench_suggest())]
    data = make_dataset(PRESETS["exp_sin"], n_train=1000, n_test=1000, seed=0)
    t0 = time.perf_counter()
    formula, rmse = formula_pipeline(data)
    rows.append(("pipeline exp(sin(pi x)+y^2): sparsify, prune, snap, retrain", time.perf_counter() - t0,
                 f"-> {formula}  (test RMSE {rmse:.1e})"))
    return rows


def formula_pipeline(data, seed=1):
    """The interpretability pipeline of the acceptance tests, end to end."""
    trainer = Trainer(KAN([2, 5, 1], grid=5, k=3, seed=seed), data, "lbfgs", reg={"lamb": 1e-2})
    trainer.step(100)
    model = trainer.model.prune(x=data["train_input"])
    Trainer(model, data, "lbfgs").step(50)
    model.auto_symbolic(lib=["x", "x^2", "exp", "sin"], x=data["train_input"])
    Trainer(model, data, "lbfgs", update_grid_every=None).step(50)
    formula = model.symbolic_formula()
    rmse = float(np.sqrt(np.mean((formula(data["test_input"]) - data["test_label"]) ** 2)))
    return formula.text(4), rmse


def first_call_row():
    code = ("import time; t=time.perf_counter(); import kan_core, numpy as np; "
            "m=kan_core.KAN([2,5,1]); x=np.zeros((10,2)); m.loss_and_grad(x, x[:, :1]); "
            "print(time.perf_counter()-t)")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)  # fills the cache
    runs = [float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                 text=True).stdout) for _ in range(3)]
    return [("first fwd+bwd in a fresh process, warm cache (incl. imports)", statistics.median(runs))]


def main():
    warmup()
    print(f"{'benchmark':<66} {'median':>11}")
    print("-" * 80)
    for section in (fwd_bwd_rows, moved_grid_row, refine_rows, trainer_rows, symbolic_rows, first_call_row):
        for name, t, *extra in section():
            print(f"{name:<66} {fmt(t)} {' '.join(extra)}", flush=True)


if __name__ == "__main__":
    main()
