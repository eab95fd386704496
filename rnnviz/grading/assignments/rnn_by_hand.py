"""Checks for the RNN-by-hand assignment: each layer against the same computation in rnnviz's autograd.

Every check has parts (``parts``: {name: weight}). The weights are the points of the test cell's
parts: those of the checks a cell calls add up to its points (RNN 3: forward 1, backward 2; TimeRNN
4: forward 2, backward 2; Embedding 3). A part fails when it fails in any case on any device, and
costs its points only.

``rnn_by_hand.rnn_forward``      ``RNN(Wx, Wh, b).forward(x, h_prev)``: "h_next" (the output),
                                 "cache" (``self.cache == (x, h_prev, h_next)``), "inputs unchanged".
``rnn_by_hand.rnn_backward``     a new ``RNN`` whose ``self.cache`` the check sets to the reference
                                 ``(x, h_prev, h_next)``; ``backward(dh_next)``: "dx", "dh_prev"
                                 (returned), "dWx", "dWh", "db" (written into ``self.grads``, the
                                 arrays ``__init__`` made), "inputs unchanged".
``rnn_by_hand.time_rnn_forward`` ``TimeRNN``: "forward" (``stateful=False``: two calls, each from
                                 zeros, ``self.layers`` holding the T steps), "stateful" (the first
                                 call from zeros, the second carrying on), "reset_state" (after
                                 ``reset_state()`` the next call starts from zeros again), "inputs
                                 unchanged".
``rnn_by_hand.time_rnn_backward`` a new ``TimeRNN`` whose ``self.layers`` the check sets to T of the
                                 learner's ``RNN`` steps holding the reference caches;
                                 ``backward(dhs)``: "dxs", "dh" (``self.dh``), "dWx", "dWh", "db",
                                 "inputs unchanged". One more ``RNN`` step's backward is run alone
                                 so that a message can say when ``RNN.backward`` itself is wrong.
``rnn_by_hand.embedding``        "forward" (the rows and ``self.idx``), "dW" (a new ``Embedding``
                                 whose ``self.idx`` is set and whose ``grads[0]`` holds a gradient
                                 left from an earlier call: dW written into ``grads[0]``, ``None``
                                 returned), "inputs unchanged".

**A backward is judged from the reference forward's cache**, so that a wrong forward does not also
cost the backward's points: the notebook prescribes what ``forward`` stores, the check gives a new
layer exactly that, computed by the grader (``inputs``) from the case's arrays. This sends the case's
intermediate values (``h_next``, the hidden states) to the learner's kernel. It is harmless: every
backward case has its own seed, different from every forward case's, so the values are the forward
of inputs on which no forward is judged, and they are not the backward's answer (which the learner's
code has to compute from them). The forward cases send inputs only: that is why a forward and its
backward are separate checks, with cases of their own (``tests/test_fair_rnn_and_lstm.py`` checks
that no forward case shares an array with a backward case).

**Inputs unchanged**: ``run`` hands the learner's code fresh copies of the arrays and sends back
what they hold after the calls; the grader compares them with the arrays it made. A layer that
writes into an array it was given (``dh_next *= ...``) changes its caller's data. The part fails too
when the calls raised (code that does nothing changes nothing, and earns nothing for it).

**The library's own implementation is refused**: while the learner's code runs, rnnviz's functions
(``F.tanh``, ``F.linear``, ``F.embed_id``, ...), ``FunctionNode.apply`` (every function and the
links) and autograd (``Variable.backward``) raise ``Refused``; they are restored afterwards. This
stops the honest shortcut; a learner set on it could keep a reference to the originals, which the
notebook forbids.

The references (autograd through ``F.tanh``, ``F.matmul``, ``F.embed_id``) and the comparisons stay
in the grader. A learner's code that raises is reported in the parts of the call that raised; the
other calls of the case are judged as usual.
"""
import contextlib

import numpy

from ... import functions as F
from ...core import Variable, backend
from ..checks import USUAL_MISTAKES, check_array
from ..protocol import Check, Other, Received, describe_error, format_error, host, part, register


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


def rnn_states(xs, h0, Wx, Wh, b):
    """(hs_prev, hs): the state before and after each step, (N, T, H) each (NumPy, in the grader)."""
    h, before, after = h0, [], []
    for t in range(xs.shape[1]):
        before.append(h)
        h = numpy.tanh(h @ Wh + xs[:, t] @ Wx + b)
        after.append(h)
    return numpy.stack(before, axis=1), numpy.stack(after, axis=1)


# -- shared by the checks of this assignment and of the LSTM's ------------------------------------

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


class Refused(RuntimeError):
    """The learner's code called the part of rnnviz that the assignment builds."""


_MISSING = object()


@contextlib.contextmanager
def refusing_library(message):
    """While the learner's code runs: rnnviz's functions (``F.*``, the fused LSTM's cell), every
    ``FunctionNode.apply`` (so the links too) and autograd raise ``Refused(message + what)``."""
    from ... import functions as F_module
    from ...core import batched_engine, engine
    from ...core.function_node import FunctionNode
    from ...functions import recurrent

    def refuse(what):
        def refused(*args, **kwargs):
            raise Refused(f"{message} ({what} was called)")
        return refused

    targets = [(FunctionNode, "apply", "a function of rnnviz.functions"),
               (Variable, "backward", "Variable.backward, rnnviz's autograd"),
               (engine, "run_backward", "rnnviz's autograd"), (batched_engine, "run_backward", "rnnviz's autograd"),
               (recurrent, "cell_forward", "rnnviz.functions.recurrent.cell_forward"),
               (recurrent, "cell_backward", "rnnviz.functions.recurrent.cell_backward")]
    targets += [(F_module, name, f"F.{name}") for name in list(F_module.__all__) + ["Linear"]]
    saved = [(obj, attr, vars(obj).get(attr, _MISSING)) for obj, attr, _ in targets]
    try:
        for obj, attr, what in targets:
            setattr(obj, attr, refuse(what))
        yield
    finally:
        for obj, attr, old in saved:
            if old is _MISSING:
                delattr(obj, attr)
            else:
                setattr(obj, attr, old)


class Given:
    """The arrays handed to the learner's code: a fresh copy of each, sent back after the calls
    (``arrays``) so that the grader sees whether the code wrote into one."""

    def __init__(self):
        self.items = {}

    def __call__(self, label, array):
        mine = array.copy()
        self.items[label] = mine
        return mine

    def arrays(self):
        return dict(self.items)


@contextlib.contextmanager
def phase(got, name):
    """One call (or a few) of the learner's code: its outputs go to ``got[name]``, and the error,
    if it raises, to ``got[name + " error"]`` (at the top, where the protocol's nesting allows a
    traceback); the next phase runs either way."""
    got[name] = {}
    try:
        yield got[name]
    except Exception as exc:  # noqa: BLE001 - the learner's error is the result
        got[f"{name} error"] = describe_error(exc)


@contextlib.contextmanager
def noting(note):
    """A failure inside gets ``note`` (a line) appended, when there is one."""
    try:
        yield
    except AssertionError as exc:
        if note:
            raise AssertionError(f"{exc}\n  {note}") from None
        raise


GPU_MIX = ("Unsupported type <class 'numpy.ndarray'>", "Implicit conversion to a NumPy array",
           "a mix of NumPy (cpu) and CuPy (gpu)")
SHAPE_ERRORS = ("matmul", "could not be broadcast", "could not broadcast", "shape mismatch",
                "cannot reshape", "not aligned")
SHAPE_HINT = ("a shape that does not fit: a missing or extra transpose (.T), the factors of a matrix "
              "product swapped, or a sum over the wrong axis")
UNCHANGED = ("do not change the arrays you are given, make new ones ({example}): the caller "
             "still uses them")


def explain_error(error, device=None, extra=(), shape_note=""):
    """The usual mistake behind an exception of the learner's code ({"type", "message", "where"}):
    none for a refused library call (its message says it all); NumPy hard-coded for NumPy and
    CuPy arrays mixed; a shape mistake for the errors of a matrix product, a broadcast or a
    reshape (and ``shape_note``: another cause, such as a cache read in another order); then the
    first of ``extra`` [(types, words, hint)] whose type and words match; and
    NumPy hard-coded for any other error of the GPU run (the CPU run comes first)."""
    message = str(error.get("message", "")) if isinstance(error, dict) else ""
    kind = str(error.get("type", "")) if isinstance(error, dict) else ""
    if kind == "Refused":
        return ""
    if any(s in message for s in GPU_MIX):
        return f"usual mistake: {USUAL_MISTAKES['numpy_on_gpu']}"
    if any(s in message for s in SHAPE_ERRORS):
        return f"usual mistake: {SHAPE_HINT}" + (f"; {shape_note}" if shape_note else "")
    for types, words, hint in extra:
        if kind in types and any(w in message for w in words):
            return f"usual mistake: {hint}"
    if getattr(device, "name", None) == "gpu":
        return f"usual mistake: {USUAL_MISTAKES['numpy_on_gpu']}"
    return ""


def _close(a, b):
    return (isinstance(a, numpy.ndarray) and a.shape == numpy.shape(b)
            and numpy.allclose(a, b, rtol=1e-6, atol=1e-9))


def matching(got, alternatives, default=None):
    """The sentence of the first (array, sentence) in ``alternatives`` that ``got`` equals: the
    mistake that gives exactly this wrong value; else ``default``."""
    g = host(got)
    for want, sentence in alternatives:
        if _close(g, want):
            return sentence
    return default


def scale_of(got, want):
    """k when ``got`` is ``k * want`` (its least-squares factor), else None."""
    g = host(got)
    if not isinstance(g, numpy.ndarray) or g.shape != numpy.shape(want) or not numpy.all(numpy.isfinite(g)):
        return None
    ww = float((want * want).sum())
    return float((g * want).sum()) / ww if ww > 0 else None


def by_scale(got, want, factors, default):
    """The "scaled" hint: the sentence of the factor in ``factors`` [(factor, sentence)] that
    ``got / want`` is, else ``default``."""
    k = scale_of(got, want)
    for factor, sentence in factors:
        if k is not None and factor != 1 and abs(k - factor) <= 1e-3 * max(1.0, abs(factor)):
            return sentence
    return default


def batch_factors(N, what):
    return [(1 / N, f"divided or multiplied by the batch size N: {what} sums over the batch, no mean"),
            (N, f"divided or multiplied by the batch size N: {what} sums over the batch, no mean")]


def check_cache(label, cache, want, device, order, mistakes=None):
    """``cache`` (what the learner's forward stored) against ``want`` [(name, array)]: a tuple of
    these arrays, in this order (``order`` says it in words). ``mistakes``: {name: check_array's
    mistakes for that entry}, and "moved" (an entry that holds another's value)."""
    if not isinstance(cache, (tuple, list)) or len(cache) != len(want):
        kind = cache.type_name if isinstance(cache, Other) else (
            f"a {type(cache).__name__} of {len(cache)}" if isinstance(cache, (tuple, list)) else
            "None" if cache is None else "an array" if isinstance(cache, Received) else type(cache).__name__)
        raise AssertionError(f"{label} should be the tuple {order}, it is {kind}.\n  usual mistake: "
                             f"forward stores exactly {order} in self.cache: backward is tested "
                             f"with that cache")
    for k, ((name, w), c) in enumerate(zip(want, cache)):
        g = host(c)
        if _close(g, w):
            continue
        moved = [n for j, (n, wj) in enumerate(want) if j != k and _close(g, wj)]
        in_order = f"self.cache is {order}, in that order"
        if moved:
            raise AssertionError(f"{label}[{k}] should hold {name}, it holds {moved[0]}.\n  usual "
                                 f"mistake: {(mistakes or {}).get('moved') or in_order}")
        shapes = {s: in_order for s in ("transposed_shape", "reshaped", "broadcast_shape", "axis_lost", "shape")}
        check_array(f"{label}[{k}] ({name})", c, w, device=device,
                    mistakes={**shapes, **(mistakes or {}).get(name, {})})


class LayerCheck(Check):
    """A check whose ``run`` calls the learner's layer in phases (``phase``); ``result`` gives an
    output of a phase, or fails with that phase's error and its hint."""

    refusal = ""                 # Refused's message: what the assignment builds
    hints: dict = {}             # phase -> extra hints for ``explain_error``
    shape_notes: dict = {}       # phase -> another cause of a shape error there
    example = "y = x * s, not x *= s"

    def explain(self, error):
        return explain_error(error)

    def result(self, got, name, key, run):
        """``got[name][key]``; an AssertionError with the learner's error when the phase raised."""
        out = got.get(name) if isinstance(got, dict) else None
        if not isinstance(out, dict):
            raise AssertionError(f"{self.learner[0]}: the results of the {name} did not come back")
        if key in out:
            return out[key]
        error = got.get(f"{name} error")
        if not isinstance(error, dict):
            raise AssertionError(f"{self.learner[0]}: no result for {key!r} came back")
        where = error.get("where") if isinstance(error.get("where"), list) else []
        error = {"type": str(error.get("type", ""))[:100], "message": str(error.get("message", ""))[:2000],
                 "where": [f for f in where if isinstance(f, dict)][:3]}
        hint = explain_error(error, run.device, self.hints.get(name, ()), self.shape_notes.get(name, ""))
        raise AssertionError(format_error(error) + (f"\n  {hint}" if hint else ""))

    def finished(self, got, name, run):
        """Fails with the phase's error if it raised."""
        out = got.get(name) if isinstance(got, dict) else None
        if isinstance(out, dict) and f"{name} error" in got:
            self.result(got, name, "(raised)", run)
        if not isinstance(out, dict):
            raise AssertionError(f"{self.learner[0]}: the results of the {name} did not come back")

    def judge_unchanged(self, got, originals, phases, run):
        """The part "inputs unchanged": every phase ran to its end, and every array the learner's
        code was given (``originals`` {label: the grader's array}) came back as it was."""
        with part("inputs unchanged"):
            for name in phases:
                self.finished(got, name, run)
            given = got.get("given") if isinstance(got, dict) else None
            assert isinstance(given, dict), f"{self.learner[0]}: the arrays it was given did not come back"
            changed = [label for label, want in originals.items()
                       if not (isinstance(host(given.get(label)), numpy.ndarray)
                               and host(given.get(label)).shape == want.shape
                               and numpy.array_equal(host(given.get(label)), want))]
            if changed:
                shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
                raise AssertionError(f"{shown} changed during the call.\n  usual mistake: "
                                     + UNCHANGED.format(example=self.example))

    def judge_grads(self, got, name, run, names, wants, cls, mistakes, note=""):
        """The parts named after the weight gradients: ``cls.grads[k]`` written into the array
        ``__init__`` made, with the value ``wants[k]`` (a failure's message ends with ``note``)."""
        for k, (gname, want) in enumerate(zip(names, wants)):
            with part(gname), noting(note):
                grads = self.result(got, name, "grads", run)
                assert isinstance(grads, (list, tuple)) and len(grads) == len(names), (
                    f"{cls}.grads should hold {len(names)} array(s): [{', '.join(names)}]")
                check_array(f"{cls}.grads[{k}] ({gname})", grads[k], want, device=run.device,
                            mistakes=mistakes(k, grads[k], want))
                in_place = self.result(got, name, "in_place", run)
                assert isinstance(in_place, list) and k < len(in_place) and in_place[k] is True, (
                    f"{cls}.grads[{k}] ({gname}) is a new array: write into the one __init__ made "
                    f"({cls}.grads[{k}][...] = {gname}); whoever holds self.grads (an optimizer) "
                    f"reads that array")


def in_place(layer, before):
    """Whether each of ``layer.grads`` is still the array ``__init__`` made."""
    grads = getattr(layer, "grads", None)
    if not isinstance(grads, (list, tuple)):
        return [False] * len(before)
    return [k < len(grads) and grads[k] is g for k, g in enumerate(before)]


REFUSAL = ("the RNN-by-hand assignment builds these layers itself: write them with xp (xp.tanh, @, "
           ".sum, xp.add.at), not with rnnviz.functions, rnnviz.links or autograd")
STEP_CACHE = "(x, h_prev, h_next)"
AS_GIVEN = "the cache holds the {} that forward was given, as it was given: do not change it"
STEP_CACHE_HINTS = (
    (("AttributeError",), ("has no attribute",),
     f"backward runs on a new RNN whose self.cache the test sets to {STEP_CACHE}: take what "
     f"backward needs from self.cache and self.params only"),
    (("ValueError", "TypeError"), ("unpack",),
     f"self.cache is the tuple {STEP_CACHE}, in that order: unpack it as such"),
)


# -- 1. one step -----------------------------------------------------------------------------------

STEP_FORWARD = {
    "other": "h_next = tanh(h_prev @ Wh + x @ Wx + b): compare each term, and the tanh, with your line",
    "sign": "a sign error: h_next = tanh(h_prev @ Wh + x @ Wx + b), every term added",
    "scaled": "an extra factor: h_next = tanh(h_prev @ Wh + x @ Wx + b) has none",
    "zero": "h_next was never computed: return the tanh itself",
}


@register
class RNNForward(LayerCheck):
    """``RNN(Wx, Wh, b).forward(x, h_prev)``: h_next and self.cache."""

    name = "rnn_by_hand.rnn_forward"
    learner = ("RNN",)
    parts = {"h_next": 0.5, "cache": 0.25, "inputs unchanged": 0.25}
    refusal = REFUSAL
    example = "h = ... + b, not h += b on an array you were given"

    def inputs(self, seed, N, D, H):
        shapes = {"x": (N, D), "h_prev": (N, H), "Wx": (D, H), "Wh": (H, H), "b": (H,)}
        return {n: randn(seed + k, *s) for k, (n, s) in enumerate(shapes.items())}

    @staticmethod
    def labels():
        return {"Wx": "Wx (given to RNN(Wx, Wh, b))", "Wh": "Wh (given to RNN(Wx, Wh, b))",
                "b": "b (given to RNN(Wx, Wh, b))", "x": "x (given to RNN.forward)",
                "h_prev": "h_prev (given to RNN.forward)"}

    def run(self, RNN, inputs, xp):
        a, got, given, lab = inputs, {}, Given(), self.labels()
        with refusing_library(self.refusal), phase(got, "forward") as out:
            layer = RNN(*(given(lab[n], a[n]) for n in ("Wx", "Wh", "b")))
            h_next = layer.forward(given(lab["x"], a["x"]), given(lab["h_prev"], a["h_prev"]))
            out["h_next"] = keep(h_next)
            out["cache"] = keep(layer.cache)
        got["given"] = given.arrays()
        return got

    def judge(self, inputs, got, run):
        x, h_prev, Wx, Wh, b = (host(inputs[n]) for n in ("x", "h_prev", "Wx", "Wh", "b"))
        want = numpy.tanh(h_prev @ Wh + x @ Wx + b)
        with part("h_next"):
            check_array("RNN.forward: h_next", self.result(got, "forward", "h_next", run), want,
                        device=run.device, mistakes=STEP_FORWARD)
        with part("cache"):
            check_cache("RNN.forward: self.cache", self.result(got, "forward", "cache", run),
                        [("x", x), ("h_prev", h_prev), ("h_next", want)], run.device, STEP_CACHE,
                        {"x": {"other": AS_GIVEN.format("x")}, "h_prev": {"other": AS_GIVEN.format("h_prev")},
                         "h_next": STEP_FORWARD})
        lab = self.labels()
        self.judge_unchanged(got, {lab[n]: host(inputs[n]) for n in lab}, ["forward"], run)


def step_backward_mistakes(N):
    """check_array's mistakes for each gradient of one RNN step."""
    dt = "dt = dh_next * (1 - h_next ** 2)"

    def for_weight(k, got, want):
        what, formula = (("dWx", "x.T @ dt"), ("dWh", "h_prev.T @ dt"), ("db", "dt.sum(axis=0)"))[k]
        return {"scaled": by_scale(got, want, batch_factors(N, what),
                                   f"an extra factor: {what} is one product (or sum) of {dt}, nothing more"),
                "other": f"compare your line with the formula: {what} = {formula}, where {dt}",
                "zero": f"nothing was written into self.grads[{k}]: write {what} into it "
                        f"(self.grads[{k}][...] = ...)",
                "shape": "db sums dt over the batch axis (axis=0), leaving one value per hidden unit"
                         if what == "db" else USUAL_MISTAKES["shape"]}
    returned = {"scaled": f"an extra factor: dx and dh_prev are one product each of {dt} with a "
                          f"transposed weight, nothing more",
                "other": f"compare your line with the formula: {dt}, then dx = dt @ Wx.T and "
                         f"dh_prev = dt @ Wh.T"}
    return for_weight, returned


@register
class RNNBackward(LayerCheck):
    """A new ``RNN`` with the reference ``self.cache``: ``backward(dh_next)`` -> dx, dh_prev and
    grads [dWx, dWh, db]."""

    name = "rnn_by_hand.rnn_backward"
    learner = ("RNN",)
    parts = {"dx": 0.5, "dh_prev": 0.5, "dWx": 0.25, "dWh": 0.25, "db": 0.25, "inputs unchanged": 0.25}
    refusal = REFUSAL
    hints = {"backward": STEP_CACHE_HINTS}
    shape_notes = {"backward": f"or self.cache read in another order than {STEP_CACHE}"}
    example = "dt = dh_next * (1 - h_next ** 2), not dh_next *= ..."
    CACHE = ("x", "h_prev", "h_next")

    def inputs(self, seed, N, D, H):
        shapes = {"x": (N, D), "h_prev": (N, H), "Wx": (D, H), "Wh": (H, H), "b": (H,), "dh_next": (N, H)}
        a = {n: randn(seed + k, *s) for k, (n, s) in enumerate(shapes.items())}
        a["h_next"] = numpy.tanh(a["h_prev"] @ a["Wh"] + a["x"] @ a["Wx"] + a["b"])   # the cache
        return a

    def labels(self):
        lab = {n: f"{n} (given to RNN(Wx, Wh, b))" for n in ("Wx", "Wh", "b")}
        lab.update({n: f"self.cache[{k}] ({n}, set before RNN.backward)" for k, n in enumerate(self.CACHE)})
        lab["dh_next"] = "dh_next (given to RNN.backward)"
        return lab

    def run(self, RNN, inputs, xp):
        a, got, given, lab = inputs, {}, Given(), self.labels()
        with refusing_library(self.refusal), phase(got, "backward") as out:
            layer = RNN(*(given(lab[n], a[n]) for n in ("Wx", "Wh", "b")))
            before = list(layer.grads)
            layer.cache = tuple(given(lab[n], a[n]) for n in self.CACHE)
            out["returned"] = keep(layer.backward(given(lab["dh_next"], a["dh_next"])))
            out["grads"] = keep(layer.grads)
            out["in_place"] = in_place(layer, before)
        got["given"] = given.arrays()
        return got

    def judge(self, inputs, got, run):
        x, h_prev, Wx, Wh, b, dh_next = (host(inputs[n]) for n in ("x", "h_prev", "Wx", "Wh", "b", "dh_next"))
        _, (dx, dh, dWx, dWh, db) = rnn_step_reference(x, h_prev, Wx, Wh, b, dh_next)
        for_weight, returned = step_backward_mistakes(x.shape[0])
        for k, (name, want) in enumerate((("dx", dx), ("dh_prev", dh))):
            with part(name):
                out = self.result(got, "backward", "returned", run)
                assert isinstance(out, (tuple, list)) and len(out) == 2, "RNN.backward should return (dx, dh_prev)"
                check_array(f"RNN.backward: {name}", out[k], want, device=run.device, mistakes=returned)
        self.judge_grads(got, "backward", run, ("dWx", "dWh", "db"), (dWx, dWh, db), "RNN", for_weight)
        lab = self.labels()
        self.judge_unchanged(got, {lab[n]: host(inputs[n]) for n in lab}, ["backward"], run)


# -- 2. a whole sequence -----------------------------------------------------------------------------

STEPS = ("hs[:, t] is the state after step t, h_t = tanh(h_(t-1) @ Wh + xs[:, t] @ Wx + b), one RNN "
         "step per t")
UNFILLED = "hs was never filled: write each step's state into hs[:, t] (and return hs)"
FRESH = ("with stateful=False every call starts from zeros, whatever state the previous call left")
FIRST = ("the first call starts from zeros, stateful or not (self.h is None)")
CARRY = ("with stateful=True the second call carries on from the state the first call left in "
         "self.h")
RESET = ("reset_state() sets self.h = None, and the next forward must start from zeros: keep the "
         "state in self.h (not in an attribute of your own) and start from zeros when it is None")
STATEFUL = (False, True)


def steps_of(T):
    return {"parts": (1, [f"t={t}" for t in range(T)])}


@register
class TimeRNNForward(LayerCheck):
    """``TimeRNN``: two calls of T steps each, stateful and not, then ``reset_state()``."""

    name = "rnn_by_hand.time_rnn_forward"
    learner = ("TimeRNN",)
    parts = {"forward": 0.75, "stateful": 0.5, "reset_state": 0.5, "inputs unchanged": 0.25}
    refusal = REFUSAL
    example = "a new array for hs, not one of the arrays you were given"

    def inputs(self, seed, N, T, D, H):
        xs, Wx, Wh, b = (randn(seed + k, *shape) for k, shape in enumerate([(N, 2 * T, D), (D, H), (H, H), (H,)]))
        return {"xs1": xs[:, :T].copy(), "xs2": xs[:, T:].copy(), "Wx": Wx, "Wh": Wh, "b": b}

    @staticmethod
    def labels(stateful):
        init = f"TimeRNN(Wx, Wh, b, stateful={stateful})"
        lab = {f"{n}": f"{n} (given to {init})" for n in ("Wx", "Wh", "b")}
        lab.update({"xs1": f"xs (given to the first {init}.forward)",
                    "xs2": f"xs (given to the second {init}.forward)"})
        if stateful:
            lab["xs3"] = f"xs (given to {init}.forward after reset_state())"
        return lab

    def run(self, TimeRNN, inputs, xp):
        a, got, given = inputs, {}, Given()
        with refusing_library(self.refusal):
            for stateful in STATEFUL:
                lab = self.labels(stateful)
                with phase(got, f"stateful={stateful}") as out:
                    layer = TimeRNN(*(given(lab[n], a[n]) for n in ("Wx", "Wh", "b")), stateful=stateful)
                    out["hs1"] = keep(layer.forward(given(lab["xs1"], a["xs1"])))
                    layers = getattr(layer, "layers", None)
                    out["layers"] = len(layers) if isinstance(layers, (list, tuple)) else -1
                    out["hs2"] = keep(layer.forward(given(lab["xs2"], a["xs2"])))
                    if stateful:
                        layer.reset_state()
                        out["hs3"] = keep(layer.forward(given(lab["xs3"], a["xs1"])))
        got["given"] = given.arrays()
        return got

    def judge(self, inputs, got, run):
        dev = run.device
        xs1, xs2, Wx, Wh, b = (host(inputs[n]) for n in ("xs1", "xs2", "Wx", "Wh", "b"))
        N, T, _ = xs1.shape
        h0 = numpy.zeros((N, Wh.shape[0]))
        hs1 = rnn_states(xs1, h0, Wx, Wh, b)[1]
        fresh2 = rnn_states(xs2, h0, Wx, Wh, b)[1]
        carried2 = rnn_states(xs2, hs1[:, -1], Wx, Wh, b)[1]
        plain, st = "stateful=False", "stateful=True"
        first = got.get(plain, {}).get("hs1") if isinstance(got.get(plain), dict) else None
        steps_right = _close(host(first), hs1)     # then a wrong call is a matter of state

        def hint(state):
            text = state if steps_right else f"{STEPS} (the first call with stateful=False is wrong too)"
            return {"parts": text, "other": text, "zero": UNFILLED}

        with part("forward"):
            check_array("TimeRNN(stateful=False).forward: hs of the first call",
                        self.result(got, plain, "hs1", run), hs1, device=dev,
                        mistakes={"parts": STEPS, "other": STEPS, "zero": UNFILLED}, **steps_of(T))
            count = self.result(got, plain, "layers", run)
            assert count == T, (f"TimeRNN.forward should keep its {T} RNN steps in self.layers (a list), "
                                + ("it has no such list" if count == -1 else f"it holds {count}"))
            check_array("TimeRNN(stateful=False).forward: hs of the second call",
                        self.result(got, plain, "hs2", run), fresh2, device=dev, mistakes=hint(FRESH), **steps_of(T))
        with part("stateful"):
            check_array("TimeRNN(stateful=True).forward: hs of the first call",
                        self.result(got, st, "hs1", run), hs1, device=dev, mistakes=hint(FIRST), **steps_of(T))
            check_array("TimeRNN(stateful=True).forward: hs of the second call",
                        self.result(got, st, "hs2", run), carried2, device=dev, mistakes=hint(CARRY), **steps_of(T))
        with part("reset_state"):
            check_array("TimeRNN(stateful=True).forward after reset_state(): hs",
                        self.result(got, st, "hs3", run), hs1, device=dev, mistakes=hint(RESET), **steps_of(T))
        originals = {}
        for stateful in STATEFUL:
            lab = self.labels(stateful)
            originals.update({lab[n]: host(inputs["xs1" if n == "xs3" else n]) for n in lab})
        self.judge_unchanged(got, originals, [plain, st], run)


LATER = ("the gradient coming back from later steps is missing: step t's backward gets dhs[:, t] "
         "plus the dh_prev that step t + 1 sent back")
SHARED = ("the weights are shared by all steps: their gradient is the sum over the steps, not "
          "the last (or first) step's alone")
TIME_DXS = ("dxs[:, t] is the dx of step t's backward, and that step gets dhs[:, t] plus the dh_prev "
            "that step t + 1 sent back")
MEAN_T = "divided by the number of steps T: the weights' gradient sums over the steps, no mean"
SUMMED = ("the weights' gradient is the sum of every step's gradient, where step t's backward gets "
          "dhs[:, t] plus the dh_prev that step t + 1 sent back")
TIME_CACHE_HINTS = (
    (("AttributeError",), ("has no attribute",),
     "backward runs on a new TimeRNN whose self.layers the test sets to the T RNN steps of a forward "
     "call (each with its self.cache): take what backward needs from self.layers and self.params only"),
)


def time_rnn_backward_numpy(xs, hs_prev, hs, Wx, Wh, dhs, later=True):
    """dxs, dh0 and each step's (dWx, dWh, db), by hand; ``later=False``: without the gradient
    from the later steps (a learner's mistake, to recognise it)."""
    N, T, _ = xs.shape
    dxs, dh, steps = numpy.zeros_like(xs), numpy.zeros_like(hs[:, 0]), [None] * T
    for t in reversed(range(T)):
        dt = (dhs[:, t] + (dh if later else 0)) * (1 - hs[:, t] ** 2)
        dxs[:, t] = dt @ Wx.T
        dh = dt @ Wh.T
        steps[t] = (xs[:, t].T @ dt, hs_prev[:, t].T @ dt, dt.sum(axis=0))
    return dxs, dh, steps


@register
class TimeRNNBackward(LayerCheck):
    """A new ``TimeRNN`` whose ``self.layers`` hold the learner's RNN steps with the reference
    caches: ``backward(dhs)`` -> dxs, ``self.dh`` and grads [dWx, dWh, db]."""

    name = "rnn_by_hand.time_rnn_backward"
    learner = ("TimeRNN", "RNN")
    parts = {"dxs": 0.75, "dh": 0.25, "dWx": 0.25, "dWh": 0.25, "db": 0.25, "inputs unchanged": 0.25}
    refusal = REFUSAL
    hints = {"backward": TIME_CACHE_HINTS, "step": STEP_CACHE_HINTS}
    shape_notes = {"backward": f"or an RNN step's self.cache read in another order than {STEP_CACHE}"}
    example = "dh = dhs[:, t] + dh, not dhs[:, t] += dh"

    def inputs(self, seed, N, T, D, H):
        xs, Wx, Wh, b, dhs, h0 = (randn(seed + k, *shape) for k, shape in
                                  enumerate([(N, T, D), (D, H), (H, H), (H,), (N, T, H), (N, H)]))
        hs_prev, hs = rnn_states(xs, numpy.tanh(h0), Wx, Wh, b)      # the steps' caches
        return {"xs": xs, "Wx": Wx, "Wh": Wh, "b": b, "dhs": dhs, "hs_prev": hs_prev, "hs": hs}

    @staticmethod
    def labels(T):
        lab = {n: f"{n} (given to TimeRNN(Wx, Wh, b))" for n in ("Wx", "Wh", "b")}
        for t in range(T):
            for k, n in enumerate(("x", "h_prev", "h_next")):
                lab[f"{n}{t}"] = f"self.layers[{t}].cache[{k}] ({n}, set before TimeRNN.backward)"
        lab["dhs"] = "dhs (given to TimeRNN.backward)"
        return lab

    @staticmethod
    def cache(a, t):
        return {f"x{t}": a["xs"][:, t], f"h_prev{t}": a["hs_prev"][:, t], f"h_next{t}": a["hs"][:, t]}

    def run(self, TimeRNN, RNN, inputs, xp):
        a, got, given = inputs, {}, Given()
        T = a["xs"].shape[1]
        lab = self.labels(T)
        with refusing_library(self.refusal):
            with phase(got, "backward") as out:
                params = [given(lab[n], a[n]) for n in ("Wx", "Wh", "b")]
                layer = TimeRNN(*params)
                before = list(layer.grads)
                steps = []
                for t in range(T):
                    step = RNN(*params)
                    step.cache = tuple(given(lab[k], v) for k, v in self.cache(a, t).items())
                    steps.append(step)
                layer.layers = steps
                out["dxs"] = keep(layer.backward(given(lab["dhs"], a["dhs"])))
                out["dh"] = keep(getattr(layer, "dh", None))
                out["grads"] = keep(layer.grads)
                out["in_place"] = in_place(layer, before)
            with phase(got, "step") as out:     # the last step's RNN.backward alone, for the messages
                step = RNN(a["Wx"].copy(), a["Wh"].copy(), a["b"].copy())
                step.cache = tuple(v.copy() for v in self.cache(a, T - 1).values())
                out["returned"] = keep(step.backward(a["dhs"][:, T - 1].copy()))
                out["grads"] = keep(step.grads)
        got["given"] = given.arrays()
        return got

    def step_note(self, got, inputs):
        """A line for the messages when the learner's RNN.backward is itself wrong on the last step."""
        xs, hs_prev, hs, Wx, Wh, dhs = (host(inputs[n]) for n in ("xs", "hs_prev", "hs", "Wx", "Wh", "dhs"))
        dt = dhs[:, -1] * (1 - hs[:, -1] ** 2)
        want = [dt @ Wx.T, dt @ Wh.T, xs[:, -1].T @ dt, hs_prev[:, -1].T @ dt, dt.sum(axis=0)]
        out = got.get("step") if isinstance(got, dict) else None
        try:
            returned, grads = out["returned"], out["grads"]
            right = all(_close(host(g), w) for g, w in zip(list(returned) + list(grads), want)) \
                and len(returned) == 2 and len(grads) == 3
        except (KeyError, TypeError):
            right = False
        return "" if right else ("note: RNN.backward is wrong too (see the RNN test cell), and "
                                 "TimeRNN.backward calls it at every step: fix RNN first")

    def judge(self, inputs, got, run):
        dev = run.device
        xs, Wx, Wh, b, dhs, hs_prev, hs = (host(inputs[n]) for n in ("xs", "Wx", "Wh", "b", "dhs", "hs_prev", "hs"))
        N, T, _ = xs.shape
        _, (dxs, dh0, dWx, dWh, db) = time_rnn_reference(xs, hs_prev[:, 0], Wx, Wh, b, dhs)
        no_later = time_rnn_backward_numpy(xs, hs_prev, hs, Wx, Wh, dhs, later=False)
        steps = time_rnn_backward_numpy(xs, hs_prev, hs, Wx, Wh, dhs)[2]
        note = self.step_note(got, inputs)
        with part("dxs"), noting(note):
            got_dxs = self.result(got, "backward", "dxs", run)
            hint = matching(got_dxs, [(no_later[0], LATER)], TIME_DXS)
            check_array("TimeRNN.backward: dxs", got_dxs, dxs, device=dev,
                        mistakes={"parts": hint, "other": hint}, **steps_of(T))
        with part("dh"), noting(note):
            got_dh = self.result(got, "backward", "dh", run)
            check_array("TimeRNN.dh (the gradient leaving the first step)", got_dh, dh0, device=dev,
                        mistakes={"other": matching(got_dh, [(no_later[1], LATER)],
                                                    "self.dh is the dh_prev of step 0's backward, "
                                                    "after the gradients of every later step")})

        def for_weight(k, got_w, want):
            what = ("dWx", "dWh", "db")[k]
            alone = [(steps[0][k], SHARED), (steps[-1][k], SHARED),
                     (sum(s[k] for s in no_later[2]), LATER)]
            factors = batch_factors(N, what) + [(1 / T, MEAN_T), (T, USUAL_MISTAKES["scaled"])]
            return {"other": matching(got_w, alone, SUMMED), "zero": SUMMED,
                    "scaled": by_scale(got_w, want, factors, USUAL_MISTAKES["scaled"])}

        self.judge_grads(got, "backward", run, ("dWx", "dWh", "db"), (dWx, dWh, db), "TimeRNN", for_weight, note)
        lab = self.labels(T)
        originals = {lab[n]: host(inputs[n]) for n in ("Wx", "Wh", "b", "dhs")}
        for t in range(T):
            originals.update({lab[k]: v for k, v in self.cache({n: host(inputs[n]) for n in inputs}, t).items()})
        self.judge_unchanged(got, originals, ["backward"], run)


# -- 3. the embedding --------------------------------------------------------------------------------

ADD_AT = ("rows of a repeated id must be added, not overwritten: use xp.add.at(dW, idx, dout) "
          "(dW[idx] = dout and dW[idx] += dout keep one row per id)")
ZERO = "and set dW to zero first (dW[...] = 0): a gradient left by an earlier call leaks in"
NOT_RESET = ("dW was not set to zero first: a gradient left in self.grads[0] by an earlier call "
             "leaked in (dW[...] = 0 before adding the rows)")
ROWS = ("dW[i] is the sum of the rows of dout whose id is i, and zero for the ids that do not "
        "appear: set dW to zero, then xp.add.at(dW, idx, dout)")
EMBED_HINTS = {"dW": (
    (("AttributeError",), ("has no attribute",),
     "backward runs on a new Embedding whose self.idx the test sets: take what backward needs from "
     "self.idx and self.grads only"),
)}


@register
class EmbeddingCheck(LayerCheck):
    """``Embedding``: rows forward; backward with ids that repeat, against ``F.embed_id``."""

    name = "rnn_by_hand.embedding"
    learner = ("Embedding",)
    parts = {"forward": 1, "dW": 1.5, "inputs unchanged": 0.5}
    refusal = REFUSAL
    hints = EMBED_HINTS
    example = "a new array, not one of the arrays you were given"
    LABELS = {"W": "W (given to Embedding(W))", "idx": "idx (given to Embedding.forward)",
              "W2": "W (given to the Embedding(W) whose backward is tested)",
              "idx2": "self.idx (set before Embedding.backward)", "dout": "dout (given to Embedding.backward)"}

    def inputs(self, seed, V, D, idx_shape):
        idx_shape = tuple(idx_shape)
        return {"W": randn(seed, V, D), "idx": randint(seed + 1, V, idx_shape),
                "dout": randn(seed + 2, *idx_shape, D)}

    def run(self, Embedding, inputs, xp):
        a, got, given, lab = inputs, {}, Given(), self.LABELS
        with refusing_library(self.refusal):
            with phase(got, "forward") as out:
                layer = Embedding(given(lab["W"], a["W"]))
                out["rows"] = keep(layer.forward(given(lab["idx"], a["idx"])))
                out["idx"] = keep(getattr(layer, "idx", None))
            with phase(got, "dW") as out:
                layer = Embedding(given(lab["W2"], a["W"]))
                before = list(layer.grads)
                layer.idx = given(lab["idx2"], a["idx"])
                layer.grads[0][...] = 1.0   # a gradient left from an earlier call must not leak in
                out["returned"] = keep(layer.backward(given(lab["dout"], a["dout"])))
                out["grads"] = keep(layer.grads)
                out["in_place"] = in_place(layer, before)
        got["given"] = given.arrays()
        return got

    def judge(self, inputs, got, run):
        dev = run.device
        W, idx, dout = (host(inputs[n]) for n in ("W", "idx", "dout"))
        Wv = Variable(W)
        y = F.embed_id(idx, Wv)
        y.grad = dout
        y.backward()
        with part("forward"):
            check_array("Embedding.forward", self.result(got, "forward", "rows", run), y.array, device=dev,
                        mistakes={"other": "forward returns the rows W[idx]"})
            check_array("Embedding.forward: self.idx", self.result(got, "forward", "idx", run), idx,
                        device=dev, mistakes={"other": "forward keeps the ids it was given in self.idx "
                                                       "(backward reads them there)",
                                              "none": "forward keeps the ids it was given in self.idx "
                                                      "(backward reads them there)"})
        assigned, assigned_left, added_left = numpy.zeros_like(W), numpy.ones_like(W), numpy.ones_like(W)
        assigned[idx] = dout            # dW[idx] = dout or dW[idx] += dout: one row per id
        assigned_left[idx] = dout       # ... without setting dW to zero first
        added_left[idx] += dout
        alternatives = [(assigned, ADD_AT), (Wv.grad + 1.0, NOT_RESET), (assigned_left, f"{ADD_AT}; {ZERO}"),
                        (added_left, f"{ADD_AT}; {ZERO}")]

        def mistakes(k, got_dW, want):
            hint = matching(got_dW, alternatives, ROWS)
            return {"other": hint, "parts": hint, "scaled": hint, "zero": ROWS}

        with part("dW"):
            assert self.result(got, "dW", "returned", run) is None, \
                "Embedding.backward should return None (ids have no gradient)"
        self.judge_grads(got, "dW", run, ("dW",), (Wv.grad,), "Embedding", mistakes)
        self.judge_unchanged(got, {lab: host(inputs[n.rstrip("2")]) for n, lab in self.LABELS.items()},
                             ["forward", "dW"], run)
