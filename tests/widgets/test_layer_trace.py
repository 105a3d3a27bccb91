"""The layer trace and the x * y example, driven through their parameters without a browser.

Edge values are checked against an independent evaluation of each trained edge (scipy's B-spline
plus the SiLU base term, from the layer's own arrays); node totals against kan_core's forward pass;
the MLP view against the trained MLP's weights.
"""

import re

import numpy as np
import pytest
from bokeh import events
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.interpolate import BSpline

from kan_core import KAN
from widgets import layer_trace
from widgets.layer_trace import (DEFAULT_INPUTS, N_IN, N_OUT, PRODUCT_DEFAULT, TARGET_PARTS, LayerTrace,
                                 ProductByParts, align_edges, layer_target, stack_segments)
from widgets.theme import ORANGE, TEAL


@pytest.fixture(scope="module")
def trace():
    return LayerTrace()


@pytest.fixture(autouse=True)
def fresh_state(request):
    if "trace" in request.fixturenames:
        request.getfixturevalue("trace").reset()


def scipy_edge(kan, i, j, x):
    """phi_{j,i}(x) from the layer's arrays: scale_base * silu(x) + scale_sp * spline(x)."""
    layer = kan.layers[0]
    x = np.asarray(x, dtype=float)
    spline = np.nan_to_num(BSpline(layer.grid[i], layer.coef[i, j], layer.k, extrapolate=False)(x))
    silu = x / (1.0 + np.exp(-x))
    return layer.mask[i, j] * (layer.scale_base[i, j] * silu + layer.scale_sp[i, j] * spline)


def signed_segments(source):
    """The signed value of each drawn segment: its length, negative if it lies left of 0."""
    left, right = np.asarray(source.data["left"]), np.asarray(source.data["right"])
    assert np.all(right >= left)
    return np.where(left >= 0, right - left, -(right - left))


def numbers_in(html_text, css_class):
    cells = re.findall(rf'class="{css_class}">(?:<b>)?([^<]+)<', html_text)
    return [float(c.replace("−", "-")) for c in cells]


def set_inputs(trace, x):
    trace.param.update(x1=x[0], x2=x[1], x3=x[2])


inputs = st.tuples(*[st.floats(-1.0, 1.0, allow_nan=False)] * 3)


# -- the KAN layer ------------------------------------------------------------------------------------

def test_the_layer_is_trained_and_each_edge_looks_like_its_part_of_the_target(trace):
    assert trace.kan.width == [3, 2]
    assert trace.rmse["KAN"] < 0.02 < 0.3 < trace.rmse["MLP"]
    grid = np.linspace(-1, 1, 101)
    for j in range(N_OUT):
        for i in range(N_IN):
            learned = trace.kan.edge(0, i, j)(grid)
            assert np.max(np.abs(learned - TARGET_PARTS[j][i](grid))) < 0.05, (j, i)


@pytest.mark.parametrize("seed", [1, 2])
def test_moving_constants_between_edges_leaves_the_outputs_unchanged(seed):
    kan = KAN([3, 2], grid=5, k=3, seed=seed, noise_scale=3.0)
    before = kan.copy()
    grid = np.linspace(-1, 1, 201)
    x = np.random.default_rng(seed).uniform(-1, 1, (500, 3))
    x[:6] = [[-1, -1, -1], [1, 1, 1], [-1, 1, 0], [0, 0, 0], [1, -1, 1], [0.999, -0.999, 0.5]]
    align_edges(kan, grid)
    np.testing.assert_allclose(kan(x), before(x), rtol=0, atol=1e-12)
    for j, row in enumerate(TARGET_PARTS):
        # every edge of a node now sits at its part's mean height, up to one offset shared by the node
        offsets = [kan.edge(0, i, j)(grid).mean() - part(grid).mean() for i, part in enumerate(row)]
        assert np.ptp(offsets) < 1e-12


def test_each_curve_is_its_trained_edge_and_the_view_opens_in_the_kan_layer(trace):
    assert trace.view == "KAN" and (trace.x1, trace.x2, trace.x3) == DEFAULT_INPUTS
    for (j, i), source in trace.curve_sources.items():
        x = np.asarray(source.data["x"])
        assert x[0] == -1 and x[-1] == 1
        np.testing.assert_allclose(source.data["y"], scipy_edge(trace.kan, i, j, x), rtol=0, atol=1e-12)
        assert trace.curve_lines[j, i].glyph.line_color == TEAL


@settings(max_examples=25, deadline=None)
@given(x=inputs)
def test_the_dots_sit_on_the_edge_values_and_the_bars_add_up_to_the_layer_output(trace, x):
    set_inputs(trace, x)
    edges = np.array([[scipy_edge(trace.kan, i, j, x[i]) for i in range(N_IN)] for j in range(N_OUT)])
    output = trace.kan(np.array([x]))[0]
    for j in range(N_OUT):
        for i in range(N_IN):
            dot = trace.dot_sources[j, i].data
            assert dot["x"] == [x[i]]
            assert dot["y"][0] == pytest.approx(edges[j, i], abs=1e-12)
        segments = signed_segments(trace.bar_sources[j])
        np.testing.assert_allclose(segments, edges[j], rtol=0, atol=1e-12)
        total = trace.total_sources[j].data["x"][0]
        assert total == pytest.approx(segments.sum(), abs=1e-12)
        assert total == pytest.approx(edges[j].sum(), abs=1e-12)
        assert total == pytest.approx(output[j], abs=1e-12)
        assert trace.bar_sources[j].data["label"] == [
            f"φ{'₁₂'[j]},{'₁₂₃'[i]} = {edges[j, i]:.2f}".replace("-", "−") for i in range(N_IN)]


def test_the_bar_stacks_positive_parts_right_of_zero_and_negative_parts_left(trace):
    set_inputs(trace, DEFAULT_INPUTS)  # out2 gets 0.82 and 0.34 from x1 and x2, -0.81 from x3
    data = trace.bar_sources[1].data
    values = signed_segments(trace.bar_sources[1])
    assert list(np.sign(values)) == [1, 1, -1]
    assert data["left"][0] == 0 and data["right"][0] == pytest.approx(data["left"][1])
    assert data["right"][1] == pytest.approx(values[0] + values[1])
    assert data["right"][2] == 0 and data["left"][2] == pytest.approx(values[2])
    start, end = stack_segments([0.5, -0.2, 0.3, -0.1])
    np.testing.assert_allclose(start, [0, -0.2, 0.5, -0.3])
    np.testing.assert_allclose(end, [0.5, 0, 0.8, -0.2])


def test_the_readout_prints_the_same_numbers_the_bars_draw(trace):
    set_inputs(trace, (-0.3, 0.9, 0.1))
    edges, out = trace.edge_values()
    html_text = trace.readout.object
    assert numbers_in(html_text, "kx-part") == pytest.approx(edges.ravel(), abs=5e-4)
    assert numbers_in(html_text, "kx-total") == pytest.approx(out, abs=5e-4)
    assert numbers_in(html_text, "kx-target") == pytest.approx(layer_target(np.array([[-0.3, 0.9, 0.1]]))[0],
                                                                abs=5e-4)


# -- the MLP contrast ---------------------------------------------------------------------------------

def test_the_mlp_view_shows_six_numbers_equal_to_the_mlps_weights(trace):
    assert "kx-weight" not in trace.note.object
    trace.view = "MLP"
    weights = numbers_in(trace.note.object, "kx-weight")
    assert len(weights) == 6
    np.testing.assert_allclose(weights, trace.mlp.weights[0].ravel(), atol=5e-4)
    assert "squash" in trace.note.object


def test_the_mlp_view_draws_straight_lines_and_sums_to_the_mlps_output(trace):
    x = (0.25, -0.6, 0.9)
    set_inputs(trace, x)
    trace.view = "MLP"
    W, b = trace.mlp.weights[0], trace.mlp.biases[0]
    output = trace.mlp(np.array([x]))[0]
    for (j, i), source in trace.curve_sources.items():
        np.testing.assert_allclose(source.data["y"], W[i, j] * np.asarray(source.data["x"]), atol=1e-15)
        assert trace.curve_lines[j, i].glyph.line_color == ORANGE
        assert trace.dot_sources[j, i].data["y"][0] == pytest.approx(W[i, j] * x[i], abs=1e-15)
    for j in range(N_OUT):
        segments = signed_segments(trace.bar_sources[j])
        np.testing.assert_allclose(segments, list(W[:, j] * x) + [b[j]], atol=1e-12)
        assert trace.total_sources[j].data["x"][0] == pytest.approx(output[j], abs=1e-12)
        assert trace.bar_sources[j].data["fill"] == [ORANGE] * 3 + ["#9e9e9e"]
    trace.view = "KAN"
    for (j, i), source in trace.curve_sources.items():
        np.testing.assert_allclose(source.data["y"], scipy_edge(trace.kan, i, j, source.data["x"]), atol=1e-12)


# -- dragging, typing and resetting ---------------------------------------------------------------

def test_a_drag_sets_the_input_rounded_and_clamped(trace, monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(layer_trace.time, "monotonic", lambda: clock[0])
    trace._drag(1, 0.337, True)
    assert trace.x2 == 0.34
    # while the pointer is down the browser moves the dots itself; the sums follow from Python
    assert trace.dot_sources[0, 1].data["x"] == [DEFAULT_INPUTS[1]]
    assert trace.number_inputs[1].value == DEFAULT_INPUTS[1]
    assert trace.total_sources[0].data["x"][0] == pytest.approx(trace.kan(trace.inputs[None])[0, 0], abs=1e-12)
    clock[0] += layer_trace.DRAG_INTERVAL / 2
    trace._drag(1, 0.6, True)  # too soon after the last redraw: skipped
    assert trace.x2 == 0.34
    clock[0] += layer_trace.DRAG_INTERVAL
    trace._drag(1, 0.6, True)
    assert trace.x2 == 0.6
    trace._drag(1, 0.6, False)  # release: everything shows the exact value
    assert trace.dot_sources[0, 1].data["x"] == [0.6]
    assert trace.number_inputs[1].value == 0.6 and trace.sliders[1].value == 0.6
    trace._drag(0, 7.5, False)
    assert trace.x1 == 1.0 and trace.dot_sources[1, 0].data["x"] == [1.0]
    trace._drag(2, float("nan"), False)
    assert trace.x3 == DEFAULT_INPUTS[2]
    trace.x3 = -0.2  # a slider change after a drag moves the dots too
    assert trace.dot_sources[1, 2].data["x"] == [-0.2]


@pytest.mark.parametrize("kind", ["Tap", "DoubleTap", "PressUp"])
def test_a_click_of_any_length_in_a_column_sets_its_input(trace, kind):
    """A quick click, a second click soon after (a double tap) and a click held a moment (a press)
    all reach Python from the browser as Bokeh events on the curve's figure."""
    fig = trace.curve_figs[1, 2]
    fig._trigger_event(getattr(events, kind)(fig, x=-0.413, y=0.0))
    assert trace.x3 == -0.41
    assert trace.dot_sources[0, 2].data["x"] == [-0.41] and trace.number_inputs[2].value == -0.41


def test_a_late_echo_of_an_older_value_from_the_box_does_not_undo_a_newer_one(trace):
    """A click sets x1 = -0.4, a second click 0.1; the browser's box then sends back the -0.4 it
    was shown first (late, on a busy server). That is no reader's typing: x1 stays 0.1."""
    trace._drag(0, -0.4, False)
    trace._drag(0, 0.1, False)
    trace.number_inputs[0].value = -0.4          # the stale echo arrives
    assert trace.x1 == 0.1
    assert trace.number_inputs[0].value == 0.1 and trace.dot_sources[0, 0].data["x"] == [0.1]
    trace.number_inputs[0].value = 0.35          # typing still works
    assert trace.x1 == 0.35


def test_the_slider_sets_the_input(trace):
    trace.sliders[0].value = -0.35
    assert trace.x1 == -0.35 and trace.number_inputs[0].value == -0.35
    assert trace.dot_sources[0, 0].data["x"] == [-0.35]


def test_a_typed_number_outside_the_range_is_clamped_with_a_sentence(trace):
    box = trace.number_inputs[0]
    box.value = 5.0
    assert trace.x1 == 1.0 and box.value == 1.0
    assert "x₁ goes from −1 to 1, so 5 became 1.00." in trace.notice.object
    box.value = None
    assert trace.x1 == 1.0 and box.value == 1.0
    assert "x₁ needs a number from −1 to 1." in trace.notice.object
    box.value = -0.4
    assert trace.x1 == -0.4 and trace.notice.object == ""
    trace.x2 = 0.15
    assert trace.number_inputs[1].value == 0.15 and trace.sliders[1].value == 0.15


def test_reset_restores_the_opening_state(trace):
    set_inputs(trace, (0.1, 0.2, 0.3))
    trace.view = "MLP"
    trace.number_inputs[2].value = -9.0
    trace.reset()
    assert (trace.x1, trace.x2, trace.x3, trace.view) == (*DEFAULT_INPUTS, "KAN")
    assert trace.notice.object == ""
    assert [trace.dot_sources[0, i].data["x"][0] for i in range(N_IN)] == list(DEFAULT_INPUTS)


def test_the_opening_state_shows_readable_dots_and_mixed_signs(trace):
    edges, _ = trace.edge_values()
    assert np.all(np.abs(edges) > 0.3)
    assert (edges > 0).any() and (edges < 0).any()


def test_each_instance_has_its_own_model_and_figures(trace):
    other = LayerTrace()
    assert other.kan is not trace.kan and other.curve_sources[0, 0] is not trace.curve_sources[0, 0]
    other.x1 = -0.9
    assert trace.x1 == DEFAULT_INPUTS[0] and trace.dot_sources[0, 0].data["x"] == [DEFAULT_INPUTS[0]]


def test_inputs_outside_the_bounds_are_refused_by_the_parameters(trace):
    with pytest.raises(ValueError):
        trace.x1 = 1.5


# -- two layers: x * y ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def product():
    return ProductByParts()


@settings(max_examples=40, deadline=None)
@given(x=st.floats(-2, 2, allow_nan=False), y=st.floats(-2, 2, allow_nan=False))
def test_the_snapped_two_layer_kan_computes_x_times_y_through_its_intermediate_values(product, x, y):
    product.param.update(x=x, y=y)
    v = product.values()
    assert v["out"] == pytest.approx(x * y, abs=1e-12)
    assert v["x+y"] == pytest.approx(x + y, abs=1e-15)
    assert v["(x+y)²"] == pytest.approx((x + y) ** 2, abs=1e-14)
    assert (v["x²"], v["y²"]) == (pytest.approx(x * x, abs=1e-15), pytest.approx(y * y, abs=1e-15))
    assert v["x²+y²"] == pytest.approx(x * x + y * y, abs=1e-14)
    assert v["½(x+y)²"] == pytest.approx((x + y) ** 2 / 2, abs=1e-14)
    assert v["−½(x²+y²)"] == pytest.approx(-(x * x + y * y) / 2, abs=1e-14)
    assert v["out"] == pytest.approx(v["½(x+y)²"] + v["−½(x²+y²)"], abs=1e-14)


def test_the_product_network_is_a_real_snapped_kan(product):
    model = product.kan
    assert isinstance(model, KAN) and model.width == [2, 2, 1]
    for layer in model.layers:
        assert np.all(layer.symbolic_mask == 1) and np.all(layer.mask == 0)
    assert product.formula == "0.5*(x + y)**2 - 0.5*x**2 - 0.5*y**2"


def test_the_product_figure_and_table_show_the_intermediate_values(product):
    product.param.update(x=1.2, y=-0.5)
    nodes = product.node_source.data["label"]
    assert nodes == ["x = 1.20", "y = −0.50", "x+y = 0.70", "x²+y² = 1.69", "out = −0.600"]
    assert product.edge_source.data["label"] == ["t = 1.20", "t = −0.50", "t² = 1.44", "t² = 0.25",
                                                 "½ t² = 0.24", "−½ t = −0.84"]
    cells = numbers_in(product.readout.object, "kx-num")
    assert cells == pytest.approx([0.7, 0.49, 1.44, 0.25, 1.69, 0.245, -0.845, -0.6], abs=5e-5)
    assert "x · y = 1.20 × −0.50 = <b>−0.6000</b>" in product.readout.object


def test_the_product_inputs_clamp_and_reset(product):
    product.number_inputs[1].value = -30.0
    assert product.y == -2.0 and "y goes from −2 to 2, so -30 became −2.00." in product.notice.object
    product.reset()
    assert (product.x, product.y) == PRODUCT_DEFAULT and product.notice.object == ""
