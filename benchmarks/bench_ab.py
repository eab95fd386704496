"""Training throughput of this working tree against an older commit, in one process.

    .venv/bin/python benchmarks/bench_ab.py COMMIT [--size tutorial|ptb] [--rounds 15] [--windows 10]

The older commit's ``rnnviz`` is extracted (``git archive``) into a temporary folder under another
package name, so both versions run in the same process on the same data, in interleaved rounds
(the order alternates). Time is the process's CPU time with one BLAS thread, so other work on a
shared machine barely moves the ratio. Each round trains ``windows`` truncated-BPTT windows of the
tutorial's LSTM language model (forward, backward, clipped SGD) with each version; the line to read
is the median over rounds of (this tree's words/s) / (the commit's words/s). Target for a change
that adds checks: >= 0.97.
"""
import argparse
import importlib
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")   # before NumPy loads: one thread, CPU time = this process's work

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"tutorial": dict(vocab=1000, embed=100, hidden=50, batch=20, bprop_len=30),
         "ptb": dict(vocab=10000, embed=650, hidden=650, batch=20, bprop_len=35)}


def extract(commit, folder):
    """``rnnviz`` of ``commit`` as the package ``rnnviz_old`` in ``folder``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "rnnviz"], check=True,
                             capture_output=True).stdout
    tar_path = Path(folder) / "old.tar"
    tar_path.write_bytes(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(folder, filter="data")
    shutil.move(Path(folder) / "rnnviz", Path(folder) / "rnnviz_old")
    for py in (Path(folder) / "rnnviz_old").rglob("*.py"):   # the few absolute self-imports
        text = py.read_text()
        if "from rnnviz." in text or "import rnnviz." in text:
            py.write_text(text.replace("from rnnviz.", "from rnnviz_old.").replace("import rnnviz.", "import rnnviz_old."))


def make_step(pkg, size):
    L = importlib.import_module(pkg + ".links")
    O = importlib.import_module(pkg + ".optimizers")
    np.random.seed(0)
    model = L.Classifier(L.RNNLM(size["vocab"], size["embed"], size["hidden"]))
    model.compute_accuracy = False
    opt = O.SGD(lr=1.0)
    opt.setup(model)
    opt.add_hook(O.GradientClipping(5.0))

    def step(xs, ts):
        loss = 0
        for k in range(xs.shape[1]):
            loss += model(xs[:, k], ts[:, k])
        model.cleargrads()
        loss.backward()
        loss.unchain_backward()
        opt.update()

    return step


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("commit")
    ap.add_argument("--size", choices=sorted(SIZES), default="tutorial")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--windows", type=int, default=10)
    args = ap.parse_args(argv)
    size = SIZES[args.size]
    with tempfile.TemporaryDirectory() as folder:
        extract(args.commit, folder)
        sys.path.insert(0, folder)
        sys.path.insert(0, str(ROOT))
        rng = np.random.default_rng(0)
        shape = (size["batch"], size["bprop_len"])
        data = [(rng.integers(0, size["vocab"], shape).astype(np.int32),
                 rng.integers(0, size["vocab"], shape).astype(np.int32)) for _ in range(args.windows)]
        steps = {"old": make_step("rnnviz_old", size), "new": make_step("rnnviz", size)}
        for step in steps.values():      # warm-up
            for xs, ts in data[:2]:
                step(xs, ts)
        words = args.windows * size["batch"] * size["bprop_len"]
        rates = {name: [] for name in steps}
        ratios = []
        for r in range(args.rounds):
            this = {}
            for name in (("old", "new") if r % 2 == 0 else ("new", "old")):
                t0 = time.process_time()
                for xs, ts in data:
                    steps[name](xs, ts)
                this[name] = words / (time.process_time() - t0)
                rates[name].append(this[name])
            ratios.append(this["new"] / this["old"])
    print(f"{args.size}: {args.commit} median {statistics.median(rates['old']):,.0f} words/s (CPU), "
          f"working tree {statistics.median(rates['new']):,.0f}")
    print(f"{args.size}: working tree / {args.commit}, median over {args.rounds} rounds: "
          f"{statistics.median(ratios):.3f} (range {min(ratios):.3f} to {max(ratios):.3f})")


if __name__ == "__main__":
    main()
