"""Optimizer hooks: called with the optimizer before each update."""
import math



class WeightDecay:
    """g <- g + rate * w  (L2 regularisation)"""

    name = "WeightDecay"

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, optimizer):
        for param in optimizer.target.params(include_uninit=False):
            if param.grad is not None:
                param.grad = param.grad + self.rate * param.array


class GradientClipping:
    """If the global L2 norm of all gradients exceeds ``threshold``, scale them all by threshold / norm."""

    name = "GradientClipping"

    def __init__(self, threshold):
        self.threshold = threshold

    def __call__(self, optimizer):
        grads = [p for p in optimizer.target.params(include_uninit=False) if p.grad is not None]
        norm = global_norm([p.grad for p in grads])
        if norm > self.threshold:
            rate = self.threshold / norm
            for p in grads:
                p.grad = p.grad * p.grad.dtype.type(rate)


def global_norm(arrays):
    """sqrt(sum of squares of every element of every array), as a Python float."""
    total = 0.0
    for a in arrays:
        flat = a.ravel()
        total += float(flat @ flat) if a.dtype.kind == "f" else float((flat * flat).sum())
    return math.sqrt(total)
