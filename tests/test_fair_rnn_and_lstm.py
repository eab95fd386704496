"""Fair grading of the rnn_by_hand and lstm assignments (issue 17).

A catalogue of realistic mistakes, each a wrong version of the instructor's notebook: the one-line
bugs of ``test_assignments.WRONG`` for these two assignments and the mistakes those do not cover (a
layer that writes into an array it was given, a stateful TimeRNN whose state ``reset_state()`` does
not reach, ``F.lstm`` and autograd instead of the learner's own LSTM, ``db`` divided by N, a wrong
forward whose backward must keep its points, a cache in another order, ...). Each is graded as the
kit grades it, in this process: the code cells run, then every test cell is read
(``parse_test_cell``) and each of its cases runs on the CPU and on the CuPy stand-in
(``run_case_here``). The test asserts which parts of which checks fail (partial credit: a mistake
costs its parts, not the whole cell) and that each failing part's message holds the hint that names
the mistake. The solutions fail nothing; the untouched release fails everything.
"""
from __future__ import annotations

import contextlib
import io

import nbformat
import numpy
import pytest

from test_assignments import WRONG, cell_by_id, release_path, source_path, with_changes

NAMES = ("rnn_by_hand", "lstm")


def nbg(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def graded_cells(nb):
    from rnnviz.grading.protocol import parse_test_cell

    return [(nbg(c)["grade_id"], nbg(c)["points"], parse_test_cell(c.source)) for c in nb.cells
            if c.cell_type == "code" and nbg(c).get("grade") and not nbg(c).get("solution")]


def grade(nb) -> dict:
    """{(check, part): message} of every part that fails, graded as the kit does (every case on the
    CPU, then on the CuPy stand-in; a part's first message)."""
    from rnnviz.grading import CPU
    from rnnviz.grading.checks import STANDIN
    from rnnviz.grading.protocol import get_check, run_case_here

    ns = {"__name__": "__fair__"}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in nb.cells:
            if cell.cell_type == "code" and not (nbg(cell).get("grade") and not nbg(cell).get("solution")):
                exec(compile(cell.source, f"<{nbg(cell).get('grade_id', 'cell')}>", "exec"), ns)
    failed = {}
    for _, _, test in graded_cells(nb):
        for call in test.calls:
            check = get_check(call.check)
            for dev in (CPU, STANDIN):
                if dev.request in check.devices:
                    verdict = run_case_here(check, [ns.get(n) for n in call.names], call.case, dev)
                    for name, message in verdict.failed.items():
                        failed.setdefault((call.check, name), dev.label + message)
    return failed


CHEAT_LSTM = '''import rnnviz.functions as F
from rnnviz import Variable


class LSTM:
    """One LSTM step with rnnviz's F.lstm and autograd."""

    def __init__(self, Wx, Wh, b):
        xp = get_array_module(Wx)
        self.params = [Wx, Wh, b]
        self.grads = [xp.zeros_like(Wx), xp.zeros_like(Wh), xp.zeros_like(b)]
        self.cache = None

    def forward(self, x, h_prev, c_prev):
        Wx, Wh, b = self.params
        c_next, h_next = F.lstm(c_prev, x @ Wx + h_prev @ Wh + b)
        self.cache = (x, h_prev, c_prev)
        return h_next.array, c_next.array

    def backward(self, dh_next, dc_next):
        x, h_prev, c_prev = self.cache[:3]
        vs = [Variable(a) for a in (x, h_prev, c_prev, *self.params)]
        c_next, h_next = F.lstm(vs[2], F.matmul(vs[0], vs[3]) + F.matmul(vs[1], vs[4]) + vs[5])
        (F.sum(h_next * dh_next) + F.sum(c_next * dc_next)).backward()
        for k in range(3):
            self.grads[k][...] = vs[3 + k].grad
        return vs[0].grad, vs[1].grad, vs[2].grad
'''

RB, TF, TB, EM = "rnn_by_hand.rnn_backward", "rnn_by_hand.time_rnn_forward", "rnn_by_hand.time_rnn_backward", "rnn_by_hand.embedding"
RF, LF, LB = "rnn_by_hand.rnn_forward", "lstm.forward", "lstm.backward"


def every(check, phrase):
    """Every part of ``check``, each with ``phrase``."""
    from rnnviz.grading.protocol import get_check

    return {(check, p): phrase for p in get_check(check).parts}


def some(check, parts, phrase):
    return {(check, p): phrase for p in parts}


GRADS = ("dWx", "dWh", "db")
STEP_GRADS = ("dx", "dh_prev") + GRADS
TIME_GRADS = ("dxs", "dh") + GRADS
LSTM_GRADS = ("dc_prev", "dx", "dh_prev") + GRADS
RNN_WRONG = "RNN.backward is wrong too"
SHAPE = "a shape that does not fit"

# (assignment, mistake, changes (with_changes' list; None: WRONG's; "cheat": the LSTM cell replaced
# by CHEAT_LSTM), {(check, part): a phrase of the hint that part's message gives}): the parts listed
# are exactly the parts that fail.
CATALOGUE = [
    # -- rnn_by_hand: the WRONG list ----------------------------------------------------------------
    ("rnn_by_hand", "missing transpose in dx", None, every(RB, SHAPE) | every(TB, SHAPE)),
    ("rnn_by_hand", "dWh transposed", None,
     {(RB, "dWh"): "missing or extra transpose", (TB, "dWh"): RNN_WRONG}),
    ("rnn_by_hand", "tanh derivative sign error", None,
     some(RB, STEP_GRADS, "1 - tanh(x)**2, not tanh(x)**2 - 1") | some(TB, TIME_GRADS, RNN_WRONG)),
    ("rnn_by_hand", "db summed over the wrong axis", None,
     every(RB, "a sum over the wrong axis") | every(TB, "a sum over the wrong axis")),
    ("rnn_by_hand", "dh from the later step not added", None,
     some(TB, TIME_GRADS, "the gradient coming back from later steps is missing")),
    ("rnn_by_hand", "weight gradients of the steps assigned, not summed", None,
     some(TB, GRADS, "shared by all steps")),
    ("rnn_by_hand", "state never carried (stateful ignored)", None,
     {(TF, "stateful"): "carries on from the state the first call left"}),
    ("rnn_by_hand", "state always carried (stateful=False ignored)", None,
     {(TF, "forward"): "every call starts from zeros"}),
    ("rnn_by_hand", "embedding rows assigned (dW[idx] = dout)", None, {(EM, "dW"): "xp.add.at(dW, idx, dout)"}),
    ("rnn_by_hand", "embedding rows with += (repeated ids lost)", None, {(EM, "dW"): "xp.add.at(dW, idx, dout)"}),
    ("rnn_by_hand", "embedding gradient not reset", None, {(EM, "dW"): "dW was not set to zero first"}),
    # -- rnn_by_hand: the other mistakes learners make ----------------------------------------------
    ("rnn_by_hand", "RNN.backward multiplies dh_next in place",
     [("rnn", "dt = dh_next * (1 - h_next ** 2)", "dh_next *= 1 - h_next ** 2\n        dt = dh_next")],
     {(RB, "inputs unchanged"): "do not change the arrays you are given, make new ones"}),
    ("rnn_by_hand", "TimeRNN keeps its state in self._state (the given reset_state does nothing)",
     [("time_rnn", "if not self.stateful or self.h is None:\n            self.h = xp.zeros((N, H), dtype=xs.dtype)",
       "h = getattr(self, '_state', None)\n        if not self.stateful or h is None:\n"
       "            h = xp.zeros((N, H), dtype=xs.dtype)"),
      ("time_rnn", "self.h = layer.forward(xs[:, t, :], self.h)\n            hs[:, t, :] = self.h",
       "h = layer.forward(xs[:, t, :], h)\n            hs[:, t, :] = h"),
      ("time_rnn", "            self.layers.append(layer)\n        return hs",
       "            self.layers.append(layer)\n        self._state = h\n        return hs")],
     {(TF, "reset_state"): "keep the state in self.h"}),
    ("rnn_by_hand", "RNN.forward with F.tanh and F.linear (the backward keeps its points)",
     [("rnn", "h_next = xp.tanh(h_prev @ Wh + x @ Wx + b)",
       "import rnnviz.functions as F\n        h_next = F.tanh(F.linear(x, Wx.T, b) + h_prev @ Wh).array")],
     every(RF, "builds these layers itself") | every(TF, "builds these layers itself")),
    ("rnn_by_hand", "db divided by N (a mean over the batch)",
     [("rnn", "self.grads[2][...] = dt.sum(axis=0)", "self.grads[2][...] = dt.mean(axis=0)")],
     {(RB, "db"): "divided or multiplied by the batch size N: db sums over the batch, no mean",
      (TB, "db"): "divided or multiplied by the batch size N: db sums over the batch, no mean"}),
    ("rnn_by_hand", "dWx divided by N",
     [("rnn", "self.grads[0][...] = x.T @ dt", "self.grads[0][...] = x.T @ dt / len(x)")],
     {(RB, "dWx"): "batch size N: dWx sums over the batch", (TB, "dWx"): "batch size N: dWx sums over the batch"}),
    ("rnn_by_hand", "forward subtracts b (the backward keeps its points)",
     [("rnn", "h_next = xp.tanh(h_prev @ Wh + x @ Wx + b)", "h_next = xp.tanh(h_prev @ Wh + x @ Wx - b)")],
     {(RF, "h_next"): "h_next = tanh(h_prev @ Wh + x @ Wx + b)", (RF, "cache"): "h_next = tanh(h_prev @ Wh + x @ Wx + b)",
      (TF, "forward"): "h_t = tanh(h_(t-1) @ Wh + xs[:, t] @ Wx + b)",
      (TF, "stateful"): "the first call with stateful=False is wrong too",
      (TF, "reset_state"): "the first call with stateful=False is wrong too"}),
    ("rnn_by_hand", "dWx stored as a new array",
     [("rnn", "self.grads[0][...] = x.T @ dt", "self.grads[0] = x.T @ dt")],
     {(RB, "dWx"): "is a new array: write into the one __init__ made"}),
    ("rnn_by_hand", "RNN.backward reads x from an attribute of its own",
     [("rnn", "self.cache = (x, h_prev, h_next)", "self.cache = (x, h_prev, h_next)\n        self.x = x"),
      ("rnn", "self.grads[0][...] = x.T @ dt", "self.grads[0][...] = self.x.T @ dt")],
     every(RB, "take what backward needs from self.cache and self.params only")
     | every(TB, "take what backward needs from self.layers")),
    ("rnn_by_hand", "the cache in another order",
     [("rnn", "self.cache = (x, h_prev, h_next)", "self.cache = (h_prev, x, h_next)"),
      ("rnn", "x, h_prev, h_next = self.cache", "h_prev, x, h_next = self.cache")],
     {(RF, "cache"): "self.cache is (x, h_prev, h_next), in that order"}
     | every(RB, "or self.cache read in another order") | every(TB, "or an RNN step's self.cache read")),
    ("rnn_by_hand", "TimeRNN weight gradients averaged over the steps",
     [("time_rnn", "self.grads[i][...] = g", "self.grads[i][...] = g / T")],
     some(TB, GRADS, "divided by the number of steps T")),
    ("rnn_by_hand", "TimeRNN hard-codes NumPy",
     [("time_rnn", "hs = xp.empty((N, T, H), dtype=xs.dtype)", "hs = np.empty((N, T, H))")],
     some(TF, ("forward", "stateful", "reset_state"), "hard-codes NumPy")),
    # -- lstm: the WRONG list -----------------------------------------------------------------------
    ("lstm", "gate order [f, i, ...] in forward", None,
     {(LF, "c_next"): "A[:, :H] is i", (LF, "h_next"): "A[:, :H] is i",
      (LF, "cache"): "self.cache[3] should hold i, it holds f"}),
    ("lstm", "gate order [f, i, ...] in backward", None,
     some(LB, ("dx", "dh_prev"), "joins the gates' blocks [i, f, g, o]")
     | some(LB, GRADS, "[f, g, i, o] is the book's order")),
    ("lstm", "sigmoid for g", None,
     {(LF, "c_next"): "tanh for g", (LF, "h_next"): "tanh for g", (LF, "cache"): "tanh for g"}),
    ("lstm", "path from h into c missing", None,
     {(LB, "dc_prev"): "the path from h_next into c_next is missing"}
     | some(LB, ("dx", "dh_prev"), "joins the gates' blocks") | some(LB, GRADS, "i, f and g reach the loss through c_next")),
    ("lstm", "dc_prev through the wrong gate", None, {(LB, "dc_prev"): "dc_prev goes through the forget gate"}),
    ("lstm", "do without tanh(c)", None,
     some(LB, ("dx", "dh_prev"), "joins the gates' blocks") | some(LB, GRADS, "o through h_next alone")),
    ("lstm", "sigmoid derivative as tanh's for o", None,
     some(LB, ("dx", "dh_prev"), "joins the gates' blocks") | some(LB, GRADS, "sigmoid: s * (1 - s)")),
    ("lstm", "dWh with the factors swapped", None, every(LB, SHAPE)),
    ("lstm", "db summed over the wrong axis", None, every(LB, "a sum over the wrong axis")),
    ("lstm", "dh_prev missing transpose", None, every(LB, SHAPE)),
    # -- lstm: the other mistakes learners make -----------------------------------------------------
    ("lstm", "c_prev *= f", [("lstm", "c_next = f * c_prev + i * g", "c_prev *= f\n        c_next = c_prev + i * g")],
     {(LF, "cache"): "the cache holds the c_prev that forward was given, as it was given",
      (LF, "inputs unchanged"): "do not change the arrays you are given, make new ones"}),
    ("lstm", "dc = dc_next; dc += ...",
     [("lstm", "dc = dc_next + dh_next * o * (1 - tc ** 2)", "dc = dc_next\n        dc += dh_next * o * (1 - tc ** 2)")],
     {(LB, "inputs unchanged"): "do not change the arrays you are given, make new ones"}),
    ("lstm", "F.lstm and autograd", "cheat", every(LF, "builds F.lstm: write it with xp") | every(LB, "builds F.lstm")),
    ("lstm", "db divided by N",
     [("lstm", "self.grads[2][...] = dA.sum(axis=0)", "self.grads[2][...] = dA.sum(axis=0) / len(dA)")],
     {(LB, "db"): "divided or multiplied by the batch size N: db sums over the batch, no mean"}),
    ("lstm", "dWh stored as a new array",
     [("lstm", "self.grads[1][...] = h_prev.T @ dA", "self.grads[1] = h_prev.T @ dA")],
     {(LB, "dWh"): "is a new array: write into the one __init__ made"}),
    ("lstm", "a cache without tc",
     [("lstm", "self.cache = (x, h_prev, c_prev, i, f, g, o, tc)", "self.cache = (x, h_prev, c_prev, i, f, g, o)"),
      ("lstm", "x, h_prev, c_prev, i, f, g, o, tc = self.cache",
       "x, h_prev, c_prev, i, f, g, o = self.cache\n        tc = xp.tanh(f * c_prev + i * g)")],
     {(LF, "cache"): "it is a tuple of 7"} | every(LB, "self.cache is the tuple (x, h_prev, c_prev, i, f, g, o, tc)")),
]

WRONG_HERE = {(name, what): changes for name, what, changes in WRONG if name in NAMES}


def wrong_version(name, what, changes):
    if changes is None:
        changes = WRONG_HERE[name, what]
    if changes == "cheat":
        nb = nbformat.read(source_path(name), as_version=4)
        cell_by_id(nb, "lstm").source = CHEAT_LSTM
        return nb
    return with_changes(name, changes)


def test_the_catalogue_holds_every_wrong_version_of_these_assignments():
    listed = {(name, what) for name, what, changes, _ in CATALOGUE if changes is None}
    assert listed == set(WRONG_HERE), set(WRONG_HERE) ^ listed


@pytest.mark.parametrize("name", NAMES)
def test_the_solution_fails_no_part(name):
    assert grade(nbformat.read(source_path(name), as_version=4)) == {}


@pytest.mark.parametrize("name", NAMES)
def test_the_untouched_release_fails_every_part(name):
    """Graded with the instructor's test cells (hidden cases included), the release's stubs lose
    every part: no point for "inputs unchanged" when the code only raises."""
    from rnnviz.grading.protocol import get_check

    release = nbformat.read(release_path(name), as_version=4)
    source = nbformat.read(source_path(name), as_version=4)
    for cell in release.cells:
        if nbg(cell).get("grade"):
            cell.source = cell_by_id(source, nbg(cell)["grade_id"]).source
    every_part = {(call.check, p) for _, _, test in graded_cells(release) for call in test.calls
                  for p in get_check(call.check).parts}
    assert set(grade(release)) == every_part


@pytest.mark.parametrize("name,what,changes,expected", CATALOGUE, ids=[f"{n}:{w}" for n, w, _, _ in CATALOGUE])
def test_a_mistake_costs_its_parts_and_gets_its_hint(name, what, changes, expected):
    failed = grade(wrong_version(name, what, changes))
    assert set(failed) == set(expected), (
        f"{what}: failed parts differ\n  unexpected: {sorted(set(failed) - set(expected))}\n"
        f"  missing: {sorted(set(expected) - set(failed))}\n" + "\n".join(f"{k}: {v}" for k, v in failed.items()))
    for key, phrase in expected.items():
        assert phrase in failed[key], f"{what}: {key} says\n{failed[key]}\nwithout {phrase!r}"


def test_a_wrong_forward_keeps_the_backwards_points():
    """The backward is judged from the reference cache: forward bugs cost forward parts only."""
    for name, what, changes, expected in CATALOGUE:
        if "(the backward keeps its points)" in what or what == "gate order [f, i, ...] in forward":
            assert all("backward" not in check for check, _ in expected), what
    forward_bugs = [w for _, w, _, _ in CATALOGUE if "(the backward keeps its points)" in w or "in forward" in w]
    assert len(forward_bugs) >= 3


@pytest.mark.parametrize("name", NAMES)
def test_parts_and_points(name):
    """Each test cell's parts add up to its points (the weights are the points the notebook's
    table gives), and every part a judge can mark is declared."""
    from rnnviz.grading.protocol import get_check

    for grade_id, points, test in graded_cells(nbformat.read(source_path(name), as_version=4)):
        checks = {call.check for call in test.calls}
        assert sum(sum(get_check(c).parts.values()) for c in checks) == pytest.approx(points), grade_id
    assert get_check("lstm.backward").parts == {"dc_prev": 1, "dx": 0.75, "dh_prev": 0.75, "dWx": 0.75,
                                                "dWh": 0.75, "db": 0.5, "inputs unchanged": 0.5}
    assert get_check("lstm.forward").parts == {"c_next": 1, "h_next": 1, "cache": 0.5, "inputs unchanged": 0.5}
    assert set(get_check("rnn_by_hand.time_rnn_forward").parts) == {"forward", "stateful", "reset_state",
                                                                     "inputs unchanged"}


@pytest.mark.parametrize("name", NAMES)
def test_no_forward_case_shares_an_array_with_a_backward_case(name):
    """A backward case sends the reference forward's intermediate values (its cache) to the kernel:
    harmless only because no forward case is judged on the same inputs."""
    from rnnviz.grading.protocol import get_check

    forward, backward = [], []
    for _, _, test in graded_cells(nbformat.read(source_path(name), as_version=4)):
        for call in test.calls:
            arrays = [v for v in get_check(call.check).inputs(**call.case).values() if isinstance(v, numpy.ndarray)]
            (backward if "backward" in call.check else forward).extend(arrays)
    assert forward and backward
    for a in forward:
        for b in backward:
            assert not (a.size > 1 and a.shape == b.shape and numpy.allclose(a, b)), name


def test_the_forward_checks_send_no_reference_value():
    from rnnviz.grading.protocol import get_check

    assert set(get_check("rnn_by_hand.rnn_forward").inputs(seed=0, N=2, D=3, H=4)) == {"x", "h_prev", "Wx", "Wh", "b"}
    assert set(get_check("rnn_by_hand.time_rnn_forward").inputs(seed=0, N=2, T=3, D=3, H=4)) == {
        "xs1", "xs2", "Wx", "Wh", "b"}
    assert set(get_check("lstm.forward").inputs(seed=0, N=2, D=3, H=4)) == {
        "x", "h_prev", "c_prev", "Wx", "Wh", "b", "dh_next", "dc_next"}


def test_the_library_is_refused_during_the_learners_calls_only():
    """F.lstm, autograd and a function imported before the call are refused while the learner's
    code runs, and work again afterwards."""
    import rnnviz.functions as F
    from rnnviz import Variable
    from rnnviz.functions import lstm as lstm_bound_early
    from rnnviz.grading.assignments.rnn_by_hand import Refused, refusing_library

    x = numpy.ones((1, 4))
    before = (F.lstm, F.tanh, Variable.backward)
    with refusing_library("no"):
        for call in (lambda: F.lstm(numpy.zeros((1, 1)), x), lambda: lstm_bound_early(numpy.zeros((1, 1)), x),
                     lambda: Variable(x).backward(), lambda: F.tanh(x)):
            with pytest.raises(Refused, match="^no "):
                call()
    assert (F.lstm, F.tanh, Variable.backward) == before
    c, h = F.lstm(numpy.zeros((1, 1)), x)
    y = F.sum(F.tanh(Variable(x)))
    y.backward()
    assert h.shape == (1, 1)


def test_the_notebooks_state_what_is_tested():
    """Each thing the checks test is stated in the notebook the learner reads."""
    rnn = "\n".join(c.source for c in nbformat.read(release_path("rnn_by_hand"), as_version=4).cells
                    if c.cell_type == "markdown")
    for words in ("self.cache = (x, h_prev, h_next)", "self.layers", "reset_state()", "self.idx",
                  "self.grads[0][...] = dWx", "never changes the arrays it is given", "off limits",
                  "partial credit", "not a mean", "set it to zero first"):
        assert words in rnn, words
    lstm = "\n".join(c.source for c in nbformat.read(release_path("lstm"), as_version=4).cells
                     if c.cell_type == "markdown")
    for words in ("self.cache = (x, h_prev, c_prev, i, f, g, o, tc)", "never changes the arrays it is given",
                  "off limits", "partial credit", "Backward: derive it", "<details>", "The formulas (open this last)",
                  "no mean"):
        assert words in lstm, words
    # the backward's formulas are given only in the last hint, after the chain-rule hints
    md = lstm.split("## 2. Backward: derive it", 1)[1]
    assert md.index("dc_{next} + dh_{next}") > md.index("The formulas (open this last)") > md.index("Hint 4")


def test_messages_reveal_no_hidden_value():
    """The messages of wrong versions hold no number of a case's arrays (only shapes, relative
    errors and the sizes of the case)."""
    from rnnviz.grading.protocol import get_check

    for name, what, changes, _ in CATALOGUE[::2]:
        nb = wrong_version(name, what, changes)
        values = []
        for _, _, test in graded_cells(nb):
            for call in test.calls:
                for v in get_check(call.check).inputs(**call.case).values():
                    if isinstance(v, numpy.ndarray) and v.dtype.kind == "f":
                        values += [f"{x:.4f}" for x in v.ravel()[:20]]
        for message in grade(nb).values():
            text = message.replace("relative error", "")
            assert not any(v in text for v in values if abs(float(v)) > 0.01), (what, message)
