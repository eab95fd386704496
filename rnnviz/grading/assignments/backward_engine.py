"""Checks for the backward-engine assignment: the learner's engine against rnnviz's plain engine.

``ops`` is a dict of graph builders for one framework: ``add``, ``mul``, ``neg``, ``tanh`` and
``var`` (make a leaf). The learner's small framework gives one (``mini``), rnnviz the other
(``RNNVIZ``); each check builds the same graph in both, back-propagates the same output gradient
(rnnviz with its plain engine) and compares every gradient.
"""
import numpy

from ... import functions as F
from ...core import Variable, using_config
from ..checks import check_array

RNNVIZ = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "neg": lambda a: -a, "tanh": F.tanh,
          "var": lambda data, name=None: Variable(data, name=name)}


def random_graph(ops, dev, seed, n_leaves=3, n_ops=25, size=4):
    """A random graph: each op takes one or two earlier variables (recent ones more often); every
    variable reaches the output. Returns (variables, output)."""
    rng = numpy.random.default_rng(seed)
    vs = [ops["var"](dev.randn(seed + k, size), name=f"x{k}") for k in range(n_leaves)]
    for _ in range(n_ops):
        def pick():
            return vs[min(len(vs) - 1, int(len(vs) - rng.geometric(0.4)))]
        kind = rng.choice(["add", "mul", "neg", "tanh"], p=[0.35, 0.25, 0.1, 0.3])
        vs.append(ops[kind](pick(), pick()) if kind in ("add", "mul") else ops[kind](pick()))
    out = vs[-1]
    for v in vs[n_leaves:-1]:
        out = ops["add"](out, ops["tanh"](v))
    return vs, out


def run_both(mini, build, dev, retain_grad=False, gy_seed=99):
    """``build(ops)`` -> (variables, output) in both frameworks; backward from the same output
    gradient (from ones when ``gy_seed`` is None). Returns [(variables, output)] * 2."""
    results = []
    for ops in (mini, RNNVIZ):
        vs, out = build(ops)
        if gy_seed is not None:
            out.grad = dev.randn(gy_seed, *out.data.shape)
        with using_config("batched_backward", False):
            try:
                out.backward(retain_grad=retain_grad)
            except KeyError as e:
                if ops is not mini:
                    raise
                raise AssertionError(
                    f"backward raised KeyError {e}: a function looked for its output's gradient and "
                    f"found none. Usually a function was taken from the heap twice (push each "
                    f"function once), or before every consumer of its output had run") from e
        results.append((vs, out))
    return results


def compare(results, dev, what, n_leaves):
    """Every variable's .grad in the learner's graph against rnnviz's."""
    (vs, _), (rvs, _) = results
    for k, (v, r) in enumerate(zip(vs, rvs)):
        name = f"{what}: .grad of {'leaf' if k < n_leaves else 'intermediate variable'} {k}"
        if r.grad is None:
            assert v.grad is None, f"{name} should be None (retain_grad=False keeps no intermediate gradient)"
        else:
            check_array(name, v.grad, r.grad, device=dev, mistakes={
                "scaled": "a variable used twice gets the sum of both gradients: accumulate, do not "
                          "assign; and run each function once (push it once)",
                "other": "run a function only after all its consumers have run: highest generation "
                         "first (a heap); accumulate where paths meet"})


def check_basics(mini, dev):
    """A chain, a diamond and x + x."""
    def chain(o):
        x = o["var"](dev.randn(1, 3))
        return [x], o["tanh"](o["mul"](o["tanh"](x), x))

    def diamond(o):
        x = o["var"](dev.randn(2, 3))
        a = o["tanh"](x)
        return [x, a], o["add"](o["mul"](a, x), o["neg"](o["tanh"](a)))

    def twice(o):
        x = o["var"](dev.randn(3, 3))
        return [x], o["add"](x, x)

    for what, build in [("chain", chain), ("diamond", diamond), ("x + x", twice)]:
        compare(run_both(mini, build, dev), dev, what, 1)


def check_random(mini, dev, seeds):
    for seed in seeds:
        compare(run_both(mini, lambda o: random_graph(o, dev, seed), dev), dev, f"random graph {seed}", 3)


def check_retain(mini, dev, seed):
    """retain_grad off and on, then a second backward over the same leaves (their .grad adds up)."""
    def build(o):
        return random_graph(o, dev, seed, n_ops=12)

    for retain in (False, True):
        compare(run_both(mini, build, dev, retain_grad=retain), dev, f"retain_grad={retain}", 3)
    (vs, _), (rvs, _) = run_both(mini, build, dev)
    for ops, leaves in ((mini, vs[:3]), (RNNVIZ, rvs[:3])):
        y = ops["tanh"](ops["mul"](leaves[0], leaves[1]))
        y.grad = dev.randn(7, *y.data.shape)
        with using_config("batched_backward", False):
            y.backward()
    for k, (v, r) in enumerate(zip(vs[:3], rvs[:3])):
        check_array(f"second backward: leaf {k}.grad", v.grad, r.grad, device=dev, mistakes={
            "other": "a leaf's .grad keeps what earlier backward calls left: add to it "
                     "(x.grad = x.grad + gx), do not overwrite it"})


def check_long_chain(mini, dev, steps):
    """h = tanh(h * w + x), ``steps`` times: no recursion."""
    def build(o):
        x, w = o["var"](dev.randn(5, 3)), o["var"](0.5 * dev.randn(6, 3))
        h = x
        for _ in range(steps):
            h = o["tanh"](o["add"](o["mul"](h, w), x))
        return [x, w], h

    try:
        results = run_both(mini, build, dev)
    except RecursionError:
        raise AssertionError(f"a {steps}-step chain hit Python's recursion limit: walk the graph "
                             "with a loop and a heap, not with recursive calls") from None
    compare(results, dev, f"{steps}-step chain", 2)
