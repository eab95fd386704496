"""Checks for the truncated-BPTT assignment: one window's loss, gradients and update equal to
``BPTTUpdater``'s, live function nodes flat, and a perplexity reached within a budget of CPU time.

``truncated_bptt.windows`` runs the learner's ``train_window(model, optimizer, iterator, bprop_len,
device)`` window after window on a small ``L.Classifier(L.RNNLM(n_vocab, 8, 8))`` whose initial
parameters the grader makes and sends, with ``optimizers.SGD(lr=0.5)``; the kernel hands back each
window's returned loss, the gradients left in the model and the weights after it. The grader
replays ``BPTTUpdater.update``'s steps on the same words, each window starting from the weights the
learner's model had before it (the initial ones, then the learner's own), so that each window and
each part is judged on its own: a wrong update does not make the later gradients wrong too. Parts:
``loss`` (the mean loss per step returned, a float), ``gradients`` (window 1's), ``history`` (the
later windows' gradients: the state carried over, the history cut, old gradients cleared),
``update`` (the weights after a window are those before it minus lr times the gradients the window
left). A mismatch is explained by replaying the usual mistakes (the state reset every window, one
batch too few or too many, the history never cut, old gradients kept, the last step's loss only):
when the learner's gradients are those of one of them, the message names it.

``truncated_bptt.live_nodes`` checks that the number of live function nodes does not grow window
after window. That count exists only inside the learner's process
(``live_function_node_count()``), so it is the one thing of this assignment that the learner's
process reports rather than the grader measuring it; the grader judges the counts it receives.

``truncated_bptt.language_model`` calls ``train_language_model(train, n_vocab, budget_s, device)``
with NumPy's BLAS on one thread (``threadpool_limits(1)``). The grader measures the CPU time of the
whole kernel (every thread and child process) around the call, so training in a thread or a
subprocess is counted too. The kernel loads the training split of the shipped corpus itself
(``get_kjv_words``, cached per process): sent as an input, its 335,000 word ids made the kernel
spend about 0.7 s of CPU time per run decoding the request, which the budget charged to the
learner (the solution failed its budget once on a loaded machine); the training text
is no secret (the learner's function may load any split it likes), and the validation text stays
in the grader; the kernel sends back the trained ``L.Classifier(L.RNNLM(...))`` as its
cell type, number of layers and parameter arrays (with the device they were on), and the grader
rebuilds that model and computes its validation perplexity on its own copy of the validation text.
Parts: ``model`` (an ``L.Classifier(L.RNNLM(...))`` on the run's device), ``budget``, ``perplexity``
(below the target, judged only for a run within its budget). The GPU check (CuPy, or the CuPy
stand-in where no GPU is) trains again with ``device="gpu"`` on half the budget and asks only for a
model that learned: a perplexity below half the vocabulary size (an untrained model scores about
the vocabulary size). The stand-in is slower than NumPy, so the CPU target would not be fair there;
what the GPU check is for is the model and the data on the GPU, and a training loop that runs.
"""
import math

import numpy

from ... import i18n
from ... import links as L
from ... import optimizers
from ...core.function_node import live_function_node_count
from ...datasets import get_kjv_words
from ...iterators import ParallelSequentialIterator, concat_examples
from ...links.recurrent import LSTM, RNN
from ...training import evaluate_perplexity
from ..checks import check_array, to_numpy
from ..protocol import Check, Other, Received, host, part, register

# The learner-readable texts of these checks (``say``: looked up when a message is made).
STRINGS = {
    "truncated_bptt.usual": {"en": "usual mistake: {hint}", "ja": "よくある間違い: {hint}"},
    "truncated_bptt.code": {"en": "{code}", "ja": "`{code}`"},
    "truncated_bptt.return_model": {"en": "return L.Classifier(L.RNNLM(n_vocab, n_embed, n_hidden))",
                                    "ja": "`L.Classifier(L.RNNLM(n_vocab, n_embed, n_hidden))` を返してください"},
    "truncated_bptt.diverged": {
        "en": "the training diverged: the learning rate is too large, or the gradients explode: lower "
              "the learning rate, or clip the gradients (optimizer.add_hook(optimizers."
              "GradientClipping(5.0)) after optimizer.setup(model))",
        "ja": "学習が発散しました: 学習率が大きすぎるか、勾配が爆発しています。学習率を下げるか、勾配をクリップして"
              "ください（`optimizer.setup(model)` の後に `optimizer.add_hook(optimizers.GradientClipping(5.0))`）"},
    "truncated_bptt.array_of_shape": {"en": "an array of shape {shape}", "ja": "形状 {shape} の配列"},
    "truncated_bptt.a_type": {"en": "a {type}", "ja": "`{type}`"},
    "truncated_bptt.plain_number": {
        "en": "the window's loss is still a plain number, not a Variable: no step's loss was added to it "
              "(does the loop read bprop_len batches and add each model(x, t) to the loss?)",
        "ja": "窓の損失がまだ `Variable` ではなくただの数です: どの時刻の損失も足されていません（ループは "
              "`bprop_len` 個のバッチを読み、それぞれの `model(x, t)` を損失に足していますか？）"},
    "truncated_bptt.gpu_mix": {
        "en": "NumPy and CuPy arrays were mixed on the GPU run: when device == 'gpu', {where}",
        "ja": "GPU での実行で NumPy と CuPy の配列が混ざりました: `device == 'gpu'` のときは、{where}"},
    "truncated_bptt.where.window": {
        "en": "move x and t to the GPU with to_device(x, 'gpu') and to_device(t, 'gpu') (the test's model "
              "is already there)",
        "ja": "`to_device(x, 'gpu')` と `to_device(t, 'gpu')` で `x` と `t` を GPU に移してください"
              "（テストのモデルはすでに GPU 上にあります）"},
    "truncated_bptt.where.model": {
        "en": "move the model to the GPU with model.to_device('gpu') right after building it, and x, t "
              "with to_device(x, 'gpu') in train_window",
        "ja": "モデルは作った直後に `model.to_device('gpu')` で GPU に移し、`x` と `t` は `train_window` の中で "
              "`to_device(x, 'gpu')` で移してください"},
    "truncated_bptt.mistake.reset": {
        "en": "the hidden state is reset between windows (model.reset_state(), or a new model or "
              "predictor): the state must carry over between windows; only loss.unchain_backward() cuts "
              "the history, and it keeps the state's value",
        "ja": "窓と窓の間で隠れ状態をリセットしています（`model.reset_state()`、または新しいモデルや `predictor`）: "
              "隠れ状態は次の窓へ引き継ぐ必要があります。履歴を切るのは `loss.unchain_backward()` だけで、"
              "それは隠れ状態の値を保ちます"},
    "truncated_bptt.mistake.fewer": {
        "en": "train_window reads bprop_len - 1 batches per window: read exactly bprop_len batches "
              "(bprop_len calls of next(iterator))",
        "ja": "`train_window` が窓ごとに `bprop_len - 1` 個のバッチを読んでいます: ちょうど `bprop_len` 個のバッチを"
              "読んでください（`next(iterator)` を `bprop_len` 回）"},
    "truncated_bptt.mistake.more": {
        "en": "train_window reads bprop_len + 1 batches per window: read exactly bprop_len batches "
              "(bprop_len calls of next(iterator))",
        "ja": "`train_window` が窓ごとに `bprop_len + 1` 個のバッチを読んでいます: ちょうど `bprop_len` 個のバッチを"
              "読んでください（`next(iterator)` を `bprop_len` 回）"},
    "truncated_bptt.mistake.no_unchain": {
        "en": "the history of earlier windows still takes part in backward: cut it with "
              "loss.unchain_backward() after loss.backward()",
        "ja": "前の窓の履歴がまだ逆伝播に加わっています: `loss.backward()` の後に `loss.unchain_backward()` で"
              "切ってください"},
    "truncated_bptt.mistake.no_clear": {
        "en": "old gradients are kept and added to: clear them with model.cleargrads() before loss.backward()",
        "ja": "古い勾配が残り、それに足されています: `loss.backward()` の前に `model.cleargrads()` で消してください"},
    "truncated_bptt.mistake.update_first": {
        "en": "optimizer.update() comes before loss.backward(): it updates with the previous window's "
              "gradients, and backward then runs on weights already changed: call it once per window, "
              "after loss.backward()",
        "ja": "`optimizer.update()` が `loss.backward()` より前にあります: 前の窓の勾配で更新し、その後の逆伝播は"
              "すでに変わった重みで実行されます。窓ごとに 1 回、`loss.backward()` の後に呼んでください"},
    "truncated_bptt.mistake.last_only": {
        "en": "only the last step's loss is back-propagated: add every step's loss into the window's "
              "loss (loss += model(x, t))",
        "ja": "最後の時刻の損失だけを逆伝播しています: すべての時刻の損失を窓の損失に足してください"
              "（`loss += model(x, t)`）"},
    "truncated_bptt.windows_shape": {
        "en": "the test expected {windows} windows of results and got something else",
        "ja": "テストは {windows} 個の窓の結果を期待しましたが、別のものが返ってきました"},
    "truncated_bptt.loss_float": {
        "en": "train_window should return the mean loss per step as a Python float "
              "(float(loss.array) / bprop_len), got a {kind}",
        "ja": "`train_window` は 1 時刻あたりの平均損失を Python の `float`（`float(loss.array) / bprop_len`）で"
              "返す必要がありますが、{kind} が返ってきました"},
    "truncated_bptt.loss_times": {
        "en": "it is bprop_len times the mean: return the window's summed loss divided by bprop_len",
        "ja": "平均の `bprop_len` 倍になっています: 窓の損失の和を `bprop_len` で割って返してください"},
    "truncated_bptt.loss_twice": {
        "en": "it is the mean divided by bprop_len once more: divide the summed loss by bprop_len once",
        "ja": "平均をさらに `bprop_len` で割っています: 損失の和を `bprop_len` で 1 回だけ割ってください"},
    "truncated_bptt.loss_batch": {
        "en": "it is the mean divided by the batch size too: each step's loss is already a mean over the "
              "batch, so divide the summed loss by bprop_len only",
        "ja": "平均をさらにバッチサイズで割っています: 各時刻の損失はすでにバッチについての平均なので、損失の和は "
              "`bprop_len` だけで割ってください"},
    "truncated_bptt.loss_later": {
        "en": "window 1's loss is right but a later one is not: a window's loss depends on the state "
              "carried over from the window before (do not reset it) and on reading exactly bprop_len batches",
        "ja": "窓 1 の損失は正しいのに後の窓の損失が間違っています: 窓の損失は前の窓から引き継いだ隠れ状態"
              "（リセットしないこと）と、ちょうど `bprop_len` 個のバッチを読むことによります"},
    "truncated_bptt.loss_plain": {
        "en": "return float(loss.array) / bprop_len, where loss is the sum of the losses of exactly "
              "bprop_len steps",
        "ja": "`float(loss.array) / bprop_len` を返してください。`loss` はちょうど `bprop_len` 時刻分の損失の和です"},
    "truncated_bptt.loss_wrong": {
        "en": "window {w}: the mean loss returned differs from the reference by {error} (relative).",
        "ja": "窓 {w}: 返した平均損失が正解と相対誤差 {error} だけ違います。"},
    "truncated_bptt.grads_unread": {"en": "window {w}: the gradients could not be read",
                                    "ja": "窓 {w}: 勾配を読み取れませんでした"},
    "truncated_bptt.grads_first": {
        "en": "the gradients are not those of the window's summed loss: add the losses of all bprop_len "
              "steps into one Variable and call backward on it once",
        "ja": "勾配が窓の損失の和の勾配になっていません: `bprop_len` 時刻すべての損失をひとつの `Variable` に"
              "足し、それに対して `backward` を 1 回呼んでください"},
    "truncated_bptt.grads_later": {
        "en": "window 1's gradients are right but a later window's are not: check what carries from one "
              "window to the next: the hidden state carries over (no reset), the history is cut "
              "(loss.unchain_backward() after backward) and old gradients are cleared (model.cleargrads() "
              "before backward)",
        "ja": "窓 1 の勾配は正しいのに後の窓の勾配が間違っています: 窓から窓へ何が引き継がれるかを確かめてください: "
              "隠れ状態は引き継ぎ（リセットしない）、履歴は切り（`backward` の後に `loss.unchain_backward()`）、"
              "古い勾配は消します（`backward` の前に `model.cleargrads()`）"},
    "truncated_bptt.grads_first_too": {"en": "window 1's gradients are wrong too: fix those first",
                                       "ja": "窓 1 の勾配も間違っています: 先にそれを直してください"},
    "truncated_bptt.grads_none": {
        "en": "no gradient was left in the model after the window: call loss.backward() before "
              "loss.unchain_backward() (unchaining first cuts the graph that backward walks), and leave the "
              "window's gradients in the model (clear the old ones before backward, not after the update)",
        "ja": "窓の後のモデルに勾配が残っていません: `loss.unchain_backward()` の前に `loss.backward()` を"
              "呼び（先に切ると逆伝播がたどるグラフがなくなります）、窓の勾配をモデルに残してください（古い勾配は"
              "更新の後ではなく `backward` の前に消します）"},
    "truncated_bptt.no_param": {"en": "window {w}: the model has no parameter {name} any more",
                                "ja": "窓 {w}: モデルにパラメータ `{name}` がもうありません"},
    "truncated_bptt.unused": {
        "en": "window {w}: {name} should get no gradient in this window (the state it weighs is not "
              "used), yet it has one.",
        "ja": "窓 {w}: `{name}` はこの窓では勾配を受け取らないはずです（それが重みを掛ける隠れ状態は使われません）"
              "が、勾配があります。"},
    "truncated_bptt.gradient_of": {"en": "window {w}: gradient of {name}", "ja": "窓 {w} の `{name}` の勾配"},
    "truncated_bptt.after_update": {"en": "window {w}: {name} after the update", "ja": "窓 {w} の更新後の `{name}`"},
    "truncated_bptt.params_unread": {
        "en": "window {w}: the weights after the window could not be read (a parameter is missing, "
              "replaced or of another shape): update the model's own parameters in place with "
              "optimizer.update()",
        "ja": "窓 {w}: 窓の後の重みを読み取れませんでした（パラメータがない、置き換えられた、または形状が違います）: "
              "`optimizer.update()` でモデル自身のパラメータをその場で更新してください"},
    "truncated_bptt.not_changed": {
        "en": "the weights did not change in window {w}: call optimizer.update() once per window, "
              "after loss.backward()",
        "ja": "窓 {w} で重みが変わっていません: 窓ごとに 1 回、`loss.backward()` の後に `optimizer.update()` を"
              "呼んでください"},
    "truncated_bptt.twice": {
        "en": "the weights moved twice as far: call optimizer.update() once per window",
        "ja": "重みが 2 倍動いています: `optimizer.update()` は窓ごとに 1 回呼んでください"},
    "truncated_bptt.update": {
        "en": "the weights after a window should be those before it minus lr times the gradients the "
              "window left in the model: call optimizer.update() once per window, after loss.backward(), "
              "and leave the optimizer's settings as they are",
        "ja": "窓の後の重みは、窓の前の重みから、窓がモデルに残した勾配の `lr` 倍を引いたものになるはずです: "
              "窓ごとに 1 回、`loss.backward()` の後に `optimizer.update()` を呼び、オプティマイザの設定は"
              "変えないでください"},
    "truncated_bptt.update_wrong": {"en": "window {w}: the weights after the update are wrong.",
                                    "ja": "窓 {w}: 更新後の重みが間違っています。"},
    "truncated_bptt.counts": {
        "en": "the test expected {windows} counts of live function nodes and got something else",
        "ja": "テストは残っている関数ノードの数を {windows} 個期待しましたが、別のものが返ってきました"},
    "truncated_bptt.grew": {
        "en": "the live function nodes grew from {first} after window 1 to {most} after {windows} windows: "
              "the history is never freed. Cut it with loss.unchain_backward() after loss.backward(), and "
              "keep no Variable of an old window alive (a list of losses, a global)",
        "ja": "残っている関数ノードが窓 1 の後の {first} 個から {windows} 個の窓の後の {most} 個に増えました: "
              "履歴が解放されていません。`loss.backward()` の後に `loss.unchain_backward()` で切り、古い窓の "
              "`Variable` を残さないでください（損失のリストやグローバル変数）"},
    "truncated_bptt.model_kind": {"en": "train_language_model should {what} (an LSTM or RNN cell), got {got}",
                                  "ja": "`train_language_model`: {what}（セルは LSTM か RNN）。返ってきたのは {got} です"},
    "truncated_bptt.model_cell": {
        "en": "train_language_model should {what}: its recurrent layers should be rnnviz's L.LSTM "
              "(cell='lstm', the default) or L.RNN (cell='rnn')",
        "ja": "`train_language_model`: {what}。再帰層は `rnnviz` の `L.LSTM`（`cell='lstm'`、既定）か "
              "`L.RNN`（`cell='rnn'`）にしてください"},
    "truncated_bptt.model_params": {
        "en": "the parameters of the returned model could not be read: {what} with every parameter initialised",
        "ja": "返したモデルのパラメータを読み取れませんでした: すべてのパラメータを初期化したうえで、{what}"},
    "truncated_bptt.model_layer": {
        "en": "train_language_model should {what}: its embedding or output layer is missing",
        "ja": "`train_language_model`: {what}。埋め込み層か出力層がありません"},
    "truncated_bptt.model_vocab": {
        "en": "the model's vocabulary has {got} words, the test's {want}: build L.RNNLM(n_vocab, ...) "
              "with the n_vocab given",
        "ja": "モデルの語彙は {got} 語ですが、テストの語彙は {want} 語です: 渡された `n_vocab` で "
              "`L.RNNLM(n_vocab, ...)` を作ってください"},
    "truncated_bptt.model_extra": {
        "en": "train_language_model should {what}: the returned model has an extra parameter {name}",
        "ja": "`train_language_model`: {what}。返したモデルに余分なパラメータ `{name}` があります"},
    "truncated_bptt.model_lacks": {
        "en": "train_language_model should {what}: the returned model lacks the parameter {name}",
        "ja": "`train_language_model`: {what}。返したモデルにパラメータ `{name}` がありません"},
    "truncated_bptt.param_shape": {
        "en": "the model's parameter {name} has shape {got}, expected {want} for L.RNNLM({config})",
        "ja": "モデルのパラメータ `{name}` の形状が {got} ですが、`L.RNNLM({config})` では {want} のはずです"},
    "truncated_bptt.shape_of": {"en": "the shape of {name} is wrong", "ja": "`{name}` の形状が間違っています"},
    "truncated_bptt.not_on_gpu": {
        "en": "the returned model is not on the GPU on the GPU run: move it with model.to_device('gpu') "
              "right after building it when device == 'gpu', and return it there",
        "ja": "GPU での実行で、返したモデルが GPU 上にありません: `device == 'gpu'` のときは作った直後に "
              "`model.to_device('gpu')` で移し、そのまま返してください"},
    "truncated_bptt.on_gpu": {
        "en": "the returned model holds CuPy arrays on the CPU run: move it to the GPU only when device == 'gpu'",
        "ja": "CPU での実行で、返したモデルが CuPy の配列を持っています: GPU に移すのは `device == 'gpu'` のときだけです"},
    "truncated_bptt.not_measured": {"en": "the CPU time of the run was not measured",
                                    "ja": "実行の CPU 時間を測れませんでした"},
    "truncated_bptt.budget": {
        "en": "train_language_model took {spent} s of CPU time, counted over the whole kernel (every thread "
              "and process), for a budget of {budget} s (and {slack} s more allowed for the last window).",
        "ja": "`train_language_model` は CPU 時間を {spent} 秒使いました（カーネル全体、すべてのスレッドと"
              "プロセスの合計）。予算は {budget} 秒です（最後の窓のためにさらに {slack} 秒まで認めます）。"},
    "truncated_bptt.budget_hint": {
        "en": "the loop does not stop on time: check time.process_time() before each window and stop once "
              "budget_s seconds are spent since the start; training in a thread or a subprocess counts too; "
              "a very large model makes each window long",
        "ja": "ループが時間どおりに止まっていません: 各窓の前に `time.process_time()` を確かめ、開始から "
              "`budget_s` 秒使ったら止めてください。スレッドやサブプロセスでの学習も数えます。とても大きなモデルは"
              "窓ごとの時間が長くなります"},
    "truncated_bptt.over_budget": {
        "en": "the perplexity counts only for a run within its CPU budget, and this one took longer (see the budget)",
        "ja": "パープレキシティは CPU 時間の予算内の実行でのみ数えます。この実行は予算を超えました（予算の項を参照）"},
    "truncated_bptt.no_model": {"en": "the perplexity could not be measured: train_language_model should {what}",
                                "ja": "パープレキシティを測れませんでした: `train_language_model`: {what}"},
    "truncated_bptt.gpu_where": {
        "en": " (the GPU check trains on half the budget and asks only for a model that learned: below {target})",
        "ja": "（GPU のチェックは予算の半分で学習し、学習したモデルであることだけを求めます: {target} 未満）"},
    "truncated_bptt.ppl": {"en": "validation perplexity {ppl}, not below {target}{where}.",
                           "ja": "検証データのパープレキシティが {ppl} で、{target} 未満ではありません{where}。"},
    "truncated_bptt.ppl_diverged": {
        "en": "{diverged} (a uniform guess over the {n} words scores {n}; this model does much worse)",
        "ja": "{diverged}（{n} 語から一様に当て推量すると {n} になります。このモデルはそれよりずっと悪い値です）"},
    "truncated_bptt.ppl_untrained": {
        "en": "the model is about as good as an untrained one (a uniform guess over the {n} words scores {n}): "
              "either the weights hardly changed (does the training loop run? does train_window update the "
              "weights?) or the training went wrong (a learning rate too large makes the loss grow: lower it, "
              "or clip the gradients)",
        "ja": "モデルは学習前のものと同じくらいの性能です（{n} 語から一様に当て推量すると {n} になります）: "
              "重みがほとんど変わっていない（学習のループは回っていますか？ `train_window` は重みを更新していますか？）"
              "か、学習がうまくいっていません（学習率が大きすぎると損失が増えます: 学習率を下げるか、勾配を"
              "クリップしてください）"},
    "truncated_bptt.ppl_tune": {
        "en": "the model learned, but not enough within the budget: tune the learning rate (too small learns "
              "slowly, too large oscillates; Adam(alpha=0.01) works well here), use about 32 parallel streams "
              "(the iterator's batch size) and a hidden size around 64 (a larger model makes fewer updates in "
              "the budget)",
        "ja": "モデルは学習しましたが、予算内では足りません: 学習率を調整し（小さすぎると学習が遅く、大きすぎると"
              "振動します。ここでは `Adam(alpha=0.01)` がよく効きます）、並列の系列を 32 本ほど（イテレータの"
              "バッチサイズ）、隠れ状態の大きさを 64 ほどにしてください（大きなモデルは予算内の更新回数が減ります）"},
    "truncated_bptt.too_large": {
        "en": "the trained model is too large to send back for grading: a hidden size around 64 is enough "
              "(and trains faster within the budget)",
        "ja": "学習したモデルが大きすぎて採点のために送り返せません: 隠れ状態の大きさは 64 ほどで足ります"
              "（予算内でより速く学習できます）"},
}
i18n.register(STRINGS)


def say(key, **fields):
    return i18n.tr(f"truncated_bptt.{key}", **fields)


def usual(hint):
    return say("usual", hint=hint)


SMALL = (8, 8)                 # n_embed, n_hidden of the small model of the window checks
LR_WINDOWS, LR_LIVE = 0.5, 0.1
RTOL, ATOL = 1e-4, 1e-6
GPU_MIX = ("Unsupported type <class 'numpy.ndarray'>", "Implicit conversion to a NumPy array",
           "a mix of NumPy (cpu) and CuPy (gpu)")


def small_model(n_vocab=30, seed=0):
    """The small model of the window checks, on the CPU (the global NumPy RNG left as it was)."""
    state = numpy.random.get_state()
    try:
        numpy.random.seed(seed)
        return L.Classifier(L.RNNLM(n_vocab, *SMALL))
    finally:
        numpy.random.set_state(state)


def load_small_model(n_vocab, params, device="cpu"):
    """``small_model``'s architecture with the parameters ``params`` ({name: array}) on ``device``."""
    model = L.Classifier(L.RNNLM(n_vocab, *SMALL))
    for name, p in model.namedparams():
        p.array = numpy.array(to_numpy(host(params[name])), dtype=p.array.dtype)
    return model.to_device("gpu") if device == "gpu" else model


def training_setup(a, lr, device="cpu"):
    """(model, SGD optimizer, iterator) for the inputs ``a`` of a windows or live-nodes case."""
    model = load_small_model(a["n_vocab"], a["params"], device)
    optimizer = optimizers.SGD(lr=lr)
    optimizer.setup(model)
    return model, optimizer, ParallelSequentialIterator(to_numpy(host(a["words"])), a["batch"])


def _copy(a):
    """A snapshot of a parameter's array or gradient (they are updated in place later)."""
    a = getattr(a, "array", a)
    return a.copy() if hasattr(a, "copy") else a


def _device_name(xp):
    return "cpu" if xp is numpy else "gpu"


def _kind(value):
    if isinstance(value, Received):
        return say("array_of_shape", shape=value.shape)
    if isinstance(value, Other):
        return say("a_type", type=value.type_name)
    return say("a_type", type=type(value).__name__)


def _close(a, b):
    return a is not None and b is not None and numpy.shape(a) == numpy.shape(b) and bool(
        numpy.allclose(numpy.asarray(a, dtype=numpy.float64), numpy.asarray(b, dtype=numpy.float64),
                       rtol=RTOL, atol=ATOL))


def _near(x, y):
    """Two losses equal to the check's tolerance."""
    return abs(x - y) <= 1e-4 * max(1.0, abs(y))


def explain_gpu_mix(error, where):
    """The hint for NumPy and CuPy arrays mixed (the GPU run), for a loss that stayed a number,
    or "". ``where``: the key (``truncated_bptt.where.*``) of what to move to the GPU."""
    message = str(error.get("message", "")) if isinstance(error, dict) else ""
    if "object has no attribute 'backward'" in message or "object has no attribute 'unchain" in message:
        return usual(say("plain_number"))
    if any(s in message for s in GPU_MIX):
        return usual(say("gpu_mix", where=say(f"where.{where}")))
    return ""


# -- 1. the windows ------------------------------------------------------------------------------

#: The usual mistakes of train_window the judge replays to name the cause of a mismatch:
#: (key, how the replay differs); the hint is ``truncated_bptt.mistake.<key>``.
MISTAKES = [
    ("reset", {"reset": True}),
    ("fewer", {"extra": -1}),
    ("more", {"extra": 1}),
    ("no_unchain", {"unchain": False}),
    ("no_clear", {"cleargrads": False}),
    ("update_first", {"update_first": True}),
    ("last_only", {"last_only": True}),
]
VALUE_SYMPTOMS = ("zero", "sign", "scaled", "transposed", "parts", "swapped_parts", "other")


def replay(a, before, *, extra=0, reset=False, unchain=True, cleargrads=True, last_only=False,
           update_first=False):
    """``BPTTUpdater.update``'s steps, window after window, on the CPU: [{"loss": the window's
    summed loss, "grads": {name: gradient or None}}, ...]. Window ``w`` starts from the weights
    ``before[w]`` ({name: array}; None: the replay's own), written in place as an optimizer
    would. The keywords make one of the usual mistakes on purpose (see ``MISTAKES``)."""
    model, optimizer, iterator = training_setup(a, LR_WINDOWS)
    steps = a["bprop_len"] + extra
    out = []
    for w in range(a["windows"]):
        if before[w] is not None:
            for name, p in model.namedparams():
                p.array[...] = before[w][name]
        if reset:
            model.reset_state()
        loss = 0
        for _ in range(steps):
            x, t = concat_examples(next(iterator))
            step = model(x, t)
            loss = step if last_only else loss + step
        if update_first:
            optimizer.update()
        if cleargrads:
            model.cleargrads()
        loss.backward()
        if unchain:
            loss.unchain_backward()
        if not update_first:
            optimizer.update()
        out.append({"loss": float(loss.array),
                    "grads": {name: _copy(p.grad) for name, p in model.namedparams()}})
    return out


def _same_grads(got, want):
    """The learner's gradients of one window ({name: Received or None}) equal ``want``'s."""
    if not isinstance(got, dict):
        return False
    for name, q in want.items():
        g = host(got.get(name))
        if q is None:
            if g is not None and (not isinstance(g, numpy.ndarray) or g.any()):
                return False
        elif not isinstance(g, numpy.ndarray) or not _close(g, q):
            return False
    return True


def _readable(params, names, shapes):
    """The learner's weights after a window as {name: NumPy array}, or None when unreadable."""
    if not isinstance(params, dict) or set(params) != set(names):
        return None
    out = {}
    for name in names:
        v = params[name]
        if not isinstance(v, Received) or tuple(v.shape) != shapes[name] or v.dtype.kind != "f":
            return None
        out[name] = host(v)
    return out


@register
class Windows(Check):
    """``train_window`` against rnnviz's ``BPTTUpdater`` on one small model: the mean loss, every
    gradient and every weight after each window."""

    name = "truncated_bptt.windows"
    learner = ("train_window",)
    parts = {"loss": 1, "gradients": 1, "history": 1, "update": 1}

    def inputs(self, seed, n_vocab, batch, bprop_len, windows=3):
        words = numpy.random.default_rng(seed).integers(0, n_vocab, 400).astype(numpy.int32)
        params = {name: p.array for name, p in small_model(n_vocab, seed).namedparams()}
        return {"words": words, "params": params, "n_vocab": int(n_vocab), "batch": int(batch),
                "bprop_len": int(bprop_len), "windows": int(windows)}

    def run(self, train_window, inputs, xp):
        a, device = inputs, _device_name(xp)
        model, opt, it = training_setup(a, LR_WINDOWS, device)
        losses, grads, params = [], [], []
        for _ in range(a["windows"]):
            loss = train_window(model, opt, it, a["bprop_len"], device)
            losses.append(loss if isinstance(loss, (float, int, type(None))) else
                          {"type": type(loss).__name__})
            grads.append({name: _copy(p.grad) for name, p in model.namedparams()})
            params.append({name: _copy(p.array) for name, p in model.namedparams()})
        return {"losses": losses, "grads": grads, "params": params}

    def explain(self, error):
        return explain_gpu_mix(error, "window")

    def judge(self, inputs, got, run):
        dev, a = run.device, inputs
        windows, bprop_len = a["windows"], a["bprop_len"]
        losses, grads, params = got.get("losses"), got.get("grads"), got.get("params")
        assert all(isinstance(x, list) and len(x) == windows for x in (losses, grads, params)), (
            say("windows_shape", windows=windows))
        initial = {name: host(v) for name, v in a["params"].items()}
        names = list(initial)
        shapes = {name: tuple(v.shape) for name, v in initial.items()}
        after = [_readable(p, names, shapes) for p in params]
        # each window replayed from the weights the learner's model had before it
        before = [initial] + after[:-1]
        ref = replay(a, before)
        diagnosis = self._diagnose(a, before, grads, ref)

        with part("loss"):
            self._judge_losses(a, losses, ref, diagnosis)
        first_right = True
        for w in range(windows):
            with part("gradients" if w == 0 else "history"):
                try:
                    self._judge_grads(w, grads[w], ref[w]["grads"], dev, diagnosis, first_right)
                except AssertionError:
                    first_right = first_right and w > 0
                    raise
        with part("update"):
            for w in range(windows):
                self._judge_update(w, before[w], after[w], params[w], grads[w], ref[w]["grads"], dev)

    # -- the parts --------------------------------------------------------------------------------

    def _diagnose(self, a, before, grads, ref):
        """(hint, replay) of the usual mistake whose gradients the learner's are, or None (also when
        the learner's are the reference's)."""
        if all(_same_grads(g, r["grads"]) for g, r in zip(grads, ref)):
            return None
        for key, change in MISTAKES:
            steps = a["bprop_len"] + change.get("extra", 0)
            if steps < 1 or (change.get("last_only") and steps == 1):   # no window, or no change
                continue
            other = replay(a, before, **change)
            if all(_same_grads(g, r["grads"]) for g, r in zip(grads, other)):
                return say(f"mistake.{key}"), other
        return None

    def _judge_losses(self, a, losses, ref, diagnosis):
        bprop_len, batch = a["bprop_len"], a["batch"]
        for w, loss in enumerate(losses):
            kind = loss["type"] if isinstance(loss, dict) and isinstance(loss.get("type"), str) \
                else type(loss).__name__
            assert isinstance(loss, float), say("loss_float", kind=say("a_type", type=kind))
            want = ref[w]["loss"] / bprop_len
            if _near(loss, want):
                continue
            if diagnosis is not None and _near(loss, diagnosis[1][w]["loss"] / bprop_len):
                hint = diagnosis[0]
            elif bprop_len > 1 and _near(loss, want * bprop_len):
                hint = say("loss_times")
            elif bprop_len > 1 and _near(loss, want / bprop_len):
                hint = say("loss_twice")
            elif batch > 1 and _near(loss, want / batch):
                hint = say("loss_batch")
            elif w > 0:   # the earlier windows' losses were right
                hint = say("loss_later")
            else:
                hint = say("loss_plain")
            error = f"{abs(loss - want) / max(1.0, abs(want)):.2g}"
            raise AssertionError(f"{say('loss_wrong', w=w + 1, error=error)}\n  {usual(hint)}")

    def _judge_grads(self, w, got_grads, want, dev, diagnosis, first_right):
        assert isinstance(got_grads, dict), say("grads_unread", w=w + 1)
        if diagnosis is not None:
            fallback = diagnosis[0]
        elif w == 0:
            fallback = say("grads_first")
        elif first_right:
            fallback = say("grads_later")
        else:
            fallback = say("grads_first_too")
        mistakes = {s: fallback for s in VALUE_SYMPTOMS}
        mistakes["none"] = say("grads_none")
        for name, q in want.items():
            assert name in got_grads, say("no_param", w=w + 1, name=name)
            g = got_grads[name]
            if q is None:  # not used in this window (the lateral weight at a first step)
                assert g is None or (isinstance(g, Received) and not host(g).any()), (
                    f"{say('unused', w=w + 1, name=name)}\n  {usual(fallback)}")
                continue
            check_array(say("gradient_of", w=w + 1, name=name), g, q, device=dev,
                        rtol=RTOL, atol=ATOL, mistakes=mistakes)

    def _judge_update(self, w, before, after, got_params, got_grads, ref_grads, dev):
        assert before is not None and after is not None, say("params_unread", w=w + 1)
        for name, v in got_params.items():   # on the GPU run, CuPy arrays
            check_array(say("after_update", w=w + 1, name=name), v, after[name], device=dev)

        def stepped(grads):
            return {name: before[name] if host(grads.get(name)) is None else
                    (before[name] - numpy.float32(LR_WINDOWS) * host(grads[name])).astype(before[name].dtype)
                    for name in before}

        learner_grads = got_grads if isinstance(got_grads, dict) else {}
        expected = [stepped(learner_grads)]
        if all(host(learner_grads.get(n)) is None for n in before):   # cleared after the update
            expected.append(stepped(ref_grads))
        if any(all(_close(after[n], e[n]) for n in before) for e in expected):
            return
        unchanged = all(_close(after[n], before[n]) for n in before)
        twice = stepped({n: None if host(learner_grads.get(n)) is None else 2 * host(learner_grads[n])
                         for n in before})
        if unchanged:
            hint = say("not_changed", w=w + 1)
        elif all(_close(after[n], twice[n]) for n in before):
            hint = say("twice")
        else:
            hint = say("update")
        name = next(n for n in before if not any(_close(after[n], e[n]) for e in expected))
        check_array(say("after_update", w=w + 1, name=name), after[name], expected[0][name],
                    rtol=RTOL, atol=ATOL, mistakes={s: hint for s in VALUE_SYMPTOMS})
        raise AssertionError(f"{say('update_wrong', w=w + 1)}\n  {usual(hint)}")


@register
class LiveNodes(Check):
    """The live function nodes after each of ``windows`` windows never exceed the count after the
    first. The counts are measured in the learner's process (they exist only there)."""

    name = "truncated_bptt.live_nodes"
    learner = ("train_window",)
    parts = {"live nodes": 1}

    def inputs(self, windows=12, batch=4, bprop_len=8):
        words = numpy.random.default_rng(7).integers(0, 30, 2000).astype(numpy.int32)
        params = {name: p.array for name, p in small_model().namedparams()}
        return {"words": words, "params": params, "n_vocab": 30, "batch": int(batch),
                "bprop_len": int(bprop_len), "windows": int(windows)}

    def run(self, train_window, inputs, xp):
        a, device = inputs, _device_name(xp)
        model, opt, it = training_setup(a, LR_LIVE, device)
        counts = []
        for _ in range(a["windows"]):
            train_window(model, opt, it, a["bprop_len"], device)
            counts.append(live_function_node_count())
        return {"counts": counts}

    def explain(self, error):
        return explain_gpu_mix(error, "window")

    def judge(self, inputs, got, run):
        windows = inputs["windows"]
        counts = got.get("counts")
        with part("live nodes"):
            assert (isinstance(counts, list) and len(counts) == windows
                    and all(type(c) is int and c >= 0 for c in counts)), say("counts", windows=windows)
            assert max(counts) <= counts[0], say("grew", first=counts[0], most=max(counts), windows=windows)


# -- 2. the language model -------------------------------------------------------------------------

def describe_model(model):
    """A trained ``L.Classifier(L.RNNLM(...))`` as plain data (in the learner's process): its cell
    type, number of layers, dropout and every named parameter; anything else as its type."""
    predictor = getattr(model, "predictor", None) if isinstance(model, L.Classifier) else None
    if not isinstance(predictor, L.RNNLM):
        inner = f"({type(predictor).__name__})" if isinstance(model, L.Classifier) else ""
        return {"type": f"{type(model).__name__}{inner}"}
    layers = [getattr(predictor, n, None) for n in getattr(predictor, "recurrent_names", [])]
    cell = ("lstm" if layers and all(type(x) is LSTM for x in layers) else
            "rnn" if layers and all(type(x) is RNN for x in layers) else "other")
    return {"type": "Classifier(RNNLM)", "cell": cell, "n_layers": len(layers),
            "dropout": float(getattr(predictor, "dropout", 0.0) or 0.0),
            "params": {name: p.array for name, p in model.namedparams()}}


def rnnlm_shapes(n_vocab, n_embed, n_hidden, n_layers, cell):
    """{name: shape} of ``L.Classifier(L.RNNLM(n_vocab, n_embed, n_hidden, n_layers, cell))``'s
    parameters, computed without building it."""
    gates = 4 if cell == "lstm" else 1
    shapes = {"/predictor/embed/W": (n_vocab, n_embed), "/predictor/out/W": (n_vocab, n_hidden),
              "/predictor/out/b": (n_vocab,)}
    sizes = [n_embed] + [n_hidden] * n_layers
    for k in range(n_layers):
        layer = "mid" if n_layers == 1 else f"mid{k + 1}"
        shapes[f"/predictor/{layer}/upward/W"] = (gates * n_hidden, sizes[k])
        shapes[f"/predictor/{layer}/upward/b"] = (gates * n_hidden,)
        shapes[f"/predictor/{layer}/lateral/W"] = (gates * n_hidden, n_hidden)
    return shapes


def rebuild_model(sent, n_vocab):
    """The learner's trained model rebuilt in the grader (on the CPU) from ``describe_model``'s
    data, every parameter shape-checked; AssertionError with what is wrong otherwise."""
    what = say("return_model")
    kind = sent.get("type") if isinstance(sent, dict) else None
    assert kind == "Classifier(RNNLM)", (
        say("model_kind", what=what, got=say("code", code=kind) if isinstance(kind, str) else _kind(sent)))
    cell, n_layers, dropout = sent.get("cell"), sent.get("n_layers"), sent.get("dropout", 0.0)
    params = sent.get("params")
    assert cell in ("lstm", "rnn") and type(n_layers) is int and 1 <= n_layers <= 64, say("model_cell", what=what)
    assert isinstance(params, dict) and all(isinstance(v, Received) for v in params.values()), (
        say("model_params", what=what))
    embed, out = params.get("/predictor/embed/W"), params.get("/predictor/out/W")
    assert embed is not None and out is not None and len(embed.shape) == 2 and len(out.shape) == 2, (
        say("model_layer", what=what))
    assert embed.shape[0] == n_vocab, say("model_vocab", got=embed.shape[0], want=n_vocab)
    shapes = rnnlm_shapes(n_vocab, embed.shape[1], out.shape[1], n_layers, cell)
    for name in sorted(set(shapes) | set(params)):
        assert name in shapes and name in params, (
            say("model_extra" if name in params else "model_lacks", what=what, name=name))
        config = (f"{n_vocab}, {embed.shape[1]}, {out.shape[1]}"
                  + (f", n_layers={n_layers}" if n_layers > 1 else "")
                  + (f", cell={cell!r}" if cell != "lstm" else ""))
        assert tuple(params[name].shape) == shapes[name], (
            say("param_shape", name=name, got=tuple(params[name].shape), want=shapes[name], config=config))
    dropout = dropout if isinstance(dropout, float) and 0.0 <= dropout < 1.0 else 0.0
    model = L.Classifier(L.RNNLM(n_vocab, embed.shape[1], out.shape[1], n_layers, cell, dropout))
    for name, p in model.namedparams():
        assert tuple(p.array.shape) == tuple(params[name].shape), say("shape_of", name=name)
        p.array = numpy.array(host(params[name]), dtype=p.array.dtype)
    return model


def check_model_device(sent, device):
    """The returned model's parameters are on the run's device (CuPy on the GPU run)."""
    origins = {v.origin for v in sent["params"].values()}
    if device.name == "gpu":
        assert origins == {"cupy"}, say("not_on_gpu")
    else:
        assert origins == {"numpy"}, say("on_gpu")


@register
class LanguageModel(Check):
    """Train on the shipped corpus (500 words) within ``budget_s`` s of CPU time and reach a
    validation perplexity below ``TARGET``. The CPU time is the whole kernel's (every thread and
    child process), measured by the grader around the call. NumPy's BLAS runs on one thread
    meanwhile: faster for matrices this small, and the CPU time then measures work, not waiting.

    The training words are loaded in the kernel (see the module's docstring): only the sizes and
    budgets are sent. The GPU check (CuPy, or the stand-in) calls it again with ``device="gpu"`` and
    ``GPU_SHARE`` of the budget, and asks for a perplexity below ``GPU_TARGET``: the stand-in's
    overhead makes fewer windows fit in a budget, so the CPU target would not be fair there; the
    GPU check is about the model and data on the GPU and a training loop that runs."""

    name = "truncated_bptt.language_model"
    learner = ("train_language_model",)
    measures_cpu = True
    parts = {"model": 1, "budget": 1, "perplexity": 2}
    TARGET = 60.0                  # the perplexity to beat: fixed here, never sent to the kernel
    N_VOCAB = 500
    GPU_SHARE = 0.5                # the share of the budget the GPU check trains for
    GPU_TARGET = N_VOCAB / 2       # half a uniform guess's perplexity: the model learned something
    SLACK_S = 1.0                  # CPU seconds allowed over the budget

    def inputs(self, budget_s=2.0, target=60.0):
        if target != self.TARGET:
            raise ValueError(f"{self.name}: the target perplexity is fixed by the check at "
                             f"{self.TARGET} (the learner's process never receives it), got {target}")
        return {"n_vocab": self.N_VOCAB, "budget_s": float(budget_s),
                "gpu_budget_s": float(budget_s) * self.GPU_SHARE}

    def run(self, train_language_model, inputs, xp):
        from threadpoolctl import threadpool_limits

        device = _device_name(xp)
        budget_s = inputs["budget_s"] if device == "cpu" else inputs["gpu_budget_s"]
        with threadpool_limits(limits=1):
            train, _, _ = get_kjv_words(vocab_size=inputs["n_vocab"])
            model = train_language_model(train, inputs["n_vocab"], budget_s, device)
        return {"model": describe_model(model)}

    def warm_up(self, xp):
        """Two windows of a small language model of the kit's own on the GPU with each of the
        usual optimizers and gradient clipping, and a perplexity: CuPy compiles the kernels a
        learner's training runs (seconds of CPU time on a fresh process, measured on an H200:
        the solution took 15 s for its 1 s budget) before the budget's clock starts."""
        words = numpy.arange(2 * self.N_VOCAB, dtype=numpy.int32) % self.N_VOCAB
        for optimizer in (optimizers.SGD(lr=0.1), optimizers.MomentumSGD(lr=0.1), optimizers.Adam()):
            model = L.Classifier(L.RNNLM(self.N_VOCAB, 8, 8))
            model.to_device("gpu")
            optimizer.setup(model)
            optimizer.add_hook(optimizers.GradientClipping(5.0))
            iterator = ParallelSequentialIterator(words, 4)
            for _ in range(2):
                loss = 0
                for _ in range(3):
                    x, t = concat_examples(next(iterator))
                    loss += model(xp.asarray(x), xp.asarray(t))
                model.cleargrads()
                loss.backward()
                loss.unchain_backward()
                optimizer.update()
                float(loss.array)
        evaluate_perplexity(model, words[:40], batch_size=4, device="gpu")

    def judge(self, inputs, got, run):
        gpu = run.device.name == "gpu"
        n_vocab = inputs["n_vocab"]
        budget_s = inputs["gpu_budget_s"] if gpu else inputs["budget_s"]
        target = self.GPU_TARGET if gpu else self.TARGET
        spent = run.cpu_seconds
        assert spent is not None, say("not_measured")
        within = spent <= budget_s + self.SLACK_S
        with part("budget"):
            assert within, (f"{say('budget', spent=f'{spent:.1f}', budget=f'{budget_s:g}', slack=f'{self.SLACK_S:g}')}"
                            f"\n  {usual(say('budget_hint'))}")
        model = None
        with part("model"):
            sent = got.get("model")
            model = rebuild_model(sent, n_vocab)
            check_model_device(sent, run.device)
        with part("perplexity"):
            assert within, say("over_budget")
            assert model is not None, say("no_model", what=say("return_model"))
            _, valid, _ = get_kjv_words(vocab_size=self.N_VOCAB)
            ppl = evaluate_perplexity(model, valid[:2000], batch_size=20)
            assert ppl < target, self.perplexity_message(ppl, target, n_vocab, gpu)

    @staticmethod
    def perplexity_message(ppl, target, n_vocab, gpu):
        where = say("gpu_where", target=f"{target:g}") if gpu else ""
        text = say("ppl", ppl=f"{ppl:.3g}", target=f"{target:g}", where=where)
        if not math.isfinite(ppl) or ppl > 2 * n_vocab:
            hint = say("ppl_diverged", diverged=say("diverged"), n=n_vocab)
        elif ppl >= n_vocab / 2:
            hint = say("ppl_untrained", n=n_vocab)
        else:
            hint = say("ppl_tune")
        return f"{text}\n  {usual(hint)}"

    def explain(self, error):
        if error.get("type") == "ProtocolError":
            return say("too_large")
        if error.get("type") == "FloatingPointError":
            return usual(say("diverged"))
        return explain_gpu_mix(error, "model")
