"""The Iterator interface that updaters and evaluators read batches through (Chainer's names)."""


class Iterator:
    """Base class of dataset iterators.

    A subclass defines ``__next__`` (one batch: a list of examples) and keeps ``batch_size``,
    ``epoch``, ``epoch_detail``, ``is_new_epoch`` and ``iteration`` up to date; ``serialize``
    saves and restores its position so that a resumed run reads the same batches.
    """

    def __iter__(self):
        return self

    def __next__(self):
        raise NotImplementedError(f"{type(self).__name__}.__next__ is not defined: an Iterator "
                                  "subclass must return the next batch")

    def next(self):
        """Python 2's spelling, kept for old code."""
        return self.__next__()

    def finalize(self):
        """Release what the iterator holds (threads, files); nothing by default."""

    def serialize(self, serializer):
        """Save or load the position; nothing by default."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.finalize()
