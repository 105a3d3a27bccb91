"""The KAN against an independent numpy implementation, finite differences and its invariants."""
import copy
import json
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kan_core.kan import KAN, _flat_parts


def ref_basis(x, t, k):
    """Vectorised Cox-de Boor written from the textbook recursion: x (N,), t (M,) -> (N, M-k-1)."""
    x = x[:, None]
    B = ((x >= t[None, :-1]) & (x < t[None, 1:])).astype(float)
    for p in range(1, k + 1):
        left = (x - t[None, :-(p + 1)]) / (t[None, p:-1] - t[None, :-(p + 1)]) * B[:, :-1]
        right = (t[None, p + 1:] - x) / (t[None, p + 1:] - t[None, 1:-p]) * B[:, 1:]
        B = left + right
    return B


def ref_forward(model, x):
    h = x
    for layer in model.layers:
        n_in, n_out = layer.coef.shape[:2]
        out = np.zeros((h.shape[0], n_out))
        for i in range(n_in):
            B = ref_basis(h[:, i], layer.grid[i], layer.k)
            with np.errstate(over="ignore"):  # exp(-x) overflows far left, where silu is -0
                silu = h[:, i] / (1 + np.exp(-h[:, i]))
            base = {"silu": silu, "identity": h[:, i], "zero": 0 * h[:, i]}[layer.base]
            for j in range(n_out):
                out[:, j] += layer.mask[i, j] * (layer.scale_base[i, j] * base
                                                 + layer.scale_sp[i, j] * B @ layer.coef[i, j])
        h = out
    return h


def randomised(model, seed):
    """Give every parameter a random value of order one so no term hides behind a tiny one."""
    rng = np.random.default_rng(seed)
    model.set_params(rng.normal(size=model.n_params))
    return model


@settings(max_examples=25, deadline=None)
@given(width=st.lists(st.integers(1, 4), min_size=2, max_size=4), G=st.integers(1, 12),
       k=st.integers(0, 5), seed=st.integers(0, 1000), base=st.sampled_from(["silu", "identity", "zero"]))
def test_forward_equals_reference(width, G, k, seed, base):
    model = randomised(KAN(width, grid=G, k=k, seed=seed, base=base), seed)
    x = np.random.default_rng(seed + 1).uniform(-1.5, 1.5, (64, width[0]))
    np.testing.assert_allclose(model(x), ref_forward(model, x), rtol=1e-12, atol=1e-12)


def test_forward_equals_reference_on_moved_grids_and_masks():
    rng = np.random.default_rng(3)
    model = randomised(KAN([3, 4, 2], grid=6, k=3), 3)
    x = rng.uniform(-1, 1, (300, 3))
    model.update_grid(x)
    model.layers[0].mask[1, 2] = 0.0
    np.testing.assert_allclose(model(x), ref_forward(model, x), rtol=1e-12, atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(width=st.lists(st.integers(1, 3), min_size=2, max_size=4), G=st.integers(1, 8),
       k=st.integers(1, 4), seed=st.integers(0, 1000))
def test_gradient_equals_finite_differences(width, G, k, seed):
    rng = np.random.default_rng(seed)
    model = KAN(width, grid=G, k=k, seed=seed)
    theta = model.get_params() + rng.normal(scale=0.3, size=model.n_params)
    model.set_params(theta)
    x = rng.uniform(-0.95, 0.95, (20, width[0]))
    y = rng.normal(size=(20, width[-1]))
    _, grad = model.loss_and_flat_grad(x, y)
    eps = 1e-6

    def loss_at(t):
        model.set_params(t)
        return model.loss_and_grad(x, y)[0]
    fd = np.array([(loss_at(theta + eps * e) - loss_at(theta - eps * e)) / (2 * eps)
                   for e in np.eye(theta.size)])
    model.set_params(theta)
    scale = max(np.abs(fd).max(), 1e-8)
    assert np.abs(grad - fd).max() <= 1e-6 * scale


def test_gradient_blocks_match_flat_layout():
    model = KAN([2, 3, 1], grid=4, k=2, seed=1)
    x = np.random.default_rng(0).uniform(-1, 1, (30, 2))
    y = np.sin(x[:, :1])
    loss, grads = model.loss_and_grad(x, y)
    loss2, flat = model.loss_and_flat_grad(x, y)
    assert loss == loss2
    assert [g["coef"].shape for g in grads] == [layer.coef.shape for layer in model.layers]
    np.testing.assert_array_equal(flat, np.concatenate(
        [g[n].ravel() for g in grads for n in ("coef", "scale_base", "scale_sp")]))


def test_pruned_edge_gets_no_gradient_and_no_output():
    model = randomised(KAN([2, 2], grid=3, k=3), 0)
    model.layers[0].mask[0, 1] = 0.0
    x = np.random.default_rng(1).uniform(-1, 1, (50, 2))
    _, grads = model.loss_and_grad(x, np.zeros((50, 2)))
    assert np.all(grads[0]["coef"][0, 1] == 0) and grads[0]["scale_base"][0, 1] == 0
    assert np.all(model.forward_detail(x)["edges"][0][:, 1, 0] == 0)


def test_layout_and_initialisation_follow_pykan():
    model = KAN([3, 4, 2], grid=5, k=3, seed=0)
    layer = model.layers[0]
    assert layer.grid.shape == (3, 5 + 2 * 3 + 1)
    assert layer.coef.shape == (3, 4, 5 + 3)
    assert layer.scale_base.shape == layer.scale_sp.shape == layer.mask.shape == (3, 4)
    assert all(a.dtype == np.float64 for a in (layer.grid, layer.coef, layer.scale_base))
    np.testing.assert_allclose(layer.grid[0, 3:9], np.linspace(-1, 1, 6), atol=1e-15)
    np.testing.assert_allclose(layer.scale_sp, 1 / np.sqrt(3))
    assert np.all(np.abs(layer.scale_base) <= 1 / np.sqrt(3))
    assert np.abs(layer.coef).max() < 0.3  # a small-noise spline
    assert model.n_params == 3 * 4 * 10 + 4 * 2 * 10 == KAN.count_params([3, 4, 2], 5, 3)
    # same seed, same model; other seed, other model
    np.testing.assert_array_equal(KAN([3, 4, 2], seed=0).get_params(), model.get_params())
    assert not np.array_equal(KAN([3, 4, 2], seed=1).get_params(), model.get_params())


def test_arrays_are_writable_in_place():
    model = KAN([1, 1], grid=4, k=3, base="zero")
    model.layers[0].coef[0, 0, :] = 0.0
    model.layers[0].coef[0, 0, 3] = 1.0
    x = np.linspace(-1, 1, 21)[:, None]
    expected = model.layers[0].scale_sp[0, 0] * ref_basis(x[:, 0], model.layers[0].grid[0], 3)[:, 3]
    np.testing.assert_allclose(model(x)[:, 0], expected, atol=1e-14)


def test_forward_detail_edges_sum_to_nodes_and_edge_callable_matches():
    model = randomised(KAN([3, 2, 1], grid=5, k=3), 4)
    x = np.random.default_rng(2).uniform(-1, 1, (40, 3))
    detail = model.forward_detail(x)
    for l in range(2):
        np.testing.assert_allclose(detail["edges"][l].sum(axis=2), detail["acts"][l + 1], atol=1e-13)
    phi = model.edge(0, 2, 1)
    np.testing.assert_allclose(phi(x[:, 2]), detail["edges"][0][:, 1, 2], atol=1e-14)
    np.testing.assert_allclose(detail["output"], model(x))


def test_refine_keeps_the_function_of_a_trained_model():
    from kan_core.data import PRESETS, make_dataset
    from kan_core.trainer import Trainer
    data = make_dataset(PRESETS["exp_sin"], n_train=500, n_test=200, seed=0)
    trainer = Trainer(KAN([2, 5, 1], grid=5, k=3, seed=0), data, "lbfgs")
    trainer.step(30)
    old = trainer.model
    new = old.refine(20, data["train_input"])
    assert new.G == 20 and new.layers[1].coef.shape == (5, 1, 23)
    sweep = np.stack(np.meshgrid(np.linspace(-1, 1, 60), np.linspace(-1, 1, 60)), -1).reshape(-1, 2)
    y_old = old(sweep)
    scale = np.abs(y_old).max()
    assert np.abs(new(sweep) - y_old).max() < 1e-3 * scale
    assert old.G == 5  # the original is untouched


def test_refine_non_multiple_grid_stays_close():
    model = randomised(KAN([1, 1], grid=3, k=3), 5)
    new = model.refine(7)
    x = np.linspace(-1, 1, 400)[:, None]
    assert np.abs(new(x) - model(x)).max() < 0.05 * np.abs(model(x)).max()


def test_update_grid_follows_data_and_keeps_function():
    rng = np.random.default_rng(0)
    model = KAN([1, 3, 1], grid=10, k=3)
    for layer in model.layers:  # smooth edge curves, as training makes them
        centres = np.linspace(-1, 1, layer.coef.shape[2])
        layer.coef[:] = np.sin(2 * centres + rng.normal(size=layer.coef.shape[:2] + (1,)))
    x = rng.uniform(-0.5, 0.5, (2000, 1))
    before = model(x)
    model.update_grid(x)
    g = model.layers[0].grid[0]
    assert g[3] == pytest.approx(x.min()) and g[13] == pytest.approx(x.max())
    assert np.abs(model(x) - before).max() < 1e-2 * np.abs(before).max()


def test_copy_is_independent():
    model = KAN([2, 2, 1], seed=0)
    twin = model.copy()
    twin.layers[0].coef += 1.0
    twin.width.append(9)
    assert not np.array_equal(model.layers[0].coef, twin.layers[0].coef)
    assert model.width == [2, 2, 1]


def test_dict_round_trip_through_json():
    model = randomised(KAN([2, 3, 1], grid=4, k=2, seed=0), 7)
    model.update_grid(np.random.default_rng(0).uniform(-1, 1, (100, 2)))
    back = KAN.from_dict(json.loads(json.dumps(model.to_dict())))
    x = np.random.default_rng(1).uniform(-1, 1, (20, 2))
    np.testing.assert_array_equal(back(x), model(x))


@pytest.mark.parametrize("mutate,match", [
    (lambda d: d.update(kind="mlp"), "not a KAN"),
    (lambda d: d.pop("width"), "missing"),
    (lambda d: d["layers"][0]["coef"][0][0].__setitem__(0, float("nan")), "NaN or infinite"),
    (lambda d: d["layers"][0].__setitem__("scale_sp", [[1.0]]), "shape"),
    (lambda d: d["layers"].pop(), "needs 2 layers"),
    (lambda d: d.update(k=-1), "spline order"),
    (lambda d: d["layers"][1]["grid"][0].reverse(), "increase"),
    (lambda d: d["layers"][0].__setitem__("mask", "abc"), "numbers|shape"),
])
def test_from_dict_rejects_bad_files(mutate, match):
    d = json.loads(json.dumps(KAN([2, 3, 1], grid=3).to_dict()))
    mutate(d)
    with pytest.raises(ValueError, match=match):
        KAN.from_dict(d)


@pytest.mark.parametrize("kwargs,match", [
    ({"width": [2, 0, 1]}, "whole number"), ({"width": [3]}, "at least two"),
    ({"width": [2, 1], "grid": 0}, "grid size"), ({"width": [2, 1], "k": -1}, "spline order"),
    ({"width": [2, 1], "base": "relu"}, "base"), ({"width": [2, 1], "grid_range": (1, 1)}, "low < high"),
    ({"width": "abc"}, "whole number"),
])
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        KAN(**kwargs)


def test_bad_inputs_raise_clear_errors():
    model = KAN([2, 1])
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        model(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        model(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="Targets y"):
        model.loss_and_grad(np.zeros((4, 2)), np.zeros((5, 1)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.loss_and_grad(np.zeros((4, 2)), np.full((4, 1), np.inf))
    with pytest.raises(ValueError, match="length"):
        model.set_params(np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        model.set_params(np.full(model.n_params, np.nan))


def test_chunked_loss_and_grad_equal_one_pass(monkeypatch):
    import kan_core.kan as kan_module
    model = randomised(KAN([2, 3, 1], grid=4, k=3), 8)
    x = np.random.default_rng(4).uniform(-1, 1, (250, 2))
    y = np.cos(x[:, :1])
    whole = model.loss_and_flat_grad(x, y)
    monkeypatch.setattr(kan_module, "CHUNK", 7)
    chunked = model.loss_and_flat_grad(x, y)
    assert chunked[0] == pytest.approx(whole[0], rel=1e-13)
    np.testing.assert_allclose(chunked[1], whole[1], rtol=1e-11, atol=1e-15)


def test_sparsity_penalty_matches_its_definition_and_finite_differences():
    from kan_core.kan import sparsity_penalty
    model = randomised(KAN([2, 3, 1], grid=4, k=3), 9)
    x = np.random.default_rng(5).uniform(-1, 1, (40, 2))
    y = np.sin(x[:, :1])
    edges = model.forward_detail(x)["edges"]
    expected = 0.0
    for E in edges:
        a = np.abs(E).mean(axis=0)
        p = a / a.sum()
        expected += 0.7 * a.sum() + 1.3 * -(p * np.log(p)).sum()
    assert sparsity_penalty(edges, 0.7, 1.3)[0] == pytest.approx(expected, rel=1e-12)
    reg = {"lamb": 0.05, "lamb_l1": 0.7, "lamb_entropy": 1.3}
    loss, grad = model.loss_and_flat_grad(x, y, **reg)
    mse = np.mean((model(x) - y) ** 2)
    assert loss == pytest.approx(mse + 0.05 * expected, rel=1e-12)
    theta = model.get_params()
    eps = 1e-6

    def loss_at(t):
        model.set_params(t)
        return model.loss_and_grad(x, y, **reg)[0]
    fd = np.array([(loss_at(theta + eps * e) - loss_at(theta - eps * e)) / (2 * eps) for e in np.eye(theta.size)])
    model.set_params(theta)
    assert np.abs(grad - fd).max() <= 1e-6 * np.abs(fd).max()


def test_attribution_shares_scores_by_edge_size():
    model = KAN([2, 2, 1], grid=3, k=3, base="zero")
    for layer in model.layers:
        layer.coef[:] = 1.0  # every edge outputs scale_sp inside the grid range
    model.layers[1].scale_sp[:] = [[3.0], [1.0]]
    model.layers[0].scale_sp[:] = [[1.0, 2.0], [1.0, 0.0]]
    x = np.random.default_rng(0).uniform(-1, 1, (50, 2))
    nodes, edges = model.attribute(x)
    np.testing.assert_allclose(edges[1][:, 0], [0.75, 0.25])
    np.testing.assert_allclose(nodes[1], [0.75, 0.25])
    np.testing.assert_allclose(edges[0], [[0.375, 0.25], [0.375, 0.0]])
    np.testing.assert_allclose(nodes[0], [0.625, 0.375])


def test_prune_removes_dead_hidden_nodes_and_weak_edges():
    rng = np.random.default_rng(1)
    model = randomised(KAN([2, 4, 1], grid=3, k=3), 10)
    model.layers[1].mask[[1, 3], 0] = 0.0   # hidden nodes 1 and 3 reach nothing
    model.layers[0].scale_base[1, 0] = 0.0  # make edge (x1 -> h0) tiny
    model.layers[0].coef[1, 0] *= 1e-4
    model.layers[0].scale_sp[1, 0] = 1e-3
    x = rng.uniform(-1, 1, (200, 2))
    small = model.prune(x=x)
    assert small.width == [2, 2, 1]
    assert small.layers[0].coef.shape == (2, 2, 6) and small.layers[1].coef.shape == (2, 1, 6)
    assert small.layers[0].mask[1, 0] == 0.0 and small.layers[0].mask.sum() == 3
    # the kept part computes what it computed before, bar the masked tiny edge
    np.testing.assert_allclose(small(x), model(x), atol=5e-3)
    with pytest.raises(ValueError, match="Pass the inputs"):
        KAN([2, 2, 1]).prune()


# -- the kernels' own arithmetic -----------------------------------------------------------------

def ulps(got, ref):
    """|got - ref| in units of the last place of ref, ref in long double."""
    step = np.spacing(np.abs(ref.astype(np.float64))).astype(np.longdouble)
    return np.abs((got.astype(np.longdouble) - ref) / step).astype(np.float64)


def test_vectorised_silu_is_within_four_ulp_its_derivative_close_and_both_finite_far_out():
    from kan_core.kernels import silu_column
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-700, 700, 20000), rng.uniform(-5, 5, 20000), rng.uniform(-1e-3, 1e-3, 2000),
                        [0.0, -0.0, 1e-300, -700.0, 700.0, np.log(2) / 2, -np.log(2) / 2]])
    silu, dsilu = np.empty_like(x), np.empty_like(x)
    silu_column(x, silu, dsilu, True)
    xl = x.astype(np.longdouble)  # the reference in extended precision
    with np.errstate(over="ignore"):
        sig = 1 / (1 + np.exp(-xl))
    ref, dref = xl * sig, sig * (1 + xl * (1 - sig))
    normal = np.abs(ref) > 1e-290
    assert ulps(silu, ref)[normal].max() <= 4.0
    # the derivative sig * (1 + x (1 - sig)) cancels near its zero (x about -1.28) and, for large
    # x, multiplies the rounding of 1 - sig by x: close in absolute terms (sig rounded correctly
    # would give 2e-15 at worst), and in relative terms in the left tail, where it is tiny
    assert np.abs(dsilu - dref.astype(np.float64)).max() < 1e-14
    assert ulps(dsilu, dref)[normal & (x < -4)].max() <= 8.0
    # without the derivative the values are the same numbers
    alone = np.empty_like(x)
    silu_column(x, alone, np.empty_like(x), False)
    np.testing.assert_array_equal(alone, silu)
    far = np.array([-1e6, -800.0, 800.0, 1e6])
    out, dout = np.empty_like(far), np.empty_like(far)
    silu_column(far, out, dout, True)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dout))
    assert out[2] == 800.0 and out[3] == 1e6 and dout[3] == 1.0 and -1e-290 < out[0] <= 0.0


@pytest.mark.parametrize("G", [1, 3, 7, 48])
def test_cubic_layer_matches_the_reference_on_knots_at_the_ends_and_outside(G):
    model = randomised(KAN([1, 2], grid=G, k=3, seed=G), G)
    t = model.layers[0].grid[0]
    x = np.concatenate([t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf), [t[0] - 1.0, t[-1] + 1.0, 1e6, -1e6]])
    np.testing.assert_allclose(model(x[:, None]), ref_forward(model, x[:, None]), rtol=1e-12, atol=1e-12)


def test_kernel_helpers_all_finite_and_dot():
    from kan_core.kernels import all_finite, dot
    a = np.arange(11.0)
    assert all_finite(a) and all_finite(a.reshape(11, 1))
    for bad in (np.nan, np.inf, -np.inf):
        b = a.copy()
        b[7] = bad
        assert not all_finite(b)
        assert not all_finite(b[1::2]) and all_finite(b[::2])   # strided views
        assert not all_finite(np.stack([a, b]).T) and all_finite(np.stack([a, a]).T)
    for n in range(9):
        u, v = np.random.default_rng(n).normal(size=(2, n))
        assert dot(u, v) == pytest.approx(float(u @ v), rel=1e-14, abs=1e-14)


@pytest.mark.parametrize("width, G, k, chunk", [([2, 5, 1], 5, 3, 1024), ([3, 2, 2], 7, 2, 64),
                                               ([1, 1], 20, 3, 1024), ([2, 3, 3, 1], 4, 3, 37)])
def test_the_one_call_training_pass_gives_the_layer_by_layer_numbers_bit_for_bit(monkeypatch, width, G, k, chunk):
    """kernels.network_loss_grad (the training hot path) against the Python loop over the layers'
    own kernels, on a model with a pruned edge, a snapped edge and knots moved by update_grid,
    in one piece and in chunks with a short last chunk."""
    import kan_core.kan as kan_module
    monkeypatch.setattr(kan_module, "CHUNK", chunk)
    rng = np.random.default_rng(5)
    model = randomised(KAN(width, grid=G, k=k, seed=2), 3)
    x = rng.uniform(-1, 1, (300, width[0]))
    y = rng.normal(size=(300, width[-1]))
    model.update_grid(x)
    model.layers[0].mask[0, -1] = 0.0
    if width[0] > 1:
        model.fix_symbolic(0, 1, 0, "sin", x=x)
    loss, flat = model.loss_and_flat_grad(x, y)
    loss_ref, grads = model._loss_and_grad_layers(x, y)
    assert loss == loss_ref
    np.testing.assert_array_equal(flat, np.concatenate(
        [part for layer, g in zip(model.layers, grads) for part in _flat_parts(layer, g)]))
    split = model.loss_and_grad(x, y)[1]
    for got, want in zip(split, grads):
        for name in kan_module.GRAD_NAMES:
            np.testing.assert_array_equal(got[name], want[name])


def test_layer_arrays_of_another_dtype_or_read_only_still_train_in_one_call():
    model = randomised(KAN([2, 3, 1], grid=4, k=3), 6)
    x = np.random.default_rng(2).uniform(-1, 1, (64, 2))
    y = np.sin(x[:, :1])
    want = model.loss_and_flat_grad(x, y)
    model.layers[1].symbolic_codes = model.layers[1].symbolic_codes.astype(np.int32)
    model.layers[0].coef.setflags(write=False)
    model.layers[1].scale_sp = np.asfortranarray(model.layers[1].scale_sp)
    got = model.loss_and_flat_grad(x, y)
    assert got[0] == want[0]
    np.testing.assert_array_equal(got[1], want[1])


def test_the_compiled_pass_sees_every_change_to_the_layers_arrays():
    """The compiled pass reuses read-only views of the layers' arrays between calls; a change made
    in place, an array replaced, a flag flipped, a copied model and an array of another dtype must
    each give the numbers the layer-by-layer path gives for the model as it is now."""
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, (50, 2))
    y = rng.normal(size=(50, 1))
    model = randomised(KAN([2, 3, 1], grid=4, k=3), 8)

    def check(m):
        loss, flat = m.loss_and_flat_grad(x, y)
        loss_ref, grads = m._loss_and_grad_layers(x, y)
        assert loss == loss_ref
        np.testing.assert_array_equal(flat, np.concatenate(
            [part for layer, g in zip(m.layers, grads) for part in _flat_parts(layer, g)]))
        return loss

    first = check(model)
    assert check(model) == first
    assert model._kernel_tuples() is model._kernel_tuples()   # reused while nothing is replaced
    model.layers[0].coef[1, 2, 3] += 0.5                      # in place
    second = check(model)
    assert second != first
    model.layers[1].scale_sp = model.layers[1].scale_sp * 2   # replaced
    third = check(model)
    assert third != second
    model.layers[0].mask[0, 1] = 0.0                          # in place, the mask
    assert check(model) != third
    model.layers[0].coef.setflags(write=False)                # a flag flipped on a shared array
    fourth = check(model)
    twin = model.copy()
    twin.layers[1].coef[0, 0, :] = 1.0                        # the copy changes, the model does not
    assert check(twin) != fourth and check(model) == fourth
    model.layers[1].symbolic_codes = model.layers[1].symbolic_codes.astype(np.int32)  # copied each call
    model.layers[1].scale_base[2, 0] = 3.0
    assert check(model) != fourth
    model.fix_symbolic(0, 1, 0, "sin", x=x)                     # a snapped edge
    check(model)
    # copies made by deepcopy and pickle, of a model whose views are cached, hold their own arrays
    model = randomised(KAN([2, 3, 1], grid=4, k=3), 9)
    first = check(model)
    assert model._kernel_tuples() is model._kernel_tuples()
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert check(clone) == first
        clone.layers[0].coef[0, 0, :] += 0.25                   # in place, in the clone only
        assert check(clone) != first and check(model) == first


def test_a_model_deeper_than_the_compiled_depths_trains_layer_by_layer(monkeypatch):
    import kan_core.kan as kan_module

    def compiled(*args):
        raise AssertionError("a model deeper than FUSED_DEPTHS must not use the compiled pass")
    monkeypatch.setattr(kan_module, "network_loss_grad", compiled)
    width = [1] * (max(kan_module.FUSED_DEPTHS) + 2)
    model = KAN(width, grid=3, seed=0)
    x = np.linspace(-1, 1, 40)[:, None]
    loss, flat = model.loss_and_flat_grad(x, x ** 2)
    loss_ref, grads = model._loss_and_grad_layers(x, x ** 2)
    assert loss == loss_ref and flat.shape == (model.n_params,)
