"""Argument checks for link constructors: a size that is not a positive int is refused at once,
not as a NumPy error at the first call (or, worse, a layer that silently has no units)."""
import numbers

import numpy


def check_size(where, name, value, allow_none=False):
    """``value`` as an int >= 1 (or None when ``allow_none``), else an error naming the link."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)):
        raise TypeError(f"{where}: {name} must be an int >= 1"
                        + (" or None (inferred at the first call)" if allow_none else "")
                        + f", got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{where}: {name} must be an int >= 1, got {value}")
    return int(value)


def check_fraction(where, name, value):
    """A dropout ratio: a real number in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"{where}: {name} must be a number in [0, 1), got {value!r}")
    return float(value)
