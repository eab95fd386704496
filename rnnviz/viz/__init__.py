"""matplotlib drawing of the rnnviz.graph data model and of measured arrays: data in, artists out.

Each view keeps its artists and has ``update(...)`` that changes them in place (no rebuilding).
"""
from .compare import TruncationView
from .gradflow import GradientFlowView
from .graph_plot import KIND_COLORS, GraphPlot
from .hidden import HiddenStateView
from .unchain import UnchainView


def draw_graph(graph, layout=None, ax=None, **kwargs):
    """Draw ``graph`` (an rnnviz.graph.Graph) on ``ax`` (a new figure when None); returns the view."""
    import matplotlib.pyplot as plt
    from ..graph import layout as make_layout
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4))
    return GraphPlot(ax, graph, layout if layout is not None else make_layout(graph), **kwargs)


__all__ = ["GraphPlot", "GradientFlowView", "HiddenStateView", "KIND_COLORS", "TruncationView",
           "UnchainView", "draw_graph"]
