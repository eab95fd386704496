"""Deferred forward: the output layer and the LSTM's input products of a whole window, each in
one product (read ``core/deferred.py`` first; this is its forward half).

Why: a language model trained one step per call applies its output layer (``F.linear`` to the
vocabulary), ``F.softmax_cross_entropy`` and the LSTM's input product x W_x^T at every step: T
small products per window where a hand-written model makes one. Nothing needs those values before
the window's loss is read.

How: while the batched engine is on (``config.batched_backward``) and the graph is recorded, a
function that says it may wait (``may_wait``: ``Linear``, ``SoftmaxCrossEntropy``, ``LSTMStep`` with a
large W_x, the sum of scalar losses) is recorded as usual, but its forward is queued: its outputs are
*pending* Variables, whose ``array`` is computed the first time anyone reads it. Then the queue
runs in call order, except that what can be computed for many steps together waits until nothing
else can run, and then runs as one: the LSTM steps' x W_x^T + b (``prepare_many``: after it, each
step's recurrence runs in order), all the ``Linear`` products of one weight (``forward_many``),
the softmax cross-entropy of all their rows in one pass.
Reading any pending value, ``backward()``, ``unchain()`` and ``unchain_backward()`` run the queue,
so the graph, the values and the gradients are the ones the eager forward gives; only the moment
the products are computed moves. A value's shape and dtype are known while it waits (a link checks
its state's batch size without running the queue). ``rnnviz.config.batched_backward = False``
turns it off.
"""
import numpy

from .config import config

LINEAR, LOSS, REST = 0, 1, 2       # the phases a flush runs, in this order
MAX_QUEUED = 20000                 # a queue that nobody reads is run when it gets this long
SCALAR_OPS = set()                 # node classes that may wait on pending scalars (the loss's +)
MIN_WEIGHT_SIZE = 4096             # smaller products gain nothing from waiting
MIN_STEP_WEIGHT_SIZE = 1 << 18     # an LSTM step's W_x: at the tutorial's size (200 x 100) waiting
                                   # measured 3.6% slower, at PTB's (2600 x 650) 6.6% faster
MAX_ROUNDS = 8                     # rounds of (in order, then groups) before the rest runs in order
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
    phase, outputs = spec
    ys = []
    for shape, dtype in outputs:
        y = new_pending()         # reading y.array runs the queue (Variable.__getattr__)
        pending[id(y)] = (y, shape, dtype)
        ys.append(y)
    node.wait_phase = phase
    state.queue.append((node, ys))
    if len(state.queue) > MAX_QUEUED:
        flush()
    return ys


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
    state.queue.append((_Later(fn, inputs), [y]))
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
    return REST, [((), dtype)]


def is_pending(x):
    return id(x) in state.pending


def pending_spec(x):
    """(shape, dtype) of a pending variable, or None when its value is known."""
    p = state.pending.get(id(x))
    return None if p is None else p[1:]


def known(x, pending):
    """x's array, or a stand-in of its shape and dtype while it is pending (for input checks)."""
    p = pending.get(id(x))
    return x.array if p is None else stand_in(p[1], p[2])


def flush():
    """Run every queued forward. The queue runs in call order, except that a function's part that
    is computed for many steps together waits until no other queued forward can run: then, for
    each group (a phase, a function, its weights), all members whose inputs are known run as one
    (``forward_many``; a recurrent step's input product, ``prepare_many``), phases in order."""
    queue = state.queue
    if not queue:
        return
    state.queue = []
    try:
        todo, rounds = queue, 0
        while todo:
            rounds += 1
            if rounds > MAX_ROUNDS:              # a long chain (each product needs the one before):
                for item in todo:                # one by one, in call order, each in one visit
                    _run_alone(item)
                break
            before = len(todo)
            todo = _run_in_order(todo)
            if todo and not _run_groups(todo) and len(todo) == before:
                raise RuntimeError("core/lazy.py: queued forwards wait on each other")   # a bug, not a misuse
            todo = [it for it in todo if id(it[1][0]) in state.pending]
    finally:
        for _, outputs in queue:
            for y in outputs:
                state.pending.pop(id(y), None)


def _ready(xs, pending):
    for x in xs:
        if id(x) in pending:
            return False
    return True


def _run_in_order(todo):
    """Run, in call order, every forward that runs alone and can run now; return the others."""
    pending, left = state.pending, []
    for item in todo:
        node = item[0]
        if node.wait_phase == REST and not _needs_prepare(node) and _ready(node.inputs, pending):
            _run_alone(item)                            # (after prepare_many: the step's rest)
        else:
            left.append(item)
    return left


def _run_groups(todo):
    """Run each group's members whose inputs are known, as one, the first phase that has any
    (what they compute lets other queued forwards run, in call order, before the next phase);
    return whether any ran."""
    pending, groups, ran = state.pending, {}, False
    for item in todo:
        node = item[0]
        if node.wait_phase < REST:
            groups.setdefault((node.wait_phase, type(node), node.wait_key()), []).append(item)
        elif _needs_prepare(node):
            groups.setdefault((-1, type(node), node.prepare_key()), []).append(item)
    for key in sorted(groups, key=lambda k: k[0]):      # stable: call order within a group
        if ran and key[0] != phase:
            break                                        # back to the queue's order first
        phase = key[0]
        if key[0] < 0:                                   # recurrent steps: their input products
            nodes = [n for n, _ in groups[key] if _ready(n.prepare_inputs(), pending)]
            if nodes:
                if len(nodes) == 1:
                    _alone[key[2][0]] = RETRY_AFTER
                type(nodes[0]).prepare_many(nodes)
                ran = True
            continue
        items = [it for it in groups[key] if _ready(it[0].inputs, pending)]
        if not items:
            continue
        nodes = [n for n, _ in items]
        if key[0] == LINEAR and len(nodes) == 1:
            _alone[key[2][0]] = RETRY_AFTER
        ys = key[1].forward_many(nodes, [[x.array for x in n.inputs] for n in nodes])
        for (_, outputs), y in zip(items, ys):
            _set(outputs, (y,))
        ran = True
    return ran


def _run_alone(item):
    """Run one queued forward now (its inputs are known: the queue is in call order)."""
    node, outputs = item
    if id(outputs[0]) not in state.pending:
        return
    if node.wait_phase < REST:
        ys = type(node).forward_many([node], [[x.array for x in node.inputs]])
    else:
        if _needs_prepare(node):
            type(node).prepare_many([node])
        arrays = [x.array for x in node.inputs]
        node.check_inputs(*arrays)
        if "prepared" in node.__dict__:
            ys = node.forward_prepared(node.__dict__.pop("prepared"), *arrays)
        else:
            ys = node.forward(*arrays)
        ys = ys if type(ys) is tuple else (ys,)
    _set(outputs, ys)


def _needs_prepare(node):
    """A recurrent step (``prepare_many``) whose input product is not computed yet."""
    d = getattr(node, "__dict__", None)
    return d is not None and "prepared" in d and d["prepared"] is None


def _set(outputs, arrays):
    for y, a in zip(outputs, arrays):
        y.array = numpy.asarray(a) if isinstance(a, numpy.generic) else a
        state.pending.pop(id(y), None)


def enabled():
    return config.enable_backprop and config.batched_backward
