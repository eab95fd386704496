"""What grading one student costs: each assignment's tests alone, then nbgrader on all five notebooks.

1. The instructor's notebook of each assignment runs in this process, cell by cell: the time of its
   test cells (wall clock and this process's CPU time) is the tests' own compute.
2. A temporary course (the repository's nbgrader_config.py and solutions/) gets one student who
   submits the five solutions, and ``nbgrader autograde --CourseDirectory.assignment_id='[a-z]*'
   --student=s1 --force`` grades them in one process, as an instructor would. The ratio to (1)
   is what nbgrader adds: a kernel per notebook, sanitizing, the gradebook.

    python benchmarks/bench_assignments.py
"""
import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
NAMES = ["autograd_functions", "backward_engine", "rnn_by_hand", "lstm", "truncated_bptt", "gru", "masked_loss"]


def tests_compute(name):
    nb = nbformat.read(REPO / "solutions" / name / f"{name}.ipynb", as_version=4)
    ns = {"__name__": "__bench__"}
    wall = cpu = 0.0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        t0, c0 = time.perf_counter(), time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(cell.source, name, "exec"), ns)
        if cell.metadata.get("nbgrader", {}).get("grade"):
            wall += time.perf_counter() - t0
            cpu += time.process_time() - c0
    return wall, cpu


def main():
    print(f"{'assignment':20s} {'tests wall s':>12s} {'tests CPU s':>12s}")
    total_wall = 0.0
    for name in NAMES:
        wall, cpu = tests_compute(name)
        total_wall += wall
        print(f"{name:20s} {wall:12.2f} {cpu:12.2f}")
    print(f"{'all five':20s} {total_wall:12.2f}")

    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp)
        shutil.copy(REPO / "nbgrader_config.py", course)
        shutil.copytree(REPO / "solutions", course / "solutions")
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        nbgrader = [sys.executable, "-m", "nbgrader"]
        subprocess.run(nbgrader + ["generate_assignment", "--force", "--CourseDirectory.assignment_id=[a-z]*"],
                       cwd=course, env=env, check=True, capture_output=True)
        for name in NAMES:
            dest = course / "submitted" / "s1" / name
            dest.mkdir(parents=True)
            shutil.copy(course / "solutions" / name / f"{name}.ipynb", dest)
        t0 = time.perf_counter()
        # (nbgrader's own in-kernel grading: the course's config refuses it unless asked for it)
        proc = subprocess.run(nbgrader + ["autograde", "--force", "--GradeWithTheKit.nbgrader_in_kernel=True",
                                          "--CourseDirectory.assignment_id=[a-z]*", "--student=s1"],
                              cwd=course, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if proc.returncode:
            print(proc.stdout[-2000:] + proc.stderr[-2000:])
            return 1
    print(f"\nnbgrader autograde, one student's five notebooks: {seconds:.1f} s "
          f"({seconds / len(NAMES):.1f} s a notebook; {seconds / total_wall:.1f}x the tests' own time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
