"""The hero explorable without a browser: the stored models, what they learned, and the view's state."""

import json

import numpy as np
import pytest
from bokeh.events import Tap

import widgets.hero as hero_module
from kan_core import KAN, MLP
from widgets.hero import (ASSET, COMMAND, WIDTH, Hero, hero_data, load_models, models_for_session, rmse,
                          train_models)
from widgets.network_diagram import format_weight

DATA = hero_data()
X, Y = DATA["test_input"][:, 0], DATA["test_input"][:, 1]


@pytest.fixture(scope="module")
def stored():
    return load_models()


@pytest.fixture
def hero(stored):
    return Hero(models=stored)


def busy_node(kan):
    """The hidden node that carries the signal (highest importance score)."""
    nodes, _ = kan.attribute(DATA["test_input"])
    return int(np.argmax(nodes[1]))


def correlation(a, b):
    return abs(float(np.corrcoef(a, b)[0, 1]))


def test_the_stored_file_holds_two_valid_models_that_fit_the_target(stored):
    mlp, kan = stored
    assert isinstance(mlp, MLP) and isinstance(kan, KAN)
    assert mlp.width == WIDTH and kan.width == WIDTH
    raw = json.loads(ASSET.read_text())
    assert raw["command"] == COMMAND
    assert rmse(kan, DATA) < 0.02
    assert raw["test_rmse"]["kan"] == pytest.approx(rmse(kan, DATA), rel=1e-12)
    assert raw["test_rmse"]["mlp"] == pytest.approx(rmse(mlp, DATA), rel=1e-12)
    spread = float(DATA["test_label"].std())
    assert rmse(mlp, DATA) < spread   # the MLP learned something, just much less precisely


@pytest.mark.slow
def test_the_training_script_remakes_the_stored_models(stored):
    mlp, kan = train_models()
    old_mlp, old_kan = stored
    x = DATA["test_input"]
    np.testing.assert_allclose(kan(x), old_kan(x), atol=1e-6,
                               err_msg=f"the stored KAN is stale: remake it with `{COMMAND}`")
    np.testing.assert_allclose(mlp(x), old_mlp(x), atol=1e-6,
                               err_msg=f"the stored MLP is stale: remake it with `{COMMAND}`")


def test_the_kan_learned_a_sine_a_parabola_and_an_exponential_on_one_hidden_node(stored):
    _, kan = stored
    h = busy_node(kan)
    detail = kan.forward_detail(DATA["test_input"])
    from_x = detail["edges"][0][:, h, 0]
    from_y = detail["edges"][0][:, h, 1]
    to_f = detail["edges"][1][:, 0, h]
    assert correlation(from_x, np.sin(np.pi * X)) > 0.999
    assert correlation(from_y, Y ** 2) > 0.999
    assert correlation(to_f, np.exp(np.sin(np.pi * X) + Y ** 2)) > 0.999
    _, scores = kan.attribute(DATA["test_input"])
    others = [scores[0][i, j] for i in range(2) for j in range(3) if j != h] + \
             [scores[1][j, 0] for j in range(3) if j != h]
    assert max(others) < 0.05


def test_by_default_both_networks_show_and_the_kan_sine_edge_is_large(hero, stored):
    _, kan = stored
    h = busy_node(kan)
    assert hero.view == "both" and hero.mlp_column.visible and hero.kan_column.visible
    assert hero.kan_edge == (0, 0, h) and hero.kan_diagram.selected == (0, 0, h)
    assert "sine wave" in hero.kan_caption()
    assert r"\sin" in hero.kan_formula()
    t = np.asarray(hero.kan_diagram.large_curve.data["x"])
    phi = np.asarray(hero.kan_diagram.large_curve.data["y"])
    assert correlation(phi, np.sin(np.pi * t)) > 0.999
    assert hero.kan_diagram.large.title.text == f"KAN edge x \u2192 h{h + 1}: its learned curve"


def test_the_mlp_edge_is_shown_as_its_lone_number(hero, stored):
    mlp, _ = stored
    l, i, j = hero.mlp_edge
    weight = mlp.weights[l][i, j]
    assert hero.mlp_diagram.large_text.data["text"] == [format_weight(weight)]
    assert format_weight(weight) in hero.mlp_caption()
    hero.mlp_edge = (1, 2, 0)
    assert hero.mlp_diagram.large_text.data["text"] == [format_weight(mlp.weights[1][2, 0])]
    assert hero.mlp_diagram.large.title.text == "MLP edge h3 \u2192 f: one weight"


@pytest.mark.parametrize("view, mlp_shown, kan_shown", [("MLP", True, False), ("KAN", False, True),
                                                         ("both", True, True)])
def test_the_toggle_shows_one_network_or_both(hero, view, mlp_shown, kan_shown):
    hero.toggle.value = view
    assert hero.view == view
    assert (hero.mlp_column.visible, hero.kan_column.visible) == (mlp_shown, kan_shown)


def test_tapping_a_kan_box_shows_and_names_that_edge(hero, stored):
    _, kan = stored
    h = busy_node(kan)
    boxes = hero.kan_diagram.boxes.data
    n = boxes["edge"].index(f"y \u2192 h{h + 1}")
    x, y = (boxes["left"][n] + boxes["right"][n]) / 2, (boxes["bottom"][n] + boxes["top"][n]) / 2
    hero.kan_diagram._on_tap(Tap(hero.kan_diagram.figure, x=x, y=y))
    assert hero.kan_edge == (0, 1, h)
    assert "parabola" in hero.kan_caption()
    assert "^{2}" in hero.kan_formula()
    t = np.asarray(hero.kan_diagram.large_curve.data["x"])
    np.testing.assert_allclose(hero.kan_diagram.large_curve.data["y"], kan.edge(0, 1, h)(t), atol=1e-12)


def test_the_output_edge_is_named_an_exponential_and_an_idle_edge_is_called_unimportant(hero, stored):
    _, kan = stored
    h = busy_node(kan)
    hero.kan_edge = (1, h, 0)
    assert "exponential" in hero.kan_caption() and "e^{" in hero.kan_formula()
    assert hero.kan_formula().startswith(rf"$\varphi(h_{{{h + 1}}}) \approx")
    hero.kan_edge = (0, 0, (h + 1) % 3)
    assert "hardly matters" in hero.kan_caption() and hero.kan_formula() == ""


def test_reset_brings_back_the_opening_state(hero):
    opening = (hero.view, hero.kan_edge, hero.mlp_edge)
    hero.param.update(view="MLP", kan_edge=(1, 0, 0), mlp_edge=(0, 1, 1))
    assert hero.kan_diagram.selected == (1, 0, 0)
    hero.reset_button.clicks += 1
    assert (hero.view, hero.kan_edge, hero.mlp_edge) == opening
    assert hero.kan_diagram.selected == opening[1] and hero.mlp_diagram.selected == opening[2]


@pytest.mark.parametrize("content, complaint", [
    ("not json at all", "Cannot read"),
    (json.dumps({"target": "sin"}), "does not hold the hero models"),
    (json.dumps({"target": "exp_sin", "mlp": MLP([2, 4, 1]).to_dict(), "kan": KAN([2, 4, 1]).to_dict()}),
     "must both have width"),
    (json.dumps({"target": "exp_sin", "mlp": {"kind": "mlp"}, "kan": KAN([2, 3, 1]).to_dict()}), "missing"),
])
def test_a_broken_model_file_is_refused_with_a_sentence(tmp_path, content, complaint):
    path = tmp_path / "hero_models.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=complaint):
        load_models(path)


def test_without_a_usable_file_the_session_trains_its_own_models(tmp_path, monkeypatch):
    fresh = (MLP(WIDTH), KAN(WIDTH))
    monkeypatch.setattr(hero_module, "train_models", lambda: fresh)
    assert models_for_session(tmp_path / "missing.json") is fresh
