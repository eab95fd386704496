"""What is graded of a submission: regular files only, cells as the release defines them
(``rnnviz.grading.submission``), without nbgrader or a kernel."""
import os

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from rnnviz.grading.submission import (Refused, copy_submission, normalize, student_id_problem,
                                       visible_source)


def meta(grade_id, grade=False, solution=False, locked=False, points=None):
    m = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
         "solution": solution, "task": False}
    if grade:
        m["points"] = points
    return m


RELEASE = [
    {"grade_id": "intro", "cell_type": "markdown", "source": "# Intro", "meta": meta("intro", locked=True)},
    {"grade_id": "f", "cell_type": "code", "source": "def f(): ...", "meta": meta("f", solution=True)},
    {"grade_id": "f_tests", "cell_type": "code", "source": 'run_test("example.squares", f, n=1)',
     "meta": meta("f_tests", grade=True, locked=True, points=2)},
    {"grade_id": "g_md", "cell_type": "markdown", "source": "## g", "meta": meta("g_md", locked=True)},
    {"grade_id": "g", "cell_type": "code", "source": "def g(): ...", "meta": meta("g", solution=True)},
    {"grade_id": "g_tests", "cell_type": "code", "source": 'run_test("example.squares", g, n=2)',
     "meta": meta("g_tests", grade=True, locked=True, points=3)},
]


def release_notebook():
    nb = new_notebook()
    for r in RELEASE:
        make = new_code_cell if r["cell_type"] == "code" else new_markdown_cell
        nb.cells.append(make(r["source"], metadata={"nbgrader": dict(r["meta"])}))
    return nb


def order(nb):
    return [c.metadata.get("nbgrader", {}).get("grade_id", c.source[:12]) for c in nb.cells]


def test_an_untouched_notebook_keeps_its_order_and_the_learners_cells_stay_put():
    nb = release_notebook()
    nb.cells.insert(2, new_code_cell("helper = 1"))          # a learner's cell between f and its tests
    assert order(normalize(nb, RELEASE)) == ["intro", "f", "helper = 1", "f_tests", "g_md", "g", "g_tests"]


def test_tags_and_other_metadata_are_dropped():
    nb = release_notebook()
    for c in nb.cells:
        c.metadata["tags"] = ["skip-execution", "raises-exception"]
        c.metadata["jupyter"] = {"source_hidden": True}
    nb.metadata["widgets"] = {"state": "x" * 100}
    out = normalize(nb, RELEASE)
    assert all(set(c.metadata) <= {"nbgrader"} for c in out.cells)
    assert "widgets" not in out.metadata


def test_moved_deleted_copied_and_added_test_cells():
    nb = release_notebook()
    tests = [c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] == "g_tests"][0]
    nb.cells = [c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] not in ("f_tests", "g_tests")]
    nb.cells.insert(0, tests)                                            # g's tests moved to the top
    nb.cells.insert(1, new_code_cell("pass", metadata={"nbgrader": dict(tests.metadata["nbgrader"])}))
    nb.cells.append(new_code_cell("pass", metadata={"nbgrader": meta("bonus", grade=True, points=50)}))
    out = normalize(nb, RELEASE)
    assert order(out) == ["pass", "intro", "f", "f_tests", "g_md", "g", "pass", "g_tests"]
    graded = [c for c in out.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert [(c.metadata["nbgrader"]["grade_id"], c.metadata["nbgrader"]["points"]) for c in graded] == [
        ("f_tests", 2), ("g_tests", 3)]                                   # the copy and the bonus: ordinary
    assert [c.source for c in graded] == [RELEASE[2]["source"], RELEASE[5]["source"]]


def test_a_test_cell_turned_into_markdown_or_edited_is_the_release_s_again():
    nb = release_notebook()
    nb.cells[2] = new_markdown_cell("no tests", metadata={"nbgrader": dict(RELEASE[2]["meta"])})
    nb.cells[5].source = "pass"
    out = normalize(nb, RELEASE)
    assert (out.cells[2].cell_type, out.cells[2].source) == ("code", RELEASE[2]["source"])
    assert out.cells[5].source == RELEASE[5]["source"]


def test_a_notebook_too_large_is_refused():
    nb = release_notebook()
    nb.cells.append(new_code_cell("x = '" + "y" * (5 << 20) + "'"))
    with pytest.raises(Refused, match="MiB of text"):
        normalize(nb, RELEASE)


def test_only_regular_files_are_copied(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.ipynb").write_text("{}")
    (src / "data").mkdir()
    (src / "data" / "x.txt").write_text("x")
    copy_submission(src, tmp_path / "ok")
    assert (tmp_path / "ok" / "data" / "x.txt").read_text() == "x"
    for name, make in [("link", lambda p: p.symlink_to("/etc/passwd")), ("fifo", os.mkfifo),
                       ("dirlink", lambda p: p.symlink_to(tmp_path))]:
        bad = tmp_path / f"src-{name}"
        bad.mkdir()
        make(bad / "thing")
        with pytest.raises(Refused, match="symbolic link|not a regular file"):
            copy_submission(bad, tmp_path / f"out-{name}")


@pytest.mark.parametrize("student,ok", [
    ("victim_*", True), ("with space", True), ("ünïcode-学生", True), ("x" * 255, True),
    ("dots.in.name", True), ("new\nline", False), (".hidden", False), ("bad\udcff", False),
])
def test_student_ids(student, ok):
    assert (student_id_problem(student) is None) == ok


# -- what normalize restored is said ------------------------------------------------------------

HIDDEN_RELEASE = [dict(r) for r in RELEASE]
HIDDEN_RELEASE[2] = dict(RELEASE[2], source='run_test("example.squares", f, n=1)\n'
                                             '### BEGIN HIDDEN TESTS\nrun_test("example.squares", f, n=9)\n'
                                             '### END HIDDEN TESTS')


def learners_notebook():
    """The notebook the learner got: test cells without their hidden tests."""
    nb = release_notebook()
    nb.cells[2].source = visible_source(HIDDEN_RELEASE[2]["source"])
    return nb


def restored(nb, release=HIDDEN_RELEASE):
    changes = []
    out = normalize(nb, release, changes)
    return out, changes


def test_visible_source_is_what_the_release_shows():
    assert visible_source(HIDDEN_RELEASE[2]["source"]) == 'run_test("example.squares", f, n=1)'
    assert visible_source("a\n    ### BEGIN HIDDEN TESTS\nb\n    ### END HIDDEN TESTS\nc\n"
                          "### BEGIN HIDDEN TESTS\nd\n### END HIDDEN TESTS") == "a\nc"


def test_an_untouched_notebook_has_nothing_restored():
    nb = learners_notebook()
    nb.cells.insert(2, new_code_cell("helper = 1"))
    nb.cells[1].source = "def f(): return 1"                    # the learner's answer: not a change
    nb.cells[5].source += "\n"                                 # a trailing newline is no edit either
    out, changes = restored(nb)
    assert changes == []
    assert out.cells[3].source == HIDDEN_RELEASE[2]["source"]   # graded with the hidden tests


def test_an_edited_test_cell_is_said():
    nb = learners_notebook()
    nb.cells[2].source = "pass  # no tests"
    out, changes = restored(nb)
    assert changes == [("f_tests", "test cell edited (restored from the release)")]
    assert out.cells[2].source == HIDDEN_RELEASE[2]["source"]
    # the instructor's own version (hidden tests included) is not what the learner was given either
    nb = learners_notebook()
    nb.cells[2].source = HIDDEN_RELEASE[2]["source"]
    assert restored(nb)[1] == [("f_tests", "test cell edited (restored from the release)")]


def test_deleted_retyped_moved_and_copied_test_cells_are_said():
    nb = learners_notebook()
    g_tests = nb.cells[5]
    nb.cells[2] = new_markdown_cell("no tests", metadata={"nbgrader": dict(RELEASE[2]["meta"])})
    nb.cells = [g_tests] + [c for c in nb.cells if c is not g_tests]               # g's tests on top
    nb.cells.append(new_code_cell("pass", metadata={"nbgrader": dict(RELEASE[5]["meta"])}))  # a copy
    nb.cells.append(new_code_cell("pass", metadata={"nbgrader": meta("bonus\x1b[31m", grade=True,
                                                                     points=50)}))
    out, changes = restored(nb)
    assert changes == [
        ("f_tests", "test cell turned into a markdown cell (restored from the release)"),
        ("g_tests", "a copy of the test cell is an ordinary cell here (earns nothing)"),
        ("bonus\\x1b[31m", "a cell claiming points is an ordinary cell here (earns nothing)"),
        ("g_tests", "test cell moved (put back where the release has it)"),
    ]
    assert order(out) == ["intro", "f", "f_tests", "g_md", "g", "pass", "pass", "g_tests"]
    nb = learners_notebook()
    nb.cells = [c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] != "g_tests"]
    nb.cells[2].metadata = {}                                   # f's tests stripped of their metadata
    assert restored(nb)[1] == [
        ("f_tests", "test cell deleted or stripped of its nbgrader metadata (restored from the release)"),
        ("g_tests", "test cell deleted or stripped of its nbgrader metadata (restored from the release)")]
