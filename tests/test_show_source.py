"""rnnviz.utils.show_source: the library code a lesson prints for the learner to read, with its
comments in the learner's language and its code exactly as in the file."""
import inspect
import io
import re
import tokenize
from pathlib import Path

import nbformat

import rnnviz.core.engine as engine
from rnnviz import i18n
from rnnviz.utils import show_source, translate_source
from rnnviz.utils.source import comments

REPO = Path(__file__).resolve().parents[1]
KANA_OR_KANJI = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# the library functions the lessons print with show_source
SHOWN = [engine.run_backward]


def _code_tokens(source):
    """The tokens of ``source`` without its comments and string literals' text (the code itself)."""
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            continue
        out.append((tok.type, "<str>" if tok.type == tokenize.STRING else tok.string, tok.start[0]))
    return out


def test_japanese_shows_every_comment_translated_and_the_code_unchanged(capsys):
    english = inspect.getsource(engine.run_backward)
    shown = show_source(engine.run_backward, lang="ja")
    printed = capsys.readouterr().out
    assert printed.startswith(inspect.getsourcefile(engine.run_backward) + "\n") and shown in printed
    assert _code_tokens(shown) == _code_tokens(english)          # same code, line for line
    found = comments(shown)
    assert len(found) == len(comments(english)) >= 8
    assert all(KANA_OR_KANJI.search(text) for _, _, text in found), found
    # the comments stay where they were: each at its column, each line's code untouched
    for (row, col, _), (row_en, col_en, _) in zip(found, comments(english)):
        assert (row, col) == (row_en, col_en)
        assert shown.splitlines()[row - 1][:col] == english.splitlines()[row - 1][:col]
    doc = shown.splitlines()[1]
    assert "葉" in doc and doc.strip().startswith('"""') and doc.strip().endswith('"""')


def test_english_is_the_file_as_it_is(capsys):
    with i18n.text_language("en"):
        shown = show_source(engine.run_backward)
    assert shown == inspect.getsource(engine.run_backward)
    assert translate_source("x = 1  # a note\n", lang="en") == "x = 1  # a note\n"


def test_the_language_follows_the_widgets_language(capsys):
    with i18n.text_language("ja"):
        assert "勾配の和" in show_source(engine.run_backward)
    with i18n.text_language("en"):
        assert "the sum of the gradients" in show_source(engine.run_backward)


def test_every_comment_of_a_shown_function_has_a_translation():
    """A comment changed in the library (or a new function shown) fails here until the table in
    rnnviz/i18n.py (SOURCE_COMMENTS) has its Japanese."""
    missing = [(f.__qualname__, text) for f in SHOWN for _, _, text in comments(inspect.getsource(f))
               if "ja" not in i18n.SOURCE_COMMENTS.get(text, {})]
    assert not missing, missing


def test_an_unknown_comment_stays_english_and_strings_are_untouched():
    source = ('def f(x):\n    """Not in the table."""\n    s = "# not a comment"  # id(variable) -> the sum '
              'of the gradients it got so far\n    return x  # something new\n')
    out = translate_source(source, lang="ja")
    assert '"""Not in the table."""' in out and '"# not a comment"' in out
    assert "# id(変数) -> その変数がここまでに受け取った勾配の和\n" in out
    assert out.endswith("    return x  # something new\n")


def test_lesson_01_prints_run_backward_with_show_source():
    for path in (REPO / "course" / "01_define_by_run.ipynb", REPO / "course" / "ja" / "01_define_by_run.ipynb"):
        nb = nbformat.read(path, as_version=4)
        cell = next(c for c in nb.cells if c.get("id") == "l01-17")
        assert "show_source(engine.run_backward)" in cell.source, (path, cell.source)
