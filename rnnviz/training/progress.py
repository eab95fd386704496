"""Progress bars whose final state a saved notebook keeps.

``tqdm.auto`` draws a widget in a notebook kernel and a text line in a terminal. A notebook that is
saved after the run (nbclient's executed copy, an HTML export, GitHub's viewer) stores, beside the
widget's view, the plain-text line the bar had *when it was displayed*: ``0%| | 0/60``, however
far the run went; only a front end that renders the widget state shows more. The bar here is
tqdm.auto's own, with one change in a notebook: it is displayed with a display id, and closing it
updates that display, so the stored text is the last line (100%, the time taken, the last
postfix), or the line where an error stopped it.

    for update in tqdm(range(n_updates), desc="training"):
        ...
"""
import functools


@functools.lru_cache(maxsize=1)
def _notebook_bar_class():
    """tqdm.auto's class when it is the notebook one, subclassed to refresh its stored output;
    None in a terminal (or without ipywidgets), where tqdm.auto's text bar is used as it is."""
    from tqdm.auto import tqdm as auto_bar

    try:
        from tqdm.notebook import tqdm as notebook_bar
    except ImportError:  # pragma: no cover - tqdm always ships the module
        return None
    if not issubclass(auto_bar, notebook_bar):
        return None

    class NotebookBar(auto_bar):
        def __init__(self, *args, **kwargs):
            show = kwargs.pop("display", True)
            self._view = None
            super().__init__(*args, display=False, **kwargs)
            if show and not self.disable and self.delay <= 0:
                from IPython.display import display

                self._view = display(self.container, display_id=True)
                self.displayed = True

        def close(self):
            super().close()
            view, self._view = getattr(self, "_view", None), None
            if view is None:
                return
            if self.leave:
                view.update(self.container)   # its text/plain is now the final line
            else:
                view.update({"text/plain": ""}, raw=True)

    return NotebookBar


def tqdm(*args, **kwargs):
    """``tqdm.auto.tqdm(*args, **kwargs)``; in a notebook, closing it (the loop ends, or
    ``close()``, or a ``with`` block) leaves the final line in the saved output."""
    cls = _notebook_bar_class()
    if cls is None:
        from tqdm.auto import tqdm as auto_bar

        return auto_bar(*args, **kwargs)
    return cls(*args, **kwargs)
