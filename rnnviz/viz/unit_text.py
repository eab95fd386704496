"""A passage of text drawn character by character, each character's cell coloured by a number:
one hidden unit's activation (``UnitTextView``) or how much that character's input moves a
prediction (``ConnectivityView``, two passages on one shared scale).

Layout: ``cols`` monospace cells a row; a newline is drawn as ``↵`` in its own cell and the next
character starts a new row; a space is an empty (but coloured) cell.
"""
import numpy
import matplotlib
from matplotlib import colors as mcolors
from matplotlib.patches import Rectangle

from ..i18n import ftr

NEWLINE_MARK = "\u21b5"     # ↵
MONOSPACE = "DejaVu Sans Mono"     # ships with matplotlib; has the ↵
HIGHLIGHT = 0.6                    # opacity of the colours over the letters           # cells without a value (no gradient, or past the passage)


def char_cells(text, cols):
    """(rows, columns) of each character of ``text`` wrapped at ``cols`` and at each newline."""
    rows = numpy.zeros(len(text), int)
    columns = numpy.zeros(len(text), int)
    r = c = 0
    for k, ch in enumerate(text):
        if c >= cols:
            r, c = r + 1, 0
        rows[k], columns[k] = r, c
        c += 1
        if ch == "\n":
            r, c = r + 1, 0
    return rows, columns


def light(cmap_name, lo=0.0, hi=1.0):
    """A colour map cut to [lo, hi] of ``cmap_name``; cells without a value stay uncoloured."""
    base = matplotlib.colormaps[cmap_name]
    return mcolors.ListedColormap(base(numpy.linspace(lo, hi, 256)), name=f"{cmap_name}_light") \
        .with_extremes(bad=(0.0, 0.0, 0.0, 0.0))


class CharTextView:
    """``text`` in cells on ``ax``; ``update(values)`` colours character k by ``values[k]`` (NaN:
    no colour); ``mark(k)`` outlines character k; ``cut(k)`` draws a cut before character k."""

    def __init__(self, ax, text, cols=64, cmap=None, norm=None, fontsize=9, title=None):
        self.ax = ax
        self.text = text
        self.cols = cols
        self.rows, self.columns = char_cells(text, cols)
        self.n_rows = int(self.rows.max()) + 1 if len(text) else 1
        self._grid = numpy.full((self.n_rows, cols), numpy.nan)
        cmap = cmap if cmap is not None else light("RdBu_r", 0.05, 0.95)
        # the colours lie over the letters, translucent like a highlighter: a move redraws one
        # image, not hundreds of glyphs (the letters stay in the cached background)
        self.image = ax.imshow(self._grid, cmap=cmap, norm=norm, aspect="auto", interpolation="nearest",
                               extent=(-0.5, cols - 0.5, self.n_rows - 0.5, -0.5), alpha=HIGHLIGHT,
                               zorder=4)
        # one Text per character, static: they are drawn into the cached background once, and a
        # move repaints only the translucent colours over them
        self.letters = [ax.text(self.columns[k], self.rows[k], NEWLINE_MARK if ch == "\n" else ch,
                                ha="center", va="center", fontsize=fontsize, family=MONOSPACE,
                                color="#111111")
                        for k, ch in enumerate(text) if ch != " "]
        self.marker = Rectangle((0, 0), 1, 1, fill=False, ec="#000000", lw=1.6, visible=False, zorder=5)
        self.next_marker = Rectangle((0, 0), 1, 1, fill=False, ec="#000000", lw=1.0, ls="--", visible=False,
                                     zorder=5)
        self.cut_line = ax.plot([], [], color="#cc0000", lw=2.2, solid_capstyle="butt", zorder=5)[0]
        for patch in (self.marker, self.next_marker):
            ax.add_patch(patch)
        ax.set_xlim(-0.5, cols - 0.5)
        ax.set_ylim(self.n_rows - 0.5, -0.5)
        ax.set_xticks([])
        ax.set_yticks([])
        if title is not None:
            ax.set_title(title, fontsize=9)

    def update(self, values):
        values = numpy.asarray(values, dtype=float)
        grid = self._grid
        grid[:] = numpy.nan
        n = min(len(values), len(self.text))
        grid[self.rows[:n], self.columns[:n]] = values[:n]
        self.image.set_data(numpy.ma.masked_invalid(grid))

    def _place(self, patch, k):
        if k is None or not 0 <= k < len(self.text):
            patch.set_visible(False)
            return
        patch.set_xy((self.columns[k] - 0.5, self.rows[k] - 0.5))
        patch.set_visible(True)

    def mark(self, k, next_k=None):
        """Outline character ``k`` (solid) and ``next_k`` (dashed); None hides a mark."""
        self._place(self.marker, k)
        self._place(self.next_marker, next_k)

    def cut(self, k):
        """A red bar on the left edge of character ``k`` (None or 0: no bar)."""
        if not k or not 0 < k < len(self.text):
            self.cut_line.set_data([], [])
            return
        x, y = self.columns[k] - 0.5, self.rows[k]
        self.cut_line.set_data([x, x], [y - 0.5, y + 0.5])

    def artists(self):
        """What ``update``, ``mark`` and ``cut`` change (the letters never do)."""
        return [self.image, self.marker, self.next_marker, self.cut_line]


def unit_colorbar(fig, image, rect, label):
    """A colour bar in its own axes at ``rect`` (figure fractions): the text axes keep their size,
    and with it the font size that fits their cells."""
    cb = fig.colorbar(image, cax=fig.add_axes(rect))
    cb.ax.tick_params(labelsize=7)
    cb.set_label(label, fontsize=8)
    return cb


def connectivity_norm(low=1e-4):
    """The log colour scale of ``ConnectivityView``: n_s relative to the largest, ``low`` to 1."""
    return mcolors.LogNorm(low, 1.0, clip=True)


def connectivity_title(kind, **fields):
    return ftr(f"conn.{kind}", **fields)
