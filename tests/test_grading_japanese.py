"""The grader speaks Japanese to a Japanese learner, and grades exactly as in English (issue 20).

Every sentence the grading framework (checks, protocol, execute, feedback) and the assignments
``example``, ``autograd_functions`` and ``backward_engine`` write is an ``rnnviz.i18n`` string with
an English and a Japanese text. These tests check that

- every such string has both languages with the same format fields, and no Japanese text holds
  English (``english_sentences``: code, numbers, shapes and a few names aside), while the detector
  does find the English texts;
- one-line mutants of the three solutions, graded through the test-cell protocol in Japanese, get
  messages without English, fail the same parts and get the same share of points as in English;
- the grader picks the language from the assignment's id (``NAME_ja``), the learner's kernel from
  its folder, and the feedback page's labels follow.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import multiprocessing
import string
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import grading_course as gc  # noqa: E402
import mutants  # noqa: E402
from english_sentences import assert_no_english, english_in  # noqa: E402

from rnnviz import i18n  # noqa: E402

MODULES = ("rnnviz.grading.checks", "rnnviz.grading.protocol", "rnnviz.grading.execute",
           "rnnviz.grading.feedback", "rnnviz.grading.assignments.example",
           "rnnviz.grading.assignments.autograd_functions", "rnnviz.grading.assignments.backward_engine")
PREFIXES = ("checks.", "protocol.", "grader.", "feedback.", "example.", "autograd_functions.",
            "backward_engine.")
ASSIGNMENTS = ("example", "autograd_functions", "backward_engine")
SAMPLE = {"example": None, "autograd_functions": 14, "backward_engine": 10}   # None: every mutant
# the long chain (2000 steps, under a profiler) is the slow cell: its messages are checked on their own
SKIP = {"backward_engine": ("chain_tests",)}


def strings() -> dict:
    for module in MODULES:
        importlib.import_module(module)
    return {k: v for k, v in i18n.STRINGS.items() if k.startswith(PREFIXES)}


def fields(text: str) -> set:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def blank(text: str) -> str:
    """``text`` with each format field replaced by a space (what a field holds is not the text's)."""
    return "".join(lit + (" " if name is not None else "") for lit, name, _, _ in string.Formatter().parse(text))


# -- (a) the strings ---------------------------------------------------------------------------------

def test_every_string_has_both_languages_with_the_same_fields():
    found = strings()
    assert len(found) > 150, len(found)      # the modules registered their strings
    for key, entry in found.items():
        assert set(entry) == {"en", "ja"} and all(entry.values()), key
        assert fields(entry["en"]) == fields(entry["ja"]), (key, entry)


def test_no_japanese_string_holds_english():
    """Checked on the strings themselves, quoted words included (the kit quotes only what is not
    its own: the learner's exception messages, filled into a field)."""
    for key, entry in strings().items():
        assert_no_english(blank(entry["ja"]), key, quotes=False)


def test_the_detector_finds_the_english_strings():
    """Every English sentence (a text of 20 letters or more) is found by the detector, and its
    Japanese one is not: the test above can fail."""
    sentences = 0
    for key, entry in strings().items():
        if sum(c.isalpha() for c in blank(entry["en"])) >= 20:
            sentences += 1
            assert english_in(blank(entry["en"])), (key, entry["en"])
    assert sentences > 120, sentences
    assert english_in("Sigmoid forward output is wrong (shape (2, 3), relative error 0.5)")
    assert english_in("`x.grad` の shape が違います")             # one English word of 4+ letters
    assert not english_in("`sum_to(g, (2, 3))` が間違っています（形状 (2, 3)、相対誤差 0.5）")
    assert not english_in("あなたのコードで AssertionError が発生しました: 「float64 only」")


def test_usual_mistakes_keep_their_keys_and_follow_the_language():
    from rnnviz.grading import USUAL_MISTAKES

    assert {"none", "sign", "scaled", "numpy_on_gpu", "other"} <= set(USUAL_MISTAKES)
    with i18n.text_language("en"):
        en = dict(USUAL_MISTAKES)
        assert "sign error" in USUAL_MISTAKES["sign"] and "hard-codes NumPy" in en["numpy_on_gpu"]
    with i18n.text_language("ja"):
        ja = dict(USUAL_MISTAKES)
        assert USUAL_MISTAKES.get("sign") == ja["sign"] and "符号" in ja["sign"]
    assert en.keys() == ja.keys() and all(en[k] != ja[k] for k in en)
    with pytest.raises(KeyError):
        USUAL_MISTAKES["no such symptom"]


# -- (b), (d) mutants graded in both languages ---------------------------------------------------------

def grade(nb, skip=()) -> dict:
    """{"failed": {(grade_id, check, part): message} of every part that fails, "shares": {grade_id:
    share of the points}}, graded as the kit grades (the code cells run, every case of every test
    cell but those of ``skip`` on the CPU and on the CuPy stand-in), in the current language."""
    from rnnviz.grading import CPU
    from rnnviz.grading.checks import STANDIN
    from rnnviz.grading.protocol import get_check, parse_test_cell, run_case_here

    ns = {"__name__": "__japanese__"}
    tests = []
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                if meta["grade_id"] not in skip:
                    tests.append((meta["grade_id"], parse_test_cell(cell.source)))
                continue
            try:
                exec(compile(cell.source, f"<cell {meta.get('grade_id', '')}>", "exec"), ns)
            except Exception:  # noqa: BLE001 - as in the kernel: the next cells run
                pass
        failed, shares = {}, {}
        for grade_id, test in tests:
            weights = {}
            for call in test.calls:
                check = get_check(call.check)
                for name in check.parts or ["all"]:
                    weights[(check.name, name)] = float(check.parts.get(name, 1.0)) if check.parts else 1.0
                for dev in (CPU, STANDIN):
                    if dev.request in check.devices:
                        verdict = run_case_here(check, [ns.get(n) for n in call.names], call.case, dev)
                        for name, message in verdict.failed.items():
                            failed.setdefault((grade_id, check.name, name), dev.label + message)
            lost = sum(w for (check, name), w in weights.items() if (grade_id, check, name) in failed)
            shares[grade_id] = 1.0 - lost / (sum(weights.values()) or 1.0)
    return {"failed": failed, "shares": shares}


def _child(nb, skip, conn):
    try:
        result = {}
        for lang in i18n.LANGUAGES:
            with i18n.text_language(lang):
                result[lang] = grade(nb, skip)
        conn.send(result)
    except BaseException as exc:  # noqa: BLE001
        conn.send({"crash": repr(exc)})


def graded_in_both(nb, skip=(), timeout=20.0):
    """``grade(nb, skip)`` in English and in Japanese, in a forked process (a mutant may hang);
    None when it did not finish."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(nb, skip, child))
    proc.start()
    child.close()
    result = parent.recv() if parent.poll(timeout) else None
    proc.kill()
    proc.join()
    return result


def mutants_of(name):
    if name == "example":
        return mutants.mutants(gc.source_notebook())
    return mutants.sample(name, SAMPLE[name], seed=20)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_mutants_are_told_in_japanese_and_graded_as_in_english(name):
    importlib.import_module(f"rnnviz.grading.assignments.{name}")   # imported once, before forking
    graded = messages = 0
    for what, nb in mutants_of(name):
        result = graded_in_both(nb, SKIP.get(name, ()))
        if result is None:
            continue                                  # a mutant that hangs: no message to read
        assert "crash" not in result, (what, result)
        en, ja = result["en"], result["ja"]
        assert set(en["failed"]) == set(ja["failed"]), (what, set(en["failed"]) ^ set(ja["failed"]))
        assert en["shares"] == ja["shares"], what
        for key, message in ja["failed"].items():
            assert_no_english(message, f"{name}: {what}: {key}")
            messages += 1
        for key, message in en["failed"].items():
            assert english_in(message), (what, key, message)     # the detector sees the English one
        graded += 1
    assert graded >= 8 and messages >= 10, (graded, messages)


def test_a_wrong_version_gets_the_same_hints_in_japanese():
    """Known mistakes keep their diagnosis in Japanese (the hint names the mistake)."""
    nb = nbformat.read(mutants.REPO / "solutions" / "backward_engine" / "backward_engine.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "engine")
    line = "x.grad = gx if x.grad is None else x.grad + gx"
    assert line in cell.source
    cell.source = cell.source.replace(line, "x.grad = gx")
    result = graded_in_both(nb, ("random_tests", "retain_tests", "chain_tests"))
    assert result and "crash" not in result, result
    ja = result["ja"]["failed"]
    chain = ja[("basics_tests", "backward_engine.basics", "chain")]
    assert "上書きされています" in chain and "`x.grad = gx if x.grad is None else x.grad + gx`" in chain, chain
    assert "鎖: 葉の変数 `x` の `.grad` が間違っています" in chain, chain
    assert "overwritten" in result["en"]["failed"][("basics_tests", "backward_engine.basics", "chain")]


@pytest.mark.parametrize("mine", [
    {"error": {"type": "RecursionError", "message": "maximum recursion depth exceeded", "where": []}},
    {"error": {"type": "KeyError", "message": "140234", "where": [
        {"function": "backward", "line": "12", "code": "gy = grads.pop(id(y))"}]}},
    {"walked": False},
    {"walked": True, "recursion_limit": 100000, "depth": 5},
    {"walked": True, "recursion_limit": 1000, "depth": 4000},
])
def test_the_long_chains_messages_in_japanese(mine):
    """The ``no recursion`` part of the chain check (left out of the mutants above: slow) says
    each of its verdicts without English."""
    from rnnviz.grading.protocol import get_check

    check = get_check("backward_engine.chain")
    spec = check.graphs(steps=20)[0]
    for lang in i18n.LANGUAGES:
        with i18n.text_language(lang), pytest.raises(AssertionError) as info:
            check._no_recursion(spec, mine)
        message = str(info.value)
        if lang == "ja":
            assert message.startswith("20 ステップの鎖: "), message
            assert_no_english(message, str(mine))
        else:
            assert message.startswith("20-step chain: ") and english_in(message), message


# -- (c) the learner's kernel and the grader choose the language --------------------------------------

def test_run_test_speaks_the_language_of_the_learners_folder(tmp_path, monkeypatch):
    from rnnviz.grading import run_test

    monkeypatch.delenv("RNNVIZ_LANG", raising=False)
    monkeypatch.setenv("RNNVIZ_GRADING_GPU", "0")
    saved = i18n._state["lang"]
    i18n._state["lang"] = None
    try:
        for folder, words in (("ps1", "should return a list"), ("ps1_ja", "リストを返す必要があります")):
            (tmp_path / folder).mkdir()
            monkeypatch.chdir(tmp_path / folder)
            with pytest.raises(AssertionError) as info:
                run_test("example.squares", lambda n: None, n=3)
            assert words in str(info.value), str(info.value)
        assert i18n._state["lang"] is None          # no language set, no font looked up
    finally:
        i18n._state["lang"] = saved


def test_the_grader_writes_in_the_assignments_language():
    from rnnviz.grading.execute import assignment_language, stop_of

    assert assignment_language("rnn_by_hand_ja") == "ja"
    assert [assignment_language(a) for a in ("rnn_by_hand", "ja_intro", None, "")] == ["en"] * 4
    for lang in i18n.LANGUAGES:
        with i18n.text_language(lang):
            timeout = i18n.tr("grader.timeout", seconds=30)
            died = i18n.tr("grader.died_in_case")
            before = i18n.tr("grader.not_run", problem=i18n.tr("grader.died_before"))
        assert stop_of(f"t: 0 of 3\nhidden case 1 of 1: {timeout}") == "CellTimeoutError"
        assert stop_of(died) == stop_of(before) == "KernelDied"
    assert stop_of("squares: 0 of 2 points\nsquares(3) is wrong") is None


def _verdict_run(assignment):
    """The ps1 notebook with a wrong ``squares``, executed by VerdictExecute (no sandbox) as the
    assignment ``assignment``: (the test cells' outputs' text, the verdicts)."""
    from jupyter_client.manager import KernelManager

    from rnnviz.grading.execute import VERDICTS, VerdictExecute

    nb = gc.source_notebook()
    gc_cell = next(c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] == "squares")
    gc_cell.source = "def squares(n):\n    return [i * i for i in range(n)]"
    executor = VerdictExecute(timeout=60, kernel_manager_class=KernelManager)
    nb, resources = executor.preprocess(nb, {"nbgrader": {"assignment": assignment},
                                             "metadata": {"path": str(gc.VENV_BIN)}})
    texts = []
    for cell in nb.cells:
        if cell.metadata["nbgrader"].get("grade"):
            for out in cell.outputs:
                texts.append(out.get("text") or out.get("evalue") or "")
    return texts, resources[VERDICTS]


def test_verdict_execute_judges_a_ja_assignment_in_japanese(monkeypatch):
    """Through nbgrader's Execute step with a real kernel: the same verdicts, the words of the
    assignment's language."""
    monkeypatch.setenv("RNNVIZ_GRADING_GPU", "0")
    en_texts, en_verdicts = _verdict_run("ps1")
    ja_texts, ja_verdicts = _verdict_run("ps1_ja")
    assert en_verdicts == ja_verdicts and en_verdicts["squares_tests"] == 0.0, (en_verdicts, ja_verdicts)
    assert en_verdicts["grad_tests"] == 1.0
    en, ja = "\n".join(en_texts), "\n".join(ja_texts)
    assert "0 of 2 points" in en and "the visible case" in en and "squares(3) is wrong" in en, en
    assert "2 点中 0 点" in ja and "公開されているケース: `squares(3)` が間違っています" in ja, ja
    assert "[採点]" in ja and "合格" in ja, ja
    # the test cells' titles are the notebook's docstrings (English in this course): left aside
    for line in ja.splitlines():
        assert_no_english(line.replace("square_grad, against rnnviz's backward", "")
                          .replace("squares:", ":"), "VerdictExecute")


# -- the feedback page ---------------------------------------------------------------------------------

def _feedback_page(assignment):
    from traitlets.config import Config

    import nbgrader
    from rnnviz.grading.math_offline import OfflineMathHTMLExporter

    base = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
    cfg = Config()
    cfg.HTMLExporter.template_name = "feedback"
    cfg.HTMLExporter.extra_template_basedirs = [str(base / "templates")]
    cfg.HTMLExporter.extra_template_paths = [str(base / "static" / "node_modules" / "bootstrap" / "dist" / "css")]
    nb = gc.source_notebook()
    for cell in nb.cells:
        meta = cell.metadata["nbgrader"]
        if meta.get("grade"):
            meta["score"] = 1.0
        if meta.get("solution"):
            meta["comment"] = "see the hint"
    nb.cells[2].outputs = [nbformat.v4.new_output(
        "error", ename="TestFailed", evalue="squares: 2 点中 1 点", traceback=["TestFailed: squares: 2 点中 1 点"])]
    resources = {"nbgrader": {"notebook": "ps1", "assignment": assignment, "score": 2.0, "max_score": 5.0,
                              "late_penalty": 0.0}}
    page, _ = OfflineMathHTMLExporter(config=cfg).from_notebook_node(nb, resources)
    return page


def test_the_feedback_page_labels_follow_the_assignments_language():
    en, ja = _feedback_page("ps1"), _feedback_page("ps1_ja")
    assert "Score: 2.0 / 5.0" in en and ">Test cell<" in en and "(Top)" in en and 'lang="ja"' not in en
    assert "得点: 2.0 / 5.0" in ja and ">テストセル<" in ja and "（先頭へ）" in ja and '<html lang="ja"' in ja
    assert "Score:" not in ja and "Test cell" not in ja and "(Top)" not in ja, ja
    assert "Student&#39;s answer" not in ja and "Student's answer" not in ja and "学生の解答" in ja
    assert "see the hint" in ja and "Implement <code>squares</code>" in ja     # the notebook's own words stay


def test_the_kernel_writes_its_sentences_in_the_language_the_grader_sends(monkeypatch):
    """``serve`` (the kernel's side): a name the learner never defined is reported in the request's
    language; the request names no language for English (nothing else is added to it)."""
    import base64
    import json

    import IPython
    import IPython.display

    from rnnviz.grading import protocol

    sent = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: type("Shell", (), {"user_ns": {}})())
    monkeypatch.setattr(IPython.display, "publish_display_data", lambda data: sent.append(data))
    check = protocol.get_check("example.squares")
    for lang, words in (("en", "squares is not defined"), ("ja", "`squares` が定義されていません")):
        code = protocol.request_code(check, ["squares"], check.inputs(n=3), "cpu", "n0", lang)
        message = code.split("serve(", 1)[1].rstrip(")").strip("'")
        assert ("lang" in json.loads(base64.b64decode(message))) == (lang != "en")
        protocol.serve(message)
        result = sent.pop()[protocol.MIME]
        assert result["nonce"] == "n0" and words in result["error"]["message"], result
