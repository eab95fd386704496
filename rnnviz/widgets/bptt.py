"""BPTTComparison: full vs truncated gradients, gradient flow, and the recurrent weight's scale."""
import ipywidgets as W
import numpy

from .. import experiments as E
from ..i18n import ftr, tr
from ..viz import GradientFlowView, TruncationView
from ._base import FigureWidget

DEFAULT_SCALES = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)


def _bad_scales(scales):
    """The entries of ``scales`` that are not finite numbers > 0 (None when all are fine)."""
    if isinstance(scales, (str, bytes)):
        return scales
    try:
        values = list(scales)
    except TypeError:
        return scales
    bad = [s for s in values if isinstance(s, bool) or not isinstance(s, (int, float, numpy.number))
           or not numpy.isfinite(s) or s <= 0]
    return bad or (None if values else scales)


class BPTTComparison(FigureWidget):
    """How much of the gradient does truncated BPTT keep?

    Left: the gradient flow ||dL_t/dh_s|| (each step loss back-propagated on its own, norms read
    from ``h_s.grad``); the greyed cells are the pairs truncated BPTT with the chosen bprop_len
    never sees. Right: cosine similarity and relative error between the truncated and the full
    gradient of every parameter, against bprop_len. The scale slider multiplies the recurrent
    weight W_h (the recurrent link's ``lateral.W``): small scales make gradients vanish, large
    ones make them explode.

    ``BPTTComparison()`` uses the built-in tiny LSTM language model on 12 steps.
    ``BPTTComparison(model, xs, ts=None, bprop_lens=None, scales=DEFAULT_SCALES, scale=1.0,
    bprop_len=3, lossfun=None, figsize=(8.2, 5))``: ``model`` an ``L.Classifier`` (or a predictor
    with ``lossfun``) with an ``L.LSTM``/``L.RNN``; ``xs``/``ts`` word ids (T,) or (T, batch);
    ``bprop_lens`` the truncation lengths compared (default 1..T, thinned for long T); ``scales``
    the W_h multipliers precomputed for the slider (``scale`` snaps to the nearest of them).

    Controls: ``scale_slider`` (SelectionSlider over exactly the precomputed scales, read out as
    "× 1.5": every step shows another run), ``bprop_slider`` (IntSlider), ``message``; ``redraw()``.
    """

    who = "BPTTComparison"

    def __init__(self, model=None, xs=None, ts=None, bprop_lens=None, scales=DEFAULT_SCALES, scale=1.0,
                 bprop_len=3, lossfun=None, figsize=(8.2, 5)):
        super().__init__(figsize)
        bad = _bad_scales(scales)
        self.scales = (1.0,) if bad else tuple(sorted(set(float(s) for s in scales))) or (1.0,)
        # only the scales that were computed: every step of the slider shows another run
        self.scale_slider = W.SelectionSlider(options=[(f"× {s:g}", s) for s in self.scales],
                                              value=min(self.scales, key=lambda s: abs(s - 1.0)),
                                              description=tr("bptt.scale"))
        self.bprop_slider = W.IntSlider(min=1, max=2, value=1, description="bprop_len")
        self._results = {}
        controls = [self.scale_slider, self.bprop_slider]
        self._start(controls, lambda: self._setup(model, xs, ts, bprop_lens, scale, bprop_len, lossfun, bad),
                    observed=controls)

    def _setup(self, model, xs, ts, bprop_lens, scale, bprop_len, lossfun, bad_scales=None):
        if bad_scales:
            raise E.InputError(f"{self.who}: scales must be numbers > 0 (multipliers of W_h), got "
                               f"{bad_scales!r}")
        bprop_len = E.check_bprop_len(bprop_len, self.who)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
            raise E.InputError(f"{self.who}: scale must be a number > 0, got {scale!r}")
        self.sm, self.xs, self.ts = E.model_and_data(model, xs, ts, lossfun, who=self.who)
        T = len(self.xs)
        if bprop_lens is not None:
            try:
                bprop_lens = [E.check_count(self.who, "bprop_lens entry", b) for b in bprop_lens]
            except TypeError:
                raise E.InputError(f"{self.who}: bprop_lens must be a list of ints, got {bprop_lens!r}") from None
        if bprop_lens is None:
            bprop_lens = list(range(1, T + 1)) if T <= 16 else \
                sorted(set(numpy.unique(numpy.round(numpy.geomspace(1, T, 12)).astype(int)).tolist()))
        self.bprop_lens = [int(b) for b in bprop_lens if 1 <= int(b) <= T]
        notes = []
        if len(self.bprop_lens) != len(list(bprop_lens)):
            notes.append(tr("bptt.outside", T=T))
        if not self.bprop_lens:
            raise E.InputError(f"BPTTComparison: no bprop_len in 1..{T} to compare")
        if bprop_len > T:
            notes.append(tr("bptt.too_long", b=bprop_len, T=T))
            bprop_len = T
        for s in self.scales:
            self._compute(s)
        self.bprop_slider.max = T
        self.bprop_slider.value = max(1, int(bprop_len))
        self.scale_slider.value = min(self.scales, key=lambda s: abs(s - scale))
        self._build()
        return notes

    def _compute(self, scale):
        """Measure (gradient-flow norms, names, cosine, relative error) with W_h scaled."""
        if scale not in self._results:
            with E.scaled_lateral(self.sm.recurrent, scale):
                norms = E.gradient_flow(self.sm, self.xs, self.ts)
                names, cos, err = E.compare_truncation(self.sm, self.xs, self.ts, self.bprop_lens)
            self._results[scale] = (norms, names, cos, err)
        return self._results[scale]

    def result(self, scale=None):
        """(norms, names, cos, rel_err) for the slider's scale (the nearest precomputed one)."""
        s = self.scale_slider.value if scale is None else scale
        s = min(self.scales, key=lambda v: abs(v - s)) if s not in self.scales else s
        return self._compute(s)

    def _build(self):
        norms, names, cos, err = self.result()
        fig = self.figure
        fig.clf()
        ax_f = fig.add_axes([0.055, 0.09, 0.40, 0.75])
        ax_c = fig.add_axes([0.575, 0.5, 0.405, 0.32])
        ax_e = fig.add_axes([0.575, 0.1, 0.405, 0.25], sharex=ax_c)
        # one colour scale and one error axis over every precomputed W_h scale: the scale slider
        # then compares runs on the same axes (and nothing but the data has to be redrawn)
        results = [self._results[s] for s in self.scales]
        self.flow_view = GradientFlowView(ax_f, norms, window=self.bprop_slider.value,
                                          norm_over=[r[0] for r in results])
        short = [n.strip("/").replace("predictor/", "") for n in names]
        errs = numpy.concatenate([numpy.ravel(r[3]) for r in results])
        err_max = float(numpy.nanmax(errs)) if numpy.isfinite(errs).any() else None
        self.trunc_view = TruncationView(ax_c, ax_e, self.bprop_lens, short, cos, err,
                                         bprop_len=self.bprop_slider.value, err_max=err_max)
        ax_c.tick_params(labelbottom=False)
        self.title = fig.text(0.5, 0.985, "", ha="center", va="top", fontsize=10, linespacing=1.4)
        self.set_dynamic([self.flow_view.image, self.flow_view.overlay] + self.trunc_view.artists() +
                         [self.title])

    def _update_views(self):
        if not self.ready:
            return
        norms, names, cos, err = self.result()
        b = self.bprop_slider.value
        self.flow_view.update(norms, window=b)
        self.trunc_view.update(cos, err, b)
        s = min(self.scales, key=lambda v: abs(v - self.scale_slider.value))
        ok = numpy.isfinite(norms) & (norms > 0)
        diag = numpy.nanmean(numpy.diag(norms))
        first = numpy.nanmean(norms[-1, :1])
        self.title.set_text(ftr("bptt.title", scale=s, first=first, diag=diag, b=b) if ok.any() else "")
