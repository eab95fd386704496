"""The batched backward engine: the plain engine's contract (``core/engine.py``: same gradients),
with the products of one weight at many time steps computed as one product. On by default
(``rnnviz.config.batched_backward``); read ``core/engine.py`` first.

Why: a language model applies the same output layer, embedding and LSTM weights at every step of
a window. Step by step that is T small products per weight, plus T additions into ``W.grad``; one
(TB x V) @ (V x H) product does the same work much faster (about 2.5x on backward at the PTB size).

How: ``F.linear``, ``F.embed_id``, ``F.lstm_step`` and ``F.gru_step`` hand their weight products
over *deferred* (``core/deferred.py``), as the description of a product rather than its value.

- A weight's deferred gradients (dW = gy^T x, an embedding's rows, a bias's row sums) are kept
  per weight and summed at the end of the pass: one product for all steps.
- An input's deferred gradient ``gy @ W`` makes that variable's gradient *pending*: a node whose
  output gradient is pending waits while other ready nodes run; when only pending nodes are left,
  the one of highest generation is taken and every deferred ``gy @ W`` with the same W is
  computed in one product. For a language model this reads the output layer's W once per window
  instead of once per step.

A node whose forward ran together with others (``backward_group``: the losses of a window's
steps, ``core/lazy.py``) is held when it is ready, and when nothing else can run the group's
``backward_many`` computes all their input gradients in one pass.

The products of one weight are stacked in the order of the forward (the reverse of the order
backward meets them): rows that the forward computed together (``core/lazy.py``) are then already
one array, and ``stack_rows`` takes them without a copy.

Like the plain engine it counts, before it starts, how many edges lead into every node, takes
nodes highest generation first from a heap and never recurses.
"""
import heapq
import itertools

import numpy

from . import backend
from .deferred import SUMMED, MatmulGrad, stack_rows, value
from .engine import initial_grad


class Pending:
    """A variable's gradient still being summed: a computed part plus deferred ``gy @ W`` products."""

    __slots__ = ("value", "count", "weights")

    def __init__(self, value):
        self.value = value
        self.count = 0        # deferred products not computed yet
        self.weights = []     # the W of each (to know which batches to compute)


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
    initial_grad(root)
    grads = {id(root): root.grad}   # id(variable) -> gradient (array or Pending) to be consumed
    leaf_deferred = {}              # id(leaf) -> (leaf, [deferred weight gradients])
    deferred_by_W = {}              # id(W) -> [(Pending, MatmulGrad)] not computed yet
    stacks = {}                     # per-step arrays already stacked in this pass (stack_rows)
    deps = _count_consumers(root.creator)
    tie = itertools.count()         # deterministic order among nodes of one generation
    ready, pending = [(-root.creator.generation, next(tie), root.creator)], []
    heappush, heappop = heapq.heappush, heapq.heappop
    held = {}                       # id(group) -> [(node, gys)] waiting for their backward_many
    resolved = []                   # (node, gys, gxs) computed by backward_many

    def compute_deferred(wid):
        items = deferred_by_W.pop(wid)[::-1]        # the order of the forward (see stack_rows)
        if len(items) == 1:
            results = [items[0][1].compute()]
        else:
            xp = backend.get_array_module(items[0][1].gy)
            stacked = stack_rows([m.gy for _, m in items], stacks) @ items[0][1].W
            bounds = list(itertools.accumulate(len(m.gy) for _, m in items))[:-1]
            results = xp.split(stacked, bounds)
        for (p, _), r in zip(items, results):
            p.value = r if p.value is None else p.value + r
            p.count -= 1

    def finish(g):
        """The value of a Pending gradient, computing the batches of products it waits for."""
        for wid in g.weights:
            if g.count and wid in deferred_by_W:
                compute_deferred(wid)
        return g.value

    def take(y):
        g = grads.pop(id(y), None)
        return finish(g) if type(g) is Pending else g

    def is_pending(f):
        for r in f.outputs:
            y = r()
            if y is not None:
                g = grads.get(id(y))
                if type(g) is Pending and g.count:
                    return True
        return False

    def run_held():
        """Nodes of one group (``backward_group``) held until nothing else could run: their
        ``backward_many``, or node by node when it declines (returns None). The results wait in
        ``resolved`` for the main loop to hand on."""
        groups = list(held.values())
        held.clear()
        for items in groups:
            many = type(items[0][0]).backward_many([f for f, _ in items], [gys[0] for _, gys in items])
            done = [(f, gys, f.backward(*gys) if many is None else many[f]) for f, gys in items]
            resolved.extend(reversed(done))           # popped from the end: in the order held

    while ready or pending or held or resolved:
        if resolved:                                  # computed by run_held: only to hand on
            f, gys, gxs = resolved.pop()
        else:
            if held and not ready:                    # nothing else can run: the held groups now
                run_held()
                continue
            f = heappop(ready)[2] if ready else heappop(pending)[2]
            if len(f.outputs) == 1:                   # the common case, kept short
                y = f.outputs[0]()
                gy = None if y is None else grads.pop(id(y), None)
                if type(gy) is Pending:
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
            if gys is None:                           # no gradient reached this node
                gxs = (None,) * len(f.inputs)
            elif f.backward_group is not None:        # runs with the others of its group
                held.setdefault(id(f.backward_group), []).append((f, gys))
                continue
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
                    if kind in SUMMED:
                        entry = leaf_deferred.get(id(x))
                        if entry is None:
                            leaf_deferred[id(x)] = (x, [gx])
                        else:
                            entry[1].append(gx)
                    else:
                        if kind is MatmulGrad:
                            gx = gx.compute()
                        x.grad = _own(gx, gys) if x.grad is None else _own(x.grad + gx, ())
                else:
                    key = id(x)
                    g = grads.get(key)
                    if type(gx) is MatmulGrad:
                        if type(g) is not Pending:
                            g = grads[key] = Pending(g)
                        g.count += 1
                        wid = id(gx.W)
                        g.weights.append(wid)
                        deferred_by_W.setdefault(wid, []).append((g, gx))
                    elif g is None:
                        grads[key] = value(gx)        # a weight that is not a leaf (W = 2 * W0)
                    elif type(g) is Pending:
                        g.value = value(gx) if g.value is None else g.value + value(gx)
                    else:
                        grads[key] = g + value(gx)    # never in place: arrays may be shared
            if creator is not None:
                cid = id(creator)
                left = deps[cid] - 1
                deps[cid] = left
                if left == 0:
                    if len(creator.outputs) == 1:
                        y = creator.outputs[0]()
                        g = None if y is None else grads.get(id(y))
                        wait = type(g) is Pending and g.count
                    else:
                        wait = is_pending(creator)
                    heappush(pending if wait else ready, (-creator.generation, next(tie), creator))

    for leaf, items in leaf_deferred.values():
        total = None
        for kind in SUMMED:
            same = [g for g in reversed(items) if type(g) is kind]
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
