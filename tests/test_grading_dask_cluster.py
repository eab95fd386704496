"""Grading on a Dask cluster started apart (``dask scheduler``, two ``dask worker`` processes), one
worker killed mid-run: every student graded, with the grades of an in-process run.

The workers run without a nanny, so SIGKILL is a lost worker (nothing restarts it): its task goes
back to the scheduler and the other worker grades it. The kill comes once a first result is in
(a first ``autograded/STUDENT`` folder), aimed at a worker that is grading (it has a kernel).
"""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import grading_course as gc  # noqa: E402

from rnnviz.grading.autograde import CSV_NAME, autograde  # noqa: E402

DASK = Path(sys.executable).parent / "dask"
STUDENTS = {f"s{k}": v for k, v in enumerate(gc.VARIANTS[:4])}

pytestmark = pytest.mark.skipif(not DASK.exists(), reason="the dask command is not installed")


def _start(args, log):
    env = dict(os.environ, DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED="False",
               DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION="1.0")
    return subprocess.Popen([str(DASK), *args], stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)


def _wait_for(condition, seconds, what):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _grades(course: Path) -> dict:
    rows = (course / CSV_NAME).read_text().splitlines()[1:]
    return {r.split(",")[1]: (r.split(",")[2], float(r.split(",")[3])) for r in rows}


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and two single-threaded workers without nannies: (address, worker processes)."""
    log = open(tmp_path / "dask.log", "w")
    info = tmp_path / "scheduler.json"
    procs = [_start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                     "--scheduler-file", str(info)], log)]
    try:
        _wait_for(info.exists, 60, "the scheduler")
        for _ in range(2):
            procs.append(_start(["worker", "--scheduler-file", str(info), "--nthreads", "1",
                                 "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"], log))
        import json

        from dask.distributed import Client
        address = json.loads(info.read_text())["address"]
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        yield address, procs[1:]
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        log.close()


def test_a_killed_worker_loses_no_grade(tmp_path, cluster):
    address, workers = cluster
    course = tmp_path / "course"
    release = gc.make_course(course, timeout=30)
    for student, (squares, grad, _) in STUDENTS.items():
        gc.submit(course, student, release, squares, grad)
    reference = tmp_path / "reference"
    shutil.copytree(course, reference)

    t0 = time.monotonic()
    run = subprocess.Popen([sys.executable, "-m", "rnnviz.grading", "autograde", gc.NAME,
                            "--course", str(course), "--scheduler", address, "--no-progress"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _wait_for(lambda: (course / "autograded").is_dir() and any((course / "autograded").iterdir()),
              120, "a first result")

    def busy():
        return [w for w in workers if w.poll() is None and psutil.Process(w.pid).children(recursive=True)]
    _wait_for(busy, 60, "a worker grading")
    victim = busy()[0]
    victim.send_signal(signal.SIGKILL)
    output, _ = run.communicate(timeout=300)
    cluster_seconds = time.monotonic() - t0
    assert victim.wait() == -signal.SIGKILL
    assert run.returncode == 0, output

    t0 = time.monotonic()
    autograde(gc.NAME, course=reference, workers=1, progress=False)
    in_process_seconds = time.monotonic() - t0
    print(f"\ncluster run (a worker killed) {cluster_seconds:.1f} s, in-process run {in_process_seconds:.1f} s")

    expected = {s: ("graded" if v[2] == gc.MAX_SCORE else "tests failed", v[2]) for s, v in STUDENTS.items()}
    assert _grades(reference) == expected
    assert _grades(course) == _grades(reference), output
    assert "4 submissions" in output and "0 ungraded" in output, output
