"""Grade every submission of an assignment: nbgrader grades, Dask spreads, one process writes.

``autograde(NAME, course, workers=N)``:

1. lists ``submitted/STUDENT/NAME/`` (nbgrader's layout) and snapshots the gradebook;
2. grades each submission with ``worker.grade_submission`` — in this process when ``workers`` is 1,
   otherwise as one Dask task per submission on a ``LocalCluster`` of ``workers`` long-lived
   processes, or on the cluster at ``scheduler``;
3. merges each result into the main gradebook as it arrives (this process is its only writer),
   with a tqdm progress bar (counts, time left);
4. writes ``grades.csv`` and prints a summary: graded, tests failed, ungraded with the reason.

A submission whose worker died is graded again once on another worker (Dask's
``allowed-failures``); if that worker dies too it is reported ungraded, never left out.
"""
from __future__ import annotations

import csv
import logging
import os
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import gradebook
from .sandbox import containment_warning
from .worker import FAILED, GRADED, UNGRADED, course_config, course_id, grade_submission

CSV_FIELDS = ("assignment", "student_id", "status", "score", "max_score", "reason")


@dataclass
class Report:
    name: str
    results: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    expected: int = 0

    def by_status(self, status: str) -> list[dict]:
        return [r for r in self.results if r["status"] == status]

    @property
    def exit_code(self) -> int:
        """0 when every submission was graded (tests may fail), 1 when some were not."""
        return 1 if self.by_status(UNGRADED) else 0


def submissions(course: Path, name: str) -> list[str]:
    """Students with a folder ``submitted/STUDENT/NAME/``, sorted."""
    root = course / "submitted"
    if not root.is_dir():
        return []
    return sorted(d.name for d in root.iterdir() if (d / name).is_dir())


def ensure_assignment(course: Path, name: str, cfg) -> None:
    """Register ``name`` in the gradebook from the source folder when it is not there yet.

    nbgrader only grades an assignment its gradebook knows; ``generate_assignment`` records it
    (its cells, points, hidden tests). Run here into a scratch release folder, so that the course's
    release folder is left as it is.
    """
    db = gradebook.sqlite_url(Path(course) / "gradebook.db")
    if (Path(course) / "gradebook.db").exists() and gradebook.has_assignment(db, name, course_id(cfg)):
        return
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    with tempfile.TemporaryDirectory(prefix="rnnviz-release-") as scratch:
        cfg.CourseDirectory.release_directory = scratch
        cfg.CourseDirectory.db_url = db
        api = NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg)
        out = api.generate_assignment(name, force=True)
    if not out.get("success"):
        raise RuntimeError(f"autograde: assignment {name!r} is not in the gradebook and "
                           f"nbgrader generate_assignment failed:\n{out.get('log', '')[-2000:]}")


@contextmanager
def dask_client(workers: int, scheduler: str | None):
    """A Dask client: on the cluster at ``scheduler``, or on a LocalCluster of ``workers``
    single-threaded worker processes (closed on exit). The workers start importing nbgrader at
    once, while the coordinator gets the gradebook ready."""
    import dask
    from dask.distributed import Client, LocalCluster

    from .worker import warm_up

    # One task on a worker at a time (saturation 1.0): a worker's death then counts against the
    # submission it was grading only, which is graded again once elsewhere (allowed-failures 1).
    # The workers' sampling profiler (every 10 ms) costs CPU that the kernels need.
    with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                          "distributed.scheduler.worker-saturation": 1.0,
                          "distributed.worker.profile.enabled": False}):
        cluster = None
        if scheduler:
            client = Client(scheduler)
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
        try:
            threading.Thread(target=client.run, args=(warm_up,), daemon=True).start()
            yield client
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def _dask_results(client, course, name, students, base_db, sandbox):
    """Yield each submission's result as its Dask task finishes (KilledWorker -> ungraded)."""
    from dask.distributed import as_completed

    # (a key names the submission by its index: a student id may hold any character)
    futures = {client.submit(grade_submission, str(course), name, s, str(base_db), sandbox,
                             key=f"autograde-{name}-{k}-{os.getpid()}-{time.time_ns()}",
                             pure=False): s for k, s in enumerate(students)}
    for fut in as_completed(futures):
        student = futures[fut]
        try:
            yield fut.result()
        except Exception as exc:  # KilledWorker, a lost connection, ...
            kind = type(exc).__name__
            why = ("the worker grading it died twice" if kind == "KilledWorker"
                   else f"the Dask task failed ({kind}: {exc})")
            yield {"student": student, "status": UNGRADED, "score": None,
                   "max_score": None, "reason": why[:300], "notes": [],
                   "gradebook": None, "seconds": 0.0}


def autograde(name: str, course: str | Path = ".", workers: int | None = None,
              scheduler: str | None = None, sandbox: bool = True, progress: bool = True,
              out=None) -> Report:
    """Autograde every submission of ``name`` in ``course``; see the module docstring."""
    out = out or sys.stdout
    t0 = time.monotonic()
    # nbgrader creates a new gradebook by running `alembic` by name: the venv's bin must be on PATH.
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    course = Path(course).resolve()
    cfg = course_config(course)
    workers = workers or os.cpu_count() or 1
    students = submissions(course, name)
    report = Report(name, expected=len(students))
    if sandbox:
        warning = containment_warning()
    else:
        warning = ("WARNING: --no-sandbox: student code runs with resource limits only, with the "
                   "grader's rights: it can read solutions/, the gradebook and other submissions, "
                   "and use the network.")
    if warning:
        report.warnings.append(warning)
        print(warning, file=sys.stderr)
    if not students:
        print(f"autograde: no submission of {name!r} under {course / 'submitted'}", file=out)
        return report
    main_db = course / "gradebook.db"
    work = course / ".grading"
    base_db = work / f"{name}-{os.getpid()}.db"
    cid = course_id(cfg)
    use_dask = workers > 1 or scheduler
    try:
        with ExitStack() as stack:
            client = stack.enter_context(dask_client(workers, scheduler)) if use_dask else None
            ensure_assignment(course, name, cfg)
            gradebook.snapshot(main_db, base_db)
            if client is None:
                results = (grade_submission(str(course), name, s, str(base_db), sandbox)
                           for s in students)
            else:
                results = _dask_results(client, course, name, students, base_db, sandbox)
            _collect(report, results, name, main_db, cid, progress)
    finally:
        base_db.unlink(missing_ok=True)
        try:
            work.rmdir()
        except OSError:
            pass
    report.results.sort(key=lambda r: r["student"])
    report.seconds = round(time.monotonic() - t0, 2)
    write_csv(course / "grades.csv", name, report.results)
    print(summary(report), file=out)
    return report


def _collect(report: Report, results, name: str, main_db: Path, cid: str, progress: bool) -> None:
    """Merge each result into the main gradebook as it arrives; show the progress."""
    from nbgrader.api import Gradebook
    from tqdm.auto import tqdm

    counts = {GRADED: 0, FAILED: 0, UNGRADED: 0}
    with Gradebook(gradebook.sqlite_url(main_db), cid) as gb, \
            tqdm(total=report.expected, unit="submission", desc=f"autograde {name}", disable=not progress,
                 file=sys.stderr, dynamic_ncols=True) as bar:
        for res in results:
            if res.get("gradebook") is not None:
                gradebook.merge(gb, name, res["student"], res["gradebook"])
            report.results.append(res)
            counts[res["status"]] += 1
            bar.set_postfix({"graded": counts[GRADED], "failed": counts[FAILED],
                             "ungraded": counts[UNGRADED]}, refresh=False)
            bar.update(1)


def write_csv(path: Path, name: str, results: list[dict]) -> None:
    """Write ``grades.csv``: this assignment's rows replace its old ones, others are kept.
    An ungraded submission has an empty score and its reason, never 0."""
    rows = []
    if path.exists():
        with open(path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if r.get("assignment") != name]
    for r in results:
        rows.append({"assignment": name, "student_id": r["student"], "status": r["status"],
                     "score": "" if r["score"] is None else r["score"],
                     "max_score": "" if r["max_score"] is None else r["max_score"],
                     "reason": r["reason"] or "; ".join(r.get("notes", []))})
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def summary(report: Report) -> str:
    graded, failed, ungraded = (report.by_status(s) for s in (GRADED, FAILED, UNGRADED))
    lines = [f"{report.name}: {len(report.results)} submissions in {report.seconds:.1f} s: "
             f"{len(graded)} graded with full marks, {len(failed)} with failed tests, "
             f"{len(ungraded)} ungraded"]
    for r in failed:
        extra = f"  ({'; '.join(r['notes'])})" if r.get("notes") else ""
        lines.append(f"  tests failed  {r['student']}: {r['score']:g}/{r['max_score']:g}{extra}")
    for r in ungraded:
        lines.append(f"  UNGRADED      {r['student']}: {r['reason']}")
    return "\n".join(lines)
