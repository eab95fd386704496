"""Exploding gradients, drawn: loss and gradient norm per update, and the Jacobian product's norm
against steps back. Data in (the dicts of ``rnnviz.experiments.explode``), artists out."""
import numpy
from matplotlib.ticker import LogLocator, MaxNLocator

from ..i18n import ftr
from .fonts import small

LOSS_COLOR, NORM_COLOR, APPLIED_COLOR, ELEMENT_COLOR, BOUND_COLOR = (
    "#1f4e79", "#222222", "#2e86de", "#e67e22", "#cc0000")


def _log_limits(arrays, pad=1.6):
    values = numpy.concatenate([numpy.ravel(a) for a in arrays]) if arrays else numpy.ones(1)
    ok = values[numpy.isfinite(values) & (values > 0)]
    if not ok.size:
        return 0.1, 10.0
    return float(ok.min()) / pad, float(ok.max()) * pad


class GradientNormView:
    """Three panels: ``ax_loss`` the loss per update (the chance level ``chance`` dashed),
    ``ax_norm`` the global gradient norm per update on a log scale (as ``backward()`` computed it,
    and as applied after clipping; the norm threshold, or for value clipping the largest element
    and its bound), ``ax_jac`` ||dh_T / dh_{T-k}|| against k with and without the tanh.

    ``loss_max``, ``norm_range`` and ``jac_range`` fix the axes (pass the range of every run you
    will show, so that runs compare on the same scales). ``update(run, tanh, linear)`` moves every
    line in place: ``run`` a ``train_run`` dict, ``tanh``/``linear`` the Jacobian-product norms."""

    def __init__(self, ax_loss, ax_norm, ax_jac, run, tanh, linear, loss_max, norm_range, jac_range,
                 chance=None):
        self.axes = (ax_loss, ax_norm, ax_jac)
        n = max(len(run["loss"]), 1)
        ax_loss.set_xlim(0, n)
        ax_loss.set_ylim(0, loss_max * 1.05)
        if chance is not None:
            ax_loss.axhline(chance, color="#888888", lw=1, ls="--")
            ax_loss.text(0.99, chance, ftr("explode.chance"), transform=ax_loss.get_yaxis_transform(),
                         ha="right", va="bottom", fontsize=small(7), color="#666666",
                         bbox=dict(fc="white", ec="none", alpha=0.8, pad=1.0))
        (self.loss_line,) = ax_loss.plot([], [], color=LOSS_COLOR, lw=1.1)
        ax_loss.set_ylabel(ftr("explode.loss"), fontsize=8)
        ax_loss.set_title(ftr("explode.loss_title"), fontsize=9)
        ax_loss.tick_params(labelbottom=False)

        ax_norm.set_yscale("log")
        ax_norm.set_xlim(0, n)
        ax_norm.set_ylim(*norm_range)
        (self.norm_line,) = ax_norm.plot([], [], color=NORM_COLOR, lw=0.9, zorder=3,
                                         label=ftr("explode.norm_computed"))
        (self.applied_line,) = ax_norm.plot([], [], color=APPLIED_COLOR, lw=1.8, zorder=2,
                                            label=ftr("explode.norm_applied"))
        (self.element_line,) = ax_norm.plot([], [], color=ELEMENT_COLOR, lw=0.8, alpha=0.9,
                                            label=ftr("explode.max_element"))
        self.bound_line = ax_norm.axhline(1.0, color=BOUND_COLOR, lw=1.2, ls="--")
        self.bound_text = ax_norm.text(0.01, 1.0, "", transform=ax_norm.get_yaxis_transform(),
                                       ha="left", va="bottom", fontsize=small(7), color=BOUND_COLOR, zorder=5,
                                       bbox=dict(fc="white", ec="none", alpha=0.85, pad=1.0))
        ax_norm.set_ylabel(ftr("explode.norm"), fontsize=8)
        ax_norm.set_xlabel(ftr("explode.update"), fontsize=8)
        ax_norm.yaxis.set_major_locator(LogLocator(numticks=6))
        self.norm_legend = ax_norm.legend(fontsize=small(7), loc="upper right", frameon=True, framealpha=0.85,
                                          handlelength=1.4, borderaxespad=0.3)

        k = numpy.arange(len(tanh))
        ax_jac.set_yscale("log")
        ax_jac.set_xlim(0, max(len(tanh) - 1, 1))
        ax_jac.set_ylim(*jac_range)
        ax_jac.axhline(1.0, color="#999999", lw=0.6, ls=":")
        (self.tanh_line,) = ax_jac.plot(k, tanh, color=LOSS_COLOR, lw=1.8, label=ftr("explode.jac_tanh"))
        (self.linear_line,) = ax_jac.plot(k, linear, color="#888888", lw=1.2, ls="--",
                                          label=ftr("explode.jac_linear"))
        ax_jac.set_xlabel(ftr("explode.jac_x"), fontsize=8)
        ax_jac.set_title(ftr("explode.jac_title"), fontsize=9)
        ax_jac.yaxis.set_major_locator(LogLocator(numticks=7))
        ax_jac.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        ax_jac.legend(fontsize=small(7), loc="upper left", frameon=True, framealpha=0.85, handlelength=1.6)
        for ax in self.axes:
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
        ax_loss.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        ax_norm.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        self.update(run, tanh, linear)

    def artists(self):
        """What ``update`` changes (for blitting)."""
        return [self.loss_line, self.norm_line, self.applied_line, self.element_line, self.bound_line,
                self.bound_text, self.tanh_line, self.linear_line]

    def update(self, run, tanh, linear):
        x = numpy.arange(len(run["loss"]))
        self.loss_line.set_data(x, run["loss"])
        self.norm_line.set_data(x, run["norm"])
        clip, c = run["clip"], run["threshold"]
        clipping = clip in ("norm", "value")
        # without clipping the applied gradient is the computed one: the two lines coincide
        self.applied_line.set_data(x, run["applied"])
        self.element_line.set_data(x, run["max_abs"])
        self.bound_line.set_visible(clipping)
        self.bound_text.set_visible(clipping)
        if clipping:
            self.bound_line.set_ydata([c, c])
            self.bound_line.set_color(BOUND_COLOR if clip == "norm" else ELEMENT_COLOR)
            self.bound_text.set_color(BOUND_COLOR if clip == "norm" else ELEMENT_COLOR)
            self.bound_text.set_position((0.01, c))
            self.bound_text.set_text(ftr("explode.bound_norm" if clip == "norm" else "explode.bound_value", c=c))
        k = numpy.arange(len(tanh))
        self.tanh_line.set_data(k, tanh)
        self.linear_line.set_data(k, linear)
