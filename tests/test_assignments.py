"""The graded assignments: their notebooks, the helpers their tests call, and grading them.

Three layers:

- the notebooks themselves (nbgrader metadata, no outputs, no widgets, no drift between
  ``solutions/`` and the ``assignments/`` that ``make assignments`` generates);
- plausible wrong implementations, each a one-line change to a solution, run in this process
  against the instructor's test cells (visible and hidden): each must fail at least one graded
  cell, i.e. lose points. The same code also runs the solutions on a CuPy stand-in (a GPU run
  without a GPU), where code that hard-codes NumPy must fail with a message saying so;
- one temporary nbgrader course per session, graded by nbgrader itself (its CLI, with the
  repository's ``nbgrader_config.py``): solutions score full marks, untouched notebooks 0, a wrong
  version loses points, tampered test cells come back, an infinite loop costs only its cell, an
  invalid notebook is left ungraded while the rest is graded, and feedback shows no hidden test.
"""
from __future__ import annotations

import contextlib
import copy
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NAMES = ["autograd_functions", "backward_engine", "rnn_by_hand", "lstm", "truncated_bptt", "gru", "masked_loss"]
HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS\n(.*?)^[ \t]*### END HIDDEN TESTS[ \t]*$", re.S | re.M)


def source_path(name):
    return REPO / "solutions" / name / f"{name}.ipynb"


def release_path(name):
    return REPO / "assignments" / name / f"{name}.ipynb"


def nbg(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def cell_by_id(nb, grade_id):
    return next(c for c in nb.cells if nbg(c).get("grade_id") == grade_id)


# -- the notebooks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_notebooks_are_valid_nbgrader_notebooks_without_outputs(name):
    from nbgrader.nbgraderformat import MetadataValidator

    for path in (source_path(name), release_path(name)):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        MetadataValidator().validate_nb(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path}: outputs committed"
    nb = nbformat.read(source_path(name), as_version=4)
    solutions = [c for c in nb.cells if nbg(c).get("solution")]
    tests = [c for c in nb.cells if nbg(c).get("grade")]
    assert solutions and all("### BEGIN SOLUTION" in c.source for c in solutions)
    assert len(tests) >= 2 and sum(nbg(c)["points"] for c in tests) >= 8
    assert sum(bool(HIDDEN.search(c.source)) for c in tests) >= 2, "hidden tests grade most parts"
    released = release_path(name).read_text()
    assert "BEGIN SOLUTION" not in released and "BEGIN HIDDEN TESTS" not in released


@pytest.mark.parametrize("name", NAMES)
def test_no_widgets_in_assignments(name):
    """Graded cells never hang on widgets: no assignment shows one (nbgrader issue #1359)."""
    text = "\n".join(c.source for c in nbformat.read(source_path(name), as_version=4).cells
                     if c.cell_type == "code")
    for word in ("ipywidgets", "rnnviz.widgets", "%matplotlib", "interact(", "display("):
        assert word not in text, f"{name} uses {word!r}"


def test_course_configuration():
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    assert cfg.CourseDirectory.source_directory == "solutions"
    assert cfg.CourseDirectory.release_directory == "assignments"
    assert cfg.OverwriteCells.add_missing_cells is True
    assert 0 < cfg.ExecutePreprocessor.timeout <= 300
    ignored = subprocess.run(["git", "check-ignore", "submitted/a", "autograded/a", "feedback/a",
                              "gradebook.db", "release/a"], cwd=REPO, capture_output=True, text=True)
    assert len(ignored.stdout.split()) == 5, ignored.stdout


# -- running a notebook's cells in this process ----------------------------------------------------

class CellFailed(Exception):
    pass


def run_cells(nb, stop_at_first_failure=True):
    """Execute the code cells in one namespace; return {grade_id: error text} of failing test
    cells (only the first when ``stop_at_first_failure``). An error outside a test cell raises."""
    ns = {"__name__": "__assignment__"}
    failed = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = nbg(cell)
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(cell.source, f"<{meta.get('grade_id', 'cell')}>", "exec"), ns)
        except Exception as e:  # noqa: BLE001 - a test cell's failure is the result
            if not meta.get("grade"):
                raise CellFailed(f"cell {meta.get('grade_id')} (not a test cell) raised "
                                 f"{type(e).__name__}: {e}") from e
            failed[meta["grade_id"]] = f"{type(e).__name__}: {e}"
            if stop_at_first_failure:
                break
    return failed


def with_changes(name, changes):
    """The instructor's notebook with ``changes`` = [(grade_id, old, new), ...] made to its cells."""
    nb = nbformat.read(source_path(name), as_version=4)
    for grade_id, old, new in changes:
        cell = cell_by_id(nb, grade_id)
        assert old in cell.source, f"{name}/{grade_id}: {old!r} not found (the solution changed?)"
        cell.source = cell.source.replace(old, new, 1)
    return nb


RECURSIVE_ENGINE = '''def backward(output, retain_grad=False):
    """Recursive depth-first topological order (as micrograd does): overflows on long chains."""
    xp = get_array_module(output.data)
    if output.grad is None:
        output.grad = xp.ones_like(output.data)
    order, seen = [], set()

    def visit(v):
        if v.creator is not None and id(v.creator) not in seen:
            seen.add(id(v.creator))
            for x in v.creator.inputs:
                visit(x)
            order.append(v.creator)

    visit(output)
    grads = {id(output): output.grad}
    for f in reversed(order):
        y = f.output()
        gy = grads.pop(id(y))
        if retain_grad and y is not output:
            y.grad = gy
        for x, gx in zip(f.inputs, f.backward(gy)):
            if x.creator is None:
                x.grad = gx if x.grad is None else x.grad + gx
            else:
                grads[id(x)] = gx if id(x) not in grads else grads[id(x)] + gx
'''

# (assignment, short name, [(grade_id, old, new), ...]): plausible one-line mistakes.
WRONG = [
    ("autograd_functions", "sigmoid sign error in forward", [("sigmoid", "self.xp.exp(-x)", "self.xp.exp(x)")]),
    ("autograd_functions", "sigmoid backward ignores gy", [("sigmoid", "return gy * y * (1 - y)", "return y * (1 - y)")]),
    ("autograd_functions", "sigmoid backward sign error", [("sigmoid", "return gy * y * (1 - y)", "return gy * y * (y - 1)")]),
    ("autograd_functions", "sum_to sums the trailing axes instead of the leading ones",
     [("sum_to", "tuple(range(lead))", "tuple(range(g.ndim - lead, g.ndim))")]),
    ("autograd_functions", "sum_to forgets the stretched axes",
     [("sum_to", "tuple(range(lead)) + tuple(", "tuple(range(lead)) + 0 * tuple(")]),
    ("autograd_functions", "Mul without sum_to (no reduction over broadcast axes)",
     [("mul", "return sum_to(gy * x1, x0.shape), sum_to(gy * x0, x1.shape)", "return gy * x1, gy * x0")]),
    ("autograd_functions", "Mul gradients swapped",
     [("mul", "sum_to(gy * x1, x0.shape), sum_to(gy * x0, x1.shape)", "sum_to(gy * x0, x0.shape), sum_to(gy * x1, x1.shape)")]),
    ("autograd_functions", "MatMul missing transpose in gx", [("matmul", "return gy @ W.T, x.T @ gy", "return gy @ W, x.T @ gy")]),
    ("autograd_functions", "MatMul gW with the factors swapped", [("matmul", "return gy @ W.T, x.T @ gy", "return gy @ W.T, gy.T @ x")]),
    ("autograd_functions", "SumAxis backward expands the wrong axis", [("sum_axis", "expand_dims(gy, self.axis)", "expand_dims(gy, 0)")]),
    ("autograd_functions", "SumAxis forward ignores keepdims",
     [("sum_axis", "x.sum(axis=self.axis, keepdims=self.keepdims)", "x.sum(axis=self.axis)")]),
    ("autograd_functions", "SumAxis backward always expands", [("sum_axis", "if not self.keepdims:", "if True:")]),
    ("backward_engine", "gradient assigned instead of accumulated (intermediate)",
     [("engine", "grads[id(x)] = gx if id(x) not in grads else grads[id(x)] + gx", "grads[id(x)] = gx")]),
    ("backward_engine", "leaf gradient assigned instead of accumulated",
     [("engine", "x.grad = gx if x.grad is None else x.grad + gx", "x.grad = gx")]),
    ("backward_engine", "no generation order (a stack)",
     [("engine", "(-f.generation, next(order), f)", "(0, -next(order), f)")]),
    ("backward_engine", "oldest generation first (sign error in the heap key)",
     [("engine", "(-f.generation, next(order), f)", "(f.generation, next(order), f)")]),
    ("backward_engine", "a function pushed once per use", [("engine", "if f not in queued:", "if True:")]),
    ("backward_engine", "retain_grad ignored", [("engine", "if retain_grad and y is not output:", "if False:")]),
    ("backward_engine", "intermediate gradients always kept", [("engine", "if retain_grad and y is not output:", "if y is not output:")]),
    ("backward_engine", "starts from zeros", [("engine", "output.grad = xp.ones_like(", "output.grad = xp.zeros_like(")]),
    ("backward_engine", "recursive topological sort", "recursive"),
    ("rnn_by_hand", "missing transpose in dx", [("rnn", "dx = dt @ Wx.T", "dx = dt @ Wx")]),
    ("rnn_by_hand", "dWh transposed", [("rnn", "h_prev.T @ dt", "dt.T @ h_prev")]),
    ("rnn_by_hand", "tanh derivative sign error", [("rnn", "(1 - h_next ** 2)", "(h_next ** 2 - 1)")]),
    ("rnn_by_hand", "db summed over the wrong axis", [("rnn", "dt.sum(axis=0)", "dt.sum(axis=1)")]),
    ("rnn_by_hand", "dh from the later step not added",
     [("time_rnn", "layer.backward(dhs[:, t, :] + dh)", "layer.backward(dhs[:, t, :])")]),
    ("rnn_by_hand", "weight gradients of the steps assigned, not summed",
     [("time_rnn", "grads[i] = grads[i] + g", "grads[i] = g")]),
    ("rnn_by_hand", "state never carried (stateful ignored)",
     [("time_rnn", "if not self.stateful or self.h is None:", "if True:")]),
    ("rnn_by_hand", "state always carried (stateful=False ignored)",
     [("time_rnn", "if not self.stateful or self.h is None:", "if self.h is None:")]),
    ("rnn_by_hand", "embedding rows assigned (dW[idx] = dout)", [("embedding", "xp.add.at(dW, self.idx, dout)", "dW[self.idx] = dout")]),
    ("rnn_by_hand", "embedding rows with += (repeated ids lost)", [("embedding", "xp.add.at(dW, self.idx, dout)", "dW[self.idx] += dout")]),
    ("rnn_by_hand", "embedding gradient not reset", [("embedding", "        dW[...] = 0\n", "")]),
    ("lstm", "gate order [f, i, ...] in forward",
     [("lstm", "i = sigmoid(A[:, :H])\n        f = sigmoid(A[:, H:2 * H])", "f = sigmoid(A[:, :H])\n        i = sigmoid(A[:, H:2 * H])")]),
    ("lstm", "gate order [f, i, ...] in backward",
     [("lstm", "[di * i * (1 - i), df * f * (1 - f),", "[df * f * (1 - f), di * i * (1 - i),")]),
    ("lstm", "sigmoid for g", [("lstm", "g = xp.tanh(A[:, 2 * H:3 * H])", "g = sigmoid(A[:, 2 * H:3 * H])")]),
    ("lstm", "path from h into c missing", [("lstm", "dc = dc_next + dh_next * o * (1 - tc ** 2)", "dc = dc_next")]),
    ("lstm", "dc_prev through the wrong gate", [("lstm", "dc_prev = dc * f", "dc_prev = dc * i")]),
    ("lstm", "do without tanh(c)", [("lstm", "do = dh_next * tc", "do = dh_next")]),
    ("lstm", "sigmoid derivative as tanh's for o", [("lstm", "do * o * (1 - o)", "do * (1 - o ** 2)")]),
    ("lstm", "dWh with the factors swapped", [("lstm", "h_prev.T @ dA", "dA.T @ h_prev")]),
    ("lstm", "db summed over the wrong axis", [("lstm", "dA.sum(axis=0)", "dA.sum(axis=1)")]),
    ("lstm", "dh_prev missing transpose", [("lstm", "dh_prev = dA @ Wh.T", "dh_prev = dA @ Wh")]),
    ("gru", "reset gate before the product (Chainer's form)",
     [("gru", "n = xp.tanh(xa[:, 2 * H:] + r * hn)", "n = xp.tanh(xa[:, 2 * H:] + (r * h_prev) @ Wh[:, 2 * H:] + bh[2 * H:])")]),
    ("gru", "z's roles swapped in forward", [("gru", "h_next = (1 - z) * n + z * h_prev", "h_next = z * n + (1 - z) * h_prev")]),
    ("gru", "gate order [z, r, n] in forward",
     [("gru", "r = sigmoid(xa[:, :H] + ha[:, :H])\n        z = sigmoid(xa[:, H:2 * H] + ha[:, H:2 * H])",
       "z = sigmoid(xa[:, :H] + ha[:, :H])\n        r = sigmoid(xa[:, H:2 * H] + ha[:, H:2 * H])")]),
    ("gru", "direct path z * h_prev missing from dh_prev", [("gru", "dh_prev = dha @ Wh.T + dh_next * z", "dh_prev = dha @ Wh.T")]),
    ("gru", "dha without r on the candidate block", [("gru", "[dar, daz, dan * r]", "[dar, daz, dan]")]),
    ("gru", "dz with the wrong sign", [("gru", "dh_next * (h_prev - n)", "dh_next * (n - h_prev)")]),
    ("gru", "dbh summed over the wrong axis", [("gru", "dha.sum(axis=0)", "dha.sum(axis=1)")]),
    ("masked_loss", "mean per live token", [("loss", "/ B\n    dx", "/ mask.sum()\n    dx"),
                                            ("loss", "* m[..., None] / B", "* m[..., None] / mask.sum()")]),
    ("masked_loss", "padded positions in the loss", [("loss", "* m).sum() / B", ").sum() / B")]),
    ("masked_loss", "padded positions in dx", [("loss", "* m[..., None] / B", "/ B")]),
    ("masked_loss", "no maximum subtracted", [("loss", "z = x - x.max(axis=2, keepdims=True)", "z = x")]),
    ("masked_loss", "each array clipped by its own norm",
     [("clip", "return [g * rate for g in grads], norm",
       "return [g * min(1.0, threshold / math.sqrt(float((g * g).sum()))) for g in grads], norm")]),
    ("masked_loss", "clipped below the threshold too", [("clip", "    if norm <= threshold:\n        return [g.copy() for g in grads], norm\n", "")]),
    ("masked_loss", "clipped in place", [("clip", "return [g * rate for g in grads], norm",
                                          "for g in grads:\n        g *= rate\n    return list(grads), norm")]),
    ("truncated_bptt", "history never unchained", [("train_window", "    loss.unchain_backward()\n", "")]),
    ("truncated_bptt", "gradients never cleared", [("train_window", "    model.cleargrads()\n", "")]),
    ("truncated_bptt", "loss of the last step only", [("train_window", "loss += model(x, t)", "loss = model(x, t)")]),
    ("truncated_bptt", "unchained before backward",
     [("train_window", "loss.backward()\n    loss.unchain_backward()", "loss.unchain_backward()\n    loss.backward()")]),
    ("truncated_bptt", "update before backward",
     [("train_window", "model.cleargrads()\n    loss.backward()", "optimizer.update()\n    model.cleargrads()\n    loss.backward()"),
      ("train_window", "    optimizer.update()\n    return", "    return")]),
    ("truncated_bptt", "returns the sum, not the mean", [("train_window", "float(loss.array) / bprop_len", "float(loss.array)")]),
    ("truncated_bptt", "one batch short per window", [("train_window", "range(bprop_len)", "range(bprop_len - 1)")]),
    ("truncated_bptt", "never updates the weights", [("train_window", "    optimizer.update()\n", "")]),
    ("truncated_bptt", "training stops after one window",
     [("train_lm", "while time.process_time() - start < budget_s - 0.05:", "for _ in range(1):")]),
]


def wrong_notebook(name, changes):
    if changes == "recursive":
        nb = nbformat.read(source_path(name), as_version=4)
        cell_by_id(nb, "engine").source = RECURSIVE_ENGINE
        return nb
    return with_changes(name, changes)


@pytest.mark.parametrize("name,what,changes", WRONG, ids=[f"{n}:{w}" for n, w, _ in WRONG])
def test_wrong_implementation_loses_points(name, what, changes):
    failed = run_cells(wrong_notebook(name, changes))
    assert failed, f"{name}: the wrong version ({what}) passes every test cell"


CHEAT = """# a learner's cell that turns every check it can name into a no-op
noop = lambda *args, **kwargs: None
for_each_device = check_array = check_function = noop
check_rnn_step = check_time_rnn = check_embedding = check_lstm = noop
check_windows = check_live_nodes = check_language_model = noop
checks = type("Checks", (), {"__getattr__": lambda self, name: noop})()
run_test = noop
"""


@pytest.mark.parametrize("name", NAMES)
def test_redefining_the_checks_in_a_cell_changes_nothing(name):
    """Test cells import what they call at their first line: a learner's cell placed before each
    test cell that rebinds the checks' names to no-ops does not make the untouched notebook pass."""
    nb = nbformat.read(release_path(name), as_version=4)
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "code" and not nbg(cell):
            continue  # a scratch cell that tries the (not yet written) code
        if nbg(cell).get("grade"):
            cells.append(nbformat.v4.new_code_cell(CHEAT))
        cells.append(cell)
    nb.cells = cells
    failed = run_cells(nb, stop_at_first_failure=False)
    assert set(failed) == {nbg(c)["grade_id"] for c in nb.cells if nbg(c).get("grade")}, failed


# -- the GPU part, on a CuPy stand-in ---------------------------------------------------------------

@pytest.fixture
def fake_gpu(monkeypatch):
    import cupy_standin

    monkeypatch.delenv("RNNVIZ_GRADING_GPU", raising=False)
    with cupy_standin.installed() as fake:
        yield fake


GPU_NAMES = ["autograd_functions", "backward_engine", "rnn_by_hand", "lstm", "gru", "masked_loss"]


@pytest.mark.parametrize("name", GPU_NAMES)
def test_solutions_pass_the_gpu_run(fake_gpu, name, capsys):
    nb = nbformat.read(source_path(name), as_version=4)
    assert run_cells(nb, stop_at_first_failure=False) == {}
    assert "GPU part skipped" not in capsys.readouterr().out


# code that hard-codes NumPy: right on the CPU, wrong on CuPy arrays (CuPy takes np.tanh, np.concatenate
# and the like through NumPy's dispatch; what fails is creating arrays with NumPy and mixing them in)
HARD_CODED = [
    ("autograd_functions", [("sum_axis", "return self.xp.broadcast_to(gy, self.x_shape).copy()",
                             "return gy * np.ones(self.x_shape, dtype=gy.dtype)")]),
    ("backward_engine", [("engine", "output.grad = xp.ones_like(output.data)", "output.grad = np.ones(output.data.shape)")]),
    ("rnn_by_hand", [("time_rnn", "hs = xp.empty((N, T, H), dtype=xs.dtype)", "hs = np.empty((N, T, H))")]),
    ("masked_loss", [("loss", "onehot = xp.arange(V) == t[..., None]", "onehot = np.eye(V, dtype=bool)[t.tolist()]")]),
]


@pytest.mark.parametrize("name,changes", HARD_CODED, ids=[n for n, _ in HARD_CODED])
def test_hard_coded_numpy_fails_the_gpu_run_with_a_message(fake_gpu, monkeypatch, name, changes):
    nb = with_changes(name, changes)
    monkeypatch.setenv("RNNVIZ_GRADING_GPU", "0")
    assert run_cells(nb, stop_at_first_failure=False) == {}, "the CPU run passes"
    monkeypatch.delenv("RNNVIZ_GRADING_GPU")
    failed = run_cells(nb)
    assert failed, "the GPU run must fail"
    message = next(iter(failed.values()))
    assert "[GPU run, CuPy arrays]" in message and "hard-codes NumPy" in message, message


@pytest.mark.parametrize("name,changes", HARD_CODED, ids=[n for n, _ in HARD_CODED])
def test_hard_coded_numpy_fails_on_every_machine(monkeypatch, name, changes):
    """Without a GPU the GPU check runs on the CuPy stand-in: the grade does not depend on the machine."""
    monkeypatch.delenv("RNNVIZ_GRADING_GPU", raising=False)
    failed = run_cells(with_changes(name, changes))
    assert failed, "hard-coded NumPy must fail without a GPU too"
    message = next(iter(failed.values()))
    assert ("[GPU check, on arrays that refuse NumPy" in message or "[GPU run, CuPy arrays]" in message), message
    assert "hard-codes NumPy" in message, message


# -- the helpers' messages ----------------------------------------------------------------------------

def test_messages_name_the_symptom_and_never_the_values():
    import numpy as np

    from rnnviz.grading import check_array

    want = np.arange(1.0, 13.0).reshape(3, 4) / 7
    cases = [(want.T, "transpose"), (-want, "sign"), (2 * want, "times 2"), (np.zeros_like(want), "all zeros"),
             (np.concatenate([want[:, 1:2], want[:, :1], want[:, 2:]], axis=1), "a holds what b should hold"),
             (np.stack([want, want]), "larger than the input"), (want.sum(axis=0), "fewer axes")]
    for got, symptom in cases:
        with pytest.raises(AssertionError) as info:
            check_array("dW", got, want, parts=(1, ["a", "b", "c", "d"]))
        text = str(info.value)
        assert text.startswith("dW is wrong") and symptom in text and "usual mistake:" in text, text
        for value in list(want.ravel()) + list(got.ravel()):
            assert f"{value:.3f}"[:-1] not in text.replace("relative error", ""), text
    check_array("dW", want + 1e-12, want)  # close enough passes


def test_gpu_switch(monkeypatch, capsys):
    from rnnviz.grading import for_each_device, gpu_status

    seen = []
    monkeypatch.setenv("RNNVIZ_GRADING_GPU", "auto")
    usable, reason = gpu_status()
    if usable:
        pytest.skip("this machine has a GPU: the skip line is not printed")
    for_each_device(lambda dev: seen.append(dev.name))
    assert seen == ["cpu"] and f"GPU part skipped: {reason}" in capsys.readouterr().out
    monkeypatch.setenv("RNNVIZ_GRADING_GPU", "1")
    with pytest.raises(RuntimeError, match="RNNVIZ_GRADING_GPU=1 asks for the GPU part"):
        for_each_device(lambda dev: None)
    monkeypatch.setenv("RNNVIZ_GRADING_GPU", "0")
    for_each_device(lambda dev: None)
    assert "GPU part skipped: RNNVIZ_GRADING_GPU=0 turns it off" in capsys.readouterr().out


# -- grading with nbgrader: one temporary course per session ---------------------------------------

def nbgrader(course, *args, timeout=600):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("RNNVIZ_GRADING_GPU", None)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - t0


def put(course, student, name, nb_or_text):
    path = course / "submitted" / student / name / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(nb_or_text, str):
        path.write_text(nb_or_text)
    else:
        nbformat.write(nb_or_text, path)


# one wrong version per assignment, graded end to end by nbgrader
WRONG_BY_NBGRADER = {"autograd_functions": 1, "backward_engine": 0, "rnn_by_hand": 4, "lstm": 0,
                     "truncated_bptt": 0, "gru": 3, "masked_loss": 2}


def wrong_for(name, index):
    return [changes for n, _, changes in WRONG if n == name][index]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A copy of the repository's course (config and solutions), generated, submitted, graded."""
    course = tmp_path_factory.mktemp("course")
    shutil.copy(REPO / "nbgrader_config.py", course)
    with open(course / "nbgrader_config.py", "a") as f:   # nbgrader's own in-kernel grading, to compare
        f.write("\nc.GradeWithTheKit.nbgrader_in_kernel = True\n")
    shutil.copytree(REPO / "solutions", course / "solutions")
    rc, log, _ = nbgrader(course, "generate_assignment", "--force", "--CourseDirectory.assignment_id=[a-z]*")
    assert rc == 0, log
    for name in NAMES:
        source = nbformat.read(source_path(name), as_version=4)
        release = nbformat.read(course / "assignments" / name / f"{name}.ipynb", as_version=4)
        put(course, "s_solution", name, source)
        put(course, "s_untouched", name, release)
        put(course, "s_wrong", name, wrong_notebook(name, wrong_for(name, WRONG_BY_NBGRADER[name])))
    # tampering: a wrong Sigmoid whose test cell was emptied, or deleted
    wrong_sigmoid = wrong_notebook("autograd_functions", wrong_for("autograd_functions", 0))
    edited = copy.deepcopy(wrong_sigmoid)
    cell_by_id(edited, "sigmoid_tests").source = "pass  # no tests here"
    put(course, "s_tamper_edit", "autograd_functions", edited)
    deleted = copy.deepcopy(wrong_sigmoid)
    deleted.cells = [c for c in deleted.cells if nbg(c).get("grade_id") != "sigmoid_tests"]
    put(course, "s_tamper_delete", "autograd_functions", deleted)
    # not a notebook at all
    put(course, "s_invalid", "lstm", '{"cells": [ this is not JSON')
    # an infinite loop in TimeRNN.backward: only time_rnn_tests may lose its points
    loop = with_changes("rnn_by_hand", [("time_rnn", "        Wx, Wh, b = self.params\n        xp = get_array_module(dhs)",
                                         "        while True:\n            pass\n        xp = get_array_module(dhs)")])
    put(course, "loop", "rnn_by_hand", loop)

    rc, log, seconds = nbgrader(course, "autograde", "--force", "--CourseDirectory.assignment_id=[a-z]*",
                                "--student=s_*")
    (course / "autograde.log").write_text(log)
    rc_loop, log_loop, _ = nbgrader(course, "autograde", "rnn_by_hand", "--force", "--student=loop",
                                    "--ExecutePreprocessor.timeout=6")
    (course / "autograde-loop.log").write_text(log_loop)
    rc_fb, log_fb, _ = nbgrader(course, "generate_feedback", "--force",
                                "--CourseDirectory.assignment_id=[a-z]*", "--student=s_wrong")
    assert rc_fb == 0, log_fb
    return {"root": course, "rc": rc, "log": log, "seconds": seconds, "rc_loop": rc_loop,
            "scores": read_scores(course)}


def read_scores(course):
    from nbgrader.api import Gradebook, MissingEntry

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for assignment in gb.assignments:
            for student in gb.students:
                try:
                    sub = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    continue
                cells = {g.name: (g.auto_score, g.max_score) for nb in sub.notebooks for g in nb.grades}
                out[student.id, assignment.name] = {"score": sub.score, "max": sub.max_score,
                                                    "needs_manual": sub.needs_manual_grade, "cells": cells}
    return out


def autograded(course, student, name):
    return nbformat.read(course["root"] / "autograded" / student / name / f"{name}.ipynb", as_version=4)


@pytest.mark.parametrize("name", NAMES)
def test_solution_scores_full_marks(course, name):
    s = course["scores"]["s_solution", name]
    assert s["score"] == s["max"] > 0, (s, course["log"][-3000:])
    # every test cell printed its visible tests' success and, without a GPU, the skip line
    nb = autograded(course, "s_solution", name)
    for cell in nb.cells:
        if nbg(cell).get("grade"):
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert not any(o.output_type == "error" for o in cell.outputs), cell.outputs
            # the GPU check ran (on CuPy, or on the stand-in without a GPU): nothing was skipped,
            # except for the language model, trained on the CPU or a real GPU only
            if nbg(cell)["grade_id"] != "train_lm_tests":
                assert "GPU part skipped:" not in text, text


@pytest.mark.parametrize("name", NAMES)
def test_untouched_notebook_scores_zero(course, name):
    s = course["scores"]["s_untouched", name]
    assert s["score"] == 0 and s["max"] > 0 and not s["needs_manual"], s


@pytest.mark.parametrize("name", NAMES)
def test_wrong_version_loses_points_in_nbgrader(course, name):
    s = course["scores"]["s_wrong", name]
    assert 0 <= s["score"] < s["max"], s


def test_tampered_test_cells_are_restored(course):
    source = cell_by_id(nbformat.read(source_path("autograd_functions"), as_version=4), "sigmoid_tests").source
    for student in ("s_tamper_edit", "s_tamper_delete"):
        s = course["scores"][student, "autograd_functions"]
        assert s["cells"]["sigmoid_tests"] == (0, 2), s
        for other in ("sum_to_tests", "mul_tests", "matmul_tests", "sum_axis_tests"):
            assert s["cells"][other][0] == s["cells"][other][1] > 0, s  # the rest is graded
        restored = cell_by_id(autograded(course, student, "autograd_functions"), "sigmoid_tests").source
        assert HIDDEN.search(source).group(1) in restored, "the hidden tests came back"


def test_infinite_loop_costs_only_its_cell(course):
    s = course["scores"]["loop", "rnn_by_hand"]
    assert s["cells"]["time_rnn_tests"][0] == 0, s
    assert s["cells"]["rnn_tests"] == (3, 3) and s["cells"]["embedding_tests"] == (3, 3), s
    cell = cell_by_id(autograded(course, "loop", "rnn_by_hand"), "time_rnn_tests")
    assert any(o.output_type == "error" for o in cell.outputs)


def test_invalid_notebook_is_ungraded_and_the_rest_graded(course):
    s = course["scores"].get(("s_invalid", "lstm"))
    assert s is None or s["needs_manual"] or s["cells"].get("forward_tests", (None,))[0] is None, s
    assert course["rc"] == 1  # nbgrader says that a submission failed
    assert "s_invalid" in course["log"]
    assert course["scores"]["s_solution", "lstm"]["score"] == course["scores"]["s_solution", "lstm"]["max"]


def test_feedback_shows_no_hidden_test(course):
    for name in NAMES:
        page = (course["root"] / "feedback" / "s_wrong" / name / f"{name}.html").read_text()
        text = html.unescape(re.sub(r"<[^>]+>", "", page))
        assert "HIDDEN TESTS" not in text
        nb = nbformat.read(source_path(name), as_version=4)
        for cell in nb.cells:
            visible = {ln.strip() for ln in HIDDEN.sub("", cell.source).splitlines()}
            for region in HIDDEN.findall(cell.source):
                for line in region.splitlines():
                    line = line.strip()
                    if len(line) > 25 and line not in visible:
                        assert line not in text, f"{name}: hidden line in feedback: {line}"
    # the learner still sees what failed and why
    page = (course["root"] / "feedback" / "s_wrong" / "lstm" / "lstm.html").read_text()
    assert "is wrong" in html.unescape(re.sub(r"<[^>]+>", "", page))


def test_assignments_are_what_make_assignments_generates(course):
    """No drift: assignments/ equals nbgrader's output for solutions/ (cell by cell)."""
    def cells(path):
        nb = nbformat.read(path, as_version=4)
        return nb.metadata, [(c.cell_type, c.get("id"), c.source, c.metadata) for c in nb.cells]

    for name in NAMES:
        generated = course["root"] / "assignments" / name / f"{name}.ipynb"
        assert cells(release_path(name)) == cells(generated), (
            f"assignments/{name} differs from what `make assignments` generates: run it and commit")
    twins = {f"{n}_ja" for n in NAMES}         # the Japanese editions (tests/test_assignments_japanese.py)
    extra = {p.name for p in (REPO / "assignments").iterdir() if p.is_dir()} - set(NAMES) - twins
    assert not extra, f"assignments without a solution: {extra}"


# -- the kit's grading command on the real assignments ---------------------------------------------

@pytest.fixture(scope="module")
def kit(course, tmp_path_factory):
    """The same submissions graded by the kit (verdicts outside the kernel, two workers)."""
    from rnnviz.grading.autograde import autograde

    root = tmp_path_factory.mktemp("kit") / "course"
    shutil.copytree(course["root"], root, ignore=shutil.ignore_patterns("autograded", "feedback", "loop"))
    # training in a thread while the kernel's main thread sleeps: the grader counts every thread
    put(root, "s_thread", "truncated_bptt", with_changes("truncated_bptt", [(
        "train_lm", "    return model\n",
        "    import threading\n    done = time.process_time() + 2 * budget_s\n"
        "    def more():\n        while time.process_time() < done:\n"
        "            train_window(model, optimizer, iterator, 10, device)\n"
        "    worker = threading.Thread(target=more)\n    worker.start()\n    worker.join()\n"
        "    return model\n")]))
    reports = {name: autograde(name, root, workers=2, progress=False) for name in NAMES}
    return {"root": root, "reports": reports, "scores": read_scores(root)}


@pytest.mark.parametrize("name", NAMES)
def test_the_kit_gives_nbgraders_scores_cell_for_cell(kit, course, name):
    """Honest submissions: the kit's verdicts equal nbgrader's in-kernel ones; buggy ones get at
    least nbgrader's score, cell by cell (partial credit), and full marks exactly where it does."""
    for student in ("s_solution", "s_untouched"):
        assert kit["scores"][student, name]["cells"] == course["scores"][student, name]["cells"], student
    # a buggy one: a cell nbgrader passes, the kit passes; where nbgrader gives 0 for the whole
    # cell, the kit gives the share of the checks' parts that passed
    wrong, plain = kit["scores"]["s_wrong", name], course["scores"]["s_wrong", name]
    for cell, (score, points) in wrong["cells"].items():
        assert plain["cells"][cell][0] <= score <= points, (cell, wrong, plain)
        assert (score == points) == (plain["cells"][cell][0] == points), (cell, wrong, plain)
    assert wrong["score"] < wrong["max"]
    full = kit["scores"]["s_solution", name]
    assert full["score"] == full["max"] > 0
    assert kit["scores"]["s_untouched", name]["score"] == 0


def test_a_cpu_budget_counts_training_in_a_thread(kit):
    s = kit["scores"]["s_thread", "truncated_bptt"]
    assert s["cells"]["train_lm_tests"] == (1, 4), s   # the model part passes; budget and perplexity fail
    assert s["cells"]["window_tests"] == (4, 4), s
    feedback = (kit["root"] / "feedback" / "s_thread" / "truncated_bptt" / "truncated_bptt.html").read_text()
    assert "CPU time" in html.unescape(re.sub(r"<[^>]+>", "", feedback))


def test_the_kit_grades_tampered_test_cells_from_the_release(kit):
    for student in ("s_tamper_edit", "s_tamper_delete"):
        s = kit["scores"][student, "autograd_functions"]
        assert s["cells"]["sigmoid_tests"][0] < 2, s        # the wrong Sigmoid is not restored to passing
        assert s["cells"]["mul_tests"] == (2, 2), s


def test_the_kits_feedback_shows_no_hidden_test(kit):
    for name in NAMES:
        page = (kit["root"] / "feedback" / "s_wrong" / name / f"{name}.html").read_text()
        text = html.unescape(re.sub(r"<[^>]+>", "", page))
        assert "HIDDEN TESTS" not in text
        nb = nbformat.read(source_path(name), as_version=4)
        for cell in nb.cells:
            for region in HIDDEN.findall(cell.source):
                for line in region.splitlines():
                    if line.strip().startswith("run_test("):
                        assert line.strip() not in text, f"{name}: hidden line in feedback: {line}"
        assert " points" in text and "usual mistake" in text, name   # which test failed and why
