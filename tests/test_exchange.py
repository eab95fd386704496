"""The kit's exchange (``rnnviz.exchange``) as a class uses it: real system users, nbgrader's commands.

One instructor and two students are created as system users (``rvx_<random>_i``, ``_s1``, ``_s2``;
removed afterwards) with an instructors' group; root enrolls them; then each step of the term runs
as its user with ``runuser`` and a clean environment, as on a hub: the instructor generates and
releases ``ps1``, each student fetches and submits (student 1 right, student 2 partly wrong), the
instructor collects, grades with the kit's command (as the instructor, not root), releases the
feedback, each student fetches their own. Student 2 attacks student 1 meanwhile: submits under their
name (``--student``, writing into their folder, a forgery in their own folder), lists and reads the
exchange, overwrites the release, fetches their feedback. Every attack must fail, and what is
collected, graded and fed back must be the genuine work only.

The users need a Python they can run: ``.venv`` may live under root's home (pyenv), so the test
builds a venv from Debian's ``/usr/bin/python3`` with nbgrader, cached in /tmp by its requirements,
and installs the kit from this checkout (non-editable, per test session) into a folder of its own.
"""
from __future__ import annotations

import fcntl
import glob
import grp
import hashlib
import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import grading_course as gc  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SYSTEM_PYTHON = "/usr/bin/python3"
#: What the users' environment holds besides the kit (and the kit's own dependencies).
REQUIREMENTS = ["nbgrader==0.9.6", "latex2mathml>=3.81", "setuptools>=68", "wheel"]
TIMINGS: dict[str, float] = {}


def _need_root():
    why = None
    if os.geteuid() != 0:
        why = "the exchange test creates system users (useradd): run it as root"
    elif not all(shutil.which(t) for t in ("useradd", "userdel", "groupadd", "runuser")):
        why = "useradd, groupadd or runuser is missing"
    elif not os.access(SYSTEM_PYTHON, os.X_OK):
        why = f"{SYSTEM_PYTHON} is missing: the users' venv is made from the system's Python"
    if why and os.environ.get("RNNVIZ_STRICT_SKIPS") == "1":
        pytest.fail(f"in CI (RNNVIZ_STRICT_SKIPS=1) the exchange test must run: {why}")
    if why:
        pytest.skip(why)


def _run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 600)
    p = subprocess.run(cmd, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return p


# -- a Python every user can run ------------------------------------------------------------------

def users_venv() -> Path:
    """A venv from the system Python with REQUIREMENTS, built once per set of requirements (a file
    lock keeps parallel sessions from building it twice)."""
    key = hashlib.sha256(json.dumps([SYSTEM_PYTHON, REQUIREMENTS, _kit_requirements()]).encode()
                         ).hexdigest()[:12]
    venv = Path(tempfile.gettempdir()) / f"rnnviz-class-venv-{key}"
    with open(Path(tempfile.gettempdir()) / "rnnviz-class-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / "ok").exists():
            t0 = time.monotonic()
            shutil.rmtree(venv, ignore_errors=True)
            _run([SYSTEM_PYTHON, "-m", "venv", str(venv)])
            _run([str(venv / "bin" / "pip"), "install", "-q", *REQUIREMENTS, *_kit_requirements()])
            os.chmod(venv, 0o755)
            (venv / "ok").write_text("")
            TIMINGS["build the users' venv (once)"] = time.monotonic() - t0
    return venv


def _kit_requirements() -> list[str]:
    import tomllib
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]


def install_kit(venv: Path, target: Path) -> None:
    """The kit from this checkout, installed non-editable (a wheel built from a copy) into target."""
    t0 = time.monotonic()
    src = target.parent / "kit-src"
    shutil.copytree(REPO / "rnnviz", src / "rnnviz",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "jupyter-config", src / "jupyter-config")
    _run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--no-build-isolation",
          "--target", str(target), str(src)], cwd=str(target.parent))
    shutil.rmtree(src)
    TIMINGS["install the kit (non-editable)"] = time.monotonic() - t0


# -- the class --------------------------------------------------------------------------------------

class Class:
    """Users, a shared folder, and ``as_user`` to run a command as one of them."""

    def __init__(self, base: Path, venv: Path, kit: Path, prefix: str):
        self.base, self.venv, self.kit, self.prefix = base, venv, kit, prefix
        self.group = f"{prefix}_instr"
        self.instructor, self.s1, self.s2 = f"{prefix}_i", f"{prefix}_s1", f"{prefix}_s2"
        self.course_id = "rvxcourse"
        self.root = base / "exchange"
        self.etc = base / "etc-jupyter"
        self.course = Path(self.home(self.instructor)) / "course" if self._exists(self.instructor) else None

    @staticmethod
    def _exists(user):
        try:
            pwd.getpwnam(user)
            return True
        except KeyError:
            return False

    def home(self, user):
        return pwd.getpwnam(user).pw_dir

    def uid(self, user):
        return pwd.getpwnam(user).pw_uid

    def as_user(self, user, command, cwd=None, check=True, timeout=600):
        """``command`` (a shell line) as ``user``, from ``cwd`` (their home), in a clean
        environment: the users' venv first on PATH, the kit, the class's nbgrader config."""
        home = self.home(user)
        env = [f"HOME={home}", f"USER={user}", f"LOGNAME={user}", "LANG=C.UTF-8",
               f"PATH={self.venv}/bin:/usr/bin:/bin", f"PYTHONPATH={self.kit}",
               f"JUPYTER_CONFIG_PATH={self.etc}"]
        p = subprocess.run(["runuser", "-u", user, "--", "env", "-i", *env, "bash", "-c",
                            f"cd {cwd or home} && {command}"],
                           capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError(f"as {user}: {command} failed ({p.returncode}):\n"
                               f"{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
        return p

    def timed(self, label, user, command, **kw):
        t0 = time.monotonic()
        p = self.as_user(user, command, **kw)
        TIMINGS[label] = time.monotonic() - t0
        return p


def _make_users(c: Class):
    _run(["groupadd", c.group])
    for user in (c.instructor, c.s1, c.s2):
        _run(["useradd", "-m", "-s", "/bin/bash", user])
        os.chmod(c.home(user), 0o700)        # Debian makes homes 755 (see the class notes)
    _run(["usermod", "-aG", c.group, c.instructor])
    c.course = Path(c.home(c.instructor)) / "course"


def _remove_users(c: Class):
    for user in (c.instructor, c.s1, c.s2):
        subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
        subprocess.run(["userdel", "-r", user], capture_output=True)
    subprocess.run(["groupdel", c.group], capture_output=True)


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """The users and the class's folders (removed at the end)."""
    _need_root()
    venv = users_venv()
    base = Path(tempfile.mkdtemp(prefix="rvx-class-"))
    os.chmod(base, 0o755)
    prefix = f"rvx_{secrets.token_hex(3)}"
    c = Class(base, venv, base / "kit", prefix)
    try:
        _make_users(c)
        install_kit(venv, c.kit)
        for path in [c.kit, *c.kit.rglob("*")]:       # readable by all, as a system install
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        c.etc.mkdir()
        (c.etc / "nbgrader_config.py").write_text(
            "c = get_config()\n"
            f"c.CourseDirectory.course_id = {c.course_id!r}\n"
            "from rnnviz.exchange import use_safe_exchange\n"
            f"use_safe_exchange(c, root={str(c.root)!r})\n")
        os.chmod(c.etc, 0o755)
        os.chmod(c.etc / "nbgrader_config.py", 0o644)
        yield c
    finally:
        _remove_users(c)
        shutil.rmtree(base, ignore_errors=True)
        if TIMINGS:
            print("\nexchange test timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in TIMINGS.items()))


# -- the term ---------------------------------------------------------------------------------------

ATTACKS = r'''
import json, os, sys
p = json.loads(sys.argv[1])
out = {}
def attempt(name, fn):
    try:
        out[name] = "ALLOWED: " + repr(fn())[:200]
    except OSError as exc:
        out[name] = "denied (" + type(exc).__name__ + ")"
attempt("list inbound/", lambda: os.listdir(p["inbound"]))
attempt("list the victim's inbound folder", lambda: os.listdir(p["victim_inbound"]))
attempt("read the victim's submission by its exact name", lambda: open(p["victim_notebook"]).read(20))
attempt("stat the victim's submission", lambda: os.stat(p["victim_submission"]))
attempt("submit into the victim's folder", lambda: os.mkdir(p["forged_in_victim"]))
attempt("submit into inbound/ under the victim's name", lambda: os.mkdir(p["forged_in_inbound"]))
attempt("rename the victim's folder", lambda: os.rename(p["victim_inbound"], p["victim_inbound"] + "x"))
attempt("overwrite the released notebook", lambda: open(p["outbound_notebook"], "a").write("x"))
attempt("add a file to the release", lambda: open(p["outbound_new"], "w").write("x"))
attempt("add a course folder to outbound/", lambda: os.mkdir(p["outbound_dir"]))
attempt("list feedback/", lambda: os.listdir(p["feedback"]))
attempt("list the victim's feedback folder", lambda: os.listdir(p["victim_feedback_dir"]))
for k, path in enumerate(p["victim_feedback_files"]):
    attempt(f"read the victim's feedback by its exact name ({k})", lambda: open(path).read(20))
attempt("read the victim's home", lambda: os.listdir(p["victim_home"]))
print(json.dumps(out))
'''


def _attacks(c: Class, victim: str, attacker: str, feedback_files=()) -> dict:
    inbound = c.root / c.course_id / "inbound"
    mine = sorted((inbound / victim).iterdir())    # as root: the exact names the attacker guesses
    paths = {
        "inbound": str(inbound), "victim_inbound": str(inbound / victim),
        "victim_submission": str(mine[-1]), "victim_notebook": str(mine[-1] / f"{gc.NAME}.ipynb"),
        "forged_in_victim": str(inbound / victim / f"{victim}+{gc.NAME}+2099-01-01 00:00:00.000000 UTC+x"),
        "forged_in_inbound": str(inbound / f"{victim}+{gc.NAME}+2099-01-01 00:00:00.000000 UTC+x"),
        "outbound_notebook": str(c.root / c.course_id / "outbound" / gc.NAME / f"{gc.NAME}.ipynb"),
        "outbound_new": str(c.root / c.course_id / "outbound" / gc.NAME / "extra.py"),
        "outbound_dir": str(c.root / c.course_id / "outbound" / "ps2"),
        "feedback": str(c.root / c.course_id / "feedback"),
        "victim_feedback_dir": str(c.root / c.course_id / "feedback" / victim),
        "victim_feedback_files": [str(f) for f in feedback_files],
        "victim_home": c.home(victim),
    }
    script = c.base / "attacks.py"
    script.write_text(ATTACKS)
    os.chmod(script, 0o644)
    p = c.as_user(attacker, f"python {script} {_q(json.dumps(paths))}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def _q(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _write_submission(c: Class, student: str, squares: str, grad: str) -> None:
    path = Path(c.home(student)) / gc.NAME / f"{gc.NAME}.ipynb"
    nb = nbformat.read(path, as_version=4)
    gc.cell(nb, "squares").source = squares
    gc.cell(nb, "grad").source = grad
    nbformat.write(nb, path)
    os.chown(path, c.uid(student), pwd.getpwnam(student).pw_gid)


WRONG_GRAD = "def square_grad(x, gy):\n    return 2 * x"      # ignores gy: 2 of 5 points


@pytest.fixture(scope="module")
def term(klass):
    """The whole term, each step as its user; returns what the tests check."""
    c = klass
    out: dict = {}
    # root: the exchange for this course, each student enrolled
    t0 = time.monotonic()
    _run([sys.executable, "-m", "rnnviz.exchange", "enroll", "--root", str(c.root), "--course",
          c.course_id, "--instructors", c.group, c.s1, c.s2], cwd=str(REPO))
    TIMINGS["enroll"] = time.monotonic() - t0
    # the instructor's course: the grading test course, with the class's course id
    c.course.mkdir()
    gc_nb = gc.source_notebook()
    (c.course / "source" / gc.NAME).mkdir(parents=True)
    nbformat.write(gc_nb, c.course / "source" / gc.NAME / f"{gc.NAME}.ipynb")
    (c.course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.course_id = {c.course_id!r}\nc.Execute.timeout = 30\n")
    _run(["chown", "-R", f"{c.instructor}:{c.instructor}", str(c.course)])
    ci = str(c.course)
    c.timed("generate_assignment", c.instructor, f"nbgrader generate_assignment {gc.NAME} --force", cwd=ci)
    c.timed("release_assignment", c.instructor, f"nbgrader release_assignment {gc.NAME}", cwd=ci)
    # the students fetch, answer and submit
    for student, grad in ((c.s1, gc.RIGHT_GRAD), (c.s2, WRONG_GRAD)):
        c.timed("fetch_assignment", student, f"nbgrader fetch_assignment {gc.NAME}")
        _write_submission(c, student, gc.RIGHT_SQUARES, grad)
        c.timed("submit", student, f"nbgrader submit {gc.NAME}")
    inbound = c.root / c.course_id / "inbound"
    out["genuine"] = {s: sorted(p.name for p in (inbound / s).iterdir()) for s in (c.s1, c.s2)}
    # student 2 attacks: nbgrader's own commands first
    out["submit --student"] = c.as_user(c.s2, f"nbgrader submit {gc.NAME} --student {c.s1}", check=False)
    out["after submit --student"] = sorted(p.name for p in (inbound / c.s1).iterdir())
    out["fetch_feedback --student"] = c.as_user(
        c.s2, f"nbgrader fetch_feedback {gc.NAME} --student {c.s1}", check=False)
    out["attacks before feedback"] = _attacks(c, c.s1, c.s2)
    # ... and a forgery in their own folder, named as student 1, later than student 1's submission
    forged = inbound / c.s2 / f"{c.s1}+{gc.NAME}+2099-01-01 00:00:00.000000 UTC+forged"
    c.as_user(c.s2, f"cp -r {_q(str(inbound / c.s2 / out['genuine'][c.s2][0]))} {_q(str(forged))}")
    out["forged"] = forged
    # the instructor collects and grades with the kit, as the instructor
    out["collect"] = c.timed("collect", c.instructor, f"nbgrader collect {gc.NAME}", cwd=ci)
    out["list --inbound"] = c.as_user(c.instructor, f"nbgrader list --inbound {gc.NAME}", cwd=ci)
    out["grade"] = c.timed("grade with the kit (2 submissions, --workers 1)", c.instructor,
                           f"python -m rnnviz.grading autograde {gc.NAME} --workers 1 --no-progress",
                           cwd=ci, check=False)
    c.timed("release_feedback", c.instructor, f"nbgrader release_feedback {gc.NAME}", cwd=ci)
    for student in (c.s1, c.s2):
        c.timed("fetch_feedback", student, f"nbgrader fetch_feedback {gc.NAME}")
    out["list s1"] = c.as_user(c.s1, f"nbgrader list --cached {gc.NAME}")
    feedback = sorted((c.root / c.course_id / "feedback" / c.s1).iterdir())
    out["feedback files"] = feedback
    out["attacks after feedback"] = _attacks(c, c.s1, c.s2, feedback)
    out["s2 fetched"] = sorted(glob.glob(f"{c.home(c.s2)}/{gc.NAME}/feedback/*/*.html"))
    return out


def test_enrollment_makes_the_documented_layout(klass, term):
    c = klass
    course = c.root / c.course_id
    gid = grp.getgrnam(c.group).gr_gid

    def layout(path):
        info = os.lstat(path)
        return pwd.getpwuid(info.st_uid).pw_name, grp.getgrgid(info.st_gid).gr_name, oct(info.st_mode & 0o7777)

    assert layout(c.root) == ("root", "root", "0o755")
    assert layout(course / "outbound") == ("root", c.group, "0o2775")
    assert layout(course / "inbound") == ("root", c.group, "0o751")
    assert layout(course / "feedback") == ("root", c.group, "0o751")
    for s in (c.s1, c.s2):
        assert layout(course / "inbound" / s) == (s, c.group, "0o2770")
        assert layout(course / "feedback" / s) == (c.instructor, grp.getgrgid(pwd.getpwnam(s).pw_gid).gr_name,
                                                   "0o2750")
    assert os.stat(course / "outbound").st_gid == gid


def test_each_student_submits_once_into_their_own_folder(klass, term):
    c = klass
    for s in (c.s1, c.s2):
        (name,) = term["genuine"][s]
        assert name.startswith(f"{s}+{gc.NAME}+")
        sub = c.root / c.course_id / "inbound" / s / name
        assert pwd.getpwuid(os.stat(sub).st_uid).pw_name == s
        assert oct(os.stat(sub).st_mode & 0o777) == "0o770"
        assert {p.name for p in sub.iterdir()} == {f"{gc.NAME}.ipynb", "timestamp.txt", "submission_secret.txt"}
        assert all(oct(p.stat().st_mode & 0o777) == "0o640" for p in sub.iterdir())


def test_a_student_cannot_submit_or_fetch_feedback_as_another(klass, term):
    c = klass
    assert term["submit --student"].returncode != 0
    assert "only act as yourself" in term["submit --student"].stdout + term["submit --student"].stderr
    assert term["after submit --student"] == term["genuine"][c.s1]
    assert term["fetch_feedback --student"].returncode != 0


@pytest.mark.parametrize("when", ["attacks before feedback", "attacks after feedback"])
def test_every_attack_on_another_student_is_denied(term, when):
    attacks = term[when]
    assert len(attacks) >= 13
    allowed = {k: v for k, v in attacks.items() if not v.startswith("denied")}
    assert not allowed, f"allowed as the other student: {allowed}"


def test_collect_takes_the_genuine_work_and_refuses_the_forgery(klass, term):
    c = klass
    log = term["collect"].stdout + term["collect"].stderr
    assert "Not collecting" in log and "forged" in log, log
    for student, grad in ((c.s1, gc.RIGHT_GRAD), (c.s2, WRONG_GRAD)):
        nb = nbformat.read(c.course / "submitted" / student / gc.NAME / f"{gc.NAME}.ipynb", as_version=4)
        assert gc.cell(nb, "grad").source == grad
        secret = (c.course / "submitted" / student / gc.NAME / "submission_secret.txt").read_text()
        (genuine,) = term["genuine"][student]
        assert secret == (c.root / c.course_id / "inbound" / student / genuine / "submission_secret.txt").read_text()
    listing = term["list --inbound"].stdout + term["list --inbound"].stderr
    assert c.s1 in listing and c.s2 in listing and "2099" not in listing, listing


def test_the_instructor_grades_with_the_kit_and_owns_what_it_writes(klass, term):
    c = klass
    assert term["grade"].returncode == 0, term["grade"].stdout + term["grade"].stderr
    rows = (c.course / "rnnviz-grades.csv").read_text().splitlines()
    scores = {r.split(",")[1]: (r.split(",")[2], r.split(",")[3]) for r in rows[1:]}
    assert scores == {c.s1: ("graded", "5.0"), c.s2: ("tests failed", "2.0")}
    not_theirs = [str(p) for p in [c.course, *c.course.rglob("*")]
                  if os.lstat(p).st_uid != c.uid(c.instructor)]
    assert not not_theirs, f"not owned by the instructor: {not_theirs}"


def test_each_student_reads_only_their_own_feedback_with_their_score(klass, term):
    c = klass
    assert len(term["feedback files"]) == 1
    info = os.stat(term["feedback files"][0])
    assert oct(info.st_mode & 0o777) == "0o640" and info.st_gid == pwd.getpwnam(c.s1).pw_gid
    for student, score in ((c.s1, "5.0"), (c.s2, "2.0")):
        (html,) = glob.glob(f"{c.home(student)}/{gc.NAME}/feedback/*/{gc.NAME}.html")
        text = Path(html).read_text()
        assert f"Score: {score} / 5.0" in text, text[:2000]
        assert "BEGIN HIDDEN TESTS" not in text
    assert "feedback already fetched" in term["list s1"].stdout + term["list s1"].stderr


def test_the_grader_refuses_a_submission_forged_through_nbgrader_s_own_exchange(klass, tmp_path):
    """With nbgrader's shared exchange (inbound/ 2733, each submission 777), student 2 submits
    under student 1's name and collect takes it: the kit's grader refuses it, and grades student
    2's own submission."""
    c = klass
    from rnnviz.grading.autograde import autograde

    root = tmp_path / "nbgrader-exchange"
    course = tmp_path / "course"
    release = gc.make_course(course, timeout=30, extra_config=f"c.Exchange.root = {str(root)!r}\n")
    inbound = root / "grading-test" / "inbound"
    inbound.mkdir(parents=True)
    stamp = "2026-01-01 10:00:00.000000 UTC"
    copies = {c.s1: (inbound / f"{c.s1}+{gc.NAME}+{stamp}+aaaaaaaaaaaa", c.s2),   # the forgery
              c.s2: (inbound / f"{c.s2}+{gc.NAME}+{stamp}+bbbbbbbbbbbb", c.s2)}
    for student, (copy, owner) in copies.items():
        path = gc.submit(course, student, release, gc.RIGHT_SQUARES, gc.RIGHT_GRAD)
        for name, text in (("timestamp.txt", stamp), ("submission_secret.txt", secrets.token_hex(64))):
            (path.parent / name).write_text(text)
        shutil.copytree(path.parent, copy)
        _run(["chown", "-R", f"{owner}:{owner}", str(copy)])
    # a submission placed by hand (no exchange copy) is graded as before
    gc.submit(course, "by_hand", release, gc.RIGHT_SQUARES, gc.RIGHT_GRAD)
    report = autograde(gc.NAME, course=course, workers=1, progress=False)
    got = {r["student"]: (r["status"], r["score"], r["reason"]) for r in report.results}
    assert got[c.s2][:2] == ("graded", 5.0) and got["by_hand"][:2] == ("graded", 5.0)
    status, score, reason = got[c.s1]
    assert (status, score) == ("ungraded", None)
    assert f"not {c.s1}'s own submission" in reason and f"owned by {c.s2}" in reason, reason
    assert not (course / "autograded" / c.s1).exists()
