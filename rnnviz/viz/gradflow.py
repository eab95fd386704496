"""Gradient flow: |dL_t/dh_s| for every pair s <= t as a lower-triangular heatmap (log colour)."""
import numpy
from matplotlib import colors as mcolors
from matplotlib.collections import PolyCollection
import matplotlib

from ..i18n import ftr


GREY = (0.88, 0.88, 0.88, 0.7)


def _runs(row):
    """[lo, hi) of each run of True in a bool row."""
    d = numpy.diff(numpy.concatenate([[0], row.astype(numpy.int8), [0]]))
    return list(zip(numpy.flatnonzero(d == 1).tolist(), numpy.flatnonzero(d == -1).tolist()))


def _log_norm(norms):
    ok = numpy.isfinite(norms) & (norms > 0)
    if not ok.any():
        return mcolors.LogNorm(1e-8, 1.0)
    lo, hi = float(norms[ok].min()), float(norms[ok].max())
    lo = max(lo, hi * 1e-12)
    return mcolors.LogNorm(lo, hi if hi > lo else lo * 10)


class GradientFlowView:
    """``norms[t, s]`` = ||dL_t/dh_s|| (NaN above the diagonal). ``update(norms, window=b)``:
    new numbers in place; ``window`` greys out the pairs that truncated BPTT with bprop_len ``b``
    never sees (s in an earlier window than t).

    ``norm_over``: optional list of norms arrays (e.g. every run a slider can show) whose joint
    range fixes the colour scale, so colours compare across runs; ``vrange=(low, high)`` fixes it
    outright (pictures meant to be compared side by side share one); by default the colour scale
    follows the norms shown. ``title``, ``xlabel``: the axes' texts (defaults: ``flow.*``)."""

    def __init__(self, ax, norms, window=None, colorbar=True, title=None, norm_over=None, vrange=None,
                 xlabel=None):
        norms = numpy.asarray(norms, dtype=float)
        self.ax = ax
        self.fixed_norm = norm_over is not None or vrange is not None
        if vrange is not None:
            joint = numpy.asarray(vrange, dtype=float)
        elif norm_over is not None:
            joint = numpy.concatenate([numpy.ravel(numpy.asarray(n, float)) for n in norm_over])
        else:
            joint = norms
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#ffffff")
        # colour the T x T cells before resampling them to the screen: same picture, less work
        self.image = ax.imshow(numpy.ma.masked_invalid(norms), cmap=cmap, norm=_log_norm(joint),
                               origin="upper", interpolation="nearest", interpolation_stage="rgba",
                               aspect="equal")
        # the greyed pairs: a few rectangles over the cells (much cheaper to redraw than an image)
        self.overlay = PolyCollection([], facecolors=[GREY], edgecolors="none", antialiased=False, zorder=0.5)
        ax.add_collection(self.overlay, autolim=False)
        ax.set_xlabel(xlabel or ftr("flow.x"), fontsize=8)
        ax.set_ylabel(ftr("flow.y"), fontsize=8)
        ax.tick_params(labelsize=7)
        from matplotlib.ticker import MaxNLocator
        ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(6, integer=True))
        ax.set_title(title or ftr("flow.title"), fontsize=9)
        self.colorbar = None
        if colorbar:
            self.colorbar = ax.figure.colorbar(self.image, ax=ax, fraction=0.046, pad=0.02)
            self.colorbar.ax.tick_params(labelsize=7)
        self.norms = norms
        self.update(norms, window)

    @staticmethod
    def window_mask(T, b):
        """True where truncated BPTT with bprop_len b drops dL_t/dh_s (s before t's window)."""
        t = numpy.arange(T)[:, None]
        s = numpy.arange(T)[None, :]
        return (s <= t) & (s // b < t // b)

    def update(self, norms=None, window=None):
        if norms is not None:
            norms = numpy.asarray(norms, dtype=float)
            self.norms = norms
            self.image.set_data(numpy.ma.masked_invalid(norms))
            if not self.fixed_norm:
                n = _log_norm(norms)
                self.image.norm.vmin, self.image.norm.vmax = n.vmin, n.vmax
        T = self.norms.shape[0]
        rects = []
        if window is not None and window < T:
            m = self.window_mask(T, int(window))
            # row t greys the cells s in [lo, hi); consecutive rows with the same run make one rectangle
            runs = []
            for t in range(T):
                for lo, hi in _runs(m[t]):
                    if runs and runs[-1][2:] == [lo, hi] and runs[-1][1] == t:
                        runs[-1][1] = t + 1
                    else:
                        runs.append([t, t + 1, lo, hi])
            rects = [[(lo - 0.5, t0 - 0.5), (hi - 0.5, t0 - 0.5), (hi - 0.5, t1 - 0.5), (lo - 0.5, t1 - 0.5)]
                     for t0, t1, lo, hi in runs]
        self.overlay.set_verts(rects)
