"""Variable-length batches: pad a list of sequences, a mask from lengths, and ``where`` (a select
that lets a finished sequence keep its state).

A batch of sequences of lengths L_b is padded to the longest, T = max L_b. Position (t, b) is
*alive* when t < L_b; the mask m_tb says so. Padded positions must change nothing: the loss skips
them (``F.temporal_softmax_cross_entropy``) and the state steps over them,

    s_t = where(m_t, step(s_{t-1}, x_t), s_{t-1}),

so a sequence's final state is the one it reaches alone, and no gradient flows into a padded step.
Layout: time-major (T, B, ...) as the stateful links step, except ``pad_sequence``, which keeps
Chainer's batch-major (B, T, ...) unless ``time_major=True``.
"""
import numpy

from ..core import FunctionNode, apply1, backend
from ._util import check_same_dtype


def _array(a):
    return getattr(a, "array", a)


def as_mask(name, mask, shape=None, what="mask"):
    """``mask`` as a boolean array: bool, or numbers that are all 0 or 1; with ``shape``, also
    checked against it. Anything else is an error naming ``name``."""
    mask = _array(mask)
    if isinstance(mask, (list, tuple, bool, int, float)):
        mask = numpy.asarray(mask)
    if not hasattr(mask, "dtype"):
        raise TypeError(f"{name}: {what} must be a boolean array, got {type(mask).__name__}")
    if mask.dtype.kind != "b":
        if mask.dtype.kind not in "iuf":
            raise TypeError(f"{name}: {what} must be a boolean array (or of 0s and 1s), got dtype {mask.dtype}")
        if mask.size and not bool(((mask == 0) | (mask == 1)).all()):
            bad = mask[(mask != 0) & (mask != 1)]
            raise ValueError(f"{name}: {what} must hold only True/False (or 0 and 1); got the value "
                             f"{bad.ravel()[0].item()!r} (dtype {mask.dtype}). Build it with lengths: "
                             f"F.sequence_mask(lengths, T)")
        mask = mask != 0
    if shape is not None and tuple(mask.shape) != tuple(shape):
        raise ValueError(f"{name}: expected a {what} of shape {tuple(shape)}, got {tuple(mask.shape)}")
    return mask


def check_lengths(name, lengths, length=None):
    """``lengths`` as a 1-D int64 NumPy array of values >= 0 (and <= ``length`` when given)."""
    lengths = _array(lengths)
    if backend.is_cupy_array(lengths):
        lengths = lengths.get()
    lengths = numpy.asarray(lengths)
    if lengths.ndim != 1 or (lengths.size and lengths.dtype.kind not in "iu"):
        raise TypeError(f"{name}: lengths must be a 1-D sequence of ints, got dtype {lengths.dtype} "
                        f"with shape {tuple(lengths.shape)}")
    lengths = lengths.astype(numpy.int64)
    if lengths.size and lengths.min() < 0:
        raise ValueError(f"{name}: lengths must be >= 0, got {int(lengths.min())}")
    if length is not None and lengths.size and lengths.max() > length:
        raise ValueError(f"{name}: a sequence of length {int(lengths.max())} does not fit in "
                         f"length={length} steps; lengths must be at most the padded length T")
    return lengths


def sequence_mask(lengths, length=None, time_major=True):
    """The alive positions as a bool array: m[t, b] = t < lengths[b], shape (T, B) with
    T = ``length`` or max(lengths); (B, T) with ``time_major=False``. Not differentiable."""
    xp = backend.get_array_module(lengths)
    if length is not None and (isinstance(length, bool) or not isinstance(length, (int, numpy.integer))
                               or length < 0):
        raise ValueError(f"sequence_mask: length (the padded length T) must be an int >= 0 or None "
                         f"(the longest sequence), got {length!r}")
    lengths = check_lengths("sequence_mask", lengths, length)
    T = int(lengths.max(initial=0)) if length is None else int(length)
    mask = numpy.arange(T)[:, None] < lengths[None, :]
    mask = mask if time_major else mask.T.copy()
    return mask if xp is numpy else xp.asarray(mask)


class Where(FunctionNode):
    """y = a where condition else b;  ga = gy where condition else 0,  gb = gy where not condition else 0

    ``condition`` (bool, or 0/1) broadcasts to a's shape (NumPy's rules: a mask (B,) against a
    state (B, H) is written mask[:, None]); a and b have one shape and dtype. No gradient for the
    condition.
    """

    def check_inputs(self, condition, a, b):
        check_same_dtype("where", a, b)
        if a.shape != b.shape:
            raise ValueError(f"where: a and b must have one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
        condition = as_mask("where", condition, what="condition")
        try:
            fits = numpy.broadcast_shapes(condition.shape, a.shape) == a.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"where: the condition's shape must broadcast to {tuple(a.shape)}, got "
                             f"{tuple(condition.shape)}; for a mask (B,) and states (B, H) write mask[:, None]")
        self.condition = condition

    def forward(self, condition, a, b):
        return self.xp.where(self.condition, a, b)

    def backward(self, gy):
        c = self.condition
        return None, self.xp.where(c, gy, 0), self.xp.where(c, 0, gy)


def where(condition, a, b):
    """Elementwise select: ``a`` where ``condition`` is true, ``b`` elsewhere (Chainer's F.where).

    Carrying a state only where a sequence is alive: ``h = F.where(m[:, None], h_new, h)``.
    """
    return apply1(Where(), as_mask("where", condition, what="condition"), a, b)


class PadSequence(FunctionNode):
    """y[b, :L_b] = x_b,  y[b, L_b:] = padding  (time-major: y[:L_b, b]);  gx_b = gy[b, :L_b]

    The padding is a constant: it gets no gradient, and nothing flows from it into any x_b.
    """

    def __init__(self, length, padding, time_major):
        self.length = length
        self.padding = padding
        self.time_major = time_major

    def check_inputs(self, *xs):
        rest = xs[0].shape[1:] if xs[0].ndim else None
        for i, x in enumerate(xs):
            if x.ndim == 0 or x.shape[1:] != rest:
                raise ValueError(f"pad_sequence: every sequence must have shape (L_i, ...) with the same "
                                 f"trailing shape; got {[tuple(x.shape) for x in xs]}")
        check_same_dtype("pad_sequence", *xs)
        longest = max(len(x) for x in xs)
        if self.length is not None and self.length < longest:
            raise ValueError(f"pad_sequence: length={self.length} is shorter than the longest sequence "
                             f"({longest} steps); lengths must be at most the padded length")

    def forward(self, *xs):
        self.lengths = [len(x) for x in xs]
        T = max(self.lengths) if self.length is None else self.length
        B = len(xs)
        shape = (T, B) if self.time_major else (B, T)
        y = self.xp.full(shape + xs[0].shape[1:], self.padding, dtype=xs[0].dtype)
        for b, x in enumerate(xs):
            if self.time_major:
                y[:len(x), b] = x
            else:
                y[b, :len(x)] = x
        return y

    def backward(self, gy):
        if self.time_major:
            return tuple(gy[:n, b] for b, n in enumerate(self.lengths))
        return tuple(gy[b, :n] for b, n in enumerate(self.lengths))


def pad_sequence(xs, length=None, padding=0, time_major=False):
    """Pad a list of sequences x_b (L_b, ...) at the end to one array (B, T, ...), as Chainer's
    F.pad_sequence; (T, B, ...) with ``time_major=True``. T = ``length`` or the longest L_b."""
    from .array import _sequence_of_arrays
    xs = _sequence_of_arrays("pad_sequence", xs)
    if len(xs) == 0:
        raise ValueError("pad_sequence: the list of sequences is empty; there is nothing to pad")
    if length is not None and (isinstance(length, bool) or not isinstance(length, (int, numpy.integer))):
        raise TypeError(f"pad_sequence: length must be an int or None (the longest sequence), got {length!r}")
    return apply1(PadSequence(length, padding, time_major), *xs)
