"""Differentiable functions (``import rnnviz.functions as F``).

Each is a FunctionNode with forward and backward side by side and the math in its docstring.
"""
from .activation import log_softmax, relu, sigmoid, softmax, tanh
from .attention import masked_softmax
from .array import broadcast_to, concat, get_item, reshape, split_axis, stack, transpose
from .basic_math import matmul
from .connection import embed_id, linear
from .loss import accuracy, mean_squared_error, softmax_cross_entropy, temporal_softmax_cross_entropy
from .math import exp, log, mean, sum
from .noise import dropout
from .recurrent import gru, gru_step, lstm, lstm_step
from .sequence import pad_sequence, sequence_mask, where


def Linear(*args, **kwargs):
    """Chainer v1's ``F.Linear(in_size, out_size)``: the link ``L.Linear`` (deprecated spelling)."""
    import warnings

    from ..links import Linear as _Linear

    warnings.warn("F.Linear is Chainer v1's name; use L.Linear (rnnviz.links.Linear) instead",
                  DeprecationWarning, stacklevel=2)
    return _Linear(*args, **kwargs)


__all__ = [
    "accuracy", "broadcast_to", "concat", "dropout", "embed_id", "exp", "get_item", "gru", "gru_step",
    "linear",
    "log", "log_softmax", "lstm", "lstm_step", "masked_softmax", "matmul", "mean", "mean_squared_error", "relu", "reshape",
    "sigmoid", "softmax", "softmax_cross_entropy", "split_axis", "stack", "sum", "tanh", "transpose",
    "pad_sequence", "sequence_mask", "temporal_softmax_cross_entropy", "where",
]
