"""Deferred gradients: a gradient handed to the batched engine as the description of a product,
not yet its value, so that the products of one weight at many time steps become one product.

Only ``config.batched_backward`` makes functions return these (``F.linear``, ``F.embed_id``,
``F.lstm_step``, ``F.gru_step``); the plain engine (``core/engine.py``) never sees one. Each class
says what it stands for, ``compute()`` gives that value, and ``sum_all(items)`` the sum of many in one go:

- ``MatmulGrad``: ``gy @ W``, an input's gradient through a linear map;
- ``OuterProductGrad``: ``a.T @ b``, a weight's gradient (dW = gy^T x);
- ``ScatterRowsGrad``: rows added into a zero array at given row ids (an embedding's dW);
- ``SumRowsGrad``: ``gy.sum(axis=0)``, a bias's gradient.
"""
import numpy

from . import backend


def stack_rows(arrays, stacks=None):
    """``concatenate(arrays)`` along rows; no copy when they are already consecutive rows of one
    array (``rows_view``); ``stacks`` (one backward pass) reuses a stack already made of the same
    arrays: dx, dW and db of a linear map all stack the same per-step gy."""
    key = tuple(map(id, arrays))
    if stacks is not None:
        hit = stacks.get(key)
        if hit is not None:
            return hit[0]
    if len(arrays) == 1:
        out = arrays[0]
    else:
        out = rows_view(arrays)
        if out is None:
            out = backend.get_array_module(arrays[0]).concatenate(arrays)
    if stacks is not None:
        stacks[key] = (out, arrays)  # keep the arrays alive so their ids stay theirs
    return out


def rows_view(arrays):
    """The arrays as one array of their rows without a copy, when they are consecutive row blocks
    of one C-contiguous NumPy array (the steps' logits of one deferred product, the steps'
    gradients of the losses computed together); else None."""
    first = arrays[0]
    base = first.base
    if base is None or type(base) is not numpy.ndarray or not base.flags.c_contiguous or base.ndim != 2:
        return None
    row = base.strides[0]
    start = first.__array_interface__["data"][0]
    origin = base.__array_interface__["data"][0]
    at = start
    for a in arrays:
        if a.base is not base or not a.flags.c_contiguous or a.ndim != 2 or a.shape[1] != base.shape[1] \
                or a.__array_interface__["data"][0] != at:
            return None
        at += a.shape[0] * row
    lo = (start - origin) // row
    return base[lo:lo + (at - start) // row]


class MatmulGrad:
    """Stands for ``gy @ W`` (an input's gradient through a linear map); the batched engine
    computes those of one W together."""

    __slots__ = ("gy", "W")

    def __init__(self, gy, W):
        self.gy = gy
        self.W = W

    def compute(self):
        return self.gy @ self.W


class OuterProductGrad:
    """Stands for ``a.T @ b`` (a: (N, out), b: (N, in)); summed over all steps in one product."""

    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a = a
        self.b = b

    def compute(self):
        return self.a.T @ self.b

    @staticmethod
    def sum_all(items, stacks=None):
        if len(items) == 1:
            return items[0].compute()
        return stack_rows([g.a for g in items], stacks).T @ stack_rows([g.b for g in items], stacks)


class ScatterRowsGrad:
    """Stands for a zero array of ``shape`` with ``rows`` added at row indices ``ids``
    (ids below 0, the ignored labels, add nothing)."""

    __slots__ = ("ids", "rows", "shape")

    def __init__(self, ids, rows, shape):
        self.ids = ids
        self.rows = rows
        self.shape = shape

    def compute(self):
        return ScatterRowsGrad.sum_all([self])

    @staticmethod
    def sum_all(items, stacks=None):
        first = items[0]
        xp = backend.get_array_module(first.rows)
        ids = xp.concatenate([g.ids.ravel() for g in items])
        rows = xp.concatenate([g.rows.reshape(-1, g.rows.shape[-1]) for g in items])
        keep = ids >= 0
        if not bool(keep.all()):
            ids, rows = ids[keep], rows[keep]
        out = xp.zeros(first.shape, dtype=first.rows.dtype)
        if xp.__name__ == "numpy":
            # rows of one id summed by sorting the ids and adding runs (several times faster
            # than numpy.add.at for the same result)
            if len(ids):
                order = numpy.argsort(ids, kind="stable")
                sorted_ids = ids[order]
                starts = numpy.flatnonzero(numpy.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
                out[sorted_ids[starts]] = numpy.add.reduceat(rows[order], starts, axis=0)
        else:  # CuPy: add.at does the same with atomics
            xp.add.at(out, ids, rows)
        return out


class SumRowsGrad:
    """Stands for ``gy.sum(axis=0)`` (a bias's gradient); all rows of all steps summed at once."""

    __slots__ = ("gy",)

    def __init__(self, gy):
        self.gy = gy

    def compute(self):
        return self.gy.sum(axis=0)

    @staticmethod
    def sum_all(items, stacks=None):
        if len(items) == 1:
            return items[0].compute()
        return stack_rows([g.gy for g in items], stacks).sum(axis=0)


SUMMED = (OuterProductGrad, ScatterRowsGrad, SumRowsGrad)   # a weight's: summed at the end of the pass
DEFERRED = SUMMED + (MatmulGrad,)


def value(g):
    """The array a gradient stands for (itself when it is not deferred)."""
    return g.compute() if type(g) in DEFERRED else g
