"""How big an MLP must be to match a KAN's error, answered by training a family of real MLPs.

``MLPFamily(data)`` trains kan_core MLPs of shape [n_in, h, 1] (tanh, L-BFGS) for h in HIDDEN on
the same dataset, smallest first, a bounded slice of time at a time (``advance(seconds)``), so a
live lab can run it between its own training steps. Each MLP trains until its test error stops
improving or it has had MAX_STEPS steps; its best test RMSE is what counts. ``answer(rmse)`` then
names the smallest MLP that reached a given error, or says honestly that none did (yet).
"""

import math
import time

from kan_core import MLP, Trainer
from kan_core.optim import LBFGS

HIDDEN = (2, 4, 8, 16, 32, 64, 128)
ACTIVATION = "tanh"
MAX_STEPS = 1000       # Trainer steps per MLP, each up to ITERATIONS L-BFGS iterations
ITERATIONS = 2         # small, so that one step of the largest MLP fits in a slice of a few ms
PATIENCE = 250         # steps without a 1% gain in the best test RMSE end an MLP's training
GAIN = 0.99


class MLPFamily:
    """MLPs [n_in, h, 1] for h in ``hidden``, trained one after the other on ``data``.

    data: pykan's dataset dict (train_input (N, n_in), train_label (N, 1), test_input, test_label).
    After ``advance`` calls, ``best[i]`` is the lowest test RMSE MLP i has reached so far (inf before
    it starts), ``steps[i]`` its steps and ``done[i]`` whether its training has ended.
    """

    def __init__(self, data, hidden=HIDDEN, seed=0, max_steps=MAX_STEPS):
        self.data = data
        self.n_in = data["train_input"].shape[1]
        self.hidden = tuple(hidden)
        self.seed = seed
        self.max_steps = max_steps
        self.widths = [[self.n_in, h, 1] for h in self.hidden]
        self.n_params = [MLP.count_params(w) for w in self.widths]
        self.best = [math.inf] * len(self.hidden)
        self.steps = [0] * len(self.hidden)
        self.done = [False] * len(self.hidden)
        self.current = 0
        self._trainer = None
        self._last_gain = 0
        self._seconds_per_step = 1e-3

    @property
    def finished(self):
        return self.current >= len(self.hidden)

    @property
    def started(self):
        return self._trainer is not None or self.current > 0

    def _start(self, i):
        model = MLP(self.widths[i], ACTIVATION, seed=self.seed)
        optimizer = LBFGS(max_iter=ITERATIONS, tolerance_change=1e-14, tolerance_grad=1e-12)
        self._trainer = Trainer(model, self.data, optimizer, seed=self.seed)
        self._last_gain = 0

    def advance(self, seconds):
        """Train for about ``seconds`` (at least one step unless finished); returns the steps taken."""
        start = time.perf_counter()
        taken = 0
        while not self.finished:
            left = seconds - (time.perf_counter() - start)
            if left <= 0 and taken:
                break
            if self._trainer is None:
                self._start(self.current)
            i, trainer = self.current, self._trainer
            chunk = max(1, min(self.max_steps - self.steps[i], int(left / self._seconds_per_step)))
            metrics = trainer.step(chunk)
            done_now = metrics["step"] - self.steps[i]
            if done_now and math.isfinite(metrics["seconds_per_step"]):
                self._seconds_per_step = 0.7 * self._seconds_per_step + 0.3 * metrics["seconds_per_step"]
            for n, rmse in zip(trainer.history["step"][-done_now:] if done_now else [],
                               trainer.history["test_rmse"][-done_now:] if done_now else []):
                if math.isfinite(rmse) and rmse < GAIN * self.best[i]:
                    self._last_gain = n
                if math.isfinite(rmse):
                    self.best[i] = min(self.best[i], rmse)
            self.steps[i] = metrics["step"]
            taken += done_now
            stalled = metrics["step"] - self._last_gain >= PATIENCE
            if trainer.diverged or stalled or done_now == 0 or self.steps[i] >= self.max_steps:
                self.done[i] = True
                self.current += 1
                self._trainer = None
        return taken

    def answer(self, rmse):
        """The smallest MLP that reached test RMSE ``rmse``, as a dict with ``kind``:

        'reached' (with ``index``, ``hidden``, ``width``, ``n_params``): that MLP got there;
        'none': every MLP finished and none got there (``n_params`` is the largest tried);
        'pending': the finished ones did not get there and larger ones are still training
        (``hidden`` is the largest finished size, None if none finished yet);
        'idle': the family has not started.
        """
        if not self.started:
            return {"kind": "idle"}
        for i in range(len(self.hidden)):
            if self.best[i] <= rmse:
                return {"kind": "reached", "index": i, "hidden": self.hidden[i], "width": self.widths[i],
                        "n_params": self.n_params[i]}
            if not self.done[i]:
                finished = [h for h, d in zip(self.hidden, self.done) if d]
                return {"kind": "pending", "hidden": finished[-1] if finished else None}
        return {"kind": "none", "n_params": self.n_params[-1], "hidden": self.hidden[-1]}
