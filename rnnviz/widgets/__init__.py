"""ipywidgets that wire controls to the core and to viz.

    from rnnviz.widgets import GraphView, HiddenStateAnimator, UnchainExplorer, BPTTComparison
    GraphView()            # each builds a small built-in demo when called with no arguments
"""
from .graph_view import GraphView

__all__ = ["GraphView"]
