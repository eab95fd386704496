"""Where truncated BPTT cuts the history: step shading (alive / freed), cut marks, and the live
function nodes and bytes held over the run. Data in (measured by the caller), artists out."""
import numpy
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..i18n import ftr
from . import fonts
from .fonts import small
from .graph_plot import TICK_SIZE     # the graph's tick labels: its legend is no smaller

ALIVE, FREED, NOT_RUN = "#b6d7a8", "#e6e6e6", "#ffffff"
COUNT = "#274e13"   # the per-step live node counts


class UnchainView:
    """Decorates a GraphPlot of the full unrolled graph (``plot``) and draws a timeline on
    ``ax_time``. ``update(status, live_per_step, cuts, timeline, bytes_timeline, ...)``:

    * ``status[s]``: 0 not run yet, 1 alive (its function nodes still exist), 2 freed;
    * ``live_per_step[s]``: live function nodes of step s; ``cuts``: steps s whose state h_s was cut;
    * ``timeline[i]``, ``bytes_timeline[i]``: live nodes and bytes after the forward of step i
      (drawn at x = i, so that with the same x range per step they sit under the graph's column i).

    The number at the foot of each alive step is its own count of live function nodes
    (``live_per_step``); the legend says so, and the timeline's value is their sum.
    """

    def __init__(self, plot, ax_time, n_steps):
        self.plot = plot
        ax = plot.ax
        lay = plot.layout
        self.n = n_steps
        w = lay.step_width
        y0, y1 = ax.get_ylim()
        self.x_of = numpy.array([lay.step_x(s) for s in range(n_steps)], float)
        from matplotlib.collections import LineCollection, PolyCollection
        self.w = w
        self.rects = PolyCollection([[(x - w / 2.0, y0), (x + w / 2.0, y0), (x + w / 2.0, y1), (x - w / 2.0, y1)]
                                     for x in self.x_of], facecolors=NOT_RUN, edgecolors="none", zorder=0)
        ax.add_collection(self.rects)
        self.y_span = (y0, y1)
        self.cut_lines = LineCollection([], colors="#cc0000", linestyles="--", linewidths=1.6, zorder=6)
        ax.add_collection(self.cut_lines)
        self.cut_marks = [ax.text(self.x_of[s] + w / 2.0, y1, "✂", color="#cc0000", ha="center", va="top",
                                  fontsize=13, zorder=7, visible=False) for s in range(n_steps)]
        self.counts = [ax.text(self.x_of[s], y0 + 0.05, "", ha="center", va="bottom", fontsize=7.5,
                               color=COUNT, fontweight=fonts.bold(), zorder=7) for s in range(n_steps)]
        ax.legend(handles=[Patch(fc=ALIVE, label=ftr("unchain.alive")),
                           Patch(fc=FREED, label=ftr("unchain.freed")),
                           Patch(fc=NOT_RUN, ec="#bbbbbb", label=ftr("unchain.not_run")),
                           Line2D([], [], color="#cc0000", ls="--", label=ftr("unchain.cut")),
                           Line2D([], [], ls="none", marker="$n$", ms=6, color=COUNT,
                                  label=ftr("unchain.count"))],
                  loc="lower left", fontsize=TICK_SIZE, ncol=3, bbox_to_anchor=(0.0, 1.01), borderaxespad=0.0,
                  framealpha=0.9, columnspacing=1.0, handlelength=1.5, handletextpad=0.5)
        steps = numpy.arange(n_steps)
        (self.live_line,) = ax_time.step(steps, numpy.zeros(n_steps), where="mid", color="#38761d",
                                         lw=1.5, label=ftr("unchain.live_legend"))
        ax_time.set_xlim(-0.5, n_steps - 0.5)
        ax_time.set_xlabel(ftr("unchain.time_axis"), fontsize=8)
        ax_time.set_ylabel(ftr("unchain.live"), fontsize=8, color="#38761d")
        ax_time.tick_params(labelsize=7)
        from matplotlib.ticker import MaxNLocator
        ax_time.yaxis.set_major_locator(MaxNLocator(4, integer=True))
        ax_time.xaxis.set_major_locator(MaxNLocator(8, integer=True))
        self.ax_time = ax_time
        self.ax_bytes = ax_time.twinx()
        (self.bytes_line,) = self.ax_bytes.plot(steps, numpy.zeros(n_steps), color="#674ea7", lw=1.2,
                                                ls=":", marker=".", label=ftr("unchain.bytes"))
        self.ax_bytes.set_ylabel(ftr("unchain.kib"), fontsize=8, color="#674ea7")
        self.ax_bytes.tick_params(labelsize=7)
        self.ax_bytes.yaxis.set_major_locator(MaxNLocator(4))
        # what each curve is, and what 'held' means, above the timeline's right end
        self.timeline_legend = ax_time.legend(
            handles=[self.live_line, self.bytes_line], loc="lower right", bbox_to_anchor=(1.0, 1.0),
            ncol=2, fontsize=small(7), frameon=False, borderaxespad=0.2, handlelength=2.0)
        self.summary = ax_time.text(0.01, 0.97, "", transform=ax_time.transAxes, va="top", fontsize=small(8),
                                    bbox=dict(fc="white", ec="#cccccc", alpha=0.9))
        self.limits = None

    def set_limits(self, max_live, max_bytes):
        """Fix the timeline's y axes, each to its own curve's largest value (e.g. over the whole run
        the length slider walks through, so that moving it does not rescale them); without it they
        follow the data shown."""
        # headroom above the peaks for the summary box in the upper left corner
        self.limits = (max(1.0, float(max_live)) * 1.4, max(1e-3, float(max_bytes) / 1024.0) * 1.4)
        self.ax_time.set_ylim(0, self.limits[0])
        self.ax_bytes.set_ylim(0, self.limits[1])

    def artists(self):
        """The artists ``update`` changes, with the graph's artists they are drawn under or over. The
        timeline's two axes count whole: their y scales follow the run shown (ticks included)."""
        return ([self.rects] + self.plot.artists_from(0) + [self.cut_lines] + self.cut_marks + self.counts +
                [self.ax_time, self.ax_bytes, self.live_line, self.bytes_line, self.summary])

    def update(self, status, live_per_step, cuts, timeline, bytes_timeline, summary=""):
        visible = numpy.zeros(len(self.plot.graph.nodes), bool)
        for nd in self.plot.graph.nodes:
            visible[nd.id] = nd.step is None or (nd.step < len(status) and status[nd.step] != 0)
        self.plot.update(visible=visible)
        cutset = set(int(c) for c in cuts)
        palette = {0: NOT_RUN, 1: ALIVE, 2: FREED}
        self.rects.set_facecolors([palette[int(status[s]) if s < len(status) else 0] for s in range(self.n)])
        y0, y1 = self.y_span
        self.cut_lines.set_segments([[(self.x_of[s] + self.w / 2.0, y0), (self.x_of[s] + self.w / 2.0, y1)]
                                     for s in sorted(cutset) if s < self.n])
        self.cut_steps = sorted(cutset)
        for s in range(self.n):
            st = status[s] if s < len(status) else 0
            self.cut_marks[s].set_visible(s in cutset)
            c = live_per_step[s] if s < len(live_per_step) else 0
            self.counts[s].set_text(str(int(c)) if st == 1 else "")
        k = len(timeline)
        y = numpy.full(self.n, numpy.nan)
        y[:k] = timeline
        self.live_line.set_ydata(y)
        b = numpy.full(self.n, numpy.nan)
        b[:k] = numpy.asarray(bytes_timeline, float) / 1024.0
        self.bytes_line.set_ydata(b)
        if self.limits is None:
            top = max(1.0, float(numpy.nanmax(y)) if k else 1.0)
            self.ax_time.set_ylim(0, top * 1.4)
            btop = max(1e-3, float(numpy.nanmax(b)) if k else 1.0)
            self.ax_bytes.set_ylim(0, btop * 1.4)
        self.summary.set_text(summary)
