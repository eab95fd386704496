"""Build the Japanese assignments (solutions/NAME_ja/) from the English ones and _assignments/NAME.md.

    python course/ja/_assignments/build.py           # rebuild every solutions/NAME_ja/NAME_ja.ipynb
    python course/ja/_assignments/build.py --check   # change nothing; exit 1 if stale, missing or not rebuilt
    python course/ja/_assignments/build.py --skeleton lstm # start _assignments/lstm.md from the English text

Each assignment has a Japanese twin, ``NAME_ja``: an nbgrader assignment of its own (nbgrader grades
every notebook of an assignment, so two editions in one would count the points twice). The twin is
never edited by hand. It is the English source notebook (solutions/NAME/NAME.ipynb) with

  * each markdown cell replaced by its Japanese text, found by cell id, and each comment of a code
    cell replaced by its Japanese comment: exactly as the Japanese lessons are built, by the same
    functions (course/ja/_build.py, imported; this file is a thin layer over it);
  * the text strings a learner reads in code replaced too: docstrings (a test cell's docstring is
    the title of its verdict in the feedback) and the message of a ``print("...")``;
  * everything else identical: the code, the ``run_test`` lines, the cell ids, the grade ids, the
    points, the nbgrader metadata. nbgrader's markers (``### BEGIN SOLUTION``, ...) stay as they are.

So the two editions are graded by the same checks for the same points; the grader speaks Japanese
to an assignment whose name ends in ``_ja`` (rnnviz.i18n's default language in such a folder).

_assignments/NAME.md is the lesson format (``<!-- md ID HASH -->`` blocks, a ``<!-- comments -->`` block of
``en:``/``ja:`` pairs) followed by a ``<!-- strings -->`` block of ``en:``/``ja:`` pairs of Python
string literals, written as in the code (quotes included); a literal that spans lines continues on
the lines after its ``en:`` or ``ja:`` line. A changed English cell is reported "stale", a new cell,
comment or string "missing", as for the lessons; --check fails until nothing is listed and every
twin equals its rebuild. Then `make assignments` turns solutions/NAME_ja/ into assignments/NAME_ja/.
"""
from __future__ import annotations

import argparse
import ast
import importlib.util
import io
import sys
import tokenize
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SOLUTIONS = REPO / "solutions"
NAMES = ["autograd_functions", "backward_engine", "rnn_by_hand", "lstm", "truncated_bptt", "gru", "masked_loss"]
SUFFIX = "_ja"
STRINGS = "<!-- strings -->"
#: comments that are nbgrader's instructions to itself: kept exactly, never translated
NBGRADER_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def _lesson_builder():
    """course/ja/_build.py, the Japanese lessons' builder (not a package: loaded from its file)."""
    name = "rnnviz_course_ja_build"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "course" / "ja" / "_build.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod          # dataclasses look their module up there
        spec.loader.exec_module(mod)
    return sys.modules[name]


lessons = _lesson_builder()


def english_path(name: str) -> Path:
    return SOLUTIONS / name / f"{name}.ipynb"


def target_of(name: str) -> Path:
    return SOLUTIONS / f"{name}{SUFFIX}" / f"{name}{SUFFIX}.ipynb"


def source_of(name: str) -> Path:
    return HERE / f"{name}.md"


# -- the translation source ----------------------------------------------------------------------
class _Text:
    """The part of a source the lesson builder reads, in memory (its reader wants a path)."""

    def __init__(self, path: Path, text: str):
        self.path, self.text = path, text

    def exists(self) -> bool:
        return True

    def read_text(self, encoding="utf-8") -> str:
        return self.text

    def __str__(self):
        return str(self.path)


def read_source(path: Path):
    """(the lesson builder's Source for the md and comments blocks, {English literal: Japanese})."""
    if not path.exists():
        return lessons.Source(path), {}
    text = path.read_text(encoding="utf-8")
    head, sep, tail = text.partition(f"\n{STRINGS}\n")
    if not sep and text.startswith(f"{STRINGS}\n"):
        head, tail = "", text[len(STRINGS) + 1:]
    src = lessons.Source.read(_Text(path, head + "\n"))
    return src, read_strings(tail, path)


def read_strings(text: str, path: Path) -> dict[str, str]:
    """``en:``/``ja:`` pairs of literals; lines that start with neither continue the last one."""
    pairs, current, kind = {}, None, None
    entries = []
    for line in text.split("\n"):
        if line.startswith(("en: ", "ja: ")):
            kind, current = line[:2], [line[4:]]
            entries.append((kind, current))
        elif current is not None:
            current.append(line)
        elif line.strip():
            raise ValueError(f"{path}: in {STRINGS}, expected 'en: ...' / 'ja: ...' pairs, got {line!r}")
    pending = None
    for kind, lines in entries:
        value = "\n".join(lines).rstrip()
        if kind == "en":
            pending = value
        elif pending is not None:
            pairs[pending] = value
            pending = None
    return pairs


# -- strings a learner reads in code -------------------------------------------------------------
def text_strings(code: str) -> list[tuple[int, int, str]]:
    """(start offset, end offset, literal) of the docstrings and ``print("...")`` messages of
    ``code``: a string statement, or the one string argument of a call of ``print``. Other strings
    (a check's name, a case's key) are code and stay as they are."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    starts = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            starts.add((node.value.lineno, node.value.col_offset))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"
              and len(node.args) == 1 and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            starts.add((node.args[0].lineno, node.args[0].col_offset))
    lines = code.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type != tokenize.STRING:
            continue
        row, col = tok.start
        byte_col = len(lines[row - 1][:col].encode("utf-8"))    # ast counts UTF-8 bytes
        if (row, byte_col) in starts:
            start = offsets[row - 1] + col
            end = offsets[tok.end[0] - 1] + tok.end[1]
            found.append((start, end, tok.string))
    return found


def needs_translation(literal: str) -> bool:
    return lessons.needs_translation("# " + literal.strip("\"'"))


def replace_strings(code: str, table: dict[str, str]) -> tuple[str, list[str]]:
    """``code`` with each docstring and print message found in ``table`` replaced; and the missing."""
    missing = []
    for start, end, literal in reversed(text_strings(code)):
        if literal in table:
            code = code[:start] + table[literal] + code[end:]
        elif needs_translation(literal):
            missing.append(literal)
    return code, missing[::-1]


# -- building ------------------------------------------------------------------------------------
def build(name: str):
    """The Japanese twin of assignment ``name`` (in memory) and what still needs translating."""
    nb = nbformat.read(english_path(name), as_version=4)
    src, strings = read_source(source_of(name))
    report = lessons.Report(name)
    comments = dict(src.comments)
    comments.update({m: m for m in NBGRADER_MARKERS})
    used_comments, used_strings = set(), set()
    used_md = lessons.translate_markdown(nb, src, report)
    for cell in nb.cells:
        cid = cell.get("id")
        if cell.cell_type == "code":
            used_strings.update(lit for _, _, lit in text_strings(cell.source))
            code, missing = replace_strings(cell.source, strings)
            report.missing += [f"string {s!r} (code cell {cid})" for s in missing]
            used_comments.update(t.rstrip() for _, _, t in lessons.comments_of(code))
            cell.source, missing = lessons.replace_comments(code, comments)
            report.missing += [f"comment {c!r} (code cell {cid})" for c in missing]
    report.orphans += [f"markdown cell {cid}" for cid in src.md if cid not in used_md]
    report.orphans += [f"comment {c!r}" for c in src.comments if c not in used_comments]
    report.orphans += [f"string {s!r}" for s in strings if s not in used_strings]
    nb.metadata["rnnviz"] = {"language": "ja", "built_from": f"../{name}/{name}.ipynb",
                             "translations": f"../../course/ja/_assignments/{name}.md",
                             "do_not_edit": "generated by course/ja/_assignments/build.py"}
    return nb, report


def skeleton(name: str) -> str:
    """A translation source holding the English text, for a translator to overwrite."""
    text = lessons.skeleton(english_path(name))
    nb = nbformat.read(english_path(name), as_version=4)
    literals = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            for _, _, lit in text_strings(cell.source):
                if needs_translation(lit) and lit not in literals:
                    literals.append(lit)
    drop = {f"en: {m}\nja: {m}\n" for m in NBGRADER_MARKERS}
    for pair in drop:
        text = text.replace(pair, "")
    return text + f"\n{STRINGS}\n" + "".join(f"en: {s}\nja: {s}\n" for s in literals)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything needs work")
    ap.add_argument("--skeleton", metavar="NAME", help="write _ja/NAME.md from the English text")
    args = ap.parse_args(argv)
    if args.skeleton:
        out = source_of(args.skeleton)
        if out.exists():
            print(f"{out} exists; not overwritten", file=sys.stderr)
            return 1
        out.write_text(skeleton(args.skeleton), encoding="utf-8")
        print(f"wrote {out.relative_to(REPO)}")
        return 0
    bad = 0
    for name in NAMES:
        if not source_of(name).exists():
            print(f"{name}: no translation yet (start one with --skeleton {name})")
            bad += 1
            continue
        nb, report = build(name)
        target = target_of(name)
        text = lessons.as_text(nb)
        same = target.exists() and target.read_text(encoding="utf-8") == text
        for line in report.lines():
            print(line)
        if args.check and not same:
            print(f"{name}: {target.relative_to(REPO)} differs from its rebuild: run python course/ja/_assignments/build.py")
        bad += not report.clean or (args.check and not same)
        if not args.check and not same:
            target.parent.mkdir(exist_ok=True)
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(REPO)}")
    print("all assignments translated and built" if not bad else f"{bad} assignment(s) need work")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
