"""Chainer's ``chainer.backends``: ``backends.cuda`` is the GPU side of :mod:`rnnviz.backend`."""
from . import cuda

__all__ = ["cuda"]
