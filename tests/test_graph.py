"""rnnviz.graph: tracing, time steps, cuts, determinism, DOT, grouping and layouts."""
import re
import time

import numpy as np
import pytest

import rnnviz
from rnnviz import Variable, functions as F, links as L
from rnnviz import graph as G


def small_graph():
    x = Variable(np.array([[0.5, -1.0]], np.float32), name="x")
    W = rnnviz.Parameter(np.array([[2.0, 3.0]], np.float32), name="W")
    y = F.tanh(x * W) + x
    return x, W, y


def test_counts_on_hand_built_graph():
    x, W, y = small_graph()
    g = G.trace(y)
    assert g.n_functions == 3 and g.n_variables == 5
    assert len(g.edges) == 8
    assert sorted(n.label for n in g.nodes if n.kind == "function") == ["Add", "Mul", "Tanh"]
    (w,) = [n for n in g.nodes if n.is_param]
    assert w.name == "W" and w.shape == (1, 2) and w.dtype == "float32"
    (xn,) = g.find(name="x")
    assert xn.value.min == -1.0 and xn.value.max == 0.5
    assert xn.value.norm == pytest.approx(np.sqrt(1.25))


def test_gradient_statistics_and_no_mutation():
    x, W, y = small_graph()
    y.grad = np.ones_like(y.array)
    y.backward(retain_grad=True)
    grads = {id(v): v.grad for v in (x, W, y)}
    creator = y.creator
    before = rnnviz.live_function_node_count()
    g = G.trace(y)
    (wn,) = g.find(name="W")
    assert wn.grad.norm == pytest.approx(float(np.linalg.norm(W.grad)))
    assert y.creator is creator and all(v.grad is grads[id(v)] for v in (x, W, y))
    assert all(n.ref is None for n in g.nodes)
    del g
    assert rnnviz.live_function_node_count() == before


def test_cut_marked_after_unchain_backward():
    x = Variable(np.ones((1, 3), np.float32))
    h = F.tanh(x * 2.0)
    h2 = F.tanh(h)
    h2.unchain_backward()
    z = F.sum(h2 * 3.0)
    g = G.trace(z)
    cuts = g.cuts
    assert len(cuts) == 1 and cuts[0].kind == "variable"
    assert g.n_functions == 2          # Mul-by-constant and Sum: the walk stopped at the cut
    assert "dashed" in g.to_dot() and "✂" in g.to_dot()


def test_deterministic_order():
    x, W, y = small_graph()
    a, b = G.trace(y), G.trace(y)
    assert [(n.id, n.kind, n.label, n.shape) for n in a.nodes] == [(n.id, n.kind, n.label, n.shape) for n in b.nodes]
    assert [(e.src, e.dst) for e in a.edges] == [(e.src, e.dst) for e in b.edges]
    assert all(e.src < e.dst for e in a.edges)   # ids are topological


class LM(rnnviz.Chain):
    def __init__(self, V=7, E=4, H=5):
        super().__init__()
        with self.init_scope():
            self.embed = L.EmbedID(V, E)
            self.mid = L.LSTM(E, H)
            self.out = L.Linear(H, V)

    def forward(self, x):
        return self.out(self.mid(self.embed(x)))


def lm_loss(T=4):
    np.random.seed(1)
    model = L.Classifier(LM())
    loss = 0
    for t in range(T):
        loss = loss + model(np.array([t % 7], np.int32), np.array([(t + 1) % 7], np.int32))
    return model, loss


def test_time_steps_from_lstm():
    model, loss = lm_loss(4)
    g = G.trace(loss)
    assert g.steps == [0, 1, 2, 3]
    lstm = [n for n in g.nodes if n.kind == "function" and n.link.endswith("mid")]
    assert sorted(n.step for n in lstm) == [0, 1, 2, 3] and not any(n.step_inferred for n in lstm)
    emb = [n for n in g.nodes if n.kind == "function" and n.link.endswith("embed")]
    assert sorted(n.step for n in emb) == [0, 1, 2, 3] and all(n.step_inferred for n in emb)
    outs = [n for n in g.nodes if n.kind == "function" and n.link.endswith("out")]
    assert sorted(n.step for n in outs) == [0, 1, 2, 3]
    assert all(n.step is None for n in g.nodes if n.is_param)
    assert G.auto_depth(g) == 3
    gg = G.group(g)
    lay = G.layout(gg)
    assert lay.kind == "unrolled"
    xs = {n.step: lay.x[n.id] for n in gg.nodes if n.link.endswith("mid")}
    assert xs[0] < xs[1] < xs[2] < xs[3]
    rows = [r[1] for r in sorted(lay.rows)]
    assert rows.index("embed") < rows.index("mid\n(recurrent)") < rows.index("out")


def test_time_step_context_manager():
    cell = L.RNNCell(3, 4)
    h = None
    for t in range(3):
        with G.time_step(t):
            h, y = cell(h, Variable(np.ones((1, 3), np.float32)))
    g = G.trace(y)
    assert g.steps == [0, 1, 2]
    assert {n.step for n in g.nodes if n.kind == "function"} == {0, 1, 2}
    with pytest.raises(TypeError):
        with G.time_step("one"):
            pass


def test_dot_text():
    x, W, y = small_graph()
    g = G.trace(y)
    dot = g.to_dot()
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    assert sum(1 for line in dot.splitlines() if "->" in line) == len(g.edges)
    assert sum(1 for line in dot.splitlines() if re.match(r"\s*n\d+ \[", line)) == len(g)
    assert "shape=box" in dot


def test_live_function_nodes_reexported():
    assert G.live_function_nodes is rnnviz.live_function_nodes


def test_20000_node_chain_is_sampled_quickly():
    x = Variable(np.zeros((2,), np.float32))
    y = x
    for _ in range(10000):
        y = y + 1.0
    t0 = time.perf_counter()
    g = G.trace(y)
    assert len(g) == 20001
    shown = G.prepare(g, grouped=False, max_nodes=1500)
    lay = G.layout(shown)
    elapsed = time.perf_counter() - t0
    assert len(shown) <= 1500 and "showing the last" in shown.note
    assert len(lay.x) == len(shown)
    assert elapsed < 10.0


def test_layered_layout_barycentric_and_deterministic():
    x, W, y = small_graph()
    g = G.trace(y)
    a, b = G.layered_layout(g), G.layered_layout(g)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    for e in g.edges:
        assert a.x[e.src] < a.x[e.dst]


def test_group_expand():
    model, loss = lm_loss(3)
    g = G.trace(loss)
    gg = G.group(g, expand=())
    ge = G.group(g, expand=("Classifier/predictor/mid",))
    assert len(ge) >= len(gg)
    assert len(gg) < len(g)


def test_step_xlim_puts_step_t_over_position_t():
    """The widgets align the unrolled graph with per-step panels through Layout.step_xlim: with
    those limits on one axes and (-0.5, T - 0.5) on another of the same width, step t's column
    centre maps to the same fraction of the width as t."""
    model, loss = lm_loss(5)
    g = G.group(G.trace(loss))
    lay = G.layout(g, "unrolled")
    lo, hi = lay.step_xlim(5)
    assert hi - lo == pytest.approx(5 * lay.step_width)
    for x, t in lay.columns:
        assert lay.step_x(t) == pytest.approx(x)
        assert (x - lo) / (hi - lo) == pytest.approx((t + 0.5) / 5)
    # a layout without time steps: steps are step_width apart from 0
    flat = G.Layout("layered", np.zeros(1), np.zeros(1), step_width=2.0)
    assert flat.step_x(3) == 6.0 and flat.step_xlim(2) == (-1.0, 3.0)


def test_a_graph_never_cut_has_no_cut_marks():
    """Leaves have no creator, yet they were never cut: only unchain()/unchain_backward() marks."""
    x, W, y = small_graph()
    g = G.trace(y)
    assert g.cuts == [] and not any(n.cut for n in g.nodes)
    assert "✂" not in g.to_dot() and "history cut" not in g.describe(g.find(name="x")[0].id)
    h = F.tanh(y)
    y.unchain()                       # now y is cut, and still no leaf is
    cut = G.trace(F.sum(h)).cuts
    assert [n.shape for n in cut] == [(1, 2)] and all(n.name != "x" for n in cut)


def test_a_node_outside_the_steps_is_placed_at_its_latest_input_step():
    """A function recorded outside any time-step scope whose inputs come from steps 0 and 1 (a
    loss summed over the steps) belongs to step 1, where its last input was made."""
    cell = L.RNNCell(2, 3)
    h, losses = None, []
    for t in range(2):
        with G.time_step(t):
            h, y = cell(h, Variable(np.ones((1, 2), np.float32)))
            losses.append(F.sum(y))
    total = losses[0] + losses[1]          # outside both scopes
    g = G.trace(total)
    (add,) = [n for n in g.nodes if n.kind == "function" and n.label == "Add" and not n.link]
    assert add.step == 1 and add.step_inferred


def test_the_row_outside_any_link_is_named_from_what_it_holds():
    """'loss sum' only for additions of a loss row's outputs; F.sum(h * h) is named 'Mul, Sum'."""
    from rnnviz.i18n import language
    rnn = L.RNN(3, 4)
    for _ in range(3):
        h = rnn(Variable(np.ones((1, 3), np.float32)))
    with language("en"):
        rows = [name for _, name in G.layout(G.prepare(G.trace(F.sum(h * h))), "unrolled").rows]
    assert "loss sum" not in rows and "Mul, Sum\n(no link)" in rows


def test_two_links_of_one_class_stay_two_boxes_and_named_variables_stay():
    """Two unnamed top-level Linear links share the path 'Linear': grouping must not merge them
    into one box, and a variable the learner named stays in the grouped graph."""
    np.random.seed(0)
    x = Variable(np.ones((2, 3), np.float32), name="x")
    y = F.sum(L.Linear(4, 1)(F.tanh(L.Linear(3, 4)(x))))
    g = G.group(G.trace(y))
    linears = [n for n in g.nodes if n.label == "Linear"]
    assert len(linears) == 2 and all(n.kind == "function" for n in linears)
    assert [n.label for n in g.nodes if not n.is_function and n.name] == ["x"]
