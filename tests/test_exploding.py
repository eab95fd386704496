"""Lesson 08's pieces: the value-clipping hook (GradientHardClipping), the Jacobian-product
measurement of rnnviz.experiments.explode, the training runs and GradientNormExplorer."""
import math
import time

import matplotlib
matplotlib.use("Agg")
import numpy as np
import pytest

import rnnviz as chainer
from rnnviz import links as L, optimizers
from rnnviz.datasets import recall_batch
from rnnviz.experiments import explode as X
from rnnviz.optimizers.hooks import GradientHardClipping


def _step_with(hook, grad_W, grad_b=(0.0,)):
    layer = L.Linear(len(grad_W[0]), len(grad_W))
    opt = optimizers.SGD(lr=1.0).setup(layer)
    opt.add_hook(hook)
    layer.W.grad = np.array(grad_W, np.float32)
    layer.b.grad = np.array(grad_b, np.float32)
    W0, b0 = layer.W.array.copy(), layer.b.array.copy()
    opt.update()
    return W0 - layer.W.array, b0 - layer.b.array


# -- GradientHardClipping ------------------------------------------------------------------------
def test_hard_clipping_clips_each_element_into_the_bounds():
    dW, db = _step_with(GradientHardClipping(-0.5, 0.25), [[3.0, -2.0, 0.1]], [-0.3])
    np.testing.assert_allclose(dW, [[0.25, -0.5, 0.1]], atol=1e-6)
    np.testing.assert_allclose(db, [-0.3], atol=1e-6)


def test_hard_clipping_is_chainers_optimizer_hook():
    assert chainer.optimizer_hooks.GradientHardClipping is GradientHardClipping
    hook = GradientHardClipping(-1, 1)
    assert hook.name == "GradientHardClipping" and hook.lower_bound == -1.0 and hook.upper_bound == 1.0


def test_hard_clipping_leaves_the_gradient_arrays_of_the_graph_alone():
    layer = L.Linear(2, 1)
    opt = optimizers.SGD(lr=0.0).setup(layer)
    opt.add_hook(GradientHardClipping(-0.1, 0.1))
    g = np.array([[5.0, -5.0]], np.float32)
    layer.W.grad, layer.b.grad = g, np.zeros(1, np.float32)
    opt.update()
    np.testing.assert_array_equal(g, [[5.0, -5.0]])          # a new array, not clipped in place
    np.testing.assert_allclose(layer.W.grad, [[0.1, -0.1]])


@pytest.mark.parametrize("bounds, words", [
    ((0, 1), ["GradientHardClipping", "lower_bound", "< 0", "got 0"]),
    ((0.5, 1), ["lower_bound", "< 0", "0.5"]),
    ((-1, 0), ["upper_bound", "> 0", "got 0"]),
    ((-1, -0.5), ["upper_bound", "> 0"]),
    ((float("nan"), 1), ["lower_bound", "nan"]),
    ((-1, float("inf")), ["upper_bound", "inf"]),
])
def test_hard_clipping_refuses_bounds_that_cannot_be_meant(bounds, words):
    with pytest.raises(ValueError) as err:
        GradientHardClipping(*bounds)
    for w in words:
        assert w in str(err.value), (w, str(err.value))


@pytest.mark.parametrize("bounds", [("-1", 1), (-1, True), (None, 1)])
def test_hard_clipping_refuses_non_numbers(bounds):
    with pytest.raises(TypeError, match="GradientHardClipping: .* must be a real number"):
        GradientHardClipping(*bounds)


def test_hard_clipping_bounds_set_later_are_checked_too():
    hook = GradientHardClipping(-1, 1)
    with pytest.raises(ValueError, match="GradientHardClipping: upper_bound"):
        hook.upper_bound = -2
    assert hook.upper_bound == 1.0


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_hard_clipping_does_not_hide_a_nonfinite_gradient(bad):
    layer = L.Linear(2, 1)
    opt = optimizers.SGD(lr=0.1).setup(layer)
    opt.add_hook(GradientHardClipping(-1, 1))
    layer.W.grad = np.array([[bad, 0.0]], np.float32)
    layer.b.grad = np.zeros(1, np.float32)
    W0 = layer.W.array.copy()
    with pytest.raises(FloatingPointError, match=r"GradientHardClipping: the gradient of parameter '/W'"):
        opt.update()
    np.testing.assert_array_equal(layer.W.array, W0)


def test_clipping_agrees_with_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is the independent implementation compared against")
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 4)) * 3, rng.standard_normal(4)]
    ours_value = [np.clip(g, -0.7, 0.7) for g in grads]          # what the hook must produce
    layer = L.Linear(4, 3)
    opt = optimizers.SGD(lr=1.0).setup(layer)
    opt.add_hook(GradientHardClipping(-0.7, 0.7))
    layer.W.grad, layer.b.grad = grads[0].astype(np.float32), grads[1][:3].astype(np.float32)
    W0 = layer.W.array.copy()
    opt.update()
    params = [torch.nn.Parameter(torch.zeros(3, 4, dtype=torch.float64))]
    params[0].grad = torch.tensor(grads[0])
    torch.nn.utils.clip_grad_value_(params, clip_value=0.7)
    np.testing.assert_allclose(W0 - layer.W.array, params[0].grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(ours_value[0], params[0].grad.numpy())
    # norm clipping: the same vector as clip_grad_norm_
    layer = L.Linear(4, 3)
    opt = optimizers.SGD(lr=1.0).setup(layer)
    opt.add_hook(optimizers.GradientClipping(1.5))
    layer.W.grad, layer.b.grad = grads[0].astype(np.float32), grads[1][:3].astype(np.float32)
    W0, b0 = layer.W.array.copy(), layer.b.array.copy()
    opt.update()
    tp = [torch.nn.Parameter(torch.zeros(3, 4, dtype=torch.float64)),
          torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))]
    tp[0].grad, tp[1].grad = torch.tensor(grads[0]), torch.tensor(grads[1][:3])
    total = torch.nn.utils.clip_grad_norm_(tp, max_norm=1.5)
    assert float(total) == pytest.approx(math.sqrt((grads[0] ** 2).sum() + (grads[1][:3] ** 2).sum()))
    np.testing.assert_allclose(W0 - layer.W.array, tp[0].grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(b0 - layer.b.array, tp[1].grad.numpy(), rtol=1e-5)


# -- the measurements --------------------------------------------------------------------------------
def test_spectral_radius_is_set():
    model = X.explode_model(seed=3, radius=2.5)
    assert X.spectral_radius(model.mid.lateral.W.array) == pytest.approx(2.5, rel=1e-5)


def _product_by_hand(model, tokens, linear=False):
    """||dh_T/dh_(T-k)||_2 for one sequence, in float64, from the weights."""
    W_h = model.mid.lateral.W.array.astype(np.float64)
    W_x = model.mid.upward.W.array.astype(np.float64)
    b = model.mid.upward.b.array.astype(np.float64)
    E = model.embed.W.array.astype(np.float64)
    h, states = np.zeros(W_h.shape[0]), []
    for t in tokens:
        a = E[t] @ W_x.T + b + h @ W_h.T
        h = a if linear else np.tanh(a)
        states.append(h)
    J, out = np.eye(len(h)), [1.0]
    for k in range(1, len(tokens)):
        step = W_h if linear else np.diag(1 - states[-k] ** 2) @ W_h
        J = J @ step
        out.append(np.linalg.norm(J, 2))
    return np.array(out)


@pytest.mark.parametrize("linear", [False, True])
def test_jacobian_norms_are_the_product_of_step_jacobians(linear):
    model = X.explode_model(seed=1, radius=3.0)
    xs, _ = recall_batch(3, 7, 0, vocab_size=4, seed=9)
    got = X.jacobian_norms(model, xs, linear=linear)
    for row, tokens in zip(got, xs):
        np.testing.assert_allclose(row, _product_by_hand(model, tokens, linear), rtol=1e-4)


def test_jacobian_norms_agree_with_finite_differences():
    """One entry of dh_T/dh_s, checked in float64 against a central difference."""
    model = X.explode_model(seed=0, radius=2.0)
    for p in model.params():
        p.array = p.array.astype(np.float64)
    tokens = np.array([[1, 3, 0, 2, 2]], np.int32)
    W_h = model.mid.lateral.W.array
    W_x, b, E = model.mid.upward.W.array, model.mid.upward.b.array, model.embed.W.array

    def run_from(h_s, start):
        h = h_s
        for t in tokens[0, start:]:
            h = np.tanh(E[t] @ W_x.T + b + h @ W_h.T)
        return h

    h = np.zeros(16)
    for t in tokens[0, :2]:
        h = np.tanh(E[t] @ W_x.T + b + h @ W_h.T)
    eps, J = 1e-6, np.zeros((16, 16))
    for j in range(16):
        d = np.zeros(16)
        d[j] = eps
        J[:, j] = (run_from(h + d, 2) - run_from(h - d, 2)) / (2 * eps)
    got = X.jacobian_norms(model, tokens)[0]
    assert got[3] == pytest.approx(np.linalg.norm(J, 2), rel=1e-6)    # T-1 = 4, s = 1: k = 3


def test_growth_per_step_reads_a_geometric_rate():
    assert X.growth_per_step(2.0 ** np.arange(20)) == pytest.approx(2.0)
    assert X.growth_per_step(0.5 ** np.arange(20)) == pytest.approx(0.5)


def test_tanh_product_grows_slower_than_the_linear_one():
    tanh = X.growth_per_step(X.jacobian_profile(0, 4.0))
    linear = X.growth_per_step(X.jacobian_profile(0, 4.0, linear=True))
    assert linear == pytest.approx(4.0, rel=0.05) and tanh < linear / 2


def test_train_run_records_what_each_clipping_did():
    none = X.train_run(0, 6.0, "none", updates=6)
    norm = X.train_run(0, 6.0, "norm", 1.0, updates=6)
    value = X.train_run(0, 6.0, "value", 0.05, updates=6)
    for r in (none, norm, value):
        assert all(len(r[k]) == 6 for k in ("loss", "norm", "applied", "max_abs", "cos"))
    # the first update is the same model on the same data: the same computed gradient
    assert none["norm"][0] == pytest.approx(norm["norm"][0]) == pytest.approx(value["norm"][0])
    np.testing.assert_allclose(none["applied"], none["norm"])
    np.testing.assert_allclose(none["cos"], 1.0)
    assert np.all(norm["applied"] <= 1.0 + 1e-5) and np.allclose(norm["cos"], 1.0, atol=1e-6)
    assert np.all(value["cos"][value["max_abs"] > 0.05] < 1.0)


def test_a_float64_run_differs_from_the_float32_one_only_in_rounding():
    model = X.explode_model(0, 6.0, dtype=np.float64)
    assert all(p.array.dtype == np.float64 for p in model.params())
    r32 = X.train_run(0, 6.0, "norm", 4.0, updates=3)
    r64 = X.train_run(0, 6.0, "norm", 4.0, updates=3, dtype=np.float64)
    # the same start and data: the first loss and gradient agree up to float32 rounding, grown by
    # 20 steps of a recurrence at rho 6 (the loss by about 3e-5, the gradient by about 1%)
    assert r64["loss"][0] == pytest.approx(r32["loss"][0], rel=2e-4)
    assert r64["norm"][0] == pytest.approx(r32["norm"][0], rel=0.05)
    assert not np.array_equal(r64["loss"], r32["loss"])


def test_clip_hook_refuses_an_unknown_mode():
    with pytest.raises(ValueError, match="clip must be one of"):
        X.clip_hook("both", 1.0)


# -- the widget ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def explorer():
    from rnnviz.widgets import GradientNormExplorer
    w = GradientNormExplorer(radii=(1, 6), updates=20)
    yield w
    w.close()


def test_explorer_shows_every_precomputed_run(explorer):
    assert explorer.ready, explorer.message.value
    assert set(explorer._runs) == {(r, c, t) for r in (1.0, 6.0)
                                   for c, t in [("none", None), ("norm", 1.0), ("norm", 4.0),
                                                ("value", 0.05), ("value", 0.2)]}
    explorer.radius_slider.value = 6.0
    explorer.clip_buttons.value = "value"
    assert [v for _, v in explorer.threshold_slider.options] == [0.05, 0.2]
    explorer.threshold_slider.value = 0.2
    assert explorer.run() is explorer.run(6.0, "value", 0.2)
    assert explorer.view.bound_line.get_visible() and explorer.view.bound_line.get_ydata()[0] == 0.2
    np.testing.assert_array_equal(explorer.view.norm_line.get_ydata(), explorer.run()["norm"])
    explorer.clip_buttons.value = "none"
    assert explorer.threshold_slider.disabled and not explorer.view.bound_line.get_visible()


def test_explorer_controls_answer_quickly(explorer):
    explorer.redraw(full=True)
    times = []
    for v in (1.0, 6.0, 1.0, 6.0):
        t0 = time.perf_counter()
        explorer.radius_slider.value = v
        times.append(time.perf_counter() - t0)
    assert explorer.last_redraw == "blit"
    assert min(times) < 0.5, times      # the lesson's budget is 100 ms; this machine may be loaded


@pytest.mark.parametrize("kwargs, words", [
    (dict(radii=()), "radii"),
    (dict(radii=(1, -2)), "radii"),
    (dict(radii="12"), "radii"),
    (dict(clip="both"), "clip must be one of"),
    (dict(thresholds={"norm": (0,)}), "thresholds['norm']"),
    (dict(thresholds={"max": (1,)}), "thresholds must be a dict"),
    (dict(seed=-1), "seed"),
    (dict(radius="big"), "radius"),
])
def test_explorer_explains_bad_input_in_its_message(kwargs, words):
    from rnnviz.widgets import GradientNormExplorer
    w = GradientNormExplorer(**{"radii": (1,), "updates": 2, **kwargs})
    try:
        import html
        assert not w.ready and words in html.unescape(w.message.value), w.message.value
    finally:
        w.close()
