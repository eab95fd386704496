"""One-line mutants of an assignment's solutions, graded through the test-cell protocol.

A mutant changes one line of a solution cell (between ``### BEGIN SOLUTION`` and ``### END
SOLUTION``): an operator swapped, a constant or an axis changed, ``+=`` made ``=``, a transpose
dropped, the line deleted. ``killed(nb)`` runs the notebook's code cells in a fresh forked process
and then every case of every test cell on the CPU and on the GPU check (the CuPy stand-in), as the
grader does, and says whether any check's part failed (a crash or a hang counts as killed: the
grader fails those too). ``python tests/mutants.py NAME`` prints the share of mutants killed.
"""
from __future__ import annotations

import io
import multiprocessing
import random
import re
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]

#: (pattern, replacement): each occurrence of each pattern on a line gives one mutant.
OPERATORS = [
    (r"(?<![*=<>!+\-/])\+(?![=+])", "-"), (r"(?<![*=<>!+\-/e])-(?![=>])", "+"), (r"(?<!\*)\*(?![*=])", "/"),
    (r"\.T\b", ""), (r"\baxis=0\b", "axis=1"), (r"\baxis=1\b", "axis=0"), (r"\+=", "="),
    (r"(?<![\w.])0(?![\w.])", "1"), (r"(?<![\w.])1(?![\w.])", "0"), (r"(?<![\w.])2(?![\w.])", "1"),
    (r"\bkeepdims=True\b", "keepdims=False"), (r"\bTrue\b", "False"), (r"\bFalse\b", "True"),
    (r"\bnot\b ", ""), (r" < ", " <= "), (r" > ", " >= "), (r"\bmin\(", "max("), (r"\bmax\(", "min("),
    (r"\bsigmoid\(", "xp.tanh("), (r"xp\.tanh\(", "sigmoid("), (r"\bx\b", "gy"), (r"\bgy\b", "x"),
]


def solution_lines(nb):
    """(cell index, line index) of every line inside a solution region."""
    for k, cell in enumerate(nb.cells):
        if not cell.get("metadata", {}).get("nbgrader", {}).get("solution") or cell.cell_type != "code":
            continue
        inside = False
        for i, line in enumerate(cell.source.splitlines()):
            if "### BEGIN SOLUTION" in line:
                inside = True
            elif "### END SOLUTION" in line:
                inside = False
            elif inside and line.strip() and not line.strip().startswith("#"):
                yield k, i


def mutants(nb) -> list[tuple[str, nbformat.NotebookNode]]:
    """Every one-line mutant of ``nb``'s solutions: (description, notebook)."""
    out = []
    for k, i in solution_lines(nb):
        lines = nb.cells[k].source.splitlines()
        line = lines[i]
        indent = line[:len(line) - len(line.lstrip())]
        variants = [(f"delete {line.strip()!r}", indent + "pass")]
        for pattern, repl in OPERATORS:
            for m in re.finditer(pattern, line):
                new = line[:m.start()] + repl + line[m.end():]
                if new != line:
                    variants.append((f"{line.strip()!r} -> {new.strip()!r}", new))
        for what, new in variants:
            mutant = nbformat.from_dict(nbformat.v4.new_notebook(cells=[dict(c) for c in nb.cells]))
            mutant.cells[k] = nbformat.from_dict(dict(nb.cells[k]))
            mutant.cells[k].source = "\n".join(lines[:i] + [new] + lines[i + 1:])
            out.append((what, mutant))
    return out


def _grade_here(nb) -> bool:
    """In this process: True when some part of some check fails (or the notebook crashes)."""
    from rnnviz.grading import CPU
    from rnnviz.grading.checks import STANDIN
    from rnnviz.grading.protocol import get_check, parse_test_cell, run_case_here

    ns = {"__name__": "__mutant__"}
    tests = []
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                tests.append(parse_test_cell(cell.source))
                continue
            try:
                exec(compile(cell.source, "<cell>", "exec"), ns)
            except Exception:  # noqa: BLE001 - a crash of the learner's cell: its tests fail
                return True
        for test in tests:
            for call in test.calls:
                check = get_check(call.check)
                learner = [ns.get(n) for n in call.names]
                for dev in (CPU, STANDIN):
                    if dev.request in check.devices and not run_case_here(check, learner, call.case, dev).passed:
                        return True
    return False


def _child(nb, conn):
    try:
        conn.send(_grade_here(nb))
    except BaseException:  # noqa: BLE001
        conn.send(True)


def killed(nb, timeout: float = 60.0) -> bool:
    """Grade ``nb`` in a forked process; a crash or a run past ``timeout`` counts as killed."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(nb, child))
    proc.start()
    child.close()
    ok = parent.poll(timeout)
    result = parent.recv() if ok else True
    proc.kill()
    proc.join()
    return result


def load(name: str):
    return nbformat.read(REPO / "solutions" / name / f"{name}.ipynb", as_version=4)


def sample(name: str, n: int | None, seed: int = 0):
    """``n`` mutants of assignment ``name`` (all of them when ``n`` is None), in a fixed order."""
    all_mutants = mutants(load(name))
    if n is None or n >= len(all_mutants):
        return all_mutants
    return random.Random(seed).sample(all_mutants, n)


if __name__ == "__main__":
    import rnnviz.grading.protocol  # noqa: F401 - imported once, before forking

    for name in sys.argv[1:]:
        ms = sample(name, None)
        survivors = [what for what, nb in ms if not killed(nb)]
        print(f"{name}: {len(ms) - len(survivors)}/{len(ms)} mutants lose points "
              f"({100 * (len(ms) - len(survivors)) / max(len(ms), 1):.0f}%)")
        for what in survivors:
            print(f"  survives: {what}")
