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
    """Raise TypeError naming ``name`` unless every array has a floating dtype."""
    for a in arrays:
        if a.dtype.kind != "f":
            raise TypeError(f"{name}: expected a floating-point array (float32 or float64), "
                            f"got {a.dtype} with shape {tuple(a.shape)}; convert it with .astype(numpy.float32)")


def check_int(name, a, what="ids"):
    if a.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer {what}, got {a.dtype} with shape {tuple(a.shape)}")


def scalar(c):
    """A Python scalar, so NumPy keeps the array's dtype (NumPy scalars would promote)."""
    return c.item() if hasattr(c, "item") else c
