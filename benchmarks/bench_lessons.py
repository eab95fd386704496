"""Compute time of every lesson, for one checkout or several side by side (before/after a change).

    python benchmarks/bench_lessons.py [--repos /tmp/before .] [--lessons 03,04] [--repeat 1]

Each lesson (course/NN_*.ipynb) runs top to bottom in a fresh kernel (nbclient) with the
checkout's rnnviz first on the kernel's path; the checkouts take turns lesson by lesson, so a
change in the machine's load touches them alike. Printed: seconds per lesson and checkout (the
best of ``--repeat`` runs), and the ratio of the last checkout to the first.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]


def run_lesson(repo, name, timeout=600):
    """Seconds to execute lesson ``name`` of checkout ``repo`` in a fresh kernel."""
    path = Path(repo) / "course" / name
    nb = nbformat.read(path, as_version=4)
    old = os.environ.get("PYTHONPATH")
    home = tempfile.mkdtemp(prefix="rnnviz-lesson-")
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "IPYTHONDIR", "MPLCONFIGDIR", "RNNVIZ_OFFLINE")}
    os.environ.update(PYTHONPATH=str(Path(repo).resolve()) + (os.pathsep + old if old else ""),
                      IPYTHONDIR=os.path.join(home, "ipython"), MPLCONFIGDIR=os.path.join(home, "mpl"),
                      RNNVIZ_OFFLINE="1")
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        start = time.perf_counter()
        client.execute()
        return time.perf_counter() - start
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repos", nargs="+", default=[str(REPO)])
    ap.add_argument("--lessons", default="", help="comma-separated numbers (default: all)")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args(argv)
    names = sorted(p.name for p in (REPO / "course").glob("[0-9][0-9]_*.ipynb"))
    if args.lessons:
        wanted = set(args.lessons.split(","))
        names = [n for n in names if n[:2] in wanted]
    print(f"{'lesson':<40} " + " ".join(f"{Path(r).resolve().name[:12]:>12}" for r in args.repos)
          + ("  last/first" if len(args.repos) > 1 else ""), flush=True)
    totals = [0.0] * len(args.repos)
    for name in names:
        best = [float("inf")] * len(args.repos)
        for _ in range(args.repeat):
            for i, repo in enumerate(args.repos):
                best[i] = min(best[i], run_lesson(repo, name))
        for i, b in enumerate(best):
            totals[i] += b
        ratio = f"  {best[-1] / best[0]:10.2f}" if len(best) > 1 else ""
        print(f"{name:<40} " + " ".join(f"{b:>12.1f}" for b in best) + ratio, flush=True)
    ratio = f"  {totals[-1] / totals[0]:10.2f}" if len(totals) > 1 else ""
    print(f"{'total':<40} " + " ".join(f"{t:>12.1f}" for t in totals) + ratio, flush=True)


if __name__ == "__main__":
    sys.exit(main())
