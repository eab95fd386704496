"""Checks for the truncated-BPTT assignment: one window's loss, gradients and update equal to
``BPTTUpdater``'s, live function nodes flat, and a perplexity reached within a budget of CPU time.

``truncated_bptt.windows`` runs the learner's ``train_window(model, optimizer, iterator, bprop_len,
device)`` window after window on a small ``L.Classifier(L.RNNLM(n_vocab, 8, 8))`` whose initial
parameters the grader makes and sends, with ``optimizers.SGD(lr=0.5)``; the kernel hands back each
window's returned loss, the gradients left in the model and the weights after it. The grader
replays ``BPTTUpdater.update``'s steps on the same words, each window starting from the weights the
learner's model had before it (the initial ones, then the learner's own), so that each window and
each part is judged on its own: a wrong update does not make the later gradients wrong too. Parts:
``loss`` (the mean loss per step returned, a float), ``gradients`` (window 1's), ``history`` (the
later windows' gradients: the state carried over, the history cut, old gradients cleared),
``update`` (the weights after a window are those before it minus lr times the gradients the window
left). A mismatch is explained by replaying the usual mistakes (the state reset every window, one
batch too few or too many, the history never cut, old gradients kept, the last step's loss only):
when the learner's gradients are those of one of them, the message names it.

``truncated_bptt.live_nodes`` checks that the number of live function nodes does not grow window
after window. That count exists only inside the learner's process
(``live_function_node_count()``), so it is the one thing of this assignment that the learner's
process reports rather than the grader measuring it; the grader judges the counts it receives.

``truncated_bptt.language_model`` calls ``train_language_model(train, n_vocab, budget_s, device)``
with NumPy's BLAS on one thread (``threadpool_limits(1)``). The grader measures the CPU time of the
whole kernel (every thread and child process) around the call, so training in a thread or a
subprocess is counted too. The kernel loads the training split of the shipped corpus itself
(``get_kjv_words``, cached per process): sent as an input, its 335,000 word ids made the kernel
spend about 0.7 s of CPU time per run decoding the request, which the budget charged to the
learner (the solution failed its budget once on a loaded machine); the training text
is no secret (the learner's function may load any split it likes), and the validation text stays
in the grader; the kernel sends back the trained ``L.Classifier(L.RNNLM(...))`` as its
cell type, number of layers and parameter arrays (with the device they were on), and the grader
rebuilds that model and computes its validation perplexity on its own copy of the validation text.
Parts: ``model`` (an ``L.Classifier(L.RNNLM(...))`` on the run's device), ``budget``, ``perplexity``
(below the target, judged only for a run within its budget). The GPU check (CuPy, or the CuPy
stand-in where no GPU is) trains again with ``device="gpu"`` on half the budget and asks only for a
model that learned: a perplexity below half the vocabulary size (an untrained model scores about
the vocabulary size). The stand-in is slower than NumPy, so the CPU target would not be fair there;
what the GPU check is for is the model and the data on the GPU, and a training loop that runs.
"""
import math

import numpy

from ... import links as L
from ... import optimizers
from ...core.function_node import live_function_node_count
from ...datasets import get_kjv_words
from ...iterators import ParallelSequentialIterator, concat_examples
from ...links.recurrent import LSTM, RNN
from ...training import evaluate_perplexity
from ..checks import check_array, to_numpy
from ..protocol import Check, Other, Received, host, part, register

SMALL = (8, 8)                 # n_embed, n_hidden of the small model of the window checks
LR_WINDOWS, LR_LIVE = 0.5, 0.1
RTOL, ATOL = 1e-4, 1e-6
RETURN_MODEL = "return L.Classifier(L.RNNLM(n_vocab, n_embed, n_hidden))"
GPU_MIX = ("Unsupported type <class 'numpy.ndarray'>", "Implicit conversion to a NumPy array",
           "a mix of NumPy (cpu) and CuPy (gpu)")
DIVERGED = ("the training diverged: the learning rate is too large, or the gradients explode: lower "
            "the learning rate, or clip the gradients (optimizer.add_hook(optimizers."
            "GradientClipping(5.0)) after optimizer.setup(model))")


def small_model(n_vocab=30, seed=0):
    """The small model of the window checks, on the CPU (the global NumPy RNG left as it was)."""
    state = numpy.random.get_state()
    try:
        numpy.random.seed(seed)
        return L.Classifier(L.RNNLM(n_vocab, *SMALL))
    finally:
        numpy.random.set_state(state)


def load_small_model(n_vocab, params, device="cpu"):
    """``small_model``'s architecture with the parameters ``params`` ({name: array}) on ``device``."""
    model = L.Classifier(L.RNNLM(n_vocab, *SMALL))
    for name, p in model.namedparams():
        p.array = numpy.array(to_numpy(host(params[name])), dtype=p.array.dtype)
    return model.to_device("gpu") if device == "gpu" else model


def training_setup(a, lr, device="cpu"):
    """(model, SGD optimizer, iterator) for the inputs ``a`` of a windows or live-nodes case."""
    model = load_small_model(a["n_vocab"], a["params"], device)
    optimizer = optimizers.SGD(lr=lr)
    optimizer.setup(model)
    return model, optimizer, ParallelSequentialIterator(to_numpy(host(a["words"])), a["batch"])


def _copy(a):
    """A snapshot of a parameter's array or gradient (they are updated in place later)."""
    a = getattr(a, "array", a)
    return a.copy() if hasattr(a, "copy") else a


def _device_name(xp):
    return "cpu" if xp is numpy else "gpu"


def _kind(value):
    if isinstance(value, Received):
        return f"an array of shape {value.shape}"
    if isinstance(value, Other):
        return f"a {value.type_name}"
    return f"a {type(value).__name__}"


def _close(a, b):
    return a is not None and b is not None and numpy.shape(a) == numpy.shape(b) and bool(
        numpy.allclose(numpy.asarray(a, dtype=numpy.float64), numpy.asarray(b, dtype=numpy.float64),
                       rtol=RTOL, atol=ATOL))


def _near(x, y):
    """Two losses equal to the check's tolerance."""
    return abs(x - y) <= 1e-4 * max(1.0, abs(y))


def explain_gpu_mix(error, where):
    """The hint for NumPy and CuPy arrays mixed (the GPU run), for a loss that stayed a number,
    or ""."""
    message = str(error.get("message", "")) if isinstance(error, dict) else ""
    if "object has no attribute 'backward'" in message or "object has no attribute 'unchain" in message:
        return ("usual mistake: the window's loss is still a plain number, not a Variable: no "
                "step's loss was added to it (does the loop read bprop_len batches and add each "
                "model(x, t) to the loss?)")
    if any(s in message for s in GPU_MIX):
        return (f"usual mistake: NumPy and CuPy arrays were mixed on the GPU run: when device == "
                f"'gpu', {where}")
    return ""


# -- 1. the windows ------------------------------------------------------------------------------

#: The usual mistakes of train_window the judge replays to name the cause of a mismatch:
#: (key, how the replay differs, the hint).
MISTAKES = [
    ("reset", {"reset": True},
     "the hidden state is reset between windows (model.reset_state(), or a new model or "
     "predictor): the state must carry over between windows; only loss.unchain_backward() cuts "
     "the history, and it keeps the state's value"),
    ("fewer", {"extra": -1},
     "train_window reads bprop_len - 1 batches per window: read exactly bprop_len batches "
     "(bprop_len calls of next(iterator))"),
    ("more", {"extra": 1},
     "train_window reads bprop_len + 1 batches per window: read exactly bprop_len batches "
     "(bprop_len calls of next(iterator))"),
    ("no_unchain", {"unchain": False},
     "the history of earlier windows still takes part in backward: cut it with "
     "loss.unchain_backward() after loss.backward()"),
    ("no_clear", {"cleargrads": False},
     "old gradients are kept and added to: clear them with model.cleargrads() before "
     "loss.backward()"),
    ("update_first", {"update_first": True},
     "optimizer.update() comes before loss.backward(): it updates with the previous window's "
     "gradients, and backward then runs on weights already changed: call it once per window, "
     "after loss.backward()"),
    ("last_only", {"last_only": True},
     "only the last step's loss is back-propagated: add every step's loss into the window's "
     "loss (loss += model(x, t))"),
]
VALUE_SYMPTOMS = ("zero", "sign", "scaled", "transposed", "parts", "swapped_parts", "other")


def replay(a, before, *, extra=0, reset=False, unchain=True, cleargrads=True, last_only=False,
           update_first=False):
    """``BPTTUpdater.update``'s steps, window after window, on the CPU: [{"loss": the window's
    summed loss, "grads": {name: gradient or None}}, ...]. Window ``w`` starts from the weights
    ``before[w]`` ({name: array}; None: the replay's own), written in place as an optimizer
    would. The keywords make one of the usual mistakes on purpose (see ``MISTAKES``)."""
    model, optimizer, iterator = training_setup(a, LR_WINDOWS)
    steps = a["bprop_len"] + extra
    out = []
    for w in range(a["windows"]):
        if before[w] is not None:
            for name, p in model.namedparams():
                p.array[...] = before[w][name]
        if reset:
            model.reset_state()
        loss = 0
        for _ in range(steps):
            x, t = concat_examples(next(iterator))
            step = model(x, t)
            loss = step if last_only else loss + step
        if update_first:
            optimizer.update()
        if cleargrads:
            model.cleargrads()
        loss.backward()
        if unchain:
            loss.unchain_backward()
        if not update_first:
            optimizer.update()
        out.append({"loss": float(loss.array),
                    "grads": {name: _copy(p.grad) for name, p in model.namedparams()}})
    return out


def _same_grads(got, want):
    """The learner's gradients of one window ({name: Received or None}) equal ``want``'s."""
    if not isinstance(got, dict):
        return False
    for name, q in want.items():
        g = host(got.get(name))
        if q is None:
            if g is not None and (not isinstance(g, numpy.ndarray) or g.any()):
                return False
        elif not isinstance(g, numpy.ndarray) or not _close(g, q):
            return False
    return True


def _readable(params, names, shapes):
    """The learner's weights after a window as {name: NumPy array}, or None when unreadable."""
    if not isinstance(params, dict) or set(params) != set(names):
        return None
    out = {}
    for name in names:
        v = params[name]
        if not isinstance(v, Received) or tuple(v.shape) != shapes[name] or v.dtype.kind != "f":
            return None
        out[name] = host(v)
    return out


@register
class Windows(Check):
    """``train_window`` against rnnviz's ``BPTTUpdater`` on one small model: the mean loss, every
    gradient and every weight after each window."""

    name = "truncated_bptt.windows"
    learner = ("train_window",)
    parts = {"loss": 1, "gradients": 1, "history": 1, "update": 1}

    def inputs(self, seed, n_vocab, batch, bprop_len, windows=3):
        words = numpy.random.default_rng(seed).integers(0, n_vocab, 400).astype(numpy.int32)
        params = {name: p.array for name, p in small_model(n_vocab, seed).namedparams()}
        return {"words": words, "params": params, "n_vocab": int(n_vocab), "batch": int(batch),
                "bprop_len": int(bprop_len), "windows": int(windows)}

    def run(self, train_window, inputs, xp):
        a, device = inputs, _device_name(xp)
        model, opt, it = training_setup(a, LR_WINDOWS, device)
        losses, grads, params = [], [], []
        for _ in range(a["windows"]):
            loss = train_window(model, opt, it, a["bprop_len"], device)
            losses.append(loss if isinstance(loss, (float, int, type(None))) else
                          {"type": type(loss).__name__})
            grads.append({name: _copy(p.grad) for name, p in model.namedparams()})
            params.append({name: _copy(p.array) for name, p in model.namedparams()})
        return {"losses": losses, "grads": grads, "params": params}

    def explain(self, error):
        return explain_gpu_mix(error, "move x and t to the GPU with to_device(x, 'gpu') and "
                                      "to_device(t, 'gpu') (the test's model is already there)")

    def judge(self, inputs, got, run):
        dev, a = run.device, inputs
        windows, bprop_len = a["windows"], a["bprop_len"]
        losses, grads, params = got.get("losses"), got.get("grads"), got.get("params")
        assert all(isinstance(x, list) and len(x) == windows for x in (losses, grads, params)), (
            f"the test expected {windows} windows of results and got something else")
        initial = {name: host(v) for name, v in a["params"].items()}
        names = list(initial)
        shapes = {name: tuple(v.shape) for name, v in initial.items()}
        after = [_readable(p, names, shapes) for p in params]
        # each window replayed from the weights the learner's model had before it
        before = [initial] + after[:-1]
        ref = replay(a, before)
        diagnosis = self._diagnose(a, before, grads, ref)

        with part("loss"):
            self._judge_losses(a, losses, ref, diagnosis)
        first_right = True
        for w in range(windows):
            with part("gradients" if w == 0 else "history"):
                try:
                    self._judge_grads(w, grads[w], ref[w]["grads"], dev, diagnosis, first_right)
                except AssertionError:
                    first_right = first_right and w > 0
                    raise
        with part("update"):
            for w in range(windows):
                self._judge_update(w, before[w], after[w], params[w], grads[w], ref[w]["grads"], dev)

    # -- the parts --------------------------------------------------------------------------------

    def _diagnose(self, a, before, grads, ref):
        """(hint, replay) of the usual mistake whose gradients the learner's are, or None (also when
        the learner's are the reference's)."""
        if all(_same_grads(g, r["grads"]) for g, r in zip(grads, ref)):
            return None
        for _, change, hint in MISTAKES:
            steps = a["bprop_len"] + change.get("extra", 0)
            if steps < 1 or (change.get("last_only") and steps == 1):   # no window, or no change
                continue
            other = replay(a, before, **change)
            if all(_same_grads(g, r["grads"]) for g, r in zip(grads, other)):
                return hint, other
        return None

    def _judge_losses(self, a, losses, ref, diagnosis):
        bprop_len, batch = a["bprop_len"], a["batch"]
        for w, loss in enumerate(losses):
            kind = loss["type"] if isinstance(loss, dict) and isinstance(loss.get("type"), str) \
                else type(loss).__name__
            assert isinstance(loss, float), (
                f"train_window should return the mean loss per step as a Python float "
                f"(float(loss.array) / bprop_len), got a {kind}")
            want = ref[w]["loss"] / bprop_len
            if _near(loss, want):
                continue
            if diagnosis is not None and _near(loss, diagnosis[1][w]["loss"] / bprop_len):
                hint = diagnosis[0]
            elif bprop_len > 1 and _near(loss, want * bprop_len):
                hint = ("it is bprop_len times the mean: return the window's summed loss divided "
                        "by bprop_len")
            elif bprop_len > 1 and _near(loss, want / bprop_len):
                hint = ("it is the mean divided by bprop_len once more: divide the summed loss by "
                        "bprop_len once")
            elif batch > 1 and _near(loss, want / batch):
                hint = ("it is the mean divided by the batch size too: each step's loss is already "
                        "a mean over the batch, so divide the summed loss by bprop_len only")
            elif w > 0:   # the earlier windows' losses were right
                hint = ("window 1's loss is right but a later one is not: a window's loss depends "
                        "on the state carried over from the window before (do not reset it) and "
                        "on reading exactly bprop_len batches")
            else:
                hint = ("return float(loss.array) / bprop_len, where loss is the sum of the "
                        "losses of exactly bprop_len steps")
            raise AssertionError(
                f"window {w + 1}: the mean loss returned differs from the reference by "
                f"{abs(loss - want) / max(1.0, abs(want)):.2g} (relative).\n  usual mistake: {hint}")

    def _judge_grads(self, w, got_grads, want, dev, diagnosis, first_right):
        assert isinstance(got_grads, dict), f"window {w + 1}: the gradients could not be read"
        if diagnosis is not None:
            fallback = diagnosis[0]
        elif w == 0:
            fallback = ("the gradients are not those of the window's summed loss: add the losses "
                        "of all bprop_len steps into one Variable and call backward on it once")
        elif first_right:
            fallback = ("window 1's gradients are right but a later window's are not: check what "
                        "carries from one window to the next: the hidden state carries over (no "
                        "reset), the history is cut (loss.unchain_backward() after backward) and "
                        "old gradients are cleared (model.cleargrads() before backward)")
        else:
            fallback = ("window 1's gradients are wrong too: fix those first")
        mistakes = {s: fallback for s in VALUE_SYMPTOMS}
        mistakes["none"] = ("no gradient was left in the model after the window: call "
                            "loss.backward() before loss.unchain_backward() (unchaining first cuts "
                            "the graph that backward walks), and leave the window's gradients in "
                            "the model (clear the old ones before backward, not after the update)")
        for name, q in want.items():
            assert name in got_grads, f"window {w + 1}: the model has no parameter {name} any more"
            g = got_grads[name]
            if q is None:  # not used in this window (the lateral weight at a first step)
                assert g is None or (isinstance(g, Received) and not host(g).any()), (
                    f"window {w + 1}: {name} should get no gradient in this window (the state it "
                    f"weighs is not used), yet it has one.\n  usual mistake: {fallback}")
                continue
            check_array(f"window {w + 1}: gradient of {name}", g, q, device=dev,
                        rtol=RTOL, atol=ATOL, mistakes=mistakes)

    def _judge_update(self, w, before, after, got_params, got_grads, ref_grads, dev):
        assert before is not None and after is not None, (
            f"window {w + 1}: the weights after the window could not be read (a parameter is "
            f"missing, replaced or of another shape): update the model's own parameters in place "
            f"with optimizer.update()")
        for name, v in got_params.items():   # on the GPU run, CuPy arrays
            check_array(f"window {w + 1}: {name} after the update", v, after[name], device=dev)

        def stepped(grads):
            return {name: before[name] if host(grads.get(name)) is None else
                    (before[name] - numpy.float32(LR_WINDOWS) * host(grads[name])).astype(before[name].dtype)
                    for name in before}

        learner_grads = got_grads if isinstance(got_grads, dict) else {}
        expected = [stepped(learner_grads)]
        if all(host(learner_grads.get(n)) is None for n in before):   # cleared after the update
            expected.append(stepped(ref_grads))
        if any(all(_close(after[n], e[n]) for n in before) for e in expected):
            return
        unchanged = all(_close(after[n], before[n]) for n in before)
        twice = stepped({n: None if host(learner_grads.get(n)) is None else 2 * host(learner_grads[n])
                         for n in before})
        if unchanged:
            hint = (f"the weights did not change in window {w + 1}: call optimizer.update() once "
                    f"per window, after loss.backward()")
        elif all(_close(after[n], twice[n]) for n in before):
            hint = "the weights moved twice as far: call optimizer.update() once per window"
        else:
            hint = ("the weights after a window should be those before it minus lr times the "
                    "gradients the window left in the model: call optimizer.update() once per "
                    "window, after loss.backward(), and leave the optimizer's settings as they are")
        name = next(n for n in before if not any(_close(after[n], e[n]) for e in expected))
        check_array(f"window {w + 1}: {name} after the update", after[name], expected[0][name],
                    rtol=RTOL, atol=ATOL, mistakes={s: hint for s in VALUE_SYMPTOMS})
        raise AssertionError(f"window {w + 1}: the weights after the update are wrong.\n  usual "
                             f"mistake: {hint}")


@register
class LiveNodes(Check):
    """The live function nodes after each of ``windows`` windows never exceed the count after the
    first. The counts are measured in the learner's process (they exist only there)."""

    name = "truncated_bptt.live_nodes"
    learner = ("train_window",)
    parts = {"live nodes": 1}

    def inputs(self, windows=12, batch=4, bprop_len=8):
        words = numpy.random.default_rng(7).integers(0, 30, 2000).astype(numpy.int32)
        params = {name: p.array for name, p in small_model().namedparams()}
        return {"words": words, "params": params, "n_vocab": 30, "batch": int(batch),
                "bprop_len": int(bprop_len), "windows": int(windows)}

    def run(self, train_window, inputs, xp):
        a, device = inputs, _device_name(xp)
        model, opt, it = training_setup(a, LR_LIVE, device)
        counts = []
        for _ in range(a["windows"]):
            train_window(model, opt, it, a["bprop_len"], device)
            counts.append(live_function_node_count())
        return {"counts": counts}

    def explain(self, error):
        return explain_gpu_mix(error, "move x and t to the GPU with to_device(x, 'gpu') and "
                                      "to_device(t, 'gpu') (the test's model is already there)")

    def judge(self, inputs, got, run):
        windows = inputs["windows"]
        counts = got.get("counts")
        with part("live nodes"):
            assert (isinstance(counts, list) and len(counts) == windows
                    and all(type(c) is int and c >= 0 for c in counts)), (
                f"the test expected {windows} counts of live function nodes and got something else")
            assert max(counts) <= counts[0], (
                f"the live function nodes grew from {counts[0]} after window 1 to {max(counts)} "
                f"after {windows} windows: the history is never freed. Cut it with "
                f"loss.unchain_backward() after loss.backward(), and keep no Variable of an old "
                f"window alive (a list of losses, a global)")


# -- 2. the language model -------------------------------------------------------------------------

def describe_model(model):
    """A trained ``L.Classifier(L.RNNLM(...))`` as plain data (in the learner's process): its cell
    type, number of layers, dropout and every named parameter; anything else as its type."""
    predictor = getattr(model, "predictor", None) if isinstance(model, L.Classifier) else None
    if not isinstance(predictor, L.RNNLM):
        inner = f"({type(predictor).__name__})" if isinstance(model, L.Classifier) else ""
        return {"type": f"{type(model).__name__}{inner}"}
    layers = [getattr(predictor, n, None) for n in getattr(predictor, "recurrent_names", [])]
    cell = ("lstm" if layers and all(type(x) is LSTM for x in layers) else
            "rnn" if layers and all(type(x) is RNN for x in layers) else "other")
    return {"type": "Classifier(RNNLM)", "cell": cell, "n_layers": len(layers),
            "dropout": float(getattr(predictor, "dropout", 0.0) or 0.0),
            "params": {name: p.array for name, p in model.namedparams()}}


def rnnlm_shapes(n_vocab, n_embed, n_hidden, n_layers, cell):
    """{name: shape} of ``L.Classifier(L.RNNLM(n_vocab, n_embed, n_hidden, n_layers, cell))``'s
    parameters, computed without building it."""
    gates = 4 if cell == "lstm" else 1
    shapes = {"/predictor/embed/W": (n_vocab, n_embed), "/predictor/out/W": (n_vocab, n_hidden),
              "/predictor/out/b": (n_vocab,)}
    sizes = [n_embed] + [n_hidden] * n_layers
    for k in range(n_layers):
        layer = "mid" if n_layers == 1 else f"mid{k + 1}"
        shapes[f"/predictor/{layer}/upward/W"] = (gates * n_hidden, sizes[k])
        shapes[f"/predictor/{layer}/upward/b"] = (gates * n_hidden,)
        shapes[f"/predictor/{layer}/lateral/W"] = (gates * n_hidden, n_hidden)
    return shapes


def rebuild_model(sent, n_vocab):
    """The learner's trained model rebuilt in the grader (on the CPU) from ``describe_model``'s
    data, every parameter shape-checked; AssertionError with what is wrong otherwise."""
    kind = sent.get("type") if isinstance(sent, dict) else None
    assert kind == "Classifier(RNNLM)", (
        f"train_language_model should {RETURN_MODEL} (an LSTM or RNN cell), got "
        f"{kind if isinstance(kind, str) else _kind(sent)}")
    cell, n_layers, dropout = sent.get("cell"), sent.get("n_layers"), sent.get("dropout", 0.0)
    params = sent.get("params")
    assert cell in ("lstm", "rnn") and type(n_layers) is int and 1 <= n_layers <= 64, (
        f"train_language_model should {RETURN_MODEL}: its recurrent layers should be rnnviz's "
        f"L.LSTM (cell='lstm', the default) or L.RNN (cell='rnn')")
    assert isinstance(params, dict) and all(isinstance(v, Received) for v in params.values()), (
        f"the parameters of the returned model could not be read: {RETURN_MODEL} with every "
        f"parameter initialised")
    embed, out = params.get("/predictor/embed/W"), params.get("/predictor/out/W")
    assert embed is not None and out is not None and len(embed.shape) == 2 and len(out.shape) == 2, (
        f"train_language_model should {RETURN_MODEL}: its embedding or output layer is missing")
    assert embed.shape[0] == n_vocab, (
        f"the model's vocabulary has {embed.shape[0]} words, the test's {n_vocab}: build "
        f"L.RNNLM(n_vocab, ...) with the n_vocab given")
    shapes = rnnlm_shapes(n_vocab, embed.shape[1], out.shape[1], n_layers, cell)
    for name in sorted(set(shapes) | set(params)):
        assert name in shapes and name in params, (
            f"train_language_model should {RETURN_MODEL}: the returned model "
            f"{'has an extra' if name in params else 'lacks the'} parameter {name}")
        config = (f"{n_vocab}, {embed.shape[1]}, {out.shape[1]}"
                  + (f", n_layers={n_layers}" if n_layers > 1 else "")
                  + (f", cell={cell!r}" if cell != "lstm" else ""))
        assert tuple(params[name].shape) == shapes[name], (
            f"the model's parameter {name} has shape {tuple(params[name].shape)}, expected "
            f"{shapes[name]} for L.RNNLM({config})")
    dropout = dropout if isinstance(dropout, float) and 0.0 <= dropout < 1.0 else 0.0
    model = L.Classifier(L.RNNLM(n_vocab, embed.shape[1], out.shape[1], n_layers, cell, dropout))
    for name, p in model.namedparams():
        assert tuple(p.array.shape) == tuple(params[name].shape), f"the shape of {name} is wrong"
        p.array = numpy.array(host(params[name]), dtype=p.array.dtype)
    return model


def check_model_device(sent, device):
    """The returned model's parameters are on the run's device (CuPy on the GPU run)."""
    origins = {v.origin for v in sent["params"].values()}
    if device.name == "gpu":
        assert origins == {"cupy"}, (
            "the returned model is not on the GPU on the GPU run: move it with "
            "model.to_device('gpu') right after building it when device == 'gpu', and return it there")
    else:
        assert origins == {"numpy"}, ("the returned model holds CuPy arrays on the CPU run: move it "
                                      "to the GPU only when device == 'gpu'")


@register
class LanguageModel(Check):
    """Train on the shipped corpus (500 words) within ``budget_s`` s of CPU time and reach a
    validation perplexity below ``TARGET``. The CPU time is the whole kernel's (every thread and
    child process), measured by the grader around the call. NumPy's BLAS runs on one thread
    meanwhile: faster for matrices this small, and the CPU time then measures work, not waiting.

    The training words are loaded in the kernel (see the module's docstring): only the sizes and
    budgets are sent. The GPU check (CuPy, or the stand-in) calls it again with ``device="gpu"`` and
    ``GPU_SHARE`` of the budget, and asks for a perplexity below ``GPU_TARGET``: the stand-in's
    overhead makes fewer windows fit in a budget, so the CPU target would not be fair there; the
    GPU check is about the model and data on the GPU and a training loop that runs."""

    name = "truncated_bptt.language_model"
    learner = ("train_language_model",)
    measures_cpu = True
    parts = {"model": 1, "budget": 1, "perplexity": 2}
    TARGET = 60.0                  # the perplexity to beat: fixed here, never sent to the kernel
    N_VOCAB = 500
    GPU_SHARE = 0.5                # the share of the budget the GPU check trains for
    GPU_TARGET = N_VOCAB / 2       # half a uniform guess's perplexity: the model learned something
    SLACK_S = 1.0                  # CPU seconds allowed over the budget

    def inputs(self, budget_s=2.0, target=60.0):
        if target != self.TARGET:
            raise ValueError(f"{self.name}: the target perplexity is fixed by the check at "
                             f"{self.TARGET} (the learner's process never receives it), got {target}")
        return {"n_vocab": self.N_VOCAB, "budget_s": float(budget_s),
                "gpu_budget_s": float(budget_s) * self.GPU_SHARE}

    def run(self, train_language_model, inputs, xp):
        from threadpoolctl import threadpool_limits

        device = _device_name(xp)
        budget_s = inputs["budget_s"] if device == "cpu" else inputs["gpu_budget_s"]
        with threadpool_limits(limits=1):
            train, _, _ = get_kjv_words(vocab_size=inputs["n_vocab"])
            model = train_language_model(train, inputs["n_vocab"], budget_s, device)
        return {"model": describe_model(model)}

    def judge(self, inputs, got, run):
        gpu = run.device.name == "gpu"
        n_vocab = inputs["n_vocab"]
        budget_s = inputs["gpu_budget_s"] if gpu else inputs["budget_s"]
        target = self.GPU_TARGET if gpu else self.TARGET
        spent = run.cpu_seconds
        assert spent is not None, "the CPU time of the run was not measured"
        within = spent <= budget_s + self.SLACK_S
        with part("budget"):
            assert within, (
                f"train_language_model took {spent:.1f} s of CPU time, counted over the whole "
                f"kernel (every thread and process), for a budget of {budget_s:g} s (and "
                f"{self.SLACK_S:g} s more allowed for the last window).\n  usual mistake: the "
                f"loop does not stop on time: check time.process_time() before each window and "
                f"stop once budget_s seconds are spent since the start; training in a thread or "
                f"a subprocess counts too; a very large model makes each window long")
        model = None
        with part("model"):
            sent = got.get("model")
            model = rebuild_model(sent, n_vocab)
            check_model_device(sent, run.device)
        with part("perplexity"):
            assert within, (
                "the perplexity counts only for a run within its CPU budget, and this one took "
                "longer (see the budget)")
            assert model is not None, (
                f"the perplexity could not be measured: train_language_model should {RETURN_MODEL}")
            _, valid, _ = get_kjv_words(vocab_size=self.N_VOCAB)
            ppl = evaluate_perplexity(model, valid[:2000], batch_size=20)
            assert ppl < target, self.perplexity_message(ppl, target, n_vocab, gpu)

    @staticmethod
    def perplexity_message(ppl, target, n_vocab, gpu):
        where = (f" (the GPU check trains on half the budget and asks only for a model that "
                 f"learned: below {target:g})") if gpu else ""
        text = f"validation perplexity {ppl:.3g}, not below {target:g}{where}.\n  usual mistake: "
        if not math.isfinite(ppl) or ppl > 2 * n_vocab:
            return text + (f"{DIVERGED} (a uniform guess over the {n_vocab} words scores "
                           f"{n_vocab}; this model does much worse)")
        if ppl >= n_vocab / 2:
            return text + (f"the model is about as good as an untrained one (a uniform guess over "
                           f"the {n_vocab} words scores {n_vocab}): either the weights hardly "
                           f"changed (does the training loop run? does train_window update "
                           f"the weights?) or the training went wrong (a learning rate too large "
                           f"makes the loss grow: lower it, or clip the gradients)")
        return text + ("the model learned, but not enough within the budget: tune the learning "
                       "rate (too small learns slowly, too large oscillates; Adam(alpha=0.01) "
                       "works well here), use about 32 parallel streams (the iterator's batch "
                       "size) and a hidden size around 64 (a larger model makes fewer updates in "
                       "the budget)")

    def explain(self, error):
        if error.get("type") == "ProtocolError":
            return ("the trained model is too large to send back for grading: a hidden size "
                    "around 64 is enough (and trains faster within the budget)")
        if error.get("type") == "FloatingPointError":
            return f"usual mistake: {DIVERGED}"
        return explain_gpu_mix(error, "move the model to the GPU with model.to_device('gpu') "
                                      "right after building it, and x, t with to_device(x, 'gpu') "
                                      "in train_window")
