"""The flip explorable, driven through its parameters and checked against kan_core and numpy."""

import re

import numpy as np
import pytest

from kan_core import KAN, MLP
from widgets.flip import CAPTIONS, TABLE_ROWS, Flip, fmt


@pytest.fixture(scope="module")
def flip():
    return Flip()


@pytest.fixture
def fresh():
    return Flip()


def numbers(html):
    """{data-kx key: number shown} from an HTML readout."""
    found = re.findall(r'data-kx="([\w-]+)">([^<]*)<', html)
    return {key: float(text.replace("\u2212", "-")) for key, text in found}


def visible(renderers):
    return [r.visible for r in renderers]


def test_both_forms_are_real_kan_core_models_trained_on_the_target(flip):
    assert isinstance(flip.kan, KAN) and flip.kan.width == [2, 1]
    assert isinstance(flip.mlp, MLP) and flip.mlp.width == [2, 1, 1] and flip.mlp.activation == "tanh"
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 21), np.linspace(-1, 1, 21)), axis=-1).reshape(-1, 2)
    target = np.sin(np.pi * grid[:, 0]) + grid[:, 1] ** 2
    kan_rmse = np.sqrt(np.mean((flip.kan(grid)[:, 0] - target) ** 2))
    untrained = np.sqrt(np.mean((MLP([2, 1, 1], "tanh")(grid)[:, 0] - target) ** 2))
    mlp_rmse = np.sqrt(np.mean((flip.mlp(grid)[:, 0] - target) ** 2))
    assert kan_rmse < 0.02                    # the target is exactly a KAN unit's shape
    assert mlp_rmse < 0.8 * untrained         # the MLP unit learned what one squash can


def test_the_kan_form_opens_with_curves_on_edges_and_a_node_that_adds(flip):
    assert flip.form == "KAN"
    assert visible(flip._kan_glyphs) == [True, True] and visible(flip._mlp_glyphs) == [False]
    texts = flip.labels.data["text"]
    assert "+" in texts and "adds only" in texts and not any(t.startswith("w\u2081") for t in texts)
    assert CAPTIONS["KAN"] in flip.caption.object


@pytest.mark.parametrize("x1, x2", [(0.5, -0.5), (-0.9, 0.3), (0.0, 1.0), (1.0, -1.0)])
def test_kan_output_is_the_sum_of_its_edge_curves(fresh, x1, x2):
    fresh.param.update(x1=x1, x2=x2)
    out = fresh.kan_result()
    phi = [float(fresh.kan.edge(0, i, 0)(np.array([v]))[0]) for i, v in enumerate((x1, x2))]
    assert out["edges"] == pytest.approx(phi, abs=1e-12)
    assert out["y"] == pytest.approx(sum(phi), abs=1e-12)
    assert out["y"] == pytest.approx(float(fresh.kan(np.array([[x1, x2]]))[0, 0]), abs=1e-12)
    shown = numbers(fresh.outputs.object)
    assert shown["kan-y"] == pytest.approx(out["y"], abs=0.005)
    assert shown["target"] == pytest.approx(np.sin(np.pi * x1) + x2 ** 2, abs=0.005)
    assert f"\u03c6\u2081(x\u2081) = {fmt(phi[0])}" in fresh.labels.data["text"]


@pytest.mark.parametrize("x1, x2", [(0.5, -0.5), (-0.9, 0.3), (1.0, 1.0)])
def test_mlp_output_is_v_tanh_of_the_weighted_sum_plus_c(fresh, x1, x2):
    fresh.param.update(x1=x1, x2=x2, form="MLP")
    w, b = fresh.mlp.weights[0][:, 0], fresh.mlp.biases[0][0]
    v, c = fresh.mlp.weights[1][0, 0], fresh.mlp.biases[1][0]
    z = w[0] * x1 + w[1] * x2 + b
    y = v * np.tanh(z) + c
    out = fresh.mlp_result()
    assert out["z"] == pytest.approx(z, abs=1e-12) and out["y"] == pytest.approx(y, abs=1e-12)
    assert numbers(fresh.outputs.object)["mlp-y"] == pytest.approx(y, abs=0.005)
    texts = fresh.labels.data["text"]
    assert f"w\u2081 = {fmt(w[0])}" in texts and f"w\u2082 = {fmt(w[1])}" in texts
    assert f"b = {fmt(b)}" in texts and f"v = {fmt(v)}" in texts and f"c = {fmt(c)}" in texts
    assert f"= {{{fmt(y).replace(chr(0x2212), '-')}}}$" in fresh.equation.object


def test_the_mini_curves_are_the_edge_functions_on_one_shared_scale(flip):
    t = np.linspace(-1, 1, len(flip.mini.data["xs"][0]))
    slopes = []
    for i in (0, 1):
        phi = flip.kan.edge(0, i, 0)(t)
        ys = np.asarray(flip.mini.data["ys"][i])
        slope, offset = np.polyfit(phi, ys, 1)
        assert np.allclose(slope * phi + offset, ys, atol=1e-12)
        xs = np.asarray(flip.mini.data["xs"][i])
        assert np.allclose(np.diff(xs), np.diff(xs)[0])          # t is laid out evenly across the box
        slopes.append(slope)
    assert slopes[0] > 0 and slopes[0] == pytest.approx(slopes[1])
    # a dot rides each curve at its input
    for i, x in enumerate((flip.x1, flip.x2)):
        xs, ys = np.asarray(flip.mini.data["xs"][i]), np.asarray(flip.mini.data["ys"][i])
        assert flip.dots.data["y"][i] == pytest.approx(np.interp(flip.dots.data["x"][i], xs, ys), abs=0.02)


def test_flipping_to_mlp_swaps_curves_for_numbers_and_plus_for_a_squash(fresh):
    fresh.form = "MLP"
    assert visible(fresh._kan_glyphs) == [False, False] and visible(fresh._mlp_glyphs) == [True]
    assert visible(fresh._large_kan) == [False, False] and visible(fresh._large_mlp) == [True]
    squash = fresh.squash.data
    xs, ys = np.asarray(squash["xs"][0]), np.asarray(squash["ys"][0])
    u = (xs - xs.mean()) / (xs.max() - xs.mean()) * 2.5
    assert np.allclose(ys / ys.max(), np.tanh(u) / np.tanh(2.5), atol=1e-9)   # the drawn squash is tanh
    assert CAPTIONS["MLP"] in fresh.caption.object and "+" not in fresh.labels.data["text"]
    edges = fresh.edges.data
    w = fresh.mlp.weights[0][:, 0]
    assert edges["dash"][:2] == ["solid" if v >= 0 else "dashed" for v in w]
    assert (edges["width"][0] > edges["width"][1]) == (abs(w[0]) > abs(w[1]))


def test_picking_an_edge_shows_it_large(fresh):
    fresh.hits.selected.indices = [1]           # what a tap or a hover does in the browser
    assert fresh.focus == 2
    t, y = np.asarray(fresh.large_curve.data["x"]), np.asarray(fresh.large_curve.data["y"])
    assert np.allclose(y, fresh.kan.edge(0, 1, 0)(t), atol=1e-12)
    assert fresh.large_dot.data["x"] == [fresh.x2]
    assert fresh.large_dot.data["y"][0] == pytest.approx(fresh.kan_result()["edges"][1])
    assert fresh.boxes.data["width"] == [1.5, 3.0]
    assert 'data-edge="2"' in fresh.large_caption.object and "\u03c6\u2082" in fresh.large_caption.object

    fresh.form = "MLP"
    w2 = fresh.mlp.weights[0][1, 0]
    assert fresh.large_text.data["text"] == ["w\u2082", fmt(w2)]
    assert f"w\u2082 = {fmt(w2)}" in fresh.large_caption.object
    assert not fresh.large.xaxis[0].visible

    fresh.focus = 1                              # the keyboard route keeps the selection in step
    assert fresh.hits.selected.indices == [0]
    assert fresh.large_text.data["text"][0] == "w\u2081"


def test_the_table_states_the_swap_and_marks_the_form_drawn(fresh):
    table = fresh.table.object
    for what, mlp_says, kan_says in TABLE_ROWS:
        assert what in table and mlp_says in table and kan_says in table
    assert "KAN (drawn)" in table and "MLP (drawn)" not in table
    assert table.count('class="kx-on-KAN"') == 1 + len(TABLE_ROWS)
    fresh.form = "MLP"
    assert "MLP (drawn)" in fresh.table.object and fresh.table.object.count('class="kx-on-MLP"') == 1 + len(TABLE_ROWS)
    assert "Kolmogorov-Arnold representation theorem" in fresh.table.object


def test_the_summary_typesets_both_theorems(fresh):
    latex = [pane.object for pane in fresh.summary.select(lambda obj: type(obj).__name__ == "LaTeX")]
    assert any(r"\sum_{q=0}^{2n} \Phi_q" in text and r"\phi_{q,p}(x_p)" in text for text in latex)
    assert any(r"\sigma" in text for text in latex)


def test_inputs_are_clamped_with_a_sentence(fresh):
    fresh.inputs["x1"].box.value = 5.0
    assert fresh.x1 == 1.0 and fresh.message.visible
    assert "input x\u2081 must be between \u22121.00 and 1.00; 5 was set to 1.00." in fresh.message.object


def test_reset_restores_the_opening_state(fresh):
    fresh.param.update(form="MLP", x1=-0.8, x2=0.9, focus=2)
    fresh.reset()
    opening = Flip()
    for name in Flip._STATE:
        assert getattr(fresh, name) == getattr(opening, name)
    assert fresh.labels.data["text"] == opening.labels.data["text"]


def test_each_instance_trains_its_own_models_and_updates_in_place():
    one, two = Flip(), Flip()
    assert one.kan is not two.kan and one.mlp is not two.mlp
    assert np.array_equal(one.kan.get_params(), two.kan.get_params())   # same seed, same training
    sources = (one.edges, one.mini, one.labels, one.large_curve)
    one.param.update(form="MLP", x1=0.1, focus=2)
    assert (one.edges, one.mini, one.labels, one.large_curve) == sources
    assert two.form == "KAN" and two.x1 == 0.5
