"""The grading command: ``python -m rnnviz.grading autograde NAME`` on a tiny course of its own.

One class of 23 submissions is graded three times: by the command, sequentially (``--workers 1``);
by the kit on a two-worker Dask cluster; by ``nbgrader autograde`` itself. The command grades
through nbgrader (tampered tests restored, hidden tests run), writes grades.csv and feedback without
hidden tests, and reports a submission it could not grade as ungraded with the reason, never as 0
(nbgrader's own export shows such a missing grade as 0.0); all three give the same grades.
"""
import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import grading_course as gc  # noqa: E402

from rnnviz.grading import gradebook  # noqa: E402
from rnnviz.grading.autograde import autograde  # noqa: E402
from rnnviz.grading.sandbox import bwrap_path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def _delete_tests(nb):
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "grad_tests"]


def _edit_tests(nb):
    gc.cell(nb, "squares_tests").source = "pass  # the student replaced the tests"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    course = root / "sequential"
    release = gc.make_course(course)
    expected = {}
    for i in range(19):
        squares, grad, score = gc.VARIANTS[i % len(gc.VARIANTS)]
        gc.submit(course, f"variant{i:02d}", release, squares, grad)
        expected[f"variant{i:02d}"] = score
    wrong = "def squares(n):\n    return None"
    gc.submit(course, "edited_tests", release, wrong, gc.RIGHT_GRAD, edit=_edit_tests)
    expected["edited_tests"] = 3.0
    gc.submit(course, "deleted_tests", release, gc.RIGHT_SQUARES, "def square_grad(x, gy):\n"
              "    return x", edit=_delete_tests)
    expected["deleted_tests"] = 2.0
    gc.submit(course, "loops", release, "def squares(n):\n    while True:\n        pass",
              gc.RIGHT_GRAD)
    expected["loops"] = 3.0
    gc.submit(course, "not_json", release, raw='{"cells": [ this is not json')
    shutil.copytree(course, root / "parallel")
    shutil.copytree(course, root / "nbgrader")
    proc = subprocess.run([sys.executable, "-m", "rnnviz.grading", "autograde", gc.NAME,
                           "--course", str(course), "--workers", "1", "--no-progress"],
                          capture_output=True, text=True, timeout=900, cwd=REPO)
    parallel = autograde(gc.NAME, root / "parallel", workers=2, progress=False)
    cli = gc.nbgrader(root / "nbgrader", "autograde", gc.NAME, "--force", check=False)
    assert cli.returncode == 1        # nbgrader exits 1 because of the invalid notebook
    return course, expected, proc, parallel


def _scores(course):
    return gradebook.scores(gradebook.sqlite_url(course / "gradebook.db"), gc.NAME, "grading-test")


def _csv(course):
    with open(course / "grades.csv", newline="") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


def test_parallel_equals_sequential_equals_nbgrader(graded):
    course, expected, _, parallel = graded
    by_nbgrader = _scores(course.parent / "nbgrader")
    assert len(by_nbgrader) == 23
    # nbgrader keeps the notebook it could not read as a submission without scores (its export
    # then prints 0.0); the kit leaves an ungraded submission out of the gradebook.
    assert set(by_nbgrader.pop("not_json").values()) == {None}
    assert _scores(course) == by_nbgrader                   # every cell's automatic score
    assert _scores(course.parent / "parallel") == by_nbgrader
    assert _csv(course.parent / "parallel") == _csv(course)
    assert {r["student"]: r["score"] for r in parallel.results}["loops"] == 3.0


def test_scores_in_the_gradebook_are_nbgraders(graded):
    course, expected, proc, _ = graded
    got = _scores(course)
    for student, score in expected.items():
        assert sum(got[student].values()) == score, (student, got[student], proc.stdout)
    # The invalid notebook is not in the gradebook at all (nbgrader export would print 0.0).
    assert "not_json" not in got


def test_csv_and_summary_report_ungraded_with_reason_never_zero(graded):
    course, expected, proc, _ = graded
    assert proc.returncode == 1, proc.stdout + proc.stderr   # 1: a submission was not graded
    rows = _csv(course)
    assert set(rows) == set(expected) | {"not_json"}
    bad = rows["not_json"]
    assert bad["status"] == "ungraded" and bad["score"] == "" and "JSON" in bad["reason"]
    for student, score in expected.items():
        assert float(rows[student]["score"]) == score
        assert rows[student]["status"] == ("graded" if score == gc.MAX_SCORE else "tests failed")
    assert "1 ungraded" in proc.stdout
    assert "UNGRADED      not_json: NotJSONError" in proc.stdout
    assert "loops: 3/5  (ps1/squares_tests: CellTimeoutError)" in proc.stdout


def test_feedback_has_no_hidden_test_source(graded):
    course, expected, _, _ = graded
    hidden = ["n=7)", "n=0)", "linspace=(-1.5", "gy=3.0", "HIDDEN TESTS"]
    pages = sorted((course / "feedback").glob(f"*/{gc.NAME}/{gc.NAME}.html"))
    assert {p.parts[-3] for p in pages} == set(expected)
    for page in pages:
        text = page.read_text()
        assert "example.square_grad" in text      # the visible tests are shown
        assert not [h for h in hidden if h in text], page
    # The hidden tests did run: a bug only they catch lost its points (variant 4: squares(0)).
    assert "hidden test 1 of 2 failed: squares(0) should return a list" in (
        course / "feedback" / "variant04" / gc.NAME / f"{gc.NAME}.html").read_text()


def test_sandbox_is_used_when_bubblewrap_is_there(graded):
    _, _, proc, _ = graded
    if bwrap_path() is None:
        assert "WARNING: bubblewrap (bwrap) is not available" in proc.stderr
        pytest.skip("bubblewrap is not installed: graded with resource limits only")
    assert "WARNING" not in proc.stderr
