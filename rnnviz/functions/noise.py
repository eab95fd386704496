"""Dropout."""
import numbers

from ..core import FunctionNode, apply1, config
from ._util import check_float


class Dropout(FunctionNode):
    """y = x * mask / (1 - ratio), mask ~ Bernoulli(1 - ratio);  gx = gy * mask / (1 - ratio)

    Floating-point input only: in an integer array the scale 1 / (1 - ratio) would be cut to an
    integer (1 for ratio 0.25), a wrong result without an error.
    """

    def __init__(self, ratio):
        self.ratio = ratio

    def check_inputs(self, x):
        if x.dtype.kind != "f":
            check_float("dropout", x)

    def forward(self, x):
        scale = x.dtype.type(1.0 / (1.0 - self.ratio))
        self.mask = (self.xp.random.random_sample(x.shape) >= self.ratio).astype(x.dtype) * scale
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask


def dropout(x, ratio=0.5):
    """Zero each element with probability ``ratio`` at training time; the identity otherwise."""
    if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real):
        raise TypeError(f"dropout: ratio must be a number in [0, 1), got {ratio!r} "
                        f"({type(ratio).__name__})")
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"dropout: ratio must be in [0, 1), got {ratio}")
    if not config.train or ratio == 0.0:
        return x
    return apply1(Dropout(ratio), x)
