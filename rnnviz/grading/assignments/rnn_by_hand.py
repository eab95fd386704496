"""Checks for the RNN-by-hand assignment: each layer against the same computation in rnnviz's autograd.

``rnn_by_hand.rnn_step`` runs ``RNN(Wx, Wh, b)``: one ``forward(x, h_prev)``, one
``backward(dh_next)`` and its ``grads``. ``rnn_by_hand.time_rnn`` runs ``TimeRNN(Wx, Wh, b,
stateful=...)`` twice (``stateful=False``, then ``True``): two ``forward`` calls of T steps each,
then ``backward`` of the second call, its ``dh`` and ``grads``. ``rnn_by_hand.embedding`` runs
``Embedding(W)``: ``forward(idx)`` with ids that repeat, then ``backward(dout)`` after a gradient
left from an earlier call was written into ``grads[0]``.

The learner's process gets the arrays the layers need and returns what the layers gave (copied
when returned, so a buffer reused by a later call cannot change an earlier output); the reference
(autograd through ``F.tanh``, ``F.matmul``, ``F.embed_id``) and the comparison stay in the grader.
When the learner's code raises part way, the outputs it gave before are judged first, in the order
the old checks compared them, and the error is reported where it happened.
"""
import numpy

from ... import functions as F
from ...core import Variable, backend
from ..checks import USUAL_MISTAKES, check_array
from ..protocol import Check, describe_error, format_error, host, register


def rnn_step_reference(x, h_prev, Wx, Wh, b, dh_next):
    """h_next = tanh(h_prev Wh + x Wx + b) and the gradients (dx, dh_prev, dWx, dWh, db) for dh_next."""
    vs = [Variable(a) for a in (x, h_prev, Wx, Wh, b)]
    x_, h_, Wx_, Wh_, b_ = vs
    t = F.matmul(h_, Wh_) + F.matmul(x_, Wx_)
    h_next = F.tanh(t + F.broadcast_to(b_, t.shape))
    h_next.grad = dh_next
    h_next.backward()
    return h_next.array, [v.grad for v in vs]


def time_rnn_reference(xs, h0, Wx, Wh, b, dhs):
    """hs and the gradients (dxs, dh0, dWx, dWh, db) for dhs, from the start state h0 taken as a
    constant (as after unchain)."""
    N, T, D = xs.shape
    vs = [Variable(a) for a in (xs, h0, Wx, Wh, b)]
    xs_, h, Wx_, Wh_, b_ = vs
    loss = 0
    hs = []
    for t in range(T):
        u = F.matmul(h, Wh_) + F.matmul(xs_[:, t, :], Wx_)
        h = F.tanh(u + F.broadcast_to(b_, u.shape))
        hs.append(h.array)
        loss = loss + F.sum(h * Variable(dhs[:, t, :]))
    loss.backward()
    return backend.get_array_module(xs).stack(hs, axis=1), [v.grad for v in vs]


# -- shared by the three checks ------------------------------------------------------------------

def randn(seed, *shape):
    """What ``Device.randn`` gave the old checks: the same numbers for a seed (float64, NumPy)."""
    return numpy.random.default_rng(seed).standard_normal(shape)


def randint(seed, high, shape):
    """What ``Device.randint`` gave the old checks: ids in [0, high) (int32, NumPy)."""
    return numpy.random.default_rng(seed).integers(0, high, shape).astype(numpy.int32)


def keep(value):
    """``value`` as the learner's code returned it, arrays copied on their own device (a CuPy array
    stays one): a later call that writes into a buffer the layer reuses leaves it as it was."""
    if isinstance(value, Variable):
        value = value.array
    if isinstance(value, numpy.ndarray) or backend.is_cupy_array(value):
        return value.copy()
    if isinstance(value, (tuple, list)):
        items = [keep(v) for v in value]
        return items if type(value) is list else tuple(items)
    if isinstance(value, dict):
        return {k: keep(v) for k, v in value.items()}
    return value


GPU_MIX = ("Unsupported type <class 'numpy.ndarray'>", "Implicit conversion to a NumPy array",
           "a mix of NumPy (cpu) and CuPy (gpu)")
SHAPE_ERRORS = ("matmul", "could not be broadcast", "could not broadcast", "shape mismatch",
                "cannot reshape", "not aligned")
SHAPE_HINT = ("a shape that does not fit: a missing or extra transpose (.T), the factors of a matrix "
              "product swapped, or a sum over the wrong axis")


def explain_error(error, device=None):
    """The usual mistake behind an exception of the learner's code ({"type", "message", "where"}):
    NumPy hard-coded for NumPy and CuPy arrays mixed, and for any error of the GPU run (the CPU
    run comes first), as the old checks said; a shape mistake for the errors of a matrix product,
    a broadcast or a reshape."""
    message = str(error.get("message", "")) if isinstance(error, dict) else ""
    if any(s in message for s in GPU_MIX) or getattr(device, "name", None) == "gpu":
        return f"usual mistake: {USUAL_MISTAKES['numpy_on_gpu']}"
    if any(s in message for s in SHAPE_ERRORS):
        return f"usual mistake: {SHAPE_HINT}"
    return ""


class LayerCheck(Check):
    """A check whose ``run`` records the learner's outputs in order and, when the learner's code
    raises, the error under "error": ``step`` gives an output, or fails with that error."""

    def explain(self, error):
        return explain_error(error)

    def step(self, got, key, run):
        """``got[key]``; an AssertionError with the learner's error when the code stopped before it."""
        if isinstance(got, dict) and key in got:
            return got[key]
        error = got.get("error") if isinstance(got, dict) else None
        if not isinstance(error, dict):
            raise AssertionError(f"{self.learner[0]}: no result for {key!r} came back")
        where = error.get("where") if isinstance(error.get("where"), list) else []
        error = {"type": str(error.get("type", ""))[:100], "message": str(error.get("message", ""))[:2000],
                 "where": [f for f in where if isinstance(f, dict)][:3]}
        hint = explain_error(error, run.device)
        raise AssertionError(format_error(error) + (f"\n  {hint}" if hint else ""))


def as_sequence(value, name, what):
    """``value`` (a layer's ``grads``) as a list or tuple of ``len(what)`` items, or an AssertionError."""
    assert isinstance(value, (list, tuple)) and len(value) == len(what), (
        f"{name} should hold {len(what)} array(s): [{', '.join(what)}]")
    return value


# -- 1. one step -----------------------------------------------------------------------------------

RNN_NAMES = ("x", "h_prev", "Wx", "Wh", "b", "dh_next")


@register
class RNNStep(LayerCheck):
    """``RNN.forward`` then ``RNN.backward``: h_next, dx, dh_prev and grads [dWx, dWh, db]."""

    name = "rnn_by_hand.rnn_step"
    learner = ("RNN",)

    def inputs(self, seed, N, D, H):
        shapes = [(N, D), (N, H), (D, H), (H, H), (H,), (N, H)]
        return {n: randn(seed + k, *s) for k, (n, s) in enumerate(zip(RNN_NAMES, shapes))}

    def run(self, RNN, inputs, xp):
        a, got = inputs, {}
        try:
            layer = RNN(a["Wx"], a["Wh"], a["b"])
            got["forward"] = keep(layer.forward(a["x"], a["h_prev"]))
            got["backward"] = keep(layer.backward(a["dh_next"]))
            got["grads"] = keep(layer.grads)
        except Exception as exc:  # noqa: BLE001 - judged after the outputs that came before it
            got["error"] = describe_error(exc)
        return got

    def judge(self, inputs, got, run):
        dev = run.device
        want_h, (want_dx, want_dh, want_dWx, want_dWh, want_db) = rnn_step_reference(
            *(host(inputs[n]) for n in RNN_NAMES))
        check_array("RNN.forward: h_next", self.step(got, "forward", run), want_h, device=dev)
        out = self.step(got, "backward", run)
        assert isinstance(out, tuple) and len(out) == 2, "RNN.backward should return (dx, dh_prev)"
        dx, dh_prev = out
        check_array("RNN.backward: dx", dx, want_dx, device=dev)
        check_array("RNN.backward: dh_prev", dh_prev, want_dh, device=dev)
        grads = as_sequence(self.step(got, "grads", run), "RNN.grads", ("dWx", "dWh", "db"))
        check_array("RNN.grads[0] (dWx)", grads[0], want_dWx, device=dev)
        check_array("RNN.grads[1] (dWh)", grads[1], want_dWh, device=dev)
        check_array("RNN.grads[2] (db)", grads[2], want_db, device=dev,
                    mistakes={"shape": "db sums dt over the batch axis (axis=0), leaving one value per "
                                       "hidden unit"})


# -- 2. a whole sequence -----------------------------------------------------------------------------

CARRY = ("the state must carry over from the previous call when stateful=True, and start at "
         "zeros when stateful=False")
LATER = ("the gradient coming back from later steps is missing: add the dh_prev of step t+1 to "
         "dhs[:, t] before step t's backward")
SHARED = ("the weights are shared by all steps: their gradient is the sum over the steps, not "
          "the last (or first) step's alone")
STATEFUL = (False, True)


@register
class TimeRNNCheck(LayerCheck):
    """``TimeRNN``: two calls of T steps each, stateful and not, then backward of the second."""

    name = "rnn_by_hand.time_rnn"
    learner = ("TimeRNN",)

    def inputs(self, seed, N, T, D, H):
        # the old check's arrays: xs of 2T steps cut into two calls, dhs for the second call
        xs, Wx, Wh, b, dhs = (randn(seed + k, *shape) for k, shape in
                              enumerate([(N, 2 * T, D), (D, H), (H, H), (H,), (N, 2 * T, H)]))
        return {"xs1": xs[:, :T].copy(), "xs2": xs[:, T:].copy(), "Wx": Wx, "Wh": Wh, "b": b,
                "dhs": dhs[:, T:].copy()}

    def run(self, TimeRNN, inputs, xp):
        a, got = inputs, {"runs": []}
        try:
            for stateful in STATEFUL:
                one = {}
                got["runs"].append(one)
                layer = TimeRNN(a["Wx"], a["Wh"], a["b"], stateful=stateful)
                one["hs1"] = keep(layer.forward(a["xs1"]))
                one["hs2"] = keep(layer.forward(a["xs2"]))
                one["dxs"] = keep(layer.backward(a["dhs"]))
                one["dh"] = keep(layer.dh)
                one["grads"] = keep(layer.grads)
        except Exception as exc:  # noqa: BLE001 - judged after the outputs that came before it
            got["error"] = describe_error(exc)
        return got

    def judge(self, inputs, got, run):
        dev = run.device
        xs1, xs2, Wx, Wh, b, dhs = (host(inputs[n]) for n in ("xs1", "xs2", "Wx", "Wh", "b", "dhs"))
        N, T, _ = xs1.shape
        H = Wh.shape[0]
        steps = {"parts": (1, [f"t={t}" for t in range(T)])}
        h0 = numpy.zeros((N, H))
        want_hs1, _ = time_rnn_reference(xs1, h0, Wx, Wh, b, numpy.zeros((N, T, H)))
        runs = self.step(got, "runs", run)
        assert isinstance(runs, list), "TimeRNN: the results of the two calls did not come back"
        for k, stateful in enumerate(STATEFUL):
            one = runs[k] if k < len(runs) and isinstance(runs[k], dict) else {}
            one = dict(one, error=got.get("error"))
            check_array(f"TimeRNN(stateful={stateful}).forward: hs of the first call",
                        self.step(one, "hs1", run), want_hs1, device=dev, **steps)
            start = want_hs1[:, -1] if stateful else h0
            want_hs2, grads = time_rnn_reference(xs2, start, Wx, Wh, b, dhs)
            check_array(f"TimeRNN(stateful={stateful}).forward: hs of the second call",
                        self.step(one, "hs2", run), want_hs2, device=dev,
                        mistakes={"parts": CARRY, "other": CARRY}, **steps)
            want_dxs, want_dh0, want_dWx, want_dWh, want_db = grads
            check_array("TimeRNN.backward: dxs", self.step(one, "dxs", run), want_dxs, device=dev,
                        mistakes={"parts": LATER}, **steps)
            check_array("TimeRNN.dh (gradient leaving the first step)", self.step(one, "dh", run), want_dh0,
                        device=dev)
            layer_grads = as_sequence(self.step(one, "grads", run), "TimeRNN.grads", ("dWx", "dWh", "db"))
            for i, (name, want) in enumerate([("dWx", want_dWx), ("dWh", want_dWh), ("db", want_db)]):
                check_array(f"TimeRNN.grads[{i}] ({name})", layer_grads[i], want, device=dev,
                            mistakes={"other": SHARED, "zero": SHARED})


# -- 3. the embedding --------------------------------------------------------------------------------

ADD_AT = ("rows of a repeated id must be added, not overwritten: use xp.add.at(dW, idx, dout) "
          "(dW[idx] = dout and dW[idx] += dout keep one row per id); set dW to 0 first")


@register
class EmbeddingCheck(LayerCheck):
    """``Embedding``: rows forward; backward with ids that repeat, against ``F.embed_id``."""

    name = "rnn_by_hand.embedding"
    learner = ("Embedding",)

    def inputs(self, seed, V, D, idx_shape):
        idx_shape = tuple(idx_shape)
        return {"W": randn(seed, V, D), "idx": randint(seed + 1, V, idx_shape),
                "dout": randn(seed + 2, *idx_shape, D)}

    def run(self, Embedding, inputs, xp):
        a, got = inputs, {}
        try:
            layer = Embedding(a["W"])
            got["forward"] = keep(layer.forward(a["idx"]))
            layer.grads[0][...] = 1.0  # a gradient left from an earlier call must not leak in
            got["backward"] = keep(layer.backward(a["dout"]))
            got["grads"] = keep(layer.grads)
        except Exception as exc:  # noqa: BLE001 - judged after the outputs that came before it
            got["error"] = describe_error(exc)
        return got

    def judge(self, inputs, got, run):
        dev = run.device
        W, idx, dout = (host(inputs[n]) for n in ("W", "idx", "dout"))
        Wv = Variable(W)
        y = F.embed_id(idx, Wv)
        y.grad = dout
        y.backward()
        check_array("Embedding.forward", self.step(got, "forward", run), y.array, device=dev)
        assert self.step(got, "backward", run) is None, \
            "Embedding.backward should return None (ids have no gradient)"
        grads = as_sequence(self.step(got, "grads", run), "Embedding.grads", ("dW",))
        check_array("Embedding.grads[0] (dW)", grads[0], Wv.grad, device=dev, mistakes={"other": ADD_AT})
