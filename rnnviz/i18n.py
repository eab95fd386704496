"""The words the widgets and figures show, in English and Japanese, in one place.

    from rnnviz import i18n
    i18n.set_language("ja")          # or rnnviz.widgets.set_language("ja")
    i18n.tr("hidden.title")          # -> '隠れ状態 h_t（色 = 活性値）'

Which language: ``set_language()`` when it was called; otherwise ``$RNNVIZ_LANG``; otherwise the
kernel's working folder: a notebook in a folder named ``ja`` (the Japanese course, ``course/ja/``)
gets Japanese, anything else English. The Japanese lessons therefore run the very same code as the
English ones.

Figures need a font with Japanese glyphs. The one shipped by the ``japanize-matplotlib`` wheel
(IPAexGothic, IPA Font License) is registered from its file (the module itself is not imported: it
relies on distutils), else a Japanese font the system has (Noto Sans CJK JP, IPAGothic, ...).
With none, figure words fall back to English and one line says so; widget controls and messages
(drawn by the browser, which has its own fonts) stay Japanese.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from pathlib import Path

LANGUAGES = ("en", "ja")

# key -> {"en": ..., "ja": ...}; str.format fields in braces. English is what the widgets showed
# before they spoke Japanese; keep both columns saying the same thing.
STRINGS: dict[str, dict[str, str]] = {
    # -- every widget --------------------------------------------------------------------------
    "widget.failed": {
        "en": "{who}: could not run the model: {error}",
        "ja": "{who}: モデルを実行できませんでした: {error}"},
    "widget.failed_short": {
        "en": "could not run the model: see the message above",
        "ja": "モデルを実行できませんでした（上のメッセージを参照）"},
    "widget.out_of_memory": {
        "en": "{who}: ran out of memory ({error}); try fewer steps (a shorter xs) or a smaller batch",
        "ja": "{who}: メモリが足りません（{error}）。時刻の数（xs の長さ）かバッチを減らしてください"},
    "widget.out_of_memory_short": {
        "en": "out of memory: see the message above",
        "ja": "メモリ不足です（上のメッセージを参照）"},
    "widget.nothing": {
        "en": "nothing to show: see the message above",
        "ja": "表示するものがありません（上のメッセージを参照）"},
    # -- GraphView ------------------------------------------------------------------------------
    "graph.show": {"en": "show", "ja": "表示"},
    "graph.colour": {"en": "colour", "ja": "色"},
    "graph.node": {"en": "node", "ja": "ノード"},
    "graph.grouped": {"en": "grouped by link", "ja": "リンクごとにまとめる"},
    "graph.every": {"en": "every function", "ja": "すべての関数"},
    "graph.values": {"en": "values", "ja": "値"},
    "graph.gradients": {"en": "gradients", "ja": "勾配"},
    "graph.none": {"en": "(none)", "ja": "（なし）"},
    "graph.row_loss_sum": {"en": "loss sum", "ja": "損失の和"},
    "graph.row_recurrent": {"en": "{link}\n(recurrent)", "ja": "{link}\n（再帰）"},
    "graph.row_loss": {"en": "{link}\n(loss)", "ja": "{link}\n（損失）"},
    "graph.row_functions": {"en": "{names}\n(no link)", "ja": "{names}\n（リンク外）"},
    "graph.title": {
        "en": "graph of {functions} functions, {variables} variables — showing {shown} nodes",
        "ja": "関数 {functions} 個・変数 {variables} 個のグラフ（{shown} ノードを表示）"},
    "graph.sampled": {
        "en": "showing the last {shown} of {total} nodes (nearest the output); "
              "{left_out} earlier nodes are left out",
        "ja": "全 {total} 個のノードのうち出力に近い最後の {shown} 個を表示しています"
              "（それより前の {left_out} 個は省略）"},
    "graph.too_many": {
        "en": "{n} nodes are too many to draw one by one: grouped by link",
        "ja": "ノードが {n} 個あり、ひとつずつ描くには多すぎるため、リンクごとにまとめました"},
    "graph.cuts": {
        "en": "{n} variable(s) with cut history (✂)",
        "ja": "履歴が切断された変数: {n} 個（✂）"},
    "graph.group_info": {
        "en": "<b>{label}</b> (link <code>{link}</code>) at step {step}: {members} nodes grouped; "
              "choose 'every function' to expand",
        "ja": "<b>{label}</b>（リンク <code>{link}</code>、時刻 {step}）: {members} 個のノードを"
              "まとめて表示しています。「すべての関数」を選ぶと展開されます"},
    # the node panel under the menu (one line each; a function's or link box's numbers are those of
    # the variable it outputs, so they say "output")
    "graph.info.variable": {"en": "{label} (variable)", "ja": "{label}（変数）"},
    "graph.info.param": {"en": "{label} (parameter)", "ja": "{label}（パラメータ）"},
    "graph.info.function": {"en": "{label} (function)", "ja": "{label}（関数）"},
    "graph.info.shape": {"en": "shape {shape} {dtype}", "ja": "形 {shape}、型 {dtype}"},
    "graph.info.shape_only": {"en": "shape {shape}", "ja": "形 {shape}"},
    "graph.info.output_shape": {"en": "output shape {shape} {dtype}", "ja": "出力の形 {shape}、型 {dtype}"},
    "graph.info.output_shape_only": {"en": "output shape {shape}", "ja": "出力の形 {shape}"},
    "graph.info.link": {"en": "link {link}", "ja": "リンク {link}"},
    "graph.info.step": {"en": "step {step}", "ja": "時刻 {step}"},
    "graph.info.step_inferred": {"en": "step {step} (inferred from its neighbours)",
                                 "ja": "時刻 {step}（隣のノードから推定）"},
    "graph.info.cut": {"en": "history cut here (unchain)", "ja": "ここで履歴が切断されています（unchain）"},
    "graph.info.value": {"en": "value: {stats}", "ja": "値: {stats}"},
    "graph.info.output_value": {"en": "output value: {stats}", "ja": "出力の値: {stats}"},
    "graph.info.grad": {"en": "grad: {stats}", "ja": "勾配: {stats}"},
    "graph.info.output_grad": {"en": "output grad: {stats}", "ja": "出力の勾配: {stats}"},
    "graph.info.no_grad": {"en": "grad: none", "ja": "勾配: なし"},
    "graph.info.stats": {"en": "min {min:.4g}, max {max:.4g}, mean {mean:.4g}, |.|₂ {norm:.4g}",
                         "ja": "最小 {min:.4g}、最大 {max:.4g}、平均 {mean:.4g}、|.|₂ {norm:.4g}"},
    "graph.bad_variable": {
        "en": "GraphView: expected an rnnviz Variable (e.g. a loss), got {got}",
        "ja": "GraphView: rnnviz の Variable（損失など）を渡してください（渡されたもの: {got}）"},
    "graph.bad_mode": {"en": "GraphView: mode must be 'values' or 'gradients', got {got}",
                       "ja": "GraphView: mode は 'values' か 'gradients' にしてください（渡されたもの: {got}）"},
    "graph.bad_max_nodes": {"en": "GraphView: max_nodes must be an int >= 1, got {got}",
                            "ja": "GraphView: max_nodes は 1 以上の整数にしてください（渡されたもの: {got}）"},
    "graph.bad_layout": {"en": "GraphView: layout must be 'auto', 'unrolled' or 'layered', got {got}",
                         "ja": "GraphView: layout は 'auto'、'unrolled'、'layered' のどれかにしてください"
                               "（渡されたもの: {got}）"},
    "graph.bad_depth": {"en": "GraphView: depth must be an int >= 1 or None, got {got}",
                        "ja": "GraphView: depth は 1 以上の整数か None にしてください（渡されたもの: {got}）"},
    # -- GraphPlot (viz) -----------------------------------------------------------------------
    "plot.function": {"en": "function", "ja": "関数"},
    "plot.group": {"en": "link (grouped functions)", "ja": "リンク（関数をまとめたもの）"},
    "plot.variable": {"en": "variable", "ja": "変数"},
    "plot.param": {"en": "parameter", "ja": "パラメータ"},
    "plot.cut": {"en": "✂ cut: history removed", "ja": "✂ 切断: 履歴を削除"},
    "plot.value_norm": {"en": "|value| (L2)", "ja": "|値|（L2）"},
    "plot.grad_norm": {"en": "|grad| (L2, log)", "ja": "|勾配|（L2、対数）"},
    # -- HiddenStateAnimator and HiddenStateView -----------------------------------------------
    "hidden.play": {"en": "play", "ja": "再生"},
    "hidden.slider": {"en": "time step t", "ja": "時刻 t"},
    "hidden.graph_title": {"en": "the unrolled graph so far", "ja": "ここまでに展開されたグラフ"},
    "hidden.caption": {
        "en": "t = {t}:  input '{word}'  →  predicted next word '{pred}'  (p = {p:.2f})",
        "ja": "t = {t}:  入力「{word}」  →  予測した次の単語「{pred}」（p = {p:.2f}）"},
    "hidden.unit_axis": {"en": "hidden unit", "ja": "隠れユニット"},
    "hidden.title": {"en": "hidden state h_t (colour = activation)", "ja": "隠れ状態 h_t（色 = 活性値）"},
    "hidden.unit": {"en": "unit {u}", "ja": "ユニット {u}"},
    "hidden.activation": {"en": "activation", "ja": "活性値"},
    "hidden.input_word": {"en": "input word at step t", "ja": "時刻 t の入力単語"},
    "hidden.units_outside": {
        "en": "units {outside} are not in 0..{last} (the hidden size is {H}): not drawn",
        "ja": "ユニット {outside} は 0..{last} の範囲外です（隠れ状態の大きさは {H}）。描画しません"},
    "hidden.time": {"en": "time step t", "ja": "時刻 t"},
    # -- UnchainExplorer and UnchainView -------------------------------------------------------
    "unchain.length": {"en": "length", "ja": "長さ"},
    "unchain.too_long": {
        "en": "bprop_len={b} is longer than the sequence ({T} steps): using {T} (no cut inside the sequence)",
        "ja": "bprop_len={b} が系列（{T} ステップ）より長いので {T} を使います（系列の途中では切断しません）"},
    "unchain.length_outside": {
        "en": "length={n} is outside 1..{T}: using {T}",
        "ja": "length={n} が 1..{T} の範囲外なので {T} を使います"},
    "unchain.summary": {
        "en": "now: {live} live function nodes, {kib:.1f} KiB held; {alive} step(s) alive, {freed} freed",
        "ja": "現在: 残っている関数ノード {live} 個、保持 {kib:.1f} KiB／履歴が残っているステップ {alive} 個、"
              "解放済みのステップ {freed} 個"},
    "unchain.title": {
        "en": "truncated BPTT, bprop_len={b}: the state after the forward of step {step} (before its backward)",
        "ja": "Truncated BPTT（bprop_len={b}）: 時刻 {step} の順伝播の直後（逆伝播の前）の状態"},
    "unchain.alive": {"en": "alive: function nodes still in memory", "ja": "残存: 関数ノードがまだメモリ上にある"},
    "unchain.freed": {"en": "freed by unchain_backward()", "ja": "unchain_backward() で解放済み"},
    "unchain.not_run": {"en": "not run yet", "ja": "まだ実行していない"},
    "unchain.cut": {"en": "✂ cut by loss.unchain_backward()", "ja": "✂ loss.unchain_backward() による切断"},
    "unchain.count": {"en": "n: live function nodes of that step", "ja": "n: そのステップの残存関数ノード数"},
    "unchain.live": {"en": "live function nodes", "ja": "残っている関数ノード数"},
    "unchain.time_axis": {
        "en": "after the forward of step t (before its backward and cut)",
        "ja": "時刻 t の順伝播の直後（逆伝播と切断の前）"},
    "unchain.bytes": {
        "en": "KiB held: arrays the live nodes keep for backward (right axis)",
        "ja": "保持 KiB: 残っているノードが逆伝播用に持つ配列（右軸）"},
    "unchain.live_legend": {"en": "live function nodes (left axis)", "ja": "残っている関数ノード数（左軸）"},
    "unchain.kib": {"en": "KiB held by live nodes", "ja": "残っているノードが保持する KiB"},
    # -- BPTTComparison, GradientFlowView, TruncationView --------------------------------------
    "bptt.scale": {"en": "W_h scale", "ja": "W_h の倍率"},
    "bptt.outside": {
        "en": "bprop_len values outside 1..{T} (the sequence length) were left out",
        "ja": "1..{T}（系列の長さ）の範囲外の bprop_len は除きました"},
    "bptt.too_long": {
        "en": "bprop_len={b} is longer than the sequence ({T} steps): using {T}",
        "ja": "bprop_len={b} が系列（{T} ステップ）より長いので {T} を使います"},
    "bptt.title": {
        "en": "W_h × {scale:g}: each point a mean over {offsets} placements of the cuts, batch of {batch}\n"
              "grey: the pairs bprop_len={b} drops when it cuts before steps 0, {b}, {b2}, ...",
        "ja": "W_h × {scale:g}: 各点は切断位置 {offsets} 通りの平均（バッチ {batch} 系列）\n"
              "灰色: bprop_len={b} で時刻 0, {b}, {b2}, ... の前を切ると伝わらない組"},
    "bptt.title_all": {
        "en": "W_h × {scale:g}: each point a mean over the placements of the cuts, batch of {batch}\n"
              "bprop_len={b} spans all {T} steps: no pair is dropped",
        "ja": "W_h × {scale:g}: 各点は切断位置ごとの平均（バッチ {batch} 系列）\n"
              "bprop_len={b} は全 {T} ステップを覆うので、落ちる組はない"},
    "bptt.flow_title": {"en": "gradient flow ||dL_t / d({state})||", "ja": "勾配の流れ ||dL_t / d({state})||"},
    "bptt.flow_x": {"en": "s (state {state})", "ja": "s（状態 {state}）"},
    "bptt.all": {"en": "all parameters", "ja": "全パラメータ"},
    "bptt.readout": {
        "en": "bprop_len={b}: all parameters: cosine {cos:.2f}, relative error {err:.2f}",
        "ja": "bprop_len={b}（全パラメータ）\nコサイン類似度 {cos:.2f}、相対誤差 {err:.2f}"},
    "flow.x": {"en": "s (hidden state h_s)", "ja": "s（隠れ状態 h_s）"},
    "flow.y": {"en": "t (loss L_t)", "ja": "t（損失 L_t）"},
    "flow.title": {"en": "gradient flow ||dL_t / dh_s||", "ja": "勾配の流れ ||dL_t / dh_s||"},
    "compare.cos": {"en": "cosine(truncated, full)", "ja": "コサイン類似度（打ち切り, 完全）"},
    "compare.title": {
        "en": "truncated vs full gradient, per parameter",
        "ja": "打ち切った勾配と完全な勾配（パラメータごと）"},
    "compare.err": {"en": "relative error", "ja": "相対誤差"},
    "compare.x": {"en": "bprop_len (steps between cuts)", "ja": "bprop_len（切断の間隔、ステップ数）"},
    "compare.readout": {
        "en": "bprop_len={b}: lowest cosine {cos:.3f} ({name})",
        "ja": "bprop_len={b}: コサイン類似度の最小値 {cos:.3f}（{name}）"},
    "compare.readout_lowest": {
        "en": "lowest cosine {cos:.3f} ({name})",
        "ja": "コサイン類似度の最小値 {cos:.3f}（{name}）"},
    # -- AttentionView and AttentionMap ---------------------------------------------------------
    "attention.example": {"en": "example", "ja": "例"},
    "attention.source": {"en": "source", "ja": "入力"},
    "attention.source_axis": {"en": "source token s", "ja": "入力トークン s"},
    "attention.output_axis": {"en": "generated token t", "ja": "生成したトークン t"},
    "attention.weight": {"en": "attention weight a_ts", "ja": "注意の重み a_ts"},
    "attention.caption": {"en": "input {source}  →  output {output}",
                          "ja": "入力 {source}  →  出力 {output}"},
    "attention.not_callable": {
        "en": "{who}: expected a model with a translate(source) method, or such a callable; got {got}",
        "ja": "{who}: translate(source) メソッドを持つモデル、またはその関数を渡してください（渡されたもの: {got}）"},
    "attention.bad_examples": {
        "en": "{who}: examples must be a list of 1-D arrays of token ids from the vocabulary",
        "ja": "{who}: examples は語彙のトークン ID を並べた 1 次元配列のリストにしてください"},
    "attention.unknown": {
        "en": "{who}: '{char}' is not a token of the vocabulary ({known})",
        "ja": "{who}: 「{char}」は語彙（{known}）のトークンではありません"},
    "attention.empty": {
        "en": "{who}: type a source, e.g. 31415",
        "ja": "{who}: 入力を打ち込んでください（例: 31415）"},
    "attention.protocol": {
        "en": "{who}: translate(source) must return (output ids, weights), got a {got}",
        "ja": "{who}: translate(source) は（出力の ID, 重み）の組を返す必要があります（返ってきたもの: {got}）"},
    "attention.no_weights": {
        "en": "{who}: this model returned no attention weights (None): it has no attention to show",
        "ja": "{who}: このモデルは注意の重みを返しません（None）。表示できる注意がありません"},
    "attention.shape": {
        "en": "{who}: the weights have shape {got}, expected ({T}, {S}): (output length, source length)",
        "ja": "{who}: 重みの形が {got} です。（出力の長さ, 入力の長さ）= ({T}, {S}) が必要です"},
    "attention.no_output": {
        "en": "{who}: the model generated no token",
        "ja": "{who}: モデルがトークンを一つも生成しませんでした"},
    # -- GradientNormExplorer and GradientNormView ----------------------------------------------
    "explode.radius": {"en": "ρ(W_h)", "ja": "半径 ρ(W_h)"},
    "explode.clip": {"en": "clipping", "ja": "クリッピング"},
    "explode.none": {"en": "none", "ja": "なし"},
    "explode.norm_mode": {"en": "norm", "ja": "ノルム"},
    "explode.value_mode": {"en": "value", "ja": "値"},
    "explode.threshold": {"en": "threshold", "ja": "しきい値"},
    "explode.loss": {"en": "loss", "ja": "損失"},
    "explode.loss_title": {"en": "loss per update", "ja": "更新ごとの損失"},
    "explode.chance": {"en": "chance (log 4)", "ja": "チャンスレベル（log 4）"},
    "explode.norm": {"en": "gradient norm (log)", "ja": "勾配のノルム（対数）"},
    "explode.update": {"en": "update", "ja": "更新回数"},
    "explode.norm_computed": {"en": "||g|| from backward()", "ja": "backward() が出した ||g||"},
    "explode.norm_applied": {"en": "||g|| applied", "ja": "適用した ||g||"},
    "explode.max_element": {"en": "largest |g_i|", "ja": "最大の |g_i|"},
    "explode.bound_norm": {"en": "norm threshold {c:g}", "ja": "ノルムのしきい値 {c:g}"},
    "explode.bound_value": {"en": "bound on each |g_i|: {c:g}", "ja": "各 |g_i| の上限 {c:g}"},
    "explode.jac_title": {"en": "||dh_T / dh_(T-k)|| before training",
                          "ja": "||dh_T / dh_(T-k)||（学習前）"},
    "explode.jac_x": {"en": "k (steps back)", "ja": "k（さかのぼるステップ数）"},
    "explode.jac_tanh": {"en": "tanh RNN (measured)", "ja": "tanh RNN（実測）"},
    "explode.jac_linear": {"en": "without tanh: W_h^k", "ja": "tanh なし: W_h^k"},
    "explode.title": {
        "en": "ρ(W_h) = {radius:g}, {clip}: final loss {loss:.2f}, largest ||g|| {big:.3g}\n"
              "per step back the product grows × {tanh:.2f} (without tanh × {linear:.2f})",
        "ja": "ρ(W_h) = {radius:g}、{clip}: 最終損失 {loss:.2f}、最大の ||g|| {big:.3g}\n"
              "1 ステップさかのぼるごとに積は × {tanh:.2f}（tanh なしでは × {linear:.2f}）"},
    "explode.title_stopped": {
        "en": "ρ(W_h) = {radius:g}, {clip}: the gradient became NaN/inf at update {u}; the run stopped",
        "ja": "ρ(W_h) = {radius:g}、{clip}: 更新 {u} で勾配が NaN/inf になり、学習が止まりました"},
    "explode.clip_none": {"en": "no clipping", "ja": "クリッピングなし"},
    "explode.clip_norm": {"en": "norm clipped at {c:g}", "ja": "ノルムを {c:g} でクリップ"},
    "explode.clip_value": {"en": "values clipped to ±{c:g}", "ja": "値を ±{c:g} にクリップ"},
    # -- UnitTextView and ConnectivityView (lesson 10) -----------------------------------------
    "units.unit": {"en": "unit", "ja": "ユニット"},
    "units.feature": {"en": "find units for", "ja": "探す特徴"},
    "units.none": {"en": "(choose a feature)", "ja": "（特徴を選ぶ）"},
    "units.feature.space": {"en": "space", "ja": "空白"},
    "units.feature.verse end": {"en": "verse end", "ja": "節の終わり（改行）"},
    "units.feature.position in the word": {"en": "position in the word", "ja": "単語の中の位置"},
    "units.feature.position in the verse": {"en": "position in the verse", "ja": "節の中の位置"},
    "units.feature.inside 's": {"en": "inside 's", "ja": "所有格 's の中"},
    "units.title": {
        "en": "unit {u} of {state}: colour = its activation after reading each character",
        "ja": "{state} のユニット {u}: 色 = 各文字を読んだ直後の活性値"},
    "units.readout": {
        "en": "unit {u}: r = {r:.2f} with '{feature}' over {n} characters; strongest: {best}",
        "ja": "ユニット {u}: {n} 文字での「{feature}」との相関 r = {r:.2f}。相関の強い順: {best}"},
    "units.activation": {"en": "activation", "ja": "活性値"},
    "units.untrained": {
        "en": "no model given: an untrained character model is shown; pass your trained one",
        "ja": "モデルが渡されていないので、学習前の文字モデルを表示しています。学習済みのモデルを渡してください"},
    "units.outside": {"en": "unit={unit} is not in 0..{last}: showing unit 0",
                      "ja": "unit={unit} は 0..{last} の範囲外なので、ユニット 0 を表示します"},
    "conn.position": {"en": "position t", "ja": "位置 t"},
    "conn.outside": {"en": "t={t} is not in 0..{last}: showing t = {last}",
                     "ja": "t={t} は 0..{last} の範囲外なので、t = {last} を表示します"},
    "conn.full": {
        "en": "full BPTT: how much each character read moves log p('{next}' next) at t = {t}",
        "ja": "完全な BPTT: 各文字の入力が t = {t} の log p（次が「{next}」）をどれだけ動かすか"},
    "conn.truncated": {
        "en": "truncated BPTT, bprop_len={b}: the window holding t starts at step {start}",
        "ja": "Truncated BPTT（bprop_len={b}）: t を含む窓は時刻 {start} から"},
    "conn.colorbar": {"en": "n_s / largest n_s (log scale)", "ja": "n_s / n_s の最大値（対数目盛）"},
    "conn.readout": {
        "en": "t = {t}: {before:.0%} of the full connectivity (n_s summed) lies before step {start}, "
              "where truncation gives none",
        "ja": "t = {t}: 完全な BPTT の n_s の総和のうち {before:.0%} が時刻 {start} より前にあり、"
              "打ち切りではそこに勾配が届きません"},
    # -- the one-line note when figures cannot show Japanese -----------------------------------
    "font.missing": {
        "en": "rnnviz: no Japanese font for matplotlib, figure labels stay in English "
              "(pip install japanize-matplotlib)",
        "ja": "rnnviz: matplotlib 用の日本語フォントが見つからないため、図の文字は英語で表示します"
              "（pip install japanize-matplotlib で入ります）"},
}

# The comments (and one-line docstrings) of library code a lesson prints for the learner to read
# (rnnviz.utils.show_source), keyed by their English text after "# ": {english: {"ja": ...}}. A comment
# split over two lines is two entries, each line's Japanese ending where the line does.
SOURCE_COMMENTS: dict[str, dict[str, str]] = {
    # rnnviz.core.engine.run_backward (lesson 01, section 3)
    "Fill ``.grad`` of every leaf ``root`` depends on (``Variable.backward`` calls this).": {
        "ja": "``root`` が依存するすべての葉の ``.grad`` を埋める（``Variable.backward`` がこれを呼ぶ）。"},
    "id(variable) -> the sum of the gradients it got so far": {
        "ja": "id(変数) -> その変数がここまでに受け取った勾配の和"},
    "order: a fixed one within a generation": {
        "ja": "order: 同じ世代の中での順序（毎回同じになるように）"},
    "the newest node: all consumers of its outputs have run": {
        "ja": "最も新しいノード: その出力を使うノードはすべて処理済み"},
    "weak references: a dropped output is None": {
        "ja": "弱参照: 捨てられた出力は None になる"},
    "of several outputs, one that got no gradient gives zeros": {
        "ja": "出力が複数あるとき、勾配を受け取らなかった出力はゼロとして扱う"},
    "a leaf: add into .grad, an array of its own (gx may be": {
        "ja": "葉: .grad に足し込む（.grad はその変数専用の配列。gx は"},
    "another variable's, handed on as it is by Add)": {
        "ja": "Add がそのまま渡した、別の変数の配列かもしれない）"},
    "a computed variable: sum its gradients (never in place)": {
        "ja": "計算で作られた変数: 勾配を足し合わせる（その場では書き換えない）"},
}

# Japanese fonts a system may have, tried after the bundled one (matplotlib family names).
SYSTEM_CJK_FAMILIES = ("IPAexGothic", "IPAGothic", "Noto Sans CJK JP", "Noto Sans JP",
                       "Source Han Sans JP", "TakaoGothic", "VL Gothic", "Hiragino Sans",
                       "Yu Gothic", "Meiryo", "MS Gothic")
# a glyph every candidate must really have (a family name alone can lie)
PROBE = "勾配の流れ"

_state = {"lang": None, "font": None, "font_checked": False, "noted": False, "rc_family": None}


# -- which language ------------------------------------------------------------------------------
def _check(lang):
    if lang not in LANGUAGES:
        raise ValueError(f"rnnviz.i18n.set_language: lang must be one of {LANGUAGES}, got {lang!r}")
    return lang


def default_language() -> str:
    """``$RNNVIZ_LANG`` if set, else ``'ja'`` in a folder named ``ja`` (course/ja/) or ending in ``_ja``
    (a Japanese assignment, ``rnn_by_hand_ja/``), else ``'en'``."""
    env = os.environ.get("RNNVIZ_LANG", "").strip().lower()
    if env:
        return "ja" if env.startswith("ja") else "en"
    try:
        here = Path.cwd()
    except OSError:
        return "en"
    return "ja" if _japanese_folder(here.name) else "en"


def _japanese_folder(name: str) -> bool:
    """``course/ja/`` and a Japanese assignment's folder (``rnn_by_hand_ja/``)."""
    return name == "ja" or name.endswith("_ja")


def get_language() -> str:
    """The language the widgets use now (``'en'`` or ``'ja'``)."""
    if _state["lang"] is None:
        _activate(default_language())
    return _state["lang"]


def set_language(lang: str) -> str:
    """Make the widgets and figures built from now on speak ``lang`` (``'en'`` or ``'ja'``).
    For Japanese, also make matplotlib's default font one with Japanese glyphs (when one exists).
    Returns the language set."""
    return _activate(_check(lang))


@contextlib.contextmanager
def language(lang: str):
    """``with i18n.language('ja'): ...``: a language for a block, the previous one restored after."""
    before = _state["lang"]
    set_language(lang)
    try:
        yield
    finally:
        _activate(before if before is not None else default_language())


@contextlib.contextmanager
def text_language(lang: str):
    """``with i18n.text_language('ja'): ...``: ``tr`` answers in ``lang`` for a block, and nothing
    else changes (no font is looked up: for text only, such as the grader's verdicts)."""
    before = _state["lang"]
    _state["lang"] = _check(lang)
    try:
        yield
    finally:
        _state["lang"] = before


def _activate(lang):
    _state["lang"] = lang
    if lang == "ja":
        if use_cjk_font() is None and not _state["noted"]:
            _state["noted"] = True
            print(STRINGS["font.missing"]["ja"], flush=True)
    else:
        _restore_font()
    return lang


# -- the strings ---------------------------------------------------------------------------------
def register(strings: dict[str, dict[str, str]]) -> None:
    """Add a module's own strings (the same form as STRINGS) to the catalogue, so that ``tr`` finds
    them: the grader's checks keep their messages beside the code that sends them. A key may be
    registered again only with the same texts."""
    for key, entry in strings.items():
        if "en" not in entry or set(entry) - set(LANGUAGES):
            raise ValueError(f"rnnviz.i18n.register: {key!r} needs 'en' (and may have 'ja'), got {sorted(entry)}")
        if key in STRINGS and STRINGS[key] != entry:
            raise ValueError(f"rnnviz.i18n.register: {key!r} is already registered with other texts")
        STRINGS[key] = entry
        REGISTERED.add(key)


#: The keys added by ``register`` (the grader's messages), as opposed to this file's own table.
REGISTERED: set[str] = set()


def tr(key: str, **fields) -> str:
    """The string ``key`` in the current language, formatted with ``fields``: for widget controls
    and messages (drawn by the browser)."""
    return _lookup(key, get_language(), fields)


def ftr(key: str, **fields) -> str:
    """Like ``tr``, for words drawn inside a matplotlib figure: English when the language is
    Japanese but matplotlib has no Japanese font (see the module's docstring)."""
    lang = get_language()
    if lang == "ja" and cjk_font() is None:
        lang = "en"
    return _lookup(key, lang, fields)


def _lookup(key, lang, fields):
    try:
        entry = STRINGS[key]
    except KeyError:
        raise KeyError(f"rnnviz.i18n.tr: no string {key!r} in rnnviz.i18n.STRINGS") from None
    text = entry.get(lang) or entry["en"]
    return text.format(**fields) if fields else text


# -- the Japanese font ---------------------------------------------------------------------------
def bundled_font_file() -> Path | None:
    """IPAexGothic from the japanize-matplotlib wheel, found without importing the module."""
    spec = importlib.util.find_spec("japanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "fonts" / "ipaexg.ttf"
    return path if path.is_file() else None


def _has_glyphs(path, text=PROBE) -> bool:
    try:
        from matplotlib.ft2font import FT2Font
        font = FT2Font(str(path))
        return all(font.get_char_index(ord(ch)) for ch in text)
    except Exception:
        return False


def cjk_font() -> str | None:
    """The matplotlib family name of a font with Japanese glyphs (registered with matplotlib's font
    manager), or None. Looked up once."""
    if not _state["font_checked"]:
        _state["font_checked"] = True
        _state["font"] = _find_cjk_font()
    return _state["font"]


def _find_cjk_font():
    from matplotlib import font_manager

    path = bundled_font_file()
    if path is not None and _has_glyphs(path):
        font_manager.fontManager.addfont(str(path))
        return font_manager.FontProperties(fname=str(path)).get_name()
    by_name = {}
    for entry in font_manager.fontManager.ttflist:
        by_name.setdefault(entry.name, entry.fname)
    for family in SYSTEM_CJK_FAMILIES:
        if family in by_name and _has_glyphs(by_name[family]):
            return family
    return None


def use_cjk_font() -> str | None:
    """Put the Japanese font first in matplotlib's default font list (matplotlib's own default font
    follows it for the glyphs it lacks, such as ✂); returns its family name or None."""
    family = cjk_font()
    if family is None:
        return None
    import matplotlib

    current = list(matplotlib.rcParams["font.family"])
    if _state["rc_family"] is None:
        _state["rc_family"] = current
    if current[:1] != [family]:
        matplotlib.rcParams["font.family"] = [family] + [f for f in _state["rc_family"] if f != family] \
            + (["DejaVu Sans"] if "DejaVu Sans" not in _state["rc_family"] else [])
    return family


def _restore_font():
    if _state["rc_family"] is not None:
        import matplotlib
        matplotlib.rcParams["font.family"] = _state["rc_family"]
        _state["rc_family"] = None


def _reset_for_tests(font_checked=False, font=None):
    """Forget the language and the font (tests only)."""
    _restore_font()
    _state.update(lang=None, font=font, font_checked=font_checked, noted=False)


__all__ = ["LANGUAGES", "SOURCE_COMMENTS", "STRINGS", "cjk_font", "default_language", "ftr", "get_language",
           "language", "register", "set_language", "text_language", "tr", "use_cjk_font"]
