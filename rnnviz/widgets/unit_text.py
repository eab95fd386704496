"""UnitTextView: a passage coloured by one hidden unit's activation; find the units that track a
feature of the text (a space, the position in the word, ...)."""
import ipywidgets as W
import numpy

from .. import experiments as E
from ..experiments import chars as C
from ..datasets.chars import KJV_CHARSET, chars_to_ids, get_kjv_chars, ids_to_chars
from ..i18n import ftr, tr
from ..viz.unit_text import CharTextView, unit_colorbar
from ._base import FigureWidget


def passage_ids(text, who):
    """``text`` (a str of corpus characters, or character ids) -> int32 ids, or an InputError."""
    if isinstance(text, str):
        try:
            return chars_to_ids(text)
        except ValueError as exc:
            raise E.InputError(f"{who}: {exc}") from None
    ids = numpy.asarray(text)
    if ids.ndim != 1 or ids.dtype.kind not in "iu" or len(ids) < 2:
        raise E.InputError(f"{who}: text must be a str or a 1-D array of at least 2 character ids, "
                           f"got shape {ids.shape} and dtype {ids.dtype}")
    if ids.min() < 0 or ids.max() >= len(KJV_CHARSET):
        raise E.InputError(f"{who}: character ids must lie in 0..{len(KJV_CHARSET) - 1}, got "
                           f"{int(ids.min())}..{int(ids.max())}")
    return ids.astype(numpy.int32)


def default_model_and_text(model, text, n_chars):
    """The learner's model and text; an untrained character model (with a note) when no model is
    given; the first ``n_chars`` of the validation split when no text is given."""
    notes = []
    if model is None:
        model = C.char_model(0)
        notes.append(tr("units.untrained"))
    if text is None:
        text = get_kjv_chars()[1][:n_chars]
    return model, text, notes


class UnitTextView(FigureWidget):
    """One hidden unit read against the text: each character of a passage coloured by the unit's
    activation right after the model read it (blue negative, red positive).

    ``UnitTextView(model=None, text=None, unit=0, state="h", shown=384, cols=64, figsize=(8.2, 3.4))``:

    * ``model``: a character model built like ``L.RNNLM`` (``rnnviz.experiments.chars.char_model``),
      or its ``Classifier``; none: an untrained one (a note says so);
    * ``text``: a str of corpus characters or their ids (default: the first 3,000 characters of the
      validation split); correlations are measured over all of it, the first ``shown`` characters
      are drawn;
    * ``state``: ``"h"`` (the LSTM's output) or ``"c"`` (its cell).

    Controls: ``unit_slider``; ``feature`` (Dropdown): choosing a feature of the text
    (``experiments.chars.FEATURES``) moves the slider to the unit that correlates most with it,
    and the title reads out each unit's correlation with it.
    """

    who = "UnitTextView"

    def __init__(self, model=None, text=None, unit=0, state="h", shown=384, cols=64, figsize=(8.2, 3.4)):
        super().__init__(figsize)
        self.unit_slider = W.IntSlider(min=0, max=1, value=0, description=tr("units.unit"),
                                       continuous_update=True)
        options = [(tr("units.none"), None)] + [(tr(f"units.feature.{f}"), f) for f in C.FEATURES]
        self.feature = W.Dropdown(options=options, value=None, description=tr("units.feature"))
        self._start([self.unit_slider, self.feature],
                    lambda: self._build(model, text, unit, state, shown, cols),
                    observed=[self.unit_slider])
        self.feature.observe(self._on_feature, names="value")

    def _build(self, model, text, unit, state, shown, cols):
        for name, value in (("shown", shown), ("cols", cols)):
            E.check_count(self.who, name, value, low=8)
        model, text, notes = default_model_and_text(model, text, 3000)
        ids = passage_ids(text, self.who)
        self.text = ids_to_chars(ids)
        self.state = state
        self.activations = C.unit_activations(model, ids, state=state)
        self.features = C.char_features(self.text)
        H = self.activations.shape[1]
        if isinstance(unit, bool) or not isinstance(unit, (int, numpy.integer)) or not 0 <= unit < H:
            notes.append(tr("units.outside", unit=repr(unit), last=H - 1))
            unit = 0
        fig = self.figure
        fig.clf()
        ax = fig.add_axes([0.02, 0.05, 0.86, 0.78])
        lim = float(max(1e-6, numpy.abs(self.activations).max()))
        from matplotlib import colors as mcolors
        self.view = CharTextView(ax, self.text[:shown], cols=cols, norm=mcolors.Normalize(-lim, lim))
        cb = unit_colorbar(fig, self.view.image, [0.9, 0.05, 0.018, 0.78], ftr("units.activation"))
        cb.set_ticks([-lim, 0, lim], labels=[f"{-lim:.2f}", "0", f"{lim:.2f}"])
        self.title = fig.text(0.02, 0.96, "", ha="left", va="top", fontsize=9)
        self.readout = fig.text(0.02, 0.885, "", ha="left", va="top", fontsize=8, color="#333333")
        self.unit_slider.max = H - 1
        self.unit_slider.value = int(unit)
        self.set_dynamic(self.view.artists() + [self.title, self.readout])
        return notes

    def correlations(self, feature):
        """(H,): every unit's correlation with ``feature`` (a name of ``experiments.chars.FEATURES``)."""
        return C.unit_correlations(self.activations, self.features[feature])

    def _on_feature(self, change):
        if not self.ready or change["new"] is None:
            self.redraw()
            return
        best = C.best_units(self.activations, self.features[change["new"]], 1)[0][0]
        if best != self.unit_slider.value:
            self.unit_slider.value = best      # redraws
        else:
            self.redraw()

    def _update_views(self):
        if not self.ready:
            return
        u = int(self.unit_slider.value)
        self.view.update(self.activations[:len(self.view.text), u])
        self.title.set_text(ftr("units.title", u=u, state=self.state))
        feature = self.feature.value
        if feature is None:
            self.readout.set_text("")
            return
        best = C.best_units(self.activations, self.features[feature], 3)
        r = self.correlations(feature)[u]
        self.readout.set_text(ftr("units.readout", u=u, r=r, feature=ftr(f"units.feature.{feature}"),
                                  n=len(self.text), best=", ".join(f"{b} ({v:+.2f})" for b, v in best)))
