"""Variable: an array plus the history that made it.

``creator`` is the function node that produced the variable (None for a leaf). Calling
``backward()`` on a result fills ``.grad`` of the leaves it depends on.
"""
import numpy

from . import backend, batched_engine, engine, lazy
from .config import config


def as_array(x, where="Variable"):
    """Turn a Python scalar or sequence into an array; keep NumPy/CuPy arrays as they are."""
    if isinstance(x, numpy.ndarray) or backend.is_cupy_array(x):
        return x
    if isinstance(x, Variable):
        return x.array
    if numpy.isscalar(x) or isinstance(x, (list, tuple)):
        return numpy.asarray(x)
    raise TypeError(f"{where}: expected a NumPy or CuPy array, got {type(x).__name__}")


class Variable:
    """An array with a gradient and a creator.

    Attributes: ``array`` (alias ``data``), ``grad``, ``name``, ``creator``. The operators
    (``+``, ``@``, ...), ``.T``, ``reshape``, ``transpose`` and indexing are differentiable functions:
    ``rnnviz.functions`` gives them to Variable when it is imported (the core imports no layer above).
    """

    __slots__ = ("array", "grad", "name", "creator", "generation", "requires_grad",
                 "unchained", "__weakref__", "__dict__")
    __array_ufunc__ = None  # let `ndarray + Variable` call Variable.__radd__
    __array_priority__ = 200

    def __init__(self, array=None, name=None, requires_grad=True):
        if array is not None and not (isinstance(array, numpy.ndarray) or backend.is_cupy_array(array)):
            if isinstance(array, Variable):
                raise TypeError("Variable: got a Variable; pass its .array to make a new leaf")
            raise TypeError(
                f"Variable: expected a NumPy or CuPy array, got {type(array).__name__}; "
                "wrap it with numpy.asarray(..., dtype=numpy.float32)")
        if array is not None and array.dtype.kind not in "biuf":
            raise TypeError(f"Variable: expected an array of numbers (float32 for values, int32 for "
                            f"ids), got dtype {array.dtype}")
        self.array = array
        self.grad = None
        self.name = name
        self.creator = None
        self.generation = 0
        self.requires_grad = requires_grad
        self.unchained = False

    # -- array-like views ----------------------------------------------------------------
    @property
    def data(self):
        return self.array

    @data.setter
    def data(self, value):
        self.array = value

    # shape, ndim, size, dtype and len() of a value still queued (core/lazy.py) are known without
    # computing it: a link checking its state's batch size does not stop the window's batching
    @property
    def shape(self):
        return _array_or_stand_in(self).shape

    @property
    def ndim(self):
        return _array_or_stand_in(self).ndim

    @property
    def size(self):
        return _array_or_stand_in(self).size

    @property
    def dtype(self):
        return _array_or_stand_in(self).dtype

    @property
    def xp(self):
        return backend.get_array_module(self.array)

    def __len__(self):
        return len(_array_or_stand_in(self))

    def __repr__(self):
        if self.name:
            return f"variable {self.name}({self.array!r})"
        return f"variable({self.array!r})"

    __hash__ = object.__hash__

    def __getattr__(self, name):
        # only reached when ``array`` is unset: a value still queued (core/lazy.py) is computed now
        if name == "array" and lazy.is_pending(self):
            lazy.flush()
            return object.__getattribute__(self, "array")
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    # -- the graph ----------------------------------------------------------------------------
    def backward(self, retain_grad=False):
        """Back-propagate from this variable into every leaf it depends on.

        ``self.grad`` defaults to ones when the variable has one element; otherwise set it
        first. Intermediate gradients are dropped unless ``retain_grad=True``. The engine is
        ``core/batched_engine.py`` (``config.batched_backward``, the default) or the plain
        ``core/engine.py``; both give the same gradients.
        """
        lazy.flush()                      # forwards still queued run before any gradient
        chosen = batched_engine if config.batched_backward else engine
        chosen.run_backward(self, retain_grad)

    def cleargrad(self):
        self.grad = None

    def to_device(self, device):
        """Move the array (and gradient) to ``'cpu'`` or ``'gpu'`` in place; return self."""
        self.array = backend.to_device(self.array, device)
        if self.grad is not None:
            self.grad = backend.to_device(self.grad, device)
        return self

    def zerograd(self):
        self.grad = self.xp.zeros_like(self.array)

    def unchain(self):
        """Forget the creator: this variable becomes a leaf (its value is kept)."""
        lazy.flush()
        if self.creator is not None:
            self.creator = None
            self.unchained = True

    def unchain_backward(self):
        """Cut every link in this variable's history, so that the history can be freed."""
        lazy.flush()                      # keep the values: a queued forward runs first
        stack = [self]
        while stack:
            v = stack.pop()
            f = v.creator
            if f is None:
                continue
            v.creator = None
            v.unchained = True
            # the node's other outputs (an LSTM's c beside h) must let go of it too, or the node
            # and everything it saved stay alive
            for ref in f.outputs:
                y = ref()
                if y is not None and y.creator is f:
                    y.creator = None
                    y.unchained = True
            stack.extend([x for x in f.inputs if x.creator is not None])



_array_slot = Variable.array.__get__     # reads the slot; AttributeError when it is unset


def _array_or_stand_in(v):
    """v's array, or while v is pending (core/lazy.py) an array of its shape and dtype."""
    try:
        return _array_slot(v)
    except AttributeError:
        spec = lazy.pending_spec(v)
        if spec is None:
            raise
        return lazy.stand_in(*spec)


class Parameter(Variable):
    """A trainable leaf variable owned by a link (``W``, ``b``, ...)."""

    __slots__ = ()

    def __init__(self, array=None, name=None):
        super().__init__(array, name=name, requires_grad=True)

    def __repr__(self):
        return f"parameter {self.name or ''}{tuple(self.shape) if self.array is not None else ''}"


def as_variable(x):
    return x if isinstance(x, Variable) else Variable(as_array(x), requires_grad=False)
