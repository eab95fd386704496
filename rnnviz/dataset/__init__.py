"""Chainer's ``chainer.dataset``: the ``Iterator`` interface and the batch converters.

(``rnnviz.datasets``, plural, holds the corpora; this package is how batches are read from them.)
"""
from . import convert, iterator
from .convert import concat_examples, pad_sequences, to_device
from .iterator import Iterator

__all__ = ["Iterator", "concat_examples", "convert", "iterator", "pad_sequences", "to_device"]
