"""The grading command started as on a course hub: from the instructor's hub session (a JupyterHub
token in its environment), and by root on the instructor's course.

A probe submission looks for the token everywhere it can (its own environment, every
``/proc/PID/environ`` it can read) and, if it finds it, defines the right answers and prints what it
saw, so a leak shows up as points and in the feedback. It must score 0 in the sandbox (bubblewrap)
and without it (``--no-sandbox``, the path taken when bubblewrap is missing), and the token must be
nowhere in what the command writes. (Without bubblewrap, student code runs as the grader's user
and could still read the token of the processes that started the command, e.g. the hub server: the
command says so; what is tested here is that the grader's own processes hold nothing.)
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import grading_course as gc  # noqa: E402

from rnnviz.grading.autograde import CSV_NAME, autograde  # noqa: E402
from rnnviz.grading.sandbox import bwrap_path, secret_variables  # noqa: E402

TOKEN = "hubtoken-0c9e27d4b1a8f356"
#: What a kernel started from a single-user server sees (the class notes, section 10), and more.
HUB_ENV = {"JUPYTERHUB_API_TOKEN": TOKEN, "JPY_API_TOKEN": TOKEN, "JUPYTERHUB_USER": "instructor",
           "JUPYTERHUB_API_URL": "http://127.0.0.1:8766/hub/api", "JUPYTERHUB_CLIENT_ID": "jupyterhub-user-instructor",
           "JUPYTERHUB_SERVICE_PREFIX": "/user/instructor/", "GITHUB_TOKEN": TOKEN + "-gh",
           "AWS_SECRET_ACCESS_KEY": TOKEN + "-aws"}

PROBE = f'''import glob, os
seen = repr(dict(os.environ))
for path in glob.glob("/proc/*/environ"):
    try:
        seen += open(path, "rb").read().decode("latin-1")
    except OSError:
        pass
print("probe: looked at", len(glob.glob("/proc/*/environ")), "environments")
if "{TOKEN[::-1]}"[::-1] in seen:           # (the token never appears in the submission)
    print("LE" + "AK", seen[:3000])
    exec({gc.RIGHT_SQUARES!r})
    exec({gc.RIGHT_GRAD!r})
'''


@pytest.mark.parametrize("sandbox", ["bubblewrap", "no sandbox"])
def test_no_hub_token_reaches_student_code(tmp_path, sandbox):
    if sandbox == "bubblewrap" and bwrap_path() is None:
        pytest.skip("bubblewrap (bwrap) is not installed")
    course = tmp_path / "course"
    release = gc.make_course(course, timeout=30)
    gc.submit(course, "honest", release, gc.RIGHT_SQUARES, gc.RIGHT_GRAD)
    gc.submit(course, "probe", release, PROBE, "")
    env = dict(os.environ, **HUB_ENV)
    cmd = [sys.executable, "-m", "rnnviz.grading", "autograde", gc.NAME, "--course", str(course),
           "--workers", "1", "--no-progress"] + (["--no-sandbox"] if sandbox == "no sandbox" else [])
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    rows = {r.split(",")[1]: r.split(",")[2:4] for r in (course / CSV_NAME).read_text().splitlines()[1:]}
    assert rows == {"honest": ["graded", "5.0"], "probe": ["tests failed", "0.0"]}, p.stdout
    probe_out = (course / "autograded" / "probe" / gc.NAME / f"{gc.NAME}.ipynb").read_text()
    assert "probe: looked at" in probe_out and '"LEAK' not in probe_out
    written = [f for f in course.rglob("*") if f.is_file() and TOKEN in f.read_bytes().decode("latin-1")]
    assert not written, f"the token is in {written}"
    if sandbox == "no sandbox":
        assert "started from a JupyterHub session" in p.stderr, p.stderr


def test_secret_names_are_recognized():
    env = {**HUB_ENV, "PATH": "/bin", "HOME": "/tmp", "LANG": "C", "JUPYTER_CONFIG_PATH": "/etc/j",
           "MONKEY": "x", "SSH_AUTH_SOCK": "/tmp/s", "MY_API_KEY": "k", "DASK_SCHEDULER_ADDRESS": "tcp://x"}
    assert secret_variables(env) == sorted([*HUB_ENV, "MY_API_KEY"])


def test_in_process_grading_hides_secrets_while_it_runs_and_gives_them_back(tmp_path, monkeypatch):
    course = tmp_path / "course"
    release = gc.make_course(course, timeout=30)
    gc.submit(course, "probe", release, PROBE, "")
    for k, v in HUB_ENV.items():
        monkeypatch.setenv(k, v)
    report = autograde(gc.NAME, course=course, workers=1, progress=False, sandbox=bwrap_path() is not None)
    assert [(r["student"], r["score"]) for r in report.results] == [("probe", 0.0)]
    assert all(os.environ[k] == v for k, v in HUB_ENV.items())


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can grade a course another user owns")
def test_root_hands_what_it_writes_to_the_course_owner(tmp_path):
    """The instructor (here uid 54321) must be able to change and delete what root's grading
    wrote into their course: the gradebook, the CSV, autograded/ and feedback/."""
    course = tmp_path / "course"
    release = gc.make_course(course, timeout=30)
    gc.submit(course, "s1", release, gc.RIGHT_SQUARES, gc.RIGHT_GRAD)
    subprocess.run(["chown", "-R", "54321:54321", str(course)], check=True)
    report = autograde(gc.NAME, course=course, workers=1, progress=False)
    assert [(r["student"], r["score"]) for r in report.results] == [("s1", 5.0)]
    wrote = [course / "gradebook.db", course / CSV_NAME, course / "autograded" / "s1" / gc.NAME,
             course / "feedback" / "s1" / gc.NAME / f"{gc.NAME}.html"]
    assert all(p.exists() for p in wrote)
    by_root = [str(p) for p in [course, *course.rglob("*")] if os.lstat(p).st_uid != 54321]
    assert not by_root, f"left to root: {by_root}"
