"""Iterators that feed word streams to a recurrent model, with Chainer's names and semantics."""
from .bucket import BucketIterator, bucket_by_length
from .convert import concat_examples, pad_sequences
from .parallel_sequential import ParallelSequentialIterator

__all__ = ["BucketIterator", "ParallelSequentialIterator", "bucket_by_length", "concat_examples", "pad_sequences"]
