"""rnnviz.viz with hand-made data (no autograd): views draw something and update in place."""
import matplotlib
matplotlib.use("Agg")
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rnnviz.graph import Edge, Graph, Node, Stats, layout
from rnnviz.viz import GradientFlowView, GraphPlot, HiddenStateView, TruncationView, UnchainView


def pixels(fig):
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(float).copy()


def new_fig(size=(8, 4)):
    fig = Figure(figsize=size, dpi=60)
    FigureCanvasAgg(fig)
    return fig


def hand_graph(T=3):
    """x_t -> [embed] -> e_t -> [rnn] -> h_t -> ... with one cut state; no autograd."""
    nodes, edges = [], []

    def add(**kw):
        nodes.append(Node(id=len(nodes), **kw))
        return len(nodes) - 1

    prev = add(kind="variable", label="h", shape=(1, 4), cut=True, step=0, value=Stats(-1, 1, 0, 1.5))
    for t in range(T):
        f1 = add(kind="function", label="EmbedID", link="m/embed", step=t, generation=2 * t)
        e = add(kind="variable", label="e", link="m/embed", step=t, generation=2 * t + 1,
                value=Stats(0, 1, .5, 1.0 + t), grad=Stats(0, 1, .5, 10.0 ** -t))
        f2 = add(kind="function", label="Tanh", link="m/rnn", step=t, generation=2 * t + 1)
        h = add(kind="variable", label="h", link="m/rnn", step=t, generation=2 * t + 2,
                value=Stats(0, 1, .5, 2.0), grad=Stats(0, 1, .5, 0.5))
        edges += [Edge(f1, e), Edge(e, f2), Edge(prev, f2), Edge(f2, h)]
        prev = h
    return Graph(nodes=nodes, edges=edges, outputs=[prev])


def test_graph_plot_draws_and_updates_in_place():
    g = hand_graph()
    fig = new_fig()
    ax = fig.add_subplot()
    lay = layout(g)
    assert lay.kind == "unrolled"
    view = GraphPlot(ax, g, lay)
    a = pixels(fig)
    assert a.std() > 5
    n_artists = len(ax.get_children())
    view.update(mode="gradients")
    b = pixels(fig)
    assert np.abs(a - b).sum() > 0
    view.update(visible=np.arange(len(g.nodes)) < 4, highlight=1)
    c = pixels(fig)
    assert np.abs(b - c).sum() > 0
    assert len(ax.get_children()) == n_artists     # nothing was rebuilt
    assert len(view.cut_texts) == 1                # the cut state is marked


def test_hidden_state_view():
    states = np.sin(np.arange(40).reshape(4, 10) / 3.0)
    fig = new_fig()
    ax1, ax2 = fig.subplots(2)
    v = HiddenStateView(ax1, ax2, states, units=(0, 1), words=list("abcdefghij"))
    v.update(2)
    a = pixels(fig)
    assert a.std() > 5
    assert np.isnan(v.image.get_array()[:, 3:]).all() or np.ma.getmaskarray(v.image.get_array())[:, 3:].all() \
        or np.isnan(np.asarray(v.image.get_array(), float)[:, 3:]).all()
    v.update(9)
    assert np.abs(a - pixels(fig)).sum() > 0
    assert np.allclose(v.lines[1].get_ydata(), states[1])


def test_gradient_flow_view_window_mask():
    T = 6
    norms = np.tril(np.exp(-np.subtract.outer(np.arange(T), np.arange(T)).astype(float)))
    norms[np.triu_indices(T, 1)] = np.nan
    fig = new_fig((4, 4))
    v = GradientFlowView(fig.add_subplot(), norms, window=2)
    a = pixels(fig)
    assert a.std() > 5
    m = GradientFlowView.window_mask(T, 2)
    assert m[3, 1] and not m[3, 2] and not m[1, 0] and not m[0, 1]
    v.update(norms * 10, window=6)
    assert np.abs(a - pixels(fig)).sum() > 0
    assert np.allclose(np.ma.filled(v.image.get_array(), np.nan)[np.tril_indices(T)], (norms * 10)[np.tril_indices(T)])


def test_truncation_view():
    fig = new_fig()
    ax1, ax2 = fig.subplots(2)
    b = [1, 2, 4]
    cos = np.array([[0.1, 0.5, 1.0], [0.9, 1.0, 1.0]])
    err = 1 - cos
    v = TruncationView(ax1, ax2, b, ["W", "b"], cos, err, bprop_len=2)
    a = pixels(fig)
    v.update(cos[::-1], err[::-1], 4)
    assert np.abs(a - pixels(fig)).sum() > 0
    assert np.allclose(v.cos_lines[0].get_ydata(), cos[1])
    assert "bprop_len=4" in v.readout.get_text()


def test_unchain_view():
    g = hand_graph(4)
    fig = new_fig()
    ax1, ax2 = fig.subplots(2)
    plot = GraphPlot(ax1, g, layout(g), legend=False, colorbar=False)
    v = UnchainView(plot, ax2, 4)
    v.update([2, 2, 1, 0], [0, 0, 3, 0], [1], [2, 4, 3], [100, 200, 150], "x")
    a = pixels(fig)
    assert a.std() > 5
    assert v.cut_steps == [1] and v.cut_marks[1].get_visible() and not v.cut_marks[0].get_visible()
    v.update([2, 2, 2, 1], [0, 0, 0, 3], [1, 2], [2, 4, 3, 2], [100, 200, 150, 100], "y")
    assert np.abs(a - pixels(fig)).sum() > 0


def test_graph_plot_labels_named_variables_and_boxes_in_full():
    """Named variables show their name, link boxes their link's name, long function names a
    readable short form: never a word cut short with an ellipsis."""
    from rnnviz.viz.legibility import figure_problems
    g = hand_graph()
    g.nodes[0].name = "h0"
    g.nodes.append(Node(id=len(g.nodes), kind="group", label="rnn", link="m/rnn", step=3, generation=9))
    g.nodes.append(Node(id=len(g.nodes), kind="function", label="PowConstant", step=3, generation=10))
    g.edges += [Edge(len(g.nodes) - 3, len(g.nodes) - 2), Edge(len(g.nodes) - 2, len(g.nodes) - 1)]
    fig = new_fig((8, 4))
    view = GraphPlot(fig.add_subplot(), g, layout(g), mode="gradients")
    texts = [t.get_text() for t in view.texts]
    assert "h0" in texts and "rnn" in texts and "Pow c" in texts
    assert not any("…" in t or "..." in t for t in texts)
    assert figure_problems(fig) == []
    bar = view.colorbar
    sizes = {t.get_fontsize() for t in bar.ax.get_yticklabels(minor=True) + bar.ax.get_yticklabels()}
    assert len(sizes) <= 1 and not bar.ax.get_yticklabels(minor=True)
