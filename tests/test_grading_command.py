"""The grading command: ``python -m rnnviz.grading autograde NAME`` on a tiny course of its own.

One class of 15 submissions (every honest variant at least once) is graded three times: by the
command, sequentially (``--workers 1``); by the kit on a two-worker Dask cluster; by ``nbgrader
autograde`` itself. The command grades through nbgrader (tampered tests restored and noted, hidden tests run), writes rnnviz-grades.csv
(not grades.csv, which is ``nbgrader export``'s) and feedback without hidden tests, and reports a
submission it could not grade as ungraded with the reason, never as 0 (nbgrader's own export shows
such a missing grade as 0.0; the kit's export plugin does not, tests/test_instructor_cycle.py); all
three give the same grades. Writing the CSV never fails after the grading.
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
from rnnviz.grading.autograde import CSV_FIELDS, CSV_NAME, autograde, write_csv  # noqa: E402
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
    for i in range(11):
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
    with open(course / CSV_NAME, newline="") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


def test_parallel_equals_sequential_equals_nbgrader(graded):
    course, expected, _, parallel = graded
    by_nbgrader = _scores(course.parent / "nbgrader")
    assert len(by_nbgrader) == 15
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
    assert not (course / "grades.csv").exists()          # nbgrader export's file, not the kit's
    # the ungraded submission is recorded, with its reason, where nbgrader export reads it
    from nbgrader.api import Gradebook
    with Gradebook(gradebook.sqlite_url(course / "gradebook.db"), "grading-test") as gb:
        record = gradebook.ungraded(gb, gc.NAME)
    assert list(record[gc.NAME]) == ["not_json"] and "JSON" in record[gc.NAME]["not_json"]["reason"]


def test_an_edited_or_deleted_test_cell_is_restored_and_noted(graded):
    course, expected, proc, parallel = graded
    edited = "ps1/squares_tests: test cell edited (restored from the release)"
    deleted = "ps1/grad_tests: test cell deleted or stripped of its nbgrader metadata (restored from the release)"
    assert f"edited_tests: 3/5  ({edited})" in proc.stdout
    assert f"deleted_tests: 2/5  ({deleted})" in proc.stdout
    rows = _csv(course)
    assert rows["edited_tests"]["reason"] == edited and rows["deleted_tests"]["reason"] == deleted
    notes = {r["student"]: r["notes"] for r in parallel.results}
    assert notes["edited_tests"] == [edited] and notes["deleted_tests"] == [deleted]
    # untouched test cells (the release's, hidden tests removed) raise no note
    assert all(notes[f"variant{i:02d}"] == [] for i in range(11))


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
    assert "hidden case 1 of 2: squares(0) should return a list" in (
        course / "feedback" / "variant04" / gc.NAME / f"{gc.NAME}.html").read_text()


def test_sandbox_is_used_when_bubblewrap_is_there(graded):
    _, _, proc, _ = graded
    if bwrap_path() is None:
        assert "WARNING: bubblewrap (bwrap) is not available" in proc.stderr
        pytest.skip("bubblewrap is not installed: graded with resource limits only")
    assert "WARNING" not in proc.stderr


# -- writing the kit's CSV never fails after the grading --------------------------------------------

RESULTS = [{"student": "ann", "status": "graded", "score": 5.0, "max_score": 5.0, "reason": "",
            "notes": []},
           {"student": "ben", "status": "ungraded", "score": None, "max_score": None,
            "reason": "NotJSONError: no", "notes": []}]


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_the_csv_keeps_other_assignments_rows(tmp_path):
    path = tmp_path / CSV_NAME
    assert write_csv(path, "ps0", RESULTS[:1]) == []
    assert write_csv(path, "ps1", RESULTS) == []
    rows = _rows(path)
    assert [(r["assignment"], r["student_id"], r["score"]) for r in rows] == [
        ("ps0", "ann", "5.0"), ("ps1", "ann", "5.0"), ("ps1", "ben", "")]
    assert rows[2]["reason"] == "NotJSONError: no"
    assert sorted(p.name for p in tmp_path.iterdir()) == [CSV_NAME]


@pytest.mark.parametrize("old", [
    "assignment,duedate,timestamp,student_id,last_name,first_name,email,raw_score,"
    "late_submission_penalty,score,max_score\nps1,,,ann,,,,0.0,0.0,0.0,5.0\n",   # nbgrader export --to
    "",                                                                      # empty
    "\udcff\n",                                                              # not UTF-8
])
def test_a_file_that_is_not_the_kits_csv_is_set_aside(tmp_path, old):
    path = tmp_path / CSV_NAME
    path.write_bytes(old.encode("utf-8", "surrogateescape"))
    warnings = write_csv(path, "ps1", RESULTS)
    assert len(warnings) == 1 and "was not the kit's CSV" in warnings[0], warnings
    aside = [p for p in tmp_path.iterdir() if p.name != CSV_NAME]
    assert len(aside) == 1 and aside[0].name.startswith("rnnviz-grades.unexpected-"), aside
    assert aside[0].read_bytes() == old.encode("utf-8", "surrogateescape")
    assert [r["student_id"] for r in _rows(path)] == ["ann", "ben"]
    assert tuple(_rows(path)[0]) == CSV_FIELDS


def test_a_csv_that_cannot_be_written_is_a_warning_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    assert "could not write" in write_csv(tmp_path / "missing" / CSV_NAME, "ps1", RESULTS)[0]
    path = tmp_path / CSV_NAME
    write_csv(path, "ps0", RESULTS[:1])
    before = path.read_bytes()

    def fail(self, rows):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(csv.DictWriter, "writerows", fail)
    warnings = write_csv(path, "ps1", RESULTS)
    assert len(warnings) == 1 and "No space left on device" in warnings[0]
    assert path.read_bytes() == before                          # the old file, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == [CSV_NAME]
