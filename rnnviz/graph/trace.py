"""trace(): read the live graph behind some Variables into the plain data model, without changing it.

The walk is iterative (a stack, no recursion), stops at leaves and at cut variables (history
removed by ``unchain``), and orders the nodes deterministically: by generation (a function sits
between its inputs and its outputs), then by time step, then by the order of discovery, which
follows each function's input order. Sets are used only for membership, never for order.
"""
import contextlib
import math

import numpy

from ..core import Parameter, Variable, backend
from ..core.annotations import annotate
from ..core.function_node import live_function_node_count, live_function_nodes  # noqa: F401 (re-export)
from .model import Edge, Graph, Node, Stats


@contextlib.contextmanager
def time_step(t):
    """Everything recorded inside is marked as time step ``t`` (for explicit-state code)::

        for t, x in enumerate(xs):
            with rnnviz.graph.time_step(t):
                h, y = cell(h, x)
    """
    if t is not None and not isinstance(t, (int, numpy.integer)):
        raise TypeError(f"time_step: expected an int, got {type(t).__name__}")
    with annotate(step=None if t is None else int(t)) as scope:
        yield scope


def array_stats(a):
    """min/max/mean/L2 norm of an array (NumPy or CuPy) as floats; None for None or empty."""
    if a is None or getattr(a, "size", 0) == 0:
        return None
    if backend.is_cupy_array(a):
        a = backend.to_device(a, "cpu")
    a = numpy.asarray(a)
    if a.dtype.kind not in "fiub":
        return None
    if a.dtype.kind != "f":
        a = a.astype(numpy.float64)
    flat = a.ravel()
    return Stats(float(flat.min()), float(flat.max()), float(flat.mean()),
                 float(math.sqrt(float(numpy.dot(flat, flat)))))


def _path(scope):
    return "/".join(scope.path) if scope is not None and scope.path else ""


def trace(*outputs, stats=True, keep_refs=False):
    """Walk back from ``outputs`` (Variables) through their creators and return a ``Graph``.

    ``stats``: compute value and gradient statistics from the real arrays (``.array``, ``.grad``).
    ``keep_refs``: keep a reference to each Variable / FunctionNode in ``Node.ref`` (off by
    default, so tracing never keeps a graph alive). Nothing in the live graph is changed.
    """
    if len(outputs) == 1 and isinstance(outputs[0], (list, tuple)):
        outputs = tuple(outputs[0])
    for i, v in enumerate(outputs):
        if not isinstance(v, Variable):
            raise TypeError(f"trace: expected Variables, got {type(v).__name__} as argument {i}")

    objs = []          # discovered objects (Variables and FunctionNodes), in discovery order
    kinds = []         # 'v' or 'f'
    index = {}         # id(obj) -> discovery index
    raw_edges = []     # (src discovery index, dst discovery index, input position)
    stack = list(reversed(outputs))
    for v in outputs:
        if id(v) not in index:
            index[id(v)] = len(objs)
            objs.append(v)
            kinds.append("v")
    stack = [index[id(v)] for v in reversed(outputs)]
    seen_f = {}
    while stack:
        vi = stack.pop()
        v = objs[vi]
        f = v.creator
        if f is None:
            continue
        fi = seen_f.get(id(f))
        if fi is None:
            fi = len(objs)
            seen_f[id(f)] = fi
            index[id(f)] = fi
            objs.append(f)
            kinds.append("f")
            new = []
            for pos, x in enumerate(f.inputs):
                xi = index.get(id(x))
                if xi is None:
                    xi = len(objs)
                    index[id(x)] = xi
                    objs.append(x)
                    kinds.append("v")
                    new.append(xi)
                raw_edges.append((xi, fi, pos))
            stack.extend(reversed(new))
        raw_edges.append((fi, vi, 0))

    n = len(objs)
    # consumers / producers in discovery indices
    preds = [[] for _ in range(n)]
    succs = [[] for _ in range(n)]
    for s, d, _ in raw_edges:
        preds[d].append(s)
        succs[s].append(d)

    # time steps: from scopes, then inferred from neighbours
    step = [None] * n
    inferred = [False] * n
    is_param = [kinds[i] == "v" and isinstance(objs[i], Parameter) for i in range(n)]
    rank = [0] * n
    for i, o in enumerate(objs):
        if kinds[i] == "f":
            rank[i] = 2 * o.generation + 1
            if o.scope is not None and o.scope.step is not None:
                step[i] = o.scope.step
        else:
            rank[i] = 2 * o.generation
            if o.creator is not None and o.creator.scope is not None:
                step[i] = o.creator.scope.step
    topo = sorted(range(n), key=lambda i: (rank[i], i))
    # forward: a function without a step takes the latest step among its inputs (output layer, loss)
    for i in topo:
        if step[i] is None and not is_param[i]:
            if kinds[i] == "f":
                known = [step[p] for p in preds[i] if step[p] is not None and not is_param[p]]
                if known:
                    step[i], inferred[i] = max(known), True
            elif preds[i] and step[preds[i][0]] is not None:
                step[i], inferred[i] = step[preds[i][0]], True
    # backward: what is still unknown takes the earliest step among its consumers (embedding, data)
    for i in reversed(topo):
        if step[i] is None and not is_param[i]:
            known = [step[c] for c in succs[i] if step[c] is not None]
            if known:
                step[i], inferred[i] = min(known), True

    # link paths: functions from their scope; variables from their creator, leaves from a consumer
    link = [""] * n
    for i in topo:
        o = objs[i]
        if kinds[i] == "f":
            link[i] = _path(o.scope)
        elif o.creator is not None:
            link[i] = _path(o.creator.scope)
    for i in range(n):
        if kinds[i] == "v" and objs[i].creator is None and succs[i]:
            link[i] = link[min(succs[i])]

    # the final order: generation rank, then step, then discovery
    order = sorted(range(n), key=lambda i: (rank[i], -1 if step[i] is None else step[i], i))
    new_id = [0] * n
    for k, i in enumerate(order):
        new_id[i] = k

    nodes = []
    for k, i in enumerate(order):
        o = objs[i]
        if kinds[i] == "f":
            node = Node(id=k, kind="function", label=o.label, link=link[i], step=step[i],
                        step_inferred=inferred[i], generation=o.generation)
        else:
            a = o.array
            name = o.name
            label = name if name else ("param" if is_param[i] else "var")
            node = Node(id=k, kind="variable", label=label,
                        shape=None if a is None else tuple(int(s) for s in a.shape),
                        dtype=None if a is None else str(a.dtype), name=name, link=link[i],
                        step=step[i], step_inferred=inferred[i], generation=o.generation,
                        is_param=is_param[i], cut=bool(o.unchained and o.creator is None))
            if stats:
                node.value = array_stats(a)
                node.grad = array_stats(o.grad)
        if keep_refs:
            node.ref = o
        nodes.append(node)
    edges = [Edge(new_id[s], new_id[d]) for s, d, pos in
             sorted(raw_edges, key=lambda e: (new_id[e[1]], e[2], new_id[e[0]]))]
    return Graph(nodes=nodes, edges=edges, outputs=[new_id[index[id(v)]] for v in outputs])
