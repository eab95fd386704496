"""AttentionView: where a sequence-to-sequence model looked while it wrote each token."""
import ipywidgets as W
import numpy

from .. import experiments as E
from ..datasets.synthetic import DIGIT_VOCAB
from ..i18n import ftr, tr
from ..viz.attention import AttentionMap
from ._base import FigureWidget


class AttentionView(FigureWidget):
    """The attention weights of a model as a heat map, for a source you choose.

    ``AttentionView()`` trains (once, a few seconds, then cached) a small attention model on digit
    reversal and shows it on fresh examples.

    ``AttentionView(model, examples=None, vocab=None, figsize=(6.4, 4.4))``:

    * ``model``: anything that follows the protocol ``translate(source) -> (output, weights)``:
      ``source`` a 1-D array of token ids, ``output`` the 1-D ids it generated, ``weights`` an
      array (len(output), len(source)) whose row t is the attention of output step t over the
      source (None for a model without attention). Pass the callable itself, or an object with a
      ``translate`` method (``rnnviz.experiments.seq2seq.Seq2Seq`` has one);
    * ``examples``: sources (1-D id arrays) for the **example** slider;
    * ``vocab``: id -> token (default: the digit tasks' ``DIGIT_VOCAB``).

    Controls: ``example_slider`` (IntSlider over ``examples``) and ``source_box`` (Text: type the
    tokens, one character each, e.g. ``31415``; spaces are ignored); ``message``; ``redraw()``.
    ``output`` and ``weights`` hold what the model returned for the source shown.
    """

    who = "AttentionView"

    def __init__(self, model=None, examples=None, vocab=None, figsize=(6.4, 4.4)):
        super().__init__(figsize)
        self.example_slider = W.IntSlider(min=0, max=0, value=0, description=tr("attention.example"))
        self.source_box = W.Text(value="", description=tr("attention.source"), continuous_update=False)
        self.example_slider.observe(self._on_example, names="value")
        self._start([self.example_slider, self.source_box],
                    lambda: self._setup(model, examples, vocab), observed=[self.source_box])

    # -- input ---------------------------------------------------------------------------------
    def _setup(self, model, examples, vocab):
        if model is None:
            if examples is not None:
                raise E.InputError(E.data_without_model(self.who, ["examples"]))
            model = E.seq2seq.demo_translator()
            examples = E.seq2seq.test_set(n=20)[0]
        translate = getattr(model, "translate", model)
        if not callable(translate):
            raise E.InputError(tr("attention.not_callable", who=self.who, got=type(model).__name__))
        self.translate = translate
        self.vocab = list(DIGIT_VOCAB if vocab is None else vocab)
        self.index = {token: i for i, token in enumerate(self.vocab)}
        if examples is None:
            examples = []
        try:
            self.examples = [numpy.asarray(e, dtype=numpy.int64).ravel() for e in examples]
        except (TypeError, ValueError):
            raise E.InputError(tr("attention.bad_examples", who=self.who)) from None
        bad = [i for i, e in enumerate(self.examples) if len(e) == 0 or e.min() < 0 or e.max() >= len(self.vocab)]
        if bad:
            raise E.InputError(tr("attention.bad_examples", who=self.who))
        self._build()
        self.example_slider.max = max(len(self.examples) - 1, 0)
        self.example_slider.disabled = len(self.examples) < 2
        first = self.examples[0] if self.examples else numpy.array([self.index.get(c, 0) for c in "31415"
                                                                   if c in self.index])
        self.source_box.value = self._text(first)

    def _text(self, ids):
        return "".join(self.vocab[int(i)] for i in ids)

    def _parse(self, text):
        """Token ids of the typed text: the longest vocabulary token at each place ('<eos>' too)."""
        ids, i = [], 0
        text = text.replace(" ", "")
        tokens = sorted(self.index, key=len, reverse=True)
        while i < len(text):
            token = next((t for t in tokens if t and text.startswith(t, i)), None)
            if token is None:
                raise E.InputError(tr("attention.unknown", who=self.who, char=text[i],
                                      known=" ".join(self.vocab)))
            ids.append(self.index[token])
            i += len(token)
        if not ids:
            raise E.InputError(tr("attention.empty", who=self.who))
        return numpy.array(ids, dtype=numpy.int32)

    def _on_example(self, change):
        if self.ready and self.examples:
            self.source_box.value = self._text(self.examples[int(change["new"])])

    # -- drawing -------------------------------------------------------------------------------
    def _build(self):
        fig = self.figure
        fig.clf()
        ax = fig.add_axes([0.16, 0.1, 0.64, 0.66])
        cax = fig.add_axes([0.84, 0.1, 0.03, 0.66])
        self.view = AttentionMap(ax, cax)
        self.caption = fig.text(0.5, 0.955, "", ha="center", va="center", fontsize=11,
                                bbox=dict(fc="#fff2cc", ec="#bf9000", boxstyle="round,pad=0.4"))
        self.output, self.weights = None, None
        self.set_dynamic(self.view.artists() + [self.caption])

    def _update_views(self):
        if not self.ready:
            return
        try:
            source = self._parse(self.source_box.value)
            output, weights = self._run(source)
        except E.InputError as exc:
            self.show_message(str(exc))
            return
        except Exception as exc:         # the learner's model failed: say so, keep the last picture
            self.show_message(tr("widget.failed", who=self.who, error=f"{type(exc).__name__}: {exc}"))
            return
        self.show_message("")
        self.output, self.weights = output, weights
        shown = [self.vocab[int(i)] if 0 <= int(i) < len(self.vocab) else f"#{int(i)}" for i in output]
        if self.view.update(weights, [self.vocab[int(i)] for i in source], shown):
            self.set_dynamic(self.view.artists() + [self.caption])      # a longer sequence: more texts
        self.caption.set_text(ftr("attention.caption", source=self._text(source),
                                  output="".join(t for t in shown if not t.startswith("<"))))

    def _run(self, source):
        result = self.translate(source)
        try:
            output, weights = result
        except (TypeError, ValueError):
            raise E.InputError(tr("attention.protocol", who=self.who, got=type(result).__name__)) from None
        output = _host(output).ravel()
        if weights is None:
            raise E.InputError(tr("attention.no_weights", who=self.who))
        weights = _host(weights).astype(float)
        if weights.shape != (len(output), len(source)):
            raise E.InputError(tr("attention.shape", who=self.who, got=tuple(weights.shape),
                                  T=len(output), S=len(source)))
        if len(output) == 0:
            raise E.InputError(tr("attention.no_output", who=self.who))
        return output, weights


def _host(a):
    """A Variable, a CuPy array, a list: as a NumPy array."""
    a = getattr(a, "array", a)
    if not isinstance(a, numpy.ndarray) and hasattr(a, "get"):
        a = a.get()
    return numpy.asarray(a)
