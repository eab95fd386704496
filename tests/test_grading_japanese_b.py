"""The grader's messages of five assignments in Japanese (issue 20, part B).

rnn_by_hand, lstm, gru, masked_loss and truncated_bptt keep their texts beside their checks
(``STRINGS``, registered with ``rnnviz.i18n``) and say them when a message is made, in the language
the grader set. Here: every text has both languages with the same fields; one-line mutants of the
solutions (``tests/mutants.py``), graded as the kit grades them (every case on the CPU and on the
CuPy stand-in) once in English and once in Japanese, lose the same parts in both, and their Japanese
messages hold no English sentence (apart from what the learner's own code said: an exception's
message, a line of the learner's code); the labels and the messages no mutant reaches are checked
directly. The detector of English is shown to find the English texts.
"""
from __future__ import annotations

import contextlib
import io
import multiprocessing
import re
import string
import sys
from pathlib import Path

import numpy
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import mutants  # noqa: E402
from english_sentences import ALLOWED as KIT_ALLOWED  # noqa: E402
from english_sentences import english_in  # noqa: E402

MODULES = ("rnn_by_hand", "lstm", "gru", "masked_loss", "truncated_bptt")
SAMPLE = {"rnn_by_hand": 10, "lstm": 10, "gru": 10, "masked_loss": 10, "truncated_bptt": 10}

# -- the detector of English sentences (the grader's, tests/english_sentences.py) -----------------
#: Names kept in Latin letters in these modules' Japanese texts, besides the detector's own.
ALLOWED = KIT_ALLOWED | {"Chainer"}
JAPANESE = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")


def english_fragments(text: str, learner_texts=()) -> list[str]:
    """The English in ``text`` (``english_in``) once ``learner_texts`` (what the learner's code said:
    an exception's type and message, a line of its code) are taken out."""
    for t in sorted((t for t in learner_texts if t), key=len, reverse=True):
        text = text.replace(t, " ")
    return english_in(text, allowed=ALLOWED)


def fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def our_strings() -> dict[str, dict[str, str]]:
    import importlib

    from rnnviz import i18n

    for name in MODULES:
        importlib.import_module(f"rnnviz.grading.assignments.{name}")
    return {k: v for k, v in i18n.STRINGS.items() if k.split(".")[0] in MODULES}


def blank(template: str) -> str:
    """``template`` with each field replaced by a space (what a field holds is not the text's)."""
    return "".join(lit + (" " if name is not None else "") for lit, name, _, _ in string.Formatter().parse(template))


# -- (a) the texts ----------------------------------------------------------------------------------
#: English texts of 20 letters or more that are code only (the "make a new array" examples).
CODE_ONLY = {"rnn_by_hand.example.rnn_backward", "lstm.example.forward", "lstm.example.backward"}


def test_every_text_has_both_languages_with_the_same_fields():
    strings = our_strings()
    assert len(strings) > 200
    for key, entry in strings.items():
        assert set(entry) == {"en", "ja"}, key
        assert fields(entry["en"]) == fields(entry["ja"]), key
        assert entry["ja"] != entry["en"], key


def test_the_japanese_texts_hold_no_english_and_the_english_ones_are_found():
    """The detector passes every Japanese text and finds every English sentence (a text of 20
    letters or more that is not code): the mutants' test below can fail."""
    strings = our_strings()
    for key, entry in strings.items():
        assert not english_fragments(blank(entry["ja"])), (key, english_fragments(blank(entry["ja"])))
    sentences = {k for k, e in strings.items() if sum(c.isalpha() for c in blank(e["en"])) >= 20}
    assert len(sentences) > 200
    missed = {k for k in sentences if not english_fragments(blank(strings[k]["en"]))}
    assert missed == CODE_ONLY, missed ^ CODE_ONLY
    assert english_fragments("RNN.forward: self.cache should be the tuple (x, h_prev, h_next), it is None.")
    assert english_fragments("`RNN.forward` の `h_next` が間違っています: the gates are swapped")
    assert not english_fragments("`RNN.forward` の `h_next` が間違っています（形状 (2, 4)、相対誤差 0.31）")


# -- (b), (c) the mutants, graded in both languages -------------------------------------------------
def learner_texts(value) -> list[str]:
    """What the learner's code said in a result: its exceptions' types, messages and lines."""
    out = []
    if isinstance(value, dict):
        if isinstance(value.get("message"), str) and "type" in value:
            out += [str(value.get("type", "")), value["message"]]
            out += [str(f.get(k, "")).strip() for f in value.get("where", []) if isinstance(f, dict)
                    for k in ("function", "code")]
        for v in value.values():
            out += learner_texts(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            out += learner_texts(v)
    return out


def _grade_both(nb):
    """In a forked child: {lang: {(check, part): [messages]}} and the learner's texts; None when the
    notebook's own cells crash."""
    from rnnviz import i18n
    from rnnviz.grading import CPU, protocol
    from rnnviz.grading.checks import STANDIN

    seen = []
    original = protocol.execute_case

    def spy(*args, **kwargs):
        result = original(*args, **kwargs)
        seen.append(protocol.unpack(result["outputs"]) if "outputs" in result else result)
        return result

    protocol.execute_case = spy        # run_case_here calls it by this name: the child's own copy
    ns, tests = {"__name__": "__mutant__"}, []
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {}) if cell.cell_type == "code" else {}
            if cell.cell_type != "code":
                continue
            if meta.get("grade") and not meta.get("solution"):
                tests.append(protocol.parse_test_cell(cell.source))
                continue
            try:
                exec(compile(cell.source, "<cell>", "exec"), ns)
            except Exception:  # noqa: BLE001 - the notebook itself crashes: nothing to grade
                return None
        failed = {}
        for lang in ("en", "ja"):
            failed[lang] = {}
            with i18n.text_language(lang):
                for test in tests:
                    for call in test.calls:
                        if call.check == "truncated_bptt.language_model":   # CPU-time budget: timing, not words
                            continue
                        check = protocol.get_check(call.check)
                        for dev in (CPU, STANDIN):
                            if dev.request in check.devices:
                                verdict = protocol.run_case_here(check, [ns.get(n) for n in call.names],
                                                                 call.case, dev)
                                for part, message in verdict.failed.items():
                                    failed[lang].setdefault((call.check, part), []).append(dev.label + message)
    return failed, learner_texts(seen)


def _child(nb, conn):
    try:
        conn.send(_grade_both(nb))
    except BaseException as exc:  # noqa: BLE001
        conn.send(("crashed", repr(exc)))


def grade_both(nb, timeout=60.0):
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(nb, child))
    proc.start()
    child.close()
    result = parent.recv() if parent.poll(timeout) else ("crashed", "timeout")
    proc.kill()
    proc.join()
    return result


@pytest.mark.parametrize("name", MODULES)
def test_mutants_lose_the_same_parts_with_japanese_messages(name):
    import rnnviz.grading.protocol  # noqa: F401 - imported once, before forking

    graded = 0
    for what, nb in mutants.sample(name, SAMPLE[name], seed=20):
        result = grade_both(nb)
        if result is None or result[0] == "crashed":
            assert result is None or result[1] == "timeout", (what, result)
            continue
        failed, said = result
        assert failed["en"].keys() == failed["ja"].keys(), what     # the same parts, so the same points
        for messages in failed["ja"].values():
            for message in messages:
                assert JAPANESE.search(message), (what, message)
                assert not english_fragments(message, said), (what, message, english_fragments(message, said))
        if failed["en"]:
            graded += 1
            assert any(english_fragments(m, said) for ms in failed["en"].values() for m in ms), what
    assert graded >= 3, f"only {graded} of the sampled mutants of {name} lost points"


# -- the texts no sampled mutant reaches --------------------------------------------------------------
def test_every_label_of_a_given_array_is_japanese():
    from rnnviz import i18n
    from rnnviz.grading.assignments import gru, lstm, masked_loss, rnn_by_hand  # noqa: F401

    labels = list(rnn_by_hand.RNNForward.labels().values()) + list(rnn_by_hand.RNNBackward().labels().values())
    labels += list(rnn_by_hand.TimeRNNForward.labels(True).values())
    labels += list(rnn_by_hand.TimeRNNBackward.labels(2).values()) + list(rnn_by_hand.EmbeddingCheck.LABELS.values())
    labels += [masked_loss.ClipNorm.label(0, c) for c in ("clipped", "unclipped")]
    labels += list(gru.originals({"x": 0}, ("x",), "GRU.forward")) + list(lstm.originals({"b": 0}, ("b",), "LSTM(Wx, Wh, b)"))
    with i18n.text_language("en"):
        english = [rnn_by_hand.label_text(k) for k in labels]
    with i18n.text_language("ja"):
        japanese = [rnn_by_hand.label_text(k) for k in labels]
    assert "x (given to RNN.forward)" in english and "dh_next (given to RNN.backward)" in english
    assert "xs (given to TimeRNN(Wx, Wh, b, stateful=True).forward after reset_state())" in english
    for en, ja in zip(english, japanese):
        assert english_fragments(en) and not english_fragments(ja), (en, ja)


def test_messages_of_the_language_model_and_of_a_broken_cache_in_japanese():
    from rnnviz import i18n
    from rnnviz.grading.assignments import rnn_by_hand
    from rnnviz.grading.assignments import truncated_bptt as tb
    from rnnviz.grading.checks import CPU
    from rnnviz.grading.protocol import Other, Received

    check = tb.LanguageModel()

    def messages():
        out = [check.perplexity_message(p, 60.0, 500, gpu) for p in (float("inf"), 400.0, 80.0) for gpu in (0, 1)]
        out += [check.explain({"type": t, "message": m}) for t, m in
                (("ProtocolError", ""), ("FloatingPointError", ""), ("TypeError", "a mix of NumPy (cpu) and CuPy (gpu)"),
                 ("AttributeError", "'float' object has no attribute 'backward'"))]
        embed = Received(numpy.zeros((400, 8)))
        for sent in ({"type": "Sequential"}, Other("Model"),
                     {"type": "Classifier(RNNLM)", "cell": "gru", "n_layers": 1},
                     {"type": "Classifier(RNNLM)", "cell": "lstm", "n_layers": 1, "params": {"/predictor/embed/W": embed,
                                                                                           "/predictor/out/W": embed}}):
            with pytest.raises(AssertionError) as caught:
                tb.rebuild_model(sent, 500)
            out.append(str(caught.value))
        for cache in (None, (1, 2), Other("Cache")):
            with pytest.raises(AssertionError) as caught:
                rnn_by_hand.check_cache("RNN.forward: self.cache", cache, [("x", numpy.zeros(2))] * 3, CPU,
                                        rnn_by_hand.STEP_CACHE)
            out.append(str(caught.value))
        return out

    with i18n.text_language("en"):
        english = messages()
    with i18n.text_language("ja"):
        japanese = messages()
    assert "not below 60" in english[0] and "RNN.forward: self.cache should be the tuple" in english[-1]
    for en, ja in zip(english, japanese):
        assert english_fragments(en) and not english_fragments(ja), (en, ja)
