"""The nbgrader gradebook: private copies for workers, and merging their grades into the main one.

A worker grades a submission into a private copy of the gradebook (nbgrader's own
``Autograde`` writes it), then ``extract`` reads what autograding wrote as plain data, which
travels back to the coordinator; ``merge`` writes it into the main gradebook: the student, the
submission's timestamp, each notebook's late penalty, each grade's automatic score and
needs-manual-grade flag, each comment's automatic comment. Manual scores and comments, extra credit
and extensions are the instructor's and are left as they are. Only the coordinator calls ``merge``,
so the main gradebook has one writer.
"""
from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
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
