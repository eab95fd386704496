"""Any plain-text file as a word-level corpus, split like the shipped one."""
import numpy

from ._vocab import frequency_vocabulary, to_ids
from .ptb import load_words


def get_text_words(path, vocab_size=10000, split=(0.9, 0.05, 0.05)):
    """(train, valid, test, vocab) from a UTF-8 text file: words split on spaces, ``<eos>`` after
    each line, contiguous splits, the ``vocab_size - 1`` most frequent training words plus ``<unk>``.

    An empty file, a binary file or a missing file is a clear error naming the file.
    """
    words = load_words(path)
    n = len(words)
    if n < 3:
        raise ValueError(f"get_text_words: {path} holds only {n} words; a corpus needs at least 3")
    a = max(1, int(n * split[0]))
    b = max(a + 1, int(n * (split[0] + split[1])))
    vocab = frequency_vocabulary(words[:a], vocab_size)
    parts = [to_ids(words[lo:hi], vocab, str(path)) for lo, hi in ((0, a), (a, b), (b, n))]
    return (*[numpy.asarray(p, dtype=numpy.int32) for p in parts], vocab)
