"""Functions that move elements around without arithmetic."""
import math

import numpy

from ..core import FunctionNode, Variable, apply1
from ._util import check_axis, check_same_dtype, sum_to


class Reshape(FunctionNode):
    """y = x viewed with a new shape;  gx = gy reshaped back"""

    def __init__(self, shape):
        self.shape = shape

    def check_inputs(self, x):
        known = math.prod(d for d in self.shape if d != -1)   # one -1 is inferred from the rest
        free = self.shape.count(-1)
        fits = known == x.size if free == 0 else (free == 1 and known > 0 and x.size % known == 0)
        if not fits or min(self.shape, default=0) < -1:
            raise ValueError(f"reshape: cannot reshape an array of shape {tuple(x.shape)} "
                             f"({x.size} elements) into {self.shape}")

    def forward(self, x):
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return gy.reshape(self.in_shape)


class Transpose(FunctionNode):
    """y = x with axes permuted;  gx = gy with the inverse permutation"""

    def __init__(self, axes=None):
        self.axes = axes

    def check_inputs(self, x):
        if self.axes is None:
            return
        fits = [a % x.ndim for a in self.axes if isinstance(a, int) and -x.ndim <= a < x.ndim]
        if sorted(fits) != list(range(x.ndim)) or len(self.axes) != x.ndim:
            raise ValueError(f"transpose: axes must be a permutation of 0..{x.ndim - 1} for an array of "
                             f"shape {tuple(x.shape)}, got {self.axes}")

    def forward(self, x):
        if self.axes is not None:  # negative axes would break the inverse below
            self.axes = tuple(a + x.ndim if a < 0 else a for a in self.axes)
        return x.transpose(self.axes)

    def backward(self, gy):
        if self.axes is None:
            return gy.transpose()
        inverse = sorted(range(len(self.axes)), key=lambda i: self.axes[i])
        return gy.transpose(inverse)


class BroadcastTo(FunctionNode):
    """y = x broadcast to ``shape``;  gx = gy summed back to x's shape"""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def check_inputs(self, x):
        try:
            fits = min(self.shape, default=0) >= 0 and numpy.broadcast_shapes(x.shape, self.shape) == self.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"broadcast_to: cannot broadcast shape {tuple(x.shape)} to {self.shape}: "
                             f"aligned from the right, each axis of x must equal the target's or be 1")

    def forward(self, x):
        self.in_shape = x.shape
        return self.xp.broadcast_to(x, self.shape).copy()

    def backward(self, gy):
        return sum_to(gy, self.in_shape)


class Concat(FunctionNode):
    """y = [x1, x2, ...] joined along ``axis``;  gx_i = the matching slice of gy"""

    def __init__(self, axis):
        self.axis = axis

    def check_inputs(self, *xs):
        first = xs[0]
        axis = self.axis % first.ndim if -first.ndim <= self.axis < first.ndim else None
        rest = [x.shape[:axis] + x.shape[axis + 1:] if axis is not None and x.ndim == first.ndim else None
                for x in xs]
        if axis is None or any(r is None or r != rest[0] for r in rest):
            raise ValueError(f"concat: shapes {[tuple(x.shape) for x in xs]} cannot be joined "
                             f"along axis {self.axis}")
        check_same_dtype("concat", *xs)

    def forward(self, *xs):
        self.sections = [x.shape[self.axis] for x in xs]
        return self.xp.concatenate(xs, axis=self.axis)

    def backward(self, gy):
        bounds = list(self.xp.cumsum(self.sections)[:-1]) if self.xp.__name__ == "numpy" else \
            [int(sum(self.sections[:i + 1])) for i in range(len(self.sections) - 1)]
        return tuple(self.xp.split(gy, [int(b) for b in bounds], axis=self.axis))


class SplitAxis(FunctionNode):
    """[y1, y2, ...] = x split along ``axis``;  gx = the gy_i joined again"""

    def __init__(self, indices_or_sections, axis):
        self.indices_or_sections = indices_or_sections
        self.axis = axis

    def check_inputs(self, x):
        check_axis("split_axis", self.axis, x.ndim, allow_none=False, allow_tuple=False)
        n = self.indices_or_sections
        length = x.shape[self.axis]
        if isinstance(n, int) and not isinstance(n, bool):
            if n < 1 or length % n:
                raise ValueError(f"split_axis: cannot split axis {self.axis} of length "
                                 f"{length} into {n} equal sections")
            return
        try:
            cuts = [int(i) for i in n]
        except (TypeError, ValueError):
            raise TypeError(f"split_axis: indices_or_sections must be an int (equal sections) or a list "
                            f"of indices, got {n!r}") from None
        if any(b < a for a, b in zip([0] + cuts, cuts + [length])):
            raise ValueError(f"split_axis: the indices {cuts} must increase from 0 to {length} (the length "
                             f"of axis {self.axis}); NumPy would silently return empty pieces")

    def forward(self, x):
        return tuple(self.xp.split(x, self.indices_or_sections, axis=self.axis))

    def backward(self, *gys):
        return self.xp.concatenate(gys, axis=self.axis)


class GetItem(FunctionNode):
    """y = x[index];  gx = zeros with gy added at index"""

    def __init__(self, index):
        self.index = _plain_index(index)

    def forward(self, x):
        self.in_shape = x.shape
        try:
            return x[self.index]
        except IndexError as err:
            raise IndexError(f"get_item: index {self.index!r} does not fit an array of shape "
                             f"{tuple(x.shape)}: {err}") from None

    def backward(self, gy):
        gx = self.xp.zeros(self.in_shape, dtype=gy.dtype)
        self.xp.add.at(gx, self.index, gy)       # a repeated index adds up (CuPy: with atomics)
        return gx


def _shape(name, shape, what="shape"):
    """``shape`` as a tuple of ints (an int is a 1-tuple, as in NumPy), or a TypeError naming ``name``."""
    if isinstance(shape, (int, numpy.integer)) and not isinstance(shape, bool):
        return (int(shape),)
    try:
        dims = tuple(shape)
    except TypeError:
        dims = None
    if dims is None or any(isinstance(d, bool) or not isinstance(d, (int, numpy.integer)) for d in dims):
        raise TypeError(f"{name}: {what} must be a tuple of ints, got {shape!r}")
    return tuple(int(d) for d in dims)


def _plain_index(index):
    """An index with any Variable in it replaced by its array (indices carry no gradient)."""
    if isinstance(index, Variable):
        return index.array
    if isinstance(index, tuple):
        return tuple(i.array if isinstance(i, Variable) else i for i in index)
    return index


def _sequence_of_arrays(name, xs):
    """A list or tuple of Variables/arrays; one array passed alone is a TypeError naming ``name``
    (iterating it would silently take its rows as the arrays)."""
    if isinstance(xs, Variable) or hasattr(xs, "shape"):
        raise TypeError(f"{name}: expected a list (or tuple) of arrays, got a single "
                        f"{type(xs).__name__} of shape {tuple(xs.shape)}; wrap it: [x]")
    if isinstance(xs, (list, tuple)):
        return xs
    if isinstance(xs, (str, bytes)) or not hasattr(xs, "__iter__"):
        raise TypeError(f"{name}: expected a list (or tuple) of arrays, got {type(xs).__name__}")
    return list(xs)  # a generator


def reshape(x, shape):
    return apply1(Reshape(_shape("reshape", shape)), x)


def transpose(x, axes=None):
    return apply1(Transpose(None if axes is None else _shape("transpose", axes, "axes")), x)


def broadcast_to(x, shape):
    return apply1(BroadcastTo(_shape("broadcast_to", shape)), x)


def concat(xs, axis=1):
    """Join a list of Variables along ``axis`` (default 1, as in Chainer)."""
    xs = _sequence_of_arrays("concat", xs)
    if len(xs) == 0:
        raise ValueError("concat: the list of arrays to join is empty")
    if isinstance(axis, bool) or not isinstance(axis, (int, numpy.integer)):
        raise TypeError(f"concat: axis must be an int, got {type(axis).__name__} (concat takes one "
                        f"list: F.concat([a, b], axis=1), not F.concat(a, b))")
    return apply1(Concat(int(axis)), *xs)


def stack(xs, axis=0):
    """Stack Variables of one shape along a new ``axis``."""
    xs = _sequence_of_arrays("stack", xs)
    if len(xs) == 0:
        raise ValueError("stack: the list of arrays to stack is empty")
    ndim = len(xs[0].shape)
    if isinstance(axis, bool) or not isinstance(axis, (int, numpy.integer)) or not -ndim - 1 <= axis <= ndim:
        raise ValueError(f"stack: axis must be an int from {-ndim - 1} to {ndim} for arrays of "
                         f"{ndim} dimension(s) (the new axis goes there), got {axis!r}")
    expanded = []
    for x in xs:
        shape = list(x.shape)
        shape.insert(axis if axis >= 0 else len(shape) + axis + 1, 1)
        expanded.append(reshape(x, shape))
    return concat(expanded, axis=int(axis))


def split_axis(x, indices_or_sections, axis):
    """Split ``x`` along ``axis`` into sections (an int) or at indices (a list); a tuple of Variables."""
    return tuple(SplitAxis(indices_or_sections, axis).apply((x,)))


def get_item(x, index):
    return apply1(GetItem(index), x)


def install_variable_array_methods():
    """Give Variable ``.T``, ``reshape``, ``transpose`` and ``[]`` (the core does not import the
    functions)."""
    def reshape_method(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return reshape(self, shape)

    Variable.T = property(lambda self: transpose(self), doc="transpose(x): the axes reversed")
    Variable.reshape = reshape_method
    Variable.transpose = lambda self, *axes: transpose(self, axes or None)
    Variable.__getitem__ = get_item


install_variable_array_methods()
