"""Checks for the masked-loss assignment (lesson 11, clipping from lesson 08): the temporal softmax
cross-entropy of a padded batch and its gradient by hand, then gradient clipping, against the
library (``F.temporal_softmax_cross_entropy``, the ``GradientClipping`` optimizer hook).

``masked_loss.loss``     ``masked_cross_entropy(x, t, mask) -> (loss, dx)`` on scores x (T, B, V),
                         labels t (T, B) and a mask (T, B) of the live positions: "loss" and "dx"
                         against the library's default normalisation (the sum over live positions
                         divided by the batch size B), "padded positions" (dx exactly 0 there, and a
                         second call with other scores and labels at the padded positions gives the
                         same loss and dx), "dtype" (dx has x's dtype), "inputs unchanged".
``masked_loss.large_scores`` the same function on scores of a thousand or so (float64): "large
                         scores" (loss and dx finite and right: the row maximum subtracted before exp).
``masked_loss.clip_norm`` ``clip_grads_by_norm(grads, threshold) -> (clipped, norm)``, three calls:
                         a threshold below the global norm, one above it, and all-zero gradients:
                         "norm" (the global norm before clipping), "clipped" (as ``GradientClipping``
                         leaves them), "unclipped" (unchanged below the threshold, zeros stay zeros),
                         "dtype" (each array keeps its dtype), "inputs unchanged".
``masked_loss.clip_value`` ``clip_grads_by_value(grads, threshold) -> clipped``: "value clipping"
                         (each element clipped to [-threshold, threshold], dtypes kept, inputs unchanged).

Cases take ``dtype="float32"`` (compared to float32's precision) or the default float64. While the
learner's code runs, the library's functions, autograd, the clipping hooks (``GradientClipping``,
and ``GradientHardClipping`` where the library has it) and ``global_norm`` raise ``Refused``. The inputs are arrays and thresholds; the references stay in the grader.
"""
import contextlib
import math

import numpy

from ... import functions as F
from ... import optimizers
from ...core import Variable
from ..checks import check_array
from ..protocol import Other, Received, host, part, register
from .rnn_by_hand import Given, LayerCheck, keep, matching, phase, refusing_library

REFUSAL = ("the masked-loss assignment builds F.temporal_softmax_cross_entropy and GradientClipping: "
           "write them with xp (xp.exp, xp.log, .max, .sum, xp.clip), not with rnnviz.functions, "
           "rnnviz.optimizers or autograd")
TOLERANCE = {"float64": {"rtol": 1e-6, "atol": 1e-9}, "float32": {"rtol": 2e-4, "atol": 2e-6}}
NORMALISED = ("loss = -(1/B) sum over the live (t, b) of log softmax(x[t, b])[t[t, b]]: summed over the "
              "live positions, divided by the batch size B (F.temporal_softmax_cross_entropy's default)")
PER_TOKEN = ("divided by the number of live positions (the per-token mean, Chainer's normalize=True); "
             "the library's default, and this assignment, divide by the batch size B")
PER_POSITION = "divided by T * B, every position padded or not; divide by the batch size B"
NOT_DIVIDED = "not divided by the batch size B"
NO_MASK = ("the padded positions were counted: multiply each position's loss (and its row of dx) by the "
           "mask, so that a padded position adds nothing")
DX = ("dx[t, b] = mask[t, b] * (softmax(x[t, b]) - onehot(t[t, b])) / B: the softmax minus the one-hot "
      "label, on live positions only, divided by B as the loss is")
NO_ONEHOT = "the one-hot label is missing: dx = mask * (softmax(x) - onehot(t)) / B"
PADDED = ("a padded position must change nothing: multiply by the mask (or use xp.where) after computing "
          "each position's loss and gradient, so its scores and label are never read into the result")
STABLE = ("exp of a large score overflows (inf / inf is NaN): subtract each row's maximum before exp; "
          "softmax and log-softmax do not change, since a constant added to a row cancels")
GLOBAL = ("the norm is global: one norm over every array together, sqrt of the sum of the squares of "
          "all their elements")
PER_ARRAY = (f"each array was clipped by its own norm; {GLOBAL}, and every array is scaled by the same "
             f"factor threshold / norm, so the update keeps its direction")
VALUE_NOT_NORM = ("that is value clipping (each element cut to [-threshold, threshold]), which changes the "
                  "direction; clipping by norm scales every array by threshold / norm")
CLIPPED = ("when the global norm exceeds the threshold, every array is multiplied by threshold / norm, "
           "so that the clipped gradients have norm threshold")
UNCLIPPED = ("below the threshold the gradients come back unchanged: clip only when norm > threshold "
             "(and all-zero gradients, of norm 0, stay zeros: no division by zero)")
NORM_DTYPE = ("multiply by a Python float (rate = float(threshold / norm)) or by a scalar of the array's "
              "dtype: a NumPy float64 scalar turns a float32 array into float64 (NumPy 2)")
DTYPE = ("compute in the inputs' dtype: an array made with a default dtype (xp.zeros(shape)) or a "
         "NumPy float64 scalar turns float32 into float64; use dtype=x.dtype or xp.zeros_like")
HINTS = {"call": ((("IndexError",), ("out of bounds", "index"),
                   "index the scores with the labels as integers (t is int), or use a one-hot: "
                   "xp.arange(V) == t[..., None]"),),
         "zeros": ((("ZeroDivisionError",), ("division",), UNCLIPPED),)}


@contextlib.contextmanager
def refusing(message):
    """``refusing_library`` plus the clipping hook and its norm."""
    from ...optimizers import hooks

    def refused(what):
        def call(*args, **kwargs):
            from .rnn_by_hand import Refused
            raise Refused(f"{message} ({what} was called)")
        return call

    classes = [c for c in (hooks.GradientClipping, getattr(hooks, "GradientHardClipping", None)) if c is not None]
    saved = [c.__call__ for c in classes], hooks.global_norm
    with refusing_library(message):
        for c in classes:
            c.__call__ = refused(c.__name__)
        hooks.global_norm = refused("rnnviz.optimizers.hooks.global_norm")
        try:
            yield
        finally:
            for c, call in zip(classes, saved[0]):
                c.__call__ = call
            hooks.global_norm = saved[1]


def scalar(value):
    """A number the learner's code returned (a float, or an array of one element), as a float;
    anything else as it is, for the message."""
    if isinstance(value, Received) and value.array.size == 1:
        return float(value.array.reshape(()))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def check_scalar(label, got, want, tol, alternatives=(), default=""):
    """``got`` (a number) equals ``want``; else a message with the relative error and the mistake
    of the first (value, sentence) in ``alternatives`` that ``got`` equals."""
    got = scalar(got)
    if not isinstance(got, float):
        kind = got.type_name if isinstance(got, Other) else "an array of several numbers" \
            if isinstance(got, Received) else type(got).__name__
        raise AssertionError(f"{label} is wrong: expected a number, got {kind}.\n  usual mistake: "
                             f"return a Python float (float(...)) or an array of one element")
    if not math.isfinite(got):
        raise AssertionError(f"{label} is wrong: it is NaN or infinite.\n  usual mistake: {STABLE}")
    if math.isclose(got, want, rel_tol=tol["rtol"], abs_tol=tol["atol"]):
        return
    hint = next((s for v, s in alternatives if math.isclose(got, v, rel_tol=1e-6, abs_tol=1e-12)), default)
    error = abs(got - want) / max(abs(want), 1e-12)
    raise AssertionError(f"{label} is wrong (relative error {error:.2g}).\n  usual mistake: {hint}")


# -- the masked loss ----------------------------------------------------------------------------------

def loss_case(seed, T, B, V, dtype="float64", scale=1.0):
    """Scores, labels and a mask of a padded batch (lengths in [0, T], the first sequence T long),
    and the same batch with other scores and labels at the padded positions."""
    rng = numpy.random.default_rng(seed)
    lengths = rng.integers(0, T + 1, B)
    lengths[0] = T
    mask = numpy.arange(T)[:, None] < lengths[None, :]
    x = (scale * rng.standard_normal((T, B, V))).astype(dtype)
    t = rng.integers(0, V, (T, B)).astype(numpy.int32)
    x2 = numpy.where(mask[..., None], x, 10 * scale * rng.standard_normal((T, B, V))).astype(dtype)
    t2 = numpy.where(mask, t, rng.integers(0, V, (T, B))).astype(numpy.int32)
    return {"x": x, "t": t, "mask": mask, "x2": x2, "t2": t2}


def loss_reference(x, t, mask, **kwargs):
    """(loss, dx) from the library (float64)."""
    v = Variable(numpy.asarray(x, dtype=numpy.float64))
    loss = F.temporal_softmax_cross_entropy(v, t, mask, **kwargs)
    loss.backward()
    return float(loss.array), v.grad


def loss_by_hand(x, t, mask, Z, masked=True, onehot=True):
    """(loss, dx) in NumPy with a divisor ``Z`` and two of a learner's mistakes: no mask, no one-hot."""
    x = numpy.asarray(x, dtype=numpy.float64)
    z = x - x.max(axis=2, keepdims=True)
    logp = z - numpy.log(numpy.exp(z).sum(axis=2, keepdims=True))
    hot = numpy.arange(x.shape[2]) == t[..., None]
    m = mask if masked else numpy.ones_like(mask)
    loss = -(logp * hot).sum(axis=2)
    dx = (numpy.exp(logp) - hot * onehot) * m[..., None] / Z
    return float((loss * m).sum() / Z), dx


class LossCheck(LayerCheck):
    learner = ("masked_cross_entropy",)
    refusal = REFUSAL
    hints = HINTS
    example = "p = e / e.sum(...) makes a new array; x -= x.max(...) changes the caller's scores"

    def describe(self, case):
        return ", ".join(f"{k}={v}" for k, v in case.items() if k not in ("seed", "scale"))

    @staticmethod
    def call(fn, a, got, given, name):
        with phase(got, name) as out:
            result = fn(*(given(f"{n} (given to masked_cross_entropy)", a[n]) for n in ("x", "t", "mask")))
            if not (isinstance(result, (tuple, list)) and len(result) == 2):
                raise TypeError(f"masked_cross_entropy should return (loss, dx), it returned "
                                f"{type(result).__name__}")
            loss, dx = result
            out["loss"] = keep(loss)
            out["dx"] = keep(dx)


@register
class Loss(LossCheck):
    """``masked_cross_entropy(x, t, mask)``: the loss and its gradient, padded positions ignored."""

    name = "masked_loss.loss"
    parts = {"loss": 1.5, "dx": 1.5, "padded positions": 0.75, "dtype": 0.25, "inputs unchanged": 0.25}

    def inputs(self, seed, T, B, V, dtype="float64"):
        return loss_case(seed, T, B, V, dtype)

    def run(self, masked_cross_entropy, inputs, xp):
        got, given = {}, Given()
        with refusing(self.refusal):
            self.call(masked_cross_entropy, inputs, got, given, "call")
            self.call(masked_cross_entropy, {"x": inputs["x2"], "t": inputs["t2"], "mask": inputs["mask"]},
                      got, Given(), "padded")
        got["given"] = given.arrays()
        return got

    def judge(self, inputs, got, run):
        a = {n: host(v) for n, v in inputs.items()}
        x, t, mask = a["x"], a["t"], a["mask"]
        T, B, V = x.shape
        tol, dev = TOLERANCE[x.dtype.name], run.device
        want_loss, want_dx = loss_reference(x, t, mask)
        live = max(int(mask.sum()), 1)
        scales = [(B / live, PER_TOKEN), (1 / T, PER_POSITION), (B, NOT_DIVIDED)]
        with part("loss"):
            alternatives = [(want_loss * k, s) for k, s in scales] + [(-want_loss, "a sign error: the loss is "
                                                                      "minus the log-probability of the label")]
            alternatives += [(loss_by_hand(x, t, mask, Z, masked=False)[0],
                              f"{NO_MASK}; and {s}" if Z != B else NO_MASK)
                             for Z, s in ((B, ""), (live, PER_TOKEN), (T * B, PER_POSITION))]
            check_scalar("masked_cross_entropy: loss", self.result(got, "call", "loss", run), want_loss, tol,
                         alternatives, NORMALISED)
        with part("dx"):
            dx = self.result(got, "call", "dx", run)
            alternatives = [(loss_by_hand(x, t, mask, B, masked=False)[1], NO_MASK),
                            (loss_by_hand(x, t, mask, B, onehot=False)[1], NO_ONEHOT)]
            hint = matching(dx, alternatives, DX)
            check_array("masked_cross_entropy: dx", dx, want_dx, device=dev, **tol, mistakes={
                "other": hint, "sign": "a sign error: dx = mask * (softmax(x) - onehot(t)) / B",
                "scaled": next((s for k, s in scales if _scaled(dx, want_dx, k)), hint)})
        with part("padded positions"):
            dx = host(self.result(got, "call", "dx", run))
            if isinstance(dx, numpy.ndarray) and dx.shape == x.shape and numpy.any(dx[~mask] != 0):
                raise AssertionError(f"masked_cross_entropy: dx is not zero at the padded positions.\n  "
                                     f"usual mistake: {NO_MASK}")
            loss1, loss2 = (scalar(self.result(got, k, "loss", run)) for k in ("call", "padded"))
            dx2 = host(self.result(got, "padded", "dx", run))
            same = isinstance(loss1, float) and isinstance(loss2, float) and math.isclose(loss1, loss2, rel_tol=1e-9) \
                and isinstance(dx, numpy.ndarray) and isinstance(dx2, numpy.ndarray) and dx.shape == dx2.shape \
                and numpy.allclose(dx, dx2, rtol=1e-9, atol=0)
            assert same, (f"masked_cross_entropy: other scores and labels at the padded positions changed "
                          f"the loss or dx.\n  usual mistake: {PADDED}")
        with part("dtype"):
            dx = self.result(got, "call", "dx", run)
            if isinstance(dx, Received) and dx.dtype != x.dtype:
                raise AssertionError(f"masked_cross_entropy: dx has dtype {dx.dtype}, but x is {x.dtype}.\n  "
                                     f"usual mistake: {DTYPE}")
        labels = {f"{n} (given to masked_cross_entropy)": a[n] for n in ("x", "t", "mask")}
        self.judge_unchanged(got, labels, ["call"], run)


def _scaled(got, want, k):
    g = host(got)
    return isinstance(g, numpy.ndarray) and g.shape == want.shape and numpy.allclose(g, k * want, rtol=1e-6, atol=1e-12)


@register
class LargeScores(LossCheck):
    """``masked_cross_entropy`` on scores of a thousand or so: finite and right."""

    name = "masked_loss.large_scores"
    parts = {"large scores": 0.75}

    def inputs(self, seed, T, B, V, scale=1000.0):
        return loss_case(seed, T, B, V, "float64", scale)

    def run(self, masked_cross_entropy, inputs, xp):
        got, given = {}, Given()
        with refusing(self.refusal):
            self.call(masked_cross_entropy, inputs, got, given, "call")
        return got

    def judge(self, inputs, got, run):
        x, t, mask = (host(inputs[n]) for n in ("x", "t", "mask"))
        want_loss, want_dx = loss_reference(x, t, mask)
        tol = TOLERANCE["float64"]
        with part("large scores"):
            check_scalar("masked_cross_entropy on large scores: loss", self.result(got, "call", "loss", run),
                         want_loss, tol, (), f"{NORMALISED} (and with large scores: {STABLE})")
            check_array("masked_cross_entropy on large scores: dx", self.result(got, "call", "dx", run), want_dx,
                        device=run.device, **tol, mistakes={"nan": STABLE, "other": f"{DX} (and with large scores: "
                                                                                    f"{STABLE})"})


# -- clipping ------------------------------------------------------------------------------------------

def grads_case(seed, shapes, dtype="float64"):
    rng = numpy.random.default_rng(seed)
    return [rng.standard_normal(tuple(s)).astype(dtype) for s in shapes]


def library_clip(grads, threshold, hook=None):
    """What the ``GradientClipping`` hook (or ``hook``) leaves in the gradients of parameters holding
    ``grads``."""
    from ...core import Parameter
    from ...links import Chain

    model = Chain()
    with model.init_scope():
        for k, g in enumerate(grads):
            setattr(model, f"p{k}", Parameter(numpy.zeros_like(g)))
    params = [getattr(model, f"p{k}") for k in range(len(grads))]
    for p, g in zip(params, grads):
        p.grad = g.copy()
    optimizer = optimizers.SGD()
    optimizer.setup(model)
    (hook or optimizers.GradientClipping(threshold))(optimizer)
    return [p.grad for p in params]


def value_clip(grads, threshold):
    """Each element cut to [-threshold, threshold]: the library's value-clipping hook where it has one
    (``GradientHardClipping``), else ``numpy.clip``."""
    hard = getattr(optimizers, "GradientHardClipping", None)
    if hard is None:
        return [numpy.clip(g, -threshold, threshold) for g in grads]
    return library_clip(grads, None, hard(-threshold, threshold))


def global_norm(grads):
    return math.sqrt(sum(float((numpy.asarray(g, dtype=numpy.float64) ** 2).sum()) for g in grads))


class ClipCheck(LayerCheck):
    learner = ("clip_grads_by_norm",)
    refusal = REFUSAL
    hints = HINTS
    example = "g * rate makes a new array; g *= rate changes the caller's gradient"

    def describe(self, case):
        return ", ".join(f"{k}={v}" for k, v in case.items() if k != "seed")

    @staticmethod
    def arrays(value, n, what):
        """The ``n`` arrays of a returned list, or an AssertionError that says what came instead."""
        if not isinstance(value, (tuple, list)) or len(value) != n:
            kind = f"a {type(value).__name__} of {len(value)}" if isinstance(value, (tuple, list)) else (
                value.type_name if isinstance(value, Other) else "an array" if isinstance(value, Received)
                else type(value).__name__)
            raise AssertionError(f"{what} should be a list of {n} arrays, one per gradient given, in their "
                                 f"order; it is {kind}")
        return value


@register
class ClipNorm(ClipCheck):
    """``clip_grads_by_norm(grads, threshold) -> (clipped, norm)`` against ``GradientClipping``."""

    name = "masked_loss.clip_norm"
    parts = {"norm": 1, "clipped": 1.5, "unclipped": 0.5, "dtype": 0.25, "inputs unchanged": 0.25}
    CALLS = ("clipped", "unclipped", "zeros")

    def inputs(self, seed, shapes, dtype="float64"):
        grads = grads_case(seed, shapes, dtype)
        norm = global_norm(grads)
        rng = numpy.random.default_rng(seed + 1)
        return {"grads": grads, "low": float(norm * rng.uniform(0.2, 0.7)), "high": float(norm * rng.uniform(1.3, 3)),
                "zeros": [numpy.zeros_like(g) for g in grads]}

    def run(self, clip_grads_by_norm, inputs, xp):
        got, given = {}, Given()
        with refusing(self.refusal):
            for name, grads, threshold in (("clipped", "grads", "low"), ("unclipped", "grads", "high"),
                                           ("zeros", "zeros", "high")):
                with phase(got, name) as out:
                    mine = [given(self.label(k, name), g) if grads == "grads" else g.copy()
                            for k, g in enumerate(inputs[grads])]
                    result = clip_grads_by_norm(mine, inputs[threshold])
                    if not (isinstance(result, (tuple, list)) and len(result) == 2):
                        raise TypeError(f"clip_grads_by_norm should return (clipped, norm), it returned "
                                        f"{type(result).__name__}")
                    out["clipped"], out["norm"] = keep(list(result[0]) if isinstance(result[0], (tuple, list))
                                                       else result[0]), keep(result[1])
        got["given"] = given.arrays()
        return got

    @staticmethod
    def label(k, call):
        return f"grads[{k}] (given to clip_grads_by_norm, the {call} call)"

    def judge(self, inputs, got, run):
        grads = [host(g) for g in inputs["grads"]]
        low, high = inputs["low"], inputs["high"]
        n, dtype = len(grads), grads[0].dtype
        tol, dev = TOLERANCE[dtype.name], run.device
        norm = global_norm(grads)
        per_array = [g * min(1.0, low / max(global_norm([g]), 1e-300)) for g in grads]
        by_value = [numpy.clip(g, -low, low) for g in grads]
        with part("norm"):
            squares = norm ** 2
            alternatives = [(squares, f"the square root is missing: {GLOBAL}"),
                            (sum(global_norm([g]) for g in grads), f"the arrays' norms were added; {GLOBAL}"),
                            (max(global_norm([g]) for g in grads), f"the largest array's norm; {GLOBAL}"),
                            (math.sqrt(squares / sum(g.size for g in grads)), f"a mean of the squares; {GLOBAL}")]
            for name in ("clipped", "unclipped"):
                check_scalar(f"clip_grads_by_norm: the norm returned ({name} call)",
                             self.result(got, name, "norm", run), norm, tol, alternatives,
                             f"return the global norm before clipping; {GLOBAL}")
        with part("clipped"):
            out = self.arrays(self.result(got, "clipped", "clipped", run), n, "clip_grads_by_norm's clipped")
            want = library_clip(grads, low)
            for k, (o, w) in enumerate(zip(out, want)):
                hint = matching(o, [(per_array[k], PER_ARRAY), (by_value[k], VALUE_NOT_NORM),
                                    (grads[k], f"nothing was clipped; {CLIPPED}")], CLIPPED)
                check_array(f"clip_grads_by_norm: clipped[{k}] (threshold below the norm)", o, w, device=dev, **tol,
                            mistakes={"other": hint, "scaled": hint})
        with part("unclipped"):
            out = self.arrays(self.result(got, "unclipped", "clipped", run), n, "clip_grads_by_norm's clipped")
            for k, (o, w) in enumerate(zip(out, library_clip(grads, high))):
                check_array(f"clip_grads_by_norm: clipped[{k}] (threshold above the norm)", o, w, device=dev, **tol,
                            mistakes={"other": UNCLIPPED, "scaled": UNCLIPPED})
            zeros = self.arrays(self.result(got, "zeros", "clipped", run), n, "clip_grads_by_norm's clipped")
            for k, o in enumerate(zeros):
                check_array(f"clip_grads_by_norm: clipped[{k}] (all-zero gradients)", o, numpy.zeros_like(grads[k]),
                            device=dev, **tol, mistakes={"nan": UNCLIPPED, "other": UNCLIPPED})
            check_scalar("clip_grads_by_norm: the norm returned (all-zero gradients)",
                         self.result(got, "zeros", "norm", run), 0.0, tol, (), GLOBAL)
        with part("dtype"):
            returned = [c for c in self.CALLS if isinstance(got.get(c), dict) and "clipped" in got[c]]
            if not returned:
                self.result(got, "clipped", "clipped", run)      # fails with the error of the first call
            for name in returned:      # the calls that returned (one that raised fails other parts)
                out = got[name]["clipped"]
                for k, o in enumerate(out if isinstance(out, (tuple, list)) else []):
                    if isinstance(o, Received) and o.dtype != dtype:
                        raise AssertionError(f"clip_grads_by_norm: clipped[{k}] has dtype {o.dtype}, but the "
                                             f"gradients are {dtype}.\n  usual mistake: {NORM_DTYPE}")
        self.judge_unchanged(got, {self.label(k, c): g for k, g in enumerate(grads) for c in self.CALLS[:2]},
                             list(self.CALLS[:2]), run)


@register
class ClipValue(ClipCheck):
    """``clip_grads_by_value(grads, threshold) -> clipped``: each element cut to [-threshold, threshold]."""

    name = "masked_loss.clip_value"
    learner = ("clip_grads_by_value",)
    parts = {"value clipping": 0.5}
    example = "xp.clip(g, ...) makes a new array; g[g > threshold] = threshold changes the caller's gradient"

    def inputs(self, seed, shapes, dtype="float64"):
        grads = grads_case(seed, shapes, dtype)
        threshold = float(numpy.median(numpy.abs(numpy.concatenate([g.ravel() for g in grads]))))
        return {"grads": grads, "threshold": threshold}

    def run(self, clip_grads_by_value, inputs, xp):
        got, given = {}, Given()
        with refusing(self.refusal), phase(got, "call") as out:
            mine = [given(f"grads[{k}] (given to clip_grads_by_value)", g) for k, g in enumerate(inputs["grads"])]
            result = clip_grads_by_value(mine, inputs["threshold"])
            out["clipped"] = keep(list(result) if isinstance(result, tuple) else result)
        got["given"] = given.arrays()
        return got

    def judge(self, inputs, got, run):
        grads, c = [host(g) for g in inputs["grads"]], inputs["threshold"]
        tol = TOLERANCE[grads[0].dtype.name]
        with part("value clipping"):
            out = self.arrays(self.result(got, "call", "clipped", run), len(grads), "clip_grads_by_value's result")
            for k, (o, g, w) in enumerate(zip(out, grads, value_clip(grads, c))):
                hint = ("each element is cut to [-threshold, threshold] (xp.clip(g, -threshold, threshold)): "
                        "the elements inside stay as they are")
                check_array(f"clip_grads_by_value: clipped[{k}]", o, w, device=run.device, **tol,
                            mistakes={"other": hint})
                if isinstance(o, Received) and o.dtype != g.dtype:
                    raise AssertionError(f"clip_grads_by_value: clipped[{k}] has dtype {o.dtype}, but the gradients "
                                         f"are {g.dtype}.\n  usual mistake: {DTYPE}")
            self.judge_unchanged_here(got, grads, run)

    def judge_unchanged_here(self, got, grads, run):
        given = got.get("given") if isinstance(got, dict) else None
        changed = [k for k, g in enumerate(grads) if not (isinstance(given, dict) and numpy.array_equal(
            host(given.get(f"grads[{k}] (given to clip_grads_by_value)")), g))]
        if changed:
            raise AssertionError(f"grads[{changed[0]}] changed during the call.\n  usual mistake: do not change the "
                                 f"arrays you are given, make new ones ({self.example})")
