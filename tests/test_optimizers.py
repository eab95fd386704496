"""Optimizers and hooks: each update rule against its formula, hooks, update(lossfun)."""
import numpy as np
import pytest

import rnnviz.functions as F
import rnnviz.links as L
from rnnviz import optimizers


def _model_with_grads(seed=0):
    np.random.seed(seed)
    m = L.Linear(3, 2)
    loss = F.sum(m(np.random.randn(4, 3).astype(np.float32)) ** 2)
    loss.backward()
    return m


def test_sgd_rule():
    m = _model_with_grads()
    W, g = m.W.array.copy(), m.W.grad.copy()
    opt = optimizers.SGD(lr=0.1).setup(m)
    opt.update()
    np.testing.assert_allclose(m.W.array, W - 0.1 * g, rtol=1e-6)
    assert opt.t == 1


def test_momentum_rule_two_steps():
    m = _model_with_grads()
    W, g = m.W.array.copy(), m.W.grad.copy()
    opt = optimizers.MomentumSGD(lr=0.1, momentum=0.9).setup(m)
    opt.update()
    opt.update()  # same gradient twice
    v1 = -0.1 * g
    v2 = 0.9 * v1 - 0.1 * g
    np.testing.assert_allclose(m.W.array, W + v1 + v2, rtol=1e-5)


def test_adam_rule_matches_formula():
    m = _model_with_grads()
    W, g = m.W.array.astype(np.float64), m.W.grad.astype(np.float64)
    opt = optimizers.Adam(alpha=0.01).setup(m)
    mom = np.zeros_like(g)
    vel = np.zeros_like(g)
    for t in (1, 2, 3):
        opt.update()
        mom += 0.1 * (g - mom)
        vel += 0.001 * (g * g - vel)
        lr = 0.01 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        W = W - lr * mom / (np.sqrt(vel) + 1e-8)
    np.testing.assert_allclose(m.W.array, W, rtol=1e-4)


def test_weight_decay_hook():
    m = _model_with_grads()
    W, g = m.W.array.copy(), m.W.grad.copy()
    opt = optimizers.SGD(lr=0.1).setup(m)
    opt.add_hook(optimizers.WeightDecay(0.5))
    opt.update()
    np.testing.assert_allclose(m.W.array, W - 0.1 * (g + 0.5 * W), rtol=1e-5)


def test_gradient_clipping_scales_to_the_global_norm():
    m = _model_with_grads()
    grads = [p.grad.copy() for p in m.params()]
    norm = np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in grads))
    assert norm > 0.1
    opt = optimizers.SGD(lr=0.0).setup(m)
    opt.add_hook(optimizers.GradientClipping(0.1))
    opt.update()
    clipped = np.sqrt(sum((p.grad.astype(np.float64) ** 2).sum() for p in m.params()))
    assert clipped == pytest.approx(0.1, rel=1e-5)
    for p, g in zip(m.params(), grads):  # same direction
        np.testing.assert_allclose(p.grad, g * (0.1 / norm), rtol=1e-4)
    # below the threshold nothing changes
    m2 = _model_with_grads()
    before = [p.grad.copy() for p in m2.params()]
    o2 = optimizers.SGD(lr=0.0).setup(m2)
    o2.add_hook(optimizers.GradientClipping(1e6))
    o2.update()
    for p, g in zip(m2.params(), before):
        np.testing.assert_array_equal(p.grad, g)


def test_update_with_lossfun_clears_grads_first():
    np.random.seed(0)
    m = L.Linear(2, 1)
    x = np.random.randn(5, 2).astype(np.float32)
    opt = optimizers.SGD(lr=0.0).setup(m)

    def lossfun(x):
        return F.sum(m(x))

    opt.update(lossfun, x)
    first = m.W.grad.copy()
    opt.update(lossfun, x)
    np.testing.assert_allclose(m.W.grad, first)  # not doubled
    np.testing.assert_allclose(first, x.sum(axis=0, keepdims=True), rtol=1e-6)


def test_update_before_setup_is_an_error():
    with pytest.raises(RuntimeError, match="setup"):
        optimizers.SGD().update()


def test_training_reduces_loss():
    np.random.seed(0)
    x = np.random.randn(64, 3).astype(np.float32)
    t = (x @ np.array([1.0, -2.0, 0.5], np.float32) > 0).astype(np.int32)
    model = L.Classifier(L.Linear(3, 2))
    opt = optimizers.Adam(alpha=0.05).setup(model)
    first = float(model(x, t).array)
    for _ in range(100):
        opt.update(model, x, t)
    assert float(model(x, t).array) < first * 0.5
    assert float(model.accuracy.array) > 0.9
