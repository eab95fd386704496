"""GradientNormExplorer: exploding gradients and clipping, trained and measured up front."""
import ipywidgets as W
import numpy

from .. import experiments as E
from ..experiments import explode as X
from ..i18n import ftr, tr
from ..viz.gradnorm import GradientNormView, _log_limits
from ._base import FigureWidget

DEFAULT_RADII = (1.0, 2.0, 3.0, 4.0, 6.0)
DEFAULT_THRESHOLDS = {"norm": (1.0, 4.0), "value": (0.05, 0.2)}


def _positive_numbers(who, name, values):
    """``values`` as a sorted tuple of distinct finite floats > 0, or an InputError."""
    try:
        items = list(values)
    except TypeError:
        items = None
    if not items or isinstance(values, (str, bytes)) or any(
            isinstance(v, bool) or not isinstance(v, (int, float, numpy.number)) or not numpy.isfinite(v)
            or v <= 0 for v in items):
        raise E.InputError(f"{who}: {name} must be a non-empty list of numbers > 0, got {values!r}")
    return tuple(sorted(set(float(v) for v in items)))


class GradientNormExplorer(FigureWidget):
    """A tanh RNN (hidden 16) trained with plain SGD and full BPTT on delayed recall, its W_h
    rescaled to spectral radius rho before training (``rnnviz.experiments.explode``).

    Left: the loss per update, and the global gradient norm per update on a log scale: as
    ``backward()`` computed it, as applied after clipping, and its largest element; the dashed line
    is the clipping threshold (the norm's, or each element's bound). Right: ||dh_T / dh_{T-k}||
    against k for the untrained model at that rho, measured with ``backward()``, beside the same
    weights without the tanh (W_h^k, which grows like rho^k).

    ``GradientNormExplorer(radii=DEFAULT_RADII, radius=4.0, clip="none", thresholds=None,
    seed=0, updates=None, figsize=(8.6, 5.2))``: every (rho, clipping) run is trained when the
    widget is built, so the controls only redraw. ``thresholds``: {"norm": (...), "value": (...)},
    the thresholds offered for each mode (default ``DEFAULT_THRESHOLDS``); ``updates`` the length
    of each run (default ``PROTOCOL["updates"]``).

    Controls: ``radius_slider`` (SelectionSlider over ``radii``), ``clip_buttons`` (none / norm /
    value), ``threshold_slider`` (the chosen mode's thresholds), ``message``; ``redraw()``;
    ``run(radius, clip, threshold)`` and ``jacobian(radius)`` the numbers behind the picture.
    """

    who = "GradientNormExplorer"

    def __init__(self, radii=DEFAULT_RADII, radius=4.0, clip="none", thresholds=None, seed=0,
                 updates=None, figsize=(8.6, 5.2)):
        super().__init__(figsize)
        self.radius_slider = W.SelectionSlider(options=[("1", 1.0)], value=1.0,
                                               description=tr("explode.radius"))
        self.clip_buttons = W.ToggleButtons(
            options=[(tr("explode.none"), "none"), (tr("explode.norm_mode"), "norm"),
                     (tr("explode.value_mode"), "value")], value="none",
            description=tr("explode.clip"), style={"button_width": "64px"})
        self.threshold_slider = W.SelectionSlider(options=[("-", 0.0)], value=0.0,
                                                  description=tr("explode.threshold"))
        self._runs, self._jac = {}, {}
        controls = [self.radius_slider, self.clip_buttons, self.threshold_slider]
        self._start(controls, lambda: self._setup(radii, radius, clip, thresholds, seed, updates),
                    observed=[self.radius_slider, self.threshold_slider])
        self.clip_buttons.observe(self._on_mode, names="value")

    def _setup(self, radii, radius, clip, thresholds, seed, updates):
        self.radii = _positive_numbers(self.who, "radii", radii)
        if clip not in X.CLIP_MODES:
            raise E.InputError(f"{self.who}: clip must be one of {X.CLIP_MODES}, got {clip!r}")
        given = DEFAULT_THRESHOLDS if thresholds is None else thresholds
        if not isinstance(given, dict) or set(given) - {"norm", "value"}:
            raise E.InputError(f"{self.who}: thresholds must be a dict with keys 'norm' and/or "
                               f"'value', got {thresholds!r}")
        self.thresholds = {m: _positive_numbers(self.who, f"thresholds[{m!r}]", given.get(m, DEFAULT_THRESHOLDS[m]))
                           for m in ("norm", "value")}
        if isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)) or seed < 0:
            raise E.InputError(f"{self.who}: seed must be an int >= 0, got {seed!r}")
        self.seed = int(seed)
        self.updates = X.PROTOCOL["updates"] if updates is None else E.check_count(self.who, "updates", updates)
        if isinstance(radius, bool) or not isinstance(radius, (int, float)) or not radius > 0:
            raise E.InputError(f"{self.who}: radius must be a number > 0, got {radius!r}")
        for r in self.radii:
            self._jac[r] = (X.remembered(X.jacobian_profile, self.seed, r),
                            X.remembered(X.jacobian_profile, self.seed, r, linear=True))
            self._train(r, "none", None)
            for mode in ("norm", "value"):
                for c in self.thresholds[mode]:
                    self._train(r, mode, c)
        self.radius_slider.options = [(f"{r:g}", r) for r in self.radii]
        self.radius_slider.value = min(self.radii, key=lambda r: abs(r - radius))
        self.clip_buttons.value = clip
        self._set_threshold_options(clip)
        self._build()
        return []

    # -- numbers -----------------------------------------------------------------------------------
    def _train(self, radius, clip, threshold):
        key = (radius, clip, threshold)
        if key not in self._runs:
            self._runs[key] = X.remembered(X.train_run, self.seed, radius, clip, threshold, updates=self.updates)
        return self._runs[key]

    def run(self, radius=None, clip=None, threshold=None):
        """The ``train_run`` dict behind the picture (default: the controls' choice)."""
        radius = self.radius_slider.value if radius is None else radius
        clip = self.clip_buttons.value if clip is None else clip
        if clip == "none":
            threshold = None
        elif threshold is None:
            threshold = self.threshold_slider.value
        return self._runs[(radius, clip, threshold)]

    def jacobian(self, radius=None):
        """(tanh, linear): ||dh_T / dh_{T-k}|| for k = 0, 1, ... at ``radius``, before training."""
        return self._jac[self.radius_slider.value if radius is None else radius]

    # -- controls ----------------------------------------------------------------------------------
    def _set_threshold_options(self, mode):
        """The threshold slider offers the chosen mode's thresholds (the same position kept)."""
        slider = self.threshold_slider
        if mode == "none":
            slider.disabled = True
            return
        old = list(slider.options)
        index = next((i for i, (_, v) in enumerate(old) if v == slider.value), 0)
        values = self.thresholds[mode]
        options = [(f"{c:g}", c) for c in values]
        if [v for _, v in old] != list(values):
            slider.options = options
            slider.value = values[min(index, len(values) - 1)]
        slider.disabled = False

    def _on_mode(self, change):
        if self.ready:
            self._quiet = True          # one redraw for the mode and its threshold together
            try:
                self._set_threshold_options(change["new"])
            finally:
                self._quiet = False
        self.redraw()

    def _on_change(self, change):
        if not getattr(self, "_quiet", False):
            self.redraw()

    # -- drawing -----------------------------------------------------------------------------------
    def _build(self):
        runs = list(self._runs.values())
        loss_max = max(float(numpy.max(r["loss"])) for r in runs if len(r["loss"]))
        norm_range = _log_limits([r["norm"] for r in runs] + [r["max_abs"] for r in runs]
                                 + [numpy.array(self.thresholds["norm"] + self.thresholds["value"])])
        jac_range = _log_limits([a for pair in self._jac.values() for a in pair], pad=3.0)
        fig = self.figure
        fig.clf()
        ax_loss = fig.add_axes([0.08, 0.52, 0.44, 0.30])
        ax_norm = fig.add_axes([0.08, 0.09, 0.44, 0.38], sharex=ax_loss)
        ax_jac = fig.add_axes([0.62, 0.09, 0.36, 0.73])
        tanh, linear = self.jacobian()
        self.view = GradientNormView(ax_loss, ax_norm, ax_jac, self.run(), tanh, linear, loss_max,
                                     norm_range, jac_range, chance=float(numpy.log(X.PROTOCOL["vocab"])))
        self.title = fig.text(0.5, 0.985, "", ha="center", va="top", fontsize=9, linespacing=1.4)
        self.set_dynamic(self.view.artists() + [self.title])

    def _update_views(self):
        if not self.ready:
            return
        r = self.run()
        tanh, linear = self.jacobian()
        self.view.update(r, tanh, linear)
        clip = {"none": ftr("explode.clip_none"),
                "norm": ftr("explode.clip_norm", c=r["threshold"] or 0),
                "value": ftr("explode.clip_value", c=r["threshold"] or 0)}[r["clip"]]
        if r["stopped"] is not None:
            self.title.set_text(ftr("explode.title_stopped", radius=r["radius"], clip=clip, u=r["stopped"]))
            return
        self.title.set_text(ftr("explode.title", radius=r["radius"], clip=clip,
                                loss=float(numpy.mean(r["loss"][-10:])), big=float(r["norm"].max()),
                                tanh=X.growth_per_step(tanh), linear=X.growth_per_step(linear)))
