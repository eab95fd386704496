"""Fair grading of the truncated_bptt assignment: realistic mistakes get the right hint and lose
only the parts they break; the solution loses nothing.

Each mistake is the instructor's notebook with a change or two, run in this process and graded
through the protocol's data path as the grader does (``run_case_here``: inputs packed and
unpacked, the kernel's CPU time measured around the call, the verdict judged from plain data), on
the CPU and on the GPU check (the CuPy stand-in). The language-model cell costs about 3.5 s a
run, so only the mistakes that need it run it.
"""
from __future__ import annotations

import contextlib
import io

import numpy
import pytest

from rnnviz.grading import CPU
from rnnviz.grading.assignments import truncated_bptt as tb
from rnnviz.grading.checks import STANDIN
from rnnviz.grading.protocol import get_check, parse_test_cell, run_case_here
from test_assignments import WRONG, nbg, with_changes

NAME = "truncated_bptt"
WINDOW_CELLS = ("window_tests", "live_nodes_tests")
ALL_CELLS = WINDOW_CELLS + ("train_lm_tests",)
WHOLE = {"window_tests": {"loss", "gradients", "history", "update"}, "live_nodes_tests": {"live nodes"},
         "train_lm_tests": {"model", "budget", "perplexity"}}


def grade(nb, cells=ALL_CELLS):
    """{grade_id: {part: message}} of the failed parts of ``cells``, every case on the CPU and the
    GPU check (a part fails once, with the first message, as in the grader)."""
    ns = {"__name__": "__learner__"}
    tests = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            meta = nbg(cell)
            if meta.get("grade") and not meta.get("solution"):
                tests[meta["grade_id"]] = parse_test_cell(cell.source)
                continue
            exec(compile(cell.source, f"<{meta.get('grade_id', 'cell')}>", "exec"), ns)
        failed = {}
        for grade_id in cells:
            failed[grade_id] = {}
            for call in tests[grade_id].calls:
                check = get_check(call.check)
                for dev in (CPU, STANDIN):
                    if dev.request in check.devices:
                        verdict = run_case_here(check, [ns[n] for n in call.names], call.case, dev)
                        for part, message in verdict.failed.items():
                            failed[grade_id].setdefault(part, dev.label + message)
    return failed


def wrong(what):
    return next(changes for n, w, changes in WRONG if n == NAME and w == what)


THREAD = [("train_lm", "    return model\n",
           "    import threading\n    done = time.process_time() + 2 * budget_s\n"
           "    def more():\n        while time.process_time() < done:\n"
           "            train_window(model, optimizer, iterator, 10, device)\n"
           "    worker = threading.Thread(target=more)\n    worker.start()\n    worker.join()\n"
           "    return model\n")]

# (mistake, changes, cells graded, {grade_id: parts that fail} or a list of the outcomes allowed,
#  phrase of the hint)
CATALOGUE = [
    ("history never unchained", wrong("history never unchained"), WINDOW_CELLS,
     {"window_tests": {"history"}, "live_nodes_tests": {"live nodes"}},
     "cut it with loss.unchain_backward() after loss.backward()"),
    ("gradients never cleared", wrong("gradients never cleared"), WINDOW_CELLS,
     {"window_tests": {"history"}}, "old gradients are kept and added to"),
    ("loss of the last step only", wrong("loss of the last step only"), WINDOW_CELLS,
     {"window_tests": {"loss", "gradients", "history"}}, "only the last step's loss is back-propagated"),
    ("unchained before backward", wrong("unchained before backward"), WINDOW_CELLS,
     {"window_tests": {"gradients", "history"}}, "call loss.backward() before loss.unchain_backward()"),
    ("update before backward", wrong("update before backward"), WINDOW_CELLS,
     {"window_tests": {"history", "update"}}, "optimizer.update() comes before loss.backward()"),
    ("returns the sum, not the mean", wrong("returns the sum, not the mean"), WINDOW_CELLS,
     {"window_tests": {"loss"}}, "it is bprop_len times the mean"),
    # the hidden case with bprop_len=1 reads no batch and raises: every part of that cell fails
    ("one batch short per window", wrong("one batch short per window"), WINDOW_CELLS,
     {"window_tests": WHOLE["window_tests"]}, "reads bprop_len - 1 batches per window"),
    ("never updates the weights", wrong("never updates the weights"), WINDOW_CELLS,
     {"window_tests": {"update"}}, "the weights did not change in window 1"),
    ("state reset at the start of every window",
     [("train_window", "    loss = 0\n", "    model.reset_state()\n    loss = 0\n")], WINDOW_CELLS,
     {"window_tests": {"loss", "history"}}, "the state must carry over between windows"),
    ("state reset after every update",
     [("train_window", "    optimizer.update()\n",
       "    optimizer.update()\n    model.predictor.reset_state()\n")],
     WINDOW_CELLS, {"window_tests": {"loss", "history"}}, "the state must carry over between windows"),
    ("reads bprop_len + 1 batches", [("train_window", "range(bprop_len)", "range(bprop_len + 1)")],
     WINDOW_CELLS, {"window_tests": {"loss", "gradients", "history"}},
     "reads bprop_len + 1 batches per window"),
    ("loss returned as a Variable",
     [("train_window", "return float(loss.array) / bprop_len", "return loss / bprop_len")], WINDOW_CELLS,
     {"window_tests": {"loss"}}, "should return the mean loss per step as a Python float"),
    ("loss divided by the batch size too",
     [("train_window", "return float(loss.array) / bprop_len",
       "return float(loss.array) / bprop_len / len(x)")],
     WINDOW_CELLS, {"window_tests": {"loss"}}, "each step's loss is already a mean over the batch"),
    ("gradients cleared after the update instead of before backward",
     [("train_window", "    model.cleargrads()\n", ""),
      ("train_window", "    optimizer.update()\n", "    optimizer.update()\n    model.cleargrads()\n")],
     WINDOW_CELLS, {"window_tests": {"gradients", "history"}}, "leave the window's gradients in the model"),
    ("x and t not moved to the GPU",
     [("train_window", '            x, t = to_device(x, "gpu"), to_device(t, "gpu")\n', "            pass\n")],
     WINDOW_CELLS, {"window_tests": WHOLE["window_tests"], "live_nodes_tests": WHOLE["live_nodes_tests"]},
     "move x and t to the GPU with to_device(x, 'gpu')"),
    # the language model
    ("training stops after one window", wrong("training stops after one window"), ("train_lm_tests",),
     {"train_lm_tests": {"perplexity"}}, "about as good as an untrained one"),
    ("SGD with lr=50 diverges",
     [("train_lm", "optimizers.Adam(alpha=0.01)", "optimizers.SGD(lr=50.0)")], ("train_lm_tests",),
     # a finite, huge perplexity; or, should a gradient become NaN first, the optimizer raises
     [{"train_lm_tests": {"perplexity"}}, {"train_lm_tests": WHOLE["train_lm_tests"]}],
     "the learning rate is too large, or the gradients explode"),
    ("model returned on the CPU after training on the GPU",
     [("train_lm", "    return model\n", '    return model.to_device("cpu")\n')], ("train_lm_tests",),
     {"train_lm_tests": {"model"}}, "the returned model is not on the GPU on the GPU run"),
    ("model never moved to the GPU",
     [("train_lm", '        model.to_device("gpu")\n', "        pass\n")], ("train_lm_tests",),
     {"train_lm_tests": WHOLE["train_lm_tests"]}, "move the model to the GPU with model.to_device('gpu')"),
    ("training in a thread past the budget", THREAD, ("train_lm_tests",),
     {"train_lm_tests": {"budget", "perplexity"}}, "training in a thread or a subprocess counts too"),
]


def hidden_values():
    """The reference's mean losses of every case of the window tests, as a message would print
    them: no message may hold one."""
    nb = with_changes(NAME, [])
    cell = next(c for c in nb.cells if nbg(c).get("grade_id") == "window_tests")
    values = set()
    for call in parse_test_cell(cell.source).calls:
        a = tb.Windows().inputs(**call.case)
        values |= {f"{w['loss'] / a['bprop_len']:.3f}" for w in tb.replay(a, [None] * a["windows"])}
    return values


HIDDEN_VALUES = hidden_values()


def test_the_solution_loses_nothing():
    failed = grade(with_changes(NAME, []))
    assert failed == {cell: {} for cell in ALL_CELLS}, failed


def test_the_catalogue_holds_every_wrong_version_and_fails_every_part():
    listed = {what for what, *_ in CATALOGUE}
    assert {w for n, w, _ in WRONG if n == NAME} <= listed
    outcomes = [o for *_, parts, _ in CATALOGUE for o in (parts if isinstance(parts, list) else [parts])]
    failing = {(cell, p) for outcome in outcomes for cell, ps in outcome.items() for p in ps}
    assert failing == {(cell, p) for cell, ps in WHOLE.items() for p in ps}
    for cell, check in [("window_tests", "windows"), ("live_nodes_tests", "live_nodes"),
                        ("train_lm_tests", "language_model")]:
        assert set(get_check(f"{NAME}.{check}").parts) == WHOLE[cell]


def test_the_untouched_release_fails_every_part():
    """Partial credit gives nothing for code not written (the hidden tests restored, as the
    grader does)."""
    import nbformat

    from test_assignments import cell_by_id, release_path

    release = nbformat.read(release_path(NAME), as_version=4)
    source = with_changes(NAME, [])
    for cell in release.cells:
        meta = nbg(cell)
        if meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
            cell.source = cell_by_id(source, meta["grade_id"]).source
    failed = grade(release)
    assert {cell: set(f) for cell, f in failed.items()} == WHOLE, failed


@pytest.mark.parametrize("what,changes,cells,parts,phrase", CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_a_mistake_gets_its_hint_and_loses_only_its_parts(what, changes, cells, parts, phrase):
    failed = grade(with_changes(NAME, changes), cells)
    outcomes = parts if isinstance(parts, list) else [parts]
    assert {cell: set(f) for cell, f in failed.items() if f} in outcomes, (what, failed)
    messages = "\n".join(m for f in failed.values() for m in f.values())
    assert phrase in messages, (what, messages)
    # a hint that was seen wrong: a mistake other than the loss's own is never told to change it
    if what not in ("returns the sum, not the mean", "loss returned as a Variable",
                    "loss divided by the batch size too"):
        assert "sum the" not in messages and "divide by bprop_len" not in messages, (what, messages)
    assert "larger learning rate" not in messages, (what, messages)
    assert not [v for v in HIDDEN_VALUES if v in messages], (what, messages)


def test_the_reference_replay_is_bptt_updaters():
    """The judge's replay (its own weights, no mistake made) gives BPTTUpdater's losses and
    gradients window after window."""
    from rnnviz import optimizers
    from rnnviz.iterators import ParallelSequentialIterator
    from rnnviz.training import BPTTUpdater

    a = tb.Windows().inputs(seed=3, n_vocab=13, batch=3, bprop_len=4, windows=3)
    ours = tb.replay(a, [None] * a["windows"])
    model = tb.load_small_model(a["n_vocab"], a["params"])
    opt = optimizers.SGD(lr=tb.LR_WINDOWS)
    opt.setup(model)
    updater = BPTTUpdater(ParallelSequentialIterator(a["words"], a["batch"]), opt, a["bprop_len"])
    for window in ours:
        assert window["loss"] / a["bprop_len"] == pytest.approx(updater.update(), rel=1e-6)
        for name, p in model.namedparams():
            assert (p.grad is None) == (window["grads"][name] is None)
            if p.grad is not None:
                numpy.testing.assert_allclose(window["grads"][name], p.grad, rtol=1e-6)


@pytest.mark.parametrize("ppl,gpu,phrase", [
    (2.6e13, False, "the learning rate is too large, or the gradients explode"),
    (float("nan"), False, "the learning rate is too large, or the gradients explode"),
    (float("inf"), True, "the learning rate is too large, or the gradients explode"),
    (520.0, False, "about as good as an untrained one"),
    (300.0, True, "about as good as an untrained one"),
    (75.0, False, "the model learned, but not enough"),
])
def test_perplexity_messages(ppl, gpu, phrase):
    check = tb.LanguageModel
    target = check.GPU_TARGET if gpu else check.TARGET
    message = check.perplexity_message(ppl, target, check.N_VOCAB, gpu)
    assert phrase in message and "larger learning rate" not in message, message


def test_a_diverging_run_that_raises_gets_the_same_hint():
    error = {"type": "FloatingPointError", "message": "Adam.update: the gradient ... holds NaN", "where": []}
    assert "the learning rate is too large" in tb.LanguageModel().explain(error)


def test_the_gpu_warm_up_is_the_kits_own_training_and_runs_only_before_a_real_gpu_case(monkeypatch):
    """CuPy compiles each kernel the first time it runs, seconds of CPU time that the budget would
    charge to the learner: the check warms up on the GPU first (its own model and optimizers), and
    only there; on the CPU and on the stand-in the measured run is the first."""
    from rnnviz.grading.standin import installed

    check = get_check("truncated_bptt.language_model")
    with installed() as fake:
        check.warm_up(fake)                    # the kit's own training: runs without error
    warmed = []
    monkeypatch.setattr(type(check), "warm_up", lambda self, xp: warmed.append(xp))
    calls = []

    def learner(train, n_vocab, budget_s, device):
        calls.append((device, len(warmed)))
        raise RuntimeError("not trained")

    for device in (CPU, STANDIN):
        run_case_here(check, [learner], {"budget_s": 0.5}, device)
    assert calls == [("cpu", 0), ("gpu", 0)] and warmed == []
