"""Initializers: what a link's ``initialW`` / ``initial_bias`` may be (Chainer's names).

An initializer fills an array in place: ``Normal(0.1)(W)``. Random ones draw from NumPy's global
generator (``numpy.random.seed`` makes them repeatable), on the CPU, then copy to the array's
device. ``fan_in``/``fan_out`` of a weight of shape (out, in, k...) are in*k... and out*k...

=================  ==========================================
Normal(s)          N(0, s^2)
Uniform(s)         U(-s, s)
LeCunNormal(s)     N(0, s^2 / fan_in)
LeCunUniform(s)    U(-a, a), a = s sqrt(3 / fan_in)
GlorotNormal(s)    N(0, 2 s^2 / (fan_in + fan_out))
GlorotUniform(s)   U(-a, a), a = s sqrt(6 / (fan_in + fan_out))
HeNormal(s)        N(0, 2 s^2 / fan_in)
HeUniform(s)       U(-a, a), a = s sqrt(6 / fan_in)
Constant(v)        v everywhere (a number or an array of the same shape)
Zero, One          0, 1
Identity(s)        s * I (square matrices)
=================  ==========================================
"""
import numbers

import numpy

from ..core import backend

__all__ = ["Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
           "Initializer", "LeCunNormal", "LeCunUniform", "Normal", "One", "Uniform", "Zero",
           "generate_array", "get_fans"]


class Initializer:
    """Base: ``init(array)`` fills ``array`` in place. ``dtype`` (optional) is the dtype it wants."""

    def __init__(self, dtype=None):
        self.dtype = None if dtype is None else numpy.dtype(dtype)

    def __call__(self, array):
        raise NotImplementedError

    def _fill(self, array, values):
        """Copy NumPy ``values`` into ``array`` (on whatever device it lives)."""
        if self.dtype is not None and array.dtype != self.dtype:
            raise TypeError(f"{type(self).__name__}: the array has dtype {array.dtype} but the "
                            f"initializer was made for {self.dtype}")
        xp = backend.get_array_module(array)
        array[...] = values if xp is numpy else xp.asarray(values)

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if v is not None)
        return f"{type(self).__name__}({fields})"


def get_fans(shape):
    """(fan_in, fan_out) of a weight of shape (out, in, k...)."""
    if len(shape) < 2:
        raise ValueError(f"get_fans: a weight needs at least 2 dimensions (out, in), got shape {tuple(shape)}")
    receptive = int(numpy.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


class Constant(Initializer):
    """Every element ``fill_value`` (a number, or an array broadcast to the shape)."""

    def __init__(self, fill_value, dtype=None):
        super().__init__(dtype)
        self.fill_value = fill_value

    def __call__(self, array):
        value = self.fill_value
        if not isinstance(value, numbers.Number):
            value = numpy.asarray(backend.to_device(value, "cpu") if backend.is_cupy_array(value) else value)
            try:
                numpy.broadcast_to(value, array.shape)
            except ValueError:
                raise ValueError(f"Constant: the fill value has shape {value.shape}, which does not "
                                 f"fit an array of shape {tuple(array.shape)}") from None
        self._fill(array, value)


class Zero(Constant):
    """Every element 0."""

    def __init__(self, dtype=None):
        super().__init__(0.0, dtype)


class One(Constant):
    """Every element 1."""

    def __init__(self, dtype=None):
        super().__init__(1.0, dtype)


class Identity(Initializer):
    """``scale`` times the identity matrix (a square 2-D array)."""

    def __init__(self, scale=1.0, dtype=None):
        super().__init__(dtype)
        self.scale = scale

    def __call__(self, array):
        if array.ndim != 2 or array.shape[0] != array.shape[1]:
            raise ValueError(f"Identity: needs a square matrix, got shape {tuple(array.shape)}")
        self._fill(array, self.scale * numpy.identity(array.shape[0]))


class Normal(Initializer):
    """Samples of N(0, scale^2)."""

    def __init__(self, scale=0.05, dtype=None):
        super().__init__(dtype)
        self.scale = scale

    def __call__(self, array):
        self._fill(array, numpy.random.normal(0.0, self.scale, size=array.shape))


class Uniform(Initializer):
    """Samples of U(-scale, scale)."""

    def __init__(self, scale=0.05, dtype=None):
        super().__init__(dtype)
        self.scale = scale

    def __call__(self, array):
        self._fill(array, numpy.random.uniform(-self.scale, self.scale, size=array.shape))


class _FanScaled(Initializer):
    """Normal or Uniform with a scale computed from the array's fans."""

    uniform = False

    def __init__(self, scale=1.0, dtype=None):
        super().__init__(dtype)
        self.scale = scale

    def _std_or_bound(self, fan_in, fan_out):
        raise NotImplementedError

    def __call__(self, array):
        s = self._std_or_bound(*get_fans(array.shape))
        inner = Uniform(s, self.dtype) if self.uniform else Normal(s, self.dtype)
        inner(array)


class LeCunNormal(_FanScaled):
    """N(0, scale^2 / fan_in)."""

    def _std_or_bound(self, fan_in, fan_out):
        return self.scale * numpy.sqrt(1.0 / fan_in)


class LeCunUniform(_FanScaled):
    """U(-a, a) with a = scale * sqrt(3 / fan_in)."""

    uniform = True

    def _std_or_bound(self, fan_in, fan_out):
        return self.scale * numpy.sqrt(3.0 / fan_in)


class GlorotNormal(_FanScaled):
    """N(0, 2 scale^2 / (fan_in + fan_out))."""

    def _std_or_bound(self, fan_in, fan_out):
        return self.scale * numpy.sqrt(2.0 / (fan_in + fan_out))


class GlorotUniform(_FanScaled):
    """U(-a, a) with a = scale * sqrt(6 / (fan_in + fan_out))."""

    uniform = True

    def _std_or_bound(self, fan_in, fan_out):
        return self.scale * numpy.sqrt(6.0 / (fan_in + fan_out))


class HeNormal(_FanScaled):
    """N(0, 2 scale^2 / fan_in)."""

    def _std_or_bound(self, fan_in, fan_out):
        return self.scale * numpy.sqrt(2.0 / fan_in)


class HeUniform(_FanScaled):
    """U(-a, a) with a = scale * sqrt(6 / fan_in)."""

    uniform = True

    def _std_or_bound(self, fan_in, fan_out):
        return self.scale * numpy.sqrt(6.0 / fan_in)


def _as_initializer(initializer, where):
    if isinstance(initializer, Initializer) or callable(initializer):
        return initializer
    if isinstance(initializer, numbers.Number) or hasattr(initializer, "shape") or \
            isinstance(initializer, (list, tuple)):
        return Constant(initializer)
    raise TypeError(f"{where}: expected an initializer (e.g. initializers.Normal(0.1)), a number "
                    f"or an array, got {type(initializer).__name__}")


def generate_array(initializer, shape, xp=numpy, dtype=numpy.float32):
    """A new array of ``shape`` and ``dtype`` filled by ``initializer`` (an Initializer, a
    callable filling an array, a number or an array)."""
    init = _as_initializer(initializer, "generate_array")
    dtype = getattr(init, "dtype", None) or numpy.dtype(dtype)
    array = xp.empty(tuple(shape), dtype=dtype)
    init(array)
    return array
