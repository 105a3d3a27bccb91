"""Step-wise training for any model of the kan_core protocol (KAN or MLP).

A UI advances training a few steps at a time with `Trainer.step(n)`, which returns the metrics after
those steps. Divergence (NaN, inf, or a loss that explodes) stops training with a reason and rolls
the parameters back to the last state whose loss was finite.
"""
import math
import time

import numpy as np

from .optim import LBFGS, Adam

DATA_KEYS = ("train_input", "train_label", "test_input", "test_label")


def check_data(data, n_in, n_out):
    """Validate a dataset dict (pykan's keys) against a model's input and output sizes."""
    if not isinstance(data, dict) or any(key not in data for key in DATA_KEYS):
        raise ValueError(f"The dataset must be a dict with the keys {', '.join(DATA_KEYS)}.")
    out = {}
    for split in ("train", "test"):
        x = np.asarray(data[f"{split}_input"], dtype=np.float64)
        y = np.asarray(data[f"{split}_label"], dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != n_in or x.shape[0] < 1:
            raise ValueError(f"{split}_input must have shape (N, {n_in}) with N >= 1; got {x.shape}.")
        if y.shape != (x.shape[0], n_out):
            raise ValueError(f"{split}_label must have shape ({x.shape[0]}, {n_out}); got {y.shape}.")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValueError(f"The {split} data contain NaN or infinite values; only finite numbers are allowed.")
        out[f"{split}_input"] = np.ascontiguousarray(x)
        out[f"{split}_label"] = np.ascontiguousarray(y)
    return out


def make_optimizer(name, lr=None, history_size=10):
    """'adam' (lr default 1e-2) or 'lbfgs' (lr default 1, strong-Wolfe line search, remembering
    history_size curvature pairs: pykan's 10 by default; ill-conditioned problems such as
    retraining snapped constants or a pure spline on a fine grid converge reliably with ~50)."""
    if name == "adam":
        return Adam(lr=1e-2 if lr is None else lr)
    if name == "lbfgs":
        return LBFGS(lr=1.0 if lr is None else lr, history_size=history_size, tolerance_change=1e-14,
                     tolerance_grad=1e-12)
    raise ValueError(f"The optimizer must be 'adam' or 'lbfgs'; got {name!r}.")


class Trainer:
    """Trainer(model, data, optimizer='lbfgs', lr=None, batch=-1, ...).

    data: pykan's dataset dict (train_input (N, n0), train_label (N, nL), test_input, test_label).
    optimizer: 'adam', 'lbfgs' or an object with step(fun, theta) -> (theta, loss) and reset().
    update_grid_every / stop_grid_update_step: move the knots to the data every so many steps
    during the first stop_grid_update_step steps of training and again after each grid
    extension (KANs only), as pykan's fit(update_grid=True) does with its defaults 5 and 50.
    None switches it off.
    explode_factor: a train loss above explode_factor times the first loss counts as divergence.
    reg: keyword arguments for the model's penalty, e.g. {'lamb': 1e-3, 'lamb_entropy': 2.0}.
    """

    def __init__(self, model, data, optimizer="lbfgs", lr=None, batch=-1, seed=0,
                 update_grid_every=5, stop_grid_update_step=50, explode_factor=1e6,
                 reg=None):
        self.model = model
        self.data = check_data(data, model.width[0], model.width[-1])
        self.optimizer = make_optimizer(optimizer, lr) if isinstance(optimizer, str) else optimizer
        n_train = self.data["train_input"].shape[0]
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or not (batch == -1 or 1 <= batch):
            raise ValueError(f"batch must be -1 (all samples) or a whole number >= 1; got {batch!r}.")
        self.batch = n_train if batch == -1 or batch > n_train else int(batch)
        self.rng = np.random.default_rng(seed)
        self.update_grid_every = update_grid_every
        self.stop_grid_update_step = stop_grid_update_step
        self.explode_factor = float(explode_factor)
        self.reg = dict(reg or {})
        self.n_steps = 0
        self._phase_start = 0
        self.diverged = False
        self.reason = None
        self.history = {"step": [], "train_rmse": [], "test_rmse": [], "grid_events": []}
        self._first_loss = None
        self._good = model.get_params()

    # -- the objective ----------------------------------------------------------------------
    def _objective(self, x, y):
        model = self.model
        reg = self.reg

        def fun(theta):
            if not np.all(np.isfinite(theta)):
                return math.inf, np.zeros_like(theta)
            model.set_params(theta)
            with np.errstate(all="ignore"):
                loss, grad = model.loss_and_flat_grad(x, y, **reg) if reg else model.loss_and_flat_grad(x, y)
            if not (math.isfinite(loss) and np.all(np.isfinite(grad))):
                return math.inf, np.zeros_like(theta)
            return loss, grad
        return fun

    def rmse(self, split):
        with np.errstate(all="ignore"):
            pred = self.model(self.data[f"{split}_input"])
            return float(np.sqrt(np.mean((pred - self.data[f"{split}_label"]) ** 2)))

    # -- stepping ---------------------------------------------------------------------------
    def step(self, n=1, stop_rmse=None):
        """Advance up to n optimizer steps; returns metrics after them. Stops early on divergence
        (self.diverged, self.reason) or when the test RMSE reaches stop_rmse."""
        n = int(n)
        t0 = time.perf_counter()
        done = 0
        test = train = None   # RMSEs at the current parameters, once measured
        while done < n and not self.diverged:
            test = train = None
            self._maybe_update_grid()
            x, y = self._batch()
            theta = self.model.get_params()
            new_theta, loss = self.optimizer.step(self._objective(x, y), theta)
            if self._first_loss is None and math.isfinite(loss):
                self._first_loss = max(loss, 1e-300)
            if not math.isfinite(loss) or loss > self.explode_factor * self._first_loss:
                self._stop("the loss became infinite or NaN" if not math.isfinite(loss) else
                           f"the loss exploded to {loss:.3g}")
                break
            self._good = theta
            if not np.all(np.isfinite(new_theta)):
                self._stop("the parameters became infinite or NaN")
                break
            self.model.set_params(new_theta)
            self.n_steps += 1
            done += 1
            test = self.rmse("test")
            self.history["step"].append(self.n_steps)
            # with a penalty the objective is not the squared error, so measure the fit itself
            if self.reg:
                train = self.rmse("train")
            self.history["train_rmse"].append(train if self.reg else math.sqrt(loss))
            self.history["test_rmse"].append(test)
            if not math.isfinite(test):
                self._stop("the test predictions became infinite or NaN")
                break
            if stop_rmse is not None and test <= stop_rmse:
                self.reason = f"reached the target test RMSE {stop_rmse:g}"
                break
        elapsed = time.perf_counter() - t0
        if self.diverged:
            test = train = None     # the parameters were rolled back
        return self.metrics(seconds_per_step=elapsed / done if done else float("nan"), test_rmse=test,
                            train_rmse=train)

    def metrics(self, seconds_per_step=float("nan"), test_rmse=None, train_rmse=None):
        """The model's fit now; an RMSE the caller has just measured at the current parameters is
        used instead of evaluating its data set again."""
        return {
            "step": self.n_steps,
            "train_rmse": self.rmse("train") if train_rmse is None else train_rmse,
            "test_rmse": self.rmse("test") if test_rmse is None else test_rmse,
            "seconds_per_step": seconds_per_step,
            "n_params": self.model.n_params,
            "diverged": self.diverged,
            "reason": self.reason,
        }

    def _stop(self, what):
        self.model.set_params(self._good)
        self.optimizer.reset()
        self.diverged = True
        self.reason = (f"Training stopped because {what}; the parameters were rolled back to the last "
                       f"finite state. Try a smaller learning rate.")

    def _batch(self):
        x, y = self.data["train_input"], self.data["train_label"]
        if self.batch == x.shape[0]:
            return x, y
        idx = self.rng.choice(x.shape[0], self.batch, replace=False)
        return x[idx], y[idx]

    def _maybe_update_grid(self):
        every, stop = self.update_grid_every, self.stop_grid_update_step
        if not every or not hasattr(self.model, "update_grid"):
            return
        since = self.n_steps - self._phase_start
        if since % every == 0 and (stop is None or since < stop):
            self.model.update_grid(self.data["train_input"])
            self.optimizer.reset()
            self._good = self.model.get_params()

    # -- grid extension ---------------------------------------------------------------------
    def extend_grid(self, new_grid):
        """Re-express the KAN on a finer grid (model.refine) and continue from there."""
        self.model = self.model.refine(new_grid, self.data["train_input"])
        self.optimizer.reset()
        self._good = self.model.get_params()
        self.diverged = False
        self.reason = None
        self._phase_start = self.n_steps
        self.history["grid_events"].append((self.n_steps, int(new_grid)))
        return self.model
