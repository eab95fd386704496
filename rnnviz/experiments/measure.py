"""The measurements: hidden states, truncated vs full gradients, gradient flow, live nodes per step.

Every number comes from the library itself: hidden states read from the recurrent link, gradients
read from ``.grad`` after a real ``backward()``, freed history read from
``rnnviz.live_function_nodes()`` after a real ``unchain_backward()``.
"""
import weakref

import numpy

from ..core import Parameter
from ..core.annotations import annotate
from ..core.function_node import live_function_nodes
from ..graph import trace
from .model import check_bprop_len


def run_hidden(sm, xs):
    """Run the predictor over xs with the graph recorded; returns dict with the hidden states
    (units, T), the predicted word ids and probabilities (batch element 0), and the outputs."""
    sm.reset()
    hs, preds, probs, ys = [], [], [], []
    for t, x in enumerate(xs):
        with annotate(step=t):
            y = sm.predict(x)
        ys.append(y)
        hs.append(numpy.asarray(sm.recurrent.h.array)[0].astype(float))
        p = _softmax(numpy.asarray(y.array, dtype=float))[0]
        preds.append(int(p.argmax()))
        probs.append(float(p.max()))
    return {"states": numpy.stack(hs, axis=1), "preds": preds, "probs": probs, "outputs": ys}


def _softmax(a):
    z = a - a.max(axis=-1, keepdims=True)
    e = numpy.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


# -- truncated BPTT, measured ---------------------------------------------------------------------
def _held_bytes(nodes):
    """Bytes of arrays (not parameters) held by these function nodes: inputs and saved arrays, each
    array once (the direct count over a set of nodes; ``_LiveNodes`` keeps the same number up to
    date as it runs)."""
    held = {}
    for f in nodes:
        held.update(_arrays_held(f))
    return sum(held.values())


def _arrays_held(f):
    """(id, bytes) of the arrays (not parameters) one function node holds: inputs and saved arrays."""
    seen = {}

    def add(a):
        if hasattr(a, "nbytes") and hasattr(a, "shape"):
            seen[id(a)] = int(a.nbytes)

    for x in f.inputs:
        if not isinstance(x, Parameter):
            add(x.array)
    for v in f.__dict__.values():
        if isinstance(v, (tuple, list)):
            for a in v:
                add(a)
        else:
            add(v)
    return tuple(seen.items())


class _LiveNodes:
    """The function nodes one run created and that are still alive, kept up to date as they are
    made and freed: per step (from their scopes), their count and the bytes of their arrays.

    New nodes are found by walking back from the loss and the state to the nodes already known
    (the work per step is the number of new nodes); a freed node is subtracted by its weakref
    callback. So a snapshot costs O(T), not O(live nodes), and a 1,000-step run stays linear.
    """

    def __init__(self, T, before):
        self.before = before
        self.known = weakref.WeakSet()
        self.per_step = numpy.zeros(T, numpy.int32)   # a copy per step: int32 halves T^2 memory
        self.live = 0
        self.bytes = 0
        self._holders = {}    # array id -> how many live nodes hold it (bytes count once)
        self._records = {}    # weakref to a node -> (its step or None, its arrays)

    def add_new(self, roots):
        stack = [v.creator for v in roots if v is not None and getattr(v, "creator", None) is not None]
        while stack:
            f = stack.pop()
            if f in self.known or f in self.before:
                continue
            self.known.add(f)
            self._register(f)
            stack.extend([x.creator for x in f.inputs if x.creator is not None])

    def _register(self, f):
        s = f.scope.step if f.scope is not None else None
        step = s if s is not None and 0 <= s < len(self.per_step) else None
        arrays = _arrays_held(f)
        if step is not None:
            self.per_step[step] += 1
        self.live += 1
        for key, nbytes in arrays:
            n = self._holders.get(key, 0)
            if n == 0:
                self.bytes += nbytes
            self._holders[key] = n + 1
        self._records[weakref.ref(f, self._freed)] = (step, arrays)

    def _freed(self, ref):
        step, arrays = self._records.pop(ref)
        if step is not None:
            self.per_step[step] -= 1
        self.live -= 1
        for key, nbytes in arrays:
            n = self._holders[key] - 1
            if n == 0:
                del self._holders[key]
                self.bytes -= nbytes
            else:
                self._holders[key] = n

    def snapshot(self, cuts):
        return {"live_per_step": self.per_step.copy(), "live": self.live, "bytes": self.bytes,
                "cuts": list(cuts)}


def run_truncated(sm, xs, ts, bprop_len, length=None, on_snapshot=None):
    """The real truncated-BPTT loop: accumulate the loss; every ``bprop_len`` steps
    ``loss.backward(); loss.unchain_backward()``. Parameter grads accumulate (no update).

    After each step's forward (before its backward/cut) a snapshot is measured from the live
    function nodes created by this run: live nodes per step (from their scopes), their bytes, and
    the steps whose state was cut so far. Returns the list of snapshots (one per step).
    ``on_snapshot(i)`` is called at that moment (tests compare with live_function_node_count()).
    The work is linear in the number of steps (times the steps kept alive), so 1,000 steps take
    seconds.
    """
    T = len(xs) if length is None else int(length)
    bprop_len = check_bprop_len(bprop_len, "run_truncated")
    sm.reset()
    sm.model.cleargrads()
    nodes = _LiveNodes(T, weakref.WeakSet(live_function_nodes()))
    states = []          # weakrefs to the recurrent state h_s of each step, until it is cut
    cuts = []
    snaps = []
    loss = 0
    for i in range(T):
        with annotate(step=i):
            loss = loss + sm.loss(xs[i], ts[i], step=i)
        nodes.add_new([loss, *sm.recurrent.get_state().values()])
        states.append((i, weakref.ref(sm.recurrent.h)))
        snaps.append(nodes.snapshot(cuts))
        if on_snapshot is not None:
            on_snapshot(i)
        if (i + 1) % bprop_len == 0 or i == T - 1:
            loss.backward()
            loss.unchain_backward()
            loss = 0
            kept = []
            for s, ref in states:
                h = ref()
                if h is not None and h.unchained:
                    cuts.append(s)
                elif h is not None:
                    kept.append((s, ref))
            states = kept
    return snaps


def truncated_grads(sm, xs, ts, bprop_len):
    """{param path: gradient array} after a truncated run over all of xs (no update)."""
    run_truncated(sm, xs, ts, bprop_len)
    return {name: (None if p.grad is None else numpy.array(p.grad, dtype=float))
            for name, p in sm.model.namedparams()}


def compare_truncation(sm, xs, ts, bprop_lens):
    """Per-parameter cosine similarity and relative error of truncated vs full BPTT gradients.
    Returns (names, cos (P, K), rel_err (P, K))."""
    T = len(xs)
    full = truncated_grads(sm, xs, ts, T)
    names = [n for n, g in full.items() if g is not None]
    cos = numpy.zeros((len(names), len(bprop_lens)))
    err = numpy.zeros_like(cos)
    for k, b in enumerate(bprop_lens):
        tr = full if b >= T else truncated_grads(sm, xs, ts, b)
        for i, n in enumerate(names):
            g, f = tr[n].ravel(), full[n].ravel()
            nf, ng = numpy.linalg.norm(f), numpy.linalg.norm(g)
            cos[i, k] = float(g @ f / (ng * nf)) if ng > 0 and nf > 0 else (1.0 if ng == nf else 0.0)
            err[i, k] = float(numpy.linalg.norm(g - f) / nf) if nf > 0 else float(ng > 0)
    sm.model.cleargrads()
    return names, cos, err


def gradient_flow(sm, xs, ts):
    """norms[t, s] = ||dL_t / dh_s|| for s <= t (NaN above the diagonal), measured by running the
    model once, keeping each h_s, and back-propagating each step loss L_t separately with
    ``retain_grad=True``; the norms are read from ``h_s.grad``."""
    T = len(xs)
    sm.reset()
    hs, losses = [], []
    for t in range(T):
        with annotate(step=t):
            losses.append(sm.loss(xs[t], ts[t], step=t))
        hs.append(sm.recurrent.h)
    norms = numpy.full((T, T), numpy.nan)
    for t in range(T):
        for h in hs:
            h.grad = None
        sm.model.cleargrads()
        losses[t].backward(retain_grad=True)
        for s in range(t + 1):
            g = hs[s].grad
            norms[t, s] = 0.0 if g is None else float(numpy.sqrt((numpy.asarray(g, float) ** 2).sum()))
    for h in hs:
        h.grad = None
    sm.model.cleargrads()
    losses[-1].unchain_backward()
    return norms


def trace_run(sm, xs, ts, length=None):
    """Run the loss over all steps (no backward) and trace it: the full unrolled graph."""
    T = len(xs) if length is None else length
    sm.reset()
    loss = 0
    for i in range(T):
        with annotate(step=i):
            loss = loss + sm.loss(xs[i], ts[i], step=i)
    g = trace(loss)
    loss.unchain_backward()
    return g
