"""Run every benchmark in turn and print their tables (``make bench``).

Each script measures ratios against a reference run in the same process; nothing here is a
timed assertion. Expect a few minutes on a 2-core machine.
"""
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    ("autograd overhead (1,000-node graph vs plain NumPy)", ["bench_autograd_overhead.py"]),
    ("language-model training throughput (vs hand-written NumPy, PyTorch)", ["bench_lm_throughput.py"]),
    ("widget redraw and graph layout", ["bench_widgets.py"]),
    ("grading one student's five assignments (tests alone, then nbgrader)", ["bench_assignments.py"]),
    ("grading a class: 40 submissions on Dask vs nbgrader autograde", ["bench_grading.py"]),
]

status = 0
for title, argv in SCRIPTS:
    print(f"\n=== {title}: python benchmarks/{' '.join(argv)}", flush=True)
    status |= subprocess.call([sys.executable, str(HERE / argv[0]), *argv[1:]])
sys.exit(status)
