"""Checks for the masked-loss assignment (lesson 11, clipping from lesson 08): the temporal softmax
cross-entropy of a padded batch and its gradient by hand, then gradient clipping, against the
library (``F.temporal_softmax_cross_entropy``, the ``GradientClipping`` optimizer hook).

``masked_loss.loss``     ``masked_cross_entropy(x, t, mask) -> (loss, dx)`` on scores x (T, B, V),
                         labels t (T, B) and a mask (T, B) of the live positions: "loss" and "dx"
                         against the library's default normalisation (the sum over live positions
                         divided by the batch size B), "padded positions" (dx exactly 0 there, and a
                         second call with other scores and labels at the padded positions gives the
                         same loss and dx), "dtype" (dx has x's dtype), "inputs unchanged".
``masked_loss.large_scores`` the same function on scores of a thousand or so (float64): "large
                         scores" (loss and dx finite and right: the row maximum subtracted before exp).
``masked_loss.clip_norm`` ``clip_grads_by_norm(grads, threshold) -> (clipped, norm)``, three calls:
                         a threshold below the global norm, one above it, and all-zero gradients:
                         "norm" (the global norm before clipping), "clipped" (as ``GradientClipping``
                         leaves them), "unclipped" (unchanged below the threshold, zeros stay zeros),
                         "dtype" (each array keeps its dtype), "inputs unchanged".
``masked_loss.clip_value`` ``clip_grads_by_value(grads, threshold) -> clipped``: "value clipping"
                         (each element clipped to [-threshold, threshold], dtypes kept, inputs unchanged).

Cases take ``dtype="float32"`` (compared to float32's precision) or the default float64. While the
learner's code runs, the library's functions, autograd, the clipping hooks (``GradientClipping``,
and ``GradientHardClipping`` where the library has it) and ``global_norm`` raise ``Refused``. The inputs are arrays and thresholds; the references stay in the grader.
"""
import contextlib
import math

import numpy

from ... import functions as F
from ... import i18n
from ... import optimizers
from ...core import Variable
from ..checks import check_array
from ..protocol import Other, Received, host, part, register
from .rnn_by_hand import Given, LayerCheck, code, given_to, joined, keep, label, matching, phase, refusing_library, text, usual

# The learner-readable texts of these checks (``say``: looked up when a message is made).
STRINGS = {
    "masked_loss.refusal": {
        "en": "the masked-loss assignment builds F.temporal_softmax_cross_entropy and GradientClipping: "
              "write them with xp (xp.exp, xp.log, .max, .sum, xp.clip), not with rnnviz.functions, "
              "rnnviz.optimizers or autograd",
        "ja": "マスク付き損失の課題では `F.temporal_softmax_cross_entropy` と `GradientClipping` を自分で作ります: "
              "`rnnviz.functions`、`rnnviz.optimizers`、自動微分は使わず、`xp`（`xp.exp`、`xp.log`、`.max`、"
              "`.sum`、`xp.clip`）で書いてください"},
    "masked_loss.normalised": {
        "en": "loss = -(1/B) sum over the live (t, b) of log softmax(x[t, b])[t[t, b]]: summed over the "
              "live positions, divided by the batch size B (F.temporal_softmax_cross_entropy's default)",
        "ja": "損失は、パディングでない位置 (t, b) についての `log softmax(x[t, b])[t[t, b]]` の和に `-(1/B)` を"
              "掛けたものです: パディングでない位置について和をとり、バッチサイズ B で割ります"
              "（`F.temporal_softmax_cross_entropy` の既定）"},
    "masked_loss.per_token": {
        "en": "divided by the number of live positions (the per-token mean, Chainer's normalize=True); "
              "the library's default, and this assignment, divide by the batch size B",
        "ja": "パディングでない位置の数で割っています（トークンごとの平均、Chainer の `normalize=True`）。"
              "ライブラリの既定とこの課題ではバッチサイズ B で割ります"},
    "masked_loss.per_position": {
        "en": "divided by T * B, every position padded or not; divide by the batch size B",
        "ja": "パディングかどうかによらず全位置の数 T * B で割っています。バッチサイズ B で割ってください"},
    "masked_loss.not_divided": {"en": "not divided by the batch size B",
                                "ja": "バッチサイズ B で割っていません"},
    "masked_loss.no_mask": {
        "en": "the padded positions were counted: multiply each position's loss (and its row of dx) by the "
              "mask, so that a padded position adds nothing",
        "ja": "パディングの位置も数えています: 各位置の損失（と `dx` のその行）にマスクを掛けて、パディングの位置が"
              "何も足さないようにしてください"},
    "masked_loss.dx": {
        "en": "dx[t, b] = mask[t, b] * (softmax(x[t, b]) - onehot(t[t, b])) / B: the softmax minus the one-hot "
              "label, on live positions only, divided by B as the loss is",
        "ja": "`dx[t, b] = mask[t, b] * (softmax(x[t, b]) - onehot(t[t, b])) / B`: ソフトマックスからラベルの "
              "ワンホット表現を引いたもので、パディングでない位置だけ、損失と同じく B で割ります"},
    "masked_loss.no_onehot": {
        "en": "the one-hot label is missing: dx = mask * (softmax(x) - onehot(t)) / B",
        "ja": "ラベルのワンホット表現が抜けています: `dx = mask * (softmax(x) - onehot(t)) / B` です"},
    "masked_loss.padded": {
        "en": "a padded position must change nothing: multiply by the mask (or use xp.where) after computing "
              "each position's loss and gradient, so its scores and label are never read into the result",
        "ja": "パディングの位置は何も変えてはいけません: 各位置の損失と勾配を計算した後でマスクを掛ける"
              "（または `xp.where` を使う）ことで、その位置のスコアとラベルが結果に入らないようにしてください"},
    "masked_loss.stable": {
        "en": "exp of a large score overflows (inf / inf is NaN): subtract each row's maximum before exp; "
              "softmax and log-softmax do not change, since a constant added to a row cancels",
        "ja": "大きなスコアの `exp` はオーバーフローします（`inf / inf` は NaN）: `exp` の前に各行の最大値を"
              "引いてください。行に足した定数は打ち消し合うので、ソフトマックスも対数ソフトマックスも変わりません"},
    "masked_loss.global": {
        "en": "the norm is global: one norm over every array together, sqrt of the sum of the squares of "
              "all their elements",
        "ja": "ノルムは全体でひとつです: すべての配列をまとめたノルム、つまり全要素の 2 乗の和の平方根です"},
    "masked_loss.per_array": {
        "en": "each array was clipped by its own norm; {glob}, and every array is scaled by the same "
              "factor threshold / norm, so the update keeps its direction",
        "ja": "配列ごとに自分のノルムでクリップしています。{glob}。すべての配列に同じ係数 `threshold / norm` を"
              "掛けるので、更新の向きは変わりません"},
    "masked_loss.value_not_norm": {
        "en": "that is value clipping (each element cut to [-threshold, threshold]), which changes the "
              "direction; clipping by norm scales every array by threshold / norm",
        "ja": "それは値のクリッピング（各要素を `[-threshold, threshold]` に切る）で、向きが変わります。"
              "ノルムによるクリッピングはすべての配列に `threshold / norm` を掛けます"},
    "masked_loss.clipped": {
        "en": "when the global norm exceeds the threshold, every array is multiplied by threshold / norm, "
              "so that the clipped gradients have norm threshold",
        "ja": "全体のノルムがしきい値を超えるときは、すべての配列に `threshold / norm` を掛け、クリップした勾配の"
              "ノルムがしきい値になるようにします"},
    "masked_loss.unclipped": {
        "en": "below the threshold the gradients come back unchanged: clip only when norm > threshold "
              "(and all-zero gradients, of norm 0, stay zeros: no division by zero)",
        "ja": "しきい値より小さいときは勾配をそのまま返します: `norm > threshold` のときだけクリップしてください"
              "（すべてゼロの勾配はノルムが 0 なのでゼロのままです: ゼロで割らないこと）"},
    "masked_loss.norm_dtype": {
        "en": "multiply by a Python float (rate = float(threshold / norm)) or by a scalar of the array's "
              "dtype: a NumPy float64 scalar turns a float32 array into float64 (NumPy 2)",
        "ja": "Python の `float`（`rate = float(threshold / norm)`）か配列と同じ `dtype` のスカラーを掛けてください: "
              "NumPy の float64 のスカラーは float32 の配列を float64 に変えます（NumPy 2）"},
    "masked_loss.dtype": {
        "en": "compute in the inputs' dtype: an array made with a default dtype (xp.zeros(shape)) or a "
              "NumPy float64 scalar turns float32 into float64; use dtype=x.dtype or xp.zeros_like",
        "ja": "入力の `dtype` で計算してください: 既定の `dtype` で作った配列（`xp.zeros(shape)`）や NumPy の float64 の"
              "スカラーは float32 を float64 に変えます。`dtype=x.dtype` か `xp.zeros_like` を使ってください"},
    "masked_loss.index": {
        "en": "index the scores with the labels as integers (t is int), or use a one-hot: "
              "xp.arange(V) == t[..., None]",
        "ja": "スコアはラベルを整数として使って添字で取り出すか（`t` は `int`）、ワンホット表現を使ってください: "
              "`xp.arange(V) == t[..., None]`"},
    "masked_loss.not_number": {
        "en": "{label} is wrong: expected a number, got {kind}.",
        "ja": "{label} が間違っています: 数がひとつ返るはずですが、{kind} でした。"},
    "masked_loss.several": {"en": "an array of several numbers", "ja": "複数の数の配列"},
    "masked_loss.return_float": {
        "en": "return a Python float (float(...)) or an array of one element",
        "ja": "Python の `float`（`float(...)`）か要素がひとつの配列を返してください"},
    "masked_loss.not_finite": {"en": "{label} is wrong: it is NaN or infinite.",
                               "ja": "{label} が間違っています: NaN か無限大です。"},
    "masked_loss.scalar_wrong": {"en": "{label} is wrong (relative error {error}).",
                                 "ja": "{label} が間違っています（相対誤差 {error}）。"},
    "masked_loss.returns": {"en": "{fn} should return {what}, it returned {got}",
                            "ja": "`{fn}` は `{what}` を返す必要がありますが、`{got}` を返しました"},
    "masked_loss.example.loss": {
        "en": "p = e / e.sum(...) makes a new array; x -= x.max(...) changes the caller's scores",
        "ja": "`p = e / e.sum(...)` は新しい配列を作りますが、`x -= x.max(...)` は呼び出し側のスコアを変えます"},
    "masked_loss.sign_loss": {
        "en": "a sign error: the loss is minus the log-probability of the label",
        "ja": "符号の間違いです: 損失はラベルの対数確率にマイナスを付けたものです"},
    "masked_loss.sign_dx": {"en": "a sign error: dx = mask * (softmax(x) - onehot(t)) / B",
                            "ja": "符号の間違いです: `dx = mask * (softmax(x) - onehot(t)) / B` です"},
    "masked_loss.dx_padded": {
        "en": "masked_cross_entropy: dx is not zero at the padded positions.",
        "ja": "`masked_cross_entropy` の `dx` がパディングの位置でゼロではありません。"},
    "masked_loss.padded_changed": {
        "en": "masked_cross_entropy: other scores and labels at the padded positions changed the loss or dx.",
        "ja": "`masked_cross_entropy`: パディングの位置のスコアとラベルを変えると、損失か `dx` が変わりました。"},
    "masked_loss.dx_dtype": {"en": "masked_cross_entropy: dx has dtype {got}, but x is {want}.",
                             "ja": "`masked_cross_entropy` の `dx` の `dtype` が {got} ですが、`x` は {want} です。"},
    "masked_loss.large_loss": {"en": "masked_cross_entropy on large scores: loss",
                               "ja": "大きなスコアでの `masked_cross_entropy` の損失"},
    "masked_loss.large_dx": {"en": "masked_cross_entropy on large scores: dx",
                             "ja": "大きなスコアでの `masked_cross_entropy` の `dx`"},
    "masked_loss.with_large": {"en": "{hint} (and with large scores: {stable})",
                               "ja": "{hint}（そして大きなスコアでは: {stable}）"},
    "masked_loss.loss_name": {"en": "masked_cross_entropy: loss", "ja": "`masked_cross_entropy` の損失"},
    "masked_loss.list_of": {
        "en": "{what} should be a list of {n} arrays, one per gradient given, in their order; it is {kind}",
        "ja": "{what} は、渡した勾配ごとにひとつ、同じ順に並んだ配列 {n} 個のリストのはずですが、{kind} です"},
    "masked_loss.clipped_of": {"en": "{fn}'s clipped", "ja": "`{fn}` がクリップした結果"},
    "masked_loss.result_of": {"en": "{fn}'s result", "ja": "`{fn}` の結果"},
    "masked_loss.example.clip": {
        "en": "g * rate makes a new array; g *= rate changes the caller's gradient",
        "ja": "`g * rate` は新しい配列を作りますが、`g *= rate` は呼び出し側の勾配を変えます"},
    "masked_loss.example.value": {
        "en": "xp.clip(g, ...) makes a new array; g[g > threshold] = threshold changes the caller's gradient",
        "ja": "`xp.clip(g, ...)` は新しい配列を作りますが、`g[g > threshold] = threshold` は呼び出し側の勾配を変えます"},
    "masked_loss.label.clipped": {"en": "grads[{k}] (given to clip_grads_by_norm, the clipped call)",
                                  "ja": "`grads[{k}]`（`clip_grads_by_norm` のクリップする呼び出しに渡した配列）"},
    "masked_loss.label.unclipped": {"en": "grads[{k}] (given to clip_grads_by_norm, the unclipped call)",
                                    "ja": "`grads[{k}]`（`clip_grads_by_norm` のクリップしない呼び出しに渡した配列）"},
    "masked_loss.call.clipped": {"en": "clipped", "ja": "クリップする呼び出し"},
    "masked_loss.call.unclipped": {"en": "unclipped", "ja": "クリップしない呼び出し"},
    "masked_loss.sqrt": {"en": "the square root is missing: {glob}", "ja": "平方根が抜けています: {glob}"},
    "masked_loss.norms_added": {"en": "the arrays' norms were added; {glob}", "ja": "配列ごとのノルムを足しています。{glob}"},
    "masked_loss.largest": {"en": "the largest array's norm; {glob}", "ja": "最大の配列のノルムです。{glob}"},
    "masked_loss.mean_squares": {"en": "a mean of the squares; {glob}", "ja": "2 乗の平均です。{glob}"},
    "masked_loss.norm_returned": {"en": "clip_grads_by_norm: the norm returned ({call} call)",
                                  "ja": "`clip_grads_by_norm` が返したノルム（{call}）"},
    "masked_loss.norm_before": {"en": "return the global norm before clipping; {glob}",
                                "ja": "クリップする前の全体のノルムを返してください。{glob}"},
    "masked_loss.nothing_clipped": {"en": "nothing was clipped; {clipped}",
                                    "ja": "何もクリップされていません。{clipped}"},
    "masked_loss.clipped_below": {"en": "clip_grads_by_norm: clipped[{k}] (threshold below the norm)",
                                  "ja": "`clip_grads_by_norm` の `clipped[{k}]`（しきい値がノルムより小さい場合）"},
    "masked_loss.clipped_above": {"en": "clip_grads_by_norm: clipped[{k}] (threshold above the norm)",
                                  "ja": "`clip_grads_by_norm` の `clipped[{k}]`（しきい値がノルムより大きい場合）"},
    "masked_loss.clipped_zeros": {"en": "clip_grads_by_norm: clipped[{k}] (all-zero gradients)",
                                  "ja": "`clip_grads_by_norm` の `clipped[{k}]`（勾配がすべてゼロの場合）"},
    "masked_loss.norm_zeros": {"en": "clip_grads_by_norm: the norm returned (all-zero gradients)",
                               "ja": "`clip_grads_by_norm` が返したノルム（勾配がすべてゼロの場合）"},
    "masked_loss.clip_dtype": {
        "en": "{fn}: clipped[{k}] has dtype {got}, but the gradients are {want}.",
        "ja": "`{fn}` の `clipped[{k}]` の `dtype` が {got} ですが、勾配は {want} です。"},
    "masked_loss.value_hint": {
        "en": "each element is cut to [-threshold, threshold] (xp.clip(g, -threshold, threshold)): "
              "the elements inside stay as they are",
        "ja": "各要素を `[-threshold, threshold]` に切ります（`xp.clip(g, -threshold, threshold)`）: "
              "範囲内の要素はそのままです"},
}
i18n.register(STRINGS)


def say(key, **fields):
    return i18n.tr(f"masked_loss.{key}", **fields)


REFUSAL = "masked_loss.refusal"
TOLERANCE = {"float64": {"rtol": 1e-6, "atol": 1e-9}, "float32": {"rtol": 2e-4, "atol": 2e-6}}
HINTS = {"call": ((("IndexError",), ("out of bounds", "index"), lambda: say("index")),),
         "zeros": ((("ZeroDivisionError",), ("division",), lambda: say("unclipped")),)}


@contextlib.contextmanager
def refusing(message):
    """``refusing_library`` plus the clipping hook and its norm."""
    from ...optimizers import hooks

    def refused(what):
        def call(*args, **kwargs):
            from .rnn_by_hand import Refused
            raise Refused(i18n.tr("rnn_by_hand.refused", message=text(message), what=what))
        return call

    classes = [c for c in (hooks.GradientClipping, getattr(hooks, "GradientHardClipping", None)) if c is not None]
    saved = [c.__call__ for c in classes], hooks.global_norm
    with refusing_library(message):
        for c in classes:
            c.__call__ = refused(c.__name__)
        hooks.global_norm = refused("rnnviz.optimizers.hooks.global_norm")
        try:
            yield
        finally:
            for c, call in zip(classes, saved[0]):
                c.__call__ = call
            hooks.global_norm = saved[1]


def scalar(value):
    """A number the learner's code returned (a float, or an array of one element), as a float;
    anything else as it is, for the message."""
    if isinstance(value, Received) and value.array.size == 1:
        return float(value.array.reshape(()))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def check_scalar(label, got, want, tol, alternatives=(), default=""):
    """``got`` (a number) equals ``want``; else a message with the relative error and the mistake
    of the first (value, sentence) in ``alternatives`` that ``got`` equals."""
    got = scalar(got)
    if not isinstance(got, float):
        kind = code(got.type_name) if isinstance(got, Other) else say("several") \
            if isinstance(got, Received) else code(type(got).__name__)
        raise AssertionError(f"{say('not_number', label=label, kind=kind)}\n  {usual(say('return_float'))}")
    if not math.isfinite(got):
        raise AssertionError(f"{say('not_finite', label=label)}\n  {usual(say('stable'))}")
    if math.isclose(got, want, rel_tol=tol["rtol"], abs_tol=tol["atol"]):
        return
    hint = next((s for v, s in alternatives if math.isclose(got, v, rel_tol=1e-6, abs_tol=1e-12)), default)
    error = abs(got - want) / max(abs(want), 1e-12)
    raise AssertionError(f"{say('scalar_wrong', label=label, error=f'{error:.2g}')}\n  {usual(hint)}")


# -- the masked loss ----------------------------------------------------------------------------------

def loss_case(seed, T, B, V, dtype="float64", scale=1.0):
    """Scores, labels and a mask of a padded batch (lengths in [0, T], the first sequence T long),
    and the same batch with other scores and labels at the padded positions."""
    rng = numpy.random.default_rng(seed)
    lengths = rng.integers(0, T + 1, B)
    lengths[0] = T
    mask = numpy.arange(T)[:, None] < lengths[None, :]
    x = (scale * rng.standard_normal((T, B, V))).astype(dtype)
    t = rng.integers(0, V, (T, B)).astype(numpy.int32)
    x2 = numpy.where(mask[..., None], x, 10 * scale * rng.standard_normal((T, B, V))).astype(dtype)
    t2 = numpy.where(mask, t, rng.integers(0, V, (T, B))).astype(numpy.int32)
    return {"x": x, "t": t, "mask": mask, "x2": x2, "t2": t2}


def loss_reference(x, t, mask, **kwargs):
    """(loss, dx) from the library (float64)."""
    v = Variable(numpy.asarray(x, dtype=numpy.float64))
    loss = F.temporal_softmax_cross_entropy(v, t, mask, **kwargs)
    loss.backward()
    return float(loss.array), v.grad


def loss_by_hand(x, t, mask, Z, masked=True, onehot=True):
    """(loss, dx) in NumPy with a divisor ``Z`` and two of a learner's mistakes: no mask, no one-hot."""
    x = numpy.asarray(x, dtype=numpy.float64)
    z = x - x.max(axis=2, keepdims=True)
    logp = z - numpy.log(numpy.exp(z).sum(axis=2, keepdims=True))
    hot = numpy.arange(x.shape[2]) == t[..., None]
    m = mask if masked else numpy.ones_like(mask)
    loss = -(logp * hot).sum(axis=2)
    dx = (numpy.exp(logp) - hot * onehot) * m[..., None] / Z
    return float((loss * m).sum() / Z), dx


class LossCheck(LayerCheck):
    learner = ("masked_cross_entropy",)
    refusal = REFUSAL
    hints = HINTS
    example = "masked_loss.example.loss"

    def describe(self, case):
        return ", ".join(f"{k}={v}" for k, v in case.items() if k not in ("seed", "scale"))

    @staticmethod
    def call(fn, a, got, given, name):
        with phase(got, name) as out:
            result = fn(*(given(given_to(n, "masked_cross_entropy"), a[n]) for n in ("x", "t", "mask")))
            if not (isinstance(result, (tuple, list)) and len(result) == 2):
                raise TypeError(say("returns", fn="masked_cross_entropy", what="(loss, dx)",
                                    got=type(result).__name__))
            loss, dx = result
            out["loss"] = keep(loss)
            out["dx"] = keep(dx)


@register
class Loss(LossCheck):
    """``masked_cross_entropy(x, t, mask)``: the loss and its gradient, padded positions ignored."""

    name = "masked_loss.loss"
    parts = {"loss": 1.5, "dx": 1.5, "padded positions": 0.75, "dtype": 0.25, "inputs unchanged": 0.25}

    def inputs(self, seed, T, B, V, dtype="float64"):
        return loss_case(seed, T, B, V, dtype)

    def run(self, masked_cross_entropy, inputs, xp):
        got, given = {}, Given()
        with refusing(self.refusal):
            self.call(masked_cross_entropy, inputs, got, given, "call")
            self.call(masked_cross_entropy, {"x": inputs["x2"], "t": inputs["t2"], "mask": inputs["mask"]},
                      got, Given(), "padded")
        got["given"] = given.arrays()
        return got

    def judge(self, inputs, got, run):
        a = {n: host(v) for n, v in inputs.items()}
        x, t, mask = a["x"], a["t"], a["mask"]
        T, B, V = x.shape
        tol, dev = TOLERANCE[x.dtype.name], run.device
        want_loss, want_dx = loss_reference(x, t, mask)
        live = max(int(mask.sum()), 1)
        no_mask = say("no_mask")
        scales = [(B / live, say("per_token")), (1 / T, say("per_position")), (B, say("not_divided"))]
        with part("loss"):
            alternatives = [(want_loss * k, s) for k, s in scales] + [(-want_loss, say("sign_loss"))]
            alternatives += [(loss_by_hand(x, t, mask, Z, masked=False)[0],
                              joined([no_mask, say(s)]) if Z != B else no_mask)
                             for Z, s in ((B, ""), (live, "per_token"), (T * B, "per_position"))]
            check_scalar(say("loss_name"), self.result(got, "call", "loss", run), want_loss, tol,
                         alternatives, say("normalised"))
        with part("dx"):
            dx = self.result(got, "call", "dx", run)
            alternatives = [(loss_by_hand(x, t, mask, B, masked=False)[1], no_mask),
                            (loss_by_hand(x, t, mask, B, onehot=False)[1], say("no_onehot"))]
            hint = matching(dx, alternatives, say("dx"))
            check_array(code("masked_cross_entropy: dx"), dx, want_dx, device=dev, **tol, mistakes={
                "other": hint, "sign": say("sign_dx"),
                "scaled": next((s for k, s in scales if _scaled(dx, want_dx, k)), hint)})
        with part("padded positions"):
            dx = host(self.result(got, "call", "dx", run))
            if isinstance(dx, numpy.ndarray) and dx.shape == x.shape and numpy.any(dx[~mask] != 0):
                raise AssertionError(f"{say('dx_padded')}\n  {usual(no_mask)}")
            loss1, loss2 = (scalar(self.result(got, k, "loss", run)) for k in ("call", "padded"))
            dx2 = host(self.result(got, "padded", "dx", run))
            same = isinstance(loss1, float) and isinstance(loss2, float) and math.isclose(loss1, loss2, rel_tol=1e-9) \
                and isinstance(dx, numpy.ndarray) and isinstance(dx2, numpy.ndarray) and dx.shape == dx2.shape \
                and numpy.allclose(dx, dx2, rtol=1e-9, atol=0)
            assert same, f"{say('padded_changed')}\n  {usual(say('padded'))}"
        with part("dtype"):
            dx = self.result(got, "call", "dx", run)
            if isinstance(dx, Received) and dx.dtype != x.dtype:
                raise AssertionError(f"{say('dx_dtype', got=dx.dtype, want=x.dtype)}\n  {usual(say('dtype'))}")
        labels = {given_to(n, "masked_cross_entropy"): a[n] for n in ("x", "t", "mask")}
        self.judge_unchanged(got, labels, ["call"], run)


def _scaled(got, want, k):
    g = host(got)
    return isinstance(g, numpy.ndarray) and g.shape == want.shape and numpy.allclose(g, k * want, rtol=1e-6, atol=1e-12)


@register
class LargeScores(LossCheck):
    """``masked_cross_entropy`` on scores of a thousand or so: finite and right."""

    name = "masked_loss.large_scores"
    parts = {"large scores": 0.75}

    def inputs(self, seed, T, B, V, scale=1000.0):
        return loss_case(seed, T, B, V, "float64", scale)

    def run(self, masked_cross_entropy, inputs, xp):
        got, given = {}, Given()
        with refusing(self.refusal):
            self.call(masked_cross_entropy, inputs, got, given, "call")
        return got

    def judge(self, inputs, got, run):
        x, t, mask = (host(inputs[n]) for n in ("x", "t", "mask"))
        want_loss, want_dx = loss_reference(x, t, mask)
        tol = TOLERANCE["float64"]
        with part("large scores"):
            stable = say("stable")
            check_scalar(say("large_loss"), self.result(got, "call", "loss", run),
                         want_loss, tol, (), say("with_large", hint=say("normalised"), stable=stable))
            check_array(say("large_dx"), self.result(got, "call", "dx", run), want_dx,
                        device=run.device, **tol, mistakes={"nan": stable,
                                                            "other": say("with_large", hint=say("dx"), stable=stable)})


# -- clipping ------------------------------------------------------------------------------------------

def grads_case(seed, shapes, dtype="float64"):
    rng = numpy.random.default_rng(seed)
    return [rng.standard_normal(tuple(s)).astype(dtype) for s in shapes]


def library_clip(grads, threshold, hook=None):
    """What the ``GradientClipping`` hook (or ``hook``) leaves in the gradients of parameters holding
    ``grads``."""
    from ...core import Parameter
    from ...links import Chain

    model = Chain()
    with model.init_scope():
        for k, g in enumerate(grads):
            setattr(model, f"p{k}", Parameter(numpy.zeros_like(g)))
    params = [getattr(model, f"p{k}") for k in range(len(grads))]
    for p, g in zip(params, grads):
        p.grad = g.copy()
    optimizer = optimizers.SGD()
    optimizer.setup(model)
    (hook or optimizers.GradientClipping(threshold))(optimizer)
    return [p.grad for p in params]


def value_clip(grads, threshold):
    """Each element cut to [-threshold, threshold]: the library's value-clipping hook where it has one
    (``GradientHardClipping``), else ``numpy.clip``."""
    hard = getattr(optimizers, "GradientHardClipping", None)
    if hard is None:
        return [numpy.clip(g, -threshold, threshold) for g in grads]
    return library_clip(grads, None, hard(-threshold, threshold))


def global_norm(grads):
    return math.sqrt(sum(float((numpy.asarray(g, dtype=numpy.float64) ** 2).sum()) for g in grads))


class ClipCheck(LayerCheck):
    learner = ("clip_grads_by_norm",)
    refusal = REFUSAL
    hints = HINTS
    example = "masked_loss.example.clip"

    def describe(self, case):
        return ", ".join(f"{k}={v}" for k, v in case.items() if k != "seed")

    @staticmethod
    def arrays(value, n, what):
        """The ``n`` arrays of a returned list, or an AssertionError that says what came instead."""
        if not isinstance(value, (tuple, list)) or len(value) != n:
            kind = i18n.tr("rnn_by_hand.kind.sequence", type=type(value).__name__, n=len(value)) \
                if isinstance(value, (tuple, list)) else (
                    code(value.type_name) if isinstance(value, Other) else i18n.tr("rnn_by_hand.kind.array")
                    if isinstance(value, Received) else code(type(value).__name__))
            raise AssertionError(say("list_of", what=what, n=n, kind=kind))
        return value


@register
class ClipNorm(ClipCheck):
    """``clip_grads_by_norm(grads, threshold) -> (clipped, norm)`` against ``GradientClipping``."""

    name = "masked_loss.clip_norm"
    parts = {"norm": 1, "clipped": 1.5, "unclipped": 0.5, "dtype": 0.25, "inputs unchanged": 0.25}
    CALLS = ("clipped", "unclipped", "zeros")

    def inputs(self, seed, shapes, dtype="float64"):
        grads = grads_case(seed, shapes, dtype)
        norm = global_norm(grads)
        rng = numpy.random.default_rng(seed + 1)
        return {"grads": grads, "low": float(norm * rng.uniform(0.2, 0.7)), "high": float(norm * rng.uniform(1.3, 3)),
                "zeros": [numpy.zeros_like(g) for g in grads]}

    def run(self, clip_grads_by_norm, inputs, xp):
        got, given = {}, Given()
        with refusing(self.refusal):
            for name, grads, threshold in (("clipped", "grads", "low"), ("unclipped", "grads", "high"),
                                           ("zeros", "zeros", "high")):
                with phase(got, name) as out:
                    mine = [given(self.label(k, name), g) if grads == "grads" else g.copy()
                            for k, g in enumerate(inputs[grads])]
                    result = clip_grads_by_norm(mine, inputs[threshold])
                    if not (isinstance(result, (tuple, list)) and len(result) == 2):
                        raise TypeError(say("returns", fn="clip_grads_by_norm", what="(clipped, norm)",
                                            got=type(result).__name__))
                    out["clipped"], out["norm"] = keep(list(result[0]) if isinstance(result[0], (tuple, list))
                                                       else result[0]), keep(result[1])
        got["given"] = given.arrays()
        return got

    @staticmethod
    def label(k, call):
        return label(f"masked_loss.label.{call}", k=k)

    def judge(self, inputs, got, run):
        grads = [host(g) for g in inputs["grads"]]
        low, high = inputs["low"], inputs["high"]
        n, dtype = len(grads), grads[0].dtype
        tol, dev = TOLERANCE[dtype.name], run.device
        norm = global_norm(grads)
        per_array = [g * min(1.0, low / max(global_norm([g]), 1e-300)) for g in grads]
        by_value = [numpy.clip(g, -low, low) for g in grads]
        glob, clipped, unclipped = say("global"), say("clipped"), say("unclipped")
        returned = say("clipped_of", fn="clip_grads_by_norm")
        with part("norm"):
            squares = norm ** 2
            alternatives = [(squares, say("sqrt", glob=glob)),
                            (sum(global_norm([g]) for g in grads), say("norms_added", glob=glob)),
                            (max(global_norm([g]) for g in grads), say("largest", glob=glob)),
                            (math.sqrt(squares / sum(g.size for g in grads)), say("mean_squares", glob=glob))]
            for name in ("clipped", "unclipped"):
                check_scalar(say("norm_returned", call=say(f"call.{name}")),
                             self.result(got, name, "norm", run), norm, tol, alternatives,
                             say("norm_before", glob=glob))
        with part("clipped"):
            out = self.arrays(self.result(got, "clipped", "clipped", run), n, returned)
            want = library_clip(grads, low)
            for k, (o, w) in enumerate(zip(out, want)):
                hint = matching(o, [(per_array[k], say("per_array", glob=glob)), (by_value[k], say("value_not_norm")),
                                    (grads[k], say("nothing_clipped", clipped=clipped))], clipped)
                check_array(say("clipped_below", k=k), o, w, device=dev, **tol,
                            mistakes={"other": hint, "scaled": hint})
        with part("unclipped"):
            out = self.arrays(self.result(got, "unclipped", "clipped", run), n, returned)
            for k, (o, w) in enumerate(zip(out, library_clip(grads, high))):
                check_array(say("clipped_above", k=k), o, w, device=dev, **tol,
                            mistakes={"other": unclipped, "scaled": unclipped})
            zeros = self.arrays(self.result(got, "zeros", "clipped", run), n, returned)
            for k, o in enumerate(zeros):
                check_array(say("clipped_zeros", k=k), o, numpy.zeros_like(grads[k]),
                            device=dev, **tol, mistakes={"nan": unclipped, "other": unclipped})
            check_scalar(say("norm_zeros"), self.result(got, "zeros", "norm", run), 0.0, tol, (), glob)
        with part("dtype"):
            returned = [c for c in self.CALLS if isinstance(got.get(c), dict) and "clipped" in got[c]]
            if not returned:
                self.result(got, "clipped", "clipped", run)      # fails with the error of the first call
            for name in returned:      # the calls that returned (one that raised fails other parts)
                out = got[name]["clipped"]
                for k, o in enumerate(out if isinstance(out, (tuple, list)) else []):
                    if isinstance(o, Received) and o.dtype != dtype:
                        raise AssertionError(f"{say('clip_dtype', fn='clip_grads_by_norm', k=k, got=o.dtype, want=dtype)}"
                                             f"\n  {usual(say('norm_dtype'))}")
        self.judge_unchanged(got, {self.label(k, c): g for k, g in enumerate(grads) for c in self.CALLS[:2]},
                             list(self.CALLS[:2]), run)


@register
class ClipValue(ClipCheck):
    """``clip_grads_by_value(grads, threshold) -> clipped``: each element cut to [-threshold, threshold]."""

    name = "masked_loss.clip_value"
    learner = ("clip_grads_by_value",)
    parts = {"value clipping": 0.5}
    example = "masked_loss.example.value"

    def inputs(self, seed, shapes, dtype="float64"):
        grads = grads_case(seed, shapes, dtype)
        threshold = float(numpy.median(numpy.abs(numpy.concatenate([g.ravel() for g in grads]))))
        return {"grads": grads, "threshold": threshold}

    def run(self, clip_grads_by_value, inputs, xp):
        got, given = {}, Given()
        with refusing(self.refusal), phase(got, "call") as out:
            mine = [given(given_to(f"grads[{k}]", "clip_grads_by_value"), g) for k, g in enumerate(inputs["grads"])]
            result = clip_grads_by_value(mine, inputs["threshold"])
            out["clipped"] = keep(list(result) if isinstance(result, tuple) else result)
        got["given"] = given.arrays()
        return got

    def judge(self, inputs, got, run):
        grads, c = [host(g) for g in inputs["grads"]], inputs["threshold"]
        tol = TOLERANCE[grads[0].dtype.name]
        with part("value clipping"):
            out = self.arrays(self.result(got, "call", "clipped", run), len(grads),
                              say("result_of", fn="clip_grads_by_value"))
            for k, (o, g, w) in enumerate(zip(out, grads, value_clip(grads, c))):
                check_array(code(f"clip_grads_by_value: clipped[{k}]"), o, w, device=run.device, **tol,
                            mistakes={"other": say("value_hint")})
                if isinstance(o, Received) and o.dtype != g.dtype:
                    raise AssertionError(f"{say('clip_dtype', fn='clip_grads_by_value', k=k, got=o.dtype, want=g.dtype)}"
                                         f"\n  {usual(say('dtype'))}")
            self.judge_unchanged_here(got, grads, run)

    def judge_unchanged_here(self, got, grads, run):
        given = got.get("given") if isinstance(got, dict) else None
        changed = [k for k, g in enumerate(grads) if not (isinstance(given, dict) and numpy.array_equal(
            host(given.get(given_to(f"grads[{k}]", "clip_grads_by_value"))), g))]
        if changed:
            shown = i18n.tr("rnn_by_hand.code", code=f"grads[{changed[0]}]")
            raise AssertionError(f"{i18n.tr('rnn_by_hand.changed', shown=shown)}\n  "
                                 f"{usual(i18n.tr('rnn_by_hand.unchanged', example=text(self.example)))}")
