"""Is a figure legible? ``figure_problems(fig)`` draws it (Agg) and says, in plain words, what a
reader would trip over: a text that sticks out of the figure or is cut by the edge of its axes,
two texts drawn over each other, a label cut short with an ellipsis, a blank figure.

    from rnnviz.viz.legibility import figure_problems
    assert figure_problems(widget.figure) == []

``size_problems(fig)`` draws it at the live view's dpi and lists the texts too small to read:
Japanese words under 11 px, a legend smaller than its axes' tick labels (see ``rnnviz.viz.fonts``).

Only what the draw really paints is checked: a text is looked at when its ``draw`` ran with it
visible and non-empty (hidden axes, unused tick slots and empty strings are left out), so the
answer is about the picture, not about the artists that happen to exist.

For lessons run in a Jupyter kernel, ``startup_code(path)`` is the source of an IPython startup
file: after every cell it checks each open pyplot figure and each live rnnviz widget's figure, and
appends one JSON line per figure to ``path``; ``read_report(path)`` reads them back.
"""
import contextlib
import json
import math
import re

import numpy

TOLERANCE = 2.0      # pixels a text may stick out, or two texts may share, before it counts
ELLIPSIS = re.compile(r"\w(…|\.\.\.)(\s|$)")


# -- what was drawn -----------------------------------------------------------------------------------
@contextlib.contextmanager
def _recording_texts():
    """Record every Text whose ``draw`` paints something (visible, non-empty, finite position)."""
    from matplotlib.text import Text

    drawn = {}
    original = Text.draw

    def draw(self, renderer):
        original(self, renderer)
        if self.get_visible() and self.get_text().strip():
            drawn[id(self)] = (self, renderer)
    Text.draw = draw
    try:
        yield drawn
    finally:
        Text.draw = original


def _draw(fig):
    """Draw ``fig`` with Agg (its own canvas when that is Agg-based: ipympl's and the inline
    backend's are) and return (texts drawn, renderer, RGBA pixels)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas, old = fig.canvas, None
    if not isinstance(canvas, FigureCanvasAgg):
        old = canvas
        canvas = FigureCanvasAgg(fig)      # sets fig.canvas; put back below
    try:
        with _recording_texts() as drawn:
            canvas.draw()
        renderer = canvas.get_renderer()
        pixels = numpy.asarray(canvas.buffer_rgba())
        pixels = pixels.copy() if old is not None else pixels
    finally:
        if old is not None:
            fig.set_canvas(old)
    texts = [t for t, r in drawn.values() if r is renderer or old is not None]
    return texts, renderer, pixels


# -- naming a text -----------------------------------------------------------------------------------
def _axes_name(ax, index):
    if getattr(ax, "_colorbar", None) is not None:
        label = ax._colorbar.ax.get_ylabel() or ax._colorbar.ax.get_xlabel()
        return f"the colour bar{f' {label!r}' if label else ''}"
    title = ax.get_title() or ax.get_title("left") or ax.get_title("right")
    if title:
        return f"the axes {title.splitlines()[0]!r}"
    label = ax.get_label()
    if label and not label.startswith("<"):
        return f"the axes {label!r}"
    return f"axes {index}"


def _roles(fig):
    """id(text) -> what the text is ('the y-axis label of the axes ...'), for every axes and child axes."""
    roles = {}
    axes, seen = list(fig.axes), set()
    i = 0
    while i < len(axes):
        ax = axes[i]
        i += 1
        if id(ax) in seen:
            continue
        seen.add(id(ax))
        axes.extend(getattr(ax, "child_axes", []))
        where = _axes_name(ax, i - 1)
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            roles[id(axis.label)] = f"the {name}-axis label of {where}"
            roles[id(axis.offsetText)] = f"the {name}-axis offset of {where}"
            for kind, ticks in (("tick", axis.majorTicks), ("minor tick", axis.minorTicks)):
                for tick in ticks:
                    roles[id(tick.label1)] = roles[id(tick.label2)] = f"a {name} {kind} label of {where}"
        for attr in ("title", "_left_title", "_right_title"):
            t = getattr(ax, attr, None)
            if t is not None:
                roles[id(t)] = f"the title of {where}"
        legend = ax.get_legend()
        if legend is not None:
            for t in legend.get_texts():
                roles[id(t)] = f"a legend entry of {where}"
            roles[id(legend.get_title())] = f"the legend title of {where}"
        for t in ax.texts:
            roles.setdefault(id(t), f"a text in {where}")
    for legend in fig.legends:
        for t in legend.get_texts():
            roles[id(t)] = "a legend entry of the figure"
    for t in fig.texts:
        roles.setdefault(id(t), "a text of the figure")
    if getattr(fig, "_suptitle", None) is not None:
        roles[id(fig._suptitle)] = "the figure's title"
    return roles


def _describe(text, roles):
    s = text.get_text().replace("\n", " ")
    if len(s) > 60:
        s = s[:57] + "..."
    return f"{roles.get(id(text), 'a text')} {s!r}"


# -- geometry ------------------------------------------------------------------------------------------
def _corners(text, renderer, box):
    """The text's four corners in pixels: its box, turned by its rotation about the box's centre
    (the axis-aligned extent of a turned rectangle has the same centre)."""
    angle = text.get_rotation() % 180.0
    if angle == 0.0:
        return numpy.array([[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1], [box.x0, box.y1]])
    from matplotlib.text import Text
    flat = Text(0, 0, text.get_text(), fontproperties=text.get_fontproperties(),
                linespacing=text.get_linespacing(), figure=text.get_figure(root=False))
    w, h = flat.get_window_extent(renderer).size
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    cx, cy = (box.x0 + box.x1) / 2.0, (box.y0 + box.y1) / 2.0
    pts = numpy.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    return pts @ numpy.array([[c, s], [-s, c]]) + (cx, cy)


def _penetration(a, b):
    """How deep two convex quadrilaterals overlap (pixels, the separating-axis way); <= 0: apart."""
    depth = math.inf
    for poly in (a, b):
        for k in range(4):
            edge = poly[(k + 1) % 4] - poly[k]
            n = numpy.array([-edge[1], edge[0]])
            norm = math.hypot(*n)
            if norm == 0:
                continue
            n = n / norm
            pa, pb = a @ n, b @ n
            depth = min(depth, min(pa.max(), pb.max()) - max(pa.min(), pb.min()))
            if depth <= 0:
                return depth
    return depth


def _clip_rect(text):
    """The rectangle (x0, y0, x1, y1) a text is clipped to when drawn, or None."""
    if not text.get_clip_on():
        return None
    rect = None
    box = text.get_clip_box()
    if box is not None:
        rect = list(box.extents)
    path = text.get_clip_path()
    if path is not None:
        try:
            ext = path.get_fully_transformed_path().get_extents().extents
        except Exception:
            ext = None
        if ext is not None:
            rect = list(ext) if rect is None else [max(rect[0], ext[0]), max(rect[1], ext[1]),
                                                   min(rect[2], ext[2]), min(rect[3], ext[3])]
    return rect


def _has_data(ax):
    for a in ax.lines:
        if a.get_visible() and len(a.get_xdata()):
            return True
    for a in ax.collections:
        if a.get_visible() and (len(a.get_paths()) or len(a.get_offsets())):
            return True
    return any(a.get_visible() for a in list(ax.images) + list(ax.patches))


# -- the check -----------------------------------------------------------------------------------------
def figure_problems(fig, tolerance=TOLERANCE):
    """Draw ``fig`` and list what makes it hard to read, each in words that name the text:
    a text outside the figure, a text cut by the edge of the axes it is clipped to, two texts
    overlapping (by more than ``tolerance`` pixels), a word cut short with an ellipsis, a blank
    figure. An empty list: nothing found."""
    texts, renderer, pixels = _draw(fig)
    roles = _roles(fig)
    W, H = fig.bbox.width, fig.bbox.height
    problems = []
    shown = []           # (text, corners, axis-aligned box)
    for t in texts:
        try:
            box = t.get_window_extent(renderer)
        except Exception:     # a text that cannot be laid out is not drawn either
            continue
        if not (numpy.isfinite(box.extents).all() and box.width > 0 and box.height > 0):
            continue
        clip = _clip_rect(t)
        if clip is not None:
            if box.x1 <= clip[0] or box.x0 >= clip[2] or box.y1 <= clip[1] or box.y0 >= clip[3]:
                continue      # clipped away entirely: not in the picture
            cut = max(clip[0] - box.x0, box.x1 - clip[2], clip[1] - box.y0, box.y1 - clip[3])
            if cut > tolerance:
                problems.append(f"{_describe(t, roles)} is cut by the edge of its axes "
                                f"({cut:.0f} px of it hidden)")
        out = {"left": -box.x0, "right": box.x1 - W, "bottom": -box.y0, "top": box.y1 - H}
        sides = [f"{side} by {d:.0f} px" for side, d in out.items() if d > tolerance]
        if sides:
            problems.append(f"{_describe(t, roles)} lies outside the figure ({', '.join(sides)})")
        if ELLIPSIS.search(t.get_text()):
            problems.append(f"{_describe(t, roles)} is cut short with an ellipsis")
        shown.append((t, _corners(t, renderer, box), box))
    # overlaps: a vectorised test of the boxes, then the turned rectangles for the candidates
    if len(shown) > 1:
        ext = numpy.array([b.extents for _, _, b in shown])
        ox = numpy.minimum.outer(ext[:, 2], ext[:, 2]) - numpy.maximum.outer(ext[:, 0], ext[:, 0])
        oy = numpy.minimum.outer(ext[:, 3], ext[:, 3]) - numpy.maximum.outer(ext[:, 1], ext[:, 1])
        cand = numpy.argwhere(numpy.triu((ox > tolerance) & (oy > tolerance), 1))
        for i, j in cand:
            (ti, ci, _), (tj, cj, _) = shown[i], shown[j]
            if _penetration(ci, cj) > tolerance:
                problems.append(f"{_describe(ti, roles)} overlaps {_describe(tj, roles)}")
    # blank: one colour everywhere, or nothing but empty axes
    flat = pixels.reshape(-1, pixels.shape[-1])
    if flat.size == 0 or (flat == flat[0]).all():
        problems.append("the figure is blank (every pixel has the same colour)")
    else:
        axes = [ax for ax in fig.axes if ax.get_visible()]
        decorations = {k for k, v in roles.items() if "tick" in v or "axis" in v}
        if not any(_has_data(ax) for ax in axes) and not [t for t in texts if id(t) not in decorations]:
            problems.append("the figure is blank (no axes show data and there is no text)")
    return problems


# -- sizes ------------------------------------------------------------------------------------------
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")   # kana, kanji, full-width


def size_problems(fig, dpi=None, legends=True):
    """Draw ``fig`` at ``dpi`` (default: the live view's, ``fonts.LIVE_DPI``, which is ipympl's; a
    figure of another dpi gets its own back after) and list the texts too small to read: a text
    holding Japanese characters smaller than ``fonts.MIN_CJK_PX`` pixels, and (``legends``) a legend
    entry smaller than the tick labels of its axes. Sizes are the ones the renderer drew (font size
    in points times its pixels per point)."""
    from .fonts import LIVE_DPI, MIN_CJK_PX

    old_dpi, dpi = fig.dpi, LIVE_DPI if dpi is None else dpi
    if dpi != old_dpi:
        fig.set_dpi(dpi)
    try:
        texts, renderer, _ = _draw(fig)
        px = {id(t): renderer.points_to_pixels(t.get_fontsize()) for t in texts}
    finally:
        if fig.dpi != old_dpi:
            fig.set_dpi(old_dpi)
    roles = _roles(fig)
    problems = []
    for t in texts:
        if CJK.search(t.get_text()) and px[id(t)] < MIN_CJK_PX - 0.05:
            problems.append(f"{_describe(t, roles)} is {px[id(t)]:.1f} px high: Japanese text needs "
                            f"at least {MIN_CJK_PX:g} px")
    for ax in fig.axes if legends else ():
        legend = ax.get_legend()
        if legend is None or not ax.get_visible():
            continue
        ticks = [px[id(label)] for axis in (ax.xaxis, ax.yaxis) for tick in axis.majorTicks
                 for label in (tick.label1, tick.label2) if id(label) in px]
        if not ticks:
            continue
        for t in legend.get_texts():
            if id(t) in px and px[id(t)] < min(ticks) - 0.05:
                problems.append(f"{_describe(t, roles)} is {px[id(t)]:.1f} px high, smaller than the "
                                f"tick labels of its axes ({min(ticks):.1f} px)")
    return problems


def figure_name(fig, fallback="figure"):
    """A name for a figure in a report: its suptitle, its label, the first axes title, or ``fallback``."""
    sup = getattr(fig, "_suptitle", None)
    if sup is not None and sup.get_text():
        return sup.get_text()
    if fig.get_label():
        return fig.get_label()
    for ax in fig.axes:
        if ax.get_visible() and ax.get_title():
            return ax.get_title()
    for t in fig.texts:
        if t.get_visible() and t.get_text().strip():
            return t.get_text().splitlines()[0]
    return fallback


# -- in a Jupyter kernel -------------------------------------------------------------------------------
def open_figures():
    """(name, figure) for each open pyplot figure and each live rnnviz widget's figure (each once)."""
    import sys
    found, seen = [], set()
    widgets_mod = sys.modules.get("rnnviz.widgets._base")
    if widgets_mod is not None:
        try:
            from ipywidgets.widgets.widget import _instances
            instances = list(_instances.values())
        except Exception:
            instances = []
        for w in instances:
            if isinstance(w, widgets_mod.FigureWidget) and id(w.figure) not in seen:
                seen.add(id(w.figure))
                found.append((f"{type(w).__name__}: {figure_name(w.figure, '')}".rstrip(": "), w.figure))
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        for num in plt.get_fignums():
            fig = plt.figure(num)
            if id(fig) not in seen:
                seen.add(id(fig))
                found.append((figure_name(fig, f"pyplot figure {num}"), fig))
    return found


class FigureChecker:
    """Checks the open figures and appends ``{"figure": name, "problems": [...]}`` lines to
    ``report_path``. A figure is written again only when what it shows changed (its problems or
    its texts), so a widget left alone for twenty cells costs one line."""

    def __init__(self, report_path):
        self.report_path = str(report_path)
        self._last = {}          # id(figure) -> the line written last

    def __call__(self, *args, **kwargs):
        lines = []
        for name, fig in open_figures():
            try:
                # lesson code's own plots keep matplotlib's sizes (a legend may be smaller than
                # 10 pt ticks); the floor for Japanese words holds everywhere
                problems = figure_problems(fig) + size_problems(fig, legends=False)
            except Exception as exc:      # a check that fails says so; the lesson goes on
                problems = [f"the figure check failed: {type(exc).__name__}: {exc}"]
            line = {"figure": name, "problems": problems}
            if self._last.get(id(fig)) != line:
                self._last[id(fig)] = line
                lines.append(line)
        if lines:
            with open(self.report_path, "a", encoding="utf-8") as f:
                for line in lines:
                    f.write(json.dumps(line, ensure_ascii=False) + "\n")
        return lines


def startup_code(report_path):
    """Python source for an IPython startup file (``~/.ipython/profile_default/startup/``, or
    ``IPYTHONDIR``): registers a ``post_execute`` callback that checks every open figure after each
    cell and appends its JSON lines to ``report_path``. A startup file runs before any
    ``%matplotlib`` line, so the callback comes before matplotlib-inline's, which closes the
    figures. The callback is also bound to ``_rnnviz_figure_check`` (to be called directly)."""
    return f'''\
def _rnnviz_install_figure_check(report_path):
    import sys

    checker = None

    def check(*args, **kwargs):
        nonlocal checker
        if "matplotlib" not in sys.modules:
            return []          # nothing drawn yet: do not import anything on the lesson's behalf
        try:
            if checker is None:
                from rnnviz.viz.legibility import FigureChecker
                checker = FigureChecker(report_path)
            return checker()
        except Exception as exc:
            import json
            line = {{"figure": "(figure check)", "problems": [f"the figure check failed: {{type(exc).__name__}}: {{exc}}"]}}
            with open(report_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\\n")
            return [line]

    try:
        from IPython import get_ipython
        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None:
        shell.events.register("post_execute", check)
    return check


_rnnviz_figure_check = _rnnviz_install_figure_check({str(report_path)!r})
del _rnnviz_install_figure_check
'''


def read_report(path):
    """The lines a figure check wrote to ``path`` (a list of dicts; empty when there is no file)."""
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


__all__ = ["FigureChecker", "figure_name", "figure_problems", "open_figures", "read_report",
           "size_problems", "startup_code"]
