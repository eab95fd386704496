"""Every widget figure is legible: built with its defaults and as the lessons build it, in English
and in Japanese, before and after moving its controls, ``figure_problems`` finds nothing (no text
outside the figure or cut by its axes, no two texts over each other, no word cut short, no blank
figure), ``size_problems`` finds nothing (Japanese words at least 11 px at the live view's dpi, a
legend no smaller than its axes' tick labels), and drawing it makes no warning and no matplotlib
log line (``findfont: Failed to find font weight bold for IPAexGothic``). And the check itself
catches what it is for: a clipped label, overlapping texts, a blank figure, small kanji, a bad
figure seen by the kernel-side callback, a bold request the Japanese font cannot honour."""
import contextlib
import logging
import warnings

import matplotlib
matplotlib.use("Agg")
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import rnnviz
from rnnviz import Variable, functions as F, links as L
from rnnviz.viz import fonts
from rnnviz.viz.legibility import figure_problems, read_report, size_problems, startup_code
from rnnviz.widgets import AttentionView, BPTTComparison, GraphView, HiddenStateAnimator, UnchainExplorer
from rnnviz.widgets import GradientNormExplorer
from rnnviz.widgets import ConnectivityView, UnitTextView


# -- the widgets as the lessons build them (course/_build/lesson0N.py, course/00_seeing_the_graph) --
def lesson01_graph():
    rng = np.random.default_rng(0)
    x = Variable(rng.standard_normal((4, 3)).astype(np.float32), name="x")
    target = rng.standard_normal((4, 1)).astype(np.float32)
    np.random.seed(0)
    layer1, layer2 = L.Linear(3, 5), L.Linear(5, 1)
    loss = F.mean_squared_error(layer2(F.tanh(layer1(x))), target)
    loss.backward(retain_grad=True)
    return GraphView(loss, grouped=False)


def lesson02_graph():
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((5, 2, 3)).astype(np.float32)
    np.random.seed(0)
    rnn = L.RNN(3, 4)
    for x_t in inputs:
        h = rnn(Variable(x_t))
    loss = F.sum(h * h)
    loss.backward()
    return GraphView(loss)


def lesson02_animator():
    text = ("the cat sat on the mat . the dog sat on the log . "
            "the cat saw the dog . the dog saw the cat .").split()
    vocab = sorted(set(text))
    ids = np.array([vocab.index(w) for w in text], np.int32)
    np.random.seed(0)
    return HiddenStateAnimator(L.RNNLM(len(vocab), 16, 16, cell="rnn"), ids[:18], words=vocab)


class TutorialRNN(rnnviz.Chain):
    def __init__(self, n_vocab=1000, n_embed=100, n_hidden=50):
        super().__init__()
        with self.init_scope():
            self.embed = L.EmbedID(n_vocab, n_embed)
            self.mid = L.LSTM(n_embed, n_hidden)
            self.out = L.Linear(n_hidden, n_vocab)

    def forward(self, cur_word):
        return self.out(self.mid(self.embed(cur_word)))


def lesson03_graph():
    np.random.seed(0)
    model = L.Classifier(TutorialRNN())
    rng = np.random.default_rng(1)
    words = [rng.integers(0, 1000, size=2).astype(np.int32) for _ in range(6)]
    loss = 0
    for cur, nxt in zip(words, words[1:]):
        loss += model(cur, nxt)
    loss.backward(retain_grad=True)
    return GraphView(loss, grouped=True)


def lesson03_bptt():
    words = np.random.default_rng(1).integers(0, 20, size=(13, 4)).astype(np.int32)
    np.random.seed(0)
    return BPTTComparison(L.Classifier(L.RNNLM(20, 16, 16, cell="rnn")), words[:-1], words[1:])


def lesson05_graph():
    np.random.seed(0)
    feature, head = L.Linear(4, 8), L.Linear(8, 1)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    with rnnviz.no_backprop_mode():
        feat = F.tanh(feature(x))
    loss = F.sum(head(feat) ** 2)
    loss.backward()
    return GraphView(loss, grouped=False)


def lesson06_animator():
    from rnnviz import datasets
    _, valid, _ = datasets.get_kjv_words(vocab_size=1000)
    vocab = datasets.get_kjv_words_vocabulary(vocab_size=1000)
    id_to_word = {i: w for w, i in vocab.items()}
    np.random.seed(0)
    model = L.Classifier(L.RNNLM(len(vocab), 64, 64))
    return HiddenStateAnimator(model, valid[:14], words=[id_to_word[i] for i in range(len(vocab))])


def lesson07_graph():
    np.random.seed(0)
    model = L.Classifier(L.RNNLM(100, 32, 32))
    loss = model(np.array([1, 2, 3, 4], np.int32), np.array([2, 3, 4, 5], np.int32))
    loss.backward()
    return GraphView(loss)


def lesson11_attention():
    from rnnviz.experiments import seq2seq
    if not hasattr(lesson11_attention, "model"):       # the lesson's model, trained once
        lesson11_attention.model, _ = seq2seq.train_seq2seq(True, iterations=300, n_hidden=32, seed=0)
    return AttentionView(lesson11_attention.model, examples=seq2seq.test_set(n=20)[0])


def lesson09_animator():
    from rnnviz.datasets import recall_batch
    from rnnviz.training.recall import train_cell_on_recall
    net, _ = train_cell_on_recall("gru", 5, updates=300, every=50)
    sequence, _ = recall_batch(1, 16, 5, vocab_size=4, seed=7)
    return HiddenStateAnimator(net, sequence.T, words=["A", "B", "C", "D"], units=(0, 1, 2))


WIDGETS = {
    "GraphView()": GraphView,
    "HiddenStateAnimator()": HiddenStateAnimator,
    "UnchainExplorer()": UnchainExplorer,
    "BPTTComparison()": BPTTComparison,
    "lesson 1 GraphView": lesson01_graph,
    "lesson 2 GraphView": lesson02_graph,
    "lesson 2 HiddenStateAnimator": lesson02_animator,
    "lesson 3 GraphView": lesson03_graph,
    "lesson 3 BPTTComparison": lesson03_bptt,
    "lesson 4 UnchainExplorer": lambda: UnchainExplorer(bprop_len=3),
    "lesson 5 GraphView": lesson05_graph,
    "lesson 6 HiddenStateAnimator": lesson06_animator,
    "lesson 7 GraphView": lesson07_graph,
    "GradientNormExplorer() (lesson 8)": GradientNormExplorer,
    "lesson 9 HiddenStateAnimator": lesson09_animator,
    "AttentionView()": AttentionView,
    "lesson 11 AttentionView": lesson11_attention,
    "UnitTextView()": UnitTextView,
    "ConnectivityView()": ConnectivityView,
    "lesson 10 UnitTextView": lambda: _lesson10_units(),
    "lesson 10 ConnectivityView": lambda: _lesson10_connectivity(),
}


def _lesson10_units():
    from rnnviz.datasets import get_kjv_chars
    from rnnviz.experiments.chars import train_char_model
    w = UnitTextView(train_char_model(0, checkpoints=(20,)), get_kjv_chars()[1][:3000], state="h")
    w.feature.value = "position in the word"
    return w


def _lesson10_connectivity():
    from rnnviz.datasets import get_kjv_chars
    from rnnviz.experiments.chars import train_char_model
    return ConnectivityView(train_char_model(0, checkpoints=(20,)), get_kjv_chars()[1][:193], t=150, bprop_len=32)


def control_moves(w):
    """(what, how) pairs that move the widget's controls, one after the other."""
    if isinstance(w, GraphView):
        return [("gradients", lambda: setattr(w.mode, "value", "gradients")),
                ("other grouping", lambda: setattr(w.group_toggle, "value", not w.group_toggle.value)),
                ("values", lambda: setattr(w.mode, "value", "values"))]
    if isinstance(w, HiddenStateAnimator):
        return [("t=0", lambda: setattr(w.time_slider, "value", 0)),
                ("t=5", lambda: setattr(w.time_slider, "value", 5))]
    if isinstance(w, UnchainExplorer):
        return [("bprop_len=1", lambda: setattr(w.bprop_slider, "value", 1)),
                ("length=4", lambda: setattr(w.length_slider, "value", 4)),
                ("full BPTT", lambda: setattr(w.bprop_slider, "value", w.bprop_slider.max))]
    if isinstance(w, AttentionView):
        return [("example 5", lambda: setattr(w.example_slider, "value", 5)),
                ("13 digits typed", lambda: setattr(w.source_box, "value", "1234567890123"))]
    if isinstance(w, GradientNormExplorer):
        return [("norm, larger threshold", lambda: (setattr(w.clip_buttons, "value", "norm"),
                                                     setattr(w.threshold_slider, "value", w.threshold_slider.options[-1][1]))),
                ("value", lambda: setattr(w.clip_buttons, "value", "value")),
                ("smallest radius", lambda: setattr(w.radius_slider, "value", w.radius_slider.options[0][1]))]
    if isinstance(w, UnitTextView):
        return [("feature: space", lambda: setattr(w.feature, "value", "space")),
                ("unit 7", lambda: setattr(w.unit_slider, "value", 7))]
    if isinstance(w, ConnectivityView):
        return [("t=0", lambda: setattr(w.position, "value", 0)),
                ("bprop_len=1, t=100", lambda: (setattr(w.bprop_slider, "value", 1),
                                                setattr(w.position, "value", 100)))]
    if isinstance(w, BPTTComparison):
        return [("bprop_len=1", lambda: setattr(w.bprop_slider, "value", 1)),
                ("largest W_h scale", lambda: setattr(w.scale_slider, "value", w.scale_slider.options[-1][1]))]
    return []


@pytest.fixture
def language(request):
    from rnnviz import i18n
    family = list(matplotlib.rcParams["font.family"])
    i18n._reset_for_tests()
    i18n.set_language(request.param)
    if request.param == "ja" and i18n.cjk_font() is None:
        pytest.fail("no Japanese font: the lab extra installs japanize-matplotlib, which ships one")
    yield request.param
    i18n._reset_for_tests()
    matplotlib.rcParams["font.family"] = family


class _Heard(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.lines = []

    def emit(self, record):
        self.lines.append(f"{record.name}: {record.getMessage()}")


@contextlib.contextmanager
def heard():
    """Every warning and every matplotlib log line at WARNING or above, said inside the block
    (a list of strings). matplotlib says a font problem once per process (its font lookup is
    cached): the cache is emptied first, so a problem another test met is said again here."""
    from matplotlib import font_manager

    cached = getattr(font_manager.fontManager, "_findfont_cached", None)
    if cached is not None:
        cached.cache_clear()
    handler = _Heard()
    log = logging.getLogger("matplotlib")
    log.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield handler.lines
    finally:
        log.removeHandler(handler)
    handler.lines += [f"{w.category.__name__}: {w.message}" for w in caught]


@pytest.mark.parametrize("language", ["en", "ja"], indirect=True)
@pytest.mark.parametrize("name", list(WIDGETS))
def test_widget_figures_are_legible(name, language):
    with heard() as said:
        w = WIDGETS[name]()
        try:
            assert getattr(w, "ready", True), w.message.value
            found = {"as built": figure_problems(w.figure) + size_problems(w.figure)}
            for what, move in control_moves(w):
                move()
                found[what] = figure_problems(w.figure) + size_problems(w.figure)
            found = {k: v for k, v in found.items() if v}
            assert not found, f"{name} ({language}): {found}"
        finally:
            w.close()
    assert not said, f"{name} ({language}): drawing it said {said}"


# -- the check catches what it is for -----------------------------------------------------------------
def new_fig(size=(6, 4), dpi=80):
    fig = Figure(figsize=size, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def plain_plot():
    fig = new_fig()
    ax = fig.add_subplot()
    ax.plot(np.arange(10), np.arange(10) ** 2, label="squares")
    ax.set_xlabel("step")
    ax.set_ylabel("value")
    ax.set_title("a plain plot")
    ax.legend()
    return fig, ax


def test_a_plain_figure_has_no_problems():
    fig, ax = plain_plot()
    assert figure_problems(fig) == []
    # close tick labels, turned, that do not touch: not an overlap
    fig2 = new_fig((6, 3))
    ax2 = fig2.add_subplot()
    ax2.plot(np.arange(12), np.ones(12))
    ax2.set_xticks(np.arange(12), [f"word{i}" for i in range(12)], rotation=40, ha="right", fontsize=7)
    fig2.subplots_adjust(bottom=0.3)
    assert figure_problems(fig2) == []


def test_a_label_moved_outside_the_figure_is_caught():
    fig, ax = plain_plot()
    ax.yaxis.set_label_coords(-0.3, 0.5)       # left of the figure's edge
    problems = figure_problems(fig)
    assert len(problems) == 1 and "y-axis label" in problems[0] and "'value'" in problems[0] \
        and "outside the figure (left" in problems[0], problems


def test_a_clipped_colour_bar_label_of_a_widget_is_caught():
    """The defect of issue 18, put back on purpose: GraphView's colour-bar label pushed past the
    figure's right edge."""
    w = lesson01_graph()
    try:
        w.mode.value = "gradients"
        assert figure_problems(w.figure) == []
        w.plot.colorbar.ax.yaxis.set_label_coords(5.0, 0.5)
        problems = figure_problems(w.figure)
        assert any("colour bar" in p and "|grad| (L2, log)" in p and "outside the figure (right" in p
                   for p in problems), problems
    finally:
        w.close()


def test_overlapping_texts_are_caught():
    fig, ax = plain_plot()
    fig.text(0.5, 0.5, "hello there")
    fig.text(0.52, 0.51, "general")
    problems = figure_problems(fig)
    assert problems == ["a text of the figure 'hello there' overlaps a text of the figure 'general'"]
    # turned tick labels crowded onto each other
    fig2 = new_fig((3, 3))
    ax2 = fig2.add_subplot()
    ax2.plot(np.arange(40), np.ones(40))
    ax2.set_xticks(np.arange(40), [f"longword{i}" for i in range(40)], rotation=40, ha="right")
    assert any("x tick label" in p and "overlaps" in p for p in figure_problems(fig2))


def test_a_text_cut_by_its_axes_or_by_an_ellipsis_is_caught():
    fig, ax = plain_plot()
    ax.text(8.0, 40, "a long note at the edge", clip_on=True)
    ax.text(2, 60, "PowConsta…")
    problems = figure_problems(fig)
    assert any("'a long note at the edge' is cut by the edge of its axes" in p for p in problems), problems
    assert any("'PowConsta…' is cut short with an ellipsis" in p for p in problems), problems


def test_blank_figures_are_caught():
    assert any("blank" in p for p in figure_problems(new_fig()))
    empty = new_fig()
    empty.add_subplot()                      # axes and tick labels, no data, nothing said
    assert any("blank" in p for p in figure_problems(empty))
    said = new_fig()
    said.text(0.5, 0.5, "nothing to show: see the message above", ha="center")
    assert figure_problems(said) == []      # a widget's message in its figure is not blank


def test_hidden_texts_and_empty_strings_do_not_count():
    fig, ax = plain_plot()
    ax.text(2, 60, "hidden", visible=False)
    ax.text(2, 60, "")
    ax.text(2, 60, "   ")
    fig.text(1.5, 1.5, "")                   # empty, and far outside
    assert figure_problems(fig) == []


def test_startup_callback_reports_a_bad_pyplot_figure_and_a_widget(tmp_path):
    import matplotlib.pyplot as plt
    report = tmp_path / "figures.jsonl"
    namespace = {}
    exec(compile(startup_code(report), "<startup>", "exec"), namespace)
    check = namespace["_rnnviz_figure_check"]
    fig, ax = plt.subplots(figsize=(5, 3))
    w = GraphView()
    try:
        ax.plot([0, 1], [0, 1])
        ax.set_title("a bad figure")
        ax.set_ylabel("clipped on purpose")
        ax.yaxis.set_label_coords(-0.4, 0.5)
        check()
        lines = read_report(report)
        bad = [line for line in lines if line["figure"] == "a bad figure"]
        assert len(bad) == 1 and any("clipped on purpose" in p for p in bad[0]["problems"]), lines
        mine = [line for line in lines if line["figure"].startswith("GraphView")]
        assert mine and mine[0]["problems"] == [], lines
        check()                              # nothing changed: nothing written again
        assert len(read_report(report)) == len(lines)
    finally:
        plt.close(fig)
        w.close()
    assert read_report(tmp_path / "absent.jsonl") == []


# -- sizes and weights the Japanese font can honour ---------------------------------------------------
def test_small_kanji_and_a_legend_below_its_tick_labels_are_caught(language_ja):
    fig, ax = plain_plot()
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=7)
    ax.text(2, 60, "残っている関数ノード", fontsize=7)
    ax.text(2, 40, "live function nodes", fontsize=7)        # Latin letters at 7 pt: readable
    problems = size_problems(fig)
    assert len(problems) == 2, problems
    assert "'残っている関数ノード' is 9.7 px high: Japanese text needs at least 11 px" in problems[0]
    assert "legend entry" in problems[1] and "'squares'" in problems[1] and "smaller than the tick labels" in problems[1]
    assert fig.dpi == 80                                    # measured at 100 dpi, then put back
    ax.get_legend().remove()
    ax.legend(fontsize=8)
    ax.texts[-2].set_fontsize(fonts.small(7))
    assert size_problems(fig) == []


@pytest.fixture
def language_ja():
    from rnnviz import i18n
    family = list(matplotlib.rcParams["font.family"])
    i18n._reset_for_tests()
    i18n.set_language("ja")
    if i18n.cjk_font() is None:
        pytest.fail("no Japanese font: the lab extra installs japanize-matplotlib, which ships one")
    yield
    i18n._reset_for_tests()
    matplotlib.rcParams["font.family"] = family


def test_bold_is_asked_for_only_where_the_font_has_it(language_ja):
    from rnnviz import i18n
    assert not fonts.has_bold(i18n.cjk_font())              # IPAexGothic: one regular face
    assert fonts.bold() == "normal" and fonts.small(7) == 8.0
    # what the widgets did before: bold with the Japanese font first is said, in a log line
    fig, ax = plain_plot()
    ax.text(1, 50, "まとめたリンク", fontweight="bold")
    with heard() as said:
        fig.canvas.draw()
    assert any("Failed to find font weight bold" in line for line in said), said
    ax.texts[-1].remove()
    ax.text(1, 50, "まとめたリンク", fontweight=fonts.bold())
    with heard() as said:
        fig.canvas.draw()
    assert said == []


def test_english_figures_keep_bold_and_their_sizes():
    from rnnviz import i18n
    with i18n.language("en"):
        assert fonts.has_bold("DejaVu Sans") and fonts.bold() == "bold" and fonts.small(7) == 7
