"""BPTTComparison: full vs truncated gradients, gradient flow, and the recurrent weight's scale."""
import ipywidgets as W
import numpy

from .. import experiments as E
from ..experiments import truncation as TR
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


def _check_range(who, flow_range):
    if flow_range is None:
        return None
    try:
        lo, hi = (float(v) for v in flow_range)
    except (TypeError, ValueError):
        raise E.InputError(f"{who}: flow_range must be (low, high), two numbers > 0, got {flow_range!r}") from None
    if not (0 < lo < hi) or not numpy.isfinite(hi):
        raise E.InputError(f"{who}: flow_range must be (low, high) with 0 < low < high, got {flow_range!r}")
    return lo, hi


class BPTTComparison(FigureWidget):
    """How much of the gradient does truncated BPTT keep?

    Left: the gradient flow ||dL_t/d state_s|| (each step loss back-propagated on its own, norms
    read from the state's ``.grad``: h, and the cell c for an LSTM); the greyed cells are the pairs
    truncated BPTT with the chosen bprop_len never sees (cuts before steps 0, b, 2b, ...). Right:
    cosine similarity and relative error between the truncated and the full gradient, per
    parameter and for the whole update (all parameters, thick line), against bprop_len. Each point
    is a mean over the window offsets (cuts before o, o + b, ... for o = 0 .. b-1) of the batch's
    gradient (``rnnviz.experiments.truncation``). The scale slider multiplies the recurrent weight
    W_h (the recurrent link's ``lateral.W``).

    ``BPTTComparison()`` shows the protocol: a freshly initialised LSTM language model (hidden 16)
    on delayed recall (the answer at step t is the token read 4 steps earlier), 16 steps, a batch
    of 32 sequences. ``BPTTComparison(model, xs, ts=None, bprop_lens=None, scales=DEFAULT_SCALES,
    scale=1.0, bprop_len=3, lossfun=None, figsize=(8.2, 5), flow_range=None, err_max=None,
    max_offsets=None)``: ``model`` an ``L.Classifier`` (or a predictor with ``lossfun``) with an
    ``L.LSTM``/``L.RNN``; ``xs``/``ts`` word ids (T,) or (T, batch); ``bprop_lens`` the truncation
    lengths compared (default 1..T, thinned for long T); ``scales`` the W_h multipliers
    precomputed for the slider (``scale`` snaps to the nearest of them); ``flow_range`` (low,
    high) fixes the heat map's colour scale and ``err_max`` the top of the relative-error axis
    (by default both span every precomputed scale of this widget); ``max_offsets`` caps the
    offsets averaged per bprop_len (default: all of them up to 32 steps, 8 beyond).

    Pictures to compare side by side: ``BPTTComparison.share_scales(a, b)`` gives both widgets
    the colour scale and error axis that span both.

    Controls: ``scale_slider`` (SelectionSlider over exactly the precomputed scales, read out as
    "× 1.5": every step shows another run), ``bprop_slider`` (IntSlider), ``message``; ``redraw()``;
    ``measurement(scale)`` the numbers behind the picture.
    """

    who = "BPTTComparison"

    def __init__(self, model=None, xs=None, ts=None, bprop_lens=None, scales=DEFAULT_SCALES, scale=1.0,
                 bprop_len=3, lossfun=None, figsize=(8.2, 5), flow_range=None, err_max=None,
                 max_offsets=None):
        super().__init__(figsize)
        bad = _bad_scales(scales)
        self.scales = (1.0,) if bad else tuple(sorted(set(float(s) for s in scales))) or (1.0,)
        # only the scales that were computed: every step of the slider shows another run
        self.scale_slider = W.SelectionSlider(options=[(f"× {s:g}", s) for s in self.scales],
                                              value=min(self.scales, key=lambda s: abs(s - 1.0)),
                                              description=tr("bptt.scale"))
        self.bprop_slider = W.IntSlider(min=1, max=2, value=1, description="bprop_len")
        self._results = {}
        self.flow_range = self.err_max = None
        controls = [self.scale_slider, self.bprop_slider]
        self._start(controls, lambda: self._setup(model, xs, ts, bprop_lens, scale, bprop_len, lossfun, bad,
                                                  flow_range, err_max, max_offsets),
                    observed=controls)

    def _setup(self, model, xs, ts, bprop_lens, scale, bprop_len, lossfun, bad_scales=None,
               flow_range=None, err_max=None, max_offsets=None):
        if bad_scales:
            raise E.InputError(f"{self.who}: scales must be numbers > 0 (multipliers of W_h), got "
                               f"{bad_scales!r}")
        bprop_len = E.check_bprop_len(bprop_len, self.who)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
            raise E.InputError(f"{self.who}: scale must be a number > 0, got {scale!r}")
        self._fixed_flow_range = _check_range(self.who, flow_range)
        if err_max is not None and (isinstance(err_max, bool) or not isinstance(err_max, (int, float))
                                    or not err_max > 0):
            raise E.InputError(f"{self.who}: err_max must be a number > 0, got {err_max!r}")
        self._fixed_err_max = None if err_max is None else float(err_max)
        if max_offsets is not None:
            max_offsets = E.check_count(self.who, "max_offsets", max_offsets)
        if model is None and xs is None and ts is None and lossfun is None:
            model = TR.protocol_model()
            xs, ts = TR.protocol_data()
            self.protocol = dict(TR.PROTOCOL)
        else:
            self.protocol = None
        self.sm, self.xs, self.ts = E.model_and_data(model, xs, ts, lossfun, who=self.who)
        T = len(self.xs)
        self.max_offsets = max_offsets if max_offsets is not None else (None if T <= 32 else 8)
        if bprop_lens is not None:
            try:
                bprop_lens = [E.check_count(self.who, "bprop_lens entry", b) for b in bprop_lens]
            except TypeError:
                raise E.InputError(f"{self.who}: bprop_lens must be a list of ints, got {bprop_lens!r}") from None
        if bprop_lens is None:
            bprop_lens = list(range(1, T + 1)) if T <= 16 else \
                sorted(set(numpy.unique(numpy.round(numpy.geomspace(1, T, 12)).astype(int)).tolist()))
        self.bprop_lens = sorted(set(int(b) for b in bprop_lens if 1 <= int(b) <= T))
        notes = []
        if len(self.bprop_lens) != len(set(bprop_lens)):
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
        self._own_ranges()
        self._build()
        return notes

    # -- numbers -----------------------------------------------------------------------------------
    def _compute(self, scale):
        """Measure (flow norms, names, cosine, relative error, ...) with W_h scaled."""
        if scale not in self._results:
            with E.scaled_lateral(self.sm.recurrent, scale):
                self._results[scale] = TR.compare_truncation_averaged(
                    self.sm, self.xs, self.ts, self.bprop_lens, max_offsets=self.max_offsets, flow=True)
        return self._results[scale]

    def _nearest(self, scale=None):
        s = self.scale_slider.value if scale is None else scale
        return s if s in self.scales else min(self.scales, key=lambda v: abs(v - s))

    def measurement(self, scale=None):
        """The numbers behind the picture at ``scale`` (default: the slider's): a dict with
        ``names`` (parameters, then ``"all"``), ``cos``/``err`` (len(names), len(bprop_lens)) means
        over offsets, ``cos_sd``/``err_sd`` their spread, ``norms`` the gradient flow (T, T),
        ``full_norm``, ``offsets``; see ``rnnviz.experiments.truncation``."""
        return self._compute(self._nearest(scale))

    def result(self, scale=None):
        """(norms, names, cos, rel_err) for the slider's scale (the nearest precomputed one)."""
        r = self.measurement(scale)
        return r["norms"], r["names"], r["cos"], r["err"]

    def ranges(self):
        """(flow_range, err_max, cos_min) this widget's pictures span: every precomputed scale (what
        ``share_scales`` joins)."""
        norms = numpy.concatenate([numpy.ravel(self._results[s]["norms"]) for s in self.scales])
        ok = numpy.isfinite(norms) & (norms > 0)
        flow = None
        if ok.any():
            hi = float(norms[ok].max())
            lo = max(float(norms[ok].min()), hi * 1e-12)
            flow = (lo, hi if hi > lo else lo * 10)
        errs = numpy.concatenate([numpy.ravel(self._results[s]["err"]) for s in self.scales])
        err = float(numpy.nanmax(errs)) if numpy.isfinite(errs).any() else None
        return flow, err, self._cos_min()

    def _own_ranges(self):
        flow, err, cos_min = self.ranges()
        self.flow_range = self._fixed_flow_range or flow
        self.err_max = self._fixed_err_max if self._fixed_err_max is not None else err
        fixed = getattr(self, "_fixed_cos_min", None)
        self.cos_min = cos_min if fixed is None else fixed

    def set_ranges(self, flow_range=None, err_max=None, cos_min=None):
        """Fix the heat map's colour scale (low, high), the top of the relative-error axis and the
        bottom of the cosine axis, and redraw; ``None`` goes back to this widget's own range."""
        if not self.ready:
            return
        self._fixed_flow_range = _check_range(self.who, flow_range)
        self._fixed_err_max = None if err_max is None else float(err_max)
        self._fixed_cos_min = cos_min
        self._own_ranges()
        self._build()
        self.redraw()

    @staticmethod
    def share_scales(*widgets):
        """Give every widget the same colour scale (the joint range of their heat maps, over all
        their W_h scales) and the same relative-error axis, so that pictures placed side by side
        compare at a glance. Returns the widgets."""
        ready = [w for w in widgets if getattr(w, "ready", False)]
        own = [w.ranges() for w in ready]
        flows = [r[0] for r in own if r[0] is not None]
        errs = [r[1] for r in own if r[1] is not None]
        cos_min = min([r[2] for r in own], default=None)
        flow = None
        if flows:
            hi = max(f[1] for f in flows)
            flow = (max(min(f[0] for f in flows), hi * 1e-12), hi)
        err = max(errs) if errs else None
        for w in ready:
            w.set_ranges(flow, err, cos_min)
        return widgets

    # -- drawing -----------------------------------------------------------------------------------
    def _cos_min(self):
        """The cosine axis' bottom: 0 unless some precomputed scale goes below it (then -1)."""
        lows = [numpy.nanmin(self._results[s]["cos"]) for s in self.scales]
        return -1.05 if min(lows) < 0 else -0.05
    def _state_label(self):
        names = getattr(self.sm.recurrent, "state_names", ("h",))
        return ", ".join(f"{n}_s" for n in sorted(names, key=lambda n: n != "h"))

    def _build(self):
        r = self.measurement()
        fig = self.figure
        fig.clf()
        ax_f = fig.add_axes([0.055, 0.09, 0.40, 0.75])
        ax_c = fig.add_axes([0.575, 0.5, 0.405, 0.32])
        ax_e = fig.add_axes([0.575, 0.1, 0.405, 0.25], sharex=ax_c)
        # one colour scale and one error axis over every precomputed W_h scale (or over every
        # widget shared with): the slider then compares runs on the same axes
        state = self._state_label()
        self.flow_view = GradientFlowView(ax_f, r["norms"], window=self.bprop_slider.value,
                                          vrange=self.flow_range,
                                          title=ftr("bptt.flow_title", state=state),
                                          xlabel=ftr("bptt.flow_x", state=state))
        short = [n.strip("/").replace("predictor/", "") for n in r["names"][:-1]] + [ftr("bptt.all")]
        self.trunc_view = TruncationView(ax_c, ax_e, self.bprop_lens, short, r["cos"], r["err"],
                                         bprop_len=self.bprop_slider.value, err_max=self.err_max,
                                         overall=len(short) - 1, cos_min=self.cos_min)
        ax_c.tick_params(labelbottom=False)
        self.title = fig.text(0.5, 0.985, "", ha="center", va="top", fontsize=10, linespacing=1.4)
        self.set_dynamic([self.flow_view.image, self.flow_view.overlay] + self.trunc_view.artists() +
                         [self.title])

    def _update_views(self):
        if not self.ready:
            return
        r = self.measurement()
        b = self.bprop_slider.value
        self.flow_view.update(r["norms"], window=b)
        self.trunc_view.update(r["cos"], r["err"], b)
        s = self._nearest()
        k = int(numpy.argmin(numpy.abs(numpy.asarray(self.bprop_lens) - b)))
        n_off = len(r["offsets"][self.bprop_lens[k]])
        if b >= len(self.xs):
            self.title.set_text(ftr("bptt.title_all", scale=s, b=b, T=len(self.xs), batch=self.xs.shape[1]))
        else:
            self.title.set_text(ftr("bptt.title", scale=s, b=b, b2=2 * b, offsets=n_off,
                                    batch=self.xs.shape[1]))
