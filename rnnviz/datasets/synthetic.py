"""Synthetic sequence tasks for the lessons on truncated backpropagation.

Each task has a known dependency length, so a learner can see a model fail when the truncation
window (``bprop_len``) is shorter than the distance the answer travels, and succeed when it is
longer. Everything is NumPy, seeded and deterministic: the same arguments give the same arrays.
"""
import numpy

#: The target used where a task has no answer yet. It is Chainer's default ``ignore_label`` for
#: ``softmax_cross_entropy`` and ``accuracy``, so those positions add nothing to the loss.
IGNORE_LABEL = -1


def _check_int(func, name, value, low):
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value < low:
        raise ValueError(f"{func}: {name} must be an int >= {low}, got {value!r}")
    return int(value)


def _check_seed(func, seed):
    """A seed for numpy.random.default_rng: an int >= 0 (None draws a fresh one)."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)) or seed < 0):
        raise ValueError(f"{func}: seed must be an int >= 0 (or None), got {seed!r}")
    return seed


def recall_batch(batch_size, length, lag, vocab_size=10, seed=0):
    """Batched :func:`recall_task`: ``(inputs, targets)``, int32, shape ``(batch_size, length)``.

    ``inputs`` are token ids drawn uniformly from ``range(vocab_size)``;
    ``targets[:, t] = inputs[:, t - lag]`` for ``t >= lag`` and ``IGNORE_LABEL`` (-1) for
    ``t < lag``, where nothing has been seen ``lag`` steps back. ``lag = 0`` is the copy task.
    To feed a recurrent model step by step, take ``inputs[:, t]``: one id per sequence.
    """
    batch_size = _check_int("recall_batch", "batch_size", batch_size, 1)
    length = _check_int("recall_batch", "length", length, 1)
    lag = _check_int("recall_batch", "lag", lag, 0)
    vocab_size = _check_int("recall_batch", "vocab_size", vocab_size, 1)
    if lag >= length:
        raise ValueError(
            f"recall_batch: lag must be smaller than length (else no step has a target), "
            f"got lag={lag}, length={length}"
        )
    rng = numpy.random.default_rng(_check_seed("recall_batch", seed))
    inputs = rng.integers(0, vocab_size, size=(batch_size, length)).astype(numpy.int32)
    targets = numpy.full((batch_size, length), IGNORE_LABEL, dtype=numpy.int32)
    targets[:, lag:] = inputs[:, : length - lag]
    return inputs, targets


def recall_task(length, lag, vocab_size=10, seed=0):
    """One sequence of the delayed-recall task: ``(inputs, targets)``, int32 of shape ``(length,)``.

    The model must output, at step ``t``, the token it read ``lag`` steps earlier:
    ``targets[t] = inputs[t - lag]`` for ``t >= lag``; ``targets[t] = IGNORE_LABEL`` (-1) for
    ``t < lag``. Truncated BPTT with a window shorter than ``lag`` cannot learn it.
    """
    inputs, targets = recall_batch(1, length, lag, vocab_size=vocab_size, seed=seed)
    return inputs[0], targets[0]


def adding_task(batch_size, length, seed=0):
    """The adding problem (Hochreiter and Schmidhuber, 1997), as float32 arrays.

    Returns ``(values, markers, targets)``: ``values`` uniform in [0, 1) and ``markers`` 0 or 1,
    both of shape ``(batch_size, length)``, with exactly two 1s per row, one in each half of the
    sequence; ``targets`` of shape ``(batch_size, 1)`` is the sum of the two marked values. The
    answer depends on a step about ``length / 2`` or more steps back.
    """
    batch_size = _check_int("adding_task", "batch_size", batch_size, 1)
    length = _check_int("adding_task", "length", length, 2)
    rng = numpy.random.default_rng(_check_seed("adding_task", seed))
    values = rng.random((batch_size, length)).astype(numpy.float32)
    half = length // 2
    first = rng.integers(0, half, size=batch_size)
    second = rng.integers(half, length, size=batch_size)
    markers = numpy.zeros((batch_size, length), dtype=numpy.float32)
    rows = numpy.arange(batch_size)
    markers[rows, first] = 1
    markers[rows, second] = 1
    targets = (values[rows, first] + values[rows, second]).astype(numpy.float32)[:, None]
    return values, markers, targets


#: The vocabulary of the digit tasks (:func:`digit_reversal`, :func:`digit_addition`): ids 0-9 are
#: the digits themselves, then '+', '<bos>' (begin of sentence: the decoder's first input) and
#: '<eos>' (end of sentence: the decoder's last target). Padding is not a token: pad with
#: ``IGNORE_LABEL`` (-1), which ``F.embed_id`` (``ignore_label=-1``) and the losses skip.
DIGIT_VOCAB = tuple("0123456789") + ("+", "<bos>", "<eos>")
PLUS, BOS, EOS = 10, 11, 12


def _digit_lengths(func, n, min_len, max_len):
    n = _check_int(func, "n", n, 1)
    min_len = _check_int(func, "min_len", min_len, 1)
    max_len = _check_int(func, "max_len", max_len, 1)
    if max_len < min_len:
        raise ValueError(f"{func}: max_len must be >= min_len, got min_len={min_len}, max_len={max_len}")
    return n, min_len, max_len


def digit_reversal(n, min_len=3, max_len=8, seed=0):
    """The reversal task: read a string of digits, write it backwards.

    Returns ``(sources, targets, vocab)``: two lists of ``n`` int32 arrays and
    :data:`DIGIT_VOCAB`. ``sources[i]`` holds L digit ids, L drawn uniformly from
    ``min_len..max_len``; ``targets[i]`` is ``sources[i][::-1]`` followed by ``EOS`` (12), so
    L + 1 ids. The decoder reads ``BOS`` (11) first; pad with ``IGNORE_LABEL`` (-1).
    """
    n, min_len, max_len = _digit_lengths("digit_reversal", n, min_len, max_len)
    rng = numpy.random.default_rng(_check_seed("digit_reversal", seed))
    lengths = rng.integers(min_len, max_len + 1, size=n)
    sources = [rng.integers(0, 10, size=L).astype(numpy.int32) for L in lengths]
    targets = [numpy.append(s[::-1], EOS).astype(numpy.int32) for s in sources]
    return sources, targets, DIGIT_VOCAB


def digit_addition(n, min_len=1, max_len=3, seed=0):
    """The addition task of "Deep Learning from Scratch 2", chapter 7: read 'a+b', write the sum.

    Returns ``(sources, targets, vocab)`` like :func:`digit_reversal`: ``sources[i]`` holds the
    digits of a, the id ``PLUS`` (10) and the digits of b, each number with ``min_len..max_len``
    digits (no leading zero); ``targets[i]`` the digits of a + b followed by ``EOS`` (12).
    """
    n, min_len, max_len = _digit_lengths("digit_addition", n, min_len, max_len)
    rng = numpy.random.default_rng(_check_seed("digit_addition", seed))

    def number():
        digits = int(rng.integers(min_len, max_len + 1))
        return int(rng.integers(10 ** (digits - 1) if digits > 1 else 0, 10 ** digits))

    sources, targets = [], []
    for _ in range(n):
        a, b = number(), number()
        sources.append(numpy.array([int(d) for d in str(a)] + [PLUS] + [int(d) for d in str(b)], numpy.int32))
        targets.append(numpy.array([int(d) for d in str(a + b)] + [EOS], numpy.int32))
    return sources, targets, DIGIT_VOCAB
