"""The network diagram, driven without a browser: every plotted curve, number and style against kan_core."""

import numpy as np
import pytest
from bokeh.events import Tap

from kan_core import KAN, MLP, PRESETS, Trainer, make_dataset
from widgets.network_diagram import NEGATIVE, NetworkDiagram, format_weight, layout
from widgets.theme import ORANGE, RED, TEAL

DATA = make_dataset(PRESETS["exp_sin"], n_train=200, n_test=50, seed=3)
SAMPLES = DATA["train_input"]


def trained_kan(width=(2, 3, 1)):
    model = KAN(list(width), grid=5, k=3, seed=2)
    Trainer(model, DATA, "lbfgs", update_grid_every=None).step(4)
    return model


def row_of(data, edge):
    rows = [n for n in range(len(data["l"])) if (data["l"][n], data["i"][n], data["j"][n]) == edge]
    assert len(rows) == 1, f"edge {edge} should have exactly one row, found {len(rows)}"
    return rows[0]


def plotted_curve(diagram, edge):
    """(t, phi) of an edge's mini-curve, undoing the box mapping recorded beside it."""
    d = diagram.curves.data
    n = row_of(d, edge)
    xs, ys = np.asarray(d["xs"][n]), np.asarray(d["ys"][n])
    t = d["t0"][n] + (xs - d["px0"][n]) / (d["px1"][n] - d["px0"][n]) * (d["t1"][n] - d["t0"][n])
    phi = d["v0"][n] + (ys - d["py0"][n]) / (d["py1"][n] - d["py0"][n]) * (d["v1"][n] - d["v0"][n])
    return t, phi


def box_centre(diagram, edge):
    d = diagram.boxes.data
    n = row_of(d, edge)
    return (d["left"][n] + d["right"][n]) / 2, (d["bottom"][n] + d["top"][n]) / 2


def every_edge(width):
    return [(l, i, j) for l in range(len(width) - 1) for i in range(width[l]) for j in range(width[l + 1])]


@pytest.mark.parametrize("width", [(2, 3, 1), (4, 8, 4, 1)])
def test_each_mini_curve_is_the_edge_function_over_the_values_reaching_it(width):
    data = make_dataset(PRESETS["exp_4d"] if width[0] == 4 else PRESETS["exp_sin"], n_train=100, n_test=1, seed=1)
    model = KAN(list(width), grid=5, k=3, seed=4)
    Trainer(model, data, "lbfgs", update_grid_every=None).step(2)
    x = data["train_input"]
    diagram = NetworkDiagram(model=model, samples=x)
    acts = model.forward_detail(x)["acts"]
    assert len(diagram.curves.data["xs"]) == len(every_edge(width))
    for l, i, j in every_edge(width):
        t, phi = plotted_curve(diagram, (l, i, j))
        assert t[0] == pytest.approx(acts[l][:, i].min(), abs=1e-12)
        assert t[-1] == pytest.approx(acts[l][:, i].max(), abs=1e-12)
        assert np.all(np.diff(t) > 0)
        np.testing.assert_allclose(phi, model.edge(l, i, j)(t), rtol=1e-9, atol=1e-12)


def test_curves_stay_inside_their_boxes_and_the_tallest_fills_its_box():
    model = trained_kan()
    diagram = NetworkDiagram(model=model, samples=SAMPLES)
    boxes, curves = diagram.boxes.data, diagram.curves.data
    for l in range(2):
        heights = []
        for edge in every_edge(model.width):
            if edge[0] != l:
                continue
            b, c = row_of(boxes, edge), row_of(curves, edge)
            xs, ys = np.asarray(curves["xs"][c]), np.asarray(curves["ys"][c])
            assert boxes["left"][b] < xs.min() and xs.max() < boxes["right"][b]
            assert boxes["bottom"][b] < ys.min() and ys.max() < boxes["top"][b]
            heights.append((ys.max() - ys.min()) / (curves["py1"][c] - curves["py0"][c]))
        assert max(heights) == pytest.approx(1.0)


def test_a_nearly_flat_edge_is_not_blown_up_to_look_like_a_curve():
    model = trained_kan()
    model.layers[0].scale_base[1, 0] = 0.0
    model.layers[0].scale_sp[1, 0] = 1e-4   # edge (0, 1, 0) is now a thousandth of the others
    diagram = NetworkDiagram(model=model, samples=SAMPLES)
    curves = diagram.curves.data
    c = row_of(curves, (0, 1, 0))
    ys = np.asarray(curves["ys"][c])
    assert (ys.max() - ys.min()) / (curves["py1"][c] - curves["py0"][c]) < 0.05


def test_edges_are_drawn_stronger_the_more_they_matter():
    model = trained_kan()
    diagram = NetworkDiagram(model=model, samples=SAMPLES)
    _, scores = model.attribute(SAMPLES)
    curves, links = diagram.curves.data, diagram.links.data
    edges = every_edge(model.width)
    for a in edges:
        for b in edges:
            if scores[a[0]][a[1], a[2]] > scores[b[0]][b[1], b[2]] + 1e-9:
                ra, rb = row_of(curves, a), row_of(curves, b)
                assert curves["alpha"][ra] > curves["alpha"][rb]
                assert links["width"][ra] > links["width"][rb]
    assert set(curves["color"]) == {TEAL} and set(curves["dash"]) == {"solid"}


def test_a_pruned_edge_vanishes_and_the_others_stay():
    model = trained_kan()
    diagram = NetworkDiagram(model=model, samples=SAMPLES)
    model.layers[0].mask[1, 2] = 0.0
    diagram.update()
    n = row_of(diagram.curves.data, (0, 1, 2))
    assert len(diagram.curves.data["xs"][n]) == 0
    assert diagram.links.data["alpha"][n] == 0.0
    assert diagram.boxes.data["alpha"][row_of(diagram.boxes.data, (0, 1, 2))] == 0.0
    for edge in every_edge(model.width):
        if edge != (0, 1, 2):
            t, phi = plotted_curve(diagram, edge)
            np.testing.assert_allclose(phi, model.edge(*edge)(t), atol=1e-12)
    diagram.selected = (0, 1, 2)
    assert diagram.large.title.text.endswith(": pruned")
    assert diagram.large_curve.data["x"] == [] and diagram.large_text.data["text"] == ["pruned"]


def test_after_kan_prune_the_diagram_redraws_the_smaller_network_in_the_same_figure():
    model = trained_kan((2, 5, 1))
    Trainer(model, DATA, "lbfgs", reg={"lamb": 1e-2}, update_grid_every=None).step(10)
    diagram = NetworkDiagram(model=model, samples=SAMPLES)
    figure, curves = diagram.figure, diagram.curves
    pruned = model.prune(x=SAMPLES)
    assert pruned.width != model.width
    diagram.update(pruned)
    assert diagram.figure is figure and diagram.curves is curves
    assert len(diagram.nodes.data["x"]) == sum(pruned.width)
    assert len(diagram.curves.data["xs"]) == len(every_edge(pruned.width))
    assert diagram.figure.y_range.end == pytest.approx(len(pruned.width) - 1 + 0.35)


def test_a_snapped_edge_is_red_dashed_named_and_follows_its_formula():
    model = trained_kan()
    model.fix_symbolic(0, 1, 2, "sin", fit_params=False)
    model.layers[0].affine[1, 2] = (2.0, 0.5, 1.5, -0.3)
    diagram = NetworkDiagram(model=model, samples=SAMPLES)
    n = row_of(diagram.curves.data, (0, 1, 2))
    assert diagram.curves.data["color"][n] == RED and diagram.curves.data["dash"][n] == "dashed"
    assert diagram.links.data["color"][n] == RED and diagram.links.data["dash"][n] == "dashed"
    labels = diagram.labels.data
    assert labels["text"] == ["sin"] and (labels["l"][0], labels["i"][0], labels["j"][0]) == (0, 1, 2)
    assert labels["color"] == [RED]
    t, phi = plotted_curve(diagram, (0, 1, 2))
    np.testing.assert_allclose(phi, 1.5 * np.sin(2.0 * t + 0.5) - 0.3, atol=1e-12)
    diagram.selected = (0, 1, 2)
    assert "snapped to sin" in diagram.large.title.text
    assert diagram._large_line.glyph.line_color == RED
    assert diagram._large_line.glyph.line_dash == [6]   # Bokeh stores "dashed" as the pattern [6]
    np.testing.assert_allclose(diagram.large_curve.data["y"],
                               1.5 * np.sin(2.0 * np.asarray(diagram.large_curve.data["x"]) + 0.5) - 0.3, atol=1e-12)


def test_update_changes_the_data_in_place_after_training():
    model = trained_kan()
    diagram = NetworkDiagram(model=model, samples=SAMPLES, selected=(0, 0, 0))
    sources = [diagram.curves, diagram.links, diagram.boxes, diagram.large_curve]
    before = [np.asarray(a).copy() for a in diagram.curves.data["ys"]]
    large_before = np.asarray(diagram.large_curve.data["y"]).copy()
    Trainer(model, DATA, "lbfgs", update_grid_every=None).step(5)
    diagram.update()
    assert [diagram.curves, diagram.links, diagram.boxes, diagram.large_curve] == sources
    assert any(not np.allclose(a, np.asarray(b)) for a, b in zip(before, diagram.curves.data["ys"]))
    assert not np.allclose(large_before, diagram.large_curve.data["y"])
    for edge in every_edge(model.width):
        t, phi = plotted_curve(diagram, edge)
        np.testing.assert_allclose(phi, model.edge(*edge)(t), atol=1e-12)


def test_an_mlp_edge_carries_its_weight_as_a_number_coloured_and_sized_by_it():
    model = MLP([2, 3, 1], "tanh", seed=5)
    diagram = NetworkDiagram(model=model)
    labels, links = diagram.labels.data, diagram.links.data
    assert all(len(xs) == 0 for xs in diagram.curves.data["xs"])
    for l, i, j in every_edge(model.width):
        n = row_of(labels, (l, i, j))
        w = model.weights[l][i, j]
        assert labels["text"][n] == format_weight(w)
        assert float(labels["text"][n].replace("\u2212", "-")) == pytest.approx(w, abs=0.005)
        assert links["color"][n] == (ORANGE if w >= 0 else NEGATIVE)
    for l in range(2):
        edges = [e for e in every_edge(model.width) if e[0] == l]
        by_size = sorted(edges, key=lambda e: abs(model.weights[l][e[1], e[2]]))
        widths = [links["width"][row_of(labels, e)] for e in by_size]
        assert widths == sorted(widths) and widths[0] < widths[-1]


def test_selecting_shows_the_edge_large_curve_for_a_kan_number_for_an_mlp():
    kan = trained_kan()
    diagram = NetworkDiagram(model=kan, samples=SAMPLES, input_names=["x", "y"], output_names=["f"])
    diagram.selected = (0, 1, 2)
    t = np.asarray(diagram.large_curve.data["x"])
    np.testing.assert_allclose(diagram.large_curve.data["y"], kan.edge(0, 1, 2)(t), atol=1e-12)
    acts = kan.forward_detail(SAMPLES)["acts"][0][:, 1]
    assert (t[0], t[-1]) == pytest.approx((acts.min(), acts.max()))
    assert diagram.large.title.text == "KAN edge y \u2192 h3: its learned curve"
    assert diagram.large.xaxis[0].visible and diagram.large_text.data["text"] == []
    d, n = diagram.boxes.data, row_of(diagram.boxes.data, (0, 1, 2))
    assert diagram.highlight.data["left"] == [d["left"][n]] and diagram.highlight.data["top"] == [d["top"][n]]

    mlp = MLP([2, 3, 1], seed=1)
    numbers = NetworkDiagram(model=mlp, input_names=["x", "y"], selected=(1, 2, 0))
    assert numbers.large_text.data["text"] == [format_weight(mlp.weights[1][2, 0])]
    assert numbers.large_curve.data["x"] == [] and not numbers.large.xaxis[0].visible
    assert numbers.large.title.text == "MLP edge h3 \u2192 out: one weight"


def test_tapping_a_box_selects_its_edge_and_tapping_empty_space_keeps_the_selection():
    diagram = NetworkDiagram(model=trained_kan(), samples=SAMPLES)
    for edge in [(0, 0, 1), (1, 2, 0), (0, 1, 0)]:
        x, y = box_centre(diagram, edge)
        diagram._on_tap(Tap(diagram.figure, x=x, y=y))
        assert diagram.selected == edge
        assert diagram.picker.value == edge
    diagram._on_tap(Tap(diagram.figure, x=0.5, y=-0.3))
    assert diagram.selected == (0, 1, 0)


def test_the_picker_reaches_every_edge():
    model = trained_kan()
    diagram = NetworkDiagram(model=model, samples=SAMPLES, input_names=["x", "y"])
    assert sorted(diagram.picker.options.values()) == every_edge(model.width)
    assert "x \u2192 h1" in diagram.picker.options
    diagram.picker.value = (1, 1, 0)
    assert diagram.selected == (1, 1, 0)
    assert diagram.large.title.text.startswith("KAN edge h2 \u2192 out")


def test_bad_input_is_refused_with_a_sentence():
    diagram = NetworkDiagram(model=trained_kan(), samples=SAMPLES, selected=(0, 0, 0))
    with pytest.raises(ValueError, match="There is no edge"):
        diagram.selected = (3, 0, 0)
    assert diagram.selected is None
    with pytest.raises(ValueError, match=r"samples must be an array of shape \(N, 2\)"):
        diagram.samples = np.zeros((10, 3))
    assert diagram.samples is None and len(diagram.curves.data["xs"]) == 9
    with pytest.raises(ValueError, match="needs a model"):
        NetworkDiagram()
    with pytest.raises(ValueError):
        NetworkDiagram(model="a network")


def test_without_samples_the_diagram_uses_the_last_batch_or_the_grid():
    model = trained_kan()
    diagram = NetworkDiagram(model=model)
    np.testing.assert_array_equal(model.cache_data, DATA["train_input"])
    t, _ = plotted_curve(diagram, (0, 0, 0))
    assert (t[0], t[-1]) == pytest.approx((DATA["train_input"][:, 0].min(), DATA["train_input"][:, 0].max()))
    fresh = KAN([2, 2, 1], grid=4, grid_range=(-2.0, 3.0))
    t, _ = plotted_curve(NetworkDiagram(model=fresh), (0, 1, 0))
    assert -2.0 <= t[0] < -1.9 and 2.9 < t[-1] <= 3.0


def test_each_edge_line_runs_from_its_input_node_through_its_box_to_its_output_node():
    model = MLP([3, 4, 2])
    diagram = NetworkDiagram(model=model)
    nodes, links, boxes = diagram.nodes.data, diagram.links.data, diagram.boxes.data
    position = {}
    n = 0
    for l, size in enumerate(model.width):
        for j in range(size):
            position[(l, j)] = (nodes["x"][n], nodes["y"][n])
            n += 1
    edges = every_edge(model.width)
    assert len(links["x0"]) == 2 * len(edges)
    for row in range(len(links["x0"])):
        l, i, j = int(links["l"][row]), int(links["i"][row]), int(links["j"][row])
        b = row_of(boxes, (l, i, j))
        middle = (boxes["left"][b] + boxes["right"][b]) / 2
        start, end = (links["x0"][row], links["y0"][row]), (links["x1"][row], links["y1"][row])
        if row < len(edges):
            assert start == pytest.approx(position[(l, i)]) and end == pytest.approx((middle, boxes["bottom"][b]))
        else:
            assert start == pytest.approx((middle, boxes["top"][b])) and end == pytest.approx(position[(l + 1, j)])


@pytest.mark.parametrize("width", [(2, 3, 1), (4, 8, 4, 1), (3, 1)])
def test_boxes_in_a_row_never_overlap_and_stay_in_the_figure(width):
    _, boxes = layout(width)
    assert len(boxes) == len(every_edge(width))
    for l in range(len(width) - 1):
        row = sorted((cx - w / 2, cx + w / 2) for ll, _, _, cx, _, w, _ in boxes if ll == l)
        assert row[0][0] >= 0 and row[-1][1] <= 1
        assert all(a[1] < b[0] for a, b in zip(row, row[1:]))
