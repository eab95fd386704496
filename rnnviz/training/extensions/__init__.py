"""Trainer extensions (``from rnnviz.training import extensions``), with Chainer's names."""
from .evaluator import Evaluator
from .log_report import LogReport
from .observe_value import observe_lr, observe_value
from .plot_report import PlotReport
from .print_report import PrintReport
from .progress_bar import ProgressBar
from .snapshot import snapshot, snapshot_object

__all__ = ["Evaluator", "LogReport", "PlotReport", "PrintReport", "ProgressBar", "observe_lr",
           "observe_value", "snapshot", "snapshot_object"]
