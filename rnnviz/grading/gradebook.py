"""The nbgrader gradebook: private copies for workers, and merging their grades into the main one.

A worker grades a submission into a private copy of the gradebook (nbgrader's own
``Autograde`` writes it), then ``extract`` reads what autograding wrote as plain data, which
travels back to the coordinator; ``merge`` writes it into the main gradebook: the student, the
submission's timestamp, each notebook's late penalty, each grade's automatic score and
needs-manual-grade flag, each comment's automatic comment. Manual scores and comments, extra credit
and extensions are the instructor's and are left as they are. Only the coordinator calls ``merge``,
so the main gradebook has one writer.

The coordinator also records, in a table of the gradebook's own database (``rnnviz_ungraded``,
which nbgrader ignores), which submissions its last run of an assignment could not grade and why:
``set_ungraded``, ``clear_ungraded``, ``ungraded``. An ungraded submission never enters nbgrader's
tables; this record is how ``nbgrader export`` (``rnnviz.grading.export``) learns why a student has
no score, and it travels with the gradebook file.
"""
from __future__ import annotations

import sqlite3
import time
import warnings
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy import inspect, text
from sqlalchemy.exc import SAWarning

# nbgrader's Gradebook triggers SQLAlchemy's autoflush warnings when it creates a submission
# (nbgrader's own command shows them too); they say nothing about the grades.
warnings.filterwarnings("ignore", category=SAWarning)

STUDENT_FIELDS = ("first_name", "last_name", "email", "lms_user_id")


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def snapshot(db: str | Path, copy: str | Path) -> None:
    """Copy the SQLite gradebook ``db`` to ``copy`` consistently (SQLite's backup API)."""
    Path(copy).parent.mkdir(parents=True, exist_ok=True)
    src, dst = sqlite3.connect(str(db)), sqlite3.connect(str(copy))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def has_assignment(db_url: str, name: str, course_id: str) -> bool:
    with Gradebook(db_url, course_id) as gb:
        try:
            gb.find_assignment(name)
            return True
        except MissingEntry:
            return False


def extract(db_url: str, name: str, student: str, course_id: str) -> dict | None:
    """What autograding wrote for ``student``'s submission of ``name`` (None if no submission)."""
    with Gradebook(db_url, course_id) as gb:
        try:
            sub = gb.find_submission(name, student)
        except MissingEntry:
            return None
        stu = sub.student
        notebooks = {}
        for nb in sub.notebooks:
            notebooks[nb.name] = {
                "late_submission_penalty": nb.late_submission_penalty,
                "grades": {g.name: {"auto_score": g.auto_score,
                                    "needs_manual_grade": g.needs_manual_grade,
                                    "max_score": g.max_score,
                                    "cell_type": g.cell_type} for g in nb.grades},
                "comments": {c.name: c.auto_comment for c in nb.comments},
            }
        return {"student": {f: getattr(stu, f) for f in STUDENT_FIELDS},
                "timestamp": sub.timestamp, "notebooks": notebooks}


def merge(gb: Gradebook, name: str, student: str, data: dict) -> None:
    """Write ``data`` (from ``extract``) into the open gradebook ``gb`` and commit."""
    gb.update_or_create_student(student, **{k: v for k, v in data["student"].items()
                                            if v is not None})
    if data["timestamp"] is not None:
        sub = gb.update_or_create_submission(name, student, timestamp=data["timestamp"])
    else:
        sub = gb.update_or_create_submission(name, student)
    for nb in sub.notebooks:
        got = data["notebooks"].get(nb.name)
        if got is None:
            continue
        nb.late_submission_penalty = got["late_submission_penalty"]
        for g in nb.grades:
            if g.name in got["grades"]:
                g.auto_score = got["grades"][g.name]["auto_score"]
                g.needs_manual_grade = got["grades"][g.name]["needs_manual_grade"]
        for c in nb.comments:
            if c.name in got["comments"]:
                c.auto_comment = got["comments"][c.name]
    gb.db.commit()


def scores(db_url: str, name: str, course_id: str) -> dict[str, dict]:
    """{student: {cell: auto_score}} for every submission of ``name`` (for comparisons)."""
    out = {}
    with Gradebook(db_url, course_id) as gb:
        for sub in gb.find_assignment(name).submissions:
            out[sub.student.id] = {f"{nb.name}/{g.name}": g.auto_score
                                   for nb in sub.notebooks for g in nb.grades}
    return out


UNGRADED_TABLE = "rnnviz_ungraded"


def _ensure_ungraded_table(gb: Gradebook) -> None:
    gb.db.execute(text(f"CREATE TABLE IF NOT EXISTS {UNGRADED_TABLE} ("
                       "assignment TEXT NOT NULL, student TEXT NOT NULL, reason TEXT NOT NULL, "
                       "recorded TEXT NOT NULL, PRIMARY KEY (assignment, student))"))


def _storable(student: str) -> str:
    """``student`` as UTF-8 text (a folder name that is not UTF-8 is kept with escapes)."""
    return student.encode("utf-8", "backslashreplace").decode("utf-8")


def set_ungraded(gb: Gradebook, name: str, student: str, reason: str) -> None:
    """Record that ``student``'s submission of ``name`` was not graded, and why (and commit)."""
    _ensure_ungraded_table(gb)
    gb.db.execute(text(f"INSERT OR REPLACE INTO {UNGRADED_TABLE} VALUES (:a, :s, :r, :t)"),
                  {"a": name, "s": _storable(student), "r": _storable(reason or "ungraded"),
                   "t": time.strftime("%Y-%m-%d %H:%M:%S %Z")})
    gb.db.commit()


def clear_ungraded(gb: Gradebook, name: str, students=None, keep=None) -> None:
    """Forget the record of ``name`` for ``students`` (all when None), except those in ``keep``."""
    if not inspect(gb.engine).has_table(UNGRADED_TABLE):
        return
    recorded = ungraded(gb, name).get(name, {})
    keep = {_storable(s) for s in keep or ()}
    for student in recorded if students is None else [_storable(s) for s in students]:
        if student in recorded and student not in keep:
            gb.db.execute(text(f"DELETE FROM {UNGRADED_TABLE} WHERE assignment = :a AND student = :s"),
                          {"a": name, "s": student})
    gb.db.commit()


def ungraded(gb: Gradebook, name: str | None = None) -> dict[str, dict[str, dict]]:
    """{assignment: {student: {"reason", "recorded"}}} of the submissions recorded as ungraded
    (of ``name`` only, when given); empty for a gradebook the kit never wrote to."""
    if not inspect(gb.engine).has_table(UNGRADED_TABLE):
        return {}
    query = f"SELECT assignment, student, reason, recorded FROM {UNGRADED_TABLE}"
    rows = (gb.db.execute(text(query + " WHERE assignment = :a"), {"a": name}) if name is not None
            else gb.db.execute(text(query)))
    out: dict[str, dict[str, dict]] = {}
    for assignment, student, reason, recorded in rows:
        out.setdefault(assignment, {})[student] = {"reason": reason, "recorded": recorded}
    return out


def earlier_grading(gb: Gradebook, name: str, student: str) -> dict | None:
    """The gradebook's grading of ``student``'s submission of ``name``, if it holds one:
    {"score", "max_score", "timestamp"}."""
    if _storable(student) != student:
        return None       # not UTF-8: never in nbgrader's tables
    try:
        sub = gb.find_submission(name, student)
    except MissingEntry:
        return None
    return {"score": sub.score, "max_score": sub.max_score,
            "timestamp": None if sub.timestamp is None else str(sub.timestamp)}
