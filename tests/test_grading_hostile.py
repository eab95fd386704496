"""Hostile submissions graded together with honest ones, on two Dask workers, each kernel sandboxed.

Each hostile submission tries one attack; where the attack would pay (a file it should not see, a
network connection, a patched check), it then defines the right answers, so a containment that
fails shows up as points. Every honest submission must get its right grade, every hostile one 0 or
"ungraded" with a reason, and nothing outside the submissions' own folders may change.
"""
import hashlib
import os
import socket
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import grading_course as gc  # noqa: E402

from rnnviz.grading import gradebook  # noqa: E402
from rnnviz.grading.autograde import autograde  # noqa: E402
from rnnviz.grading.sandbox import UID_BASE, UID_COUNT, bwrap_path  # noqa: E402

pytestmark = pytest.mark.skipif(bwrap_path() is None,
                                reason="bubblewrap (bwrap) is not installed: nothing to contain with")

CHEAT = "\n" + gc.RIGHT_SQUARES + "\n" + gc.RIGHT_GRAD + "\n"

#: Honest submissions and their right scores.
HONEST = {
    "honest_full": (gc.RIGHT_SQUARES, gc.RIGHT_GRAD, 5.0),
    "honest_partial": (gc.RIGHT_SQUARES, "def square_grad(x, gy):\n    return 2 * x", 2.0),
    "honest_untouched": (None, None, 0.0),
    "honest_uses_rnnviz": (
        "import numpy as np\n" + gc.RIGHT_SQUARES,
        "import rnnviz\nimport rnnviz.functions as F\n"
        "def square_grad(x, gy):\n    v = rnnviz.Variable(x)\n    y = v * v\n"
        "    y.grad = gy * np.ones_like(x)\n    y.backward()\n    return v.grad", 5.0),
}

#: Hostile submissions: the code of the first solution cell (the second one is emptied).
HOSTILE = {
    "loops_forever": "def squares(n):\n    while True:\n        pass\nsquares(1)",
    "allocates_without_bound": "blocks = []\nwhile True:\n    blocks.append(bytearray(64 * 2**20))",
    "fork_bomb": ("import os, time\nwhile True:\n    try:\n        os.fork()\n"
                  "    except OSError:\n        time.sleep(0.2)"),
    "huge_file": ("for name in ('big.bin', '/tmp/big.bin'):\n"
                  "    with open(name, 'wb') as f:\n"
                  "        for _ in range(4096):\n            f.write(b'x' * 2**20)"),
    "reads_other_student": (
        "import glob\nfound = glob.glob('COURSE/submitted/honest_full/*/*.ipynb') + "
        "glob.glob('COURSE/autograded/honest_full/*/*.ipynb')\n"
        "leak = [open(p).read() for p in found]\nprint('found', found)\n"
        "if any('2 * x * gy' in t for t in leak):\n    exec(CHEAT)"),
    "reads_gradebook": (
        "import os\nprint(os.path.exists('COURSE/gradebook.db'))\n"
        "if open('COURSE/gradebook.db', 'rb').read():\n    exec(CHEAT)"),
    "reads_solutions": (
        "import glob\nfound = glob.glob('COURSE/source/*/*.ipynb')\nprint('found', found)\n"
        "if found and 'BEGIN SOLUTION' in open(found[0]).read():\n    exec(CHEAT)"),
    "reads_hidden_tests": (
        "import glob\nfound = glob.glob('*.ipynb') + glob.glob('COURSE/autograded/*/*/*.ipynb')\n"
        "print('found', found)\n"
        "if any('HIDDEN TESTS' in open(p).read() for p in found):\n    exec(CHEAT)"),
    "opens_network": (
        "import socket\nfor host in HOSTS:\n    try:\n"
        "        socket.create_connection((host, PORT), timeout=2).sendall(b'leak')\n"
        "        exec(CHEAT)\n    except OSError as e:\n        print(host, e)"),
    "writes_outside": (
        "import os\nfor path in ['COURSE/gradebook.db', 'COURSE/submitted/honest_full/ps1/ps1.ipynb',"
        " 'COURSE/source/ps1/ps1.ipynb', 'OUTSIDE/marker', '/work/rnnviz-hostile-marker']:\n"
        "    try:\n        open(path, 'a').write('pwned')\n        exec(CHEAT)\n"
        "    except OSError as e:\n        print(path, e)\n"
        "open('/tmp/rnnviz-hostile-marker', 'w').write('the sandbox has a /tmp of its own')"),
    "patches_assert_helpers": (
        "import numpy as np\nnp.testing.assert_array_equal = lambda *a, **k: None\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n"
        "def squares(n):\n    return []\ndef square_grad(x, gy):\n    return 0 * x"),
    "patches_test_functions": (
        "import rnnviz\nclass Fake:\n    def backward(self, *a, **k):\n        pass\n"
        "rnnviz.functions.sum = lambda v: Fake()\nrnnviz.Variable.grad = property(lambda self: 0)\n"
        "import numpy as np\nnp.testing.assert_array_equal = lambda *a, **k: None\n"
        "def squares(n):\n    return []\ndef square_grad(x, gy):\n    return 0 * x"),
    "hooks_ipython": (
        "ip = get_ipython()\n"
        "ip.input_transformers_post.append(lambda lines: ['pass\\n'] if any('assert' in l for l in lines) else lines)\n"
        "def squares(n):\n    return []\ndef square_grad(x, gy):\n    return 0 * x"),
    "replaces_rnnviz": (
        "import sys, types\nimport numpy as np\n"
        "class Variable:\n    def __init__(self, x):\n        self.x, self.grad = x, np.zeros_like(x)\n"
        "    def __mul__(self, other):\n        return self\n    def backward(self):\n        pass\n"
        "fake = types.ModuleType('rnnviz')\nfake.Variable = Variable\n"
        "fake.functions = types.ModuleType('rnnviz.functions')\nfake.functions.sum = lambda v: v\n"
        "sys.modules['rnnviz'] = fake\nsys.modules['rnnviz.functions'] = fake.functions\n"
        "def squares(n):\n    return [i * i for i in range(n)]\n"
        "def square_grad(x, gy):\n    return 0 * x"),
    "floods_output": "for i in range(100000):\n    print('x' * 100)",
}

#: Hostile ones with a note the summary must show.
NOTES = {"loops_forever": "CellTimeoutError", "fork_bomb": "CellTimeoutError",
         "patches_assert_helpers": "guard restored", "patches_test_functions": "guard restored",
         "hooks_ipython": "guard restored", "replaces_rnnviz": "guard restored"}


def _tree(root: Path, skip: set[str]) -> dict:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if rel.parts[0] in skip or not p.is_file():
            continue
        out[str(rel)] = hashlib.sha1(p.read_bytes()).hexdigest()
    return out


class Listener:
    """A TCP server on every local address that records who connects."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("0.0.0.0", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connections = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, addr = self.sock.accept()
            except OSError:
                return
            self.connections.append(addr)
            conn.close()


def _local_addresses():
    hosts = ["127.0.0.1"]
    for addrs in psutil.net_if_addrs().values():
        hosts += [a.address for a in addrs if a.family == socket.AF_INET and a.address not in hosts]
    return hosts


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    course, outside = root / "course", root / "outside"
    outside.mkdir()
    release = gc.make_course(course, timeout=6, extra_config=(
        "c.SandboxKernelManager.memory = 1024 * 2**20\n"))
    listener = Listener()
    for student, (squares, grad, _) in HONEST.items():
        gc.submit(course, student, release, squares, grad)
    for student, code in HOSTILE.items():
        code = (code.replace("COURSE", str(course)).replace("OUTSIDE", str(outside))
                .replace("HOSTS", repr(_local_addresses())).replace("PORT", str(listener.port))
                .replace("CHEAT", repr(CHEAT)))
        # The second solution cell is emptied, so that what the first one defines stands.
        gc.submit(course, student, release, code, "# (emptied by the submission)")
    gc.submit(course, "not_json", release, raw='{"cells": [}')
    before = _tree(course, skip={"autograded", "feedback", "gradebook.db", "grades.csv"})
    report = autograde(gc.NAME, course, workers=2, progress=False)
    listener.sock.close()
    return course, outside, listener, before, report


def test_every_honest_submission_gets_its_right_grade(graded):
    course, _, _, _, report = graded
    outcome = {r["student"]: r for r in report.results}
    for student, (_, _, score) in HONEST.items():
        assert outcome[student]["score"] == score, outcome[student]
        assert not outcome[student]["notes"], outcome[student]    # the guard found nothing


def test_every_hostile_submission_gets_zero_or_ungraded_with_a_reason(graded):
    _, _, _, _, report = graded
    outcome = {r["student"]: r for r in report.results}
    assert set(outcome) == set(HONEST) | set(HOSTILE) | {"not_json"}
    for student in list(HOSTILE) + ["not_json"]:
        r = outcome[student]
        assert (r["status"], r["score"]) == ("tests failed", 0.0) or (
            r["status"] == "ungraded" and r["score"] is None and r["reason"]), r
    assert outcome["not_json"]["status"] == "ungraded"
    assert "JSON" in outcome["not_json"]["reason"]
    for student, note in NOTES.items():
        assert any(note in n for n in outcome[student]["notes"]), outcome[student]


def test_nothing_outside_their_folders_changes(graded):
    course, outside, listener, before, _ = graded
    assert _tree(course, skip={"autograded", "feedback", "gradebook.db", "grades.csv"}) == before
    assert list(outside.iterdir()) == []
    assert not Path("/tmp/rnnviz-hostile-marker").exists()
    assert not Path("/work/rnnviz-hostile-marker").exists()
    assert listener.connections == []
    # Nothing big was left on disk: the working folder was a size-limited tmpfs.
    big = [p for p in (course / "autograded").rglob("*") if p.is_file() and p.stat().st_size > 2**20]
    assert big == []


def test_no_process_outlives_its_kernel(graded):
    """The fork bomb's children included: they die with the sandbox's PID namespace."""
    if os.geteuid() != 0:
        pytest.skip("kernels run as the grader's own user when it is not root")
    deadline = time.monotonic() + 15       # SIGKILL to a namespace is delivered asynchronously
    while True:
        leftover = [p.pid for p in psutil.process_iter(["uids"])
                    if UID_BASE <= p.info["uids"].real < UID_BASE + UID_COUNT]
        if not leftover or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert leftover == []


def test_the_gradebook_holds_exactly_the_reported_grades(graded):
    course, _, _, _, report = graded
    scores = gradebook.scores(gradebook.sqlite_url(course / "gradebook.db"), gc.NAME, "grading-test")
    for r in report.results:
        if r["status"] == "ungraded":
            assert r["student"] not in scores or None in scores[r["student"]].values()
        else:
            assert sum(scores[r["student"]].values()) == r["score"]
