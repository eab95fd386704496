"""Any plain-text file as a word-level corpus, split like the shipped one."""
import math
import numbers
import os

import numpy

from ._vocab import frequency_vocabulary, to_ids
from .ptb import load_words


def get_text_words(path, vocab_size=10000, split=(0.9, 0.05, 0.05)):
    """(train, valid, test, vocab) from a UTF-8 text file: words split on spaces, ``<eos>`` after
    each line, contiguous splits, the ``vocab_size - 1`` most frequent training words plus ``<unk>``.

    An empty file, a binary file, a missing file or a folder is a clear error naming the path; a
    UTF-8 byte-order mark (as Notepad writes) is dropped, not read as part of the first word.
    """
    _check_arguments(path, vocab_size, split)
    words = load_words(path, "get_text_words")
    n = len(words)
    if n < 3:
        raise ValueError(f"get_text_words: {path} holds only {n} words; a corpus needs at least 3")
    a, b, c = _bounds(n, split)
    vocab = frequency_vocabulary(words[:a], vocab_size)
    parts = [to_ids(words[lo:hi], vocab, str(path)) for lo, hi in ((0, a), (a, b), (b, c))]
    return (*[numpy.asarray(p, dtype=numpy.int32) for p in parts], vocab)


def _bounds(n, split):
    """Where the three splits of ``n`` words end: ``words[:a]``, ``words[a:b]``, ``words[b:c]``.

    Each split gets at least one word; a split that sums to less than 1 leaves the rest of the
    file out (the test split does not silently take it), e.g. (0.45, 0.025, 0.025) reads half.
    """
    total = float(split[0]) + float(split[1]) + float(split[2])
    a = min(max(1, int(n * split[0])), n - 2)
    b = min(max(a + 1, int(n * (split[0] + split[1]))), n - 1)
    c = n if total > 1 - 1e-9 else min(n, max(b + 1, int(n * total)))
    return a, b, c


def _check_arguments(path, vocab_size, split):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"get_text_words: path must be the path of a text file (str or "
                        f"pathlib.Path), got {type(path).__name__}")
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, numpy.integer)) or vocab_size < 2:
        raise ValueError(f"get_text_words: vocab_size must be an int of at least 2 (the most frequent "
                         f"words plus '<unk>'), got {vocab_size!r}")
    try:
        parts = [float(f) for f in split] if not isinstance(split, (str, bytes)) else None
    except (TypeError, ValueError):
        parts = None
    if (parts is None or len(parts) != 3 or not all(math.isfinite(f) and f >= 0 for f in parts)
            or not all(isinstance(f, numbers.Real) for f in split) or parts[0] <= 0
            or sum(parts) > 1 + 1e-9):
        raise ValueError(f"get_text_words: split must be three fractions (train, valid, test) >= 0 "
                         f"with train > 0 and a sum of at most 1, e.g. (0.9, 0.05, 0.05); got "
                         f"{split!r}")
