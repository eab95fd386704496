"""Grade one submission with nbgrader's Python API in a scratch course (runs on a worker).

``grade_submission`` is what a Dask task runs, in a long-lived worker process that has imported
nbgrader once; graded one after another in the coordinator's process it is sequential grading. It
builds a scratch course for the one submission (``submission``: regular files only, cells as the
release defines them, the student known as ``ALIAS`` so that no name of theirs reaches nbgrader's
globs or the sandbox), copies the gradebook snapshot, runs nbgrader's ``autograde`` (kernels
sandboxed, verdicts by the grader: ``execute``) and ``generate_feedback`` (hidden tests removed),
copies the autograded notebook and the feedback back under the student's real name, and returns
plain data: the outcome, notes (what normalizing restored, such as a test cell the learner edited;
timeouts; a dead kernel) and what to merge into the main gradebook.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from . import gradebook
from .execute import stop_of
from .submission import Refused, copy_submission, normalize, release_cells, shown, student_id_problem

GRADED, FAILED, UNGRADED = "graded", "tests failed", "ungraded"
CONFIG_FILE = "nbgrader_config.py"
#: The student's id inside the scratch course (their real id never reaches nbgrader or the kernel).
ALIAS = "student"


def course_config(course: str | Path) -> Config:
    """The course's ``nbgrader_config.py`` (empty if it has none), rooted at ``course``."""
    course = Path(course).resolve()
    cfg = Config()
    if (course / CONFIG_FILE).exists():
        cfg = PyFileConfigLoader(CONFIG_FILE, path=str(course)).load_config()
    cfg.CourseDirectory.root = str(course)
    return cfg


def grading_config(course: str | Path, db_path: str | Path, sandbox: bool) -> Config:
    """The course configuration with the kit's grading steps: a private gradebook, sandboxed
    execution with the grader's verdicts, feedback without hidden tests."""
    from nbconvert.exporters import NotebookExporter
    from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, GetGrades,
                                        IgnorePattern, LimitOutput)

    from .execute import SaveVerdicts, VerdictExecute
    from .feedback import HideHiddenTests
    from .math_offline import OfflineMathHTMLExporter

    cfg = course_config(course)
    cfg.CourseDirectory.db_url = gradebook.sqlite_url(db_path)
    # nbgrader_config.py points nbgrader's own autograde to this command (``export.GradeWithTheKit``);
    # here it is this command.
    cfg.Autograde.exporter_class = NotebookExporter
    cfg.Autograde.autograde_preprocessors = [
        VerdictExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveVerdicts,
        AssignLatePenalties, CheckCellMetadata]
    cfg.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
    # math written as MathML, no MathJax from a CDN: the feedback page renders offline
    cfg.GenerateFeedback.exporter_class = OfflineMathHTMLExporter
    cfg.SandboxKernelManager.sandbox = sandbox
    return cfg


def course_id(cfg: Config) -> str:
    return cfg.CourseDirectory.get("course_id", "default_course") or "default_course"


_EXCEPTION_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)): (.*)$")


def _reason_from_log(log: str, error: str | None) -> str:
    """The exception behind nbgrader's failure (the last one its log shows), else its last
    error line."""
    text = (log or "") + "\n" + (error or "")
    for line in reversed(text.splitlines()):
        m = _EXCEPTION_LINE.match(line)
        if m and not m.group(1).endswith("NbGraderException"):
            return f"{m.group(1).rsplit('.', 1)[-1]}: {m.group(2).strip()}"[:300]
    lines = [re.sub(r"^\[[^\]]*\]\s*", "", ln).strip() for ln in text.splitlines()
             if "ERROR" in ln]
    return (lines[0] if lines else "nbgrader could not grade it (no error logged)")[:300]


def _notes(folder: Path) -> list[str]:
    """What the autograded notebooks say went wrong: timeouts, a dead kernel."""
    notes = []
    for path in sorted(folder.glob("*.ipynb")):
        try:
            nb = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for cell in nb.get("cells", []):
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "?")
            where = f"{path.stem}/{grade_id}"
            for out in cell.get("outputs", []):
                if out.get("output_type") != "error":
                    continue
                if out.get("ename") in ("CellTimeoutError", "KernelDied"):
                    notes.append(f"{where}: {out['ename']}")
                elif out.get("ename") == "TestFailed":          # the grader's verdict, in either language
                    stop = stop_of(out.get("evalue", ""))
                    if stop:
                        notes.append(f"{where}: {stop}")
    return list(dict.fromkeys(notes))


_APIS: dict = {}


def _api(course: str, sandbox: bool):
    """nbgrader's API for ``course``, made once per worker process (it re-reads nothing per
    submission); the private gradebook is set on it for each submission."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    key = (course, sandbox)
    if key not in _APIS:
        cfg = grading_config(course, os.path.join(course, "gradebook.db"), sandbox)
        _APIS[key] = cfg, NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg)
    return _APIS[key]


def warm_up() -> None:
    """Import what grading needs (run on each Dask worker while the coordinator gets ready)."""
    import nbclient  # noqa: F401
    import nbconvert.exporters  # noqa: F401
    import nbgrader.apps.api  # noqa: F401
    import nbgrader.converters  # noqa: F401

    from . import execute  # noqa: F401


def _scratch_course(course: Path, name: str, student: str, tmp: Path, db_url: str, cid: str) -> list[str]:
    """``tmp`` as a course holding only this submission, as ``ALIAS``, its notebooks normalized.
    Returns notes on what normalizing restored, e.g. ``ps1/squares_tests: test cell edited
    (restored from the release)``."""
    cfg = course_config(course)
    source = cfg.CourseDirectory.get("source_directory", "source") or "source"
    (tmp / source).symlink_to(course / source)    # files (not notebooks) the release ships
    folder = tmp / "submitted" / ALIAS / name
    copy_submission(course / "submitted" / student / name, folder)
    notes = []
    for path in sorted(folder.glob("*.ipynb")):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 - nbgrader says why when it grades the file
            continue
        restored: list = []
        nbformat.write(normalize(nb, release_cells(db_url, name, path.stem, cid), restored), path)
        notes += [f"{shown(path.stem)}/{grade_id}: {what}" for grade_id, what in restored]
    return list(dict.fromkeys(notes))


def _copy_back(src: Path, dst: Path) -> None:
    """Replace ``dst`` by a copy of the scratch folder ``src`` (regular files only)."""
    if dst.is_symlink() or dst.is_file():
        dst.unlink()
    elif dst.exists():
        shutil.rmtree(dst)
    if src.is_dir():
        shutil.copytree(src, dst, symlinks=True,
                        ignore=lambda d, names: [n for n in names if os.path.islink(os.path.join(d, n))])


KERNEL_DIED_AT_START = "died before replying to kernel_info"


def grade_submission(course: str, name: str, student: str, base_db: str,
                     sandbox: bool = True) -> dict:
    """Autograde ``student``'s submission of ``name`` and generate its feedback.

    Returns {student, status, score, max_score, reason, notes, seconds, gradebook}: ``status`` is
    ``graded`` (full marks), ``tests failed`` or ``ungraded`` (with the reason; never a score);
    ``gradebook`` is ``gradebook.extract``'s data for the coordinator's merge.

    A kernel that dies while starting, before it answers ``kernel_info`` and so before any cell of
    the submission runs, is graded once more in a fresh scratch course: a machine under load can
    lose a kernel there (seen when a sibling worker was killed). A second death is the verdict.
    """
    result = _grade_once(course, name, student, base_db, sandbox)
    if result["status"] == UNGRADED and KERNEL_DIED_AT_START in result["reason"]:
        again = _grade_once(course, name, student, base_db, sandbox)
        again["notes"] = (["the kernel died while starting, before the submission ran: graded again"]
                          + again["notes"])
        again["seconds"] = round(again["seconds"] + result["seconds"], 3)
        return again
    return result


def _grade_once(course: str, name: str, student: str, base_db: str, sandbox: bool) -> dict:
    t0 = time.monotonic()
    course_path = Path(course).resolve()
    result = {"student": student, "status": UNGRADED, "score": None, "max_score": None,
              "reason": "", "notes": [], "gradebook": None, "seconds": 0.0}
    problem = student_id_problem(student)
    if problem:
        result["reason"] = problem
        return result
    tmp = Path(tempfile.mkdtemp(prefix="rnnviz-grade-"))
    try:
        private = tmp / "gradebook.db"
        shutil.copyfile(base_db, private)
        cfg, api = _api(str(course_path), sandbox)
        db_url = gradebook.sqlite_url(private)
        result["notes"] = _scratch_course(course_path, name, student, tmp, db_url, course_id(cfg))
        api.coursedir.root = str(tmp)
        api.coursedir.db_url = cfg.CourseDirectory.db_url = db_url
        out = api.autograde(name, ALIAS, force=True, create=True)
        data = gradebook.extract(db_url, name, ALIAS, course_id(cfg))
        result["gradebook"] = data
        result["notes"] += _notes(tmp / "autograded" / ALIAS / name)
        tests = [g for nb in (data or {}).get("notebooks", {}).values()
                 for g in nb["grades"].values() if g["cell_type"] == "code"]
        missing = [g for g in tests if g["auto_score"] is None]
        if data is None or not out.get("success") or missing or not tests:
            result["reason"] = (_reason_from_log(out.get("log", ""), out.get("error"))
                                if not out.get("success") else
                                "no autograded test cell" if not tests else
                                "some test cells were not graded")
            result["gradebook"] = None
            return result
        score = sum(g["auto_score"] for g in tests)
        max_score = sum(g["max_score"] for g in tests)
        result.update(score=score, max_score=max_score,
                      status=GRADED if score >= max_score else FAILED)
        _copy_back(tmp / "autograded" / ALIAS / name, course_path / "autograded" / student / name)
        fb = api.generate_feedback(name, ALIAS, force=True)
        if not fb.get("success"):
            result["notes"].append("feedback not generated: "
                                   + _reason_from_log(fb.get("log", ""), fb.get("error")))
        else:
            _copy_back(tmp / "feedback" / ALIAS / name, course_path / "feedback" / student / name)
        return result
    except Refused as exc:
        result.update(status=UNGRADED, score=None, gradebook=None, reason=str(exc)[:300])
        return result
    except Exception as exc:  # grading machinery failed: report it, never a score
        result.update(status=UNGRADED, score=None, gradebook=None,
                      reason=f"{type(exc).__name__}: {exc}"[:300])
        return result
    finally:
        result["seconds"] = round(time.monotonic() - t0, 3)
        shutil.rmtree(tmp, ignore_errors=True)
