"""Grade every submission of an assignment: nbgrader grades, Dask spreads, one process writes.

``autograde(NAME, course, workers=N)``:

1. lists ``submitted/STUDENT/NAME/`` (nbgrader's layout) and snapshots the gradebook;
2. grades each submission with ``worker.grade_submission`` — in this process when ``workers`` is 1,
   otherwise as one Dask task per submission on a ``LocalCluster`` of ``workers`` long-lived
   processes, or on the cluster at ``scheduler``;
3. merges each result into the main gradebook as it arrives (this process is its only writer),
   with a tqdm progress bar (counts, time left); a submission it could not grade stays out of
   nbgrader's tables and is recorded, with the reason, in the gradebook's ``rnnviz_ungraded`` table
   (``gradebook.set_ungraded``), which ``nbgrader export`` reads (``rnnviz.grading.export``);
4. writes ``rnnviz-grades.csv`` (its own name: ``nbgrader export`` writes ``grades.csv``) and prints
   a summary: graded, tests failed, ungraded with the reason, and the notes (a test cell the learner
   edited, a timeout). Nothing after the grading can end the command in a traceback: a CSV it
   cannot read or write is set aside or skipped with a warning.

A submission whose worker died is graded again once on another worker (Dask's
``allowed-failures``); if that worker dies too it is reported ungraded, never left out.

On a course hub: a submission collected from an exchange copy that is not wholly the student's own
(``submission.forged_submission``: another student submitted under their name) is reported
ungraded with the reason, never graded; a hub session's token and other secrets are removed from
this process's environment while it grades, so no worker holds them (kernels never see the
grader's environment); and run as root on a course another user owns (the instructor's), what it
writes there is handed to that user, so the instructor can still change or delete it.
"""
from __future__ import annotations

import csv
import itertools
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
from .export import write_csv_atomically
from .sandbox import HUB_NOTE, REMOVED_VAR, containment_warning, secret_variables
from .submission import exchange_root, forged_submission
from .worker import FAILED, GRADED, UNGRADED, course_config, course_id, grade_submission

CSV_NAME = "rnnviz-grades.csv"
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
    hidden = {k: os.environ.pop(k) for k in secret_variables(os.environ)}
    removed = hidden.pop(REMOVED_VAR, None) or os.environ.pop(REMOVED_VAR, "")
    hub = any(k.startswith(("JUPYTERHUB_", "JPY_")) for k in [*hidden, *removed.split(",")])
    try:
        report = _autograde(name, course, workers, scheduler, sandbox, progress, out, hub)
    finally:
        os.environ.update(hidden)
    return report


def refusals(course: Path, name: str, students: list[str], cid: str) -> dict[str, str]:
    """{student: reason} for the submissions that ``forged_submission`` refuses (none when the
    course's exchange folder is not on this machine)."""
    try:
        inbound = Path(exchange_root(course)) / cid / "inbound"
        if not inbound.is_dir():
            return {}
    except Exception:  # noqa: BLE001 - no exchange to compare with
        return {}
    found = {}
    for student in students:
        try:
            reason = forged_submission(course / "submitted" / student / name, student, name, inbound)
        except Exception as exc:  # noqa: BLE001 - never grade what could not be checked
            reason = f"its exchange copy could not be checked ({type(exc).__name__}: {exc})"
        if reason:
            found[student] = reason[:300]
    return found


def hand_to_course_owner(course: Path) -> None:
    """Run as root on a course another user owns: give that user what root owns among the files
    this command writes (the gradebook, the CSV, autograded/ and feedback/). Links are never
    followed (each change is made through the folder's descriptor)."""
    if os.geteuid() != 0:
        return
    info = course.stat()
    if info.st_uid == 0:
        return
    uid, gid = info.st_uid, info.st_gid
    for name in ("gradebook.db", CSV_NAME):
        path = course / name
        if path.exists() and not path.is_symlink() and path.lstat().st_uid == 0:
            os.chown(path, uid, gid, follow_symlinks=False)
    for name in ("autograded", "feedback"):
        top = course / name
        if top.is_symlink() or not top.is_dir():
            continue
        if top.lstat().st_uid == 0:
            os.chown(top, uid, gid, follow_symlinks=False)
        for _, dirs, files, fd in os.fwalk(top, follow_symlinks=False):
            for entry in dirs + files:
                if os.stat(entry, dir_fd=fd, follow_symlinks=False).st_uid == 0:
                    os.chown(entry, uid, gid, dir_fd=fd, follow_symlinks=False)


def _autograde(name, course, workers, scheduler, sandbox, progress, out, hub) -> Report:
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
        warning = containment_warning(hub_session=hub)
    else:
        warning = ("WARNING: --no-sandbox: student code runs with resource limits only, with the "
                   "grader's rights: it can read solutions/, the gradebook and other submissions, "
                   "and use the network." + (HUB_NOTE if hub else ""))
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
    refused = refusals(course, name, students, cid)
    to_grade = [s for s in students if s not in refused]
    use_dask = (workers > 1 or scheduler) and to_grade
    try:
        with ExitStack() as stack:
            client = stack.enter_context(dask_client(workers, scheduler)) if use_dask else None
            ensure_assignment(course, name, cfg)
            gradebook.snapshot(main_db, base_db)
            if client is None:
                results = (grade_submission(str(course), name, s, str(base_db), sandbox)
                           for s in to_grade)
            else:
                results = _dask_results(client, course, name, to_grade, base_db, sandbox)
            ungraded = [{"student": s, "status": UNGRADED, "score": None, "max_score": None,
                         "reason": why, "notes": [], "gradebook": None, "seconds": 0.0}
                        for s, why in refused.items()]
            _collect(report, itertools.chain(ungraded, results), name, main_db, cid, progress, students)
    finally:
        base_db.unlink(missing_ok=True)
        try:
            work.rmdir()
        except OSError:
            pass
        try:
            hand_to_course_owner(course)
        except OSError as exc:
            _warn(report, f"WARNING: could not give what this run wrote to the course's owner ({exc})")
    report.results.sort(key=lambda r: r["student"])
    report.seconds = round(time.monotonic() - t0, 2)
    for warning in write_csv(course / CSV_NAME, name, report.results):
        report.warnings.append(warning)
        print(warning, file=sys.stderr)
    try:
        hand_to_course_owner(course)
    except OSError as exc:
        _warn(report, f"WARNING: could not give {CSV_NAME} to the course's owner ({exc})")
    print(summary(report), file=out)
    return report


def _collect(report: Report, results, name: str, main_db: Path, cid: str, progress: bool,
             students: list[str]) -> None:
    """Merge each result into the main gradebook as it arrives, record the ungraded ones (see
    ``_record``); show the progress."""
    from nbgrader.api import Gradebook
    from tqdm.auto import tqdm

    counts = {GRADED: 0, FAILED: 0, UNGRADED: 0}
    with Gradebook(gradebook.sqlite_url(main_db), cid) as gb, \
            tqdm(total=report.expected, unit="submission", desc=f"autograde {name}", disable=not progress,
                 file=sys.stderr, dynamic_ncols=True) as bar:
        for res in results:
            if res.get("gradebook") is not None:
                gradebook.merge(gb, name, res["student"], res["gradebook"])
            _record(report, gb, name, res)
            report.results.append(res)
            counts[res["status"]] += 1
            bar.set_postfix({"graded": counts[GRADED], "failed": counts[FAILED],
                             "ungraded": counts[UNGRADED]}, refresh=False)
            bar.update(1)
        try:   # a student whose folder is gone since the last run has no ungraded submission now
            gradebook.clear_ungraded(gb, name, keep=set(students))
        except Exception as exc:  # noqa: BLE001 - the grades are merged; say what was not done
            _warn(report, f"WARNING: could not update the record of ungraded submissions of {name!r} "
                          f"in the gradebook ({type(exc).__name__}: {exc})")


def _record(report: Report, gb, name: str, res: dict) -> None:
    """Keep the gradebook's record of ungraded submissions up to date for ``res``.

    A graded submission leaves the record. An ungraded one enters it with its reason and stays out
    of nbgrader's tables (never a 0). If the gradebook already holds a grading of this student's
    submission (an earlier submission, or an earlier run), that grading is left as it is, manual
    grades and comments included, and the result says so: ``nbgrader export`` then shows the
    student as ungraded, with the reason and the earlier score, not that score.
    """
    student = res["student"]
    try:
        if res["status"] != UNGRADED:
            gradebook.clear_ungraded(gb, name, [student])
            return
        earlier = gradebook.earlier_grading(gb, name, student)
        if earlier is not None:
            when = f", submitted {earlier['timestamp']}" if earlier["timestamp"] else ""
            res.setdefault("notes", []).append(
                f"the gradebook keeps an earlier grading ({earlier['score']:g}/{earlier['max_score']:g}"
                f"{when}), left as it is: nbgrader export shows this submission as ungraded")
        gradebook.set_ungraded(gb, name, student, res["reason"])
    except Exception as exc:  # noqa: BLE001 - never lose the grading over its bookkeeping
        try:
            gb.db.rollback()
        except Exception:  # noqa: BLE001
            pass
        _warn(report, f"WARNING: could not record {student!r}'s ungraded submission in the gradebook "
                      f"({type(exc).__name__}: {exc}): nbgrader export will not know why it has no score")


def _warn(report: Report, warning: str) -> None:
    report.warnings.append(warning)
    print(warning, file=sys.stderr)


def write_csv(path: Path, name: str, results: list[dict]) -> list[str]:
    """Write the kit's CSV (``rnnviz-grades.csv``): this assignment's rows replace its old ones,
    other assignments' rows are kept. An ungraded submission has an empty score and its reason,
    never 0; the reason column also holds the notes.

    Never raises: the grading is done and in the gradebook by now. A file at ``path`` that is not
    the kit's CSV (other columns, e.g. ``nbgrader export --to`` it, or unreadable) is renamed aside
    and a new one written; a file that cannot be written is skipped. Each such case is returned as
    a warning. No temporary file is left behind.
    """
    warnings: list[str] = []
    rows: list[dict] = []
    target = path
    try:
        if path.exists() or path.is_symlink():
            try:
                with open(path, newline="", encoding="utf-8") as f:
                    reader = csv.DictReader(f)
                    if tuple(reader.fieldnames or ()) != CSV_FIELDS:
                        raise ValueError(f"its columns are {', '.join(reader.fieldnames or ()) or 'none'}")
                    rows = [{k: ("" if r.get(k) is None else r[k]) for k in CSV_FIELDS}
                            for r in reader if r.get("assignment") != name]
            except (OSError, ValueError, csv.Error) as exc:   # UnicodeDecodeError is a ValueError
                rows = []
                aside = _aside(path)
                try:
                    os.replace(path, aside)
                    warnings.append(f"WARNING: {path.name} was not the kit's CSV ({exc}): moved to "
                                    f"{aside.name}, and a new {path.name} written")
                except OSError as err:
                    target = _aside(path, "new")
                    warnings.append(f"WARNING: {path.name} was not the kit's CSV ({exc}) and could not "
                                    f"be moved ({err.strerror}): this run's grades are in {target.name}")
    except Exception as exc:  # noqa: BLE001 - reading the old rows must not lose the new ones
        rows = []
        warnings.append(f"WARNING: could not read {path.name} ({type(exc).__name__}: {exc}): "
                        f"only this run's rows are written")
    for r in results:
        reason = "; ".join(x for x in [r.get("reason") or ""] + list(r.get("notes") or []) if x)
        rows.append({"assignment": name, "student_id": r["student"], "status": r["status"],
                     "score": "" if r["score"] is None else r["score"],
                     "max_score": "" if r["max_score"] is None else r["max_score"],
                     "reason": reason})
    try:
        write_csv_atomically(target, CSV_FIELDS, rows)
    except Exception as exc:  # noqa: BLE001 - a full disk, a read-only folder, ...
        warnings.append(f"WARNING: could not write {target} ({type(exc).__name__}: {exc}): the "
                        f"grades are in the gradebook and in the summary below")
    return warnings


def _aside(path: Path, what: str = "unexpected") -> Path:
    """A free name beside ``path``: ``rnnviz-grades.unexpected-20260101-120000.csv`` (``-2``, ...)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for k in range(1, 1000):
        candidate = path.with_name(f"{path.stem}.{what}-{stamp}{'' if k == 1 else f'-{k}'}{path.suffix}")
        if not (candidate.exists() or candidate.is_symlink()):
            return candidate
    return path.with_name(f"{path.stem}.{what}-{stamp}-{os.getpid()}-{time.time_ns()}{path.suffix}")


def summary(report: Report) -> str:
    graded, failed, ungraded = (report.by_status(s) for s in (GRADED, FAILED, UNGRADED))

    def notes(r: dict) -> str:
        return f"  ({'; '.join(r['notes'])})" if r.get("notes") else ""

    def who(r: dict) -> str:   # an id that is not UTF-8 (ungraded, with the reason) prints escaped
        return r["student"].encode("utf-8", "backslashreplace").decode("utf-8")

    lines = [f"{report.name}: {len(report.results)} submissions in {report.seconds:.1f} s: "
             f"{len(graded)} graded with full marks, {len(failed)} with failed tests, "
             f"{len(ungraded)} ungraded"]
    for r in graded:
        if r.get("notes"):
            lines.append(f"  full marks    {who(r)}: {r['score']:g}/{r['max_score']:g}{notes(r)}")
    for r in failed:
        lines.append(f"  tests failed  {who(r)}: {r['score']:g}/{r['max_score']:g}{notes(r)}")
    for r in ungraded:
        lines.append(f"  UNGRADED      {who(r)}: {r['reason']}{notes(r)}")
    return "\n".join(lines)
