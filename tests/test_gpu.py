"""The same model, the same assignments and the same grading on a real GPU (CuPy) as on the CPU.

Runs only where CuPy sees a CUDA device; elsewhere each test is skipped with that reason (CPU-only
CI cannot run them; the GPU check of the assignments runs there on the CuPy stand-in instead,
tests/test_assignments.py). On a GPU machine:

- the language model's gradients equal the CPU's, and mixing devices is refused;
- every assignment's solution passes its checks on CuPy arrays (``RNNVIZ_GRADING_GPU=1``: a real
  GPU or an error), and code that hard-codes NumPy fails the GPU run with its message;
- the grading command grades a class on the GPU, in the sandbox and without it: the kernels are
  given the GPU (``sandbox.gpu_mode``), the solution gets full marks, hard-coded NumPy loses the
  cell's points with the GPU run's message.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from rnnviz import backend

pytestmark = pytest.mark.skipif(not backend.gpu_available(), reason="no CUDA device visible to CuPy")

sys.path.insert(0, str(Path(__file__).parent))
REPO = Path(__file__).resolve().parents[1]


def test_lm_gradients_on_gpu_equal_cpu():
    import rnnviz.functions as F
    import rnnviz.links as L

    np.random.seed(0)
    cpu = L.RNNLM(40, 8, 8)
    gpu = cpu.copy(mode="copy").to_device("gpu")
    xs = np.random.randint(0, 40, (4, 6)).astype(np.int32)
    for model, move in ((cpu, lambda a: a), (gpu, lambda a: backend.to_device(a, "gpu"))):
        model.reset_state()
        loss = 0
        for k in range(5):
            loss += F.softmax_cross_entropy(model(move(xs[:, k])), move(xs[:, k + 1]))
        model.cleargrads()
        loss.backward()
    for (name, p), (_, q) in zip(cpu.namedparams(), gpu.namedparams()):
        assert backend.get_array_module(q.grad).__name__ == "cupy"
        np.testing.assert_allclose(backend.to_device(q.grad, "cpu"), p.grad, rtol=1e-4, atol=1e-6, err_msg=name)


def test_mixing_devices_is_a_type_error():
    import rnnviz.functions as F

    x = np.ones((2, 3), np.float32)
    W = backend.to_device(np.ones((4, 3), np.float32), "gpu")
    with pytest.raises(TypeError, match="(?i)linear"):
        F.linear(x, W)


def test_lm_trainer_on_the_gpu_follows_the_cpu():
    """``LMTrainer(..., device="gpu")`` (lesson 06 on a GPU, as lesson 07 says): the same updates
    from the same weights, to float32 rounding (the batched engine on CuPy, add.at's atomics)."""
    import rnnviz.links as L
    from rnnviz.training import LMTrainer

    words = np.tile(np.random.default_rng(0).integers(0, 30, 25), 28).astype(np.int32)   # learnable

    def perplexity(device):
        np.random.seed(0)
        trainer = LMTrainer(L.Classifier(L.RNNLM(30, 16, 16)), words[:600], valid=words[600:],
                            batch_size=4, bprop_len=5, device=device)
        before = trainer.evaluate()
        trainer.run(updates=10, progress=False)
        params = {n: backend.to_device(p.array, "cpu") for n, p in trainer.model.namedparams()}
        return before, trainer.evaluate(), params

    cpu, gpu = perplexity("cpu"), perplexity("gpu")
    np.testing.assert_allclose(gpu[:2], cpu[:2], rtol=1e-3)
    assert gpu[1] < gpu[0]                    # it learned something
    for name in cpu[2]:
        np.testing.assert_allclose(gpu[2][name], cpu[2][name], rtol=1e-3, atol=1e-5, err_msg=name)


# -- the assignments' checks on CuPy arrays --------------------------------------------------------

@pytest.mark.parametrize("name", ["autograd_functions", "backward_engine", "rnn_by_hand", "lstm",
                                  "truncated_bptt", "gru", "masked_loss"])
def test_every_solution_passes_on_the_gpu(monkeypatch, capsys, name):
    from test_assignments import run_cells, source_path

    monkeypatch.setenv("RNNVIZ_GRADING_GPU", "1")        # a real GPU, or an error
    assert run_cells(nbformat.read(source_path(name), as_version=4), stop_at_first_failure=False) == {}
    assert "GPU part skipped" not in capsys.readouterr().out


def test_hard_coded_numpy_fails_on_the_gpu(monkeypatch):
    from test_assignments import HARD_CODED, run_cells, with_changes

    monkeypatch.setenv("RNNVIZ_GRADING_GPU", "1")
    for name, changes in HARD_CODED:
        failed = run_cells(with_changes(name, changes))
        assert failed, f"{name}: hard-coded NumPy must fail on the GPU"
        message = next(iter(failed.values()))
        assert "[GPU run, CuPy arrays]" in message and "hard-codes NumPy" in message, (name, message)


# -- a class graded on the GPU ---------------------------------------------------------------------

NAME = "rnn_by_hand"
BUDGETED = "truncated_bptt"         # trains within a CPU budget: CuPy's warm-up is not charged
HARD_CODED_TIME_RNN = ("hs = xp.empty((N, T, H), dtype=xs.dtype)", "hs = np.empty((N, T, H))")


@pytest.mark.parametrize("sandbox", [True, False], ids=["sandbox", "no sandbox"])
def test_a_class_is_graded_on_the_gpu(tmp_path, sandbox):
    from test_assignments import cell_by_id, nbg, nbgrader, put, source_path

    from rnnviz.grading import gradebook
    from rnnviz.grading.sandbox import bwrap_path, gpu_mode

    if sandbox and bwrap_path() is None:
        pytest.skip("needs bubblewrap")
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", course)
    for name in (NAME, BUDGETED):
        shutil.copytree(REPO / "solutions" / name, course / "solutions" / name)
        rc, log, _ = nbgrader(course, "generate_assignment", name, "--force")
        assert rc == 0, log
        put(course, "right", name, nbformat.read(source_path(name), as_version=4))
    wrong = nbformat.read(source_path(NAME), as_version=4)
    cell = cell_by_id(wrong, "time_rnn")
    assert HARD_CODED_TIME_RNN[0] in cell.source
    cell.source = cell.source.replace(*HARD_CODED_TIME_RNN)
    put(course, "numpy", NAME, wrong)

    env = dict(os.environ, RNNVIZ_GRADING_GPU="1")
    assert gpu_mode()

    def autograde(name):
        proc = subprocess.run([sys.executable, "-m", "rnnviz.grading", "autograde", name, "--course", str(course),
                               "--workers", "1", "--no-progress", *([] if sandbox else ["--no-sandbox"])],
                              capture_output=True, text=True, timeout=600, env=env, cwd=course)
        return proc.stdout + proc.stderr

    def outputs(student, name, grade_id):
        nb = nbformat.read(course / "autograded" / student / name / f"{name}.ipynb", as_version=4)
        return "".join(o.get("text", "") + "".join(o.get("traceback", []))
                       for o in cell_by_id(nb, grade_id).outputs)

    def points(name):
        nb = nbformat.read(source_path(name), as_version=4)
        return {f"{name}/{nbg(c)['grade_id']}": nbg(c)["points"] for c in nb.cells if nbg(c).get("grade")}

    log = autograde(NAME)
    assert "1 graded with full marks, 1 with failed tests, 0 ungraded" in log, log
    scores = gradebook.scores(gradebook.sqlite_url(course / "gradebook.db"), NAME, "rnnviz")
    full = points(NAME)
    assert scores["right"] == full, scores
    cut = f"{NAME}/time_rnn_tests"
    assert scores["numpy"][cut] < full[cut], scores          # its GPU parts
    assert all(scores["numpy"][k] == v for k, v in full.items() if k != cut), scores
    assert "[GPU run, CuPy arrays]" in outputs("numpy", NAME, "time_rnn_tests")
    assert "hard-codes NumPy" in outputs("numpy", NAME, "time_rnn_tests")
    for key in full:
        assert "GPU part skipped" not in outputs("right", NAME, key.split("/")[1])

    # the budgeted training on the GPU: CuPy's first compilations are the kit's, not the learner's
    log = autograde(BUDGETED)
    assert "1 graded with full marks, 0 with failed tests, 0 ungraded" in log, log
    scores = gradebook.scores(gradebook.sqlite_url(course / "gradebook.db"), BUDGETED, "rnnviz")
    assert scores["right"] == points(BUDGETED), (scores, outputs("right", BUDGETED, "train_lm_tests"))
