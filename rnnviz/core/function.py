"""Function: Chainer's old-style user function, recorded in the same graph as FunctionNode.

A subclass writes ``forward(inputs)`` and ``backward(inputs, grad_outputs)`` on *tuples* of
arrays (or ``forward_cpu``/``forward_gpu`` and ``backward_cpu``/``backward_gpu``), and is called
on Variables: ``y = MulAdd()(x, y, z)``. Each call records one FunctionNode (a
``FunctionAdapter``) that the engine, the graph tracer and ``unchain_backward`` treat like any
other node; its label is the Function's class name.

    class Square(Function):
        def forward(self, inputs):
            x, = inputs
            return x * x,
        def backward(self, inputs, grad_outputs):
            x, = inputs
            gy, = grad_outputs
            return 2 * x * gy,
"""
import numpy

from . import backend
from .function_node import FunctionNode


class FunctionAdapter(FunctionNode):
    """The graph node of one call of a :class:`Function`."""

    def __init__(self, function):
        self.function = function

    @property
    def label(self):
        return type(self.function).__name__

    def forward(self, *xs):
        f = self.function
        ys = f.forward(xs)
        if isinstance(ys, list):
            ys = tuple(ys)
        elif not isinstance(ys, tuple):
            if not hasattr(ys, "shape"):
                raise TypeError(f"{self.label}.forward must return a tuple of arrays, "
                                f"got {type(ys).__name__}")
            ys = (ys,)
        ys = tuple(numpy.asarray(y) if isinstance(y, numpy.generic) or numpy.isscalar(y) else y
                   for y in ys)
        keep = f._retained_inputs
        self.kept_inputs = xs if keep is None else tuple(x if i in keep else None for i, x in enumerate(xs))
        self.output_arrays = ys
        f.node = self
        return ys[0] if len(ys) == 1 else ys

    def backward(self, *gys):
        gxs = self.function.backward(self.kept_inputs, gys)
        if isinstance(gxs, list):
            gxs = tuple(gxs)
        elif not isinstance(gxs, tuple):
            gxs = (gxs,)
        if len(gxs) != len(self.inputs):
            raise ValueError(f"{self.label}.backward returned {len(gxs)} gradients for "
                             f"{len(self.inputs)} inputs; return one per input (None for no gradient)")
        for x, gx in zip(self.inputs, gxs):
            if gx is not None and hasattr(gx, "shape") and gx.shape != x.shape:
                raise ValueError(f"{self.label}.backward: the gradient of an input of shape {x.shape} "
                                 f"has shape {gx.shape}")
        return gxs


class Function:
    """Old-style differentiable function: override ``forward``/``backward`` (on tuples of arrays)
    or their ``_cpu``/``_gpu`` variants. Calling it returns a Variable, or a tuple of Variables
    when ``forward`` returns several arrays."""

    _retained_inputs = None
    node = None

    def __call__(self, *inputs):
        outputs = FunctionAdapter(self).apply(inputs)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    @property
    def label(self):
        return type(self).__name__

    @property
    def output_data(self):
        """The output arrays of the latest call (for a backward that needs y, not x)."""
        if self.node is None:
            raise RuntimeError(f"{self.label}.output_data: the function has not been called yet")
        return self.node.output_arrays

    def retain_inputs(self, indexes):
        """Keep only these inputs for backward (the others arrive as None), to free memory."""
        self._retained_inputs = frozenset(indexes)

    def retain_outputs(self, indexes):
        """Accepted for Chainer's API; the outputs are always available as ``output_data``."""

    # -- what subclasses write ------------------------------------------------------------------
    def forward(self, inputs):
        if backend.get_array_module(*inputs) is numpy:
            return self.forward_cpu(inputs)
        return self.forward_gpu(inputs)

    def backward(self, inputs, grad_outputs):
        arrays = [a for a in tuple(inputs) + tuple(grad_outputs) if a is not None]
        if backend.get_array_module(*arrays) is numpy:
            return self.backward_cpu(inputs, grad_outputs)
        return self.backward_gpu(inputs, grad_outputs)

    def forward_cpu(self, inputs):
        raise NotImplementedError(f"{self.label}: define forward(inputs) or forward_cpu(inputs)")

    def forward_gpu(self, inputs):
        raise NotImplementedError(f"{self.label}: define forward(inputs) or forward_gpu(inputs) "
                                  "to run on a GPU")

    def backward_cpu(self, inputs, grad_outputs):
        raise NotImplementedError(f"{self.label}: define backward(inputs, grad_outputs) or backward_cpu")

    def backward_gpu(self, inputs, grad_outputs):
        raise NotImplementedError(f"{self.label}: define backward(inputs, grad_outputs) or "
                                  "backward_gpu to run on a GPU")
