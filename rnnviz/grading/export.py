"""nbgrader's own commands in a course that the kit grades: ``nbgrader export`` and ``autograde``.

``KitExportPlugin`` (``c.ExportApp.plugin_class`` in ``nbgrader_config.py``) is what ``nbgrader
export`` runs: nbgrader's CSV (``grades.csv`` by default, ``--to FILE``, ``--assignment``,
``--student``) with nbgrader's columns in nbgrader's order, then ``status`` and ``reason``, and no 0
that is not a grade. nbgrader's own ``CsvExportPlugin`` writes 0.0 for a student without a
submission (and for a submission whose cells have no score); here such a row has empty scores and
says why:

- ``graded``: nbgrader's numbers (raw score, late penalty, score);
- ``ungraded``: the kit's last run could not grade the submission; the reason is the kit's (from
  the gradebook's ``rnnviz_ungraded`` record, ``gradebook.ungraded``). If the gradebook still holds
  an earlier grading of the student's assignment, the reason gives that score, which is not
  exported as the grade;
- ``needs grading``: a submission in the gradebook with cells that have no score yet (manual
  grading to do, or a notebook nbgrader could not grade);
- ``no submission``: a student in the gradebook without a submission of the assignment.

``GradeWithTheKit`` (``c.Autograde.exporter_class``) turns off nbgrader's own autograde in the
course, the command and the formgrader's Autograde button alike (the formgrader calls nbgrader's API
in the Jupyter server's process): that grading runs the learner's code without the kit's sandbox and
lets the learner's kernel decide the verdicts. nbgrader makes the exporter before it touches
anything, so the refusal changes nothing (no gradebook row, no deleted autograded notebook) and
says which command grades instead. ``--GradeWithTheKit.nbgrader_in_kernel=True`` lets nbgrader's own
grading run anyway, e.g. to compare it with the kit's.
"""
from __future__ import annotations

import csv
import os
import shlex
import tempfile

from nbconvert.exporters import NotebookExporter
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters.base import NbGraderException
from nbgrader.plugins import ExportPlugin
from traitlets import Bool

from .gradebook import ungraded

#: nbgrader's CsvExportPlugin's columns, in its order, then the kit's two.
NBGRADER_COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
                    "email", "raw_score", "late_submission_penalty", "score", "max_score")
COLUMNS = NBGRADER_COLUMNS + ("status", "reason")
GRADED, UNGRADED, NEEDS_GRADING, NO_SUBMISSION = "graded", "ungraded", "needs grading", "no submission"


def _text(value) -> str:
    return "" if value is None else str(value)


def _points(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else _text(value)


class KitExportPlugin(ExportPlugin):
    """``nbgrader export`` without a 0 for a submission that has no grade (see the module)."""

    def export(self, gradebook: Gradebook) -> None:
        dest = self.to or "grades.csv"
        students = [str(s) for s in self.student]
        assignments = [str(a) for a in self.assignment]
        self.log.info("Exporting grades to %s", dest)
        record = ungraded(gradebook)
        known = {s.id: s for s in gradebook.students}
        rows = []
        for assignment in gradebook.assignments:
            if assignments and assignment.name not in assignments:
                continue
            recorded = record.get(assignment.name, {})
            # the gradebook's students, then those only the kit's record knows (ungraded, no row)
            for sid in list(known) + sorted(set(recorded) - set(known)):
                if students and sid not in students:
                    continue
                rows.append(self.row(gradebook, assignment, sid, known.get(sid), recorded.get(sid)))
        counts = {}
        for row in rows:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        self.log.info("Exported %s", ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "nothing")
        write_csv_atomically(dest, COLUMNS, rows)

    @staticmethod
    def row(gradebook: Gradebook, assignment, sid: str, student, recorded: dict | None) -> dict:
        row = dict.fromkeys(COLUMNS, "")
        row.update(assignment=assignment.name, duedate=_text(assignment.duedate), student_id=sid,
                   max_score=_text(assignment.max_score))
        if student is not None:
            row.update(last_name=_text(student.last_name), first_name=_text(student.first_name),
                       email=_text(student.email))
        try:
            sub = gradebook.find_submission(assignment.name, sid)
        except MissingEntry:
            sub = None
        if recorded is not None:
            reason = f"ungraded: {recorded['reason']}"
            if sub is not None:
                when = f", submitted {sub.timestamp}" if sub.timestamp else ""
                reason += (f"; the gradebook's {_points(sub.score)}/{_points(sub.max_score)} is an "
                           f"earlier grading{when}, not this submission's")
            row.update(status=UNGRADED, reason=reason)
        elif sub is None:
            row.update(status=NO_SUBMISSION, reason="no submission")
        else:
            row["timestamp"] = _text(sub.timestamp)
            grades = [g for nb in sub.notebooks for g in nb.grades]
            missing = [g for g in grades if g.auto_score is None and g.manual_score is None]
            if missing:
                row.update(status=NEEDS_GRADING,
                           reason=f"{len(missing)} of {len(grades)} graded cells have no score yet "
                                  f"(manual grading to do, or a notebook that could not be graded)")
            else:
                penalty = sub.late_submission_penalty or 0.0
                row.update(status=GRADED, raw_score=_text(sub.score),
                           late_submission_penalty=_text(penalty),
                           score=_text(max(0.0, sub.score - penalty)))
        return row


def write_csv_atomically(dest, fieldnames, rows: list[dict]) -> None:
    """Write a CSV to a temporary file beside ``dest``, then move it there: ``dest`` is the old
    file or the whole new one, and no temporary file is left behind, whatever fails. The new file
    has the old one's permissions (a new one: the umask's, as ``open`` gives)."""
    dest = os.fspath(dest)
    folder = os.path.dirname(os.path.abspath(dest))
    try:
        mode = os.stat(dest).st_mode & 0o777
    except OSError:
        mask = os.umask(0o22)
        os.umask(mask)
        mode = 0o666 & ~mask
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(dest)}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, mode)
        with open(fd, "w", newline="", encoding="utf-8", errors="backslashreplace") as f:
            writer = csv.DictWriter(f, fieldnames=fieldnames, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class GradeWithTheKit(NotebookExporter):
    """nbgrader's ``Autograde`` exporter in this course: it refuses, naming the kit's command.

    ``nbgrader_in_kernel = True`` makes it nbgrader's own ``NotebookExporter`` again.
    """

    nbgrader_in_kernel = Bool(
        False, help="Let `nbgrader autograde` and the formgrader's Autograde button grade the "
                    "nbgrader way (no sandbox, verdicts decided in the student's kernel)."
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.nbgrader_in_kernel:
            return
        parent = kwargs.get("parent")
        coursedir = getattr(parent, "coursedir", None)
        name = getattr(coursedir, "assignment_id", "") or "NAME"
        root = getattr(coursedir, "root", "") or "."
        msg = (f"nbgrader's own autograde is turned off in this course: it would run the students' "
               f"code without the kit's sandbox and let their kernels decide the verdicts. Nothing "
               f"was changed. Grade with the kit (every submission of {name}: the gradebook, "
               f"autograded/, feedback/, a summary; the formgrader then shows the grades):\n"
               f"    python -m rnnviz.grading autograde {shlex.quote(name)} --course {shlex.quote(root)}\n"
               f"(nbgrader's own grading, for a comparison only: nbgrader autograde "
               f"{shlex.quote(name)} --GradeWithTheKit.nbgrader_in_kernel=True)")
        getattr(parent, "log", self.log).error(msg)
        raise NbGraderException(msg)
