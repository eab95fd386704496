"""ConnectivityView: how much each past character's input moves one prediction, with full BPTT
and with truncated BPTT side by side, on one shared colour scale."""
import ipywidgets as W
import numpy

from .. import experiments as E
from ..experiments import chars as C
from ..datasets.chars import ids_to_chars
from ..i18n import ftr, tr
from ..viz.unit_text import CharTextView, connectivity_norm, light, unit_colorbar
from ._base import FigureWidget
from .unit_text import default_model_and_text, passage_ids


class ConnectivityView(FigureWidget):
    """For the prediction made at position t (the next character, after reading x_0..x_t), each
    earlier character s coloured by n_s = ||d log p(x_{t+1}) / d e_s||, the gradient reaching its
    embedding: on top with full BPTT, below with truncated BPTT (cuts before steps 0, b, 2b, ...).
    One log colour scale for both: n_s divided by the largest n_s of the two, from 1 down to 10^-4;
    grey: no gradient at all.

    ``ConnectivityView(model=None, text=None, t=None, bprop_len=32, cols=64, figsize=(8.2, 4.4))``:
    ``model`` a character model like ``experiments.chars.char_model`` (none: an untrained one);
    ``text`` a str of corpus characters or ids (default: the first 193 validation characters).

    Controls: ``position`` (t), ``bprop_slider``. ``full`` and ``truncated`` are the two
    ``experiments.chars.Connectivity`` runs; ``norms()`` returns the two arrays shown.
    """

    who = "ConnectivityView"

    def __init__(self, model=None, text=None, t=None, bprop_len=32, cols=64, figsize=(8.2, 4.4)):
        super().__init__(figsize)
        self.position = W.IntSlider(min=0, max=1, value=0, description=tr("conn.position"),
                                    continuous_update=False)
        self.bprop_slider = W.IntSlider(min=1, max=64, value=32, description="bprop_len",
                                        continuous_update=False)
        self._start([self.position, self.bprop_slider],
                    lambda: self._build(model, text, t, bprop_len, cols), observed=[self.position])
        self.bprop_slider.observe(self._on_bprop, names="value")

    def _build(self, model, text, t, bprop_len, cols):
        E.check_count(self.who, "cols", cols, low=8)
        bprop_len = E.check_bprop_len(bprop_len, self.who)
        model, text, notes = default_model_and_text(model, text, 193)
        ids = passage_ids(text, self.who)
        self.model, self.ids = model, ids
        self.text = ids_to_chars(ids)
        T = len(ids) - 1                       # predictions: after reading x_0..x_t, for t < T
        if t is None:
            t = T - 1
        if isinstance(t, bool) or not isinstance(t, (int, numpy.integer)) or not 0 <= t < T:
            notes.append(tr("conn.outside", t=repr(t), last=T - 1))
            t = T - 1
        self.full = C.Connectivity(model, ids)
        self.bprop_slider.max = max(64, bprop_len)
        self.bprop_slider.value = bprop_len
        self.truncated = C.Connectivity(model, ids, bprop_len)
        fig = self.figure
        fig.clf()
        cmap = light("YlOrRd", 0.0, 1.0)
        self.norm = connectivity_norm()
        self.ax_full = fig.add_axes([0.02, 0.5, 0.86, 0.36])
        self.ax_trunc = fig.add_axes([0.02, 0.05, 0.86, 0.36])
        self.views = [CharTextView(ax, self.text, cols=cols, cmap=cmap, norm=self.norm)
                      for ax in (self.ax_full, self.ax_trunc)]
        unit_colorbar(fig, self.views[0].image, [0.9, 0.05, 0.018, 0.81], ftr("conn.colorbar"))
        self.titles = [fig.text(0.02, 0.965, "", ha="left", va="top", fontsize=9),
                       fig.text(0.02, 0.475, "", ha="left", va="top", fontsize=9)]
        self.readout = fig.text(0.02, 0.905, "", ha="left", va="top", fontsize=8, color="#333333")
        self.position.max = T - 1
        self.position.value = int(t)
        dynamic = [a for v in self.views for a in v.artists()] + self.titles + [self.readout]
        self.set_dynamic(dynamic)
        return notes

    def norms(self, t=None):
        """(full, truncated): n_s for s = 0..t under each."""
        t = int(self.position.value if t is None else t)
        return self.full.norms(t), self.truncated.norms(t)

    def _on_bprop(self, change):
        if not self.ready:
            return
        self.truncated = C.Connectivity(self.model, self.ids, int(change["new"]))
        self.redraw()

    def _update_views(self):
        if not self.ready:
            return
        t = int(self.position.value)
        full, trunc = self.norms(t)
        top = float(max(full.max(), trunc.max(), 1e-30))   # one scale for both: a fixed colour bar
        for view, n in zip(self.views, (full, trunc)):
            values = numpy.where(n > 0, n / top, numpy.nan)
            view.update(values)
            view.mark(t, t + 1)
        start = self.truncated.window_start(t)
        self.views[1].cut(start)
        nxt = self.text[t + 1]
        shown_next = "\\n" if nxt == "\n" else nxt
        self.titles[0].set_text(ftr("conn.full", t=t, next=shown_next))
        self.titles[1].set_text(ftr("conn.truncated", b=self.truncated.bprop_len, start=start))
        before = float(full[:start].sum() / full.sum()) if full.sum() > 0 else 0.0
        self.readout.set_text(ftr("conn.readout", t=t, before=before, start=start))
