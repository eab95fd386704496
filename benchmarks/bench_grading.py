"""Grading a class: the kit's command on Dask against nbgrader's own sequential autograde.

One run, one machine, the same 40 submissions, each run timing a fresh copy of the course. The
assignment is the tests' small one by default (tests/grading_course.py: two solution cells, two
test cells with hidden tests, under a second per submission in nbgrader), or with
``--assignment NAME`` one of the kit's five (solutions/NAME, each submission the instructor's
solution, so every test does its full work):

- ``nbgrader autograde ps1 --force``: nbgrader's command, one submission after another;
- ``python -m rnnviz.grading autograde ps1 --workers N`` for N = 1, 2, 4, kernels sandboxed;
- the same with ``--workers 1 --no-sandbox``: the sandbox's cost per submission.

Every run must give the same automatic score to every cell. The figure is a ratio against
nbgrader in the same run (the issue's target: at least 1.6x with 2 workers on 2 cores). Times
are end to end, start-up included, as an instructor would see them.

    .venv/bin/python benchmarks/bench_grading.py [--submissions 40] [--workers 1 2 4]
    .venv/bin/python benchmarks/bench_grading.py --assignment lstm

``--compare DIR`` times every run of the kit's command a second time with the ``rnnviz`` of
another checkout (``DIR``, e.g. a ``git worktree`` of the commit before a change, put first on
``PYTHONPATH``: the grader and its kernels import it), the two taking turns; ``--skip-nbgrader``
leaves nbgrader's own run out (the grades are then compared between the kit's runs).

    .venv/bin/python benchmarks/bench_grading.py --assignment truncated_bptt --workers 2 \
        --skip-nbgrader --compare /tmp/before
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import grading_course as gc  # noqa: E402

from rnnviz.grading import gradebook  # noqa: E402
from rnnviz.grading.sandbox import bwrap_path  # noqa: E402


def build(course: Path, n: int, assignment: str | None) -> str:
    """Write the course and its ``n`` submissions; return the assignment's name."""
    if assignment is None:
        release = gc.make_course(course, timeout=30)
        for i in range(n):
            squares, grad, _ = gc.VARIANTS[i % len(gc.VARIANTS)]
            gc.submit(course, f"s{i:03d}", release, squares, grad)
        return gc.NAME
    course.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / assignment, course / "solutions" / assignment)
    gc.nbgrader(course, "generate_assignment", assignment, "--force")
    for i in range(n):
        shutil.copytree(ROOT / "solutions" / assignment, course / "submitted" / f"s{i:03d}" / assignment)
    return assignment


def timed(argv: list[str], cwd: Path, rnnviz_from: str | None = None) -> float:
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    if rnnviz_from:
        env["PYTHONPATH"] = rnnviz_from + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    t0 = time.perf_counter()
    p = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return seconds


def scores(course: Path, name: str) -> dict:
    from rnnviz.grading.worker import course_config, course_id
    db = gradebook.sqlite_url(course / "gradebook.db")
    return gradebook.scores(db, name, course_id(course_config(course)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--submissions", type=int, default=40)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--assignment", default=None, help="one of solutions/ (default: the tests' own)")
    ap.add_argument("--compare", default=None, metavar="DIR",
                    help="also time the kit's runs with the rnnviz of this checkout")
    ap.add_argument("--skip-nbgrader", action="store_true", help="leave nbgrader's own run out")
    a = ap.parse_args()
    other = None if a.compare is None else str(Path(a.compare).resolve())

    with tempfile.TemporaryDirectory(prefix="rnnviz-bench-grading-") as tmp:
        base = Path(tmp) / "base"
        name = build(base, a.submissions, a.assignment)
        runs: list[tuple[str, list[str], str | None]] = [] if a.skip_nbgrader else [
            ("nbgrader autograde (sequential)",
             [sys.executable, "-m", "nbgrader", "autograde", name, "--force"]
             # the kit's course config refuses plain `nbgrader autograde` unless asked for it
             + (["--GradeWithTheKit.nbgrader_in_kernel=True"] if a.assignment else []), None)]
        kit = [sys.executable, "-m", "rnnviz.grading", "autograde", name, "--course", ".",
               "--no-progress"]
        kit_runs = [(f"rnnviz.grading --workers {w}", kit + ["--workers", str(w)]) for w in a.workers]
        kit_runs.append(("rnnviz.grading --workers 1 --no-sandbox", kit + ["--workers", "1", "--no-sandbox"]))
        for label, argv in kit_runs:
            runs.append((label, argv, None))
            if other:
                runs.append((f"{label} [{Path(other).name}]", argv, other))

        results, reference = [], None
        for label, argv, rnnviz_from in runs:
            course = Path(tmp) / f"run{len(results)}"
            shutil.copytree(base, course)
            seconds = timed(argv, course, rnnviz_from)
            got = scores(course, name)
            if reference is None:
                reference = got
            elif got != reference:
                raise SystemExit(f"{label}: grades differ from the first run's")
            results.append((label, seconds))
            shutil.rmtree(course, ignore_errors=True)

    n = a.submissions
    nbgrader_s = results[0][1]   # the first run: nbgrader's, unless --skip-nbgrader
    print(f"{n} submissions of {name}, {os.cpu_count()} cores, bubblewrap: "
          f"{'yes' if bwrap_path() else 'NO (limits only)'}; load average before: "
          f"{os.getloadavg()[0]:.1f}; every run gave nbgrader's grades cell by cell")
    print(f"{'run':52s} {'seconds':>8s} {'s/submission':>13s} {'speed-up vs the first':>22s}")
    for label, seconds in results:
        print(f"{label:52s} {seconds:8.1f} {seconds / n:13.2f} {nbgrader_s / seconds:21.2f}x")
    if other:
        seq = dict(results)
        for label, _ in kit_runs:
            print(f"{label}: this checkout takes {seq[label] / seq[f'{label} [{Path(other).name}]']:.2f}x "
                  f"the time of {other}")
    seq = dict(results)
    sandboxed = seq.get("rnnviz.grading --workers 1")
    bare = seq["rnnviz.grading --workers 1 --no-sandbox"]
    if sandboxed is not None:
        print(f"sandbox cost: {(sandboxed - bare) / n:+.2f} s per submission "
              f"({sandboxed / bare:.2f}x the unsandboxed sequential time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
