"""Gradient flow: |dL_t/dh_s| for every pair s <= t as a lower-triangular heatmap (log colour)."""
import numpy
from matplotlib import colors as mcolors
import matplotlib


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
    never sees (s in an earlier window than t)."""

    def __init__(self, ax, norms, window=None, colorbar=True, title=None):
        norms = numpy.asarray(norms, dtype=float)
        self.ax = ax
        T = norms.shape[0]
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#ffffff")
        self.image = ax.imshow(numpy.ma.masked_invalid(norms), cmap=cmap, norm=_log_norm(norms),
                               origin="upper", interpolation="nearest", aspect="equal")
        self.overlay = ax.imshow(numpy.zeros((T, T, 4)), origin="upper", interpolation="nearest",
                                 aspect="equal")
        ax.set_xlabel("s (hidden state h_s)", fontsize=8)
        ax.set_ylabel("t (loss L_t)", fontsize=8)
        ax.tick_params(labelsize=7)
        from matplotlib.ticker import MaxNLocator
        ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(6, integer=True))
        ax.set_title(title or "gradient flow ||dL_t / dh_s||", fontsize=9)
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
            n = _log_norm(norms)
            self.image.norm.vmin, self.image.norm.vmax = n.vmin, n.vmax
        T = self.norms.shape[0]
        rgba = numpy.zeros((T, T, 4))
        if window is not None and window < T:
            m = self.window_mask(T, int(window))
            rgba[m] = (0.88, 0.88, 0.88, 0.7)
        self.overlay.set_data(rgba)
