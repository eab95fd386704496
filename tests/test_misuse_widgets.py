"""Misuse of the widgets and their measurements (reproductions 7 and 8 of issue 8): data without a
model is refused instead of silently showing the demo; long runs are built with lazy work and memory
linear in the steps; a MemoryError is called one; bad options are said, not silently replaced."""
import html
import re
import tracemalloc

import matplotlib
matplotlib.use("Agg")
import numpy as np
import pytest

import rnnviz
from rnnviz import experiments as E
from rnnviz.experiments import measure
from rnnviz.viz import HiddenStateView
from rnnviz.widgets import BPTTComparison, GraphView, HiddenStateAnimator, UnchainExplorer


def message(w):
    """The text of the widget's message (without its HTML)."""
    return re.sub(r"<[^>]+>", "", html.unescape(w.message.value))


# -- 8. data without a model --------------------------------------------------------------------------

@pytest.mark.parametrize("make, who", [
    (lambda xs: HiddenStateAnimator(xs=xs), "HiddenStateAnimator"),
    (lambda xs: UnchainExplorer(xs=xs), "UnchainExplorer"),
    (lambda xs: BPTTComparison(xs=xs), "BPTTComparison"),
    (lambda xs: UnchainExplorer(None, xs, xs), "UnchainExplorer"),
])
def test_data_without_a_model_is_refused_not_replaced_by_the_demo(make, who):
    """Reproduction 8: the widgets silently showed the demo sentence instead of the learner's data."""
    w = make(np.array([3, 1, 4, 1, 5, 9], np.int32))
    text = message(w)
    assert text.startswith(who) and "given without a model" in text and "Pass your model too" in text
    assert not w.ready
    if hasattr(w, "xs"):
        assert not np.array_equal(w.xs[:, 0], E.demo_data(12)[0][:, 0])


def test_model_and_data_refuses_data_without_a_model():
    with pytest.raises(E.InputError, match=r"lesson: xs and ts given without a model"):
        E.model_and_data(None, np.arange(5), np.arange(5), None, who="lesson")
    with pytest.raises(E.InputError, match=r"lesson: lossfun must be a function .*got str"):
        E.model_and_data(E.demo_model(), np.arange(5), None, "softmax", who="lesson")
    with pytest.raises(E.InputError, match=r"lesson: ts must hold integer word ids, got dtype float64"):
        E.model_and_data(E.demo_model(), np.arange(5), np.linspace(0, 1, 5), None, who="lesson")


# -- widget options ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, words", [
    (lambda: GraphView(mode="grads"), ["GraphView", "mode", "'values' or 'gradients'", "'grads'"]),
    (lambda: GraphView(max_nodes=0), ["GraphView", "max_nodes", "0"]),
    (lambda: GraphView(layout="tree"), ["GraphView", "layout", "'tree'"]),
    (lambda: GraphView(depth=0), ["GraphView", "depth", "0"]),
    (lambda: GraphView(np.zeros(3)), ["GraphView", "Variable", "ndarray"]),
    (lambda: HiddenStateAnimator(interval=0), ["HiddenStateAnimator", "interval", "0"]),
    (lambda: UnchainExplorer(E.demo_model(), np.arange(6) % 5, length=2.5),
     ["UnchainExplorer", "length", "int", "2.5"]),
    (lambda: UnchainExplorer(E.demo_model(), np.arange(6) % 5, precompute="yes"),
     ["UnchainExplorer", "precompute", "'yes'"]),
    (lambda: UnchainExplorer(E.demo_model(), np.arange(6) % 5, bprop_len=0),
     ["UnchainExplorer", "bprop_len", "positive integer", "0"]),
    (lambda: BPTTComparison(scales=[1.0, 0, -2]), ["BPTTComparison", "scales", "> 0", "[0, -2]"]),
    (lambda: BPTTComparison(scales="big"), ["BPTTComparison", "scales", "'big'"]),
    (lambda: BPTTComparison(bprop_len=0), ["BPTTComparison", "bprop_len", "positive integer", "0"]),
    (lambda: BPTTComparison(scale=-1), ["BPTTComparison", "scale", "> 0", "-1"]),
    (lambda: BPTTComparison(E.demo_model(), np.arange(6) % 5, bprop_lens=["2"]),
     ["BPTTComparison", "bprop_lens", "'2'"]),
    (lambda: HiddenStateAnimator(E.demo_model(), np.array([0.5, 1.5])),
     ["HiddenStateAnimator", "integer word ids", "float64"]),
    (lambda: HiddenStateAnimator(rnnviz.links.Linear(3, 4), np.arange(4)),
     ["HiddenStateAnimator", "no stateful recurrent link"]),
])
def test_bad_widget_options_are_said(make, words):
    w = make()
    text = message(w)
    for word in words:
        assert word in text, (word, text)
    assert "could not run the model" not in text  # the learner's input, not the model, is at fault


def test_hidden_units_outside_the_state_are_reported():
    w = HiddenStateAnimator(units=(0, 1, 99))
    assert w.ready and "units [99] are not in 0..7" in message(w)


def test_a_memory_error_is_reported_as_one(monkeypatch):
    """Reproduction 7: a MemoryError was reported as 'could not run the model'."""
    def too_big(*args, **kwargs):
        raise MemoryError("cannot allocate 3.2 GiB")

    monkeypatch.setattr(E, "run_hidden", too_big)
    w = HiddenStateAnimator()
    text = message(w)
    assert "ran out of memory" in text and "3.2 GiB" in text and "fewer steps" in text
    assert "could not run the model" not in text


# -- 7. long runs: lazy work, linear memory -------------------------------------------------------------------

def test_unchain_explorer_on_300_steps_runs_the_loop_twice_not_300_times(monkeypatch):
    """Reproduction 7: every bprop_len was run up front (T runs of T steps: minutes at 300 steps)."""
    calls = []
    real = E.run_truncated
    monkeypatch.setattr(E, "run_truncated", lambda sm, xs, ts, b, **kw: calls.append(b) or real(sm, xs, ts, b, **kw))
    xs, ts, _ = E.demo_data(300)
    w = UnchainExplorer(E.demo_model(), xs, ts, bprop_len=5)
    assert w.ready and sorted(calls) == [5, 300]     # the full run fixes the scale, then the shown one
    w.bprop_slider.value = 40                       # another bprop_len is run when it is chosen
    assert calls[-1] == 40 and w.snapshot(40, 100)["cuts"] == [39, 79]
    for b in range(50, 50 + 2 * UnchainExplorer.KEEP_RUNS):
        w.bprop_slider.value = b
    assert len(w._runs) <= UnchainExplorer.KEEP_RUNS + 1 and 300 in w._runs


def test_short_runs_are_still_precomputed(monkeypatch):
    calls = []
    real = E.run_truncated
    monkeypatch.setattr(E, "run_truncated", lambda sm, xs, ts, b, **kw: calls.append(b) or real(sm, xs, ts, b, **kw))
    UnchainExplorer()
    assert sorted(calls) == list(range(1, 13))  # T = 12, each bprop_len once


@pytest.mark.parametrize("bprop_len", [1, 3, 11])
def test_incremental_live_counts_equal_a_direct_count(bprop_len):
    """The counts kept up to date as nodes are made and freed equal a count over every live node."""
    sm, xs, ts = E.model_and_data(None, None, None, None, who="test", n_steps=12)
    before = set(rnnviz.live_function_nodes())
    direct = []

    def count(i):
        mine = [f for f in rnnviz.live_function_nodes() if f not in before]
        per_step = np.zeros(len(xs), int)
        for f in mine:
            per_step[f.scope.step] += 1
        direct.append((len(mine), measure._held_bytes(mine), per_step))

    snaps = E.run_truncated(sm, xs, ts, bprop_len, on_snapshot=count)
    for snap, (live, nbytes, per_step) in zip(snaps, direct):
        assert snap["live"] == live and snap["bytes"] == nbytes
        np.testing.assert_array_equal(snap["live_per_step"], per_step)


def _view_peak_bytes(T, H=8):
    import matplotlib.pyplot as plt

    states = np.random.default_rng(0).standard_normal((H, T))
    fig = plt.figure()
    ax_h, ax_l = fig.add_subplot(211), fig.add_subplot(212)
    tracemalloc.start()
    view = HiddenStateView(ax_h, ax_l, states, units=(0,))
    view.update(T // 2)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    plt.close(fig)
    return peak


def test_hidden_state_view_memory_is_linear_in_steps():
    """Reproduction 7: one frame per step, H x T^2 floats (3.2 GB at 2,000 steps)."""
    small, large = _view_peak_bytes(500), _view_peak_bytes(2000)
    assert large < 8 * small      # linear: about 4x; one frame per step: 16x
    assert large < 20e6           # the old frames alone: 8 x 2000 x 2000 x 8 bytes = 256 MB


def test_hidden_state_view_shows_only_the_past():
    import matplotlib.pyplot as plt

    states = np.arange(24, dtype=float).reshape(3, 8)
    fig = plt.figure()
    view = HiddenStateView(fig.add_subplot(211), fig.add_subplot(212), states, units=(0,))
    view.update(2)
    shown = np.ma.filled(view.image.get_array(), np.nan)
    np.testing.assert_array_equal(shown[:, :3], states[:, :3])
    assert np.isnan(shown[:, 3:]).all()
    view.update(6)
    np.testing.assert_array_equal(np.ma.filled(view.image.get_array(), np.nan)[:, :7], states[:, :7])
    plt.close(fig)


# -- fast controls must show what a full draw shows ---------------------------------------------------------

def test_graph_view_toggles_blit_exactly_what_a_full_draw_shows():
    """The grouping and colour toggles blit onto backgrounds cached at build (that is what keeps them
    under 100 ms); every combination must look exactly as a full redraw of it."""
    w = GraphView()
    for grouped, mode in [(False, "values"), (False, "gradients"), (True, "gradients"), (True, "values"),
                          (False, "values")]:
        w.group_toggle.value = grouped
        w.mode.value = mode
        assert w.last_redraw == "blit"
        blitted = np.asarray(w.figure.canvas.buffer_rgba()).copy()
        w.redraw(full=True)
        full = np.asarray(w.figure.canvas.buffer_rgba())
        assert np.abs(blitted.astype(int) - full).max() == 0, (grouped, mode)
        shown = [ax for ax in w.figure.axes if ax.get_visible()]
        assert w.plot.ax in shown and len(shown) == 2   # the plot and its one colour bar
