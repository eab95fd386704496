"""What every widget shares: a figure shown live (ipympl) or as a PNG (anything else), a
``.message`` for bad input, and ``redraw()``. No threads, no timers, nothing blocks."""
import html
import io

import ipywidgets as W
import matplotlib


def _ipympl_backend():
    name = matplotlib.get_backend().lower()
    return "ipympl" in name or name == "widget"


def new_figure(figsize):
    """A figure whose canvas is an ipywidgets DOMWidget under ``%matplotlib widget`` (ipympl);
    otherwise a plain Agg figure that is not registered with pyplot (no double display)."""
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


def png_bytes(fig):
    """The figure as PNG (drawn already): fast zlib level for interactive refresh."""
    from PIL import Image
    buf = fig.canvas.buffer_rgba()
    img = Image.frombuffer("RGBA", (buf.shape[1], buf.shape[0]), bytes(buf), "raw", "RGBA", 0, 1)
    out = io.BytesIO()
    img.save(out, format="png", compress_level=1)
    return out.getvalue()


class FigureWidget(W.VBox):
    """Base: ``self.figure``, ``self.message``, ``self.output`` (canvas or PNG image), ``redraw()``."""

    who = "widget"

    def _setup_figure(self, figsize):
        self.figure = new_figure(figsize)
        self.message = W.HTML(value="")
        canvas = self.figure.canvas
        if isinstance(canvas, W.DOMWidget):
            self._image = None
            canvas.header_visible = False
            canvas.toolbar_visible = False
            self.output = canvas
        else:
            self._image = W.Image(format="png")
            self._image.layout.max_width = "100%"
            self.output = self._image

    def show_message(self, text, level="error"):
        color = {"error": "#a61c00", "warning": "#b45f06", "info": "#38761d"}[level]
        self.message.value = "" if not text else \
            f'<div style="color:{color};font-family:sans-serif;font-size:13px">{html.escape(text)}</div>'

    def _show_blank(self, text):
        """Put the message into the figure too (so a static export still explains itself)."""
        fig = self.figure
        fig.clf()
        fig.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=11, color="#a61c00")

    def _refresh(self):
        """Redraw the figure on screen: draw_idle for ipympl, an Agg draw + PNG otherwise."""
        canvas = self.figure.canvas
        if self._image is None:
            canvas.draw_idle()
        else:
            canvas.draw()
            self._image.value = png_bytes(self.figure)

    def redraw(self):
        """Update the views from the controls and redraw."""
        try:
            self._update_views()
        except Exception as exc:  # a widget shows the problem instead of a traceback
            self.show_message(f"{self.who}: {type(exc).__name__}: {exc}")
        self._refresh()

    def _update_views(self):
        pass

    def _on_change(self, change):
        self.redraw()
