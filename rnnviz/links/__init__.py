"""Parameterised layers (``import rnnviz.links as L``)."""
from .connection import EmbedID, Linear
from .link import Chain, ChainList, Link
from .model import RNNLM, Classifier
from .masked import masked_step
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

__all__ = ["Chain", "ChainList", "Classifier", "EmbedID", "GRU", "GRUCell", "LSTM", "LSTMCell", "Link",
           "Linear", "RNN", "RNNCell", "RNNLM", "masked_step"]


def _chainer_v1_linear(*args, **kwargs):
    """Chainer v1's ``F.Linear(in_size, out_size)``: the link ``L.Linear`` (deprecated spelling)."""
    import warnings

    warnings.warn("F.Linear is Chainer v1's name; use L.Linear (rnnviz.links.Linear) instead",
                  DeprecationWarning, stacklevel=2)
    return Linear(*args, **kwargs)


# the seeds' `F.Linear(...)` works: the spelling is attached to the layer below, never imported by it
from .. import functions as _functions  # noqa: E402

_functions.Linear = _chainer_v1_linear
