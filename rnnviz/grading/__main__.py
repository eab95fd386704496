"""``python -m rnnviz.grading autograde NAME [--course DIR] [--workers N] [--scheduler ADDRESS]
[--no-sandbox]``: grade every submission of an assignment (see ``rnnviz.grading.autograde``).

Started with a JupyterHub token (or another secret, ``sandbox.secret_variables``) in its
environment, as from a terminal of the instructor's hub session, the command first starts itself
again without those variables: then not even this process's own ``/proc/PID/environ`` holds them."""
from __future__ import annotations

import argparse
import os
import sys


def restart_without_secrets() -> None:
    """Replace this process by the same command without the secret variables (their names are
    passed on in ``REMOVED_VAR``, so that the command can say it ran from a hub session)."""
    from .sandbox import REMOVED_VAR, secret_variables

    names = secret_variables(os.environ)
    if not names:
        return
    env = {k: v for k, v in os.environ.items() if k not in names}
    env[REMOVED_VAR] = ",".join(names)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "rnnviz.grading", *sys.argv[1:]], env)


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        restart_without_secrets()
    parser = argparse.ArgumentParser(
        prog="python -m rnnviz.grading",
        description="Grade a class with nbgrader: in parallel on Dask, each kernel in a sandbox.")
    sub = parser.add_subparsers(dest="command", required=True)
    ag = sub.add_parser("autograde", help="autograde every submission of an assignment",
                        description="Autograde every submission under COURSE/submitted/STUDENT/"
                                    "NAME/, write rnnviz-grades.csv and feedback, print a summary. "
                                    "Exit status 1 when a submission could not be graded.")
    ag.add_argument("name", metavar="NAME", help="the assignment")
    ag.add_argument("--course", default=".", help="the nbgrader course folder (default: .)")
    ag.add_argument("--workers", type=int, default=None,
                    help="grading processes (default: the number of cores; 1 grades in this "
                         "process, one submission after another)")
    ag.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="grade on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (the course "
                         "folder must be at the same path on its workers)")
    ag.add_argument("--no-sandbox", action="store_true",
                    help="run student code without bubblewrap (resource limits only)")
    ag.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers: expected a whole number >= 1, got {args.workers}")
    if not os.path.isdir(args.course):
        parser.error(f"--course: {args.course!r} is not a folder")
    from .autograde import autograde
    report = autograde(args.name, course=args.course, workers=args.workers,
                       scheduler=args.scheduler, sandbox=not args.no_sandbox,
                       progress=not args.no_progress)
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
