"""Initializers: the distributions they promise, links taking them, clear errors."""
import numpy as np
import pytest

import rnnviz.links as L
from rnnviz import initializers as I

FAN_IN, FAN_OUT = 300, 200
SHAPE = (FAN_OUT, FAN_IN)  # a Linear weight: (out, in)


@pytest.mark.parametrize("init, std", [
    (I.Normal(0.3), 0.3),
    (I.LeCunNormal(2.0), 2.0 * np.sqrt(1 / FAN_IN)),
    (I.GlorotNormal(), np.sqrt(2 / (FAN_IN + FAN_OUT))),
    (I.HeNormal(), np.sqrt(2 / FAN_IN)),
])
def test_normal_family_has_the_promised_spread(init, std):
    np.random.seed(0)
    a = np.empty(SHAPE, np.float32)
    init(a)
    assert abs(a.mean()) < 4 * std / np.sqrt(a.size)
    assert a.std() == pytest.approx(std, rel=0.02)


@pytest.mark.parametrize("init, bound", [
    (I.Uniform(0.7), 0.7),
    (I.LeCunUniform(), np.sqrt(3 / FAN_IN)),
    (I.GlorotUniform(1.5), 1.5 * np.sqrt(6 / (FAN_IN + FAN_OUT))),
    (I.HeUniform(), np.sqrt(6 / FAN_IN)),
])
def test_uniform_family_fills_the_promised_interval(init, bound):
    np.random.seed(0)
    a = np.empty(SHAPE, np.float32)
    init(a)
    assert a.min() >= -bound and a.max() <= bound
    assert a.min() < -0.98 * bound and a.max() > 0.98 * bound
    assert a.std() == pytest.approx(bound / np.sqrt(3), rel=0.02)  # U(-a, a) has std a / sqrt(3)


def test_random_initializers_follow_numpys_global_seed():
    a, b = np.empty((3, 4)), np.empty((3, 4))
    np.random.seed(5)
    I.Normal(0.5)(a)
    np.random.seed(5)
    I.Normal(0.5)(b)
    np.testing.assert_array_equal(a, b)
    np.random.seed(5)
    np.testing.assert_allclose(a, 0.5 * np.random.standard_normal((3, 4)))


def test_constants():
    a = np.empty((2, 3), np.float32)
    I.Zero()(a)
    assert (a == 0).all()
    I.One()(a)
    assert (a == 1).all()
    I.Constant(2.5)(a)
    assert (a == 2.5).all()
    I.Constant(np.array([1.0, 2.0, 3.0]))(a)
    np.testing.assert_array_equal(a, [[1, 2, 3], [1, 2, 3]])
    I.Identity(3.0)(b := np.empty((2, 2)))
    np.testing.assert_array_equal(b, [[3, 0], [0, 3]])
    with pytest.raises(ValueError, match=r"Constant: the fill value has shape \(2,\)"):
        I.Constant(np.ones(2))(a)
    with pytest.raises(ValueError, match="square"):
        I.Identity()(a)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        I.HeNormal()(np.empty(3))


def test_links_take_initializers_numbers_and_arrays():
    lin = L.Linear(3, 2, initialW=I.Constant(0.5), initial_bias=I.One())
    assert (lin.W.array == 0.5).all() and (lin.b.array == 1).all() and lin.W.dtype == np.float32
    np.random.seed(1)
    lin = L.Linear(400, 300, initialW=I.HeNormal())
    assert lin.W.array.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    lazy = L.Linear(None, 2, initialW=I.Zero())
    lazy(np.ones((1, 5), np.float32))
    assert lazy.W.shape == (2, 5) and (lazy.W.array == 0).all()
    emb = L.EmbedID(10, 4, initialW=I.Uniform(0.1))
    assert np.abs(emb.W.array).max() <= 0.1
    lstm = L.LSTM(3, 2, upward_init=I.Zero(), lateral_init=I.One(), bias_init=0.25)
    assert (lstm.upward.W.array == 0).all() and (lstm.lateral.W.array == 1).all()
    np.testing.assert_array_equal(lstm.upward.b.array, [0.25, 0.25, 1, 1, 0.25, 0.25, 0.25, 0.25])


def test_generate_array_and_dtypes():
    a = I.generate_array(I.Constant(3), (2, 2), dtype=np.float64)
    assert a.dtype == np.float64 and (a == 3).all()
    assert I.generate_array(I.Zero(dtype=np.float16), (2,)).dtype == np.float16
    with pytest.raises(TypeError, match="dtype float64 but the initializer was made for float16"):
        I.Zero(dtype=np.float16)(np.empty(2))
    with pytest.raises(TypeError, match="expected an initializer"):
        I.generate_array("normal", (2,))
