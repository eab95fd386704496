"""Arithmetic on Variables: + - * / ** @ and unary minus, with broadcasting.

Each binary op sums its gradient back to each input's shape (``sum_to``), so broadcasting
``(B, N) + (N,)`` gives ``b.grad`` of shape ``(N,)``.
"""
import math

import numpy

from ..core import FunctionNode, Variable, apply1
from ._util import check_float, check_same_dtype, refuse_integers, scalar, sum_to


class _Binary(FunctionNode):
    """What the two-array operators check: one dtype (a bool mask may scale a float array) and
    shapes that broadcast; the error names the operator, not a NumPy internal.

    On two integer or bool arrays, ``check_exact`` decides: + - * are exact on integers (but
    True + True is True in NumPy: bools are refused there), / and ** are not (NumPy would return
    float64, or refuse a negative power, with an error that does not name the operator).
    """

    op = "?"

    def check_inputs(self, a, b):
        if a.dtype != b.dtype and not (a.dtype.kind == "b" and b.dtype.kind == "f"
                                       or b.dtype.kind == "b" and a.dtype.kind == "f"):
            check_same_dtype(f"{type(self).__name__.lower()} ({self.op})", a, b)
        if a.dtype.kind != "f" and b.dtype.kind != "f":
            self.check_exact(a, b)
        if a.shape != b.shape:
            try:
                numpy.broadcast_shapes(a.shape, b.shape)
            except ValueError:
                raise ValueError(f"{type(self).__name__.lower()} ({self.op}): shapes {tuple(a.shape)} and "
                                 f"{tuple(b.shape)} do not broadcast (trailing axes must be equal or 1)"
                                 ) from None

    def check_exact(self, a, b):
        """Two integer or bool arrays: allowed unless both are bool (see the class docstring)."""
        if a.dtype.kind == "b":
            raise TypeError(f"{type(self).__name__.lower()} ({self.op}): both inputs are bool arrays, for "
                            f"which NumPy's {self.op} is a logical operation, not arithmetic. Convert "
                            f"them first: x.astype(numpy.float32) (or numpy.int32 to count)")


def _refuse_two_integer_arrays(node, a, b):
    refuse_integers(f"{type(node).__name__.lower()} ({node.op})", a,
                    f"{node.op} of two {a.dtype} arrays is not integer arithmetic (NumPy would give "
                    f"float64, or refuse a negative power)")


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

    def check_exact(self, a, b):
        """Integers and bools multiply exactly (a bool times a bool is their product too)."""

    def forward(self, a, b):
        self.save_inputs(a, b)
        return a * b

    def backward(self, gy):
        a, b = self.saved_inputs
        return sum_to(gy * b, a.shape), sum_to(gy * a, b.shape)


class Div(_Binary):
    """y = a / b;  ga = gy / b, gb = -gy * a / b**2"""

    op = "/"
    check_exact = _refuse_two_integer_arrays

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
    check_exact = _refuse_two_integer_arrays

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

    def check_inputs(self, x):
        if x.dtype.kind == "b":
            raise TypeError(f"neg (-): got a bool array {tuple(x.shape)}, which has no negative; for the "
                            f"logical not write ~x, for numbers convert it first: x.astype(numpy.float32)")

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


def _check_constant(node, x, c):
    """An integer or bool array meets a Python number: fine with an int (the result is an exact
    integer), an error with a float (NumPy would silently compute in float64)."""
    if not isinstance(c, int):
        what = node.what or f"with the {type(c).__name__} {c!r}"
        refuse_integers(node.op, x, f"{what} NumPy would silently compute in float64")


class AddConstant(FunctionNode):
    """y = x + c;  gx = gy   (an integer array only with an integer c)"""

    op = "add (+)"
    what = None  # how the error describes the constant (div: "dividing by 2")

    def __init__(self, c):
        self.c = c

    def check_inputs(self, x):
        if x.dtype.kind != "f":
            _check_constant(self, x, self.c)

    def forward(self, x):
        return x + self.c

    def backward(self, gy):
        return gy


class MulConstant(FunctionNode):
    """y = c * x;  gx = c * gy   (an integer array only with an integer c)"""

    op = "mul (*)"
    what = None

    def __init__(self, c):
        self.c = c

    def check_inputs(self, x):
        if x.dtype.kind != "f":
            _check_constant(self, x, self.c)

    def forward(self, x):
        return x * self.c

    def backward(self, gy):
        return gy * self.c


class RSubConstant(FunctionNode):
    """y = c - x;  gx = -gy   (an integer array only with an integer c)"""

    op = "sub (-)"
    what = None

    def __init__(self, c):
        self.c = c

    def check_inputs(self, x):
        if x.dtype.kind != "f":
            _check_constant(self, x, self.c)

    def forward(self, x):
        return self.c - x

    def backward(self, gy):
        return -gy


class RDivConstant(FunctionNode):
    """y = c / x;  gx = -gy * c / x**2   (floating-point x only)"""

    def __init__(self, c):
        self.c = c

    def check_inputs(self, x):
        if x.dtype.kind != "f":
            refuse_integers("div (/)", x, f"{self.c!r} / an {x.dtype} array is not integer arithmetic "
                                          f"(NumPy would silently give float64)")

    def forward(self, x):
        self.save_inputs(x)
        return self.c / x

    def backward(self, gy):
        (x,) = self.saved_inputs
        return -gy * self.c / (x * x)


class PowConstant(FunctionNode):
    """y = x ** c;  gx = gy * c * x**(c-1)   (an integer x only with a whole power c >= 0)"""

    def __init__(self, c):
        self.c = c

    def check_inputs(self, x):
        if x.dtype.kind != "f":
            c = self.c
            if x.dtype.kind == "b" or isinstance(c, bool) or not isinstance(c, int) or c < 0:
                refuse_integers("pow (**)", x, f"an {x.dtype} array to the power {c!r} is not integer "
                                               f"arithmetic (NumPy would give float64 or refuse it)")

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
    """y = c ** x;  gx = gy * y * log(c)   (floating-point x only)"""

    def __init__(self, c):
        self.c = c

    def check_inputs(self, x):
        if x.dtype.kind != "f":
            refuse_integers("pow (**)", x, f"{self.c!r} ** an {x.dtype} array is not integer arithmetic "
                                           f"(its gradient needs log, and NumPy refuses negative powers)")

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
        node = AddConstant(-scalar(b))
        node.op = "sub (-)"
        return apply1(node, a)
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
        node = MulConstant(1.0 / scalar(b))
        node.op, node.what = "div (/)", f"dividing by {b!r},"
        return apply1(node, a)
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
