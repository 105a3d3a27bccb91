"""The MLP neuron explorable, driven through its parameters and checked against numpy and kan_core.MLP."""

import re

import numpy as np
import pytest

from kan_core import MLP
from kan_core.mlp import ACTIVATIONS
from widgets.mlp_neuron import INPUT_LIMIT, WEIGHT_LIMIT, MLPNeuron, fmt, pretty

# Written out independently of kan_core, so a wrong activation there would show up here.
ORACLE = {
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": lambda z: (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z)),
    "silu": lambda z: z / (1.0 + np.exp(-z)),
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
}


def cells(widget):
    """The readout table as {data-kx key: number shown}."""
    found = re.findall(r'data-kx="(\w+)">([^<]*)<', widget.table.object)
    return {key: float(text.replace("\u2212", "-")) for key, text in found}


def random_states(n):
    rng = np.random.default_rng(7)
    for _ in range(n):
        n_inputs = int(rng.integers(2, 4))
        state = {"n_inputs": n_inputs, "activation": str(rng.choice(list(ACTIVATIONS))),
                 "bias": float(rng.uniform(-WEIGHT_LIMIT, WEIGHT_LIMIT))}
        for i in (1, 2, 3):
            state[f"x{i}"] = float(rng.uniform(-INPUT_LIMIT, INPUT_LIMIT))
            state[f"w{i}"] = float(rng.uniform(-WEIGHT_LIMIT, WEIGHT_LIMIT))
        yield state


def test_every_activation_kan_core_offers_has_an_independent_oracle():
    assert set(ACTIVATIONS) <= set(ORACLE)


def test_the_opening_state_shows_the_idea():
    neuron = MLPNeuron()
    w = neuron.weights()
    assert neuron.n_inputs == 3 and neuron.activation == "relu"
    assert (w > 0).any() and (w < 0).any()
    out = neuron.result()
    assert out["z"] > 0 and out["a"] == out["z"]
    assert "Make a weight more negative" in neuron.hint.object


@pytest.mark.parametrize("state", list(random_states(12)))
def test_readouts_match_numpy_and_kan_core_mlp_forward(state):
    neuron = MLPNeuron(**state)
    n = state["n_inputs"]
    x = np.array([state[f"x{i}"] for i in (1, 2, 3)][:n])
    w = np.array([state[f"w{i}"] for i in (1, 2, 3)][:n])
    z = float(np.dot(w, x) + state["bias"])
    a = float(ORACLE[state["activation"]](z))

    out = neuron.result()
    assert out["products"] == pytest.approx(w * x, abs=1e-12)
    assert out["z"] == pytest.approx(z, abs=1e-12)
    assert out["a"] == pytest.approx(a, abs=1e-12)

    # The same neuron as a kan_core MLP with a hidden unit and an identity readout gives act(z).
    net = MLP([n, 1, 1], activation=state["activation"])
    net.set_params(np.concatenate([w, [state["bias"], 1.0, 0.0]]))
    assert out["a"] == pytest.approx(float(net.forward(x[None, :])[0, 0]), abs=1e-12)

    shown = cells(neuron)
    expected = {"bias": state["bias"], "z": z, "a": a}
    for i in range(n):
        expected.update({f"x{i + 1}": x[i], f"w{i + 1}": w[i], f"product{i + 1}": w[i] * x[i]})
    assert set(shown) == set(expected)
    for key, value in expected.items():
        assert shown[key] == pytest.approx(value, abs=5e-5), key


def test_the_equations_repeat_the_numbers_of_the_table():
    neuron = MLPNeuron(w2=-1.5, activation="tanh")
    out = neuron.result()
    assert neuron.sum_equation.object == (r"$z = ({1.50})({1.00}) + ({-1.50})({2.00}) + ({0.80})({0.50})"
                                          r" + ({0.20}) = -0.90$")
    assert out["a"] == pytest.approx(np.tanh(-0.9), abs=1e-12)
    assert neuron.output_equation.object == r"$a = \tanh(z) = \tanh({-0.90}) = -0.7163$"


@pytest.mark.parametrize("value, text", [(1.5, "1.50"), (0.0025, "0.0025"), (-0.80050, "\u22120.8005"),
                                         (-0.00001, "0.00"), (2.0, "2.00"), (-1.0, "\u22121.00")])
def test_numbers_are_printed_with_two_to_four_decimals_and_a_real_minus(value, text):
    assert fmt(value) == text


def test_the_activation_plot_draws_the_fixed_curve_and_marks_z_and_a():
    neuron = MLPNeuron()
    for name in ACTIVATIONS:
        neuron.activation = name
        curve = neuron.curve.data
        assert np.allclose(curve["y"], ORACLE[name](np.asarray(curve["x"])), atol=1e-12)
        out = neuron.result()
        assert list(neuron.point.data["x"]) == [out["z"]] and list(neuron.point.data["y"]) == [out["a"]]
        assert neuron.plot.x_range.start <= out["z"] <= neuron.plot.x_range.end
        assert neuron.plot.y_range.start <= out["a"] <= neuron.plot.y_range.end
        assert pretty(name) in neuron.plot.yaxis.axis_label
        # the guide lines run from the z axis up to the dot and across to the a axis
        guides = neuron.guides.data
        assert guides["x1"] == [out["z"], out["z"]] and guides["y1"] == [out["a"], out["a"]]


def test_weights_move_the_point_but_never_the_curve():
    neuron = MLPNeuron()
    before = {k: np.array(v) for k, v in neuron.curve.data.items()}
    point = dict(neuron.point.data)
    neuron.param.update(w1=-0.7, w3=2.1, bias=-0.4)
    assert neuron.point.data["x"] != point["x"]
    assert np.array_equal(neuron.curve.data["x"], before["x"])
    assert np.array_equal(neuron.curve.data["y"], before["y"])


def test_a_large_z_widens_the_plot_so_the_dot_stays_in_view():
    neuron = MLPNeuron(x1=2.0, x2=2.0, x3=2.0, w1=3.0, w2=3.0, w3=3.0, bias=3.0)
    assert neuron.result()["z"] == pytest.approx(21.0)
    assert neuron.plot.x_range.end > 21.0 and neuron.plot.y_range.end > 21.0


def test_making_z_negative_lets_relu_clip_the_output_to_zero():
    neuron = MLPNeuron()
    neuron.w2 = -1.5
    out = neuron.result()
    assert out["z"] == pytest.approx(-0.9) and out["a"] == 0.0
    assert cells(neuron)["a"] == 0.0
    assert "ReLU outputs 0" in neuron.hint.object


def test_the_diagram_draws_each_weight_by_sign_and_size():
    neuron = MLPNeuron(w1=2.5, w2=-0.5, w3=0.1)
    edges = neuron.edges.data
    colours, widths, dashes = edges["color"][:3], edges["width"][:3], edges["dash"][:3]
    assert colours[0] == colours[2] != colours[1]
    assert dashes == ["solid", "dashed", "solid"]
    assert widths[0] > widths[1] > widths[2]
    texts = neuron.labels.data["text"]
    assert "w\u2081 = 2.50" in texts and "w\u2082 = \u22120.50" in texts and "w\u2083 = 0.10" in texts
    assert f"z = {fmt(neuron.result()['z'])}" in texts and f"a = {fmt(neuron.result()['a'])}" in texts


def test_two_inputs_hide_the_third_everywhere():
    neuron = MLPNeuron()
    neuron.n_inputs = 2
    assert neuron.nodes.data["marker"].count("circle") == 3     # two inputs and the sum node
    assert len(neuron.result()["products"]) == 2
    assert "product3" not in cells(neuron)
    assert not neuron._rows["x3"].visible and not neuron._rows["w3"].visible
    assert not any(t.startswith("x\u2083") or t.startswith("w\u2083") for t in neuron.labels.data["text"])
    neuron.n_inputs = 3
    assert neuron._rows["x3"].visible and "product3" in cells(neuron)


def test_sources_and_figures_are_updated_in_place():
    neuron = MLPNeuron()
    sources = (neuron.edges, neuron.curve, neuron.point, neuron.labels)
    figures = (neuron.diagram, neuron.plot)
    neuron.param.update(x1=-1.2, activation="silu", n_inputs=2)
    assert (neuron.edges, neuron.curve, neuron.point, neuron.labels) == sources
    assert (neuron.diagram, neuron.plot) == figures
    assert any(r.data_source is neuron.edges for r in neuron.diagram.renderers)


def test_a_typed_number_out_of_range_is_clamped_with_a_sentence():
    neuron = MLPNeuron()
    neuron.entries["w1"].box.value = 99.0
    assert neuron.w1 == WEIGHT_LIMIT
    assert neuron.entries["w1"].box.value == WEIGHT_LIMIT
    assert neuron.message.visible
    assert "weight w₁ must be between −3.00 and 3.00; 99 was set to 3.00." in neuron.message.object
    neuron.entries["x2"].box.value = -0.25
    assert neuron.x2 == -0.25 and not neuron.message.visible
    neuron.entries["bias"].box.value = float("nan")
    assert neuron.bias == 0.2 and "bias b must be between" in neuron.message.object


def test_the_sliders_and_boxes_follow_the_parameters():
    neuron = MLPNeuron()
    neuron.w3 = -2.2
    assert neuron.entries["w3"].box.value == -2.2
    neuron.entries["w3"].box.value = 1.3
    assert neuron.w3 == 1.3 and neuron.entries["w3"].slider.value == 1.3


def test_reset_restores_the_opening_state():
    neuron = MLPNeuron()
    neuron.param.update(x1=-2.0, w2=3.0, bias=-3.0, activation="tanh", n_inputs=2)
    neuron.entries["w1"].box.value = 50.0
    neuron.reset()
    fresh = MLPNeuron()
    for name in MLPNeuron._STATE:
        assert getattr(neuron, name) == getattr(fresh, name)
    assert cells(neuron) == cells(fresh)
    assert not neuron.message.visible


def test_instances_share_no_state():
    one, two = MLPNeuron(), MLPNeuron()
    one.w1 = -2.0
    assert two.w1 == 1.5 and cells(two)["w1"] == 1.5
    assert one.curve is not two.curve


def test_a_late_echo_of_an_older_value_from_the_box_does_not_undo_the_slider():
    """The slider moves w1 to 0.7 and then 1.2; the box, shown both, sends back 0.7 late (a busy
    server). That is no reader's typing: w1 stays 1.2 and the box is shown 1.2 again."""
    neuron = MLPNeuron()
    entry = neuron.entries["w1"]
    entry.slider.value = 0.7
    entry.slider.value = 1.2
    assert neuron.w1 == 1.2 and entry.box.value == 1.2
    entry.box.value = 0.7                     # the stale echo arrives
    assert neuron.w1 == 1.2 and entry.box.value == 1.2
    entry.box.value = -0.35                   # typing still works, twice in a row and back again
    entry.box.value = 0.9
    entry.box.value = -0.35
    assert neuron.w1 == -0.35 and entry.slider.value == -0.35


def test_a_typed_value_equal_to_one_the_slider_showed_before_the_last_typing_is_taken():
    neuron = MLPNeuron()
    entry = neuron.entries["w1"]
    entry.slider.value = 0.7
    entry.slider.value = 1.2
    entry.box.value = 0.9                     # typed
    entry.slider.value = 1.5
    entry.box.value = 0.7                     # typed: 0.7 was shown before the reader's last typing
    assert neuron.w1 == 0.7 and entry.slider.value == 0.7
