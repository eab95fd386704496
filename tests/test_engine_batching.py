"""The batched engine (core/batched_engine.py) computes the matrix products of one weight used at
many time steps together, and still gives exactly the gradients of the plain engine
(core/engine.py), which computes every product on its own, step by step."""
import numpy as np
import pytest

import rnnviz
import rnnviz.functions as F
import rnnviz.links as L
from rnnviz.core import deferred


@pytest.fixture(autouse=True)
def batched():
    """These tests are about the batched engine, whatever RNNVIZ_BATCHED_BACKWARD says."""
    with rnnviz.using_config("batched_backward", True):
        yield


def _unrolled_loss(model, xs, ts):
    model.reset_state()
    loss = 0
    for k in range(xs.shape[1]):
        loss += F.softmax_cross_entropy(model(xs[:, k]), ts[:, k])
    return loss


def _plain_engine_grads(model, xs, ts):
    """The same backward with the plain engine: every product computed on its own, at once."""
    with rnnviz.using_config("batched_backward", False):
        model.cleargrads()
        _unrolled_loss(model, xs, ts).backward()
        return {n: p.grad.copy() for n, p in model.namedparams()}


def test_batched_products_equal_step_by_step_products():
    np.random.seed(0)
    model = L.RNNLM(30, 6, 7).copy(mode="copy")
    for p in model.params():
        p.array = p.array.astype(np.float64)
    xs = np.random.randint(0, 30, (4, 9)).astype(np.int32)
    ts = np.random.randint(0, 30, (4, 9)).astype(np.int32)
    expected = _plain_engine_grads(model, xs, ts)
    model.cleargrads()
    with rnnviz.using_config("batched_backward", True):
        _unrolled_loss(model, xs, ts).backward()
    for name, p in model.namedparams():
        np.testing.assert_allclose(p.grad, expected[name], rtol=1e-10, atol=1e-12, err_msg=name)


def test_output_layer_input_gradients_are_one_product_per_window(monkeypatch):
    """T steps of the output layer: its W is multiplied once for all T input gradients."""
    np.random.seed(1)
    model = L.RNNLM(50, 8, 8)
    T = 12
    xs = np.random.randint(0, 50, (3, T)).astype(np.int32)
    shapes = []
    real_concatenate = np.concatenate

    def spy(arrays, *args, **kwargs):
        out = real_concatenate(arrays, *args, **kwargs)
        shapes.append(out.shape)
        return out

    loss = _unrolled_loss(model, xs, xs)
    monkeypatch.setattr(np, "concatenate", spy)
    calls = []
    real = deferred.MatmulGrad.compute
    monkeypatch.setattr(deferred.MatmulGrad, "compute", lambda self: calls.append(1) or real(self))
    loss.backward()
    # the output layer's (3T x 50) and the upward layer's (3T x 32) gradients are each one stack
    assert (3 * T, 50) in shapes and (3 * T, 32) in shapes
    # no product of one W runs alone: the lateral ones (ga @ W_h, needed by the step before at
    # once) are computed in the LSTM step's backward, not handed over deferred
    assert len(calls) == 0


def test_a_node_waiting_for_products_does_not_run_before_its_consumers():
    """A shared input used by two linear maps of different generations gets both gradients."""
    x = np.random.randn(3, 4)
    W1, W2 = np.random.randn(5, 4), np.random.randn(2, 4)
    from rnnviz import Variable
    xv, w1, w2 = Variable(x), Variable(W1), Variable(W2)
    h = F.tanh(xv)
    y = F.sum(F.linear(h, w1)) + F.sum(F.tanh(F.linear(F.tanh(h), w2)))
    y.backward()
    th = np.tanh(x)
    gh = np.ones((3, 5)) @ W1 + (1 - np.tanh(np.tanh(th) @ W2.T) ** 2) @ W2 * (1 - np.tanh(th) ** 2)
    np.testing.assert_allclose(xv.grad, gh * (1 - th ** 2), rtol=1e-12)


def test_deferred_weight_gradient_into_a_computed_weight():
    """A weight that is itself computed (W = 2 W0, tied or scaled weights) gets a real array."""
    from rnnviz import Variable

    rng = np.random.default_rng(0)
    x, W0, b = rng.standard_normal((4, 3)), rng.standard_normal((2, 3)), rng.standard_normal(2)
    xv, w0, bv = Variable(x), Variable(W0), Variable(b)
    b2 = bv * 1.0
    y = F.sum(F.linear(xv, w0 * 2.0, b2) ** 2)
    y.backward(retain_grad=True)
    out = x @ (2 * W0).T + b
    np.testing.assert_allclose(w0.grad, 2 * (2 * out).T @ x, rtol=1e-12)
    np.testing.assert_allclose(bv.grad, (2 * out).sum(axis=0), rtol=1e-12)
    assert isinstance(b2.grad, np.ndarray)


def test_batched_weight_gradients_add_to_what_grad_holds():
    """A second backward without cleargrads adds: deferred weight gradients summed at the end of
    the pass go into .grad with +, never replace it (the plain engine gives the reference)."""
    np.random.seed(2)
    model = L.RNNLM(20, 5, 6).copy(mode="copy")
    for p in model.params():
        p.array = p.array.astype(np.float64)
    xs = np.random.randint(0, 20, (2, 6)).astype(np.int32)
    once = _plain_engine_grads(model, xs, xs)
    model.cleargrads()
    with rnnviz.using_config("batched_backward", True):
        _unrolled_loss(model, xs, xs).backward()
        _unrolled_loss(model, xs, xs).backward()
    for name, p in model.namedparams():
        np.testing.assert_allclose(p.grad, 2 * once[name], rtol=1e-10, atol=1e-12, err_msg=name)
