"""Misuse of Variables and functions: mixed dtypes (a float64 input into float32 weights, as Chainer
and PyTorch refuse), axes out of range, bad shapes and options, each error naming the function, what
it expected and what came. None of these may compute a silently promoted or wrong result."""
import numpy as np
import pytest

import rnnviz
import rnnviz.functions as F
import rnnviz.links as L
from rnnviz import graph as G
from rnnviz import Variable


def f32(*shape):
    return np.ones(shape, dtype=np.float32)


def f64(*shape):
    return np.ones(shape, dtype=np.float64)


V = Variable

# -- mixed dtypes ----------------------------------------------------------------------------------

MIXED = [
    ("linear", lambda: F.linear(V(f64(2, 3)), V(f32(4, 3)))),
    ("linear", lambda: L.Linear(3, 4)(f64(2, 3))),           # the learner's float64 data
    ("linear", lambda: L.RNN(3, 4)(f64(2, 3))),
    ("lstm_step", lambda: L.LSTM(3, 4)(f64(2, 3))),
    ("matmul", lambda: F.matmul(V(f32(2, 3)), V(f64(3, 4)))),
    ("matmul", lambda: V(f32(2, 3)) @ f64(3, 4)),
    ("lstm", lambda: F.lstm(V(f32(2, 3)), V(f64(2, 12)))),
    ("add (+)", lambda: V(f32(2, 3)) + V(f64(2, 3))),
    ("add (+)", lambda: V(f32(2, 3)) + f64(2, 3)),
    ("add (+)", lambda: f64(2, 3) + V(f32(2, 3))),
    ("sub (-)", lambda: V(f32(2, 3)) - np.ones((2, 3), np.int64)),
    ("mul (*)", lambda: V(f32(2, 3)) * V(f64(2, 3))),
    ("div (/)", lambda: V(f32(2, 3)) / V(f64(2, 3))),
    ("pow (**)", lambda: V(f32(2)) ** V(f64(2))),
    ("concat", lambda: F.concat([V(f32(2, 3)), V(f64(2, 3))])),
    ("mean_squared_error", lambda: F.mean_squared_error(V(f32(2, 3)), V(f64(2, 3)))),
]


@pytest.mark.parametrize("name, call", MIXED, ids=[f"{n}-{i}" for i, (n, _) in enumerate(MIXED)])
def test_mixed_dtypes_are_refused(name, call):
    with pytest.raises(TypeError) as info:
        call()
    msg = str(info.value)
    assert msg.startswith(name + ":") and "mix dtypes" in msg
    assert "float32" in msg and ("float64" in msg or "int64" in msg) and "astype" in msg


def test_python_numbers_and_bool_masks_keep_the_dtype():
    x = V(f32(2, 3))
    assert (x + 1.5).dtype == np.float32 and (2 * x).dtype == np.float32 and (x / 4).dtype == np.float32
    assert (x * np.array([True, False, True])).dtype == np.float32
    assert (x + np.float64(1.0)).dtype == np.float32  # a NumPy scalar is a constant too


def test_float64_everywhere_is_fine():
    layer = L.Linear(3, 4)
    layer.W.array = layer.W.array.astype(np.float64)
    layer.b.array = layer.b.array.astype(np.float64)
    assert layer(f64(2, 3)).dtype == np.float64


# -- shapes, axes and options ----------------------------------------------------------------------

CASES = [
    (lambda: V(f32(2, 3)) + V(f32(3, 2)), ValueError, ["add (+)", "(2, 3)", "(3, 2)", "broadcast"]),
    (lambda: F.sum(V(f32(2, 3)), axis=5), ValueError, ["sum", "axis 5", "-2 to 1"]),
    (lambda: F.sum(V(f32(2, 3)), axis=1.0), TypeError, ["sum", "axis", "1.0"]),
    (lambda: F.sum(V(f32(2, 3)), axis=(1, -1)), ValueError, ["sum", "same axis twice"]),
    (lambda: F.mean(V(f32(2, 3)), axis=-3), ValueError, ["mean", "axis -3"]),
    (lambda: F.softmax(V(f32(2, 3)), axis=2), ValueError, ["softmax", "axis 2"]),
    (lambda: F.log_softmax(V(f32(2, 3)), axis=-5), ValueError, ["log_softmax", "axis -5"]),
    (lambda: F.transpose(V(f32(2, 3)), (0, 0)), ValueError, ["transpose", "permutation", "(0, 0)"]),
    (lambda: F.transpose(V(f32(2, 3)), (0, 1, 2)), ValueError, ["transpose", "(2, 3)", "(0, 1, 2)"]),
    (lambda: F.concat([]), ValueError, ["concat", "empty"]),
    (lambda: F.split_axis(V(f32(2, 3)), 2, axis=1), ValueError, ["split_axis", "length 3", "2 equal"]),
    (lambda: F.split_axis(V(f32(2, 3)), 0, axis=1), ValueError, ["split_axis", "0 equal"]),
    (lambda: F.split_axis(V(f32(2, 3)), 3, axis=4), ValueError, ["split_axis", "axis 4"]),
    (lambda: V(f32(2, 3))[5], IndexError, ["get_item", "index 5", "(2, 3)"]),
    (lambda: F.softmax_cross_entropy(V(f32(2, 3)), np.array([0, 1]), reduce="sum"), ValueError,
     ["softmax_cross_entropy", "reduce", "'mean' or 'no'", "'sum'"]),
    (lambda: F.accuracy(V(f32(2, 3)), np.array([0, 1, 2])), ValueError, ["accuracy", "(2, 3)", "(3,)"]),
    (lambda: F.accuracy(V(f32(2, 3)), np.array([0.0, 1.0])), TypeError, ["accuracy", "integer labels"]),
    (lambda: V(f32(2, 3)) / 0, ZeroDivisionError, ["div (/)", "0"]),
    (lambda: V(np.array(["a", "b"])), TypeError, ["Variable", "numbers", "<U1"]),
    (lambda: V(np.array([object()])), TypeError, ["Variable", "object"]),
    (lambda: V([1.0, 2.0]), TypeError, ["Variable", "list", "numpy.asarray"]),
    (lambda: V(V(f32(2))), TypeError, ["Variable", ".array"]),
    (lambda: F.dropout(V(f32(2, 3)), 1.0), ValueError, ["dropout", "ratio", "1.0"]),
    (lambda: F.embed_id(np.array([5], np.int32), V(f32(3, 4))), ValueError, ["embed_id", "[0, 3)", "5"]),
    (lambda: F.embed_id(np.array([0.5]), V(f32(3, 4))), TypeError, ["embed_id", "integer", "float64"]),
    (lambda: L.LSTM(3, 4)(f32(2, 5)), ValueError, ["lstm_step", "(2, 5)", "(16, 3)"]),
    (lambda: L.Linear(3, 4)(f32(3)), ValueError, ["linear", "(batch, in_size)", "(3,)"]),
    (lambda: F.tanh(V(np.ones((2, 3), np.int32))), TypeError, ["tanh", "floating-point", "int32"]),
    (lambda: rnnviz.backend.to_device(f32(2), "tpu"), ValueError, ["to_device", "'tpu'"]),
    (lambda: rnnviz.using_config("trian", False).__enter__(), AttributeError, ["using_config", "'trian'", "train"]),
]


@pytest.mark.parametrize("call, error, words", CASES, ids=[str(i) for i in range(len(CASES))])
def test_bad_arguments_are_named(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_backward_of_a_vector_without_a_gradient():
    y = V(f32(2, 3)) * 2
    with pytest.raises(ValueError, match=r"backward: the output has shape \(2, 3\), not a single value"):
        y.backward()


def test_backward_with_a_gradient_of_the_wrong_shape_or_dtype():
    x = V(f32(2, 3))
    y = x * 2
    y.grad = f32(3, 2)
    with pytest.raises(ValueError, match=r"backward: .grad has shape \(3, 2\) but the variable has shape \(2, 3\)"):
        y.backward()
    y.grad = f64(2, 3)
    with pytest.raises(TypeError, match=r"backward: .grad is float64 but the variable is float32"):
        y.backward()
    assert x.grad is None


def test_correct_results_where_a_learner_might_doubt():
    """Not errors: broadcasting a bias, a 1-D matmul, and mean over a tuple of axes."""
    x = V(np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_allclose((x + V(f32(3))).array, x.array + 1)
    np.testing.assert_allclose(F.matmul(V(f32(3)), V(f32(3))).array, 3.0)
    np.testing.assert_allclose(F.mean(x, axis=(0, 1)).array, 2.5)
    np.testing.assert_allclose(F.sum(x, axis=-1).array, [3, 12])


# -- configuration, links' plumbing, graph and gradient checks ---------------------------------------------

CORE_CASES = [
    (lambda: rnnviz.using_config("train", "False").__enter__(), TypeError, ["using_config", "train", "True or False"]),
    (lambda: L.Linear(2, 2).copy("deep"), ValueError, ["Linear.copy", "'share' or 'copy'", "'deep'"]),
    (lambda: rnnviz.ChainList().append(np.zeros(2)), TypeError, ["ChainList.append", "Link", "ndarray"]),
    (lambda: L.Linear(2, 2).add_param("x"), ValueError, ["add_param", "shape", "'x'"]),
    (lambda: L.Linear(2, 2).to_device("cuda"), ValueError, ["to_device", "'cpu' or 'gpu'", "'cuda'"]),
    (lambda: G.trace(f32(2)), TypeError, ["trace", "Variables", "ndarray"]),
    (lambda: G.prepare(G.trace(V(f32(2)) * 2), max_nodes=0), ValueError,
     ["prepare", "max_nodes", "0"]),
    (lambda: G.layout(G.trace(V(f32(2)) * 2), "tree"), ValueError, ["layout", "'tree'"]),
    (lambda: rnnviz.gradient_check.check_backward("tanh", f64(2, 3), f64(2, 3)), TypeError,
     ["check_backward", "callable", "str"]),
    (lambda: rnnviz.gradient_check.check_backward(F.tanh, f64(2, 3), f64(3, 2)), ValueError,
     ["check_backward", "grad_outputs[0]", "(3, 2)", "(2, 3)"]),
    (lambda: rnnviz.gradient_check.numerical_grad(np.tanh, (f64(2),), (f64(2),), eps=0), ValueError,
     ["numerical_grad", "eps", "0"]),
]


@pytest.mark.parametrize("call, error, words", CORE_CASES, ids=[str(i) for i in range(len(CORE_CASES))])
def test_core_plumbing_arguments_are_named(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    assert rnnviz.config.train is True   # a refused using_config changes nothing
