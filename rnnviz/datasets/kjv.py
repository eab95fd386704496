"""A small English corpus shipped with the kit: the King James Version, Genesis to Esther.

About 362,000 words in 12,870 lines (one verse a line), normalised like the Penn Treebank
language-model files; see ``data/README.md`` for its source and license and ``_build_kjv.py`` for
how it was made. Unlike the Penn Treebank it needs no download, so every lesson can use it offline.
"""
import functools
import gzip
import importlib.resources

import numpy

from ._vocab import EOS, UNK, decode_text, frequency_vocabulary, lines_to_words, split_lines, to_ids

#: Fractions of the lines that go to the training and validation splits; the rest is the test split.
SPLIT = (0.90, 0.05)


def kjv_path():
    """Where the shipped ``kjv.txt.gz`` is."""
    return importlib.resources.files(__package__) / "data" / "kjv.txt.gz"


@functools.lru_cache(maxsize=1)
def get_kjv_lines():
    """The corpus as a tuple of lines, each a string of space-separated words."""
    path = kjv_path()
    with path.open("rb") as raw, gzip.GzipFile(fileobj=raw) as gz:
        text = decode_text(gz.read(), str(path))
    return tuple(split_lines(text))


def _split_lines():
    lines = get_kjv_lines()
    n_train = int(len(lines) * SPLIT[0])
    n_valid = int(len(lines) * SPLIT[1])
    return lines[:n_train], lines[n_train : n_train + n_valid], lines[n_train + n_valid :]


def _check_vocab_size(vocab_size):
    """``vocab_size`` as a Python int (a NumPy int too), or a ValueError."""
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, numpy.integer)) or vocab_size < 2:
        raise ValueError(
            f"get_kjv_words: vocab_size must be an int of at least 2 (room for '{EOS}' and "
            f"'{UNK}'), got {vocab_size!r}"
        )
    return int(vocab_size)


@functools.lru_cache(maxsize=8)
def _vocabulary(vocab_size):
    train_lines = _split_lines()[0]
    return frequency_vocabulary(lines_to_words("\n".join(train_lines)), vocab_size)


@functools.lru_cache(maxsize=8)
def _words(vocab_size):
    vocab = _vocabulary(vocab_size)
    arrays = []
    for name, lines in zip(("train", "valid", "test"), _split_lines()):
        ids = to_ids(lines_to_words("\n".join(lines)), vocab, f"kjv {name}")
        ids.flags.writeable = False
        arrays.append(ids)
    return tuple(arrays)


def get_kjv_words_vocabulary(vocab_size=10000):
    """Word -> id for :func:`get_kjv_words` with the same ``vocab_size``.

    Ids follow frequency in the training split (most frequent first, ties alphabetical);
    ``<eos>`` counts as a word, and ``<unk>`` always has the last id. The training split has 7,589
    distinct words plus ``<eos>``, so the default keeps them all and ``<unk>`` only stands for
    words first seen in the validation or test split.
    """
    return dict(_vocabulary(_check_vocab_size(vocab_size)))


def get_kjv_words(vocab_size=10000):
    """The corpus as three int32 arrays of word ids: ``(train, valid, test)``.

    The lines are split in order, 90% / 5% / 5%, so each split is a contiguous stretch of text;
    each line ends with ``<eos>``. Words outside the ``vocab_size`` most frequent training words
    (``<eos>`` and ``<unk>`` included in the count) become ``<unk>``. The result is computed once
    per ``vocab_size`` and process; each call returns fresh, writable copies.
    """
    return tuple(ids.copy() for ids in _words(_check_vocab_size(vocab_size)))


#: A shorter name for :func:`get_kjv_words_vocabulary`.
get_kjv_vocabulary = get_kjv_words_vocabulary
