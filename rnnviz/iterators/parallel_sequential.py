"""ParallelSequentialIterator: B cursors walking one long word stream, as in Chainer's PTB example.

Truncated BPTT needs its data in order (the hidden state carries from one step to the next), yet a
mini-batch wants B different examples. The answer is B cursors spread evenly over the stream:
cursor ``i`` starts at ``i * len(dataset) // batch_size`` and every call moves all of them one word
forward, wrapping at the end. Row ``i`` of consecutive batches is thus a continuous stretch of
text.
"""
import numpy

from ..dataset.iterator import Iterator


class ParallelSequentialIterator(Iterator):
    """Yield batches of ``(current word, next word)`` pairs read at ``batch_size`` offsets.

    ``next(it)`` returns a list of ``batch_size`` pairs. After ``iteration`` calls the cursors have
    moved ``iteration`` words, so ``epoch_detail = iteration * batch_size / len(dataset)`` and
    ``epoch`` is its integer part; ``is_new_epoch`` is true on the call that crosses into a new
    epoch. With ``repeat=False`` the iterator stops (StopIteration) once ``batch_size`` cursors
    have together read ``len(dataset)`` words; as in Chainer, the last pair of a cursor at the end
    of the stream takes its "next word" from the start.

    The whole state is ``iteration`` (``epoch`` and ``is_new_epoch`` follow from it); save it with
    :meth:`serialize` (Chainer style) or :meth:`state_dict` / :meth:`load_state_dict`.
    """

    def __init__(self, dataset, batch_size, repeat=True):
        name = type(self).__name__
        try:
            length = len(dataset)
        except TypeError:
            raise TypeError(
                f"{name}: dataset must be a sequence of word ids with a length, "
                f"got {type(dataset).__name__}"
            ) from None
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, numpy.integer)):
            raise TypeError(f"{name}: batch_size must be an int, got {batch_size!r}")
        batch_size = int(batch_size)
        if getattr(dataset, "ndim", 1) != 1:
            raise ValueError(f"{name}: dataset must be a flat (1-D) stream of word ids, got an array "
                             f"of shape {tuple(dataset.shape)}")
        if length == 0:
            raise ValueError(f"{name}: the dataset is empty (length 0); there is nothing to read")
        if batch_size <= 0:
            raise ValueError(f"{name}: batch_size must be at least 1, got {batch_size}")
        if batch_size > length:
            raise ValueError(
                f"{name}: batch_size ({batch_size}) is larger than the dataset ({length} words); "
                "each of the batch_size cursors needs its own starting word"
            )
        self.dataset = dataset
        self.batch_size = batch_size
        self.repeat = bool(repeat)
        self._length = length
        self.offsets = [i * length // batch_size for i in range(batch_size)]
        self._offsets = numpy.asarray(self.offsets, dtype=numpy.int64)
        self.reset()

    # -- reading -------------------------------------------------------------------------------

    def __iter__(self):
        return self

    def __next__(self):
        if not self.repeat and self.iteration * self.batch_size >= self._length:
            raise StopIteration
        cur_words = self._words_at(self.iteration)
        self.iteration += 1
        next_words = self._words_at(self.iteration)
        epoch = self.iteration * self.batch_size // self._length
        self.is_new_epoch = self.epoch < epoch
        if self.is_new_epoch:
            self.epoch = epoch
        return list(zip(cur_words, next_words))

    next = __next__

    def _words_at(self, step):
        positions = (self._offsets + step) % self._length
        if isinstance(self.dataset, numpy.ndarray):
            return list(self.dataset[positions])
        return [self.dataset[int(p)] for p in positions]

    # -- progress ------------------------------------------------------------------------------

    @property
    def epoch_detail(self):
        """Epochs done as a float: ``iteration * batch_size / len(dataset)``."""
        return self.iteration * self.batch_size / self._length

    @property
    def previous_epoch_detail(self):
        """``epoch_detail`` before the last call, or None before the first."""
        if self.iteration == 0:
            return None
        return (self.iteration - 1) * self.batch_size / self._length

    def reset(self):
        """Put every cursor back at its offset, as if freshly built."""
        self.iteration = 0
        self.epoch = 0
        self.is_new_epoch = False

    def finalize(self):
        """Nothing to release; here for Chainer's Iterator interface."""

    # -- saving and restoring ----------------------------------------------------------------------

    def _state_problem(self, iteration, epoch=None, batch_size=None, dataset_length=None):
        """Why this position cannot be restored here (None when it can); changes nothing."""
        name = type(self).__name__
        for key, stored, mine in (("batch_size", batch_size, self.batch_size),
                                  ("dataset_length", dataset_length, self._length)):
            if stored is not None and _scalar(stored) != mine:
                return (f"{name}: the position was saved with {key}={_scalar(stored)}, but this "
                        f"iterator has {key}={mine}; resume with the same data and batch size")
        if not _is_count(iteration):
            return f"{name}: iteration must be an int >= 0, got {iteration!r}"
        expected = int(iteration) * self.batch_size // self._length
        if epoch is not None and (not _is_count(epoch) or int(epoch) != expected):
            return (f"{name}: epoch {epoch} does not match iteration {int(iteration)} with batch_size "
                    f"{self.batch_size} and a dataset of {self._length} words "
                    f"(expected epoch {expected}); was it saved with another batch size or data?")
        return None

    def _restore(self, iteration, epoch=None, batch_size=None, dataset_length=None):
        problem = self._state_problem(iteration, epoch, batch_size, dataset_length)
        if problem:
            raise ValueError(problem)
        iteration = int(iteration)
        expected = iteration * self.batch_size // self._length
        self.iteration = iteration
        self.epoch = expected
        self.is_new_epoch = (
            iteration > 0 and (iteration - 1) * self.batch_size // self._length < expected
        )

    def serialize(self, serializer):
        """Save or load the position with a Chainer-style serializer.

        ``serializer(key, value)`` stores ``value`` when saving and returns the stored value when
        loading; the keys are ``'iteration'`` and ``'epoch'``, as in Chainer's PTB example. During
        the checking pass of ``load_npz`` the stored pair is validated against this iterator's batch
        size and data length, so a mismatch is reported before anything is loaded.
        """
        if getattr(serializer, "checking", False):  # first pass of a load: report, change nothing
            iteration = serializer.peek("iteration")
            if iteration is None:
                serializer.problem(f"the file {serializer.where} has no entry for "
                                   f"'{serializer.prefix}iteration'")
                return
            epoch = serializer.peek("epoch")
            if iteration.ndim != 0 or (epoch is not None and epoch.ndim != 0):
                serializer.problem(f"'{serializer.prefix}iteration' and 'epoch' should be single "
                                   f"numbers, but the file holds shapes {tuple(iteration.shape)} and "
                                   f"{None if epoch is None else tuple(epoch.shape)}")
                return
            problem = self._state_problem(_scalar(iteration), None if epoch is None else _scalar(epoch))
            if problem:
                serializer.problem(problem)
            return
        iteration = serializer("iteration", self.iteration)
        epoch = serializer("epoch", self.epoch)
        iteration = self.iteration if iteration is None else _scalar(iteration)
        epoch = self.epoch if epoch is None else _scalar(epoch)
        self._restore(iteration, epoch)

    def state_dict(self):
        """The position as plain Python numbers (the dataset itself is not included)."""
        return {
            "iteration": self.iteration,
            "epoch": self.epoch,
            "is_new_epoch": bool(self.is_new_epoch),
            "epoch_detail": self.epoch_detail,
            "batch_size": self.batch_size,
            "dataset_length": self._length,
        }

    def load_state_dict(self, state):
        """Continue from a :meth:`state_dict`; it must come from an iterator of the same shape."""
        name = type(self).__name__
        if not isinstance(state, dict):
            raise TypeError(f"{name}.load_state_dict: expected the dict state_dict() returned, "
                            f"got {type(state).__name__}")
        if "iteration" not in state:
            raise ValueError(f"{name}.load_state_dict: the state has no 'iteration'")
        for key, mine in (("batch_size", self.batch_size), ("dataset_length", self._length)):
            if key in state and _scalar(state[key]) != mine:
                raise ValueError(
                    f"{name}.load_state_dict: the state was saved with "
                    f"{key}={_scalar(state[key])}, but this iterator has {key}={mine}"
                )
        epoch = state.get("epoch")
        self._restore(_scalar(state["iteration"]), None if epoch is None else _scalar(epoch))

    def __repr__(self):
        return (
            f"{type(self).__name__}(batch_size={self.batch_size}, dataset_length={self._length}, "
            f"repeat={self.repeat}, iteration={self.iteration}, epoch={self.epoch})"
        )


def _is_count(value):
    """True for a whole number >= 0 (an int, or a float such as 3.0 read back from JSON)."""
    numeric = (int, float, numpy.integer, numpy.floating)
    if isinstance(value, bool) or not isinstance(value, numeric):
        return False
    return value >= 0 and float(value).is_integer()


def _scalar(value):
    """A Python int from an int, a NumPy scalar or a 0-d array (what a serializer hands back)."""
    return numpy.asarray(value).item()
