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
from matplotlib import rcParams as mpl_rc
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.textpath import text_to_path

from ..graph.layout import SHORT, display_label  # noqa: F401 (SHORT re-exported)
from ..i18n import ftr
from . import fonts

KIND_COLORS = {
    "function": "#6fa8dc",
    "group": "#9fc5e8",
    "variable": "#d9d9d9",
    "param": "#ffd966",
    "cut": "#e06666",
}
NO_DATA = (0.93, 0.93, 0.93, 1.0)
TICK_SIZE = LEGEND_SIZE = 8       # the unrolled layout's tick labels and the legend (points)


short_label = display_label      # the older name


def _wrap(text):
    """``text`` on two lines, split at a space or where a capital starts a word ('Softmax\\nCE'),
    as evenly as possible; None when it has no such place."""
    cuts = [k for k in range(1, len(text)) if text[k - 1] == " " or
            (text[k].isupper() and text[k - 1].islower())]
    if not cuts:
        return None
    k = min(cuts, key=lambda c: abs(len(text) - 2 * c))
    return text[:k].rstrip() + "\n" + text[k:].lstrip()


_WIDTHS = {}


def _text_width(text, size, bold=False):
    """The width in points of ``text`` at ``size`` pt (its widest line), measured with the font
    matplotlib will use."""
    key = (text, size, bold, tuple(mpl_rc["font.family"]))
    if key not in _WIDTHS:
        prop = FontProperties(size=size, weight=fonts.bold() if bold else "normal")
        _WIDTHS[key] = max(text_to_path.get_text_width_height_descent(line, prop, ismath=False)[0]
                           for line in text.split("\n"))
    return _WIDTHS[key]


def log_ticks(lo, hi):
    """Ticks for a log colour scale from ``lo`` to ``hi``: the powers of ten inside (every other
    one when there are more than five), else 1-2-5 steps, else the two ends (rounded)."""
    lo, hi = float(lo), float(hi)
    k0, k1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    inside = lambda v: lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)
    ticks = [10.0 ** k for k in range(k0, k1 + 1) if inside(10.0 ** k)]
    while len(ticks) > 5:
        ticks = ticks[::2]
    if len(ticks) < 2:
        ticks = [m * 10.0 ** k for k in range(k0, k1 + 1) for m in (1, 2, 5) if inside(m * 10.0 ** k)]
    if len(ticks) > 5:
        ticks = [t for t in ticks if f"{t:.0e}"[0] in "15"]
    if len(ticks) < 2:
        ticks = [float(f"{lo:.2g}"), float(f"{hi:.2g}")]
        ticks = [t for t in ticks if inside(t)] or [lo, hi]
    return ticks


def tick_text(v):
    """A short tick label: plain for 0.001 to 9999, else 'm×10ⁿ' in mathtext."""
    if 1e-3 <= abs(v) < 1e4:
        return f"{v:.3g}"
    m, k = f"{v:.1e}".split("e")
    m = m.rstrip("0").rstrip(".")
    power = f"10^{{{int(k)}}}"
    return f"${power}$" if m == "1" else f"${m}{{\\times}}{power}$"


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
        self.mappable = ScalarMappable(norm=mcolors.Normalize(0, 1), cmap="viridis")
        self.colorbar = None
        self._slot = None      # the hidden colour bar that reserves the room beside the axes
        if colorbar:           # made first: the axes it narrows set the scale of what follows
            self._slot = self.colorbar = ax.figure.colorbar(self.mappable, ax=ax, fraction=0.025, pad=0.01)
            self.colorbar.ax.tick_params(which="both", labelsize=7)
            self.colorbar.ax.set_visible(False)
        fig_w, fig_h = ax.figure.get_size_inches()
        pos = ax.get_position()
        self._axes_pts = fig_w * 72 * pos.width
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
        # labels: functions, link boxes, named variables and parameters, each where it fits; the
        # axes get the room they need, and the labels are chosen again at the scale that leaves
        self.texts, self.text_idx = [], []
        if labels == "auto":
            labels = n <= 400 and self.pts_per_unit >= 12
        top = 0.9 + (1.2 if legend else 0.0)
        placed = self._place_labels(ptx, pty) if labels and n else []
        if placed:
            left, right, bottom = self._pads(ptx, pty, xs.max() - xs.min())
            ptx2 = fig_w * 72 * pos.width / max(2.0, xs.max() - xs.min() + left + right)
            pty2 = fig_h * 72 * pos.height / max(2.0, ys.max() - ys.min() + bottom + top)
            if ptx2 < ptx or pty2 < pty:
                placed = self._place_labels(min(ptx, ptx2), min(pty, pty2))
        for i, text, fs, bold, where in placed:
            # beside their node, never over it: below the nodes' zorder, so recolouring the nodes
            # need not redraw ~100 labels (most of a blit's cost on the demo graph)
            kw = dict(fontsize=fs, zorder=1.5, annotation_clip=False, textcoords="offset points",
                      fontweight=fonts.bold() if bold else "normal", linespacing=1.0)
            if where[0] == "left":
                kw.update(ha="right", va="center", xytext=(-where[1], 0))
            else:
                kw.update(ha="center", va="top", xytext=(0, -where[1]))
            self.texts.append(ax.annotate(text, (self.x[i], self.y[i]), **kw))
            self.text_idx.append(i)
        self.text_idx = numpy.asarray(self.text_idx, int)
        if n:
            left, right, bottom = self._pads(ptx, pty, xs.max() - xs.min()) if placed else \
                (1.6 if self.is_param.any() else 0.9, 0.9, 0.9)
            ax.set_xlim(self.x.min() - left, self.x.max() + right)
            ax.set_ylim(self.y.min() - bottom, self.y.max() + top)
        if layout.kind == "unrolled":
            ax.set_yticks([r[0] for r in layout.rows], [r[1] for r in layout.rows], fontsize=TICK_SIZE)
            cols = layout.columns
            stride = max(1, int(math.ceil(len(cols) / 12)))
            ax.set_xticks([c[0] for c in cols[::stride]], [f"t={c[1]}" for c in cols[::stride]], fontsize=TICK_SIZE)
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
        self._bars = {}        # mode -> its own colour bar in that room, built when first shown
        self._stats = {}       # mode -> (rgba, ok): colours computed once per mode
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
            # as large as the tick labels (8 pt), so that its words read as well as they do
            self.ax.legend(handles=handles, loc="upper left", fontsize=LEGEND_SIZE, framealpha=0.9,
                           ncol=len(handles), bbox_to_anchor=(0.0, 1.0), borderaxespad=0.1)

    # -- labels ------------------------------------------------------------------------------------
    SCALE = {"function": 1.0, "group": 2.6, "variable": 0.7, "param": 0.8, "cut": 3.2}

    def _kind(self, i):
        for kind, mask in (("cut", self.is_cut), ("group", self.is_group), ("function", self.is_fn),
                           ("param", self.is_param)):
            if mask[i]:
                return kind
        return "variable"

    def _half(self, i):
        """Half the width of node ``i``'s marker, in points (a diamond is a square turned by 45°)."""
        kind = self._kind(i)
        return math.sqrt(self.size * self.SCALE[kind]) / 2.0 * (math.sqrt(2.0) if kind == "param" else 1.0)

    def _label_text(self, nd):
        """What node ``nd`` is called under it (None: no label): a function's or a link box's name,
        a named variable's name; a parameter's 'link.name' (drawn left of it)."""
        if nd.is_param:
            return (nd.link.rsplit("/", 1)[-1] + "." if nd.link else "") + (nd.label or "param")
        if nd.kind in ("function", "group"):
            return display_label(nd.label)
        if nd.name:
            return nd.name
        return None

    def _place_labels(self, ptx, pty):
        """Choose, for each node with a name, the largest legible form of its label (8 or 7 pt, then
        wrapped on two lines, then 6.5 pt) that fits the room between its neighbours, without ever
        cutting a word short; a label that fits in no form is left out (the node menu names it).
        Returns (node id, text, font size, bold, (side, offset in points)) per label."""
        nodes = self.graph.nodes
        n = len(nodes)
        base = 8.0 if self.pts_per_unit >= 40 else 7.0
        self._label_halfwidth, self._label_depth, self._param_width = {}, {}, 0.0
        placed = []
        below = [i for i in range(n) if not self.is_param[i] and self._label_text(nodes[i])]
        # parameters stack 0.7 apart in the unrolled layout: a label needs about 8.5 pt of that
        params = [i for i in range(n) if self.is_param[i]] if 0.7 * pty >= 8.5 else []
        rows = {}
        for i in below:
            rows.setdefault(round(float(self.y[i]), 3), []).append(i)
        for i in below:
            nd = nodes[i]
            text = self._label_text(nd)
            bold = nd.kind == "group"
            half = self._half(i)
            # the room across: to the nearest named node of the same row, each label taking half
            same = [j for j in rows[round(float(self.y[i]), 3)] if j != i]
            gap = min([abs(self.x[j] - self.x[i]) * ptx for j in same] + [numpy.inf])
            room_x = gap - 4.0
            # the room down: to the nearest node below whose column the label would cross
            room_y = numpy.inf
            for j in range(n):
                if self.y[j] < self.y[i] - 1e-6 and abs(self.x[j] - self.x[i]) * ptx < 0.5 * gap + self._half(j):
                    room_y = min(room_y, (self.y[i] - self.y[j]) * pty - self._half(j) - half - 3.0)
            chosen = None
            for fs, lines in ((base, 1), (base, 2), (6.5, 1), (6.5, 2)):
                form = text if lines == 1 else _wrap(text)
                if form is None:
                    continue
                w = _text_width(form, fs, bold)
                h = fs * 1.15 * (form.count("\n") + 1)
                if w <= room_x and h <= room_y:
                    chosen = (form, fs, w, h)
                    break
            if chosen is None:
                continue
            form, fs, w, h = chosen
            offset = half + 1.5
            self._label_halfwidth[i] = w / 2.0
            self._label_depth[i] = offset + h
            placed.append((i, form, fs, bold, ("below", offset)))
        for i in params:
            text = self._label_text(nodes[i])
            w = _text_width(text, 6.5, False)
            self._param_width = max(self._param_width, w + self._half(i) + 3.0)
            placed.append((i, text, 6.5, False, ("left", self._half(i) + 3.0)))
        return placed

    def _pads(self, ptx, pty, span):
        """(left, right, bottom) room around the nodes, in data units: half the widest label beside
        the first and the last column, the deepest label under the lowest row, the parameters'
        labels left of their column."""
        pad = 0.9
        widest = max(self._label_halfwidth.values(), default=0.0)
        right = max(pad, (widest + 3.0) / max(ptx, 1e-6))
        left = right
        if self.is_param.any():
            left = max(1.6, self._param_room(ptx, span + right))
        low = self.y.min() + 1e-6
        deepest = max([d for i, d in self._label_depth.items() if self.y[i] <= low] + [0.0])
        bottom = max(pad, (deepest + 3.0) / max(pty, 1e-6))
        return left, right, bottom

    def _param_room(self, ptx, span):
        """The x room (data units) left of the parameter column for its labels: the widest label
        in points, turned into data units at the scale the axes will have once that room is made."""
        need = self._param_width + 4.0
        width_pts = self._axes_pts
        return need * span / (width_pts - need) if need < 0.5 * width_pts else 1.6

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
            if isinstance(self.mappable.norm, mcolors.LogNorm):
                # a few labelled ticks, all one size, short enough to leave room for the bar's label
                ticks = log_ticks(self.mappable.norm.vmin, self.mappable.norm.vmax)
                bar.set_ticks(ticks, labels=[tick_text(t) for t in ticks])
                bar.minorticks_off()
            bar.ax.tick_params(which="both", labelsize=7)
            bar.set_label(ftr("plot.value_norm" if mode == "values" else "plot.grad_norm"), fontsize=8,
                          labelpad=2)
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
                if hi < lo * 1.5:      # one value, or nearly: a scale around it, not from it
                    lo, hi = lo / 2.0, hi * 2.0
                norm = mcolors.LogNorm(lo, hi)
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
