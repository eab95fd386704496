"""Deferred forward: the output layer of a whole window in one product (read ``core/deferred.py``
first; this is its forward half).

Why: a language model trained one step per call applies its output layer (``F.linear`` to the
vocabulary) and ``F.softmax_cross_entropy`` at every step, T small products per window where a
hand-written model makes one. Nothing needs those values before the window's loss is read.

How: while the batched engine is on (``config.batched_backward``) and the graph is recorded, a
function that says it may wait (``may_wait``: ``Linear``, ``SoftmaxCrossEntropy``, the sum of
scalar losses) is recorded as usual, but its forward is queued: its outputs are *pending*
Variables, whose ``array`` is computed the first time anyone reads it. Then every queued forward
runs at once, in phases: all the ``Linear`` products of one weight as one product, then the
softmax cross-entropy of all those rows in one pass, then the rest in the order they were called.
Reading any pending value, ``backward()``, ``unchain()`` and ``unchain_backward()`` run the queue,
so the graph, the values and the gradients are the ones the eager forward gives; only the moment
the products are computed moves. ``rnnviz.config.batched_backward = False`` turns it off.
"""
import numpy

from .config import config

LINEAR, LOSS, REST = 0, 1, 2       # the phases a flush runs, in this order
MAX_QUEUED = 20000                 # a queue that nobody reads is run when it gets this long
SCALAR_OPS = set()                 # node classes that may wait on pending scalars (the loss's +)
MIN_WEIGHT_SIZE = 4096             # smaller products gain nothing from waiting
RETRY_AFTER = 64                   # a weight whose product was read at once: calls before waiting again
_alone = {}                        # id(W) -> eager calls left


def read_alone(wid):
    """True while a weight's products run at once: the last one that waited was read alone (a
    hidden layer: the next function needs it now), so waiting only costs time."""
    left = _alone.get(wid)
    if not left:
        return False
    _alone[wid] = left - 1
    return True


class _State:
    def __init__(self):
        self.queue = []            # (node, outputs) in the order they were called
        self.pending = {}          # id(variable) -> (variable, shape, dtype) not computed yet


state = _State()


def wait_on_scalars(*classes):
    """Let these node classes wait when their inputs are pending scalars (``loss += step_loss``)."""
    SCALAR_OPS.update(classes)


_STAND_INS = {}


def stand_in(shape, dtype):
    """A read-only array of the right shape and dtype, no memory: for a node's input checks while
    its input is still pending (the checks read shapes and dtypes, not values)."""
    key = (shape, dtype)
    a = _STAND_INS.get(key)
    if a is None:
        if len(_STAND_INS) > 256:
            _STAND_INS.clear()
        a = _STAND_INS[key] = numpy.broadcast_to(numpy.zeros((), dtype=dtype), shape)
    return a


def try_defer(node, xs, new_pending):
    """Queue ``node``'s forward and return its pending outputs, or None when it must run now.
    ``new_pending()`` makes a Variable whose ``array`` is not set yet."""
    pending = state.pending
    if node.may_wait:
        spec = node.wait_spec(xs, pending)
    else:
        spec = _scalar_spec(node, xs, pending)
    if spec is None:
        return None
    phase, shape, dtype = spec
    y = new_pending()             # reading y.array runs the queue (Variable.__getattr__)
    pending[id(y)] = (y, shape, dtype)
    node.wait_phase = phase
    state.queue.append((node, (y,)))
    if len(state.queue) > MAX_QUEUED:
        flush()
    return [y]


class _Later:
    """A queued computation that is not a graph node (``F.accuracy`` of pending logits)."""

    wait_phase = REST

    def __init__(self, fn, inputs):
        self.fn = fn
        self.inputs = inputs

    def check_inputs(self, *arrays):
        pass

    def forward(self, *arrays):
        return self.fn(*arrays)


def later(y, fn, inputs, dtype):
    """Make ``y`` (a Variable without a value, no creator, no gradient) stand for the scalar
    ``fn(*arrays of inputs)``, computed when the queue runs."""
    y.requires_grad = False
    state.pending[id(y)] = (y, (), dtype)
    state.queue.append((_Later(fn, inputs), (y,)))
    return y


def _scalar_spec(node, xs, pending):
    """A scalar op waits when an input is a pending scalar and the others are scalars."""
    dtype = None
    for x in xs:
        p = pending.get(id(x))
        if p is not None:
            if p[1] != ():
                return None
            dtype = p[2]
        elif x.array.ndim != 0:
            return None
    if dtype is None:
        return None
    node.check_inputs(*[stand_in(pending[id(x)][1], pending[id(x)][2]) if id(x) in pending else x.array
                        for x in xs])
    return REST, (), dtype


def is_pending(x):
    return id(x) in state.pending


def pending_spec(x):
    """(shape, dtype) of a pending variable, or None when its value is known."""
    p = state.pending.get(id(x))
    return None if p is None else p[1:]


def flush():
    """Run every queued forward: the products of one weight together, then the losses, then the rest."""
    queue = state.queue
    if not queue:
        return
    state.queue = []
    try:
        groups = {}
        for node, outputs in queue:
            key = (node.wait_phase, type(node), node.wait_key()) if node.wait_phase < REST else (REST, id(node))
            groups.setdefault(key, []).append((node, outputs))
        for key in sorted(groups, key=lambda k: k[0]):      # stable: call order within a phase
            items = groups[key]
            nodes = [n for n, _ in items]
            if key[0] == LINEAR and len(nodes) == 1:
                _alone[key[2][0]] = RETRY_AFTER
            if key[0] < REST:
                ys = type(nodes[0]).forward_many(nodes, [[x.array for x in n.inputs] for n in nodes])
            else:
                node = nodes[0]
                arrays = [x.array for x in node.inputs]
                node.check_inputs(*arrays)
                ys = [node.forward(*arrays)]
            for (_, outputs), y in zip(items, ys):
                (out,) = outputs
                out.array = numpy.asarray(y) if isinstance(y, numpy.generic) else y
    finally:
        for _, outputs in queue:
            for y in outputs:
                state.pending.pop(id(y), None)


def enabled():
    return config.enable_backprop and config.batched_backward


def rows_view(arrays):
    """The arrays as one array of their rows without a copy, when they are consecutive row blocks
    of one C-contiguous array (the steps' logits of one deferred product); else None."""
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
