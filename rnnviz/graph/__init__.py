"""Read the live graph without changing it: ``trace()`` -> a plain data model, plus layouts.

    g = rnnviz.graph.trace(loss)          # nodes, edges, time steps, statistics
    g.to_dot()                            # Graphviz text
    lay = rnnviz.graph.layout(rnnviz.graph.group(g))
"""
from .layout import (Layout, auto_depth, group, layered_layout, layout, prepare, sample,
                     topological_order, unrolled_layout)
from .model import Edge, Graph, Node, Stats
from .trace import array_stats, live_function_node_count, live_function_nodes, time_step, trace

__all__ = ["Edge", "Graph", "Layout", "Node", "Stats", "array_stats", "auto_depth", "group",
           "layered_layout", "layout", "live_function_node_count", "live_function_nodes",
           "prepare", "sample", "time_step", "topological_order", "trace", "unrolled_layout"]
