"""Small helpers user functions need (Chainer's ``chainer.utils``)."""
import numpy

from ..core import backend
from .source import show_source, translate_source

__all__ = ["force_array", "force_type", "show_source", "size_of_shape", "translate_source"]


def force_array(x, dtype=None):
    """``x`` as an ndarray: NumPy turns ops on 0-d arrays into scalars, a Function must return arrays."""
    if numpy.isscalar(x) or isinstance(x, numpy.generic):
        return numpy.asarray(x, dtype=dtype)
    if dtype is not None and x.dtype != dtype:
        return x.astype(dtype)
    return x


def force_type(dtype, value):
    """``value`` converted to ``dtype`` (arrays are converted only if they differ)."""
    if numpy.isscalar(value):
        return dtype.type(value) if hasattr(dtype, "type") else numpy.dtype(dtype).type(value)
    if value.dtype != dtype:
        return value.astype(dtype, copy=False)
    return value


def size_of_shape(shape):
    """The number of elements of an array of this shape."""
    size = 1
    for n in shape:
        size *= int(n)
    return size


def get_array_module(*arrays):
    return backend.get_array_module(*arrays)
