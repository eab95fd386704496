"""Optimizer hooks: called with the optimizer before each update.

Their settings are checked when they are built: a clipping threshold of 0 would stop all learning
and a negative one would climb the loss; a NaN decay rate would turn every weight NaN.
"""
import math

import numpy

from ..core import backend
from ._checks import Hyperparameter


class WeightDecay:
    """g <- g + rate * w  (L2 regularisation)"""

    name = "WeightDecay"
    rate = Hyperparameter(low=0, hint="the L2 penalty's coefficient, e.g. 1e-4")

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, optimizer):
        for param in optimizer.target.params(include_uninit=False):
            if param.grad is not None:
                param.grad = param.grad + self.rate * param.array


class GradientClipping:
    """If the global L2 norm of all gradients exceeds ``threshold``, scale them all by threshold / norm.

    A NaN or infinite norm is a FloatingPointError naming the parameter (PyTorch's
    ``clip_grad_norm_(..., error_if_nonfinite=True)``): scaling by threshold / NaN would make every
    weight NaN. Chainer and PyTorch's default let that happen silently; a teaching kit should not.
    """

    name = "GradientClipping"
    threshold = Hyperparameter(low=0, low_open=True,
                               hint="the largest global gradient norm allowed, e.g. 5.0")

    def __init__(self, threshold):
        self.threshold = threshold

    def __call__(self, optimizer):
        grads = [p for p in optimizer.target.params(include_uninit=False) if p.grad is not None]
        norm = global_norm([p.grad for p in grads])
        if not math.isfinite(norm):
            from .optimizer import raise_nonfinite_gradient
            raise_nonfinite_gradient(optimizer, "GradientClipping")  # returns if only the sum overflowed
            norm = math.sqrt(sum(float((p.grad.astype("float64") ** 2).sum()) for p in grads))
        optimizer._finite_checked = True
        if norm > self.threshold:
            rate = self.threshold / norm
            for p in grads:
                p.grad = p.grad * p.grad.dtype.type(rate)



class GradientHardClipping:
    """Clip every gradient element into [lower_bound, upper_bound]:  g <- min(max(g, lower), upper).

    Value clipping (Chainer's ``GradientHardClipping``, PyTorch's ``clip_grad_value_``). Unlike
    ``GradientClipping`` it acts element by element, so a clipped gradient may point elsewhere than
    the one ``backward()`` computed. The bounds must straddle 0 (``lower_bound < 0 < upper_bound``):
    a bound of 0 on either side would stop every weight from moving one way. A NaN or infinite
    gradient is a FloatingPointError naming the parameter: clipping would turn inf into a bound
    and hide it.
    """

    name = "GradientHardClipping"
    lower_bound = Hyperparameter(high=0, high_open=True,
                                 hint="the smallest gradient element allowed, e.g. -0.1")
    upper_bound = Hyperparameter(low=0, low_open=True,
                                 hint="the largest gradient element allowed, e.g. 0.1")

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def __call__(self, optimizer):
        from .optimizer import raise_nonfinite_gradient
        raise_nonfinite_gradient(optimizer, "GradientHardClipping")
        optimizer._finite_checked = True
        for p in optimizer.target.params(include_uninit=False):
            if p.grad is not None:
                xp = backend.get_array_module(p.grad)
                kind = p.grad.dtype.type
                p.grad = xp.clip(p.grad, kind(self.lower_bound), kind(self.upper_bound))


def global_norm(arrays):
    """sqrt(sum of squares of every element of every array), as a Python float.

    Variables count by their arrays and lists as NumPy arrays; None (a parameter without a
    gradient, as in ``[p.grad for p in model.params()]``) counts for nothing.
    """
    total = 0.0
    with numpy.errstate(over="ignore"):  # an overflow gives inf, which the callers check
        for a in arrays:
            if a is None:
                continue
            if not hasattr(a, "ravel"):  # a Variable, or a list of numbers
                a = a.array if hasattr(a, "array") else numpy.asarray(a)
            flat = a.ravel()
            total += float(flat @ flat) if a.dtype.kind == "f" else float((flat * flat).sum())
    return math.sqrt(total)
