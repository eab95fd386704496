"""The backward engine: walks the graph from one output back to the leaves.

A pre-pass counts, for every function node reachable from the output, how many edges lead into
it; a node becomes *ready* once all its consumers have run. Ready nodes are taken highest
generation first from a heap, never by recursion, so a 10,000-step unrolled graph works.

Some gradients arrive *deferred*, as a description of a matrix product rather than its value,
so that the products of one weight at many time steps become one large product:

- ``OuterProductGrad`` (dW = gy^T x) and ``ScatterRowsGrad`` (an embedding's rows) for a
  parameter: summed at the end of the pass, one (V x TB) @ (TB x H) product for an output layer
  used at T steps, instead of T small ones plus T additions.
- ``MatmulGrad`` (dx = gy W) for an input: a node whose incoming gradient still holds one waits
  while other ready nodes run; when only waiting nodes are left, the one of highest generation is
  taken and every pending product with the same W is computed in one (TB x V) @ (V x H) product.
  For a language model this reads the output layer's W once per window instead of once per step.
"""
import heapq
import itertools

import numpy

from . import backend


class MatmulGrad:
    """Stands for ``gy @ W`` (an input's gradient through a linear map); batched per W by the engine."""

    __slots__ = ("gy", "W")

    def __init__(self, gy, W):
        self.gy = gy
        self.W = W

    def materialize(self):
        return self.gy @ self.W


class _Pending:
    """A variable's gradient still being summed: a computed part plus products not yet computed."""

    __slots__ = ("value", "count", "weights")

    def __init__(self, value):
        self.value = value
        self.count = 0        # products still to be computed
        self.weights = []     # the W of each (to know which batches to compute)


def stack_rows(arrays, cache=None):
    """``concatenate(arrays)`` along rows; ``cache`` (one backward pass) reuses a stack already
    made of the same arrays: dx, dW and db of a linear map all stack the same per-step gy."""
    key = tuple(map(id, arrays))
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            return hit[0]
    out = arrays[0] if len(arrays) == 1 else backend.get_array_module(arrays[0]).concatenate(arrays)
    if cache is not None:
        cache[key] = (out, arrays)  # keep the arrays alive so their ids stay theirs
    return out


class OuterProductGrad:
    """Stands for ``a.T @ b`` (a: (N, out), b: (N, in)); summed in batches by the engine."""

    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a = a
        self.b = b

    def materialize(self):
        return self.a.T @ self.b

    @staticmethod
    def sum_all(items, cache=None):
        if len(items) == 1:
            return items[0].materialize()
        return stack_rows([g.a for g in items], cache).T @ stack_rows([g.b for g in items], cache)


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
    def sum_all(items, cache=None):
        first = items[0]
        xp = backend.get_array_module(first.rows)
        ids = xp.concatenate([g.ids.ravel() for g in items])
        rows = xp.concatenate([g.rows.reshape(-1, g.rows.shape[-1]) for g in items])
        keep = ids >= 0  # ignore_label rows carry no gradient
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
        else:  # CuPy: scatter_add does the same with atomics
            import cupyx
            cupyx.scatter_add(out, ids, rows)
        return out


class SumRowsGrad:
    """Stands for ``gy.sum(axis=0)`` (a bias's gradient); the engine sums all rows of all steps at once."""

    __slots__ = ("gy",)

    def __init__(self, gy):
        self.gy = gy

    def materialize(self):
        return self.gy.sum(axis=0)

    @staticmethod
    def sum_all(items, cache=None):
        if len(items) == 1:
            return items[0].materialize()
        return stack_rows([g.gy for g in items], cache).sum(axis=0)


DEFERRED = (OuterProductGrad, ScatterRowsGrad, SumRowsGrad)
_LAZY = (OuterProductGrad, ScatterRowsGrad, SumRowsGrad, MatmulGrad)


def _value(g):
    return g.materialize() if type(g) in _LAZY else g


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
    """Fill ``.grad`` of every leaf ``root`` depends on (``Variable.backward`` calls this)."""
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

    grads = {id(root): root.grad}   # id(variable) -> gradient (array or _Pending) to be consumed
    pending_leaf = {}               # id(leaf) -> (leaf, [deferred parameter gradients])
    products = {}                   # id(W) -> [(_Pending, MatmulGrad)] not yet computed
    stacks = {}                     # per-step arrays already stacked in this pass (stack_rows)
    deps = _count_consumers(root.creator)
    tie = itertools.count()         # deterministic order among nodes of one generation
    ready, waiting = [(-root.creator.generation, next(tie), root.creator)], []
    heappush, heappop = heapq.heappush, heapq.heappop

    def compute_products(wid):
        items = products.pop(wid)
        if len(items) == 1:
            results = [items[0][1].materialize()]
        else:
            xp = backend.get_array_module(items[0][1].gy)
            stacked = stack_rows([m.gy for _, m in items], stacks) @ items[0][1].W
            bounds = list(itertools.accumulate(len(m.gy) for _, m in items))[:-1]
            results = xp.split(stacked, bounds)
        for (p, _), r in zip(items, results):
            p.value = r if p.value is None else p.value + r
            p.count -= 1

    def finish(g):
        """The value of a _Pending gradient, computing the batches of products it waits for."""
        for wid in g.weights:
            if g.count and wid in products:
                compute_products(wid)
        return g.value

    def take(y):
        g = grads.pop(id(y), None)
        return finish(g) if type(g) is _Pending else g

    def is_waiting(f):
        for r in f.outputs:
            y = r()
            if y is not None:
                g = grads.get(id(y))
                if type(g) is _Pending and g.count:
                    return True
        return False

    while ready or waiting:
        f = heappop(ready)[2] if ready else heappop(waiting)[2]
        if len(f.outputs) == 1:                       # the common case, kept short
            y = f.outputs[0]()
            gy = None if y is None else grads.pop(id(y), None)
            if type(gy) is _Pending:
                gy = finish(gy)
            if gy is not None and retain_grad and y is not root:
                y.grad = gy
            gys = None if gy is None else (gy,)
        else:
            outputs = [r() for r in f.outputs]
            gys = [None if y is None else take(y) for y in outputs]
            if all(g is None for g in gys):
                gys = None
            else:
                if retain_grad:
                    for y, gy in zip(outputs, gys):
                        if y is not None and y is not root:
                            y.grad = gy
                gys = [f.xp.zeros(*spec) if g is None else g for spec, g in zip(f.output_specs, gys)]
        if gys is None:                               # no gradient reached this node
            gxs = (None,) * len(f.inputs)
        else:
            gxs = f.backward(*gys)
            if type(gxs) is not tuple:
                gxs = (gxs,)
            if len(gxs) != len(f.inputs):
                raise RuntimeError(f"{f.label}.backward returned {len(gxs)} gradients for "
                                   f"{len(f.inputs)} inputs")
        for x, gx in zip(f.inputs, gxs):
            creator = x.creator
            if gx is not None and x.requires_grad:
                if creator is None:                   # a leaf: accumulate into .grad
                    kind = type(gx)
                    if kind in DEFERRED:
                        entry = pending_leaf.get(id(x))
                        if entry is None:
                            pending_leaf[id(x)] = (x, [gx])
                        else:
                            entry[1].append(gx)
                    else:
                        if kind is MatmulGrad:
                            gx = gx.materialize()
                        x.grad = _own(gx, gys) if x.grad is None else _own(x.grad + gx, ())
                else:
                    key = id(x)
                    g = grads.get(key)
                    if type(gx) is MatmulGrad:
                        if type(g) is not _Pending:
                            g = grads[key] = _Pending(g)
                        g.count += 1
                        wid = id(gx.W)
                        g.weights.append(wid)
                        products.setdefault(wid, []).append((g, gx))
                    elif g is None:
                        grads[key] = _value(gx)       # a weight that is not a leaf (W = 2 * W0)
                    elif type(g) is _Pending:
                        g.value = _value(gx) if g.value is None else g.value + _value(gx)
                    else:
                        grads[key] = _add(g, gx)
            if creator is not None:
                cid = id(creator)
                left = deps[cid] - 1
                deps[cid] = left
                if left == 0:
                    if len(creator.outputs) == 1:
                        y = creator.outputs[0]()
                        g = None if y is None else grads.get(id(y))
                        wait = type(g) is _Pending and g.count
                    else:
                        wait = is_waiting(creator)
                    heappush(waiting if wait else ready, (-creator.generation, next(tie), creator))

    for leaf, items in pending_leaf.values():
        total = None
        for kind in DEFERRED:
            same = [g for g in items if type(g) is kind]
            if same:
                part = kind.sum_all(same, stacks)
                total = part if total is None else total + part
        leaf.grad = total if leaf.grad is None else leaf.grad + total


def _count_consumers(start):
    """id(node) -> how many input edges of nodes reachable from ``start`` come from that node."""
    deps = {}
    stack = [start]
    seen = {id(start)}
    while stack:
        f = stack.pop()
        for x in f.inputs:
            c = x.creator
            if c is not None:
                cid = id(c)
                deps[cid] = deps.get(cid, 0) + 1
                if cid not in seen:
                    seen.add(cid)
                    stack.append(c)
    return deps
