"""Iterators that feed word streams to a recurrent model, with Chainer's names and semantics."""
from .convert import concat_examples
from .parallel_sequential import ParallelSequentialIterator

__all__ = ["ParallelSequentialIterator", "concat_examples"]
