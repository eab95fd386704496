"""rnnviz: a small define-by-run autograd and RNN library for seeing recurrent networks work.

Chainer's names, so ``import rnnviz as chainer`` runs the tutorials' code.
"""
from .core import (Parameter, Variable, backend, config, force_backprop_mode, no_backprop_mode,
                   using_config)
from .core.function_node import FunctionNode, live_function_node_count, live_function_nodes
from . import functions  # installs Variable's operators
from . import gradient_check, links, optimizers, serializers
from .links import Chain, ChainList, Link
from .optimizers import hooks as optimizer_hooks

optimizer = optimizers  # Chainer v1 spelled the hooks chainer.optimizer.WeightDecay

# the rest of Chainer's top level, so that the seeds' import lines work with only the name changed
from . import backends, cuda, dataset, datasets, initializers, iterators, reporter, training, utils
from .core.function import Function
from .reporter import Reporter, get_current_reporter, report, report_scope

import sys as _sys

# `import chainer.optimizer_hooks` / `from chainer.optimizer import WeightDecay` as modules too
_sys.modules[__name__ + ".optimizer_hooks"] = optimizer_hooks
_sys.modules[__name__ + ".optimizer"] = optimizers
del _sys

__version__ = "0.1.0"


def _japanese_figures_from_the_start():
    """A Japanese lesson (working folder ``course/ja/``) imports matplotlib, then rnnviz: switch
    matplotlib to the Japanese font now, so that the lesson's own plots (drawn before any widget
    speaks) have their glyphs. Without matplotlib imported nothing happens (graders, scripts)."""
    import sys
    from . import i18n
    if "matplotlib" in sys.modules and i18n._state["lang"] is None and i18n.default_language() == "ja":
        i18n.set_language("ja")


_japanese_figures_from_the_start()
