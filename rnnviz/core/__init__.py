"""The define-by-run core: Variable, FunctionNode, the backward engine, configuration, backend.

It knows nothing of links, graphs or pictures.
"""
from . import backend, memory  # noqa: F401  (memory: freed blocks kept for reuse)
from .annotations import Scope, annotate, current_scope
from .config import config, force_backprop_mode, no_backprop_mode, using_config
from .deferred import OuterProductGrad, ScatterRowsGrad
from .function_node import FunctionNode, apply1, live_function_node_count, live_function_nodes
from .variable import Parameter, Variable, as_array, as_variable
