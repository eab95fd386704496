"""GraphView: any Variable's graph, grouped by link or expanded, coloured by values or gradients."""
import html

import ipywidgets as W

from .. import graph as G
from ..core import Variable
from ..viz import GraphPlot
from .. import experiments as E
from ..i18n import ftr, tr
from ._base import FigureWidget


def _labelled(text, control):
    """A control with its label beside it (a description would sit above wrapped buttons)."""
    label = W.Label(text, layout=W.Layout(width="3.6em", margin="0 6px 0 8px", flex="0 0 auto"))
    return W.HBox([label, control], layout=W.Layout(align_items="center", margin="0 14px 2px 0"))


def _argument_problem(mode, max_nodes, layout, depth):
    """What is wrong with GraphView's options (None when nothing): said, not silently replaced."""
    if mode not in ("values", "gradients"):
        return tr("graph.bad_mode", got=repr(mode))
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        return tr("graph.bad_max_nodes", got=repr(max_nodes))
    if layout not in ("auto", "unrolled", "layered"):
        return tr("graph.bad_layout", got=repr(layout))
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 1):
        return tr("graph.bad_depth", got=repr(depth))
    return None


def _stats(st):
    return tr("graph.info.stats", min=st.min, max=st.max, mean=st.mean, norm=st.norm)


def describe_node(nd):
    """The node panel's lines for node ``nd`` (an rnnviz.graph Node), in the widgets' language.
    A function (or a link box standing for one) that carries numbers carries its output's: its
    lines say "output". The dtype is shown only when the trace recorded one (a function that
    stands for its hidden output variable has the shape but no dtype: never "None")."""
    if nd.is_param:
        lines = [tr("graph.info.param", label=nd.label)]
    elif nd.is_function:
        lines = [tr("graph.info.function", label=nd.label)]
    else:
        lines = [tr("graph.info.variable", label=nd.label)]
    out = "output_" if nd.is_function else ""
    if nd.shape is not None:
        key = "shape" if nd.dtype else "shape_only"
        lines.append(tr(f"graph.info.{out}{key}", shape=tuple(nd.shape), dtype=nd.dtype))
    if nd.link:
        lines.append(tr("graph.info.link", link=nd.link))
    if nd.step is not None:
        lines.append(tr("graph.info.step_inferred" if nd.step_inferred else "graph.info.step", step=nd.step))
    if nd.cut:
        lines.append(tr("graph.info.cut"))
    if nd.value is not None:
        lines.append(tr(f"graph.info.{out}value", stats=_stats(nd.value)))
    if nd.grad is not None:
        lines.append(tr(f"graph.info.{out}grad", stats=_stats(nd.grad)))
    elif not nd.is_function:
        lines.append(tr("graph.info.no_grad"))
    return lines


class GraphView(FigureWidget):
    """The computational graph behind a Variable.

    ``GraphView()`` shows the built-in tiny LSTM language model's loss over 8 steps, after
    ``backward(retain_grad=True)`` so every variable has a gradient.

    ``GraphView(variable, grouped=True, mode='values', depth=None, max_nodes=1500,
    layout='auto', figsize=(8.2, 5))``:

    * ``variable``: the output to trace back from (a loss, a hidden state, ...);
    * ``grouped``: start with each link's functions collapsed into one box per time step;
      ``depth``: which link depth to group at (default: the recurrent link's own depth);
    * ``mode``: colour variables by ``'values'`` or by ``'gradients'`` (|grad|, log scale);
    * ``max_nodes``: bigger graphs are grouped, then sampled near the output, with a message;
    * ``layout``: ``'auto'`` (unrolled in time when there are time steps), ``'unrolled'``, ``'layered'``.

    Controls: ``group_toggle``, ``mode``, ``node_select`` (the node whose shape and statistics
    ``info`` shows), ``message``; ``redraw()``.
    """

    who = "GraphView"

    def __init__(self, variable=None, grouped=True, mode="values", depth=None, max_nodes=1500,
                 layout="auto", figsize=(8.2, 5)):
        super().__init__(figsize)
        self.max_nodes, self.depth, self.layout_kind = max_nodes, depth, layout
        buttons = {"button_width": "auto"}
        self.group_toggle = W.ToggleButtons(options=[(tr("graph.grouped"), True), (tr("graph.every"), False)],
                                            value=bool(grouped), style=buttons)
        self.mode = W.ToggleButtons(options=[(tr("graph.values"), "values"), (tr("graph.gradients"), "gradients")],
                                    value=mode if mode in ("values", "gradients") else "values",
                                    style=buttons)
        self.node_select = W.Dropdown(options=[(tr("graph.none"), -1)], value=-1,
                                      layout=W.Layout(width="auto", min_width="260px", max_width="520px"))
        self.info = W.HTML(value="")
        self.plot = None
        self._full = None
        self._cache = {}
        self._plots = {}          # grouped -> GraphPlot, each in its own axes
        self._backgrounds = {}    # grouped -> the blitting background captured when it was drawn
        self._shown_grouping = None
        self.variable = None
        problem = _argument_problem(mode, max_nodes, layout, depth)
        if variable is None and not problem:
            variable, self._model = E.demo_loss(8)
        if problem:
            self.show_message(problem)
            self._show_blank(ftr("widget.nothing"))
        elif not isinstance(variable, Variable):
            self.show_message(tr("graph.bad_variable", got=type(variable).__name__))
            self._show_blank(ftr("widget.nothing"))
        else:
            self.variable = variable
            self._full = G.trace(variable)
            if len(self._full) > max_nodes and not grouped:
                self.group_toggle.value = True
        controls = W.HBox([_labelled(tr("graph.show"), self.group_toggle), _labelled(tr("graph.colour"), self.mode)],
                          layout=W.Layout(flex_flow="row wrap", align_items="center", margin="2px 0"))
        self.children = [controls, _labelled(tr("graph.node"), self.node_select), self.info, self.message, self.output]
        self.group_toggle.observe(self._on_group, names="value")
        self.mode.observe(self._on_change, names="value")
        self.node_select.observe(self._on_change, names="value")
        self._rebuild()
        self._refresh()
        self._prepare_views()

    # -- building -----------------------------------------------------------------------------------
    def _shown_graph(self, grouped):
        if grouped not in self._cache:
            g = G.prepare(self._full, grouped=grouped, depth=self.depth, max_nodes=self.max_nodes)
            self._cache[grouped] = (g, G.layout(g, self.layout_kind, self.depth))
        return self._cache[grouped]

    def _plot_for(self, grouped):
        """The plot of one grouping, built once into its own axes (hidden while the other shows)."""
        if grouped not in self._plots:
            g, lay = self._shown_graph(grouped)
            ax = self.figure.add_axes([0.11, 0.07, 0.8, 0.84], label=f"graph grouped={grouped}")
            title = ftr("graph.title", functions=self._full.n_functions, variables=self._full.n_variables,
                        shown=len(g))
            self._plots[grouped] = GraphPlot(ax, g, lay, mode=self.mode.value, title=title)
        return self._plots[grouped]

    def _show_grouping(self, grouped):
        """Show the plot of ``grouped`` and hide the other. A grouping shown before comes back by
        blitting onto its cached background (the toggle then costs what a colour change costs)."""
        plot = self._plot_for(grouped)
        for key, p in self._plots.items():
            p.ax.set_visible(key == grouped)
            if key != grouped:
                for bar in p.colorbars():
                    bar.ax.set_visible(False)
        plot.show_colorbar(plot.mode if plot.mode in ("values", "gradients") else None)
        self.plot = plot
        self.graph, self.graph_layout = self._shown_graph(grouped)
        self._shown_grouping = grouped
        # the controls change node colours and the highlight; edges stay put. The colour bar is
        # static: each (grouping, colouring) has its own cached background
        self.set_dynamic(plot.artists_from(2))

    def _use_cached_background(self):
        """After the views changed: blit onto the background cached for what is shown now, if any
        (showing a grouping or a colour bar again changes nothing else in the figure)."""
        background = self._backgrounds.get(self._view_key())
        if background is not None:
            self._background = background
            self.figure.stale = False

    def _view_key(self):
        return (self._shown_grouping, self.plot.mode if self.plot is not None else None)

    def _on_draw(self, event):
        super()._on_draw(event)
        if self._background is not None and self._shown_grouping is not None:
            self._backgrounds[self._view_key()] = self._background

    def _prepare_views(self):
        """Build and draw every (grouping, colouring) once now, so that no first toggle is slow."""
        if self._full is None:
            return
        shown = (self._shown_grouping, self.mode.value)
        for grouped in (shown[0], not shown[0]):
            self._show_grouping(grouped)
            for mode in ("values", "gradients"):
                if (grouped, mode) not in self._backgrounds:
                    self.plot.update(mode=mode)
                    self.figure.canvas.draw()       # caches its background (``_on_draw``)
        self._show_grouping(shown[0])
        self.plot.update(mode=shown[1])
        self._use_cached_background()
        self._refresh()                             # what is shown, again (a blit)

    def _rebuild(self):
        if self._full is None:
            return
        self._show_grouping(self.group_toggle.value)
        g = self.graph
        notes = [g.note] if g.note else []
        if g.steps and self._full.cuts:
            notes.append(tr("graph.cuts", n=len(self._full.cuts)))
        self.show_message("; ".join(notes), level="warning" if g.note else "info")
        options = [(tr("graph.none"), -1)]
        for nd in g.nodes:
            step = f" t={nd.step}" if nd.step is not None else ""
            where = f" [{nd.link}]" if nd.link else ""
            options.append((f"{nd.id}: {nd.label}{step}{where}", nd.id))
        self._rebuilding = True   # the caller redraws once, after the rebuild
        try:
            with self.node_select.hold_trait_notifications():
                self.node_select.options = options
                self.node_select.value = -1
        finally:
            self._rebuilding = False
        self.info.value = ""

    def _on_group(self, change):
        try:
            self._rebuild()
        except Exception as exc:
            self.show_message(f"GraphView: {type(exc).__name__}: {exc}")
        self.redraw()

    def _on_change(self, change):
        if not getattr(self, "_rebuilding", False):
            self.redraw()

    def _update_views(self):
        if self.plot is None:
            return
        nid = self.node_select.value
        self.plot.update(mode=self.mode.value, highlight=None if nid is None or nid < 0 else nid)
        self._use_cached_background()
        if nid is not None and nid >= 0:
            nd = self.graph.nodes[nid]
            if nd.kind == "group":
                # what the box stands for, then the numbers of its output (when it has them)
                numbers = [line for line in describe_node(nd)[1:]
                           if line not in (tr("graph.info.link", link=nd.link),
                                           tr("graph.info.step", step=nd.step),
                                           tr("graph.info.step_inferred", step=nd.step))]
                text = "<br>".join([tr("graph.group_info", label=html.escape(nd.label), link=html.escape(nd.link),
                                       step=nd.step, members=nd.members)]
                                   + [html.escape(line) for line in numbers])
            else:
                text = "<br>".join(html.escape(line) for line in describe_node(nd))
            self.info.value = f'<div style="font-family:monospace;font-size:12px">{text}</div>'
        else:
            self.info.value = ""
