"""Fair grading of the autograd_functions and backward_engine assignments (issue 17).

A catalogue of realistic mistakes, each a wrong version of the instructor's notebook: the one-line
bugs of ``test_assignments.WRONG`` for these two assignments and the mistakes learners made that
those do not cover (a recursive engine that raises the recursion limit, a gradient that is a
read-only broadcast view, ``+=`` on a gradient array another variable holds, ``sum_to`` without
``keepdims``, a dtype upcast, ...). Each is graded as the kit grades it, in this process: the code
cells run, then every test cell is read (``parse_test_cell``) and each of its cases runs on the CPU
and on the CuPy stand-in (``run_case_here``). The test asserts which parts of which cells fail
(partial credit: a mistake costs its parts, not the whole cell) and that each failing part's message
holds the hint that names the mistake. The solutions fail nothing.
"""
from __future__ import annotations

import contextlib
import functools
import io

import nbformat
import numpy
import pytest

from test_assignments import RECURSIVE_ENGINE, WRONG, cell_by_id, release_path, source_path, with_changes

NAMES = ("autograd_functions", "backward_engine")


def grade(nb) -> dict:
    """{(grade_id, part): message} of every part that fails, graded as the kit does (every case on
    the CPU, then on the CuPy stand-in; a part's first message)."""
    from rnnviz.grading import CPU
    from rnnviz.grading.checks import STANDIN
    from rnnviz.grading.protocol import get_check, parse_test_cell, run_case_here

    ns = {"__name__": "__fair__"}
    tests = []
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                tests.append((meta["grade_id"], parse_test_cell(cell.source)))
            else:
                try:
                    # a name like IPython's ("<cell ...>"): the learner's frames are sent back
                    exec(compile(cell.source, f"<cell {meta.get('grade_id', '')}>", "exec"), ns)
                except Exception:  # noqa: BLE001 - as in the kernel: the next cells run
                    pass
    failed = {}
    for grade_id, test in tests:
        for call in test.calls:
            check = get_check(call.check)
            for dev in (CPU, STANDIN):
                if dev.request in check.devices:
                    verdict = run_case_here(check, [ns.get(n) for n in call.names], call.case, dev)
                    for name, message in verdict.failed.items():
                        failed.setdefault((grade_id, name), dev.label + message)
    return failed


def recursive_engine(before="", after=""):
    """``RECURSIVE_ENGINE`` with lines added at the start and at the end of ``backward``."""
    head, body = RECURSIVE_ENGINE.split('    xp = get_array_module(output.data)\n', 1)
    return head + before + '    xp = get_array_module(output.data)\n' + body + after


def engine(source):
    return [("__engine__", source)]


# (assignment, mistake, changes (with_changes' list, or [("__engine__", source)] for a whole engine
# cell), {(grade_id, part): a phrase of the hint that part's message gives}): the parts listed are
# exactly the parts that fail.
CATALOGUE = [
    # -- autograd_functions: the WRONG list -------------------------------------------------------
    # y = sigmoid(-x) has the gradient y * (1 - y) of sigmoid(x): only the forward is wrong
    ("autograd_functions", "sigmoid sign error in forward", None,
     {("sigmoid_tests", "forward"): "is wrong", ("together_tests", "loss"): "the forwards of your four classes",
      ("together_tests", "v.grad"): "the backwards of your four classes"}),
    ("autograd_functions", "sigmoid backward ignores gy", None,
     {("sigmoid_tests", "gradient of x"): "y * (1 - y)", ("together_tests", "W.grad"): "is wrong"}),
    ("autograd_functions", "sigmoid backward sign error", None,
     {("sigmoid_tests", "gradient of x"): "a sign error", ("together_tests", "W.grad"): "opposite sign"}),
    ("autograd_functions", "sum_to sums the trailing axes instead of the leading ones", None,
     {("sum_to_tests", "leading axes"): "sum_to left axes unsummed",
      ("sum_to_tests", "axes of size 1"): "sum_to left axes unsummed",
      ("mul_tests", "gradient of x0"): "sum_to left axes unsummed",
      ("mul_tests", "gradient of x1"): "sum_to left axes unsummed",
      ("together_tests", "W.grad"): "sum_to left axes unsummed",
      ("together_tests", "v.grad"): "sum_to left axes unsummed"}),
    ("autograd_functions", "sum_to forgets the stretched axes", None,
     {("sum_to_tests", "axes of size 1"): "sum_to left axes unsummed",
      ("mul_tests", "gradient of x0"): "sum_to left axes unsummed",
      ("mul_tests", "gradient of x1"): "sum_to left axes unsummed"}),
    ("autograd_functions", "Mul without sum_to (no reduction over broadcast axes)", None,
     {("mul_tests", "gradient of x0"): "sum_to", ("mul_tests", "gradient of x1"): "sum_to",
      ("together_tests", "v.grad"): "sum_to"}),
    ("autograd_functions", "Mul gradients swapped", None,
     {("mul_tests", "gradient of x0"): "uses the other input", ("mul_tests", "gradient of x1"): "uses the other input",
      ("together_tests", "W.grad"): "is wrong", ("together_tests", "v.grad"): "is wrong"}),
    ("autograd_functions", "MatMul missing transpose in gx", None,
     {("matmul_tests", "gradient of x"): "gx = gy @ W.T", ("matmul_tests", "gradient of W"): "gx = gy @ W.T",
      ("together_tests", "W.grad"): "its own test above", ("together_tests", "v.grad"): "its own test above"}),
    ("autograd_functions", "MatMul gW with the factors swapped", None,
     {("matmul_tests", "gradient of W"): "transpose", ("together_tests", "W.grad"): "transpose"}),
    ("autograd_functions", "SumAxis backward expands the wrong axis", None,
     {("sum_axis_tests", "gradient of x"): "put the summed axis back",
      ("sum_axis_tests", "copy"): "put the summed axis back",
      ("together_tests", "W.grad"): "its own test above", ("together_tests", "v.grad"): "its own test above"}),
    ("autograd_functions", "SumAxis forward ignores keepdims", None,
     {("sum_axis_tests", "forward"): "keepdims ignored"}),
    ("autograd_functions", "SumAxis backward always expands", None,
     {("sum_axis_tests", "gradient of x"): "put the summed axis back",
      ("sum_axis_tests", "copy"): "put the summed axis back"}),
    # -- autograd_functions: the other mistakes learners made --------------------------------------
    ("autograd_functions", "SumAxis returns the read-only broadcast view",
     [("sum_axis", "return self.xp.broadcast_to(gy, self.x_shape).copy()", "return self.xp.broadcast_to(gy, self.x_shape)")],
     {("sum_axis_tests", "copy"): "read-only view"}),
    ("autograd_functions", "sum_to without keepdims (and no reshape)",
     [("sum_to", "    if axes:\n        g = g.sum(axis=axes, keepdims=True)\n    return g.reshape(shape)",
       "    return g.sum(axis=axes)")],
     {("sum_to_tests", "axes of size 1"): "keepdims=True", ("mul_tests", "gradient of x0"): "keepdims=True",
      ("mul_tests", "gradient of x1"): "keepdims=True"}),
    ("autograd_functions", "Sigmoid upcasts to float64 in forward",
     [("sigmoid", "y = 1 / (1 + self.xp.exp(-x))", "y = 1 / (1 + self.xp.exp(-x.astype(float)))")],
     {("sigmoid_tests", "dtype"): "keep the input's dtype"}),
    ("autograd_functions", "SumAxis backward multiplies by ones made without a dtype",
     [("sum_axis", "return self.xp.broadcast_to(gy, self.x_shape).copy()", "return gy * self.xp.ones(self.x_shape)")],
     {("sum_axis_tests", "dtype"): "without a dtype is float64"}),
    ("autograd_functions", "Sigmoid backward multiplies gy in place",
     [("sigmoid", "return gy * y * (1 - y)", "gy *= y * (1 - y)\n        return gy")],
     {("sigmoid_tests", "inputs unchanged"): "backward changed gy in place"}),
    ("autograd_functions", "Sigmoid forward negates x in place",
     [("sigmoid", "y = 1 / (1 + self.xp.exp(-x))", "x *= -1\n        y = 1 / (1 + self.xp.exp(x))")],
     {("sigmoid_tests", "inputs unchanged"): "forward changed its input x"}),
    ("autograd_functions", "Sigmoid refuses float32",
     [("sigmoid", "y = 1 / (1 + self.xp.exp(-x))",
       "assert x.dtype == np.float64, 'float64 only'\n        y = 1 / (1 + self.xp.exp(-x))")],
     {("sigmoid_tests", "dtype"): "Sigmoid on float32 arrays: your code raised AssertionError: float64 only"}),
    ("autograd_functions", "SumAxis hard-codes NumPy (np.ones)",
     [("sum_axis", "return self.xp.broadcast_to(gy, self.x_shape).copy()", "return gy * np.ones(self.x_shape)")],
     {("sum_axis_tests", "gradient of x"): "hard-codes NumPy", ("sum_axis_tests", "dtype"): "without a dtype",
      ("sum_axis_tests", "copy"): "hard-codes NumPy",
      ("together_tests", "W.grad"): "hard-codes NumPy", ("together_tests", "v.grad"): "hard-codes NumPy"}),
    # -- backward_engine: the WRONG list ----------------------------------------------------------
    ("backward_engine", "gradient assigned instead of accumulated (intermediate)", None,
     {("basics_tests", "diamond"): "where paths meet", ("basics_tests", "a*a + a*a"): "where paths meet",
      ("random_tests", "leaves' gradients"): "where paths meet", ("retain_tests", "retain_grad=False"): "where paths meet",
      ("retain_tests", "retain_grad=True"): "where paths meet", ("retain_tests", "second backward"): "where paths meet"}),
    ("backward_engine", "leaf gradient assigned instead of accumulated", None,
     {("basics_tests", "chain"): "overwritten", ("basics_tests", "diamond"): "overwritten",
      ("basics_tests", "x + x"): "overwritten", ("basics_tests", "a*a + a*a"): "overwritten",
      ("basics_tests", "long and short paths"): "overwritten", ("basics_tests", "one-element output"): "overwritten",
      ("random_tests", "leaves' gradients"): "overwritten", ("retain_tests", "retain_grad=False"): "overwritten",
      ("retain_tests", "retain_grad=True"): "overwritten", ("retain_tests", "second backward"): "overwritten",
      ("chain_tests", "gradients"): "overwritten"}),
    # on the two small graphs a stack gives the gradients another mistake gives: both are named
    ("backward_engine", "no generation order (a stack)", None,
     {("basics_tests", "diamond"): "(2) a function ran before", ("basics_tests", "a*a + a*a"): "(2) a function ran before",
      ("random_tests", "leaves' gradients"): "highest generation first",
      ("retain_tests", "retain_grad=False"): "highest generation first",
      ("retain_tests", "retain_grad=True"): "highest generation first",
      ("retain_tests", "second backward"): "highest generation first"}),
    ("backward_engine", "oldest generation first (sign error in the heap key)", None,
     {("basics_tests", "diamond"): "highest generation first", ("basics_tests", "a*a + a*a"): "(2) a function ran before",
      ("random_tests", "leaves' gradients"): "highest generation first",
      ("retain_tests", "retain_grad=False"): "highest generation first",
      ("retain_tests", "retain_grad=True"): "highest generation first",
      ("retain_tests", "second backward"): "highest generation first"}),
    ("backward_engine", "a function pushed once per use", None,
     {("basics_tests", "diamond"): "push each function once", ("basics_tests", "a*a + a*a"): "push each function once",
      ("basics_tests", "inputs unchanged"): "did not run every function",
      ("random_tests", "leaves' gradients"): "push each function once",
      ("random_tests", "intermediate .grad left None"): "push each function once",
      ("random_tests", "inputs unchanged"): "did not run every function",
      ("retain_tests", "retain_grad=False"): "push each function once",
      ("retain_tests", "retain_grad=True"): "push each function once",
      ("retain_tests", "second backward"): "push each function once",
      ("retain_tests", "inputs unchanged"): "did not run every function"}),
    ("backward_engine", "retain_grad ignored", None,
     {("retain_tests", "retain_grad=True"): "set y.grad = gy"}),
    ("backward_engine", "intermediate gradients always kept", None,
     {("basics_tests", "diamond"): "should be None", ("basics_tests", "a*a + a*a"): "should be None",
      ("random_tests", "intermediate .grad left None"): "should be None",
      ("retain_tests", "retain_grad=False"): "should be None"}),
    ("backward_engine", "starts from zeros", None,
     {("basics_tests", "one-element output"): "starts from ones"}),
    ("backward_engine", "recursive topological sort", None,
     {("chain_tests", "gradients"): "recursion limit", ("chain_tests", "no recursion"): "hit the recursion limit",
      ("chain_tests", "inputs unchanged"): "did not run every function"}),
    # -- backward_engine: the other mistakes learners made ----------------------------------------
    ("backward_engine", "recursive engine that raises the recursion limit",
     engine(recursive_engine(before="    import sys\n    sys.setrecursionlimit(100000)\n")),
     {("chain_tests", "no recursion"): "do not change the recursion limit"}),
    ("backward_engine", "recursive engine that raises the limit and puts it back",
     engine(recursive_engine(before="    import sys\n    limit = sys.getrecursionlimit()\n"
                                    "    sys.setrecursionlimit(100000)\n",
                             after="    sys.setrecursionlimit(limit)\n")),
     {("chain_tests", "no recursion"): "nested Python calls"}),
    ("backward_engine", "+= on a leaf's .grad (it may be another variable's gradient)",
     [("engine", "x.grad = gx if x.grad is None else x.grad + gx",
       "if x.grad is None:\n                    x.grad = gx\n                else:\n                    x.grad += gx")],
     {("basics_tests", "inputs unchanged"): "`+=` changed a gradient array",
      ("retain_tests", "retain_grad=True"): "`+=` changed a gradient array"}),
    ("backward_engine", "+= on a variable's summed gradient (Add handed the same array on)",
     [("engine", "grads[id(x)] = gx if id(x) not in grads else grads[id(x)] + gx",
       "if id(x) in grads:\n                    grads[id(x)] += gx\n                else:\n"
       "                    grads[id(x)] = gx")],
     {("random_tests", "leaves' gradients"): "`+=` changed a gradient array",
      ("random_tests", "inputs unchanged"): "`+=` changed a gradient array",
      ("retain_tests", "retain_grad=False"): "`+=` changed a gradient array",
      ("retain_tests", "retain_grad=True"): "`+=` changed a gradient array",
      ("retain_tests", "second backward"): "`+=` changed a gradient array",
      ("retain_tests", "inputs unchanged"): "`+=` changed a gradient array"}),
    ("backward_engine", "backward hard-codes NumPy (np.ones)",
     [("engine", "output.grad = xp.ones_like(output.data)", "output.grad = np.ones(output.data.shape)")],
     {("basics_tests", "one-element output"): "hard-codes NumPy",
      ("basics_tests", "inputs unchanged"): "did not run every function"}),
]

WRONG_HERE = {what: changes for name, what, changes in WRONG if name in NAMES}


def wrong_version(name, what, changes):
    if changes is None:
        changes = WRONG_HERE[what]
        if changes == "recursive":
            changes = engine(RECURSIVE_ENGINE)
    if changes and changes[0][0] == "__engine__":
        nb = nbformat.read(source_path(name), as_version=4)
        cell_by_id(nb, "engine").source = changes[0][1]
        return nb
    return with_changes(name, changes)


@functools.lru_cache(maxsize=None)
def graded(name, what):
    """``grade`` of the catalogue's wrong version ``what`` (once per session)."""
    changes = next(c for n, w, c, _ in CATALOGUE if (n, w) == (name, what))
    return grade(wrong_version(name, what, changes))


def test_the_catalogue_holds_every_wrong_version_of_these_assignments():
    listed = {what for name, what, changes, _ in CATALOGUE if changes is None}
    assert listed == set(WRONG_HERE), set(WRONG_HERE) ^ listed


@pytest.mark.parametrize("name", NAMES)
def test_the_solution_fails_no_part(name):
    assert grade(nbformat.read(source_path(name), as_version=4)) == {}


@pytest.mark.parametrize("name", NAMES)
def test_the_untouched_release_fails_every_part(name):
    """Partial credit gives nothing for code not written: each part of each test cell fails (the
    hidden tests restored, as the grader does)."""
    from rnnviz.grading.protocol import get_check, parse_test_cell

    release = nbformat.read(release_path(name), as_version=4)
    source = nbformat.read(source_path(name), as_version=4)
    every = set()
    for cell in release.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
            cell.source = cell_by_id(source, meta["grade_id"]).source
            for call in parse_test_cell(cell.source).calls:
                every |= {(meta["grade_id"], p) for p in get_check(call.check).parts or ["all"]}
    failed = set(grade(release))
    assert every and failed == every, sorted(every - failed)


@pytest.mark.parametrize("name,what,changes,expected", CATALOGUE, ids=[f"{n}:{w}" for n, w, _, _ in CATALOGUE])
def test_a_mistake_costs_its_parts_and_gets_its_hint(name, what, changes, expected):
    failed = graded(name, what)
    assert set(failed) == set(expected), (
        f"{what}: failed parts differ\n  unexpected: {sorted(set(failed) - set(expected))}\n"
        f"  missing: {sorted(set(expected) - set(failed))}\n" + "\n".join(f"{k}: {v}" for k, v in failed.items()))
    for key, phrase in expected.items():
        assert phrase in failed[key], f"{what}: {key} says\n{failed[key]}\nwithout {phrase!r}"


def test_errors_come_back_with_the_learners_lines():
    """An error's frames come back through the protocol however deep the check keeps its results
    (a graph's error, a float32 run's error): the message shows the learner's lines."""
    cases = [("autograd_functions", "MatMul missing transpose in gx", ("matmul_tests", "gradient of x")),
             ("autograd_functions", "Sigmoid refuses float32", ("sigmoid_tests", "dtype")),
             ("backward_engine", "a function pushed once per use", ("random_tests", "leaves' gradients"))]
    for name, what, key in cases:
        message = graded(name, what)[key]
        assert "line" in message and ("in backward" in message or "in forward" in message), message


def test_messages_name_no_variable_the_learner_cannot_see():
    """A random graph's variables are named by their kind ("a leaf used 2 times"), never by the
    number they have in a graph the learner does not see."""
    failed = graded("backward_engine", "gradient assigned instead of accumulated (intermediate)")
    for (grade_id, _), message in failed.items():
        assert "intermediate variable 1" not in message and "leaf 0" not in message, message
    assert "a leaf used" in failed["random_tests", "leaves' gradients"]


def test_parts_and_points():
    """Every part a judge marks is declared, and the weights are what the notebooks say."""
    from rnnviz.grading.protocol import get_check

    assert get_check("autograd_functions.sigmoid").parts == {
        "forward": 2, "gradient of x": 2, "dtype": 1, "inputs unchanged": 1}
    assert get_check("autograd_functions.sum_axis").parts["copy"] == 1
    assert get_check("autograd_functions.sum_to").parts == {"leading axes": 2, "axes of size 1": 2, "same shape": 1}
    assert get_check("backward_engine.chain").parts == {"gradients": 1, "no recursion": 2, "inputs unchanged": 1}
    assert set(get_check("backward_engine.basics").parts) == {
        "chain", "diamond", "x + x", "a*a + a*a", "long and short paths", "one-element output", "inputs unchanged"}


def test_the_long_chain_runs_under_the_default_limit_and_restores_the_learners():
    """The chain check sets Python's default limit for the learner's backward and puts back the
    limit the learner's kernel had; a loop engine nests only a few calls deep."""
    import sys

    from rnnviz.grading.assignments.backward_engine import DEFAULT_RECURSION_LIMIT, MAX_DEPTH, run_graph
    from rnnviz.grading.protocol import get_check

    ns = {"__name__": "__fair__"}
    nb = nbformat.read(source_path("backward_engine"), as_version=4)
    for grade_id in ("framework", "engine"):
        exec(cell_by_id(nb, grade_id).source, ns)
    spec = get_check("backward_engine.chain").graphs(steps=2000)[0]
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(before + 7)
    try:
        out = run_graph(spec, ns["Variable"], (ns["add"], ns["mul"], ns["neg"], ns["tanh"]))
        assert sys.getrecursionlimit() == before + 7
    finally:
        sys.setrecursionlimit(before)
    assert out["recursion_limit"] == DEFAULT_RECURSION_LIMIT and out["depth"] < MAX_DEPTH // 4, out
    assert "error" not in out and not out["gy_changed"] and not out["leaves_changed"]


def test_messages_reveal_no_hidden_value():
    """The messages of wrong versions hold no number of a hidden case's arrays (only shapes,
    relative errors and the parts of the case the learner may see)."""
    from rnnviz.grading.protocol import get_check, parse_test_cell

    for name, what, changes, _ in CATALOGUE[::3]:
        nb = wrong_version(name, what, changes)
        values = []
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code" \
                    and not cell.metadata["nbgrader"].get("solution"):
                for call in parse_test_cell(cell.source).calls:
                    inputs = get_check(call.check).inputs(**call.case)
                    arrays = inputs.get("graphs", [inputs])
                    for item in arrays:
                        for v in item.values():
                            if isinstance(v, numpy.ndarray) and v.dtype.kind == "f":
                                values += [f"{x:.4f}" for x in v.ravel()[:20]]
        for message in graded(name, what).values():
            text = message.replace("relative error", "")
            assert not any(v in text for v in values if abs(float(v)) > 0.01), (what, message)
