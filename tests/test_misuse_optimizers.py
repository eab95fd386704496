"""Misuse of optimizers and hooks: every bad hyperparameter is refused when it is set, and a
NaN/inf gradient is an error before any weight changes (reproduction 5 of issue 8).

What the peers do: PyTorch refuses a negative learning rate (``ValueError: Invalid learning
rate``) but accepts ``clip_grad_norm_(max_norm=0)`` and, by default, scales by a NaN norm, so NaN
gradients turn the weights NaN silently (``error_if_nonfinite=True`` makes it an error). Chainer
checks none of these. rnnviz takes the strict side everywhere: a teaching kit should not let a
learner watch a model "train" with weights that can no longer change or that are NaN.
"""
import math

import numpy as np
import pytest

import rnnviz.functions as F
import rnnviz.links as L
from rnnviz import optimizers


def _model_with_grads(seed=0, scale=1.0):
    np.random.seed(seed)
    m = L.Linear(3, 2)
    loss = F.sum(m(np.random.randn(4, 3).astype(np.float32)) ** 2)
    loss.backward()
    m.W.grad = m.W.grad * np.float32(scale)
    return m


# -- hyperparameters -------------------------------------------------------------------------------

@pytest.mark.parametrize("make, words", [
    (lambda: optimizers.SGD(lr=-1), ["SGD", "lr", ">= 0", "-1"]),
    (lambda: optimizers.SGD(lr=float("nan")), ["SGD", "lr", "nan"]),
    (lambda: optimizers.SGD(lr=float("inf")), ["SGD", "lr", "inf"]),
    (lambda: optimizers.MomentumSGD(lr=-0.1), ["MomentumSGD", "lr", "-0.1"]),
    (lambda: optimizers.MomentumSGD(momentum=1.0), ["MomentumSGD", "momentum", "< 1", "1.0"]),
    (lambda: optimizers.MomentumSGD(momentum=-0.5), ["MomentumSGD", "momentum", "-0.5"]),
    (lambda: optimizers.Adam(alpha=-0.001), ["Adam", "alpha", "-0.001"]),
    (lambda: optimizers.Adam(beta1=1.0), ["Adam", "beta1", "< 1"]),
    (lambda: optimizers.Adam(beta2=1.5), ["Adam", "beta2", "1.5"]),
    (lambda: optimizers.Adam(eps=0), ["Adam", "eps", "> 0"]),
    (lambda: optimizers.GradientClipping(0), ["GradientClipping", "threshold", "> 0", "got 0"]),
    (lambda: optimizers.GradientClipping(-1), ["GradientClipping", "threshold", "> 0", "-1"]),
    (lambda: optimizers.GradientClipping(float("nan")), ["GradientClipping", "threshold", "nan"]),
    (lambda: optimizers.WeightDecay(float("nan")), ["WeightDecay", "rate", "nan"]),
    (lambda: optimizers.WeightDecay(-0.1), ["WeightDecay", "rate", ">= 0", "-0.1"]),
])
def test_bad_hyperparameters_are_refused(make, words):
    with pytest.raises(ValueError) as info:
        make()
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("make, words", [
    (lambda: optimizers.SGD(lr="0.1"), ["SGD", "lr", "real number", "'0.1'", "str"]),
    (lambda: optimizers.SGD(lr=None), ["SGD", "lr", "None"]),
    (lambda: optimizers.GradientClipping("5"), ["GradientClipping", "threshold", "str"]),
    (lambda: optimizers.WeightDecay(True), ["WeightDecay", "rate", "bool"]),
])
def test_hyperparameters_of_the_wrong_type_are_refused(make, words):
    with pytest.raises(TypeError) as info:
        make()
    for word in words:
        assert word in str(info.value)


def test_a_hyperparameter_changed_later_is_checked_too():
    opt = optimizers.SGD(lr=0.1)
    opt.lr *= 0.5  # the tutorials' learning-rate decay still works
    assert opt.lr == pytest.approx(0.05)
    with pytest.raises(ValueError, match=r"SGD: lr .*-0\.05"):
        opt.lr = -0.05
    assert opt.lr == pytest.approx(0.05)
    clip = optimizers.GradientClipping(5.0)
    with pytest.raises(ValueError, match="GradientClipping: threshold"):
        clip.threshold = 0


def test_zero_learning_rate_is_allowed_as_in_pytorch():
    m = _model_with_grads()
    W = m.W.array.copy()
    optimizers.SGD(lr=0).setup(m).update()
    np.testing.assert_array_equal(m.W.array, W)


# -- setup and hooks ---------------------------------------------------------------------------------

def test_setup_needs_a_link():
    with pytest.raises(TypeError, match=r"SGD.setup: expected a Link .*got ndarray"):
        optimizers.SGD().setup(np.zeros(3))
    with pytest.raises(TypeError, match=r"Adam.setup: .*got list"):
        optimizers.Adam().setup([L.Linear(2, 2)])


def test_add_hook_needs_a_callable():
    opt = optimizers.SGD().setup(L.Linear(2, 2))
    with pytest.raises(TypeError, match="add_hook: a hook must be callable, got float"):
        opt.add_hook(5.0)  # the learner meant GradientClipping(5.0)


def test_update_before_setup_names_setup():
    with pytest.raises(RuntimeError, match=r"SGD: call setup\(link\) before update\(\)"):
        optimizers.SGD().update()


def test_update_with_a_non_callable_lossfun():
    opt = optimizers.SGD().setup(L.Linear(2, 2))
    with pytest.raises(TypeError, match="SGD.update: lossfun must be callable.*got float32"):
        opt.update(np.float32(1.0))  # the loss value instead of the function


# -- NaN and inf gradients ---------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("make", [lambda: optimizers.SGD(lr=0.1), lambda: optimizers.MomentumSGD(lr=0.1),
                                  lambda: optimizers.Adam()])
def test_a_nonfinite_gradient_is_an_error_and_changes_nothing(make, bad):
    m = _model_with_grads()
    m.W.grad[0, 1] = bad
    before = [p.array.copy() for p in m.params()]
    opt = make().setup(m)
    with pytest.raises(FloatingPointError) as info:
        opt.update()
    msg = str(info.value)
    assert "'/W'" in msg and ("NaN" if np.isnan(bad) else "inf") in msg and "no weight was changed" in msg
    assert type(opt).__name__ in msg
    for p, b in zip(m.params(), before):
        np.testing.assert_array_equal(p.array, b)
    assert opt.t == 0


def test_a_nan_gradient_is_caught_by_gradient_clipping():
    """Before: the NaN norm is never above the threshold, so nothing was clipped and W became NaN."""
    m = _model_with_grads()
    m.b.grad = np.full_like(m.b.grad, np.nan)
    opt = optimizers.SGD(lr=0.1).setup(m)
    opt.add_hook(optimizers.GradientClipping(5.0))
    W = m.W.array.copy()
    with pytest.raises(FloatingPointError, match=r"GradientClipping: the gradient of parameter '/b' holds NaN"):
        opt.update()
    np.testing.assert_array_equal(m.W.array, W)


def test_a_huge_but_finite_gradient_is_clipped_not_refused():
    """1e20 squared overflows float32; the norm is then taken in float64 and clipping works."""
    m = _model_with_grads()
    m.W.grad = np.full_like(m.W.grad, 1e20)
    m.b.grad = np.zeros_like(m.b.grad)
    opt = optimizers.SGD(lr=1.0).setup(m)
    opt.add_hook(optimizers.GradientClipping(1.0))
    W = m.W.array.astype(np.float64)
    opt.update()
    step = W - m.W.array
    assert np.all(np.isfinite(m.W.array))
    assert math.sqrt(float((step ** 2).sum())) == pytest.approx(1.0, rel=1e-3)


def test_weight_decay_with_a_nan_weight_is_caught():
    m = _model_with_grads()
    m.W.array[0, 0] = np.nan  # a model that already went wrong: decay adds rate * NaN to the gradient
    opt = optimizers.SGD(lr=0.1).setup(m)
    opt.add_hook(optimizers.WeightDecay(1e-4))
    with pytest.raises(FloatingPointError, match="'/W' holds NaN"):
        opt.update()


def test_gradient_clipping_zero_no_longer_stops_learning_silently():
    """Reproduction 5: GradientClipping(0) scaled every gradient to 0; -1 climbed the loss."""
    for threshold in (0, -1, 0.0):
        with pytest.raises(ValueError, match="GradientClipping"):
            optimizers.GradientClipping(threshold)
