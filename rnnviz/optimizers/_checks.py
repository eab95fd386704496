"""Argument checks shared by the optimizers and their hooks (done once, when they are built)."""
import math
import numbers


def check_real(where, name, value, low=None, high=None, low_open=False, high_open=False, hint=""):
    """``value`` as a float, or a ValueError/TypeError naming ``where``, ``name``, the range and what came.

    ``low``/``high`` bound the range (``*_open``: the bound itself is excluded). NaN and inf are
    always refused: an optimizer with a NaN hyperparameter turns every weight NaN on its first update.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number, got {value!r} "
                        f"({type(value).__name__})")
    value = float(value)
    lo = "" if low is None else (f"> {low}" if low_open else f">= {low}")
    hi = "" if high is None else (f"< {high}" if high_open else f"<= {high}")
    wanted = " and ".join(s for s in (lo, hi) if s) or "finite"
    bad = not math.isfinite(value)
    if low is not None:
        bad = bad or value < low or (low_open and value == low)
    if high is not None:
        bad = bad or value > high or (high_open and value == high)
    if bad:
        raise ValueError(f"{where}: {name} must be a finite number {wanted}, got {value!r}"
                         + (f" ({hint})" if hint else ""))
    return value


class Hyperparameter:
    """A checked attribute: ``opt.lr = -1`` later on is refused just as ``SGD(lr=-1)`` is.

    Reading it is a plain instance-dict lookup (no cost in the update loop).
    """

    def __init__(self, hint="", **bounds):
        self.hint = hint
        self.bounds = bounds

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        return obj.__dict__[self.name]

    def __set__(self, obj, value):
        obj.__dict__[self.name] = check_real(type(obj).__name__, self.name, value, hint=self.hint,
                                             **self.bounds)
