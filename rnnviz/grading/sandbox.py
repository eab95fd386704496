"""How each student kernel runs: inside bubblewrap, as a user of its own, under resource limits.

nbgrader starts one IPython kernel per notebook. Here that kernel is started by
``SandboxKernelManager``, a jupyter_client ``AsyncKernelManager`` whose command is wrapped in
bubblewrap (``bwrap``):

- a new root file system holding only the system (``/usr``, ``/etc``, read-only), the Python
  interpreter, the virtual environment and the ``rnnviz`` package (read-only), a small ``/tmp``;
- the notebook's folder as the kernel's working folder: a size-limited tmpfs holding read-only
  copies of the submission's other files (never its notebooks: the graded copy holds the hidden
  tests), the only writable place besides ``/tmp`` and the kernel's socket folder;
- no network (an empty network namespace; the kernel talks to the grader over ZMQ ``ipc``
  sockets in a folder both sides see), its own PID namespace (everything it forked dies with it);
- resource limits set by ``rnnviz.grading.kernel`` before the first cell: address space,
  processes, file size, CPU time; as root, the kernel then runs as an unprivileged user id of its
  own, so that a process limit binds per kernel and not per grader;
- a fixed, minimal environment (``kernel_environment``): nothing of the grader's, with or without
  bubblewrap; and the grading command itself drops a hub session's token and other secrets from
  its own environment before it starts anything (``secret_variables``), so that no worker or
  helper process holds them either;
- no new user namespaces (a seccomp filter: ``unshare``/``clone`` with CLONE_NEWUSER fail), and
  no memory the address-space limit does not see: the filter refuses System V shared memory and
  memfds, ``/dev`` is read-only and ``/dev/shm`` a size-limited tmpfs (a kernel given the GPU
  keeps memfds, which the CUDA driver needs, and bwrap's ``/dev``);
- bubblewrap reads its arguments from a file descriptor, so the sandbox's process list shows
  ``bwrap --args N`` and no path.

Without bubblewrap the kernel still gets the resource limits, and ``containment_warning`` says
what is not contained. Wall time per cell is nbgrader's own per-cell timeout.

When the grading's GPU check runs on a real GPU (``checks.gpu_status``), each kernel is given the
GPU (``gpu_mode``): the GPU's device files in the sandbox's ``/dev``, the library path of the
CUDA driver, a GPU memory limit for CuPy's pool, and the memory limit as data memory rather than
address space (``Limits.rlimits``), since the CUDA driver reserves far more address space than it
uses. (Seen on an H200 machine: so, without ``/sys``, CuPy starts, multiplies and compiles in the
sandbox; under the 3 GiB address-space limit CUDA fails to start with "out of memory".)
"""
from __future__ import annotations

import fcntl
import glob
import importlib.util
import json
import os
import platform
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import zmq
from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Int

MiB = 1 << 20

#: Unprivileged user ids handed to kernels when the grader runs as root, one per running kernel.
UID_BASE, UID_COUNT = 61000, 4000
UID_LOCK_DIR = Path(tempfile.gettempdir()) / "rnnviz-sandbox-uids"


@dataclass(frozen=True)
class Limits:
    """Resource limits of one kernel (setrlimit; 0 means "no limit")."""

    memory: int = 3072 * MiB      # RLIMIT_AS: address space of each process (RLIMIT_DATA with the GPU)
    processes: int = 64           # RLIMIT_NPROC: processes and threads of the kernel's user
    file_size: int = 64 * MiB     # RLIMIT_FSIZE: largest file it can write
    cpu_seconds: int = 600        # RLIMIT_CPU: CPU time of each process
    open_files: int = 256         # RLIMIT_NOFILE
    folder_size: int = 64 * MiB   # size of the writable working folder (tmpfs)
    tmp_size: int = 64 * MiB      # size of /tmp (tmpfs)

    def rlimits(self, gpu: bool = False) -> dict[str, int]:
        """The ``RLIMIT_<NAME>`` values. ``memory`` bounds the address space, or with ``gpu`` the
        data memory (RLIMIT_DATA: private writable mappings, what a host-memory bomb takes): the
        CUDA driver reserves tens of GiB of address space it never touches, and RLIMIT_AS would
        keep it from starting."""
        memory = {"data": self.memory} if gpu else {"as": self.memory}
        return {**memory, "nproc": self.processes, "fsize": self.file_size,
                "cpu": self.cpu_seconds, "nofile": self.open_files, "core": 0}


@lru_cache(maxsize=1)
def bwrap_path() -> str | None:
    """The bubblewrap executable, if it is installed and can create namespaces here."""
    exe = shutil.which("bwrap")
    if exe is None:
        return None
    probe = [exe, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-net",
             "--unshare-pid", "--die-with-parent", "--", "true"]
    try:
        ok = subprocess.run(probe, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return exe if ok else None


#: Added to the warning of a run without bubblewrap started from a JupyterHub session.
HUB_NOTE = (" This command was started from a JupyterHub session: its token was removed from the "
            "grader's own processes, but the processes that started it (the single-user server, "
            "the terminal) still hold it, and student code running as the same user can read it "
            "from /proc and act as that user on the hub. Grade from a shell outside the hub, or "
            "with bubblewrap.")


def containment_warning(hub_session: bool = False) -> str:
    """What is not contained when kernels run without bubblewrap (empty when it is available).
    ``hub_session``: the command was started with a JupyterHub token in its environment."""
    if bwrap_path() is not None:
        return ""
    who = "root" if os.geteuid() == 0 else "the grader's user"
    hub = HUB_NOTE if hub_session else ""
    return ("WARNING: bubblewrap (bwrap) is not available: student code runs with resource limits "
            "only (memory, processes, file size, CPU time, wall time per cell). NOT contained: "
            f"network access, the file system (it can read solutions/, the gradebook and other "
            f"submissions, and write wherever {who} can), and it runs as {who}. "
            "Install Debian's `bubblewrap` package to contain it." + hub)


#: Names of variables the grading command drops from its own environment before it starts anything:
#: a JupyterHub session's (``JUPYTERHUB_API_TOKEN``, ``JPY_API_TOKEN``, ``JUPYTERHUB_*``) and
#: anything named like a secret. A kernel never sees the grader's environment anyway
#: (``kernel_environment``); this keeps them out of the workers and nbgrader's helpers too.
SECRET_NAME = re.compile(r"^(JUPYTERHUB_|JPY_)|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|(^|_)KEY($|_)",
                         re.IGNORECASE)
#: Set by ``python -m rnnviz.grading`` when it restarted itself without such variables (their names).
REMOVED_VAR = "RNNVIZ_GRADING_REMOVED"


def secret_variables(env) -> list[str]:
    """The names in ``env`` that ``SECRET_NAME`` matches, sorted."""
    return sorted(name for name in env if SECRET_NAME.search(name))


def _within(path: str, tree: str) -> bool:
    """Whether ``path`` is ``tree`` or lies inside it (both absolute, normalised)."""
    return path == tree or path.startswith(tree + os.sep)


def gpu_mode() -> bool:
    """Whether kernels get the GPU: the grading's GPU check runs on a real one (CuPy sees a
    device and ``RNNVIZ_GRADING_GPU`` does not turn it off). A demanded GPU that is missing is
    reported by the grading itself, not here."""
    from .checks import gpu_status

    try:
        return gpu_status()[0]
    except RuntimeError:
        return False


def gpu_device_files() -> list[str]:
    """The GPU's device files the kernel needs: ``/dev/nvidia*`` (the cards, ``nvidiactl``,
    ``nvidia-uvm``, the ``nvidia-caps`` folder)."""
    return sorted(glob.glob("/dev/nvidia*"))


#: Folders a kernel sees in the sandbox (besides the Python trees): a library path entry of the
#: grader's (where the CUDA driver may be) is passed on to a GPU kernel only if it lies in them.
SYSTEM_TREES = ("/usr", "/etc", "/lib", "/lib64", "/lib32")


def kernel_environment(runtime: str, pythonpath: str, gpu_memory: int | None = None,
                       sandboxed: bool = False) -> dict[str, str]:
    """The whole environment of a student kernel: fixed values, nothing of the grader's.

    ``gpu_memory`` (bytes, 0 for no limit; a kernel given the GPU): CuPy's memory pool is limited
    to it (``CUPY_GPU_MEMORY_LIMIT``), CuPy runs without CUB (``CUPY_ACCELERATORS``), and the
    grader's library path is passed on (``sandboxed``: the entries the sandbox shows), so that
    CuPy finds the CUDA driver where the grader did."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp",
           "TMPDIR": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib", "IPYTHONDIR": "/tmp/ipython",
           "JUPYTER_RUNTIME_DIR": runtime, "MPLBACKEND": "agg",
           # one BLAS thread per kernel: grading runs many at once
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": pythonpath}
    if "CUDA_VISIBLE_DEVICES" in os.environ:     # which GPU the grader was given
        env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
    if gpu_memory is not None:
        env["CUPY_GPU_MEMORY_LIMIT"] = str(gpu_memory)
        # CuPy's own reductions, not CUB's: CUB's are compiled again for every size, seconds of
        # CPU time each on a kernel's cold cache (see protocol.cupy_without_cub)
        env["CUPY_ACCELERATORS"] = ""
        path = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if d]
        if sandboxed:
            seen = SYSTEM_TREES + tuple(python_trees())
            path = [d for d in path if any(_within(os.path.realpath(d), t) for t in seen)]
        if path:
            env["LD_LIBRARY_PATH"] = os.pathsep.join(path)
    return env


# -- a seccomp filter: no new user namespaces (and no shared memory) inside the sandbox -------------
#: (AUDIT_ARCH value, {syscall: number}) of the architectures the filter knows.
_ARCHES = {"x86_64": (0xC000003E, {"unshare": 272, "clone": 56, "clone3": 435,
                                   "shmget": 29, "memfd_create": 319}),
           "aarch64": (0xC00000B7, {"unshare": 97, "clone": 220, "clone3": 435,
                                    "shmget": 194, "memfd_create": 279})}
_CLONE_NEWUSER = 0x10000000


def sandbox_filter(shared_memory: bool = False) -> bytes | None:
    """A classic-BPF seccomp program (bwrap ``--seccomp``) that makes ``unshare`` and ``clone`` with
    CLONE_NEWUSER fail with EPERM, ``clone3`` (whose flags a filter cannot read) with ENOSYS (libc
    falls back to ``clone``), and every syscall of another ABI (x32, i386) with ENOSYS. Unless
    ``shared_memory``, ``shmget`` and ``memfd_create`` fail with EPERM too: memory in a System V
    segment or a memfd is not in any process's address space, so it would escape the memory limit
    (seen: 6 GiB kept in segments under a 3 GiB limit). A kernel given the GPU keeps them: the CUDA
    driver creates a memfd when it starts. Everything else is allowed. None on an architecture it
    does not know."""
    arch = _ARCHES.get(platform.machine())
    if arch is None:
        return None
    audit_arch, nr = arch
    allow, eperm, enosys = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    refused = [] if shared_memory else [nr["shmget"], nr["memfd_create"]]
    # (code, where to jump if true, if false, k): a label or 0 (the next instruction)
    program = [
        (ld, 0, 0, 4),                             # A = arch
        (jeq, 0, "enosys", audit_arch),            # another ABI
        (ld, 0, 0, 0),                             # A = syscall number
        (jge, "enosys", 0, 0x40000000),            # x32
        (jeq, "enosys", 0, nr["clone3"]),
        (jeq, "flags", 0, nr["unshare"]),
        (jeq, "flags", 0, nr["clone"]),
        *[(jeq, "eperm", 0, n) for n in refused],
        (ret, 0, 0, allow),
        ("flags", ld, 0, 0, 16),                   # A = low word of the first argument (flags)
        (jset, "eperm", 0, _CLONE_NEWUSER),
        (ret, 0, 0, allow),
        ("eperm", ret, 0, 0, eperm),
        ("enosys", ret, 0, 0, enosys),
    ]
    labels = {ins[0]: i for i, ins in enumerate(program) if isinstance(ins[0], str)}
    code = []
    for i, ins in enumerate(program):
        op, jt, jf, k = ins[1:] if isinstance(ins[0], str) else ins
        jt, jf = (labels[j] - i - 1 if isinstance(j, str) else j for j in (jt, jf))
        code.append(struct.pack("=HBBI", op, jt, jf, k))
    return b"".join(code)


def python_trees() -> list[str]:
    """Folders the kernel needs read-only: the interpreter, the venv, the rnnviz package."""
    trees = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}
    real_exe = os.path.realpath(sys.executable)
    if not any(real_exe.startswith(t + os.sep) for t in trees):
        trees.add(os.path.dirname(real_exe))
    spec = importlib.util.find_spec("rnnviz")
    for loc in spec.submodule_search_locations or []:
        trees.add(os.path.realpath(loc))
    # A folder inside another one is bound with it.
    return sorted(t for t in trees if not any(t != o and t.startswith(o + os.sep) for o in trees))


def package_path() -> str:
    """The folder holding the ``rnnviz`` package the grader itself imported: the kernel imports
    the same one (PYTHONPATH), whichever way it was installed (editable, site-packages, a clone)."""
    spec = importlib.util.find_spec("rnnviz")
    return os.path.dirname(os.path.realpath(list(spec.submodule_search_locations)[0]))


#: Where the interpreter's folders appear inside the sandbox: no path of the grader's machine
#: (the course's folder, where a venv often lives) shows in the sandbox's command lines.
MOUNT_ROOT = "/opt/rnnviz"


def inside(path: str) -> str:
    """Where ``path`` (in one of ``python_trees()``) is seen inside the sandbox: the base
    interpreter's folders where they are (a venv's ``python`` links to them by absolute path), the
    venv and the package as ``MOUNT_ROOT/<k>/<name>``."""
    real = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
    base = (os.path.realpath(sys.base_prefix), os.path.dirname(os.path.realpath(sys.executable)))
    for k, tree in enumerate(python_trees()):
        if _within(real, tree):
            if any(_within(b, tree) for b in base):
                return real
            return os.path.join(MOUNT_ROOT, str(k), os.path.basename(tree)) + real[len(tree):]
    return path


def _symlinked_dirs() -> list[str]:
    return [d for d in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32") if os.path.lexists(d)]


def bwrap_command(workdir: str, runtime: str, inputs: list[str], limits: Limits,
                  gpu: bool = False) -> list[str]:
    """bwrap's arguments that run a command with ``workdir`` as its working folder.

    ``workdir`` becomes a size-limited tmpfs with the files ``inputs`` bound read-only into it;
    ``runtime`` (the connection file and the ipc sockets) is bound read-write. With ``gpu``, the
    GPU's device files are bound into the sandbox's ``/dev``.
    """
    exe = bwrap_path()
    args = [exe, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session",
            "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for d in _symlinked_dirs():
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        else:
            args += ["--ro-bind", d, d]
    args += ["--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(limits.tmp_size), "--tmpfs", "/tmp"]
    made: set[str] = {"/", "/usr", "/etc", "/tmp", "/proc", "/dev", *_symlinked_dirs()}
    if gpu:
        for device in gpu_device_files():
            args += ["--dev-bind", device, device]
    else:
        # /dev read-only, its shm a size-limited tmpfs: run as the grader's own user (no root),
        # bwrap's /dev and /dev/shm are the kernel's to write, without a size limit (seen: files
        # there escape the memory limit). A GPU kernel keeps /dev as it was seen to work.
        args += ["--perms", "1777", "--size", str(limits.tmp_size), "--tmpfs", "/dev/shm",
                 "--remount-ro", "/dev"]

    def parents(path: str) -> list[str]:
        out = []
        for p in reversed(Path(path).parents):
            p = str(p)
            if p not in made:
                made.add(p)
                out += ["--perms", "0755", "--dir", p]
        return out

    for tree in python_trees():
        args += parents(inside(tree)) + ["--ro-bind", tree, inside(tree)]
        made.add(inside(tree))
    args += parents(runtime) + ["--bind", runtime, runtime]
    made.add(runtime)
    args += parents(workdir) + ["--perms", "0777", "--size", str(limits.folder_size),
                                "--tmpfs", workdir]
    for f in inputs:
        args += ["--ro-bind", f, os.path.join(workdir, os.path.basename(f))]
    args += ["--chdir", workdir, "--clearenv"]
    # Only the package is bound from its folder, so naming that folder shows nothing else.
    pythonpath = os.path.dirname(inside(os.path.join(package_path(), "rnnviz")))
    for name, value in kernel_environment(runtime, pythonpath, limits.memory if gpu else None,
                                          sandboxed=True).items():
        args += ["--setenv", name, value]
    return args + ["--"]


def _user_tasks() -> int:
    """Processes and threads of this user id now (what RLIMIT_NPROC counts)."""
    uid, total = str(os.getuid()), 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if fields.get("Uid", "").split()[:1] == [uid]:
            total += int(fields.get("Threads", "1"))
    return total


class UidLease:
    """An unprivileged user id that no other running kernel on this machine uses (flock)."""

    def __init__(self):
        UID_LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
        start = os.getpid() % UID_COUNT
        for k in range(UID_COUNT):
            uid = UID_BASE + (start + k) % UID_COUNT
            fd = os.open(UID_LOCK_DIR / f"{uid}.lock", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.uid, self._fd = uid, fd
            return
        raise RuntimeError("UidLease: all unprivileged user ids for kernels are in use")

    def release(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager that starts each kernel in bubblewrap with resource limits.

    Configured through traitlets (``c.SandboxKernelManager.sandbox = False`` for limits only).
    The kernel runs ``python -m rnnviz.grading.kernel``, which applies the limits, leaves root,
    then starts ipykernel.
    """

    sandbox = Bool(True, help="Run the kernel in bubblewrap when it is available.").tag(config=True)
    gpu = Bool(True, help="Give the kernel the GPU when the grading's GPU check runs on a real one "
                          "(see gpu_mode).").tag(config=True)
    memory = Int(Limits.memory, help="Memory limit of each kernel process, bytes: its address "
                                     "space; with the GPU, its data memory and CuPy's GPU memory "
                                     "pool.").tag(config=True)
    processes = Int(Limits.processes, help="Process/thread limit of the kernel's user.").tag(config=True)
    file_size = Int(Limits.file_size, help="Largest file a kernel may write, bytes.").tag(config=True)
    cpu_seconds = Int(Limits.cpu_seconds, help="CPU time limit of each kernel process, s.").tag(config=True)
    folder_size = Int(Limits.folder_size, help="Size of the writable working folder, bytes.").tag(config=True)
    tmp_size = Int(Limits.tmp_size, help="Size of the kernel's /tmp, bytes.").tag(config=True)

    def limits(self) -> Limits:
        processes = self.processes
        if getattr(self, "_lease", None) is None and os.geteuid() != 0 and processes:
            # RLIMIT_NPROC counts every task of the user id: a kernel that shares the grader's
            # user gets its allowance on top of what that user already runs.
            processes += _user_tasks()
        return Limits(memory=self.memory, processes=processes, file_size=self.file_size,
                      cpu_seconds=self.cpu_seconds, folder_size=self.folder_size,
                      tmp_size=self.tmp_size)

    async def _async_pre_start_kernel(self, **kw):
        self._scratch = tempfile.mkdtemp(prefix="rnnviz-kernel-")
        self._runtime = os.path.join(self._scratch, "run")
        os.mkdir(self._runtime)
        self._lease = None
        self._bwrap = self.sandbox and bwrap_path() is not None
        self._gpu = self.gpu and gpu_mode()
        if self._bwrap:
            self.transport = "ipc"
            self.ip = os.path.join(self._runtime, "kernel")
        self.connection_file = os.path.join(self._runtime, "kernel.json")
        self._cwd = os.path.realpath(kw.get("cwd") or os.getcwd())
        # What the kernel prints to its own stdout/stderr (not the notebook's outputs) is dropped:
        # a submission could flood the grader's terminal through it.
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        # A lifeline: the kernel ends itself when this pipe closes, i.e. when the grading process
        # dies, even if it died before bwrap could arrange to die with it.
        self._lifeline, self._lifeline_w = os.pipe()
        kw["pass_fds"] = (*kw.get("pass_fds", ()), self._lifeline)
        kw["env"] = kernel_environment(self._runtime, package_path(),
                                       self.memory if self._gpu else None)
        self._arg_fds = []
        if self._bwrap:
            # bwrap reads its arguments and the seccomp program from files, written once the
            # command is known (format_kernel_cmd); the descriptors are opened now to pass them.
            for name in ("bwrap-args", "seccomp.bpf"):
                path = os.path.join(self._scratch, name)
                open(path, "wb").close()
                self._arg_fds.append(os.open(path, os.O_RDONLY))
            kw["pass_fds"] = (*kw["pass_fds"], *self._arg_fds)
        if os.geteuid() == 0 and self._bwrap:
            self._lease = UidLease()
            os.chmod(self._scratch, 0o755)
            os.chown(self._runtime, self._lease.uid, self._lease.uid)
        return await super()._async_pre_start_kernel(**kw)

    def format_kernel_cmd(self, extra_arguments=None):
        python = inside(sys.executable) if self._bwrap else sys.executable
        launcher = [python, "-m", "rnnviz.grading.kernel",
                    "--limits", json.dumps(self.limits().rlimits(gpu=self._gpu)),
                    "--lifeline", str(self._lifeline)]
        if self._lease is not None:
            launcher += ["--uid", str(self._lease.uid), "--own", self.connection_file]
        launcher += ["--", "-f", self.connection_file, *(extra_arguments or [])]
        if not self._bwrap:
            return launcher
        inputs = [str(p) for p in sorted(Path(self._cwd).iterdir())
                  if p.is_file() and not p.is_symlink() and p.suffix != ".ipynb"
                  and not p.name.startswith(".")]
        command = bwrap_command(self._cwd, self._runtime, inputs, self.limits(), gpu=self._gpu) + launcher
        args_fd, seccomp_fd = self._arg_fds
        bpf = sandbox_filter(shared_memory=self._gpu)
        with open(os.path.join(self._scratch, "seccomp.bpf"), "wb") as f:
            f.write(bpf or b"")
        extra = ["--seccomp", str(seccomp_fd)] if bpf else []
        with open(os.path.join(self._scratch, "bwrap-args"), "wb") as f:
            f.write(b"".join(a.encode() + b"\0" for a in command[1:-len(launcher) - 1] + extra))
        return [command[0], "--args", str(args_fd), "--", *launcher]

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        try:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            os.close(self._lifeline)     # the kernel holds the read end now
            for fd in getattr(self, "_arg_fds", []):
                os.close(fd)
            self._arg_fds = []

    def client(self, **kwargs):
        # The kernel binds its sockets a moment after the grader connects: retry every 10 ms
        # instead of ZMQ's 100 ms (a tenth of a second per notebook otherwise).
        kc = super().client(**kwargs)
        kc.context.setsockopt(zmq.RECONNECT_IVL, 10)
        return kc

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        # After a kill the process is gone in milliseconds: poll at 5 ms, not 100 ms.
        await super()._async_wait(pollinterval=0.005)

    async def _async_interrupt_kernel(self):
        # bwrap runs the kernel in a session of its own: a signal to the process group would only
        # reach bwrap. Ask the kernel itself (ipykernel interrupts its own process group).
        msg = self.session.msg("interrupt_request", content={})
        self._connect_control_socket()
        self.session.send(self._control_socket, msg)

    async def _async_cleanup_resources(self, restart: bool = False):
        await super()._async_cleanup_resources(restart=restart)
        if getattr(self, "_lifeline_w", None) is not None:
            os.close(self._lifeline_w)
            self._lifeline_w = None
        if getattr(self, "_lease", None) is not None:
            self._lease.release()
            self._lease = None
        if getattr(self, "_scratch", None):
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    _launch_kernel = _async_launch_kernel
    interrupt_kernel = _async_interrupt_kernel
    cleanup_resources = _async_cleanup_resources
