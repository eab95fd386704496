"""PlotReport: curves of reported values, live in JupyterLab and as a PNG file.

In a notebook the figure is one output, redrawn in place at each trigger while the training cell
runs (an image updated through its display id: the front end shows it at once, although the
kernel is busy). When training ends, with the ipympl backend (``%matplotlib widget``) that output
becomes the interactive ipympl figure (zoom, pan, save); with another backend it stays an image.
Everywhere, ``out/filename`` is (re)written at each trigger, as Chainer's PlotReport does.

(An ipympl canvas cannot be the live view itself: it paints only after its front end has talked
to the kernel, and the kernel answers no one until the running cell ends.)
"""
import os
import time

from ... import reporter as reporter_module
from ...serializers.npz import write_atomically
from ..extension import Extension
from ..triggers import get_trigger


def in_notebook():
    """True inside a Jupyter kernel (not a terminal IPython, not plain Python)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _ipympl_active():
    import matplotlib
    backend = matplotlib.get_backend().lower()
    return "ipympl" in backend or backend in ("widget", "module://ipympl.backend_nbagg")


class PlotReport(Extension):
    min_interval = 0.3  # seconds between two images in a notebook (each costs a PNG rendering)

    """``PlotReport(y_keys, x_key='iteration', trigger=(1, 'epoch'), filename='plot.png', ...)``

    ``y_keys``: keys to draw on one panel (``['main/loss', 'validation/main/loss']``), or a list
    of such lists for one panel each (loss beside perplexity). Each point is the mean of the
    reported value over one trigger interval. With ``log_report`` (a LogReport or its name) the
    points are that LogReport's entries instead, so keys its ``postprocess`` adds (a perplexity
    computed from the loss) can be drawn. ``live=False`` turns the in-notebook figure off.
    """

    def __init__(self, y_keys, x_key="iteration", trigger=(1, "epoch"), postprocess=None,
                 filename="plot.png", marker="x", grid=True, log_report=None, live=True,
                 figsize=None, file_name=None):
        if isinstance(y_keys, str):
            y_keys = [y_keys]
        panels = [list(p) if not isinstance(p, str) else [p] for p in y_keys]
        if not all(isinstance(p, list) for p in y_keys):
            panels = [list(y_keys)]
        self._panels = panels
        self._x_key = x_key
        self._trigger = get_trigger(trigger)
        self._postprocess = postprocess
        self._filename = file_name if file_name is not None else filename
        self._marker = marker
        self._grid = grid
        self._log_report = log_report
        self._live = live
        self._figsize = figsize or (4.2 * len(panels), 3.2)
        self._summary = reporter_module.DictSummary()
        self._data = {k: [] for p in panels for k in p}
        self._figure = None
        self._lines = {}
        self._mode = None
        self._display = None
        self._shown_at = -float("inf")
        self._stale = False

    @property
    def data(self):
        """key -> list of (x, y) points drawn so far."""
        return self._data

    # -- collecting ----------------------------------------------------------------------------
    def __call__(self, trainer):
        if self._log_report is None:
            self._summary.add(trainer.observation)
        if not self._trigger(trainer):
            return
        if self._log_report is not None:
            self._collect_from_log(trainer)
        else:
            stats = self._summary.compute_mean()
            x = self._x_value(trainer, stats)
            for key in self._data:
                if key in stats:
                    self._data[key].append((x, stats[key]))
            self._summary = reporter_module.DictSummary()
        self._draw(trainer)

    def _x_value(self, trainer, stats):
        if self._x_key == "iteration":
            return trainer.updater.iteration
        if self._x_key == "epoch":
            return trainer.updater.epoch
        if self._x_key == "epoch_detail":
            return trainer.updater.epoch_detail
        return stats.get(self._x_key, trainer.updater.iteration)

    def _collect_from_log(self, trainer):
        log_report = self._log_report
        if isinstance(log_report, str):
            log_report = trainer.get_extension(log_report)
        self._data = {k: [] for k in self._data}
        for entry in log_report.log:
            x = entry.get(self._x_key)
            for key in self._data:
                if key in entry and x is not None:
                    self._data[key].append((x, entry[key]))

    # -- drawing --------------------------------------------------------------------------------
    def _make_figure(self):
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        fig = Figure(figsize=self._figsize)
        self._mode = "notebook" if self._live and in_notebook() else "file"
        axes = fig.subplots(1, len(self._panels), squeeze=False)[0]
        for ax, keys in zip(axes, self._panels):
            for key in keys:
                (self._lines[key],) = ax.plot([], [], marker=self._marker, label=key)
            ax.set_xlabel(self._x_key)
            if self._x_key in ("iteration", "epoch"):
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(self._grid)
            ax.legend(loc="best", fontsize="small")
        fig.tight_layout()
        self._figure = fig
        self._axes = axes

    def _draw(self, trainer):
        if self._figure is None:
            self._make_figure()
        for key, line in self._lines.items():
            points = self._data[key]
            line.set_data([p[0] for p in points], [p[1] for p in points])
        for ax in self._axes:
            ax.relim()
            ax.autoscale_view()
        if self._postprocess is not None:
            self._postprocess(self._figure, self._axes, self._data)
        if self._mode == "notebook":
            now = time.monotonic()
            if now - self._shown_at >= self.min_interval:  # the last frame is shown by finalize
                self._show_png()
                self._shown_at = now
                self._stale = False
            else:
                self._stale = True
        if self._filename:
            path = os.path.join(trainer.out, self._filename)
            kind = os.path.splitext(path)[1][1:] or "png"
            write_atomically(path, lambda tmp: self._figure.savefig(tmp, format=kind))

    def _show_png(self):
        import io

        from IPython.display import Image, display

        buf = io.BytesIO()
        self._figure.savefig(buf, format="png")
        image = Image(data=buf.getvalue(), format="png")
        if self._display is None:
            self._display = display(image, display_id=True)
        else:
            self._display.update(image)

    def finalize(self):
        """In JupyterLab with ipympl, the image becomes the interactive figure."""
        if self._mode == "notebook" and self._stale:
            self._show_png()
            self._stale = False
        if self._mode == "notebook" and self._display is not None and _ipympl_active():
            from ipympl.backend_nbagg import new_figure_manager_given_figure

            manager = new_figure_manager_given_figure(id(self), self._figure)
            manager.canvas.header_visible = False
            self._display.update(manager.canvas)
            self._mode = "ipympl"

    @property
    def figure(self):
        """The matplotlib figure (None before the first point)."""
        return self._figure

    def serialize(self, serializer):
        import json

        self._summary.serialize(serializer["_summary"])
        if getattr(serializer, "loading", False):
            stored = serializer("_data", None)
            if stored is not None:
                self._data = {k: [tuple(p) for p in v] for k, v in json.loads(str(stored)).items()}
        else:
            serializer("_data", json.dumps(self._data))
