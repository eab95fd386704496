"""Checks for the truncated-BPTT assignment: gradients equal to ``BPTTUpdater``'s, live function
nodes flat, and a perplexity reached within a budget of CPU time."""
import time

import numpy

from ... import links as L
from ... import optimizers
from ...core.function_node import live_function_node_count
from ...datasets import get_kjv_words
from ...iterators import ParallelSequentialIterator
from ...training import BPTTUpdater, evaluate_perplexity
from ..checks import check_array, to_numpy


def small_model(dev, n_vocab=30, seed=0):
    numpy.random.seed(seed)
    model = L.Classifier(L.RNNLM(n_vocab, 8, 8))
    return model.to_device("gpu") if dev.name == "gpu" else model


def check_windows(train_window, dev, seed, n_vocab, batch, bprop_len, windows=3):
    """``train_window`` against rnnviz's ``BPTTUpdater`` on a copy of one small model: the mean
    loss, every gradient and every weight after each window."""
    words = numpy.random.default_rng(seed).integers(0, n_vocab, 400).astype(numpy.int32)
    model = small_model(dev, n_vocab, seed)
    ref = model.copy(mode="copy")
    opt, ref_opt = optimizers.SGD(lr=0.5), optimizers.SGD(lr=0.5)
    opt.setup(model)
    ref_opt.setup(ref)
    it = ParallelSequentialIterator(words, batch)
    updater = BPTTUpdater(ParallelSequentialIterator(words, batch), ref_opt, bprop_len, device=dev.name)
    for w in range(windows):
        got = train_window(model, opt, it, bprop_len, dev.name)
        want = updater.update()
        assert isinstance(got, float), f"train_window should return a float, got {type(got).__name__}"
        assert abs(got - want) <= 1e-4 * max(1.0, abs(want)), (
            f"window {w + 1}: the mean loss returned differs from the reference by "
            f"{abs(got - want) / max(1.0, abs(want)):.2g} (relative): sum the {bprop_len} step losses "
            f"and divide by bprop_len; read exactly bprop_len batches per window")
        history = ("window 1 is right but a later one is not: the history of earlier windows still "
                   "takes part (loss.unchain_backward() missing), or old gradients are kept "
                   "(model.cleargrads() missing)") if w else None
        for (name, p), (_, q) in zip(model.namedparams(), ref.namedparams()):
            if q.grad is None:  # not used in this window (the lateral weight at a first step)
                assert p.grad is None or not to_numpy(p.grad).any(), (
                    f"window {w + 1}: {name} should get no gradient in this window, yet it has one: "
                    f"clear the old gradients with model.cleargrads() before backward")
                continue
            mistakes = {"none": "call loss.backward() before loss.unchain_backward(): unchaining first "
                                "cuts the graph that backward walks"}
            if history:
                mistakes.update(other=history, scaled=history)
            check_array(f"window {w + 1}: gradient of {name}", p.grad, q.grad, device=dev,
                        rtol=1e-4, atol=1e-6, mistakes=mistakes)
        for (name, p), (_, q) in zip(model.namedparams(), ref.namedparams()):
            check_array(f"window {w + 1}: {name} after the update", p.array, q.array, device=dev,
                        rtol=1e-4, atol=1e-6, mistakes={"other": (
                            "the gradients were right but the update was not: call optimizer.update() "
                            "once per window, after loss.backward()")})


def check_live_nodes(train_window, dev, windows=12, batch=4, bprop_len=8):
    """The live function nodes after each of ``windows`` windows never exceed the count after the first."""
    words = numpy.random.default_rng(7).integers(0, 30, 2000).astype(numpy.int32)
    model = small_model(dev)
    opt = optimizers.SGD(lr=0.1)
    opt.setup(model)
    it = ParallelSequentialIterator(words, batch)
    counts = []
    for _ in range(windows):
        train_window(model, opt, it, bprop_len, dev.name)
        counts.append(live_function_node_count())
    assert max(counts) <= counts[0], (
        f"the live function nodes grew from {counts[0]} after window 1 to {max(counts)} after "
        f"{windows} windows: the history is never freed. Cut it with loss.unchain_backward() after "
        f"loss.backward(), and keep no Variable of an old window alive")


def check_language_model(train_language_model, dev, budget_s=2.0, target=60.0):
    """Train on the shipped corpus (500 words) within ``budget_s`` s of this thread's CPU time and
    reach a validation perplexity below ``target``. NumPy's BLAS runs on one thread meanwhile:
    faster for matrices this small, and the CPU time then measures work, not waiting."""
    from threadpoolctl import threadpool_limits

    train, valid, _ = get_kjv_words(vocab_size=500)
    with threadpool_limits(limits=1):
        start = time.thread_time()
        model = train_language_model(train, 500, budget_s, dev.name)
        spent = time.thread_time() - start
        assert spent <= budget_s + 1.0, (
            f"train_language_model took {spent:.1f} s of CPU time for a budget of {budget_s} s: check "
            f"time.thread_time() between windows and stop when the budget is spent")
        ppl = evaluate_perplexity(model, valid[:2000], batch_size=20, device=dev.name)
    assert ppl < target, (
        f"validation perplexity {ppl:.1f}, not below {target}: try a larger learning rate or Adam, "
        f"more parallel streams (batch size), a hidden size around 64; check that train_window "
        f"really updates the weights")
    print(f"[{dev.name}] validation perplexity {ppl:.1f} after {spent:.1f} s of CPU time")
