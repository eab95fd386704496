"""The backward engine: walks the graph from one output back to the leaves.

Nodes are visited in order of decreasing generation with a heap, never by recursion, so a
10,000-step unrolled graph works. A node runs once, after every consumer of its outputs has
delivered its gradient.

Parameter gradients may arrive *deferred* (``OuterProductGrad``, ``ScatterRowsGrad``): a
description of a product rather than its value. The engine sums all deferred gradients of one
leaf in one large operation at the end of the pass: for an output layer used at 35 time steps
that is one (V x 35B) @ (35B x H) product instead of 35 small ones plus 35 additions.
"""
import heapq
import itertools

import numpy

from . import backend


class OuterProductGrad:
    """Stands for ``a.T @ b`` (a: (N, out), b: (N, in)); summed in batches by the engine."""

    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a = a
        self.b = b

    def materialize(self):
        return self.a.T @ self.b

    @staticmethod
    def sum_all(items):
        if len(items) == 1:
            return items[0].materialize()
        xp = backend.get_array_module(items[0].a)
        a = xp.concatenate([g.a for g in items], axis=0)
        b = xp.concatenate([g.b for g in items], axis=0)
        return a.T @ b


class ScatterRowsGrad:
    """Stands for a zero array of ``shape`` with ``rows`` added at row indices ``ids``."""

    __slots__ = ("ids", "rows", "shape")

    def __init__(self, ids, rows, shape):
        self.ids = ids
        self.rows = rows
        self.shape = shape

    def materialize(self):
        return ScatterRowsGrad.sum_all([self])

    @staticmethod
    def sum_all(items):
        first = items[0]
        xp = backend.get_array_module(first.rows)
        ids = xp.concatenate([g.ids.ravel() for g in items])
        rows = xp.concatenate([g.rows.reshape(-1, g.rows.shape[-1]) for g in items])
        keep = ids >= 0  # ignore_label rows carry no gradient
        if not bool(keep.all()):
            ids, rows = ids[keep], rows[keep]
        out = xp.zeros(first.shape, dtype=first.rows.dtype)
        if xp.__name__ == "numpy":
            xp.add.at(out, ids, rows)
        else:  # CuPy: scatter_add does the same with atomics
            import cupyx
            cupyx.scatter_add(out, ids, rows)
        return out


DEFERRED = (OuterProductGrad, ScatterRowsGrad)


def _value(g):
    return g.materialize() if isinstance(g, DEFERRED) else g


def _add(a, b):
    """a + b where either may be deferred; never in place (arrays may be shared)."""
    if a is None:
        return b
    return _value(a) + _value(b)


def _own(gx, gys):
    """gx as an array no other .grad shares: a backward may pass gy on unchanged (Add) or as a
    view (Reshape), and an optimizer hook may update one leaf's .grad in place."""
    if isinstance(gx, numpy.generic):  # NumPy gives scalars, not 0-d arrays, from 0-d ops
        return numpy.asarray(gx)
    if gx.base is not None or any(gx is gy for gy in gys):
        return gx.copy()
    return gx


def run_backward(root, retain_grad=False):
    if root.creator is None:
        return
    if root.grad is None:
        if root.array.size != 1:
            raise ValueError(
                f"backward: the output has shape {tuple(root.shape)}, not a single value; set "
                f"its .grad to an array of that shape first (e.g. y.grad = xp.ones_like(y.array))")
        root.grad = backend.get_array_module(root.array).ones_like(root.array)
    elif root.grad.shape != root.array.shape:
        raise ValueError(f"backward: .grad has shape {tuple(root.grad.shape)} but the "
                         f"variable has shape {tuple(root.shape)}")

    grads = {id(root): root.grad}   # gradients of non-leaf variables still to be consumed
    pending = {}                    # id(leaf) -> (leaf, [deferred gradients])
    queued = {id(root.creator)}
    tie = itertools.count()         # deterministic order among nodes of one generation
    heap = [(-root.creator.generation, next(tie), root.creator)]
    heappush, heappop = heapq.heappush, heapq.heappop

    while heap:
        f = heappop(heap)[2]
        if len(f.outputs) == 1:                       # the common case, kept short
            y = f.outputs[0]()
            gy = None if y is None else grads.pop(id(y), None)
            if gy is None:
                continue
            if type(gy) in DEFERRED:
                gy = gy.materialize()
            if retain_grad and y is not root:
                y.grad = gy
            gys = (gy,)
        else:
            outputs = [r() for r in f.outputs]
            gys = [None if y is None else grads.pop(id(y), None) for y in outputs]
            if all(g is None for g in gys):
                continue
            gys = [_value(g) for g in gys]
            if retain_grad:
                for y, gy in zip(outputs, gys):
                    if y is not None and y is not root:
                        y.grad = gy
            gys = [f.xp.zeros(*spec) if g is None else g for spec, g in zip(f.output_specs, gys)]
        gxs = f.backward(*gys)
        if type(gxs) is not tuple:
            gxs = (gxs,)
        if len(gxs) != len(f.inputs):
            raise RuntimeError(f"{f.label}.backward returned {len(gxs)} gradients for "
                               f"{len(f.inputs)} inputs")
        for x, gx in zip(f.inputs, gxs):
            if gx is None or not x.requires_grad:
                continue
            creator = x.creator
            if creator is None:                       # a leaf: accumulate into .grad
                if type(gx) in DEFERRED:
                    entry = pending.get(id(x))
                    if entry is None:
                        pending[id(x)] = (x, [gx])
                    else:
                        entry[1].append(gx)
                else:
                    x.grad = _own(gx, gys) if x.grad is None else _own(x.grad + gx, ())
            else:
                key = id(x)
                g = grads.get(key)
                grads[key] = gx if g is None else _add(g, gx)
                if id(creator) not in queued:
                    queued.add(id(creator))
                    heappush(heap, (-creator.generation, next(tie), creator))

    for leaf, items in pending.values():
        total = None
        for kind in DEFERRED:
            same = [g for g in items if type(g) is kind]
            if same:
                part = kind.sum_all(same)
                total = part if total is None else total + part
        leaf.grad = total if leaf.grad is None else leaf.grad + total
