"""How fast the widgets answer a control, and how fast a big graph is traced and laid out.

    .venv/bin/python benchmarks/bench_widgets.py

Prints figures; nothing is asserted. A "move" is: set the control's value (the widget redraws:
views updated in place, the changed artists blitted onto the cached background -- or the Agg canvas
drawn in full when something static changed -- and the PNG refreshed): what a learner waits for.
Each line gives how many moves were blitted, and the median of the same moves redrawn in full
(``redraw(full=True)``, no blitting) for comparison. ``--repeat N`` repeats every sweep N times.
"""
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import matplotlib  # noqa: E402
matplotlib.use("Agg")
import numpy as np  # noqa: E402

import rnnviz  # noqa: E402
from rnnviz import graph as G  # noqa: E402
from rnnviz.widgets import BPTTComparison, GraphView, HiddenStateAnimator, UnchainExplorer  # noqa: E402
from rnnviz import experiments as E  # noqa: E402

T = 35


REPEAT = 1


def timed_moves(widget, control, values, repeat=None):
    """Time each move; then the same moves again, each followed by a timed full redraw."""
    times, kinds, full = [], [], []
    for _ in range(REPEAT if repeat is None else repeat):
        for v in values:
            t0 = time.perf_counter()
            control.value = v
            times.append(time.perf_counter() - t0)
            kinds.append(widget.last_redraw)
        for v in values:
            control.value = v
            t0 = time.perf_counter()
            widget.redraw(full=True)
            full.append(time.perf_counter() - t0)
    return times, kinds, full


def report(name, build_s, result):
    times, kinds, full = result
    print(f"{name:<44} build {build_s * 1000:6.0f} ms   move+redraw median {statistics.median(times) * 1000:6.1f} ms"
          f"   max {max(times) * 1000:6.1f} ms   (n={len(times)}, {kinds.count('blit')} blitted)"
          f"   full redraw median {statistics.median(full) * 1000:6.1f} ms")


def main():
    global REPEAT
    if "--repeat" in sys.argv:
        REPEAT = int(sys.argv[sys.argv.index("--repeat") + 1])
    print(f"rnnviz {rnnviz.__version__}, matplotlib {matplotlib.__version__} (Agg), {T}-step LSTM language model")
    model = E.demo_model()
    xs, ts, vocab = E.demo_data(T)

    t0 = time.perf_counter()
    w = GraphView(E.demo_loss(T)[0])
    b = time.perf_counter() - t0
    ids = [o[1] for o in w.node_select.options[1:]]
    report("GraphView node_select", b, timed_moves(w, w.node_select, ids[::max(1, len(ids) // 20)][:20]))
    report("GraphView mode", 0, timed_moves(w, w.mode, ["gradients", "values"] * 5))
    report("GraphView group_toggle (rebuilds the plot)", 0, timed_moves(w, w.group_toggle, [False, True] * 3, repeat=1))

    t0 = time.perf_counter()
    w = HiddenStateAnimator(model, xs[:, 0], words=vocab)
    report("HiddenStateAnimator time_slider", time.perf_counter() - t0,
           timed_moves(w, w.time_slider, list(range(T))))

    t0 = time.perf_counter()
    w = UnchainExplorer(model, xs, ts, bprop_len=5)
    b = time.perf_counter() - t0
    report("UnchainExplorer bprop_slider", b, timed_moves(w, w.bprop_slider, [1, 3, 7, 10, 20, 35, 2, 5] * 2))
    report("UnchainExplorer length_slider", 0, timed_moves(w, w.length_slider, list(range(1, T + 1))))

    t0 = time.perf_counter()
    w = BPTTComparison(model, xs, ts, bprop_len=5)
    b = time.perf_counter() - t0
    report("BPTTComparison bprop_slider", b, timed_moves(w, w.bprop_slider, [1, 3, 7, 10, 20, 35, 2, 5] * 2))
    report("BPTTComparison scale_slider", 0, timed_moves(w, w.scale_slider, [0.25, 0.5, 1.0, 2.0, 3.0, 4.0] * 2))

    # the widgets of lessons 08-11, on their default (the lessons') models
    from rnnviz.widgets import AttentionView, ConnectivityView, GradientNormExplorer, UnitTextView

    t0 = time.perf_counter()
    w = GradientNormExplorer()
    b = time.perf_counter() - t0
    radii = [v for _, v in w.radius_slider.options]
    report("GradientNormExplorer radius_slider", b, timed_moves(w, w.radius_slider, radii[::-1] + radii))
    report("GradientNormExplorer clip_buttons", 0, timed_moves(w, w.clip_buttons, ["norm", "value", "none"] * 2))
    t0 = time.perf_counter()
    w = UnitTextView()
    report("UnitTextView unit_slider", time.perf_counter() - t0,
           timed_moves(w, w.unit_slider, list(range(0, w.unit_slider.max + 1, 2))))
    t0 = time.perf_counter()
    w = ConnectivityView()
    b = time.perf_counter() - t0
    top = w.position.max
    report("ConnectivityView position (first visit)", b, timed_moves(w, w.position, list(range(top, top - 20, -2)), repeat=1))
    report("ConnectivityView bprop_slider", 0, timed_moves(w, w.bprop_slider, [1, 4, 8, 16, 32, 64] * 2))
    t0 = time.perf_counter()
    w = AttentionView()
    report("AttentionView example_slider", time.perf_counter() - t0,
           timed_moves(w, w.example_slider, list(range(w.example_slider.max + 1))))

    # tracing and laying out a 5,000-node graph
    x = rnnviz.Variable(np.zeros((4, 8), np.float32))
    y = x
    for _ in range(2500):
        y = rnnviz.functions.tanh(y)
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        g = G.trace(y)
        G.layout(g)
        runs.append(time.perf_counter() - t0)
    print(f"{'trace + layered layout, %d nodes' % len(g):<44} median {statistics.median(runs) * 1000:6.0f} ms")
    model.reset_state()
    loss = 0
    n = 0
    while True:
        n += 1
        loss = loss + model(xs[(n - 1) % T], ts[(n - 1) % T])
        if n % 50 == 0 and len(G.trace(loss, stats=False)) >= 5000:
            break
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        g = G.trace(loss)
        shown = G.prepare(g, grouped=True)
        G.layout(shown)
        runs.append(time.perf_counter() - t0)
    print(f"{'trace + group + unrolled layout, %d nodes (%d steps)' % (len(g), n):<44} median "
          f"{statistics.median(runs) * 1000:6.0f} ms")


if __name__ == "__main__":
    main()
