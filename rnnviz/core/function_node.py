"""The base class of every differentiable function.

A subclass writes ``forward`` and ``backward`` on raw arrays, side by side, and keeps only what
backward needs (``save_inputs`` / ``save_outputs`` or plain attributes). ``apply`` wraps arrays in
Variables and, when backprop is enabled, records the node in the graph.
"""
import weakref

import numpy

from . import annotations, backend, lazy
from .config import config
from .variable import Variable, as_array

_live_nodes = weakref.WeakSet()


def live_function_nodes():
    """The function nodes still alive (recorded and referenced by some graph)."""
    return list(_live_nodes)


def live_function_node_count():
    """How many recorded function nodes are still alive; drops when history is freed."""
    return len(_live_nodes)


class FunctionNode:
    """A node of the computational graph: inputs (Variables) -> forward -> outputs.

    ``inputs`` holds the input Variables (strongly); ``outputs`` holds weak references, so a
    graph is freed as soon as nothing refers to its end any more.
    """

    inputs = ()
    outputs = ()
    generation = 0
    scope = None
    xp = numpy
    may_wait = False   # core/lazy.py: this function's forward may wait to run with other steps'
    backward_group = None   # core/batched_engine.py: nodes whose backward runs as one (backward_many)

    def __getattr__(self, name):
        # only reached for a missing attribute: a node whose forward is still queued (core/lazy.py)
        # has saved nothing yet, so the queue runs first
        if "wait_phase" in self.__dict__ and lazy.state.queue and not name.startswith("__"):
            lazy.flush()
            return object.__getattribute__(self, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    @property
    def label(self):
        return type(self).__name__

    # -- what subclasses write ------------------------------------------------------------
    def forward(self, *xs):
        raise NotImplementedError

    def backward(self, *gys):
        raise NotImplementedError

    def check_inputs(self, *xs):
        """Raise a clear error for bad shapes or dtypes (optional)."""

    # -- helpers for saving what backward needs -------------------------------------------
    def save_inputs(self, *arrays):
        self.saved_inputs = arrays

    def save_outputs(self, *arrays):
        self.saved_outputs = arrays

    # -- the machinery --------------------------------------------------------------------
    def apply(self, inputs):
        """Run forward on the inputs' arrays; record the graph; return the output Variables."""
        xs = tuple([x if isinstance(x, Variable) else Variable(as_array(x, self.label), requires_grad=False)
                    for x in inputs])
        if (self.may_wait or lazy.state.pending and type(self) in lazy.SCALAR_OPS) and lazy.enabled():
            outputs = lazy.try_defer(self, xs, pending_variable)
            if outputs is not None:          # recorded now, computed with other steps' (core/lazy.py)
                self._record(xs, outputs)
                return outputs
        arrays = [x.array for x in xs]
        for a in arrays:  # fast path: all NumPy arrays, nothing to check
            if type(a) is not numpy.ndarray:
                backend.check_same_device(self.label, arrays)
                self.xp = backend.get_array_module(*arrays)
                break
        self.check_inputs(*arrays)
        ys = self.forward(*arrays)
        # NumPy returns scalars, not 0-d arrays, from ops on 0-d arrays (loss1 + loss2)
        if type(ys) is not tuple:                 # one output: the common case
            outputs = [_new_variable(numpy.asarray(ys) if isinstance(ys, numpy.generic) else ys)]
        else:
            outputs = [_new_variable(numpy.asarray(y) if isinstance(y, numpy.generic) else y) for y in ys]
        if config.enable_backprop:
            self._record(xs, outputs)
        return outputs

    def _record(self, xs, outputs):
        """Record the node: the creator of its outputs, one generation above its newest input."""
        gen = 0
        for x in xs:
            if x.generation > gen:
                gen = x.generation
        self.generation = gen
        for y in outputs:
            y.creator = self
            y.generation = gen + 1
        self.inputs = xs
        self.outputs = tuple([weakref.ref(y) for y in outputs])   # weak: the graph dies with its end
        if len(outputs) > 1:                      # an output dropped by the caller gets zeros
            self.output_specs = [(y.shape, y.dtype) for y in outputs]   # known while pending too
        self.scope = annotations._state.current
        _live_nodes.add(self)

    def __repr__(self):
        return f"<{self.label} gen={self.generation}>"


def _new_variable(array):
    """A Variable for a function's output: the array is known to be good, skip the checks."""
    v = _variable_new(Variable)
    v.array = array
    v.grad = v.name = v.creator = None
    v.generation = 0
    v.requires_grad = True
    v.unchained = False
    return v


_variable_new = object.__new__


def pending_variable():
    """A function's output whose value is still to be computed (core/lazy.py): ``array`` unset."""
    v = _variable_new(Variable)
    v.grad = v.name = v.creator = None
    v.generation = 0
    v.requires_grad = True
    v.unchained = False
    return v


def apply1(node, *inputs):
    """Apply a single-output function node and return its one output Variable."""
    return node.apply(inputs)[0]
