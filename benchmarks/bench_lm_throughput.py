"""Training throughput of the tutorial's LSTM language model: rnnviz against the NumPy limit.

    python benchmarks/bench_lm_throughput.py [--seconds 10] [--sizes tutorial,ptb] [--no-torch]

Words per second of forward + backward + clipped SGD update with truncated BPTT, on one synthetic
word stream, for rnnviz (define-by-run, one step per call; ``rnnviz`` with the batched backward
engine, the default, and ``rnnviz-plain`` with the plain one a learner reads), the hand-written NumPy model of
``numpy_lm.py`` (backward derived by hand, one large matrix product per window: the NumPy limit),
and PyTorch CPU with 2 threads where installed. All run interleaved in one process, and the table
gives each as a ratio to the hand-written NumPy model measured in the same run.
The rnnviz trainer is the tutorial's own loop (seed 003: ``loss += model(x, t)`` per step,
``backward``, ``unchain_backward``, ``update``); ``rnnviz`` runs it with the batched engine and the
deferred forward (``core/lazy.py``), ``rnnviz-updater`` the same through the kit's
``BPTTUpdater`` (what ``LMTrainer`` drives), ``rnnviz-plain`` with neither.
Targets (issue 21): rnnviz >= 0.8x at the tutorial's size, >= 0.9x at the PTB size.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy_lm  # noqa: E402

import rnnviz.links as L  # noqa: E402
from rnnviz import optimizers, using_config  # noqa: E402


def tutorial_model(vocab, embed, hidden, lr, clip, seed=0):
    """Seed 003's model and optimizer: ``L.Classifier(L.RNNLM(...))`` (no accuracy), clipped SGD."""
    np.random.seed(seed)
    model = L.Classifier(L.RNNLM(vocab, embed, hidden))
    model.compute_accuracy = False
    opt = optimizers.SGD(lr=lr)
    opt.setup(model)
    opt.add_hook(optimizers.GradientClipping(clip))
    return model, opt


def make_rnnviz_trainer(vocab, embed, hidden, lr, clip, seed=0, batched=True):
    """One truncated-BPTT window per call, written as the Chainer tutorial writes it; ``batched``:
    which backward engine (``rnnviz.config.batched_backward``)."""
    model, opt = tutorial_model(vocab, embed, hidden, lr, clip, seed)

    def window(xs, ts):
        loss = 0
        for k in range(xs.shape[1]):
            loss += model(xs[:, k], ts[:, k])
        model.cleargrads()
        loss.backward()
        loss.unchain_backward()
        opt.update()
        return float(loss.array) / xs.shape[1]

    def step(xs, ts):
        with using_config("batched_backward", batched):   # the whole window: forward too
            return window(xs, ts)

    return step


def make_rnnviz_updater(stream, vocab, embed, hidden, batch, bprop_len, lr, clip, seed=0):
    """The same model trained by the kit's own ``BPTTUpdater`` (what ``LMTrainer`` drives), reading
    ``stream`` through ``ParallelSequentialIterator`` and ``concat_examples`` as a learner's run
    does; the windows the harness hands it are ignored (same stream, another order)."""
    from rnnviz.iterators import ParallelSequentialIterator
    from rnnviz.training import BPTTUpdater

    model, opt = tutorial_model(vocab, embed, hidden, lr, clip, seed)
    updater = BPTTUpdater(ParallelSequentialIterator(stream, batch), opt, bprop_len)

    def step(xs, ts):
        return updater.update_core()

    return step


def page_faults_per_window(train, windows, n=20):
    """Minor page faults (fresh memory pages written) per training window, after two warm-up windows."""
    import resource
    for _ in range(2):
        train(*next(windows))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(n):
        train(*next(windows))
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / n


def peak_memory(size, windows, lr=1.0, clip=5.0):
    """Peak bytes traced while training ``windows`` truncated-BPTT windows (after one warm-up)."""
    import tracemalloc

    s = numpy_lm.SIZES[size]
    stream = numpy_lm.synthetic_stream(200_000, s["vocab"], seed=0)
    it = numpy_lm.windows(stream, s["batch"], s["bprop_len"])
    step = make_rnnviz_trainer(s["vocab"], s["embed"], s["hidden"], lr, clip)
    step(*next(it))
    tracemalloc.start()
    for _ in range(windows):
        step(*next(it))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="time per implementation and size")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sizes", default="tutorial,ptb")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--lr", type=float, default=1.0)
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory check")
    ap.add_argument("--faults", action="store_true",
                    help="also count page faults per window (run once more with RNNVIZ_MALLOC=system "
                         "to see them without rnnviz.core.memory)")
    args = ap.parse_args(argv)

    torch_lm = None
    if not args.no_torch:
        import torch_lm as _tl
        if _tl.available():
            torch_lm = _tl
    print(f"numpy {np.__version__}, cpus {os.cpu_count()}, load {os.getloadavg()[0]:.2f}, "
          f"torch {torch_lm.version() if torch_lm else 'absent'}")
    print(f"{'size':<9} {'impl':<15} {'median w/s':>11} {'best w/s':>10} {'vs numpy':>9} {'last loss':>10}")
    for name in args.sizes.split(","):
        s = numpy_lm.SIZES[name]
        V, B, T = s["vocab"], s["batch"], s["bprop_len"]
        stream = numpy_lm.synthetic_stream(max(200_000, 50 * B * T), V, seed=0)
        ref = numpy_lm.NumpyLSTMLM(V, s["embed"], s["hidden"], seed=0)
        trainers = {
            "numpy-by-hand": (lambda xs, ts, m=ref: numpy_lm.train_step(m, xs, ts, args.lr, args.clip),
                              numpy_lm.windows(stream, B, T)),
            "rnnviz": (make_rnnviz_trainer(V, s["embed"], s["hidden"], args.lr, args.clip),
                       numpy_lm.windows(stream, B, T)),
            "rnnviz-updater": (make_rnnviz_updater(stream, V, s["embed"], s["hidden"], B, T, args.lr, args.clip),
                               numpy_lm.windows(stream, B, T)),
            "rnnviz-plain": (make_rnnviz_trainer(V, s["embed"], s["hidden"], args.lr, args.clip, batched=False),
                             numpy_lm.windows(stream, B, T)),
        }
        if torch_lm is not None:
            for variant in torch_lm.VARIANTS:
                trainers[f"torch-{variant}"] = (
                    torch_lm.make_trainer(variant, V, s["embed"], s["hidden"], B, T, args.lr, args.clip),
                    numpy_lm.windows(stream, B, T))
        if args.faults:
            from rnnviz.core import memory
            for impl, (fn, it) in trainers.items():
                print(f"{name:<9} {impl:<15} {page_faults_per_window(fn, it):>9,.0f} page faults per "
                      f"window (rnnviz.core.memory {'on' if memory.enabled else 'off'})", flush=True)
        res = numpy_lm._measure(trainers, B * T, args.seconds, args.rounds)
        base = res["numpy-by-hand"][0]
        for impl, (med, best, _, loss) in res.items():
            print(f"{name:<9} {impl:<15} {med:>11,.0f} {best:>10,.0f} {med / base:>9.2f} {loss:>10.3f}",
                  flush=True)
        print(f"{name:<9} the plain engine runs at {res['rnnviz-plain'][0] / res['rnnviz'][0]:.2f}x "
              f"the batched one's words/s (same model, same process)", flush=True)
    if not args.no_memory:
        for name in args.sizes.split(","):
            a, b = peak_memory(name, 2), peak_memory(name, 8)
            print(f"{name:<9} peak memory of truncated training: {a / 2**20:.1f} MiB over 2 windows, "
                  f"{b / 2**20:.1f} MiB over 8 windows (ratio {b / a:.2f}: flat)", flush=True)


if __name__ == "__main__":
    main()
