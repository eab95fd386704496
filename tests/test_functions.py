"""Every differentiable function: backward against central differences in float64.

Forward values are checked against NumPy written out independently here; gradients with
``rnnviz.gradient_check.check_backward``, which is itself tested at the end of this file.
"""
import gc

import numpy
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import rnnviz
from rnnviz import FunctionNode, Variable, functions as F
from rnnviz.gradient_check import GradientCheckError, check_backward, numerical_grad

SMALL = settings(max_examples=8, deadline=None)
f64 = numpy.float64


def randn(rng, *shape):
    return numpy.asarray(rng.standard_normal(shape))  # an array even for shape ()


def away_from_zero(rng, *shape, low=0.5, high=2.0):
    """Values with |v| in [low, high]: safe denominators, and no kinks for relu."""
    return numpy.asarray(rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape))


def positive(rng, *shape, low=0.5, high=2.0):
    return numpy.asarray(rng.uniform(low, high, shape))


# -- arithmetic, with broadcasting shapes drawn by hypothesis ---------------------------------

pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)
seeds = st.integers(0, 2**32 - 1)

BINARY = {
    "add": (lambda a, b: a + b, randn),
    "sub": (lambda a, b: a - b, randn),
    "mul": (lambda a, b: a * b, randn),
    "div": (lambda a, b: a / b, away_from_zero),
    "pow": (lambda a, b: a ** b, randn),  # base made positive below
}


@pytest.mark.parametrize("op", sorted(BINARY))
@SMALL
@given(shapes=pairs, seed=seeds)
def test_binary_ops_broadcasting(op, shapes, seed):
    fn, second = BINARY[op]
    rng = numpy.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    a = positive(rng, *sa) if op == "pow" else randn(rng, *sa)
    b = second(rng, *sb)
    ga, gb = check_backward(fn, (a, b))
    assert ga.shape == sa and gb.shape == sb
    # forward equals NumPy's own broadcasting
    numpy.testing.assert_allclose(fn(Variable(a), Variable(b)).array, fn(a, b), rtol=1e-12)


@pytest.mark.parametrize("fn", [
    lambda x: x + 2.5, lambda x: 2.5 + x, lambda x: x - 1.5, lambda x: 1.5 - x,
    lambda x: x * 3.0, lambda x: 3.0 * x, lambda x: x / 3, lambda x: 3.0 / x,
    lambda x: x ** 2, lambda x: x ** 3, lambda x: x ** 0.5, lambda x: x ** -1.5,
    lambda x: 2 ** x, lambda x: 0.5 ** x, lambda x: -x, lambda x: +x * 1.0,
    lambda x: x * numpy.float64(2.0), lambda x: numpy.float32(2.0) - x,
], ids=["x+c", "c+x", "x-c", "c-x", "x*c", "c*x", "x/c", "c/x", "x**2", "x**3", "x**0.5",
        "x**-1.5", "2**x", "0.5**x", "neg", "pos", "x*npf64", "npf32-x"])
def test_constant_ops(fn, rng):
    x = positive(rng, 3, 2)
    check_backward(fn, (x,))
    numpy.testing.assert_allclose(fn(Variable(x)).array, fn(x), rtol=1e-12)


@pytest.mark.parametrize("fn", [
    lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b, lambda a, b: a / b,
])
def test_ops_with_a_plain_array(fn, rng):
    """A raw ndarray on either side is a constant: only the Variable gets a gradient."""
    a, b = away_from_zero(rng, 3, 4), away_from_zero(rng, 4)
    check_backward(lambda v: fn(v, b), (a,))
    check_backward(lambda v: fn(a, v), (b,))


# -- matmul and linear --------------------------------------------------------------------------

@pytest.mark.parametrize("sa,sb", [
    ((3, 4), (4, 2)),           # 2-D
    ((2, 3, 4), (2, 4, 5)),     # batched
    ((2, 3, 4), (4, 5)),        # batch broadcast on the left
    ((3, 4), (2, 4, 5)),        # ... and on the right
    ((2, 1, 3, 4), (5, 4, 2)),  # both broadcast
    ((4,), (4, 3)),             # 1-D left: a row
    ((3, 4), (4,)),             # 1-D right: a column
    ((4,), (4,)),               # 1-D both: the dot product
    ((2, 3, 4), (4,)),
])
def test_matmul(sa, sb, rng):
    a, b = randn(rng, *sa), randn(rng, *sb)
    y = F.matmul(Variable(a), Variable(b))
    assert y.shape == numpy.matmul(a, b).shape
    numpy.testing.assert_allclose(y.array, numpy.matmul(a, b), rtol=1e-12)
    check_backward(F.matmul, (a, b))
    check_backward(lambda u, v: u @ v, (a, b))


@pytest.mark.parametrize("bias", [True, False])
def test_linear(bias, rng):
    x, W, b = randn(rng, 4, 3), randn(rng, 2, 3), randn(rng, 2)
    expect = x @ W.T + (b if bias else 0)
    args = (x, W, b) if bias else (x, W)
    numpy.testing.assert_allclose(F.linear(*map(Variable, args)).array, expect, rtol=1e-12)
    check_backward(F.linear, args)


def test_linear_flattens_trailing_axes(rng):
    x, W, b = randn(rng, 2, 3, 2), randn(rng, 4, 6), randn(rng, 4)
    y = F.linear(Variable(x), Variable(W), Variable(b))
    numpy.testing.assert_allclose(y.array, x.reshape(2, 6) @ W.T + b, rtol=1e-12)
    check_backward(F.linear, (x, W, b))


@pytest.mark.parametrize("x_shape, n_batch_axes", [((2, 3, 4), 2), ((2, 3, 2, 2), 2), ((2, 3, 4), 1),
                                                   ((2, 3, 1, 4), 3)])
def test_linear_n_batch_axes(x_shape, n_batch_axes, rng):
    """The first n_batch_axes axes are batch axes (kept); the rest are flattened into the input."""
    batch = x_shape[:n_batch_axes]
    in_size = int(numpy.prod(x_shape[n_batch_axes:]))
    x, W, b = randn(rng, *x_shape), randn(rng, 5, in_size), randn(rng, 5)
    y = F.linear(Variable(x), Variable(W), Variable(b), n_batch_axes=n_batch_axes)
    assert y.shape == batch + (5,)
    expect = x.reshape(-1, in_size) @ W.T + b
    numpy.testing.assert_allclose(y.array, expect.reshape(batch + (5,)), rtol=1e-12)
    check_backward(lambda *a: F.linear(*a, n_batch_axes=n_batch_axes), (x, W, b))


def test_linear_n_batch_axes_must_be_positive(rng):
    with pytest.raises(ValueError, match="linear: n_batch_axes must be an integer from 1 to 1.*got 0"):
        F.linear(randn(rng, 2, 3), randn(rng, 4, 3), n_batch_axes=0)
    with pytest.raises(ValueError, match="linear: n_batch_axes must be an integer from 1 to 1.*got 3"):
        F.linear(randn(rng, 2, 3), randn(rng, 4, 3), n_batch_axes=3)


def test_linear_weight_used_at_many_steps(rng):
    """The engine sums the deferred weight gradients of several uses in one product."""
    xs = [randn(rng, 2, 3) for _ in range(4)]
    W, b = randn(rng, 5, 3), randn(rng, 5)
    check_backward(lambda W, b: F.tanh(F.linear(xs[0], W, b)) + F.linear(xs[1], W) * F.linear(xs[2], W, b)
                   - F.linear(xs[3], W), (W, b))


# -- elementwise maths --------------------------------------------------------------------------

UNARY = {
    "tanh": (F.tanh, numpy.tanh, randn),
    "sigmoid": (F.sigmoid, lambda v: 1 / (1 + numpy.exp(-v)), randn),
    "relu": (F.relu, lambda v: numpy.where(v > 0, v, 0.0), away_from_zero),
    "exp": (F.exp, numpy.exp, randn),
    "log": (F.log, numpy.log, positive),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@SMALL
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), seed=seeds)
def test_unary(name, shape, seed):
    fn, ref, draw = UNARY[name]
    x = draw(numpy.random.default_rng(seed), *shape)
    y = fn(Variable(x))
    assert y.shape == shape
    numpy.testing.assert_allclose(y.array, ref(x), rtol=1e-12)
    check_backward(fn, (x,))


def test_sigmoid_is_finite_for_large_inputs():
    y = F.sigmoid(Variable(numpy.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=numpy.float32)))
    assert numpy.isfinite(y.array).all()
    numpy.testing.assert_allclose(y.array, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-7)


# -- reductions -----------------------------------------------------------------------------------

@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (-1, 0), (0, 1, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name", ["sum", "mean"])
def test_sum_mean(name, axis, keepdims, rng):
    x = randn(rng, 2, 3, 2)
    fn = getattr(F, name)
    y = fn(Variable(x), axis=axis, keepdims=keepdims)
    ref = getattr(numpy, name)(x, axis=axis, keepdims=keepdims)
    assert y.shape == numpy.shape(ref)
    numpy.testing.assert_allclose(y.array, ref, rtol=1e-12)
    check_backward(lambda v: fn(v, axis=axis, keepdims=keepdims), (x,))


# -- moving elements around ---------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6, 2), (3, 4), (-1,), (2, -1, 2), (1, 12)])
def test_reshape(shape, rng):
    x = randn(rng, 2, 3, 2)
    assert F.reshape(Variable(x), shape).shape == x.reshape(shape).shape
    check_backward(lambda v: F.reshape(v, shape), (x,))
    check_backward(lambda v: v.reshape(*shape), (x,))


@pytest.mark.parametrize("axes", [None, (0, 1, 2), (2, 0, 1), (1, 2, 0), (-1, 0, -2), (-2, -1, 0)])
def test_transpose(axes, rng):
    x = randn(rng, 2, 3, 4)
    y = F.transpose(Variable(x), axes)
    numpy.testing.assert_array_equal(y.array, x.transpose(axes))
    gx, = check_backward(lambda v: F.transpose(v, axes), (x,))
    assert gx.shape == x.shape


def test_T_property(rng):
    x = randn(rng, 2, 3)
    check_backward(lambda v: v.T, (x,))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat(axis, rng):
    shapes = {0: [(1, 3), (2, 3), (3, 3)], 1: [(2, 1), (2, 2), (2, 4)], -1: [(2, 1), (2, 2), (2, 4)]}[axis]
    xs = [randn(rng, *s) for s in shapes]
    numpy.testing.assert_array_equal(F.concat([Variable(x) for x in xs], axis=axis).array,
                                     numpy.concatenate(xs, axis=axis))
    check_backward(lambda *vs: F.concat(vs, axis=axis), xs)


@pytest.mark.parametrize("sections,axis", [(3, 1), ([1, 4], 1), ([2], 0), (1, 0), ([0, 2], -1)])
def test_split_axis(sections, axis, rng):
    x = randn(rng, 3, 6)
    ys = F.split_axis(Variable(x), sections, axis)
    for y, ref in zip(ys, numpy.split(x, sections, axis=axis)):
        numpy.testing.assert_array_equal(y.array, ref)
    check_backward(lambda v: F.split_axis(v, sections, axis), (x,))


def test_split_axis_with_a_dropped_output(rng):
    """Only the first and last pieces reach the loss; the middle one is thrown away."""
    x = randn(rng, 3, 6)
    gx, = check_backward(lambda v: (lambda p: (p[0], p[2]))(F.split_axis(v, [1, 4], 1)), (x,))
    numpy.testing.assert_array_equal(gx[:, 1:4], 0.0)
    # and with the unused output's Variable actually garbage-collected before backward
    v = Variable(x)
    a, _, c = F.split_axis(v, [1, 4], 1)
    del _
    (F.sum(a) + F.sum(c * 2.0)).backward()
    expect = numpy.zeros_like(x)
    expect[:, :1], expect[:, 4:] = 1.0, 2.0
    numpy.testing.assert_array_equal(v.grad, expect)


@pytest.mark.parametrize("index", [
    1, -1, slice(1, 3), (slice(None), 2), (Ellipsis, 0), (1, slice(None, None, -1)),
    [0, 0, 2], numpy.array([2, 0, 2, 2]), ([0, 1, 1], [3, 3, 0]),
    (numpy.array([[0, 1], [1, 1]]), slice(1, 3)), (None, 0),
], ids=lambda i: repr(i)[:30])
def test_get_item(index, rng):
    x = randn(rng, 3, 4)
    y = Variable(x)[index]
    numpy.testing.assert_array_equal(y.array, x[index])
    check_backward(lambda v: F.get_item(v, index), (x,))


def test_get_item_repeated_indices_accumulate(rng):
    x = Variable(randn(rng, 4))
    F.sum(x[[1, 1, 1, 3]]).backward()
    numpy.testing.assert_array_equal(x.grad, [0.0, 3.0, 0.0, 1.0])


@pytest.mark.parametrize("src,dst", [((3,), (2, 3)), ((1, 3), (4, 3)), ((2, 1), (2, 5)),
                                     ((), (2, 2)), ((2, 1, 3), (4, 2, 2, 3))])
def test_broadcast_to(src, dst, rng):
    x = randn(rng, *src)
    numpy.testing.assert_array_equal(F.broadcast_to(Variable(x), dst).array, numpy.broadcast_to(x, dst))
    check_backward(lambda v: F.broadcast_to(v, dst), (x,))


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack(axis, rng):
    xs = [randn(rng, 2, 3) for _ in range(3)]
    numpy.testing.assert_array_equal(F.stack([Variable(x) for x in xs], axis=axis).array,
                                     numpy.stack(xs, axis=axis))
    check_backward(lambda *vs: F.stack(vs, axis=axis), xs)


# -- embedding ------------------------------------------------------------------------------------

@pytest.mark.parametrize("ignore_label", [None, -1])
def test_embed_id(ignore_label, rng):
    W = randn(rng, 5, 3)
    ids = numpy.array([[1, 4, 1], [0, 1, 2]], dtype=numpy.int32)
    if ignore_label is not None:
        ids[1, 0] = ignore_label
    y = F.embed_id(ids, Variable(W), ignore_label=ignore_label)
    assert y.shape == (2, 3, 3)
    for n in numpy.ndindex(ids.shape):
        expect = numpy.zeros(3) if ids[n] == ignore_label else W[ids[n]]
        numpy.testing.assert_array_equal(y.array[n], expect)
    check_backward(lambda i, w: F.embed_id(i, w, ignore_label=ignore_label), (ids, W))


def test_embed_id_gradient_rows_by_hand(rng):
    W = Variable(randn(rng, 4, 2))
    ids = numpy.array([3, 1, 3, -1, 3])
    gy = randn(rng, 5, 2)
    y = F.embed_id(ids, W, ignore_label=-1)
    y.grad = gy
    y.backward()
    expect = numpy.zeros((4, 2))
    for n, k in enumerate(ids):
        if k != -1:
            expect[k] += gy[n]
    numpy.testing.assert_allclose(W.grad, expect, rtol=1e-12)


# -- softmax and losses --------------------------------------------------------------------------

def _log_softmax_ref(x, axis):
    return x - numpy.logaddexp.reduce(x, axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [1, 0, -1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax(name, axis, rng):
    x = randn(rng, 3, 4) * 3
    ref = _log_softmax_ref(x, axis)
    ref = numpy.exp(ref) if name == "softmax" else ref
    fn = getattr(F, name)
    numpy.testing.assert_allclose(fn(Variable(x), axis=axis).array, ref, rtol=1e-10, atol=1e-14)
    check_backward(lambda v: fn(v, axis=axis), (x,))


def _sce_ref(x, t, ignore_label=-1):
    """Float64 reference: mean over the counted rows of logsumexp(x_n) - x_n[t_n]."""
    x = numpy.asarray(x, dtype=numpy.float64)
    rows = [numpy.logaddexp.reduce(x[n]) - x[n, k] for n, k in enumerate(t) if k != ignore_label]
    return sum(rows) / max(len(rows), 1)


def test_softmax_cross_entropy(rng):
    x = randn(rng, 5, 4)
    t = numpy.array([1, -1, 3, 0, -1], dtype=numpy.int32)
    loss = F.softmax_cross_entropy(Variable(x), t)
    numpy.testing.assert_allclose(loss.array, _sce_ref(x, t), rtol=1e-12)
    gx, _ = check_backward(F.softmax_cross_entropy, (x, t))
    numpy.testing.assert_array_equal(gx[[1, 4]], 0.0)  # ignored rows get no gradient


def test_softmax_cross_entropy_reduce_no(rng):
    x = randn(rng, 4, 3)
    t = numpy.array([2, -1, 0, 1])
    y = F.softmax_cross_entropy(Variable(x), t, reduce="no")
    expect = [0.0 if k == -1 else _sce_ref(x[n:n + 1], [k]) for n, k in enumerate(t)]
    numpy.testing.assert_allclose(y.array, expect, rtol=1e-12)
    check_backward(lambda v, tt: F.softmax_cross_entropy(v, tt, reduce="no"), (x, t))


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_softmax_cross_entropy_large_logits(dtype):
    x = numpy.array([[1e4, 1e4 - 1, 0.0], [0.0, -1e4, 1e4], [-1e4, -1e4, -1e4 + 3]], dtype=dtype)
    t = numpy.array([1, 2, 0])
    v = Variable(x)
    loss = F.softmax_cross_entropy(v, t)
    assert numpy.isfinite(loss.array)
    assert loss.dtype == dtype
    numpy.testing.assert_allclose(loss.array, _sce_ref(x, t), rtol=1e-6 if dtype == numpy.float32 else 1e-11)
    loss.backward()
    assert numpy.isfinite(v.grad).all()
    p = numpy.exp(_log_softmax_ref(x.astype(numpy.float64), 1))
    p[numpy.arange(3), t] -= 1
    numpy.testing.assert_allclose(v.grad, p / 3, atol=1e-7)
    check_backward(F.softmax_cross_entropy, (x.astype(numpy.float64), t))


def test_softmax_cross_entropy_all_ignored_is_zero(rng):
    x = Variable(randn(rng, 2, 3))
    loss = F.softmax_cross_entropy(x, numpy.array([-1, -1]))
    assert float(loss.array) == 0.0
    loss.backward()
    numpy.testing.assert_array_equal(x.grad, 0.0)


def test_mean_squared_error(rng):
    a, b = randn(rng, 3, 4), randn(rng, 3, 4)
    numpy.testing.assert_allclose(F.mean_squared_error(Variable(a), Variable(b)).array,
                                  ((a - b) ** 2).mean(), rtol=1e-12)
    check_backward(F.mean_squared_error, (a, b))


def test_accuracy():
    y = numpy.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]], dtype=numpy.float32)
    assert float(F.accuracy(y, numpy.array([1, 0, 0, 1])).array) == 0.5
    assert float(F.accuracy(y, numpy.array([1, 0, -1, -1]), ignore_label=-1).array) == 1.0


# -- dropout --------------------------------------------------------------------------------------

def test_dropout_training_time(rng):
    x = positive(rng, 200, 50)
    numpy.random.seed(3)
    y = F.dropout(Variable(x), ratio=0.3).array
    dropped = y == 0
    assert 0.25 < dropped.mean() < 0.35
    numpy.testing.assert_allclose(y[~dropped], x[~dropped] / 0.7, rtol=1e-12)
    numpy.random.seed(3)
    numpy.testing.assert_array_equal(F.dropout(Variable(x), ratio=0.3).array, y)  # the seed fixes it
    # the gradient goes exactly where the values went
    v = Variable(x)
    numpy.random.seed(3)
    F.sum(F.dropout(v, ratio=0.3)).backward()
    numpy.testing.assert_allclose(v.grad, numpy.where(dropped, 0.0, 1 / 0.7), rtol=1e-12)


def test_dropout_gradient_check(rng):
    def fn(v):
        numpy.random.seed(0)  # the same mask at every probe
        return F.dropout(v, ratio=0.4)
    check_backward(fn, (randn(rng, 4, 5),))


def test_dropout_is_the_identity_at_test_time(rng):
    x = Variable(randn(rng, 3, 4))
    gc.collect()
    before = rnnviz.live_function_node_count()
    with rnnviz.using_config("train", False):
        y = F.dropout(x, ratio=0.5)
    numpy.testing.assert_array_equal(y.array, x.array)
    assert y.creator is None
    gc.collect()
    assert rnnviz.live_function_node_count() == before
    assert rnnviz.config.train is True


# -- the fused LSTM --------------------------------------------------------------------------------

def _sig(v):
    return 1 / (1 + numpy.exp(-v))


def test_lstm_matches_the_documented_formulas(rng):
    B, H = 3, 2
    c_prev, x = randn(rng, B, H), randn(rng, B, 4 * H) * 2
    a_i, a_f, a_g, a_o = (x[:, k * H:(k + 1) * H] for k in range(4))  # blocks [i, f, g, o]
    c_ref = _sig(a_f) * c_prev + _sig(a_i) * numpy.tanh(a_g)
    h_ref = _sig(a_o) * numpy.tanh(c_ref)
    c, h = F.lstm(Variable(c_prev), Variable(x))
    numpy.testing.assert_allclose(c.array, c_ref, rtol=1e-12)
    numpy.testing.assert_allclose(h.array, h_ref, rtol=1e-12)


def test_lstm_gate_layout_is_i_f_g_o():
    """Saturate each block so the layout is readable from the output."""
    H, big = 2, 40.0
    c_prev = numpy.array([[3.0, -3.0]])
    block = lambda v: numpy.full((1, H), v)
    # input gate open, forget gate shut, candidate 0.5, output gate open: c = 0.5, h = tanh(0.5)
    x = numpy.concatenate([block(big), block(-big), block(numpy.arctanh(0.5)), block(big)], axis=1)
    c, h = F.lstm(Variable(c_prev), Variable(x))
    numpy.testing.assert_allclose(c.array, 0.5, rtol=1e-12)
    numpy.testing.assert_allclose(h.array, numpy.tanh(0.5), rtol=1e-12)
    # input gate shut, forget gate open: c = c_prev; output gate shut: h = 0
    x = numpy.concatenate([block(-big), block(big), block(0.9), block(-big)], axis=1)
    c, h = F.lstm(Variable(c_prev), Variable(x))
    numpy.testing.assert_allclose(c.array, c_prev, rtol=1e-12)
    numpy.testing.assert_allclose(h.array, 0.0, atol=1e-15)


def test_lstm_gradients(rng):
    c_prev, x = randn(rng, 3, 2), randn(rng, 3, 8)
    check_backward(F.lstm, (c_prev, x))
    check_backward(lambda c, v: F.lstm(c, v)[1], (c_prev, x))  # c dropped: only h used
    check_backward(lambda c, v: F.lstm(c, v)[0], (c_prev, x))  # h dropped


def test_lstm_step_is_the_affine_map_then_the_cell(rng):
    B, I, H = 3, 4, 2
    c_prev, h_prev, x = randn(rng, B, H), randn(rng, B, H), randn(rng, B, I)
    W_x, W_h, b = randn(rng, 4 * H, I), randn(rng, 4 * H, H), randn(rng, 4 * H)
    c, h = F.lstm_step(Variable(c_prev), Variable(h_prev), Variable(x), Variable(W_x), Variable(W_h),
                       Variable(b))
    c_ref, h_ref = F.lstm(Variable(c_prev), Variable(x @ W_x.T + h_prev @ W_h.T + b))
    numpy.testing.assert_allclose(c.array, c_ref.array, rtol=1e-12)
    numpy.testing.assert_allclose(h.array, h_ref.array, rtol=1e-12)
    c0, h0 = F.lstm_step(Variable(c_prev), None, Variable(x), Variable(W_x), None, Variable(b))
    c0_ref, h0_ref = F.lstm(Variable(c_prev), Variable(x @ W_x.T + b))
    numpy.testing.assert_allclose(h0.array, h0_ref.array, rtol=1e-12)


def test_lstm_step_gradients(rng):
    """Every input's gradient, by finite differences: c_prev, h_prev, x and the three weights;
    the first step (no h_prev), and each output alone."""
    B, I, H = 3, 4, 2
    args = (randn(rng, B, H), randn(rng, B, H), randn(rng, B, I),
            randn(rng, 4 * H, I), randn(rng, 4 * H, H), randn(rng, 4 * H))
    check_backward(F.lstm_step, args)
    check_backward(lambda *a: F.lstm_step(*a)[1], args)      # c dropped: only h used
    check_backward(lambda *a: F.lstm_step(*a)[0], args)      # h dropped
    c_prev, _, x, W_x, _, b = args
    check_backward(lambda c, v, W, bb: F.lstm_step(c, None, v, W, None, bb), (c_prev, x, W_x, b))
    # the same weights at three steps (the gradients of the three uses are summed)
    xs = [randn(rng, B, I) for _ in range(3)]

    def three_steps(c, h, W_x, W_h, b):
        for v in xs:
            c, h = F.lstm_step(c, h, v, W_x, W_h, b)
        return h
    check_backward(three_steps, (args[0], args[1], args[3], args[4], args[5]))


# -- the gradient checker itself ------------------------------------------------------------------

class WrongSquare(FunctionNode):
    """y = x**2, with the derivative wrongly written as x (should be 2x)."""

    def forward(self, x):
        self.save_inputs(x)
        return x * x

    def backward(self, gy):
        (x,) = self.saved_inputs
        return gy * x


class WrongSecondInput(FunctionNode):
    """y = a * b, right for a, wrong sign for b."""

    def forward(self, a, b):
        self.save_inputs(a, b)
        return a * b

    def backward(self, gy):
        a, b = self.saved_inputs
        return gy * b, -gy * a


class WrongShape(FunctionNode):
    """y = a + b (b broadcast), forgetting to sum b's gradient back to its shape."""

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy, gy


def test_check_backward_catches_a_wrong_derivative(rng):
    x = positive(rng, 3)
    with pytest.raises(GradientCheckError, match="input 0"):
        check_backward(lambda v: WrongSquare().apply((v,))[0], (x,))
    with pytest.raises(AssertionError):  # a GradientCheckError is an AssertionError for pytest
        check_backward(lambda v: WrongSquare().apply((v,))[0], (x,))


def test_check_backward_names_the_wrong_input(rng):
    a, b = positive(rng, 2, 3), positive(rng, 2, 3)
    with pytest.raises(GradientCheckError, match="input 1") as info:
        check_backward(lambda u, v: WrongSecondInput().apply((u, v))[0], (a, b))
    assert "input 0" not in str(info.value)


def test_check_backward_catches_a_wrong_gradient_shape(rng):
    with pytest.raises(GradientCheckError, match="input 1"):
        check_backward(lambda u, v: WrongShape().apply((u, v))[0], (randn(rng, 2, 3), randn(rng, 3)))


def test_check_backward_passes_a_right_one_and_leaves_inputs_alone(rng):
    x = positive(rng, 4, 3).T  # not contiguous
    keep = x.copy()
    gx, = check_backward(lambda v: v * v, (x,), grad_outputs=numpy.ones((3, 4)))
    numpy.testing.assert_allclose(gx, 2 * keep, rtol=1e-12)
    numpy.testing.assert_array_equal(x, keep)


def test_numerical_grad_on_a_known_function():
    x = numpy.array([0.3, -1.2, 2.0])
    g, = numerical_grad(lambda v: numpy.sin(v) * v, [x], numpy.ones(3), eps=1e-5)
    numpy.testing.assert_allclose(g, numpy.cos(x) * x + numpy.sin(x), rtol=1e-8)


def test_a_large_weights_step_product_taken_the_other_way_round_is_the_same(rng, monkeypatch):
    """``rows_times_transposed`` computes x W^T as (W x^T)^T for a large W (PTB's LSTM): with every
    weight counted as large, the step gives the same values and gradients."""
    from rnnviz.functions import recurrent

    x, W = randn(rng, 3, 4), randn(rng, 5, 4)
    plain = recurrent.rows_times_transposed(x, W)
    monkeypatch.setattr(recurrent, "LARGE_WEIGHT", 0)
    other_way = recurrent.rows_times_transposed(x, W)
    assert not other_way.flags.c_contiguous and plain.flags.c_contiguous   # the other branch ran
    numpy.testing.assert_allclose(other_way, plain, rtol=1e-13)
    test_lstm_step_is_the_affine_map_then_the_cell(rng)
    test_lstm_step_gradients(rng)
