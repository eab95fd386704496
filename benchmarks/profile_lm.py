"""Where the time of the tutorial's per-step training loop goes.

    python benchmarks/profile_lm.py [--size tutorial|ptb] [--windows 20] [--plain] [--top 25]

Trains the model of ``bench_lm_throughput.py`` (``L.Classifier(L.RNNLM(V, E, H))``, one step per
call, ``loss.backward()``, ``loss.unchain_backward()``, clipped SGD) for some windows and prints
two views of the same run:

1. a per-function timer: the time inside each function node's ``forward`` and ``backward`` (by
   class), the optimizer, and what is left (Python overhead: links, ``apply``, the engine), with
   the calls per window;
2. cProfile's top entries by own time (a second run, since cProfile slows Python code down).
"""
import argparse
import cProfile
import collections
import os
import pstats
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy_lm  # noqa: E402
from bench_lm_throughput import make_rnnviz_trainer  # noqa: E402

from rnnviz.core.function_node import FunctionNode  # noqa: E402


def _node_classes():
    seen, todo = [], [FunctionNode]
    while todo:
        c = todo.pop()
        for s in c.__subclasses__():
            if s not in seen:
                seen.append(s)
                todo.append(s)
    return seen


class PerFunctionTimer:
    """Wraps ``forward`` and ``backward`` of every FunctionNode class (and whatever is named in
    ``extra``) with a timer; ``restore()`` puts the originals back."""

    def __init__(self, extra=()):
        self.total = collections.defaultdict(float)
        self.calls = collections.Counter()
        self._undo = []
        for cls in _node_classes():
            for meth in ("forward", "backward"):
                if meth in cls.__dict__:
                    self._wrap(cls, meth, f"{cls.__name__}.{meth}")
        for owner, meth, label in extra:
            self._wrap(owner, meth, label)

    def _wrap(self, owner, meth, label):
        original = owner.__dict__[meth]
        total, calls, clock = self.total, self.calls, time.perf_counter

        def timed(*args, **kwargs):
            t0 = clock()
            try:
                return original(*args, **kwargs)
            finally:
                total[label] += clock() - t0
                calls[label] += 1

        setattr(owner, meth, timed)
        self._undo.append((owner, meth, original))

    def restore(self):
        for owner, meth, original in reversed(self._undo):
            setattr(owner, meth, original)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="tutorial", choices=sorted(numpy_lm.SIZES))
    ap.add_argument("--windows", type=int, default=20)
    ap.add_argument("--plain", action="store_true", help="the plain engine (default: batched)")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args(argv)

    s = numpy_lm.SIZES[args.size]
    V, B, T = s["vocab"], s["batch"], s["bprop_len"]
    stream = numpy_lm.synthetic_stream(max(200_000, 50 * B * T), V, seed=0)

    def run(n, after_warmup=lambda: None):
        it = numpy_lm.windows(stream, B, T)
        step = make_rnnviz_trainer(V, s["embed"], s["hidden"], 1.0, 5.0, batched=not args.plain)
        step(*next(it))
        step(*next(it))
        after_warmup()
        t0 = time.perf_counter()
        for _ in range(n):
            step(*next(it))
        return time.perf_counter() - t0

    plain_s = run(args.windows)
    from rnnviz.core import batched_engine, engine
    from rnnviz.optimizers.optimizer import Optimizer
    timer = PerFunctionTimer(extra=[(Optimizer, "update", "Optimizer.update"),
                                    (batched_engine, "run_backward", "engine (incl. backward above)"),
                                    (engine, "run_backward", "engine (incl. backward above)")])

    def reset():
        timer.total.clear()
        timer.calls.clear()
    try:
        timed_s = run(args.windows, reset)
    finally:
        timer.restore()
    n = args.windows
    print(f"{args.size} (V{V} E{s['embed']} H{s['hidden']} B{B} T{T}), "
          f"{'plain' if args.plain else 'batched'} engine, {n} windows")
    print(f"untimed run: {plain_s / n * 1e3:.2f} ms/window ({n * B * T / plain_s:,.0f} words/s); "
          f"timed run: {timed_s / n * 1e3:.2f} ms/window")
    print(f"{'where':<36} {'ms/window':>10} {'share':>7} {'calls/window':>13} {'us/call':>9}")
    inside = 0.0
    for label, t in sorted(timer.total.items(), key=lambda kv: -kv[1]):
        c = timer.calls[label]
        inside += 0 if label.startswith("engine") else t
        print(f"{label:<36} {t / n * 1e3:>10.2f} {t / timed_s:>7.1%} {c / n:>13.0f} {t / c * 1e6:>9.1f}")
    rest = timed_s - inside
    eng = sum(t for k, t in timer.total.items() if k.startswith("engine"))
    own = eng - sum(t for k, t in timer.total.items() if k.endswith(".backward"))
    print(f"{'engine, without the nodes backward':<36} {own / n * 1e3:>10.2f} {own / timed_s:>7.1%}")
    print(f"{'(the rest: links, apply, engine, ...)':<36} {rest / n * 1e3:>10.2f} {rest / timed_s:>7.1%}")

    prof = cProfile.Profile()
    it = numpy_lm.windows(stream, B, T)
    step = make_rnnviz_trainer(V, s["embed"], s["hidden"], 1.0, 5.0, batched=not args.plain)
    step(*next(it))
    prof.enable()
    for _ in range(n):
        step(*next(it))
    prof.disable()
    print(f"\ncProfile, top {args.top} by own time ({n} windows):")
    pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
