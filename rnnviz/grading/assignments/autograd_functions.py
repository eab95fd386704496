"""Checks for the autograd-functions assignment: four FunctionNodes, ``sum_to`` and a tiny network.

A FunctionNode check (``sigmoid``, ``mul``, ``matmul``, ``sum_axis``) makes a fresh node of the
learner's class, applies it to the case's arrays and calls its ``backward`` once with an output
gradient ``gy``; the grader compares the forward output with NumPy and each gradient with central
finite differences of the NumPy formula (``rnnviz.grading.checks.numerical_gradients``), as
``check_function`` does. In the learner's kernel ``run`` also

- keeps copies of the arrays it hands the learner's code (the inputs and ``gy``, and the forward's
  output while backward runs) and reports which ones that code changed;
- reports whether each gradient is an array the caller may write into (``writeable``: not the
  read-only view ``xp.broadcast_to`` returns, not a view with a stride of 0);
- runs a second node on float32 copies of the inputs and reports the dtypes of its output and
  gradients (float32 in, float32 out; float64 in, float64 out).

Each check has parts (``parts``: a test cell's points are shared among them by weight, and a part
fails once for the whole cell, in any case, on any device):

- ``sigmoid``, ``mul``, ``matmul``: ``forward`` 2, ``gradient of <input>`` 2 each, ``dtype`` 1,
  ``inputs unchanged`` 1; ``sum_axis`` has ``copy`` 1 as well (a gradient that is a read-only view).
  ``dtype`` and ``inputs unchanged`` count once the forward output or a gradient is right in the
  case (code not written yet gets nothing for them), ``copy`` once backward returns its arrays;
- ``sum_to``: by the kind of case, ``leading axes`` 2 (only axes in front are summed away),
  ``axes of size 1`` 2 (some axis where ``shape`` has 1 is summed with keepdims), ``same shape`` 1;
- ``together``: ``loss``, ``W.grad``, ``v.grad``, 1 each.

``sum_to`` compares ``sum_to(g, shape)`` with NumPy's sums; ``together`` builds
``sum(sigmoid(x @ W) * v)`` from the learner's four classes, runs rnnviz's backward engine on it and
compares ``W.grad`` and ``v.grad`` with finite differences. ``sigmoid_dtype`` (float32 in, float32
out) is kept for test cells written before the ``dtype`` part; the notebook no longer calls it.

The arrays of a case come from ``numpy.random.default_rng(seed)`` (drawn in the order of the
arguments), the output gradient ``gy`` from ``default_rng(gy_seed + 1)``; the hidden tests call the
same checks with other shapes, axes and seeds. Messages give shapes and relative errors, never
values, and a case's description leaves out its seeds. An error of the learner's code is sent back
at the top level of what ``run`` returns, where ``pack``'s depth allows its frames, and costs the
parts it keeps from being judged (an error in ``sum_to`` costs its case's part only).

Messages are written with ``rnnviz.i18n`` when a check fails (``STRINGS``, keys
``autograd_functions.*``): a hint kept in a constant or a ``mistakes`` dict is its key, looked up in
the language of the moment (``checks.text_of``).
"""
import numpy

from ... import i18n
from ...core import Variable
from ..checks import check_array, numerical_gradients, text_of, unchanged, usual
from ..protocol import Check, Received, describe_error, format_error, host, part, register

STRINGS = {
    "autograd_functions.ones_fewer": {
        "en": "{name} is wrong (shape {shape}, expected shape {expected}): it has the right values in "
              "fewer axes of size 1",
        "ja": "{name} が間違っています（形状 {shape}、期待される形状 {expected}）: 値は正しいのですが、"
              "大きさ 1 の軸が足りません"},
    "autograd_functions.ones_more": {
        "en": "{name} is wrong (shape {shape}, expected shape {expected}): it has the right values in "
              "more axes of size 1",
        "ja": "{name} が間違っています（形状 {shape}、期待される形状 {expected}）: 値は正しいのですが、"
              "大きさ 1 の軸が多すぎます"},
    "autograd_functions.dtype": {
        "en": "an array made without a dtype is float64 (xp.ones(shape), np.float64(1), .astype(float)): "
              "compute from the inputs (1 / (1 + xp.exp(-x))), or give new arrays the input's dtype "
              "(xp.ones_like(x), xp.ones(shape, dtype=gy.dtype))",
        "ja": "`dtype` を指定せずに作った配列は float64 になります（`xp.ones(shape)`, `np.float64(1)`, "
              "`.astype(float)`）: 入力から計算するか（`1 / (1 + xp.exp(-x))`）、新しい配列に入力の `dtype` を"
              "与えてください（`xp.ones_like(x)`, `xp.ones(shape, dtype=gy.dtype)`）"},
    "autograd_functions.in_place": {
        "en": "an in-place operation (x *= ..., gy += ..., y[...] = ..., out=...) on an array the "
              "caller still uses: compute a new array instead (gx = gy * ...)",
        "ja": "呼び出し側がまだ使っている配列を、その場で書き換える演算があります（`x *= ...`, `gy += ...`, "
              "`y[...] = ...`, `out=...`）: 代わりに新しい配列を計算してください（`gx = gy * ...`）"},
    "autograd_functions.copy": {
        "en": "xp.broadcast_to(...) gives a read-only view of gy: return an array of its own, "
              "xp.broadcast_to(gy, self.x_shape).copy()",
        "ja": "`xp.broadcast_to(...)` は `gy` の読み取り専用のビューを返します: 自前の配列を返してください"
              "（`xp.broadcast_to(gy, self.x_shape).copy()`）"},
    "autograd_functions.sum_to_left": {
        "en": "sum_to left axes unsummed: sum the axes g has in front of shape's, and, with "
              "keepdims=True, the axes where shape has 1 and g has more",
        "ja": "`sum_to` が和をとっていない軸があります: `g` が `shape` の軸より前に持つ軸について和をとり、"
              "さらに `shape` が 1 で `g` がそれより大きい軸について `keepdims=True` で和をとってください"},
    "autograd_functions.keepdims_sum_to": {
        "en": "an axis where `shape` has 1 was summed away: sum those axes with keepdims=True "
              "(or reshape the result to `shape`)",
        "ja": "`shape` が 1 の軸が和で消えています: その軸は `keepdims=True` で和をとってください"
              "（または結果を `shape` に `reshape` してください）"},
    "autograd_functions.on_float32": {"en": "{label} on float32 arrays: ", "ja": "float32 の配列での `{label}`: "},
    "autograd_functions.backward_on_float32": {
        "en": "{label}.backward on float32 arrays: ", "ja": "float32 の配列での `{label}.backward`: "},
    "autograd_functions.read_only": {
        "en": "{label}: the gradient of {name} is a read-only view, an array nobody may write into",
        "ja": "`{label}`: {name} の勾配が読み取り専用のビュー（だれも書き込めない配列）になっています"},
    "autograd_functions.no_gradient": {
        "en": "{label}: backward returned no array for the gradient of {name}",
        "ja": "`{label}`: `backward` が {name} の勾配として配列を返しませんでした"},
    "autograd_functions.forward_changed": {
        "en": "forward changed its input {name}", "ja": "`forward` が入力 `{name}` を"},
    "autograd_functions.backward_changed": {"en": "backward changed {what}", "ja": "`backward` が{what}を"},
    "autograd_functions.what.y": {"en": "its forward's output y", "ja": " `forward` の出力 `y` "},
    "autograd_functions.what.gy": {"en": "gy", "ja": " `gy` "},
    "autograd_functions.what.input": {"en": "the input {name}", "ja": "入力 `{name}` "},
    "autograd_functions.changed_sep": {"en": ", and ", "ja": "、"},
    "autograd_functions.changed": {"en": "{label}: {found} in place", "ja": "`{label}`: {found}その場で書き換えました"},
    "autograd_functions.nothing_right": {
        "en": "{label}: neither the forward output nor a gradient is right yet; the dtype and the inputs "
              "are checked once one of them is",
        "ja": "`{label}`: 順伝播の出力も勾配もまだ正しくありません。`dtype` と入力の確認は、そのどれかが正しく"
              "なってから行います"},
    "autograd_functions.wrong_dtype": {
        "en": "{label}: a {given} input gave a {dtype} {what}; keep the input's dtype",
        "ja": "`{label}`: {given} の入力から `{dtype}` の{what}が出てきました。入力の `dtype` を保ってください"},
    "autograd_functions.what.output": {"en": "output", "ja": "出力"},
    "autograd_functions.what.gradient": {"en": "gradient of {name}", "ja": " {name} の勾配"},
    "autograd_functions.sigmoid_dtype": {
        "en": "Sigmoid: a float32 input gave a {kind} output; keep the input's dtype",
        "ja": "`Sigmoid`: float32 の入力から {kind} の出力が出てきました。入力の `dtype` を保ってください"},
    "autograd_functions.non_array": {"en": "non-array", "ja": "配列でない値"},
    "autograd_functions.sigmoid_forward": {
        "en": "y = 1 / (1 + xp.exp(-x)): check the sign inside exp, and each operation",
        "ja": "`y = 1 / (1 + xp.exp(-x))`: `exp` の中の符号と、一つ一つの演算を確かめてください"},
    "autograd_functions.sigmoid_backward": {
        "en": "gx = gy * y * (1 - y), with y the output forward saved (self.save_outputs(y))",
        "ja": "`gx = gy * y * (1 - y)` です。`y` は `forward` が保存した出力です（`self.save_outputs(y)`）"},
    "autograd_functions.mul_other": {
        "en": "each input's gradient uses the other input: gx0 = sum_to(gy * x1, x0.shape), "
              "gx1 = sum_to(gy * x0, x1.shape)",
        "ja": "各入力の勾配はもう一方の入力を使います: `gx0 = sum_to(gy * x1, x0.shape)`, "
              "`gx1 = sum_to(gy * x0, x1.shape)`"},
    "autograd_functions.mul_ones": {
        "en": "sum_to lost an axis of size 1: where the input's shape has 1, sum with keepdims=True "
              "(or reshape sum_to's result to the shape it was given)",
        "ja": "`sum_to` が大きさ 1 の軸を失っています: 入力の形状が 1 の軸では `keepdims=True` で和をとってください"
              "（または `sum_to` の結果を、渡された形状に `reshape` してください）"},
    "autograd_functions.matmul_other": {
        "en": "gx = gy @ W.T, (N, H)(H, D), and gW = x.T @ gy, (D, N)(N, H): check each factor, "
              "its transpose and their order",
        "ja": "`gx = gy @ W.T`（`(N, H)(H, D)`）と `gW = x.T @ gy`（`(D, N)(N, H)`）です: 各因子、その転置、"
              "掛ける順番を確かめてください"},
    "autograd_functions.sum_axis_grad": {
        "en": "every element of x that went into an output element gets that element's "
              "gradient: put the summed axis back where it was (xp.expand_dims(gy, self.axis), "
              "only when keepdims is false), then broadcast to x's shape",
        "ja": "出力の要素に入った `x` の要素はどれも、その出力の要素の勾配を受け取ります: 和で消えた軸を元の位置に"
              "戻し（`xp.expand_dims(gy, self.axis)`、`keepdims` が偽のときだけ）、それから `x` の形状に"
              "ブロードキャストしてください"},
    "autograd_functions.keepdims_ignored": {
        "en": "keepdims ignored: x.sum(axis=self.axis, keepdims=self.keepdims) keeps the "
              "summed axis, with size 1, when keepdims is true",
        "ja": "`keepdims` が無視されています: `x.sum(axis=self.axis, keepdims=self.keepdims)` は、`keepdims` が"
              "真のとき、和をとった軸を大きさ 1 で残します"},
    "autograd_functions.sum_to_name": {
        "en": "sum_to(g, {shape}) for g of shape {g_shape}", "ja": "形状 {g_shape} の `g` に対する `sum_to(g, {shape})`"},
    "autograd_functions.together_forward": {
        "en": "the loss is made by the forwards of your four classes: the tests of Sigmoid, "
              "MatMul, Mul and SumAxis above say which one is wrong",
        "ja": "損失はあなたの 4 つのクラスの `forward` で作られます: どれが間違っているかは、上の `Sigmoid`, "
              "`MatMul`, `Mul`, `SumAxis` のテストが示します"},
    "autograd_functions.together_backward": {
        "en": "the gradients come from the backwards of your four classes (rnnviz's engine "
              "calls them): the tests of Sigmoid, MatMul, Mul and SumAxis above say which one "
              "is wrong",
        "ja": "勾配はあなたの 4 つのクラスの `backward` から来ます（`rnnviz` のエンジンがそれらを呼びます）: "
              "どれが間違っているかは、上の `Sigmoid`, `MatMul`, `Mul`, `SumAxis` のテストが示します"},
    "autograd_functions.together_error": {
        "en": "the error is in one of your four classes (the lines above say where): its own "
              "test above says more",
        "ja": "エラーはあなたの 4 つのクラスのどれかにあります（場所は上の行が示します）: 詳しくは、そのクラス"
              "自身の上のテストが示します"},
    "autograd_functions.loss": {"en": "loss", "ja": "損失"},
}
i18n.register(STRINGS)

# errors that CuPy (or rnnviz) raises when NumPy arrays are mixed into a GPU run
_NUMPY_ON_GPU = ("Unsupported type <class 'numpy", "Implicit conversion to a NumPy array",
                 "mix of NumPy (cpu) and CuPy (gpu)")


def _rng(seed):
    return numpy.random.default_rng(seed)


def _gy(gy_seed, shape):
    """The output gradient of a FunctionNode check (``check_function``'s: seed + 1)."""
    return _rng(gy_seed + 1).standard_normal(tuple(shape))


def _caught(call):
    """``call()``'s value, or the learner's exception as plain data ({"error": ...})."""
    try:
        return {"value": call()}
    except Exception as exc:  # noqa: BLE001 - the learner's error is reported in its turn
        return {"error": describe_error(exc)}


# ``protocol.pack`` sends a 0-d array as one of shape (1,) (``numpy.ascontiguousarray`` gives at
# least one axis), so ``run`` names its 0-d arrays and ``judge`` gives them their shape () back.
ZERO_DIM = "0-d"


def _is_0d(value):
    value = getattr(value, "array", value)  # a Variable gives its array
    return getattr(value, "ndim", None) == 0 and not isinstance(value, numpy.generic)


def _mark_0d(got):
    """``got`` with the places of its 0-d arrays (a key, or a key and an index) under ZERO_DIM."""
    marks = []
    for key, value in got.items():
        if _is_0d(value):
            marks.append([key])
        elif isinstance(value, (tuple, list)):
            marks.extend([key, i] for i, v in enumerate(value) if _is_0d(v))
    got[ZERO_DIM] = marks
    return got


def _restore_0d(got):
    """``got`` (as judge receives it) with the arrays ``_mark_0d`` named given their shape ()."""
    def zero_dim(v):
        return Received(v.array.reshape(()), v.origin) if isinstance(v, Received) and v.array.size == 1 else v

    got = dict(got)
    marks = got.pop(ZERO_DIM, [])
    for mark in marks if isinstance(marks, list) else []:
        if not isinstance(mark, list) or not mark or not isinstance(mark[0], str) or mark[0] not in got:
            continue
        if len(mark) == 1:
            got[mark[0]] = zero_dim(got[mark[0]])
        elif len(mark) == 2 and isinstance(got[mark[0]], (tuple, list)) and isinstance(mark[1], int) \
                and 0 <= mark[1] < len(got[mark[0]]):
            items = list(got[mark[0]])
            items[mark[1]] = zero_dim(items[mark[1]])
            got[mark[0]] = type(got[mark[0]])(items)
    return got


# -- what run reports besides the values: changed arrays, read-only views, dtypes -------------------

def _keep(a):
    """A copy of ``a`` on its own device (anything that is not an array as it is)."""
    return a.copy() if hasattr(a, "copy") and hasattr(a, "dtype") else a




def _writeable(a):
    """Whether a caller may write into ``a``: not read-only (NumPy's flag) and not a broadcast view
    (a stride of 0 along an axis longer than 1; CuPy's flags have no ``writeable``). None: not an
    array."""
    flags = getattr(a, "flags", None)
    if flags is None or not hasattr(a, "strides"):
        return None
    if getattr(flags, "writeable", True) is False:
        return False
    return not any(s == 0 and n > 1 for s, n in zip(a.strides, a.shape))


def _dtype_name(a):
    a = getattr(a, "array", a)
    dtype = getattr(a, "dtype", None)
    return str(dtype) if dtype is not None else type(a).__name__


def _as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


def _squeezed(shape):
    return tuple(n for n in shape if n != 1)


def _compare(name, got, want, *, ones=None, **kwargs):
    """``check_array``, with a message of its own for a result whose shape differs from the expected
    one by axes of size 1 only (``ones``: the usual mistake, e.g. a missing ``keepdims=True``)."""
    shape, want_shape = getattr(got, "shape", None), numpy.shape(want)
    if ones and isinstance(got, Received) and shape != want_shape and _squeezed(shape) == _squeezed(want_shape):
        which = "fewer" if len(shape) < len(want_shape) else "more"
        problem = i18n.tr(f"autograd_functions.ones_{which}", name=name, shape=shape, expected=want_shape)
        raise AssertionError(i18n.tr("checks.failed", problem=problem, usual=text_of(ones)))
    check_array(name, got, want, **kwargs)


# the usual mistakes of this assignment: i18n keys, written out when a message is
DTYPE = "autograd_functions.dtype"
IN_PLACE = "autograd_functions.in_place"
COPY = "autograd_functions.copy"
SUM_TO_LEFT = "autograd_functions.sum_to_left"
KEEPDIMS_SUM_TO = "autograd_functions.keepdims_sum_to"
BROADCAST_ERROR = ("broadcast", "more dimensions than allowed", "shape mismatch")   # NumPy's, CuPy's
MATMUL_ERROR = ("mismatch", "not aligned")


class _AutogradCheck(Check):
    def describe(self, case):
        """The case's sizes, axes and scale; never its seeds."""
        return ", ".join(f"{k}={v}" for k, v in case.items() if "seed" not in k)

    def explain(self, error):
        message = str(error.get("message", ""))
        if any(s in message for s in _NUMPY_ON_GPU):
            return usual("checks.mistake.numpy_on_gpu")
        if "cannot reshape" in message:    # sum_to's reshape, the only one in the notebook
            return usual(SUM_TO_LEFT)
        return ""

    def _raise_error(self, error, where=""):
        hint = self.explain(error)
        raise AssertionError(where + format_error(error) + (f"\n  {hint}" if hint else ""))


class _NodeCheck(_AutogradCheck):
    """A one-output FunctionNode: forward against ``reference``, backward against finite
    differences of ``reference`` (the tolerances and messages of ``check_function``); the inputs
    left as they were; float32 and float64 kept."""

    names = ()                 # the inputs' names, in the order of forward's arguments
    rtol, atol = 1e-5, 1e-7
    mistakes: dict = {}        # an input's name (or "forward") -> check_array's mistakes
    ones: dict = {}            # an input's name (or "forward") -> the mistake behind a shape off by axes of 1

    def make_node(self, cls, inputs):
        return cls()

    def reference(self, inputs, *xs):
        raise NotImplementedError

    def label(self, inputs):
        return self.learner[0]

    def run(self, cls, inputs, xp):
        xs = [inputs[n] for n in self.names]
        kept = [_keep(x) for x in xs]
        node = self.make_node(cls, inputs)
        outputs = node.apply(xs)
        got = {"forward": tuple(_keep(y.array) for y in outputs)}
        by_forward = [n for n, x, k in zip(self.names, xs, kept) if not unchanged(x, k)]
        by_backward = []
        if len(outputs) == 1:
            y = outputs[0].array
            y_kept = _keep(y)
            gy = xp.array(inputs["gy"], dtype=y.dtype)
            gy_kept = _keep(gy)
            step = _caught(lambda: node.backward(gy))
            if "error" in step:
                got["backward_error"] = step["error"]
            else:
                got["backward"] = step["value"]
                got["writeable"] = [_writeable(getattr(g, "array", g)) for g in _as_tuple(step["value"])]
            by_backward = [n for n, x, k in zip(self.names, xs, kept) if n not in by_forward and not unchanged(x, k)]
            by_backward += [n for n, a, k in (("gy", gy, gy_kept), ("y", y, y_kept)) if not unchanged(a, k)]
        got["changed"] = {"forward": by_forward, "backward": by_backward}
        got.update(self._float32(cls, inputs, xp))
        return _mark_0d(got)

    def _float32(self, cls, inputs, xp):
        """The dtypes a fresh node gives on float32 copies of the inputs and of gy: "float32"
        ({"forward", "gradients"}), and the errors at the top level of what ``run`` returns (an
        error's frames are as deep as ``pack`` allows there)."""
        node = self.make_node(cls, inputs)
        step = _caught(lambda: node.apply([xp.asarray(inputs[n]).astype(xp.float32) for n in self.names]))
        if "error" in step:
            return {"float32_error": step["error"]}
        out = {"float32": {"forward": _dtype_name(step["value"][0].array)}}
        step = _caught(lambda: node.backward(xp.asarray(inputs["gy"]).astype(xp.float32)))
        if "error" in step:
            out["float32_backward_error"] = step["error"]
        else:
            out["float32"]["gradients"] = [_dtype_name(g) for g in _as_tuple(step["value"])]
        return out

    def judge(self, inputs, got, run):
        got = _restore_0d(got)
        dev, label = run.device, self.label(inputs)
        xs = [numpy.array(host(inputs[n]), dtype=numpy.float64) for n in self.names]
        reference = lambda *a: self.reference(inputs, *a)  # noqa: E731
        outputs = got["forward"]
        if len(outputs) != 1:   # nothing else can be judged: every part fails
            raise AssertionError(i18n.tr("checks.fn.one_output", label=label, n=len(outputs)))
        right = []     # the value parts that passed: the other parts count only once one has
        with part("forward"):
            _compare(i18n.tr("checks.fn.forward_output", label=label), outputs[0], reference(*xs), device=dev, rtol=self.rtol,
                     atol=self.atol, mistakes=self.mistakes.get("forward"), ones=self.ones.get("forward"))
            right.append("forward")
        numeric = numerical_gradients(reference, xs, host(inputs["gy"]))
        gxs = _as_tuple(got.get("backward"))
        for k, name in enumerate(self.names):
            with part(f"gradient of {name}"):
                if "backward_error" in got:
                    self._raise_error(got["backward_error"])
                if len(gxs) != len(xs):
                    raise AssertionError(i18n.tr("checks.fn.gradient_count", label=label, n=len(gxs),
                                                 inputs=len(xs)))
                _compare(i18n.tr("checks.fn.gradient_of", label=label, name=name), gxs[k], numeric[k], device=dev, rtol=self.rtol,
                         atol=max(self.atol, 1e-6), mistakes=self.mistakes.get(name), ones=self.ones.get(name))
                right.append(name)
        if "copy" in self.parts:
            with part("copy"):
                if "backward_error" in got:
                    self._raise_error(got["backward_error"])
                writeable = got.get("writeable") or [None]
                for name, ok in zip(self.names, writeable):
                    if ok is False:
                        raise AssertionError(i18n.tr("checks.failed", usual=text_of(COPY), problem=i18n.tr(
                            "autograd_functions.read_only", label=label, name=name)))
                    if ok is None:
                        raise AssertionError(i18n.tr("autograd_functions.no_gradient", label=label, name=name))
        with part("dtype"):
            self._nothing_right_yet(label, right)
            self._judge_dtypes(label, got, outputs[0], gxs)
        with part("inputs unchanged"):
            self._nothing_right_yet(label, right)
            changed = got.get("changed") or {}

            def what(n):
                return i18n.tr(f"autograd_functions.what.{n}") if n in ("y", "gy") else \
                    i18n.tr("autograd_functions.what.input", name=n)
            found = [i18n.tr("autograd_functions.forward_changed", name=n) for n in changed.get("forward", [])]
            found += [i18n.tr("autograd_functions.backward_changed", what=what(n)) for n in changed.get("backward", [])]
            if found:
                problem = i18n.tr("autograd_functions.changed", label=label,
                                  found=i18n.tr("autograd_functions.changed_sep").join(found))
                raise AssertionError(i18n.tr("checks.failed", problem=problem, usual=text_of(IN_PLACE)))

    @staticmethod
    def _nothing_right_yet(label, right):
        if not right:
            raise AssertionError(i18n.tr("autograd_functions.nothing_right", label=label))

    def _judge_dtypes(self, label, got, y, gxs):
        def wrong(what, dtype, given):
            problem = i18n.tr("autograd_functions.wrong_dtype", label=label, given=given, dtype=dtype, what=what)
            raise AssertionError(i18n.tr("checks.failed", problem=problem, usual=text_of(DTYPE)))

        def gradient_of(name):
            return i18n.tr("autograd_functions.what.gradient", name=name)

        output = i18n.tr("autograd_functions.what.output")
        if isinstance(y, Received) and y.dtype != numpy.float64:
            wrong(output, y.dtype, "float64")
        if "backward_error" not in got and len(gxs) == len(self.names):
            for name, g in zip(self.names, gxs):
                if isinstance(g, Received) and g.dtype != numpy.float64:
                    wrong(gradient_of(name), g.dtype, "float64")
        if "float32_error" in got:
            self._raise_error(got["float32_error"], i18n.tr("autograd_functions.on_float32", label=label))
        f32 = got.get("float32") or {}
        if f32.get("forward") != "float32":
            wrong(output, f32.get("forward"), "float32")
        if "float32_backward_error" in got:
            if "backward_error" not in got:   # float64 went through: a float32 problem
                self._raise_error(got["float32_backward_error"],
                                  i18n.tr("autograd_functions.backward_on_float32", label=label))
            return
        for name, dtype in zip(self.names, f32.get("gradients", [])):
            if dtype != "float32":
                wrong(gradient_of(name), dtype, "float32")


NODE_PARTS = {"forward": 2, "gradient of x": 2, "dtype": 1, "inputs unchanged": 1}


@register
class Sigmoid(_NodeCheck):
    """``Sigmoid()``: y = 1 / (1 + exp(-x)) on ``scale * randn(shape)``."""

    name = "autograd_functions.sigmoid"
    learner = ("Sigmoid",)
    names = ("x",)
    parts = NODE_PARTS
    mistakes = {"forward": {"other": "autograd_functions.sigmoid_forward"},
                "x": {"other": "autograd_functions.sigmoid_backward"}}

    def inputs(self, seed, shape, scale=1, gy_seed=0):
        return {"x": scale * _rng(seed).standard_normal(tuple(shape)), "gy": _gy(gy_seed, shape)}

    def reference(self, inputs, x):
        return 1 / (1 + numpy.exp(-x))


@register
class SigmoidDtype(_AutogradCheck):
    """``Sigmoid()`` on float32 zeros: the output keeps the input's dtype (the ``dtype`` part of
    ``sigmoid`` checks this and more; kept for test cells that still call it)."""

    name = "autograd_functions.sigmoid_dtype"
    learner = ("Sigmoid",)

    def inputs(self, shape):
        return {"x": numpy.zeros(tuple(shape), numpy.float32)}

    def run(self, cls, inputs, xp):
        return {"y": cls().apply((inputs["x"],))[0].array}

    def judge(self, inputs, got, run):
        y = got["y"]
        kind = y.dtype if isinstance(y, Received) else i18n.tr("autograd_functions.non_array")
        assert isinstance(y, Received) and y.dtype == numpy.float32, \
            i18n.tr("autograd_functions.sigmoid_dtype", kind=kind)


MUL_OTHER = "autograd_functions.mul_other"
MUL_ONES = "autograd_functions.mul_ones"


@register
class Mul(_NodeCheck):
    """``Mul()``: y = x0 * x1 with broadcasting (``x0`` and ``x1`` are the inputs' shapes)."""

    name = "autograd_functions.mul"
    learner = ("Mul",)
    names = ("x0", "x1")
    parts = {"forward": 2, "gradient of x0": 2, "gradient of x1": 2, "dtype": 1, "inputs unchanged": 1}
    mistakes = {"x0": {"other": MUL_OTHER}, "x1": {"other": MUL_OTHER}}
    ones = {"x0": MUL_ONES, "x1": MUL_ONES}

    def inputs(self, seed, x0, x1, gy_seed=0):
        rng = _rng(seed)
        a, b = rng.standard_normal(tuple(x0)), rng.standard_normal(tuple(x1))
        return {"x0": a, "x1": b, "gy": _gy(gy_seed, numpy.broadcast_shapes(a.shape, b.shape))}

    def label(self, inputs):
        return f"Mul {host(inputs['x0']).shape} * {host(inputs['x1']).shape}"

    def reference(self, inputs, x0, x1):
        return x0 * x1


MATMUL_OTHER = "autograd_functions.matmul_other"


@register
class MatMul(_NodeCheck):
    """``MatMul()``: y = x @ W for x of shape (N, D) and W of shape (D, H)."""

    name = "autograd_functions.matmul"
    learner = ("MatMul",)
    names = ("x", "W")
    parts = {"forward": 2, "gradient of x": 2, "gradient of W": 2, "dtype": 1, "inputs unchanged": 1}
    mistakes = {"x": {"other": MATMUL_OTHER}, "W": {"other": MATMUL_OTHER}}

    def inputs(self, seed, N, D, H, gy_seed=0):
        rng = _rng(seed)
        x, W = rng.standard_normal((N, D)), rng.standard_normal((D, H))
        return {"x": x, "W": W, "gy": _gy(gy_seed, (N, H))}

    def reference(self, inputs, x, W):
        return x @ W

    def explain(self, error):
        if any(s in str(error.get("message", "")) for s in MATMUL_ERROR):
            return usual(MATMUL_OTHER)
        return super().explain(error)


SUM_AXIS_GRAD = "autograd_functions.sum_axis_grad"


@register
class SumAxis(_NodeCheck):
    """``SumAxis(axis, keepdims)``: y = x.sum(axis=axis, keepdims=keepdims)."""

    name = "autograd_functions.sum_axis"
    learner = ("SumAxis",)
    names = ("x",)
    parts = {"forward": 2, "gradient of x": 2, "copy": 1, "dtype": 1, "inputs unchanged": 1}
    mistakes = {"x": {"other": SUM_AXIS_GRAD, "shape": SUM_AXIS_GRAD}}
    ones = {"forward": "autograd_functions.keepdims_ignored", "x": SUM_AXIS_GRAD}

    def inputs(self, seed, shape, axis, keepdims=None, gy_seed=0):
        x = _rng(seed).standard_normal(tuple(shape))
        out_shape = numpy.zeros(x.shape).sum(axis=axis, keepdims=bool(keepdims)).shape
        return {"x": x, "axis": int(axis), "keepdims": None if keepdims is None else bool(keepdims),
                "gy": _gy(gy_seed, out_shape)}

    def make_node(self, cls, inputs):
        # SumAxis(axis) when the test cell gives no keepdims, else SumAxis(axis, keepdims)
        if inputs["keepdims"] is None:
            return cls(inputs["axis"])
        return cls(inputs["axis"], inputs["keepdims"])

    def label(self, inputs):
        if inputs["keepdims"] is None:
            return f"SumAxis({inputs['axis']})"
        return f"SumAxis({inputs['axis']}, keepdims={inputs['keepdims']})"

    def reference(self, inputs, x):
        return x.sum(axis=inputs["axis"], keepdims=bool(inputs["keepdims"]))

    def explain(self, error):
        if any(s in str(error.get("message", "")) for s in BROADCAST_ERROR):
            return usual(SUM_AXIS_GRAD)
        return super().explain(error)


def sum_to_reference(g, shape):
    """``g`` summed down to ``shape``: over its leading axes, and with keepdims over the axes where
    ``shape`` has 1."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and g.shape[lead + i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


def sum_to_kind(g_shape, shape):
    """The part a case of ``sum_to`` counts for: "axes of size 1" when some axis where ``shape`` has
    1 is summed (with or without leading axes), else "leading axes" when ``g`` has axes in front,
    else "same shape"."""
    lead = len(g_shape) - len(shape)
    if any(n == 1 and g_shape[lead + i] != 1 for i, n in enumerate(shape)):
        return "axes of size 1"
    return "leading axes" if lead else "same shape"


@register
class SumTo(_AutogradCheck):
    """``sum_to(g, shape)`` for ``g = randn(g_shape)``."""

    name = "autograd_functions.sum_to"
    learner = ("sum_to",)
    parts = {"leading axes": 2, "axes of size 1": 2, "same shape": 1}

    def inputs(self, seed, g_shape, shape):
        return {"g": _rng(seed).standard_normal(tuple(g_shape)), "shape": tuple(int(n) for n in shape)}

    def run(self, sum_to, inputs, xp):
        step = _caught(lambda: sum_to(inputs["g"], inputs["shape"]))   # an error costs this case's part only
        return _mark_0d({"out": step["value"]} if "value" in step else {"error": step["error"]})

    def judge(self, inputs, got, run):
        got = _restore_0d(got)
        g, shape = host(inputs["g"]), tuple(inputs["shape"])
        with part(sum_to_kind(g.shape, shape)):
            if "error" in got:
                self._raise_error(got["error"])
            _compare(i18n.tr("autograd_functions.sum_to_name", shape=shape, g_shape=g.shape), got["out"], sum_to_reference(g, shape),
                     device=run.device, ones=KEEPDIMS_SUM_TO,
                     mistakes={"axis_lost": KEEPDIMS_SUM_TO})


TOGETHER_FORWARD = "autograd_functions.together_forward"
TOGETHER_BACKWARD = "autograd_functions.together_backward"
TOGETHER_ERROR = "autograd_functions.together_error"


def tiny_net_reference(x, W, v):
    return ((1 / (1 + numpy.exp(-(x @ W)))) * v).sum()


@register
class Together(_AutogradCheck):
    """The four classes in one graph: loss = SumAxis(0)(SumAxis(1)(Mul()(Sigmoid()(MatMul()(x, W)), v)))
    for x (n, d), W (d, h), v (h,); ``loss.backward()`` by rnnviz's engine fills W.grad and v.grad."""

    name = "autograd_functions.together"
    learner = ("Sigmoid", "MatMul", "Mul", "SumAxis")
    parts = {"loss": 1, "W.grad": 1, "v.grad": 1}

    def inputs(self, seed, n, d, h):
        rng = _rng(seed)
        x, W, v = rng.standard_normal((n, d)), rng.standard_normal((d, h)), rng.standard_normal(h)
        return {"x": x, "W": W, "v": v}

    def explain(self, error):
        return super().explain(error) or usual(TOGETHER_ERROR)

    def run(self, Sigmoid, MatMul, Mul, SumAxis, inputs, xp):
        def call(node, *xs):
            return node.apply(xs)[0]

        Wv, vv = Variable(inputs["W"]), Variable(inputs["v"])
        h = call(Sigmoid(), call(MatMul(), inputs["x"], Wv))
        loss = call(SumAxis(0), call(SumAxis(1), call(Mul(), h, vv)))
        got = {"loss": _keep(loss.array)}
        step = _caught(loss.backward)
        if "error" in step:
            got["backward_error"] = step["error"]
        got["W.grad"], got["v.grad"] = Wv.grad, vv.grad
        return _mark_0d(got)

    def judge(self, inputs, got, run):
        got = _restore_0d(got)
        dev = run.device
        x, W, v = (host(inputs[k]) for k in ("x", "W", "v"))
        with part("loss"):
            check_array(i18n.tr("autograd_functions.loss"), got["loss"], numpy.asarray(tiny_net_reference(x, W, v)), device=dev,
                        mistakes={"other": TOGETHER_FORWARD, "scaled": TOGETHER_FORWARD})
        _, num_W, num_v = numerical_gradients(tiny_net_reference, [x, W, v], 1.0)
        for name, want in (("W.grad", num_W), ("v.grad", num_v)):
            with part(name):
                if "backward_error" in got:
                    self._raise_error(got["backward_error"])
                check_array(name, got[name], want, device=dev, rtol=1e-5, atol=1e-6,
                            mistakes={"other": TOGETHER_BACKWARD, "scaled": TOGETHER_BACKWARD})
