"""Grading on Dask: a worker killed with SIGKILL in the middle of a submission loses no grade.

(Parallel grading giving exactly nbgrader's grades is checked in test_grading_command.py.)
"""
import glob
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import grading_course as gc  # noqa: E402

from rnnviz.grading import gradebook  # noqa: E402
from rnnviz.grading.autograde import autograde  # noqa: E402
from rnnviz.grading.sandbox import bwrap_path  # noqa: E402

COURSE_ID = "grading-test"


def _scores(course):
    return gradebook.scores(gradebook.sqlite_url(course / "gradebook.db"), gc.NAME, COURSE_ID)


def _is_sandbox_or_kernel(proc):
    cmd = proc.cmdline()
    return bool(cmd) and (os.path.basename(cmd[0]) == "bwrap" or "rnnviz.grading.kernel" in cmd)


def _worker_grading(student, course):
    """The Dask worker process whose sandboxed kernel grades ``student`` now (or None).

    No command line in the sandbox names the student; the submission carries a marker file, which
    the grader copies into its scratch course: the kernel is the process working there."""
    pattern = os.path.join(tempfile.gettempdir(), "rnnviz-grade-*", "submitted", "*", gc.NAME,
                           f"{student}.marker")
    for marker in glob.glob(pattern):
        scratch = marker.split(os.sep + "submitted" + os.sep)[0]
        for p in psutil.process_iter():
            try:
                if not p.cwd().startswith(scratch + os.sep):
                    continue
                proc = p
                while proc is not None and _is_sandbox_or_kernel(proc):
                    proc = proc.parent()
                # a worker of this test's cluster (a killed worker's kernel may linger a moment,
                # already handed to another parent)
                if proc is not None and os.getpid() in {q.pid for q in proc.parents()}:
                    return proc
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
    return None


def _kill_when_grading(student, course, times, killed, deadline=120):
    """SIGKILL the worker grading ``student``, ``times`` times (each on a fresh worker)."""
    end = time.monotonic() + deadline
    seen = set()
    while len(killed) < times and time.monotonic() < end:
        proc = _worker_grading(student, course)
        if proc is not None and proc.pid not in seen:
            seen.add(proc.pid)
            os.kill(proc.pid, signal.SIGKILL)
            killed.append(proc.pid)
        time.sleep(0.05)


@pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap (bwrap) is not installed: the test "
                    "finds the worker by its sandboxed kernel's command line")
def test_a_killed_worker_loses_no_grade(tmp_path):
    course = tmp_path / "course"
    release = gc.make_course(course, timeout=30)
    slow = "import time\ntime.sleep(4)\n" + gc.RIGHT_SQUARES
    for student in ("killed_once", "killed_twice"):
        gc.submit(course, student, release, slow, gc.RIGHT_GRAD)
        (course / "submitted" / student / gc.NAME / f"{student}.marker").write_text("")
    for i in range(2):
        gc.submit(course, f"calm{i}", release, gc.RIGHT_SQUARES, None)

    killed_once, killed_twice = [], []
    killers = [threading.Thread(target=_kill_when_grading, args=("killed_once", course, 1, killed_once)),
               threading.Thread(target=_kill_when_grading, args=("killed_twice", course, 2, killed_twice))]
    for k in killers:
        k.start()
    report = autograde(gc.NAME, course, workers=2, progress=False)
    for k in killers:
        k.join()

    outcome = {r["student"]: r for r in report.results}
    assert len(killed_once) == 1 and len(killed_twice) == 2, outcome
    assert sorted(outcome) == ["calm0", "calm1", "killed_once", "killed_twice"]
    assert (outcome["killed_once"]["status"], outcome["killed_once"]["score"]) == ("graded", 5.0)
    assert outcome["killed_twice"]["status"] == "ungraded"
    assert outcome["killed_twice"]["score"] is None
    assert "worker grading it died" in outcome["killed_twice"]["reason"]
    for i in range(2):
        assert outcome[f"calm{i}"]["score"] == 2.0
    scores = _scores(course)
    assert sum(scores["killed_once"].values()) == 5.0
    assert "killed_twice" not in scores or set(scores["killed_twice"].values()) == {None}
    # No kernel of this course outlived its worker (a killed one ends within moments).
    deadline = time.monotonic() + 10
    while True:
        left = []
        for p in psutil.process_iter():
            try:
                if _is_sandbox_or_kernel(p):
                    left.append(p.pid)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert left == []


def test_grading_on_an_existing_cluster(tmp_path):
    """--scheduler ADDRESS: the tasks run on a cluster the kit did not start."""
    from dask.distributed import LocalCluster

    course = tmp_path / "course"
    release = gc.make_course(course)
    gc.submit(course, "right", release, gc.RIGHT_SQUARES, gc.RIGHT_GRAD)
    gc.submit(course, "half", release, gc.RIGHT_SQUARES, None)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        report = autograde(gc.NAME, course, scheduler=cluster.scheduler_address, progress=False)
        assert len(cluster.workers) == 1     # the cluster is left running for its owner
    assert {r["student"]: r["score"] for r in report.results} == {"right": 5.0, "half": 2.0}
    assert {s: sum(c.values()) for s, c in _scores(course).items()} == {"right": 5.0, "half": 2.0}


def test_a_kernel_that_dies_while_starting_is_graded_once_more(monkeypatch):
    """Before ``kernel_info`` no cell of the submission has run: the grader tries once more, and
    says so; a second death is the verdict."""
    from rnnviz.grading import worker

    died = {"student": "s", "status": worker.UNGRADED, "score": None, "max_score": None, "notes": [],
            "reason": "RuntimeError: Kernel died before replying to kernel_info", "gradebook": None,
            "seconds": 1.0}
    graded = dict(died, status="graded", score=5.0, max_score=5.0, reason="", seconds=2.0)
    answers = [died, graded]
    monkeypatch.setattr(worker, "_grade_once", lambda *a: dict(answers.pop(0)))
    result = worker.grade_submission("course", "ps1", "s", "db")
    assert (result["status"], result["score"], result["seconds"]) == ("graded", 5.0, 3.0)
    assert "graded again" in result["notes"][0]
    answers[:] = [died, died, graded]
    assert worker.grade_submission("course", "ps1", "s", "db")["status"] == worker.UNGRADED
    assert len(answers) == 1                                  # no third try
