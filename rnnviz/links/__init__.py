"""Parameterised layers (``import rnnviz.links as L``)."""
from .connection import EmbedID, Linear
from .link import Chain, ChainList, Link
from .model import RNNLM, Classifier
from .recurrent import LSTM, RNN, LSTMCell, RNNCell

__all__ = ["Chain", "ChainList", "Classifier", "EmbedID", "LSTM", "LSTMCell", "Link", "Linear",
           "RNN", "RNNCell", "RNNLM"]
