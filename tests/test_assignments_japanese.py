"""The Japanese assignments (NAME_ja): built from the English ones, graded exactly as they are.

Each assignment of solutions/ has a Japanese twin, an nbgrader assignment of its own, built by
course/ja/_assignments/build.py from the English notebook and the translations in course/ja/_assignments/NAME.md.

* every English assignment has its twin, in solutions/ and assignments/, equal to a rebuild, its
  prose and comments in Japanese, its links to the lessons pointing to the Japanese lessons;
* the twin is the same assignment: code (comments and docstrings aside), test cells, cell ids,
  grade ids, points and nbgrader metadata equal the English ones;
* graded by the kit (real nbgrader, the sandboxed grader, two workers): the Japanese solutions score
  full marks, the Japanese releases 0, and each wrong notebook of tests/test_assignments.py loses
  the same points, cell by cell, in both editions; the Japanese learner's feedback holds no
  English sentence.
"""
from __future__ import annotations

import ast
import contextlib
import html
import importlib.util
import io
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from test_assignments import (NAMES, RECURSIVE_ENGINE, WRONG_BY_NBGRADER, cell_by_id, nbg, nbgrader, put,
                              read_scores, source_path, wrong_for, wrong_notebook)
from test_japanese import MIN_JAPANESE_SHARE, english_words, japanese_share

REPO = Path(__file__).resolve().parents[1]
JA_NAMES = [f"{name}_ja" for name in NAMES]
JAPANESE_CHAR = re.compile(r"[\u3040-\u309f\u30a0-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
MARKER_LINE = re.compile(r"^\s*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)\s*$")


def ja_source(name):
    return REPO / "solutions" / f"{name}_ja" / f"{name}_ja.ipynb"


def ja_release(name):
    return REPO / "assignments" / f"{name}_ja" / f"{name}_ja.ipynb"


def read(path):
    return nbformat.read(path, as_version=4)


def _load_builder():
    spec = importlib.util.spec_from_file_location("solutions_ja_build", REPO / "course" / "ja" / "_assignments" / "build.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


# -- helpers the checks use (independent of the build script) --------------------------------------
def texts(code: str) -> list[str]:
    """The string literals a learner reads: statement strings (docstrings), print's message."""
    out = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            out.append(node.value.value)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
            out += [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return out


def code_without_texts(code: str) -> str:
    """The code's syntax tree with those literals emptied: comments and docstrings do not count."""
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            node.value.value = ""
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
            for a in node.args:
                if isinstance(a, ast.Constant) and isinstance(a.value, str):
                    a.value = ""
    return ast.dump(tree, include_attributes=False)


def comments(code: str) -> list[str]:
    import tokenize
    return [t.string for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type == tokenize.COMMENT]


def looks_like_code(comment: str) -> bool:
    """A commented-out line of code (``# model = f(x)``, ``# from a import b``), not prose."""
    body = comment.lstrip("#").strip()
    return bool(re.search(r"[=(]|^(from|import|with|print)\b", body))


def graded_cells(nb):
    return [c for c in nb.cells if nbg(c).get("grade")]


# -- 1. every assignment has a fully translated twin, equal to its rebuild -------------------------

def test_every_english_assignment_has_a_japanese_twin():
    english = sorted(p.name for p in (REPO / "solutions").iterdir()
                     if p.is_dir() and p.name[0] not in "_." and not p.name.endswith("_ja"))
    assert english == sorted(NAMES), "tests/test_assignments.py's NAMES is not the list of assignments"
    for folder in ("solutions", "assignments"):
        twins = sorted(p.name for p in (REPO / folder).iterdir() if p.is_dir() and p.name[0] not in "_." and p.name.endswith("_ja"))
        assert twins == sorted(JA_NAMES), f"{folder}/: Japanese twins {twins}, expected {sorted(JA_NAMES)}"
    assert _load_builder().NAMES == NAMES


def test_twins_equal_their_rebuild_and_nothing_is_stale_or_missing():
    builder = _load_builder()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = builder.main(["--check"])
    assert rc == 0, out.getvalue()


def test_the_builder_reports_a_changed_english_cell(tmp_path, monkeypatch):
    """Stale detection works here too: an edited English cell, a new comment and a new docstring
    are listed, so a twin cannot silently fall behind its English assignment."""
    builder = _load_builder()
    name = "lstm"
    nb = read(source_path(name))
    nb.cells[0].source += "\n\nOne more English sentence."
    code = next(c for c in nb.cells if nbg(c).get("grade_id") == "lstm")
    code.source = code.source.replace("        self.cache = None\n",
                                      "        self.cache = None  # a brand new English comment\n")
    code.source = code.source.replace('    """One LSTM step, gate blocks [i, f, g, o]."""',
                                      '    """One LSTM step, with a brand new docstring."""')
    (tmp_path / name).mkdir()
    nbformat.write(nb, tmp_path / name / f"{name}.ipynb")
    monkeypatch.setattr(builder, "SOLUTIONS", tmp_path)
    _, report = builder.build(name)
    text = "\n".join(report.lines())
    assert "stale markdown cell intro" in text, text
    assert "a brand new English comment" in text and "with a brand new docstring" in text, text
    assert "orphan string" in text, text    # the old docstring's translation is left over


@pytest.mark.parametrize("name", NAMES)
def test_twin_prose_comments_and_messages_are_japanese(name):
    en, ja = read(source_path(name)), read(ja_source(name))
    for e, j in zip(en.cells, ja.cells):
        if j.cell_type == "markdown":
            share = japanese_share(j.source)
            assert share >= MIN_JAPANESE_SHARE, f"{name}/{j.id}: prose only {share:.0%} Japanese"
        elif j.cell_type == "code":
            english = set(comments(e.source))
            for c in comments(j.source):
                if MARKER_LINE.match(c):
                    continue
                assert not (c in english and english_words(c) and not looks_like_code(c)), \
                    f"{name}/{j.id}: comment left in English: {c}"
            for text in texts(j.source):
                if english_words("# " + text):
                    assert JAPANESE_CHAR.search(text), f"{name}/{j.id}: text left in English: {text!r}"


@pytest.mark.parametrize("name", NAMES)
def test_links_to_lessons_point_to_the_japanese_lessons(name):
    nb = read(ja_source(name))
    targets = [t for c in nb.cells if c.cell_type == "markdown" for t in re.findall(r"\]\(([^)\s]+)\)", c.source)]
    lessons = [t for t in targets if "course/" in t]
    assert lessons, f"{name}_ja links no lesson"
    for target in lessons:
        assert "/course/ja/" in f"/{target}".replace("../", "/"), f"{name}_ja links the English lesson {target}"
        for folder in (ja_source(name).parent, ja_release(name).parent):
            assert (folder / target).resolve().is_file(), f"{name}_ja: {target} does not exist"


# -- 2. the same assignment: code, tests, grade ids, points, metadata ------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_twin_is_the_same_assignment(name):
    from rnnviz.grading.protocol import parse_test_cell

    en, ja = read(source_path(name)), read(ja_source(name))
    assert [(c.cell_type, c.get("id")) for c in en.cells] == [(c.cell_type, c.get("id")) for c in ja.cells]
    assert {k: v for k, v in ja.metadata.items() if k != "rnnviz"} == en.metadata
    assert ja.metadata["rnnviz"]["language"] == "ja"
    for e, j in zip(en.cells, ja.cells):
        where = f"{name}/{e.get('id')}"
        assert e.metadata == j.metadata, where          # nbgrader's: grade id, points, locks, ...
        if e.cell_type != "code":
            continue
        assert code_without_texts(e.source) == code_without_texts(j.source), f"{where}: the code differs"
        markers = [[ln.strip() for ln in c.source.splitlines() if MARKER_LINE.match(ln)] for c in (e, j)]
        assert markers[0] == markers[1], f"{where}: nbgrader's markers differ"
        if nbg(e).get("grade"):
            calls = [[(c.check, c.names, c.case, c.hidden) for c in parse_test_cell(x.source).calls] for x in (e, j)]
            assert calls[0] == calls[1], f"{where}: the test cell runs other checks"
    assert sum(nbg(c)["points"] for c in graded_cells(en)) == sum(nbg(c)["points"] for c in graded_cells(ja))


@pytest.mark.parametrize("name", NAMES)
def test_twin_release_is_the_english_release_in_japanese(name):
    """The student notebooks differ as the sources do: stubs, hidden tests left out, alike."""
    def shape(nb):
        return [(c.cell_type, c.get("id"), {k: v for k, v in nbg(c).items() if k != "checksum"},
                 code_without_texts(c.source) if c.cell_type == "code" else None) for c in nb.cells]

    english = REPO / "assignments" / name / f"{name}.ipynb"
    assert shape(read(english)) == shape(read(ja_release(name)))


# -- 3. graded by the kit: the same points in both editions ----------------------------------------

def wrong_japanese_notebook(name, changes):
    """The same one-line mistake as test_assignments.wrong_notebook, made in the Japanese twin."""
    nb = read(ja_source(name))
    if changes == "recursive":
        cell_by_id(nb, "engine").source = RECURSIVE_ENGINE
        return nb
    for grade_id, old, new in changes:
        cell = cell_by_id(nb, grade_id)
        assert old in cell.source, f"{name}_ja/{grade_id}: {old!r} not found"
        cell.source = cell.source.replace(old, new, 1)
    return nb


@contextlib.contextmanager
def dask_cluster(workers=2):
    """One LocalCluster for every autograde call (each would otherwise start its own), configured
    as the kit's own (rnnviz.grading.autograde.dask_client)."""
    import logging

    import dask
    from dask.distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                          "distributed.scheduler.worker-saturation": 1.0,
                          "distributed.worker.profile.enabled": False}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        try:
            yield cluster.scheduler_address
        finally:
            cluster.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A copy of the course: both editions generated by nbgrader; the Japanese solution, release
    and one wrong version per assignment, and the same wrong version of the English one, graded by
    the kit (python -m rnnviz.grading autograde)."""
    import time

    from rnnviz.grading.autograde import autograde

    t0 = time.monotonic()
    course = tmp_path_factory.mktemp("ja") / "course"
    course.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", course)
    shutil.copytree(REPO / "solutions", course / "solutions", ignore=shutil.ignore_patterns("__pycache__"))
    rc, log, _ = nbgrader(course, "generate_assignment", "--force", "--CourseDirectory.assignment_id=[a-z]*")
    assert rc == 0, log
    for name in NAMES:
        changes = wrong_for(name, WRONG_BY_NBGRADER[name])
        put(course, "s_solution", f"{name}_ja", read(ja_source(name)))
        put(course, "s_untouched", f"{name}_ja", read(course / "assignments" / f"{name}_ja" / f"{name}_ja.ipynb"))
        put(course, "s_wrong", name, wrong_notebook(name, changes))
        put(course, "s_wrong", f"{name}_ja", wrong_japanese_notebook(name, changes))
    with dask_cluster() as address:
        reports = {n: autograde(n, course, scheduler=address, progress=False, out=io.StringIO())
                   for n in NAMES + JA_NAMES}
    return {"root": course, "reports": reports, "scores": read_scores(course),
            "seconds": time.monotonic() - t0}


@pytest.mark.parametrize("name", NAMES)
def test_japanese_solution_scores_full_marks(graded, name):
    s = graded["scores"]["s_solution", f"{name}_ja"]
    points = sum(nbg(c)["points"] for c in graded_cells(read(source_path(name))))
    assert s["score"] == s["max"] == points > 0, s


@pytest.mark.parametrize("name", NAMES)
def test_japanese_release_scores_zero(graded, name):
    s = graded["scores"]["s_untouched", f"{name}_ja"]
    assert s["score"] == 0 and s["max"] > 0 and not s["needs_manual"], s


@pytest.mark.parametrize("name", NAMES)
def test_a_mistake_costs_the_same_points_in_both_editions(graded, name):
    en, ja = graded["scores"]["s_wrong", name], graded["scores"]["s_wrong", f"{name}_ja"]
    assert en["score"] < en["max"], en          # the mutant is wrong at all
    assert ja["cells"] == en["cells"], (en, ja)   # {grade id: (score, points)}
    assert (ja["score"], ja["max"]) == (en["score"], en["max"])


def test_japanese_releases_are_what_make_assignments_generates(graded):
    def cells(path):
        nb = read(path)
        return nb.metadata, [(c.cell_type, c.get("id"), c.source, c.metadata) for c in nb.cells]

    for name in JA_NAMES:
        generated = graded["root"] / "assignments" / name / f"{name}.ipynb"
        assert cells(REPO / "assignments" / name / f"{name}.ipynb") == cells(generated), (
            f"assignments/{name} differs from what `make assignments` generates: run it and commit")


def test_grading_time(graded):
    """Reported, and bounded loosely (a loaded 2-core machine): 4 submissions x 7 assignments."""
    print(f"\nJapanese assignments: generated and graded in {graded['seconds']:.1f} s")
    assert graded["seconds"] < 600


# -- 4. no English sentence in a Japanese learner's feedback ----------------------------------------

#: Names the Japanese prose keeps in Latin letters, besides tests/english_sentences.py's ALLOWED.
PROSE_NAMES = frozenset({"rnnviz", "Chainer", "PyTorch", "TensorFlow", "Deep", "Learning", "Validate",
                         "BLAS", "Define"})


def _english_sentences_detector():
    """tests/english_sentences.py's detector (every run of 3 English words, every other English
    word of 4 letters or more) on the page's text; this file's own where that file is missing."""
    try:
        from english_sentences import ALLOWED, english_in
    except ImportError:
        return local_english_sentences
    return lambda page: english_in(page_text(page), allowed=ALLOWED | PROSE_NAMES)


IDENTIFIER = re.compile(r"\S*(?:[_./\\@=\[\]{}()<>#:;]|\d)\S*|\b[a-z]+[A-Z]\w*|\b[A-Z][a-z]+[A-Z]\w*")
# a word: two letters or more (a hyphenated compound is one word), or "a" / "I"; a one-letter
# variable (the gates i, f, g, o) is none
WORD = r"(?:\b(?:[A-Za-z]{2,}(?:[-'’][A-Za-z]+)*|[aAI])\b)"
ENGLISH_RUN = re.compile(rf"{WORD}(?:[ ,]+{WORD}){{2,}}")


def page_text(page: str) -> str:
    """What a feedback page shows as text, without the code (the cells' highlighted source, inline
    code, code spans in a verdict), the math, and the page's head, style and script."""
    text = re.sub(r"<(style|script|math|code)\b.*?</\1>", " ", page, flags=re.S | re.I)
    text = re.sub(r'<div class="highlight[^"]*">.*?</div>', " ", text, flags=re.S)
    text = re.sub(r"<head\b.*?</head>", " ", text, flags=re.S | re.I)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    text = re.sub(r"`[^`\n]*`", " ", text)
    text = re.sub(r"\$\$.*?\$\$|\$[^$\n]*\$", " ", text, flags=re.S)
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def local_english_sentences(page: str) -> list[str]:
    """Runs of 3 or more English words in a page's text, identifiers and numbers left out."""
    return [m.group(0) for m in ENGLISH_RUN.finditer(IDENTIFIER.sub(" ", page_text(page)))]


@pytest.mark.parametrize("name", NAMES)
def test_japanese_feedback_has_no_english_sentence(graded, name):
    detect = _english_sentences_detector()
    english = (graded["root"] / "feedback" / "s_wrong" / name / f"{name}.html").read_text(encoding="utf-8")
    assert len(detect(english)) >= 5, "the detector finds the English edition's sentences"
    page = (graded["root"] / "feedback" / "s_wrong" / f"{name}_ja" / f"{name}_ja.html").read_text(encoding="utf-8")
    found = detect(page)
    assert not found, f"{name}_ja: English in the feedback: {found[:10]}"
    # the page does tell the learner what failed (a grader's verdict is there)
    assert JAPANESE_CHAR.search(html.unescape(re.sub(r"<[^>]+>", " ", page)))


def hidden_test_lines(nb) -> list[str]:
    """The lines between ### BEGIN HIDDEN TESTS and ### END HIDDEN TESTS of a source notebook."""
    lines = []
    for cell in nb.cells:
        if "### BEGIN HIDDEN TESTS" in cell.source:
            block = cell.source.split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS", 1)[0]
            lines += [line.strip() for line in block.splitlines() if line.strip()]
    return lines


@pytest.mark.parametrize("name", NAMES)
def test_japanese_feedback_hides_the_hidden_tests(graded, name):
    """The Japanese learner's feedback, like the English one, shows no line of a hidden test."""
    hidden = hidden_test_lines(read(ja_source(name)))
    assert hidden, f"{name}_ja has hidden tests"
    page = (graded["root"] / "feedback" / "s_wrong" / f"{name}_ja" / f"{name}_ja.html").read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "HIDDEN TESTS" not in text
    leaked = [line for line in hidden if line in text]
    assert not leaked, f"{name}_ja: hidden test lines in the feedback: {leaked[:3]}"
    # the check reads the page as the learner does: a visible test line is found there
    visible = [c.source.splitlines()[-1].strip() for c in read(ja_source(name)).cells
               if nbg(c).get("grade") and c.cell_type == "code" and "run_test(" in c.source
               and "### BEGIN HIDDEN TESTS" not in c.source]
    assert not visible or any(v in text for v in visible)
