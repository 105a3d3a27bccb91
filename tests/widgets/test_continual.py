"""The learning-without-forgetting explorable, driven through its parameters (fixed seeds).

The task is checked against a target written out by hand, the readouts against RMSEs computed
here from the stored models, and the replay against each phase's stored fit.
"""

import numpy as np
import pytest

from kan_core import Adam
from widgets.continual import (DEFAULTS, GRID_CHOICES, LEARNING_RATE, MAX_STEPS, N_TRAIN, STOP_RMSE,
                               ContinualLearning, HoldFixed, learn_in_phases, phase_data, scale_entries, target,
                               teach)


@pytest.fixture(scope="module")
def widget():
    """One widget at the defaults for the checks that only move the replay."""
    return ContinualLearning()


def plotted(source):
    """A source's numeric columns as float arrays (text columns are left out)."""
    return {key: np.asarray(value, dtype=float) for key, value in source.data.items()
            if not any(isinstance(v, str) for v in value)}


def five_bumps(x):
    """The default target, written out: bumps of width 0.06 at -0.8, -0.4, 0, 0.4, 0.8."""
    return sum(np.exp(-((x - c) / 0.06) ** 2) for c in (-0.8, -0.4, 0.0, 0.4, 0.8))


def rmse_on_region(model, region, n_regions=5):
    """RMSE of model against the five bumps on 201 evenly spaced points of region (0-based)."""
    lo = -1.0 + 2.0 * region / n_regions
    x = np.linspace(lo, lo + 2.0 / n_regions, 201)
    return float(np.sqrt(np.mean((model(x[:, None])[:, 0] - five_bumps(x)) ** 2)))


def coef(kan):
    return kan.layers[0].coef[0, 0].copy()


# -- the task --------------------------------------------------------------------------------------

def test_the_target_is_a_row_of_separated_bumps():
    x = np.linspace(-1, 1, 2001)
    np.testing.assert_allclose(target(x, 5), five_bumps(x), atol=1e-15)
    edges = np.linspace(-1, 1, 6)
    assert target(edges, 5).max() < 1e-4     # the bumps have died away at every region edge


def test_each_phase_only_shows_its_own_region_and_the_samples_are_seeded():
    data = phase_data(5, seed=3)
    assert len(data) == 5
    for p, d in enumerate(data):
        for split in ("train", "test"):
            x = d[f"{split}_input"][:, 0]
            assert np.all((x >= -1 + 0.4 * p) & (x <= -0.6 + 0.4 * p))
            np.testing.assert_allclose(d[f"{split}_label"][:, 0], five_bumps(x), atol=1e-15)
        assert d["train_input"].shape == (N_TRAIN, 1)
    again, other = phase_data(5, seed=3), phase_data(5, seed=4)
    np.testing.assert_array_equal(again[2]["train_input"], data[2]["train_input"])
    assert not np.array_equal(other[2]["train_input"], data[2]["train_input"])


# -- the learning ----------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_after_the_last_phase_the_kan_still_knows_region_1_and_the_mlp_does_not(seed):
    """The issue's requirement: the KAN remembers the first region, the MLP has overwritten it."""
    phases = learn_in_phases(5, 100, seed)
    first, last = phases[0], phases[-1]
    kan_first, mlp_first = rmse_on_region(last.kan, 0), rmse_on_region(last.mlp, 0)
    assert kan_first < 0.02
    assert mlp_first > 10 * kan_first
    # ... and it is forgetting, not failing to learn: right after phase 1 both fitted region 1.
    assert rmse_on_region(first.kan, 0) < 0.02 and rmse_on_region(first.mlp, 0) < 0.02
    # every region the KAN was taught stays close to the stopping error
    assert max(rmse_on_region(last.kan, r) for r in range(5)) < 2 * STOP_RMSE


def test_each_phase_starts_from_the_parameters_the_last_one_left():
    phases = learn_in_phases(5, 100, 0)
    data = phase_data(5, 0)
    kan, mlp = phases[1].kan.copy(), phases[1].mlp.copy()
    assert teach(kan, data[2], HoldFixed(Adam(lr=LEARNING_RATE), scale_entries(kan))) == phases[2].kan_steps
    assert teach(mlp, data[2], Adam(lr=LEARNING_RATE)) == phases[2].mlp_steps
    np.testing.assert_array_equal(kan.get_params(), phases[2].kan.get_params())
    np.testing.assert_array_equal(mlp.get_params(), phases[2].mlp.get_params())
    for ph in phases:
        assert 1 <= ph.kan_steps <= MAX_STEPS and 1 <= ph.mlp_steps <= MAX_STEPS


def test_training_on_a_region_leaves_every_far_away_coefficient_and_both_scales_exactly_alone():
    """Locality, exactly: a B-spline coefficient whose 4 spans hold no sample gets no gradient."""
    phases = learn_in_phases(5, 100, 0)
    G, k = 100, 3
    knots = -1 + 2 / G * np.arange(-k, G + k + 1)           # coefficient i lives on [knots[i], knots[i+4]]
    for p in range(1, 5):
        before, after = coef(phases[p - 1].kan), coef(phases[p].kan)
        x = phase_data(5, 0)[p]["train_input"][:, 0]
        reached = np.array([np.any((x >= knots[i]) & (x < knots[i + k + 1])) for i in range(G + k)])
        np.testing.assert_array_equal(after[~reached], before[~reached])
        assert np.any(after[reached] != before[reached])
        for name in ("scale_base", "scale_sp"):
            np.testing.assert_array_equal(getattr(phases[p].kan.layers[0], name),
                                          getattr(phases[0].kan.layers[0], name))


def test_a_coarse_grid_loses_the_locality_and_the_kan_forgets_too():
    fine, coarse = learn_in_phases(5, 100, 0)[-1], learn_in_phases(5, 20, 0)[-1]
    assert rmse_on_region(coarse.kan, 0) > 10 * rmse_on_region(fine.kan, 0)


# -- the explorable ---------------------------------------------------------------------------------

def test_it_opens_after_the_last_phase_showing_the_difference(widget):
    assert widget.phase == widget.n_bumps == DEFAULTS["n_bumps"]
    assert widget.grid_size == DEFAULTS["grid_size"] in GRID_CHOICES
    assert widget.next_button.disabled and not widget.back_button.disabled
    note = widget.note.object
    assert "regions 1 to 4" in note and "times larger" in note
    assert widget.compute_seconds > 0


@pytest.mark.parametrize("p", [1, 2, 4, 5])
def test_the_replay_shows_each_phases_stored_fits_region_and_samples(widget, p):
    widget.phase = p
    record = widget.phases[p - 1]
    kan, mlp = plotted(widget.kan_source), plotted(widget.mlp_source)
    np.testing.assert_array_equal(kan["x"], mlp["x"])
    np.testing.assert_allclose(kan["y"], record.kan(kan["x"][:, None])[:, 0], atol=1e-12)
    np.testing.assert_allclose(mlp["y"], record.mlp(mlp["x"][:, None])[:, 0], atol=1e-12)
    for name in ("kan", "mlp"):
        assert np.all(np.isfinite(plotted(getattr(widget, f"{name}_source"))["y"]))
    region = plotted(widget.region_source)
    assert region["x0"].tolist() == pytest.approx([-1 + 0.4 * (p - 1)])
    assert region["x1"].tolist() == pytest.approx([-1 + 0.4 * p])
    now = plotted(widget.now_source)
    np.testing.assert_array_equal(now["x"], widget.data[p - 1]["train_input"][:, 0])
    assert len(plotted(widget.before_source)["x"]) == N_TRAIN * (p - 1)
    labels = widget.labels_source.data
    assert [s for s in labels["style"]] == ["bold" if r == p - 1 else "normal" for r in range(5)]
    assert f"after phase {p} of 5" in widget.kan_figure.title.text
    assert f"after phase {p} of 5" in widget.mlp_figure.title.text
    assert widget.back_button.disabled == (p == 1) and widget.next_button.disabled == (p == 5)


def test_the_curves_really_change_from_phase_to_phase(widget):
    shown = []
    for p in (1, 2, 3):
        widget.phase = p
        shown.append((plotted(widget.kan_source)["y"].copy(), plotted(widget.mlp_source)["y"].copy()))
    for (k1, m1), (k2, m2) in zip(shown, shown[1:]):
        assert np.abs(k2 - k1).max() > 0.5 and np.abs(m2 - m1).max() > 0.5


@pytest.mark.parametrize("p", [1, 3, 5])
def test_the_readouts_equal_independently_computed_errors(widget, p):
    widget.phase = p
    record = widget.phases[p - 1]
    html = widget.readout.object
    for who, model in (("kan", record.kan), ("mlp", record.mlp)):
        row = html.split(f'<tr class="kx-{who}">')[1].split("</tr>")[0]
        shown = [float(cell.split('"')[0]) for cell in row.split('data-rmse="')[1:]]
        expected = [rmse_on_region(model, r) for r in range(5)]
        np.testing.assert_allclose(shown, expected, rtol=1e-12)
    assert f"after phase {p}</caption>" in html
    assert html.count('class="kx-current"') == 2 and html.count('class="kx-unseen"') == 2 * (5 - p)
    if p > 1:
        kan_worst = max(rmse_on_region(record.kan, r) for r in range(p - 1))
        assert f'<b class="kx-kan-worst">{kan_worst:.2g}</b>' in widget.note.object


def test_the_buttons_step_through_the_phases_and_stop_at_the_ends(widget):
    widget.phase = 1
    widget.back_button.clicks += 1
    assert widget.phase == 1
    for expected in (2, 3, 4, 5, 5):
        widget.next_button.clicks += 1
        assert widget.phase == expected
    widget.back_button.clicks += 1
    assert widget.phase == 4
    widget.phase = 5


def test_the_phase_is_bounded_by_the_number_of_bumps():
    w = ContinualLearning(n_bumps=3)
    assert w.phase == 3 and w.param.phase.bounds == (1, 3) and w.phase_slider.end == 3
    with pytest.raises(ValueError):
        w.phase = 4
    w.n_bumps = 6
    assert w.phase == 6 and w.param.phase.bounds == (1, 6) and len(w.phases) == 6
    assert len(plotted(w.bounds_source)["x"]) == 5
    assert ContinualLearning.param.phase.bounds == (1, DEFAULTS["n_bumps"])  # not shared between sessions
    with pytest.raises(ValueError):
        w.n_bumps = 20


def test_changing_the_grid_or_seed_relearns_and_reset_returns_to_the_defaults():
    w = ContinualLearning()
    default_kan = plotted(w.kan_source)["y"].copy()
    w.phase = 2
    w.grid_size = 50
    assert w.phase == 5 and w.phases[-1].kan.G == 50
    assert "G = 50" in w.kan_figure.title.text
    w.seed = 7
    np.testing.assert_array_equal(w.data[0]["train_input"], phase_data(5, 7)[0]["train_input"])
    w.reset_button.clicks += 1
    assert (w.n_bumps, w.grid_size, w.seed, w.phase) == (5, 100, 0, 5)
    np.testing.assert_array_equal(plotted(w.kan_source)["y"], default_kan)
