"""Snapped edges inside the KAN, the recovered formula, and the sparsify-prune-snap pipeline."""
import json
import math

import numpy as np
import pytest

from kan_core import KAN, PRESETS, SYMBOLIC_LIB, Trainer, make_dataset, parse_formula
from kan_core.bench import formula_pipeline


def snapped_model():
    """[2, 2, 1] with every edge snapped by hand: out = 2*sin(1.5*x + 0.2) ... (see asserts)."""
    model = KAN([2, 2, 1], grid=4, k=3, seed=0)
    model.cache_data = np.random.default_rng(0).uniform(-1, 1, (64, 2))
    for (l, i, j), name, params in [((0, 0, 0), "sin", (1.5, 0.2, 2.0, 0.1)), ((0, 1, 0), "x^2", (0.7, -0.1, 1.2, 0.0)),
                                    ((0, 0, 1), "x", (1.0, 0.0, -0.5, 0.3)), ((0, 1, 1), "exp", (0.4, 0.0, 0.8, -0.2)),
                                    ((1, 0, 0), "tanh", (0.9, 0.1, 1.1, 0.05)), ((1, 1, 0), "x^2", (1.0, 0.0, 0.6, 0.0))]:
        model.fix_symbolic(l, i, j, name, fit_params=False)
        model.layers[l].affine[i, j] = params
    return model


def by_hand(x, y):
    h0 = 2.0 * np.sin(1.5 * x + 0.2) + 0.1 + 1.2 * (0.7 * y - 0.1) ** 2
    h1 = -0.5 * x + 0.3 + 0.8 * np.exp(0.4 * y) - 0.2
    return 1.1 * np.tanh(0.9 * h0 + 0.1) + 0.05 + 0.6 * h1 ** 2


def test_snapped_edges_compute_their_formula():
    model = snapped_model()
    X = np.random.default_rng(1).uniform(-1, 1, (100, 2))
    np.testing.assert_allclose(model(X)[:, 0], by_hand(X[:, 0], X[:, 1]), rtol=1e-13, atol=1e-13)
    assert model.layers[0].mask.sum() == 0 and model.layers[0].symbolic_fun[1][1] == "exp"
    formula = model.symbolic_formula()
    np.testing.assert_allclose(formula(X)[:, 0], by_hand(X[:, 0], X[:, 1]), rtol=1e-12, atol=1e-12)
    # the printed text is a formula the app's own parser reads back
    reparsed = parse_formula(formula.text(digits=12))
    np.testing.assert_allclose(reparsed(X), by_hand(X[:, 0], X[:, 1]), atol=1e-9)
    assert "tanh" in formula.latex() and r"\sin" in formula.latex()


def test_gradient_through_snapped_edges_matches_finite_differences():
    model = snapped_model()
    model.unfix_symbolic(0, 1, 0)  # a mix of spline and snapped edges
    rng = np.random.default_rng(2)
    x = rng.uniform(-0.9, 0.9, (30, 2))
    y = rng.normal(size=(30, 1))
    theta = model.get_params()
    assert theta.size == KAN.count_params([2, 2, 1], 4, 3) + 4 * 5
    _, grad = model.loss_and_flat_grad(x, y, lamb=0.01)
    eps = 1e-6

    def loss_at(t):
        model.set_params(t)
        return model.loss_and_grad(x, y, lamb=0.01)[0]
    fd = np.array([(loss_at(theta + eps * e) - loss_at(theta - eps * e)) / (2 * eps) for e in np.eye(theta.size)])
    model.set_params(theta)
    assert np.abs(grad - fd).max() <= 1e-6 * np.abs(fd).max()


def test_fix_symbolic_fits_the_edge_and_unfix_restores_it():
    model = KAN([1, 1], grid=20, k=3, seed=0)
    data = make_dataset(PRESETS["sin"], n_train=500, n_test=100, seed=0)
    Trainer(model, data, "lbfgs").step(30)
    x = np.linspace(-1, 1, 50)[:, None]
    spline_out = model(x)
    ranked = model.suggest_symbolic(0, 0, 0, x=data["train_input"])
    assert ranked[0].name in ("sin", "cos") and ranked[0].r2 > 0.9999
    r2 = model.fix_symbolic(0, 0, 0, "sin", x=data["train_input"])
    assert r2 > 0.9999
    a, b, c, d = model.layers[0].affine[0, 0]
    assert abs(a) == pytest.approx(math.pi, abs=1e-2)
    np.testing.assert_allclose(model(x), c * np.sin(a * x + b) + d, atol=1e-14)
    model.unfix_symbolic(0, 0, 0)
    np.testing.assert_array_equal(model(x), spline_out)


def test_model_file_keeps_snapped_edges():
    model = snapped_model()
    back = KAN.from_dict(json.loads(json.dumps(model.to_dict())))
    X = np.random.default_rng(3).uniform(-1, 1, (20, 2))
    np.testing.assert_array_equal(back(X), model(X))
    d = model.to_dict()
    d["layers"][0]["symbolic_fun"][0][0] = "__import__"
    with pytest.raises(ValueError, match="unknown symbolic"):
        KAN.from_dict(d)


def test_formula_needs_every_live_edge_snapped_and_bad_edges_are_named():
    model = KAN([2, 2, 1])
    with pytest.raises(ValueError, match="still a spline"):
        model.symbolic_formula()
    with pytest.raises(ValueError, match="no edge"):
        model.fix_symbolic(0, 5, 0, "sin", fit_params=False)
    with pytest.raises(ValueError, match="Unknown symbolic function"):
        model.fix_symbolic(0, 0, 0, "os.system", fit_params=False)


def test_pruned_edges_leave_the_formula():
    model = snapped_model()
    model.layers[1].symbolic_mask[1, 0] = 0.0
    model.layers[1].mask[1, 0] = 0.0
    formula = model.symbolic_formula()
    assert "exp" not in formula.text()  # only the cut edge used the second hidden node
    X = np.random.default_rng(4).uniform(-1, 1, (30, 2))
    np.testing.assert_allclose(formula(X), model(X), atol=1e-13)


def find(summ, name):
    """The (coef, inner Sum) of the term applying library function `name` in a Sum."""
    hits = [(c, atom[2]) for c, atom in summ.terms if atom[0] == "fun" and atom[1] == name]
    assert len(hits) == 1, summ
    return hits[0]


@pytest.mark.slow
def test_pipeline_recovers_exp_sin_formula():
    data = make_dataset(PRESETS["exp_sin"], n_train=1000, n_test=1000, seed=0)
    trainer = Trainer(KAN([2, 5, 1], grid=5, k=3, seed=1), data, "lbfgs", reg={"lamb": 1e-2})
    trainer.step(100)
    model = trainer.model.prune(x=data["train_input"])
    assert model.width == [2, 1, 1]
    Trainer(model, data, "lbfgs").step(50)
    snapped = model.auto_symbolic(lib=["x", "x^2", "exp", "sin"], x=data["train_input"])
    assert sorted(name for *_, name, _ in snapped) == ["exp", "sin", "x^2"]
    Trainer(model, data, "lbfgs", update_grid_every=None).step(50)
    formula = model.symbolic_formula()
    rmse = np.sqrt(np.mean((formula(data["test_input"]) - data["test_label"]) ** 2))
    assert rmse < 1e-4
    # exp(sin(pi x) + y^2) up to constants within 1e-3
    (out,) = formula.outputs
    assert abs(out.const) < 1e-3
    c_exp, inner = find(out, "exp")
    assert c_exp == pytest.approx(1.0, abs=1e-3) and abs(inner.const) < 1e-3
    c_sin, arg = find(inner, "sin")
    (a_sin, var_x), = arg.terms
    assert var_x == ("var", 0)
    assert c_sin == pytest.approx(1.0, abs=1e-3) and a_sin == pytest.approx(math.pi, abs=1e-3)
    assert abs(math.remainder(arg.const, 2 * math.pi)) < 1e-3
    c_sq, arg = find(inner, "x^2")
    assert arg.terms == ((1.0, ("var", 1)),) and abs(arg.const) < 1e-3
    assert c_sq == pytest.approx(1.0, abs=1e-3)
    assert formula.text(3) == "exp(sin(3.142*x) + y**2)"


@pytest.mark.slow
def test_pipeline_recovers_product():
    data = make_dataset(PRESETS["product"], n_train=1000, n_test=1000, seed=0)
    model = KAN([2, 2, 1], grid=5, k=3, seed=0)
    Trainer(model, data, "lbfgs").step(50)
    model.auto_symbolic(lib=["x", "x^2"], x=data["train_input"])
    assert all(name == "x^2" for name in np.array(model.layers[1].symbolic_fun).ravel())
    Trainer(model, data, "lbfgs", update_grid_every=None).step(50)
    formula = model.symbolic_formula().pruned(1e-6)
    rmse = np.sqrt(np.mean((formula(data["test_input"]) - data["test_label"]) ** 2))
    assert rmse < 1e-4
    # two squares of linear forms, e.g. ((x+y)^2 - (x-y)^2)/4
    (out,) = formula.outputs
    assert [atom[1] for _, atom in out.terms] == ["x^2", "x^2"]
    X = data["test_input"]
    np.testing.assert_allclose(parse_formula(formula.text(10))(X), X[:, 0] * X[:, 1], atol=1e-4)


def test_bench_pipeline_helper_reports_formula():
    data = make_dataset(PRESETS["exp_sin"], n_train=1000, n_test=1000, seed=0)
    text, rmse = formula_pipeline(data)
    assert "exp" in text and "sin" in text and rmse < 1e-4
    assert set(SYMBOLIC_LIB) >= {"x", "x^2", "exp", "sin"}


def test_edge_callable_follows_a_snapped_edge():
    model = snapped_model()
    t = np.linspace(-1, 1, 9)
    np.testing.assert_allclose(model.edge(0, 0, 0)(t), 2.0 * np.sin(1.5 * t + 0.2) + 0.1, atol=1e-14)
