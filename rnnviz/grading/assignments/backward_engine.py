"""Checks for the backward-engine assignment: the learner's engine against rnnviz's plain engine.

A graph is plain data, made in the grader (``inputs``): the leaves' arrays and a *program*, an
integer array of rows ``(op, a, b)`` (``OPS[op]`` applied to variables ``a`` and ``b``; ``b`` is -1
for the one-input ops). Variables are numbered in order: the leaves first, then one per row; the
last one is the output. A graph also says which variables to report, the output gradient to start
from (``None``: backward starts from ones), ``retain_grad``, and, for the check of gradients that
add up over two backward calls, a second program (``then``) run on the same variables afterwards.

In the learner's kernel ``run`` builds each graph with the learner's ``Variable``, ``add``, ``mul``,
``neg`` and ``tanh``, calls ``backward`` and sends back the ``.grad`` of the reported variables
(``None`` stays ``None``). The grader builds the same graph with rnnviz (``Variable``, ``F.tanh``),
back-propagates with rnnviz's plain engine and compares every gradient (``judge``).

Checks (``run_test("backward_engine.<check>", Variable, add, mul, neg, tanh, **case)``):

- ``basics``: one small graph named by ``graph`` (``GRAPHS``), leaves from ``seed`` of ``size``;
- ``random``: a random graph of ``seed`` (``random_graph``);
- ``retain``: a random graph of ``seed`` with ``retain_grad`` off, on, then a second backward;
- ``chain``: ``h = tanh(h * w + x)``, ``steps`` times: no recursion.

Visible and hidden tests call these checks with other seeds and sizes.
"""
import numpy

from ... import functions as F
from ...core import Variable, using_config
from ..checks import USUAL_MISTAKES, check_array, to_numpy
from ..protocol import Check, host, register

OPS = ("add", "mul", "neg", "tanh")                 # op codes 0..3 of a program's rows
BINARY = {0, 1}
GY_SEED = 99            # the output gradient the backward call starts from
SECOND_GY_SEED = 7      # ... and the second backward's, in the retain check

RNNVIZ_OPS = (lambda a, b: a + b, lambda a, b: a * b, lambda a: -a, F.tanh)

MISTAKES = {
    "scaled": "a variable used twice gets the sum of both gradients: accumulate, do not "
              "assign; and run each function once (push it once)",
    "other": "run a function only after all its consumers have run: highest generation "
             "first (a heap); accumulate where paths meet"}
SECOND_MISTAKES = {
    "other": "a leaf's .grad keeps what earlier backward calls left: add to it "
             "(x.grad = x.grad + gx), do not overwrite it"}
KEY_ERROR = ("a function looked for its output's gradient and found none. Usually a function was "
             "taken from the heap twice (push each function once), or before every consumer of "
             "its output had run")
RECURSION = ("a deep graph (a long chain) hit Python's recursion limit: walk the graph with a loop "
             "and a heap, not with recursive calls")


def randn(seed, *shape):
    """Standard-normal float64 numbers (the leaves and output gradients of the graphs)."""
    return numpy.random.default_rng(seed).standard_normal(shape)


# -- graphs as data (made in the grader) ------------------------------------------------------------

class Graph:
    """A graph being written down as data: ``leaf(array)`` and ``add``, ``mul``, ``neg``, ``tanh``
    over variable numbers, each returning the new variable's number."""

    def __init__(self):
        self.leaves, self.shapes = [], []
        self.rows = []          # the program's rows, flat: op, a, b, op, a, b, ... (plain ints)

    @property
    def size(self):
        """How many variables there are so far."""
        return len(self.shapes)

    def leaf(self, array):
        assert not self.rows, "the leaves come before the operations"
        self.leaves.append(numpy.asarray(array, dtype=numpy.float64))
        self.shapes.append(self.leaves[-1].shape)
        return self.size - 1

    def _op(self, code, a, b=-1):
        self.rows += (code, a, b)
        sa = self.shapes[a]
        sb = self.shapes[b] if b >= 0 else sa
        self.shapes.append(sa if sa == sb else numpy.broadcast_shapes(sa, sb))
        return self.size - 1

    def add(self, a, b):
        return self._op(0, a, b)

    def mul(self, a, b):
        return self._op(1, a, b)

    def neg(self, a):
        return self._op(2, a)

    def tanh(self, a):
        return self._op(3, a)

    def program(self, start=0):
        """The rows from row ``start`` on, as an (n, 3) int32 array."""
        return numpy.array(self.rows[3 * start:], dtype=numpy.int32).reshape(-1, 3)

    def spec(self, what, report, gy_seed=GY_SEED, retain_grad=False):
        """One graph to back-propagate, from its output (the last variable), as plain data."""
        return {"what": what, "leaves": list(self.leaves), "program": self.program(),
                "gy": None if gy_seed is None else randn(gy_seed, *self.shapes[-1]),
                "retain_grad": bool(retain_grad), "report": numpy.array(report, dtype=numpy.int32),
                "then": None}


def chain(g, seed, size):
    x = g.leaf(randn(seed, size))
    g.tanh(g.mul(g.tanh(x), x))
    return [x]


def diamond(g, seed, size):
    x = g.leaf(randn(seed, size))
    a = g.tanh(x)
    g.add(g.mul(a, x), g.neg(g.tanh(a)))
    return [x, a]


def twice(g, seed, size):
    x = g.leaf(randn(seed, size))
    g.add(x, x)
    return [x]


def square_twice(g, seed, size):
    """y = a*a + a*a with a = x*x: a's gradient comes from four uses."""
    x = g.leaf(randn(seed, size))
    a = g.mul(x, x)
    g.add(g.mul(a, a), g.mul(a, a))
    return [x, a]


def long_and_short(g, seed, size):
    """One path of 6 steps and one of 1 step meet at the output."""
    x = g.leaf(randn(seed, size))
    h = x
    for _ in range(6):
        h = g.tanh(g.add(h, x))
    g.add(h, g.neg(x))
    return [x]


def tanh_times_x(g, seed, size):
    x = g.leaf(randn(seed, size))
    g.mul(g.tanh(x), x)
    return [x]


#: graph name -> (builder(g, seed, size) -> reported variables, label in messages, output gradient
#: set before backward (False: backward starts from ones)).
GRAPHS = {
    "chain": (chain, "chain", True),
    "diamond": (diamond, "diamond", True),
    "x + x": (twice, "x + x", True),
    "a*a + a*a": (square_twice, "a*a + a*a", True),
    "long and short paths": (long_and_short, "long and short paths", True),
    "one-element output": (tanh_times_x, "a one-element output whose .grad was not set", False),
}


def random_graph(seed, n_leaves=3, n_ops=25, size=4):
    """A random graph: each op takes one or two earlier variables (recent ones more often); every
    variable reaches the output. Returns (graph, the leaves' and the ops' variables)."""
    rng = numpy.random.default_rng(seed)
    g = Graph()
    for k in range(n_leaves):
        g.leaf(randn(seed + k, size))

    def pick():  # range(n)[i]: a negative i counts from the end, as a list index does
        return range(g.size)[min(g.size - 1, int(g.size - rng.geometric(0.4)))]

    for _ in range(n_ops):
        kind = rng.choice(["add", "mul", "neg", "tanh"], p=[0.35, 0.25, 0.1, 0.3])
        if kind in ("add", "mul"):
            a = pick()
            getattr(g, kind)(a, pick())
        else:
            getattr(g, kind)(pick())
    out = g.size - 1
    for v in range(n_leaves, n_leaves + n_ops - 1):
        out = g.add(out, g.tanh(v))
    return g, list(range(n_leaves + n_ops))


# -- building and back-propagating a graph in a framework ------------------------------------------

def build(vs, program, ops):
    """Append to ``vs`` one variable per row of ``program`` (an (n, 3) array on any device; ``ops``:
    add, mul, neg, tanh); return the last one."""
    codes, first, second = to_numpy(program).T.tolist()   # plain ints, read once
    for code, a, b in zip(codes, first, second):
        vs.append(ops[code](vs[a], vs[b]) if code in BINARY else ops[code](vs[a]))
    return vs[-1]


def back_propagate(spec, make_leaf, ops, as_array):
    """Build ``spec``'s graph (leaves ``make_leaf(as_array(leaf))``), set the output gradient,
    backward (then the ``then`` part); return the reported variables."""
    vs = [make_leaf(as_array(a)) for a in spec["leaves"]]
    y = build(vs, spec["program"], ops)
    if spec["gy"] is not None:
        y.grad = as_array(spec["gy"])
    y.backward(retain_grad=bool(spec["retain_grad"]))
    then = spec["then"]
    if then is not None:
        y = build(vs, then["program"], ops)
        y.grad = as_array(then["gy"])
        y.backward()
    return [vs[k] for k in to_numpy(spec["report"]).tolist()]


def reference(spec):
    """The reported variables' gradients from rnnviz's plain engine (NumPy arrays or None)."""
    with using_config("batched_backward", False):
        vs = back_propagate(spec, Variable, RNNVIZ_OPS, host)
    return [None if v.grad is None else numpy.asarray(getattr(v.grad, "array", v.grad)) for v in vs]


def compare(got, want, indices, n_leaves, what, device):
    """Every reported variable's .grad in the learner's graph against rnnviz's."""
    for k, g, w in zip(indices, got, want):
        name = f"{what}: .grad of {'leaf' if k < n_leaves else 'intermediate variable'} {k}"
        if w is None:
            assert g is None, f"{name} should be None (retain_grad=False keeps no intermediate gradient)"
        else:
            check_array(name, g, w, device=device, mistakes=MISTAKES)


class GraphCheck(Check):
    """Back-propagate graphs given as data with the learner's framework; compare every gradient."""

    learner = ("Variable", "add", "mul", "neg", "tanh")

    def graphs(self, **case) -> list:
        raise NotImplementedError

    def inputs(self, **case):
        return {"graphs": self.graphs(**case)}

    def run(self, Variable, add, mul, neg, tanh, inputs, xp):
        ops = (add, mul, neg, tanh)
        return {"grads": [[v.grad for v in back_propagate(spec, Variable, ops, lambda a: a)]
                          for spec in inputs["graphs"]]}

    def judge(self, inputs, got, run):
        specs = inputs["graphs"]
        grads = got.get("grads")
        assert isinstance(grads, list) and len(grads) == len(specs), \
            f"expected the gradients of {len(specs)} graph(s)"
        for spec, mine in zip(specs, grads):
            indices = to_numpy(spec["report"]).tolist()
            assert isinstance(mine, list) and len(mine) == len(indices), \
                f"{spec['what']}: expected {len(indices)} gradient(s)"
            want = reference(spec)
            if spec["then"] is None:
                compare(mine, want, indices, len(spec["leaves"]), spec["what"], run.device)
                continue
            for k, g, w in zip(indices, mine, want):
                check_array(f"second backward: leaf {k}.grad", g, w, device=run.device,
                            mistakes=SECOND_MISTAKES)

    def explain(self, error):
        message = error.get("message", "")
        if error.get("type") == "KeyError":
            return KEY_ERROR
        if error.get("type") == "RecursionError":
            return RECURSION
        if "Unsupported type <class 'numpy.ndarray'>" in message:   # CuPy refusing a NumPy array
            return "usual mistake: " + USUAL_MISTAKES["numpy_on_gpu"]
        return ""


@register
class Basics(GraphCheck):
    """One small graph of ``GRAPHS``: a chain, a diamond, a variable used twice, ..."""

    name = "backward_engine.basics"

    def graphs(self, graph, seed, size):
        builder, what, set_gy = GRAPHS[graph]
        g = Graph()
        report = builder(g, seed, size)
        return [g.spec(what, report, gy_seed=GY_SEED if set_gy else None)]


@register
class Random(GraphCheck):
    """A random graph of 3 leaves and 25 operations, every variable reaching the output."""

    name = "backward_engine.random"

    def graphs(self, seed):
        g, report = random_graph(seed)
        return [g.spec("random graph", report)]


@register
class Retain(GraphCheck):
    """retain_grad off and on, then a second backward over the same leaves (their .grad adds up)."""

    name = "backward_engine.retain"

    def graphs(self, seed):
        g, report = random_graph(seed, n_ops=12)
        specs = [g.spec(f"retain_grad={retain}", report, retain_grad=retain) for retain in (False, True)]
        second = g.spec("second backward", [0, 1, 2])
        start = len(g.rows) // 3
        y = g.tanh(g.mul(0, 1))
        second["then"] = {"program": g.program(start), "gy": randn(SECOND_GY_SEED, *g.shapes[y])}
        return specs + [second]


@register
class LongChain(GraphCheck):
    """h = tanh(h * w + x), ``steps`` times: no recursion."""

    name = "backward_engine.chain"

    def graphs(self, steps):
        g = Graph()
        x, w = g.leaf(randn(5, 3)), g.leaf(0.5 * randn(6, 3))
        h = x
        for _ in range(steps):
            h = g.tanh(g.add(g.mul(h, w), x))
        return [g.spec(f"{steps}-step chain", [x, w])]
