"""What the widgets measure, as plain functions over a model and data (no widgets, no drawing).

Every number here comes from the library itself: hidden states read from the recurrent link,
gradients read from ``.grad`` after a real ``backward()``, freed history read from
``rnnviz.live_function_nodes()`` after a real ``unchain_backward()``.

A *model* is either an ``L.Classifier`` (``model(x_t, t_t)`` returns the step loss) or a predictor
(``model(x_t)`` returns logits; the loss is ``lossfun(logits, t_t)``, softmax cross entropy by
default). It must contain a stateful recurrent link (``L.LSTM`` or ``L.RNN``).
"""
import contextlib
import weakref

import numpy

from .. import functions as F
from .. import links as L
from ..core import Variable
from ..core.annotations import annotate
from ..core.function_node import live_function_nodes
from ..graph import trace

DEMO_TEXT = "the cat sat on the mat . the dog ran to the log . a cat ran to a dog ."


class InputError(ValueError):
    """Bad input to a widget; the widget shows the message instead of a traceback."""


# -- the built-in demo --------------------------------------------------------------------------


def demo_corpus():
    """(vocabulary list, word ids int32 array) of the tiny built-in corpus (11 words)."""
    words = DEMO_TEXT.split()
    vocab = list(dict.fromkeys(words))
    ids = numpy.array([vocab.index(w) for w in words], dtype=numpy.int32)
    return vocab, ids


def demo_data(n_steps=12):
    """xs, ts (shape (n_steps, 1), int32) and the vocabulary: the corpus repeated as needed."""
    vocab, ids = demo_corpus()
    reps = (n_steps + 1) // len(ids) + 1
    seq = numpy.tile(ids, reps)
    xs = seq[:n_steps].reshape(n_steps, 1).astype(numpy.int32)
    ts = seq[1:n_steps + 1].reshape(n_steps, 1).astype(numpy.int32)
    return xs, ts, vocab


_DEMO_CACHE = {}


def demo_model(seed=0, train_iterations=120, trained=True):
    """A seeded tiny LSTM language model (embed 8, hidden 8) in an ``L.Classifier``; trained for a
    few Adam iterations on the demo corpus so that its predictions mean something. A fresh copy
    (parameters copied) each call."""
    key = (seed, train_iterations if trained else 0)
    if key not in _DEMO_CACHE:
        from .. import optimizers
        state = numpy.random.get_state()
        numpy.random.seed(seed)
        try:
            vocab, ids = demo_corpus()
            model = L.Classifier(L.RNNLM(len(vocab), 8, 8))  # embed -> LSTM -> linear, small enough to see every number
        finally:
            numpy.random.set_state(state)
        if trained and train_iterations:
            opt = optimizers.Adam(alpha=0.03)
            opt.setup(model)
            xs, ts, _ = demo_data(len(ids) - 1)
            for _ in range(train_iterations):
                model.reset_state()
                loss = 0
                for x, t in zip(xs, ts):
                    loss = loss + model(x, t)
                model.cleargrads()
                loss.backward()
                loss.unchain_backward()
                opt.update()
        model.reset_state()
        _DEMO_CACHE[key] = model
    m = _DEMO_CACHE[key].copy("copy")
    m.reset_state()
    return m


# -- adapting a learner's model -----------------------------------------------------------------
def find_recurrent(model):
    """The first stateful recurrent link (``L.LSTM`` / ``L.RNN``) in the model, or None."""
    if not hasattr(model, "links"):
        return None
    for link in model.links():
        if isinstance(link, (L.LSTM, L.RNN)):
            return link
    return None


def recurrent_depth(model, recurrent):
    """How deep the recurrent link sits in the scope paths ('Classifier/predictor/mid' -> 3)."""
    for path, link in model.namedlinks():
        if link is recurrent:
            return 1 + len([p for p in path.split("/") if p])
    return None


class StepModel:
    """One interface over a Classifier or a predictor: ``reset()``, ``loss(x, t)``, ``predict(x)``."""

    def __init__(self, model, lossfun=None, who="widget"):
        if model is None or not callable(model):
            raise InputError(f"{who}: expected a model (an rnnviz link), got {type(model).__name__}")
        self.model = model
        self.who = who
        self.classifier = isinstance(model, L.Classifier)
        self.predictor = model.predictor if self.classifier else model
        self.lossfun = lossfun or (model.lossfun if self.classifier else F.softmax_cross_entropy)
        self.recurrent = find_recurrent(model)
        self.depth = None if self.recurrent is None else recurrent_depth(model, self.recurrent)
        if self.recurrent is None:
            raise InputError(
                f"{who}: this model has no stateful recurrent link (L.LSTM or L.RNN), so there is no "
                f"hidden state moving through time to show. Build the model with L.LSTM or L.RNN "
                f"(explicit-state cells: use rnnviz.graph.GraphView with rnnviz.graph.time_step).")

    def reset(self):
        if hasattr(self.model, "reset_state"):
            self.model.reset_state()
        self.recurrent.reset_state()

    def loss(self, x, t, step=None):
        if self.classifier and self.lossfun is self.model.lossfun:
            loss = self.model(x, t)
        else:
            loss = self.lossfun(self.predictor(x), t)
        if not isinstance(loss, Variable):
            raise InputError(f"{self.who}: the loss must be a Variable, got {type(loss).__name__}")
        if loss.array.ndim != 0:
            raise InputError(
                f"{self.who}: the loss at step {step} has shape {tuple(loss.shape)}, not a single "
                f"value (a 0-d array); the widget needs a scalar loss (reduce it, e.g. F.mean or reduce='mean')")
        return loss

    def predict(self, x):
        return self.predictor(x)


def demo_loss(n_steps=8):
    """(loss, model): the demo model's summed loss over ``n_steps`` words, after a real backward
    (intermediate gradients kept, so a graph can be coloured by them)."""
    model = demo_model()
    xs, ts, _ = demo_data(n_steps)
    model.reset_state()
    loss = 0
    for i in range(n_steps):
        loss = loss + model(xs[i], ts[i])
    model.cleargrads()
    loss.backward(retain_grad=True)
    return loss, model


def model_and_data(model, xs, ts, lossfun, who, n_steps=12):
    """(StepModel, xs, ts) for a widget: the learner's model and data, checked, or the built-in
    demo (its model on ``n_steps`` words) when no model is given."""
    if model is None:
        model = demo_model()
        xs, ts, _ = demo_data(n_steps)
    sm = StepModel(model, lossfun, who=who)
    xs, ts = check_data(xs, ts, who=who)
    return sm, xs, ts


def check_data(xs, ts=None, who="widget", need_targets=True):
    """xs (T,) or (T, B) int word ids; ts likewise, or the next words of xs when None."""
    if xs is None:
        raise InputError(f"{who}: give the input word ids xs (and targets ts) with the model")
    xs = numpy.asarray(xs)
    if xs.dtype.kind not in "iu":
        raise InputError(f"{who}: xs must hold integer word ids, got dtype {xs.dtype}")
    if xs.ndim == 1:
        xs = xs.reshape(-1, 1)
    if xs.ndim != 2 or xs.shape[0] < 2:
        raise InputError(f"{who}: xs must have shape (T,) or (T, batch) with T >= 2, got {xs.shape}")
    xs = xs.astype(numpy.int32)
    if ts is None:
        if not need_targets:
            return xs, None
        ts = xs[1:]
        xs = xs[:-1]
    else:
        ts = numpy.asarray(ts)
        if ts.ndim == 1:
            ts = ts.reshape(-1, 1)
        if ts.shape != xs.shape:
            raise InputError(f"{who}: ts must have the shape of xs {xs.shape}, got {ts.shape}")
        ts = ts.astype(numpy.int32)
    return xs, ts


@contextlib.contextmanager
def scaled_lateral(recurrent, scale):
    """Multiply the recurrent (lateral) weight W_h by ``scale`` inside the block, restore after."""
    W = recurrent.lateral.W
    saved = W.array.copy()
    W.array = saved * W.array.dtype.type(scale)
    try:
        yield
    finally:
        W.array = saved


# -- hidden states -------------------------------------------------------------------------------
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
    """Bytes of arrays (not parameters) held by these function nodes: inputs and saved arrays."""
    from ..core import Parameter
    seen, total = set(), 0

    def add(a):
        nonlocal total
        if hasattr(a, "nbytes") and hasattr(a, "shape") and id(a) not in seen:
            seen.add(id(a))
            total += int(a.nbytes)

    for f in nodes:
        for x in f.inputs:
            if not isinstance(x, Parameter):
                add(x.array)
        for v in f.__dict__.values():
            if isinstance(v, (tuple, list)):
                for a in v:
                    add(a)
            else:
                add(v)
    return total


def _measure(before, T, cuts):
    """Live function nodes made since ``before``: per step (from their scopes), count, bytes."""
    mine = [f for f in live_function_nodes() if f not in before]
    per_step = numpy.zeros(T, int)
    for f in mine:
        s = f.scope.step if f.scope is not None else None
        if s is not None and 0 <= s < T:
            per_step[s] += 1
    return {"live_per_step": per_step, "live": len(mine), "bytes": _held_bytes(mine),
            "cuts": list(cuts)}


def run_truncated(sm, xs, ts, bprop_len, length=None, on_snapshot=None):
    """The real truncated-BPTT loop: accumulate the loss; every ``bprop_len`` steps
    ``loss.backward(); loss.unchain_backward()``. Parameter grads accumulate (no update).

    After each step's forward (before its backward/cut) a snapshot is measured from the live
    function nodes created by this run: live nodes per step (from their scopes), their bytes, and
    the steps whose state was cut so far. Returns the list of snapshots (one per step).
    ``on_snapshot(i)`` is called at that moment (tests compare with live_function_node_count()).
    """
    T = len(xs) if length is None else int(length)
    if bprop_len < 1:
        raise InputError(f"bprop_len must be at least 1, got {bprop_len}")
    sm.reset()
    sm.model.cleargrads()
    before = weakref.WeakSet(live_function_nodes())
    states = []          # weakrefs to the recurrent state h_s of each step
    cuts = []
    snaps = []
    loss = 0
    for i in range(T):
        with annotate(step=i):
            loss = loss + sm.loss(xs[i], ts[i], step=i)
        states.append(weakref.ref(sm.recurrent.h))
        snaps.append(_measure(before, T, cuts))
        if on_snapshot is not None:
            on_snapshot(i)
        if (i + 1) % bprop_len == 0 or i == T - 1:
            loss.backward()
            loss.unchain_backward()
            loss = 0
            for s, ref in enumerate(states):
                h = ref()
                if h is not None and h.unchained and s not in cuts:
                    cuts.append(s)
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
