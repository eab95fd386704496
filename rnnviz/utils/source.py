"""Show a library function's source where a lesson asks the learner to read it, with its comments
in the learner's language.

    from rnnviz.utils import show_source
    show_source(rnnviz.core.engine.run_backward)     # prints its file and its source

The code is printed as it is in the file (``inspect.getsource``); only its comments, and its
docstring when it is one line, are replaced, when the language is Japanese, by their translations in
``rnnviz.i18n.SOURCE_COMMENTS`` (keyed by the English text after ``# ``). A comment the table does
not know stays English, so a changed comment never shows a stale translation; the tests check that
every comment of the functions the lessons print has one.
"""
from __future__ import annotations

import inspect
import io
import tokenize


def comments(source: str):
    """[(row, column, text)] of each comment of ``source``: row from 1, the column of its ``#``, the
    text after ``#`` and the spaces that follow it."""
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            found.append((tok.start[0], tok.start[1], tok.string[1:].strip()))
    return found


def _docstring_token(source: str):
    """The (row, column, end column, text) of the first statement's docstring when it is a
    one-line string literal of a def or class, else None."""
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
              if t.type not in (tokenize.NL, tokenize.COMMENT)]
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.OP and tok.string == ":" and i + 2 < len(tokens) and \
                tokens[i + 1].type == tokenize.NEWLINE:
            j = i + 2
            while j < len(tokens) and tokens[j].type == tokenize.INDENT:
                j += 1
            doc = tokens[j] if j < len(tokens) else None
            if doc is not None and doc.type == tokenize.STRING and doc.start[0] == doc.end[0]:
                for quote in ('"""', "'''"):
                    if doc.string.startswith(quote) and doc.string.endswith(quote):
                        return doc.start[0], doc.start[1], doc.end[1], doc.string[3:-3]
            return None
    return None


def translate_source(source: str, lang: str | None = None) -> str:
    """``source`` with its comments (and a one-line docstring) in ``lang`` (default: the widgets'
    language, ``rnnviz.i18n.get_language()``); unchanged for English."""
    from .. import i18n

    lang = i18n.get_language() if lang is None else lang
    if lang == "en":
        return source
    table = i18n.SOURCE_COMMENTS
    lines = source.splitlines(keepends=True)
    for row, col, text in comments(source):
        ja = table.get(text, {}).get(lang)
        if ja:
            line = lines[row - 1]
            end = "\n" if line.endswith("\n") else ""
            lines[row - 1] = line[:col] + "# " + ja + end
    doc = _docstring_token(source)
    if doc is not None:
        row, start, stop, text = doc
        ja = table.get(text.strip(), {}).get(lang)
        if ja:
            line = lines[row - 1]
            lines[row - 1] = line[:start] + '"""' + ja + '"""' + line[stop:]
    return "".join(lines)


def show_source(obj, lang: str | None = None, file=None) -> str:
    """Print where ``obj`` (a function, class or module) is defined and its source, with comments in
    the learner's language (see ``translate_source``); returns the source as printed."""
    path = inspect.getsourcefile(obj)
    source = translate_source(inspect.getsource(obj), lang)
    print(path, file=file)
    print(source, file=file)
    return source


__all__ = ["comments", "show_source", "translate_source"]
