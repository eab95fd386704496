"""The student kernel's launcher: limits, an unprivileged user, then ipykernel.

Run by ``SandboxKernelManager`` (inside bubblewrap when available)::

    python -m rnnviz.grading.kernel --limits JSON [--uid N --own FILE ...] -- -f CONNECTION_FILE

Everything here happens before the student's first cell, so the student code cannot undo it:
``setrlimit`` hard limits cannot be raised again by an unprivileged process, and a process that
left root cannot return.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sys
import threading


def apply_limits(limits: dict[str, int]) -> None:
    """Set each ``RLIMIT_<NAME>`` (soft = hard); 0 or a missing name leaves it as it is,
    except ``core``, where 0 means no core files."""
    for name, value in limits.items():
        if value or name == "core":
            resource.setrlimit(getattr(resource, "RLIMIT_" + name.upper()), (value, value))


def leave_root(uid: int, own: list[str]) -> None:
    """Hand the files in ``own`` to ``uid`` and become that user (no groups, no capabilities)."""
    for path in own:
        os.chown(path, uid, uid)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise SystemExit(f"rnnviz.grading.kernel: could not become user {uid}")


def die_with_grader(fd: int) -> None:
    """Block on the grader's pipe; when it closes (the grader died), end this process at once."""
    try:
        while os.read(fd, 1):
            pass
    finally:
        os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rnnviz.grading.kernel")
    parser.add_argument("--limits", default="{}", help="JSON {name: value} of RLIMIT_<NAME>s")
    parser.add_argument("--uid", type=int, default=None, help="run as this user id (from root)")
    parser.add_argument("--own", action="append", default=[], help="file to hand to --uid")
    parser.add_argument("--lifeline", type=int, default=None,
                        help="pipe from the grader: end the kernel when it closes")
    parser.add_argument("kernel_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    kernel_args = args.kernel_args[1:] if args.kernel_args[:1] == ["--"] else args.kernel_args

    os.environ.pop("JPY_PARENT_PID", None)  # the grader is not visible from a new PID namespace
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")      # one thread per kernel: grading runs many at once
    if args.uid is not None and os.geteuid() == 0:
        leave_root(args.uid, args.own)
    apply_limits(json.loads(args.limits))
    if args.lifeline is not None:
        threading.Thread(target=die_with_grader, args=(args.lifeline,), daemon=True).start()

    from ipykernel import kernelapp
    sys.argv = [sys.argv[0], *kernel_args]
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
