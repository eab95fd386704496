"""The hidden state over time: a units x time heatmap that fills in, and chosen units as lines."""
import numpy

from ..i18n import ftr
from .fonts import small


class HiddenStateView:
    """``states``: array (units, T). ``update(t)`` shows steps 0..t, in place.

    ``words``: optional labels of the T steps (the input words) for the x axis.
    """

    def __init__(self, ax_heat, ax_lines, states, units=(0, 1, 2), words=None, colorbar=True):
        states = numpy.asarray(states, dtype=float)
        if states.ndim != 2:
            raise ValueError(f"HiddenStateView: expected states of shape (units, T), got {states.shape}")
        self.states = states
        H, T = states.shape
        self.units = [u for u in units if 0 <= u < H]
        lim = float(max(1e-6, numpy.abs(states).max()))
        # one frame, refilled for each t: future steps are NaN (drawn blank). Memory H x T, not
        # a frame per step (H x T^2: 3.2 GB at 2,000 steps)
        self._frame = states.copy()
        import matplotlib
        cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="#f4f4f4")
        self.image = ax_heat.imshow(self._frame, aspect="auto", cmap=cmap, vmin=-lim, vmax=lim,
                                    interpolation="nearest", origin="lower")
        ax_heat.set_ylabel(ftr("hidden.unit_axis"), fontsize=8)
        ax_heat.set_title(ftr("hidden.title"), fontsize=9)
        ax_heat.tick_params(labelsize=7)
        ax_heat.set_yticks(sorted({0, H // 2, H - 1}))
        if colorbar:
            cax = ax_heat.inset_axes([1.01, 0.0, 0.015, 1.0])   # keeps the heatmap as wide as the lines
            cb = ax_heat.figure.colorbar(self.image, cax=cax)
            cb.ax.tick_params(labelsize=7)
            cb.set_ticks([-lim, 0, lim], labels=[f"{-lim:.2f}", "0", f"{lim:.2f}"])
        self.cursor = ax_heat.axvline(T - 1, color="#222222", lw=1.2)
        steps = numpy.arange(T)
        self.lines = []
        for u in self.units:
            (line,) = ax_lines.plot(steps, states[u], marker="o", ms=3, lw=1.3, label=ftr("hidden.unit", u=u))
            self.lines.append(line)
        ax_lines.set_xlim(-0.5, T - 0.5)
        ax_lines.set_ylim(-lim * 1.1, lim * 1.1)
        self.zero_line = ax_lines.axhline(0, color="#bbbbbb", lw=0.6)
        ax_lines.set_ylabel(ftr("hidden.activation"), fontsize=8)
        ax_lines.tick_params(labelsize=7)
        ax_lines.set_yticks([-round(lim, 2), 0, round(lim, 2)])
        self.legend = None
        if self.units:
            # beside the axes (where the heatmap has its colour bar), never over the data
            self.legend = ax_lines.legend(fontsize=small(7), loc="upper left", bbox_to_anchor=(1.01, 1.0),
                                          borderaxespad=0.0, handlelength=1.5, frameon=False)
        if words is not None:
            labels = [str(w) for w in words][:T]
            stride = max(1, -(-T // 18))
            ax_lines.set_xticks(steps[::stride], labels[::stride], rotation=40, ha="right", fontsize=7)
            ax_lines.set_xlabel(ftr("hidden.input_word"), fontsize=8)
        else:
            ax_lines.set_xlabel(ftr("hidden.time"), fontsize=8)
        ax_heat.set_xticks([])
        self.cursor2 = ax_lines.axvline(T - 1, color="#222222", lw=1.0)
        self.t = T - 1

    def update(self, t):
        t = int(numpy.clip(t, 0, self.states.shape[1] - 1))
        self.t = t
        frame = self._frame
        frame[:, :t + 1] = self.states[:, :t + 1]
        frame[:, t + 1:] = numpy.nan
        self.image.set_data(frame)  # matplotlib copies it
        x = numpy.arange(t + 1)
        for u, line in zip(self.units, self.lines):
            line.set_data(x, self.states[u, :t + 1])
        self.cursor.set_xdata([t, t])
        self.cursor2.set_xdata([t, t])

    def artists(self):
        """The artists ``update`` changes, with the ones drawn over them (in drawing order)."""
        return [self.image, self.cursor, *self.lines, self.zero_line, self.cursor2] + \
            ([self.legend] if self.legend is not None else [])
