"""Full vs truncated BPTT: per-parameter cosine similarity and relative error against bprop_len."""
import numpy
from matplotlib.ticker import MaxNLocator

from ..i18n import ftr
from .fonts import small


class TruncationView:
    """``cos``, ``rel_err``: arrays (n_params, n_bprop) over ``bprop_lens``. ``update(cos, rel_err,
    bprop_len)`` moves the lines and the marker in place. ``err_max``: a fixed top for the
    relative-error axis (by default it follows ``rel_err``). ``overall``: the row that is the
    whole update (all parameters together), drawn as a thick black line and read out first.
    ``cos_min``: the bottom of the cosine axis (its top is 1)."""

    def __init__(self, ax_cos, ax_err, bprop_lens, names, cos, rel_err, bprop_len=None, err_max=None,
                 overall=None, cos_min=-1.05):
        self.bprop_lens = numpy.asarray(bprop_lens)
        self.err_max = err_max
        self.overall = overall
        self.ax_cos, self.ax_err = ax_cos, ax_err
        self.cos_lines, self.err_lines = [], []
        for i, name in enumerate(names):
            style = dict(marker="o", ms=3, lw=1.2)
            if i == overall:
                style = dict(marker="o", ms=3.5, lw=2.4, color="black", zorder=3)
            (a,) = ax_cos.plot(self.bprop_lens, cos[i], label=name, **style)
            style["color"] = a.get_color()
            (b,) = ax_err.plot(self.bprop_lens, rel_err[i], **style)
            self.cos_lines.append(a)
            self.err_lines.append(b)
        ax_cos.set_ylabel(ftr("compare.cos"), fontsize=8)
        ax_cos.set_ylim(cos_min, 1.05)
        ax_cos.axhline(1.0, color="#999999", lw=0.6, ls=":")
        ax_cos.set_title(ftr("compare.title"), fontsize=9)
        ax_err.set_ylabel(ftr("compare.err"), fontsize=8)
        ax_err.set_xlabel(ftr("compare.x"), fontsize=8)
        ax_err.yaxis.set_major_locator(MaxNLocator(4))
        ax_cos.set_yticks([-1, 0, 1] if cos_min < -0.5 else [0, 0.5, 1] if cos_min < 0.25 else [0.5, 0.75, 1])
        for ax in (ax_cos, ax_err):
            ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
        # between the two axes (which share the bprop_len axis), inside the figure
        ax_cos.legend(fontsize=small(7), loc="upper center", bbox_to_anchor=(0.5, -0.03), borderaxespad=0.0,
                      ncol=min(3, max(1, len(names))), handlelength=1.5, columnspacing=1.0,
                      frameon=False)
        x0 = bprop_len if bprop_len is not None else self.bprop_lens[-1]
        self.marker_cos = ax_cos.axvline(x0, color="#cc0000", lw=1.2, ls="--")
        self.marker_err = ax_err.axvline(x0, color="#cc0000", lw=1.2, ls="--")
        if overall is None:
            self.readout = ax_cos.text(0.02, 0.04, "", transform=ax_cos.transAxes, fontsize=small(7.5),
                                       va="bottom", bbox=dict(fc="white", ec="#cccccc", alpha=0.9))
        else:   # top right of the error axes: errors fall with bprop_len, so that corner is free
            self.readout = ax_err.text(0.98, 0.95, "", transform=ax_err.transAxes, fontsize=small(7.5),
                                       ha="right", va="top", zorder=5,
                                       bbox=dict(fc="white", ec="#cccccc", alpha=0.9))
        self.update(cos, rel_err, x0)

    def update(self, cos=None, rel_err=None, bprop_len=None):
        if cos is not None:
            for line, row in zip(self.cos_lines, cos):
                line.set_ydata(row)
            self.cos = numpy.asarray(cos)
        if rel_err is not None:
            for line, row in zip(self.err_lines, rel_err):
                line.set_ydata(row)
            self.rel_err = numpy.asarray(rel_err)
            if self.err_max is not None:
                hi = float(self.err_max)
            else:
                hi = float(numpy.nanmax(self.rel_err)) if numpy.isfinite(self.rel_err).any() else 1.0
            lim = (0.0, max(1e-2, hi) * (1.15 if self.overall is None else 1.6))   # room for the readout
            if tuple(self.ax_err.get_ylim()) != lim:   # setting the same limits still marks the axes changed
                self.ax_err.set_ylim(*lim)
        if bprop_len is not None:
            self.marker_cos.set_xdata([bprop_len, bprop_len])
            self.marker_err.set_xdata([bprop_len, bprop_len])
            k = int(numpy.argmin(numpy.abs(self.bprop_lens - bprop_len)))
            parts = [i for i in range(len(self.cos)) if i != self.overall]
            col = self.cos[parts, k]
            worst = parts[int(numpy.nanargmin(col))] if numpy.isfinite(col).any() else 0
            if self.overall is None:
                text = ftr("compare.readout", b=self.bprop_lens[k], cos=self.cos[worst, k],
                           name=self.cos_lines[worst].get_label())
            else:       # bprop_len said once, on the first line
                text = ftr("bptt.readout", b=self.bprop_lens[k], cos=self.cos[self.overall, k],
                           err=self.rel_err[self.overall, k]) + "\n" + \
                    ftr("compare.readout_lowest", cos=self.cos[worst, k], name=self.cos_lines[worst].get_label())
            self.readout.set_text(text)

    def artists(self):
        """The artists ``update`` changes."""
        return self.cos_lines + self.err_lines + [self.marker_cos, self.marker_err, self.readout]
