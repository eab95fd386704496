"""Bad input gets a clear error naming the function, what it expected and what came."""
import importlib.util

import numpy
import pytest

import rnnviz
from rnnviz import Variable, backend, functions as F

# A stand-in for a CuPy array: the backend recognises CuPy by the array type's module name.
FakeCupyArray = type("ndarray", (numpy.ndarray,), {"__module__": "cupy._core.core"})


def fake_cupy(a):
    return numpy.asarray(a).view(FakeCupyArray)


def f32(*shape):
    return numpy.ones(shape, dtype=numpy.float32)


# -- shapes ------------------------------------------------------------------------------------------

def test_linear_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match="linear") as info:
        F.linear(Variable(f32(4, 3)), Variable(f32(2, 5)))
    assert "(4, 3)" in str(info.value) and "(2, 5)" in str(info.value)


def test_linear_bias_shape_mismatch():
    with pytest.raises(ValueError, match=r"linear.*\(3,\)"):
        F.linear(Variable(f32(4, 3)), Variable(f32(2, 3)), Variable(f32(3)))


@pytest.mark.parametrize("sa,sb", [((2, 3), (4, 5)), ((2, 3, 4), (2, 5, 6)), ((2, 3, 4), (3, 4, 5))])
def test_matmul_shape_mismatch_names_both_shapes(sa, sb):
    for call in (lambda: F.matmul(Variable(f32(*sa)), Variable(f32(*sb))),
                 lambda: Variable(f32(*sa)) @ Variable(f32(*sb))):
        with pytest.raises(ValueError, match="matmul") as info:
            call()
        assert str(sa) in str(info.value) and str(sb) in str(info.value)


def test_lstm_shape_mismatch():
    with pytest.raises(ValueError, match=r"lstm.*\(3, 2\).*\(3, 6\)"):
        F.lstm(Variable(f32(3, 2)), Variable(f32(3, 6)))


def test_reshape_size_mismatch():
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\).*\(4, 2\)"):
        F.reshape(Variable(f32(2, 3)), (4, 2))


def test_concat_shape_mismatch():
    with pytest.raises(ValueError, match="concat"):
        F.concat([Variable(f32(2, 3)), Variable(f32(3, 3))], axis=1)


def test_mean_squared_error_shape_mismatch():
    with pytest.raises(ValueError, match=r"mean_squared_error.*\(2, 3\).*\(3, 2\)"):
        F.mean_squared_error(Variable(f32(2, 3)), Variable(f32(3, 2)))


def test_softmax_cross_entropy_bad_labels():
    x = Variable(f32(2, 3))
    with pytest.raises(ValueError, match=r"softmax_cross_entropy.*\[0, 3\)"):
        F.softmax_cross_entropy(x, numpy.array([0, 3]))
    with pytest.raises(ValueError, match="softmax_cross_entropy"):
        F.softmax_cross_entropy(x, numpy.array([0, 1, 2]))
    with pytest.raises(TypeError, match="softmax_cross_entropy"):
        F.softmax_cross_entropy(x, numpy.array([0.0, 1.0]))


# -- dtypes ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu", "exp", "log", "softmax", "log_softmax"])
def test_integer_arrays_are_refused(name):
    with pytest.raises(TypeError, match=name) as info:
        getattr(F, name)(Variable(numpy.ones((2, 3), dtype=numpy.int32)))
    assert "int32" in str(info.value)


def test_integer_arrays_are_refused_by_linear_and_matmul():
    with pytest.raises(TypeError, match="linear.*int64"):
        F.linear(Variable(numpy.ones((2, 3), dtype=numpy.int64)), Variable(f32(4, 3)))
    with pytest.raises(TypeError, match="matmul.*int32"):
        F.matmul(Variable(numpy.ones((2, 3), dtype=numpy.int32)), Variable(f32(3, 4)))


def test_embed_id_needs_integer_ids():
    with pytest.raises(TypeError, match="embed_id"):
        F.embed_id(numpy.array([0.0, 1.0]), Variable(f32(3, 2)))


# -- backward without a gradient ---------------------------------------------------------------------

def test_backward_on_a_non_scalar_needs_a_gradient():
    y = F.tanh(Variable(f32(2, 3)))
    with pytest.raises(ValueError, match=r"\(2, 3\)") as info:
        y.backward()
    assert "grad" in str(info.value)


def test_backward_with_a_gradient_of_the_wrong_shape():
    y = F.tanh(Variable(f32(2, 3)))
    y.grad = f32(3, 2)
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        y.backward()


# -- NumPy mixed with CuPy -------------------------------------------------------------------------

def test_the_stand_in_looks_like_cupy():
    a = fake_cupy(f32(2))
    assert backend.is_cupy_array(a) and backend.device_of(a) == "gpu"
    assert backend.device_of(f32(2)) == "cpu"


@pytest.mark.parametrize("call,name", [
    (lambda g, c: F.linear(Variable(g), Variable(c)), "linear"),
    (lambda g, c: F.linear(Variable(c), Variable(g)), "linear"),
    (lambda g, c: Variable(g) + Variable(c), "add"),
    (lambda g, c: Variable(c) + g, "add"),
    (lambda g, c: Variable(c) * Variable(g), "mul"),
    (lambda g, c: F.matmul(Variable(g), Variable(c)), "matmul"),
], ids=["linear-gpu-x", "linear-gpu-W", "add", "add-raw", "mul", "matmul"])
def test_numpy_mixed_with_cupy(call, name):
    gpu, cpu = fake_cupy(f32(3, 3)), f32(3, 3)
    with pytest.raises(TypeError) as info:
        call(gpu, cpu)
    message = str(info.value)
    assert name in message.lower()
    assert "NumPy" in message and "CuPy" in message and "mix" in message


def test_to_device_gpu_without_cupy():
    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("CuPy is installed here, so asking for the GPU is not an error")
    with pytest.raises(RuntimeError, match="CuPy is not installed"):
        backend.to_device(f32(2), "gpu")
    assert backend.gpu_available() is False


def test_to_device_unknown_device():
    with pytest.raises(ValueError, match="to_device.*'tpu'"):
        backend.to_device(f32(2), "tpu")


def test_to_device_cpu_keeps_numpy():
    a = f32(2)
    assert backend.to_device(a, "cpu") is a or numpy.array_equal(backend.to_device(a, "cpu"), a)


# -- construction --------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [[1.0, 2.0], (1.0,), 3.0, 3, numpy.float32(1.0), "x"],
                         ids=["list", "tuple", "float", "int", "numpy-scalar", "str"])
def test_variable_needs_an_array(value):
    with pytest.raises(TypeError, match="Variable.*array"):
        Variable(value)


def test_variable_of_a_variable():
    with pytest.raises(TypeError, match="Variable"):
        Variable(Variable(f32(1)))


# -- embed_id ids out of range --------------------------------------------------------------------

@pytest.mark.parametrize("ids,ignore", [([0, 5], None), ([-1, 2], None), ([0, -2], -1), ([7], -1)])
def test_embed_id_out_of_range(ids, ignore):
    with pytest.raises(ValueError, match=r"embed_id.*\[0, 5\)"):
        F.embed_id(numpy.array(ids), Variable(f32(5, 2)), ignore_label=ignore)


# -- configuration and arguments -------------------------------------------------------------------

def test_using_config_unknown_name():
    with pytest.raises(AttributeError, match="using_config.*no_such"):
        with rnnviz.using_config("no_such", 1):
            pass


@pytest.mark.parametrize("ratio", [1.0, -0.1, 2.0])
def test_dropout_ratio(ratio):
    with pytest.raises(ValueError, match="dropout"):
        F.dropout(Variable(f32(2)), ratio=ratio)


def test_to_device_moves_a_variable_in_place():
    v = Variable(f32(2))
    v.grad = f32(2)
    assert backend.to_device(v, "cpu") is v
    assert isinstance(v.array, numpy.ndarray) and isinstance(v.grad, numpy.ndarray)
    if importlib.util.find_spec("cupy") is None:
        with pytest.raises(RuntimeError, match="CuPy is not installed"):
            backend.to_device(v, "gpu")
