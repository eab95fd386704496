"""How much does the autograd cost on top of the NumPy calls it makes?

A ~1,000-node graph of small ops (16x16 float32: @, +, tanh, * in a loop, then sum) is built and
back-propagated with rnnviz, and the same forward and hand-written backward are run with plain
NumPy in the same process. Both are repeated; the medians, their ratio and the overhead per node
are printed.

    python benchmarks/bench_autograd_overhead.py [--size 16] [--steps 250] [--repeat 30] [--profile]
"""
import argparse
import cProfile
import gc
import os
import pstats
import statistics
import sys
import time

import numpy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import rnnviz  # noqa: E402
from rnnviz import Variable, functions as F  # noqa: E402


def make_inputs(size, seed=0):
    rng = numpy.random.default_rng(seed)
    f32 = numpy.float32
    return {
        "x": rng.standard_normal((size, size)).astype(f32),
        "W": (rng.standard_normal((size, size)) / numpy.sqrt(size)).astype(f32),
        "c": (rng.standard_normal((size, size)) * 0.1).astype(f32),
        "g": rng.uniform(0.5, 1.5, (size, size)).astype(f32),
    }


def run_rnnviz(inp, steps):
    """4 nodes a step (matmul, add, tanh, mul) and a final sum."""
    x, W, c, g = (Variable(inp[k]) for k in ("x", "W", "c", "g"))
    h = x
    for _ in range(steps):
        h = F.tanh(h @ W + c) * g
    loss = F.sum(h)
    loss.backward()
    return loss.array, x.grad, W.grad, c.grad, g.grad


def run_numpy(inp, steps):
    """The same forward, and the backward written by hand, with no graph."""
    x, W, c, g = inp["x"], inp["W"], inp["c"], inp["g"]
    hs, ts = [x], []
    h = x
    for _ in range(steps):
        t = numpy.tanh(h @ W + c)
        h = t * g
        hs.append(h)
        ts.append(t)
    loss = h.sum()
    gh = numpy.ones_like(h)
    gW = gc_ = gg = None
    for k in range(steps - 1, -1, -1):
        t = ts[k]
        gt = gh * g
        gg_k = gh * t
        gb = gt * (1 - t * t)
        gW_k = hs[k].T @ gb
        gh = gb @ W.T
        gW = gW_k if gW is None else gW + gW_k
        gc_ = gb if gc_ is None else gc_ + gb
        gg = gg_k if gg is None else gg + gg_k
    return loss, gh, gW, gc_, gg


def count_nodes(inp, steps):
    gc.collect()
    before = rnnviz.live_function_node_count()
    x, W, c, g = (Variable(inp[k]) for k in ("x", "W", "c", "g"))
    h = x
    for _ in range(steps):
        h = F.tanh(h @ W + c) * g
    loss = F.sum(h)
    n = rnnviz.live_function_node_count() - before
    del loss, h
    return n


def timed_blocks(fns, repeat, rounds=3):
    """(median, best) seconds per call of each fn, timed in alternating blocks of ``repeat // rounds`` calls.

    Blocks rather than strict alternation: freeing a whole graph lets malloc hand memory back to
    the system, and whichever run comes next pays page faults for it (up to 2-3x here). The first
    call of each block absorbs that and is dropped, so both sides are measured warm.
    """
    per_block = max(2, repeat // rounds)
    times = [[] for _ in fns]
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            fn()
            for _ in range(per_block):
                t0 = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - t0)
    return [(statistics.median(t), min(t)) for t in times]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=16, help="side of the square arrays")
    p.add_argument("--steps", type=int, default=250, help="loop steps (4 nodes each)")
    p.add_argument("--repeat", type=int, default=60, help="timed calls of each, in 3 blocks")
    p.add_argument("--profile", action="store_true", help="cProfile the rnnviz run and print the top")
    args = p.parse_args(argv)

    inp = make_inputs(args.size)
    ours, ref = run_rnnviz(inp, args.steps), run_numpy(inp, args.steps)
    for name, a, b in zip(["loss", "x.grad", "W.grad", "c.grad", "g.grad"], ours, ref):
        if not numpy.allclose(a, b, rtol=1e-4, atol=1e-5):
            raise SystemExit(f"rnnviz and NumPy disagree on {name}: max |diff| {numpy.abs(a - b).max()}")

    nodes = count_nodes(inp, args.steps)
    (m_ours, b_ours), (m_ref, b_ref) = timed_blocks([lambda: run_rnnviz(inp, args.steps), lambda: run_numpy(inp, args.steps)],
                                 args.repeat)

    print(f"graph: {nodes} function nodes ({args.steps} steps of @, +, tanh, * on "
          f"{args.size}x{args.size} float32, then sum); forward + backward; {args.repeat} runs each")
    print(f"{'':18}{'median':>10}{'best':>10}")
    print(f"  rnnviz autograd {m_ours * 1e3:8.3f} ms{b_ours * 1e3:7.3f} ms")
    print(f"  plain NumPy     {m_ref * 1e3:8.3f} ms{b_ref * 1e3:7.3f} ms  (same forward, hand-written backward)")
    print(f"  ratio           {m_ours / m_ref:8.2f} x {b_ours / b_ref:7.2f} x   (autograd / NumPy)")
    print(f"  overhead / node {(m_ours - m_ref) / nodes * 1e6:8.2f} us{(b_ours - b_ref) / nodes * 1e6:7.2f} us"
          f"  ((autograd - NumPy) / nodes)")

    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(10):
            run_rnnviz(inp, args.steps)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
