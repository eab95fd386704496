"""Dropout."""
from ..core import FunctionNode, apply1, config


class Dropout(FunctionNode):
    """y = x * mask / (1 - ratio), mask ~ Bernoulli(1 - ratio);  gx = gy * mask / (1 - ratio)"""

    def __init__(self, ratio):
        self.ratio = ratio

    def forward(self, x):
        scale = x.dtype.type(1.0 / (1.0 - self.ratio))
        self.mask = (self.xp.random.random_sample(x.shape) >= self.ratio).astype(x.dtype) * scale
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask


def dropout(x, ratio=0.5):
    """Zero each element with probability ``ratio`` at training time; the identity otherwise."""
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"dropout: ratio must be in [0, 1), got {ratio}")
    if not config.train or ratio == 0.0:
        return x
    return apply1(Dropout(ratio), x)
