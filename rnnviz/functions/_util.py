"""Small helpers shared by the functions: broadcasting sums and input checks."""


def sum_to(x, shape):
    """Sum ``x`` down to ``shape``: the gradient of broadcasting ``shape`` up to ``x.shape``."""
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1)
    y = x.sum(axis=axes, keepdims=True)
    if lead:
        y = y.reshape(y.shape[lead:])
    return y


def check_float(name, *arrays):
    """Raise TypeError naming ``name`` unless every array has a floating dtype, the same for all
    (a float64 input into float32 weights is an error, as in Chainer and PyTorch)."""
    first = arrays[0].dtype
    for a in arrays:
        if a.dtype.kind != "f":
            raise TypeError(f"{name}: expected a floating-point array (float32 or float64), "
                            f"got {a.dtype} with shape {tuple(a.shape)}; convert it with .astype(numpy.float32)")
        if a.dtype != first:
            check_same_dtype(name, *arrays)


def refuse_integers(name, x, why):
    """Raise TypeError naming ``name``: ``x`` (an integer or bool array) cannot go where the math
    needs real numbers; ``why`` says what NumPy would silently do instead."""
    raise TypeError(f"{name}: expected a floating-point array (float32 or float64), got {x.dtype} with "
                    f"shape {tuple(x.shape)}; {why}. Convert it first: x.astype(numpy.float32)")


def check_same_dtype(name, *arrays):
    """Raise TypeError naming ``name`` when the arrays' dtypes differ (NumPy would promote silently)."""
    dtypes = {a.dtype for a in arrays}
    if len(dtypes) > 1:
        listed = ", ".join(f"argument {i + 1} {a.dtype} {tuple(a.shape)}" for i, a in enumerate(arrays))
        wanted = "float32" if any(a.dtype == "float32" for a in arrays) else str(arrays[0].dtype)
        raise TypeError(f"{name}: the inputs mix dtypes ({listed}); NumPy would silently compute in the "
                        f"wider one. Convert them to one dtype, e.g. x.astype(numpy.{wanted})")


def check_axis(name, axis, ndim, allow_none=True, allow_tuple=True):
    """Raise an error naming ``name`` unless ``axis`` (an int, a tuple of ints, or None) fits ``ndim``."""
    if axis is None and allow_none:
        return
    axes = axis if isinstance(axis, tuple) and allow_tuple else (axis,)
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, int) and not hasattr(a, "__index__"):
            raise TypeError(f"{name}: axis must be an int{' or a tuple of ints' if allow_tuple else ''}"
                            f"{' or None' if allow_none else ''}, got {axis!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}: axis {a} is out of range for an array of {ndim} dimension(s) "
                             f"(valid: {-ndim} to {ndim - 1})")
    if len({a % ndim for a in axes}) != len(axes):
        raise ValueError(f"{name}: axis {axis!r} names the same axis twice")


def check_int(name, a, what="ids"):
    if a.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer {what}, got {a.dtype} with shape {tuple(a.shape)}")


def scalar(c):
    """A Python scalar, so NumPy keeps the array's dtype (NumPy scalars would promote)."""
    return c.item() if hasattr(c, "item") else c
