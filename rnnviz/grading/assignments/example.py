"""The smallest assignment, a template for writing new ones (the grading tests' course uses it).

``squares(n)`` returns ``[1, 4, ..., n**2]``; ``square_grad(x, gy)`` the gradient of ``x**2`` for
the upstream gradient ``gy``. A test cell says::

    from rnnviz.grading import run_test
    run_test("example.squares", squares, n=3)
    run_test("example.square_grad", square_grad, x=[1.0, -2.0, 3.0])

Its messages are written with ``rnnviz.i18n`` (``STRINGS``: keys ``example.*``), in English or
Japanese as the grader or the learner's kernel asks; a new assignment does the same.
"""
import numpy

from ... import functions as F
from ... import i18n
from ...core import Variable
from ..checks import check_array
from ..protocol import Check, Other, host, register

STRINGS = {
    "example.not_list": {
        "en": "squares({n}) should return a list, it returned {kind}",
        "ja": "`squares({n})` はリストを返す必要がありますが、`{kind}` を返しました"},
    "example.wrong_squares": {
        "en": "squares({n}) is wrong: it should return the {n} squares 1, 4, ..., {n}**2 "
              "(it returned {items} items)",
        "ja": "`squares({n})` が間違っています: {n} 個の平方数 1, 4, ..., `{n}**2` を返す必要があります"
              "（返された要素は {items} 個です）"},
    "example.square_grad": {"en": "square_grad(x, gy)", "ja": "`square_grad(x, gy)`"},
}
i18n.register(STRINGS)


@register
class Squares(Check):
    """``squares(n)``: the list of the first n squares."""

    name = "example.squares"
    learner = ("squares",)

    def inputs(self, n):
        return {"n": int(n)}

    def describe(self, case):
        return ""          # the case is its input: a message names no hidden case's n

    def run(self, squares, inputs, xp):
        return {"squares": squares(inputs["n"])}

    def judge(self, inputs, got, run):
        n, value = inputs["n"], got["squares"]
        assert isinstance(value, list), i18n.tr("example.not_list", n=n, kind=_kind(value))
        want = [i * i for i in range(1, n + 1)]
        assert [host(v) for v in value] == want, i18n.tr("example.wrong_squares", n=n, items=len(value))


@register
class SquareGrad(Check):
    """``square_grad(x, gy)`` against rnnviz's backward of ``sum(x * x * gy)``."""

    name = "example.square_grad"
    learner = ("square_grad",)

    def describe(self, case):
        return ""          # the case is its inputs

    def inputs(self, x=None, linspace=None, gy=1.0):
        x = numpy.asarray(x if linspace is None else numpy.linspace(*linspace), dtype=numpy.float64)
        return {"x": x, "gy": numpy.full_like(x, gy)}

    def run(self, square_grad, inputs, xp):
        return {"grad": square_grad(inputs["x"], inputs["gy"])}

    def judge(self, inputs, got, run):
        x, gy = host(inputs["x"]), host(inputs["gy"])
        v = Variable(x)
        F.sum(v * v * Variable(gy)).backward()
        check_array(i18n.tr("example.square_grad"), got["grad"], v.grad, device=run.device)


def _kind(value):
    return value.type_name if isinstance(value, Other) else type(value).__name__
