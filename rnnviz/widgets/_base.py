"""What every widget shares: a figure shown live (ipympl) or as a PNG (anything else), a
``.message`` for bad input, and ``redraw()``. No threads, no timers, nothing blocks.

Redrawing is blitted (matplotlib's blitting pattern): each widget declares the artists its controls
change (``set_dynamic``); they are marked animated, so a full draw leaves them out of a cached
background (captured on every full draw, from the ``draw_event``) and then draws them on top. A
control move restores that background and draws only the dynamic artists. When anything static
changed (matplotlib marks the figure stale: limits, tick labels, a rebuilt plot, a resize) or no
background exists yet, the figure is drawn in full instead, so what is shown is always what a full
draw would show."""
import base64
import html
import io

import ipywidgets as W
import matplotlib

from ..i18n import ftr, get_language, tr

from ..experiments import InputError


def _ipympl_backend():
    name = matplotlib.get_backend().lower()
    return "ipympl" in name or name == "widget"


def new_figure(figsize):
    """A figure whose canvas is an ipywidgets DOMWidget under ``%matplotlib widget`` (ipympl);
    otherwise a plain Agg figure that is not registered with pyplot (no double display).
    The language is settled first: Japanese puts a Japanese font in matplotlib's defaults."""
    get_language()
    if _ipympl_backend():
        import matplotlib.pyplot as plt
        with plt.ioff():
            fig = plt.figure(figsize=figsize)
        return fig
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize, dpi=80)
    FigureCanvasAgg(fig)
    return fig


def _full_frames(canvas):
    """Make an ipympl canvas send every frame whole. By default it sends 'diff' frames (only the
    pixels that changed since the previous frame), and its front end shows a frame by setting an
    image's ``src``: a frame that arrives before the previous one has loaded replaces it unseen,
    and with diff frames the pixels only that one carried stay stale for good (seen in JupyterLab:
    the 'values' colour bar's tick labels left under the 'gradients' ones). A whole frame costs
    about as much to encode (~12 ms for 820 x 500) and a lost one is then harmless."""
    get_diff_image = canvas.get_diff_image

    def whole_frame():
        canvas._force_full = True
        return get_diff_image()
    canvas.get_diff_image = whole_frame


def _front_end_ready_frames(canvas):
    """Keep an ipympl canvas's stored picture valid when it draws before it is shown. Until its
    front end says 'initialized', ipympl 0.10 copies each frame it sends into the ``_data_url``
    trait (what a new view paints first), but as bare base64 without the ``data:image/png;base64,``
    prefix that its ``_repr_mimebundle_`` writes; a widget that draws eagerly in its constructor
    (GraphView caches its backgrounds there) then leaves a URL that the browser cannot load, and
    the canvas never paints ("drawImage ... 'broken' state"). Frames are whole (``_full_frames``),
    so the frame sent is itself the PNG to store."""
    send_binary = canvas.send_binary

    def send(data):
        syncing = canvas.syncing_data_url
        canvas.syncing_data_url = False
        try:
            send_binary(data)
        finally:
            canvas.syncing_data_url = syncing
        if syncing:
            canvas._data_url = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    canvas.send_binary = send


def png_bytes(fig):
    """The figure as PNG (drawn already): fast zlib level for interactive refresh."""
    from PIL import Image
    buf = fig.canvas.buffer_rgba()
    img = Image.frombuffer("RGBA", (buf.shape[1], buf.shape[0]), bytes(buf), "raw", "RGBA", 0, 1)
    out = io.BytesIO()
    img.save(out, format="png", compress_level=1)
    return out.getvalue()


def draw_order(fig, artists):
    """``artists`` sorted as a full draw would paint them: by their axes (or figure-level artist)
    zorder and position, then by their own zorder; ties keep the given order."""
    tops = fig.get_children()
    rank = {id(a): i for i, a in enumerate(tops)}

    def key(a):
        top = a if a.axes is None else a.axes
        return (top.get_zorder(), rank.get(id(top), len(tops)), 0 if top is a else a.get_zorder())
    return sorted(artists, key=key)


class FigureWidget(W.VBox):
    """Base: ``self.figure``, ``self.message``, ``self.output`` (canvas or PNG image), ``redraw()``.

    ``last_redraw``: ``'blit'`` or ``'full'``, how the latest refresh was drawn."""

    who = "widget"

    def __init__(self, figsize):
        super().__init__()
        self.figure = new_figure(figsize)
        self.message = W.HTML(value="")
        self._dynamic = []
        self._background = None
        self.last_redraw = None
        canvas = self.figure.canvas
        canvas.mpl_connect("draw_event", self._on_draw)
        if isinstance(canvas, W.DOMWidget):
            self._image = None
            canvas.header_visible = False
            canvas.toolbar_visible = False
            _full_frames(canvas)
            _front_end_ready_frames(canvas)
            self.output = canvas
        else:
            self._image = W.Image(format="png")
            self._image.layout.max_width = "100%"
            self.output = self._image

    def _start(self, controls, build, observed):
        """The constructor's common end: the ``controls`` in a row above ``.message`` and the
        figure; ``build()`` reads the input and runs the model, returning notes for the message
        (bad input or a failing model: a message, not a traceback); then every ``observed``
        control redraws when it moves, and the figure is drawn once."""
        self.children = [W.HBox(controls), self.message, self.output]
        self.ready = False
        try:
            notes = build()
            self.ready = True
            self.show_message("; ".join(notes or ()), level="warning")
        except Exception as exc:
            self.show_failure(exc)
        for control in observed:
            control.observe(self._on_change, names="value")
        self.redraw()

    def show_message(self, text, level="error"):
        color = {"error": "#a61c00", "warning": "#b45f06", "info": "#38761d"}[level]
        self.message.value = "" if not text else \
            f'<div style="color:{color};font-family:sans-serif;font-size:13px">{html.escape(text)}</div>'

    def show_failure(self, exc):
        """The widget could not be built: say why in ``.message`` and in the figure, no traceback.
        Bad input (``InputError``) is shown as it is; anything else as the model failing to run."""
        if isinstance(exc, InputError):
            self.show_message(str(exc))
            self._show_blank(str(exc))
        elif isinstance(exc, MemoryError):  # not the model's fault: too much asked of this machine
            self.show_message(tr("widget.out_of_memory", who=self.who, error=f"MemoryError: {exc}"))
            self._show_blank(ftr("widget.out_of_memory_short"))
        else:
            self.show_message(tr("widget.failed", who=self.who, error=f"{type(exc).__name__}: {exc}"))
            self._show_blank(ftr("widget.failed_short"))

    def _show_blank(self, text):
        """Put the message into the figure too (so a static export still explains itself)."""
        fig = self.figure
        self.set_dynamic(())
        fig.clf()
        fig.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=11, color="#a61c00")

    # -- blitting ------------------------------------------------------------------------------------
    def set_dynamic(self, artists):
        """Declare the artists the controls change (an Axes counts as a whole, ticks included).
        Everything else is static: drawn once into the cached background."""
        for a in self._dynamic:
            a.set_animated(False)
        artists = [a for a in artists if a is not None]
        # an axes frame painted above a dynamic artist must be repainted after it (cheap)
        low = {}
        for a in artists:
            if a.axes is not None and a.axes is not a:
                low[a.axes] = min(low.get(a.axes, a.get_zorder()), a.get_zorder())
        for ax, z in low.items():
            artists += [sp for sp in ax.spines.values() if sp.get_visible() and sp.get_zorder() > z]
        self._dynamic = draw_order(self.figure, artists)
        for a in self._dynamic:
            a.set_animated(True)
        self._background = None
        self.figure.stale = True

    def _on_draw(self, event):
        """After every full draw: keep its pixels as the background, then paint the dynamic
        artists on top. (While saving, Axes draw their own animated children already.)"""
        canvas = self.figure.canvas
        renderer = event.renderer
        live = renderer is getattr(canvas, "renderer", None) and not canvas.is_saving()
        if live:
            self._background = (canvas.copy_from_bbox(self.figure.bbox), tuple(self.figure.bbox.size))
        for a in self._dynamic:
            if live or a.axes is None or a.axes is a:
                a.draw(renderer)
        self.figure.stale = False   # drawing may touch a parent's flag (a legend's frame): not a change

    def _can_blit(self):
        bg = self._background
        return (bg is not None and bool(self._dynamic) and not self.figure.stale
                and bg[1] == tuple(self.figure.bbox.size))

    def _refresh(self, full=False):
        """Redraw the figure on screen: blit the dynamic artists on the cached background when only
        they changed; otherwise a full draw (draw_idle for ipympl, an Agg draw otherwise). Then the
        canvas is refreshed (ipympl) or the PNG is encoded (otherwise)."""
        fig = self.figure
        canvas = fig.canvas
        if not full and self._can_blit():
            canvas.restore_region(self._background[0])
            for a in self._dynamic:
                fig.draw_artist(a)
            fig.stale = False
            self.last_redraw = "blit"
            if self._image is None:
                canvas.blit(fig.bbox)
            else:
                self._image.value = png_bytes(fig)
            return
        self.last_redraw = "full"
        if self._image is None:
            canvas.draw_idle()
        else:
            canvas.draw()
            self._image.value = png_bytes(fig)

    def _repr_mimebundle_(self, **kwargs):
        """The live view, plus a PNG of the figure as it is when displayed (as ipympl's own canvas
        does): a front end without the widget manager (an HTML export, GitHub) shows the picture."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            buf = io.BytesIO()
            self.figure.savefig(buf, format="png")
            bundle["image/png"] = base64.b64encode(buf.getvalue()).decode("ascii")
        return bundle

    def redraw(self, full=False):
        """Update the views from the controls and redraw (``full=True``: no blitting)."""
        try:
            self._update_views()
        except Exception as exc:  # a widget shows the problem instead of a traceback
            self.show_message(f"{self.who}: {type(exc).__name__}: {exc}")
        self._refresh(full)

    def _update_views(self):
        pass

    def _on_change(self, change):
        self.redraw()
