"""Linear and EmbedID links."""
import numpy

from .. import functions as F
from ..core import Parameter, Variable, as_array, backend
from ._checks import check_size
from .link import Link


def _initial_array(initial, shape, scale, dtype=numpy.float32, where="initial weights"):
    """An explicit initial array, a constant, an initializer (``rnnviz.initializers``: it fills
    the array), or N(0, scale^2) from NumPy's global generator.

    ``where`` names the link and argument in errors ('Linear: initialW'): a value that is not a
    number, an array of the wrong shape, or NaN/inf (a model that would learn nothing) is refused.
    """
    if initial is None:
        return (numpy.random.standard_normal(shape) * scale).astype(dtype)
    if callable(initial) and not hasattr(initial, "shape"):
        array = numpy.empty(shape, dtype=getattr(initial, "dtype", None) or dtype)
        initial(array)
        return array
    if isinstance(initial, Variable):
        initial = initial.array
    if isinstance(initial, (str, bytes, bool)) or not (numpy.isscalar(initial) or hasattr(initial, "shape")
                                                       or isinstance(initial, (list, tuple))):
        raise TypeError(f"{where} must be a number, an array of shape {tuple(shape)} or an initializer "
                        f"(rnnviz.initializers), got {initial!r}")
    try:
        array = numpy.full(shape, initial, dtype=dtype) if numpy.isscalar(initial) else \
            numpy.asarray(backend.to_device(initial, "cpu") if hasattr(initial, "shape") else initial,
                          dtype=dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{where} must hold numbers, got {initial!r}") from None
    if array.shape != tuple(shape):
        raise ValueError(f"{where} has shape {array.shape}, expected {tuple(shape)}")
    if not numpy.isfinite(array).all():
        raise ValueError(f"{where} holds NaN or inf; every weight must be a finite number")
    return array.copy()


class Linear(Link):
    """y = x W^T + b with W of shape (out_size, in_size), b zeros.

    ``Linear(out_size)`` or ``Linear(None, out_size)`` infers in_size at the first call.
    W starts as N(0, 1/in_size) (LeCun normal), as in Chainer.
    """

    def __init__(self, in_size, out_size=None, nobias=False, initialW=None, initial_bias=None):
        super().__init__()
        if out_size is None:
            in_size, out_size = None, in_size
        check_size("Linear", "in_size", in_size, allow_none=True)
        self.out_size = out_size = check_size("Linear", "out_size", out_size)
        self._initialW = initialW
        with self.init_scope():
            self.W = Parameter(None)
            if in_size is not None:
                self._initialize(in_size)
            self.b = None if nobias else Parameter(_initial_array(0.0 if initial_bias is None else initial_bias,
                                                                  (out_size,), 1.0, where="Linear: initial_bias"))

    def _initialize(self, in_size):
        self.W.array = _initial_array(self._initialW, (self.out_size, in_size), 1.0 / numpy.sqrt(in_size),
                                      where="Linear: initialW")

    def forward(self, x):
        if not isinstance(x, Variable) and not hasattr(x, "ndim"):
            x = as_array(x, "Linear")              # a list of rows: NumPy's dtype, checked by F.linear
        if self.W.array is None:
            if x.ndim < 2:  # in_size would be inferred as 1 and kept: refuse before W is made
                raise ValueError(f"Linear: x must have shape (batch, in_size) to infer in_size, got "
                                 f"{tuple(x.shape)} (one example? use x[None])")
            self._initialize(int(numpy.prod(x.shape[1:])))
        return F.linear(x, self.W, self.b)


class EmbedID(Link):
    """y = W[ids] with W of shape (in_size, out_size), W ~ N(0, 1)."""

    def __init__(self, in_size, out_size, initialW=None, ignore_label=None):
        super().__init__()
        in_size = check_size("EmbedID", "in_size (the vocabulary size)", in_size)
        out_size = check_size("EmbedID", "out_size", out_size)
        if ignore_label is not None and (isinstance(ignore_label, bool)
                                         or not isinstance(ignore_label, (int, numpy.integer))):
            raise TypeError(f"EmbedID: ignore_label must be an int or None, got {ignore_label!r}")
        self.ignore_label = ignore_label
        with self.init_scope():
            self.W = Parameter(_initial_array(initialW, (in_size, out_size), 1.0, where="EmbedID: initialW"))

    def forward(self, x):
        return F.embed_id(x, self.W, ignore_label=self.ignore_label)
