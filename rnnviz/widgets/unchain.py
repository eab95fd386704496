"""UnchainExplorer: run the real truncated-BPTT loop and see where the history is cut and freed."""
import ipywidgets as W

from .. import graph as G
from ..viz import GraphPlot, UnchainView
from .. import experiments as E
from ..i18n import ftr, tr
from ._base import FigureWidget


class UnchainExplorer(FigureWidget):
    """Truncated BPTT, measured. For the chosen ``bprop_len`` the widget runs the loop

        loss += model(x_i, t_i);  every bprop_len steps: loss.backward(); loss.unchain_backward()

    and, after the forward of step ``length - 1`` (before its backward), reads which steps still
    have live function nodes (``rnnviz.live_function_nodes()`` and their scopes), the bytes their
    arrays hold, and which states were cut. Nothing is computed by arithmetic.

    ``UnchainExplorer()`` uses the built-in tiny LSTM language model on 12 steps.
    ``UnchainExplorer(model, xs, ts=None, bprop_len=3, length=None, lossfun=None, precompute=None,
    figsize=(8.2, 6.2))``: ``model`` an ``L.Classifier`` (or a predictor with ``lossfun``) with an
    ``L.LSTM``/``L.RNN``; ``xs``/``ts`` word ids (T,) or (T, batch) (``ts`` defaults to the next
    words of ``xs``); ``precompute=True`` runs the loop for every bprop_len up front so the sliders
    are instant, ``False`` runs each bprop_len when first chosen (one run of 1,000 steps takes about
    a second), and ``None`` (default) precomputes up to 60 steps. Either way the full-BPTT run is
    measured first: it keeps the most history, so it fixes the timeline's scale for every run.
    The last few runs are kept.

    Controls: ``bprop_slider``, ``length_slider`` (IntSliders), ``message``; ``redraw()``.
    """

    who = "UnchainExplorer"
    PRECOMPUTE_UP_TO = 60   # steps: every bprop_len is run up front below this (T^2 work)
    KEEP_RUNS = 8           # beyond the precomputed ones, the runs kept (each holds T x T counts)

    def __init__(self, model=None, xs=None, ts=None, bprop_len=3, length=None, lossfun=None,
                 precompute=None, figsize=(8.2, 6.2)):
        super().__init__(figsize)
        self.bprop_slider = W.IntSlider(min=1, max=2, value=1, description="bprop_len")
        self.length_slider = W.IntSlider(min=1, max=2, value=1, description=tr("unchain.length"))
        self._runs = {}
        controls = [self.bprop_slider, self.length_slider]
        self._start(controls, lambda: self._setup(model, xs, ts, bprop_len, length, lossfun, precompute),
                    observed=controls)

    def _setup(self, model, xs, ts, bprop_len, length, lossfun, precompute):
        self.sm, self.xs, self.ts = E.model_and_data(model, xs, ts, lossfun, who=self.who)
        T = len(self.xs)
        notes = []
        bprop_len = E.check_bprop_len(bprop_len, self.who)
        if bprop_len > T:
            notes.append(tr("unchain.too_long", b=bprop_len, T=T))
            bprop_len = T
        length = T if length is None else E.check_count(self.who, "length", length)
        if not 1 <= length <= T:
            notes.append(tr("unchain.length_outside", n=length, T=T))
            length = T
        if precompute not in (None, True, False):
            raise E.InputError(f"{self.who}: precompute must be True, False or None (automatic), "
                               f"got {precompute!r}")
        self._build()
        self._run(T)  # the most history: its maxima fix the timeline's scale
        if precompute or (precompute is None and T <= self.PRECOMPUTE_UP_TO):
            for b in range(1, T + 1):
                self._run(b)
        self.bprop_slider.max = self.length_slider.max = T
        self.bprop_slider.value, self.length_slider.value = bprop_len, length
        return notes

    def _build(self):
        T = len(self.xs)
        full = E.trace_run(self.sm, self.xs, self.ts)
        shown = G.prepare(full, grouped=True, depth=self.sm.depth)
        lay = G.layout(shown, "unrolled", depth=self.sm.depth)
        fig = self.figure
        fig.clf()
        # the graph's column of step t above point t of the timeline (same left edge and width)
        left, width = 0.12, 0.74
        ax_g = fig.add_axes([left, 0.47, width, 0.39])
        ax_t = fig.add_axes([left, 0.09, width, 0.28])
        self.graph_plot = GraphPlot(ax_g, shown, lay, labels=False, legend=False, colorbar=False)
        ax_g.set_xlim(*lay.step_xlim(T))
        self.view = UnchainView(self.graph_plot, ax_t, T)
        self.title = fig.text(0.5, 0.985, "", ha="center", va="top", fontsize=10)
        self.set_dynamic(self.view.artists() + [self.title])

    def _fix_limits(self):
        """The timeline's two y axes, each scaled to its own curve over the whole run of the chosen
        bprop_len: the curves fill their axes (full BPTT's peak would squash a short bprop_len's
        to the bottom), and moving the length slider does not rescale them."""
        runs = self._runs.get(self.bprop_slider.value, ())
        if runs:
            lim = (max(r["live"] for r in runs), max(r["bytes"] for r in runs))
            if lim != getattr(self, "_limits", None):
                self._limits = lim
                self.view.set_limits(*lim)

    def _run(self, b):
        runs = self._runs
        if b not in runs:
            T = len(self.xs)
            if T > self.PRECOMPUTE_UP_TO:
                while len(runs) > self.KEEP_RUNS:
                    del runs[next(k for k in runs if k != T)]  # the oldest, never the full run
            runs[b] = E.run_truncated(self.sm, self.xs, self.ts, b)
        return runs[b]

    def snapshot(self, bprop_len=None, length=None):
        """The measured state after the forward of step ``length - 1`` with ``bprop_len``."""
        b = self.bprop_slider.value if bprop_len is None else bprop_len
        n = self.length_slider.value if length is None else length
        return self._run(b)[n - 1]

    def status(self, bprop_len=None, length=None):
        """Per step: 0 not run, 1 alive, 2 freed, from the measured live nodes."""
        n = self.length_slider.value if length is None else length
        snap = self.snapshot(bprop_len, length)
        T = len(self.xs)
        return [0 if s >= n else (1 if snap["live_per_step"][s] > 0 else 2) for s in range(T)]

    def _update_views(self):
        if not self.ready:
            return
        b, n = self.bprop_slider.value, self.length_slider.value
        runs = self._run(b)
        self._fix_limits()
        snap = runs[n - 1]
        status = self.status(b, n)
        alive = sum(1 for s in status if s == 1)
        freed = sum(1 for s in status if s == 2)
        summary = ftr("unchain.summary", live=snap["live"], kib=snap["bytes"] / 1024, alive=alive, freed=freed)
        self.view.update(status, snap["live_per_step"], snap["cuts"],
                         [r["live"] for r in runs[:n]], [r["bytes"] for r in runs[:n]], summary)
        self.title.set_text(ftr("unchain.title", b=b, step=n - 1))
