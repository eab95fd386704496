"""Checks for the backward-engine assignment: the learner's engine against rnnviz's plain engine.

A graph is plain data, made in the grader (``inputs``): the leaves' arrays and a *program*, an
integer array of rows ``(op, a, b)`` (``OPS[op]`` applied to variables ``a`` and ``b``; ``b`` is -1
for the one-input ops). Variables are numbered in order: the leaves first, then one per row; the
last one is the output. A graph also says which variables to report and how a message names them
(``names``: "leaf x", "a leaf used 2 times", ...: never a number the learner cannot see), the
output gradient to start from (``None``: backward starts from ones), ``retain_grad``, the part of
the check it counts for, and, for the check of gradients that add up over two backward calls, a
second program (``then``) run on the same variables afterwards.

In the learner's kernel ``run`` builds each graph with the learner's ``Variable``, ``add``, ``mul``,
``neg`` and ``tanh``, calls ``backward`` and sends back, per graph, the ``.grad`` of the reported
variables (``None`` stays ``None``) or the error it raised (at the top level of what ``run``
returns, where ``pack`` allows an error's frames), whether backward called the backward of every
function of the graph (``walked``: ``run`` wraps each node's ``backward`` to count), and whether it
changed the leaves' ``.data`` or the array given as the output's gradient (``run`` keeps copies).
"inputs unchanged", "no recursion" and an intermediate ``.grad`` left ``None`` count only for a
graph that was walked without an error: a backward that does nothing changes nothing. For the long
chain it first sets Python's default recursion limit (1000; the learner's own setting comes back
afterwards) and reports the limit after the learner's backward and the deepest nesting of Python
calls backward reached (``sys.setprofile``): a loop stays a few calls deep, a recursion goes as
deep as the chain is long. The grader builds the same graph with rnnviz (``Variable``,
``F.tanh``), back-propagates with rnnviz's plain engine and compares every gradient (``judge``).

When gradients differ, the grader runs the same graph through a copy of the notebook's framework
with an engine that makes one known mistake at a time (``simulate``, ``DIAGNOSES``): a gradient
assigned where paths meet, a leaf's ``.grad`` overwritten, functions taken in the wrong order, ``+=``
on a gradient array another variable holds, starting from zeros. When the learner's gradients
are those of one mistake, the message names that mistake; otherwise it gives the general rules.

Checks (``run_test("backward_engine.<check>", Variable, add, mul, neg, tanh, **case)``) and their
parts (a test cell's points are shared among them by weight; a part fails once, in any case):

- ``basics``: one small graph named by ``graph`` (``GRAPHS``), leaves from ``seed`` of ``size``;
  a part per graph (chain, diamond, x + x, a*a + a*a, long and short paths, one-element output)
  and ``inputs unchanged``, 1 each;
- ``random``: a random graph of ``seed`` (``random_graph``); ``leaves' gradients`` 3,
  ``intermediate .grad left None`` 1, ``inputs unchanged`` 1;
- ``retain``: a random graph of ``seed`` with ``retain_grad`` off, on, then a second backward;
  ``retain_grad=False``, ``retain_grad=True``, ``second backward``, ``inputs unchanged``, 1 each;
- ``chain``: ``h = tanh(h * w + x)``, ``steps`` times; ``gradients`` 1, ``no recursion`` 2
  (no RecursionError, the recursion limit unchanged, no nesting that grows with the chain),
  ``inputs unchanged`` 1.

Visible and hidden tests call these checks with other seeds and sizes.

Messages are written with ``rnnviz.i18n`` when a check fails (``STRINGS``, keys
``backward_engine.*``): the hints below are keys, and a graph's spec names itself and its variables
by keys too (``"what"``: ``"label.chain"``, ``"label.chain_steps:2000"``; ``"names"``:
``"name.leaf_used:3"``), written out in the language of the moment by ``say``.
"""
import heapq
import itertools
import sys

import numpy

from ... import functions as F
from ... import i18n
from ...core import Variable, using_config
from ..checks import USUAL_MISTAKES, check_array, text_of, to_numpy, unchanged, usual
from ..protocol import Check, describe_error, format_error, host, part, register

OPS = ("add", "mul", "neg", "tanh")                 # op codes 0..3 of a program's rows
BINARY = {0, 1}
GY_SEED = 99            # the output gradient the backward call starts from
SECOND_GY_SEED = 7      # ... and the second backward's, in the retain check
DEFAULT_RECURSION_LIMIT = 1000   # Python's default: what the long chain runs under
MAX_DEPTH = 200         # nesting of calls in backward beyond which the long chain counts as recursion

RNNVIZ_OPS = (lambda a, b: a + b, lambda a, b: a * b, lambda a: -a, F.tanh)

# -- what a message says ----------------------------------------------------------------------------

STRINGS = {
    # the usual mistakes (the constants below are their keys)
    "backward_engine.accumulate": {
        "en": "where paths meet, a variable used by two functions gets the sum of their gradients: "
              "add to what it already got (grads[id(x)] = grads[id(x)] + gx), do not assign",
        "ja": "経路が合流するところでは、2 つの関数に使われる変数はそれらの勾配の和を受け取ります: 代入せずに、"
              "すでに受け取った勾配に足してください（`grads[id(x)] = grads[id(x)] + gx`）"},
    "backward_engine.accumulate_both": {
        "en": "{accumulate}; and add into a leaf's .grad likewise (x.grad = x.grad + gx)",
        "ja": "{accumulate}。葉の変数の `.grad` にも同じように足し込んでください（`x.grad = x.grad + gx`）"},
    "backward_engine.leaf_overwrite": {
        "en": "a leaf's .grad was overwritten: add into it (x.grad = gx if x.grad is None else "
              "x.grad + gx); it also keeps what earlier backward calls left there",
        "ja": "葉の変数の `.grad` が上書きされています: そこに足し込んでください"
              "（`x.grad = gx if x.grad is None else x.grad + gx`）。`.grad` には、それまでの `backward` の"
              "呼び出しが残したものも保たれます"},
    "backward_engine.order": {
        "en": "a function ran before every function that uses its output had run, so it passed on a "
              "partial gradient: take functions from a heap, highest generation first (push "
              "(-f.generation, a counter, f); heapq pops the smallest)",
        "ja": "ある関数が、その出力を使う関数がすべて実行される前に実行されたため、途中までの勾配を渡しています: "
              "関数はヒープから世代の高い順に取り出してください（`(-f.generation, counter, f)` を積みます。"
              "`heapq` は最小のものから取り出します）"},
    "backward_engine.aliasing": {
        "en": "`+=` changed a gradient array that another variable also holds (Add's backward hands "
              "the same gy to both its inputs, and a leaf's .grad may be that array): add out of "
              "place, x.grad = x.grad + gx, which makes a new array",
        "ja": "`+=` が、ほかの変数も持っている勾配の配列を書き換えました（`Add` の `backward` は同じ `gy` を"
              "両方の入力に渡し、葉の変数の `.grad` がその配列のこともあります）: 新しい配列を作る足し算 "
              "`x.grad = x.grad + gx` を使ってください"},
    "backward_engine.ones": {
        "en": "when output.grad is None, backward starts from ones shaped like output.data "
              "(xp.ones_like(output.data)), not zeros",
        "ja": "`output.grad` が `None` のとき、`backward` は 0 ではなく、`output.data` と同じ形状の 1 から"
              "始めます（`xp.ones_like(output.data)`）"},
    "backward_engine.retain_true": {
        "en": "with retain_grad=True each intermediate variable's .grad holds its summed gradient: "
              "set y.grad = gy when you take y's function from the heap",
        "ja": "`retain_grad=True` のときは、途中の変数の `.grad` にそれぞれの合計した勾配が入ります: `y` を"
              "作った関数をヒープから取り出すときに `y.grad = gy` としてください"},
    "backward_engine.retain_false": {
        "en": "with retain_grad=False only the leaves get a .grad: keep the intermediate "
              "variables' gradients in a dict of your own (grads[id(x)]), not in x.grad",
        "ja": "`retain_grad=False` のときは、葉の変数だけが `.grad` を持ちます: 途中の変数の勾配は `x.grad` では"
              "なく、自分の辞書（`grads[id(x)]`）に保ってください"},
    "backward_engine.unused_leaf": {
        "en": "backward gives a .grad only to the variables the output depends on: those it "
              "reaches from the output through the creators",
        "ja": "`backward` が `.grad` を与えるのは、出力が依存する変数（出力から `creator` をたどって届く変数）"
              "だけです"},
    "backward_engine.not_run": {
        "en": "backward must run every function the output depends on, each once: push a "
              "function's inputs' creators as you go, until the heap is empty",
        "ja": "`backward` は、出力が依存するすべての関数を 1 回ずつ実行する必要があります: 進みながら関数の入力の "
              "`creator` をヒープに積み、ヒープが空になるまで続けてください"},
    "backward_engine.not_reached": {
        "en": "no gradient reached it: every function between it and the output must run and "
              "pass its gradient on",
        "ja": "勾配が届いていません: その変数と出力の間にあるすべての関数が実行され、勾配を先へ渡す必要があります"},
    "backward_engine.general": {
        "en": "compare the engine with the rules: start from output.grad (ones when None), highest "
              "generation first, each function once, gradients added where paths meet and into a "
              "leaf's .grad, out of place (x.grad = x.grad + gx)",
        "ja": "エンジンを規則と比べてください: `output.grad` から始める（`None` なら 1 から）、世代の高い順、"
              "各関数は 1 回、経路が合流するところと葉の変数の `.grad` では勾配を足す、足し算は新しい配列で"
              "（`x.grad = x.grad + gx`）"},
    "backward_engine.scaled": {
        "en": "a path counted the wrong number of times: a gradient assigned where it "
              "should be added (a variable used twice), or a function run twice (push it once)",
        "ja": "ある経路を数える回数が違います: 足すべきところで勾配を代入しているか（2 回使われる変数）、関数を "
              "2 回実行しています（ヒープには 1 回だけ積んでください）"},
    "backward_engine.in_place": {
        "en": "an in-place operation (x.data += ..., x.data[...] = ...) on an array the caller "
              "still uses: backward only reads the leaves' .data",
        "ja": "呼び出し側がまだ使っている配列を、その場で書き換える演算があります（`x.data += ...`, "
              "`x.data[...] = ...`）: `backward` は葉の変数の `.data` を読むだけにしてください"},
    "backward_engine.key_error": {
        "en": "a function looked for its output's gradient and found none. Usually a function was "
              "taken from the heap twice (push each function once), or before every consumer of "
              "its output had run",
        "ja": "ある関数が出力の勾配を探しましたが、見つかりませんでした。たいていは、関数がヒープから 2 回"
              "取り出されたか（各関数は 1 回だけ積んでください）、その出力を使う関数がすべて実行される前に"
              "取り出されています"},
    "backward_engine.recursion": {
        "en": "a deep graph (a long chain) hit Python's recursion limit: walk the graph with a loop "
              "and a heap, not with recursive calls",
        "ja": "深いグラフ（長い鎖）が Python の再帰の上限に達しました: 再帰呼び出しではなく、ループとヒープで"
              "グラフをたどってください"},
    "backward_engine.nested": {
        "en": "a recursion (a function that calls itself for each input) nests as deep as the graph is "
              "long: walk the graph with a loop and a heap; raising the recursion limit, even for the "
              "length of the call, is no fix",
        "ja": "再帰（入力ごとに自分自身を呼ぶ関数）は、グラフの長さと同じだけ深く入れ子になります: ループと"
              "ヒープでグラフをたどってください。再帰の上限を上げても、呼び出しの間だけであっても、解決には"
              "なりません"},
    "backward_engine.limit_changed": {
        "en": "do not change the recursion limit (sys.setrecursionlimit); walk the graph with a "
              "loop and a heap",
        "ja": "再帰の上限を変えないでください（`sys.setrecursionlimit`）。ループとヒープでグラフをたどって"
              "ください"},
    "backward_engine.one_of": {
        "en": "one of these mistakes gives exactly these gradients: {choices}",
        "ja": "次の間違いのどれかが、ちょうどこの勾配になります: {choices}"},
    "backward_engine.or": {"en": "; or ", "ja": "。または "},
    # the messages
    "backward_engine.grad_of": {"en": "{what}: .grad of {name}", "ja": "{what}: {name}の `.grad`"},
    "backward_engine.should_be_none": {"en": "{name} should be None", "ja": "{name} は `None` のはずです"},
    "backward_engine.is_none": {"en": "{name} is None", "ja": "{name} が `None` です"},
    "backward_engine.not_walked": {
        "en": "{what}: backward did not run the backward of every function of the graph",
        "ja": "{what}: `backward` がグラフのすべての関数の `backward` を実行していません"},
    "backward_engine.graph_count": {
        "en": "expected the results of {n} graph(s)", "ja": "{n} 個のグラフの結果が必要です"},
    "backward_engine.gradient_count": {
        "en": "{what}: expected {n} gradient(s)", "ja": "{what}: 勾配が {n} 個必要です"},
    "backward_engine.nothing_walked": {
        "en": "backward did not run every function of any graph of this case (it raised an error, or "
              "stopped early), so nothing shows that it leaves its inputs as they were",
        "ja": "`backward` は、このケースのどのグラフでもすべての関数を実行しませんでした（エラーになったか、"
              "途中で止まりました）。そのため、入力をそのまま残すことが確かめられません"},
    "backward_engine.gy_changed": {
        "en": "backward changed the array given as the output's gradient (output.grad) in place",
        "ja": "`backward` が、出力の勾配として渡された配列（`output.grad`）をその場で書き換えました"},
    "backward_engine.leaves_changed": {
        "en": "backward changed the .data of {n} leaf/leaves",
        "ja": "`backward` が葉の変数 {n} 個の `.data` を書き換えました"},
    "backward_engine.hit_limit": {
        "en": "{what}: backward hit the recursion limit", "ja": "{what}: `backward` が再帰の上限に達しました"},
    "backward_engine.raised": {
        "en": "{what}: backward raised an error, so it did not show that it works without recursion: {error}",
        "ja": "{what}: `backward` がエラーになったため、再帰なしで動くことを示せませんでした: {error}"},
    "backward_engine.chain_not_walked": {
        "en": "{what}: backward did not run the backward of every function of the chain, so it did not "
              "show that it walks it without recursion",
        "ja": "{what}: `backward` が鎖のすべての関数の `backward` を実行しなかったため、再帰なしでたどれる"
              "ことを示せませんでした"},
    "backward_engine.limit": {
        "en": "{what}: backward changed the recursion limit (it ran under Python's default, {limit})",
        "ja": "{what}: `backward` が再帰の上限を変えました（Python の既定値 {limit} のもとで実行しました）"},
    "backward_engine.depth": {
        "en": "{what}: backward nested Python calls {depth} deep: a recursion, whose depth grows with the graph",
        "ja": "{what}: `backward` が Python の呼び出しを {depth} 段の深さまで入れ子にしました: グラフとともに"
              "深くなる再帰です"},
    # what a graph is called in a message ("what": "label.<key>" or "label.<key>:<arg>")
    "backward_engine.label.chain": {"en": "chain", "ja": "鎖"},
    "backward_engine.label.diamond": {"en": "diamond", "ja": "ひし形"},
    "backward_engine.label.twice": {"en": "x + x", "ja": "`x + x`"},
    "backward_engine.label.square_twice": {"en": "a*a + a*a", "ja": "`a*a + a*a`"},
    "backward_engine.label.long_short": {"en": "long and short paths", "ja": "長い経路と短い経路"},
    "backward_engine.label.one_element": {
        "en": "a one-element output whose .grad was not set", "ja": "`.grad` が設定されていない要素 1 個の出力"},
    "backward_engine.label.random": {"en": "random graph", "ja": "ランダムなグラフ"},
    "backward_engine.label.retain": {"en": "retain_grad={arg}", "ja": "`retain_grad={arg}`"},
    "backward_engine.label.second": {"en": "second backward", "ja": "2 回目の `backward`"},
    "backward_engine.label.chain_steps": {"en": "{arg}-step chain", "ja": "{arg} ステップの鎖"},
    # how a message names a variable ("names": "name.<key>" or "name.<key>:<uses>")
    "backward_engine.name.leaf_x": {"en": "leaf x", "ja": "葉の変数 `x` "},
    "backward_engine.name.leaf_w": {"en": "leaf w", "ja": "葉の変数 `w` "},
    "backward_engine.name.diamond_a": {
        "en": "a = tanh(x), an intermediate variable used 2 times,",
        "ja": "`a = tanh(x)`（2 回使われる途中の変数）"},
    "backward_engine.name.square_a": {
        "en": "a = x*x, an intermediate variable used 4 times,", "ja": "`a = x*x`（4 回使われる途中の変数）"},
    "backward_engine.name.leaf_unused": {
        "en": "a leaf the output does not depend on", "ja": "出力が依存しない葉の変数"},
    "backward_engine.name.inner_unused": {
        "en": "an intermediate variable the output does not depend on", "ja": "出力が依存しない途中の変数"},
    "backward_engine.name.leaf_used_once": {"en": "a leaf used 1 time", "ja": "1 回使われる葉の変数"},
    "backward_engine.name.inner_used_once": {
        "en": "an intermediate variable used 1 time", "ja": "1 回使われる途中の変数"},
    "backward_engine.name.leaf_used": {"en": "a leaf used {arg} times", "ja": "{arg} 回使われる葉の変数"},
    "backward_engine.name.inner_used": {
        "en": "an intermediate variable used {arg} times", "ja": "{arg} 回使われる途中の変数"},
    "backward_engine.name.both": {
        "en": "a leaf both backward calls reach", "ja": "2 回の `backward` の両方が届く葉の変数"},
    "backward_engine.name.second_only": {
        "en": "a leaf only the second backward reaches", "ja": "2 回目の `backward` だけが届く葉の変数"},
    "backward_engine.name.first_only": {
        "en": "a leaf only the first backward reaches", "ja": "1 回目の `backward` だけが届く葉の変数"},
}
i18n.register(STRINGS)

ACCUMULATE = "backward_engine.accumulate"
LEAF_OVERWRITE = "backward_engine.leaf_overwrite"
ORDER = "backward_engine.order"
ALIASING = "backward_engine.aliasing"
ONES = "backward_engine.ones"
RETAIN_TRUE = "backward_engine.retain_true"
RETAIN_FALSE = "backward_engine.retain_false"
UNUSED_LEAF = "backward_engine.unused_leaf"
NOT_RUN = "backward_engine.not_run"
NOT_REACHED = "backward_engine.not_reached"
GENERAL = "backward_engine.general"
MISTAKES = {"scaled": "backward_engine.scaled", "other": GENERAL}
IN_PLACE = "backward_engine.in_place"
KEY_ERROR = "backward_engine.key_error"
RECURSION = "backward_engine.recursion"
NESTED = "backward_engine.nested"
LIMIT_CHANGED = "backward_engine.limit_changed"


def say(coded: str) -> str:
    """A graph's or a variable's name as a spec keeps it (``"label.chain_steps:2000"``), written out
    in the current language."""
    key, _, arg = str(coded).partition(":")
    return i18n.tr(f"backward_engine.{key}", arg=arg)


def _failed(problem: str, hint: str) -> AssertionError:
    """"<problem>.\n  usual mistake: <hint>" in the current language (``hint``: a key or a text)."""
    return AssertionError(i18n.tr("checks.failed", problem=problem, usual=text_of(hint)))


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

    def uses(self, k):
        """How many operands of the program are variable ``k``."""
        return sum(1 for i in range(0, len(self.rows), 3) for a in self.rows[i + 1:i + 3] if a == k)

    def kind(self, k):
        """Variable ``k`` as a message may name it (a ``say`` code): by kind and uses, never by its
        number."""
        n = self.uses(k)
        what = "leaf" if k < len(self.leaves) else "inner"
        if n == 0:
            return f"name.{what}_unused"
        return f"name.{what}_used_once" if n == 1 else f"name.{what}_used:{n}"

    def spec(self, what, report, gy_seed=GY_SEED, retain_grad=False, part="gradients",
             inner_part=None, names=None):
        """One graph to back-propagate, from its output (the last variable), as plain data."""
        return {"what": what, "leaves": list(self.leaves), "program": self.program(),
                "gy": None if gy_seed is None else randn(gy_seed, *self.shapes[-1]),
                "retain_grad": bool(retain_grad), "report": numpy.array(report, dtype=numpy.int32),
                "names": list(names) if names is not None else [self.kind(k) for k in report],
                "part": part, "inner_part": inner_part or part, "then": None, "deep": False}


def chain(g, seed, size):
    x = g.leaf(randn(seed, size))
    g.tanh(g.mul(g.tanh(x), x))
    return [(x, "name.leaf_x")]


def diamond(g, seed, size):
    x = g.leaf(randn(seed, size))
    a = g.tanh(x)
    g.add(g.mul(a, x), g.neg(g.tanh(a)))
    return [(x, "name.leaf_x"), (a, "name.diamond_a")]


def twice(g, seed, size):
    x = g.leaf(randn(seed, size))
    g.add(x, x)
    return [(x, "name.leaf_x")]


def square_twice(g, seed, size):
    """y = a*a + a*a with a = x*x: a's gradient comes from four uses."""
    x = g.leaf(randn(seed, size))
    a = g.mul(x, x)
    g.add(g.mul(a, a), g.mul(a, a))
    return [(x, "name.leaf_x"), (a, "name.square_a")]


def long_and_short(g, seed, size):
    """One path of 6 steps and one of 1 step meet at the output."""
    x = g.leaf(randn(seed, size))
    h = x
    for _ in range(6):
        h = g.tanh(g.add(h, x))
    g.add(h, g.neg(x))
    return [(x, "name.leaf_x")]


def tanh_times_x(g, seed, size):
    x = g.leaf(randn(seed, size))
    g.mul(g.tanh(x), x)
    return [(x, "name.leaf_x")]


#: graph name (and part of ``basics``) -> (builder(g, seed, size) -> reported variables and their
#: names (``say`` codes), label in messages (a ``say`` code), output gradient set before backward
#: (False: backward starts from ones)).
GRAPHS = {
    "chain": (chain, "label.chain", True),
    "diamond": (diamond, "label.diamond", True),
    "x + x": (twice, "label.twice", True),
    "a*a + a*a": (square_twice, "label.square_twice", True),
    "long and short paths": (long_and_short, "label.long_short", True),
    "one-element output": (tanh_times_x, "label.one_element", False),
}


def random_graph(seed, n_leaves=3, n_ops=25, size=4):
    """A random graph: each op takes one or two earlier variables (recent ones more often); every
    variable reaches the output. Returns (graph, the leaves' and the ops' variables)."""
    rng = numpy.random.default_rng(seed)
    g = Graph()
    for k in range(n_leaves):
        g.leaf(randn(seed + k, size))

    def pick():  # range(n)[i]: a negative i counts from the end, as a list index does (at most n back)
        return range(g.size)[max(-g.size, min(g.size - 1, int(g.size - rng.geometric(0.4))))]

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


def back_propagate(spec, make_leaf, ops, as_array, vs=None, call=None):
    """Build ``spec``'s graph (leaves ``make_leaf(as_array(leaf))``, appended to ``vs``), set the
    output gradient, backward (through ``call(thunk)`` when given), then the ``then`` part; return
    the reported variables."""
    vs = [] if vs is None else vs
    vs.extend(make_leaf(as_array(a)) for a in spec["leaves"])
    y = build(vs, spec["program"], ops)
    if spec["gy"] is not None:
        y.grad = as_array(spec["gy"])
    step = lambda: y.backward(retain_grad=bool(spec["retain_grad"]))  # noqa: E731
    step() if call is None else call(step)
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


# -- the learner's side: what run reports besides the gradients --------------------------------------

def _keep(a):
    return a.copy() if hasattr(a, "copy") and hasattr(a, "dtype") else a




def deepest_call(step):
    """Run ``step()``; return how many Python calls deep it nested at most (``sys.setprofile``)."""
    depth = [0, 0]

    def profile(frame, event, arg):
        if event == "call":
            depth[0] += 1
            if depth[0] > depth[1]:
                depth[1] = depth[0]
        elif event == "return":
            depth[0] -= 1

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        step()
    finally:
        sys.setprofile(previous)
    return depth[1]


def _counting(f, ran):
    """Make the function node ``f`` note in ``ran`` that its backward was called."""
    original = f.backward

    def backward(*gys, **kwargs):
        ran.add(id(f))
        return original(*gys, **kwargs)
    f.backward = backward


def run_graph(spec, Variable, ops):
    """One graph through the learner's framework: {"grads"} or {"error"}, whether backward ran
    every function of the graph (``walked``), and what it changed."""
    leaves = list(spec["leaves"])
    kept = [_keep(a) for a in leaves]
    gys = [a for a in (spec["gy"], (spec["then"] or {}).get("gy")) if a is not None]
    kept_gys = [_keep(a) for a in gys]
    out, vs = {}, []
    deep, ran, functions = {}, set(), []

    def backward(step):
        functions.extend({id(v.creator): v.creator for v in vs if v.creator is not None}.values())
        for f in functions:
            _counting(f, ran)
        if not spec.get("deep"):
            return step()
        previous = sys.getrecursionlimit()
        sys.setrecursionlimit(DEFAULT_RECURSION_LIMIT)
        try:
            deep["depth"] = deepest_call(step)
        finally:
            deep["limit"] = sys.getrecursionlimit()
            sys.setrecursionlimit(previous)

    try:
        reported = back_propagate(spec, Variable, ops, lambda a: a, vs, backward)
        out["grads"] = [v.grad for v in reported]
    except Exception as exc:  # noqa: BLE001 - the learner's error is this graph's result
        out["error"] = describe_error(exc)
    n = min(len(leaves), len(vs))
    out["leaves_changed"] = sum(not unchanged(getattr(v, "data", None), k) for v, k in zip(vs[:n], kept[:n]))
    out["gy_changed"] = any(not unchanged(a, k) for a, k in zip(gys, kept_gys))
    out["walked"] = bool(functions) and all(id(f) in ran for f in functions)
    if spec.get("deep"):
        out["recursion_limit"] = deep.get("limit", DEFAULT_RECURSION_LIMIT)
        out["depth"] = deep.get("depth", 0)
    return out


# -- the grader's diagnosis: the notebook's framework with one known mistake ----------------------

class _SimVariable:
    def __init__(self, data, creator=None, generation=0):
        self.data, self.grad, self.creator, self.generation = data, None, creator, generation


class _SimFunction:
    """The notebook's Add, Mul, Neg and Tanh (Add hands the same gy to both inputs)."""

    def __init__(self, code, inputs):
        self.code, self.inputs = code, inputs
        a = inputs[0].data
        if code == 0:
            y = a + inputs[1].data
        elif code == 1:
            self.a, self.b = a, inputs[1].data
            y = self.a * self.b
        elif code == 2:
            y = -a
        else:
            y = self.y = numpy.tanh(a)
        self.generation = max(x.generation for x in inputs)
        self.output = _SimVariable(y, self, self.generation + 1)

    def backward(self, gy):
        if self.code == 0:
            return gy, gy
        if self.code == 1:
            return gy * self.b, gy * self.a
        if self.code == 2:
            return (-gy,)
        return (gy * (1 - self.y * self.y),)


def _sim_ops():
    def op(code):
        return lambda *xs: _SimFunction(code, xs).output
    return tuple(op(c) for c in range(4))


def _simulated_backward(output, retain_grad, mistake):
    """The solution's engine, or one with ``mistake``: {"leaf": "assign"|"inplace", "inner":
    "assign"|"inplace", "order": "stack"|"queue"|"oldest", "start": "zeros"}."""
    if output.creator is None:
        return
    if output.grad is None:
        output.grad = (numpy.zeros_like if mistake.get("start") == "zeros" else numpy.ones_like)(output.data)
    grads = {id(output): output.grad}
    heap, queued, order = [], set(), itertools.count()
    keys = {"heap": lambda f, n: (-f.generation, n), "stack": lambda f, n: (0, -n),
            "queue": lambda f, n: (0, n), "oldest": lambda f, n: (f.generation, n)}
    key = keys[mistake.get("order", "heap")]

    def push(f):
        if f not in queued:
            queued.add(f)
            heapq.heappush(heap, (*key(f, next(order)), f))

    push(output.creator)
    while heap:
        f = heapq.heappop(heap)[-1]
        y = f.output
        gy = grads.pop(id(y))
        if retain_grad and y is not output:
            y.grad = gy
        for x, gx in zip(f.inputs, f.backward(gy)):
            if x.creator is None:
                how = mistake.get("leaf")
                if x.grad is None or how == "assign":
                    x.grad = gx
                elif how == "inplace":
                    x.grad += gx
                else:
                    x.grad = x.grad + gx
            else:
                how = mistake.get("inner")
                if id(x) not in grads or how == "assign":
                    grads[id(x)] = gx
                elif how == "inplace":
                    grads[id(x)] += gx
                else:
                    grads[id(x)] = grads[id(x)] + gx
                push(x.creator)


def simulate(spec, mistake):
    """The reported gradients of ``spec`` from the notebook's framework with ``mistake``."""
    def op(code):
        def make(*xs):
            y = _SimFunction(code, xs).output
            y.backward = lambda retain_grad=False: _simulated_backward(y, retain_grad, mistake)
            return y
        return make

    reported = back_propagate(spec, lambda a: _SimVariable(a), tuple(op(c) for c in range(4)),
                              lambda a: numpy.array(host(a), dtype=numpy.float64))
    return [None if v.grad is None else numpy.asarray(v.grad) for v in reported]


#: (mistake, what the message says: an i18n key), tried in this order; a mistake of two changes counts only when
#: no mistake before it gave the learner's gradients
DIAGNOSES = (
    ({"leaf": "assign"}, LEAF_OVERWRITE),
    ({"inner": "assign"}, ACCUMULATE),
    ({"order": "stack"}, ORDER),
    ({"order": "queue"}, ORDER),
    ({"order": "oldest"}, ORDER),
    ({"leaf": "inplace"}, ALIASING),
    ({"inner": "inplace"}, ALIASING),
    ({"start": "zeros"}, ONES),
    ({"leaf": "assign", "inner": "assign"}, "backward_engine.accumulate_both"),
    ({"leaf": "inplace", "inner": "inplace"}, ALIASING),
)


def _close(got, want):
    if want is None or got is None:
        return got is None and want is None
    g = getattr(got, "array", got)
    return (isinstance(g, numpy.ndarray) and g.shape == want.shape
            and bool(numpy.allclose(g, want, rtol=1e-6, atol=1e-9)))


def diagnose(spec, mine, want, indices):
    """What the message says of the known mistakes whose gradients are the learner's at ``indices``
    (positions in the report): one sentence, or, where two mistakes give the same gradients on
    this graph, both; None when no known mistake gives them."""
    found = []
    for mistake, sentence in DIAGNOSES:
        if len(mistake) > 1 and found:
            continue
        try:
            sim = simulate(spec, mistake)
        except Exception:  # noqa: BLE001 - this mistake makes the engine fail: not the learner's
            continue
        if all(_close(sim[i], want[i]) for i in indices):
            continue   # this graph does not show that mistake
        if all(_close(mine[i], sim[i]) for i in indices) and sentence not in found:
            found.append(sentence)
    found = [i18n.tr(key, accumulate=i18n.tr(ACCUMULATE)) for key in found]
    if len(found) > 1:
        return i18n.tr("backward_engine.one_of", choices=i18n.tr("backward_engine.or").join(
            f"({k + 1}) {s}" for k, s in enumerate(found)))
    return found[0] if found else None


def _hinted(sentence):
    """check_array's mistakes with ``sentence`` for every symptom of wrong values or shapes."""
    keep = {"none", "not_array", "numpy_on_gpu", "cupy_on_cpu"}
    return {k: sentence for k in USUAL_MISTAKES if k not in keep}


def compare(spec, mine, want, device, walked=True):
    """Every reported variable's .grad in the learner's graph against rnnviz's, each in its part
    (the leaves in ``spec["part"]``, the intermediate variables in ``spec["inner_part"]``). An
    intermediate variable's .grad left None counts only when backward ran every function
    (``walked``): a backward that does nothing leaves them None too."""
    indices = to_numpy(spec["report"]).tolist()
    n_leaves, what = len(spec["leaves"]), spec["what"]
    with_values = [i for i, w in enumerate(want) if w is not None]
    diagnosis = []     # computed once, when a value is first found wrong

    def hint():
        if not diagnosis:
            diagnosis.append(diagnose(spec, mine, want, with_values))
        return _hinted(diagnosis[0]) if diagnosis[0] else MISTAKES

    for i, (k, g, w) in enumerate(zip(indices, mine, want)):
        name = i18n.tr("backward_engine.grad_of", what=say(what), name=say(spec["names"][i]))
        leaf = k < n_leaves
        with part(spec["part"] if leaf else spec["inner_part"]):
            if w is None:
                if g is not None:
                    raise _failed(i18n.tr("backward_engine.should_be_none", name=name),
                                  UNUSED_LEAF if leaf else RETAIN_FALSE)
                if not walked:
                    raise _failed(i18n.tr("backward_engine.not_walked", what=say(what)), NOT_RUN)
            elif g is None:
                raise _failed(i18n.tr("backward_engine.is_none", name=name),
                              NOT_REACHED if leaf or not spec["retain_grad"] else RETAIN_TRUE)
            elif not _close_received(g, w):
                check_array(name, g, w, device=device, mistakes=hint())
            else:
                check_array(name, g, w, device=device)    # the device of the array


def _close_received(g, w):
    a = getattr(g, "array", None)
    return a is not None and a.shape == w.shape and bool(numpy.allclose(a, w, rtol=1e-6, atol=1e-9))


class GraphCheck(Check):
    """Back-propagate graphs given as data with the learner's framework; compare every gradient."""

    learner = ("Variable", "add", "mul", "neg", "tanh")
    parts = {"gradients": 1, "inputs unchanged": 1}

    def graphs(self, **case) -> list:
        raise NotImplementedError

    def describe(self, case):
        """The case's graph and sizes; never its seed."""
        return ", ".join(f"{k}={v}" for k, v in case.items() if "seed" not in k)

    def inputs(self, **case):
        return {"graphs": self.graphs(**case)}

    def run(self, Variable, add, mul, neg, tanh, inputs, xp):
        ops = (add, mul, neg, tanh)
        got = {"graphs": [run_graph(spec, Variable, ops) for spec in inputs["graphs"]]}
        for k, result in enumerate(got["graphs"]):   # an error's frames nest as deep as pack allows
            if "error" in result:                    # only at the top level
                got[f"error {k}"] = result.pop("error")
        return got

    def judge(self, inputs, got, run):
        specs = inputs["graphs"]
        results = got.get("graphs")
        assert isinstance(results, list) and len(results) == len(specs), \
            i18n.tr("backward_engine.graph_count", n=len(specs))
        ran = []     # the graphs backward walked to the end: evidence for "inputs unchanged"
        for k, (spec, mine) in enumerate(zip(specs, results)):
            indices = to_numpy(spec["report"]).tolist()
            mine = dict(mine, error=got.get(f"error {k}"))
            error = mine["error"]
            if error:
                message = format_error(error)
                hint = self.explain(error)
                message += f"\n  {hint}" if hint else ""
                for name in dict.fromkeys((spec["part"], spec["inner_part"])):
                    with part(name):
                        raise AssertionError(f"{say(spec['what'])}: {message}")
            else:
                if mine.get("walked"):
                    ran.append(mine)
                grads = mine.get("grads")
                if not (isinstance(grads, list) and len(grads) == len(indices)):
                    for name in dict.fromkeys((spec["part"], spec["inner_part"])):
                        with part(name):
                            raise AssertionError(i18n.tr("backward_engine.gradient_count", what=say(spec["what"]),
                                                         n=len(indices)))
                else:
                    compare(spec, grads, reference(spec), run.device, bool(mine.get("walked")))
            if spec.get("deep"):
                with part("no recursion"):
                    self._no_recursion(spec, mine)
        with part("inputs unchanged"):
            if not ran:
                raise AssertionError(i18n.tr("backward_engine.nothing_walked"))
            for mine in ran:
                if mine.get("gy_changed"):
                    raise _failed(i18n.tr("backward_engine.gy_changed"), ALIASING)
                if mine.get("leaves_changed"):
                    raise _failed(i18n.tr("backward_engine.leaves_changed", n=mine["leaves_changed"]), IN_PLACE)

    def _no_recursion(self, spec, mine):
        error, what = mine.get("error"), say(spec["what"])
        if error and error.get("type") == "RecursionError":
            raise _failed(i18n.tr("backward_engine.hit_limit", what=what), RECURSION)
        if error:   # a backward that fails shows nothing about recursion
            raise AssertionError(i18n.tr("backward_engine.raised", what=what, error=format_error(error)))
        if not mine.get("walked"):
            raise AssertionError(i18n.tr("backward_engine.chain_not_walked", what=what))
        limit = mine.get("recursion_limit")
        if limit != DEFAULT_RECURSION_LIMIT:
            raise _failed(i18n.tr("backward_engine.limit", what=what, limit=DEFAULT_RECURSION_LIMIT), LIMIT_CHANGED)
        depth = mine.get("depth")
        if not isinstance(depth, int) or depth > MAX_DEPTH:
            raise _failed(i18n.tr("backward_engine.depth", what=what, depth=depth), NESTED)

    def explain(self, error):
        message = error.get("message", "")
        if error.get("type") == "KeyError":
            return text_of(KEY_ERROR)
        if error.get("type") == "RecursionError":
            return text_of(RECURSION)
        if "Unsupported type <class 'numpy.ndarray'>" in message:   # CuPy refusing a NumPy array
            return usual(USUAL_MISTAKES.key("numpy_on_gpu"))
        return ""


@register
class Basics(GraphCheck):
    """One small graph of ``GRAPHS``: a chain, a diamond, a variable used twice, ..."""

    name = "backward_engine.basics"
    parts = {**{graph: 1 for graph in GRAPHS}, "inputs unchanged": 1}

    def graphs(self, graph, seed, size):
        builder, what, set_gy = GRAPHS[graph]
        g = Graph()
        report = builder(g, seed, size)
        return [g.spec(what, [k for k, _ in report], gy_seed=GY_SEED if set_gy else None,
                       part=graph, names=[name for _, name in report])]


@register
class Random(GraphCheck):
    """A random graph of 3 leaves and 25 operations, every variable reaching the output."""

    name = "backward_engine.random"
    parts = {"leaves' gradients": 3, "intermediate .grad left None": 1, "inputs unchanged": 1}

    def graphs(self, seed):
        g, report = random_graph(seed)
        return [g.spec("label.random", report, part="leaves' gradients",
                       inner_part="intermediate .grad left None")]


@register
class Retain(GraphCheck):
    """retain_grad off and on, then a second backward over the same leaves (their .grad adds up)."""

    name = "backward_engine.retain"
    parts = {"retain_grad=False": 1, "retain_grad=True": 1, "second backward": 1, "inputs unchanged": 1}

    def graphs(self, seed):
        g, report = random_graph(seed, n_ops=12)
        specs = [g.spec(f"label.retain:{retain}", report, retain_grad=retain, part=f"retain_grad={retain}")
                 for retain in (False, True)]
        first = [g.uses(k) > 0 for k in range(3)]
        second = g.spec("label.second", [0, 1, 2], part="second backward",
                        names=[{(True, True): "name.both",
                                (False, True): "name.second_only",
                                (True, False): "name.first_only"}[first[k], k < 2]
                               for k in range(3)])
        start = len(g.rows) // 3
        y = g.tanh(g.mul(0, 1))
        second["then"] = {"program": g.program(start), "gy": randn(SECOND_GY_SEED, *g.shapes[y])}
        return specs + [second]


@register
class LongChain(GraphCheck):
    """h = tanh(h * w + x), ``steps`` times: no recursion (under Python's default recursion limit,
    which backward must leave as it is)."""

    name = "backward_engine.chain"
    parts = {"gradients": 1, "no recursion": 2, "inputs unchanged": 1}

    def graphs(self, steps):
        g = Graph()
        x, w = g.leaf(randn(5, 3)), g.leaf(0.5 * randn(6, 3))
        h = x
        for _ in range(steps):
            h = g.tanh(g.add(g.mul(h, w), x))
        spec = g.spec(f"label.chain_steps:{steps}", [x, w], names=["name.leaf_x", "name.leaf_w"])
        spec["deep"] = True
        return [spec]
