"""Check a backward pass against central finite differences.

``numerical_grad(f, inputs, grad_outputs)`` returns d<f(inputs), grad_outputs>/d inputs estimated by
(f(x + eps) - f(x - eps)) / (2 eps), one element at a time. Use float64 inputs.
"""
import numpy

from .core import Variable, backend


def numerical_grad(f, inputs, grad_outputs, eps=1e-3):
    """Central-difference gradients of sum_k <f(inputs)_k, grad_outputs_k> w.r.t. each input array.

    ``f`` takes and returns raw arrays (a tuple of outputs or a single one). ``inputs`` are
    modified in place while probing and restored afterwards.
    """
    _check_callable_and_eps("numerical_grad", f, eps)
    if not isinstance(grad_outputs, (tuple, list)):
        grad_outputs = (grad_outputs,)

    def scalar_objective():
        ys = f(*inputs)
        if not isinstance(ys, (tuple, list)):
            ys = (ys,)
        total = 0.0
        for y, gy in zip(ys, grad_outputs):
            if gy is not None:
                total += float((numpy.asarray(y, dtype=numpy.float64) * gy).sum())
        return total

    grads = []
    for x in inputs:
        g = numpy.zeros(x.shape, dtype=numpy.float64)
        if x.dtype.kind != "f":
            grads.append(None)
            continue
        flat = x.reshape(-1)
        gflat = g.reshape(-1)
        for i in range(flat.size):
            orig = flat[i].copy()
            flat[i] = orig + eps
            plus = scalar_objective()
            flat[i] = orig - eps
            minus = scalar_objective()
            flat[i] = orig
            gflat[i] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


def _check_callable_and_eps(where, f, eps):
    if not callable(f):
        raise TypeError(f"{where}: the function to check must be callable (e.g. F.tanh), got "
                        f"{type(f).__name__}")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
        raise ValueError(f"{where}: eps must be a small number > 0 (the finite-difference step), "
                         f"got {eps!r}")


class GradientCheckError(AssertionError):
    pass


def check_backward(func, inputs, grad_outputs=None, eps=1e-3, atol=1e-5, rtol=1e-4, no_grads=None):
    """Compare the backward of ``func`` (Variables in, Variable or tuple out) with finite differences.

    Raises ``GradientCheckError`` naming the input that disagrees, the worst element and both
    values. Floating inputs get gradients; integer inputs (labels, ids) are passed through.
    """
    _check_callable_and_eps("check_backward", func, eps)
    if not isinstance(inputs, (tuple, list)):
        inputs = (inputs,)
    # C-contiguous copies: probing writes through reshape(-1), which copies a non-contiguous
    # array (the probe would be lost), and the caller's arrays are left untouched
    inputs = [numpy.array(backend.to_device(x, "cpu") if hasattr(x, "dtype") else x, order="C")
              for x in inputs]
    xs = [Variable(x) for x in inputs]
    ys = func(*xs)
    if not isinstance(ys, (tuple, list)):
        ys = (ys,)
    if grad_outputs is None:
        rng = numpy.random.default_rng(0)
        grad_outputs = tuple(rng.standard_normal(y.shape).astype(y.dtype) for y in ys)
    elif not isinstance(grad_outputs, (tuple, list)):
        grad_outputs = (grad_outputs,)
    for k, (y, gy) in enumerate(zip(ys, grad_outputs)):
        if gy is not None and tuple(numpy.shape(gy)) != tuple(y.shape):
            raise ValueError(f"check_backward: grad_outputs[{k}] has shape {tuple(numpy.shape(gy))} but "
                             f"output {k} of the function has shape {tuple(y.shape)}")

    # one scalar from all outputs, so a single backward pass gives every input's gradient
    from . import functions as F
    total = None
    for y, gy in zip(ys, grad_outputs):
        if gy is None:
            continue
        term = F.sum(y * Variable(numpy.asarray(gy, dtype=y.dtype), requires_grad=False))
        total = term if total is None else total + term
    for x in xs:
        x.cleargrad()
    total.backward()

    def f(*arrays):
        out = func(*[Variable(a) for a in arrays])
        if not isinstance(out, (tuple, list)):
            out = (out,)
        return tuple(o.array for o in out)

    numeric = numerical_grad(f, inputs, grad_outputs, eps=eps)
    for k, (x, num) in enumerate(zip(xs, numeric)):
        if num is None or (no_grads is not None and no_grads[k]):
            continue
        analytic = x.grad if x.grad is not None else numpy.zeros_like(num)
        analytic = numpy.asarray(analytic, dtype=numpy.float64)
        if analytic.shape != num.shape:
            raise GradientCheckError(f"check_backward: input {k} has shape {num.shape} but its gradient "
                                     f"has shape {analytic.shape}")
        err = numpy.abs(analytic - num)
        bound = atol + rtol * numpy.abs(num)
        if (err > bound).any():
            i = numpy.unravel_index(numpy.argmax(err - bound), err.shape)
            raise GradientCheckError(
                f"check_backward: the gradient of input {k} (shape {num.shape}) disagrees with "
                f"finite differences: at index {tuple(int(j) for j in i)} backward gives "
                f"{analytic[i]:.8g}, numerical gives {num[i]:.8g} (|diff| {err[i]:.3g} > "
                f"atol {atol} + rtol {rtol} * |numerical|); max |diff| over the input {err.max():.3g}")
    return [x.grad for x in xs]
