"""The define-by-run core: Variable, the backward engine, graph lifetime, configuration."""
import gc
import sys

import numpy
import pytest

import rnnviz
from rnnviz import Variable, functions as F


def live():
    gc.collect()
    return rnnviz.live_function_node_count()


# -- the introduction's examples -----------------------------------------------------------------

def test_intro_scalar_example():
    x = Variable(numpy.array([5], dtype=numpy.float32))
    y = x ** 2 - 2 * x + 1
    assert y.dtype == numpy.float32
    numpy.testing.assert_array_equal(y.array, [16.0])
    y.backward()
    numpy.testing.assert_array_equal(x.grad, [8.0])  # dy/dx = 2x - 2

    z = 2 * x
    y = x ** 2 - z + 1
    y.backward(retain_grad=True)
    numpy.testing.assert_array_equal(z.grad, [-1.0])
    numpy.testing.assert_array_equal(x.grad, [16.0])  # 8 from before + 2x - 2 = 8 again


def test_intro_array_example():
    xa = numpy.array([[1, 2, 3], [4, 5, 6]], dtype=numpy.float32)
    x = Variable(xa)
    y = x ** 2 - 2 * x + 1
    y.grad = numpy.ones((2, 3), dtype=numpy.float32)
    y.backward()
    numpy.testing.assert_array_equal(x.grad, 2 * xa - 2)
    assert x.grad.dtype == numpy.float32


def test_intro_linear_example(rng):
    W = Variable(rng.standard_normal((2, 3)).astype(numpy.float32))
    b = Variable(rng.standard_normal(2).astype(numpy.float32))
    xa = rng.standard_normal((2, 3)).astype(numpy.float32)
    y = F.linear(Variable(xa), W, b)
    numpy.testing.assert_allclose(y.array, xa @ W.array.T + b.array, rtol=1e-6)
    y.grad = numpy.ones((2, 2), dtype=numpy.float32)
    y.backward()
    for row in W.grad:
        numpy.testing.assert_allclose(row, xa.sum(axis=0), rtol=1e-6)
    numpy.testing.assert_array_equal(b.grad, [2.0, 2.0])
    assert W.grad.shape == (2, 3) and b.grad.shape == (2,)


# -- a long chain ---------------------------------------------------------------------------------

def test_ten_thousand_step_chain():
    steps, a = 10_000, 0.5
    x = Variable(numpy.array([0.3, -0.7]))
    start = live()
    h = x
    for _ in range(steps):
        h = F.tanh(h) * a + x  # x feeds every step, so its gradient is a long sum
    assert rnnviz.live_function_node_count() - start == 3 * steps
    limit = sys.getrecursionlimit()
    h.grad = numpy.ones(2)
    sys.setrecursionlimit(200)  # the engine must not recurse
    try:
        h.backward()
    finally:
        sys.setrecursionlimit(limit)
    # by hand: forward values, then the chain rule walked backwards
    hs = [x.array]
    for _ in range(steps):
        hs.append(numpy.tanh(hs[-1]) * a + x.array)
    g, expect = numpy.ones(2), numpy.zeros(2)
    for t in range(steps, 0, -1):
        expect += g                                   # through "+ x" at step t
        g = g * a * (1 - numpy.tanh(hs[t - 1]) ** 2)  # through tanh at step t
    expect += g                                       # the start of the chain is x itself
    numpy.testing.assert_allclose(h.array, hs[-1], rtol=1e-12)
    numpy.testing.assert_allclose(x.grad, expect, rtol=1e-10)

    h.unchain_backward()
    assert live() == start
    assert h.creator is None and h.unchained


def test_dropped_graph_is_freed_without_unchaining():
    start = live()
    x = Variable(numpy.ones(3))
    h = x
    for _ in range(10_000):
        h = F.tanh(h) * 1.0
    assert rnnviz.live_function_node_count() == start + 20_000
    del h
    assert live() == start


def test_unchain_cuts_history():
    x = Variable(numpy.array([0.5, 1.5]))
    h = F.tanh(x)
    kept = h.array.copy()
    h.unchain()
    assert h.creator is None
    numpy.testing.assert_array_equal(h.array, kept)
    y = F.sum(h * 3.0)
    y.backward()
    assert x.grad is None  # the history before h is not reached
    numpy.testing.assert_array_equal(h.grad, [3.0, 3.0])  # h is a leaf now


def test_unchain_backward_frees_the_history_but_keeps_the_values():
    x = Variable(numpy.array([0.5]))
    start = live()
    a = F.exp(x)
    b = a * a + a
    y = F.tanh(b)
    assert live() == start + 4
    y.unchain_backward()
    assert live() == start
    assert a.creator is None and b.creator is None and y.creator is None
    numpy.testing.assert_allclose(y.array, numpy.tanh(numpy.exp(0.5) ** 2 + numpy.exp(0.5)))


# -- switching recording off ---------------------------------------------------------------------

def test_no_backprop_mode_records_nothing():
    x = Variable(numpy.array([1.0, 2.0]))
    start = live()
    with rnnviz.no_backprop_mode():
        y = F.tanh(x * 2.0 + 1.0)
        assert rnnviz.config.enable_backprop is False
    assert y.creator is None
    assert live() == start
    assert rnnviz.config.enable_backprop is True
    numpy.testing.assert_allclose(y.array, numpy.tanh(x.array * 2 + 1))


def test_using_config_enable_backprop_false_records_nothing():
    x = Variable(numpy.array([1.0, 2.0]))
    start = live()
    with rnnviz.using_config("enable_backprop", False):
        y = F.sum(x @ numpy.ones((2, 2)))
    assert y.creator is None
    assert live() == start
    assert rnnviz.config.enable_backprop is True


def test_force_backprop_mode_inside_no_backprop_mode():
    x = Variable(numpy.array([1.0]))
    with rnnviz.no_backprop_mode():
        with rnnviz.force_backprop_mode():
            y = x * 3.0
        z = x * 3.0
    assert y.creator is not None and z.creator is None


def test_config_is_restored_after_an_exception():
    with pytest.raises(RuntimeError):
        with rnnviz.no_backprop_mode():
            raise RuntimeError("boom")
    assert rnnviz.config.enable_backprop is True


# -- accumulation and intermediate gradients -------------------------------------------------------

def test_variable_used_twice_accumulates():
    xa = numpy.array([1.0, -2.0, 3.0])
    x = Variable(xa)
    F.sum(x * x).backward()
    numpy.testing.assert_array_equal(x.grad, 2 * xa)
    x.cleargrad()
    F.sum(x + x).backward()
    numpy.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])


def test_gradients_accumulate_across_two_backward_calls():
    xa = numpy.array([0.2, 0.4])
    x = Variable(xa)
    y = F.sum(F.tanh(x))
    y.backward()
    first = x.grad.copy()
    numpy.testing.assert_allclose(first, 1 - numpy.tanh(xa) ** 2)
    y.backward()
    numpy.testing.assert_allclose(x.grad, 2 * first)
    x.cleargrad()
    assert x.grad is None


def test_diamond_with_paths_of_different_length():
    """x reaches y by a short and a long path; x's node must run after both deliver."""
    xa = numpy.array([0.3, -0.4])
    x = Variable(xa)
    a = F.exp(x)
    b = F.tanh(F.tanh(F.tanh(a)))
    y = F.sum(a * b)
    y.backward()
    eps = 1e-6
    f = lambda v: numpy.sum(numpy.exp(v) * numpy.tanh(numpy.tanh(numpy.tanh(numpy.exp(v)))))
    num = [(f(xa + eps * e) - f(xa - eps * e)) / (2 * eps) for e in numpy.eye(2)]
    numpy.testing.assert_allclose(x.grad, num, rtol=1e-7)


def test_intermediate_grads_are_none_unless_retained():
    x = Variable(numpy.array([1.0, 2.0]))
    h = x * 3.0
    y = F.sum(h * h)
    y.backward()
    assert h.grad is None
    numpy.testing.assert_array_equal(x.grad, 18 * x.array)
    x.cleargrad()
    y.backward(retain_grad=True)
    numpy.testing.assert_array_equal(h.grad, 2 * h.array)
    numpy.testing.assert_array_equal(x.grad, 18 * x.array)


def test_leaf_gradients_do_not_share_memory():
    """A hook that scales one .grad in place must not change another's."""
    a, b = Variable(numpy.ones(3)), Variable(numpy.ones(3))
    c = Variable(numpy.ones(3))
    y = F.sum(a + F.reshape(F.reshape(b, (3, 1)), (3,)) - c)
    y.backward()
    a.grad *= 10
    numpy.testing.assert_array_equal(b.grad, 1.0)
    numpy.testing.assert_array_equal(c.grad, -1.0)


def test_backward_on_a_leaf_does_nothing():
    x = Variable(numpy.array([1.0]))
    x.backward()
    assert x.grad is None


def test_backward_with_a_given_gradient(rng):
    xa = rng.standard_normal((2, 3))
    gy = rng.standard_normal((2, 3))
    x = Variable(xa)
    y = F.exp(x)
    y.grad = gy
    y.backward()
    numpy.testing.assert_allclose(x.grad, gy * numpy.exp(xa))


def test_sum_of_scalar_losses_stays_an_array():
    """0-d + 0-d gives a NumPy scalar in NumPy; Variables keep 0-d arrays."""
    x = Variable(numpy.array([1.0, 2.0], dtype=numpy.float32))
    loss = F.sum(x) + F.sum(x * x)
    loss = loss * 0.5 + loss
    assert isinstance(loss.array, numpy.ndarray) and loss.shape == ()
    assert loss.dtype == numpy.float32
    loss.backward()
    numpy.testing.assert_allclose(x.grad, 1.5 * (1 + 2 * x.array))
    assert isinstance(x.grad, numpy.ndarray) and x.grad.dtype == numpy.float32


# -- NumPy arrays on the left, dtypes with Python scalars ----------------------------------------

def test_numpy_array_on_the_left(rng):
    a = rng.standard_normal((2, 3))
    x = Variable(rng.standard_normal((2, 3)))
    y = a + x
    assert isinstance(y, Variable)
    numpy.testing.assert_array_equal(y.array, a + x.array)
    for expr, grad in [(lambda: a + x, numpy.ones((2, 3))), (lambda: a - x, -numpy.ones((2, 3))),
                       (lambda: a * x, a), (lambda: a / x, -a / x.array ** 2)]:
        x.cleargrad()
        out = expr()
        assert isinstance(out, Variable)
        F.sum(out).backward()
        numpy.testing.assert_allclose(x.grad, grad, rtol=1e-12)

    m = rng.standard_normal((4, 2))
    w = Variable(rng.standard_normal((2, 5)))
    y = m @ w
    assert isinstance(y, Variable)
    numpy.testing.assert_allclose(y.array, m @ w.array, rtol=1e-12)
    F.sum(y).backward()
    numpy.testing.assert_allclose(w.grad, m.T @ numpy.ones((4, 5)), rtol=1e-12)


@pytest.mark.parametrize("expr", [
    lambda x: x * 2.0, lambda x: 2.0 * x, lambda x: 2 ** x, lambda x: x / 3, lambda x: 3 / x,
    lambda x: x + 1, lambda x: 1 - x, lambda x: x ** 2, lambda x: x ** 0.5, lambda x: -x,
    lambda x: x * numpy.float64(2.0), lambda x: numpy.float64(2.0) ** x,
], ids=["x*2.0", "2.0*x", "2**x", "x/3", "3/x", "x+1", "1-x", "x**2", "x**0.5", "-x",
        "x*npf64", "npf64**x"])
def test_float32_stays_float32_with_python_scalars(expr):
    x = Variable(numpy.array([1.0, 2.0], dtype=numpy.float32))
    y = expr(x)
    assert y.dtype == numpy.float32
    F.sum(y).backward()
    assert x.grad.dtype == numpy.float32


# -- broadcasting gradient shapes ---------------------------------------------------------------

@pytest.mark.parametrize("sa,sb", [((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)),
                                   ((4,), (3, 4)), ((3, 4), ()), ((1,), (2, 3)), ((2, 1, 4), (3, 1))])
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_broadcasting_gradients_are_summed_back(op, sa, sb, rng):
    a = rng.uniform(0.5, 2.0, sa)
    b = rng.uniform(0.5, 2.0, sb)
    va, vb = Variable(numpy.asarray(a)), Variable(numpy.asarray(b))
    y = {"add": va + vb, "sub": va - vb, "mul": va * vb, "div": va / vb}[op]
    F.sum(y).backward()
    assert va.grad.shape == sa and vb.grad.shape == sb
    A, B = numpy.broadcast_arrays(a, b)
    da = {"add": 1.0, "sub": 1.0, "mul": B, "div": 1 / B}[op] * numpy.ones(A.shape)
    db = {"add": 1.0, "sub": -1.0, "mul": A, "div": -A / B ** 2}[op] * numpy.ones(A.shape)

    def sum_back(g, shape):  # written out: sum the leading axes, then the stretched ones
        g = g.sum(axis=tuple(range(g.ndim - len(shape))))
        return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True).reshape(shape)

    numpy.testing.assert_allclose(va.grad, sum_back(da, sa), rtol=1e-12)
    numpy.testing.assert_allclose(vb.grad, sum_back(db, sb), rtol=1e-12)


# -- Variable basics ----------------------------------------------------------------------------

def test_variable_attributes(rng):
    a = rng.standard_normal((2, 3)).astype(numpy.float32)
    x = Variable(a, name="x")
    assert x.array is a and x.data is a
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and len(x) == 2
    assert x.dtype == numpy.float32 and x.xp is numpy
    assert x.creator is None and x.grad is None
    assert "x" in repr(x)
    y = F.tanh(x)
    assert y.creator is not None and y.creator.inputs[0] is x
    x.zerograd()
    numpy.testing.assert_array_equal(x.grad, numpy.zeros((2, 3)))
