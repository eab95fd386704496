"""The instructor's whole cycle with nbgrader's own commands, the kit's autograde in the middle.

A temporary course (``grading_course``'s ``ps1``) with a local exchange folder, one instructor and
three students, each a user of their own (their own folder, HOME and Jupyter folders; nbgrader's
``--student`` names them, since the test runs as one OS user):

    instructor  nbgrader release_assignment ps1
    students    nbgrader fetch_assignment ps1, edit, nbgrader submit ps1 (carol: a file of her own)
    instructor  nbgrader collect ps1; nbgrader export (before grading);
                python -m rnnviz.grading autograde ps1 (here ``autograde(...)``, one worker);
                nbgrader autograde / the formgrader's button: refused, nothing changed;
                nbgrader release_feedback ps1
    students    nbgrader fetch_feedback ps1
    instructor  nbgrader export

(Commands that do not depend on each other run at the same time, to keep the test short.)

alice solves everything (5/5); bob gets square_grad wrong (2/5) and edited a visible test cell
(restored, and noted); carol submits a file that is not a notebook (ungraded, never 0); dave is in
the gradebook without a submission. Then bob resubmits a broken notebook: his earlier grading stays
in the gradebook and export shows him ungraded with the reason and the earlier score.
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from traitlets.config.loader import PyFileConfigLoader

sys.path.insert(0, str(Path(__file__).parent))
import grading_course as gc  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
COURSE_ID = "grading-test"
STUDENTS = ("alice", "bob", "carol")
NOT_A_NOTEBOOK = '{"cells": [ this is not a notebook'


def _repo_setting(section: str, name: str) -> str:
    """A setting of the repository's own nbgrader_config.py (the test course uses the same)."""
    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    return cfg[section][name]


def _env(home: Path) -> dict:
    """A user of their own: HOME and Jupyter's folders (config, data: the exchange cache)."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env.update(PATH=gc.VENV_BIN + os.pathsep + os.environ.get("PATH", ""), HOME=str(home),
               JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
               JUPYTER_DATA_DIR=str(home / ".local" / "share" / "jupyter"),
               JUPYTER_RUNTIME_DIR=str(home / ".local" / "share" / "jupyter" / "runtime"))
    return env


def _start(cwd: Path, home: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=_env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait(*procs: subprocess.Popen, ok: bool = True) -> list[tuple[int, str]]:
    """Wait for the commands (run together); with ``ok``, each must exit 0."""
    out = []
    for p in procs:
        text, _ = p.communicate(timeout=300)
        out.append((p.returncode, text))
        if ok:
            assert p.returncode == 0, f"{' '.join(p.args[2:])} failed:\n{text}"
    return out


def _read_csv(path: Path) -> dict[str, dict]:
    with open(path, newline="") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


def _scores(course: Path) -> dict:
    from nbgrader.api import Gradebook, MissingEntry

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gb:
        for s in gb.students:
            try:
                scores[s.id] = gb.find_submission(gc.NAME, s.id).score
            except MissingEntry:
                scores[s.id] = None
    return scores


def _autograded(course: Path) -> list[str]:
    return sorted(str(p.relative_to(course)) for p in (course / "autograded").rglob("*"))


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    from nbgrader.api import Gradebook
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from rnnviz.grading.autograde import CSV_NAME, autograde
    from rnnviz.grading.worker import course_config

    root = tmp_path_factory.mktemp("cycle")
    course, exchange, teacher = root / "course", root / "exchange", root / "home" / "instructor"
    exchange.mkdir()
    exchange.chmod(0o777)
    guard = _repo_setting("Autograde", "exporter_class")
    plugin = _repo_setting("ExportApp", "plugin_class")
    release = gc.make_course(course, extra_config=(
        f"c.Exchange.root = {str(exchange)!r}\n"
        f"c.Autograde.exporter_class = {guard!r}\n"
        f"c.ExportApp.plugin_class = {plugin!r}\n"))
    assert "BEGIN HIDDEN" not in gc.cell(release, "squares_tests").source
    out = {"course": course, "guard": guard, "plugin": plugin}

    def home(name: str) -> Path:
        return root / "home" / name          # each student works in their own home folder

    def as_student(name: str, *args: str) -> subprocess.Popen:
        return _start(home(name), home(name), *args, f"--course={COURSE_ID}",
                      f"--Exchange.root={exchange}")

    # instructor: release; students: fetch, work, submit
    _wait(_start(course, teacher, "release_assignment", gc.NAME))
    _wait(*[as_student(s, "fetch_assignment", gc.NAME) for s in ("alice", "bob")])
    for s in ("alice", "bob"):
        path = home(s) / gc.NAME / f"{gc.NAME}.ipynb"
        nb = nbformat.read(path, as_version=4)
        assert nbformat.writes(nb) == nbformat.writes(release), "fetched = released"
        if s == "alice":
            gc.cell(nb, "squares").source, gc.cell(nb, "grad").source = gc.RIGHT_SQUARES, gc.RIGHT_GRAD
        elif s == "bob":
            gc.cell(nb, "squares").source = gc.RIGHT_SQUARES
            gc.cell(nb, "grad").source = "def square_grad(x, gy):\n    return 2 * x"
            gc.cell(nb, "squares_tests").source += "\nprint('bob was here')"
        nbformat.write(nb, path)
    (home("carol") / gc.NAME).mkdir(parents=True)       # carol did not fetch: she made a file
    (home("carol") / gc.NAME / f"{gc.NAME}.ipynb").write_text(NOT_A_NOTEBOOK)
    _wait(*[as_student(s, "submit", gc.NAME, f"--student={s}") for s in STUDENTS])

    # instructor: collect and export (before grading: nbgrader's grades.csv), grade with the kit
    _wait(_start(course, teacher, "collect", gc.NAME), _start(course, teacher, "export"))
    assert sorted(p.name for p in (course / "submitted").iterdir()) == list(STUDENTS)
    out["export_before"] = (course / "grades.csv").read_text()
    out["report"] = autograde(gc.NAME, course, workers=1, progress=False)
    out["kit_csv"] = _read_csv(course / CSV_NAME)
    out["scores"] = _scores(course)
    out["autograded_before"] = _autograded(course)

    # nbgrader's own autograde, refused: the command (while the feedback is released) and the
    # formgrader's Autograde button (nbgrader's API, called in the Jupyter server's process)
    command = _start(course, teacher, "autograde", gc.NAME, "--force")
    release_feedback = _start(course, teacher, "release_feedback", gc.NAME)
    cfg = course_config(course)
    out["button"] = NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg).autograde(gc.NAME, "alice")
    out["command"] = _wait(command, ok=False)[0]
    _wait(release_feedback)
    out["after_refusals"] = (_scores(course), _autograded(course))

    # a student with no submission; the students fetch their feedback while the instructor exports
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gb:
        gb.update_or_create_student("dave", first_name="Dave")
    *fetched, export = _wait(*[as_student(s, "fetch_feedback", gc.NAME, f"--student={s}")
                               for s in STUDENTS], _start(course, teacher, "export"), ok=False)
    assert export[0] == 0, export[1]
    out["fetch_feedback"] = dict(zip(STUDENTS, fetched))
    out["feedback"] = {s: sorted((home(s) / gc.NAME / "feedback").glob(f"*/{gc.NAME}.html"))
                       for s in STUDENTS}
    out["export"] = _read_csv(course / "grades.csv")
    out["kit_csv_after_export"] = _read_csv(course / CSV_NAME)
    return out


def test_the_kit_grades_what_collect_brought(cycle):
    outcome = {r["student"]: r for r in cycle["report"].results}
    assert (outcome["alice"]["status"], outcome["alice"]["score"]) == ("graded", 5.0)
    assert (outcome["bob"]["status"], outcome["bob"]["score"]) == ("tests failed", 2.0)
    assert outcome["carol"]["status"] == "ungraded" and "JSON" in outcome["carol"]["reason"]
    assert cycle["scores"] == {"alice": 5.0, "bob": 2.0}          # carol: not in the gradebook
    # bob edited a visible test cell: restored, and said; alice's untouched cells raise no note
    assert outcome["bob"]["notes"] == ["ps1/squares_tests: test cell edited (restored from the release)"]
    assert outcome["alice"]["notes"] == []
    assert "ps1/squares_tests: test cell edited" in cycle["kit_csv"]["bob"]["reason"]
    assert cycle["kit_csv"]["carol"]["score"] == "" and cycle["kit_csv"]["carol"]["status"] == "ungraded"


def test_nbgrader_export_and_the_kits_csv_are_two_files(cycle):
    course = cycle["course"]
    # nbgrader export ran before the kit, the kit after it, export again: both files are whole
    assert cycle["export_before"].splitlines()[0].startswith("assignment,duedate,timestamp,student_id")
    assert cycle["kit_csv_after_export"] == cycle["kit_csv"]
    assert set(cycle["kit_csv"]) == set(STUDENTS)
    assert not [p.name for p in course.iterdir() if p.name.endswith(".tmp")]


def test_nbgrader_autograde_and_the_formgrader_button_refuse_and_change_nothing(cycle):
    assert cycle["guard"] == "rnnviz.grading.export.GradeWithTheKit"
    button = cycle["button"]
    assert button["success"] is False
    assert "python -m rnnviz.grading autograde ps1" in button["log"], button
    rc, text = cycle["command"]
    assert rc == 1 and "python -m rnnviz.grading autograde ps1" in text, text
    assert cycle["after_refusals"] == (cycle["scores"], cycle["autograded_before"])


def test_each_student_fetches_their_own_feedback(cycle):
    pages = cycle["feedback"]
    for student, score in (("alice", "5.0 / 5.0"), ("bob", "2.0 / 5.0")):
        assert len(pages[student]) == 1, cycle["fetch_feedback"][student]
        text = pages[student][0].read_text()
        assert f"{gc.NAME} (Score: {score})" in text
        assert "n=7)" not in text and "HIDDEN TESTS" not in text        # no hidden test
    assert "bob was here" not in pages["bob"][0].read_text()             # his edit was undone
    assert pages["carol"] == []                                          # nothing to fetch


def test_nbgrader_export_has_no_zero_that_is_not_a_grade(cycle):
    assert cycle["plugin"] == "rnnviz.grading.export.KitExportPlugin"
    rows = cycle["export"]
    assert set(rows) == {"alice", "bob", "carol", "dave"}
    assert (rows["alice"]["status"], rows["alice"]["score"], rows["alice"]["max_score"]) == (
        "graded", "5.0", "5.0")
    assert (rows["bob"]["status"], rows["bob"]["score"]) == ("graded", "2.0")
    assert rows["alice"]["timestamp"]
    carol = rows["carol"]
    assert carol["status"] == "ungraded" and "NotJSONError" in carol["reason"]
    assert carol["raw_score"] == carol["score"] == carol["late_submission_penalty"] == ""
    dave = rows["dave"]
    assert (dave["status"], dave["reason"], dave["score"], dave["first_name"]) == (
        "no submission", "no submission", "", "Dave")


def test_an_ungraded_resubmission_does_not_export_the_earlier_score(cycle, tmp_path):
    """bob resubmits a broken notebook: the gradebook keeps his earlier grading (manual grades
    would be the instructor's), the summary says so, export shows him ungraded."""
    from nbgrader.api import Gradebook

    from rnnviz.grading.autograde import autograde, summary
    from rnnviz.grading.export import KitExportPlugin

    course = tmp_path / "course"
    shutil.copytree(cycle["course"], course, symlinks=True)
    shutil.rmtree(course / "submitted" / "alice")
    shutil.rmtree(course / "submitted" / "carol")          # gone: carol's record goes too
    path = course / "submitted" / "bob" / gc.NAME / f"{gc.NAME}.ipynb"
    path.chmod(0o644)
    path.write_text(NOT_A_NOTEBOOK)
    report = autograde(gc.NAME, course, workers=1, progress=False)
    bob = report.results[0]
    assert bob["status"] == "ungraded"
    assert any("earlier grading (2/5" in n for n in bob["notes"]), bob
    assert "earlier grading (2/5" in summary(report)
    assert _scores(course)["bob"] == 2.0                   # left as it is
    plugin = KitExportPlugin(to=str(tmp_path / "export.csv"))
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gb:
        plugin.export(gb)
    rows = _read_csv(tmp_path / "export.csv")
    assert rows["bob"]["status"] == "ungraded" and rows["bob"]["score"] == ""
    assert "NotJSONError" in rows["bob"]["reason"] and "earlier grading" in rows["bob"]["reason"]
    assert rows["alice"]["status"] == "graded"             # her grading is still the gradebook's
    assert "carol" not in rows
