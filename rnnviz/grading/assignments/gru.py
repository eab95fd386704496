"""Checks for the GRU assignment (lesson 09): one step forward and backward by hand, against the
library's fused ``F.gru_step`` and its autograd.

The learner's ``GRU(Wx, Wh, bx, bh)`` has ``forward(x, h_prev)``, ``backward(dh_next)`` and
``grads``. Weights in the layout of the other assignments (``x @ Wx``): ``Wx`` (D, 3H), ``Wh``
(H, 3H), ``bx`` and ``bh`` (3H,), gate blocks [r, z, n] along the 3H axis; the library's
``F.gru_step(h_prev, x, Wx.T, Wh.T, bx, bh)`` (PyTorch's ``weight_ih``/``weight_hh`` layout)
computes the same step. PyTorch's formulation: the reset gate acts after the recurrent product,
and z near 1 keeps the old state::

    xa = x @ Wx + bx,  ha = h_prev @ Wh + bh,  hn = ha[:, 2H:]
    r = sigmoid(xa_r + ha_r),  z = sigmoid(xa_z + ha_z),  n = tanh(xa_n + r * hn)
    h_next = (1 - z) * n + z * h_prev

``gru.forward``   ``forward(x, h_prev)``: "h_next" (returned), "cache" (``self.cache == (x,
                  h_prev, r, z, n, hn)``), "dtype" (what it returns and caches has the inputs'
                  dtype), "inputs unchanged".
``gru.backward``  a new ``GRU`` whose ``self.cache`` the check sets to the reference cache;
                  ``backward(dh_next)``: "dh_prev", "dx" (returned), "dWx", "dWh", "dbx", "dbh"
                  (written into ``self.grads``, the arrays ``__init__`` made; a wrong one says which
                  gate blocks are wrong), "dtype", "inputs unchanged".

A case has ``dtype="float64"`` (the default; compared to 1e-6) or ``"float32"`` (compared to
float32's precision: honest code computes in float32 there). As in the LSTM's checks, the backward
is judged from the reference forward's cache, each backward case with its own seed (the cache is
the forward of inputs on which no forward is judged), and while the learner's code runs the
library's functions and autograd raise ``Refused`` (``rnn_by_hand.refusing_library``).
"""
import itertools

import numpy

from ... import functions as F
from ... import i18n
from ...core import Variable
from ..checks import check_array
from ..protocol import Received, host, part, register
from .rnn_by_hand import (Given, LayerCheck, as_given, batch_factors, by_scale, cache_hints, check_cache, code,
                          given_to, in_place, joined, keep, label, matching, phase, refusing_library, usual)
from .rnn_by_hand import say as shared

# The learner-readable texts of these checks (``say``: looked up when a message is made).
STRINGS = {
    "gru.order": {
        "en": "the gates are laid out [r, z, n] along the 3H axis (rnnviz's and PyTorch's): A[:, :H] is r, "
              "A[:, H:2*H] is z, A[:, 2*H:] is n",
        "ja": "ゲートは 3H の軸に沿って `[r, z, n]` の順に並びます（`rnnviz` と PyTorch の順）: `A[:, :H]` が `r`、"
              "`A[:, H:2*H]` が `z`、`A[:, 2*H:]` が `n` です"},
    "gru.activations": {
        "en": "a gate has the wrong activation: sigmoid for r and z, tanh for n",
        "ja": "活性化関数を間違えたゲートがあります: `r` と `z` には `sigmoid`、`n` には `tanh` です"},
    "gru.reset_before": {
        "en": "the reset gate was applied before the product, n = tanh(xa_n + (r * h_prev) @ Wh_n + bh_n) "
              "(Cho et al.'s and Chainer's form); here it acts after it: n = tanh(xa_n + r * hn), "
              "hn = h_prev @ Wh[:, 2H:] + bh[2H:]",
        "ja": "リセットゲートを行列積の前に掛けています: `n = tanh(xa_n + (r * h_prev) @ Wh_n + bh_n)`"
              "（Cho らと Chainer の形）。この課題では積の後に掛けます: `n = tanh(xa_n + r * hn)`、"
              "`hn = h_prev @ Wh[:, 2H:] + bh[2H:]` です"},
    "gru.bias_outside": {
        "en": "bh's candidate block was added outside the reset gate: r scales the whole hn = h_prev @ "
              "Wh[:, 2H:] + bh[2H:], bias included (that is why the GRU has two biases)",
        "ja": "`bh` の候補のブロックをリセットゲートの外で足しています: `r` はバイアスも含めた "
              "`hn = h_prev @ Wh[:, 2H:] + bh[2H:]` 全体に掛かります（GRU にバイアスが二つあるのはそのためです）"},
    "gru.z_swapped": {
        "en": "z's roles are swapped: here h_next = (1 - z) * n + z * h_prev (z near 1 keeps the old "
              "state, PyTorch's convention); z * n + (1 - z) * h_prev is Chainer's and Cho et al.'s",
        "ja": "更新ゲート `z` の役割が入れ替わっています: この課題では `h_next = (1 - z) * n + z * h_prev` です"
              "（`z` が 1 に近いと古い隠れ状態を保つ、PyTorch の流儀）。`z * n + (1 - z) * h_prev` は Chainer と "
              "Cho らの流儀です"},
    "gru.forward": {
        "en": "compare each line with the equations: xa = x @ Wx + bx, ha = h_prev @ Wh + bh, r = sigmoid(xa_r "
              "+ ha_r), z = sigmoid(xa_z + ha_z), n = tanh(xa_n + r * hn) with hn = ha[:, 2H:], "
              "h_next = (1 - z) * n + z * h_prev",
        "ja": "各行を式と見比べてください: `xa = x @ Wx + bx`、`ha = h_prev @ Wh + bh`、"
              "`r = sigmoid(xa_r + ha_r)`、`z = sigmoid(xa_z + ha_z)`、`n = tanh(xa_n + r * hn)`"
              "（`hn = ha[:, 2H:]`）、`h_next = (1 - z) * n + z * h_prev` です"},
    "gru.gate_cache": {
        "en": "each gate comes from its block of xa and ha (blocks [r, z, n], sigmoid for r and z, tanh "
              "for n; n = tanh(xa_n + r * hn))",
        "ja": "各ゲートは `xa` と `ha` の自分のブロックから作ります（ブロック `[r, z, n]`、`r` と `z` には "
              "`sigmoid`、`n` には `tanh`。`n = tanh(xa_n + r * hn)`）"},
    "gru.hn": {
        "en": "hn = h_prev @ Wh[:, 2H:] + bh[2H:]: the recurrent part of the candidate, before r scales it",
        "ja": "`hn = h_prev @ Wh[:, 2H:] + bh[2H:]`: 候補の再帰部分で、`r` を掛ける前の値です"},
    "gru.no_direct": {
        "en": "the direct path is missing: h_next = ... + z * h_prev, so dh_prev gets dh_next * z besides "
              "dha @ Wh.T",
        "ja": "直接の経路が抜けています: `h_next = ... + z * h_prev` なので、`dh_prev` は `dha @ Wh.T` に加えて "
              "`dh_next * z` を受け取ります"},
    "gru.direct_swapped": {
        "en": "the direct path goes through z, not 1 - z: h_next = (1 - z) * n + z * h_prev, so it "
              "adds dh_next * z (Chainer's convention swaps z's roles)",
        "ja": "直接の経路は `1 - z` ではなく `z` を通ります: `h_next = (1 - z) * n + z * h_prev` なので "
              "`dh_next * z` を足します（Chainer の流儀では `z` の役割が入れ替わります）"},
    "gru.r_in_dha": {
        "en": "ha's candidate block enters scaled by r (n = tanh(xa_n + r * hn)): dha's n block is dan * r, "
              "dxa's is dan",
        "ja": "`ha` の候補のブロックは `r` を掛けて入ります（`n = tanh(xa_n + r * hn)`）: `dha` の `n` のブロックは "
              "`dan * r`、`dxa` のものは `dan` です"},
    "gru.z_back": {
        "en": "z's roles are swapped in backward: h_next = (1 - z) * n + z * h_prev, so n gets dh_next * (1 - z), "
              "h_prev's direct path dh_next * z, and z the gradient dh_next * (h_prev - n) (Chainer's convention "
              "swaps them all)",
        "ja": "逆伝播で `z` の役割が入れ替わっています: `h_next = (1 - z) * n + z * h_prev` なので、`n` は "
              "`dh_next * (1 - z)`、`h_prev` の直接の経路は `dh_next * z`、`z` は勾配 `dh_next * (h_prev - n)` を"
              "受け取ります（Chainer の流儀ではすべて入れ替わります）"},
    "gru.dh_prev": {
        "en": "dh_prev = dha @ Wh.T + dh_next * z: the gradient through the three blocks of ha, plus the direct "
              "path h_next = ... + z * h_prev",
        "ja": "`dh_prev = dha @ Wh.T + dh_next * z`: `ha` の三つのブロックを通る勾配と、直接の経路 "
              "`h_next = ... + z * h_prev` の和です"},
    "gru.gate.r": {
        "en": "r reaches the loss through n only: dr = dan * hn, with dan = dh_next * (1 - z) * (1 - n ** 2); "
              "then times r * (1 - r)",
        "ja": "`r` は `n` だけを通って損失に届きます: `dr = dan * hn`（`dan = dh_next * (1 - z) * (1 - n ** 2)`）、"
              "それに `r * (1 - r)` を掛けます"},
    "gru.gate.z": {
        "en": "dz = dh_next * (h_prev - n), from h_next = (1 - z) * n + z * h_prev (the sign flips when z's roles "
              "are swapped); then times z * (1 - z)",
        "ja": "`h_next = (1 - z) * n + z * h_prev` から `dz = dh_next * (h_prev - n)` です（`z` の役割を"
              "入れ替えると符号が反転します）。それに `z * (1 - z)` を掛けます"},
    "gru.gate.n": {
        "en": "dan = dh_next * (1 - z) * (1 - n ** 2), the gradient of n's pre-activation",
        "ja": "`dan = dh_next * (1 - z) * (1 - n ** 2)` は `n` の活性化前の値の勾配です"},
    "gru.gate_text": {"en": "{gate}: {text}", "ja": "`{gate}`: {text}"},
    "gru.gate_join": {"en": "{a}; {b}", "ja": "{a}。{b}"},
    "gru.refusal": {
        "en": "the GRU assignment builds F.gru_step: write it with xp (sigmoid, xp.tanh, @, .sum), not with "
              "rnnviz.functions, rnnviz.links or autograd",
        "ja": "GRU の課題では `F.gru_step` を自分で作ります: `rnnviz.functions`、`rnnviz.links`、自動微分は使わず、"
              "`xp`（`sigmoid`、`xp.tanh`、`@`、`.sum`）で書いてください"},
    "gru.dtype": {
        "en": "compute in the inputs' dtype: an array made with a default dtype (xp.zeros((N, 3 * H)), "
              "xp.ones(...)) or a NumPy float64 scalar turns float32 into float64; use dtype=x.dtype or "
              "xp.zeros_like",
        "ja": "入力の `dtype` で計算してください: 既定の `dtype` で作った配列（`xp.zeros((N, 3 * H))`、`xp.ones(...)`）"
              "や NumPy の float64 のスカラーは float32 を float64 に変えます。`dtype=x.dtype` か `xp.zeros_like` を"
              "使ってください"},
    "gru.dtype_wrong": {
        "en": "GRU.{phase}: {name} has dtype {got}, but the inputs are {dtype}.",
        "ja": "`GRU.{phase}` の `{name}` の `dtype` が {got} ですが、入力は {dtype} です。"},
    "gru.moved": {
        "en": "either the gates' blocks or activations are mixed up ({order}), or the cache's order is not {cache}",
        "ja": "ゲートのブロックか活性化関数が入れ替わっている（{order}）か、キャッシュの順が `{cache}` ではありません"},
    "gru.returns": {"en": "GRU.backward should return (dx, dh_prev)",
                    "ja": "`GRU.backward` は `(dx, dh_prev)` を返す必要があります"},
    "gru.dx": {
        "en": "dx = dxa @ Wx.T, where dxa (N, 3H) joins the gradients of the blocks [r, z, n] of xa",
        "ja": "`dx = dxa @ Wx.T` で、`dxa`（形状 (N, 3H)）は `xa` のブロック `[r, z, n]` の勾配を並べたものです"},
    "gru.grads_count": {"en": "GRU.grads should hold four arrays: [dWx, dWh, dbx, dbh]",
                        "ja": "`GRU.grads` には配列が 4 個（`[dWx, dWh, dbx, dbh]`）入るはずです"},
    "gru.weight": {
        "en": "{name} = {formula}, where dxa, dha (N, 3H) join the blocks [r, z, n]",
        "ja": "`{name} = {formula}` で、`dxa`・`dha`（形状 (N, 3H)）はブロック `[r, z, n]` を並べたものです"},
    "gru.sum_shape": {"en": "{name} sums over the batch axis (axis=0)",
                      "ja": "`{name}` はバッチの軸（`axis=0`）について和をとります"},
    "gru.example.forward": {
        "en": "h = n + z * (h_prev - n) makes a new array; h_prev += ... changes the caller's",
        "ja": "`h = n + z * (h_prev - n)` は新しい配列を作りますが、`h_prev += ...` は呼び出し側の配列を変えます"},
    "gru.example.backward": {
        "en": "dn = dh_next * (1 - z) makes a new array; dh_next *= ... changes the caller's",
        "ja": "`dn = dh_next * (1 - z)` は新しい配列を作りますが、`dh_next *= ...` は呼び出し側の配列を変えます"},
}
i18n.register(STRINGS)


def say(key, **fields):
    return i18n.tr(f"gru.{key}", **fields)


GATES = ("r", "z", "n")
REFUSAL = "gru.refusal"
CACHE = ("x", "h_prev", "r", "z", "n", "hn")
ORDER_TEXT = "(x, h_prev, r, z, n, hn)"
CACHE_HINTS = cache_hints("GRU", ORDER_TEXT)
NAMES = ("x", "h_prev", "Wx", "Wh", "bx", "bh", "dh_next")
TOLERANCE = {"float64": {}, "float32": {"rtol": 2e-4, "atol": 2e-5}}


def sigmoid(a):
    return 1 / (1 + numpy.exp(-a))


def random_case(seed, N, D, H, dtype="float64"):
    shapes = [(N, D), (N, H), (D, 3 * H), (H, 3 * H), (3 * H,), (3 * H,), (N, H)]
    return {n: numpy.random.default_rng(seed + k).standard_normal(s).astype(dtype)
            for k, (n, s) in enumerate(zip(NAMES, shapes))}


def gru_numpy(x, h_prev, Wx, Wh, bx, bh, reset="after", z_role="pytorch", order=(0, 1, 2), acts=None):
    """(h_next, cache) in NumPy float64, and the forward of a learner's usual mistakes: the reset gate
    ``reset`` "before" the product or with the bias "outside" it, ``z_role`` "chainer" (z and 1 - z
    swapped), the blocks read in another ``order``, other activations ``acts`` (r, z, n)."""
    x, h_prev, Wx, Wh, bx, bh = (numpy.asarray(a, dtype=numpy.float64) for a in (x, h_prev, Wx, Wh, bx, bh))
    H = h_prev.shape[1]
    blk = lambda A, k: A[..., k * H:(k + 1) * H]     # noqa: E731  (block k of the 3H axis)
    xa, ha = x @ Wx + bx, h_prev @ Wh + bh
    ar, az, an = acts or (sigmoid, sigmoid, numpy.tanh)
    ir, iz, i_n = order
    r = ar(blk(xa, ir) + blk(ha, ir))
    z = az(blk(xa, iz) + blk(ha, iz))
    hn = blk(ha, i_n)
    if reset == "before":
        pre = blk(xa, i_n) + (r * h_prev) @ blk(Wh, i_n) + blk(bh, i_n)
    elif reset == "outside":
        pre = blk(xa, i_n) + r * (h_prev @ blk(Wh, i_n)) + blk(bh, i_n)
    else:
        pre = blk(xa, i_n) + r * hn
    n = an(pre)
    h_next = (1 - z) * n + z * h_prev if z_role == "pytorch" else z * n + (1 - z) * h_prev
    return h_next, {"x": x, "h_prev": h_prev, "r": r, "z": z, "n": n, "hn": hn}


def forward_variants(a):
    """[(h_next, sentence)] of the forwards a learner may write by mistake; the sentence names it."""
    args = [a[n] for n in NAMES[:6]]
    right = (sigmoid, sigmoid, numpy.tanh)
    activations = [right, (numpy.tanh, sigmoid, numpy.tanh), (sigmoid, numpy.tanh, numpy.tanh),
                   (sigmoid, sigmoid, sigmoid)]
    out = []
    for reset, z_role, order, acts in itertools.product(("after", "before", "outside"), ("pytorch", "chainer"),
                                                        itertools.permutations(range(3)), activations):
        wrong = ([say("reset_before")] * (reset == "before") + [say("bias_outside")] * (reset == "outside")
                 + [say("z_swapped")] * (z_role == "chainer") + [say("order")] * (order != (0, 1, 2))
                 + [say("activations")] * (acts is not right))
        if wrong:
            h, _ = gru_numpy(*args, reset=reset, z_role=z_role, order=order, acts=acts)
            out.append((h, joined(wrong)))
    return out


def gru_reference(x, h_prev, Wx, Wh, bx, bh, dh_next):
    """h_next and the gradients (dx, dh_prev, dWx, dWh, dbx, dbh) from the library's F.gru_step
    (float64), in the learner's layout (Wx (D, 3H), Wh (H, 3H))."""
    f64 = [Variable(numpy.asarray(v, dtype=numpy.float64)) for v in (x, h_prev, Wx.T, Wh.T, bx, bh)]
    x_, h_, Wx_, Wh_, bx_, bh_ = f64
    h_next = F.gru_step(h_, x_, Wx_, Wh_, bx_, bh_)
    h_next.grad = numpy.asarray(dh_next, dtype=numpy.float64)
    h_next.backward()
    return h_next.array, (x_.grad, h_.grad, Wx_.grad.T, Wh_.grad.T, bx_.grad, bh_.grad)


def backward_numpy(cache, Wx, Wh, dh_next, direct="keep", r_in_dha=True, z_role="pytorch"):
    """(dx, dh_prev, dWx, dWh, dbx, dbh) by hand from ``cache``, with a learner's mistakes to recognise
    them: the direct path into h_prev ``direct`` ("keep": through z, right; "other": through 1 - z;
    None: missing), dha's candidate block without r (``r_in_dha=False``), z's roles swapped in the
    whole backward (``z_role="chainer"``)."""
    x, h_prev, r, z, n, hn = (cache[k] for k in CACHE)
    keep, new = (z, 1 - z) if z_role == "pytorch" else (1 - z, z)
    dan = dh_next * new * (1 - n ** 2)
    dar = dan * hn * r * (1 - r)
    daz = dh_next * (h_prev - n) * z * (1 - z) * (1 if z_role == "pytorch" else -1)
    dxa = numpy.concatenate([dar, daz, dan], axis=1)
    dha = numpy.concatenate([dar, daz, dan * r if r_in_dha else dan], axis=1)
    path = {"keep": dh_next * keep, "other": dh_next * new, None: 0}[direct]
    return dxa @ Wx.T, dha @ Wh.T + path, x.T @ dxa, h_prev.T @ dha, dxa.sum(axis=0), dha.sum(axis=0)


def backward_variants(cache, Wx, Wh, dh_next):
    """[(gradients, sentence)] of the backwards a learner may write by mistake (``backward_numpy``)."""
    return [(backward_numpy(cache, Wx, Wh, dh_next, **kw), sentence) for kw, sentence in (
        ({"direct": None}, say("no_direct")), ({"direct": "other"}, say("direct_swapped")),
        ({"r_in_dha": False}, say("r_in_dha")),
        ({"direct": None, "r_in_dha": False}, joined([say("no_direct"), say("r_in_dha")])),
        ({"z_role": "chainer"}, say("z_back")))]


def wrong_gates(got, want, axis, tol):
    """The gate blocks (of "r", "z", "n") where ``got`` differs from ``want`` along ``axis``."""
    g = host(got)
    if not isinstance(g, numpy.ndarray) or g.shape != want.shape or g.shape[axis] % 3:
        return []
    gs, ws = numpy.split(g.astype(numpy.float64), 3, axis=axis), numpy.split(want, 3, axis=axis)
    return [name for name, a, b in zip(GATES, gs, ws)
            if not numpy.allclose(a, b, rtol=tol.get("rtol", 1e-6), atol=tol.get("atol", 1e-9))]


class GRUCheck(LayerCheck):
    learner = ("GRU",)
    refusal = REFUSAL
    hints = {"backward": CACHE_HINTS}
    shape_notes = {"backward": lambda: shared("shape_note", order=ORDER_TEXT)}

    def describe(self, case):
        return ", ".join(f"{k}={v}" for k, v in case.items() if k != "seed")

    @staticmethod
    def make(GRU, a, given, where):
        return GRU(*(given(given_to(n, f"GRU(Wx, Wh, bx, bh){where}"), a[n]) for n in ("Wx", "Wh", "bx", "bh")))

    def judge_dtype(self, got, phase_name, keys, dtype, run):
        """The part "dtype": every array in ``got[phase_name][key]`` has the case's dtype (what is not
        an array is the other parts' business)."""
        with part("dtype"):
            for key in keys:
                value = self.result(got, phase_name, key, run)
                values = value if isinstance(value, (tuple, list)) else [value]
                for k, v in enumerate(values):
                    name = f"{key}[{k}]" if isinstance(value, (tuple, list)) else key
                    if isinstance(v, Received) and v.array.dtype.name != dtype:
                        raise AssertionError(f"{say('dtype_wrong', phase=phase_name, name=name, got=v.array.dtype.name, dtype=dtype)}"
                                             f"\n  {usual(say('dtype'))}")


@register
class Forward(GRUCheck):
    """``GRU.forward(x, h_prev)``: h_next and self.cache."""

    name = "gru.forward"
    parts = {"h_next": 1.5, "cache": 0.75, "dtype": 0.25, "inputs unchanged": 0.5}
    example = "gru.example.forward"

    def inputs(self, seed, N, D, H, dtype="float64"):
        return random_case(seed, N, D, H, dtype)

    def run(self, GRU, inputs, xp):
        got, given, a = {}, Given(), inputs
        with refusing_library(self.refusal), phase(got, "forward") as out:
            layer = self.make(GRU, a, given, "")
            out["h_next"] = keep(layer.forward(*(given(given_to(n, "GRU.forward"), a[n]) for n in ("x", "h_prev"))))
            out["cache"] = keep(layer.cache)
        got["given"] = given.arrays()
        return got

    def judge(self, inputs, got, run):
        a = {n: host(v) for n, v in inputs.items()}
        dtype = a["x"].dtype.name
        tol, dev = TOLERANCE[dtype], run.device
        want, cache = gru_numpy(*(a[n] for n in NAMES[:6]))
        with part("h_next"):
            out = self.result(got, "forward", "h_next", run)
            g = host(out)
            right = (isinstance(g, numpy.ndarray) and g.shape == want.shape
                     and numpy.allclose(g, want, rtol=1e-6, atol=1e-9))
            plain = say("forward")
            hint = matching(out, forward_variants(a), plain) if dtype == "float64" and not right else plain
            check_array(code("GRU.forward: h_next"), out, want, device=dev, **tol,
                        mistakes={"other": hint, "parts": hint, "scaled": hint, "sign": hint})
        with part("cache"):
            cached = self.result(got, "forward", "cache", run)
            if dtype == "float32" and isinstance(cached, (tuple, list)):   # compared at float32's precision
                cached = [c if not isinstance(c, Received) else
                          Received(_rounded(c.array, w, tol), c.origin) for c, w in zip(cached, cache.values())]
            check_cache("GRU.forward: self.cache", cached, [(n, cache[n]) for n in CACHE], dev, ORDER_TEXT, mistakes={
                **{n: {"other": as_given(n)} for n in ("x", "h_prev")},
                **{n: {"other": say("gate_cache")} for n in ("r", "z", "n")},
                "hn": {"other": say("hn")},
                "moved": say("moved", order=say("order"), cache=ORDER_TEXT)})
        self.judge_dtype(got, "forward", ("h_next", "cache"), dtype, run)
        self.judge_unchanged(got, originals(a, ("Wx", "Wh", "bx", "bh"), "GRU(Wx, Wh, bx, bh)")
                             | originals(a, ("x", "h_prev"), "GRU.forward"), ["forward"], run)


def _rounded(got, want, tol):
    """``got`` replaced by ``want`` where they agree to float32's precision (check_cache compares to 1e-6)."""
    if got.shape != numpy.shape(want):
        return got
    close = numpy.isclose(got.astype(numpy.float64), want, rtol=tol["rtol"], atol=tol["atol"])
    return numpy.where(close, want, got.astype(numpy.float64))


@register
class Backward(GRUCheck):
    """A new ``GRU`` with the reference ``self.cache``: ``backward(dh_next)`` -> dx, dh_prev and
    grads [dWx, dWh, dbx, dbh]."""

    name = "gru.backward"
    parts = {"dh_prev": 1, "dx": 0.75, "dWx": 0.75, "dWh": 0.75, "dbx": 0.5, "dbh": 0.5, "dtype": 0.25,
             "inputs unchanged": 0.5}
    example = "gru.example.backward"

    def inputs(self, seed, N, D, H, dtype="float64"):
        a = random_case(seed, N, D, H, dtype)
        _, cache = gru_numpy(*(a[n] for n in NAMES[:6]))
        a.update({n: cache[n].astype(dtype) for n in ("r", "z", "n", "hn")})
        return a

    def run(self, GRU, inputs, xp):
        a, got, given = inputs, {}, Given()
        with refusing_library(self.refusal), phase(got, "backward") as out:
            layer = self.make(GRU, a, given, "")
            before = list(layer.grads)
            layer.cache = tuple(given(label("cache", k=k, name=n, where="GRU.backward"), a[n])
                                for k, n in enumerate(CACHE))
            out["returned"] = keep(layer.backward(given(given_to("dh_next", "GRU.backward"), a["dh_next"])))
            out["grads"] = keep(layer.grads)
            out["in_place"] = in_place(layer, before)
        got["given"] = given.arrays()
        return got

    def returned(self, got, run):
        out = self.result(got, "backward", "returned", run)
        assert isinstance(out, (tuple, list)) and len(out) == 2, say("returns")
        return out

    def judge(self, inputs, got, run):
        a = {n: host(v) for n, v in inputs.items()}
        dtype = a["x"].dtype.name
        tol, dev = TOLERANCE[dtype], run.device
        _, (want_dx, want_dh, *want_w) = gru_reference(*(a[n] for n in NAMES))
        cache = {n: a[n].astype(numpy.float64) for n in CACHE}
        Wx, Wh, dh = (a[n].astype(numpy.float64) for n in ("Wx", "Wh", "dh_next"))
        N = a["x"].shape[0]
        variants = backward_variants(cache, Wx, Wh, dh)
        with part("dh_prev"):
            out = self.returned(got, run)
            check_array(code("GRU.backward: dh_prev"), out[1], want_dh, device=dev, **tol,
                        mistakes={"other": matching(out[1], [(v[1], t) for v, t in variants], say("dh_prev"))})
        with part("dx"):
            out = self.returned(got, run)
            hint = matching(out[0], [(v[0], t) for v, t in variants], say("dx"))
            check_array(code("GRU.backward: dx"), out[0], want_dx, device=dev, **tol,
                        mistakes={"other": hint, "scaled": hint})
        formulas = {"dWx": ("x.T @ dxa", 1), "dWh": ("h_prev.T @ dha", 1), "dbx": ("dxa.sum(axis=0)", 0),
                    "dbh": ("dha.sum(axis=0)", 0)}
        for k, (name, want) in enumerate(zip(formulas, want_w)):
            formula, axis = formulas[name]
            with part(name):
                grads = self.result(got, "backward", "grads", run)
                assert isinstance(grads, (list, tuple)) and len(grads) == 4, say("grads_count")
                wrong = wrong_gates(grads[k], want, axis, tol)
                gate_text = ""
                for g in wrong:
                    one = say("gate_text", gate=g, text=say(f"gate.{g}"))
                    gate_text = say("gate_join", a=gate_text, b=one) if gate_text else one
                known = matching(grads[k], [(v[2 + k], t) for v, t in variants])
                plain = known or say("weight", name=name, formula=formula)
                check_array(shared("grad_name", cls="GRU", k=k, name=name), grads[k], want, device=dev, **tol,
                            parts=(axis, list(GATES)), mistakes={
                                "swapped_parts": say("order"), "parts": known or gate_text or plain, "other": plain,
                                "scaled": by_scale(grads[k], want, batch_factors(N, name), plain),
                                "shape": say("sum_shape", name=name) if axis == 0 else plain,
                                "zero": shared("not_written", k=k, what=name)})
                flags = self.result(got, "backward", "in_place", run)
                assert isinstance(flags, list) and k < len(flags) and flags[k] is True, (
                    shared("new_array", cls="GRU", k=k, name=name))
        self.judge_dtype(got, "backward", ("returned", "grads"), dtype, run)
        cache_labels = {label("cache", k=k, name=n, where="GRU.backward"): a[n] for k, n in enumerate(CACHE)}
        self.judge_unchanged(got, originals(a, ("Wx", "Wh", "bx", "bh"), "GRU(Wx, Wh, bx, bh)") | cache_labels
                             | originals(a, ("dh_next",), "GRU.backward"), ["backward"], run)


def originals(a, names, where):
    return {given_to(n, where): a[n] for n in names}

