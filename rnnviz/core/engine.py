"""The backward engine: from one output back to every leaf it depends on (read this one first).

Backward applies the chain rule node by node, newest first: a node hands each input its share of
the gradient (its ``backward``), and where paths meet (a variable used twice) the shares are added.
A node may run only when every consumer of its outputs has run. Generations give that order: a
node's outputs are one generation above its newest input, so every consumer of a variable has a
higher generation than the variable's creator, and taking nodes highest generation first from a
heap runs each node after all its consumers. There is no recursion, so a 10,000-step unrolled
graph works.

rnnviz runs a faster engine by default, ``core/batched_engine.py``, with the same contract and the
same gradients: it computes the products of one weight at many time steps as one product (about
2.5x faster backward for the PTB-size language model; no difference at the tutorial's size). To run
this one instead: ``rnnviz.config.batched_backward = False``, or for one call
``with rnnviz.using_config("batched_backward", False): loss.backward()``.
"""
import heapq
import itertools

from . import backend


def initial_grad(root):
    """Set ``root.grad`` to ones when it is a single value and has none; check a given one."""
    if root.grad is None:
        if root.array.size != 1:
            raise ValueError(
                f"backward: the output has shape {tuple(root.shape)}, not a single value; set "
                f"its .grad to an array of that shape first (e.g. y.grad = xp.ones_like(y.array))")
        root.grad = backend.get_array_module(root.array).ones_like(root.array)
    elif root.grad.shape != root.array.shape:
        raise ValueError(f"backward: .grad has shape {tuple(root.grad.shape)} but the "
                         f"variable has shape {tuple(root.shape)}")
    elif root.grad.dtype != root.array.dtype:
        raise TypeError(f"backward: .grad is {root.grad.dtype} but the variable is {root.dtype}; "
                        f"give it the variable's dtype (e.g. xp.ones_like(y.array))")


def run_backward(root, retain_grad=False):
    """Fill ``.grad`` of every leaf ``root`` depends on (``Variable.backward`` calls this)."""
    if root.creator is None:
        return
    initial_grad(root)
    grads = {id(root): root.grad}        # id(variable) -> the sum of the gradients it got so far
    heap, queued, order = [], set(), itertools.count()   # order: a fixed one within a generation

    def push(f):
        if f not in queued:
            queued.add(f)
            heapq.heappush(heap, (-f.generation, next(order), f))

    push(root.creator)
    while heap:
        f = heapq.heappop(heap)[2]       # the newest node: all consumers of its outputs have run
        outputs = [ref() for ref in f.outputs]           # weak references: a dropped output is None
        gys = [None if y is None else grads.pop(id(y), None) for y in outputs]
        if retain_grad:
            for y, gy in zip(outputs, gys):
                if gy is not None and y is not root:
                    y.grad = gy
        if len(gys) > 1:                 # of several outputs, one that got no gradient gives zeros
            gys = [f.xp.zeros(*spec) if gy is None else gy for spec, gy in zip(f.output_specs, gys)]
        gxs = f.backward(*gys)
        gxs = gxs if type(gxs) is tuple else (gxs,)
        if len(gxs) != len(f.inputs):
            raise RuntimeError(f"{f.label}.backward returned {len(gxs)} gradients for {len(f.inputs)} inputs")
        for x, gx in zip(f.inputs, gxs):
            if gx is None or not x.requires_grad:
                continue
            if x.creator is None:        # a leaf: add into .grad, an array of its own (gx may be
                xp = backend.get_array_module(gx)   # another variable's, handed on as it is by Add)
                x.grad = xp.array(gx) if x.grad is None else xp.asarray(x.grad + gx)
            else:                        # a computed variable: sum its gradients (never in place)
                g = grads.get(id(x))
                grads[id(x)] = gx if g is None else g + gx
                push(x.creator)
