"""Arithmetic on Variables: + - * / ** @ and unary minus, with broadcasting.

Each binary op sums its gradient back to each input's shape (``sum_to``), so broadcasting
``(B, N) + (N,)`` gives ``b.grad`` of shape ``(N,)``.
"""
import math

import numpy

from ..core import FunctionNode, Variable, apply1
from ._util import check_float, check_same_dtype, scalar, sum_to


class _Binary(FunctionNode):
    """What the two-array operators check: one dtype (a bool mask may scale a float array) and
    shapes that broadcast; the error names the operator, not a NumPy internal."""

    op = "?"

    def check_inputs(self, a, b):
        if a.dtype != b.dtype and not (a.dtype.kind == "b" and b.dtype.kind == "f"
                                       or b.dtype.kind == "b" and a.dtype.kind == "f"):
            check_same_dtype(f"{type(self).__name__.lower()} ({self.op})", a, b)
        if a.shape != b.shape:
            try:
                numpy.broadcast_shapes(a.shape, b.shape)
            except ValueError:
                raise ValueError(f"{type(self).__name__.lower()} ({self.op}): shapes {tuple(a.shape)} and "
                                 f"{tuple(b.shape)} do not broadcast (trailing axes must be equal or 1)"
                                 ) from None


class Add(_Binary):
    """y = a + b;  ga = gy, gb = gy (summed to each shape)"""

    op = "+"

    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return a + b

    def backward(self, gy):
        sa, sb = self.shapes
        if sa == sb == gy.shape:  # no broadcasting: the common case (a loss summed over steps)
            return gy, gy
        return sum_to(gy, sa), sum_to(gy, sb)


class Sub(_Binary):
    """y = a - b;  ga = gy, gb = -gy"""

    op = "-"

    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return a - b

    def backward(self, gy):
        sa, sb = self.shapes
        return sum_to(gy, sa), -sum_to(gy, sb)


class Mul(_Binary):
    """y = a * b;  ga = gy * b, gb = gy * a"""

    op = "*"

    def forward(self, a, b):
        self.save_inputs(a, b)
        return a * b

    def backward(self, gy):
        a, b = self.saved_inputs
        return sum_to(gy * b, a.shape), sum_to(gy * a, b.shape)


class Div(_Binary):
    """y = a / b;  ga = gy / b, gb = -gy * a / b**2"""

    op = "/"

    def forward(self, a, b):
        self.save_inputs(a, b)
        return a / b

    def backward(self, gy):
        a, b = self.saved_inputs
        ga = gy / b
        return sum_to(ga, a.shape), sum_to(-ga * a / b, b.shape)


class Pow(_Binary):
    """y = a ** b;  ga = gy * b * a**(b-1), gb = gy * y * log(a)"""

    op = "**"

    def forward(self, a, b):
        y = a ** b
        self.save_inputs(a, b)
        self.save_outputs(y)
        return y

    def backward(self, gy):
        a, b = self.saved_inputs
        (y,) = self.saved_outputs
        ga = gy * b * a ** (b - 1)
        gb = gy * y * self.xp.log(a)
        return sum_to(ga, a.shape), sum_to(gb, b.shape)


class Neg(FunctionNode):
    """y = -x;  gx = -gy"""

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class AddConstant(FunctionNode):
    """y = x + c;  gx = gy"""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x + self.c

    def backward(self, gy):
        return gy


class MulConstant(FunctionNode):
    """y = c * x;  gx = c * gy"""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x * self.c

    def backward(self, gy):
        return gy * self.c


class RSubConstant(FunctionNode):
    """y = c - x;  gx = -gy"""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return self.c - x

    def backward(self, gy):
        return -gy


class RDivConstant(FunctionNode):
    """y = c / x;  gx = -gy * c / x**2"""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        self.save_inputs(x)
        return self.c / x

    def backward(self, gy):
        (x,) = self.saved_inputs
        return -gy * self.c / (x * x)


class PowConstant(FunctionNode):
    """y = x ** c;  gx = gy * c * x**(c-1)"""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        self.save_inputs(x)
        return x ** self.c

    def backward(self, gy):
        (x,) = self.saved_inputs
        c = self.c
        if c == 2:
            return gy * 2 * x
        return gy * c * x ** (c - 1)


class RPowConstant(FunctionNode):
    """y = c ** x;  gx = gy * y * log(c)"""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        y = self.c ** x
        self.save_outputs(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_outputs
        return gy * y * math.log(self.c)  # a Python float keeps float32 float32


class MatMul(FunctionNode):
    """y = a @ b;  ga = gy @ b^T, gb = a^T @ gy  (leading batch axes broadcast)"""

    def check_inputs(self, a, b):
        check_float("matmul", a, b)
        if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not fit: "
                             f"expected a (..., M, K) and b (..., K, N) with the same K")
        try:
            numpy.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not fit: "
                             f"the batch axes {tuple(a.shape[:-2])} and {tuple(b.shape[:-2])} "
                             f"do not broadcast") from None

    def forward(self, a, b):
        self.save_inputs(a, b)
        return a @ b

    def backward(self, gy):
        a, b = self.saved_inputs
        ga = gy @ b.swapaxes(-1, -2)
        gb = a.swapaxes(-1, -2) @ gy
        return sum_to(ga, a.shape), sum_to(gb, b.shape)


def _is_constant(x):
    return isinstance(x, (int, float)) or (numpy.isscalar(x) and not isinstance(x, (str, bytes)))


def _binary(node_cls, a, b):
    return apply1(node_cls(), a, b)


def add(a, b):
    if _is_constant(b):
        return apply1(AddConstant(scalar(b)), a)
    return _binary(Add, a, b)


def radd(a, b):
    return add(a, b)


def sub(a, b):
    if _is_constant(b):
        return apply1(AddConstant(-scalar(b)), a)
    return _binary(Sub, a, b)


def rsub(a, b):
    if _is_constant(b):
        return apply1(RSubConstant(scalar(b)), a)
    return _binary(Sub, b, a)


def mul(a, b):
    if _is_constant(b):
        return apply1(MulConstant(scalar(b)), a)
    return _binary(Mul, a, b)


def rmul(a, b):
    return mul(a, b)


def div(a, b):
    if _is_constant(b):
        if b == 0:
            raise ZeroDivisionError("div (/): dividing a Variable by the number 0")
        return apply1(MulConstant(1.0 / scalar(b)), a)
    return _binary(Div, a, b)


def rdiv(a, b):
    if _is_constant(b):
        return apply1(RDivConstant(scalar(b)), a)
    return _binary(Div, b, a)


def pow(a, b):
    if _is_constant(b):
        return apply1(PowConstant(scalar(b)), a)
    return _binary(Pow, a, b)


def rpow(a, b):
    if _is_constant(b):
        return apply1(RPowConstant(scalar(b)), a)
    return _binary(Pow, b, a)


def neg(x):
    return apply1(Neg(), x)


def matmul(a, b):
    """Matrix product of Variables or arrays (2-D or batched; a 1-D side is treated as a row/column)."""
    a_vec = getattr(a, "ndim", numpy.ndim(a)) == 1
    b_vec = getattr(b, "ndim", numpy.ndim(b)) == 1
    if a_vec or b_vec:
        from .array import reshape
        if a_vec:
            a = reshape(a, (1, -1))
        if b_vec:
            b = reshape(b, (-1, 1))
        y = apply1(MatMul(), a, b)
        shape = y.shape[:-2] + (() if a_vec else y.shape[-2:-1]) + (() if b_vec else y.shape[-1:])
        return reshape(y, shape)
    return apply1(MatMul(), a, b)


def rmatmul(a, b):
    return matmul(b, a)


def install_variable_arithmetics():
    """Give Variable its operators (the core does not import the functions)."""
    Variable.__add__ = add
    Variable.__radd__ = radd
    Variable.__sub__ = sub
    Variable.__rsub__ = rsub
    Variable.__mul__ = mul
    Variable.__rmul__ = rmul
    Variable.__truediv__ = div
    Variable.__rtruediv__ = rdiv
    Variable.__pow__ = pow
    Variable.__rpow__ = rpow
    Variable.__neg__ = neg
    Variable.__pos__ = lambda x: x
    Variable.__matmul__ = matmul
    Variable.__rmatmul__ = rmatmul


install_variable_arithmetics()
