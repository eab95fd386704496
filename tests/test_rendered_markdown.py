"""What the learner reads has no markup left in it: every markdown cell of the lessons (both
editions), of the assignments and their sources, and the two course READMEs, rendered the way
JupyterLab renders them, shows no literal ``**``, ``__`` or ``$$`` outside code and math.

JupyterLab renders a markdown cell in two steps (``@jupyterlab/rendermime``'s ``removeMath``, then
the Markdown parser): the math is set aside first, each ``$...$``, ``$$...$$``, ``\\(...\\)``,
``\\[...\\]`` and ``\\begin{env}...\\end{env}`` replaced by a ``@@N@@`` marker (a ``$`` inside a code
span or a fenced block is not math), then the rest is parsed as CommonMark (with GFM's tables and
strike-through) and the math put back for MathJax. ``remove_math`` below does the first step the
same way; markdown-it-py, a CommonMark parser, does the second. A ``**`` that CommonMark cannot
close (e.g. right after 「）」 and before a kanji: 「これが**展開された（unrolled）**計算グラフです」)
stays in the text as two asterisks: that is what these tests look for, in every text the parser
leaves (and in raw HTML blocks, which the browser shows as they are).
"""
import re
from pathlib import Path

import markdown_it          # the test extra (pyproject.toml) installs markdown-it-py
import pytest

REPO = Path(__file__).resolve().parents[1]
MARKS = ("**", "__", "$$")

# one token of the math scan: a dollar or two, \begin{..}/\end{..}, an escaped brace or dollar, a
# brace, a run of line breaks, a marker already in the text, \\( \\) \\[ \\]
_SPLIT = re.compile(r"(\$\$?|\\(?:begin|end)\{[a-z]*\*?\}|\\[{}$]|[{}]|(?:\n\s*)+|@@\d+@@|\\\\(?:\(|\)|\[|\]))",
                    re.IGNORECASE)
_FENCE = re.compile(r"^(?P<fence>`{3,}|(?:~T){3,})[^`\n]*\n[\s\S]*?^(?P=fence)`*$", re.MULTILINE)
_CODE_SPAN = re.compile(r"(^|[^\\])(`+)([^\n]*?[^`\n])\2(?!`)", re.MULTILINE)


def remove_math(text):
    """(text with each math span replaced by ``@@N@@``, [the spans]): JupyterLab's first step.
    A math span may not cross a blank line; braces inside it must balance before its end counts."""
    math = []
    if "`" in text or "~~~" in text:
        # code cannot hold math: hide its dollars (~D) behind an escaped tilde (~T), put back after
        text = text.replace("~", "~T")
        hide = lambda m: m.group(0).replace("$", "~D")          # noqa: E731
        text = _CODE_SPAN.sub(hide, _FENCE.sub(hide, text))
        untilde = lambda s: re.sub(r"~([TD])", lambda m: "~" if m.group(1) == "T" else "$", s)  # noqa: E731
    else:
        untilde = lambda s: s                                    # noqa: E731
    blocks = _SPLIT.split(text.replace("\r\n", "\n").replace("\r", "\n"))

    def set_aside(i, j):
        span = "".join(blocks[i:j + 1])
        for k in range(i + 1, j + 1):
            blocks[k] = ""
        blocks[i] = f"@@{len(math)}@@"
        math.append(untilde(span))

    start = end = last = None
    braces = 0
    i = 1
    while i < len(blocks):
        block = blocks[i]
        if block.startswith("@"):
            blocks[i] = f"@@{len(math)}@@"
            math.append(block)
        elif start is not None:
            if block == end:
                if braces:
                    last = i
                else:
                    set_aside(start, i)
                    start = end = last = None
            elif re.search(r"\n.*\n", block):        # a blank line ends an unclosed span
                if last is not None:
                    i = last
                    set_aside(start, i)
                start = end = last = None
                braces = 0
            elif block == "{":
                braces += 1
            elif block == "}" and braces:
                braces -= 1
        elif block in ("$", "$$"):
            start, end, braces = i, block, 0
        elif block in ("\\\\(", "\\\\["):
            start, end, braces = i, "\\\\)" if block.endswith("(") else "\\\\]", 0
        elif block[1:6] == "begin":
            start, end, braces = i, "\\end" + block[6:], 0
        i += 2
    if start is not None and last is not None:
        set_aside(start, last)
    return untilde("".join(blocks)), math


_PARSER = None


def parser():
    global _PARSER
    if _PARSER is None:
        _PARSER = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])
    return _PARSER


def _texts(tokens):
    """Every piece of text the reader sees, as the parser left it (code and math left out)."""
    for tok in tokens:
        if tok.type == "inline":
            yield from _texts(tok.children or [])
        elif tok.type == "text":
            yield tok.content
        elif tok.type == "html_block":          # shown by the browser as written, tags aside
            yield re.sub(r"<[^>]*>", " ", tok.content)


def literal_marks(markdown):
    """[(mark, the line it is on)] for each ``**``, ``__`` or ``$$`` the rendered text still shows."""
    text, _ = remove_math(markdown)
    found = []
    for piece in _texts(parser().parse(text)):
        for line in piece.splitlines():
            for mark in MARKS:
                found += [(mark, line.strip())] * line.count(mark)
    return found


# -- the renderer does what JupyterLab does ----------------------------------------------------------
def test_the_issue_example_is_caught_and_its_fix_is_not():
    broken = "これが**展開された（unrolled）**計算グラフです。"
    assert [mark for mark, _ in literal_marks(broken)] == ["**", "**"]
    assert literal_marks("これが**展開された（unrolled）計算グラフ**です。") == []
    assert literal_marks("これが**展開された**（unrolled）計算グラフです。") == []


def test_underscores_and_unclosed_display_math_are_caught():
    assert [m for m, _ in literal_marks("a __word__, then __ alone")] == ["__"]
    assert [m for m, _ in literal_marks("the sum $$\\sum_t L_t\n\nand more")] == ["$$"]


def test_math_and_code_are_set_aside():
    text = ("The loss $L = \\sum_t L_t$ and $$h_t = \\tanh(W_h h_{t-1} + x_t)$$ where `x__init__` "
            "is code, `$HOME` too, **bold** stays bold, and $a**b$ is math.\n\n"
            "```python\nx = a ** b  # __init__ $$\n```\n\n"
            "$$\n\\begin{aligned} a &= b**2 \\\\ c &= d \\end{aligned}\n$$\n")
    assert literal_marks(text) == []
    stripped, math = remove_math("price `$5` and $x$ and \\\\(y\\\\)")
    assert math == ["$x$", "\\\\(y\\\\)"] and "`$5`" in stripped


def test_markup_inside_a_raw_html_block_is_caught():
    folded = "<details><summary>Answer</summary>\nit is **wrong** here\n</details>\n"
    assert [m for m, _ in literal_marks(folded)] == ["**", "**"]
    ok = "<details><summary>Answer</summary>\n\nit is **right** here\n\n</details>\n"
    assert literal_marks(ok) == []


# -- what the learner reads -------------------------------------------------------------------------
def _documents():
    course = REPO / "course"
    notebooks = sorted(course.glob("[0-9][0-9]_*.ipynb")) + sorted((course / "ja").glob("[0-9][0-9]_*.ipynb"))
    for folder in ("assignments", "solutions"):
        notebooks += sorted(p for p in (REPO / folder).glob("*/*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    readmes = [course / "README.md", course / "ja" / "README.md"]
    return [p for p in notebooks + readmes if p.exists()]


def _cells(path):
    if path.suffix == ".md":
        return [("the file", path.read_text(encoding="utf-8"))]
    import nbformat
    nb = nbformat.read(path, as_version=4)
    return [(f"cell {c.get('id', i)}", c.source) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]


DOCUMENTS = _documents()


@pytest.mark.parametrize("path", DOCUMENTS, ids=[str(p.relative_to(REPO)) for p in DOCUMENTS])
def test_rendered_text_has_no_literal_markup(path):
    problems = [f"{where}: literal {mark} in {line!r}"
                for where, source in _cells(path) for mark, line in literal_marks(source)]
    assert not problems, f"{path.relative_to(REPO)} shows markup as text after rendering:\n" + "\n".join(problems)


def test_every_document_is_read():
    names = {str(p.relative_to(REPO)) for p in DOCUMENTS}
    assert {"course/README.md", "course/ja/README.md"} <= names
    assert sum(n.startswith("course/ja/") and n.endswith(".ipynb") for n in names) >= 12
    assert sum(n.startswith("assignments/") for n in names) >= 6
