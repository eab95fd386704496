#!/usr/bin/env bash
# The checks that need a GPU, on a machine with an NVIDIA GPU and CuPy (CI has none): the CuPy
# tests (tests/test_gpu.py: the model, LMTrainer, every assignment's checks, a class graded in the
# sandbox and without it), what the sandbox lets a kernel do there (.ci/gpu_probe.py), and lesson
# 07's timing table with the statements its answer makes of one H200 machine, measured again.
# Usage: bash .ci/gpu-check.sh [OUTDIR]; PY=python to choose the interpreter.
# A machine without the kit's packages: put their wheels (and Debian's bubblewrap .deb) in .whl/.
set -uo pipefail
cd "$(dirname "$0")/.."
OUTDIR=${1:-${OUT:-/tmp/rnnviz-gpu-check}}
PY=${PY:-python3}
mkdir -p "$OUTDIR"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ -d .whl ]; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile .whl/*.whl 2>&1 | tail -3
    for deb in .whl/*.deb; do [ -e "$deb" ] && dpkg -x "$deb" /; done
fi
nvidia-smi -L
"$PY" -c "import cupy, numpy; print('cupy', cupy.__version__, 'numpy', numpy.__version__)"
echo "== the sandbox on this GPU"
ls -l /dev/nvidia* 2>&1 | head; timeout 150 "$PY" .ci/gpu_probe.py 2>&1 | tee "$OUTDIR/probe.log"
echo "== pytest"
CLASS=tests/test_gpu.py::test_a_class_is_graded_on_the_gpu     # first: the longest, the most at stake
timeout 200 "$PY" -m pytest -q -p no:cacheprovider --durations=5 -rs "$CLASS" 2>&1 | tee "$OUTDIR/pytest-class.log"
status=${PIPESTATUS[0]}
timeout 240 "$PY" -m pytest -q -p no:cacheprovider --durations=15 -rs --deselect "$CLASS" \
    tests/test_gpu.py tests/test_grading_protocol.py tests/test_chainer_api.py tests/test_links.py \
    tests/test_errors.py 2>&1 | tee "$OUTDIR/pytest.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "== lesson 07's cells"
timeout 100 "$PY" - <<'PYEOF' 2>&1 | tee "$OUTDIR/lesson07.log"
import time, nbformat, matplotlib
matplotlib.use("agg")
nb = nbformat.read("course/07_the_same_code_on_a_gpu.ipynb", as_version=4)
ns = {}
for cell in nb.cells:
    if cell.cell_type == "code":
        exec("\n".join(l for l in cell.source.splitlines() if not l.startswith("%")), ns)
t = ns["time_updates"]
for label, args in (("tutorial size", dict(n_units=650, n_vocab=10000, batch=20, bprop_len=35, updates=1)),):
    cpu, gpu = t("cpu", **args), t("gpu", **args)
    print(f"{label}: CPU {cpu * 1e3:.0f} ms/update, GPU {gpu * 1e3:.0f} ms/update, {cpu / gpu:.1f}x")
# what the lesson's answer says of one H200 machine, measured again here (a verdict, not a failure:
# another GPU may differ)
(_, c64, g64), (_, c256, g256) = ns["rows"]
said = {"the GPU takes about the same time at 64 and 256 units": abs(g256 / g64 - 1) < 0.25,
        "the CPU is faster at both sizes": c64 < g64 and c256 < g256,
        "by less at 256 units": g256 / c256 < g64 / c64,
        "the GPU is several times faster at the tutorial's size": cpu / gpu >= 2}
for what, holds in said.items():
    print(f"lesson 07 says {what}: {'holds here' if holds else 'DOES NOT hold here'}")
PYEOF
exit "$status"
