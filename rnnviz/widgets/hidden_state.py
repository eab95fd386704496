"""HiddenStateAnimator: step through time; the unrolled graph grows while the hidden state fills in."""
import ipywidgets as W
import numpy

from .. import graph as G
from ..viz import GraphPlot, HiddenStateView
from .. import experiments as E
from ..i18n import ftr, tr
from ._base import FigureWidget


class HiddenStateAnimator(FigureWidget):
    """Watch a recurrent model read a sentence one word at a time.

    ``HiddenStateAnimator()`` runs the built-in tiny LSTM language model on a 12-word sentence.

    ``HiddenStateAnimator(model, xs, words=None, units=(0, 1, 2), interval=700, figsize=(8.2, 5.6))``:

    * ``model``: an ``L.Classifier`` or a predictor (``model(x_t)`` -> logits) containing an
      ``L.LSTM`` or ``L.RNN``;
    * ``xs``: word ids, shape (T,) or (T, batch) (batch element 0 is shown);
    * ``words``: the vocabulary (id -> word) used to print the input and predicted words;
    * ``units``: hidden units drawn as lines below the heatmap.

    The three panels share the time axis: step t's column of the graph sits above column t of
    the heatmap and point t of the lines.

    Controls: ``play`` (ipywidgets.Play) linked to ``time_slider`` (IntSlider); ``message``;
    ``redraw()``.
    """

    who = "HiddenStateAnimator"

    def __init__(self, model=None, xs=None, words=None, units=(0, 1, 2), interval=700, figsize=(8.2, 5.6)):
        super().__init__(figsize)
        self.play = W.Play(min=0, max=1, value=0, step=1, interval=interval, description=tr("hidden.play"))
        self.time_slider = W.IntSlider(min=0, max=1, value=0, description=tr("hidden.slider"),
                                       continuous_update=True)
        W.jslink((self.play, "value"), (self.time_slider, "value"))
        self._input_problem = None
        given = [n for n, v in (("xs", xs), ("words", words)) if v is not None]
        if model is None and given:
            self._input_problem = E.data_without_model(self.who, given)
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            self._input_problem = f"{self.who}: interval must be a number of milliseconds >= 1, got {interval!r}"
        elif model is None:
            model = E.demo_model()
            xs, _, vocab = E.demo_data(12)
            words = vocab if words is None else words
        # the play button moves the slider (in the browser): observing the slider is enough
        self._start([self.play, self.time_slider], lambda: self._build(model, xs, words, units),
                    observed=[self.time_slider])

    def _build(self, model, xs, words, units):
        if self._input_problem:
            raise E.InputError(self._input_problem)
        sm = E.StepModel(model, who=self.who)
        xs, _ = E.check_data(xs, None, who=self.who, need_targets=False)
        notes = []
        try:
            units = [int(u) for u in units]
        except (TypeError, ValueError):
            raise E.InputError(f"{self.who}: units must be a list of hidden-unit indices, got {units!r}") from None
        H = sm.recurrent.lateral.W.shape[1]
        outside = [u for u in units if not 0 <= u < H]
        if outside:
            notes.append(tr("hidden.units_outside", outside=outside, last=H - 1, H=H))
        if words is not None and not hasattr(words, "__getitem__"):
            raise E.InputError(f"{self.who}: words must be a list (id -> word), got {type(words).__name__}")
        run = E.run_hidden(sm, xs)
        self.states = run["states"]
        self.preds, self.probs = run["preds"], run["probs"]
        self.words = words
        self.xs = xs
        T = len(xs)
        g = G.trace(*run["outputs"])
        del run
        shown = G.prepare(g, grouped=True, depth=sm.depth)
        lay = G.layout(shown, "unrolled", depth=sm.depth)
        fig = self.figure
        fig.clf()
        # one x range per step in all three panels: the graph's column of step t sits above
        # column t of the heatmap and point t of the lines (same left edge, same width)
        left, width = 0.12, 0.74
        ax_g = fig.add_axes([left, 0.6, width, 0.28])
        ax_h = fig.add_axes([left, 0.36, width, 0.17])
        ax_l = fig.add_axes([left, 0.13, width, 0.19])
        self.graph = shown
        self.graph_plot = GraphPlot(ax_g, shown, lay, mode=None, labels=False, legend=False,
                                    colorbar=False, title=ftr("hidden.graph_title"))
        self.graph_plot.ax.title.set_fontsize(9)
        self.step_of = numpy.array([-1 if n.step is None else n.step for n in shown.nodes])
        self.hidden_view = HiddenStateView(ax_h, ax_l, self.states, units=units,
                                           words=[self._word(int(x[0])) for x in xs])
        ax_h.set_xlim(-0.5, T - 0.5)
        ax_l.set_xlim(-0.5, T - 0.5)
        ax_g.set_xlim(*lay.step_xlim(T))
        self.caption = fig.text(0.5, 0.962, "", ha="center", va="center", fontsize=11,
                                bbox=dict(fc="#fff2cc", ec="#bf9000", boxstyle="round,pad=0.4"))
        self.play.max = T - 1
        self.time_slider.max = T - 1
        self.set_dynamic(self.graph_plot.artists_from(1) + self.hidden_view.artists() + [self.caption])
        return notes

    def _word(self, i):
        if self.words is not None and 0 <= i < len(self.words):
            return self.words[i]
        return f"#{i}"

    def _update_views(self):
        if not self.ready:
            return
        t = int(self.time_slider.value)
        self.graph_plot.update(visible=self.step_of <= t)
        self.hidden_view.update(t)
        self.caption.set_text(ftr("hidden.caption", t=t, word=self._word(int(self.xs[t, 0])),
                                  pred=self._word(self.preds[t]), p=self.probs[t]))
