"""Draw a traced Graph (rnnviz.graph data model) with matplotlib: data in, artists out.

Functions are squares, link boxes (grouped functions) are large rounded squares, variables are
circles, parameters are yellow diamonds, and a variable whose history was cut is a red circle with
a dashed ring and a scissors mark. ``GraphPlot.update`` changes colours, visibility and the
highlighted node in place.
"""
import math

import numpy
from matplotlib import colors as mcolors
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D

from ..i18n import ftr

KIND_COLORS = {
    "function": "#6fa8dc",
    "group": "#9fc5e8",
    "variable": "#d9d9d9",
    "param": "#ffd966",
    "cut": "#e06666",
}
NO_DATA = (0.93, 0.93, 0.93, 1.0)


SHORT = {"SoftmaxCrossEntropy": "SoftmaxCE", "MeanSquaredError": "MSE", "AddConstant": "Add c",
         "MulConstant": "Mul c", "BroadcastTo": "Bcast"}


def short_label(label):
    """A label short enough to sit under a node."""
    label = SHORT.get(label, label)
    return label if len(label) <= 10 else label[:9] + "…"


class GraphPlot:
    """The view of one graph on ``ax``. ``update(mode=..., visible=..., highlight=...)``.

    ``mode``: None (colour by kind), ``'values'`` (variables coloured by |value|) or
    ``'gradients'`` (variables coloured by |grad|, log scale; grey: no gradient).
    """

    def __init__(self, ax, graph, layout, mode=None, labels="auto", title=None, legend=True,
                 colorbar=True):
        self.ax, self.graph, self.layout = ax, graph, layout
        n = len(graph.nodes)
        self.x, self.y = numpy.asarray(layout.x, float), numpy.asarray(layout.y, float)
        nodes = graph.nodes
        self.is_fn = numpy.array([nd.kind == "function" for nd in nodes], bool)
        self.is_group = numpy.array([nd.kind == "group" for nd in nodes], bool)
        self.is_param = numpy.array([nd.is_param for nd in nodes], bool)
        self.is_cut = numpy.array([nd.cut for nd in nodes], bool)
        self.is_var = ~(self.is_fn | self.is_group | self.is_param | self.is_cut)
        xs = self.x if n else numpy.zeros(1)
        ys = self.y if n else numpy.zeros(1)
        fig_w, fig_h = ax.figure.get_size_inches()
        pos = ax.get_position()
        ptx = fig_w * 72 * pos.width / max(2.0, xs.max() - xs.min() + 1.8)
        pty = fig_h * 72 * pos.height / max(2.0, ys.max() - ys.min() + 3.0)
        self.pts_per_unit = min(ptx, pty)
        dense = n > 400
        size = float(numpy.clip((0.5 * self.pts_per_unit) ** 2, 9.0, 260.0))
        self.size = size
        # edges
        segs = numpy.zeros((len(graph.edges), 2, 2))
        if graph.edges:
            src = numpy.array([e.src for e in graph.edges])
            dst = numpy.array([e.dst for e in graph.edges])
            segs[:, 0, 0], segs[:, 0, 1] = self.x[src], self.y[src]
            segs[:, 1, 0], segs[:, 1, 1] = self.x[dst], self.y[dst]
            self.edge_src, self.edge_dst = src, dst
        else:
            self.edge_src = self.edge_dst = numpy.zeros(0, int)
        self.edge_rgba = numpy.tile(mcolors.to_rgba("#888888", 0.35 if dense else 0.6), (len(segs), 1))
        if len(segs):   # parameters feed every step: draw their edges faintly
            self.edge_rgba[self.is_param[self.edge_src], 3] = 0.12
        self.edges = LineCollection(segs, colors=self.edge_rgba, linewidths=0.5 if dense else 0.9,
                                    zorder=1)
        ax.add_collection(self.edges)
        # node collections, one per shape
        self.sets = {}
        spec = [("function", self.is_fn, "s", 1.0), ("group", self.is_group, "s", 2.6),
                ("variable", self.is_var, "o", 0.7), ("param", self.is_param, "D", 0.8),
                ("cut", self.is_cut, "o", 1.1)]
        for kind, mask, marker, scale in spec:
            idx = numpy.flatnonzero(mask)
            base = numpy.tile(mcolors.to_rgba(KIND_COLORS[kind]), (len(idx), 1))
            coll = ax.scatter(self.x[idx], self.y[idx], s=size * scale, marker=marker, c=base if len(idx) else None,
                              edgecolors="#333333" if kind != "cut" else "#b00000",
                              linewidths=0.6 if kind != "cut" else 1.2, zorder=3 if kind != "group" else 2)
            self.sets[kind] = (idx, coll, base)
        cut_idx = numpy.flatnonzero(self.is_cut)
        self.cut_ring = ax.scatter(self.x[cut_idx], self.y[cut_idx], s=size * 3.2, marker="o",
                                   facecolors="none", edgecolors="#cc0000", linewidths=1.2,
                                   linestyles="--", zorder=4)
        self.cut_texts = [ax.text(self.x[i], self.y[i] + 0.42, "✂", color="#cc0000", ha="center",
                                  va="bottom", fontsize=11, zorder=5) for i in cut_idx[:200]]
        self.highlight = ax.scatter([], [], s=size * 5, facecolors="none", edgecolors="#ff8800",
                                    linewidths=2.5, zorder=6)
        # labels: functions and groups (and named parameters) when there is room
        self.texts, self.text_idx = [], []
        fs = 7 if self.pts_per_unit < 40 else 8
        if labels == "auto":
            labels = n <= 400 and self.pts_per_unit >= 12 and \
                self._label_gap(ptx) >= 5.6 * fs and pty >= 2.4 * fs
        if labels:
            for nd in nodes:
                if nd.is_param and self.pts_per_unit < 22:
                    continue   # no room left of the parameter column for "link.W"
                if nd.kind in ("function", "group") or nd.is_param:
                    text = short_label(nd.label)
                    # beside their node, never over it: below the nodes' zorder, so recolouring the
                    # nodes need not redraw ~100 labels (most of a blit's cost on the demo graph)
                    kw = dict(ha="center", va="top", fontsize=fs, zorder=1.5, clip_on=True)
                    x, y = self.x[nd.id], self.y[nd.id] - 0.3
                    if nd.is_param:
                        text = (nd.link.rsplit("/", 1)[-1] + "." if nd.link else "") + nd.label
                        x, y = x - 0.35, self.y[nd.id]
                        kw.update(ha="right", va="center", fontsize=6.5)
                    elif nd.kind == "group":
                        y = self.y[nd.id]
                        kw.update(va="center", fontweight="bold")
                    self.texts.append(ax.text(x, y, text, **kw))
                    self.text_idx.append(nd.id)
        self.text_idx = numpy.asarray(self.text_idx, int)
        # axes: bands and time steps for the unrolled layout
        pad = 0.9
        if len(self.texts):   # room for half a label beside the first and the last node
            pad = max(pad, 22.0 / max(ptx, 1e-6))
        if n:
            left = 1.6 if self.is_param.any() else pad
            ax.set_xlim(self.x.min() - left, self.x.max() + pad)
            ax.set_ylim(self.y.min() - pad, self.y.max() + pad + (1.2 if legend else 0))
        if layout.kind == "unrolled":
            ax.set_yticks([r[0] for r in layout.rows], [r[1] for r in layout.rows], fontsize=8)
            cols = layout.columns
            stride = max(1, int(math.ceil(len(cols) / 12)))
            ax.set_xticks([c[0] for c in cols[::stride]], [f"t={c[1]}" for c in cols[::stride]], fontsize=8)
            ax.tick_params(length=0)
            for side in ("top", "right", "left", "bottom"):
                ax.spines[side].set_visible(False)
            y0, y1 = ax.get_ylim()
            xs_ = [c[0] + layout.step_width / 2.0 for c in cols[:-1]]
            self.step_lines = LineCollection([[(x, y0), (x, y1)] for x in xs_], colors="#eeeeee",
                                             linewidths=0.8, zorder=0)
            ax.add_collection(self.step_lines)
        else:
            ax.set_axis_off()
        if title:
            ax.set_title(title, fontsize=10)
        self.note = ax.text(0.01, 0.01, graph.note, transform=ax.transAxes, fontsize=8, color="#a61c00",
                            va="bottom", zorder=7)
        self.mappable = ScalarMappable(norm=mcolors.Normalize(0, 1), cmap="viridis")
        self.colorbar = None
        self._slot = None      # the hidden colour bar that reserves the room beside the axes
        self._bars = {}        # mode -> its own colour bar in that room, built when first shown
        self._stats = {}       # mode -> (rgba, ok): colours computed once per mode
        if colorbar:
            self._slot = self.colorbar = ax.figure.colorbar(self.mappable, ax=ax, fraction=0.025, pad=0.01)
            self.colorbar.ax.tick_params(labelsize=7)
            self.colorbar.ax.set_visible(False)
        if legend:
            self._legend()
        self.mode = None
        self.visible = numpy.ones(n, bool)
        self.update(mode=mode)

    def _legend(self):
        handles = []
        present = [(k, m) for k, m in (("function", self.is_fn), ("group", self.is_group),
                                       ("variable", self.is_var), ("param", self.is_param),
                                       ("cut", self.is_cut))]
        names = {kind: ftr("plot." + kind) for kind in ("function", "group", "variable", "param", "cut")}
        markers = {"function": "s", "group": "s", "variable": "o", "param": "D", "cut": "o"}
        for kind, mask in present:
            if mask.any():
                handles.append(Line2D([], [], ls="none", marker=markers[kind], ms=8,
                                      mfc=KIND_COLORS[kind], mec="#b00000" if kind == "cut" else "#333333",
                                      label=names[kind]))
        if handles:
            self.ax.legend(handles=handles, loc="upper left", fontsize=7, framealpha=0.9,
                           ncol=len(handles), bbox_to_anchor=(0.0, 1.0), borderaxespad=0.1)

    def _label_gap(self, ptx):
        """The smallest horizontal distance (points) between two labelled nodes of one row: the
        room a label under a node has (a label of 9 characters at 7 pt is about 38 pt wide)."""
        lab = self.is_fn | self.is_group
        gaps = [numpy.inf]
        if lab.any():
            order = numpy.lexsort((self.x[lab], numpy.round(self.y[lab], 3)))
            xs, ys = self.x[lab][order], numpy.round(self.y[lab], 3)[order]
            same = ys[1:] == ys[:-1]
            if same.any():
                gaps.append(float(numpy.min(numpy.diff(xs)[same])))
        return min(gaps) * ptx

    def artists_from(self, zorder=0.0):
        """The plot's own data artists (edges, nodes, rings, marks, labels, highlight, note) with
        zorder >= ``zorder``: what must be redrawn, in this order, when the ones at ``zorder``
        change (the step grid, axis labels, title and legend are left out: they do not move)."""
        arts = [self.edges] + [coll for _, coll, _ in self.sets.values()] + [self.cut_ring] + \
            self.cut_texts + [self.highlight] + self.texts + [self.note]
        return sorted((a for a in arts if a.get_zorder() >= zorder), key=lambda a: a.get_zorder())

    # -- colours -------------------------------------------------------------------------------
    def colorbars(self):
        """Every colour bar of the plot (one per colouring shown so far, and the room's own)."""
        return ([self._slot] if self._slot is not None else []) + list(self._bars.values())

    def show_colorbar(self, mode):
        """Show the colour bar of ``mode`` (None: none). Each colouring keeps its own bar, so
        switching back and forth rebuilds no ticks (a bar's norm change costs ~30 ms)."""
        if self._slot is None:
            return
        if mode is not None and mode not in self._bars:
            fig = self.ax.figure
            cax = fig.add_axes(self._slot.ax.get_position(), label=f"colour bar {mode} {id(self)}")
            bar = fig.colorbar(self.mappable, cax=cax)
            bar.ax.tick_params(labelsize=7)
            bar.set_label(ftr("plot.value_norm" if mode == "values" else "plot.grad_norm"), fontsize=8)
            self._bars[mode] = bar
        for key, bar in self._bars.items():
            bar.ax.set_visible(key == mode and self.ax.get_visible())
        self.colorbar = self._bars.get(mode, self._slot)

    def _stat_colors(self, mode):
        """RGBA per node for 'values' / 'gradients' (each computed once); NO_DATA where none."""
        if mode not in self._stats:
            rgba, ok = self._compute_stat_colors(mode)       # sets self.mappable
            self._stats[mode] = (rgba, ok, self.mappable)
        rgba, ok, self.mappable = self._stats[mode]
        return rgba, ok

    def _compute_stat_colors(self, mode):
        vals = numpy.full(len(self.graph.nodes), numpy.nan)
        for nd in self.graph.nodes:
            st = nd.value if mode == "values" else nd.grad
            if st is not None:
                vals[nd.id] = st.norm
        ok = numpy.isfinite(vals) & (vals > 0)
        if mode == "gradients":
            if ok.any():
                lo, hi = vals[ok].min(), vals[ok].max()
                norm = mcolors.LogNorm(lo, hi if hi > lo else lo * 10)
            else:
                norm = mcolors.LogNorm(1e-3, 1)
            cmap = "magma_r"
        else:
            if ok.any():
                lo, hi = vals[ok].min(), vals[ok].max()
                norm = mcolors.Normalize(lo, hi if hi > lo else lo + 1)
            else:
                norm = mcolors.Normalize(0, 1)
            cmap = "viridis"
        self.mappable = ScalarMappable(norm=norm, cmap=cmap)   # its own, so no other bar redraws
        rgba = numpy.empty((len(vals), 4))
        rgba[:] = NO_DATA
        if ok.any():
            rgba[ok] = self.mappable.to_rgba(vals[ok])
        return rgba, ok

    def update(self, mode="same", visible=None, highlight="same", graph=None):
        """Change colours (``mode``), which nodes show (``visible``: bool mask) and the highlighted
        node id, in place. ``graph``: a new trace of the same structure (new statistics).
        Only what changed is touched (a new colouring leaves edges and labels alone), so a caller
        that redraws just the changed artists can rely on the others' being as they were."""
        recolour = False
        if graph is not None:
            self.graph = graph
            self._stats.clear()
            for bar in self._bars.values():
                bar.ax.remove()
            self._bars.clear()
            mode = self.mode if mode == "same" else mode
            self.mode = "__force__"
        if mode != "same" and mode != self.mode:
            self.mode = mode
            stat = self._stat_colors(mode) if mode in ("values", "gradients") else None
            for kind, (idx, coll, base) in self.sets.items():
                cols = base.copy()
                if stat is not None:
                    rgba, ok = stat
                    sel = ok[idx]
                    cols[sel] = rgba[idx][sel]
                    if kind in ("variable", "param"):
                        cols[~sel] = NO_DATA
                self.sets[kind] = (idx, coll, base)
                coll._rnnviz_colors = cols
            self.show_colorbar(mode if stat is not None else None)
            recolour = True
        shown = False
        if visible is not None:
            visible = numpy.asarray(visible, bool)
            shown = not numpy.array_equal(visible, self.visible)
            self.visible = visible
        if recolour or shown:
            for kind, (idx, coll, base) in self.sets.items():
                cols = getattr(coll, "_rnnviz_colors", base).copy()
                if len(idx):
                    cols[:, 3] *= self.visible[idx]
                    coll.set_facecolors(cols)
                    edge = numpy.tile(mcolors.to_rgba("#b00000" if kind == "cut" else "#333333"), (len(idx), 1))
                    edge[:, 3] = self.visible[idx]
                    coll.set_edgecolors(edge)
        if shown:
            if len(self.edge_src):
                e = self.edge_rgba.copy()
                e[:, 3] *= self.visible[self.edge_src] & self.visible[self.edge_dst]
                self.edges.set_color(e)
            for t, i in zip(self.texts, self.text_idx):
                t.set_visible(bool(self.visible[i]))
            cut_idx = numpy.flatnonzero(self.is_cut)
            ring = numpy.tile(mcolors.to_rgba("#cc0000"), (len(cut_idx), 1))
            ring[:, 3] = self.visible[cut_idx]
            self.cut_ring.set_edgecolors(ring)
            for t, i in zip(self.cut_texts, cut_idx):
                t.set_visible(bool(self.visible[i]))
        if highlight != "same":
            if highlight is None:
                self.highlight.set_offsets(numpy.zeros((0, 2)))
            else:
                self.highlight.set_offsets([[self.x[highlight], self.y[highlight]]])
