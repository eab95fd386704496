"""Elementwise maths and reductions."""
from ..core import FunctionNode, Variable, apply1, as_array
from ._util import check_axis, check_float


class Exp(FunctionNode):
    """y = exp(x);  gx = gy * y"""

    def check_inputs(self, x):
        check_float("exp", x)

    def forward(self, x):
        y = self.xp.exp(x)
        self.save_outputs(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_outputs
        return gy * y


class Log(FunctionNode):
    """y = log(x);  gx = gy / x"""

    def check_inputs(self, x):
        check_float("log", x)

    def forward(self, x):
        self.save_inputs(x)
        return self.xp.log(x)

    def backward(self, gy):
        (x,) = self.saved_inputs
        return gy / x


class Sum(FunctionNode):
    """y = sum of x over ``axis``;  gx = gy broadcast back to x's shape

    Integer and bool arrays are allowed (unlike ``mean``): their sum is exact, a count for bools.
    """

    def __init__(self, axis=None, keepdims=False):
        self.axis = axis
        self.keepdims = keepdims

    def check_inputs(self, x):
        check_axis("sum", self.axis, x.ndim)

    def forward(self, x):
        self.in_shape = x.shape
        return self.xp.asarray(x.sum(axis=self.axis, keepdims=self.keepdims))

    def backward(self, gy):
        if not self.keepdims and self.axis is not None:
            axes = self.axis if isinstance(self.axis, tuple) else (self.axis,)
            nd = len(self.in_shape)
            for ax in sorted(a % nd for a in axes):
                gy = self.xp.expand_dims(gy, ax)
        return self.xp.broadcast_to(gy, self.in_shape).copy()


def exp(x):
    return apply1(Exp(), x)


def log(x):
    return apply1(Log(), x)


def sum(x, axis=None, keepdims=False):
    return apply1(Sum(axis, keepdims), x)


def mean(x, axis=None, keepdims=False):
    """Average over ``axis`` (all elements when None). Floating-point input only: the mean of
    integers would come out as float64, whatever the rest of the model computes in."""
    if not isinstance(x, Variable):
        x = as_array(x, "mean")
    if x.dtype.kind != "f":
        check_float("mean", x)
    shape = x.shape
    check_axis("mean", axis, len(shape))
    if axis is None:
        n = 1
        for s in shape:
            n *= s
    else:
        axes = axis if isinstance(axis, tuple) else (axis,)
        n = 1
        for a in axes:
            n *= shape[a]
    if n == 0:
        raise ValueError(f"mean: the average over no elements is undefined (x has shape {tuple(shape)}, "
                         f"axis={axis!r}); is the batch empty?")
    return sum(x, axis, keepdims) * (1.0 / n)
