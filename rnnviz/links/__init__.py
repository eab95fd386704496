"""Parameterised layers (``import rnnviz.links as L``)."""
from .connection import EmbedID, Linear
from .link import Chain, ChainList, Link
from .model import RNNLM, Classifier
from .masked import masked_step
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

__all__ = ["Chain", "ChainList", "Classifier", "EmbedID", "GRU", "GRUCell", "LSTM", "LSTMCell", "Link",
           "Linear", "RNN", "RNNCell", "RNNLM", "masked_step"]
