"""Small helpers shared by the corpus loaders: reading checked text, and words -> ids."""
import collections
import re

import numpy

EOS = "<eos>"
UNK = "<unk>"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


_BOM = "\ufeff"  # U+FEFF: the byte-order mark, EF BB BF in UTF-8 (Notepad writes it)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def decode_text(data, name):
    """UTF-8 bytes -> str, or a ValueError naming ``name`` and saying what is wrong.

    Text here means: not empty, valid UTF-8, and no control characters other than newline,
    carriage return and tab (a NUL byte is the usual sign of a binary file). A byte-order mark is
    not part of the text: it is dropped at the start and wherever else it stands (where two files
    were joined with ``cat``), so it never becomes part of a word.
    """
    if data.startswith(_UTF16_BOMS):
        raise ValueError(
            f"{name}: not a UTF-8 text file: it starts with a UTF-16 byte-order mark; save it as "
            "UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{name}: not a text file: byte {err.start} ({data[err.start:err.start + 1]!r}) "
            "is not valid UTF-8"
        ) from None
    if _BOM in text:
        text = text.replace(_BOM, "")
    if not text.strip():
        raise ValueError(
            f"{name}: the corpus file is empty (expected lines of space-separated words)"
        )
    bad = _CONTROL.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        raise ValueError(
            f"{name}: not a text file: control character {bad.group()!r} on line {line} "
            "(expected lines of space-separated words)"
        )
    return text


def split_lines(text):
    """The lines of ``text``, split where a file opened in text mode would split them."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def lines_to_words(text):
    """All the words of ``text`` with ``<eos>`` after every line, as Chainer's PTB loader does."""
    words = []
    for line in split_lines(text):
        words.extend(line.split())
        words.append(EOS)
    return words


def frequency_vocabulary(words, vocab_size):
    """Word -> id for the ``vocab_size - 1`` most frequent words, then ``<unk>`` as the last id.

    Ties in frequency are broken alphabetically, so the ids depend only on the words.
    """
    counts = collections.Counter(words)
    counts.pop(UNK, None)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    vocab = {word: i for i, (word, _) in enumerate(ranked[: vocab_size - 1])}
    vocab[UNK] = len(vocab)
    return vocab


def to_ids(words, vocab, name):
    """Words -> an int32 array of ids; words outside ``vocab`` become ``<unk>``.

    A word outside a vocabulary that has no ``<unk>`` is an error naming ``name``.
    """
    unk = vocab.get(UNK)
    if unk is None:
        missing = next((w for w in words if w not in vocab), None)
        if missing is not None:
            raise ValueError(
                f"{name}: the word {missing!r} is not in the vocabulary, which has no '{UNK}' "
                "to map it to"
            )
    get = vocab.get
    return numpy.fromiter((get(w, unk) for w in words), dtype=numpy.int32, count=len(words))
