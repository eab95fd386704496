"""What a GPU machine lets a grading kernel do: CuPy plainly, under each memory limit, and in the
kit's sandbox (as root, as a kernel's own user id, with all of /dev). Prints one line per try;
used by .ci/gpu-check.sh."""
import json
import os
import subprocess
import sys
import tempfile

from rnnviz.grading import sandbox

WORK = ("import cupy, time; t = time.perf_counter(); a = cupy.arange(12.0).reshape(3, 4); "
        "s = float((a @ a.T).sum()); print('ok', s, cupy.cuda.runtime.getDeviceCount(), "
        "f'{time.perf_counter() - t:.2f}s')")


def limited(limits):
    return f"from rnnviz.grading.kernel import apply_limits; apply_limits({json.dumps(limits)}); " + WORK


def run(label, cmd, **kw):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=180, **kw)
        print(f"[{label}] rc={r.returncode} {r.stdout.strip()[-300:]} {r.stderr.strip()[-800:]}", flush=True)
    except subprocess.TimeoutExpired:
        print(f"[{label}] timed out", flush=True)


print("gpu_mode:", sandbox.gpu_mode(), "devices:", sandbox.gpu_device_files(), "bwrap:", sandbox.bwrap_path())
print("LD_LIBRARY_PATH:", os.environ.get("LD_LIBRARY_PATH"))
run("plain", [sys.executable, "-c", WORK])
limits = sandbox.Limits()
run("rlimit as", [sys.executable, "-c", limited({"as": limits.memory})])
run("rlimit data", [sys.executable, "-c", limited({"data": limits.memory})])
if sandbox.bwrap_path():
    work, run_dir = tempfile.mkdtemp(), tempfile.mkdtemp()
    args = sandbox.bwrap_command(work, run_dir, [], limits, gpu=True)
    code = limited({k: v for k, v in limits.rlimits(gpu=True).items() if k != "nproc"})
    run("bwrap gpu", args + [sandbox.inside(sys.executable), "-c", code])
    # as the kernel runs when the grader is root: an unprivileged user id of its own
    work, run_dir = tempfile.mkdtemp(), tempfile.mkdtemp()
    leave = "import os; os.setgroups([]); os.setresgid(61999, 61999, 61999); os.setresuid(61999, 61999, 61999); "
    run("bwrap gpu, uid 61999", sandbox.bwrap_command(work, run_dir, [], limits, gpu=True)
        + [sandbox.inside(sys.executable), "-c", leave + limited(limits.rlimits(gpu=True))])
    # the whole of /dev, in case a device file the kit does not bind is needed
    args = sandbox.bwrap_command(tempfile.mkdtemp(), tempfile.mkdtemp(), [], limits, gpu=True)
    i = args.index("--dev")
    run("bwrap gpu, all of /dev", args[:i] + ["--dev-bind", "/dev", "/dev"] + args[i + 2:]
        + [sandbox.inside(sys.executable), "-c", WORK])
    work, run_dir = tempfile.mkdtemp(), tempfile.mkdtemp()
    run("bwrap cpu (expect no GPU)", sandbox.bwrap_command(work, run_dir, [], limits)
        + [sandbox.inside(sys.executable), "-c", WORK])
