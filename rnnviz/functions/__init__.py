"""Differentiable functions (``import rnnviz.functions as F``).

Each is a FunctionNode with forward and backward side by side and the math in its docstring.
Chainer v1's ``F.Linear`` (a link, not a function) is added here by ``rnnviz.links``, the layer that
defines it, so that this layer imports nothing above it.
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


__all__ = [
    "accuracy", "broadcast_to", "concat", "dropout", "embed_id", "exp", "get_item", "gru", "gru_step",
    "linear",
    "log", "log_softmax", "lstm", "lstm_step", "masked_softmax", "matmul", "mean", "mean_squared_error", "relu", "reshape",
    "sigmoid", "softmax", "softmax_cross_entropy", "split_axis", "stack", "sum", "tanh", "transpose",
    "pad_sequence", "sequence_mask", "temporal_softmax_cross_entropy", "where",
]
