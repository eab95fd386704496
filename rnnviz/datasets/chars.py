"""The shipped KJV corpus read one character at a time: a character-level language model's data.

The corpus (``kjv.py``) was normalised like the Penn Treebank files: lower case, no punctuation,
no verse numbers, no digits, one verse a line. What is left is a small alphabet, and every
character of every split belongs to it, so a character model needs no ``<unk>``:

    newline, space, apostrophe (only in the possessive ``'s``), hyphen (a handful of compound
    words such as ``loving-kindness``), and the 26 lower-case letters: 30 characters.

The splits are the word corpus's (the same lines, 90% / 5% / 5%, in order); each line ends with
``"\\n"``, which plays the part of ``<eos>``.
"""
import collections.abc
import functools

import numpy

from .kjv import _split_lines

#: Every character of the shipped corpus, in id order (id 0 is the newline that ends each verse).
KJV_CHARSET = "\n '-abcdefghijklmnopqrstuvwxyz"


def get_kjv_chars_vocabulary():
    """Character -> id for :func:`get_kjv_chars` (the order of :data:`KJV_CHARSET`)."""
    return {c: i for i, c in enumerate(KJV_CHARSET)}


def chars_to_ids(text, vocab=None):
    """``text`` -> int32 character ids; a character outside the vocabulary is an error naming it."""
    vocab = get_kjv_chars_vocabulary() if vocab is None else vocab
    if not isinstance(text, str):
        raise TypeError(f"chars_to_ids: text must be a str, got {type(text).__name__}")
    if not isinstance(vocab, collections.abc.Mapping):
        raise TypeError(f"chars_to_ids: vocab must map each character to its id (a dict such as "
                        f"get_kjv_chars_vocabulary()), got {type(vocab).__name__}")
    try:
        return numpy.array([vocab[c] for c in text], dtype=numpy.int32)
    except KeyError as err:
        where = text.index(err.args[0])
        raise ValueError(f"chars_to_ids: the character {err.args[0]!r} (position {where}) is not in "
                         f"the vocabulary {''.join(vocab)!r}") from None


def ids_to_chars(ids, charset=KJV_CHARSET):
    """int ids -> the string they spell (a Variable's ids too; several rows are read one after the
    other). Float ids are refused: 1.7 would silently be read as 1."""
    ids = numpy.asarray(getattr(ids, "array", ids))
    if ids.size and ids.dtype.kind not in "iu":
        raise TypeError(f"ids_to_chars: ids must be integers (character ids 0..{len(charset) - 1}), got "
                        f"dtype {ids.dtype}" + ("; from scores take .argmax(axis=1) first"
                                                if ids.dtype.kind == "f" else ""))
    ids = ids.ravel()
    if ids.size and (ids.min() < 0 or ids.max() >= len(charset)):
        raise ValueError(f"ids_to_chars: ids must lie in 0..{len(charset) - 1}, got "
                         f"{int(ids.min())}..{int(ids.max())}")
    return "".join(charset[int(i)] for i in ids)


@functools.lru_cache(maxsize=1)
def _chars():
    out = []
    for name, lines in zip(("train", "valid", "test"), _split_lines()):
        ids = chars_to_ids("".join(line + "\n" for line in lines))
        ids.flags.writeable = False
        out.append(ids)
    return tuple(out)


def get_kjv_chars():
    """The corpus as character ids: ``(train, valid, test, vocab)``.

    ``train``, ``valid``, ``test``: int32 arrays, one id per character, each verse followed by the
    newline (id 0); ``vocab``: character -> id (30 characters, :data:`KJV_CHARSET`). Computed once
    per process; each call returns fresh, writable copies.
    """
    return (*(ids.copy() for ids in _chars()), get_kjv_chars_vocabulary())
