"""Checks for the LSTM assignment: one step forward and backward against rnnviz's fused ``F.lstm``.

The learner's ``LSTM(Wx, Wh, b)`` has ``forward(x, h_prev, c_prev)``, ``backward(dh_next,
dc_next)`` and ``grads``; gate blocks [i, f, g, o] along the 4H axis. Every check has parts
(``parts``: {name: weight}); the weights are the points of the test cell's parts (forward 3,
backward 5), and a part fails when it fails in any case on any device, costing its points only.

``lstm.forward``   ``forward(x, h_prev, c_prev)``: "c_next", "h_next" (returned), "cache"
                   (``self.cache == (x, h_prev, c_prev, i, f, g, o, tc)``, ``tc = tanh(c_next)``),
                   "inputs unchanged".
``lstm.backward``  a new ``LSTM`` whose ``self.cache`` the check sets to the reference cache;
                   ``backward(dh_next, dc_next)``: "dc_prev", "dx", "dh_prev" (returned), "dWx",
                   "dWh", "db" (written into ``self.grads``, the arrays ``__init__`` made), "inputs
                   unchanged".
``lstm.step``      the learner's forward then backward on the same layer, with all the parts of
                   both; no notebook calls it any more (kept for the tests and texts that name it).

**The backward is judged from the reference forward's cache**, so that a wrong forward (a gate
order, a sigmoid for tanh) does not also cost the backward's points. The grader computes the cache
in ``inputs`` from the case's arrays and sends it to the learner's kernel: the gates and
``tanh(c_next)`` of those inputs. It is harmless: each backward case has its own seed, different from
every forward case's, so these are the forward of inputs on which no forward is judged, and they are
not the backward's answer, which the learner's code computes from them.

**Inputs unchanged**: ``run`` hands the learner's code fresh copies of the arrays and sends back what
they hold after the call; the grader compares them with the arrays it made (``c_prev *= f`` or
``dc = dc_next; dc += ...`` change the caller's arrays).

**F.lstm is refused**: while the learner's code runs, rnnviz's functions (``F.lstm``,
``F.lstm_step``, ``F.sigmoid``, ...), the fused cell's ``cell_forward``/``cell_backward``,
``FunctionNode.apply`` (every function and link) and autograd raise ``Refused``, restored
afterwards (``rnn_by_hand.refusing_library``).
"""
import itertools

import numpy

from ... import functions as F
from ... import i18n
from ...core import Variable
from ..checks import check_array
from ..protocol import host, part, register
from .rnn_by_hand import (Given, LayerCheck, as_given, batch_factors, by_scale, cache_hints, check_cache, code,
                          given_to, in_place, joined, keep, label, matching, phase, refusing_library)
from .rnn_by_hand import say as shared

# The learner-readable texts of these checks (``say``: looked up when a message is made).
STRINGS = {
    "lstm.order": {
        "en": "the gates must be laid out [i, f, g, o] along the 4H axis (rnnviz and PyTorch); "
              "[f, g, i, o] is the book's order",
        "ja": "ゲートは 4H の軸に沿って `[i, f, g, o]` の順に並べます（`rnnviz` と PyTorch の順）。"
              "`[f, g, i, o]` は教科書の順です"},
    "lstm.gate_slices": {
        "en": "check each gate's slice and activation: blocks [i, f, g, o] along the 4H axis "
              "(A[:, :H] is i, A[:, H:2*H] is f, ...), sigmoid for i, f, o and tanh for g",
        "ja": "各ゲートのスライスと活性化関数を確かめてください: 4H の軸に沿ってブロック `[i, f, g, o]`"
              "（`A[:, :H]` が `i`、`A[:, H:2*H]` が `f`、…）、`i`・`f`・`o` には `sigmoid`、`g` には `tanh` です"},
    "lstm.order_fwd": {
        "en": "the gates' slices are in another order: A[:, :H] is i, A[:, H:2*H] is f, A[:, 2*H:3*H] is g, "
              "A[:, 3*H:] is o (rnnviz's and PyTorch's [i, f, g, o]; [f, g, i, o] is the book's order)",
        "ja": "ゲートのスライスの順が違います: `A[:, :H]` が `i`、`A[:, H:2*H]` が `f`、`A[:, 2*H:3*H]` が `g`、"
              "`A[:, 3*H:]` が `o` です（`rnnviz` と PyTorch の `[i, f, g, o]`。`[f, g, i, o]` は教科書の順です）"},
    "lstm.activations": {
        "en": "a gate has the wrong activation: sigmoid for i, f and o, tanh for g",
        "ja": "活性化関数を間違えたゲートがあります: `i`・`f`・`o` には `sigmoid`、`g` には `tanh` です"},
    "lstm.forward": {
        "en": "compare each line with the equations: A = x @ Wx + h_prev @ Wh + b, the gates ({slices}), "
              "c_next = f * c_prev + i * g, h_next = o * tanh(c_next)",
        "ja": "各行を式と見比べてください: `A = x @ Wx + h_prev @ Wh + b`、ゲート（{slices}）、"
              "`c_next = f * c_prev + i * g`、`h_next = o * tanh(c_next)` です"},
    "lstm.gate_cache": {
        "en": "each gate is the activation of its block of A = x @ Wx + h_prev @ Wh + b: {slices}",
        "ja": "各ゲートは `A = x @ Wx + h_prev @ Wh + b` の自分のブロックに活性化関数を通したものです: {slices}"},
    "lstm.tc": {"en": "tc = tanh(c_next); {slices}", "ja": "`tc = tanh(c_next)` です。{slices}"},
    "lstm.moved": {
        "en": "either the gates' slices or activations are mixed up ({slices}), or the cache's order is not {order}",
        "ja": "ゲートのスライスか活性化関数が入れ替わっている（{slices}）か、キャッシュの順が `{order}` ではありません"},
    "lstm.gate_grads": {
        "en": "the gates named wrong get a wrong gradient: i, f and g reach the loss through c_next "
              "(their gradient goes through dc, which includes the path through h_next), o through "
              "h_next alone; then each block is d(gate) times its activation's derivative "
              "(sigmoid: s * (1 - s), tanh: 1 - t ** 2)",
        "ja": "間違いとされたゲートの勾配が間違っています: `i`・`f`・`g` は `c_next` を通って損失に届き（その勾配は "
              "`h_next` を通る経路も含む `dc` を通ります）、`o` は `h_next` だけを通ります。各ブロックは、"
              "ゲートの勾配に活性化関数の導関数（`sigmoid`: `s * (1 - s)`、`tanh`: `1 - t ** 2`）を掛けたものです"},
    "lstm.dc_prev": {
        "en": "dc_prev = dc * f, where dc gathers both paths into c_next: dc_next, and the path "
              "through h_next = o * tanh(c_next)",
        "ja": "`dc_prev = dc * f` で、`dc` は `c_next` に入る二つの経路をまとめたもの: `dc_next` と、"
              "`h_next = o * tanh(c_next)` を通る経路です"},
    "lstm.no_h_path": {
        "en": "the path from h_next into c_next is missing: c_next also feeds h_next = o * "
              "tanh(c_next), so the gradient reaching c_next is dc_next plus what comes through h_next",
        "ja": "`h_next` から `c_next` への経路が抜けています: `c_next` は `h_next = o * tanh(c_next)` にも"
              "使われるので、`c_next` に届く勾配は `dc_next` と `h_next` を通ってくる分の和です"},
    "lstm.wrong_gate": {
        "en": "dc_prev goes through the forget gate: c_next = f * c_prev + i * g, so dc_prev = dc * f",
        "ja": "`dc_prev` は忘却ゲートを通ります: `c_next = f * c_prev + i * g` なので `dc_prev = dc * f` です"},
    "lstm.refusal": {
        "en": "the LSTM assignment builds F.lstm: write it with xp (sigmoid, xp.tanh, @, .sum), not "
              "with rnnviz.functions, rnnviz.links or autograd",
        "ja": "LSTM の課題では `F.lstm` を自分で作ります: `rnnviz.functions`、`rnnviz.links`、自動微分は使わず、"
              "`xp`（`sigmoid`、`xp.tanh`、`@`、`.sum`）で書いてください"},
    "lstm.returns_forward": {"en": "LSTM.forward should return (h_next, c_next)",
                             "ja": "`LSTM.forward` は `(h_next, c_next)` を返す必要があります"},
    "lstm.returns_backward": {"en": "LSTM.backward should return (dx, dh_prev, dc_prev)",
                              "ja": "`LSTM.backward` は `(dx, dh_prev, dc_prev)` を返す必要があります"},
    "lstm.dA": {
        "en": "{name} = dA @ {weight}.T, where dA (N, 4H), the gradient of A, joins the gates' blocks "
              "[i, f, g, o]: check dA and the transpose",
        "ja": "`{name} = dA @ {weight}.T` で、`A` の勾配 `dA`（形状 (N, 4H)）はゲートのブロック `[i, f, g, o]` を"
              "並べたものです: `dA` と転置を確かめてください"},
    "lstm.weight": {
        "en": "{what} = {formula}, where dA (N, 4H) joins the gates' blocks [i, f, g, o]",
        "ja": "`{what} = {formula}` で、`dA`（形状 (N, 4H)）はゲートのブロック `[i, f, g, o]` を並べたものです"},
    "lstm.db_shape": {"en": "db sums dA over the batch axis (axis=0)",
                      "ja": "`db` は `dA` をバッチの軸（`axis=0`）について和をとります"},
    "lstm.grads_count": {"en": "LSTM.grads should hold three arrays: [dWx, dWh, db]",
                         "ja": "`LSTM.grads` には配列が 3 個（`[dWx, dWh, db]`）入るはずです"},
    "lstm.example.forward": {"en": "c_next = f * c_prev + i * g, not c_prev *= f",
                             "ja": "`c_prev *= f` ではなく `c_next = f * c_prev + i * g`"},
    "lstm.example.backward": {"en": "dc = dc_next + ..., not dc = dc_next; dc += ...",
                              "ja": "`dc = dc_next; dc += ...` ではなく `dc = dc_next + ...`"},
}
i18n.register(STRINGS)


def say(key, **fields):
    return i18n.tr(f"lstm.{key}", **fields)


GATES = {"parts": (1, ["i", "f", "g", "o"])}    # the 4H axis of Wx and Wh: which gates are wrong
GATES_B = {"parts": (0, ["i", "f", "g", "o"])}  # ... and of b
REFUSAL = "lstm.refusal"
NAMES = ("x", "h_prev", "c_prev", "Wx", "Wh", "b", "dh_next", "dc_next")
CACHE = ("x", "h_prev", "c_prev", "i", "f", "g", "o", "tc")
ORDER_TEXT = "(x, h_prev, c_prev, i, f, g, o, tc)"
CACHE_HINTS = cache_hints("LSTM", ORDER_TEXT)


def lstm_reference(x, h_prev, c_prev, Wx, Wh, b, dh_next, dc_next):
    """(h_next, c_next) and the gradients (dx, dh_prev, dc_prev, dWx, dWh, db) from F.lstm."""
    vs = [Variable(a) for a in (x, h_prev, c_prev, Wx, Wh, b)]
    x_, h_, c_, Wx_, Wh_, b_ = vs
    A = F.matmul(x_, Wx_) + F.matmul(h_, Wh_)
    c_next, h_next = F.lstm(c_, A + F.broadcast_to(b_, A.shape))
    loss = F.sum(h_next * Variable(dh_next)) + F.sum(c_next * Variable(dc_next))
    loss.backward()
    return (h_next.array, c_next.array), [v.grad for v in vs]


def lstm_cache(x, h_prev, c_prev, Wx, Wh, b):
    """The cache the notebook prescribes, {name: array}: (x, h_prev, c_prev, i, f, g, o, tc)."""
    H = h_prev.shape[1]
    A = x @ Wx + h_prev @ Wh + b
    sigmoid = lambda z: 1 / (1 + numpy.exp(-z))   # noqa: E731
    i, f, g, o = sigmoid(A[:, :H]), sigmoid(A[:, H:2 * H]), numpy.tanh(A[:, 2 * H:3 * H]), sigmoid(A[:, 3 * H:])
    c_next = f * c_prev + i * g
    return {"x": x, "h_prev": h_prev, "c_prev": c_prev, "i": i, "f": f, "g": g, "o": o, "tc": numpy.tanh(c_next)}


def forward_variants(x, h_prev, c_prev, Wx, Wh, b):
    """[(c_next, h_next, sentence)] of the gate layouts a learner may write by mistake: the blocks of
    A in another order, a gate with the other activation, or both; the sentence names the mistake."""
    H = h_prev.shape[1]
    A = x @ Wx + h_prev @ Wh + b
    blocks = [A[:, k * H:(k + 1) * H] for k in range(4)]
    sig = lambda z: 1 / (1 + numpy.exp(-z))   # noqa: E731
    right = (sig, sig, numpy.tanh, sig)
    activations = [right, (sig, sig, sig, sig)] + [right[:k] + (numpy.tanh,) + right[k + 1:] for k in (0, 1, 3)]
    out = []
    for order in itertools.permutations(range(4)):
        for acts in activations:
            wrong = [say("order_fwd")] * (order != (0, 1, 2, 3)) + [say("activations")] * (acts is not right)
            if wrong:
                i, f, g, o = (act(blocks[k]) for act, k in zip(acts, order))
                c_next = f * c_prev + i * g
                out.append((c_next, o * numpy.tanh(c_next), joined(wrong)))
    return out


def dc_prev_with(cache, dh_next, dc_next, h_path=True, gate="f"):
    """dc_prev by hand, with two of a learner's mistakes to recognise them: no path from h_next
    into c (``h_path=False``), dc_prev through another gate (``gate``)."""
    o, tc = cache["o"], cache["tc"]
    dc = dc_next + (dh_next * o * (1 - tc ** 2) if h_path else 0)
    return dc * cache[gate]


def random_case(seed, N, D, H):
    shapes = [(N, D), (N, H), (N, H), (D, 4 * H), (H, 4 * H), (4 * H,), (N, H), (N, H)]
    return {n: numpy.random.default_rng(seed + k).standard_normal(s) for k, (n, s) in enumerate(zip(NAMES, shapes))}


class LSTMCheck(LayerCheck):
    learner = ("LSTM",)
    refusal = REFUSAL
    hints = {"backward": CACHE_HINTS}
    shape_notes = {"backward": lambda: shared("shape_note", order=ORDER_TEXT)}

    def forward_phase(self, LSTM, a, got, given):
        layer = None
        with phase(got, "forward") as out:
            layer = LSTM(*(given(given_to(n, "LSTM(Wx, Wh, b)"), a[n]) for n in ("Wx", "Wh", "b")))
            out["returned"] = keep(layer.forward(*(given(given_to(n, "LSTM.forward"), a[n])
                                                   for n in ("x", "h_prev", "c_prev"))))
            out["cache"] = keep(layer.cache)
        return layer

    @staticmethod
    def backward_calls(layer, a, out, given):
        before = list(layer.grads)
        out["returned"] = keep(layer.backward(*(given(given_to(n, "LSTM.backward"), a[n])
                                                for n in ("dh_next", "dc_next"))))
        out["grads"] = keep(layer.grads)
        out["in_place"] = in_place(layer, before)

    def judge_forward(self, a, got, run):
        dev = run.device
        cache = lstm_cache(*(a[n] for n in ("x", "h_prev", "c_prev", "Wx", "Wh", "b")))
        c_next = cache["f"] * a["c_prev"] + cache["i"] * cache["g"]
        h_next = cache["o"] * cache["tc"]
        variants = forward_variants(*(a[n] for n in ("x", "h_prev", "c_prev", "Wx", "Wh", "b")))
        for k, name, want in ((1, "c_next", c_next), (0, "h_next", h_next)):
            with part(name):
                out = self.result(got, "forward", "returned", run)
                assert isinstance(out, (tuple, list)) and len(out) == 2, say("returns_forward")
                hint = matching(out[k], [(v[1 - k], sentence) for *v, sentence in variants],
                                say("forward", slices=say("gate_slices")))
                check_array(code(f"LSTM.forward: {name}"), out[k], want, device=dev,
                            mistakes={"other": hint, "parts": hint, "scaled": hint, "sign": hint})
        with part("cache"):
            slices = say("gate_slices")
            check_cache("LSTM.forward: self.cache", self.result(got, "forward", "cache", run),
                        [(n, cache[n]) for n in CACHE], dev, ORDER_TEXT, mistakes={
                            **{n: {"other": as_given(n)} for n in ("x", "h_prev", "c_prev")},
                            **{n: {"other": say("gate_cache", slices=slices)} for n in ("i", "f", "g", "o")},
                            "tc": {"other": say("tc", slices=slices)},
                            "moved": say("moved", slices=slices, order=ORDER_TEXT)})

    def judge_backward(self, a, cache, got, run):
        dev = run.device
        _, grads = lstm_reference(*(a[n] for n in NAMES))
        want_dx, want_dh, want_dc, want_dWx, want_dWh, want_db = grads
        N = a["x"].shape[0]
        with part("dc_prev"):
            out = self.returned(got, run)
            alternatives = [(dc_prev_with(cache, a["dh_next"], a["dc_next"], h_path=False), say("no_h_path"))]
            alternatives += [(dc_prev_with(cache, a["dh_next"], a["dc_next"], gate=gate), say("wrong_gate"))
                             for gate in ("i", "g", "o")]
            check_array(code("LSTM.backward: dc_prev"), out[2], want_dc, device=dev,
                        mistakes={"other": matching(out[2], alternatives, say("dc_prev"))})
        for k, name, want, weight in ((0, "dx", want_dx, "Wx"), (1, "dh_prev", want_dh, "Wh")):
            with part(name):
                out = self.returned(got, run)
                hint = say("dA", name=name, weight=weight)
                check_array(code(f"LSTM.backward: {name}"), out[k], want, device=dev,
                            mistakes={"other": hint, "scaled": hint})

        def mistakes(k, got_w, want):
            what, formula = (("dWx", "x.T @ dA"), ("dWh", "h_prev.T @ dA"), ("db", "dA.sum(axis=0)"))[k]
            hint = say("weight", what=what, formula=formula)
            return {"swapped_parts": say("order"), "parts": say("gate_grads"), "other": hint,
                    "scaled": by_scale(got_w, want, batch_factors(N, what), hint),
                    "shape": say("db_shape") if what == "db" else hint,
                    "zero": shared("not_written", k=k, what=what)}

        for k, (name, want) in enumerate((("dWx", want_dWx), ("dWh", want_dWh), ("db", want_db))):
            self.judge_grads_one(got, run, k, name, want, mistakes, GATES_B if name == "db" else GATES)

    def returned(self, got, run):
        out = self.result(got, "backward", "returned", run)
        assert isinstance(out, (tuple, list)) and len(out) == 3, say("returns_backward")
        return out

    def judge_grads_one(self, got, run, k, name, want, mistakes, gates):
        with part(name):
            grads = self.result(got, "backward", "grads", run)
            assert isinstance(grads, (list, tuple)) and len(grads) == 3, say("grads_count")
            check_array(shared("grad_name", cls="LSTM", k=k, name=name), grads[k], want, device=run.device,
                        mistakes=mistakes(k, grads[k], want), **gates)
            flags = self.result(got, "backward", "in_place", run)
            assert isinstance(flags, list) and k < len(flags) and flags[k] is True, (
                shared("new_array", cls="LSTM", k=k, name=name))


@register
class Forward(LSTMCheck):
    """``LSTM.forward``: h_next, c_next and self.cache."""

    name = "lstm.forward"
    parts = {"c_next": 1, "h_next": 1, "cache": 0.5, "inputs unchanged": 0.5}
    example = "lstm.example.forward"

    def inputs(self, seed, N, D, H):
        return random_case(seed, N, D, H)

    def run(self, LSTM, inputs, xp):
        got, given = {}, Given()
        with refusing_library(self.refusal):
            self.forward_phase(LSTM, inputs, got, given)
        got["given"] = given.arrays()
        return got

    def judge(self, inputs, got, run):
        a = {n: host(v) for n, v in inputs.items()}
        self.judge_forward(a, got, run)
        self.judge_unchanged(got, originals(a, ("Wx", "Wh", "b"), "LSTM(Wx, Wh, b)")
                             | originals(a, ("x", "h_prev", "c_prev"), "LSTM.forward"), ["forward"], run)


@register
class Backward(LSTMCheck):
    """A new ``LSTM`` with the reference ``self.cache``: ``backward(dh_next, dc_next)`` -> dx,
    dh_prev, dc_prev and grads [dWx, dWh, db]."""

    name = "lstm.backward"
    parts = {"dc_prev": 1, "dx": 0.75, "dh_prev": 0.75, "dWx": 0.75, "dWh": 0.75, "db": 0.5,
             "inputs unchanged": 0.5}
    example = "lstm.example.backward"

    def inputs(self, seed, N, D, H):
        a = random_case(seed, N, D, H)
        cache = lstm_cache(*(a[n] for n in ("x", "h_prev", "c_prev", "Wx", "Wh", "b")))
        a.update({n: cache[n] for n in ("i", "f", "g", "o", "tc")})
        return a

    def run(self, LSTM, inputs, xp):
        a, got, given = inputs, {}, Given()
        with refusing_library(self.refusal), phase(got, "backward") as out:
            layer = LSTM(*(given(given_to(n, "LSTM(Wx, Wh, b)"), a[n]) for n in ("Wx", "Wh", "b")))
            layer.cache = tuple(given(label("cache", k=k, name=n, where="LSTM.backward"), a[n])
                                for k, n in enumerate(CACHE))
            self.backward_calls(layer, a, out, given)
        got["given"] = given.arrays()
        return got

    def judge(self, inputs, got, run):
        a = {n: host(v) for n, v in inputs.items()}
        self.judge_backward(a, {n: a[n] for n in CACHE}, got, run)
        cache = {label("cache", k=k, name=n, where="LSTM.backward"): a[n] for k, n in enumerate(CACHE)}
        self.judge_unchanged(got, originals(a, ("Wx", "Wh", "b"), "LSTM(Wx, Wh, b)") | cache
                             | originals(a, ("dh_next", "dc_next"), "LSTM.backward"), ["backward"], run)


@register
class Step(LSTMCheck):
    """``LSTM.forward`` then ``LSTM.backward`` on the same layer (its own cache): every output and
    gradient. No notebook calls it any more: the notebook's cells call ``lstm.forward`` and
    ``lstm.backward``, so that a wrong forward does not cost the backward's points."""

    name = "lstm.step"
    parts = {**Forward.parts, **{k: v for k, v in Backward.parts.items() if k != "inputs unchanged"}}
    example = Forward.example

    def inputs(self, seed, N, D, H):
        return random_case(seed, N, D, H)

    def run(self, LSTM, inputs, xp):
        got, given = {}, Given()
        with refusing_library(self.refusal):
            layer = self.forward_phase(LSTM, inputs, got, given)
            if "forward error" in got:
                got["backward"], got["backward error"] = {}, got["forward error"]
            else:
                with phase(got, "backward") as out:
                    self.backward_calls(layer, inputs, out, given)
        got["given"] = given.arrays()
        return got

    def judge(self, inputs, got, run):
        a = {n: host(v) for n, v in inputs.items()}
        self.judge_forward(a, got, run)
        self.judge_backward(a, lstm_cache(*(a[n] for n in ("x", "h_prev", "c_prev", "Wx", "Wh", "b"))), got, run)
        self.judge_unchanged(got, originals(a, ("Wx", "Wh", "b"), "LSTM(Wx, Wh, b)")
                             | originals(a, ("x", "h_prev", "c_prev"), "LSTM.forward")
                             | originals(a, ("dh_next", "dc_next"), "LSTM.backward"), ["forward", "backward"], run)


def originals(a, names, where):
    return {given_to(n, where): a[n] for n in names}
