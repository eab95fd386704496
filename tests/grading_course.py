"""A tiny nbgrader course for the grading tests and benchmark, built in a temporary folder.

One assignment ``ps1`` with one notebook: ``squares(n)`` (2 points, visible and hidden tests) and
``square_grad(x, gy)`` (3 points, checked against rnnviz's own backward). ``make_course`` writes the
source, runs ``nbgrader generate_assignment`` and returns the release notebook; ``submit`` writes a
submission under ``submitted/STUDENT/ps1/``.
"""
from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader.nbgraderformat import SCHEMA_VERSION, MetadataValidator

NAME = "ps1"
MAX_SCORE = 5.0
VENV_BIN = os.path.dirname(sys.executable)


def _meta(grade_id, *, solution=False, grade=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked,
            "schema_version": SCHEMA_VERSION, "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return meta


SQUARES = '''def squares(n):
    """The list [1, 4, 9, ..., n**2] (empty for n <= 0)."""
    ### BEGIN SOLUTION
    return [i * i for i in range(1, n + 1)]
    ### END SOLUTION'''

SQUARES_TESTS = '''"""squares"""
from rnnviz.grading import run_test

run_test("example.squares", squares, n=3)
### BEGIN HIDDEN TESTS
run_test("example.squares", squares, n=0)
run_test("example.squares", squares, n=7)
### END HIDDEN TESTS'''

GRAD = '''def square_grad(x, gy):
    """Gradient of y = x**2 (elementwise) given the upstream gradient gy."""
    ### BEGIN SOLUTION
    return 2 * x * gy
    ### END SOLUTION'''

GRAD_TESTS = '''"""square_grad, against rnnviz's backward"""
from rnnviz.grading import run_test

run_test("example.square_grad", square_grad, x=[1.0, -2.0, 3.0])
### BEGIN HIDDEN TESTS
run_test("example.square_grad", square_grad, linspace=(-1.5, 2.5, 7))
run_test("example.square_grad", square_grad, linspace=(-1.5, 2.5, 7), gy=3.0)
### END HIDDEN TESTS'''


def source_notebook():
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    cells = [
        (new_markdown_cell("## Problem 1\nImplement `squares` and `square_grad`."), _meta("intro", locked=True)),
        (new_code_cell(SQUARES), _meta("squares", solution=True)),
        (new_code_cell(SQUARES_TESTS), _meta("squares_tests", grade=True, locked=True, points=2)),
        (new_code_cell(GRAD), _meta("grad", solution=True)),
        (new_code_cell(GRAD_TESTS), _meta("grad_tests", grade=True, locked=True, points=3)),
    ]
    for cell, meta in cells:
        cell.metadata["nbgrader"] = meta
    nb.cells = [c for c, _ in cells]
    MetadataValidator().validate_nb(nb)
    return nb


def nbgrader(course: Path, *args: str, check=True) -> subprocess.CompletedProcess:
    """Run nbgrader's own command line in ``course`` (the venv's bin first on PATH)."""
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
    p = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                       capture_output=True, text=True, timeout=900)
    if check and p.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{p.stdout}\n{p.stderr}")
    return p


def make_course(course: Path, timeout: int = 6, extra_config: str = "") -> nbformat.NotebookNode:
    """Write the course, generate the release; return the student notebook."""
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'grading-test'\n"
        f"c.Execute.timeout = {timeout}\n"
        "c.OverwriteCells.add_missing_cells = True\n" + extra_config)
    src = course / "source" / NAME / f"{NAME}.ipynb"
    src.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(source_notebook(), str(src))
    nbgrader(course, "generate_assignment", NAME, "--force")
    return nbformat.read(str(course / "release" / NAME / f"{NAME}.ipynb"), as_version=4)


def cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def submit(course: Path, student: str, release, squares: str | None = None,
           grad: str | None = None, edit=None, raw: str | None = None) -> Path:
    """Write ``student``'s submission: the release with the given solution cells (None leaves
    the stub), ``edit(nb)`` applied last; or the text ``raw`` as the notebook file."""
    path = course / "submitted" / student / NAME / f"{NAME}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    if raw is not None:
        path.write_text(raw)
        return path
    nb = copy.deepcopy(release)
    if squares is not None:
        cell(nb, "squares").source = squares
    if grad is not None:
        cell(nb, "grad").source = grad
    if edit is not None:
        edit(nb)
    nbformat.write(nb, str(path))
    return path


RIGHT_SQUARES = "def squares(n):\n    return [i * i for i in range(1, n + 1)]"
RIGHT_GRAD = "def square_grad(x, gy):\n    return 2 * x * gy"

#: Honest variants: (squares source, grad source, expected score).
VARIANTS = [
    (RIGHT_SQUARES, RIGHT_GRAD, 5.0),
    (RIGHT_SQUARES, "def square_grad(x, gy):\n    return 2 * x", 2.0),            # ignores gy: hidden
    (RIGHT_SQUARES, "def square_grad(x, gy):\n    return -2 * x * gy", 2.0),      # sign error
    ("def squares(n):\n    return [i * i for i in range(n)]", RIGHT_GRAD, 3.0),   # off by one
    ("def squares(n):\n    return [i * i for i in range(1, n + 1)] if n > 0 else None",
     RIGHT_GRAD, 3.0),                                                            # hidden n = 0
    (None, RIGHT_GRAD, 3.0),                                                      # stub left
    (RIGHT_SQUARES, None, 2.0),
    (None, None, 0.0),
]
