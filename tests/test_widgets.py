"""The widgets, headless (Agg): they build, draw, redraw on control moves, and show the library's numbers."""
import matplotlib
matplotlib.use("Agg")
import re

import numpy as np
import pytest

import rnnviz
from rnnviz import Variable, functions as F, links as L
from rnnviz.widgets import BPTTComparison, GraphView, HiddenStateAnimator, UnchainExplorer
from rnnviz import experiments as E


def pixels(w):
    w.figure.canvas.draw()
    return np.asarray(w.figure.canvas.buffer_rgba())[..., :3].astype(float).copy()


def changed(w, control, value):
    before = pixels(w)
    control.value = value
    return np.abs(pixels(w) - before).sum() > 0


@pytest.fixture(scope="module")
def widgets():
    return {"graph": GraphView(), "hidden": HiddenStateAnimator(), "unchain": UnchainExplorer(),
            "bptt": BPTTComparison()}


def test_each_builds_and_draws(widgets):
    import ipywidgets as W
    for w in widgets.values():
        assert isinstance(w, W.VBox)
        assert pixels(w).std() > 10
        assert w.message.value == "" or "error" not in w.message.value
        assert w._image is not None and w._image.value[:4] == b"\x89PNG"   # the Agg fallback


def test_graph_view_controls(widgets):
    w = widgets["graph"]
    assert changed(w, w.mode, "gradients")
    assert changed(w, w.node_select, w.node_select.options[3][1])
    assert "shape" in w.info.value or "nodes grouped" in w.info.value
    assert changed(w, w.group_toggle, False)
    n = len(w.graph.nodes)
    assert len(w.node_select.options) == n + 1


def test_hidden_animator_controls_and_numbers(widgets):
    w = widgets["hidden"]
    assert w.time_slider.max == 11 and w.play.max == 11
    assert changed(w, w.time_slider, 4)
    assert "input" in w.caption.get_text()
    # the states shown are the LSTM's own h
    model = E.demo_model()
    xs, _, _ = E.demo_data(12)
    model.reset_state()
    for t in range(5):
        model.predictor(xs[t])
    assert np.allclose(w.states[:, 4], model.predictor.mid.h.array[0], atol=1e-6)


def test_unchain_controls_and_live_counts(widgets):
    w = widgets["unchain"]
    assert changed(w, w.bprop_slider, 4)
    assert changed(w, w.length_slider, 7)
    # run the same loop by hand and count live function nodes at the same moment
    model = E.demo_model()
    xs, ts, _ = E.demo_data(12)
    model.reset_state()
    base = rnnviz.live_function_node_count()
    loss, seen = 0, None
    for i in range(7):
        with rnnviz.core.annotate(step=i):
            loss = loss + model(xs[i], ts[i])
        if i == 6:
            seen = rnnviz.live_function_node_count() - base
        if (i + 1) % 4 == 0:
            loss.backward()
            loss.unchain_backward()
            loss = 0
    snap = w.snapshot(4, 7)
    assert snap["live"] == seen == int(snap["live_per_step"].sum())
    status = w.status(4, 7)
    assert status[:4] == [2, 2, 2, 2] and status[4:7] == [1, 1, 1] and status[7:] == [0] * 5
    assert snap["cuts"] == [3]
    assert w.view.cut_steps == [3] and w.view.cut_marks[3].get_visible() and not w.view.cut_marks[2].get_visible()


def test_bptt_controls_and_gradient_norms(widgets):
    w = widgets["bptt"]
    assert changed(w, w.bprop_slider, 5)
    assert changed(w, w.scale_slider, 3.0)
    w.scale_slider.value = 1.0
    norms = np.ma.filled(w.flow_view.image.get_array(), np.nan)
    # the default is the protocol: a fresh LSTM on delayed recall, 16 steps, a batch of 32
    assert w.protocol == E.PROTOCOL and w.xs.shape == (16, 32)
    # the same numbers from the model's own .grad: the whole state, h and the cell c
    model = E.protocol_model()
    xs, ts = E.protocol_data()
    model.reset_state()
    states, losses = [], []
    for t in range(16):
        losses.append(model(xs[t], ts[t]))
        states.append((model.predictor.mid.h, model.predictor.mid.c))
    for t in (4, 9, 15):
        for h, c in states:
            h.grad = c.grad = None
        losses[t].backward(retain_grad=True)
        for s in range(t + 1):
            h, c = states[s]
            want = np.sqrt(sum(float((np.asarray(v.grad, float) ** 2).sum()) for v in (h, c) if v.grad is not None))
            assert norms[t, s] == pytest.approx(want, rel=1e-5)
    # the whole update is the last row; truncation at bprop_len 1 loses part of the recurrent weight's
    names, cos, err = w.result(1.0)[1:]
    assert names[-1] == "all"
    k = names.index("/predictor/mid/lateral/W")
    assert err[k, 0] > 0.05 and cos[k, -1] > cos[k, 0]
    assert "all parameters" in w.trunc_view.readout.get_text()


def test_bptt_user_model_still_works_and_offsets_are_averaged():
    model = E.demo_model()
    xs, ts, _ = E.demo_data(12)
    w = BPTTComparison(model, xs, ts, scales=(1.0,), bprop_len=4)
    assert w.ready and w.protocol is None and w.bprop_slider.value == 4
    m = w.measurement()
    assert m["offsets"][4] == [0, 1, 2, 3] and m["cos"].shape == (len(m["names"]), 12)
    assert m["norms"].shape == (12, 12)


def test_bptt_share_scales_gives_pictures_one_scale():
    words = np.random.default_rng(1).integers(0, 20, size=(9, 2)).astype(np.int32)
    made = []
    for cell in ("rnn", "lstm"):
        np.random.seed(0)
        made.append(BPTTComparison(L.Classifier(L.RNNLM(20, 8, 8, cell=cell)), words[:-1], words[1:],
                                   scales=(0.5, 1.0), bprop_len=8))
    a, b = made
    own = [w.flow_range for w in made]
    assert own[0] != own[1]
    assert BPTTComparison.share_scales(a, b) == (a, b)
    norms = [(w.flow_view.image.norm.vmin, w.flow_view.image.norm.vmax) for w in made]
    assert norms[0] == norms[1]
    assert norms[0][0] <= min(r[0] for r in own) and norms[0][1] >= max(r[1] for r in own)
    assert a.trunc_view.ax_err.get_ylim() == b.trunc_view.ax_err.get_ylim()
    assert a.trunc_view.ax_cos.get_ylim() == b.trunc_view.ax_cos.get_ylim()
    # an explicit range works too, and is checked
    c = BPTTComparison(made[0].sm.model, words[:-1], words[1:], scales=(1.0,), flow_range=(1e-6, 10.0))
    assert (c.flow_view.image.norm.vmin, c.flow_view.image.norm.vmax) == (1e-6, 10.0)
    bad = BPTTComparison(made[0].sm.model, words[:-1], words[1:], scales=(1.0,), flow_range=(3, 1))
    assert "flow_range" in bad.message.value


def shown(w):
    """The PNG the widget shows (the Agg fallback's ipywidgets.Image)."""
    import io
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(w._image.value)).convert("RGB")).astype(float)


def test_moves_are_blitted_and_show_what_a_full_draw_shows(widgets):
    other = {"values": "gradients", "gradients": "values"}[widgets["graph"].mode.value]
    moves = [("graph", "mode", [other, widgets["graph"].mode.value]), ("graph", "node_select", [2, 5]),
             ("hidden", "time_slider", [2, 9]), ("unchain", "bprop_slider", [2, 6]),
             ("unchain", "length_slider", [3, 10]), ("bptt", "bprop_slider", [2, 7]),
             ("bptt", "scale_slider", [0.5, 3.0])]
    for name, control, values in moves:
        w = widgets[name]
        for v in values:
            if name == "graph" and control == "node_select":
                v = w.node_select.options[v][1]
            assert getattr(w, control).value != v
            before = shown(w)
            getattr(w, control).value = v
            assert w.last_redraw == "blit", (name, control, v)
            after = shown(w)
            assert np.abs(after - before).sum() > 0, (name, control, v)
            # the blitted picture is exactly the full draw of the same state
            assert np.array_equal(after, pixels(w)), (name, control, v)


def test_static_change_redraws_in_full(widgets):
    w = widgets["hidden"]
    w.time_slider.value = 3
    w.hidden_view.image.axes.set_title("changed")   # not a dynamic artist: the background is stale
    w.time_slider.value = 4
    assert w.last_redraw == "full"
    assert np.array_equal(shown(w), pixels(w))
    w.time_slider.value = 5
    assert w.last_redraw == "blit"


def test_bad_input_messages():
    class NoRNN(rnnviz.Chain):
        def __init__(self):
            super().__init__()
            with self.init_scope():
                self.l = L.Linear(3, 4)

        def forward(self, x):
            return self.l(x)

    w = HiddenStateAnimator(NoRNN(), np.arange(5))
    assert "no stateful recurrent link" in w.message.value
    assert pixels(w).std() > 1

    model = E.demo_model()
    xs, ts, _ = E.demo_data(6)
    u = UnchainExplorer(model, xs, ts, bprop_len=50, precompute=False)
    assert "longer than the sequence" in u.message.value and u.bprop_slider.value == 6
    u0 = UnchainExplorer(model, xs, ts, bprop_len=0, precompute=False)
    assert "UnchainExplorer: bprop_len must be a positive integer" in u0.message.value
    assert pixels(u0).std() > 1   # the figure says so too

    bad = BPTTComparison(model.predictor, xs, ts, scales=(1.0,),
                         lossfun=lambda y, t: F.softmax_cross_entropy(y, t, reduce="no"))
    assert "not a single value" in bad.message.value

    g = GraphView("not a variable")
    assert "expected an rnnviz Variable" in g.message.value


def test_graph_view_big_graph_is_sampled():
    x = Variable(np.zeros((2,), np.float32))
    y = x
    for _ in range(10000):
        y = y + 1.0
    w = GraphView(y, grouped=False, max_nodes=800)
    assert len(w.graph.nodes) <= 800
    assert "showing the last" in w.message.value


def test_figures_fit_a_notebook_column(widgets):
    """JupyterLab with the file browser open shows about 840 px: every default figure is at most
    8.2 in wide (820 px at ipympl's 100 dpi), the animator at most 5.6 in tall (its slider stays on
    screen), and everything drawn lies inside the figure, in every state the tests leave."""
    for name, w in widgets.items():
        width, height = w.figure.get_size_inches()
        assert width <= 8.2 + 1e-9, name
        if name == "hidden":
            assert height <= 5.6 + 1e-9
        fig = w.figure
        fig.canvas.draw()
        box = fig.get_tightbbox(fig.canvas.get_renderer())
        inside = fig.bbox_inches.padded(0.01)
        assert inside.contains(box.x0, box.y0) and inside.contains(box.x1, box.y1), (name, box)
    g = widgets["graph"]
    for grouped in (False, True):   # both layouts, with the colour bar and its label
        g.group_toggle.value = grouped
        g.figure.canvas.draw()
        box = g.figure.get_tightbbox(g.figure.canvas.get_renderer())
        assert g.figure.bbox_inches.padded(0.01).contains(box.x1, box.y1), (grouped, box)


def test_graph_view_controls_have_labels_beside_them(widgets):
    import ipywidgets as W
    w = widgets["graph"]
    rows = [c for c in w.children if isinstance(c, W.HBox)]
    labelled = [box for row in rows for box in ([row] + [c for c in row.children if isinstance(c, W.HBox)])
                if isinstance(box.children[0], W.Label)]
    pairs = {box.children[0].value: box.children[1] for box in labelled}
    assert pairs["show"] is w.group_toggle and pairs["colour"] is w.mode and pairs["node"] is w.node_select
    assert w.group_toggle.description == "" and w.mode.description == ""


def test_bptt_scale_slider_offers_exactly_the_computed_scales(widgets):
    w = widgets["bptt"]
    values = [v for _, v in w.scale_slider.options]
    assert values == list(w.scales) == [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0]
    assert [label for label, _ in w.scale_slider.options][4] == "× 1.5"
    w.scale_slider.value = values[0]
    for v in values[1:]:   # one step at a time, as the arrow keys move it: always a new picture
        assert changed(w, w.scale_slider, v), v
        assert f"× {v:g}" in w.title.get_text()


def test_hidden_animator_panels_share_the_time_axis(widgets):
    w = widgets["hidden"]
    ax_g, ax_h = w.graph_plot.ax, w.hidden_view.image.axes
    ax_l = w.hidden_view.lines[0].axes
    for x_graph, t in w.graph_plot.layout.columns:
        xs = [ax.transData.transform((x, 0))[0] for ax, x in ((ax_g, x_graph), (ax_h, t), (ax_l, t))]
        assert max(xs) - min(xs) < 1.0, (t, xs)
    # the units' legend is beside the lines, not over them
    w.figure.canvas.draw()
    r = w.figure.canvas.get_renderer()
    leg = w.hidden_view.legend.get_window_extent(r)
    assert leg.x0 >= ax_l.get_window_extent(r).x1


def test_unchain_explains_its_per_step_counts(widgets):
    w = widgets["unchain"]
    labels = [t.get_text() for t in w.graph_plot.ax.get_legend().get_texts()]
    assert any("live function nodes of that step" in s for s in labels)
    w.bprop_slider.value, w.length_slider.value = 4, 7
    shown = [t.get_text() for t in w.view.counts]
    snap = w.snapshot(4, 7)
    assert shown[4:7] == [str(int(c)) for c in snap["live_per_step"][4:7]] and shown[:4] == [""] * 4


def test_ipympl_canvas_sends_whole_frames():
    """Under ipympl every frame is a full image: its front end can drop a frame that arrives
    while the previous one is loading, and a dropped 'diff' frame would leave stale pixels."""
    import subprocess
    import sys
    code = """
import matplotlib
matplotlib.use("module://ipympl.backend_nbagg")
from rnnviz.widgets import GraphView
w = GraphView()
c = w.figure.canvas
sent = []
c.manager.web_sockets = [type("S", (), {"send_binary": lambda self, b: sent.append(b),
                                        "send_json": lambda self, m: None})()]
c.draw()
w.mode.value = "gradients"
assert w.last_redraw == "blit" and len(sent) == 2, (w.last_redraw, len(sent))
assert c._current_image_mode == "full", c._current_image_mode
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]


def test_ipympl_canvas_drawn_before_display_keeps_a_loadable_picture():
    """A widget that draws in its constructor (GraphView caches its backgrounds there) sends frames
    before any front end exists; ipympl stores each in ``_data_url``, the picture a new view paints
    first. It must be a data URL of a PNG: a bare base64 string leaves the canvas blank in
    JupyterLab ("drawImage ... 'broken' state")."""
    import subprocess
    import sys
    code = """
import base64
import matplotlib
matplotlib.use("module://ipympl.backend_nbagg")
from rnnviz.widgets import GraphView, UnchainExplorer
for w in (GraphView(), UnchainExplorer(bprop_len=3)):
    c = w.figure.canvas
    c.draw()
    url = c._data_url
    prefix = "data:image/png;base64,"
    assert isinstance(url, str) and url.startswith(prefix), (type(w).__name__, str(url)[:40])
    assert base64.b64decode(url[len(prefix):])[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]


# -- the node panel and the readouts, in both languages --------------------------------------------
@pytest.fixture
def japanese():
    from rnnviz import i18n
    family = list(matplotlib.rcParams["font.family"])
    i18n._reset_for_tests()
    i18n.set_language("ja")
    yield
    i18n._reset_for_tests()
    matplotlib.rcParams["font.family"] = family


def _panel(w, node_id):
    w.node_select.value = node_id
    return re.sub(r"<[^>]+>", "\n", w.info.value)


def _panels(w):
    """The node panel of every node of the grouping shown, then of the other grouping."""
    texts = []
    for _ in range(2):
        texts += [_panel(w, value) for _, value in w.node_select.options if value >= 0]
        w.group_toggle.value = not w.group_toggle.value
    return texts


def _graphs():
    """GraphView's demo (an LSTM: one fused function per link and step), an Elman RNN (several
    functions per link and step: link boxes when grouped), and a graph cut by unchain."""
    rng = np.random.default_rng(0)
    np.random.seed(0)
    rnn = L.RNN(3, 4)
    for x_t in rng.standard_normal((3, 2, 3)).astype(np.float32):
        h = rnn(Variable(x_t))
    rnn_loss = F.sum(h * h)
    rnn_loss.backward()
    x = Variable(np.ones((2, 3), np.float32), name="x")
    cut = F.tanh(x) * 2
    cut.unchain()
    cut_loss = F.sum(cut * cut)
    cut_loss.backward()
    return [GraphView(), GraphView(rnn_loss), GraphView(cut_loss, grouped=False)]


def _all_panels():
    texts = []
    for w in _graphs():
        try:
            texts += _panels(w)
        finally:
            w.close()
    return "\n".join(texts)


def test_graph_view_node_panel_in_english_never_shows_a_missing_dtype():
    joined = _all_panels()
    assert "None" not in joined                            # was 'shape (1, 8) None' for a grouped node
    for words in ("shape (11, 8) float32", "output shape (1, 8)", "history cut here (unchain)", "grad: none",
                  "nodes grouped", "(parameter)", "(variable)", "(function)", "link Classifier/predictor/mid"):
        assert words in joined, words


def test_graph_view_node_panel_in_japanese(japanese):
    joined = _all_panels()
    for words in ("形 (11, 8)、型 float32", "ここで履歴が切断されています（unchain）", "勾配: なし",
                  "出力の形 (1, 8)", "リンク Classifier/predictor/mid", "（パラメータ）", "（変数）", "（関数）",
                  "値: 最小", "個のノードをまとめて表示しています"):
        assert words in joined, words
    assert "None" not in joined
    # no English word left but the names of things (links, functions, variables, dtypes)
    names = {"Classifier", "predictor", "embed", "mid", "out", "EmbedID", "LSTMStep", "Linear", "SoftmaxCrossEntropy",
             "AddConstant", "Add", "Tanh", "Mul", "MulConstant", "Sum", "float32", "int32", "unchain", "var", "param",
             "x", "W", "b", "e", "inf", "nan", "upward", "lateral", "RNN", "Pow", "PowConstant", "link", "code"}
    words = set(re.findall(r"[A-Za-z][A-Za-z0-9_]*", joined))
    assert words <= names, sorted(words - names)


def test_readouts_keep_the_counters_and_the_arguments_in_japanese(japanese):
    w = UnchainExplorer()
    try:
        w.bprop_slider.value, w.length_slider.value = 3, 12
        text = w.view.summary.get_text()
        assert re.search(r"履歴が残っているステップ \d+ 個、解放済みのステップ \d+ 個", text), text
    finally:
        w.close()
    w = BPTTComparison()
    try:
        label = w.trunc_view.ax_cos.get_ylabel()
        assert label == "コサイン類似度（打ち切り, 完全）", label
    finally:
        w.close()
