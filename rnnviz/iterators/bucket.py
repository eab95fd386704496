"""BucketIterator: batches of sequences of similar length, so that padding them wastes little.

A batch is padded to its longest sequence, so a batch of one long and many short sequences is
mostly padding. Sorting by length first puts similar lengths together: for 200 sequences of
lengths drawn from 1..100 in batches of 16, the padded share of the positions is about 44% in
random batches, 30% when pools of two batches are sorted and 6% when the whole dataset is
(measured in tests/test_masks.py). Sorting the whole dataset gives the least padding but much
the same batches every epoch; sorting within pools of a few batches (``pool_batches``) after
shuffling keeps more randomness, as torchtext's BucketIterator does.
"""
import numpy

from ..dataset.iterator import Iterator


def bucket_by_length(lengths, batch_size, shuffle=False, rng=None, pool_batches=None):
    """The example indices cut into batches of similar length (a list of int arrays).

    The examples, in a random order when ``shuffle``, are taken in pools of
    ``pool_batches * batch_size`` (``None``: one pool, the whole dataset); each pool is sorted by
    length (stable: equal lengths keep their order) and cut into batches of ``batch_size``; the
    last batch may be smaller. With ``shuffle`` the batches come in a random order too.
    """
    lengths = numpy.asarray(lengths)
    if lengths.ndim != 1 or (lengths.size and lengths.dtype.kind not in "iu"):
        raise TypeError(f"bucket_by_length: lengths must be a 1-D sequence of ints, got dtype "
                        f"{lengths.dtype} with shape {lengths.shape}")
    if lengths.size and lengths.min() < 0:
        raise ValueError(f"bucket_by_length: lengths must be >= 0, got {int(lengths.min())}")
    _check_count("bucket_by_length", "batch_size", batch_size)
    if pool_batches is not None:
        _check_count("bucket_by_length", "pool_batches", pool_batches)
    rng = numpy.random.default_rng() if rng is None and shuffle else rng
    order = rng.permutation(len(lengths)) if shuffle else numpy.arange(len(lengths))
    pool = len(order) if pool_batches is None else pool_batches * batch_size
    batches = []
    for start in range(0, len(order), max(pool, 1)):
        chunk = order[start:start + pool]
        chunk = chunk[numpy.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    if shuffle:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


class BucketIterator(Iterator):
    """Yield batches (lists of examples) of sequences of similar length; pad them with
    ``rnnviz.iterators.pad_sequences``.

    An example is a sequence, or a tuple whose first field is one (``length`` picks another
    key). Each epoch covers every example once, in ``ceil(N / batch_size)`` batches made by
    :func:`bucket_by_length`; epoch ``e`` is drawn from ``seed`` and ``e`` alone, so the
    position (``iteration``) is the whole state and a resumed run reads the same batches.
    ``repeat=False`` stops after one epoch.
    """

    def __init__(self, dataset, batch_size, repeat=True, shuffle=True, pool_batches=None, seed=0,
                 length=None):
        name = type(self).__name__
        _check_count(name, "batch_size", batch_size)
        try:
            n = len(dataset)
        except TypeError:
            raise TypeError(f"{name}: dataset must be a list of examples (sequences), got "
                            f"{type(dataset).__name__}") from None
        if n == 0:
            raise ValueError(f"{name}: the dataset is empty; there is nothing to batch")
        if pool_batches is not None:
            _check_count(name, "pool_batches", pool_batches)
        if isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)) or seed < 0:
            raise ValueError(f"{name}: seed must be an int >= 0, got {seed!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.repeat, self.shuffle = bool(repeat), bool(shuffle)
        self.pool_batches, self.seed = pool_batches, seed
        key = length or (lambda ex: len(ex[0]) if isinstance(ex, tuple) else len(ex))
        self.lengths = numpy.asarray([_length_of(name, key, i, ex) for i, ex in enumerate(dataset)],
                                     dtype=numpy.int64)
        self.n_batches = -(-len(dataset) // self.batch_size)
        self._cache = (None, None)
        self.reset()

    def batches(self, epoch):
        """The index arrays of epoch ``epoch``'s batches, in the order they come."""
        if self._cache[0] != epoch:
            rng = numpy.random.default_rng([self.seed, epoch])
            self._cache = (epoch, bucket_by_length(self.lengths, self.batch_size, self.shuffle, rng,
                                                   self.pool_batches))
        return self._cache[1]

    def __next__(self):
        epoch, k = divmod(self.iteration, self.n_batches)
        if not self.repeat and epoch >= 1:
            raise StopIteration
        batch = [self.dataset[int(i)] for i in self.batches(epoch)[k]]
        self.iteration += 1
        self.epoch = self.iteration // self.n_batches
        self.is_new_epoch = self.epoch > epoch
        return batch

    next = __next__

    @property
    def epoch_detail(self):
        """Epochs done as a float: whole epochs plus the share of this epoch's examples read."""
        epoch, k = divmod(self.iteration, self.n_batches)
        read = sum(len(b) for b in self.batches(epoch)[:k]) if k else 0
        return epoch + read / len(self.lengths)

    @property
    def previous_epoch_detail(self):
        if self.iteration == 0:
            return None
        self.iteration -= 1
        try:
            return self.epoch_detail
        finally:
            self.iteration += 1

    def padding_share(self, epoch=0):
        """The share of padded positions when epoch ``epoch``'s batches are padded to their longest."""
        padded = sum(len(b) * int(self.lengths[b].max()) for b in self.batches(epoch))
        return 1 - int(self.lengths.sum()) / padded if padded else 0.0

    def reset(self):
        self.iteration = 0
        self.epoch = 0
        self.is_new_epoch = False

    def serialize(self, serializer):
        """Save or load ``iteration`` (with ``epoch``), as Chainer's iterators do."""
        if getattr(serializer, "checking", False):
            stored = serializer.peek("iteration")
            if stored is None:
                serializer.problem(f"the file {serializer.where} has no entry for '{serializer.prefix}iteration'")
            elif stored.ndim != 0 or stored.dtype.kind not in "iu" or stored.item() < 0:
                serializer.problem(f"'{serializer.prefix}iteration' must be one whole number >= 0, but the "
                                   f"file holds {stored.tolist()!r}")
            return
        iteration = serializer("iteration", self.iteration)
        serializer("epoch", self.epoch)
        if iteration is not None:
            self.iteration = int(numpy.asarray(iteration).item())
            self.epoch = self.iteration // self.n_batches
            self.is_new_epoch = self.iteration > 0 and self.iteration % self.n_batches == 0

    def __repr__(self):
        return (f"{type(self).__name__}(batch_size={self.batch_size}, examples={len(self.lengths)}, "
                f"shuffle={self.shuffle}, pool_batches={self.pool_batches}, iteration={self.iteration})")


def _length_of(name, key, i, example):
    """The length of example ``i`` by ``key``, or an error naming the iterator and the example."""
    try:
        n = key(example)
    except TypeError:
        raise TypeError(f"{name}: example {i} has no length (it is {type(example).__name__}); every "
                        f"example must be a sequence (or a tuple whose first field is one)") from None
    if isinstance(n, bool) or not isinstance(n, (int, numpy.integer)) or n < 0:
        raise ValueError(f"{name}: the length of example {i} must be an int >= 0, got {n!r}")
    return n


def _check_count(name, what, value):
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value < 1:
        raise ValueError(f"{name}: {what} must be an int >= 1, got {value!r}")
