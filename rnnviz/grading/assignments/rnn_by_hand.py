"""Checks for the RNN-by-hand assignment: each layer against the same computation in rnnviz's autograd.

Every check has parts (``parts``: {name: weight}). The weights are the points of the test cell's
parts: those of the checks a cell calls add up to its points (RNN 3: forward 1, backward 2; TimeRNN
4: forward 2, backward 2; Embedding 3). A part fails when it fails in any case on any device, and
costs its points only.

``rnn_by_hand.rnn_forward``      ``RNN(Wx, Wh, b).forward(x, h_prev)``: "h_next" (the output),
                                 "cache" (``self.cache == (x, h_prev, h_next)``), "inputs unchanged".
``rnn_by_hand.rnn_backward``     a new ``RNN`` whose ``self.cache`` the check sets to the reference
                                 ``(x, h_prev, h_next)``; ``backward(dh_next)``: "dx", "dh_prev"
                                 (returned), "dWx", "dWh", "db" (written into ``self.grads``, the
                                 arrays ``__init__`` made), "inputs unchanged".
``rnn_by_hand.time_rnn_forward`` ``TimeRNN``: "forward" (``stateful=False``: two calls, each from
                                 zeros, ``self.layers`` holding the T steps), "stateful" (the first
                                 call from zeros, the second carrying on), "reset_state" (after
                                 ``reset_state()`` the next call starts from zeros again), "inputs
                                 unchanged".
``rnn_by_hand.time_rnn_backward`` a new ``TimeRNN`` whose ``self.layers`` the check sets to T of the
                                 learner's ``RNN`` steps holding the reference caches;
                                 ``backward(dhs)``: "dxs", "dh" (``self.dh``), "dWx", "dWh", "db",
                                 "inputs unchanged". One more ``RNN`` step's backward is run alone
                                 so that a message can say when ``RNN.backward`` itself is wrong.
``rnn_by_hand.embedding``        "forward" (the rows and ``self.idx``), "dW" (a new ``Embedding``
                                 whose ``self.idx`` is set and whose ``grads[0]`` holds a gradient
                                 left from an earlier call: dW written into ``grads[0]``, ``None``
                                 returned), "inputs unchanged".

**A backward is judged from the reference forward's cache**, so that a wrong forward does not also
cost the backward's points: the notebook prescribes what ``forward`` stores, the check gives a new
layer exactly that, computed by the grader (``inputs``) from the case's arrays. This sends the case's
intermediate values (``h_next``, the hidden states) to the learner's kernel. It is harmless: every
backward case has its own seed, different from every forward case's, so the values are the forward
of inputs on which no forward is judged, and they are not the backward's answer (which the learner's
code has to compute from them). The forward cases send inputs only: that is why a forward and its
backward are separate checks, with cases of their own (``tests/test_fair_rnn_and_lstm.py`` checks
that no forward case shares an array with a backward case).

**Inputs unchanged**: ``run`` hands the learner's code fresh copies of the arrays and sends back
what they hold after the calls; the grader compares them with the arrays it made. A layer that
writes into an array it was given (``dh_next *= ...``) changes its caller's data. The part fails too
when the calls raised (code that does nothing changes nothing, and earns nothing for it).

**The library's own implementation is refused**: while the learner's code runs, rnnviz's functions
(``F.tanh``, ``F.linear``, ``F.embed_id``, ...), ``FunctionNode.apply`` (every function and the
links) and autograd (``Variable.backward``) raise ``Refused``; they are restored afterwards. This
stops the honest shortcut; a learner set on it could keep a reference to the originals, which the
notebook forbids.

The references (autograd through ``F.tanh``, ``F.matmul``, ``F.embed_id``) and the comparisons stay
in the grader. A learner's code that raises is reported in the parts of the call that raised; the
other calls of the case are judged as usual.
"""
import contextlib

import numpy

from ... import functions as F
from ... import i18n
from ...core import Variable, backend
from ..checks import USUAL_MISTAKES, check_array
from ..protocol import Check, Other, Received, describe_error, format_error, host, part, register

# The learner-readable texts of this module (and the shared ones the LSTM's, GRU's and masked
# loss's checks use), in English and Japanese: looked up with ``say`` when a message is made, in
# the language the grader set (``i18n.text_language``); code stays in backticks in Japanese.
STRINGS = {
    # -- shared by the layer checks -------------------------------------------------------------
    "rnn_by_hand.usual": {"en": "usual mistake: {hint}", "ja": "よくある間違い: {hint}"},
    "rnn_by_hand.and": {"en": "{a}; and {b}", "ja": "{a}。加えて、{b}"},
    "rnn_by_hand.code": {"en": "{code}", "ja": "`{code}`"},
    "rnn_by_hand.refused": {"en": "{message} ({what} was called)", "ja": "{message}（{what} が呼ばれました）"},
    "rnn_by_hand.what.function": {"en": "a function of rnnviz.functions", "ja": "`rnnviz.functions` の関数"},
    "rnn_by_hand.what.backward": {"en": "Variable.backward, rnnviz's autograd",
                                  "ja": "`rnnviz` の自動微分 `Variable.backward`"},
    "rnn_by_hand.what.autograd": {"en": "rnnviz's autograd", "ja": "`rnnviz` の自動微分"},
    "rnn_by_hand.shape_hint": {
        "en": "a shape that does not fit: a missing or extra transpose (.T), the factors of a matrix "
              "product swapped, or a sum over the wrong axis",
        "ja": "形状が合いません: 転置（`.T`）の不足か余分、行列積の因子の入れ替え、または間違った軸での和です"},
    "rnn_by_hand.shape_with_note": {"en": "{hint}; {note}", "ja": "{hint}。{note}"},
    "rnn_by_hand.shape_note": {
        "en": "or self.cache read in another order than {order}",
        "ja": "または `self.cache` を `{order}` とは別の順序で読んでいます"},
    "rnn_by_hand.batch": {
        "en": "divided or multiplied by the batch size N: {what} sums over the batch, no mean",
        "ja": "バッチサイズ N で割るか掛けるかしています: `{what}` はバッチについての和で、平均ではありません"},
    "rnn_by_hand.kind.sequence": {"en": "a {type} of {n}", "ja": "要素 {n} 個の `{type}`"},
    "rnn_by_hand.kind.array": {"en": "an array", "ja": "配列"},
    "rnn_by_hand.cache_not_tuple": {
        "en": "{label} should be the tuple {order}, it is {kind}.",
        "ja": "`{label}` はタプル `{order}` のはずですが、{kind} です。"},
    "rnn_by_hand.cache_exactly": {
        "en": "forward stores exactly {order} in self.cache: backward is tested with that cache",
        "ja": "`forward` は `self.cache` にちょうど `{order}` を保存します: 逆伝播はそのキャッシュでテストされます"},
    "rnn_by_hand.in_order": {"en": "self.cache is {order}, in that order",
                             "ja": "`self.cache` はこの順の `{order}` です"},
    "rnn_by_hand.cache_moved": {
        "en": "{label}[{k}] should hold {name}, it holds {other}.",
        "ja": "`{label}[{k}]` には `{name}` が入るはずですが、`{other}` が入っています。"},
    "rnn_by_hand.cache_entry": {"en": "{label}[{k}] ({name})", "ja": "`{label}[{k}]`（`{name}`）"},
    "rnn_by_hand.no_phase": {"en": "{learner}: the results of the {phase} did not come back",
                             "ja": "`{learner}`: `{phase}` の結果が返ってきませんでした"},
    "rnn_by_hand.no_result": {"en": "{learner}: no result for {key} came back",
                              "ja": "`{learner}`: {key} の結果が返ってきませんでした"},
    "rnn_by_hand.no_given": {"en": "{learner}: the arrays it was given did not come back",
                             "ja": "`{learner}`: 渡した配列が返ってきませんでした"},
    "rnn_by_hand.list_more": {"en": "{shown} and {n} more", "ja": "{shown} ほか {n} 個"},
    "rnn_by_hand.changed": {"en": "{shown} changed during the call.", "ja": "{shown} が呼び出しの間に変更されました。"},
    "rnn_by_hand.unchanged": {
        "en": "do not change the arrays you are given, make new ones ({example}): the caller still uses them",
        "ja": "渡された配列は変更せず、新しい配列を作ってください（{example}）: 呼び出し側はまだその配列を使います"},
    "rnn_by_hand.grads_count": {"en": "{cls}.grads should hold {n} array(s): [{names}]",
                                "ja": "`{cls}.grads` には配列が {n} 個（`[{names}]`）入るはずです"},
    "rnn_by_hand.grad_name": {"en": "{cls}.grads[{k}] ({name})", "ja": "`{cls}.grads[{k}]`（`{name}`）"},
    "rnn_by_hand.new_array": {
        "en": "{cls}.grads[{k}] ({name}) is a new array: write into the one __init__ made "
              "({cls}.grads[{k}][...] = {name}); whoever holds self.grads (an optimizer) reads that array",
        "ja": "`{cls}.grads[{k}]`（`{name}`）が新しい配列になっています: `__init__` が作った配列に書き込んで"
              "ください（`{cls}.grads[{k}][...] = {name}`）。`self.grads` を持つもの（オプティマイザ）は"
              "その配列を読みます"},
    "rnn_by_hand.not_written": {
        "en": "nothing was written into self.grads[{k}]: write {what} into it (self.grads[{k}][...] = ...)",
        "ja": "`self.grads[{k}]` に何も書き込まれていません: `{what}` を書き込んでください"
              "（`self.grads[{k}][...] = ...`）"},
    "rnn_by_hand.as_given": {
        "en": "the cache holds the {name} that forward was given, as it was given: do not change it",
        "ja": "キャッシュには `forward` に渡された `{name}` を渡されたまま入れます: 変更しないでください"},
    "rnn_by_hand.cache_attr": {
        "en": "backward runs on a new {cls} whose self.cache the test sets to {order}: take what "
              "backward needs from self.cache and self.params only",
        "ja": "`backward` は、テストが `self.cache` を `{order}` に設定した新しい `{cls}` で実行されます: "
              "`backward` に必要なものは `self.cache` と `self.params` だけから取ってください"},
    "rnn_by_hand.cache_unpack": {
        "en": "self.cache is the tuple {order}, in that order: unpack it as such",
        "ja": "`self.cache` はこの順のタプル `{order}` です: その順に取り出してください"},
    # -- the labels of the arrays given to the learner's code (keys of ``Given``, see ``label``) --
    "rnn_by_hand.label.given": {"en": "{name} (given to {where})", "ja": "`{name}`（`{where}` に渡した配列）"},
    "rnn_by_hand.label.cache": {"en": "self.cache[{k}] ({name}, set before {where})",
                                "ja": "`self.cache[{k}]`（`{name}`、`{where}` の前に設定した配列）"},
    "rnn_by_hand.label.step_cache": {
        "en": "self.layers[{t}].cache[{k}] ({name}, set before TimeRNN.backward)",
        "ja": "`self.layers[{t}].cache[{k}]`（`{name}`、`TimeRNN.backward` の前に設定した配列）"},
    "rnn_by_hand.label.first": {"en": "xs (given to the first {init}.forward)",
                                "ja": "`xs`（1 回目の `{init}.forward` に渡した配列）"},
    "rnn_by_hand.label.second": {"en": "xs (given to the second {init}.forward)",
                                 "ja": "`xs`（2 回目の `{init}.forward` に渡した配列）"},
    "rnn_by_hand.label.after_reset": {"en": "xs (given to {init}.forward after reset_state())",
                                      "ja": "`xs`（`reset_state()` の後の `{init}.forward` に渡した配列）"},
    "rnn_by_hand.label.embedding_W": {"en": "W (given to the Embedding(W) whose backward is tested)",
                                      "ja": "`W`（逆伝播をテストする `Embedding(W)` に渡した配列）"},
    "rnn_by_hand.label.idx_set": {"en": "self.idx (set before Embedding.backward)",
                                  "ja": "`self.idx`（`Embedding.backward` の前に設定した配列）"},
    "rnn_by_hand.example.default": {"en": "y = x * s, not x *= s", "ja": "`x *= s` ではなく `y = x * s`"},
    # -- the RNN steps ---------------------------------------------------------------------------
    "rnn_by_hand.refusal": {
        "en": "the RNN-by-hand assignment builds these layers itself: write them with xp (xp.tanh, @, "
              ".sum, xp.add.at), not with rnnviz.functions, rnnviz.links or autograd",
        "ja": "この課題（RNN を手で作る）ではこれらの層を自分で作ります: `rnnviz.functions`、`rnnviz.links`、"
              "自動微分は使わず、`xp`（`xp.tanh`、`@`、`.sum`、`xp.add.at`）で書いてください"},
    "rnn_by_hand.fwd.other": {
        "en": "h_next = tanh(h_prev @ Wh + x @ Wx + b): compare each term, and the tanh, with your line",
        "ja": "`h_next = tanh(h_prev @ Wh + x @ Wx + b)`: 各項と `tanh` を自分の行と見比べてください"},
    "rnn_by_hand.fwd.sign": {
        "en": "a sign error: h_next = tanh(h_prev @ Wh + x @ Wx + b), every term added",
        "ja": "符号の間違いです: `h_next = tanh(h_prev @ Wh + x @ Wx + b)` で、項はすべて足します"},
    "rnn_by_hand.fwd.scaled": {
        "en": "an extra factor: h_next = tanh(h_prev @ Wh + x @ Wx + b) has none",
        "ja": "余分な係数があります: `h_next = tanh(h_prev @ Wh + x @ Wx + b)` には係数はありません"},
    "rnn_by_hand.fwd.zero": {"en": "h_next was never computed: return the tanh itself",
                             "ja": "`h_next` が計算されていません: `tanh` の結果そのものを返してください"},
    "rnn_by_hand.example.rnn_forward": {"en": "h = ... + b, not h += b on an array you were given",
                                        "ja": "渡された配列に `h += b` とせず `h = ... + b`"},
    "rnn_by_hand.bwd.scaled_weight": {
        "en": "an extra factor: {what} is one product (or sum) of {dt}, nothing more",
        "ja": "余分な係数があります: `{what}` は `{dt}` の積（または和）ひとつだけです"},
    "rnn_by_hand.bwd.formula": {
        "en": "compare your line with the formula: {what} = {formula}, where {dt}",
        "ja": "自分の行を式と見比べてください: `{what} = {formula}`（ここで `{dt}`）"},
    "rnn_by_hand.bwd.db_shape": {
        "en": "db sums dt over the batch axis (axis=0), leaving one value per hidden unit",
        "ja": "`db` は `dt` をバッチの軸（`axis=0`）について和をとり、隠れユニットごとに値がひとつ残ります"},
    "rnn_by_hand.bwd.scaled_returned": {
        "en": "an extra factor: dx and dh_prev are one product each of {dt} with a transposed weight, nothing more",
        "ja": "余分な係数があります: `dx` と `dh_prev` はそれぞれ `{dt}` と転置した重みの積ひとつだけです"},
    "rnn_by_hand.bwd.returned": {
        "en": "compare your line with the formula: {dt}, then dx = dt @ Wx.T and dh_prev = dt @ Wh.T",
        "ja": "自分の行を式と見比べてください: `{dt}`、そして `dx = dt @ Wx.T`、`dh_prev = dt @ Wh.T` です"},
    "rnn_by_hand.bwd.returns": {"en": "RNN.backward should return (dx, dh_prev)",
                                "ja": "`RNN.backward` は `(dx, dh_prev)` を返す必要があります"},
    "rnn_by_hand.example.rnn_backward": {"en": "dt = dh_next * (1 - h_next ** 2), not dh_next *= ...",
                                         "ja": "`dh_next *= ...` ではなく `dt = dh_next * (1 - h_next ** 2)`"},
    # -- TimeRNN ---------------------------------------------------------------------------------
    "rnn_by_hand.steps": {
        "en": "hs[:, t] is the state after step t, h_t = tanh(h_(t-1) @ Wh + xs[:, t] @ Wx + b), one RNN step per t",
        "ja": "`hs[:, t]` は時刻 t のステップの後の隠れ状態 `h_t = tanh(h_(t-1) @ Wh + xs[:, t] @ Wx + b)` で、"
              "t ごとに RNN のステップをひとつ使います"},
    "rnn_by_hand.steps_too": {"en": "{steps} (the first call with stateful=False is wrong too)",
                              "ja": "{steps}（`stateful=False` の 1 回目の呼び出しも間違っています）"},
    "rnn_by_hand.unfilled": {
        "en": "hs was never filled: write each step's state into hs[:, t] (and return hs)",
        "ja": "`hs` が埋められていません: 各ステップの隠れ状態を `hs[:, t]` に書き込んでください（そして `hs` を返します）"},
    "rnn_by_hand.fresh": {
        "en": "with stateful=False every call starts from zeros, whatever state the previous call left",
        "ja": "`stateful=False` では、前の呼び出しがどんな隠れ状態を残しても、毎回ゼロから始めます"},
    "rnn_by_hand.first": {"en": "the first call starts from zeros, stateful or not (self.h is None)",
                          "ja": "1 回目の呼び出しは `stateful` にかかわらずゼロから始めます（`self.h` は `None`）"},
    "rnn_by_hand.carry": {
        "en": "with stateful=True the second call carries on from the state the first call left in self.h",
        "ja": "`stateful=True` では、2 回目の呼び出しは 1 回目が `self.h` に残した隠れ状態から続けます"},
    "rnn_by_hand.reset": {
        "en": "reset_state() sets self.h = None, and the next forward must start from zeros: keep the "
              "state in self.h (not in an attribute of your own) and start from zeros when it is None",
        "ja": "`reset_state()` は `self.h = None` とし、次の `forward` はゼロから始める必要があります: 隠れ状態は"
              "（自分で作った属性ではなく）`self.h` に保持し、それが `None` ならゼロから始めてください"},
    "rnn_by_hand.hs_first": {"en": "TimeRNN({st}).forward: hs of the first call",
                             "ja": "`TimeRNN({st}).forward` の 1 回目の呼び出しの `hs`"},
    "rnn_by_hand.hs_second": {"en": "TimeRNN({st}).forward: hs of the second call",
                              "ja": "`TimeRNN({st}).forward` の 2 回目の呼び出しの `hs`"},
    "rnn_by_hand.hs_reset": {"en": "TimeRNN(stateful=True).forward after reset_state(): hs",
                             "ja": "`reset_state()` の後の `TimeRNN(stateful=True).forward` の `hs`"},
    "rnn_by_hand.layers_none": {
        "en": "TimeRNN.forward should keep its {T} RNN steps in self.layers (a list), it has no such list",
        "ja": "`TimeRNN.forward` は {T} 個の RNN のステップを `self.layers`（リスト）に保持する必要がありますが、"
              "そのリストがありません"},
    "rnn_by_hand.layers_count": {
        "en": "TimeRNN.forward should keep its {T} RNN steps in self.layers (a list), it holds {count}",
        "ja": "`TimeRNN.forward` は {T} 個の RNN のステップを `self.layers`（リスト）に保持する必要がありますが、"
              "{count} 個です"},
    "rnn_by_hand.example.time_rnn_forward": {"en": "a new array for hs, not one of the arrays you were given",
                                             "ja": "`hs` には渡された配列ではなく新しい配列"},
    "rnn_by_hand.later": {
        "en": "the gradient coming back from later steps is missing: step t's backward gets dhs[:, t] "
              "plus the dh_prev that step t + 1 sent back",
        "ja": "後の時刻から戻ってくる勾配が抜けています: 時刻 t のステップの逆伝播が受け取るのは "
              "`dhs[:, t]` と、時刻 t + 1 のステップが返した `dh_prev` の和です"},
    "rnn_by_hand.shared": {
        "en": "the weights are shared by all steps: their gradient is the sum over the steps, not the "
              "last (or first) step's alone",
        "ja": "重みはすべての時刻で共有されています: その勾配は全時刻についての和で、最後（または最初）の"
              "時刻の勾配だけではありません"},
    "rnn_by_hand.time_dxs": {
        "en": "dxs[:, t] is the dx of step t's backward, and that step gets dhs[:, t] plus the dh_prev "
              "that step t + 1 sent back",
        "ja": "`dxs[:, t]` は時刻 t のステップの逆伝播の `dx` で、そのステップが受け取るのは `dhs[:, t]` と、"
              "時刻 t + 1 のステップが返した `dh_prev` の和です"},
    "rnn_by_hand.mean_t": {
        "en": "divided by the number of steps T: the weights' gradient sums over the steps, no mean",
        "ja": "時刻の数 T で割っています: 重みの勾配は時刻についての和で、平均ではありません"},
    "rnn_by_hand.summed": {
        "en": "the weights' gradient is the sum of every step's gradient, where step t's backward gets "
              "dhs[:, t] plus the dh_prev that step t + 1 sent back",
        "ja": "重みの勾配はすべての時刻の勾配の和で、時刻 t のステップの逆伝播が受け取るのは `dhs[:, t]` と、"
              "時刻 t + 1 のステップが返した `dh_prev` の和です"},
    "rnn_by_hand.time_cache_attr": {
        "en": "backward runs on a new TimeRNN whose self.layers the test sets to the T RNN steps of a "
              "forward call (each with its self.cache): take what backward needs from self.layers and "
              "self.params only",
        "ja": "`backward` は、テストが `self.layers` を順伝播 1 回分の T 個の RNN のステップ（それぞれ "
              "`self.cache` を持つ）に設定した新しい `TimeRNN` で実行されます: `backward` に必要なものは "
              "`self.layers` と `self.params` だけから取ってください"},
    "rnn_by_hand.time_shape_note": {
        "en": "or an RNN step's self.cache read in another order than {order}",
        "ja": "または RNN のステップの `self.cache` を `{order}` とは別の順序で読んでいます"},
    "rnn_by_hand.example.time_rnn_backward": {"en": "dh = dhs[:, t] + dh, not dhs[:, t] += dh",
                                              "ja": "`dhs[:, t] += dh` ではなく `dh = dhs[:, t] + dh`"},
    "rnn_by_hand.step_note": {
        "en": "note: RNN.backward is wrong too (see the RNN test cell), and TimeRNN.backward calls it at "
              "every step: fix RNN first",
        "ja": "注意: `RNN.backward` も間違っています（RNN のテストセルを参照）。`TimeRNN.backward` は各時刻で"
              "それを呼ぶので、先に `RNN` を直してください"},
    "rnn_by_hand.dh_name": {"en": "TimeRNN.dh (the gradient leaving the first step)",
                            "ja": "`TimeRNN.dh`（最初の時刻から出ていく勾配）"},
    "rnn_by_hand.dh_other": {
        "en": "self.dh is the dh_prev of step 0's backward, after the gradients of every later step",
        "ja": "`self.dh` は、後のすべての時刻の勾配を受け取った後の、時刻 0 のステップの逆伝播の `dh_prev` です"},
    # -- Embedding -------------------------------------------------------------------------------
    "rnn_by_hand.add_at": {
        "en": "rows of a repeated id must be added, not overwritten: use xp.add.at(dW, idx, dout) "
              "(dW[idx] = dout and dW[idx] += dout keep one row per id)",
        "ja": "同じ ID が繰り返すときはその行を上書きせず足し合わせます: `xp.add.at(dW, idx, dout)` を使って"
              "ください（`dW[idx] = dout` や `dW[idx] += dout` では ID ごとに 1 行しか残りません）"},
    "rnn_by_hand.zero_first": {
        "en": "and set dW to zero first (dW[...] = 0): a gradient left by an earlier call leaks in",
        "ja": "そして先に `dW` をゼロにしてください（`dW[...] = 0`）: 前の呼び出しが残した勾配が混ざります"},
    "rnn_by_hand.not_reset": {
        "en": "dW was not set to zero first: a gradient left in self.grads[0] by an earlier call leaked "
              "in (dW[...] = 0 before adding the rows)",
        "ja": "`dW` が先にゼロにされていません: 前の呼び出しが `self.grads[0]` に残した勾配が混ざりました"
              "（行を足す前に `dW[...] = 0`）"},
    "rnn_by_hand.rows": {
        "en": "dW[i] is the sum of the rows of dout whose id is i, and zero for the ids that do not "
              "appear: set dW to zero, then xp.add.at(dW, idx, dout)",
        "ja": "`dW[i]` は ID が i である `dout` の行の和で、現れない ID ではゼロです: `dW` をゼロにしてから "
              "`xp.add.at(dW, idx, dout)` としてください"},
    "rnn_by_hand.embed_attr": {
        "en": "backward runs on a new Embedding whose self.idx the test sets: take what backward needs "
              "from self.idx and self.grads only",
        "ja": "`backward` は、テストが `self.idx` を設定した新しい `Embedding` で実行されます: `backward` に"
              "必要なものは `self.idx` と `self.grads` だけから取ってください"},
    "rnn_by_hand.example.embedding": {"en": "a new array, not one of the arrays you were given",
                                      "ja": "渡された配列ではなく新しい配列"},
    "rnn_by_hand.embed_rows": {"en": "forward returns the rows W[idx]",
                               "ja": "`forward` は行 `W[idx]` を返します"},
    "rnn_by_hand.embed_idx": {
        "en": "forward keeps the ids it was given in self.idx (backward reads them there)",
        "ja": "`forward` は渡された ID を `self.idx` に保持します（`backward` はそこから読みます）"},
    "rnn_by_hand.embed_none": {"en": "Embedding.backward should return None (ids have no gradient)",
                               "ja": "`Embedding.backward` は `None` を返す必要があります（ID には勾配がありません）"},
}
i18n.register(STRINGS)


def say(key, **fields):
    """The text ``rnn_by_hand.<key>`` in the current language (looked up when a message is made)."""
    return i18n.tr(f"rnn_by_hand.{key}", **fields)


def usual(hint):
    """"usual mistake: <hint>", in the current language."""
    return say("usual", hint=hint)


def joined(sentences):
    """Sentences joined by "; and " (in the current language)."""
    text = sentences[0]
    for s in sentences[1:]:
        text = say("and", a=text, b=s)
    return text


def code(text):
    """Code as a message names it: as it is in English, in backticks in Japanese."""
    return say("code", code=text)


def label(kind, **fields):
    """The key of an array ``Given`` to the learner's code: the same in every language (it travels
    to the learner's process and back); ``label_text`` says it in the current language. ``kind``:
    ``rnn_by_hand.label.<kind>``'s, or an i18n key of another module."""
    return "|".join([kind] + [f"{k}={v}" for k, v in fields.items()])


def label_text(key):
    """A ``label`` in the current language (a key of another form is shown as it is)."""
    kind, *items = key.split("|")
    kind = kind if kind in i18n.STRINGS else f"rnn_by_hand.label.{kind}"
    if kind not in i18n.STRINGS:
        return key
    return i18n.tr(kind, **dict(item.split("=", 1) for item in items))


def given_to(name, where):
    return label("given", name=name, where=where)


def text(message):
    """A message given as an i18n key in the current language; any other text as it is."""
    return i18n.tr(message) if message in i18n.STRINGS else message


def rnn_step_reference(x, h_prev, Wx, Wh, b, dh_next):
    """h_next = tanh(h_prev Wh + x Wx + b) and the gradients (dx, dh_prev, dWx, dWh, db) for dh_next."""
    vs = [Variable(a) for a in (x, h_prev, Wx, Wh, b)]
    x_, h_, Wx_, Wh_, b_ = vs
    t = F.matmul(h_, Wh_) + F.matmul(x_, Wx_)
    h_next = F.tanh(t + F.broadcast_to(b_, t.shape))
    h_next.grad = dh_next
    h_next.backward()
    return h_next.array, [v.grad for v in vs]


def time_rnn_reference(xs, h0, Wx, Wh, b, dhs):
    """hs and the gradients (dxs, dh0, dWx, dWh, db) for dhs, from the start state h0 taken as a
    constant (as after unchain)."""
    N, T, D = xs.shape
    vs = [Variable(a) for a in (xs, h0, Wx, Wh, b)]
    xs_, h, Wx_, Wh_, b_ = vs
    loss = 0
    hs = []
    for t in range(T):
        u = F.matmul(h, Wh_) + F.matmul(xs_[:, t, :], Wx_)
        h = F.tanh(u + F.broadcast_to(b_, u.shape))
        hs.append(h.array)
        loss = loss + F.sum(h * Variable(dhs[:, t, :]))
    loss.backward()
    return backend.get_array_module(xs).stack(hs, axis=1), [v.grad for v in vs]


def rnn_states(xs, h0, Wx, Wh, b):
    """(hs_prev, hs): the state before and after each step, (N, T, H) each (NumPy, in the grader)."""
    h, before, after = h0, [], []
    for t in range(xs.shape[1]):
        before.append(h)
        h = numpy.tanh(h @ Wh + xs[:, t] @ Wx + b)
        after.append(h)
    return numpy.stack(before, axis=1), numpy.stack(after, axis=1)


# -- shared by the checks of this assignment and of the LSTM's ------------------------------------

def randn(seed, *shape):
    """What ``Device.randn`` gave the old checks: the same numbers for a seed (float64, NumPy)."""
    return numpy.random.default_rng(seed).standard_normal(shape)


def randint(seed, high, shape):
    """What ``Device.randint`` gave the old checks: ids in [0, high) (int32, NumPy)."""
    return numpy.random.default_rng(seed).integers(0, high, shape).astype(numpy.int32)


def keep(value):
    """``value`` as the learner's code returned it, arrays copied on their own device (a CuPy array
    stays one): a later call that writes into a buffer the layer reuses leaves it as it was."""
    if isinstance(value, Variable):
        value = value.array
    if isinstance(value, numpy.ndarray) or backend.is_cupy_array(value):
        return value.copy()
    if isinstance(value, (tuple, list)):
        items = [keep(v) for v in value]
        return items if type(value) is list else tuple(items)
    if isinstance(value, dict):
        return {k: keep(v) for k, v in value.items()}
    return value


class Refused(RuntimeError):
    """The learner's code called the part of rnnviz that the assignment builds."""


_MISSING = object()


@contextlib.contextmanager
def refusing_library(message):
    """While the learner's code runs: rnnviz's functions (``F.*``, the fused LSTM's cell), every
    ``FunctionNode.apply`` (so the links too) and autograd raise ``Refused(message + what)``.
    ``message`` is an i18n key (said in the language of the learner's process) or a text."""
    from ... import functions as F_module
    from ...core import batched_engine, engine
    from ...core.function_node import FunctionNode
    from ...functions import recurrent

    def refuse(what):
        def refused(*args, **kwargs):
            raise Refused(say("refused", message=text(message), what=text(what)))
        return refused

    targets = [(FunctionNode, "apply", "rnn_by_hand.what.function"),
               (Variable, "backward", "rnn_by_hand.what.backward"),
               (engine, "run_backward", "rnn_by_hand.what.autograd"),
               (batched_engine, "run_backward", "rnn_by_hand.what.autograd"),
               (recurrent, "cell_forward", "rnnviz.functions.recurrent.cell_forward"),
               (recurrent, "cell_backward", "rnnviz.functions.recurrent.cell_backward")]
    targets += [(F_module, name, f"F.{name}") for name in list(F_module.__all__) + ["Linear"]]
    saved = [(obj, attr, vars(obj).get(attr, _MISSING)) for obj, attr, _ in targets]
    try:
        for obj, attr, what in targets:
            setattr(obj, attr, refuse(what))
        yield
    finally:
        for obj, attr, old in saved:
            if old is _MISSING:
                delattr(obj, attr)
            else:
                setattr(obj, attr, old)


class Given:
    """The arrays handed to the learner's code: a fresh copy of each, sent back after the calls
    (``arrays``) so that the grader sees whether the code wrote into one."""

    def __init__(self):
        self.items = {}

    def __call__(self, label, array):
        mine = array.copy()
        self.items[label] = mine
        return mine

    def arrays(self):
        return dict(self.items)


@contextlib.contextmanager
def phase(got, name):
    """One call (or a few) of the learner's code: its outputs go to ``got[name]``, and the error,
    if it raises, to ``got[name + " error"]`` (at the top, where the protocol's nesting allows a
    traceback); the next phase runs either way."""
    got[name] = {}
    try:
        yield got[name]
    except Exception as exc:  # noqa: BLE001 - the learner's error is the result
        got[f"{name} error"] = describe_error(exc)


@contextlib.contextmanager
def noting(note):
    """A failure inside gets ``note`` (a line) appended, when there is one."""
    try:
        yield
    except AssertionError as exc:
        if note:
            raise AssertionError(f"{exc}\n  {note}") from None
        raise


GPU_MIX = ("Unsupported type <class 'numpy.ndarray'>", "Implicit conversion to a NumPy array",
           "a mix of NumPy (cpu) and CuPy (gpu)")
SHAPE_ERRORS = ("matmul", "could not be broadcast", "could not broadcast", "shape mismatch",
                "cannot reshape", "not aligned")


def explain_error(error, device=None, extra=(), shape_note=""):
    """The usual mistake behind an exception of the learner's code ({"type", "message", "where"}):
    none for a refused library call (its message says it all); NumPy hard-coded for NumPy and
    CuPy arrays mixed; a shape mistake for the errors of a matrix product, a broadcast or a
    reshape (and ``shape_note``: another cause, such as a cache read in another order); then the
    first of ``extra`` [(types, words, hint)] whose type and words match (``hint``: a function
    that says it, in the current language; ``shape_note`` too); and
    NumPy hard-coded for any other error of the GPU run (the CPU run comes first)."""
    message = str(error.get("message", "")) if isinstance(error, dict) else ""
    kind = str(error.get("type", "")) if isinstance(error, dict) else ""
    if kind == "Refused":
        return ""
    if any(s in message for s in GPU_MIX):
        return usual(USUAL_MISTAKES["numpy_on_gpu"])
    if any(s in message for s in SHAPE_ERRORS):
        note = shape_note() if callable(shape_note) else shape_note
        return usual(say("shape_with_note", hint=say("shape_hint"), note=note) if note else say("shape_hint"))
    for types, words, hint in extra:
        if kind in types and any(w in message for w in words):
            return usual(hint() if callable(hint) else hint)
    if getattr(device, "name", None) == "gpu":
        return usual(USUAL_MISTAKES["numpy_on_gpu"])
    return ""


def _close(a, b):
    return (isinstance(a, numpy.ndarray) and a.shape == numpy.shape(b)
            and numpy.allclose(a, b, rtol=1e-6, atol=1e-9))


def matching(got, alternatives, default=None):
    """The sentence of the first (array, sentence) in ``alternatives`` that ``got`` equals: the
    mistake that gives exactly this wrong value; else ``default``."""
    g = host(got)
    for want, sentence in alternatives:
        if _close(g, want):
            return sentence
    return default


def scale_of(got, want):
    """k when ``got`` is ``k * want`` (its least-squares factor), else None."""
    g = host(got)
    if not isinstance(g, numpy.ndarray) or g.shape != numpy.shape(want) or not numpy.all(numpy.isfinite(g)):
        return None
    ww = float((want * want).sum())
    return float((g * want).sum()) / ww if ww > 0 else None


def by_scale(got, want, factors, default):
    """The "scaled" hint: the sentence of the factor in ``factors`` [(factor, sentence)] that
    ``got / want`` is, else ``default``."""
    k = scale_of(got, want)
    for factor, sentence in factors:
        if k is not None and factor != 1 and abs(k - factor) <= 1e-3 * max(1.0, abs(factor)):
            return sentence
    return default


def batch_factors(N, what):
    return [(1 / N, say("batch", what=what)), (N, say("batch", what=what))]


def check_cache(label, cache, want, device, order, mistakes=None):
    """``cache`` (what the learner's forward stored) against ``want`` [(name, array)]: a tuple of
    these arrays, in this order (``order`` writes it in code). ``label`` is code too ("RNN.forward:
    self.cache"). ``mistakes``: {name: check_array's mistakes for that entry}, and "moved" (an entry
    that holds another's value)."""
    if not isinstance(cache, (tuple, list)) or len(cache) != len(want):
        kind = code(cache.type_name) if isinstance(cache, Other) else (
            say("kind.sequence", type=type(cache).__name__, n=len(cache)) if isinstance(cache, (tuple, list)) else
            code("None") if cache is None else say("kind.array") if isinstance(cache, Received) else code(type(cache).__name__))
        raise AssertionError(f"{say('cache_not_tuple', label=label, order=order, kind=kind)}\n  "
                             f"{usual(say('cache_exactly', order=order))}")
    for k, ((name, w), c) in enumerate(zip(want, cache)):
        g = host(c)
        if _close(g, w):
            continue
        moved = [n for j, (n, wj) in enumerate(want) if j != k and _close(g, wj)]
        in_order = say("in_order", order=order)
        if moved:
            raise AssertionError(f"{say('cache_moved', label=label, k=k, name=name, other=moved[0])}\n  "
                                 f"{usual((mistakes or {}).get('moved') or in_order)}")
        shapes = {s: in_order for s in ("transposed_shape", "reshaped", "broadcast_shape", "axis_lost", "shape")}
        check_array(say("cache_entry", label=label, k=k, name=name), c, w, device=device,
                    mistakes={**shapes, **(mistakes or {}).get(name, {})})


class LayerCheck(Check):
    """A check whose ``run`` calls the learner's layer in phases (``phase``); ``result`` gives an
    output of a phase, or fails with that phase's error and its hint."""

    refusal = ""                 # Refused's message (an i18n key): what the assignment builds
    hints: dict = {}             # phase -> extra hints for ``explain_error``
    shape_notes: dict = {}       # phase -> another cause of a shape error there (a function)
    example = "rnn_by_hand.example.default"     # the i18n key of the "make new arrays" example

    def explain(self, error):
        return explain_error(error)

    def result(self, got, name, key, run):
        """``got[name][key]``; an AssertionError with the learner's error when the phase raised."""
        out = got.get(name) if isinstance(got, dict) else None
        if not isinstance(out, dict):
            raise AssertionError(say("no_phase", learner=self.learner[0], phase=name))
        if key in out:
            return out[key]
        error = got.get(f"{name} error")
        if not isinstance(error, dict):
            raise AssertionError(say("no_result", learner=self.learner[0], key=repr(key)))
        where = error.get("where") if isinstance(error.get("where"), list) else []
        error = {"type": str(error.get("type", ""))[:100], "message": str(error.get("message", ""))[:2000],
                 "where": [f for f in where if isinstance(f, dict)][:3]}
        hint = explain_error(error, run.device, self.hints.get(name, ()), self.shape_notes.get(name, ""))
        raise AssertionError(format_error(error) + (f"\n  {hint}" if hint else ""))

    def finished(self, got, name, run):
        """Fails with the phase's error if it raised."""
        out = got.get(name) if isinstance(got, dict) else None
        if isinstance(out, dict) and f"{name} error" in got:
            self.result(got, name, "(raised)", run)
        if not isinstance(out, dict):
            raise AssertionError(say("no_phase", learner=self.learner[0], phase=name))

    def judge_unchanged(self, got, originals, phases, run):
        """The part "inputs unchanged": every phase ran to its end, and every array the learner's
        code was given (``originals`` {label: the grader's array}) came back as it was; the message
        names them with ``label_text``."""
        with part("inputs unchanged"):
            for name in phases:
                self.finished(got, name, run)
            given = got.get("given") if isinstance(got, dict) else None
            assert isinstance(given, dict), say("no_given", learner=self.learner[0])
            changed = [label for label, want in originals.items()
                       if not (isinstance(host(given.get(label)), numpy.ndarray)
                               and host(given.get(label)).shape == want.shape
                               and numpy.array_equal(host(given.get(label)), want))]
            if changed:
                shown = ", ".join(label_text(k) for k in changed[:3])
                if len(changed) > 3:
                    shown = say("list_more", shown=shown, n=len(changed) - 3)
                raise AssertionError(f"{say('changed', shown=shown)}\n  "
                                     + usual(say("unchanged", example=text(self.example))))

    def judge_grads(self, got, name, run, names, wants, cls, mistakes, note=""):
        """The parts named after the weight gradients: ``cls.grads[k]`` written into the array
        ``__init__`` made, with the value ``wants[k]`` (a failure's message ends with ``note``)."""
        for k, (gname, want) in enumerate(zip(names, wants)):
            with part(gname), noting(note):
                grads = self.result(got, name, "grads", run)
                assert isinstance(grads, (list, tuple)) and len(grads) == len(names), (
                    say("grads_count", cls=cls, n=len(names), names=", ".join(names)))
                check_array(say("grad_name", cls=cls, k=k, name=gname), grads[k], want, device=run.device,
                            mistakes=mistakes(k, grads[k], want))
                in_place = self.result(got, name, "in_place", run)
                assert isinstance(in_place, list) and k < len(in_place) and in_place[k] is True, (
                    say("new_array", cls=cls, k=k, name=gname))


def in_place(layer, before):
    """Whether each of ``layer.grads`` is still the array ``__init__`` made."""
    grads = getattr(layer, "grads", None)
    if not isinstance(grads, (list, tuple)):
        return [False] * len(before)
    return [k < len(grads) and grads[k] is g for k, g in enumerate(before)]


REFUSAL = "rnn_by_hand.refusal"
STEP_CACHE = "(x, h_prev, h_next)"


def as_given(name):
    """The hint for a cache entry that should be an input as it was given."""
    return say("as_given", name=name)


def cache_hints(cls, order):
    """explain_error's extra hints for a backward run on a new ``cls`` whose cache the test set."""
    return ((("AttributeError",), ("has no attribute",), lambda: say("cache_attr", cls=cls, order=order)),
            (("ValueError", "TypeError"), ("unpack",), lambda: say("cache_unpack", order=order)))


STEP_CACHE_HINTS = cache_hints("RNN", STEP_CACHE)


# -- 1. one step -----------------------------------------------------------------------------------

def step_forward():
    """check_array's mistakes for an RNN step's h_next."""
    return {k: say(f"fwd.{k}") for k in ("other", "sign", "scaled", "zero")}


@register
class RNNForward(LayerCheck):
    """``RNN(Wx, Wh, b).forward(x, h_prev)``: h_next and self.cache."""

    name = "rnn_by_hand.rnn_forward"
    learner = ("RNN",)
    parts = {"h_next": 0.5, "cache": 0.25, "inputs unchanged": 0.25}
    refusal = REFUSAL
    example = "rnn_by_hand.example.rnn_forward"

    def inputs(self, seed, N, D, H):
        shapes = {"x": (N, D), "h_prev": (N, H), "Wx": (D, H), "Wh": (H, H), "b": (H,)}
        return {n: randn(seed + k, *s) for k, (n, s) in enumerate(shapes.items())}

    @staticmethod
    def labels():
        return {**{n: given_to(n, "RNN(Wx, Wh, b)") for n in ("Wx", "Wh", "b")},
                **{n: given_to(n, "RNN.forward") for n in ("x", "h_prev")}}

    def run(self, RNN, inputs, xp):
        a, got, given, lab = inputs, {}, Given(), self.labels()
        with refusing_library(self.refusal), phase(got, "forward") as out:
            layer = RNN(*(given(lab[n], a[n]) for n in ("Wx", "Wh", "b")))
            h_next = layer.forward(given(lab["x"], a["x"]), given(lab["h_prev"], a["h_prev"]))
            out["h_next"] = keep(h_next)
            out["cache"] = keep(layer.cache)
        got["given"] = given.arrays()
        return got

    def judge(self, inputs, got, run):
        x, h_prev, Wx, Wh, b = (host(inputs[n]) for n in ("x", "h_prev", "Wx", "Wh", "b"))
        want = numpy.tanh(h_prev @ Wh + x @ Wx + b)
        with part("h_next"):
            check_array(code("RNN.forward: h_next"), self.result(got, "forward", "h_next", run), want,
                        device=run.device, mistakes=step_forward())
        with part("cache"):
            check_cache("RNN.forward: self.cache", self.result(got, "forward", "cache", run),
                        [("x", x), ("h_prev", h_prev), ("h_next", want)], run.device, STEP_CACHE,
                        {"x": {"other": as_given("x")}, "h_prev": {"other": as_given("h_prev")},
                         "h_next": step_forward()})
        lab = self.labels()
        self.judge_unchanged(got, {lab[n]: host(inputs[n]) for n in lab}, ["forward"], run)


def step_backward_mistakes(N):
    """check_array's mistakes for each gradient of one RNN step."""
    dt = "dt = dh_next * (1 - h_next ** 2)"

    def for_weight(k, got, want):
        what, formula = (("dWx", "x.T @ dt"), ("dWh", "h_prev.T @ dt"), ("db", "dt.sum(axis=0)"))[k]
        return {"scaled": by_scale(got, want, batch_factors(N, what), say("bwd.scaled_weight", what=what, dt=dt)),
                "other": say("bwd.formula", what=what, formula=formula, dt=dt),
                "zero": say("not_written", k=k, what=what),
                "shape": say("bwd.db_shape") if what == "db" else USUAL_MISTAKES["shape"]}
    returned = {"scaled": say("bwd.scaled_returned", dt=dt), "other": say("bwd.returned", dt=dt)}
    return for_weight, returned


@register
class RNNBackward(LayerCheck):
    """A new ``RNN`` with the reference ``self.cache``: ``backward(dh_next)`` -> dx, dh_prev and
    grads [dWx, dWh, db]."""

    name = "rnn_by_hand.rnn_backward"
    learner = ("RNN",)
    parts = {"dx": 0.5, "dh_prev": 0.5, "dWx": 0.25, "dWh": 0.25, "db": 0.25, "inputs unchanged": 0.25}
    refusal = REFUSAL
    hints = {"backward": STEP_CACHE_HINTS}
    shape_notes = {"backward": lambda: say("shape_note", order=STEP_CACHE)}
    example = "rnn_by_hand.example.rnn_backward"
    CACHE = ("x", "h_prev", "h_next")

    def inputs(self, seed, N, D, H):
        shapes = {"x": (N, D), "h_prev": (N, H), "Wx": (D, H), "Wh": (H, H), "b": (H,), "dh_next": (N, H)}
        a = {n: randn(seed + k, *s) for k, (n, s) in enumerate(shapes.items())}
        a["h_next"] = numpy.tanh(a["h_prev"] @ a["Wh"] + a["x"] @ a["Wx"] + a["b"])   # the cache
        return a

    def labels(self):
        lab = {n: given_to(n, "RNN(Wx, Wh, b)") for n in ("Wx", "Wh", "b")}
        lab.update({n: label("cache", k=k, name=n, where="RNN.backward") for k, n in enumerate(self.CACHE)})
        lab["dh_next"] = given_to("dh_next", "RNN.backward")
        return lab

    def run(self, RNN, inputs, xp):
        a, got, given, lab = inputs, {}, Given(), self.labels()
        with refusing_library(self.refusal), phase(got, "backward") as out:
            layer = RNN(*(given(lab[n], a[n]) for n in ("Wx", "Wh", "b")))
            before = list(layer.grads)
            layer.cache = tuple(given(lab[n], a[n]) for n in self.CACHE)
            out["returned"] = keep(layer.backward(given(lab["dh_next"], a["dh_next"])))
            out["grads"] = keep(layer.grads)
            out["in_place"] = in_place(layer, before)
        got["given"] = given.arrays()
        return got

    def judge(self, inputs, got, run):
        x, h_prev, Wx, Wh, b, dh_next = (host(inputs[n]) for n in ("x", "h_prev", "Wx", "Wh", "b", "dh_next"))
        _, (dx, dh, dWx, dWh, db) = rnn_step_reference(x, h_prev, Wx, Wh, b, dh_next)
        for_weight, returned = step_backward_mistakes(x.shape[0])
        for k, (name, want) in enumerate((("dx", dx), ("dh_prev", dh))):
            with part(name):
                out = self.result(got, "backward", "returned", run)
                assert isinstance(out, (tuple, list)) and len(out) == 2, say("bwd.returns")
                check_array(code(f"RNN.backward: {name}"), out[k], want, device=run.device, mistakes=returned)
        self.judge_grads(got, "backward", run, ("dWx", "dWh", "db"), (dWx, dWh, db), "RNN", for_weight)
        lab = self.labels()
        self.judge_unchanged(got, {lab[n]: host(inputs[n]) for n in lab}, ["backward"], run)


# -- 2. a whole sequence -----------------------------------------------------------------------------

STATEFUL = (False, True)


def steps_of(T):
    return {"parts": (1, [f"t={t}" for t in range(T)])}


@register
class TimeRNNForward(LayerCheck):
    """``TimeRNN``: two calls of T steps each, stateful and not, then ``reset_state()``."""

    name = "rnn_by_hand.time_rnn_forward"
    learner = ("TimeRNN",)
    parts = {"forward": 0.75, "stateful": 0.5, "reset_state": 0.5, "inputs unchanged": 0.25}
    refusal = REFUSAL
    example = "rnn_by_hand.example.time_rnn_forward"

    def inputs(self, seed, N, T, D, H):
        xs, Wx, Wh, b = (randn(seed + k, *shape) for k, shape in enumerate([(N, 2 * T, D), (D, H), (H, H), (H,)]))
        return {"xs1": xs[:, :T].copy(), "xs2": xs[:, T:].copy(), "Wx": Wx, "Wh": Wh, "b": b}

    @staticmethod
    def labels(stateful):
        init = f"TimeRNN(Wx, Wh, b, stateful={stateful})"
        lab = {n: given_to(n, init) for n in ("Wx", "Wh", "b")}
        lab.update({"xs1": label("first", init=init), "xs2": label("second", init=init)})
        if stateful:
            lab["xs3"] = label("after_reset", init=init)
        return lab

    def run(self, TimeRNN, inputs, xp):
        a, got, given = inputs, {}, Given()
        with refusing_library(self.refusal):
            for stateful in STATEFUL:
                lab = self.labels(stateful)
                with phase(got, f"stateful={stateful}") as out:
                    layer = TimeRNN(*(given(lab[n], a[n]) for n in ("Wx", "Wh", "b")), stateful=stateful)
                    out["hs1"] = keep(layer.forward(given(lab["xs1"], a["xs1"])))
                    layers = getattr(layer, "layers", None)
                    out["layers"] = len(layers) if isinstance(layers, (list, tuple)) else -1
                    out["hs2"] = keep(layer.forward(given(lab["xs2"], a["xs2"])))
                    if stateful:
                        layer.reset_state()
                        out["hs3"] = keep(layer.forward(given(lab["xs3"], a["xs1"])))
        got["given"] = given.arrays()
        return got

    def judge(self, inputs, got, run):
        dev = run.device
        xs1, xs2, Wx, Wh, b = (host(inputs[n]) for n in ("xs1", "xs2", "Wx", "Wh", "b"))
        N, T, _ = xs1.shape
        h0 = numpy.zeros((N, Wh.shape[0]))
        hs1 = rnn_states(xs1, h0, Wx, Wh, b)[1]
        fresh2 = rnn_states(xs2, h0, Wx, Wh, b)[1]
        carried2 = rnn_states(xs2, hs1[:, -1], Wx, Wh, b)[1]
        plain, st = "stateful=False", "stateful=True"
        first = got.get(plain, {}).get("hs1") if isinstance(got.get(plain), dict) else None
        steps_right = _close(host(first), hs1)     # then a wrong call is a matter of state

        def hint(state):
            text = say(state) if steps_right else say("steps_too", steps=say("steps"))
            return {"parts": text, "other": text, "zero": say("unfilled")}

        with part("forward"):
            check_array(say("hs_first", st=plain), self.result(got, plain, "hs1", run), hs1, device=dev,
                        mistakes={"parts": say("steps"), "other": say("steps"), "zero": say("unfilled")},
                        **steps_of(T))
            count = self.result(got, plain, "layers", run)
            assert count == T, (say("layers_none", T=T) if count == -1 else say("layers_count", T=T, count=count))
            check_array(say("hs_second", st=plain), self.result(got, plain, "hs2", run), fresh2, device=dev,
                        mistakes=hint("fresh"), **steps_of(T))
        with part("stateful"):
            check_array(say("hs_first", st=st), self.result(got, st, "hs1", run), hs1, device=dev,
                        mistakes=hint("first"), **steps_of(T))
            check_array(say("hs_second", st=st), self.result(got, st, "hs2", run), carried2, device=dev,
                        mistakes=hint("carry"), **steps_of(T))
        with part("reset_state"):
            check_array(say("hs_reset"), self.result(got, st, "hs3", run), hs1, device=dev,
                        mistakes=hint("reset"), **steps_of(T))
        originals = {}
        for stateful in STATEFUL:
            lab = self.labels(stateful)
            originals.update({lab[n]: host(inputs["xs1" if n == "xs3" else n]) for n in lab})
        self.judge_unchanged(got, originals, [plain, st], run)


TIME_CACHE_HINTS = ((("AttributeError",), ("has no attribute",), lambda: say("time_cache_attr")),)


def time_rnn_backward_numpy(xs, hs_prev, hs, Wx, Wh, dhs, later=True):
    """dxs, dh0 and each step's (dWx, dWh, db), by hand; ``later=False``: without the gradient
    from the later steps (a learner's mistake, to recognise it)."""
    N, T, _ = xs.shape
    dxs, dh, steps = numpy.zeros_like(xs), numpy.zeros_like(hs[:, 0]), [None] * T
    for t in reversed(range(T)):
        dt = (dhs[:, t] + (dh if later else 0)) * (1 - hs[:, t] ** 2)
        dxs[:, t] = dt @ Wx.T
        dh = dt @ Wh.T
        steps[t] = (xs[:, t].T @ dt, hs_prev[:, t].T @ dt, dt.sum(axis=0))
    return dxs, dh, steps


@register
class TimeRNNBackward(LayerCheck):
    """A new ``TimeRNN`` whose ``self.layers`` hold the learner's RNN steps with the reference
    caches: ``backward(dhs)`` -> dxs, ``self.dh`` and grads [dWx, dWh, db]."""

    name = "rnn_by_hand.time_rnn_backward"
    learner = ("TimeRNN", "RNN")
    parts = {"dxs": 0.75, "dh": 0.25, "dWx": 0.25, "dWh": 0.25, "db": 0.25, "inputs unchanged": 0.25}
    refusal = REFUSAL
    hints = {"backward": TIME_CACHE_HINTS, "step": STEP_CACHE_HINTS}
    shape_notes = {"backward": lambda: say("time_shape_note", order=STEP_CACHE)}
    example = "rnn_by_hand.example.time_rnn_backward"

    def inputs(self, seed, N, T, D, H):
        xs, Wx, Wh, b, dhs, h0 = (randn(seed + k, *shape) for k, shape in
                                  enumerate([(N, T, D), (D, H), (H, H), (H,), (N, T, H), (N, H)]))
        hs_prev, hs = rnn_states(xs, numpy.tanh(h0), Wx, Wh, b)      # the steps' caches
        return {"xs": xs, "Wx": Wx, "Wh": Wh, "b": b, "dhs": dhs, "hs_prev": hs_prev, "hs": hs}

    @staticmethod
    def labels(T):
        lab = {n: given_to(n, "TimeRNN(Wx, Wh, b)") for n in ("Wx", "Wh", "b")}
        for t in range(T):
            for k, n in enumerate(("x", "h_prev", "h_next")):
                lab[f"{n}{t}"] = label("step_cache", t=t, k=k, name=n)
        lab["dhs"] = given_to("dhs", "TimeRNN.backward")
        return lab

    @staticmethod
    def cache(a, t):
        return {f"x{t}": a["xs"][:, t], f"h_prev{t}": a["hs_prev"][:, t], f"h_next{t}": a["hs"][:, t]}

    def run(self, TimeRNN, RNN, inputs, xp):
        a, got, given = inputs, {}, Given()
        T = a["xs"].shape[1]
        lab = self.labels(T)
        with refusing_library(self.refusal):
            with phase(got, "backward") as out:
                params = [given(lab[n], a[n]) for n in ("Wx", "Wh", "b")]
                layer = TimeRNN(*params)
                before = list(layer.grads)
                steps = []
                for t in range(T):
                    step = RNN(*params)
                    step.cache = tuple(given(lab[k], v) for k, v in self.cache(a, t).items())
                    steps.append(step)
                layer.layers = steps
                out["dxs"] = keep(layer.backward(given(lab["dhs"], a["dhs"])))
                out["dh"] = keep(getattr(layer, "dh", None))
                out["grads"] = keep(layer.grads)
                out["in_place"] = in_place(layer, before)
            with phase(got, "step") as out:     # the last step's RNN.backward alone, for the messages
                step = RNN(a["Wx"].copy(), a["Wh"].copy(), a["b"].copy())
                step.cache = tuple(v.copy() for v in self.cache(a, T - 1).values())
                out["returned"] = keep(step.backward(a["dhs"][:, T - 1].copy()))
                out["grads"] = keep(step.grads)
        got["given"] = given.arrays()
        return got

    def step_note(self, got, inputs):
        """A line for the messages when the learner's RNN.backward is itself wrong on the last step."""
        xs, hs_prev, hs, Wx, Wh, dhs = (host(inputs[n]) for n in ("xs", "hs_prev", "hs", "Wx", "Wh", "dhs"))
        dt = dhs[:, -1] * (1 - hs[:, -1] ** 2)
        want = [dt @ Wx.T, dt @ Wh.T, xs[:, -1].T @ dt, hs_prev[:, -1].T @ dt, dt.sum(axis=0)]
        out = got.get("step") if isinstance(got, dict) else None
        try:
            returned, grads = out["returned"], out["grads"]
            right = all(_close(host(g), w) for g, w in zip(list(returned) + list(grads), want)) \
                and len(returned) == 2 and len(grads) == 3
        except (KeyError, TypeError):
            right = False
        return "" if right else say("step_note")

    def judge(self, inputs, got, run):
        dev = run.device
        xs, Wx, Wh, b, dhs, hs_prev, hs = (host(inputs[n]) for n in ("xs", "Wx", "Wh", "b", "dhs", "hs_prev", "hs"))
        N, T, _ = xs.shape
        _, (dxs, dh0, dWx, dWh, db) = time_rnn_reference(xs, hs_prev[:, 0], Wx, Wh, b, dhs)
        no_later = time_rnn_backward_numpy(xs, hs_prev, hs, Wx, Wh, dhs, later=False)
        steps = time_rnn_backward_numpy(xs, hs_prev, hs, Wx, Wh, dhs)[2]
        note = self.step_note(got, inputs)
        with part("dxs"), noting(note):
            got_dxs = self.result(got, "backward", "dxs", run)
            hint = matching(got_dxs, [(no_later[0], say("later"))], say("time_dxs"))
            check_array(code("TimeRNN.backward: dxs"), got_dxs, dxs, device=dev,
                        mistakes={"parts": hint, "other": hint}, **steps_of(T))
        with part("dh"), noting(note):
            got_dh = self.result(got, "backward", "dh", run)
            check_array(say("dh_name"), got_dh, dh0, device=dev,
                        mistakes={"other": matching(got_dh, [(no_later[1], say("later"))], say("dh_other"))})

        def for_weight(k, got_w, want):
            what = ("dWx", "dWh", "db")[k]
            alone = [(steps[0][k], say("shared")), (steps[-1][k], say("shared")),
                     (sum(s[k] for s in no_later[2]), say("later"))]
            factors = batch_factors(N, what) + [(1 / T, say("mean_t")), (T, USUAL_MISTAKES["scaled"])]
            return {"other": matching(got_w, alone, say("summed")), "zero": say("summed"),
                    "scaled": by_scale(got_w, want, factors, USUAL_MISTAKES["scaled"])}

        self.judge_grads(got, "backward", run, ("dWx", "dWh", "db"), (dWx, dWh, db), "TimeRNN", for_weight, note)
        lab = self.labels(T)
        originals = {lab[n]: host(inputs[n]) for n in ("Wx", "Wh", "b", "dhs")}
        for t in range(T):
            originals.update({lab[k]: v for k, v in self.cache({n: host(inputs[n]) for n in inputs}, t).items()})
        self.judge_unchanged(got, originals, ["backward"], run)


# -- 3. the embedding --------------------------------------------------------------------------------

EMBED_HINTS = {"dW": ((("AttributeError",), ("has no attribute",), lambda: say("embed_attr")),)}


@register
class EmbeddingCheck(LayerCheck):
    """``Embedding``: rows forward; backward with ids that repeat, against ``F.embed_id``."""

    name = "rnn_by_hand.embedding"
    learner = ("Embedding",)
    parts = {"forward": 1, "dW": 1.5, "inputs unchanged": 0.5}
    refusal = REFUSAL
    hints = EMBED_HINTS
    example = "rnn_by_hand.example.embedding"
    LABELS = {"W": given_to("W", "Embedding(W)"), "idx": given_to("idx", "Embedding.forward"),
              "W2": label("embedding_W"), "idx2": label("idx_set"), "dout": given_to("dout", "Embedding.backward")}

    def inputs(self, seed, V, D, idx_shape):
        idx_shape = tuple(idx_shape)
        return {"W": randn(seed, V, D), "idx": randint(seed + 1, V, idx_shape),
                "dout": randn(seed + 2, *idx_shape, D)}

    def run(self, Embedding, inputs, xp):
        a, got, given, lab = inputs, {}, Given(), self.LABELS
        with refusing_library(self.refusal):
            with phase(got, "forward") as out:
                layer = Embedding(given(lab["W"], a["W"]))
                out["rows"] = keep(layer.forward(given(lab["idx"], a["idx"])))
                out["idx"] = keep(getattr(layer, "idx", None))
            with phase(got, "dW") as out:
                layer = Embedding(given(lab["W2"], a["W"]))
                before = list(layer.grads)
                layer.idx = given(lab["idx2"], a["idx"])
                layer.grads[0][...] = 1.0   # a gradient left from an earlier call must not leak in
                out["returned"] = keep(layer.backward(given(lab["dout"], a["dout"])))
                out["grads"] = keep(layer.grads)
                out["in_place"] = in_place(layer, before)
        got["given"] = given.arrays()
        return got

    def judge(self, inputs, got, run):
        dev = run.device
        W, idx, dout = (host(inputs[n]) for n in ("W", "idx", "dout"))
        Wv = Variable(W)
        y = F.embed_id(idx, Wv)
        y.grad = dout
        y.backward()
        with part("forward"):
            check_array(code("Embedding.forward"), self.result(got, "forward", "rows", run), y.array, device=dev,
                        mistakes={"other": say("embed_rows")})
            check_array(code("Embedding.forward: self.idx"), self.result(got, "forward", "idx", run), idx,
                        device=dev, mistakes={"other": say("embed_idx"), "none": say("embed_idx")})
        assigned, assigned_left, added_left = numpy.zeros_like(W), numpy.ones_like(W), numpy.ones_like(W)
        assigned[idx] = dout            # dW[idx] = dout or dW[idx] += dout: one row per id
        assigned_left[idx] = dout       # ... without setting dW to zero first
        added_left[idx] += dout
        add_at, rows = say("add_at"), say("rows")
        alternatives = [(assigned, add_at), (Wv.grad + 1.0, say("not_reset")),
                        (assigned_left, joined([add_at, say("zero_first")])),
                        (added_left, joined([add_at, say("zero_first")]))]

        def mistakes(k, got_dW, want):
            hint = matching(got_dW, alternatives, rows)
            return {"other": hint, "parts": hint, "scaled": hint, "zero": rows}

        with part("dW"):
            assert self.result(got, "dW", "returned", run) is None, say("embed_none")
        self.judge_grads(got, "dW", run, ("dW",), (Wv.grad,), "Embedding", mistakes)
        self.judge_unchanged(got, {lab: host(inputs[n.rstrip("2")]) for n, lab in self.LABELS.items()},
                             ["forward", "dW"], run)
