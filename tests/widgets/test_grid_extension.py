"""The grid-extension explorable, driven through its parameters and checked against oracles.

The least-squares fits are compared with fits built from scipy's own B-spline design matrices;
the U shape, the exact grid extension and the staircase are asserted on the plotted data.
"""

import numpy as np
import pytest
from scipy.interpolate import BSpline, make_lsq_spline

from widgets.grid_extension import (DEFAULTS, EXTEND_SEQUENCE, FIRST_STEPS, G_MAX, G_MIN, GRID_SIZES, K,
                                    N_TEST, N_TRAIN, TRAIN_STEPS, GridExtension, noisy_samples, target)


@pytest.fixture(scope="module")
def widget():
    """One widget for the read-only checks (building one computes 199 fits)."""
    return GridExtension()


def uniform_knots(G, k=K):
    """The full knot vector of G equal spans of [-1, 1] plus k more spans on each side."""
    h = 2.0 / G
    return -1.0 + h * np.arange(-k, G + k + 1)


def scipy_design(x, G):
    return BSpline.design_matrix(x, uniform_knots(G), K).toarray()


def plotted(source):
    """A source's numeric columns as float arrays (text columns are left out)."""
    return {key: np.asarray(value, dtype=float) for key, value in source.data.items()
            if not any(isinstance(v, str) for v in value)}


def train_xy(w):
    return w.data["train_input"][:, 0], w.data["train_label"][:, 0]


# -- the data ------------------------------------------------------------------------------------

def test_samples_are_seeded_noisy_and_plotted_as_two_sets(widget):
    data = noisy_samples(DEFAULTS["seed"], DEFAULTS["noise"])
    for key in data:
        np.testing.assert_array_equal(data[key], widget.data[key])
    assert data["train_input"].shape == (N_TRAIN, 1) and data["test_input"].shape == (N_TEST, 1)
    for split in ("train", "test"):
        x, y = data[f"{split}_input"][:, 0], data[f"{split}_label"][:, 0]
        assert np.all((x >= -1) & (x <= 1))
        residual = y - target(x)
        assert 0.07 < residual.std() < 0.13  # noise of std 0.1 on both sets
        shown = plotted(getattr(widget, f"{split}_source"))
        np.testing.assert_array_equal(shown["x"], x)
        np.testing.assert_array_equal(shown["y"], y)
    assert not np.array_equal(noisy_samples(1, 0.1)["train_input"], data["train_input"])


def test_noise_only_rescales_the_same_draws():
    clean, noisy = noisy_samples(7, 0.0), noisy_samples(7, 0.3)
    np.testing.assert_array_equal(clean["train_input"], noisy["train_input"])
    np.testing.assert_allclose(clean["train_label"][:, 0], target(clean["train_input"][:, 0]), atol=0)
    np.testing.assert_allclose(noisy_samples(7, 0.6)["test_label"] - clean["test_label"],
                               2 * (noisy["test_label"] - clean["test_label"]), atol=1e-12)


def test_new_samples_moves_to_the_next_seed_and_redraws():
    w = GridExtension()
    before = plotted(w.train_source)["y"].copy()
    w.samples_button.clicks += 1
    assert w.seed == DEFAULTS["seed"] + 1
    assert not np.array_equal(plotted(w.train_source)["y"], before)
    np.testing.assert_array_equal(w.data["train_label"], noisy_samples(w.seed, w.noise)["train_label"])


# -- mode 1: least squares at grid size G --------------------------------------------------------

def ridge_lsq(x, y, G, ridge=1e-8):
    """Least squares on scipy's design matrix with kan_core's tiny ridge (ridge x mean diagonal)."""
    B = scipy_design(x, G)
    A = B.T @ B
    nb = A.shape[0]
    A[np.diag_indices(nb)] += ridge * np.trace(A) / nb
    return BSpline(uniform_knots(G), np.linalg.solve(A, B.T @ y), K)


@pytest.mark.parametrize("G", [2, 5, 12, 40, 97, G_MAX])
def test_the_fit_is_the_least_squares_spline_of_an_independent_solver(widget, G):
    widget.grid_size = G
    x, y = train_xy(widget)
    shown = plotted(widget.fit_source)
    expected = ridge_lsq(x, y, G)(shown["x"])
    np.testing.assert_allclose(shown["y"], expected, atol=1e-8 * max(1.0, np.abs(expected).max()))


@pytest.mark.parametrize("G", [2, 5, 12, 17])
def test_the_ridge_is_too_small_to_matter_where_least_squares_has_one_answer(widget, G):
    """At the train inputs the least-squares values are unique (a projection of y), even where a
    span without samples leaves some coefficients free; there the plain solvers agree to 1e-5 (the
    ridge weighs most on the outermost basis functions, which barely reach into [-1, 1])."""
    widget.grid_size = G
    x, y = train_xy(widget)
    fitted = np.interp(x, *(plotted(widget.fit_source)[key] for key in ("x", "y")))
    grid, coef = widget.fit()
    ours = BSpline(grid[0], coef[0, 0], K)(x)
    np.testing.assert_allclose(fitted, ours, atol=2e-3)  # the plotted curve is the fit, sampled finely
    plain, *_ = np.linalg.lstsq(scipy_design(x, G), y, rcond=None)
    np.testing.assert_allclose(ours, scipy_design(x, G) @ plain, atol=1e-5)
    order = np.argsort(x)
    lsq = make_lsq_spline(x[order], y[order], uniform_knots(G), K)
    np.testing.assert_allclose(ours, lsq(x), atol=1e-5)


def test_past_the_sample_count_the_fit_passes_through_every_train_sample():
    w = GridExtension(grid_size=G_MAX)
    x, y = train_xy(w)
    assert G_MAX + K > N_TRAIN
    assert np.sqrt(np.mean((ridge_lsq(x, y, G_MAX)(x) - y) ** 2)) < 1e-3
    assert w.train_curve[-1] < 1e-3


def test_the_knots_the_readout_and_the_marker_follow_the_grid_slider(widget):
    for G in (G_MIN, 12, G_MAX):
        widget.grid_size = G
        knots = plotted(widget.knot_source)["x"]
        np.testing.assert_allclose(knots, np.linspace(-1, 1, G + 1), atol=1e-12)
        current = plotted(widget.current_source)
        assert current["G"][0] == G
        assert current["test"][0] == widget.test_curve[G - G_MIN]
        assert f"G = {G}</span>" in widget.readout.object
        assert f"{G + K} coefficients" in widget.readout.object
        assert widget.current_span.location == G
    widget.grid_size = DEFAULTS["grid_size"]


def test_the_error_curve_is_every_fit_from_2_to_200(widget):
    curve = plotted(widget.curve_source)
    np.testing.assert_array_equal(curve["G"], np.arange(G_MIN, G_MAX + 1))
    x, y = train_xy(widget)
    xt, yt = widget.data["test_input"][:, 0], widget.data["test_label"][:, 0]
    for G in (3, 17, 60, 150):
        spline = ridge_lsq(x, y, G)
        assert curve["train"][G - G_MIN] == pytest.approx(np.sqrt(np.mean((spline(x) - y) ** 2)), rel=1e-6)
        assert curve["test"][G - G_MIN] == pytest.approx(np.sqrt(np.mean((spline(xt) - yt) ** 2)), rel=1e-6)


def test_the_default_data_give_the_u_shape(widget):
    train, test = plotted(widget.curve_source)["train"], plotted(widget.curve_source)["test"]
    best = int(GRID_SIZES[np.argmin(test)])
    assert G_MIN < best < G_MAX
    assert widget.best_grid == best and plotted(widget.best_source)["G"][0] == best
    assert test[0] > 2 * test.min()             # too coarse: the test error falls at first ...
    assert test[-1] > 4 * test.min()            # ... and far too fine: it rises again
    # nested grids (each G doubles the last) can only lower the train error
    nested = train[np.array([2, 4, 8, 16, 32, 64, 128]) - G_MIN]
    assert np.all(np.diff(nested) < 1e-9)
    assert train[-1] < 1e-3 < train[best - G_MIN]
    # the default view marks a G near the bottom of the U
    assert abs(np.log(DEFAULTS["grid_size"] / best)) < np.log(2)
    # the plot's top keeps the U readable, and says so when the test error leaves it
    top = widget.error_figure.y_range.end
    assert top < test.max() and f"{test.max():.3g}" in widget.off_chart.text
    assert widget.error_figure.y_range.start < min(train[best - G_MIN], test.min())


# -- mode 2: extension during training -----------------------------------------------------------

def test_extension_keeps_the_function_and_training_makes_a_staircase():
    w = GridExtension(mode="extend")
    assert w.kan.G == EXTEND_SEQUENCE[0] and w.trainer.n_steps == FIRST_STEPS
    assert w.fit_line.visible is False and w.loss_figure.visible and not w.error_figure.visible
    plateaus = [w.trainer.rmse("train")]
    for old_G, new_G in zip(EXTEND_SEQUENCE, EXTEND_SEQUENCE[1:]):
        before = w.trainer.rmse("train")
        gap = w.extend()
        assert w.kan.G == new_G
        coarse, refined = plotted(w.coarse_source)["y"], plotted(w.kan_source)["y"]
        assert len(coarse) == len(refined) > 0
        assert gap == pytest.approx(np.abs(coarse - refined).max())
        assert gap < 1e-5                                        # the same curve, on a finer grid
        assert w.trainer.rmse("train") == pytest.approx(before, rel=1e-5)
        assert f"{old_G} → {new_G}" in w.message.object and f"{gap:.1e}" in w.message.object
        events = plotted(w.event_source)
        assert events["step"][-1] == w.trainer.n_steps
        assert list(w.event_source.data["label"])[-1] == f"G = {new_G}"
        w.train()
        assert len(plotted(w.coarse_source)["y"]) == 0          # the overlay goes once training resumes
        plateaus.append(w.trainer.rmse("train"))
        loss = plotted(w.loss_source)
        assert loss["step"][-1] == w.trainer.n_steps and loss["train"][-1] == pytest.approx(plateaus[-1])
    # every extension, then training, lowered the train error: a staircase, each step ending close
    # to the least-squares spline on that grid (the KAN's edge is a pure spline)
    assert np.all(np.diff(plateaus) < -0.005), plateaus
    least_squares = w.train_curve[np.array(EXTEND_SEQUENCE) - G_MIN]
    assert np.all(np.asarray(plateaus) >= least_squares - 1e-9)
    assert np.all(np.asarray(plateaus) < least_squares * 1.1), (plateaus, least_squares)
    assert len(w.event_source.data["step"]) == len(EXTEND_SEQUENCE) - 1
    assert w.trainer.n_steps == FIRST_STEPS + TRAIN_STEPS * (len(EXTEND_SEQUENCE) - 1)
    # on the default data the finest grid overfits, as the U of the first mode predicts
    test_before, test_after = w.extension[4][1], w.trainer.rmse("test")
    assert test_after > test_before and "chase the noise" in w.message.object
    assert w.extend() is None and w.extend_button.disabled
    w.restart_button.clicks += 1
    assert w.kan.G == EXTEND_SEQUENCE[0] and w.trainer.n_steps == FIRST_STEPS
    assert len(w.event_source.data["step"]) == 0 and not w.extend_button.disabled


def test_refined_model_is_the_old_spline_on_the_finer_knots():
    w = GridExtension(mode="extend")
    coarse = w.kan
    w.extend()
    old, new = coarse.layers[0], w.kan.layers[0]
    # the span [-1, 1] is cut twice as finely; the extension knots outside it stay where they were
    inner = np.linspace(-1, 1, EXTEND_SEQUENCE[1] + 1)
    np.testing.assert_allclose(new.grid[0], np.concatenate([old.grid[0][:K], inner, old.grid[0][-K:]]),
                               atol=1e-12)
    # scipy writes the coarse spline on the finer knots by knot insertion (exact, no fitting)
    spline = BSpline(old.grid[0], old.coef[0, 0], K)
    for knot in inner[1:-1:2]:
        spline = spline.insert_knot(knot)
    np.testing.assert_allclose(spline.t, new.grid[0], atol=1e-12)
    np.testing.assert_allclose(new.coef[0, 0], spline.c, atol=1e-5 * np.abs(spline.c).max())
    assert new.scale_sp[0, 0] == old.scale_sp[0, 0] and new.scale_base[0, 0] == old.scale_base[0, 0]


def test_new_samples_in_extend_mode_restart_the_training():
    w = GridExtension(mode="extend")
    w.extend()
    w.seed = 5
    assert w.kan.G == EXTEND_SEQUENCE[0] and w.trainer.n_steps == FIRST_STEPS
    np.testing.assert_array_equal(w.trainer.data["train_label"], noisy_samples(5, w.noise)["train_label"])
    assert len(w.event_source.data["step"]) == 0


# -- the whole widget ----------------------------------------------------------------------------

def test_reset_puts_everything_back():
    w = GridExtension()
    default_fit = plotted(w.fit_source)["y"].copy()
    w.param.update(grid_size=150, noise=0.3, seed=4, mode="extend")
    w.extend()
    w.reset_button.clicks += 1
    assert (w.mode, w.grid_size, w.noise, w.seed) == tuple(DEFAULTS[k] for k in ("mode", "grid_size", "noise", "seed"))
    np.testing.assert_array_equal(plotted(w.fit_source)["y"], default_fit)
    assert w.fit_line.visible and w.error_figure.visible and not w.loss_figure.visible


def test_each_widget_keeps_its_own_state():
    first, second = GridExtension(), GridExtension()
    first.seed = 3
    assert second.seed == DEFAULTS["seed"]
    assert first.train_source is not second.train_source
    assert not np.array_equal(plotted(first.train_source)["y"], plotted(second.train_source)["y"])


@pytest.mark.parametrize("name, bad", [("grid_size", 1), ("grid_size", 201), ("noise", -0.1), ("seed", -1)])
def test_values_outside_the_bounds_are_refused(name, bad):
    w = GridExtension()
    with pytest.raises(ValueError):
        setattr(w, name, bad)
    assert getattr(w, name) == DEFAULTS[name]


def test_without_noise_the_noise_line_hides_and_nothing_breaks():
    w = GridExtension(noise=0.0)
    assert all(not span.visible for span in w.noise_spans)
    assert np.all(np.isfinite(plotted(w.curve_source)["test"]))
    assert w.error_figure.y_range.start > 0
