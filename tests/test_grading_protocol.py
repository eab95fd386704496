"""The test-cell protocol and the sandbox's cheap containments, without nbgrader.

- plain data: what the learner's process sends back is read strictly (object arrays, pickles,
  oversized or malformed messages are refused), and a value survives the round trip exactly;
- a test cell is read, never run: only ``run_test`` lines with literal cases pass;
- the verdict depends only on what the learner's code returned, computed where the grader runs;
- a CPU budget counts every thread and child process;
- inside bubblewrap, no user namespace can be created, and the environment is the kit's own.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy
import pytest

from rnnviz.grading import CPU
from rnnviz.grading import protocol as p
from rnnviz.grading.sandbox import bwrap_path, kernel_environment, sandbox_filter


def roundtrip(value):
    return p.unpack(json.loads(json.dumps(p.pack(value))))


def test_plain_data_survives_the_round_trip():
    a = numpy.arange(6, dtype=numpy.float32).reshape(2, 3)
    got = roundtrip({"a": a, "s": numpy.float64(2.5), "n": None, "t": (1, [True, "x"]),
                     "zero_d": numpy.asarray(3.0), "d": {"k": numpy.int64(4)}})
    assert isinstance(got["a"], p.Received) and got["a"].origin == "numpy"
    assert got["a"].array.dtype == numpy.float32 and numpy.array_equal(got["a"].array, a)
    assert got["zero_d"].array.shape == ()
    assert got["s"] == 2.5 and got["n"] is None and got["t"] == (1, [True, "x"]) and got["d"] == {"k": 4}


def test_what_is_not_data_is_named_not_sent():
    class Mine:
        pass

    got = roundtrip({"obj": Mine(), "objects": numpy.array([Mine()], dtype=object), "f": len})
    assert got["obj"] == p.Other("Mine")
    assert got["objects"].type_name.startswith("array of dtype object")
    assert got["f"] == p.Other("builtin_function_or_method")


@pytest.mark.parametrize("tree", [
    {"t": "array", "dtype": "object", "shape": [1], "origin": "numpy", "data": ""},
    {"t": "array", "dtype": "float64", "shape": [2], "origin": "numpy", "data": base64.b64encode(b"x" * 8).decode()},
    {"t": "array", "dtype": "float64", "shape": [10**9], "origin": "numpy", "data": ""},
    {"t": "array", "dtype": "float64", "shape": [-1], "origin": "numpy", "data": ""},
    {"t": "array", "dtype": "float64", "shape": [1], "origin": "gpu!", "data": base64.b64encode(b"x" * 8).decode()},
    {"t": "pickle", "v": "gASVBQAAAAAAAACMAXiULg=="},
    {"t": "int", "v": "5"},
    {"t": "float", "v": [1.0]},
    {"t": "str", "v": "x" * (p.MAX_STRING + 1)},
    {"t": "none", "extra": 1},
    {"t": "list", "items": [{"t": "list", "items": [{"t": "list", "items": [{"t": "list", "items": [
        {"t": "list", "items": [{"t": "none"}]}]}]}]}]},
    ["not", "a", "tree"],
])
def test_malformed_messages_are_refused(tree):
    with pytest.raises(p.ProtocolError):
        p.unpack(tree)


def test_a_result_too_large_is_refused():
    big = {"t": "list", "items": [{"t": "none"}] * (p.MAX_VALUES + 1)}
    with pytest.raises(p.ProtocolError):
        p.unpack(big)
    with pytest.raises(p.ProtocolError):
        p.pack(numpy.zeros(p.MAX_ARRAY_BYTES // 8 + 1))


def test_a_test_cell_is_read_not_run():
    cell = p.parse_test_cell('"""LSTM forward"""\nfrom rnnviz.grading import run_test\n'
                             'run_test("lstm.forward", LSTM, seed=0, N=2, D=3, H=4)\nprint("ok")\n'
                             '### BEGIN HIDDEN TESTS\nrun_test("lstm.forward", LSTM, seed=9, N=1, D=1, H=1)\n'
                             '### END HIDDEN TESTS')
    assert cell.title == "LSTM forward"
    assert [(c.check, c.names, c.hidden) for c in cell.calls] == [
        ("lstm.forward", ["LSTM"], False), ("lstm.forward", ["LSTM"], True)]
    assert cell.calls[1].case == {"seed": 9, "N": 1, "D": 1, "H": 1}


@pytest.mark.parametrize("source", [
    "assert squares(3) == [1, 4, 9]",
    'run_test("lstm.forward", LSTM, seed=int("3"))',
    'run_test("lstm.forward", LSTM(), seed=0)',
    'run_test("lstm.nothing", LSTM, seed=0)',
    'run_test("../etc", LSTM)',
    'import os\nos.system("true")',
    'from rnnviz.grading import run_test',
])
def test_other_test_cells_are_refused(source):
    with pytest.raises((p.TestCellError, KeyError)):
        p.parse_test_cell(source)


def _grade(check_name, learner, case, patch=None):
    """The grader's path for one case, with the 'kernel' side possibly patched by a learner."""
    check = p.get_check(check_name)
    inputs = check.inputs(**case)
    if patch:
        patch()
    result = p.execute_case(check, [learner], p.unpack(p.pack(inputs)), "cpu")
    return p.judge_case(check, inputs, p.read_result(json.loads(json.dumps(result))), p.Run(CPU))


def test_the_verdict_depends_only_on_what_the_code_returned(monkeypatch):
    """A wrong answer loses whatever the learner's side does to the checks and NumPy there: the
    verdict is computed from the returned data by code the learner's process never ran."""
    import rnnviz.grading.assignments.example as example
    from rnnviz.grading import checks

    def wrong(x, gy):
        return 0 * x

    assert _grade("example.square_grad", lambda x, gy: 2 * x * gy, {"x": [1.0, 2.0]}).passed
    assert not _grade("example.square_grad", wrong, {"x": [1.0, 2.0]}).passed

    def tamper():   # in a kernel these would be the learner's patches; here they are undone after
        monkeypatch.setattr(numpy, "allclose", lambda *a, **k: True)
        monkeypatch.setattr(checks, "check_array", lambda *a, **k: None)
        monkeypatch.setattr(example.SquareGrad, "judge", lambda *a, **k: None)

    check = p.get_check("example.square_grad")
    inputs = check.inputs(x=[1.0, 2.0])
    sent = p.execute_case(check, [wrong], p.unpack(p.pack(inputs)), "cpu")   # the kernel's reply
    tamper()
    monkeypatch.undo()          # the grader's process was never touched by the kernel's patches
    verdict = p.judge_case(check, inputs, p.read_result(json.loads(json.dumps(sent))), p.Run(CPU))
    assert not verdict.passed and "square_grad(x, gy) is wrong" in verdict.message


def test_the_kernel_never_gets_a_seed_or_an_expected_value():
    """The request the grader sends holds the case's inputs only."""
    check = p.get_check("lstm.step")
    inputs = check.inputs(seed=1234, N=2, D=3, H=4)
    code = p.request_code(check, ["LSTM"], inputs, "cpu", "nonce")
    message = json.loads(base64.b64decode(code.split("serve(", 1)[1].rstrip(")").strip("'")))
    assert set(message) == {"check", "names", "device", "nonce", "inputs"}
    assert "1234" not in json.dumps(message) and "seed" not in json.dumps(message)
    assert set(message["inputs"]["items"]) == {"x", "h_prev", "c_prev", "Wx", "Wh", "b", "dh_next", "dc_next"}


def test_an_error_names_the_learners_line_not_the_graders():
    def forward(x, gy):
        raise ValueError("shapes (2,) and (3,) not aligned")

    forward.__code__ = forward.__code__.replace(co_filename="/tmp/ipykernel_1/123.py")
    verdict = _grade("example.square_grad", forward, {"x": [1.0, 2.0]})
    assert not verdict.passed
    assert "your code raised ValueError: shapes (2,) and (3,) not aligned" in verdict.message
    assert "in forward, line" in verdict.message and "protocol.py" not in verdict.message


def _burn(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_the_cpu_budget_counts_threads_and_child_processes():
    start = p.process_tree_cpu(os.getpid())
    t = threading.Thread(target=_burn, args=(0.4,))
    t.start()
    t.join()
    child = subprocess.Popen([sys.executable, "-c",
                              "import time\nend = time.process_time() + 0.4\n"
                              "while time.process_time() < end: pass\ntime.sleep(30)"])
    try:
        deadline = time.monotonic() + 20
        while p.process_tree_cpu(os.getpid()) - start < 0.75 and time.monotonic() < deadline:
            time.sleep(0.05)          # the child is alive: counted as a descendant
        assert p.process_tree_cpu(os.getpid()) - start >= 0.75
    finally:
        child.kill()
        child.wait()                  # reaped: its time moves into this process's cutime
    assert p.process_tree_cpu(os.getpid()) - start >= 0.75


def test_the_kernel_environment_holds_nothing_of_the_graders(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "secret-token")
    env = kernel_environment("/tmp/run", "/opt/rnnviz/2")
    assert "secret-token" not in json.dumps(env)
    assert set(env) >= {"PATH", "HOME", "PYTHONPATH"} and "JUPYTERHUB_API_TOKEN" not in env


@pytest.mark.skipif(bwrap_path() is None or sandbox_filter() is None,
                    reason="needs bubblewrap and a known architecture")
def test_no_user_namespace_inside_the_sandbox():
    base = [bwrap_path(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--unshare-pid", "--die-with-parent"]
    probe = [sys.executable, "-c", "import ctypes, threading, subprocess\n"
             "libc = ctypes.CDLL(None, use_errno=True)\n"
             "t = threading.Thread(target=print); t.start(); t.join()\n"            # threads work
             "assert subprocess.run(['true']).returncode == 0\n"                     # so does fork
             "print('unshare', libc.unshare(0x10000000), ctypes.get_errno())"]
    free = subprocess.run(base + ["--"] + probe, capture_output=True, text=True, timeout=60)
    if "unshare 0 " not in free.stdout:
        pytest.skip(f"this machine allows no user namespaces anyway: {free.stdout} {free.stderr}")
    with tempfile.TemporaryFile() as f:
        f.write(sandbox_filter())
        f.seek(0)
        filtered = subprocess.run(base + ["--seccomp", str(f.fileno()), "--"] + probe, capture_output=True,
                                  text=True, timeout=60, pass_fds=(f.fileno(),))
    assert filtered.returncode == 0, filtered.stderr
    assert "unshare -1 1" in filtered.stdout, filtered.stdout     # EPERM


MEMORY_PROBE = r"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def errno_of(result):
    return 0 if result >= 0 else ctypes.get_errno()
print("shmget", errno_of(libc.shmget(0, 1 << 20, 0o1600)))
print("memfd_create", errno_of(libc.memfd_create(b"x", 0)))
for path in ("/dev/x", "/dev/shm/x", "/tmp/x"):
    try:
        with open(path, "wb") as f:
            for _ in range(80):
                f.write(b"\0" * (1 << 20))
        print(path, 0)
    except OSError as e:
        print(path, e.errno)
print("devices", open("/dev/null", "w").write("x"), len(open("/dev/urandom", "rb").read(4)))
"""


@pytest.mark.skipif(bwrap_path() is None or sandbox_filter() is None or not os.path.exists("/usr/bin/python3"),
                    reason="needs bubblewrap, a known architecture and /usr/bin/python3")
@pytest.mark.parametrize("user", ["root", "a grader without root"])
def test_no_memory_outside_the_limit_in_the_sandbox(monkeypatch, user):
    """Memory the address-space limit does not see: System V segments and memfds (refused by the
    seccomp filter), files in /dev and /dev/shm (read-only, and a 64 MiB tmpfs). Without root,
    bwrap's own /dev and /dev/shm were the kernel's to fill without limit. A grader without root
    is played by nobody (so the sandbox holds the system's Python only); a GPU kernel's filter
    keeps memfd_create, which the CUDA driver needs."""
    from rnnviz.grading import sandbox

    if user != "root" and (os.geteuid() != 0 or not shutil.which("setpriv")):
        pytest.skip("needs root and setpriv to play a grader without root")
    monkeypatch.setattr(sandbox, "python_trees", lambda: [])
    monkeypatch.setattr(sandbox, "package_path", lambda: "/usr/lib/python3/dist-packages")
    top = Path(tempfile.mkdtemp(prefix="rnnviz-memory-"))   # not pytest's: nobody cannot reach it
    work, run = top / "work", top / "run"
    for d in (top, work, run):
        d.mkdir(exist_ok=True)
        d.chmod(0o777)

    def probe(gpu):
        args = sandbox.bwrap_command(str(work), str(run), [], sandbox.Limits(), gpu=gpu)
        with tempfile.TemporaryFile() as f:
            f.write(sandbox.sandbox_filter(shared_memory=gpu))
            f.seek(0)
            command = args[:-1] + ["--seccomp", str(f.fileno()), "--", "/usr/bin/python3", "-c", MEMORY_PROBE]
            if user != "root":
                command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
            out = subprocess.run(command, capture_output=True, text=True, timeout=60, pass_fds=(f.fileno(),))
        assert out.returncode == 0, out.stderr
        return dict(line.rsplit(" ", 1) for line in out.stdout.splitlines() if not line.startswith("devices"))

    try:
        got = probe(gpu=False)
        gpu = probe(gpu=True)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    assert got == {"shmget": "1", "memfd_create": "1",                  # EPERM
                   "/dev/x": "30", "/dev/shm/x": "28", "/tmp/x": "28"}, got   # EROFS, ENOSPC, ENOSPC
    assert gpu["memfd_create"] == "0"


# -- a kernel given the GPU (sandbox.gpu_mode) ------------------------------------------------------
# The real thing runs in tests/test_gpu.py on a GPU machine; here, what it is made of.

def test_a_gpu_kernel_sees_the_gpu_device_files_and_nothing_more(monkeypatch):
    from rnnviz.grading import sandbox

    monkeypatch.setattr(sandbox, "bwrap_path", lambda: "/usr/bin/bwrap")
    monkeypatch.setattr(sandbox, "gpu_device_files", lambda: ["/dev/nvidia0", "/dev/nvidiactl"])
    limits = sandbox.Limits()
    plain = sandbox.bwrap_command("/w/sub", "/tmp/run", [], limits)
    gpu = sandbox.bwrap_command("/w/sub", "/tmp/run", [], limits, gpu=True)
    assert "/sys" not in plain and not any("nvidia" in a for a in plain)
    text = " ".join(gpu)
    # nothing else differs (no /sys: CUDA did not need it on an H200 machine), but /dev: a GPU
    # kernel's is bwrap's as it was seen to work
    triples, rest, k = [], [], 0
    while k < len(gpu):
        if gpu[k] in ("--dev-bind", "--setenv") and (gpu[k] == "--dev-bind" or gpu[k + 1].startswith("CUPY_")):
            triples.append(tuple(gpu[k:k + 3]))
            k += 3
        else:
            rest.append(gpu[k])
            k += 1
    dev = ["--perms", "1777", "--size", str(limits.tmp_size), "--tmpfs", "/dev/shm", "--remount-ro", "/dev"]
    at = next(i for i in range(len(plain)) if plain[i:i + len(dev)] == dev)   # a CPU kernel's /dev
    assert rest == plain[:at] + plain[at + len(dev):]                         # as seen to work with CUDA
    assert sorted(triples) == [("--dev-bind", "/dev/nvidia0", "/dev/nvidia0"),
                               ("--dev-bind", "/dev/nvidiactl", "/dev/nvidiactl"),
                               ("--setenv", "CUPY_ACCELERATORS", ""),
                               ("--setenv", "CUPY_GPU_MEMORY_LIMIT", str(limits.memory))]
    assert text.index("--dev /dev") < text.index("--dev-bind /dev/nvidia0")     # into the sandbox's /dev


def sandbox_limits(gpu):
    from rnnviz.grading.sandbox import Limits

    return Limits(memory=1 << 30).rlimits(gpu=gpu)


def test_a_gpu_kernel_is_limited_in_data_memory_not_address_space():
    assert "as" in sandbox_limits(False) and "data" not in sandbox_limits(False)
    assert "data" in sandbox_limits(True) and "as" not in sandbox_limits(True)


@pytest.mark.parametrize("gpu", [False, True], ids=["cpu", "gpu"])
def test_the_memory_limit_stops_a_bomb_and_lets_the_gpu_reserve_its_address_space(gpu):
    """What the CUDA driver does when it starts: reserve a large address range it does not touch
    (PROT_NONE). Under the GPU kernel's RLIMIT_DATA that succeeds, and a host-memory bomb still
    fails; under the CPU kernel's RLIMIT_AS the reservation fails too."""
    probe = ("import ctypes, json, mmap, sys\n"
             "from rnnviz.grading.kernel import apply_limits\n"
             "apply_limits(json.loads(sys.argv[1]))\n"
             "libc = ctypes.CDLL(None, use_errno=True)\n"
             "libc.mmap.restype = ctypes.c_void_p\n"
             "libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]\n"
             "MAP_NORESERVE = 0x4000\n"                 # and PROT_NONE is 0
             "p = libc.mmap(None, 64 << 30, 0, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)\n"
             "print('reserved', p not in (None, ctypes.c_void_p(-1).value))\n"
             "import numpy\n"
             "try:\n"
             "    a = numpy.ones(2 << 27)\n"             # 2 GiB of float64
             "    print('bomb ran')\n"
             "except MemoryError:\n"
             "    print('bomb stopped')\n")
    out = subprocess.run([sys.executable, "-c", probe, json.dumps(sandbox_limits(gpu))],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "bomb stopped" in out.stdout, out.stdout
    assert ("reserved True" if gpu else "reserved False") in out.stdout, out.stdout


def test_a_gpu_kernel_finds_the_driver_where_the_grader_did(monkeypatch):
    monkeypatch.setenv("LD_LIBRARY_PATH", os.pathsep.join(["/usr/local/nvidia/lib64", "/home/grader/lib", ""]))
    sandboxed = kernel_environment("/tmp/run", "/opt/rnnviz/2", gpu_memory=1 << 30, sandboxed=True)
    assert sandboxed["LD_LIBRARY_PATH"] == "/usr/local/nvidia/lib64"     # what the sandbox shows
    assert sandboxed["CUPY_GPU_MEMORY_LIMIT"] == str(1 << 30) and sandboxed["CUPY_ACCELERATORS"] == ""
    plain = kernel_environment("/tmp/run", "/opt/rnnviz/2", gpu_memory=1 << 30)
    assert plain["LD_LIBRARY_PATH"] == os.pathsep.join(["/usr/local/nvidia/lib64", "/home/grader/lib"])
    cpu = kernel_environment("/tmp/run", "/opt/rnnviz/2")
    assert not {"LD_LIBRARY_PATH", "CUPY_GPU_MEMORY_LIMIT", "CUPY_ACCELERATORS"} & set(cpu)


def test_a_kernel_is_given_the_gpu_only_where_the_gpu_check_runs_on_one(monkeypatch):
    from rnnviz import backend
    from rnnviz.grading import sandbox

    for value in ("auto", "1"):      # "1" without a GPU: the grading itself reports it, not this
        monkeypatch.setenv("RNNVIZ_GRADING_GPU", value)
        assert sandbox.gpu_mode() is backend.gpu_available()
    monkeypatch.setenv("RNNVIZ_GRADING_GPU", "0")
    assert sandbox.gpu_mode() is False


def test_a_budgeted_gpu_case_runs_without_cub_and_puts_it_back(monkeypatch):
    """protocol.cupy_without_cub on a CuPy of the accelerator API's shape (CuPy's own needs a
    GPU: tests/test_gpu.py): off inside, the learner's setting back afterwards, even after an
    error; and nothing at all where CuPy or the API is missing."""
    import types

    state = {"reduction": [1], "routine": [1, 2]}
    names = {"cub": 1, "cutensor": 2, "cutensornet": 3}
    acc = types.ModuleType("cupy._core._accelerator")
    acc.get_reduction_accelerators = lambda: list(state["reduction"])
    acc.get_routine_accelerators = lambda: list(state["routine"])
    acc.set_reduction_accelerators = lambda names_: state.update(reduction=[names[n] for n in names_])
    acc.set_routine_accelerators = lambda names_: state.update(routine=[names[n] for n in names_])
    core = types.ModuleType("cupy._core")
    core._accelerator = acc
    monkeypatch.setitem(sys.modules, "cupy._core", core)
    monkeypatch.setitem(sys.modules, "cupy._core._accelerator", acc)
    with pytest.raises(RuntimeError):
        with p.cupy_without_cub():
            assert state == {"reduction": [], "routine": []}
            raise RuntimeError("the learner's code failed")
    assert state == {"reduction": [1], "routine": [1, 2]}
    monkeypatch.setitem(sys.modules, "cupy._core._accelerator", None)     # no such API: no change
    monkeypatch.delattr(core, "_accelerator")
    with p.cupy_without_cub():
        pass
    assert state == {"reduction": [1], "routine": [1, 2]}
