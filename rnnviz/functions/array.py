"""Functions that move elements around without arithmetic."""
import math

from ..core import FunctionNode, apply1
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
        if isinstance(n, int) and not isinstance(n, bool):
            if n < 1 or x.shape[self.axis] % n:
                raise ValueError(f"split_axis: cannot split axis {self.axis} of length "
                                 f"{x.shape[self.axis]} into {n} equal sections")

    def forward(self, x):
        return tuple(self.xp.split(x, self.indices_or_sections, axis=self.axis))

    def backward(self, *gys):
        return self.xp.concatenate(gys, axis=self.axis)


class GetItem(FunctionNode):
    """y = x[index];  gx = zeros with gy added at index"""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.in_shape = x.shape
        try:
            return x[self.index]
        except IndexError as err:
            raise IndexError(f"get_item: index {self.index!r} does not fit an array of shape "
                             f"{tuple(x.shape)}: {err}") from None

    def backward(self, gy):
        gx = self.xp.zeros(self.in_shape, dtype=gy.dtype)
        if self.xp.__name__ == "numpy":
            self.xp.add.at(gx, self.index, gy)
        else:
            import cupyx
            cupyx.scatter_add(gx, self.index, gy)
        return gx


def reshape(x, shape):
    return apply1(Reshape(tuple(shape)), x)


def transpose(x, axes=None):
    return apply1(Transpose(None if axes is None else tuple(axes)), x)


def broadcast_to(x, shape):
    return apply1(BroadcastTo(shape), x)


def concat(xs, axis=1):
    """Join a list of Variables along ``axis`` (default 1, as in Chainer)."""
    if len(xs) == 0:
        raise ValueError("concat: the list of arrays to join is empty")
    return apply1(Concat(axis), *xs)


def stack(xs, axis=0):
    """Stack Variables of one shape along a new ``axis``."""
    expanded = []
    for x in xs:
        shape = list(x.shape)
        shape.insert(axis if axis >= 0 else len(shape) + axis + 1, 1)
        expanded.append(reshape(x, shape))
    return concat(expanded, axis=axis)


def split_axis(x, indices_or_sections, axis):
    """Split ``x`` along ``axis`` into sections (an int) or at indices (a list); a tuple of Variables."""
    return tuple(SplitAxis(indices_or_sections, axis).apply((x,)))


def get_item(x, index):
    return apply1(GetItem(index), x)
