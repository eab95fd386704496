"""ipywidgets that wire controls to the core and to viz.

    from rnnviz.widgets import GraphView, HiddenStateAnimator, UnchainExplorer, BPTTComparison
    from rnnviz.widgets import GradientNormExplorer     # exploding gradients and clipping (lesson 08)
    GraphView()            # each builds a small built-in demo when called with no arguments

Each widget is an ``ipywidgets.VBox`` with ``.figure`` (matplotlib), its controls as attributes,
``.message`` (bad input is explained there, never a traceback) and ``redraw()``. Under
``%matplotlib widget`` the live ipympl canvas is shown; otherwise a PNG of the figure.

``set_language("ja")`` makes the widgets built afterwards speak Japanese (their words live in
``rnnviz.i18n``); a notebook in a folder named ``ja`` (``course/ja/``) gets Japanese by default.
"""
from .. import experiments  # the numbers the widgets draw (no widgets needed to use them)
from ..i18n import get_language, set_language
from .attention import AttentionView
from .bptt import BPTTComparison
from .connectivity import ConnectivityView
from .gradient_norm import GradientNormExplorer
from .graph_view import GraphView
from .hidden_state import HiddenStateAnimator
from .unchain import UnchainExplorer
from .unit_text import UnitTextView

__all__ = ["AttentionView", "BPTTComparison", "ConnectivityView", "GraphView", "HiddenStateAnimator", "UnchainExplorer", "UnitTextView", "experiments",
           "get_language", "set_language"]
