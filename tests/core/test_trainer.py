"""Training: the fixed-seed accuracy targets, grid extension's staircase, divergence handling."""
import math

import numpy as np
import pytest

from kan_core.data import PRESETS, make_dataset
from kan_core.kan import KAN
from kan_core.mlp import MLP
from kan_core.trainer import Trainer


def test_single_edge_learns_sine_with_lbfgs():
    data = make_dataset(PRESETS["sin"], n_train=1000, n_test=1000, seed=0)
    trainer = Trainer(KAN([1, 1], grid=20, k=3, seed=0), data, "lbfgs")
    metrics = trainer.step(40)
    assert metrics["test_rmse"] < 1e-4
    assert metrics["step"] == 40 and not metrics["diverged"]
    assert len(trainer.history["test_rmse"]) == 40


@pytest.mark.slow
def test_grid_extension_staircase_reaches_target():
    data = make_dataset(PRESETS["exp_sin"], n_train=1000, n_test=1000, seed=0)
    trainer = Trainer(KAN([2, 5, 1], grid=3, k=3, seed=0), data, "lbfgs")
    ends = []
    for G in (3, 5, 10, 20):
        if G != 3:
            before = trainer.rmse("train")
            trainer.extend_grid(G)
            assert trainer.model.G == G
            if G in (10, 20):
                # each old interval split in two: the function survives the extension exactly
                assert trainer.rmse("train") == pytest.approx(before, rel=1e-3)
        trainer.step(50)
        ends.append(trainer.rmse("train"))
    assert all(b < a for a, b in zip(ends, ends[1:])), ends
    assert trainer.rmse("test") < 1e-3
    assert [g for _, g in trainer.history["grid_events"]] == [5, 10, 20]


def test_adam_trains_kan_and_mlp_alike():
    data = make_dataset(PRESETS["square"], n_train=200, n_test=100, seed=1)
    for model in (KAN([1, 3, 1], grid=5, seed=0), MLP([1, 16, 1], activation="tanh", seed=0)):
        trainer = Trainer(model, data, "adam", lr=0.02)
        start = trainer.rmse("test")
        metrics = trainer.step(200)
        assert metrics["test_rmse"] < 0.5 * start
        assert metrics["seconds_per_step"] > 0


def test_huge_learning_rate_stops_with_reason_and_rolls_back():
    data = make_dataset(PRESETS["sin"], n_train=200, n_test=100, seed=0)
    trainer = Trainer(KAN([1, 3, 1], grid=5, seed=0), data, "adam", lr=1e12)
    metrics = trainer.step(50)
    assert metrics["diverged"] and "learning rate" in metrics["reason"]
    assert math.isfinite(metrics["train_rmse"]) and math.isfinite(metrics["test_rmse"])
    assert np.all(np.isfinite(trainer.model.get_params()))
    assert all(math.isfinite(v) for v in trainer.history["test_rmse"])
    assert trainer.step(5)["step"] == metrics["step"]  # stays stopped


def test_stop_at_target_rmse():
    data = make_dataset(PRESETS["sin"], n_train=500, n_test=200, seed=0)
    trainer = Trainer(KAN([1, 1], grid=10, seed=0), data, "lbfgs")
    metrics = trainer.step(100, stop_rmse=1e-2)
    assert metrics["test_rmse"] <= 1e-2 and metrics["step"] < 100
    assert "target" in trainer.reason


def test_minibatches_are_seeded():
    data = make_dataset(PRESETS["sin"], n_train=300, n_test=50, seed=0)
    runs = []
    for _ in range(2):
        trainer = Trainer(KAN([1, 2, 1], seed=0), data, "adam", batch=32, seed=5)
        trainer.step(20)
        runs.append(trainer.model.get_params())
    np.testing.assert_array_equal(*runs)


@pytest.mark.parametrize("kwargs,match", [
    ({"optimizer": "sgd"}, "adam"), ({"batch": 0}, "batch"), ({"lr": -1.0, "optimizer": "adam"}, "lr|learning"),
])
def test_bad_trainer_arguments(kwargs, match):
    data = make_dataset(PRESETS["sin"], n_train=20, n_test=5)
    with pytest.raises(ValueError, match=match):
        Trainer(KAN([1, 1]), data, **kwargs)


def test_bad_data_is_rejected():
    data = make_dataset(PRESETS["sin"], n_train=20, n_test=5)
    with pytest.raises(ValueError, match="shape"):
        Trainer(KAN([2, 1]), data)
    data["train_label"][0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Trainer(KAN([1, 1]), data)
    with pytest.raises(ValueError, match="keys"):
        Trainer(KAN([1, 1]), {"train_input": 1})


@pytest.mark.parametrize("case", ["plain", "penalty", "diverges", "target"])
def test_the_metrics_of_a_step_are_those_of_the_parameters_it_leaves(case):
    """step() reuses the RMSEs it measured after its last update instead of evaluating the data
    again; they must be exactly what a fresh look at the model gives, also after a rollback."""
    data = make_dataset(PRESETS["exp_sin"], n_train=200, n_test=150, seed=3)
    kwargs = {"lr": 1e12} if case == "diverges" else {}
    if case == "penalty":
        kwargs["reg"] = {"lamb": 1e-3}
    trainer = Trainer(KAN([2, 3, 1], grid=4, k=3, seed=1), data, "adam", update_grid_every=None, **kwargs)
    metrics = trainer.step(5, stop_rmse=10.0 if case == "target" else None)
    fresh = trainer.metrics()
    assert metrics["diverged"] == (case == "diverges") and (case != "target" or metrics["step"] == 1)
    assert metrics["test_rmse"] == fresh["test_rmse"] and metrics["train_rmse"] == fresh["train_rmse"]


def test_a_step_evaluates_the_test_set_once_and_the_train_set_once(monkeypatch):
    """Without a penalty, step(1) measures the test RMSE after its update and reuses it for the
    metrics it returns; the train RMSE of the metrics is the one other evaluation."""
    data = make_dataset(PRESETS["exp_sin"], n_train=100, n_test=80, seed=1)
    trainer = Trainer(KAN([2, 2, 1], grid=3, k=3, seed=0), data, "adam", update_grid_every=None)
    calls = []
    real = Trainer.rmse
    monkeypatch.setattr(Trainer, "rmse", lambda self, split: calls.append(split) or real(self, split))
    trainer.step(1)
    assert sorted(calls) == ["test", "train"]
