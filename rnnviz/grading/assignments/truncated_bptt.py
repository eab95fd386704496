"""Checks for the truncated-BPTT assignment: gradients equal to ``BPTTUpdater``'s, live function
nodes flat, and a perplexity reached within a budget of CPU time.

``truncated_bptt.windows`` runs the learner's ``train_window(model, optimizer, iterator, bprop_len,
device)`` window after window on a small ``L.Classifier(L.RNNLM(n_vocab, 8, 8))`` whose initial
parameters the grader makes and sends; the kernel hands back each window's loss, gradients and
updated weights, and the grader replays rnnviz's ``BPTTUpdater`` on the same parameters and words.

``truncated_bptt.live_nodes`` checks that the number of live function nodes does not grow window
after window. That count exists only inside the learner's process
(``live_function_node_count()``), so it is the one thing of this assignment that the learner's
process reports rather than the grader measuring it; the grader judges the counts it receives.

``truncated_bptt.language_model`` calls ``train_language_model(train, n_vocab, budget_s, device)``
with NumPy's BLAS on one thread (``threadpool_limits(1)``). The grader measures the CPU time of the
whole kernel (every thread and child process) around the call, so training in a thread or a
subprocess is counted too; the kernel sends back the trained ``L.Classifier(L.RNNLM(...))`` as its
cell type, number of layers and parameter arrays, and the grader rebuilds that model and computes
its validation perplexity on its own copy of the validation text.
"""
import numpy

from ... import links as L
from ... import optimizers
from ...core.function_node import live_function_node_count
from ...datasets import get_kjv_words
from ...iterators import ParallelSequentialIterator
from ...links.recurrent import LSTM, RNN
from ...training import BPTTUpdater, evaluate_perplexity
from ..checks import check_array, to_numpy
from ..protocol import Check, Other, Received, host, register

SMALL = (8, 8)                 # n_embed, n_hidden of the small model of the window checks
LR_WINDOWS, LR_LIVE = 0.5, 0.1
RTOL, ATOL = 1e-4, 1e-6
RETURN_MODEL = "return L.Classifier(L.RNNLM(n_vocab, n_embed, n_hidden))"


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


@register
class Windows(Check):
    """``train_window`` against rnnviz's ``BPTTUpdater`` on one small model: the mean loss, every
    gradient and every weight after each window."""

    name = "truncated_bptt.windows"
    learner = ("train_window",)

    def inputs(self, seed, n_vocab, batch, bprop_len, windows=3):
        words = numpy.random.default_rng(seed).integers(0, n_vocab, 400).astype(numpy.int32)
        params = {name: p.array for name, p in small_model(n_vocab, seed).namedparams()}
        return {"words": words, "params": params, "n_vocab": int(n_vocab), "batch": int(batch),
                "bprop_len": int(bprop_len), "windows": int(windows)}

    def run(self, train_window, inputs, xp):
        a, device = inputs, _device_name(xp)
        model = load_small_model(a["n_vocab"], a["params"], device)
        opt = optimizers.SGD(lr=LR_WINDOWS)
        opt.setup(model)
        it = ParallelSequentialIterator(to_numpy(a["words"]), a["batch"])
        losses, grads, params = [], [], []
        for _ in range(a["windows"]):
            loss = train_window(model, opt, it, a["bprop_len"], device)
            losses.append(loss if isinstance(loss, (float, int, type(None))) else
                          {"type": type(loss).__name__})
            grads.append({name: _copy(p.grad) for name, p in model.namedparams()})
            params.append({name: _copy(p.array) for name, p in model.namedparams()})
        return {"losses": losses, "grads": grads, "params": params}

    def judge(self, inputs, got, run):
        dev, a = run.device, inputs
        windows, bprop_len = a["windows"], a["bprop_len"]
        ref = load_small_model(a["n_vocab"], a["params"])
        ref_opt = optimizers.SGD(lr=LR_WINDOWS)
        ref_opt.setup(ref)
        updater = BPTTUpdater(ParallelSequentialIterator(host(a["words"]), a["batch"]), ref_opt,
                              bprop_len, device="cpu")
        losses, grads, params = got.get("losses"), got.get("grads"), got.get("params")
        assert all(isinstance(x, list) and len(x) == windows for x in (losses, grads, params)), (
            f"the test expected {windows} windows of results and got something else")
        for w in range(windows):
            loss = losses[w]
            want = updater.update()
            kind = loss["type"] if isinstance(loss, dict) and isinstance(loss.get("type"), str) \
                else type(loss).__name__
            assert isinstance(loss, float), f"train_window should return a float, got {kind}"
            assert abs(loss - want) <= 1e-4 * max(1.0, abs(want)), (
                f"window {w + 1}: the mean loss returned differs from the reference by "
                f"{abs(loss - want) / max(1.0, abs(want)):.2g} (relative): sum the {bprop_len} step "
                f"losses and divide by bprop_len; read exactly bprop_len batches per window")
            history = ("window 1 is right but a later one is not: the history of earlier windows "
                       "still takes part (loss.unchain_backward() missing), or old gradients are "
                       "kept (model.cleargrads() missing)") if w else None
            got_grads, got_params = grads[w], params[w]
            assert isinstance(got_grads, dict) and isinstance(got_params, dict), (
                f"window {w + 1}: the gradients and weights could not be read")
            for name, q in ref.namedparams():
                assert name in got_grads, f"window {w + 1}: the model has no parameter {name} any more"
                g = got_grads[name]
                if q.grad is None:  # not used in this window (the lateral weight at a first step)
                    assert g is None or (isinstance(g, Received) and not host(g).any()), (
                        f"window {w + 1}: {name} should get no gradient in this window, yet it has "
                        f"one: clear the old gradients with model.cleargrads() before backward")
                    continue
                mistakes = {"none": "call loss.backward() before loss.unchain_backward(): "
                                    "unchaining first cuts the graph that backward walks"}
                if history:
                    mistakes.update(other=history, scaled=history)
                check_array(f"window {w + 1}: gradient of {name}", g, q.grad, device=dev,
                            rtol=RTOL, atol=ATOL, mistakes=mistakes)
            for name, q in ref.namedparams():
                assert name in got_params, f"window {w + 1}: the model has no parameter {name} any more"
                check_array(f"window {w + 1}: {name} after the update", got_params[name], q.array,
                            device=dev, rtol=RTOL, atol=ATOL, mistakes={"other": (
                                "the gradients were right but the update was not: call "
                                "optimizer.update() once per window, after loss.backward()")})


@register
class LiveNodes(Check):
    """The live function nodes after each of ``windows`` windows never exceed the count after the
    first. The counts are measured in the learner's process (they exist only there)."""

    name = "truncated_bptt.live_nodes"
    learner = ("train_window",)

    def inputs(self, windows=12, batch=4, bprop_len=8):
        words = numpy.random.default_rng(7).integers(0, 30, 2000).astype(numpy.int32)
        params = {name: p.array for name, p in small_model().namedparams()}
        return {"words": words, "params": params, "n_vocab": 30, "batch": int(batch),
                "bprop_len": int(bprop_len), "windows": int(windows)}

    def run(self, train_window, inputs, xp):
        a, device = inputs, _device_name(xp)
        model = load_small_model(a["n_vocab"], a["params"], device)
        opt = optimizers.SGD(lr=LR_LIVE)
        opt.setup(model)
        it = ParallelSequentialIterator(to_numpy(a["words"]), a["batch"])
        counts = []
        for _ in range(a["windows"]):
            train_window(model, opt, it, a["bprop_len"], device)
            counts.append(live_function_node_count())
        return {"counts": counts}

    def judge(self, inputs, got, run):
        windows = inputs["windows"]
        counts = got.get("counts")
        assert (isinstance(counts, list) and len(counts) == windows
                and all(type(c) is int and c >= 0 for c in counts)), (
            f"the test expected {windows} counts of live function nodes and got something else")
        assert max(counts) <= counts[0], (
            f"the live function nodes grew from {counts[0]} after window 1 to {max(counts)} after "
            f"{windows} windows: the history is never freed. Cut it with loss.unchain_backward() "
            f"after loss.backward(), and keep no Variable of an old window alive")


# -- the language model ----------------------------------------------------------------------------

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


def rebuild_model(sent, n_vocab, device):
    """The learner's trained model rebuilt in the grader from ``describe_model``'s data, every
    parameter shape-checked; AssertionError with what is wrong otherwise."""
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
    origins = {v.origin for v in params.values()}
    if device.name == "gpu":
        assert origins == {"cupy"}, ("the returned model is not on the GPU on the GPU run: move it "
                                     "with model.to_device('gpu') when device == 'gpu'")
    else:
        assert origins == {"numpy"}, ("the returned model holds CuPy arrays on the CPU run: move it "
                                      "to the GPU only when device == 'gpu'")
    dropout = dropout if isinstance(dropout, float) and 0.0 <= dropout < 1.0 else 0.0
    model = L.Classifier(L.RNNLM(n_vocab, embed.shape[1], out.shape[1], n_layers, cell, dropout))
    for name, p in model.namedparams():
        assert tuple(p.array.shape) == tuple(params[name].shape), f"the shape of {name} is wrong"
        p.array = numpy.array(host(params[name]), dtype=p.array.dtype)
    return model


@register
class LanguageModel(Check):
    """Train on the shipped corpus (500 words) within ``budget_s`` s of CPU time and reach a
    validation perplexity below ``TARGET``. The CPU time is the whole kernel's (every thread and
    child process), measured by the grader around the call. NumPy's BLAS runs on one thread
    meanwhile: faster for matrices this small, and the CPU time then measures work, not waiting."""

    name = "truncated_bptt.language_model"
    learner = ("train_language_model",)
    measures_cpu = True
    # Trained on the CPU (and on a real GPU): the stand-in's overhead would eat the budget, and
    # train_window's GPU path is checked by truncated_bptt.windows.
    devices = ("cpu", "gpu")
    TARGET = 60.0                  # the perplexity to beat: fixed here, never sent to the kernel
    N_VOCAB = 500
    SLACK_S = 1.0                  # CPU seconds allowed over the budget

    def inputs(self, budget_s=2.0, target=60.0):
        if target != self.TARGET:
            raise ValueError(f"{self.name}: the target perplexity is fixed by the check at "
                             f"{self.TARGET} (the learner's process never receives it), got {target}")
        train, _, _ = get_kjv_words(vocab_size=self.N_VOCAB)
        return {"train": train, "n_vocab": self.N_VOCAB, "budget_s": float(budget_s)}

    def run(self, train_language_model, inputs, xp):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            model = train_language_model(to_numpy(inputs["train"]), inputs["n_vocab"],
                                         inputs["budget_s"], _device_name(xp))
        return {"model": describe_model(model)}

    def judge(self, inputs, got, run):
        budget_s = inputs["budget_s"]
        spent = run.cpu_seconds
        assert spent is not None, "the CPU time of the run was not measured"
        assert spent <= budget_s + self.SLACK_S, (
            f"train_language_model took {spent:.1f} s of CPU time, counted over the whole kernel "
            f"(every thread and process), for a budget of {budget_s} s: check time.process_time() "
            f"between windows and stop when the budget is spent")
        model = rebuild_model(got.get("model"), inputs["n_vocab"], run.device)
        _, valid, _ = get_kjv_words(vocab_size=self.N_VOCAB)
        ppl = evaluate_perplexity(model, valid[:2000], batch_size=20)
        assert ppl < self.TARGET, (
            f"validation perplexity {ppl:.1f}, not below {self.TARGET:g}: try a larger learning "
            f"rate or Adam, more parallel streams (batch size), a hidden size around 64; check "
            f"that train_window really updates the weights")

    def explain(self, error):
        if error.get("type") == "ProtocolError":
            return ("the trained model is too large to send back for grading: a hidden size "
                    "around 64 is enough (and trains faster within the budget)")
        return ""
