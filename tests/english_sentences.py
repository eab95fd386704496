"""Is there English left in a Japanese message? A detector for the grader's messages (issue 20).

A Japanese learner's message may hold code (`sum_to`, ``x.grad``, ``W_h``, ``float32``,
``AssertionError``), numbers and shapes, a few names kept in every language (CuPy, NumPy, GPU, ...)
and, between 「 and 」, words that are not the kit's (the learner's own exception message, a NumPy
error). Anything else written in Latin letters is English the kit left in:

- ``strip_code(text)`` removes code spans, quoted words, shapes, numbers and identifiers;
- ``english_in(text)`` lists what remains of English: every run of 3 or more words, and every
  word of 4 or more letters outside ``ALLOWED``;
- ``assert_no_english(text, where)`` fails with those pieces.

The detector proves itself on English: ``english_in`` of the English messages is never empty
(tests/test_grading_japanese.py checks it on every registered message of the grader).
"""
from __future__ import annotations

import re

#: Words kept in Latin letters in Japanese prose (names of libraries, devices and methods).
ALLOWED = frozenset({"CuPy", "NumPy", "GPU", "CPU", "CUDA", "BPTT", "Python", "NaN", "MiB", "KiB",
                     "JupyterLab", "Jupyter", "nbgrader", "LSTM", "GRU", "RNN"})

_CODE_SPAN = re.compile(r"`[^`\n]*`")
_QUOTED = re.compile(r"「[^」]*」")
_SHAPE = re.compile(r"\(\s*(?:-?\d+\s*,\s*)*-?\d*\s*,?\s*\)")      # (2, 3), (4,), ()
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*(?:'[a-z]+)?")
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
_RUN = re.compile(r"[A-Za-z]+(?:'[a-z]+)?(?:[ ,]+[A-Za-z]+(?:'[a-z]+)?){2,}")


def _is_code(token: str, after: str) -> bool:
    """An identifier rather than a word: ``sum_to``, ``x.grad``, ``float32``, ``SumAxis``,
    ``AssertionError``, ``tanh(`` or ``keepdims=``."""
    core = token.split("'")[0]
    return (any(c in core for c in "_.0123456789")
            or re.search(r"[a-z][A-Z]", core) is not None       # CamelCase: a class name
            or after[:1] in ("(", "=", "["))


def strip_code(text: str, quotes: bool = True) -> str:
    """``text`` without code spans, 「quoted」 words (``quotes``), shapes, identifiers and numbers."""
    text = _CODE_SPAN.sub(" ", text)
    if quotes:
        text = _QUOTED.sub(" ", text)
    text = _SHAPE.sub(" ", text)

    def token(m):
        return " " if _is_code(m.group(0), text[m.end():m.end() + 1]) else m.group(0)
    text = _TOKEN.sub(token, text)
    return _NUMBER.sub(" ", text)


def english_in(text: str, quotes: bool = True, allowed=ALLOWED) -> list[str]:
    """The English left in ``text`` once code is stripped: runs of 3 or more words, and words of 4
    or more letters not in ``allowed``."""
    rest = strip_code(text, quotes)
    found = [m.group(0) for m in _RUN.finditer(rest)]
    found += [w for w in _WORD.findall(rest) if len(w.split("'")[0]) >= 4 and w not in allowed]
    return list(dict.fromkeys(found))


def assert_no_english(text: str, where: str = "", quotes: bool = True) -> None:
    found = english_in(text, quotes)
    assert not found, f"{where}: English left in a Japanese message: {found}\n{text}"
